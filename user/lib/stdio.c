/*
 * user/lib/stdio.c - printf, snprintf and puts for user programs, on kernel/base/printf.c.
 */
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "user/lib/runtime.h"

int printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = kvprintf(format, args);
    va_end(args);
    return length;
}

int snprintf(char *buffer, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = kvsnprintf(buffer, size, format, args);
    va_end(args);
    return length;
}

int puts(const char *text)
{
    long written = sys_write(USER_STDOUT, text, strlen(text));
    if (written >= 0)
        written = sys_write(USER_STDOUT, "\n", 1);
    return written < 0 ? (int)written : 0;
}
