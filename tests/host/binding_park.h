/*
 * tests/host/binding_park.h - the binding's tests of parked threads (tests/host/binding_park.c), and
 * the helpers of tests/host/binding.c they share.
 */
#ifndef RVMEM_TESTS_HOST_BINDING_PARK_H
#define RVMEM_TESTS_HOST_BINDING_PARK_H

#include <stddef.h>

/* The process's resident memory in bytes (/proc/self/statm), 0 when unreadable (tests/host/binding.c). */
size_t binding_resident_bytes(void);

/*
 * Blocks of five sizes (48 B .. 20,000 B), total_bytes in all, allocated, filled with fill and freed,
 * one size after another: the calling thread's cache ends up holding magazines. 0, or -1 when a
 * malloc failed (tests/host/binding.c).
 */
int binding_churn(size_t total_bytes, unsigned char fill);

/* binding.parked_threads_lend_their_caches: NULL when it passed, else why it failed. */
const char *binding_park_test_lend(void);

/* binding.trims_while_threads_park_and_run: NULL when it passed, else why it failed. */
const char *binding_park_test_stress(void);

#endif
