/*
 * lib/box.c - Box: one owner, one heap value (lib/box.h).
 */
#include "lib/box.h"

#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"

void *box_new(size_t size, const void *initial)
{
    void *box = rvmem_malloc(size);
    if (!box)
        return NULL;
    if (initial)
        memcpy(box, initial, size);
    else
        memset(box, 0, size);
    return box;
}

void box_drop(void *box, void (*destructor)(void *value))
{
    if (!box)
        return;
    if (destructor)
        destructor(box);
    rvmem_free(box);
}

void box_free(void *box)
{
    rvmem_free(box);
}
