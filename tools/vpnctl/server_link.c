/* vpnctl's questions to the running server (see server_link.h). */
#include "server_link.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpn/json.h"
#include "vpn/limits.h"
#include "vpn/netaddr.h"
#include "vpn/unix_socket.h"

enum {
    RELOAD_WAIT_MS = 5000,      /* for the enclave to take the users file */
    RELOAD_POLL_MS = 50,
    REPLY_MAX = 1 << 22,        /* "show json" of MAX_CLIENTS_LIMIT sessions fits */
};

char *server_ask(const char *socket_path, const char *request, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        *rc = -ENOMEM;
        return NULL;
    }
    *rc = unix_request(socket_path, request, f);
    fclose(f);
    if (*rc == 0 && len > REPLY_MAX)
        *rc = -EMSGSIZE;
    if (*rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int server_reload(const char *socket_path)
{
    int rc;
    char *reply = server_ask(socket_path, "reload", &rc);
    if (!reply) {
        fprintf(stderr, "vpnctl: no server running at %s (%s): the change applies when it "
                        "starts\n", socket_path, strerror(-rc));
        return 0;
    }
    char why[600];
    unsigned long long done0, failed0, done, failed;
    if (!strstr(reply, "\"ok\":true")) {
        if (!json_get_string(reply, "error", why, sizeof(why), NULL))
            snprintf(why, sizeof(why), "%.200s", reply);
        fprintf(stderr, "vpnctl: the server refused the new files, keeping the ones it runs "
                        "with: %s\n", why);
        free(reply);
        return -1;
    }
    bool counts = json_get_uint(reply, "users_reloads", &done0, NULL) &&
                  json_get_uint(reply, "users_reload_failures", &failed0, NULL);
    free(reply);
    for (int waited = 0; counts && waited < RELOAD_WAIT_MS; waited += RELOAD_POLL_MS) {
        reply = server_ask(socket_path, "users", &rc);
        bool read = reply && json_get_uint(reply, "users_reloads", &done, NULL) &&
                    json_get_uint(reply, "users_reload_failures", &failed, NULL);
        if (read && failed > failed0) {
            json_get_string(reply, "users_reload_error", why, sizeof(why), NULL);
            fprintf(stderr, "vpnctl: the enclave refused the users file: %s\n", why);
            free(reply);
            return -1;
        }
        free(reply);
        if (read && done > done0)
            return 0;
        usleep(RELOAD_POLL_MS * 1000);
    }
    fprintf(stderr, "vpnctl: the server took the configuration, but its enclave did not "
                    "answer about the users file within %d ms\n", RELOAD_WAIT_MS);
    return -1;
}

int server_public_key(const char *socket_path, const char *json_key, const char *key_file,
                      char out[KEYFILE_B64_LEN + 1], char *why, size_t why_len)
{
    int rc;
    uint8_t pub[KEY_LEN];
    char *reply = server_ask(socket_path, "users", &rc);
    bool got = reply && json_get_string(reply, json_key, out, KEYFILE_B64_LEN + 1, NULL) &&
               keyfile_decode(out, pub) == 0;
    free(reply);
    if (got)
        return 0;
    uint8_t priv[KEY_LEN];
    if (keyfile_read(key_file, priv, why, why_len) != 0)
        return -1;
    crypto_scalarmult_base(pub, priv);
    sodium_memzero(priv, sizeof(priv));
    keyfile_encode(pub, out);
    return 0;
}

int server_leased_addresses(const char *socket_path, uint32_t *out, int max)
{
    int rc, n = 0;
    char *reply = server_ask(socket_path, "show json", &rc);
    char ip[64];
    /* Every session's "vpn_ip" (the "peers" array); the status's own "tun_ip" is another
     * key. */
    for (const char *p = reply; p && n < max && json_get_string(p, "vpn_ip", ip, sizeof(ip), &p);)
        if (parse_ipv4(ip, &out[n]) == 0)
            n++;
    free(reply);
    return n;
}
