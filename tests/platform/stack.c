/*
 * tests/platform/stack.c - stack paint, high-water marks, guard words and overflow detection.
 */
#include "kernel/platform/hart.h"
#include "kernel/base/platform.h"
#include "kernel/platform/stack.h"
#include "tests/harness/ktest.h"

/* Uses `bytes` of stack below the caller's frame and returns the high-water mark inside. */
__attribute__((noinline)) static size_t use_stack(unsigned self, size_t bytes)
{
    char buffer[6144];
    size_t used = bytes < sizeof buffer ? bytes : sizeof buffer;
    for (size_t i = 0; i < used; i++)
        ((volatile char *)buffer)[i] = (char)i;
    return stack_high_water_bytes(self);
}

KTEST(stack, high_water_mark_is_plausible_and_monotonic)
{
    unsigned self = hart_self();
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    size_t before = stack_high_water_bytes(self);
    KASSERT_GE(before, stack_top(self) - sp); /* at least as deep as we are now */
    KASSERT_LT(before, (size_t)RVMEM_STACK_SIZE);
    size_t inside = use_stack(self, 6144);
    KASSERT_GE(inside, before);
    KASSERT_GE(inside, stack_top(self) - sp + 6144); /* the 6 KiB buffer lies below our frame */
    size_t after = stack_high_water_bytes(self);
    KASSERT_EQ(after, inside); /* returning does not repaint: the mark never goes down */
}

KTEST_SMP(stack, every_hart_has_its_own_mark_and_guard)
{
    unsigned self = ktest_hart_index();
    KASSERT(stack_guard_intact(self));
    size_t mark = stack_high_water_bytes(self);
    KASSERT_GT(mark, 0u);
    KASSERT_LT(mark, (size_t)RVMEM_STACK_SIZE);
    stack_check("stack test");
}

KTEST(stack, bounds_tile_the_stack_area_with_a_guard_page_below_each)
{
    for (unsigned index = 0; index + 1 < RVMEM_MAX_HARTS; index++) {
        KASSERT_EQ(stack_guard_page(index + 1), stack_top(index));
        KASSERT_EQ(stack_bottom(index + 1) - stack_guard_page(index + 1), (uintptr_t)STACK_GUARD_BYTES);
    }
    for (unsigned index = 0; index < RVMEM_MAX_HARTS; index++) {
        KASSERT_EQ(stack_top(index) - stack_bottom(index), (uintptr_t)RVMEM_STACK_SIZE);
        KASSERT_EQ(stack_bottom(index) % PAGE_SIZE, 0);
        KASSERT_EQ(stack_emergency_bottom(index) % 16, 0);
    }
}

/* Recurses with 512-byte frames, checking the stack at every level, until stack_check fires. */
__attribute__((noinline)) static unsigned recurse_until_caught(unsigned depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    stack_check("deliberate recursion");
    if (depth > 1000000)
        return frame[0];
    return recurse_until_caught(depth + 1) + frame[0];
}

/* Run only by `make test`'s crash checks: the last hart overflows its stack on purpose. */
KTEST_DEFINE(crash, stack_overflow_by_recursion, KTEST_FLAG_ALL_HARTS | KTEST_FLAG_EXPLICIT)
{
    if (ktest_hart_index() == ktest_hart_count() - 1)
        recurse_until_caught(0);
    ktest_barrier(); /* never reached by the overflowing hart: the run ends in its report */
}

__attribute__((noinline)) static void overrun_local_buffer(volatile char *source, unsigned length)
{
    char buffer[16];
    for (unsigned i = 0; i < length; i++)
        ((volatile char *)buffer)[i] = source[i];
    __asm__ volatile("" : : "r"(buffer) : "memory");
}

/* Run only by `make test`'s crash checks: -fstack-protector-strong must catch a smashed frame. */
KTEST_EXPLICIT(crash, stack_protector)
{
    static volatile char pattern[64] = "a string longer than the sixteen-byte buffer it lands in";
    overrun_local_buffer(pattern, sizeof pattern);
}
