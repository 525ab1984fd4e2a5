/* Per-user QoS on the server's TUN with Linux tc (REQUIREMENTS.md section 6).
 *
 * Download (server -> client) is shaped by an HTB tree on the TUN egress; upload (client ->
 * LAN) by per-session HTB-like token buckets in the server's data path (this kernel has no
 * ingress qdisc or IFB; see qos_bucket below). Set-up runs tc(8) as child processes (fork +
 * execvp, no shell) from the main thread before the data path starts; nothing here is on the
 * per-packet path except qos_bucket_pass/qos_bucket_take.
 *
 * The download tree (all classids hex, as tc reads them):
 *
 *     1:      htb root, default = cfg->default_minor
 *     └ 1:1   rate = ceil = total_bandwidth
 *       ├ 1:<default_minor>   default_rate/default_ceil, prio 7: everyone not listed
 *       ├ 1:100               user 0 of cfg->users (its class's rate/ceil/prio)
 *       ├ 1:101               user 1 ...
 *       └ ...                 each leaf has its own fq_codel (or pfifo) qdisc, handle <minor>:
 *
 * Minor numbers: the user at index i in cfg->users gets QOS_USER_MINOR_BASE + i (0x100 + i),
 * plus one when that would reach the default class's minor (the default's number is skipped),
 * so that no two users, the default class or 1:1 can ever share a classid whatever the
 * classes file says. The configured class classids ("[class:vip] classid = 1:10") name
 * classes of users and are not tc classes of their own: each user's guarantee is its own.
 * Users with class_index < 0 share the default class. Filters: u32 "match ip dst A/32
 * flowid 1:X" under the root, hashed on the address's last byte (256 buckets) so that a
 * packet is compared with the few users in its bucket rather than all of them: one for a
 * user's fixed address from the start, one more for each address its other devices hold
 * while they are online (qos_filters_apply), so that all of a user's devices share its leaf
 * (docs/PROTOCOL.md, extension 5). */
#ifndef VPN_QOS_H
#define VPN_QOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server_config;

enum qos_tree {
    QOS_ROOT_MAJOR = 1,
    QOS_INNER_MINOR = 1,
    QOS_USER_MINOR_BASE = 0x100,
    QOS_DEFAULT_PRIO = 7,       /* the default class borrows after every configured class */
};

/* What the kernel offers for leaf queues, detected by trying (modules may not load). */
enum qos_leaf { QOS_LEAF_FQ_CODEL, QOS_LEAF_PFIFO };

/* Builds the tree above on ifname from cfg (an existing root qdisc on ifname is replaced).
 * Leaf qdiscs are fq_codel, or pfifo with one log_warn when the kernel refuses fq_codel.
 * Returns 0, or -1 with a one-line reason in why (e.g. "tc qdisc add dev tun0 root handle 1:
 * htb default 0x20: RTNETLINK answers: Operation not permitted"); the caller logs the brief's
 * "[WARN] Failed to setup QoS: <why>" and goes on without QoS. On failure nothing is left
 * installed. why may be NULL. Does not look at cfg->qos_enabled: the caller decides. Warns
 * (log_warn) when the guarantees add up to more than total_bandwidth: HTB honours them all.
 * tc runs with the caller's credentials: it needs CAP_NET_ADMIN in its effective set, which
 * an exec'd tc only keeps if the process is still root (or holds it as an ambient
 * capability), so a server that drops privileges must set up, and tear down, before that or
 * keep the capability ambient. Main thread only; not reentrant. */
