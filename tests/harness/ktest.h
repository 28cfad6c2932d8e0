/*
 * tests/harness/ktest.h - the one test API, used in-kernel and on the host.
 *
 * A test is a function registered in the "ktests" linker section:
 *
 *     KTEST(buddy, split_and_merge) { KASSERT_EQ(buddy_free_pages(&b), 1024); }
 *     KTEST_SMP(buddy, churn_all_harts) { ... runs on every hart at once ... }
 *     KTEST_EXPLICIT(selftest, fail) { ... runs only when the filter names it ... }
 *
 * Tests of one suite are reported together as a KTAP subtest. An assertion that
 * fails prints file:line and both values as a KTAP diagnostic ("# ...") and returns
 * from the function it is in; the test is then reported "not ok". Assertions may be
 * used on any hart. Helpers called by a test may assert too; the test still fails.
 *
 * Leak checks: KTEST_LEAK_CHECK(name, snapshot, same) registers a pair of functions
 * the runner calls around every suite: snapshot() before, same() after, which returns
 * true when the state is back to the snapshot (printing what differs otherwise). A
 * difference fails the suite.
 *
 * Test memory: a suite takes its arenas through tests/harness/ktest_arena.h (never .bss); the
 * runner gives them back after the suite's leak checks.
 */
#ifndef RVMEM_TESTS_HARNESS_KTEST_H
#define RVMEM_TESTS_HARNESS_KTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ktest_flags {
    KTEST_FLAG_ALL_HARTS = 1, /* run on every hart at once */
    KTEST_FLAG_EXPLICIT = 2,  /* run only when the filter names it (suite.name or suite) */
};

struct ktest {
    const char *suite;
    const char *name;
    void (*run)(void);
    uintptr_t flags;
};

struct ktest_leak_check {
    const char *name;
    void (*snapshot)(void);
    bool (*same)(void);
};

#define KTEST_SECTION_ENTRY __attribute__((used, section("ktests"), aligned(sizeof(void *))))
#define KTEST_LEAK_SECTION_ENTRY __attribute__((used, section("ktest_leak_checks"), aligned(sizeof(void *))))

#define KTEST_DEFINE(suite_, name_, flags_)                                                                            \
    static void ktest_run_##suite_##_##name_(void);                                                                    \
    static const struct ktest ktest_entry_##suite_##_##name_ KTEST_SECTION_ENTRY = {                                   \
        #suite_, #name_, ktest_run_##suite_##_##name_, (flags_)};                                                      \
    static void ktest_run_##suite_##_##name_(void)

#define KTEST(suite, name) KTEST_DEFINE(suite, name, 0)
#define KTEST_SMP(suite, name) KTEST_DEFINE(suite, name, KTEST_FLAG_ALL_HARTS)
#define KTEST_EXPLICIT(suite, name) KTEST_DEFINE(suite, name, KTEST_FLAG_EXPLICIT)

#define KTEST_LEAK_CHECK(name_, snapshot_, same_)                                                                      \
    static const struct ktest_leak_check ktest_leak_##name_ KTEST_LEAK_SECTION_ENTRY = {#name_, snapshot_, same_}

/* Records a failure of the current test with a formatted diagnostic. Safe on any hart. */
__attribute__((format(printf, 3, 4))) void ktest_fail(const char *file, int line, const char *format, ...);

/* True when the current test has failed so far (on any hart). */
bool ktest_failed(void);

/* Prints a KTAP diagnostic line ("# ...") for the current test. */
__attribute__((format(printf, 1, 2))) void ktest_note(const char *format, ...);

/*
 * Marks the current test skipped: what it checks cannot be checked here (reason says why, e.g.
 * the firmware lacks a call). Reported "ok N name # SKIP reason" unless it also failed.
 * Boot hart only; call it, then return.
 */
void ktest_skip(const char *reason);

/* In a KTEST_SMP test: the calling hart's index (0..ktest_hart_count()-1) and the hart count. */
unsigned ktest_hart_index(void);
unsigned ktest_hart_count(void);

/*
 * In a KTEST_SMP test: waits until every hart of the test has reached this barrier, or until the
 * test has failed on some hart (a failed assertion returns from the test, so that hart may never
 * arrive): after a failure, barriers no longer hold harts back and the test ends as failed.
 */
void ktest_barrier(void);

