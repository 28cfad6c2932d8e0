/*
 * kernel/top/tour_static_layout.c - tour step 2: static allocation. The linker places code and
 * globals before the program runs; linker.ld exports each section's bounds. With paging on, each
 * section is mapped with its own permissions (W^X), and an unmapped guard page lies under each
 * hart's stack (kernel/top/paging.h).
 */
#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/platform/stack.h"
#include "kernel/top/monitor_text.h"
#include "kernel/top/paging.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];
extern char __bss_start[], __bss_end[], __stacks_start[], __stacks_end[], __image_start[], __image_end[];

static int initialised_counter = 42; /* .data */
static char zeroed_buffer[64];       /* .bss */
static const char greeting[] = "hello from .rodata";

/* The permissions the live map gives address ("r-x"), or "---" when it is unmapped or paging is off. */
static const char *mapped_as(const void *address, char text[4])
{
    uint64_t physical;
    int permissions = paging_on() ? vm_translate(&paging_kernel_space()->vm, (uintptr_t)address, &physical) : -1;
    return kernel_permissions_text(permissions > 0 ? (unsigned)permissions : 0, text);
}

static void print_section(const char *name, const char *start, const char *end, const char *what, const void *example)
{
    char size[SIZE_TEXT_BYTES], permissions[4];
    bool inside = (const char *)example >= start && (const char *)example < end;
    kprintf("   %-8s %p-%p %10s  %s  %s at %p%s\n", name, (const void *)start, (const void *)end,
            size_text(size, (uint64_t)(end - start)), paging_on() ? mapped_as(example, permissions) : "   ", what,
            example, inside ? "" : " (NOT inside!)");
    if (!inside)
        tour_check(false, "the example lies in its section");
}

/* Where each section is mapped and how; where the guard page under this hart's stack is. */
static void show_mapping(void)
{
    unsigned self = hart_self();
    uintptr_t guard = stack_guard_page(self);
    if (!paging_on()) {
        kprintf("   paging is off (%s): every address is physical and nothing is protected; the guard word at\n"
                "   %p, the bottom of hart %u's stack, is checked after the fact\n",
                paging_off_reason(), (void *)stack_bottom(self), self);
        return;
    }
    char text[4], rodata[4], data[4], bss[4], stack[4], below[4];
    kprintf("   paging (%s) maps each section at its own address (virtual = physical) with its own permissions:\n"
            "   .text %s, .rodata %s, .data %s, .bss %s, this hart's stack %s: nothing both writable and executable\n",
            paging_mode_name(), mapped_as(__text_start, text), mapped_as(__rodata_start, rodata),
            mapped_as(__data_start, data), mapped_as(__bss_start, bss), mapped_as((void *)stack_bottom(self), stack));
    mapped_as((void *)guard, below);
    kprintf("   hart %u's guard page %p-%p, right under its stack, is %s: an overflow faults at its first\n"
            "   push there, and the trap handler reports it from the hart's emergency stack\n",
            self, (void *)guard, (void *)(guard + STACK_GUARD_BYTES), below[0] == '-' ? "unmapped" : "MAPPED");
    tour_check(text[1] == '-' && text[2] == 'x' && rodata[1] == '-' && rodata[2] == '-' && data[1] == 'w' &&
                   data[2] == '-' && stack[1] == 'w' && stack[2] == '-' && below[0] == '-',
               "W^X: code read+execute, constants read-only, data and stack read+write; the guard page unmapped");
}

void tour_static_layout(void)
{
    kprintf("\n2. Static allocation: the linker places code and globals before the program runs\n");
    print_section(".text", __text_start, __text_end, "code: tour_run", (const void *)tour_run);
    print_section(".rodata", __rodata_start, __rodata_end, "constants: \"hello from .rodata\"", greeting);
    print_section(".data", __data_start, __data_end, "initialised globals: initialised_counter = 42",
                  &initialised_counter);
    print_section(".bss", __bss_start, __bss_end, "zeroed globals: zeroed_buffer[64]", zeroed_buffer);
    print_section("stacks", __stacks_start, __stacks_end, "a guard page and a stack per hart: this call's frame",
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
    show_mapping();
}
