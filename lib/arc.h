/*
 * lib/arc.h - Arc: an atomically reference-counted heap value shared across harts (Rust's Arc<T>).
 *
 * Same shape as lib/rc.h, but the count is atomic: any hart may retain and release at any time,
 * and exactly one release (the last) runs the destructor and frees the value, after every other
 * hart's writes to it (release ordering on every decrement, acquire before destroying).
 * The value itself is not protected: share read-only data, or guard it with a spinlock.
 * Misuse (releasing a dead value) is reported through kernel/base/misuse.h and ignored.
 */
#ifndef RVMEM_LIB_ARC_H
#define RVMEM_LIB_ARC_H

#include <stddef.h>

typedef void (*arc_destructor)(void *value);

/* A new value of size bytes, zeroed, count 1; NULL when out of memory. */
void *arc_new(size_t size, arc_destructor destructor);

/* Adds an owner (any hart); returns value. */
void *arc_retain(void *value);

/* Drops an owner (any hart); the last one runs the destructor and frees. arc_release(NULL) does nothing. */
void arc_release(void *value);

/* The current count (a snapshot). */
size_t arc_count(const void *value);

#endif
