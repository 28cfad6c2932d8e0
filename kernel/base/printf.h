/*
 * kernel/base/printf.h - formatted output for kernel and portable code.
 *
 * Formats: %d %i %u %x %X %o %p %s %c %% with the length modifiers hh h l ll z t j,
 * the flags '-' (left-justify), '0' (zero padding), '+', ' ', '#', a field width and a
 * precision, each also as '*'. %p prints 0x followed by the address in hex. %s of NULL prints "(null)".
 * Unknown conversions are printed literally, so a bad format never reads a wild argument.
 * Portable: builds for the host too; output goes through console_write (kernel/base/platform.h).
 */
#ifndef RVMEM_KERNEL_BASE_PRINTF_H
#define RVMEM_KERNEL_BASE_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formats into buffer (at most size bytes, always NUL-terminated when size > 0).
 * Returns the length the full output would have had, like C's vsnprintf.
 */
int kvsnprintf(char *buffer, size_t size, const char *format, va_list args);
__attribute__((format(printf, 3, 4))) int ksnprintf(char *buffer, size_t size, const char *format, ...);

/*
 * Prints to the console with a single console_write, so lines from different harts
 * do not interleave mid-line. Output longer than 255 bytes is cut and ends with "...".
 * Returns the length the full output would have had.
 */
__attribute__((format(printf, 1, 2))) int kprintf(const char *format, ...);
int kvprintf(const char *format, va_list args);

#endif
