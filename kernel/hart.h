/*
 * kernel/hart.h - per-hart data and SMP bring-up.
 *
 * Every hart has a logical index (0 for the boot hart, then 1, 2, ... in device-tree
 * order), independent of its hartid, which may be any number. tp points at the hart's
 * own struct hart for its whole life; hart_self() reads the index through it.
 */
#ifndef RVMEM_KERNEL_HART_H
#define RVMEM_KERNEL_HART_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/layout.h"

struct fdt;

struct hart {
    uintptr_t stack_protector_guard; /* offset 0: read by -fstack-protector through tp */
    unsigned index;                  /* offset 8: logical index */
    unsigned long hartid;            /* the hardware hart id (mhartid) */
    bool online;                     /* reported in */
    unsigned long report_count;      /* times it reported in (must be exactly 1) */
    uintptr_t boot_stack_pointer;    /* sp seen by the hart's first C function */
    /* Hand-off of work from run_on_all_harts(). */
    void (*volatile job)(void);
    unsigned long job_generation;
    unsigned long done_generation;
    void *allocator_cache; /* the hart's malloc cache (set by malloc_kernel_init, lib/malloc_kernel.c) */
} __attribute__((aligned(HART_STRUCT_SIZE)));

_Static_assert(sizeof(struct hart) == HART_STRUCT_SIZE, "HART_STRUCT_SIZE in layout.h must match struct hart");
_Static_assert(__builtin_offsetof(struct hart, stack_protector_guard) == HART_STACK_GUARD_OFFSET, "guard offset");
_Static_assert(__builtin_offsetof(struct hart, index) == HART_INDEX_OFFSET, "index offset");
_Static_assert(__builtin_offsetof(struct hart, allocator_cache) == HART_ALLOCATOR_CACHE_OFFSET,
               "allocator cache offset");

/* The per-hart table; entry i belongs to logical hart i. */
extern struct hart harts[RVMEM_MAX_HARTS];

/* The calling hart's struct hart (through tp). */
static inline struct hart *hart_current(void)
{
    struct hart *self;
    __asm__("mv %0, tp" : "=r"(self));
    return self;
}

/*
 * Starts, through SBI HSM, every hart the device tree marks usable for S-mode, giving
 * them logical indices 1, 2, ... in device-tree order, and waits until each has reported
 * in. Harts beyond MAX_HARTS are not started (a message says so). Returns the number of
 * harts online, the boot hart included. Boot hart only, once.
 */
unsigned smp_start_harts(const struct fdt *fdt, unsigned long boot_hartid);

/* Prints one line per hart: index, hartid, stack bounds. */
void smp_print_harts(void);

#endif
