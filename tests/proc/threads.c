/*
 * tests/proc/threads.c - programs with threads run as processes (kernel only).
 *
 * Each test spawns a threaded program (user/programs/thread*.c, arc_threads.c) as a child of the
 * kernel with its output captured, waits for it and checks its wait status and output, and for
 * a kill its cause, region and the thread and stack the report names. After every run every page
 * the process held is back (the buddy allocator's free count as before the spawn, and no program
 * holding a page). make test runs them on one hart and on four; the pinned runs keep every
 * thread of a program on one hart even then.
 */
#include "kernel/base/errors.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/mmu.h"
#include "kernel/proc/process.h"
#include "kernel/proc/sched.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"
#include "tests/proc/program_run.h"

#define OUTPUT_BYTES 8192
#define RUN_TIMEOUT_MICROSECONDS 120000000ull

static struct ktest_arena output_space = KTEST_ARENA(OUTPUT_BYTES, 16);

/* Spawns argv (eager or lazy pages, on affinity) with its output captured; 0 or spawn's error. */
static int start(struct run *run, const char *const *argv, size_t argc, bool eager, int affinity)
{
    char *buffer = ktest_arena_memory(&output_space);
    if (buffer == NULL)
        return -E_NOMEM;
    memset(buffer, 0, OUTPUT_BYTES);
    run->output = (struct process_output){.buffer = buffer, .capacity = OUTPUT_BYTES - 1};
    run->free_before = free_pages();
    struct process_spawn_request request = {
        .name = argv[0], .argv = argv, .argc = argc, .eager = eager, .affinity = affinity, .output = &run->output};
    run->error = process_spawn(&request, &run->pid);
    return run->error;
}

/* Waits for run's process and reads the free count after it. */
static int finish(struct run *run)
{
    run->error = sched_wait(run->pid, &run->result, RUN_TIMEOUT_MICROSECONDS);
    run->free_after = free_pages();
    ktest_note("pid %ld: wait status %d, pages free %lu before, %lu after", run->pid, run->result.wait_status,
               run->free_before, run->free_after);
    return run->error;
}

static int run_program(struct run *run, const char *const *argv, size_t argc, bool eager, int affinity)
{
    if (start(run, argv, argc, eager, affinity) != 0)
        return run->error;
    return finish(run);
}

/* A self-checking program (its verdict line "NAME: ok") with lazy and eager pages, on any hart and pinned. */
static void run_self_checking(const char *const *argv, size_t argc, const char *verdict)
{
    static const struct {
        bool eager;
        int affinity;
    } modes[] = {{false, PROCESS_ANY_HART}, {true, PROCESS_ANY_HART}, {false, 0}};
    for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct run run;
        KASSERT_EQ(run_program(&run, argv, argc, modes[i].eager, modes[i].affinity), 0);
        if (!contains(run.output.buffer, verdict))
            ktest_note("%s (eager %d, affinity %d) printed: %s", argv[0], modes[i].eager, modes[i].affinity,
                       run.output.buffer);
        KASSERT_EXITED_WITH(run, 0);
        KASSERT(contains(run.output.buffer, verdict));
        KASSERT_NO_PAGE_LOST(run);
    }
}

KTEST(process_threads, threads_are_created_joined_and_share_a_mutex_and_a_condition)
{
    SKIP_WITHOUT_PROGRAMS();
    const char *argv[] = {"threads_basic", "4"};
    run_self_checking(argv, 2, "threads_basic: ok: 4 threads joined, counter 16");
    const char *most[] = {"threads_basic", "7"};
    run_self_checking(most, 2, "threads_basic: ok: 7 threads joined, counter 49");
}

KTEST(process_threads, thread_limits_and_errors_are_clear_and_leak_nothing)
{
    SKIP_WITHOUT_PROGRAMS();
    const char *argv[] = {"thread_limit"};
    run_self_checking(argv, 1, "thread_limit: ok");
}

