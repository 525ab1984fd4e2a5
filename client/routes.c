/* The client's routes through `ip -batch` (see routes.h for the design and why). */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "vpn/run.h"
#include "vpn/text.h"

enum { IP_BATCH_MAX = 8192, RULES_TEXT_MAX = 16384 };

void routes_init(struct routes *r, const char *tun, uint32_t table)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->tun, sizeof(r->tun), "%s", tun);
    r->table = table;
}

static bool wanted(const struct ipv4_net *nets, int n, const struct ipv4_net *x)
{
    for (int i = 0; i < n; i++)
        if (nets[i].addr == x->addr && nets[i].prefix == x->prefix)
            return true;
    return false;
}

/* The server's own address pushed as a route of its own: the throw route holds that place
 * (the same key in T), and must. */
static bool is_throw(const struct routes *r, const struct ipv4_net *net)
{
    return r->have_throw && net->prefix == 32 && net->addr == r->throw_addr;
}

size_t routes_apply_text(const struct routes *r, const struct ipv4_net *nets, int n, char *out,
                         size_t out_len)
{
    size_t len = 0;
    char a[16];
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        if (!is_throw(r, &nets[i]) &&
            !text_append(out, out_len, &len, "route replace %s/%u dev %s table %u\n",
                         format_ipv4(nets[i].addr, a), nets[i].prefix, r->tun, r->table))
            return 0;
    for (int i = 0; i < r->n_cur; i++)
        if (!wanted(nets, n, &r->cur[i]) && !is_throw(r, &r->cur[i]) &&
            !text_append(out, out_len, &len, "route del %s/%u dev %s table %u\n",
                         format_ipv4(r->cur[i].addr, a), r->cur[i].prefix, r->tun, r->table))
            return 0;
    /* The main-table rule first: for a moment both rules or neither, never T alone (which
     * would send the LAN into the tunnel). It may exist already (another client's): "add"
     * of an identical rule fails, so it is the one line that goes separately. */
    if (n > 0 && !r->rules_on &&
        !text_append(out, out_len, &len, "rule add pref %d table %u protocol %d\n",
                     ROUTE_PREF_TABLE, r->table, ROUTE_PROTO))
        return 0;
    if (n == 0 && r->rules_on &&
        !text_append(out, out_len, &len, "rule del pref %d table %u protocol %d\n",
                     ROUTE_PREF_TABLE, r->table, ROUTE_PROTO))
        return 0;
    return len;
}

bool routes_rules_need_main(const char *rules)
{
    char proto[16];
    snprintf(proto, sizeof(proto), " proto %d", ROUTE_PROTO);
    for (const char *p = rules; *p;) {
        size_t n = strcspn(p, "\n");
        const char *lookup = memmem(p, n, "lookup ", 7);
        const char *tag = memmem(p, n, proto, strlen(proto));
        if (lookup && tag && (tag + strlen(proto) == p + n || tag[strlen(proto)] == ' ') &&
            strncmp(lookup + 7, "main ", 5) != 0)
            return true;
        p += n + (p[n] == '\n');
    }
    return false;
}

static int ip_batch(const char *text, bool force, char *why, size_t why_len)
{
    char *const strict[] = { "ip", "-4", "-batch", "-", NULL };
    char *const lenient[] = { "ip", "-4", "-force", "-batch", "-", NULL };
    if (!*text)
        return 0;
    return run_cmd_input(force ? lenient : strict, text, why, why_len) == 0 ? 0 : -1;
}

/* The shared main-table rule: added when missing; "File exists" is another client's. */
static int main_rule_add(char *why, size_t why_len)
{
    char text[128];
    snprintf(text, sizeof(text), "rule add pref %d table main suppress_prefixlength 0 "
             "protocol %d\n", ROUTE_PREF_MAIN, ROUTE_PROTO);
    if (ip_batch(text, false, why, why_len) == 0 || strstr(why, "File exists"))
        return 0;
    return -1;
}

