/*
 * tests/proc/user_stack.c - the entry block (kernel/proc/user_stack.c) as crt0 reads it.
 *
 * The block is built into a page-sized buffer standing for the stack's top page and read back
 * the way user/lib/start.c reads it at the user addresses: argc, argv, NULL, the seed, the strings.
 */
#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/proc/user_stack.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

static struct ktest_arena space = KTEST_ARENA(PAGE_SIZE, PAGE_SIZE);

_Static_assert(USER_ARGUMENTS_MAX * 1 <= USER_ARGUMENT_BYTES_MAX, "every argument can have its NUL");

/* Word index of the block at block. */
static unsigned long word_at(const uint8_t *block, size_t index)
{
    unsigned long word;
    memcpy(&word, block + index * sizeof word, sizeof word);
    return word;
}

KTEST(user_stack, the_block_is_what_crt0_reads)
{
    uint8_t *page = ktest_arena_memory(&space);
    KASSERT_NOT_NULL(page);
    memset(page, 0xa5, PAGE_SIZE);
    const char *const argv[] = {"hello", "a", "", "bc"};
    size_t used = 0;
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, argv, 4, 0x1234, &used), 0);
    KASSERT_EQ(used % 16, 0u);
    KASSERT_EQ(used, user_entry_bytes(4, 6 + 2 + 1 + 3));
    uintptr_t sp = USER_STACK_TOP - used;
    const uint8_t *block = page + PAGE_SIZE - used;
    KASSERT_EQ(word_at(block, USER_ENTRY_ARGC_WORD), 4u);
    for (size_t i = 0; i < 4; i++) {
        unsigned long pointer = word_at(block, USER_ENTRY_ARGV_WORD + i);
        KASSERT(pointer >= sp && pointer < USER_STACK_TOP);
        KASSERT_STR_EQ((const char *)block + (pointer - sp), argv[i]);
    }
    KASSERT_EQ(word_at(block, USER_ENTRY_ARGV_WORD + 4), 0u);
    KASSERT_EQ(word_at(block, USER_ENTRY_SEED_WORD(4)), 0x1234u);
    /* Nothing written below the block. */
    for (size_t i = 0; i < PAGE_SIZE - used; i++)
        KASSERT_EQ(page[i], 0xa5);
}

KTEST(user_stack, the_largest_block_fits_the_top_page)
{
    KASSERT_LE(user_entry_bytes(USER_ARGUMENTS_MAX, USER_ARGUMENT_BYTES_MAX), PAGE_SIZE);
    uint8_t *page = ktest_arena_memory(&space);
    KASSERT_NOT_NULL(page);
    /* USER_ARGUMENTS_MAX strings of 63 bytes and their NULs: exactly USER_ARGUMENT_BYTES_MAX. */
    static char text[USER_ARGUMENT_BYTES_MAX / USER_ARGUMENTS_MAX];
    static char longer[sizeof text + 1];
    memset(text, 'x', sizeof text - 1);
    memset(longer, 'z', sizeof longer - 1);
    const char *argv[USER_ARGUMENTS_MAX + 1];
    for (unsigned i = 0; i <= USER_ARGUMENTS_MAX; i++)
        argv[i] = text;
    size_t used = 0;
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, argv, USER_ARGUMENTS_MAX, 0, &used), 0);
    KASSERT_EQ(used, user_entry_bytes(USER_ARGUMENTS_MAX, USER_ARGUMENT_BYTES_MAX));
    KASSERT_EQ(word_at(page + PAGE_SIZE - used, USER_ENTRY_ARGC_WORD), (unsigned long)USER_ARGUMENTS_MAX);
    /* One argument more, or one byte more, is too big. */
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, argv, USER_ARGUMENTS_MAX + 1, 0, &used), -E_2BIG);
    argv[USER_ARGUMENTS_MAX - 1] = longer;
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, argv, USER_ARGUMENTS_MAX, 0, &used), -E_2BIG);
}

KTEST(user_stack, limits_and_bad_arguments)
{
    uint8_t *page = ktest_arena_memory(&space);
    KASSERT_NOT_NULL(page);
    const char *const argv[] = {"hello", "a"};
    size_t used = 7;
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, argv, 0, 0, &used), -E_2BIG);
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP - 8, argv, 2, 0, &used), -E_INVAL);
    memset(page, 0x5a, PAGE_SIZE);
    /* One byte short of what "hello", "a" need (their words and strings; the size differs on rv32). */
    size_t short_capacity = user_entry_bytes(2, sizeof "hello" + sizeof "a") - 1;
    KASSERT_EQ(user_entry_build(page, short_capacity, USER_STACK_TOP, argv, 2, 0, &used), -E_2BIG);
    KASSERT_EQ(used, 7u);
    for (size_t i = 0; i < PAGE_SIZE; i++)
        KASSERT_EQ(page[i], 0x5a); /* nothing written when it does not fit */
    static char too_long[USER_ARGUMENT_BYTES_MAX + 1];
    memset(too_long, 'y', USER_ARGUMENT_BYTES_MAX);
    const char *const long_argv[] = {too_long};
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, long_argv, 1, 0, &used), -E_2BIG);
    too_long[USER_ARGUMENT_BYTES_MAX - 1] = 0; /* with its NUL, exactly the limit */
    KASSERT_EQ(user_entry_build(page, PAGE_SIZE, USER_STACK_TOP, long_argv, 1, 0, &used), 0);
}
