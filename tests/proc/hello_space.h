/*
 * tests/proc/hello_space.h - a program's address space with the real `hello` loaded, for the tests
 * that drive a space directly without running it (kernel only).
 */
#ifndef RVMEM_TESTS_PROC_HELLO_SPACE_H
#define RVMEM_TESTS_PROC_HELLO_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/proc/user_space.h"

/*
 * Creates space (eager or lazy pages, heap_limit_bytes of heap at most) and loads `hello` into it.
 * 0, or the error with nothing held: -E_NOENT (no such program), -E_NOEXEC (the loader refused
 * it), or user_space_create's and user_space_load's errors. The caller destroys the space.
 */
int hello_space_load(struct user_space *space, bool eager, uintptr_t heap_limit_bytes);

#endif
