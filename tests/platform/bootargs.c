/*
 * tests/platform/bootargs.c - key=value lookup in the kernel command line.
 */
#include "kernel/platform/bootargs.h"
#include "kernel/base/errors.h"
#include "tests/harness/ktest.h"

KTEST(bootargs, finds_keys_anywhere)
{
    char value[32];
    KASSERT(bootargs_get("mode=test tests=printf,buddy.*", "mode", value, sizeof value));
    KASSERT_STR_EQ(value, "test");
    KASSERT(bootargs_get("mode=test tests=printf,buddy.*", "tests", value, sizeof value));
    KASSERT_STR_EQ(value, "printf,buddy.*");
    KASSERT(bootargs_get("  quiet   mode=bench  ", "quiet", value, sizeof value));
    KASSERT_STR_EQ(value, "");
}

KTEST(bootargs, absent_keys_and_prefixes)
{
    char value[32] = "junk";
    KASSERT(!bootargs_get("modes=x mode2=y", "mode", value, sizeof value));
    KASSERT_STR_EQ(value, "");
    KASSERT(!bootargs_get(NULL, "mode", value, sizeof value));
    KASSERT(!bootargs_get("", "mode", value, sizeof value));
}

KTEST(bootargs, value_is_cut_to_the_buffer)
{
    char value[4];
    KASSERT(bootargs_get("tests=abcdefgh", "tests", value, sizeof value));
    KASSERT_STR_EQ(value, "abc");
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
}
