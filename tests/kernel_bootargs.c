/*
 * tests/kernel_bootargs.c - key=value lookup in the kernel command line.
 * Builds: kernel, host
 */
#include "kernel/bootargs.h"
#include "tests/ktest.h"

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
