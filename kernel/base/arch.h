/*
 * kernel/base/arch.h - the RISC-V code-generation tricks of the runtime, in one place.
 *
 * Each helper here makes the compiler emit an instruction sequence it would not choose by itself,
 * where a `make bench` budget needs the difference; the line above each says which. Everything
 * else in the runtime is plain C. On the host (RVMEM_HOST) each helper is its plain-C meaning.
 */
#ifndef RVMEM_KERNEL_BASE_ARCH_H
#define RVMEM_KERNEL_BASE_ARCH_H

#include <stdint.h>

/*
 * tp + offset as one add the compiler cannot take apart, so a constant added afterwards folds into
 * the load's immediate (given tp + offset + constant, GCC adds the constant to offset first: one
 * instruction more). Used by the per-hart area's fast paths (malloc_*_malloc, malloc_*_free).
 */
#if !defined(RVMEM_HOST)
static inline char *arch_thread_pointer_plus(uintptr_t offset)
{
    if (__builtin_constant_p(offset))
        return (char *)__builtin_thread_pointer() + offset;
    char *address;
    __asm__("add %0, tp, %1" : "=r"(address) : "r"(offset));
    return address;
}
#endif

#endif
