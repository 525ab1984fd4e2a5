/* The order of a TX pass over the workers (core/server/tx_order.h): fewest results first, ties
 * in index order, every worker once. */
#include <criterion/criterion.h>

#include "../../core/server/tx_order.h"

static void assert_order(const uint32_t *backlog, int n, const int *want, const char *what)
{
    int order[16];
    tx_order_by_backlog(backlog, n, order);
    for (int i = 0; i < n; i++)
        cr_assert_eq(order[i], want[i], "%s: position %d is worker %d, not %d", what, i,
                     order[i], want[i]);
}

Test(tx_order, a_lone_result_goes_before_a_bulk_batch)
{
    /* alice's worker 0 holds a batch, bob's worker 1 his one ping reply. */
    assert_order((uint32_t[]){ 64, 1 }, 2, (int[]){ 1, 0 }, "bulk on 0, ping on 1");
    assert_order((uint32_t[]){ 1, 64 }, 2, (int[]){ 0, 1 }, "ping on 0, bulk on 1");
}

Test(tx_order, ties_keep_their_order_and_every_worker_comes_once)
{
    assert_order((uint32_t[]){ 0, 0, 0, 0 }, 4, (int[]){ 0, 1, 2, 3 }, "all idle");
    assert_order((uint32_t[]){ 64, 3, 0, 3, 200, 1 }, 6, (int[]){ 2, 5, 1, 3, 0, 4 }, "mixed");
    assert_order((uint32_t[]){ 7 }, 1, (int[]){ 0 }, "one worker");
    uint32_t many[16];
    int want[16];
    for (int i = 0; i < 16; i++) {
        many[i] = (uint32_t)(16 - i);
        want[i] = 15 - i;
    }
    assert_order(many, 16, want, "sixteen workers, reversed");
}
