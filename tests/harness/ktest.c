/*
 * tests/harness/ktest.c - the test runner: selects registered tests, runs them, prints KTAP version 1.
 *
 * Output shape (Linux Documentation/dev-tools/ktap.rst), one subtest per suite:
 *
 *   KTAP version 1
 *   1..2
 *       KTAP version 1
 *       # Subtest: printf
 *       1..3
 *       ok 1 decimal
 *       ...
 *   ok 1 printf
 */
#include "tests/harness/ktest.h"

#include <stdarg.h>

#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/spinlock.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest_arena.h"

extern const struct ktest __start_ktests[], __stop_ktests[];
extern const struct ktest_leak_check __start_ktest_leak_checks[], __stop_ktest_leak_checks[];

/* The linker's section bounds, as counts: the entries between them form one array. */
static size_t registered_tests(void)
{
    return ((uintptr_t)__stop_ktests - (uintptr_t)__start_ktests) / sizeof(struct ktest);
}

static size_t registered_leak_checks(void)
{
    return ((uintptr_t)__stop_ktest_leak_checks - (uintptr_t)__start_ktest_leak_checks) /
           sizeof(struct ktest_leak_check);
}

#define FOR_EACH_TEST(test)                                                                                            \
    for (const struct ktest *test = __start_ktests, *end_of_tests_ = __start_ktests + registered_tests();              \
         test < end_of_tests_; test++)
#define FOR_EACH_LEAK_CHECK(check)                                                                                     \
    for (const struct ktest_leak_check *check = __start_ktest_leak_checks,                                             \
                                       *end_of_checks_ = __start_ktest_leak_checks + registered_leak_checks();         \
         check < end_of_checks_; check++)

/* Every suite must leave misuse reporting as it found it: a test that installs a hook restores it. */
static void no_snapshot_needed(void)
{
}

static bool misuse_hook_restored(void)
{
    return misuse_current_hook() == NULL;
}

KTEST_LEAK_CHECK(misuse_hook, no_snapshot_needed, misuse_hook_restored);

static bool current_test_failed;
static const struct ktest *current_test;
static const char *current_test_skip_reason;

/* Sense-reversing barrier for KTEST_SMP tests. */
static struct {
    unsigned arrived;
    unsigned generation;
} barrier;

bool ktest_strings_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

void ktest_fail(const char *file, int line, const char *format, ...)
{
    char message[200];
    va_list args;
    va_start(args, format);
    kvsnprintf(message, sizeof message, format, args);
    va_end(args);
    __atomic_store_n(&current_test_failed, true, __ATOMIC_RELAXED);
    kprintf("    # %s: %s:%d: %s (hart %u)\n", current_test ? current_test->name : "?", file, line, message,
            hart_self());
}

bool ktest_failed(void)
{
    return __atomic_load_n(&current_test_failed, __ATOMIC_RELAXED);
}

void ktest_note(const char *format, ...)
{
    char message[200];
    va_list args;
    va_start(args, format);
    kvsnprintf(message, sizeof message, format, args);
    va_end(args);
    kprintf("    # %s\n", message);
}

void ktest_skip(const char *reason)
{
    current_test_skip_reason = reason;
}

unsigned ktest_hart_index(void)
{
    return hart_self();
}

unsigned ktest_hart_count(void)
{
    return current_test && (current_test->flags & KTEST_FLAG_ALL_HARTS) ? hart_count() : 1;
}

void ktest_barrier(void)
{
    unsigned harts = ktest_hart_count();
    unsigned generation = __atomic_load_n(&barrier.generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier.arrived, 1, __ATOMIC_ACQ_REL) == harts) {
        __atomic_store_n(&barrier.arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&barrier.generation, generation + 1, __ATOMIC_RELEASE);
        return;
    }
    /* A hart whose assertion failed has returned from the test and will never arrive: once the
     * test has failed, nobody waits any more (the test is reported, not hung). */
    while (__atomic_load_n(&barrier.generation, __ATOMIC_ACQUIRE) == generation) {
        if (ktest_failed())
            return;
        hart_relax();
    }
}

