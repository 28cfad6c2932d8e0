/*
 * kernel/stack.c - stack bounds, guard words and high-water marks (see stack.h).
 */
#include "kernel/stack.h"

#include "kernel/hart.h"
#include "kernel/layout.h"
#include "kernel/misuse.h"
#include "kernel/platform.h"

extern char __stacks_start[];

uintptr_t stack_bottom(unsigned index)
{
    return (uintptr_t)__stacks_start + (uintptr_t)index * RVMEM_STACK_SIZE;
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
    unsigned self = hart_current()->index;
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    uintptr_t bottom = stack_bottom(self), top = stack_top(self);
    if (stack_guard_intact(self) && sp > bottom && sp <= top)
        return;
    struct misuse_report report = {MISUSE_STACK_OVERFLOW, "stack", sp, self, __builtin_return_address(0)};
    misuse_report(&report);
    panic("stack overflow on hart %u: stack %p-%p, sp %p, guard %s, detected by %s", self, (void *)bottom,
          (void *)top, (void *)sp, stack_guard_intact(self) ? "intact" : "overwritten", site);
}
