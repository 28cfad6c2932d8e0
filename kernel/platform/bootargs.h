/*
 * kernel/platform/bootargs.h - reading /chosen/bootargs: space-separated key=value words.
 *
 * Example: "mode=test tests=printf,buddy.*". Keys the runtime reads: mode (run, test,
 * bench), tests (a ktest filter), plus whatever later modules document.
 */
#ifndef RVMEM_KERNEL_PLATFORM_BOOTARGS_H
#define RVMEM_KERNEL_PLATFORM_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copies the value of key into value (NUL-terminated, cut to size - 1 bytes).
 * Returns true when the key is present (a bare "key" gives ""), false otherwise
 * (value is then ""). bootargs may be NULL.
 */
bool bootargs_get(const char *bootargs, const char *key, char *value, size_t size);

/*
 * Reads key as a byte count: a decimal number with an optional K, M or G suffix (powers of
 * 1024), e.g. "heap_max=64M". Returns 0 and sets *bytes, -E_NOENT when the key is absent,
 * -E_INVAL when the value is not such a number or overflows 64 bits.
 */
int bootargs_get_bytes(const char *bootargs, const char *key, uint64_t *bytes);

#endif
