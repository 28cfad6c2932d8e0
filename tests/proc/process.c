/*
 * tests/proc/process.c - user programs run as processes (kernel only).
 */
#include "kernel/proc/process.h"

#include "kernel/base/errors.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/proc/sched.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

#define OUTPUT_BYTES 16384
#define RUN_TIMEOUT_MICROSECONDS 20000000ull

static struct ktest_arena output_space = KTEST_ARENA(OUTPUT_BYTES, 16);

struct run {
    long pid;
    int error;
    struct process_result result;
    struct process_output output;
};

/* Spawns argv as a child of the kernel with its output captured, and waits for it. */
static int run_program(struct run *run, const char *const *argv, size_t argc)
{
    char *buffer = ktest_arena_memory(&output_space);
    if (buffer == NULL)
        return -E_NOMEM;
    memset(buffer, 0, OUTPUT_BYTES);
    run->output = (struct process_output){.buffer = buffer, .capacity = OUTPUT_BYTES - 1};
    struct process_spawn_request request = {
        .name = argv[0], .argv = argv, .argc = argc, .affinity = PROCESS_ANY_HART, .output = &run->output};
    run->error = process_spawn(&request, &run->pid);
    if (run->error)
        return run->error;
    run->error = sched_wait(run->pid, &run->result, RUN_TIMEOUT_MICROSECONDS);
    return run->error;
}

KTEST(process, hello_prints_its_arguments_and_exits_0)
{
    if (!sched_ready()) {
        ktest_skip("no paging: user programs cannot run here");
        return;
    }
    struct run run;
    const char *argv[] = {"hello", "one", "two"};
    KASSERT_EQ(run_program(&run, argv, 3), 0);
    ktest_note("output: %s", run.output.buffer);
    KASSERT(WAIT_EXITED(run.result.wait_status));
    KASSERT_EQ(WAIT_EXIT_CODE(run.result.wait_status), 0);
}
