/* The wg-quick configuration vpnctl device add prints (tools/vpnctl/wg_quick.c): the whole
 * text for known keys, DNS with search domains, the optional lines, AllowedIPs from the
 * server's routes (full tunnel, a pushed default route, routes inside others), an IPv6
 * endpoint, and a buffer too small. The QR codes of such a text: tools/vpnctl/qr_code.c,
 * read back from the terminal's characters and from the PNG's pixels. */
#include <criterion/criterion.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/vpnctl/qr_code.h"
#include "../../tools/vpnctl/wg_quick.h"
#include "vpn/server_config.h"

static struct server_config cfg;
static uint8_t PRIV[32] = { 0x01 }, PSK[32] = { 0x02 };

static void setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.tun_ip = 0x0a080001;
    cfg.tun_prefix = 24;
}

TestSuite(wg_quick, .init = setup);

static struct wg_quick base(void)
{
    struct wg_quick q = {
        .private_key = PRIV,
        .address = 0x0a080002,
        .dns_search = "",
        .server_public_key = "SERVERKEYSERVERKEYSERVERKEYSERVERKEYSERVER=",
        .endpoint_host = "vpn.example.org",
        .endpoint_port = 51821,
        .keepalive_s = 25,
    };
    wg_quick_allowed_ips(&q, &cfg, false);
    return q;
}

Test(wg_quick, whole_text)
{
    static const uint32_t dns[] = { 0x0a080001, 0x09090909 };
    cfg.push_routes[0] = (struct ipv4_net){ 0xc0a86400, 24 };
    cfg.n_push_routes = 1;
    struct wg_quick q = base();
    q.dns = dns;
    q.n_dns = 2;
    q.dns_search = "home.lan corp.example";
    q.mtu = 1400;
    q.preshared_key = PSK;
    wg_quick_allowed_ips(&q, &cfg, false);
    char buf[2048];
    int n = wg_quick_text(&q, buf, sizeof(buf));
    cr_assert_gt(n, 0);
    cr_expect_eq((size_t)n, strlen(buf));
    cr_expect_str_eq(buf,
                     "[Interface]\n"
                     "PrivateKey = AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                     "Address = 10.8.0.2/32\n"
                     "DNS = 10.8.0.1, 9.9.9.9, home.lan, corp.example\n"
                     "MTU = 1400\n"
                     "\n"
                     "[Peer]\n"
                     "PublicKey = SERVERKEYSERVERKEYSERVERKEYSERVERKEYSERVER=\n"
                     "PresharedKey = AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                     "Endpoint = vpn.example.org:51821\n"
                     "AllowedIPs = 10.8.0.0/24, 192.168.100.0/24\n"
                     "PersistentKeepalive = 25\n");
    /* One byte short: refused, not cut. */
    cr_expect_eq(wg_quick_text(&q, buf, (size_t)n), -1);
}

Test(wg_quick, optional_lines_left_out)
{
    struct wg_quick q = base();
    q.keepalive_s = 0;
    char buf[1024];
    cr_assert_gt(wg_quick_text(&q, buf, sizeof(buf)), 0);
    cr_expect_null(strstr(buf, "DNS"));
    cr_expect_null(strstr(buf, "MTU"));
    cr_expect_null(strstr(buf, "PresharedKey"));
    cr_expect_null(strstr(buf, "PersistentKeepalive"));
    cr_expect(strstr(buf, "\nAllowedIPs = 10.8.0.0/24\n"), "%s", buf);
    /* Search domains alone. */
    q.dns_search = "home.lan";
    cr_assert_gt(wg_quick_text(&q, buf, sizeof(buf)), 0);
    cr_expect(strstr(buf, "\nDNS = home.lan\n"), "%s", buf);
}

