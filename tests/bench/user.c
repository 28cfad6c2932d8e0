/*
 * tests/bench/user.c - a system call, a page's first touch and malloc, measured by programs in U-mode.
 *
 * Runs user/programs/bench_syscalls on the boot hart (the other harts idle in wfi) and reports its
 * figures as rows: syscall_null (getpid: ecall, the kernel's dispatch, sret), user_sbrk_no_page_change
 * (sbrk moving the break within the heap: lazy pages, nothing mapped) and user_heap_first_touch
 * (a store to a heap page never touched: the page fault, a zeroed page mapped, the store again).
 * The program reads rdinstret itself around each operation, so a row counts what the program
 * waits for, the kernel's trap entry and exit included. Issue 16's budgets: syscall_null <= 80,
 * user_sbrk_no_page_change <= 100, user_heap_first_touch <= 1,100 (mean; rv64). user_malloc runs
 * user/programs/bench_malloc the same way: larson over the user runtime's malloc (issue 16: within
 * 10 % of the kernel's malloc_larson rows) and a malloc that grows the heap with sbrk (report
 * only). Below them, from the kernel's side and reported without budgets: process_spawn_exit and
 * context_switch.
 */
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/proc/process.h"
#include "kernel/proc/sched.h"
#include "tests/harness/kbench.h"

#define OUTPUT_BYTES 2048
#define RUN_TIMEOUT_MICROSECONDS 60000000ull

/*
 * Each row's budgets: issue 16's, on the mean. The first touch's holds on rv64 only: on rv32 zeroing
 * the page alone takes 1,024 word stores.
 */
#if __riscv_xlen == 64
#define FIRST_TOUCH_BUDGET 1100
#else
#define FIRST_TOUCH_BUDGET 0
#endif
static const struct {
    const char *name;
    uint32_t budget_mean;
} budgets[] = {
    {"syscall_null", 80},
    {"user_sbrk_no_page_change", 100},
    {"user_heap_first_touch", FIRST_TOUCH_BUDGET},
    /*
     * Issue 16: the user runtime's malloc within 10 % of the kernel's on larson (mean). Met by
     * free and by the calls with no refill; every malloc's mean is a goal (tools/bench_budgets.py:
     * its refills fault their pages in).
     */
    {"user_malloc_larson_malloc_no_refill", 14},
    {"user_malloc_larson_free", 23},
};
#define BUDGETS (sizeof budgets / sizeof budgets[0])

/* The number after "key=" in line (up to its end), or false. */
static bool field(const char *line, const char *end, const char *key, uint64_t *value)
{
    size_t length = strlen(key);
    for (const char *at = line; at + length < end; at++) {
        if (strncmp(at, key, length) != 0 || at[length] != '=')
            continue;
        uint64_t number = 0;
        const char *digit = at + length + 1;
        if (digit >= end || *digit < '0' || *digit > '9')
            return false;
        for (; digit < end && *digit >= '0' && *digit <= '9'; digit++)
            number = number * 10 + (uint64_t)(*digit - '0');
        *value = number;
        return true;
    }
    return false;
}

