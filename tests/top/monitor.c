/*
 * tests/top/monitor.c - the monitor's commands called directly (tools/test.py drives the
 * real prompt through a pty as well), and tour step 1's claim: each measured frame is the
 * compiler's.
 */
#include "kernel/mm/buddy.h"
#include "kernel/top/monitor.h"
#include "kernel/top/monitor_commands.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/hart.h"
#include "kernel/proc/process.h"
#include "kernel/proc/sched.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/top/tour_frames.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"

static enum monitor_status run(const char *text)
{
    char line[MONITOR_LINE_MAX + 1];
    size_t length = strnlen(text, MONITOR_LINE_MAX);
    memcpy(line, text, length);
    line[length] = '\0';
    return monitor_run_line(line);
}

KTEST(monitor, bad_input_is_an_error_not_a_crash)
{
    KASSERT_EQ(run(""), MONITOR_DONE);
    KASSERT_EQ(run("   "), MONITOR_DONE);
    KASSERT_EQ(run("frobnicate"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("help me"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("map 5"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("map 99999999999999999999999"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("alloc heap"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("alloc page x"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("alloc page 1 2"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("free"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("free -1"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("a b c d e f g h i"), MONITOR_BAD_USAGE);
    /* Well-formed but impossible: an error line, and the prompt back. */
    KASSERT_EQ(run("free 12345"), MONITOR_DONE);
    KASSERT_EQ(run("alloc page 99"), MONITOR_DONE);
    KASSERT_EQ(run("test crash"), MONITOR_DONE);
    KASSERT_EQ(run("test monitor"), MONITOR_DONE); /* refused: it would recurse into this test */
    KASSERT_EQ(run("test no_such_suite"), MONITOR_DONE);
    KASSERT_EQ(run("bench no_such_benchmark"), MONITOR_DONE); /* explained, nothing run */
    KASSERT_EQ(run("poweroff"), MONITOR_POWEROFF);
}

KTEST(monitor, alloc_and_free_pages_by_id)
{
    unsigned long before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(run("alloc page 2"), MONITOR_DONE);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before - 4);
    KASSERT_EQ(run("alloc"), MONITOR_DONE);
    char line[32];
    ksnprintf(line, sizeof line, "free #%llu", (unsigned long long)monitor_blocks_last_id());
    KASSERT_EQ(run(line), MONITOR_DONE);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before);
    KASSERT_EQ(run(line), MONITOR_DONE); /* already freed: refused, nothing changes */
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before);
}

/* "free ID" for the block alloc handed out last (ids are not reused, so it depends on what ran before). */
static enum monitor_status free_id(uint64_t id)
{
    char line[32];
    ksnprintf(line, sizeof line, "free %llu", (unsigned long long)id);
    return run(line);
}

/* A freed id stays dead: freeing it again after another alloc must not free the newer block. */
KTEST(monitor, a_stale_id_never_frees_a_newer_block)
{
    unsigned long before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(run("alloc page 2"), MONITOR_DONE);
    uint64_t first = monitor_blocks_last_id();
    KASSERT_EQ(free_id(first), MONITOR_DONE);
    KASSERT_EQ(run("alloc page 0"), MONITOR_DONE);
    uint64_t second = monitor_blocks_last_id();
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before - 1);
    KASSERT_EQ(free_id(first), MONITOR_DONE);                 /* refused: "block #first was freed already" */
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before - 1); /* the newer block is intact */
    KASSERT_EQ(monitor_blocks_held(), 1u);
    KASSERT_NE(second, first);
    KASSERT_EQ(free_id(second), MONITOR_DONE);
    KASSERT_EQ(monitor_blocks_held(), 0u);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before);
}

KTEST(monitor, alloc_and_free_heap_blocks_by_id)
{
    /* malloc's statistics are large: one copy, on a page, off this test's stack (which the monitor's
     * `test` command puts under another run of the tests) and out of .bss. */
    _Static_assert(sizeof(struct malloc_stats) <= PAGE_SIZE, "the statistics fit a page");
    struct malloc_stats *stats = page_alloc(0);
    KASSERT_NOT_NULL(stats);
    rvmem_malloc_stats(stats);
    size_t before = stats->bytes_in_use;
    KASSERT_EQ(run("alloc heap 3000"), MONITOR_DONE);
    rvmem_malloc_stats(stats);
    size_t during = stats->bytes_in_use;
    KASSERT_EQ(run("heap"), MONITOR_DONE);
    uint64_t id = monitor_blocks_last_id();
    KASSERT_EQ(free_id(id), MONITOR_DONE);
    rvmem_malloc_stats(stats);
    size_t after = stats->bytes_in_use;
    page_free(stats, 0);
    KASSERT_GE(during, before + 3000);
    KASSERT_EQ(after, before);
    KASSERT_EQ(run("alloc heap 16G"), MONITOR_DONE); /* fails cleanly: nothing held, no id spent */
    KASSERT_EQ(monitor_blocks_last_id(), id);
    KASSERT_EQ(free_id(id), MONITOR_DONE);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_malloc_trim(); /* the suites' leak checks compare the break */
}

KTEST(monitor, heap_mode_switches_every_hart)
{
    KASSERT_EQ(run("heap mode"), MONITOR_DONE);
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_FAST);
    KASSERT_EQ(run("heap mode lean"), MONITOR_DONE);
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_LEAN);
    KASSERT_EQ(run("heap mode slow"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("heap mode lean now"), MONITOR_BAD_USAGE);
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_LEAN);
    KASSERT_EQ(run("heap mode fast"), MONITOR_DONE);
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_FAST);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_malloc_trim_all_harts(); /* the suites' leak checks compare the break */
}

