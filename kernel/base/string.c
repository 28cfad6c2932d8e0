/*
 * kernel/base/string.c - memory and string functions for the freestanding kernel (see string.h).
 *
 * memcpy and memset move a machine word at a time once both pointers are aligned:
 * GCC calls them for struct copies and zeroing, and the allocators zero whole pages.
 */
#include "kernel/base/string.h"

/* Keep GCC from turning these loops back into calls to memset/memcpy (themselves). */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

#include <stdint.h>

typedef uintptr_t word_t;
#define WORD_BYTES sizeof(word_t)

static int both_aligned(const void *a, const void *b)
{
    return (((uintptr_t)a | (uintptr_t)b) & (WORD_BYTES - 1)) == 0;
}

void *memcpy(void *destination, const void *source, size_t count)
{
    unsigned char *d = destination;
    const unsigned char *s = source;
    if (both_aligned(d, s)) {
        for (; count >= WORD_BYTES; count -= WORD_BYTES, d += WORD_BYTES, s += WORD_BYTES)
            *(word_t *)d = *(const word_t *)s;
    }
    while (count--)
        *d++ = *s++;
    return destination;
}

void *memmove(void *destination, const void *source, size_t count)
{
    unsigned char *d = destination;
    const unsigned char *s = source;
    if (d == s || count == 0)
        return destination;
    if (d < s || d >= s + count)
        return memcpy(destination, source, count);
    while (count--)
        d[count] = s[count];
    return destination;
}

void *memset(void *destination, int value, size_t count)
{
    unsigned char *d = destination;
    unsigned char byte = (unsigned char)value;
    while (count > 0 && ((uintptr_t)d & (WORD_BYTES - 1))) {
        *d++ = byte;
        count--;
    }
    word_t pattern = byte;
    pattern |= pattern << 8;
    pattern |= pattern << 16;
#if UINTPTR_MAX > 0xffffffffu
    pattern |= pattern << 32;
#endif
    /* Four words per round: zeroing a page is the program break's main cost. */
    word_t *words = (word_t *)d;
    for (; count >= 4 * WORD_BYTES; count -= 4 * WORD_BYTES, words += 4) {
        words[0] = pattern;
        words[1] = pattern;
        words[2] = pattern;
        words[3] = pattern;
    }
    for (; count >= WORD_BYTES; count -= WORD_BYTES)
        *words++ = pattern;
    d = (unsigned char *)words;
    while (count--)
        *d++ = byte;
    return destination;
}

int memcmp(const void *a, const void *b, size_t count)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < count; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *text)
{
    size_t length = 0;
    while (text[length])
        length++;
    return length;
}

size_t strnlen(const char *text, size_t max_length)
{
    size_t length = 0;
    while (length < max_length && text[length])
        length++;
    return length;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (a[i] != b[i] || a[i] == '\0')
            return (unsigned char)a[i] - (unsigned char)b[i];
    }
    return 0;
}

char *strchr(const char *text, int c)
{
    for (;; text++) {
        if (*text == (char)c)
            return (char *)text;
        if (*text == '\0')
            return NULL;
    }
}
