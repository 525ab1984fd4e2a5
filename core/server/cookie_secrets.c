/* The cookies' rotating secret (see cookie_secrets.h). */
#include "cookie_secrets.h"

#include <sodium.h>
#include <string.h>

void cookie_secrets_init(struct cookie_secrets *s, uint64_t now_ms)
{
    randombytes_buf(s->secret, sizeof(s->secret));
    s->period_ms = now_ms;
}

void cookie_secrets_rotate(struct cookie_secrets *s, uint64_t now_ms)
{
    if (now_ms < s->period_ms + COOKIE_SECRET_ROTATE_MS)
        return;
    uint64_t periods = (now_ms - s->period_ms) / COOKIE_SECRET_ROTATE_MS;
    if (periods == 1)
        memcpy(s->secret[1], s->secret[0], COOKIE_SECRET_LEN);
    else
        randombytes_buf(s->secret[1], COOKIE_SECRET_LEN);
    randombytes_buf(s->secret[0], COOKIE_SECRET_LEN);
    s->period_ms += periods * COOKIE_SECRET_ROTATE_MS;
}
