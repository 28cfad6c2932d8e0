/*
 * kernel/base/string.h - the C string and memory functions the runtime uses.
 *
 * In the kernel they come from kernel/base/string.c (GCC also emits calls to memcpy,
 * memset and memmove itself); on the host (RVMEM_HOST) they are the C library's.
 * Same contracts as ISO C.
 */
#ifndef RVMEM_KERNEL_BASE_STRING_H
#define RVMEM_KERNEL_BASE_STRING_H

#include <stddef.h>

#ifdef RVMEM_HOST
#include <string.h>
#else
void *memcpy(void *destination, const void *source, size_t count);
void *memmove(void *destination, const void *source, size_t count);
void *memset(void *destination, int value, size_t count);
int memcmp(const void *a, const void *b, size_t count);
size_t strlen(const char *text);
size_t strnlen(const char *text, size_t max_length);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t count);
char *strchr(const char *text, int c);
#endif

#endif
