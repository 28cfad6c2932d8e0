/*
 * kernel/platform/bootargs.h - reading /chosen/bootargs: space-separated key=value words.
 *
 * Example: "mode=test tests=printf,buddy.*". Keys the runtime reads: mode (run, tour, test,
 * bench), tests and benches (filters), heap_max (a byte count), plus whatever later modules
 * document. The bootargs may be of any length; nothing here cuts a value: a value that does not
 * fit the caller's buffer is an error.
 */
#ifndef RVMEM_KERNEL_PLATFORM_BOOTARGS_H
#define RVMEM_KERNEL_PLATFORM_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Finds key: sets *value to the start of its value inside bootargs (not NUL-terminated: it ends
 * at the next space, tab, newline or the end) and returns its length in bytes (0 for a bare
 * "key" or "key="). -E_NOENT when the key is absent (*value is then NULL). bootargs may be NULL.
 * The first word with the key counts. O(length of bootargs).
 */
int bootargs_find(const char *bootargs, const char *key, const char **value);

/* True when key is present, with a value or bare ("icount"). bootargs may be NULL. */
static inline bool bootargs_has(const char *bootargs, const char *key)
{
    const char *value;
    return bootargs_find(bootargs, key, &value) >= 0;
}

/*
 * Copies the value of key into value, NUL-terminated, and returns its length. -E_NOENT when the
 * key is absent, -E_RANGE when the value needs more than size bytes with its NUL (never cut);
 * on either error value is "" (when size > 0). bootargs may be NULL.
 */
int bootargs_get(const char *bootargs, const char *key, char *value, size_t size);

/*
 * Reads key as a byte count: a decimal number with an optional K, M or G suffix (powers of
 * 1024), e.g. "heap_max=64M". Returns 0 and sets *bytes, -E_NOENT when the key is absent,
 * -E_INVAL when the value is not such a number or overflows 64 bits (a value of any length is
 * read whole).
 */
int bootargs_get_bytes(const char *bootargs, const char *key, uint64_t *bytes);

#endif