KTEST(process_threads, threads_malloc_and_free_each_others_blocks)
{
    SKIP_WITHOUT_PROGRAMS();
    const char *argv[] = {"threads_malloc"};
    run_self_checking(argv, 1, "threads_malloc: ok");
}

/* The same with shootdowns by IPI (the path -icount takes): harts running the threads answer in their trap. */
KTEST(process_threads, threads_malloc_with_shootdowns_by_ipi)
{
    SKIP_WITHOUT_PROGRAMS();
    bool by_ipi = mmu_shootdown_by_ipi();
    mmu_set_shootdown_by_ipi(true);
    struct run run;
    const char *argv[] = {"threads_malloc", "4", "200"};
    int error = run_program(&run, argv, 3, false, PROCESS_ANY_HART);
    mmu_set_shootdown_by_ipi(by_ipi);
    KASSERT_EQ(error, 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT(contains(run.output.buffer, "threads_malloc: ok"));
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_threads, arc_is_shared_across_threads_and_rc_kept_on_one)
{
    SKIP_WITHOUT_PROGRAMS();
    const char *argv[] = {"arc_threads"};
    run_self_checking(argv, 1, "arc_threads: ok");
}

KTEST(process_threads, exit_from_a_thread_ends_every_thread)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"threads_exit", "exit"};
    KASSERT_EQ(run_program(&run, argv, 2, false, PROCESS_ANY_HART), 0);
    KASSERT_EXITED_WITH(run, 5);
    KASSERT(!contains(run.output.buffer, "never should"));
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_threads, the_last_thread_exit_ends_the_process_with_its_value)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"threads_exit", "last"};
    KASSERT_EQ(run_program(&run, argv, 2, false, PROCESS_ANY_HART), 0);
    KASSERT_EXITED_WITH(run, 7);
    KASSERT(contains(run.output.buffer, "its value 1;"));
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_threads, stack_overflow_kills_the_process_naming_the_thread_and_its_stack)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"thread_stack_overflow"};
    KASSERT_EQ(run_program(&run, argv, 1, false, PROCESS_ANY_HART), 0);
    const struct process_kill *kill = &run.result.kill;
    char report[256];
    process_kill_text(report, sizeof report, run.pid, "thread_stack_overflow", kill);
    ktest_note("%s", report);
    KASSERT(WAIT_KILLED(run.result.wait_status));
    KASSERT_EQ(WAIT_KILL_CAUSE(run.result.wait_status), USER_KILL_MEMORY_FAULT);
    KASSERT_EQ(kill->scause, TRAP_CAUSE_STORE_PAGE_FAULT);
    KASSERT_EQ(kill->region, USER_REGION_THREAD_STACK_GUARD);
    /* The first thread created is id 2, in slot 1 (the thread area's top), with a 16 KiB stack. */
    uintptr_t top = user_thread_slot_top(1), bottom = top - 16 * 1024;
    KASSERT_EQ(kill->thread_id, USER_MAIN_THREAD_ID + 1);
    KASSERT_EQ(kill->stack_slot.thread_id, USER_MAIN_THREAD_ID + 1);
    KASSERT_EQ(kill->stack_slot.top, top);
    KASSERT_EQ(kill->stack_slot.bottom, bottom);
    KASSERT(kill->address < bottom && kill->address >= top - USER_THREAD_SLOT_BYTES);
    KASSERT(contains(report, "region: thread 2 stack guard, stack "));
    char bounds[64];
    ksnprintf(bounds, sizeof bounds, "%p-%p", (void *)bottom, (void *)top);
    KASSERT(contains(report, bounds));
    KASSERT(contains(report, "thread 2; wait status 11"));
    KASSERT(contains(run.output.buffer, bounds)); /* the stack the thread saw is the one the report names */
    KASSERT(!contains(run.output.buffer, "came back"));
    KASSERT_NO_PAGE_LOST(run);

    /* The kernel and other programs go on: hello runs, and a depth that fits exits 0. */
    const char *hello[] = {"hello", "after", "an", "overflow"};
    KASSERT_EQ(run_program(&run, hello, 4, false, PROCESS_ANY_HART), 0);
    KASSERT_EXITED_WITH(run, 0);
    const char *fits[] = {"thread_stack_overflow", "8"};
    KASSERT_EQ(run_program(&run, fits, 2, false, PROCESS_ANY_HART), 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT_NO_PAGE_LOST(run);
}

