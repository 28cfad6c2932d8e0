/*
 * tests/host/binding_park.h - the binding's tests of parked threads (tests/host/binding_park.c).
 */
#ifndef RVMEM_TESTS_HOST_BINDING_PARK_H
#define RVMEM_TESTS_HOST_BINDING_PARK_H

/* binding.parked_threads_lend_their_caches: NULL when it passed, else why it failed. */
const char *binding_park_test_lend(void);

/* binding.trims_while_threads_park_and_run: NULL when it passed, else why it failed. */
const char *binding_park_test_stress(void);

#endif
