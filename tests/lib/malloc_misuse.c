/*
 * tests/lib/malloc_misuse.c - the checked build catches every misuse it promises, names it
 * (kind, address, hart, caller) and refuses the operation, leaving the heap valid.
 *
 * Only in checked builds (make test boots a CHECKED=1 kernel for these); an unchecked build
 * still rejects frees of pointers outside the heap, which the first test checks in both.
 */
#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

static struct misuse_report last_report;
static unsigned reports;

static void capture_malloc_misuse(const struct misuse_report *report)
{
    last_report = *report;
    reports++;
}

/* Installs the capture hook; returns the previous hook for restore(). */
static misuse_hook capture(void)
{
    reports = 0;
    memset(&last_report, 0, sizeof last_report);
    return misuse_set_hook(capture_malloc_misuse);
}

/* Checks exactly one report of kind at address from this hart with a caller. */
#define EXPECT_REPORT(kind_, address_)                                                                                 \
    do {                                                                                                               \
        KASSERT_EQ(reports, 1);                                                                                        \
        KASSERT_EQ(last_report.kind, kind_);                                                                           \
        KASSERT_EQ(last_report.address, (uintptr_t)(address_));                                                        \
        KASSERT_EQ(last_report.hart, hart_self());                                                                     \
        KASSERT_STR_EQ(last_report.allocator, "malloc");                                                               \
        KASSERT_NOT_NULL(last_report.caller);                                                                          \
        reports = 0;                                                                                                   \
    } while (0)

static int global_object;

KTEST(malloc_misuse, foreign_and_stack_pointers_are_refused)
{
    int on_stack = 0;
    misuse_hook previous = capture();
    rvmem_free(&global_object);
    EXPECT_REPORT(MISUSE_INVALID_FREE, &global_object);
    rvmem_free(&on_stack);
    EXPECT_REPORT(MISUSE_INVALID_FREE, &on_stack);
    misuse_set_hook(previous);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}

#ifdef RVMEM_CHECKED
/* Class blocks (16-byte steps and above 1 KiB) and large (TLSF) blocks both. */
static const size_t misuse_sizes[] = {24, 100, 1000, 3000, 40000, 90000};
#define FOR_EACH_SIZE                                                                                                  \
    for (unsigned size_index = 0; size_index < sizeof misuse_sizes / sizeof misuse_sizes[0]; size_index++)
#define SIZE misuse_sizes[size_index]

KTEST(malloc_misuse, double_free)
{
    FOR_EACH_SIZE
    {
        uint8_t *keep_before = rvmem_malloc(SIZE); /* neighbours stay allocated: no merge hides the state */
        uint8_t *block = rvmem_malloc(SIZE);
        uint8_t *keep_after = rvmem_malloc(SIZE);
        KASSERT_NOT_NULL(block);
        rvmem_free(block);
        misuse_hook previous = capture();
        rvmem_free(block);
        misuse_set_hook(previous);
        EXPECT_REPORT(MISUSE_DOUBLE_FREE, block);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        rvmem_free(keep_before);
        rvmem_free(keep_after);
    }
    malloc_test_settle();
}

KTEST(malloc_misuse, interior_and_unaligned_pointers)
{
    FOR_EACH_SIZE
    {
        uint8_t *block = rvmem_malloc(SIZE);
        KASSERT_NOT_NULL(block);
        memset(block, 0, SIZE);
        misuse_hook previous = capture();
        rvmem_free(block + 16);
        EXPECT_REPORT(MISUSE_INVALID_FREE, block + 16);
        rvmem_free(block + 1);
        EXPECT_REPORT(MISUSE_INVALID_FREE, block + 1);
        KASSERT_EQ(rvmem_malloc_usable_size(block + 32), 0);
        EXPECT_REPORT(MISUSE_INVALID_FREE, block + 32);
        misuse_set_hook(previous);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        rvmem_free(block);
    }
    malloc_test_settle();
}

KTEST(malloc_misuse, one_byte_overflow_and_underflow)
{
    FOR_EACH_SIZE
    {
        uint8_t *block = rvmem_malloc(SIZE);
        KASSERT_NOT_NULL(block);
        misuse_hook previous = capture();
        uint8_t saved = block[SIZE];
        block[SIZE] = 0x41;
        rvmem_free(block); /* refused: the block stays allocated */
        EXPECT_REPORT(MISUSE_OVERFLOW, block + SIZE);
        block[SIZE] = saved;
        saved = block[-1];
        block[-1] = 0x42;
        rvmem_free(block);
        EXPECT_REPORT(MISUSE_UNDERFLOW, block - 1);
        block[-1] = saved;
        misuse_set_hook(previous);
        rvmem_free(block); /* now it is fine */
        KASSERT_EQ(reports, 0);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
    }
    malloc_test_settle();
}

KTEST(malloc_misuse, write_after_free_is_seen_by_the_validator_and_on_reuse)
{
    FOR_EACH_SIZE
    {
        uint8_t *keep_before = rvmem_malloc(SIZE);
        uint8_t *block = rvmem_malloc(SIZE);
        uint8_t *keep_after = rvmem_malloc(SIZE);
        KASSERT_NOT_NULL(block);
        rvmem_free(block);
        uint8_t saved = block[SIZE / 2];
        block[SIZE / 2] = (uint8_t)(saved + 1); /* the dangling write */
        misuse_hook previous = capture();
        KASSERT_LT(rvmem_malloc_validate(), 0);
        EXPECT_REPORT(MISUSE_WRITE_AFTER_FREE, block + SIZE / 2);
        /* Reuse: the same block comes back (last freed, first out) and the poison is checked. */
        uint8_t *again = rvmem_malloc(SIZE);
        if (again == block)
            EXPECT_REPORT(MISUSE_WRITE_AFTER_FREE, block + SIZE / 2);
        misuse_set_hook(previous);
        if (again != block)
            block[SIZE / 2] = saved;
        rvmem_free(again);
        rvmem_free(keep_before);
        rvmem_free(keep_after);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
    }
    malloc_test_settle();
}

KTEST(malloc_misuse, realloc_and_usable_size_check_too)
{
    uint8_t *block = rvmem_malloc(64);
    KASSERT_NOT_NULL(block);
    KASSERT_EQ(rvmem_malloc_usable_size(block), 64); /* checked builds: exactly the request */
    rvmem_free(block);
    misuse_hook previous = capture();
    KASSERT_NULL(rvmem_realloc(block, 100));
    EXPECT_REPORT(MISUSE_DOUBLE_FREE, block);
    misuse_set_hook(previous);
    malloc_test_settle();
}
#endif
