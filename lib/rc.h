/*
 * lib/rc.h - Rc: a reference-counted heap value for one hart (Rust's Rc<T>, in C).
 *
 *     struct node *n = rc_new(sizeof *n, node_destroy);  // count 1, value zeroed; NULL on OOM
 *     struct node *m = rc_retain(n);                      // count 2, same value
 *     rc_release(n);                                      // count 1
 *     rc_release(m);                                      // count 0: node_destroy(m), then freed
 *
 * The count lives in a 16-byte header before the value (so the value stays 16-aligned). Not
 * atomic: every retain and release of one value must happen on one hart (use lib/arc.h to share).
 * Misuse: releasing a value that is already gone (or was never an Rc) is reported through
 * kernel/base/misuse.h (the header carries a magic word) and ignored. Retain panics if the count
 * would overflow (a broken invariant).
 */
#ifndef RVMEM_LIB_RC_H
#define RVMEM_LIB_RC_H

#include <stddef.h>

/* What runs on the value just before its memory is freed (may be NULL). */
typedef void (*rc_destructor)(void *value);

/* A new value of size bytes, zeroed, count 1; NULL when out of memory. */
void *rc_new(size_t size, rc_destructor destructor);

/* Adds an owner; returns value. */
void *rc_retain(void *value);

/* Drops an owner; the last one runs the destructor and frees the value. rc_release(NULL) does nothing. */
void rc_release(void *value);

/* The current count (for tests and assertions). */
size_t rc_count(const void *value);

#endif
