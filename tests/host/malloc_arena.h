/*
 * tests/host/malloc_arena.h - the host tests' binding of malloc: an arena with its own break.
 *
 * The arena is reserved once (1 GiB of address space, committed as it is touched) and bound
 * to the allocator before main() runs. Tests may lower its limit to provoke exhaustion.
 */
#ifndef RVMEM_TESTS_HOST_MALLOC_ARENA_H
#define RVMEM_TESTS_HOST_MALLOC_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Limits the arena's break to start + bytes (0: the whole reservation). */
void malloc_arena_set_limit(size_t bytes);

/* The arena's start and its current break. */
uintptr_t malloc_arena_start(void);
uintptr_t malloc_arena_break(void);

#endif
