/* Handshake latency histogram (see handshake_latency.h). */
#include "handshake_latency.h"

static const uint64_t BOUNDS_US[HANDSHAKE_LATENCY_BUCKETS] = HANDSHAKE_LATENCY_BOUNDS_US;

void handshake_latency_observe(struct handshake_latency *h, uint64_t us)
{
    int i = 0;
    while (i < HANDSHAKE_LATENCY_BUCKETS && us > BOUNDS_US[i])
        i++;
    h->in_bucket[i]++;
    h->count++;
    h->sum_us += us;
}

void handshake_latency_write_json(const struct handshake_latency *h, FILE *out)
{
    fputs("\"handshake_latency\":{\"le_us\":[", out);
    for (int i = 0; i < HANDSHAKE_LATENCY_BUCKETS; i++)
        fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)BOUNDS_US[i]);
    fputs("],\"cumulative\":[", out);
    uint64_t sum = 0;
    for (int i = 0; i < HANDSHAKE_LATENCY_BUCKETS; i++) {
        sum += h->in_bucket[i];
        fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)sum);
    }
    fprintf(out, "],\"count\":%llu,\"sum_us\":%llu}", (unsigned long long)h->count,
            (unsigned long long)h->sum_us);
}
