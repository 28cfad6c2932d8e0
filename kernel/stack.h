/*
 * kernel/stack.h - the per-hart stacks: bounds, paint, guard and high-water mark.
 *
 * boot/entry.S gives hart i the stack [__stacks_start + i*STACK_SIZE, + STACK_SIZE),
 * writes STACK_GUARD_WORD in the lowest word and paints the rest with STACK_PAINT_WORD.
 * The deepest point ever reached is where the paint stops being intact.
 */
#ifndef RVMEM_KERNEL_STACK_H
#define RVMEM_KERNEL_STACK_H

#define STACK_GUARD_WORD 0x57a7c60a
#define STACK_PAINT_WORD 0x5ca1ab1e

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowest and one-past-highest address of the stack of logical hart index. */
uintptr_t stack_bottom(unsigned index);
uintptr_t stack_top(unsigned index);

/* Deepest use so far of hart index's stack, in bytes (scans the paint: O(stack size)). */
size_t stack_high_water_bytes(unsigned index);

/* True while the guard word at the bottom of hart index's stack is intact. */
bool stack_guard_intact(unsigned index);

/*
 * Checks the calling hart's guard word and that sp is inside its stack; on failure reports
 * a stack overflow (hart, bounds, sp, the detecting site) and panics. Cheap: call it often.
 */
void stack_check(const char *site);
#endif

#endif
