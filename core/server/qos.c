/* Download QoS: the HTB tree on the TUN (the picture and the minor-number rule are in qos.h).
 *
 * tc(8) runs as a child process, fork + exec with an argv array, never a shell, and never
 * found through the PATH (run.h). The tree is fed to one `tc -batch -` per step through a
 * memfd on its stdin: a thousand users are some three thousand tc commands, and one process
 * per command would take seconds on a Pi (about 2 ms each here) at every start and SIGHUP.
 * tc stops a batch at its first failing line and names it ("Command failed -:N"), which
 * gives the one-line reason. The interface name is checked against an allowlist first, so
 * nothing from the caller can add words or lines to a batch. */
#include "vpn/qos.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vpn/limits.h"
#include "vpn/log.h"
#include "vpn/server_config.h"
#include "vpn/run.h"
#include "vpn/units.h"

enum {
    /* tc burst: 10 ms at the rate, at least two full packets. The shaper queues rather than
     * drops, so the burst only has to cover timer slack; a small one keeps a 2 Mbit/s class
     * accurate over short windows (3000 bytes there: 12 ms of its rate). */
    TC_BURST_MS = 10,
    TC_BURST_MIN = 2 * MTU_MAX,
    /* tc cburst: 30 ms at the ceil. A class that borrows up to its ceil is stopped by its
     * ctokens, and whenever HTB's watchdog or the dequeue comes later than the cburst lasts
     * (a loaded 2-core host delays wake-ups by 10 ms and more), the ceiling time it missed is
     * lost and the parent lends it to the next priority: with 10 ms a 6 Mbit/s normal user
     * borrowing next to a busy guest got 5.4-5.7 Mbit/s and the guest the rest above its
     * share; with 30 ms 5.9-6.0 (bench/run-qos.sh, loss-down). It only lets a class that was
     * idle send 30 ms of its ceil at once, which the parent's own 10 ms burst bounds. */
    TC_CBURST_MS = 30,
    /* HTB's DRR quantum among classes borrowing at one priority: proportional to the rate
     * (rate / 10, HTB's r2q) so that spare capacity is shared in proportion to guarantees,
     * but at least one full packet (the TUN carries no link header) and at most the 200000
     * above which the kernel warns "quantum of class is big". */
    QUANTUM_MIN = MTU_MAX,
    QUANTUM_MAX = 200000,
    /* fq_codel target: RFC 8289's 5 ms, raised to one MTU's transmission time at the class
     * rate (RFC 8289 section 4.4: target below that makes CoDel drop at every packet). */
    CODEL_TARGET_US = 5000,
    /* pfifo fallback: packets for 100 ms at the class rate. A single TCP flow needs about one
     * bandwidth-delay product of buffer to keep the link busy after halving its window, and
     * 100 ms covers typical VPN round trips; more is bufferbloat (2 Mbit/s: 17 packets,
     * 100 ms). At least 16 so that several flows each keep a few packets queued (below that
     * tail drop hits them all at once), at most 1000 (the classic txqueuelen). */
    FIFO_DELAY_MS = 100,
    FIFO_MIN = 16,
    FIFO_MAX = 1000,
    /* u32 hash table for the per-user filters, keyed on the address's last byte. */
    FILTER_HT = 2,
    FILTER_BUCKETS = 256,
    ERR_CAP = 4096,             /* tc's stderr kept for the reason; the rest is discarded */
};

static enum qos_leaf leaf_in_use = QOS_LEAF_FQ_CODEL;

