/*
 * tests/base/printf.c - the formats of kernel/base/printf.c.
 */
#include <stdarg.h>

#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"

#define EXPECT_FORMAT(expected, ...)                                                                                   \
    do {                                                                                                               \
        char buffer_[96];                                                                                              \
        int length_ = ksnprintf(buffer_, sizeof buffer_, __VA_ARGS__);                                                 \
        KASSERT_STR_EQ(buffer_, expected);                                                                             \
        KASSERT_EQ(length_, (int)strlen(expected));                                                                    \
    } while (0)

/* Formats without the compiler's format checks, to test what printf does with bad formats. */
static int format_unchecked(char *buffer, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = kvsnprintf(buffer, size, format, args);
    va_end(args);
    return length;
}

KTEST(printf, signed_decimal)
{
    EXPECT_FORMAT("42", "%d", 42);
    EXPECT_FORMAT("-42", "%i", -42);
    EXPECT_FORMAT("-2147483648", "%d", (int)(-2147483647 - 1));
    EXPECT_FORMAT("-9223372036854775808", "%lld", (long long)(-9223372036854775807LL - 1));
    EXPECT_FORMAT("+7", "%+d", 7);
    EXPECT_FORMAT(" 7", "% d", 7);
    EXPECT_FORMAT("-1", "%ld", -1L);
}

KTEST(printf, unsigned_and_hex)
{
    EXPECT_FORMAT("4294967295", "%u", 4294967295u);
    EXPECT_FORMAT("deadbeef", "%x", 0xdeadbeefu);
    EXPECT_FORMAT("DEADBEEF", "%X", 0xdeadbeefu);
    EXPECT_FORMAT("ffffffffffffffff", "%llx", ~0ULL);
    EXPECT_FORMAT("0x1f", "%#x", 31u);
    EXPECT_FORMAT("17", "%o", 15u);
    EXPECT_FORMAT("123456789", "%zu", (size_t)123456789);
    EXPECT_FORMAT("ff", "%hhx", 0x1ffu);
}

KTEST(printf, pointer)
{
    EXPECT_FORMAT("0x1000", "%p", (void *)0x1000);
    EXPECT_FORMAT("0x0", "%p", (void *)0);
}

KTEST(printf, width_padding_and_justification)
{
    EXPECT_FORMAT("   42", "%5d", 42);
    EXPECT_FORMAT("00042", "%05d", 42);
    EXPECT_FORMAT("-0042", "%05d", -42);
    EXPECT_FORMAT("42   |", "%-5d|", 42);
    EXPECT_FORMAT("0000beef", "%08x", 0xbeefu);
    EXPECT_FORMAT("  abc", "%5s", "abc");
    EXPECT_FORMAT("abc  |", "%-5s|", "abc");
    EXPECT_FORMAT("   42", "%*d", 5, 42);
    EXPECT_FORMAT("ab", "%.2s", "abcdef");
    EXPECT_FORMAT("007", "%.3d", 7);
}

KTEST(printf, strings_chars_and_percent)
{
    EXPECT_FORMAT("hello, world", "%s, %s", "hello", "world");
    const char *volatile no_string = NULL;
    EXPECT_FORMAT("(null)", "%s", no_string);
    EXPECT_FORMAT("x", "%c", 'x');
    EXPECT_FORMAT("100%", "%d%%", 100);
}

KTEST(printf, unknown_conversion_printed_literally)
{
    char buffer[16];
    KASSERT_EQ(format_unchecked(buffer, sizeof buffer, "%y %d", 5), 4);
    KASSERT_STR_EQ(buffer, "%y 5");
    KASSERT_EQ(format_unchecked(buffer, sizeof buffer, "end%"), 4);
    KASSERT_STR_EQ(buffer, "end%");
}

KTEST(printf, truncation_reports_full_length)
{
    char buffer[8];
    int length = ksnprintf(buffer, sizeof buffer, "%s", "0123456789");
    KASSERT_EQ(length, 10);
    KASSERT_STR_EQ(buffer, "0123456");
    KASSERT_EQ(ksnprintf(NULL, 0, "%d", 12345), 5);
}
