/* The download tree (core/server/qos.c) against the real kernel: qos_setup on a TUN, then what
 * tc reports is compared with the configuration; packets sent to each user's address must
 * land in that user's class. Needs root; skipped otherwise.
 *
 *   test process, in a fresh network namespace (unshare: the kernel deletes it when the
 *   test process exits, whatever happens to the test)
 *
 *     UDP socket --> tunq0 10.8.0.1/24 --[htb 1: ... filters]--> our tun fd (never read)
 *                    alice 10.8.0.10 -> 1:100, bob 10.8.0.20 -> 1:101,
 *                    guest1 10.8.0.100 -> 1:102, anyone else -> 1:20
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vpn/qos.h"
#include "vpn/server_config.h"

#define MBIT 1000000ULL
#define DEV "tunq0"

static struct server_config cfg;

static uint32_t ip4(const char *s)
{
    struct in_addr a;
    cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
    return ntohl(a.s_addr);
}

static void add_class(const char *name, uint16_t minor, uint64_t rate, uint64_t ceil, int prio)
{
    struct qos_class *c = &cfg.classes[cfg.n_classes++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->major = 1;
    c->minor = minor;
    c->rate_bps = rate;
    c->ceil_bps = ceil;
    c->priority = prio;
}

static void add_user(const char *name, const char *ip, int class_index)
{
    struct qos_user *u = &cfg.users[cfg.n_users++];
    snprintf(u->name, sizeof(u->name), "%s", name);
    u->vpn_ip = ip4(ip);
    u->class_index = class_index;
}

/* The brief's classes and users, total 12 Mbit/s, default class 1:20 (the brief's
 * server.conf: the same number as the normal class, which the minor rule must keep apart
 * from bob's own class) at 2/6 Mbit/s so that the guarantees add up to the link. */
static void brief_config(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.qos_enabled = true;
    cfg.total_bandwidth_bps = 12 * MBIT;
    cfg.default_major = 1;
    cfg.default_minor = 0x20;
    cfg.default_rate_bps = 2 * MBIT;
    cfg.default_ceil_bps = 6 * MBIT;
    add_class("vip", 0x10, 5 * MBIT, 10 * MBIT, 1);
    add_class("normal", 0x20, 3 * MBIT, 6 * MBIT, 2);
    add_class("guest", 0x30, 2 * MBIT, 4 * MBIT, 3);
    add_user("alice", "10.8.0.10", 0);
    add_user("bob", "10.8.0.20", 1);
    add_user("guest1", "10.8.0.100", 2);
}

