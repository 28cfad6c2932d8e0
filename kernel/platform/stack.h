/*
 * kernel/platform/stack.h - the per-hart stacks: bounds, paint, guard and high-water mark.
 *
 * boot/entry.S gives hart i the stack [__stacks_start + i*STACK_SLOT_BYTES + STACK_GUARD_BYTES,
 * + STACK_SIZE), above its guard page (kernel/base/layout.h), writes STACK_GUARD_WORD in the
 * lowest word and paints the rest with STACK_PAINT_WORD. The deepest point ever reached is where
 * the paint stops being intact. With paging on the guard page is unmapped, so an overflow faults
 * at its first access below the stack; without an MMU, the guard word and the checks below are
 * all there is. Each hart also has an emergency stack (EMERGENCY_STACK_SIZE bytes) for the trap
 * handler when sp is unusable (boot/trap.S).
 */
#ifndef RVMEM_KERNEL_PLATFORM_STACK_H
#define RVMEM_KERNEL_PLATFORM_STACK_H

#define STACK_GUARD_WORD 0x57a7c60a
#define STACK_PAINT_WORD 0x5ca1ab1e
/* Mixed with the hart index and the time into each hart's -fstack-protector canary. */
#define STACK_PROTECTOR_SEED 0x3c6ef372
/*
 * Bytes at the bottom of every stack that sp must never enter: room for one trap frame
 * and the overflow report itself (printf buffers), so an overflow caught at a check is
 * reported without writing below the stack.
 */
#define STACK_RED_ZONE_BYTES 2048

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowest and one-past-highest address of the stack of logical hart index. */
uintptr_t stack_bottom(unsigned index);
uintptr_t stack_top(unsigned index);

/* The guard page below hart index's stack: [stack_guard_page(index), + STACK_GUARD_BYTES). */
uintptr_t stack_guard_page(unsigned index);

/* The lowest byte of hart index's emergency stack ([bottom, bottom + EMERGENCY_STACK_SIZE)). */
uintptr_t stack_emergency_bottom(unsigned index);

/* True when sp lies on hart index's emergency stack (its top included). */
bool stack_on_emergency(unsigned index, uintptr_t sp);

/* Deepest use so far of hart index's stack, in bytes (scans the paint: O(stack size)). */
size_t stack_high_water_bytes(unsigned index);

/* True while the guard word at the bottom of hart index's stack is intact. */
bool stack_guard_intact(unsigned index);

/* Prints, for harts 0 .. harts - 1, the stack bounds and high-water mark. */
void stack_print_usage(unsigned harts);

/* Reports a stack overflow seen at site with stack pointer sp, then panics. Never returns. */
__attribute__((noreturn)) void stack_overflow_report(const char *site, uintptr_t sp, const void *caller);

/*
 * Reports a stack overflow caught by the calling hart's guard page: the access to address at pc,
 * with stack pointer sp, faulted there. The same report and exit code as stack_overflow_report.
 */
__attribute__((noreturn)) void stack_overflow_fault_report(uintptr_t sp, uintptr_t address, uintptr_t pc);

/*
 * stack_check(site) (declared in kernel/base/platform.h): checks the calling hart's guard word
 * and that sp is above the red zone; on failure reports a stack overflow (hart, bounds, sp,
 * the detecting site) and panics. A handful of instructions: call it often.
 */
#endif

#endif