/*
 * How many runs of the tests one stack holds at once: one, as the runner's state belongs to a
 * single run. A test can reach ktest_run_all again (a test of the monitor drives its `test`
 * command); that call refuses. The stack report bounds the recursion with this number
 * (tools/stack_recursion.txt).
 */
#define KTEST_RUNS_MAX 1

/*
 * Runs every registered test whose "suite.name" matches the filter (see ktest_filter_matches)
 * and prints KTAP version 1. Returns the number of failed tests (0: all passed; 1 when no test
 * matches), or -E_BUSY, running nothing, when a run is already in progress (called from a test).
 * Boot hart (or the host's main thread) only.
 */
int ktest_run_all(const char *filter);

/*
 * Filter syntax: a comma-separated list of patterns; a pattern matches "suite" (the whole
 * suite) or "suite.name"; '*' matches any run of characters. An empty or NULL filter
 * matches every test not marked KTEST_FLAG_EXPLICIT; explicit tests run only when a pattern
 * without '*' names them.
 */
bool ktest_filter_matches(const char *filter, const struct ktest *test);

/*
 * Does name match one of patterns, a comma-separated list of globs ('*' matches any run of
 * characters)? An empty or NULL list matches every name. Used by the benchmark runner too.
 */
bool ktest_glob_list_matches(const char *patterns, const char *name);

/* Pretty comparison helpers used by the macros; keep the macros short. */
/* Compares with C's usual conversions, so KASSERT_EQ(size, 0) needs no casts. */
#define KTEST_COMPARE_(a, op, b)                                                                                       \
    do {                                                                                                               \
        __typeof__(a) ktest_a_ = (a);                                                                                  \
        __typeof__(b) ktest_b_ = (b);                                                                                  \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wsign-compare\"");                           \
        bool ktest_holds_ = ktest_a_ op ktest_b_;                                                                      \
        _Pragma("GCC diagnostic pop");                                                                                 \
        if (!ktest_holds_) {                                                                                           \
            /* Pointers are printed as integers too: widening a 32-bit pointer (rv32) is intended. */                  \
            _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpointer-to-int-cast\"");                \
            ktest_fail(__FILE__, __LINE__, "expected %s %s %s, got %lld (0x%llx) and %lld (0x%llx)", #a, #op, #b,      \
                       (long long)ktest_a_, (unsigned long long)ktest_a_, (long long)ktest_b_,                         \
                       (unsigned long long)ktest_b_);                                                                  \
            _Pragma("GCC diagnostic pop");                                                                             \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define KASSERT(condition)                                                                                             \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            ktest_fail(__FILE__, __LINE__, "expected %s", #condition);                                                 \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define KASSERT_EQ(a, b) KTEST_COMPARE_(a, ==, b)
#define KASSERT_NE(a, b) KTEST_COMPARE_(a, !=, b)
#define KASSERT_LT(a, b) KTEST_COMPARE_(a, <, b)
#define KASSERT_LE(a, b) KTEST_COMPARE_(a, <=, b)
#define KASSERT_GT(a, b) KTEST_COMPARE_(a, >, b)
#define KASSERT_GE(a, b) KTEST_COMPARE_(a, >=, b)

#define KASSERT_PTR_EQ(a, b)                                                                                           \
    do {                                                                                                               \
        const void *ktest_a_ = (a);                                                                                    \
        const void *ktest_b_ = (b);                                                                                    \
        if (ktest_a_ != ktest_b_) {                                                                                    \
            ktest_fail(__FILE__, __LINE__, "expected %s == %s, got %p and %p", #a, #b, ktest_a_, ktest_b_);            \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define KASSERT_NULL(a) KASSERT_PTR_EQ(a, NULL)
#define KASSERT_NOT_NULL(a)                                                                                            \
    do {                                                                                                               \
        if ((a) == NULL) {                                                                                             \
            ktest_fail(__FILE__, __LINE__, "expected %s != NULL", #a);                                                 \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define KASSERT_STR_EQ(a, b)                                                                                           \
    do {                                                                                                               \
        const char *ktest_a_ = (a);                                                                                    \
        const char *ktest_b_ = (b);                                                                                    \
        if (!ktest_strings_equal(ktest_a_, ktest_b_)) {                                                                \
            ktest_fail(__FILE__, __LINE__, "expected %s == %s, got \"%s\" and \"%s\"", #a, #b, ktest_a_, ktest_b_);    \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

bool ktest_strings_equal(const char *a, const char *b);

#endif
