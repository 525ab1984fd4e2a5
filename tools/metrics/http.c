/* vpn-metrics' HTTP side (see http.h). */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_guard.h"
#include "metrics_format.h"
#include "status_ask.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "www.h"

enum {
    HTTP_CONNECTIONS_MAX = 64,      /* a scraper, a few browsers and a proxy's pool */
    HTTP_IDLE_TIMEOUT_S = 15,       /* a connection that says nothing for this long is closed */
};

/* Queues body (taking it when mode is MHD_RESPMEM_MUST_FREE) with the headers every answer
 * carries: nothing here is to be framed, sniffed, cached or loaded from elsewhere. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free((void *)body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return reply(c, status, "text/plain; charset=utf-8", text, strlen(text),
                 MHD_RESPMEM_PERSISTENT);
}

/* {"error":"<what>: <why>"} with status 503: the page shows what it says. */
static enum MHD_Result reply_error(struct MHD_Connection *c, const char *what, const char *why)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return MHD_NO;
    /* Both strings are ours (fixed text and strerror), with no '"' or '\'. */
    fprintf(f, "{\"error\":\"%s: %s\"}\n", what, why);
    fclose(f);
    return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", body, len,
                 MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *c, const char *socket_path)
{
    char *status, *body = NULL;
    size_t status_len, len = 0;
    int rc = status_ask(socket_path, "show json", &status, &status_len);
    FILE *f = open_memstream(&body, &len);
    if (!f) {
        free(status);
        return MHD_NO;
    }
    if (rc != 0) {
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Cannot reach vpn-server at %s: %s", socket_path,
                    strerror(-rc));
        metrics_format_down(f);
    } else if (metrics_format(status, status_len, f) != 0) {
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "vpn-server's status is not JSON (%zu bytes)", status_len);
    }
    fclose(f);
    free(status);
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
                 MHD_RESPMEM_MUST_FREE);
}

/* The server's JSON answer to request, as it is; what = the error's words without it. */
static enum MHD_Result serve_json(struct MHD_Connection *c, const char *socket_path,
                                  const char *request, const char *what)
{
    char *body;
    size_t len;
    int rc = status_ask(socket_path, request, &body, &len);
    if (rc != 0)
        return reply_error(c, what, strerror(-rc));
    if (!status_is_json_object(body, len)) {
        free(body);
        return reply_error(c, what, "this vpn-server does not answer it");
    }
    return reply(c, MHD_HTTP_OK, "application/json", body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size, void **state)
{
    const char *socket_path = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only\n");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (host && !host_guard_allows(host))
        return reply_text(c, MHD_HTTP_FORBIDDEN, "Host must be an IP address or localhost "
                          "(README, \"Monitoring\": reverse proxies)\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(c, socket_path);
    if (strcmp(url, "/api/status") == 0)
        return serve_json(c, socket_path, "show json", "status not available");
    if (strcmp(url, "/api/usage") == 0)
        return serve_json(c, socket_path, "usage json", "usage not available");
    const struct www_file *f = www_find(url);
    if (f)
        return reply(c, MHD_HTTP_OK, f->content_type, f->data, f->len, MHD_RESPMEM_PERSISTENT);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    static struct log_limit lim;
    log_limited(&lim, LOG_WARN, "HTTP: %s", line);
}

struct MHD_Daemon *metrics_http_start(const struct sockaddr_in6 *addr,
                                      const char *control_socket, char *why, size_t why_len)
{
    /* An IPv4 address is bound as one: a v4-mapped IPv6 bind would need dual-stack. */
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = addr->sin6_port };
    const struct sockaddr *sa = (const struct sockaddr *)addr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (IN6_IS_ADDR_V4MAPPED(&addr->sin6_addr)) {
        memcpy(&a4.sin_addr, &addr->sin6_addr.s6_addr[12], 4);
        sa = (const struct sockaddr *)&a4;
    } else {
        flags |= MHD_USE_IPv6;
    }
    errno = 0;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, ntohs(addr->sin6_port), NULL, NULL, answer, (void *)control_socket,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,     /* first, or it misses messages */
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_END);
    if (!d) {
        char ep[64];
        snprintf(why, why_len, "cannot serve HTTP on %s: %s",
                 format_endpoint(addr, ep, sizeof(ep)),
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
    }
    return d;
}

void metrics_http_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