static void set_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t len, const char *fmt, ...)
{
    if (!why || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* ---- running tc ---- */

/* Copies line number lineno (1-based) of script into out, without its newline. */
static void script_line(const char *script, int lineno, char *out, size_t cap)
{
    const char *p = script;
    for (int i = 1; i < lineno && p; i++)
        if ((p = strchr(p, '\n')))
            p++;
    if (!p) {
        snprintf(out, cap, "line %d", lineno);
        return;
    }
    size_t len = strcspn(p, "\n");
    snprintf(out, cap, "%.*s", (int)len, p);
}

/* Builds "tc <failing command>: <tc's first message>" from a failed batch's stderr. */
static void batch_reason(const char *script, const char *err, int status, char *why,
                         size_t why_len)
{
    char cmd[256] = "", msg[256] = "";
    const char *failed = strstr(err, "Command failed -:");
    if (failed)
        script_line(script, atoi(failed + strlen("Command failed -:")), cmd, sizeof(cmd));
    for (const char *p = err; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        size_t len = strcspn(p, "\n");
        if (len && strncmp(p, "Command failed", 14) != 0) {
            snprintf(msg, sizeof(msg), "%.*s", (int)len, p);
            break;
        }
    }
    if (status == 127 && !*msg)
        set_why(why, why_len, "cannot run tc (not in PATH, /usr/sbin or /sbin): install iproute2");
    else if (*cmd)
        set_why(why, why_len, "tc %s: %s", cmd, *msg ? msg : "failed");
    else
        set_why(why, why_len, "tc -batch failed (status %d): %s", status, *msg ? msg : "?");
}

/* Runs script (newline-separated tc commands) as one `tc -batch -`. Returns 0, or -1 with the
 * reason in why. */
static int run_batch(const char *script, size_t len, bool force, char *why, size_t why_len)
{
    char *argv[] = { "tc", "-batch", "-", NULL, NULL };
    if (force) {
        argv[1] = "-force";
        argv[2] = "-batch";
        argv[3] = "-";
    }
    int err_pipe[2] = { -1, -1 };
    int rc = -1;

    int in_fd = memfd_create("qos-tc-batch", MFD_CLOEXEC);
    if (in_fd < 0) {
        set_why(why, why_len, "memfd_create: %s", strerror(errno));
        return -1;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(in_fd, script + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            set_why(why, why_len, "writing the tc batch: %s", strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (lseek(in_fd, 0, SEEK_SET) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        set_why(why, why_len, "tc batch set-up: %s", strerror(errno));
        goto out;
    }
    pid_t pid = run_spawn(argv, in_fd, -1, err_pipe[1]);
    if (pid < 0) {
        set_why(why, why_len, "fork for tc: %s", strerror(errno));
        goto out;
    }
    close(err_pipe[1]);
    err_pipe[1] = -1;

    char err[ERR_CAP];
    run_drain(err_pipe[0], err, sizeof(err));
    int status = run_wait(pid);
    if (status == 0)
        rc = 0;
    else
        batch_reason(script, err, status, why, why_len);
out:
    close(in_fd);
    if (err_pipe[0] >= 0)
        close(err_pipe[0]);
    if (err_pipe[1] >= 0)
        close(err_pipe[1]);
    return rc;
}

/* ---- the tree ---- */

struct script {
    FILE *f;
    char *buf;
    size_t len;
};

static int script_open(struct script *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    return s->f ? 0 : -1;
}

/* Closes the stream and runs what was written (with tc -force: past failing lines); frees
 * the buffer. */
static int script_finish(struct script *s, bool force, char *why, size_t why_len)
{
    int rc = -1;
    if (fclose(s->f) != 0 || !s->buf)
        set_why(why, why_len, "building the tc batch: %s", strerror(errno));
    else
        rc = s->len ? run_batch(s->buf, s->len, force, why, why_len) : 0;
    free(s->buf);
    s->buf = NULL;
    return rc;
}

static int script_run(struct script *s, char *why, size_t why_len)
{
    return script_finish(s, false, why, why_len);
}

static int script_run_forced(struct script *s, char *why, size_t why_len)
{
    return script_finish(s, true, why, why_len);
}

static void script_abandon(struct script *s)
{
    fclose(s->f);
    free(s->buf);
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void emit_class_verb(FILE *f, const char *verb, const char *dev, uint16_t parent_minor,
                            uint16_t minor, uint64_t rate, uint64_t ceil, int prio)
{
    char r[32], c[32];
    if (ceil < rate)
        ceil = rate;
    format_tc_rate(rate, r, sizeof(r));
    format_tc_rate(ceil, c, sizeof(c));
    uint64_t burst = rate / 8 * TC_BURST_MS / 1000, cburst = ceil / 8 * TC_CBURST_MS / 1000;
    /* Estimators (1 s sampling, 8 s average) give the status tool a rate per user. */
    fprintf(f, "class %s dev %s parent %u:%x classid %u:%x estimator 1sec 8sec htb"
               " rate %s ceil %s burst %" PRIu64 " cburst %" PRIu64 " quantum %" PRIu64,
            verb, dev, QOS_ROOT_MAJOR, parent_minor, QOS_ROOT_MAJOR, minor, r, c,
            burst < TC_BURST_MIN ? (uint64_t)TC_BURST_MIN : burst,
            cburst < TC_BURST_MIN ? (uint64_t)TC_BURST_MIN : cburst,
            clamp_u64(rate / 8 / 10, QUANTUM_MIN, QUANTUM_MAX));
    if (prio >= 0)
        fprintf(f, " prio %d", prio);
    fputc('\n', f);
}

static void emit_class(FILE *f, const char *dev, uint16_t parent_minor, uint16_t minor,
                       uint64_t rate, uint64_t ceil, int prio)
{
    emit_class_verb(f, "add", dev, parent_minor, minor, rate, ceil, prio);
}

static int clamp_prio(int prio)
{
    return prio < 0 ? 0 : prio > 7 ? 7 : prio;
}

static void emit_leaf(FILE *f, const char *dev, uint16_t minor, uint64_t rate, uint64_t ceil,
                      enum qos_leaf kind)
{
    /* The leaf's handle major is the class's minor: unique, and never the root's 1. */
    fprintf(f, "qdisc add dev %s parent %u:%x handle %x: ", dev, QOS_ROOT_MAJOR, minor, minor);
    if (kind == QOS_LEAF_FQ_CODEL) {
        uint64_t mtu_us = (uint64_t)MTU_MAX * 8 * 1000000 / rate;
        /* memory_limit: 100 ms at the ceil, doubled for skb overhead, instead of the 32 MB
         * default per leaf, which a thousand users would multiply on a 1 GB Pi. */
        fprintf(f, "fq_codel target %" PRIu64 "us memory_limit %" PRIu64 "\n",
                mtu_us > CODEL_TARGET_US ? mtu_us : (uint64_t)CODEL_TARGET_US,
                clamp_u64(ceil / 8 / 10 * 2, 256 * 1024, 32 * 1024 * 1024));
    } else {
        uint64_t pkts = rate / 8 * FIFO_DELAY_MS / 1000 / MTU_MAX + 1;
        fprintf(f, "pfifo limit %" PRIu64 "\n", clamp_u64(pkts, FIFO_MIN, FIFO_MAX));
    }
}

/* One address's /32 filter into leaf minor, with a handle of its own (2:BUCKET:ITEM) so that
 * it can be removed alone when the device holding the address goes. ITEM comes from the
 * address's bits above the bucket byte: unique within a bucket for any tunnel network of
 * /13 or longer (the pool holds at most 65536 addresses), and never tc's own 0x800 and up. */
static void emit_filter(FILE *f, const char *dev, const char *verb, uint32_t addr,
                        uint16_t minor)
{
    fprintf(f, "filter %s dev %s parent %u: protocol ip prio 1 handle %x:%x:%x u32", verb, dev,
            QOS_ROOT_MAJOR, FILTER_HT, addr & 0xff, ((addr >> 8) & 0x7ff) + 1);
    if (minor)
        fprintf(f, " ht %x:%x: match ip dst %u.%u.%u.%u/32 flowid %u:%x", FILTER_HT,
                addr & 0xff, addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff,
                QOS_ROOT_MAJOR, minor);
    fputc('\n', f);
}

static void emit_filters(FILE *f, const char *dev, const struct server_config *cfg)
{
    int any = 0;
    for (int i = 0; i < cfg->n_users; i++)
        any |= cfg->users[i].class_index >= 0;
    if (!any)
        return;
    /* Root table 800: sends every IPv4 packet to bucket (dst & 0xff) of table 2:; the bucket
     * holds the /32 matches of the users whose address ends in that byte. IPv6 and the
     * addresses of nobody listed fall through to HTB's default class. */
    fprintf(f, "filter add dev %s parent %u: protocol ip prio 1 handle %x: u32 divisor %d\n",
            dev, QOS_ROOT_MAJOR, FILTER_HT, FILTER_BUCKETS);
    fprintf(f, "filter add dev %s parent %u: protocol ip prio 1 u32 ht 800:: match u32 0 0 at 16"
               " hashkey mask 0x000000ff at 16 link %x:\n", dev, QOS_ROOT_MAJOR, FILTER_HT);
    /* Fixed addresses are filtered from the start; the addresses a classed user's other
     * devices get from the pool come and go with their sessions (qos_filters_apply). */
    for (int i = 0; i < cfg->n_users; i++) {
        const struct qos_user *u = &cfg->users[i];
        if (u->class_index >= 0 && u->vpn_ip != 0)
            emit_filter(f, dev, "add", u->vpn_ip, qos_user_minor(cfg, i));
    }
}

static int valid_ifname(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len >= IFNAMSIZ)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
            return 0;
    return 1;
}

static int check_config(const struct server_config *cfg, const char *ifname, char *why,
                        size_t why_len)
{
    if (!valid_ifname(ifname)) {
        set_why(why, why_len, "invalid interface name for tc");
        return -1;
    }
    if (cfg->total_bandwidth_bps == 0 || cfg->default_rate_bps == 0) {
        set_why(why, why_len, "total_bandwidth and default_rate must be set");
        return -1;
    }
    if ((cfg->default_major != 0 && cfg->default_major != QOS_ROOT_MAJOR) ||
        cfg->default_minor <= QOS_INNER_MINOR || cfg->default_minor == 0xffff) {
        set_why(why, why_len, "default_class %u:%x: must be %u:N with N from 2 to fffe",
                cfg->default_major, cfg->default_minor, QOS_ROOT_MAJOR);
        return -1;
    }
    if (cfg->n_users < 0 || cfg->n_users > QOS_USER_MAX || cfg->n_classes < 0 ||
        cfg->n_classes > QOS_CLASS_MAX) {
        set_why(why, why_len, "bad user or class count");
        return -1;
    }
    for (int i = 0; i < cfg->n_users; i++) {
        const struct qos_user *u = &cfg->users[i];
        if (u->class_index >= cfg->n_classes) {
            set_why(why, why_len, "user %s: no class number %d", u->name, u->class_index);
            return -1;
        }
        if (u->class_index >= 0 && cfg->classes[u->class_index].rate_bps == 0) {
            set_why(why, why_len, "class %s: rate is 0", cfg->classes[u->class_index].name);
            return -1;
        }
    }
    return 0;
}

/* HTB serves a class within its rate without asking its parent, so guarantees that add up
 * to more than total_bandwidth are all honoured and the link carries more than the total
 * (the upload policer does the same). Worth saying, not refusing: the sum counts users who
 * may never connect at the same time. */
static void warn_oversubscribed(const struct server_config *cfg)
{
    uint64_t sum = cfg->default_rate_bps;
    for (int i = 0; i < cfg->n_users; i++)
        if (cfg->users[i].class_index >= 0)
            sum += cfg->classes[cfg->users[i].class_index].rate_bps;
    if (sum > cfg->total_bandwidth_bps)
        log_warn("QoS: guaranteed rates add up to %" PRIu64 " bit/s, more than total_bandwidth"
                 " %" PRIu64 " bit/s: when all are busy the link carries their sum",
                 sum, cfg->total_bandwidth_bps);
}

/* Root qdisc and every class, in one batch. */
static int build_classes(const struct server_config *cfg, const char *dev, char *why,
                         size_t why_len)
{
    struct script s;
    if (script_open(&s) != 0) {
        set_why(why, why_len, "out of memory");
        return -1;
    }
    fprintf(s.f, "qdisc add dev %s root handle %u: htb default %x\n", dev, QOS_ROOT_MAJOR,
            cfg->default_minor);
    emit_class(s.f, dev, 0, QOS_INNER_MINOR, cfg->total_bandwidth_bps,
               cfg->total_bandwidth_bps, -1);
    emit_class(s.f, dev, QOS_INNER_MINOR, cfg->default_minor, cfg->default_rate_bps,
               cfg->default_ceil_bps, QOS_DEFAULT_PRIO);
    for (int i = 0; i < cfg->n_users; i++) {
        const struct qos_user *u = &cfg->users[i];
        if (u->class_index < 0)
            continue;
        const struct qos_class *c = &cfg->classes[u->class_index];
        emit_class(s.f, dev, QOS_INNER_MINOR, qos_user_minor(cfg, i), c->rate_bps, c->ceil_bps,
                   clamp_prio(c->priority));
    }
    return script_run(&s, why, why_len);
}

/* Tries fq_codel on the default class's leaf; on refusal returns QOS_LEAF_PFIFO after one
 * warning. The default leaf is in place on return when fq_codel was accepted. */
static enum qos_leaf probe_leaf(const struct server_config *cfg, const char *dev)
{
    char reason[256];
    struct script s;
    if (script_open(&s) != 0)
        return QOS_LEAF_PFIFO;
    emit_leaf(s.f, dev, cfg->default_minor, cfg->default_rate_bps, cfg->default_ceil_bps,
              QOS_LEAF_FQ_CODEL);
    if (script_run(&s, reason, sizeof(reason)) == 0)
        return QOS_LEAF_FQ_CODEL;
    log_warn("QoS: the kernel refused fq_codel (%s); leaf queues use pfifo", reason);
    return QOS_LEAF_PFIFO;
}

/* The remaining leaves and the filters, in one batch. */
static int build_leaves(const struct server_config *cfg, const char *dev, enum qos_leaf kind,
                        char *why, size_t why_len)
{
    struct script s;
    if (script_open(&s) != 0) {
        set_why(why, why_len, "out of memory");
        return -1;
    }
    if (kind != QOS_LEAF_FQ_CODEL)
        emit_leaf(s.f, dev, cfg->default_minor, cfg->default_rate_bps, cfg->default_ceil_bps,
                  kind);
    for (int i = 0; i < cfg->n_users; i++) {
        const struct qos_user *u = &cfg->users[i];
        if (u->class_index < 0)
            continue;
        const struct qos_class *c = &cfg->classes[u->class_index];
        emit_leaf(s.f, dev, qos_user_minor(cfg, i), c->rate_bps,
                  c->ceil_bps > c->rate_bps ? c->ceil_bps : c->rate_bps, kind);
    }
    emit_filters(s.f, dev, cfg);
    if (ferror(s.f)) {
        script_abandon(&s);
        set_why(why, why_len, "out of memory");
        return -1;
    }
    return script_run(&s, why, why_len);
}

int qos_setup(const struct server_config *cfg, const char *ifname, char *why, size_t why_len)
{
    set_why(why, why_len, "%s", "");
    if (check_config(cfg, ifname, why, why_len) != 0)
        return -1;
    /* A tree left by a crashed run (or a previous configuration, on SIGHUP) would make
     * "qdisc add ... root" fail with "Exclusivity flag on". The TUN is ours. */
    qos_teardown(ifname);
    warn_oversubscribed(cfg);

    if (build_classes(cfg, ifname, why, why_len) != 0)
        goto err_tree;
    enum qos_leaf kind = probe_leaf(cfg, ifname);
    if (build_leaves(cfg, ifname, kind, why, why_len) != 0)
        goto err_tree;
    leaf_in_use = kind;
    return 0;

err_tree:
    qos_teardown(ifname);
    return -1;
}

enum qos_leaf qos_leaf_in_use(void)
{
    return leaf_in_use;
}

int qos_user_set_class(const struct server_config *cfg, const char *ifname, int user_index,
                       int class_index, char *why, size_t why_len)
{
    struct script s;
    if (user_index < 0 || user_index >= cfg->n_users || class_index < 0 ||
        class_index >= cfg->n_classes || cfg->users[user_index].class_index < 0) {
        set_why(why, why_len, "no tc class of its own");
        return -1;
    }
    if (script_open(&s) != 0) {
        set_why(why, why_len, "out of memory");
        return -1;
    }
    const struct qos_class *c = &cfg->classes[class_index];
    emit_class_verb(s.f, "change", ifname, QOS_INNER_MINOR, qos_user_minor(cfg, user_index),
                    c->rate_bps, c->ceil_bps, clamp_prio(c->priority));
    return script_run(&s, why, why_len);
}

void qos_teardown(const char *ifname)
{
    if (!valid_ifname(ifname))
        return;
    char *argv[] = { "tc", "qdisc", "del", "dev", (char *)ifname, "root", NULL };
    pid_t pid = run_spawn(argv, -1, -1, -1);
    if (pid > 0)
        run_wait(pid);
}

uint16_t qos_user_minor(const struct server_config *cfg, int user_index)
{
    unsigned m = QOS_USER_MINOR_BASE + (unsigned)user_index;
    if (cfg->default_minor >= QOS_USER_MINOR_BASE && m >= cfg->default_minor)
        m++;
    return (uint16_t)m;
}

void qos_classid_for_user(const struct server_config *cfg, const char *username,
                          uint16_t *major, uint16_t *minor)
{
    int i = server_config_user_index(cfg, username);
    *major = QOS_ROOT_MAJOR;
    *minor = i >= 0 && cfg->users[i].class_index >= 0 ? qos_user_minor(cfg, i)
                                                       : cfg->default_minor;
}

int qos_filters_apply(const char *ifname, const struct qos_filter_change *changes, int n,
                      char *why, size_t why_len)
{
    set_why(why, why_len, "%s", "");
    if (!valid_ifname(ifname)) {
        set_why(why, why_len, "invalid interface name for tc");
        return -1;
    }
    struct script s;
    if (n <= 0)
        return 0;
    if (script_open(&s) != 0) {
        set_why(why, why_len, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        emit_filter(s.f, ifname, changes[i].minor ? "add" : "del", changes[i].addr,
                    changes[i].minor);
    if (ferror(s.f)) {
        script_abandon(&s);
        set_why(why, why_len, "out of memory");
        return -1;
    }
    /* -force: one refused line (a filter already gone) must not stop the others. */
    return script_run_forced(&s, why, why_len);
}

const char *qos_class_name_for(const struct server_config *cfg, uint32_t vpn_ip)
{
    for (int i = 0; i < cfg->n_users; i++)
        if (cfg->users[i].vpn_ip == vpn_ip && cfg->users[i].class_index >= 0)
            return cfg->classes[cfg->users[i].class_index].name;
    return QOS_DEFAULT_CLASS_NAME;
}

/* ---- statistics ---- */

/* tc prints rates as an integer with an optional K/M/G/T prefix and "bit" (print_rate in
 * iproute2's tc_util.c); the prefixes are decimal. */