static int run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    cr_assert(pid > 0 && waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Output of a fixed command line (no user input reaches the shell). */
static char *capture(const char *cmd)
{
    static char buf[65536];
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen %s", cmd);
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static int tun_fd = -1;

/* Root only: a private namespace with tunq0 up, addressed, and attached to tun_fd (a TUN
 * without a reader has no carrier and its qdisc drops everything uncounted). */
static void enter_netns(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (network namespace, tc)");
    cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET)");
    cr_assert_eq(run((const char *[]){ "ip", "tuntap", "add", "dev", DEV, "mode", "tun", NULL }), 0);
    cr_assert_eq(run((const char *[]){ "ip", "addr", "add", "10.8.0.1/24", "dev", DEV, NULL }), 0);
    cr_assert_eq(run((const char *[]){ "ip", "link", "set", DEV, "up", NULL }), 0);
    tun_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    cr_assert(tun_fd >= 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", DEV);
    cr_assert_eq(ioctl(tun_fd, TUNSETIFF, &ifr), 0, "attach to %s", DEV);
}

struct tc_class {
    unsigned minor, parent;     /* parent 0 = root */
    int prio;                   /* -1 when tc prints none */
    char rate[32], ceil[32];
};

static int read_classes(struct tc_class *out, int max)
{
    char *text = capture("tc class show dev " DEV);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned maj, min;
        if (sscanf(line, "class htb %x:%x", &maj, &min) != 2)
            continue;
        cr_assert(n < max && maj == 1, "%s", line);
        struct tc_class *c = &out[n++];
        memset(c, 0, sizeof(*c));
        c->minor = min;
        c->prio = -1;
        char *p;
        if ((p = strstr(line, " parent 1:")))
            sscanf(p, " parent 1:%x", &c->parent);
        if ((p = strstr(line, " prio ")))
            sscanf(p, " prio %d", &c->prio);
        cr_assert((p = strstr(line, " rate ")) && sscanf(p, " rate %31s", c->rate) == 1);
        cr_assert((p = strstr(line, " ceil ")) && sscanf(p, " ceil %31s", c->ceil) == 1);
    }
    return n;
}

static const struct tc_class *find_class(const struct tc_class *c, int n, unsigned minor)
{
    for (int i = 0; i < n; i++)
        if (c[i].minor == minor)
            return &c[i];
    cr_assert_fail("no class 1:%x", minor);
    return NULL;
}

static void expect_class(const struct tc_class *c, int n, unsigned minor, unsigned parent,
                         int prio, const char *rate, const char *ceil)
{
    const struct tc_class *k = find_class(c, n, minor);
    cr_expect_eq(k->parent, parent, "1:%x parent %x", minor, k->parent);
    cr_expect_eq(k->prio, prio, "1:%x prio %d", minor, k->prio);
    cr_expect_str_eq(k->rate, rate, "1:%x rate", minor);
    cr_expect_str_eq(k->ceil, ceil, "1:%x ceil", minor);
}

/* Flowid of the u32 filter matching dst (host order), or 0. tc prints the flowid on the
 * filter's line and "match 0a08000a/ffffffff at 16" on the next. */
static unsigned filter_flowid(uint32_t dst)
{
    char *text = capture("tc filter show dev " DEV " parent 1:");
    char want[32];
    snprintf(want, sizeof(want), "match %08x/ffffffff at 16", dst);
    unsigned flowid = 0, found = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = strstr(line, "flowid 1:");
        if (p)
            sscanf(p, "flowid 1:%x", &flowid);
        else if (strstr(line, want))
            found = flowid;
    }
    return found;
}

static void send_udp(const char *dst, int count)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
    inet_pton(AF_INET, dst, &sa.sin_addr);
    char payload[100] = "qos";
    for (int i = 0; i < count; i++)
        cr_assert_eq(sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&sa, sizeof(sa)),
                     (ssize_t)sizeof(payload), "send to %s", dst);
    close(s);
}

static const struct qos_class_stats *find_stats(const struct qos_class_stats *st, int n,
                                                unsigned minor)
{
    for (int i = 0; i < n; i++)
        if (st[i].major == 1 && st[i].minor == minor)
            return &st[i];
    cr_assert_fail("no stats for 1:%x", minor);
    return NULL;
}

static int has_htb(void)
{
    return strstr(capture("tc qdisc show dev " DEV), "htb") != NULL;
}

Test(qos_tree, minor_numbers)
{
    brief_config();
    uint16_t maj, min;
    qos_classid_for_user(&cfg, "alice", &maj, &min);
    cr_assert(maj == 1 && min == 0x100);
    qos_classid_for_user(&cfg, "bob", &maj, &min);
    cr_assert(maj == 1 && min == 0x101, "bob has his own class, not the default 1:20");
    qos_classid_for_user(&cfg, "guest1", &maj, &min);
    cr_assert(maj == 1 && min == 0x102);
    qos_classid_for_user(&cfg, "dave", &maj, &min);
    cr_assert(maj == 1 && min == 0x20, "nobody listed: the default class");

    /* A user without a class shares the default; the default's number is skipped. */
    cfg.users[1].class_index = -1;
    qos_classid_for_user(&cfg, "bob", &maj, &min);
    cr_assert_eq(min, 0x20);
    cfg.default_minor = 0x101;
    cr_assert_eq(qos_user_minor(&cfg, 0), 0x100);
    cr_assert_eq(qos_user_minor(&cfg, 1), 0x102);
    cr_assert_eq(qos_user_minor(&cfg, 2), 0x103);
    cr_assert_eq(qos_user_minor(&cfg, QOS_USER_MAX - 1), 0x100 + QOS_USER_MAX);
}

