/*
 * tests/base/string.c - the kernel's own memset, memcpy, memmove and friends (kernel/base/string.c).
 *
 * On the host these exercise the C library's versions: the same contracts.
 */
#include <stdint.h>

#include "kernel/base/string.h"
#include "tests/harness/ktest.h"

static unsigned char buffer[256];
static unsigned char copy[256];

KTEST(string, memset_every_alignment_and_length)
{
    for (unsigned offset = 0; offset < 16; offset++) {
        for (unsigned length = 0; length < 100; length += 7) {
            for (unsigned i = 0; i < sizeof buffer; i++)
                buffer[i] = 0xaa;
            memset(buffer + offset, 0x5c, length);
            for (unsigned i = 0; i < sizeof buffer; i++) {
                unsigned char expected = (i >= offset && i < offset + length) ? 0x5c : 0xaa;
                KASSERT_EQ(buffer[i], expected);
            }
        }
    }
}

KTEST(string, memcpy_and_memmove_every_alignment)
{
    for (unsigned i = 0; i < sizeof buffer; i++)
        buffer[i] = (unsigned char)(i * 7 + 1);
    for (unsigned source = 0; source < 9; source++) {
        for (unsigned destination = 0; destination < 9; destination++) {
            memset(copy, 0, sizeof copy);
            memcpy(copy + destination, buffer + source, 100);
            KASSERT_EQ(memcmp(copy + destination, buffer + source, 100), 0);
            KASSERT_EQ(copy[destination + 100], 0);
        }
    }
    /* Overlapping moves in both directions. */
    for (unsigned i = 0; i < sizeof buffer; i++)
        buffer[i] = (unsigned char)i;
    memmove(buffer + 3, buffer, 50);
    for (unsigned i = 0; i < 50; i++)
        KASSERT_EQ(buffer[i + 3], i);
    for (unsigned i = 0; i < sizeof buffer; i++)
        buffer[i] = (unsigned char)i;
    memmove(buffer, buffer + 5, 50);
    for (unsigned i = 0; i < 50; i++)
        KASSERT_EQ(buffer[i], i + 5);
}

/* Strings the compiler cannot see through, so the calls below really run. */
static const char *volatile abc = "abc", *volatile abc_again = "abc", *volatile abd = "abd", *volatile b = "b";
static const char *volatile abcx = "abcx", *volatile abcy = "abcy";

KTEST(string, comparisons_and_search)
{
    KASSERT_EQ(strlen(""), 0u);
    KASSERT_EQ(strlen("rvmem"), 5u);
    KASSERT_EQ(strnlen("rvmem", 3), 3u);
    KASSERT_EQ(strcmp(abc, abc_again), 0);
    KASSERT_LT(strcmp(abc, abd), 0);
    KASSERT_GT(strcmp(b, abc), 0);
    KASSERT_EQ(strncmp(abcx, abcy, 3), 0);
    KASSERT_NE(strncmp(abcx, abcy, 4), 0);
    const char *text = "key=value";
    KASSERT_PTR_EQ(strchr(text, '='), text + 3);
    KASSERT_NULL(strchr(text, '#'));
    KASSERT_PTR_EQ(strchr(text, '\0'), text + 9);
    KASSERT_GT(memcmp(abd + 2, abc + 2, 1), 0);
}
