/*
 * lib/vec.c - Vec: growable arrays with a doubling growth policy (lib/vec.h).
 */
#include "lib/vec.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"

void vec_init(struct vec *vector, size_t element_bytes)
{
    *vector = (struct vec){NULL, 0, 0, element_bytes};
}

/* Moves the buffer to one of capacity elements. 0, -E_NOMEM or -E_RANGE. */
static int set_capacity(struct vec *vector, size_t capacity)
{
    size_t bytes;
    if (__builtin_mul_overflow(capacity, vector->element_bytes, &bytes))
        return -E_RANGE;
    unsigned char *data = rvmem_realloc(vector->data, bytes);
    if (!data && bytes)
        return -E_NOMEM;
    vector->data = data;
    vector->capacity = capacity;
    return 0;
}

int vec_reserve(struct vec *vector, size_t additional)
{
    size_t needed;
    if (__builtin_add_overflow(vector->length, additional, &needed))
        return -E_RANGE;
    if (needed <= vector->capacity)
        return 0;
    size_t doubled = vector->capacity < VEC_MIN_CAPACITY / 2 ? VEC_MIN_CAPACITY : vector->capacity * 2;
    if (doubled < vector->capacity) /* overflow */
        doubled = needed;
    return set_capacity(vector, needed > doubled ? needed : doubled);
}

int vec_push(struct vec *vector, const void *element)
{
    if (vector->length == vector->capacity) {
        int error = vec_reserve(vector, 1);
        if (error)
            return error;
    }
    memcpy(vector->data + vector->length * vector->element_bytes, element, vector->element_bytes);
    vector->length++;
    return 0;
}

bool vec_pop(struct vec *vector, void *out)
{
    if (vector->length == 0)
        return false;
    vector->length--;
    if (out)
        memcpy(out, vector->data + vector->length * vector->element_bytes, vector->element_bytes);
    return true;
}

void *vec_at(const struct vec *vector, size_t index)
{
    if (index >= vector->length)
        return NULL;
    return vector->data + index * vector->element_bytes;
}

int vec_get(const struct vec *vector, size_t index, void *out)
{
    const void *element = vec_at(vector, index);
    if (!element)
        return -E_RANGE;
    memcpy(out, element, vector->element_bytes);
    return 0;
}

int vec_set(struct vec *vector, size_t index, const void *element)
{
    void *slot = vec_at(vector, index);
    if (!slot)
        return -E_RANGE;
    memcpy(slot, element, vector->element_bytes);
    return 0;
}

int vec_shrink(struct vec *vector)
{
    if (vector->capacity == vector->length)
        return 0;
    if (vector->length == 0) {
        vec_free(vector);
        return 0;
    }
    return set_capacity(vector, vector->length);
}

void vec_free(struct vec *vector)
{
    rvmem_free(vector->data);
    vector->data = NULL;
    vector->length = 0;
    vector->capacity = 0;
}
