/*
 * tests/mm/vm_arena.h - table pages for the page-table core's tests, from a static arena, with
 * small fake physical addresses (Sv32 entries hold 34 bits) and failures injected on request.
 *
 * Tests only, one user at a time (the suites run one test at a time on the boot hart).
 */
#ifndef RVMEM_TESTS_MM_VM_ARENA_H
#define RVMEM_TESTS_MM_VM_ARENA_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/vm.h"

#define VM_ARENA_PAGES 384u

/*
 * Fills *tables with the arena's callbacks; all pages free, no failure planned. The pages are test
 * memory (tests/harness/ktest_arena.h), taken on the first reset of a suite: false when they
 * cannot be taken (the caller fails its test).
 */
bool vm_arena_reset(struct vm_tables *tables);

/* Table pages handed out and not given back. */
unsigned long vm_arena_taken(void);

/* The next `successes` allocations succeed, every one after them fails (until planned again). */
void vm_arena_fail_after(unsigned long successes);

/* No failure planned any more (the arena may still run out). */
void vm_arena_never_fail(void);

/* Allocations refused so far (planned failures and exhaustion). */
unsigned long vm_arena_failures(void);

/* True when a free gave back a page the arena had not handed out (checked by the leak check). */
bool vm_arena_misused(void);

#endif
