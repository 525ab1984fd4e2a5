/* What a thread wake-up costs on this machine, by where the woken thread runs:
 *
 *   bench_wake CPU_A CPU_B GAP_US [ROUNDS]
 *
 * Two threads, pinned to CPU_A and CPU_B (-1: not pinned), pass a byte back and forth over
 * two pipes, ROUNDS times (default 400), with GAP_US of sleep before each round, as a ping
 * at an interval gives the CPUs time to go idle. Prints the round trip (two wake-ups): the
 * average, median and 99th percentile; and the median time of the write() that does the first
 * wake-up, which is what a wake-up costs the waker. On the development VM (docs/PERFORMANCE.md,
 * "Where a wake-up goes") the same CPU costs about 5 us a round trip and the other, idle
 * vCPU 120 us, of which the waker's write() alone takes 26-29 us: latency here is decided by how
 * many hops land on an idle vCPU. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vpn/spin.h"

enum { ROUNDS_MAX = 100000 };

static int to_echo[2], from_echo[2];
static int echo_cpu;

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        perror("sched_setaffinity");
}

/* Blocks until fd is readable (as a packet thread sleeps in poll), then takes the byte. */
static int take(int fd, char *c)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, -1) == 1 && read(fd, c, 1) == 1 ? 0 : -1;
}

static void *echo(void *arg)
{
    (void)arg;
    pin(echo_cpu);
    char c;
    while (take(to_echo[0], &c) == 0 && write(from_echo[1], &c, 1) == 1)
        ;
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_wake CPU_A CPU_B GAP_US [ROUNDS]\n");
        return 2;
    }
    int cpu = atoi(argv[1]), gap_us = atoi(argv[3]);
    int rounds = argc > 4 ? atoi(argv[4]) : 400;
    echo_cpu = atoi(argv[2]);
    if (rounds < 1 || rounds > ROUNDS_MAX || gap_us < 0) {
        fprintf(stderr, "bench_wake: ROUNDS 1..%d, GAP_US >= 0\n", ROUNDS_MAX);
        return 2;
    }
    static uint64_t rtt[ROUNDS_MAX], waker[ROUNDS_MAX];
    pthread_t t;
    if (pipe(to_echo) != 0 || pipe(from_echo) != 0 ||
        pthread_create(&t, NULL, echo, NULL) != 0) {
        perror("bench_wake");
        return 1;
    }
    pin(cpu);
    uint64_t sum = 0;
    for (int i = 0; i < rounds; i++) {
        if (gap_us)
            usleep((useconds_t)gap_us);
        char c = 1;
        uint64_t t0 = spin_clock_ns();
        if (write(to_echo[1], &c, 1) != 1) {
            perror("bench_wake");
            return 1;
        }
        waker[i] = spin_clock_ns() - t0;
        if (take(from_echo[0], &c) != 0) {
            perror("bench_wake");
            return 1;
        }
        rtt[i] = spin_clock_ns() - t0;
        sum += rtt[i];
    }
    qsort(rtt, (size_t)rounds, sizeof(rtt[0]), by_value);
    qsort(waker, (size_t)rounds, sizeof(waker[0]), by_value);
    printf("CPU %d <-> CPU %d, %d us apart: round trip avg %.1f us, median %.1f, p99 %.1f; "
           "the waker's write() median %.1f us\n",
           cpu, echo_cpu, gap_us, (double)sum / rounds / 1000.0, rtt[rounds / 2] / 1000.0,
           rtt[(rounds * 99) / 100] / 1000.0, waker[rounds / 2] / 1000.0);
    return 0;
}
