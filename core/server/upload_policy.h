/* Which upload policer a session uses, decided by the control thread and applied by the TX
 * thread, which alone owns the policers' state (REQUIREMENTS.md section 6: client -> server
 * held to the user's class). The control thread publishes a policy under a sequence count
 * (a reload may change a session's class); the TX thread notices the new count before the
 * next packet of that session and re-initialises its bucket. No lock on the packet path: one
 * load and compare per packet. */
#ifndef SERVER_UPLOAD_POLICY_H
#define SERVER_UPLOAD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct server_config;

struct upload_policy {
    bool limited;               /* false: no policing (QoS off, or tc refused the tree) */
    bool shared_default;        /* the default class's one bucket, shared as tc shares it */
    int user_slot;              /* else: the bucket of the user at this index of the classes
                                   file, shared by all its devices (their one tc leaf) */
    uint64_t rate_bps, ceil_bps;
    uint8_t prio;
};

/* A published policy (seqcount: odd while being written). */
struct upload_policy_box {
    uint32_t seq;
    struct upload_policy p;
};

/* The link-wide part: total bandwidth and the default class's bucket. */
struct upload_link_policy {
    bool limited;
    uint64_t total_bps, default_rate_bps, default_ceil_bps;
};

struct upload_link_box {
    uint32_t seq;
    struct upload_link_policy p;
};

/* What a session of username gets under cfg, with QoS in force or not: its user's class is
 * the same for every device of the user. */
void upload_policy_for(const struct server_config *cfg, bool qos_active, const char *username,
                       struct upload_policy *out);
void upload_link_policy_for(const struct server_config *cfg, bool qos_active,
                            struct upload_link_policy *out);

/* Control thread: publishes p (or l). */
void upload_policy_publish(struct upload_policy_box *b, const struct upload_policy *p);
void upload_link_publish(struct upload_link_box *b, const struct upload_link_policy *l);

/* TX thread: true, with the policy, when one was published since *seen (then updated). */
bool upload_policy_changed(const struct upload_policy_box *b, uint32_t *seen,
                           struct upload_policy *out);
bool upload_link_changed(const struct upload_link_box *b, uint32_t *seen,
                         struct upload_link_policy *out);

#endif
