/*
 * kernel/top/tour_stack_frames.c - tour step 1: calling a function allocates its frame by moving
 * sp down. Three nested calls (kernel/top/tour_frames.c) record their sp; each frame is set
 * against GCC's -fstack-usage figure for it and against the prologue's own sp move.
 */
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/platform/stack.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"
#include "kernel/top/tour_frames.h"

/*
 * The immediate of the first "addi sp, sp, imm" among a function's first instructions (the
 * prologue's frame allocation), decoded from memory; 0 when there is none (frames of 2 KiB
 * and more are allocated with lui + sub instead).
 */
static long prologue_sp_adjustment(const void *function)
{
    const uint16_t *code = function;
    for (unsigned i = 0; i < 8; i++) {
        uint16_t low = code[0];
        if ((low & 3) == 3) { /* 32-bit instruction: addi sp, sp, imm is 0x00010113 | imm << 20 */
            uint32_t instruction = low | (uint32_t)code[1] << 16;
            if ((instruction & 0xfffff) == 0x10113)
                return (long)((int32_t)instruction >> 20);
            code += 2;
            continue;
        }
        if ((low & 0xef83) == 0x6101) { /* c.addi16sp: nzimm[9|4|6|8:7|5] in bits 12, 6, 5, 4:3, 2 */
            long imm = ((low >> 3) & 0x200) | ((low >> 2) & 0x10) | ((low << 1) & 0x40) | ((low << 4) & 0x180) |
                       ((low << 3) & 0x20);
            return (low & 0x1000) ? imm - 0x400 : imm;
        }
        if ((low & 0xef83) == 0x0101) { /* c.addi sp, imm: imm[5] in bit 12, imm[4:0] in bits 6:2 */
            long imm = ((low >> 7) & 0x20) | ((low >> 2) & 0x1f);
            return (low & 0x1000) ? imm - 0x40 : imm;
        }
        code += 1;
    }
    return 0;
}

void tour_stack_frames(void)
{
    unsigned self = hart_self();
    kprintf("\n1. Stack frames: calling a function allocates its frame by moving sp down\n");
    kprintf("   hart %u's stack is %p-%p (%u bytes); it grows down from the top.\n", self, (void *)stack_bottom(self),
            (void *)stack_top(self), (unsigned)RVMEM_STACK_SIZE);
    struct tour_frame_trace trace;
    uintptr_t caller_sp = tour_current_sp();
    tour_frame_outer(&trace);
    kprintf("   %-18s %-12s %7s %9s  %s\n", "function", "sp", "frame", "compiler", "prologue");
    kprintf("   %-18s %p  (the caller)\n", "tour_stack_frames", (void *)caller_sp);
    bool all_match = true;
    uintptr_t above = caller_sp;
    for (unsigned level = 0; level < TOUR_FRAME_DEPTH; level++) {
        unsigned long measured = (unsigned long)(above - trace.stack_pointer[level]);
        unsigned long compiler = tour_compiler_frame_bytes(trace.function[level]);
        long adjustment = prologue_sp_adjustment(trace.entry[level]);
        char prologue[32] = "(lui + sub)";
        if (adjustment)
            ksnprintf(prologue, sizeof prologue, "addi sp,sp,%ld", adjustment);
        kprintf("   %-18s %p %7lu %9lu  %s; local array at %p\n", trace.function[level],
                (void *)trace.stack_pointer[level], measured, compiler, prologue, (void *)trace.local_array[level]);
        all_match = all_match && measured == compiler && (adjustment == 0 || -adjustment == (long)measured);
        above = trace.stack_pointer[level];
    }
    kprintf("   frame = sp in the caller - sp in the callee; compiler = GCC's -fstack-usage report of this build.\n");
    kprintf("   Returning frees the frame with the opposite move: nothing to search, nothing to free.\n");
    tour_check(all_match, "every measured frame equals the compiler's figure and the prologue's sp move");
    size_t high_water = stack_high_water_bytes(self);
    kprintf("   deepest use of this stack so far: %zu of %u bytes (the paint below sp is untouched)\n", high_water,
            (unsigned)RVMEM_STACK_SIZE);
    tour_check(high_water >= stack_top(self) - trace.stack_pointer[TOUR_FRAME_DEPTH - 1],
               "the high-water mark covers the deepest frame");
}
