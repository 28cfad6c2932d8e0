/*
 * lib/host/binding.h - the host library's malloc binding (lib/host/binding.c).
 */
#ifndef RVMEM_LIB_HOST_BINDING_H
#define RVMEM_LIB_HOST_BINDING_H

/*
 * Reserves the heap region and binds malloc to it, once (safe on any thread, idempotent; runs
 * as a constructor too). Returns 0, or -1 when the region cannot be reserved.
 */
int rvmem_host_init(void);

#endif
