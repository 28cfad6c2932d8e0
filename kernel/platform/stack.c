/*
 * kernel/platform/stack.c - stack bounds, guard words and high-water marks (see stack.h).
 */
#include "kernel/platform/stack.h"

#include "kernel/base/layout.h"
#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"

extern char __stacks_start[];

/* Each hart's emergency stack (boot/trap.S): only a trap handler whose stack was unusable runs here. */
uint8_t emergency_stacks[RVMEM_MAX_HARTS][EMERGENCY_STACK_SIZE] __attribute__((aligned(16)));

uintptr_t stack_bottom(unsigned index)
{
    return (uintptr_t)__stacks_start + (uintptr_t)index * STACK_SLOT_BYTES + STACK_GUARD_BYTES;
}

uintptr_t stack_guard_page(unsigned index)
{
    return stack_bottom(index) - STACK_GUARD_BYTES;
}

uintptr_t stack_emergency_bottom(unsigned index)
{
    return (uintptr_t)emergency_stacks[index];
}

bool stack_on_emergency(unsigned index, uintptr_t sp)
{
    return sp >= stack_emergency_bottom(index) && sp <= stack_emergency_bottom(index) + EMERGENCY_STACK_SIZE;
}

uintptr_t stack_top(unsigned index)
{
    return stack_bottom(index) + RVMEM_STACK_SIZE;
}

size_t stack_high_water_bytes(unsigned index)
{
    const uintptr_t *word = (const uintptr_t *)stack_bottom(index) + 1;
    const uintptr_t *top = (const uintptr_t *)stack_top(index);
    while (word < top && *word == (uintptr_t)STACK_PAINT_WORD)
        word++;
    return (size_t)((uintptr_t)top - (uintptr_t)word);
}

bool stack_guard_intact(unsigned index)
{
    return *(const volatile uintptr_t *)stack_bottom(index) == (uintptr_t)STACK_GUARD_WORD;
}

void stack_check(const char *site)
{
    unsigned self = hart_self();
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    uintptr_t bottom = stack_bottom(self), top = stack_top(self);
    if (__builtin_expect(stack_guard_intact(self) && sp >= bottom + STACK_RED_ZONE_BYTES && sp <= top, 1))
        return;
    stack_overflow_report(site, sp, __builtin_return_address(0));
}

void stack_overflow_report(const char *site, uintptr_t sp, const void *caller)
{
    unsigned self = hart_self();
    uintptr_t bottom = stack_bottom(self), top = stack_top(self);
    bool guard_intact = stack_guard_intact(self); /* before the report itself uses the red zone */
    struct misuse_report report = {MISUSE_STACK_OVERFLOW, "stack", sp, self, caller};
    misuse_report(&report);
    panic("stack overflow on hart %u: stack %p-%p, sp %p, guard word %s, detected by %s", self, (void *)bottom,
          (void *)top, (void *)sp, guard_intact ? "intact" : "overwritten", site);
}

void stack_overflow_fault_report(uintptr_t sp, uintptr_t address, uintptr_t pc)
{
    unsigned self = hart_self();
    uintptr_t guard = stack_guard_page(self);
    char site[80];
    ksnprintf(site, sizeof site, "the guard page at %p (fault at %p, pc %p)", (void *)guard, (void *)address,
              (void *)pc);
    stack_overflow_report(site, sp, (const void *)pc);
}

/* Called by code built with -fstack-protector-strong when a frame's canary was overwritten. */
void __stack_chk_fail(void) __attribute__((noreturn));
void __stack_chk_fail(void)
{
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    stack_overflow_report("stack protector (a local buffer overran its frame)", sp, __builtin_return_address(0));
    __builtin_unreachable();
}

void stack_print_usage(unsigned harts)
{
    for (unsigned index = 0; index < harts; index++)
        kprintf("  stack of hart %u: %p-%p, high-water mark %zu of %u bytes, guard %s\n", index,
                (void *)stack_bottom(index), (void *)stack_top(index), stack_high_water_bytes(index),
                (unsigned)RVMEM_STACK_SIZE, stack_guard_intact(index) ? "intact" : "OVERWRITTEN");
}