/* ... and removed when no rule of ours looks up a table any more. Returns whether it was. */
static bool main_rule_release(void)
{
    static char rules[RULES_TEXT_MAX];
    char *const show[] = { "ip", "-4", "rule", "show", NULL };
    char text[128], why[256];
    if (run_capture(show, rules, sizeof(rules)) != 0 || routes_rules_need_main(rules))
        return false;
    snprintf(text, sizeof(text), "rule del pref %d table main suppress_prefixlength 0 "
             "protocol %d\n", ROUTE_PREF_MAIN, ROUTE_PROTO);
    return ip_batch(text, false, why, sizeof(why)) == 0;
}

int routes_apply(struct routes *r, const struct ipv4_net *nets, int n, char *why,
                 size_t why_len)
{
    static char text[IP_BATCH_MAX];
    if (n < 0 || n > ROUTES_MAX || !routes_apply_text(r, nets, n, text, sizeof(text))) {
        snprintf(why, why_len, "too many routes");
        return -1;
    }
    if (n > 0 && !r->rules_on && main_rule_add(why, why_len) != 0)
        return -1;
    int rc = ip_batch(text, false, why, why_len);
    if (rc != 0) {
        /* Stopped at the failing line: what is in T now is unknown, so the next apply
         * replaces all and deletes all it ever added. */
        for (int i = 0; i < n && r->n_cur < ROUTES_MAX; i++)
            if (!wanted(r->cur, r->n_cur, &nets[i]))
                r->cur[r->n_cur++] = nets[i];
        return -1;
    }
    bool was_on = r->rules_on;
    memcpy(r->cur, nets, sizeof(nets[0]) * (size_t)n);
    r->n_cur = n;
    r->rules_on = n > 0;
    if (was_on && !r->rules_on)
        main_rule_release();
    return 0;
}

int routes_set_endpoint(struct routes *r, bool v4, uint32_t addr, char *why, size_t why_len)
{
    char text[256], a[16];
    size_t len = 0;
    if (v4 && r->have_throw && r->throw_addr == addr)
        return 0;
    text[0] = '\0';
    /* The new exception before the old one goes: the server's address is never captured. */
    bool ok = !v4 || text_append(text, sizeof(text), &len, "route replace throw %s/32 table %u\n",
                                 format_ipv4(addr, a), r->table);
    ok = ok && (!r->have_throw ||
                text_append(text, sizeof(text), &len, "route del throw %s/32 table %u\n",
                            format_ipv4(r->throw_addr, a), r->table));
    if (!ok) {
        snprintf(why, why_len, "route text too long");
        return -1;
    }
    if (ip_batch(text, false, why, why_len) != 0)
        return -1;
    r->have_throw = v4;
    r->throw_addr = v4 ? addr : 0;
    /* A pushed /32 of the server's new address: the throw route took its place. */
    for (int i = 0; i < r->n_cur; i++)
        if (is_throw(r, &r->cur[i]))
            r->cur[i--] = r->cur[--r->n_cur];
    return 0;
}

void routes_clear(struct routes *r)
{
    char text[128], why[256];
    if (r->rules_on) {
        snprintf(text, sizeof(text), "rule del pref %d table %u protocol %d\n",
                 ROUTE_PREF_TABLE, r->table, ROUTE_PROTO);
        ip_batch(text, true, why, sizeof(why));
        main_rule_release();
    }
    snprintf(text, sizeof(text), "route flush table %u\n", r->table);
    ip_batch(text, true, why, sizeof(why));
    r->rules_on = false;
    r->have_throw = false;
    r->n_cur = 0;
}

int routes_reset(struct routes *r)
{
    static char rules[RULES_TEXT_MAX], table[RULES_TEXT_MAX];
    char *const show_rules[] = { "ip", "-4", "rule", "show", NULL };
    char t[16];
    snprintf(t, sizeof(t), "%u", r->table);
    char *const show_table[] = { "ip", "-4", "route", "show", "table", t, NULL };
    int left = 0;
    char mine[64];
    snprintf(mine, sizeof(mine), "lookup %u proto %d", r->table, ROUTE_PROTO);
    if (run_capture(show_rules, rules, sizeof(rules)) == 0 && strstr(rules, mine))
        left++;
    if (run_capture(show_table, table, sizeof(table)) == 0 && table[0])
        left++;
    if (left) {
        r->rules_on = true;     /* so that routes_clear takes the rules too */
        routes_clear(r);
    } else {
        main_rule_release();    /* a shared rule that outlived every client */
    }
    return left;
}