/* Does text match pattern, where '*' matches any run of characters? Iterative, no recursion. */
static bool glob_matches(const char *pattern, size_t pattern_length, const char *text)
{
    size_t p = 0, t = 0, star = (size_t)-1, resume = 0;
    size_t text_length = strlen(text);
    while (t < text_length) {
        if (p < pattern_length && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (p < pattern_length && pattern[p] == text[t]) {
            p++;
            t++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern_length && pattern[p] == '*')
        p++;
    return p == pattern_length;
}

bool ktest_glob_list_matches(const char *patterns, const char *name)
{
    if (patterns == NULL || *patterns == '\0')
        return true;
    for (const char *pattern = patterns; *pattern;) {
        size_t length = 0;
        while (pattern[length] && pattern[length] != ',')
            length++;
        if (length > 0 && glob_matches(pattern, length, name))
            return true;
        pattern += length;
        if (*pattern == ',')
            pattern++;
    }
    return false;
}

static bool pattern_matches(const char *pattern, size_t length, const struct ktest *test)
{
    char full_name[128];
    ksnprintf(full_name, sizeof full_name, "%s.%s", test->suite, test->name);
    bool has_star = false;
    for (size_t i = 0; i < length; i++)
        has_star |= pattern[i] == '*';
    if ((test->flags & KTEST_FLAG_EXPLICIT) && has_star)
        return false;
    return glob_matches(pattern, length, full_name) || glob_matches(pattern, length, test->suite);
}

bool ktest_filter_matches(const char *filter, const struct ktest *test)
{
    if (filter == NULL || *filter == '\0')
        return !(test->flags & KTEST_FLAG_EXPLICIT);
    const char *pattern = filter;
    while (*pattern) {
        size_t length = 0;
        while (pattern[length] && pattern[length] != ',')
            length++;
        if (length > 0 && pattern_matches(pattern, length, test))
            return true;
        pattern += length;
        if (*pattern == ',')
            pattern++;
    }
    return false;
}

/* The first test of each suite, in link order, stands for the suite. */
static bool is_first_of_suite(const struct ktest *test, const char *filter)
{
    for (const struct ktest *other = __start_ktests; other < test; other++)
        if (strcmp(other->suite, test->suite) == 0 && ktest_filter_matches(filter, other))
            return false;
    return true;
}

static unsigned count_selected(const char *filter, const char *suite)
{
    unsigned count = 0;
    FOR_EACH_TEST(test)
    if (ktest_filter_matches(filter, test) && (suite == NULL || strcmp(test->suite, suite) == 0))
        count++;
    return count;
}

static unsigned count_selected_suites(const char *filter)
{
    unsigned count = 0;
    FOR_EACH_TEST(test)
    if (ktest_filter_matches(filter, test) && is_first_of_suite(test, filter))
        count++;
    return count;
}

static void run_current_test_body(void)
{
    current_test->run();
    stack_check("end of test");
}

/* Runs one test; returns true when it passed. */
static bool run_one(const struct ktest *test, unsigned number)
{
    unsigned long misuse_before = misuse_unexpected_count();
    current_test = test;
    current_test_skip_reason = NULL;
    __atomic_store_n(&current_test_failed, false, __ATOMIC_RELAXED);
    __atomic_store_n(&barrier.arrived, 0, __ATOMIC_RELAXED); /* a failed test may have left a count */
    if (test->flags & KTEST_FLAG_ALL_HARTS)
        run_on_all_harts(run_current_test_body);
    else
        test->run();
    stack_check("end of test");
    unsigned long misuse_after = misuse_unexpected_count();
    if (misuse_after != misuse_before)
        ktest_fail(__FILE__, __LINE__, "%lu unexpected misuse report(s)", misuse_after - misuse_before);
    bool passed = !ktest_failed();
    if (passed && current_test_skip_reason != NULL)
        kprintf("    ok %u %s # SKIP %s\n", number, test->name, current_test_skip_reason);
    else
        kprintf("    %s %u %s\n", passed ? "ok" : "not ok", number, test->name);
    current_test = NULL;
    return passed;
}

static void snapshot_leak_checks(void)
{
    FOR_EACH_LEAK_CHECK(check)
    check->snapshot();
}

static bool leak_checks_pass(void)
{
    bool all_same = true;
    FOR_EACH_LEAK_CHECK(check)
    {
        if (!check->same()) {
            kprintf("    # leak check '%s' failed: state differs from before the suite\n", check->name);
            all_same = false;
        }
    }
    return all_same;
}

/* Runs the selected tests of one suite as a KTAP subtest; returns the number that failed. */
static int run_suite(const char *suite, const char *filter, unsigned suite_number)
{
    kprintf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", suite, count_selected(filter, suite));
    snapshot_leak_checks();
    int failed = 0;
    unsigned number = 0;
    FOR_EACH_TEST(test)
    {
        if (strcmp(test->suite, suite) != 0 || !ktest_filter_matches(filter, test))
            continue;
        if (!run_one(test, ++number))
            failed++;
    }
    bool no_leaks = leak_checks_pass();
    ktest_arenas_give_back(); /* after the leak checks, which count the arenas as taken on purpose */
    kprintf("%s %u %s\n", failed == 0 && no_leaks ? "ok" : "not ok", suite_number, suite);
    return failed + (no_leaks ? 0 : 1);
}

/*
 * The run itself, out of line: the stack report counts at most KTEST_RUNS_MAX frames of it on a
 * stack (tools/stack_recursion.txt), which ktest_run_all makes true.
 */
__attribute__((noinline)) static int run_selected(const char *filter)
{
    unsigned selected = count_selected(filter, NULL);
    kprintf("KTAP version 1\n1..%u\n", count_selected_suites(filter));
    if (selected == 0) {
        kprintf("# ktest: no test matches the filter \"%s\"\n", filter ? filter : "");
        return 1;
    }
    int failed = 0;
    unsigned suite_number = 0;
    FOR_EACH_TEST(test)
    if (ktest_filter_matches(filter, test) && is_first_of_suite(test, filter))
        failed += run_suite(test->suite, filter, ++suite_number);
    kprintf("# ktest: %u tests selected, %d failed\n", selected, failed);
    return failed;
}

/* Runs in progress on the boot hart's stack: never more than KTEST_RUNS_MAX. */
static unsigned runs_in_progress;

int ktest_run_all(const char *filter)
{
    if (runs_in_progress == KTEST_RUNS_MAX) {
        kprintf("# ktest: not run: \"%s\" asked for while a run is in progress (the runner does not nest)\n",
                filter ? filter : "");
        return -E_BUSY;
    }
    runs_in_progress++;
    int failed = run_selected(filter);
    runs_in_progress--;
    return failed;
}