/* Reports one "bench NAME n=.. mean100=.. p50=.. p99=.. max=.." line; false when it is not one. */
static bool report_line(const char *line, const char *end)
{
    static const char prefix[] = "bench ";
    if ((size_t)(end - line) <= sizeof prefix - 1 || strncmp(line, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *name = line + sizeof prefix - 1, *name_end = strchr(name, ' ');
    if (name_end == NULL || name_end > end)
        return false;
    char row[40];
    size_t name_length = (size_t)(name_end - name) < sizeof row - 1 ? (size_t)(name_end - name) : sizeof row - 1;
    memcpy(row, name, name_length);
    row[name_length] = '\0';
    uint64_t n, mean_hundredths, p50, p99, max;
    if (!field(name_end, end, "n", &n) || !field(name_end, end, "mean100", &mean_hundredths) ||
        !field(name_end, end, "p50", &p50) || !field(name_end, end, "p99", &p99) || !field(name_end, end, "max", &max))
        return false;
    uint32_t budget = 0;
    for (unsigned i = 0; i < BUDGETS; i++)
        if (strcmp(budgets[i].name, row) == 0)
            budget = budgets[i].budget_mean;
    struct kbench_summary summary = {(unsigned long)n, mean_hundredths, p50, p99, max};
    kbench_report(row, &summary, "instructions", budget, 0);
    return true;
}

/*
 * Runs the benchmark program argv[0] on this hart and reports its "bench" lines as rows; fails
 * the benchmark when it did not exit 0 or printed other than rows lines of them.
 */
static void run_and_report(const char *program, unsigned rows_expected)
{
    if (!sched_ready()) {
        kbench_skip("no paging: user programs cannot run here");
        return;
    }
    char buffer[OUTPUT_BYTES];
    memset(buffer, 0, sizeof buffer);
    struct process_output output = {.buffer = buffer, .capacity = sizeof buffer - 1};
    const char *argv[] = {program};
    struct process_spawn_request request = {
        .name = argv[0], .argv = argv, .argc = 1, .affinity = (int)hart_self(), .output = &output};
    long pid;
    struct process_result result;
    if (process_spawn(&request, &pid) != 0 || sched_wait(pid, &result, RUN_TIMEOUT_MICROSECONDS) != 0) {
        kbench_fail("the benchmark program did not run to its end");
        return;
    }
    if (!WAIT_EXITED(result.wait_status) || WAIT_EXIT_CODE(result.wait_status) != 0) {
        kprintf("%s", buffer);
        kbench_fail("the benchmark program failed");
        return;
    }
    unsigned rows = 0;
    for (const char *line = buffer; *line;) {
        const char *end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        if (report_line(line, end))
            rows++;
        else if (*line == '#')
            kprintf("%.*s\n", (int)(end - line), line);
        line = *end ? end + 1 : end;
    }
    if (rows != rows_expected)
        kbench_fail("the benchmark program printed fewer rows than it measures");
}

KBENCH(user_syscalls, 0, 0)
{
    run_and_report("bench_syscalls", 3);
}

/*
 * The larson workload over the user runtime's malloc (user/programs/bench_malloc.c), and a malloc
 * that grows the heap through sbrk (report only).
 */
KBENCH(user_malloc, 0, 0)
{
    run_and_report("bench_malloc", 5);
}

/* Runs argv to its end on this hart (the only one that may run it); false when it did not exit 0. */
static bool run_here(const char *const *argv, size_t argc)
{
    struct process_spawn_request request = {.name = argv[0], .argv = argv, .argc = argc, .affinity = (int)hart_self()};
    long pid;
    struct process_result result;
    if (process_spawn(&request, &pid) != 0)
        return false;
    return sched_wait(pid, &result, RUN_TIMEOUT_MICROSECONDS) == 0 && WAIT_EXITED(result.wait_status) &&
           WAIT_EXIT_CODE(result.wait_status) == 0;
}

/*
 * The smallest program's whole life, from the kernel: spawn (load, page table, entry block), its
 * run to exit, every page back, the reap. Report only (issue 16). Under -icount the counter
 * counts every hart's instructions; the other harts idle in wfi.
 */
KBENCH(process_spawn_exit, 0, 0)
{
    if (!sched_ready()) {
        kbench_skip("no paging: user programs cannot run here");
        return;
    }
    const char *argv[] = {"exit_with"};
    for (unsigned i = 0; i < 20; i++) {
        uint64_t start = kbench_start();
        bool ok = run_here(argv, 1);
        kbench_stop(start);
        if (!ok) {
            kbench_fail("exit_with did not exit 0");
            return;
        }
    }
}

/*
 * A switch from one process to another on one hart: two yielders of SWITCH_YIELDS yields each, less
 * two of none (their start and exit), over the 2 * SWITCH_YIELDS switches. Report only (issue 16).
 */
#define SWITCH_YIELDS 1000
#define SWITCH_YIELDS_TEXT "1000"
static uint64_t two_yielders(const char *count)
{
    const char *argv[] = {"yielder", count};
    struct process_spawn_request request = {.name = argv[0], .argv = argv, .argc = 2, .affinity = (int)hart_self()};
    long first, second;
    struct process_result result;
    uint64_t start = kbench_start();
    if (process_spawn(&request, &first) != 0 || process_spawn(&request, &second) != 0)
        return 0;
    if (sched_wait(first, &result, RUN_TIMEOUT_MICROSECONDS) != 0 || !WAIT_EXITED(result.wait_status) ||
        sched_wait(second, &result, RUN_TIMEOUT_MICROSECONDS) != 0 || !WAIT_EXITED(result.wait_status))
        return 0;
    return kbench_start() - start;
}

KBENCH(context_switch, 0, 0)
{
    if (!sched_ready()) {
        kbench_skip("no paging: user programs cannot run here");
        return;
    }
    for (unsigned i = 0; i < 5; i++) {
        uint64_t none = two_yielders("0"), many = two_yielders(SWITCH_YIELDS_TEXT);
        if (none == 0 || many == 0 || many < none) {
            kbench_fail("the yielders did not run to their end");
            return;
        }
        kbench_record((many - none) / (2 * SWITCH_YIELDS));
    }
}

/*
 * Threads (issue 17), measured by bench_threads on this hart (its threads inherit the process's
 * hart): thread_create_join (the smallest thread created and joined: both system calls, its start
 * and end in the runtime, the switches to it and back), rc_retain_release and arc_retain_release
 * (one thread, no contention). Report only.
 */
KBENCH(user_threads, 0, 0)
{
    run_and_report("bench_threads", 3);
}

/*
 * Instructions of the program argv, argc arguments, run to its end on any hart: from before its
 * spawn to after its reap, counted on every hart (under -icount the counter is the machine's, not
 * the hart's). 0 when it did not exit 0.
 */
static uint64_t run_anywhere(const char *const *argv, size_t argc)
{
    struct process_spawn_request request = {.name = argv[0], .argv = argv, .argc = argc, .affinity = PROCESS_ANY_HART};
    long pid;
    struct process_result result;
    uint64_t start = kbench_start();
    if (process_spawn(&request, &pid) != 0 || sched_wait(pid, &result, RUN_TIMEOUT_MICROSECONDS) != 0 ||
        !WAIT_EXITED(result.wait_status) || WAIT_EXIT_CODE(result.wait_status) != 0)
        return 0;
    return kbench_start() - start;
}

/*
 * What one operation of program costs with threads threads (a text), in hundredths of an
 * instruction: the run with count operations a thread less the run with none (its spawn, its
 * threads' creation and joins, its exit), over threads * count. 0 when a run failed.
 */
static uint64_t per_operation_hundredths(const char *program, const char *threads, const char *count,
                                         unsigned long total_operations)
{
    const char *with[] = {program, threads, count}, *without[] = {program, threads, "0"};
    uint64_t full = run_anywhere(with, 3), empty = run_anywhere(without, 3);
    if (full == 0 || empty == 0 || full < empty)
        return 0;
    return (full - empty) * 100 / total_operations;
}

static void report_hundredths(const char *name, uint64_t hundredths, const char *unit, uint32_t budget)
{
    struct kbench_summary summary = {1, hundredths, hundredths / 100, hundredths / 100, hundredths / 100};
    kbench_report(name, &summary, unit, budget, 0);
}

/*
 * Threads on every hart (issue 17): a malloc/free pair with 1 thread and with 4 threads on 4
 * harts (bench_thread_malloc), every instruction of every hart counted; user_malloc_threads_4_vs_1
 * is their ratio in permille (issue 17's budget: 1250, the per-thread caches keeping the threads
 * apart). arc_retain_release_contended: a retain and a release of one Arc by 4 threads on 4
 * harts at once (bench_arc_shared; report).
 */
#define THREAD_PAIRS 20000
#define THREAD_PAIRS_TEXT "20000"
#define ARC_ROUNDS 20000
#define ARC_ROUNDS_TEXT "20000"
KBENCH(user_threads_on_every_hart, 0, 0)
{
    if (!sched_ready()) {
        kbench_skip("no paging: user programs cannot run here");
        return;
    }
    if (hart_count() < 4) {
        kbench_skip("fewer than 4 harts");
        return;
    }
    uint64_t one = per_operation_hundredths("bench_thread_malloc", "1", THREAD_PAIRS_TEXT, THREAD_PAIRS);
    uint64_t four = per_operation_hundredths("bench_thread_malloc", "4", THREAD_PAIRS_TEXT, 4ul * THREAD_PAIRS);
    uint64_t arc = per_operation_hundredths("bench_arc_shared", "4", ARC_ROUNDS_TEXT, 4ul * ARC_ROUNDS);
    if (one == 0 || four == 0 || arc == 0) {
        kbench_fail("a threaded benchmark program did not run to its end");
        return;
    }
    report_hundredths("user_malloc_threads_1", one, "instructions", 0);
    report_hundredths("user_malloc_threads_4", four, "instructions", 0);
    report_hundredths("user_malloc_threads_4_vs_1", four * 100000 / one, "permille", 1250);
    report_hundredths("arc_retain_release_contended", arc, "instructions", 0);
}
