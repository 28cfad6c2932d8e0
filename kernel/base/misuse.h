/*
 * kernel/base/misuse.h - how allocators report misuse (double free, invalid free, overflow...).
 *
 * An allocator that detects misuse refuses the operation (it never corrupts its state),
 * fills a struct misuse_report and calls misuse_report(). By default the report is printed
 * ("misuse: double free of 0x... in buddy, hart 2, caller 0x...") and counted as
 * unexpected; the test runner fails any test during which an unexpected report happened.
 * A test that provokes misuse on purpose installs a hook with misuse_set_hook(); reports
 * then go to the hook instead and are not counted as unexpected.
 * Portable; safe on all harts at once.
 */
#ifndef RVMEM_KERNEL_BASE_MISUSE_H
#define RVMEM_KERNEL_BASE_MISUSE_H

#include <stdint.h>

enum misuse_kind {
    MISUSE_DOUBLE_FREE,
    MISUSE_INVALID_FREE,     /* not the start of an allocated block (interior, unaligned, foreign) */
    MISUSE_WRONG_SIZE,       /* freed with another order or size than it was allocated with */
    MISUSE_OUT_OF_RANGE,     /* pointer outside the memory the allocator manages */
    MISUSE_WRITE_AFTER_FREE, /* poison of a free block was overwritten */
    MISUSE_OVERFLOW,         /* a write past the end of a block */
    MISUSE_UNDERFLOW,        /* a write before the start of a block */
    MISUSE_STACK_OVERFLOW,   /* a hart's stack guard was overwritten */
    MISUSE_KIND_COUNT
};

struct misuse_report {
    enum misuse_kind kind;
    const char *allocator; /* "buddy", "malloc", ... */
    uintptr_t address;     /* the address the caller passed, or where corruption was seen */
    unsigned hart;         /* logical hart index that detected it */
    const void *caller;    /* return address of the allocator's caller */
};

typedef void (*misuse_hook)(const struct misuse_report *report);

/* Reports misuse: to the installed hook if any, else printed and counted as unexpected. */
void misuse_report(const struct misuse_report *report);

/* Installs a hook (NULL restores printing); returns the previous one. Global to all harts. */
misuse_hook misuse_set_hook(misuse_hook hook);

/* The hook installed now (NULL: reports are printed). */
misuse_hook misuse_current_hook(void);

/* Number of reports that reached the default (printing) path since boot. */
unsigned long misuse_unexpected_count(void);

/* Name of a kind, e.g. "double free". */
const char *misuse_kind_name(enum misuse_kind kind);

#endif
