/* The order in which a TX pass visits the workers' result rings: fewest results first. A
 * worker with a result or two (a ping, a keystroke) is sent on before one with a batch of
 * bulk behind it, so that a lone packet does not wait every pass for another client's
 * sendmmsg or TUN write, which under load can take milliseconds with the kernel's delivery
 * inside it. Every worker is still visited once a pass: only the order changes. */
#ifndef SERVER_TX_ORDER_H
#define SERVER_TX_ORDER_H

#include <stdint.h>

/* order[0 .. n) becomes the worker indexes by ascending backlog[w]; equal backlogs keep
 * their index order. n is small (MAX_WORKERS): an insertion sort. */
static inline void tx_order_by_backlog(const uint32_t *backlog, int n, int *order)
{
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && backlog[order[j - 1]] > backlog[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

#endif
