/*
 * lib/box.h - Box: a value on the heap with exactly one owner (Rust's Box<T>, in C).
 *
 *     struct point *p = BOX_NEW(struct point, {1, 2});   // NULL when out of memory
 *     struct point *q = BOX_MOVE(p);                       // q owns it now, p is NULL
 *     box_free(q);                                         // the one owner frees it
 *
 * Ownership is a convention C cannot enforce; BOX_MOVE makes a transfer visible and leaves no
 * second pointer behind. Memory comes from lib/malloc/malloc.h (misuse such as a double box_free is
 * caught there in checked builds). Thread-safety: as malloc (a box may be freed on any hart).
 */
#ifndef RVMEM_LIB_BOX_H
#define RVMEM_LIB_BOX_H

#include <stddef.h>

/* A new box of size bytes holding a copy of initial (or zeros when initial is NULL); NULL when out of memory. */
void *box_new(size_t size, const void *initial);

/* Frees a box and, first, runs destructor on its value if destructor is not NULL. box_free(NULL) does nothing. */
void box_drop(void *box, void (*destructor)(void *value));

/* Frees a box (no destructor). */
void box_free(void *box);

/* A new box of type holding the compound-literal initializer given (e.g. {1, 2}). */
#define BOX_NEW(type, ...) ((type *)box_new(sizeof(type), &(type)__VA_ARGS__))

/* Takes the box out of the pointer variable owner (which becomes NULL) and evaluates to it. */
#define BOX_MOVE(owner)                                                                                                \
    ({                                                                                                                 \
        __typeof__(owner) box_moved_ = (owner);                                                                        \
        (owner) = NULL;                                                                                                \
        box_moved_;                                                                                                    \
    })

#endif
