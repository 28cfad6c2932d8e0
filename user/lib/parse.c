/*
 * user/lib/parse.c - numbers from program arguments.
 */
#include "user/lib/runtime.h"

int parse_unsigned(const char *text, uintptr_t *value)
{
    if (!text || !*text)
        return -E_INVAL;
    unsigned base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
        if (!*text)
            return -E_INVAL;
    }
    uintptr_t result = 0;
    for (; *text; text++) {
        unsigned digit;
        if (*text >= '0' && *text <= '9')
            digit = (unsigned)(*text - '0');
        else if (base == 16 && *text >= 'a' && *text <= 'f')
            digit = (unsigned)(*text - 'a' + 10);
        else if (base == 16 && *text >= 'A' && *text <= 'F')
            digit = (unsigned)(*text - 'A' + 10);
        else
            return -E_INVAL;
        if (result > (UINTPTR_MAX - digit) / base)
            return -E_RANGE;
        result = result * base + digit;
    }
    *value = result;
    return 0;
}

uintptr_t number_argument(int argc, char **argv, int index, uintptr_t fallback)
{
    if (index >= argc)
        return fallback;
    uintptr_t value;
    int error = parse_unsigned(argv[index], &value);
    if (error)
        panic("argument %d (\"%s\") is not a number: %s", index, argv[index], error_name(error));
    return value;
}
