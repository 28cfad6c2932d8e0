/*
 * kernel/top/tour_static_layout.c - tour step 2: static allocation. The linker places code and
 * globals before the program runs; linker.ld exports each section's bounds.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/printf.h"
#include "kernel/top/monitor_text.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];
extern char __bss_start[], __bss_end[], __stacks_start[], __stacks_end[], __image_start[], __image_end[];

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

void tour_static_layout(void)
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
