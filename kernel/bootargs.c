/*
 * kernel/bootargs.c - key=value lookup in the kernel command line.
 * Builds: kernel, host
 */
#include "kernel/bootargs.h"

#include "kernel/string.h"

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