Test(qos_tree, refuses_bad_input_without_running_tc)
{
    char why[256];
    brief_config();
    cr_assert_eq(qos_setup(&cfg, "tun0 root", why, sizeof(why)), -1);
    cr_assert(strstr(why, "interface name"), "%s", why);
    cr_assert_eq(qos_setup(&cfg, "tun0\nqdisc", why, sizeof(why)), -1);
    cfg.default_minor = 1;
    cr_assert_eq(qos_setup(&cfg, "tun0", why, sizeof(why)), -1);
    cr_assert(strstr(why, "default_class"), "%s", why);
    brief_config();
    cfg.users[0].class_index = 7;
    cr_assert_eq(qos_setup(&cfg, "tun0", why, sizeof(why)), -1);
    cr_assert(strstr(why, "alice"), "%s", why);
}

Test(qos_tree, builds_the_brief_tree)
{
    enter_netns();
    brief_config();
    char why[512];
    cr_assert_eq(qos_setup(&cfg, DEV, why, sizeof(why)), 0, "setup: %s", why);

    struct tc_class c[16];
    int n = read_classes(c, 16);
    cr_assert_eq(n, 5, "1:1, the default and one class per user: %d", n);
    expect_class(c, n, 0x1, 0, -1, "12Mbit", "12Mbit");
    expect_class(c, n, 0x20, 0x1, 7, "2Mbit", "6Mbit");
    expect_class(c, n, 0x100, 0x1, 1, "5Mbit", "10Mbit");
    expect_class(c, n, 0x101, 0x1, 2, "3Mbit", "6Mbit");
    expect_class(c, n, 0x102, 0x1, 3, "2Mbit", "4Mbit");

    char *q = capture("tc qdisc show dev " DEV);
    cr_expect(strstr(q, "qdisc htb 1: root") && strstr(q, "default 0x20"), "%s", q);
    const char *leaf = qos_leaf_in_use() == QOS_LEAF_FQ_CODEL ? "fq_codel" : "pfifo";
    static const char *const parents[] = { "1:20", "1:100", "1:101", "1:102" };
    for (size_t i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof(want), "qdisc %s %s: parent %s", leaf, parents[i] + 2, parents[i]);
        cr_expect(strstr(q, want), "no \"%s\" in:\n%s", want, q);
    }
    if (qos_leaf_in_use() == QOS_LEAF_PFIFO) {
        cr_expect(strstr(q, "parent 1:102 limit 17p"), "2 Mbit/s: 100 ms of packets\n%s", q);
        cr_expect(strstr(q, "parent 1:100 limit 42p"), "5 Mbit/s: 100 ms of packets\n%s", q);
    }

    cr_expect_eq(filter_flowid(ip4("10.8.0.10")), 0x100u);
    cr_expect_eq(filter_flowid(ip4("10.8.0.20")), 0x101u);
    cr_expect_eq(filter_flowid(ip4("10.8.0.100")), 0x102u);
    cr_expect_eq(filter_flowid(ip4("10.8.0.50")), 0u);

    /* Real packets: each user's land in that user's class, others in the default. */
    send_udp("10.8.0.10", 3);
    send_udp("10.8.0.20", 4);
    send_udp("10.8.0.100", 5);
    send_udp("10.8.0.50", 6);
    struct qos_class_stats st[16];
    int ns = qos_read_stats(DEV, st, 16);
    cr_assert_eq(ns, 5);
    cr_expect_eq(find_stats(st, ns, 0x100)->packets, 3);
    cr_expect_eq(find_stats(st, ns, 0x101)->packets, 4);
    cr_expect_eq(find_stats(st, ns, 0x102)->packets, 5);
    cr_expect_eq(find_stats(st, ns, 0x100)->bytes, 3 * 128, "IP + UDP + 100 bytes");
    cr_expect_geq(find_stats(st, ns, 0x20)->packets, 6, "IPv6 noise may add some");
    cr_expect_geq(find_stats(st, ns, 0x1)->packets, 18);
    cr_expect_eq(find_stats(st, ns, 0x100)->drops, 0);
    cr_expect_eq(qos_read_stats(DEV, st, 2), 2, "fills at most max");

    /* A second device of alice online with a pool address: its filter joins her leaf, and
     * goes again with the device (one forced tc batch; a filter already gone is no error
     * for the others). */
    struct qos_filter_change add[] = { { ip4("10.8.0.50"), 0x100 }, { ip4("10.8.1.10"), 0x101 } };
    cr_assert_eq(qos_filters_apply(DEV, add, 2, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(filter_flowid(ip4("10.8.0.50")), 0x100u, "alice's second device: her leaf");
    cr_expect_eq(filter_flowid(ip4("10.8.1.10")), 0x101u, "same last byte as alice's .10");
    cr_expect_eq(filter_flowid(ip4("10.8.0.10")), 0x100u);
    send_udp("10.8.0.50", 2);
    ns = qos_read_stats(DEV, st, 16);
    cr_expect_eq(find_stats(st, ns, 0x100)->packets, 5, "both of alice's devices counted");
    struct qos_filter_change del[] = { { ip4("10.8.2.99"), 0 }, { ip4("10.8.0.50"), 0 } };
    cr_expect_eq(qos_filters_apply(DEV, del, 2, why, sizeof(why)), -1, "the first is unknown");
    cr_expect_eq(filter_flowid(ip4("10.8.0.50")), 0u, "removed all the same");
    cr_expect_eq(filter_flowid(ip4("10.8.1.10")), 0x101u);
    cr_expect_eq(filter_flowid(ip4("10.8.0.10")), 0x100u, "the fixed address's stays");

    /* Set-up again (SIGHUP) replaces the tree instead of failing on the old root. */
    cr_assert_eq(qos_setup(&cfg, DEV, why, sizeof(why)), 0, "second setup: %s", why);
    cr_expect_eq(read_classes(c, 16), 5);

    qos_teardown(DEV);
    cr_expect(!has_htb(), "teardown leaves no htb");
    cr_expect_str_eq(capture("tc class show dev " DEV), "");
    cr_expect_str_eq(capture("tc filter show dev " DEV), "");
    qos_teardown(DEV);      /* idempotent, and silent */
    cr_expect_eq(qos_read_stats(DEV, st, 16), 0);
}

Test(qos_tree, missing_device_fails_with_reason)
{
    enter_netns();
    brief_config();
    char why[512];
    cr_assert_eq(qos_setup(&cfg, "nosuchdev0", why, sizeof(why)), -1);
    cr_expect(strstr(why, "tc qdisc add dev nosuchdev0 root handle 1: htb") &&
                  strstr(why, "Cannot find device"), "%s", why);
    cr_expect(!strchr(why, '\n'), "one line: %s", why);
    cr_expect(!has_htb());
    cr_expect_eq(qos_read_stats("nosuchdev0", (struct qos_class_stats[1]){ { 0 } }, 1), -1);
}

/* The tc that late_failure_removes_everything starts instead of the system's. run.c finds
 * tools in the system directories only, never through PATH, so this program interposes
 * execve (which run.c's forked child calls) and swaps the path of tc; everything else, and
 * tc when no fake is set, goes to the kernel unchanged. */
static const char *fake_tc;

int execve(const char *path, char *const argv[], char *const envp[])
{
    if (fake_tc && argv[0] && strcmp(argv[0], "tc") == 0)
        path = fake_tc;
    return (int)syscall(SYS_execve, path, argv, envp);
}

/* A failure after the root and the classes are in (here: a tc that refuses the filter batch)
 * must remove all of it and name the failing command. The fake tc is a test harness, so a
 * shell script is fine there. */
Test(qos_tree, late_failure_removes_everything)
{
    enter_netns();
    char dir[] = "/tmp/qostree-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/tc", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "#!/bin/sh\n"
               "real=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v tc)\n"
               "if [ \"$1\" = -batch ]; then\n"
               "    s=$(cat)\n"
               "    case \"$s\" in *'filter add'*)\n"
               "        echo 'RTNETLINK answers: Operation not permitted' >&2\n"
               "        echo 'Command failed -:2' >&2; exit 2;;\n"
               "    esac\n"
               "    printf '%%s\\n' \"$s\" | exec \"$real\" \"$@\"\n"
               "fi\n"
               "exec \"$real\" \"$@\"\n");
    fclose(f);
    chmod(path, 0755);
    fake_tc = path;

    brief_config();
    char why[512];
    int rc = qos_setup(&cfg, DEV, why, sizeof(why));
    fake_tc = NULL;
    unlink(path);
    rmdir(dir);
    cr_assert_eq(rc, -1);
    cr_expect(strstr(why, "Operation not permitted") && strstr(why, "tc qdisc add dev " DEV),
              "names line 2 of the batch: %s", why);
    cr_expect(!has_htb(), "nothing left installed");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The kernel shapes to the configuration: the three users saturating a 12 Mbit/s link
 * (their guarantees add up to 10, the default class stays idle) each get at least their
 * guarantee, vip (prio 1) takes the spare, and the total stays at the link. Offered load is
 * 16 Mbit/s per user for 2 s; tolerances cover the initial bursts and timer slack. */
Test(qos_tree, shapes_to_the_configured_rates, .timeout = 30)
{
    enter_netns();
    brief_config();
    char why[512];
    cr_assert_eq(qos_setup(&cfg, DEV, why, sizeof(why)), 0, "setup: %s", why);

    static const char *const dst[] = { "10.8.0.10", "10.8.0.20", "10.8.0.100" };
    static const unsigned minor[] = { 0x100, 0x101, 0x102 };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct sockaddr_in sa[3];
    for (int i = 0; i < 3; i++) {
        sa[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(9) };
        inet_pton(AF_INET, dst[i], &sa[i].sin_addr);
    }
    static char payload[1372];     /* 1400-byte IP packets */
    const double gap = 1400.0 * 8 / 16e6;

    struct qos_class_stats a[8], b[8];
    int na = qos_read_stats(DEV, a, 8);
    double t0 = now_s(), next = t0;
    while (now_s() - t0 < 2.0) {
        for (int i = 0; i < 3; i++)
            (void)sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&sa[i],
                         sizeof(sa[i]));
        next += gap;
        double wait = next - now_s();
        if (wait > 0) {
            struct timespec ts = { 0, (long)(wait * 1e9) };
            nanosleep(&ts, NULL);
        }
    }
    int nb = qos_read_stats(DEV, b, 8);
    double t1 = now_s();
    close(s);

    double total = 0, got[3];
    for (int i = 0; i < 3; i++) {
        uint64_t bytes = find_stats(b, nb, minor[i])->bytes - find_stats(a, na, minor[i])->bytes;
        got[i] = (double)bytes * 8 / (t1 - t0);
        total += got[i];
    }
    cr_expect(got[0] >= 0.97 * 5e6 && got[0] <= 1.03 * 7e6, "alice %.0f", got[0]);
    cr_expect(got[1] >= 0.97 * 3e6 && got[1] <= 1.03 * 3e6, "bob %.0f", got[1]);
    cr_expect(got[2] >= 0.97 * 2e6 && got[2] <= 1.03 * 2e6, "guest1 %.0f", got[2]);
    cr_expect(total >= 0.95 * 12e6 && total <= 1.03 * 12e6, "total %.0f", total);
    qos_teardown(DEV);
}