/*
 * A page a thread keeps loading goes away on another thread's sbrk: the reader's next load
 * faults, on any hart (the shootdown reached its hart) and pinned to one (the local fence).
 */
KTEST(process_threads, a_removed_page_faults_on_the_hart_of_every_thread)
{
    SKIP_WITHOUT_PROGRAMS();
    static const int affinities[] = {PROCESS_ANY_HART, 0};
    for (unsigned i = 0; i < sizeof affinities / sizeof affinities[0]; i++) {
        struct run run;
        const char *argv[] = {"thread_sees_unmap"};
        KASSERT_EQ(run_program(&run, argv, 1, false, affinities[i]), 0);
        const struct process_kill *kill = &run.result.kill;
        if (!WAIT_KILLED(run.result.wait_status))
            ktest_note("affinity %d: %s", affinities[i], run.output.buffer);
        KASSERT(!contains(run.output.buffer, "stale"));
        KASSERT(WAIT_KILLED(run.result.wait_status));
        KASSERT_EQ(WAIT_KILL_CAUSE(run.result.wait_status), USER_KILL_MEMORY_FAULT);
        KASSERT_EQ(kill->scause, TRAP_CAUSE_LOAD_PAGE_FAULT);
        KASSERT_EQ(kill->region, USER_REGION_ABOVE_BREAK);
        KASSERT_EQ(kill->thread_id, USER_MAIN_THREAD_ID + 1);
        KASSERT_NO_PAGE_LOST(run);
    }
}

KTEST(process_threads, killing_a_process_ends_its_threads_on_every_hart)
{
    SKIP_WITHOUT_PROGRAMS();
    if (hart_timebase_hz() == 0) {
        ktest_skip("no timer: nothing preempts a spinning program");
        return;
    }
    struct run run;
    const char *argv[] = {"threads_spin", "3"};
    KASSERT_EQ(start(&run, argv, 2, false, PROCESS_ANY_HART), 0);
    bool busy = output_shows(&run, "every thread is busy");
    struct process_info info, regions_info;
    unsigned listed = process_list(&info, 1);
    /* The monitor's vm PID: each thread's stack and the guard below it, as regions. */
    struct user_space_region_info regions[32];
    int region_count = process_regions(run.pid, regions, 32, &regions_info);
    unsigned stacks = 0, guards = 0;
    for (int i = 0; i < region_count; i++) {
        stacks += regions[i].region == USER_REGION_THREAD_STACK;
        guards += regions[i].region == USER_REGION_THREAD_STACK_GUARD && regions[i].mapped_pages == 0;
    }
    /* Killed and reaped whatever happened above: the next tests need the machine back. */
    int kill_error = process_kill(run.pid, USER_KILL_REQUESTED);
    KASSERT_EQ(finish(&run), 0);
    KASSERT(busy);
    KASSERT_EQ(listed, 1);
    KASSERT_EQ(info.threads, 5); /* main, 3 spinners and the sleeper */
    KASSERT_EQ(stacks, 4);
    KASSERT_EQ(guards, 4);
    KASSERT_EQ(kill_error, 0);
    KASSERT(WAIT_KILLED(run.result.wait_status));
    KASSERT_EQ(WAIT_KILL_CAUSE(run.result.wait_status), USER_KILL_REQUESTED);
    KASSERT(!contains(run.output.buffer, "never should"));
    KASSERT_EQ(process_kill(run.pid, USER_KILL_REQUESTED), -E_SRCH);
    KASSERT_NO_PAGE_LOST(run);
}
