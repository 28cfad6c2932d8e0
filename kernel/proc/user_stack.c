/*
 * kernel/proc/user_stack.c - builds the entry block (see user_stack.h).
 */
#include "kernel/proc/user_stack.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"

/* Stores word at word index index of the block that starts at block (any alignment). */
static void put_word(uint8_t *block, size_t index, unsigned long word)
{
    memcpy(block + index * sizeof word, &word, sizeof word);
}

int user_entry_build(uint8_t *buffer, size_t capacity, uintptr_t top, const char *const *argv, size_t argc,
                     uintptr_t seed, size_t *used)
{
    if ((top & 15) != 0)
        return -E_INVAL;
    if (argc == 0 || argc > USER_ARGUMENTS_MAX)
        return -E_2BIG;
    size_t string_bytes = 0;
    for (size_t i = 0; i < argc; i++) {
        /* strnlen stops at the limit: an argument longer than all of them together is not read to its end. */
        size_t length = strnlen(argv[i], USER_ARGUMENT_BYTES_MAX);
        string_bytes += length + 1;
        if (string_bytes > USER_ARGUMENT_BYTES_MAX)
            return -E_2BIG;
    }
    size_t bytes = user_entry_bytes(argc, string_bytes);
    if (bytes > capacity)
        return -E_2BIG;

    uint8_t *block = buffer + capacity - bytes;
    uintptr_t block_address = top - bytes;
    size_t strings = (argc + 3) * sizeof(unsigned long); /* the strings follow the words */
    memset(block, 0, bytes);
    put_word(block, USER_ENTRY_ARGC_WORD, argc);
    for (size_t i = 0; i < argc; i++) {
        size_t length = strlen(argv[i]) + 1;
        memcpy(block + strings, argv[i], length);
        put_word(block, USER_ENTRY_ARGV_WORD + i, block_address + strings);
        strings += length;
    }
    put_word(block, USER_ENTRY_ARGV_WORD + argc, 0);
    put_word(block, USER_ENTRY_SEED_WORD(argc), seed);
    *used = bytes;
    return 0;
}
