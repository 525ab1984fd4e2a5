/* criterion-lite: the part of Criterion's API that tests/unit/ uses, for the armhf cross build
 * only. Debian builds Criterion for amd64 and arm64 but not for armhf, and a foreign
 * architecture's Criterion cannot be installed beside the native one (Makefile, "Cross
 * builds"); so the same test sources are compiled against this header there and run under
 * qemu-arm. Every other build uses the real Criterion.
 *
 * What it keeps of Criterion's behaviour (checked against Criterion 2.4.1):
 *   - each test runs in a forked child, so a crash, a timeout or an exit fails that test only;
 *   - the suite's .init runs before the test's, the test's .fini before the suite's; a failed
 *     cr_assert ends the test after running the .fini functions, a failed cr_expect goes on;
 *   - .exit_code = N: the test passes when its process exits with N and nothing failed;
 *     .timeout = S: the test fails when it runs longer than S seconds;
 *   - a skipped test (cr_skip_test) is not counted; the last line is Criterion's
 *     "[====] Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N", which
 *     tests/run.sh reads, and the exit status is 0 only when nothing failed.
 * What it leaves out: parameterized tests, theories, the cr_assert_* printing of both values
 * (the expression and the test's own message are printed), parallel jobs (--jobs is accepted
 * and ignored), and every option but --filter=SUITE/NAME-GLOB. */
#ifndef CRITERION_LITE_CRITERION_H
#define CRITERION_LITE_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* An empty message is the normal case ("" __VA_ARGS__ below), not a mistake. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"

struct criterion_test_extra_data {
    int crlite_unused;              /* lets Test(s, n) with no options initialise the rest */
    void (*init)(void);
    void (*fini)(void);
    int exit_code;
    double timeout;                 /* seconds; 0: none */
};

struct crlite_test {
    const char *suite, *name, *file;
    void (*body)(void);
    const struct criterion_test_extra_data *data;
    struct crlite_test *next;
};

struct crlite_suite {
    const char *name;
    const struct criterion_test_extra_data *data;
    struct crlite_suite *next;
};

void crlite_register_test(struct crlite_test *t);
void crlite_register_suite(struct crlite_suite *s);
/* A failed cr_assert: reports, runs the .fini functions and ends the test's process. */
void crlite_assert_failed(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/* A failed cr_expect: reports and marks the test failed; the test goes on. */
void crlite_expect_failed(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void crlite_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void crlite_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define Test(suite, name, ...)                                                               \
    static void suite##_##name##_body(void);                                                 \
    static const struct criterion_test_extra_data suite##_##name##_data = {                  \
        .crlite_unused = 0, __VA_ARGS__                                                      \
    };                                                                                       \
    static struct crlite_test suite##_##name##_test = {                                      \
        #suite, #name, __FILE__, suite##_##name##_body, &suite##_##name##_data, NULL         \
    };                                                                                       \
    __attribute__((constructor)) static void suite##_##name##_register(void)                 \
    {                                                                                        \
        crlite_register_test(&suite##_##name##_test);                                        \
    }                                                                                        \
    static void suite##_##name##_body(void)

#define TestSuite(suite, ...)                                                                \
    static const struct criterion_test_extra_data suite##_suite_data = {                     \
        .crlite_unused = 0, __VA_ARGS__                                                      \
    };                                                                                       \
    static struct crlite_suite suite##_suite = { #suite, &suite##_suite_data, NULL };        \
    __attribute__((constructor)) static void suite##_suite_register(void)                    \
    {                                                                                        \
        crlite_register_suite(&suite##_suite);                                               \
    }                                                                                        \
    struct crlite_suite_semicolon

/* kind: assert or expect. */
#define CRLITE_CHECK(kind, cond, expr, ...)                                                  \
    do {                                                                                     \
        if (!(cond))                                                                         \
            crlite_##kind##_failed(__FILE__, __LINE__, expr, "" __VA_ARGS__);                \
    } while (0)

#define cr_assert(c, ...) CRLITE_CHECK(assert, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...) CRLITE_CHECK(expect, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) CRLITE_CHECK(assert, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...) CRLITE_CHECK(expect, !(c), "!(" #c ")", __VA_ARGS__)

#define CRLITE_OP(kind, op, a, b, ...)                                                      \
    CRLITE_CHECK(kind, (a) op (b), "(" #a ") " #op " (" #b ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) CRLITE_OP(assert, ==, a, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) CRLITE_OP(assert, !=, a, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) CRLITE_OP(assert, <, a, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) CRLITE_OP(assert, <=, a, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) CRLITE_OP(assert, >, a, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) CRLITE_OP(assert, >=, a, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) CRLITE_OP(expect, ==, a, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) CRLITE_OP(expect, !=, a, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) CRLITE_OP(expect, <, a, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) CRLITE_OP(expect, <=, a, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) CRLITE_OP(expect, >, a, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) CRLITE_OP(expect, >=, a, b, __VA_ARGS__)

#define cr_assert_null(p, ...) CRLITE_CHECK(assert, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) CRLITE_CHECK(expect, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) CRLITE_CHECK(assert, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) CRLITE_CHECK(expect, (p) != NULL, #p " != NULL", __VA_ARGS__)

#define CRLITE_STR(kind, a, b, ...)                                                         \
    CRLITE_CHECK(kind, strcmp((a), (b)) == 0, "strcmp(" #a ", " #b ") == 0", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) CRLITE_STR(assert, a, b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) CRLITE_STR(expect, a, b, __VA_ARGS__)
#define CRLITE_STR_NEQ(kind, a, b, ...)                                                     \
    CRLITE_CHECK(kind, strcmp((a), (b)) != 0, "strcmp(" #a ", " #b ") != 0", __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) CRLITE_STR_NEQ(assert, a, b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) CRLITE_STR_NEQ(expect, a, b, __VA_ARGS__)

#define cr_assert_fail(...) crlite_assert_failed(__FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_skip_test(...) crlite_skip("" __VA_ARGS__)
#define cr_log_warn(...) crlite_log_warn(__VA_ARGS__)

#endif