int qos_setup(const struct server_config *cfg, const char *ifname, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* The leaf qdisc kind the last successful qos_setup used (QOS_LEAF_FQ_CODEL before any). */
enum qos_leaf qos_leaf_in_use(void);

/* Gives the download class of the user at user_index (one with a class: its own leaf) the
 * rate, ceil and prio of classes[class_index] ("tc class change"): a user over its quota is
 * moved to its over_quota_class this way, and back to its own class at the next period.
 * Returns 0 or -1 with why. Same privileges as qos_setup. */
int qos_user_set_class(const struct server_config *cfg, const char *ifname, int user_index,
                       int class_index, char *why, size_t why_len);

/* Removes the root qdisc from ifname (idempotent; errors ignored and silenced: the device may
 * be gone). Needs CAP_NET_ADMIN, like set-up. */
void qos_teardown(const char *ifname);

/* Per-class counters from `tc -s class show dev ifname`, for the status tool. */
struct qos_class_stats {
    uint16_t major, minor;
    uint64_t bytes, packets, drops;
    uint64_t rate_bps;      /* tc's rate estimate (set-up installs 1 s/8 s estimators), else 0 */
};
/* Fills up to max entries with the htb classes, in the kernel's order, read over rtnetlink
 * (no process is started); returns how many, or -1 (no such device, netlink failed). */
int qos_read_stats(const char *ifname, struct qos_class_stats *out, int max);

/* The classid (major:minor) of username's download leaf, shared by all its devices; the
 * default class for a user not in the classes file or with no class. */
void qos_classid_for_user(const struct server_config *cfg, const char *username,
                          uint16_t *major, uint16_t *minor);

/* The filters of the addresses a classed user's devices hold besides its fixed one (which the
 * tree has from the start): each change adds addr's filter into leaf minor, or removes it
 * (minor 0). All in one `tc -force -batch` (one process, not one per device). Returns 0, or
 * -1 with the first failure in why (the other lines were still tried). Thread of the caller;
 * same capability rule as qos_setup. */
struct qos_filter_change {
    uint32_t addr;          /* host order */
    uint16_t minor;         /* qos_user_minor of its user, or 0 to remove */
};
int qos_filters_apply(const char *ifname, const struct qos_filter_change *changes, int n,
                      char *why, size_t why_len) __attribute__((warn_unused_result));

/* The name of the class a tunnel address (host order) belongs to: its user's "[class:NAME]",
 * or QOS_DEFAULT_CLASS_NAME for addresses of no configured user or of a user with no class
 * (the same rule as qos_classid_for). The status and the metrics label users with it. */
#define QOS_DEFAULT_CLASS_NAME "default"
const char *qos_class_name_for(const struct server_config *cfg, uint32_t vpn_ip);

/* The minor of the user at index user_index in cfg->users (the scheme above), whether or not
 * that user has a class. */
uint16_t qos_user_minor(const struct server_config *cfg, int user_index);

/* Upload policing, HTB-like (see qos_bucket.c for the rules):
 *   - one struct qos_link per server at total_bandwidth: the capacity sessions borrow from;
 *   - one struct qos_bucket per session (or one shared by all sessions of the default class,
 *     which matches the download tree) with a guaranteed bucket at the class's rate and a
 *     ceiling bucket at its ceil.
 * A packet passes when the guaranteed bucket holds its length, or else when both the ceiling
 * bucket and the link's spare capacity do (borrowing). Guaranteed traffic also uses up link
 * capacity, so borrowers only get what the guarantees leave. Tokens are integers in
 * millionths of a bit, refilled from a monotonic microsecond clock the caller passes: exact
 * at any rate up to 100 Gbit/s, no floating point, allocation or syscall.
 * Single-threaded: all buckets and their link are owned by the one thread that forwards
 * packets to the TUN. */
/* Burst of every policer bucket, in microseconds at its rate (see qos_bucket.c for why). */
enum { QOS_POLICER_BURST_US = 300000 };

struct qos_tb {
    uint64_t rate_bps;      /* 0 = unlimited (qos_link), or no guarantee (qos_bucket.rate) */
    int64_t burst;          /* capacity, in millionths of a bit */
    int64_t tokens;         /* may go below 0 (debt), never below -burst */
};
enum { QOS_PRIO_LEVELS = 8 };
struct qos_link {
    struct qos_tb tb;
    uint64_t last_us;
    uint64_t hungry_until_us[QOS_PRIO_LEVELS];  /* a level that wanted to borrow lately */
};
/* How many sessions send through one bucket (qos_share.c counts them in epochs). */
struct qos_senders {
    uint32_t epoch;
    uint64_t epoch_start_us;
    uint32_t now, before;   /* distinct senders in this epoch so far, and in the last one */
};
struct qos_bucket {
    struct qos_tb rate;     /* guaranteed */
    struct qos_tb ceil;     /* rate_bps 0 = the session is unlimited */
    uint64_t last_us;
    struct qos_link *link;  /* NULL = nothing to borrow from but the ceiling bucket */
    uint8_t prio;           /* borrowing priority, 0 (first) .. 7 */
    uint64_t borrowed_bytes, dropped_bytes;     /* for the status tool */
    struct qos_senders senders;
};

/* total_bps 0 = unlimited. Rates above 100 Gbit/s are treated as 100 Gbit/s. */
void qos_link_init(struct qos_link *l, uint64_t total_bps, uint64_t now_us);
/* rate_bps: the guarantee (0 = none, everything borrows); ceil_bps: the ceiling (0 =
 * unlimited: the session is not policed at all; a ceil below rate is raised to rate).
 * link may be NULL. Buckets start full. */
void qos_bucket_init_htb(struct qos_bucket *b, struct qos_link *link, uint64_t rate_bps,
                         uint64_t ceil_bps, uint64_t now_us);
/* true when len bytes may pass at now_us (and takes the tokens), false when the packet must
 * be dropped. A zero-length packet always passes. A clock that goes backwards refills
 * nothing. */
bool qos_bucket_pass(struct qos_bucket *b, uint32_t len, uint64_t now_us);
/* HTB's prio: lower borrows first (clamped to 0..7; init sets 0). */
void qos_bucket_set_prio(struct qos_bucket *b, int prio);
/* Whether the bucket (its ceiling, or the link it borrows from) has less than half its burst
 * left at now_us: what its senders take is then more than it refills. */
bool qos_bucket_contended(struct qos_bucket *b, uint64_t now_us);

/* Fairness between the sessions that share one bucket (a user's devices; every user of the
 * default class). A policer drops first come, first served: two devices flooding one user's
 * ceiling would split it by the phase of their packets, one of them getting nearly nothing.
 * Each session therefore also has a fair share of its bucket: the ceiling divided by the
 * sessions that sent through it lately. While the bucket is contended, a packet beyond its
 * session's share is dropped even if the bucket holds it; otherwise anyone may use what is
 * spare, so a light device keeps all it sends and a heavy one takes the rest. A bucket with
 * one sender behaves exactly as qos_bucket_pass. Owned by the thread that owns the bucket. */
struct qos_share {
    struct qos_tb tb;
    uint64_t last_us;
    uint32_t epoch;         /* the bucket's epoch this session last counted itself in, + 1 */
};
/* Before a session's first packet through a bucket, and whenever its bucket changes. */
void qos_share_reset(struct qos_share *s);
/* qos_bucket_pass for session s: true when len bytes may pass (and takes the tokens). */
bool qos_share_pass(struct qos_bucket *b, struct qos_share *s, uint32_t len, uint64_t now_us);


#endif
