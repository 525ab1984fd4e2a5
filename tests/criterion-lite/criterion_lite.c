/* criterion-lite's runner: main() for a unit test binary of the armhf cross build. Each test
 * runs in its own forked child; the child writes its verdict into a shared anonymous page the
 * parent reads after waitpid (criterion/criterion.h says which of Criterion's rules are kept). */
#include "criterion/criterion.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static struct crlite_test *tests, **tests_tail = &tests;
static struct crlite_suite *suites;

/* What the child reports; in a MAP_SHARED page so that it survives the child's exit. */
struct verdict {
    int failed;
    int skipped;
};

static struct verdict *verdict;
static const struct crlite_test *current;
static const struct criterion_test_extra_data *current_suite;

void crlite_register_test(struct crlite_test *t)
{
    *tests_tail = t;
    tests_tail = &t->next;
}

void crlite_register_suite(struct crlite_suite *s)
{
    s->next = suites;
    suites = s;
}

static const struct criterion_test_extra_data *suite_data(const char *name)
{
    for (const struct crlite_suite *s = suites; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s->data;
    return NULL;
}

/* Reports a failed check and marks the test failed. */
static void failed(const char *file, int line, const char *expr, const char *fmt, va_list ap)
{
    fprintf(stderr, "[----] %s:%d: Assertion Failed\n[----]   %s\n[----]   ", file, line, expr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    verdict->failed = 1;
}

/* The end of a test that does not return: its .fini functions, then the child's exit. */
static void end_test(void) __attribute__((noreturn));
static void end_test(void)
{
    if (current->data->fini)
        current->data->fini();
    if (current_suite && current_suite->fini)
        current_suite->fini();
    fflush(NULL);
    _exit(0);
}

void crlite_assert_failed(const char *file, int line, const char *expr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failed(file, line, expr, fmt, ap);
    va_end(ap);
    end_test();
}

void crlite_expect_failed(const char *file, int line, const char *expr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failed(file, line, expr, fmt, ap);
    va_end(ap);
}

void crlite_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[SKIP] %s::%s: ", current->suite, current->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    verdict->skipped = 1;
    end_test();
}

void crlite_log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[WARN] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void run_child(const struct crlite_test *t)
{
    current = t;
    current_suite = suite_data(t->suite);
    if (t->data->timeout > 0)
        alarm((unsigned)(t->data->timeout + 0.999));
    if (current_suite && current_suite->init)
        current_suite->init();
    if (t->data->init)
        t->data->init();
    t->body();
    end_test();
}

enum outcome { PASSED, FAILED, CRASHED, SKIPPED };

static enum outcome run_test(const struct crlite_test *t)
{
    memset(verdict, 0, sizeof(*verdict));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("criterion-lite: fork");
        return CRASHED;
    }
    if (pid == 0)
        run_child(t);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            perror("criterion-lite: waitpid");
            return CRASHED;
        }
    }
    if (WIFSIGNALED(st)) {
        if (WTERMSIG(st) == SIGALRM && t->data->timeout > 0)
            fprintf(stderr, "[FAIL] %s::%s: Timed out. (%.2fs)\n", t->suite, t->name,
                    t->data->timeout);
        else
            fprintf(stderr, "[FAIL] %s::%s: CRASH! (signal %d)\n", t->suite, t->name,
                    WTERMSIG(st));
        return WTERMSIG(st) == SIGALRM ? FAILED : CRASHED;
    }
    if (verdict->skipped)
        return SKIPPED;
    if (verdict->failed || WEXITSTATUS(st) != t->data->exit_code) {
        if (!verdict->failed)
            fprintf(stderr, "[FAIL] %s::%s: exit status %d, expected %d\n", t->suite, t->name,
                    WEXITSTATUS(st), t->data->exit_code);
        else
            fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
        return FAILED;
    }
    return PASSED;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strncmp(argv[i], "--jobs", 6) != 0 && strncmp(argv[i], "-j", 2) != 0) {
            fprintf(stderr, "usage: %s [--filter=SUITE/NAME-GLOB] [--jobs=N (ignored)]\n",
                    argv[0]);
            return 2;
        }
    }
    verdict = mmap(NULL, sizeof(*verdict), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (verdict == MAP_FAILED) {
        perror("criterion-lite: mmap");
        return 1;
    }
    int tested = 0, passing = 0, failing = 0, crashing = 0;
    for (const struct crlite_test *t = tests; t; t = t->next) {
        char id[256];
        snprintf(id, sizeof(id), "%s/%s", t->suite, t->name);
        if (filter && fnmatch(filter, id, FNM_EXTMATCH) != 0)
            continue;
        enum outcome o = run_test(t);
        if (o == SKIPPED)
            continue;
        tested++;
        passing += o == PASSED;
        failing += o != PASSED;
        crashing += o == CRASHED;
    }
    printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d \n", tested,
           passing, failing, crashing);
    return failing ? 1 : 0;
}
