/*
 * tests/proc/user_copy.c - the kernel's copies to and from a program's memory (kernel only).
 *
 * The test loads `hello` into a space, runs this hart on that space's page table for the length
 * of each test (as the scheduler does for a system call), and checks that the copies check the
 * whole range first, and that sstatus.SUM, which lets S-mode touch U-mode pages, is clear after
 * every copy, failed ones included: everywhere outside the copies a stray kernel access to a
 * program's page faults.
 */
#include "kernel/proc/user_copy.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/mmu.h"
#include "kernel/proc/sched.h"
#include "tests/harness/ktest.h"
#include "tests/proc/hello_space.h"

#define SSTATUS_SUM ((uintptr_t)1 << 18)
#define HEAP_LIMIT_BYTES ((uintptr_t)1 << 20)

static bool sum_set(void)
{
    uintptr_t sstatus;
    __asm__ volatile("csrr %0, sstatus" : "=r"(sstatus));
    return (sstatus & SSTATUS_SUM) != 0;
}

/* This hart on satp, with nothing of the previous table left in its TLB. */
static void run_on(uintptr_t satp)
{
    __asm__ volatile("csrw satp, %0" ::"r"(satp) : "memory");
    tlb_flush_local(0, 0);
}

/* space with hello loaded (lazy heap) and 2 pages of heap above its break's start; 0 or the error. */
static int load_hello(struct user_space *space)
{
    int error = hello_space_load(space, false, HEAP_LIMIT_BYTES);
    if (error == 0 && user_space_sbrk(space, 2 * PAGE_SIZE) < 0) {
        user_space_destroy(space);
        error = -E_NOMEM;
    }
    return error;
}

static struct user_space space;
static unsigned long free_before;

/* Loads the space and runs this hart on it; false (the test skipped or failed) when it cannot. */
static bool enter(void)
{
    if (!sched_ready()) {
        ktest_skip("no paging: user programs cannot run here");
        return false;
    }
    free_before = buddy_free_pages(kernel_pages());
    int error = load_hello(&space);
    if (error) {
        ktest_fail(__FILE__, __LINE__, "hello did not load into a space: %d", error);
        return false;
    }
    run_on(user_space_satp(&space));
    return true;
}

/* Back on the kernel's table; the space's pages all given back. */
static void leave(void)
{
    run_on(mmu_kernel_satp());
    user_space_destroy(&space);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}

KTEST(user_copy, a_round_trip_through_the_heap_fills_its_page_on_first_touch)
{
    if (!enter())
        return;
    uintptr_t heap = space.brk - 2 * PAGE_SIZE;
    const char message[] = "through the program's own mappings";
    char back[sizeof message];
    unsigned long pages = space.pages;
    /* Across the boundary of the two lazy heap pages: both are filled by the copy's check. */
    uintptr_t at = heap + PAGE_SIZE - 10;
    KASSERT_EQ(user_copy_out(&space, at, message, sizeof message), 0);
    KASSERT(!sum_set());
    KASSERT_EQ(space.pages, pages + 2);
    memset(back, 0, sizeof back);
    KASSERT_EQ(user_copy_in(&space, back, at, sizeof back), 0);
    KASSERT(!sum_set());
    KASSERT_EQ(memcmp(back, message, sizeof message), 0);
    KASSERT_EQ(user_copy_string_in(&space, back, at, sizeof back), (long)(sizeof message - 1));
    KASSERT(!sum_set());
    leave();
}

KTEST(user_copy, bad_ranges_copy_nothing_and_leave_sum_clear)
{
    if (!enter())
        return;
    uintptr_t heap = space.brk - 2 * PAGE_SIZE;
    char buffer[32];
    memset(buffer, 0x5a, sizeof buffer);
    static const char kernel_word[] = "the kernel's";
    /* A kernel address, the break's page past its end, a range that wraps, text written to. */
    KASSERT_EQ(user_copy_in(&space, buffer, (uintptr_t)kernel_word, sizeof kernel_word), -E_FAULT);
    KASSERT(!sum_set());
    KASSERT_EQ(user_copy_out(&space, (uintptr_t)buffer, kernel_word, sizeof kernel_word), -E_FAULT);
    KASSERT(!sum_set());
    KASSERT_EQ(user_copy_out(&space, space.brk, buffer, 1), -E_FAULT);
    KASSERT(!sum_set());
    KASSERT_EQ(user_copy_in(&space, buffer, heap, (size_t)0 - heap + 1), -E_FAULT);
    KASSERT(!sum_set());
    KASSERT_EQ(user_copy_out(&space, USER_WINDOW_START, buffer, 4), -E_FAULT);
    KASSERT(!sum_set());
    /* A range that ends one byte into the page past the break: nothing written, not even below it. */
    KASSERT_EQ(user_copy_out(&space, space.brk - 4, kernel_word, 8), -E_FAULT);
    KASSERT(!sum_set());
    for (size_t i = 0; i < sizeof buffer; i++)
        KASSERT_EQ((unsigned char)buffer[i], 0x5a);
    char back[4] = {1, 1, 1, 1};
    KASSERT_EQ(user_copy_in(&space, back, space.brk - 4, sizeof back), 0);
    KASSERT_EQ(back[0] | back[1] | back[2] | back[3], 0); /* the heap's fresh page, unwritten */
    /* A string without its NUL in reach, and one that runs into the page past the break. */
    char text[8];
    char eight[8];
    memset(eight, 'x', sizeof eight);
    KASSERT_EQ(user_copy_out(&space, heap, eight, sizeof eight), 0);
    KASSERT_EQ(user_copy_string_in(&space, text, heap, sizeof text), -E_RANGE);
    KASSERT(!sum_set());
    KASSERT_EQ(user_copy_out(&space, space.brk - sizeof eight, eight, sizeof eight), 0);
    KASSERT_EQ(user_copy_string_in(&space, buffer, space.brk - sizeof eight, sizeof buffer), -E_FAULT);
    KASSERT(!sum_set());
    leave();
}
