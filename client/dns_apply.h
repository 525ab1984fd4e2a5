/* The pushed resolvers on the machine (docs/PROTOCOL.md, extension 4; README "Full tunnel
 * and DNS"). Used by the privileged helper only (helper.h).
 *
 * Three ways, the first that the machine uses:
 *   resolvectl   systemd-resolved runs (/run/systemd/resolve exists): the resolvers and
 *                search domains become the TUN link's own (`resolvectl dns|domain`), with
 *                the routing domain "~." and the link as default route when the tunnel
 *                carries 0.0.0.0/0, so that every query goes through it; undone by
 *                `resolvectl revert` (and by the link's end: resolved forgets a link that is
 *                gone, so a client killed with -9 leaves nothing here).
 *   resolvconf   a resolvconf (Debian's or openresolv) manages /etc/resolv.conf
 *                (/run/resolvconf exists): our lines as interface "tun.TUN" (`resolvconf -a`,
 *                `-d` at exit and at the next start).
 *   file         neither: /etc/resolv.conf itself. The original's bytes go to
 *                STATE_DIR/resolv.conf.TUN first (mode 0600, written whole, fsync'd, then
 *                renamed into place), then the file is rewritten in place (its inode, any
 *                symbolic link or bind mount onto it stay: `ip netns exec` mounts
 *                /etc/netns/NAME/resolv.conf there), its first line saying who wrote it.
 *                At exit, and at the next start after a crash, the backup is written back,
 *                but only while the file still holds our lines: if something else (a DHCP
 *                client) rewrote it meanwhile, its version stays and the backup is dropped.
 * Every name and address given has passed vpn/dns.h's rules (the helper checks them again),
 * so nothing here can add a line or an option.
 *
 * Not thread-safe; the helper's one thread owns a struct dns_state. */
#ifndef CLIENT_DNS_APPLY_H
#define CLIENT_DNS_APPLY_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

enum dns_method { DNS_METHOD_NONE, DNS_METHOD_RESOLVECTL, DNS_METHOD_RESOLVCONF,
                  DNS_METHOD_FILE };

struct dns_state {
    char tun[IFNAMSIZ];
    char resolv_conf[PATH_MAX];     /* /etc/resolv.conf */
    char backup[PATH_MAX];          /* STATE_DIR/resolv.conf.TUN */
    char state_dir[PATH_MAX];
    enum dns_method applied;        /* what is in place now; NONE: nothing of ours */
};

void dns_init(struct dns_state *d, const char *tun, const char *state_dir);

/* The way this machine takes resolvers (see above). */
enum dns_method dns_method_detect(void);
const char *dns_method_name(enum dns_method m);

/* Puts servers (n 0..DNS_SERVERS_MAX, host order) and search ("" or a list) in place;
 * all_queries: the tunnel carries 0.0.0.0/0, so every query should go to them. Replaces what
 * an earlier call put there. Returns 0, or -1 with why. */
int dns_apply(struct dns_state *d, const uint32_t *servers, int n, const char *search,
              bool all_queries, char *why, size_t why_len);

/* Takes back what dns_apply put in place (nothing when nothing was). */
void dns_restore(struct dns_state *d);

/* At start: what a client of this TUN killed before its exit left (a backup of resolv.conf, a
 * resolvconf entry). Returns 1 when something was taken back, else 0. */
int dns_reset(struct dns_state *d);

/* The resolv.conf text (pure, for the tests): a first line naming tun and backup, the
 * nameserver lines, the search line, and the "options" lines of original (the file before
 * us; NULL: none). Returns its length, 0 when it does not fit. */
size_t dns_resolv_conf_text(const char *tun, const char *backup, const uint32_t *servers, int n,
                            const char *search, const char *original, char *out,
                            size_t out_len);

#endif
