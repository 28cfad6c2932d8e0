/*
 * kernel/base/printf.c - a small, bounded printf (see printf.h for the formats).
 */
#include "kernel/base/printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/platform.h"

/* Where formatted characters go: a bounded buffer that remembers the would-be length. */
struct sink {
    char *buffer;
    size_t size;
    size_t length;
};

static void sink_put(struct sink *sink, char c)
{
    if (sink->length + 1 < sink->size)
        sink->buffer[sink->length] = c;
    sink->length++;
}

static void sink_repeat(struct sink *sink, char c, int count)
{
    for (int i = 0; i < count; i++)
        sink_put(sink, c);
}

struct spec {
    bool left;
    bool zero;
    bool plus;
    bool space;
    bool alternate;
    int width;
    int precision; /* -1: none */
};

/* Emits a number already converted to digits (most significant first) with sign and prefix. */
static void put_number(struct sink *sink, const struct spec *spec, const char *digits, int digit_count,
                       const char *prefix)
{
    int prefix_length = 0;
    while (prefix[prefix_length])
        prefix_length++;
    int precision_zeros = spec->precision > digit_count ? spec->precision - digit_count : 0;
    /* C: a precision of 0 with the value 0 prints no digits. */
    if (spec->precision == 0 && digit_count == 1 && digits[0] == '0')
        digit_count = 0;
    int body = prefix_length + precision_zeros + digit_count;
    int padding = spec->width > body ? spec->width - body : 0;
    bool zero_pad = spec->zero && !spec->left && spec->precision < 0;

    if (!spec->left && !zero_pad)
        sink_repeat(sink, ' ', padding);
    for (int i = 0; i < prefix_length; i++)
        sink_put(sink, prefix[i]);
    if (zero_pad)
        sink_repeat(sink, '0', padding);
    sink_repeat(sink, '0', precision_zeros);
    for (int i = 0; i < digit_count; i++)
        sink_put(sink, digits[i]);
    if (spec->left)
        sink_repeat(sink, ' ', padding);
}

static void format_unsigned(struct sink *sink, const struct spec *spec, uint64_t value, unsigned base, bool upper,
                            const char *prefix)
{
    const char *alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char reversed[24];
    int count = 0;
    do {
        reversed[count++] = alphabet[value % base];
        value /= base;
    } while (value != 0);
    char digits[24];
    for (int i = 0; i < count; i++)
        digits[i] = reversed[count - 1 - i];
    put_number(sink, spec, digits, count, prefix);
}

static void format_string(struct sink *sink, const struct spec *spec, const char *text)
{
    if (!text)
        text = "(null)";
    int length = 0;
    while (text[length] && (spec->precision < 0 || length < spec->precision))
        length++;
    int padding = spec->width > length ? spec->width - length : 0;
    if (!spec->left)
        sink_repeat(sink, ' ', padding);
    for (int i = 0; i < length; i++)
        sink_put(sink, text[i]);
    if (spec->left)
        sink_repeat(sink, ' ', padding);
}

enum length_modifier { LENGTH_INT, LENGTH_CHAR, LENGTH_SHORT, LENGTH_LONG, LENGTH_LONG_LONG, LENGTH_SIZE };

static const char *parse_length(const char *p, enum length_modifier *length)
{
    *length = LENGTH_INT;
    if (p[0] == 'h' && p[1] == 'h') {
        *length = LENGTH_CHAR;
        return p + 2;
    }
    if (p[0] == 'l' && p[1] == 'l') {
        *length = LENGTH_LONG_LONG;
        return p + 2;
    }
    switch (*p) {
    case 'h': *length = LENGTH_SHORT; return p + 1;
    case 'l': *length = LENGTH_LONG; return p + 1;
    case 'j': *length = LENGTH_LONG_LONG; return p + 1;
    case 'z':
    case 't': *length = LENGTH_SIZE; return p + 1;
    default: return p;
    }
}

static int64_t take_signed(va_list *args, enum length_modifier length)
{
    switch (length) {
    case LENGTH_CHAR: return (signed char)va_arg(*args, int);
    case LENGTH_SHORT: return (short)va_arg(*args, int);
    case LENGTH_LONG: return va_arg(*args, long);
    case LENGTH_LONG_LONG: return va_arg(*args, long long);
    case LENGTH_SIZE: return (int64_t)va_arg(*args, ptrdiff_t);
    default: return va_arg(*args, int);
    }
}

