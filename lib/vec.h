/*
 * lib/vec.h - Vec: a growable array of fixed-size elements (Rust's Vec<T>, in C).
 *
 *     struct vec v = VEC_INIT(int);
 *     int x = 7;
 *     if (vec_push(&v, &x) < 0) ... out of memory, v unchanged
 *     int *first = VEC_AT(&v, int, 0);   // NULL when out of bounds
 *     vec_free(&v);
 *
 * Growth policy: when a push finds the vector full, the capacity doubles (starting at 4
 * elements), so n pushes cost O(n) element copies in total (amortized O(1) each) and at most
 * half the capacity is unused after growth. vec_shrink() gives the slack back. Reserve grows
 * to exactly what is asked when that is more than doubling would give.
 * Failure: errors as values (-E_NOMEM, -E_RANGE for size overflow or a bad index); on failure
 * the vector is unchanged. Access is bounds-checked (vec_at returns NULL out of range).
 * Ownership: the vector owns its buffer; elements are copied in and out by value.
 * Thread-safety: none (one owner at a time), like Vec without a lock.
 */
#ifndef RVMEM_LIB_VEC_H
#define RVMEM_LIB_VEC_H

#include <stdbool.h>
#include <stddef.h>

struct vec {
    unsigned char *data;
    size_t length;        /* elements in use */
    size_t capacity;      /* elements the buffer holds */
    size_t element_bytes; /* size of one element */
};

#define VEC_INIT(type) ((struct vec){NULL, 0, 0, sizeof(type)})
#define VEC_MIN_CAPACITY 4

/* An empty vector of element_bytes-sized elements (no allocation yet). */
void vec_init(struct vec *vector, size_t element_bytes);

/* Makes room for at least additional more elements. 0, -E_NOMEM or -E_RANGE (overflow). */
int vec_reserve(struct vec *vector, size_t additional);

/* Appends a copy of *element. 0, -E_NOMEM or -E_RANGE. */
int vec_push(struct vec *vector, const void *element);

/* Removes the last element, copying it to out (if not NULL). false when empty. */
bool vec_pop(struct vec *vector, void *out);

/* Address of element index, or NULL when index >= length. Valid until the next growth. */
void *vec_at(const struct vec *vector, size_t index);

/* Copies element index to out. 0, or -E_RANGE when out of bounds. */
int vec_get(const struct vec *vector, size_t index, void *out);

/* Overwrites element index with *element. 0, or -E_RANGE when out of bounds. */
int vec_set(struct vec *vector, size_t index, const void *element);

/* Shrinks the capacity to the length (frees the buffer when empty). 0, or -E_NOMEM (then unchanged). */
int vec_shrink(struct vec *vector);

/* Frees the buffer; the vector is empty and usable again. */
void vec_free(struct vec *vector);

/* Typed access: VEC_AT(&v, int, i) is an int * (NULL when out of bounds). */
#define VEC_AT(vector, type, index) ((type *)vec_at((vector), (index)))

#endif
