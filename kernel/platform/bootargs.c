/*
 * kernel/platform/bootargs.c - key=value lookup in the kernel command line.
 */
#include "kernel/platform/bootargs.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

bool bootargs_get(const char *bootargs, const char *key, char *value, size_t size)
{
    if (size > 0)
        value[0] = '\0';
    if (bootargs == NULL)
        return false;
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
            size_t length = (size_t)(end - start);
            if (size > 0) {
                if (length > size - 1)
                    length = size - 1;
                memcpy(value, start, length);
                value[length] = '\0';
            }
            return true;
        }
        word = end;
    }
    return false;
}

int bootargs_get_bytes(const char *bootargs, const char *key, uint64_t *bytes)
{
    char value[32];
    if (!bootargs_get(bootargs, key, value, sizeof value))
        return -E_NOENT;
    uint64_t number = 0;
    const char *p = value;
    if (*p < '0' || *p > '9')
        return -E_INVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (number > (UINT64_MAX - 9) / 10)
            return -E_INVAL;
        number = number * 10 + (uint64_t)(*p - '0');
    }
    unsigned shift = 0;
    switch (*p) {
    case '\0': break;
    case 'K':
    case 'k':
        shift = 10;
        p++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        p++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        p++;
        break;
    default: return -E_INVAL;
    }
    if (*p != '\0' || (shift && number > (UINT64_MAX >> shift)))
        return -E_INVAL;
    *bytes = number << shift;
    return 0;
}
