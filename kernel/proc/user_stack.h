/*
 * kernel/proc/user_stack.h - the entry block: what a program finds on its stack when it starts.
 *
 * The layout is the ABI's (kernel/base/user_abi.h, docs/USER.md): argc, the argv pointers, a
 * NULL, the canary seed, then the strings, at the top of the stack. user_entry_build writes it
 * into a buffer the kernel holds (the stack's top page, before it is mapped for the program),
 * with the pointers the program will see at its own addresses. It allocates nothing; the same
 * source builds for the host, where it is tested against the layout crt0 reads
 * (user/lib/start.c).
 */
#ifndef RVMEM_KERNEL_PROC_USER_STACK_H
#define RVMEM_KERNEL_PROC_USER_STACK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the entry block for the argc strings of argv (argv[0] the program's name) and seed into
 * the last bytes of buffer (capacity bytes), which the program will see just below user address
 * top (16-byte aligned): buffer + capacity is top. Sets *used to the block's bytes, so the
 * program's sp is top - *used. Returns 0; -E_2BIG (buffer untouched) when argc is 0 or above
 * USER_ARGUMENTS_MAX, the strings' bytes exceed USER_ARGUMENT_BYTES_MAX, or the block does not
 * fit in capacity; -E_INVAL when top is not 16-byte aligned. O(bytes of the strings).
 */
int user_entry_build(uint8_t *buffer, size_t capacity, uintptr_t top, const char *const *argv, size_t argc,
                     uintptr_t seed, size_t *used);

#endif
