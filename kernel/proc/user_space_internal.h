/*
 * kernel/proc/user_space_internal.h - what user_space.c lends to its neighbour user_space_threads.c
 * (the thread stacks). Not for other modules: they go through kernel/proc/user_space.h.
 */
#ifndef RVMEM_KERNEL_PROC_USER_SPACE_INTERNAL_H
#define RVMEM_KERNEL_PROC_USER_SPACE_INTERNAL_H

#include <stdint.h>

#include "kernel/proc/user_space.h"

/* A new zeroed page mapped read+write at virtual (lock held). Returns 0, -E_BUSY (a page is there), -E_NOMEM. */
int user_space_map_zero_page(struct user_space *space, uintptr_t virtual);

/*
 * Unmaps and gives back the pages mapped in [from, to) (page aligned; lock held): fenced on this
 * hart, and shot down on every other first when the space is shared. Moves the generation.
 */
void user_space_release_pages(struct user_space *space, uintptr_t from, uintptr_t to);

/* Gives back the pages mapped in [from, to) (page aligned), leaving the entries to vm_destroy (teardown only). */
void user_space_give_back(struct user_space *space, uintptr_t from, uintptr_t to);

#endif