KTEST(monitor, read_only_commands_run)
{
    static const char *const commands[] = {"help", "mem", "buddy", "map 40", "heap", "stacks"};
    for (unsigned i = 0; i < sizeof commands / sizeof commands[0]; i++)
        KASSERT_EQ(run(commands[i]), MONITOR_DONE);
}

KTEST(tour, frames_match_the_compilers_report)
{
    struct tour_frame_trace trace;
    uintptr_t caller_sp = tour_current_sp();
    tour_frame_outer(&trace);
    uintptr_t above = caller_sp;
    for (unsigned level = 0; level < TOUR_FRAME_DEPTH; level++) {
        unsigned long compiler = tour_compiler_frame_bytes(trace.function[level]);
        KASSERT_GT(compiler, 0);
        KASSERT_EQ(above - trace.stack_pointer[level], compiler);
        /* The local array lies inside the frame. */
        KASSERT_GE(trace.local_array[level], trace.stack_pointer[level]);
        KASSERT_LT(trace.local_array[level], above);
        above = trace.stack_pointer[level];
    }
    KASSERT_EQ(tour_compiler_frame_bytes("no_such_function"), 0);
}

/* Runs programs (one slice at a time on this hart) until no process is left, at most rounds slices or waits. */
static bool processes_end(unsigned long rounds)
{
    for (unsigned long round = 0; round < rounds && process_count() != 0; round++)
        if (!sched_run_slice(true))
            hart_sleep_microseconds(1000);
    return process_count() == 0;
}

/* The pid of the only process, or 0. */
static long only_pid(void)
{
    struct process_info info;
    return process_list(&info, 1) == 1 ? info.pid : 0;
}

/* Runs programs here (or lets the other harts run them) until the only process has had a slice. */
static bool only_process_ran(unsigned long rounds)
{
    struct process_info info;
    for (unsigned long round = 0; round < rounds; round++) {
        if (process_list(&info, 1) == 1 && info.slices > 0)
            return true;
        if (!sched_run_slice(true))
            hart_sleep_microseconds(1000);
    }
    return false;
}

KTEST(monitor, run_ps_vm_and_kill_a_program)
{
    if (!sched_ready()) {
        ktest_skip("no paging: user programs cannot run here");
        return;
    }
    KASSERT_EQ(process_count(), 0);
    unsigned long before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(run("run"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("kill"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("kill x"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("kill 0"), MONITOR_BAD_USAGE);
    KASSERT_EQ(run("run no_such_program"), MONITOR_DONE); /* an error line listing the programs */
    KASSERT_EQ(run("kill 999999"), MONITOR_DONE);         /* no such process: an error line */
    KASSERT_EQ(process_count(), 0);
    /* A detached program that ends by itself is freed as it ends. */
    KASSERT_EQ(run("run hello from the monitor"), MONITOR_DONE); /* another hart may have run it already */
    KASSERT(processes_end(100000));
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before);
    /* One that spins: listed, its regions shown, killed. */
    KASSERT_EQ(run("run hostile_spin"), MONITOR_DONE);
    long pid = only_pid();
    KASSERT_GT(pid, 0);
    KASSERT_EQ(run("ps"), MONITOR_DONE);
    KASSERT(only_process_ran(100000)); /* it has run: its stack and bss are in use */
    KASSERT(monitor_vm_process(pid));
    char line[32];
    ksnprintf(line, sizeof line, "vm %ld", pid);
    KASSERT_EQ(run(line), MONITOR_DONE);
    ksnprintf(line, sizeof line, "kill %ld", pid);
    KASSERT_EQ(run(line), MONITOR_DONE);
    KASSERT(processes_end(100000));
    KASSERT(!monitor_vm_process(pid));
    KASSERT_EQ(buddy_free_pages(kernel_pages()), before);
}
