/*
 * kernel/top/tour.c - the guided tour: steps 1 to 4 and the running order (see tour.h).
 */
#include "kernel/top/tour.h"

#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/platform/hart.h"
#include "kernel/top/monitor_text.h"
#include "kernel/mm/pages.h"
#include "kernel/base/printf.h"
#include "kernel/platform/stack.h"
#include "kernel/top/tour_frames.h"

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];
extern char __bss_start[], __bss_end[], __stacks_start[], __stacks_end[], __image_start[], __image_end[];

static unsigned failed_checks;

void tour_check(bool held, const char *what)
{
    kprintf("   check: %s: %s\n", what, held ? "yes" : "NO");
    if (!held)
        failed_checks++;
}

unsigned tour_failed_checks(void)
{
    return failed_checks;
}

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

static void step_stack_frames(void)
{
    unsigned self = hart_current()->index;
    kprintf("\n1. Stack frames: calling a function allocates its frame by moving sp down\n");
    kprintf("   hart %u's stack is %p-%p (%u bytes); it grows down from the top.\n", self, (void *)stack_bottom(self),
            (void *)stack_top(self), (unsigned)RVMEM_STACK_SIZE);
    struct tour_frame_trace trace;
    uintptr_t caller_sp = tour_current_sp();
    tour_frame_outer(&trace);
    kprintf("   %-18s %-12s %7s %9s  %s\n", "function", "sp", "frame", "compiler", "prologue");
    kprintf("   %-18s %p  (the caller)\n", "step_stack_frames", (void *)caller_sp);
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

static int initialised_counter = 42; /* .data */
static char zeroed_buffer[64];       /* .bss */
static const char greeting[] = "hello from .rodata";

static void print_section(const char *name, const char *start, const char *end, const char *what, const void *example)
{
    char size[SIZE_TEXT_BYTES];
    bool inside = (const char *)example >= start && (const char *)example < end;
    kprintf("   %-8s %p-%p %10s  %s at %p%s\n", name, (const void *)start, (const void *)end,
            size_text(size, (uint64_t)(end - start)), what, example, inside ? "" : " (NOT inside!)");
    if (!inside)
        tour_check(false, "the example lies in its section");
}

static void step_static_allocation(void)
{
    kprintf("\n2. Static allocation: the linker places code and globals before the program runs\n");
    print_section(".text", __text_start, __text_end, "code: tour_run", (const void *)tour_run);
    print_section(".rodata", __rodata_start, __rodata_end, "constants: \"hello from .rodata\"", greeting);
    print_section(".data", __data_start, __data_end, "initialised globals: initialised_counter = 42",
                  &initialised_counter);
    print_section(".bss", __bss_start, __bss_end, "zeroed globals: zeroed_buffer[64]", zeroed_buffer);
    print_section("stacks", __stacks_start, __stacks_end, "one stack per hart: this call's frame",
                  __builtin_frame_address(0));
    kprintf("   image %p-%p; boundaries from linker.ld's symbols (__text_start ...), checked by its ASSERTs\n",
            (void *)__image_start, (void *)__image_end);
    const uintptr_t bounds[] = {(uintptr_t)__text_start, (uintptr_t)__text_end,   (uintptr_t)__rodata_start,
                                (uintptr_t)__rodata_end, (uintptr_t)__data_start, (uintptr_t)__data_end,
                                (uintptr_t)__bss_start,  (uintptr_t)__bss_end,    (uintptr_t)__stacks_start,
                                (uintptr_t)__stacks_end, (uintptr_t)__image_end};
    bool ordered = true;
    for (unsigned i = 1; i < sizeof bounds / sizeof bounds[0]; i++)
        ordered = ordered && bounds[i - 1] <= bounds[i];
    bool zero = true;
    for (unsigned i = 0; i < sizeof zeroed_buffer; i++)
        zero = zero && zeroed_buffer[i] == 0;
    tour_check(ordered && zero && initialised_counter == 42,
               "sections in order, .bss zeroed and .data initialised at boot");
}

static void print_break(const char *what)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    kprintf("   %-26s break %p, heap holds %lu page(s), buddy free pages %lu\n", what, (void *)heap.current,
            (unsigned long)heap.pages_held, buddy_free_pages(kernel_pages()));
}

static void step_program_break(void)
{
    kprintf("\n4. The program break: sbrk moves one address; whole pages come from the buddy allocator\n");
    struct brk_stats before;
    brk_get_stats(kernel_heap(), &before);
    kprintf("   the heap starts at %p, just above the image, and may grow to %p\n", (void *)before.start,
            (void *)before.limit);
    print_break("now:");
    static const long moves[] = {100, 5000, 16384, -(100 + 5000 + 16384)};
    bool returned_previous = true;
    for (unsigned i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        struct brk_stats heap;
        brk_get_stats(kernel_heap(), &heap);
        void *previous = sbrk(moves[i]);
        char what[32];
        ksnprintf(what, sizeof what, "sbrk(%ld) = %p:", moves[i], previous);
        print_break(what);
        returned_previous = returned_previous && (uintptr_t)previous == heap.current;
    }
    struct brk_stats after;
    brk_get_stats(kernel_heap(), &after);
    kprintf("   growing past a page claims the pages just above from the buddy allocator; shrinking gives them back\n");
    tour_check(returned_previous && after.current == before.current && after.pages_held == before.pages_held,
               "sbrk returns the old break, and the break and its pages come back");
    tour_malloc_growth();
}

unsigned tour_run(void)
{
    failed_checks = 0;
    kprintf("\nrvmem tour: where memory comes from, shown live on hart %u\n", hart_current()->index);
    step_stack_frames();
    step_static_allocation();
    tour_heap();
    step_program_break();
    tour_fragmentation();
    tour_cost();
    kprintf("\ntour: %s (%u check(s) failed)\n", failed_checks ? "FAILED" : "every check held", failed_checks);
    return failed_checks;
}