static uint64_t take_unsigned(va_list *args, enum length_modifier length)
{
    switch (length) {
    case LENGTH_CHAR: return (unsigned char)va_arg(*args, unsigned);
    case LENGTH_SHORT: return (unsigned short)va_arg(*args, unsigned);
    case LENGTH_LONG: return va_arg(*args, unsigned long);
    case LENGTH_LONG_LONG: return va_arg(*args, unsigned long long);
    case LENGTH_SIZE: return va_arg(*args, size_t);
    default: return va_arg(*args, unsigned);
    }
}

static const char *parse_number_or_star(const char *p, int *out, va_list *args)
{
    if (*p == '*') {
        *out = va_arg(*args, int);
        return p + 1;
    }
    int value = 0;
    while (*p >= '0' && *p <= '9') {
        if (value < 100000)
            value = value * 10 + (*p - '0');
        p++;
    }
    *out = value;
    return p;
}

/* Formats one conversion starting just after '%'; returns where the format continues. */
static const char *format_one(struct sink *sink, const char *p, va_list *args)
{
    const char *start = p - 1;
    struct spec spec = {.precision = -1};
    for (;; p++) {
        if (*p == '-')
            spec.left = true;
        else if (*p == '0')
            spec.zero = true;
        else if (*p == '+')
            spec.plus = true;
        else if (*p == ' ')
            spec.space = true;
        else if (*p == '#')
            spec.alternate = true;
        else
            break;
    }
    p = parse_number_or_star(p, &spec.width, args);
    if (spec.width < 0) {
        spec.left = true;
        spec.width = -spec.width;
    }
    if (*p == '.')
        p = parse_number_or_star(p + 1, &spec.precision, args);
    enum length_modifier length;
    p = parse_length(p, &length);

    switch (*p) {
    case 'd':
    case 'i': {
        int64_t value = take_signed(args, length);
        uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
        const char *sign = value < 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "";
        format_unsigned(sink, &spec, magnitude, 10, false, sign);
        break;
    }
    case 'u': format_unsigned(sink, &spec, take_unsigned(args, length), 10, false, ""); break;
    case 'o': format_unsigned(sink, &spec, take_unsigned(args, length), 8, false, spec.alternate ? "0" : ""); break;
    case 'x':
    case 'X': {
        uint64_t value = take_unsigned(args, length);
        const char *prefix = spec.alternate && value ? (*p == 'x' ? "0x" : "0X") : "";
        format_unsigned(sink, &spec, value, 16, *p == 'X', prefix);
        break;
    }
    case 'p': format_unsigned(sink, &spec, (uintptr_t)va_arg(*args, void *), 16, false, "0x"); break;
    case 's': format_string(sink, &spec, va_arg(*args, const char *)); break;
    case 'c': {
        char c = (char)va_arg(*args, int);
        struct spec character = spec;
        character.precision = -1;
        char text[2] = {c, 0};
        if (c == 0) {
            sink_repeat(sink, ' ', spec.left ? 0 : spec.width - 1);
            sink_put(sink, 0);
            sink_repeat(sink, ' ', spec.left ? spec.width - 1 : 0);
        } else {
            format_string(sink, &character, text);
        }
        break;
    }
    case '%': sink_put(sink, '%'); break;
    default:
        /* Unknown or truncated conversion: print it as written, consume no argument. */
        for (const char *q = start; q < p; q++)
            sink_put(sink, *q);
        if (*p == '\0')
            return p;
        sink_put(sink, *p);
        break;
    }
    return p + 1;
}

int kvsnprintf(char *buffer, size_t size, const char *format, va_list args)
{
    struct sink sink = {buffer, size, 0};
    va_list local;
    va_copy(local, args);
    const char *p = format;
    while (*p) {
        if (*p != '%') {
            sink_put(&sink, *p++);
            continue;
        }
        p = format_one(&sink, p + 1, &local);
    }
    va_end(local);
    if (size > 0)
        buffer[sink.length < size ? sink.length : size - 1] = '\0';
    return (int)sink.length;
}

int ksnprintf(char *buffer, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = kvsnprintf(buffer, size, format, args);
    va_end(args);
    return length;
}

int kvprintf(const char *format, va_list args)
{
    char line[256];
    int length = kvsnprintf(line, sizeof line, format, args);
    if (length < (int)sizeof line) {
        console_write(line, (size_t)length);
        return length;
    }
    /* Longer than the line buffer: print what fits and mark the cut. */
    console_write(line, sizeof line - 1);
    console_write("...\n", 4);
    return length;
}

int kprintf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = kvprintf(format, args);
    va_end(args);
    return length;
}
