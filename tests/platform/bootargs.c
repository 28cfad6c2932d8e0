/*
 * tests/platform/bootargs.c - key=value lookup in the kernel command line.
 */
#include "kernel/platform/bootargs.h"
#include "kernel/base/errors.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"

KTEST(bootargs, finds_keys_anywhere)
{
    char value[32];
    KASSERT_EQ(bootargs_get("mode=test tests=printf,buddy.*", "mode", value, sizeof value), 4);
    KASSERT_STR_EQ(value, "test");
    KASSERT_EQ(bootargs_get("mode=test tests=printf,buddy.*", "tests", value, sizeof value), 14);
    KASSERT_STR_EQ(value, "printf,buddy.*");
    KASSERT_EQ(bootargs_get("  quiet   mode=bench  ", "quiet", value, sizeof value), 0);
    KASSERT_STR_EQ(value, "");
    const char *found;
    KASSERT_EQ(bootargs_find("a=1 mode=tour\tb=2", "mode", &found), 4);
    KASSERT_EQ(strncmp(found, "tour", 4), 0);
}

KTEST(bootargs, absent_keys_and_prefixes)
{
    char value[32] = "junk";
    KASSERT_EQ(bootargs_get("modes=x mode2=y", "mode", value, sizeof value), -E_NOENT);
    KASSERT_STR_EQ(value, "");
    KASSERT_EQ(bootargs_get(NULL, "mode", value, sizeof value), -E_NOENT);
    KASSERT_EQ(bootargs_get("", "mode", value, sizeof value), -E_NOENT);
    const char *found = "junk";
    KASSERT_EQ(bootargs_find("modes=x", "mode", &found), -E_NOENT);
    KASSERT_NULL(found);
}

/* A value that does not fit is an error, never a shorter value (a cut filter selects other tests). */
KTEST(bootargs, value_too_long_for_the_buffer_is_an_error)
{
    char value[4] = "xyz";
    KASSERT_EQ(bootargs_get("tests=abcdefgh", "tests", value, sizeof value), -E_RANGE);
    KASSERT_STR_EQ(value, "");
    KASSERT_EQ(bootargs_get("tests=abcd", "tests", value, sizeof value), -E_RANGE);
    KASSERT_EQ(bootargs_get("tests=abc", "tests", value, sizeof value), 3);
    KASSERT_STR_EQ(value, "abc");
}

/* Bootargs of any length: keys past byte 255 are found, values past it read whole. */
KTEST(bootargs, long_bootargs_are_read_whole)
{
    static char bootargs[600];
    size_t length = (size_t)ksnprintf(bootargs, sizeof bootargs, "note=");
    while (length < 300)
        bootargs[length++] = 'x';
    ksnprintf(bootargs + length, sizeof bootargs - length, " mode=test heap_max=%0100dM tests=printf", 64);
    char value[16];
    KASSERT_EQ(bootargs_get(bootargs, "mode", value, sizeof value), 4);
    KASSERT_STR_EQ(value, "test");
    KASSERT_EQ(bootargs_get(bootargs, "tests", value, sizeof value), 6);
    KASSERT_STR_EQ(value, "printf");
    uint64_t bytes = 0;
    KASSERT_EQ(bootargs_get_bytes(bootargs, "heap_max", &bytes), 0); /* 100 digits, read whole */
    KASSERT_EQ(bytes, 64ULL << 20);
    KASSERT_EQ(bootargs_get(bootargs, "note", value, sizeof value), -E_RANGE);
}

KTEST(bootargs, byte_counts_with_suffixes)
{
    uint64_t bytes = 0;
    KASSERT_EQ(bootargs_get_bytes("heap_max=64M", "heap_max", &bytes), 0);
    KASSERT_EQ(bytes, 64ULL << 20);
    KASSERT_EQ(bootargs_get_bytes("a=1 heap_max=4096", "heap_max", &bytes), 0);
    KASSERT_EQ(bytes, 4096ULL);
    KASSERT_EQ(bootargs_get_bytes("heap_max=2g", "heap_max", &bytes), 0);
    KASSERT_EQ(bytes, 2ULL << 30);
    KASSERT_EQ(bootargs_get_bytes("x=1", "heap_max", &bytes), -E_NOENT);
    KASSERT_EQ(bootargs_get_bytes("heap_max=", "heap_max", &bytes), -E_INVAL);
    KASSERT_EQ(bootargs_get_bytes("heap_max=12Q", "heap_max", &bytes), -E_INVAL);
    KASSERT_EQ(bootargs_get_bytes("heap_max=1MB", "heap_max", &bytes), -E_INVAL);
    KASSERT_EQ(bootargs_get_bytes("heap_max=99999999999999999999", "heap_max", &bytes), -E_INVAL);
    KASSERT_EQ(bootargs_get_bytes("heap_max=17179869184G", "heap_max", &bytes), -E_INVAL);
    KASSERT_EQ(bootargs_get_bytes("heap_max=64M tests=x", "heap_max", &bytes), 0);
    KASSERT_EQ(bytes, 64ULL << 20);
    KASSERT_EQ(bootargs_get_bytes("heap_max", "heap_max", &bytes), -E_INVAL);
}
