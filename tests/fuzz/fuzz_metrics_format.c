/* Fuzzes the status-to-metrics mapping (tools/metrics/metrics_format.c) on any bytes as the
 * status reply: whatever a server (or something in its place on the socket) answers, the
 * output must be well-formed Prometheus text: every line a HELP or TYPE comment or a sample
 * "vpn_...{label="value",...} number", label values closed with every '"', '\' and newline
 * escaped, vpn_up first; and the result must be 0 exactly when the reply is a JSON object. */
#include "fuzz_util.h"

#include <ctype.h>
#include <jansson.h>

#include "../../tools/metrics/metrics_format.h"

/* One sample line (without its newline): name, optional labels, a space, a number. */
static bool sample_ok(const char *l, size_t n)
{
    size_t i = 0;
    if (n < 4 || strncmp(l, "vpn_", 4) != 0)
        return false;
    while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_'))
        i++;
    if (i < n && l[i] == '{') {
        i++;
        for (;;) {
            size_t k = i;
            while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_'))
                i++;
            if (i == k || i + 1 >= n || l[i] != '=' || l[i + 1] != '"')
                return false;
            for (i += 2; i < n && l[i] != '"'; i++)
                if (l[i] == '\\' && (++i >= n || !strchr("\\\"n", l[i])))
                    return false;
            if (i >= n)
                return false;
            i++;
            if (i < n && l[i] == ',') {
                i++;
                continue;
            }
            if (i < n && l[i] == '}') {
                i++;
                break;
            }
            return false;
        }
    }
    if (i >= n || l[i] != ' ' || i + 1 >= n)
        return false;
    for (i++; i < n; i++)
        if (!strchr("0123456789.e+-InfNa", l[i]))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        abort();
    int rc = metrics_format((const char *)data, size, f);
    fclose(f);
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_ASSERT((rc == 0) == json_is_object(j));
    json_decref(j);
    FUZZ_ASSERT(len > 0 && out[len - 1] == '\n');
    FUZZ_ASSERT(strncmp(out, "# HELP vpn_up ", 14) == 0);
    for (const char *l = out; l < out + len;) {
        const char *nl = memchr(l, '\n', (size_t)(out + len - l));
        FUZZ_ASSERT(nl);
        size_t n = (size_t)(nl - l);
        FUZZ_ASSERT(memchr(l, '\0', n) == NULL);
        if (n >= 7 && (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0))
            ;
        else
            FUZZ_ASSERT(sample_ok(l, n));
        l = nl + 1;
    }
    free(out);
    return 0;
}
