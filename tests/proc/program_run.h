/*
 * tests/proc/program_run.h - what the tests that run programs as processes share (kernel only):
 * a run's record, its checks (exit status, no page lost) and three small helpers.
 * tests/proc/process.c and tests/proc/threads.c use them.
 */
#ifndef RVMEM_TESTS_PROC_PROGRAM_RUN_H
#define RVMEM_TESTS_PROC_PROGRAM_RUN_H

#include <stdbool.h>

#include "kernel/base/string.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/hart.h"
#include "kernel/proc/process.h"
#include "kernel/proc/sched.h"
#include "tests/harness/ktest.h"

/* A program run as a child of the kernel, its output captured. */
struct run {
    long pid;
    int error;
    struct process_result result;
    struct process_output output;
    unsigned long free_before, free_after; /* the buddy allocator's free pages around the run */
};

/* Whether text contains part. */
static inline bool contains(const char *text, const char *part)
{
    size_t length = strlen(part);
    for (; *text; text++)
        if (strncmp(text, part, length) == 0)
            return true;
    return false;
}

/* The buddy allocator's free pages, per-hart caches included. */
static inline unsigned long free_pages(void)
{
    return buddy_free_pages(kernel_pages());
}

/*
 * Runs programs here (or lets the other harts run them) until run's output has text; false after
 * a minute or so.
 */
static inline bool output_shows(const struct run *run, const char *text)
{
    for (unsigned long round = 0; round < 60000; round++) {
        if (contains(run->output.buffer, text))
            return true;
        if (!sched_run_slice(true))
            hart_sleep_microseconds(1000);
    }
    return false;
}

#define SKIP_WITHOUT_PROGRAMS()                                                                                        \
    do {                                                                                                               \
        if (!sched_ready()) {                                                                                          \
            ktest_skip("no paging: user programs cannot run here");                                                    \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

/* Every page back: the free count as before, and no program holding a page. */
#define KASSERT_NO_PAGE_LOST(run)                                                                                      \
    do {                                                                                                               \
        KASSERT_EQ((run).free_after, (run).free_before);                                                               \
        KASSERT_EQ(user_space_pages_held(), 0);                                                                        \
    } while (0)

#define KASSERT_EXITED_WITH(run, code)                                                                                 \
    do {                                                                                                               \
        KASSERT_EQ((run).result.kill.cause, 0);                                                                        \
        KASSERT(WAIT_EXITED((run).result.wait_status));                                                                \
        KASSERT_EQ(WAIT_EXIT_CODE((run).result.wait_status), (code));                                                  \
    } while (0)

#endif