Test(wg_quick, allowed_ips)
{
    struct wg_quick q = base();
    char buf[1024];
    /* A route inside the tunnel network or inside another route is not repeated. */
    cfg.push_routes[0] = (struct ipv4_net){ 0xc0a80000, 16 };
    cfg.push_routes[1] = (struct ipv4_net){ 0xc0a86400, 24 };
    cfg.push_routes[2] = (struct ipv4_net){ 0x0a080000, 25 };
    cfg.n_push_routes = 3;
    wg_quick_allowed_ips(&q, &cfg, false);
    cr_assert_gt(wg_quick_text(&q, buf, sizeof(buf)), 0);
    cr_expect(strstr(buf, "\nAllowedIPs = 10.8.0.0/24, 192.168.0.0/16\n"), "%s", buf);
    /* --full-tunnel */
    wg_quick_allowed_ips(&q, &cfg, true);
    cr_assert_gt(wg_quick_text(&q, buf, sizeof(buf)), 0);
    cr_expect(strstr(buf, "\nAllowedIPs = 0.0.0.0/0\n"), "%s", buf);
    /* The server pushes a default route: the same. */
    cfg.push_routes[3] = (struct ipv4_net){ 0, 0 };
    cfg.n_push_routes = 4;
    wg_quick_allowed_ips(&q, &cfg, false);
    cr_expect_eq(q.n_allowed, 1);
    cr_expect_eq(q.allowed[0].prefix, 0);
}

Test(wg_quick, ipv6_endpoint_bracketed)
{
    struct wg_quick q = base();
    q.endpoint_host = "2001:db8::1";
    char buf[1024];
    cr_assert_gt(wg_quick_text(&q, buf, sizeof(buf)), 0);
    cr_expect(strstr(buf, "\nEndpoint = [2001:db8::1]:51821\n"), "%s", buf);
}

/* The terminal's characters back into modules: two rows per line, the quiet zone light. */
Test(wg_quick, qr_terminal_reads_back)
{
    struct qr_modules m;
    cr_assert_eq(qr_encode("[Interface]\nPrivateKey = x\n", &m), 0);
    cr_assert_gt(m.width, 20);
    size_t cap = qr_terminal_size(&m);
    char *out = malloc(cap);
    cr_assert(out);
    size_t len = qr_terminal_render(&m, out, cap);
    cr_assert_gt(len, 0);
    cr_expect_eq(len, strlen(out));
    int side = m.width + 2 * QR_QUIET, lines = 0;
    for (char *line = out; *line; lines++) {
        cr_assert_eq(strncmp(line, "\033[30;107m", 9), 0, "line %d starts black on white",
                     lines);
        char *p = line + 9;
        for (int x = 0; x < side; x++) {
            bool top, bottom;
            if (*p == ' ') {
                top = bottom = false;
                p++;
            } else {
                cr_assert_eq(memcmp(p, "\xe2\x96", 2), 0, "line %d column %d", lines, x);
                top = p[2] == '\x80' || p[2] == '\x88';
                bottom = p[2] == '\x84' || p[2] == '\x88';
                p += 3;
            }
            int y = 2 * lines;
            for (int k = 0; k < 2; k++) {
                int mx = x - QR_QUIET, my = y + k - QR_QUIET;
                bool want = mx >= 0 && my >= 0 && mx < m.width && my < m.width &&
                            m.dark[my * m.width + mx];
                cr_assert_eq(k ? bottom : top, want, "module (%d, %d)", x, y + k);
            }
        }
        cr_assert_eq(strncmp(p, "\033[0m\n", 5), 0);
        line = p + 5;
    }
    cr_expect_eq(lines, (side + 1) / 2);
    free(out);
    qr_release(&m);
}

/* The PNG decoded by libpng: its size, and each module's centre pixel. */
Test(wg_quick, qr_png_reads_back)
{
    struct qr_modules m;
    cr_assert_eq(qr_encode("[Peer]\nEndpoint = vpn.example.org:51821\n", &m), 0);
    uint8_t *png;
    size_t len;
    cr_assert_eq(qr_png_render(&m, 3, &png, &len), 0);
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_memory(&img, png, len), "%s", img.message);
    unsigned side = (unsigned)(m.width + 2 * QR_QUIET) * 3;
    cr_expect_eq(img.width, side);
    cr_expect_eq(img.height, side);
    img.format = PNG_FORMAT_GRAY;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(px);
    cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL), "%s", img.message);
    for (unsigned y = 0; y < side / 3; y++)
        for (unsigned x = 0; x < side / 3; x++) {
            int mx = (int)x - QR_QUIET, my = (int)y - QR_QUIET;
            bool dark = mx >= 0 && my >= 0 && mx < m.width && my < m.width &&
                        m.dark[my * m.width + mx];
            cr_assert_eq(px[(y * 3 + 1) * side + x * 3 + 1], dark ? 0 : 255, "module (%u, %u)",
                         x, y);
        }
    free(px);
    free(png);
    qr_release(&m);
}
