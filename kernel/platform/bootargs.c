/*
 * kernel/platform/bootargs.c - key=value lookup in the kernel command line.
 */
#include "kernel/platform/bootargs.h"

#include <stdbool.h>

#include "kernel/base/errors.h"
#include "kernel/base/string.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

int bootargs_find(const char *bootargs, const char *key, const char **value)
{
    *value = NULL;
    if (bootargs == NULL)
        return -E_NOENT;
    size_t key_length = strlen(key);
    const char *word = bootargs;
    while (*word) {
        while (is_space(*word))
            word++;
        const char *end = word;
        while (*end && !is_space(*end))
            end++;
        if ((size_t)(end - word) >= key_length && strncmp(word, key, key_length) == 0 &&
            (word + key_length == end || word[key_length] == '=')) {
            const char *start = word + key_length + (word + key_length < end ? 1 : 0);
            *value = start;
            return (int)(end - start);
        }
        word = end;
    }
    return -E_NOENT;
}

int bootargs_get(const char *bootargs, const char *key, char *value, size_t size)
{
    if (size > 0)
        value[0] = '\0';
    const char *start;
    int length = bootargs_find(bootargs, key, &start);
    if (length < 0)
        return length;
    if ((size_t)length >= size)
        return -E_RANGE;
    memcpy(value, start, (size_t)length);
    value[length] = '\0';
    return length;
}

int bootargs_get_bytes(const char *bootargs, const char *key, uint64_t *bytes)
{
    const char *p;
    int length = bootargs_find(bootargs, key, &p);
    if (length < 0)
        return length;
    const char *end = p + length;
    uint64_t number = 0;
    if (p == end || *p < '0' || *p > '9')
        return -E_INVAL;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (number > (UINT64_MAX - 9) / 10)
            return -E_INVAL;
        number = number * 10 + (uint64_t)(*p - '0');
    }
    unsigned shift = 0;
    if (p < end) {
        switch (*p) {
        case 'K':
        case 'k': shift = 10; break;
        case 'M':
        case 'm': shift = 20; break;
        case 'G':
        case 'g': shift = 30; break;
        default: return -E_INVAL;
        }
        p++;
    }
    if (p != end || (shift && number > (UINT64_MAX >> shift)))
        return -E_INVAL;
    *bytes = number << shift;
    return 0;
}
