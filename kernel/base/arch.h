/*
 * kernel/base/arch.h - the RISC-V code-generation tricks of the runtime, in one place.
 *
 * Each helper here makes the compiler emit an instruction sequence it would not choose by itself,
 * where a `make bench` row is worse without it (tools/bench.py's names); the comment above each
 * says why and which rows. Everything else in the runtime is plain C, and so is each helper's
 * meaning on the host (RVMEM_HOST: x86-64 with GCC or clang), where no figure depends on it.
 * Instructions the code needs for what they do (CSR access, wfi, fences, ecalls, rdinstret) are
 * not tricks: they stay where they are used.
 */
#ifndef RVMEM_KERNEL_BASE_ARCH_H
#define RVMEM_KERNEL_BASE_ARCH_H

#include <stddef.h>
#include <stdint.h>

#if !defined(RVMEM_HOST) && !(defined(__riscv) && defined(__GNUC__) && !defined(__clang__))
#error "the kernel build is GCC for RISC-V: define RVMEM_HOST for any other target"
#endif

/*
 * A function attribute: no frame pointer for this function, against the build's
 * -fno-omit-frame-pointer. A backtrace taken inside one misses it (they call nothing on the way,
 * but for the buddy allocator's root index of a region of more than a word of roots:
 * index_change_levels). Why: fast paths that are leaves in their common case (the rest is a tail
 * call) would spend a large part of their work setting up and tearing down the frame. Rows:
 * heap_* and malloc_* (malloc, free, small_refill, refill_from_central); page_alloc_order0_cached,
 * page_free_order0_cached, page_order0_churn_* (buddy_alloc, buddy_free); page_free_order0_drain,
 * buddy_drain_caches_full_cache (buddy_pool_put); page_alloc_order1_deepest (pool_take_highest);
 * sbrk_16B (sbrk); sbrk_uninit_claims_* (sbrk_uninit, and buddy_range.c's root_store).
 */
#if defined(RVMEM_HOST)
#define ARCH_NO_FRAME_POINTER
#else
#define ARCH_NO_FRAME_POINTER __attribute__((optimize("omit-frame-pointer")))
#endif

/*
 * Unrolls the loop that follows n times.
 * Why: GCC does not unroll buddy.c's refill loops over a batch of pages at -O2, though their count
 * is a constant. Rows: page_alloc_order0_refill, page_alloc_order0_refill_deepest.
 */
#define ARCH_PRAGMA(text) _Pragma(#text)
#if defined(RVMEM_HOST)
#define ARCH_UNROLL(n)
#else
#define ARCH_UNROLL(n) ARCH_PRAGMA(GCC unroll n)
#endif

/*
 * value, hidden from the optimizer: it cannot fold it into the expressions that use it.
 * Why: buddy.c's refill adds a page size per page; as a constant, GCC builds it anew for each
 * unrolled step. Rows: page_alloc_order0_refill, page_alloc_order0_refill_deepest.
 */
static inline uintptr_t arch_opaque(uintptr_t value)
{
#if !defined(RVMEM_HOST)
    __asm__("" : "+r"(value));
#endif
    return value;
}

/*
 * The return address of the frameless function this is inlined into (ARCH_NO_FRAME_POINTER), for
 * misuse reports: ra itself. Exact there, because such a function has called nothing yet and GCC
 * saves ra in the prologue whenever it uses it for anything else (check the disassembly when
 * touching a caller). Why: __builtin_return_address(0) makes GCC save ra on the stack at entry
 * even when only a tail-call branch uses it. Rows: page_free_order0_cached, page_order0_churn_*
 * (buddy_free).
 */
static inline __attribute__((always_inline)) const void *arch_leaf_return_address(void)
{
#if defined(RVMEM_HOST)
    return __builtin_return_address(0);
#else
    const void *address;
    __asm__("mv %0, ra" : "=r"(address));
    return address;
#endif
}

/*
 * tp + offset, as one add the compiler cannot take apart when offset is in a register (a constant
 * offset needs no help). The host has no such register: kernel/base/platform.h finds its per-hart
 * area by a call. Why: given tp + offset + constant, GCC adds the constant to offset first, an add
 * of its own, where tp + offset lets the constant fold into the load's immediate. Rows: heap_* and
 * malloc_* (the per-hart area's fast paths in malloc and free).
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

/*
 * Swaps value into *word with acquire ordering and returns the old word (one amoswap.aq).
 * Why: GCC's __atomic_exchange_n copies value into the result register first. Rows: every one
 * that takes a lock (spin_lock): page_*, sbrk_16B, malloc_*_malloc's maxima (refills).
 */
static inline long arch_swap_acquire(long *word, long value)
{
#if defined(RVMEM_HOST)
    return __atomic_exchange_n(word, value, __ATOMIC_ACQUIRE);
#else
    long previous;
#if __riscv_xlen == 64
    __asm__ volatile("amoswap.d.aq %0, %2, %1" : "=&r"(previous), "+A"(*word) : "r"(value) : "memory");
#else
    __asm__ volatile("amoswap.w.aq %0, %2, %1" : "=&r"(previous), "+A"(*word) : "r"(value) : "memory");
#endif
    return previous;
#endif
}

/*
 * Stores 0 to *word with release ordering (one amoswap.rl).
 * Why: GCC's __atomic_store_n emits a fence and then a store. Rows: those of arch_swap_acquire
 * (spin_unlock).
 */
static inline void arch_store_zero_release(long *word)
{
#if defined(RVMEM_HOST)
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
#elif __riscv_xlen == 64
    __asm__ volatile("amoswap.d.rl zero, zero, %0" : "+A"(*word)::"memory");
#else
    __asm__ volatile("amoswap.w.rl zero, zero, %0" : "+A"(*word)::"memory");
#endif
}

/*
 * Raises *word to value if value is larger, relaxed (one amomaxu).
 * Why: GCC 12 has no atomic maximum; the plain-C meaning is a compare-and-swap loop. Rows:
 * malloc_zstress_malloc, malloc_sweep_*_malloc (malloc's peak, noted on refills).
 */
static inline void arch_atomic_max_relaxed(size_t *word, size_t value)
{
#if defined(RVMEM_HOST)
    size_t seen = __atomic_load_n(word, __ATOMIC_RELAXED);
    while (value > seen && !__atomic_compare_exchange_n(word, &seen, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
#elif __riscv_xlen == 64
    __asm__ volatile("amomaxu.d zero, %1, %0" : "+A"(*word) : "r"(value) : "memory");
#else
    __asm__ volatile("amomaxu.w zero, %1, %0" : "+A"(*word) : "r"(value) : "memory");
#endif
}

/*
 * The index of the lowest set bit of word, which must not be 0 (its count of trailing zeros).
 * Why: RV64IMAC and RV32IMAC have no such instruction (Zbb's ctz), and for __builtin_ctzl GCC
 * calls libgcc's __ctzdi2. Here the lowest bit alone (word & -word) multiplied by a de Bruijn
 * sequence leaves a pattern of its own in the top bits, which a table maps to the index
 * (Leiserson, Prokop and Randall, "Using de Bruijn sequences to index a 1 in a computer word",
 * 1998). On rv64 the multiplier is read from memory beside the table: built in registers, a 64-bit
 * constant takes several instructions. Rows: page_alloc_order0_refill_deepest,
 * page_alloc_order1_deepest, page_alloc_order0_refill_fragmented_deepest and every other row that
 * allocates from the buddy pool (kernel/mm/buddy_index.h finds the highest largest block with it).
 */
static inline unsigned arch_lowest_set_bit(unsigned long word)
{
#if defined(RVMEM_HOST) || defined(__riscv_zbb)
    return (unsigned)__builtin_ctzl(word);
#elif __riscv_xlen == 64
    static const struct {
        unsigned long multiplier;
        unsigned char index[64];
    } de_bruijn = {0x022fdd63cc95386dUL,
                   {0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28, 62, 5,  39, 46, 44, 42,
                    22, 9,  24, 35, 59, 56, 49, 18, 29, 11, 63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21,
                    23, 58, 17, 10, 51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12}};
    const __typeof__(de_bruijn) *table = &de_bruijn;
    __asm__("" : "+r"(table)); /* so that the multiplier is loaded, not built */
    return table->index[((word & -word) * table->multiplier) >> 58];
#else
    static const unsigned char index[32] = {0,  1,  28, 2,  29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4,  8,
                                            31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6,  11, 5,  10, 9};
    return index[((word & -word) * 0x077cb531UL) >> 27];
#endif
}

/*
 * Zeroes the 4 KiB page at page (page aligned): 32 stores of a word per round.
 * Why: memset stores 4 words per round and tests its length and alignment on the way; GCC turns a
 * plain loop of zero stores back into a memset call. Rows: user_heap_first_touch (a page a program
 * touches for the first time, zeroed before it is mapped), process_spawn_exit.
 */
static inline void arch_page_zero(void *page)
{
#if defined(RVMEM_HOST)
    __builtin_memset(page, 0, 4096);
#else
#if __riscv_xlen == 64
#define ARCH_ZERO_STORE(offset) "sd zero, " #offset "*8(%0)\n\t"
#else
#define ARCH_ZERO_STORE(offset) "sw zero, " #offset "*4(%0)\n\t"
#endif
    char *at = page, *end = at + 4096;
    do {
        __asm__ volatile(ARCH_ZERO_STORE(0) ARCH_ZERO_STORE(1) ARCH_ZERO_STORE(2) ARCH_ZERO_STORE(3) ARCH_ZERO_STORE(4)
                             ARCH_ZERO_STORE(5) ARCH_ZERO_STORE(6) ARCH_ZERO_STORE(7) ARCH_ZERO_STORE(8)
                                 ARCH_ZERO_STORE(9) ARCH_ZERO_STORE(10) ARCH_ZERO_STORE(11) ARCH_ZERO_STORE(12)
                                     ARCH_ZERO_STORE(13) ARCH_ZERO_STORE(14) ARCH_ZERO_STORE(15) ARCH_ZERO_STORE(16)
                                         ARCH_ZERO_STORE(17) ARCH_ZERO_STORE(18) ARCH_ZERO_STORE(19) ARCH_ZERO_STORE(20)
                                             ARCH_ZERO_STORE(21) ARCH_ZERO_STORE(22) ARCH_ZERO_STORE(23)
                                                 ARCH_ZERO_STORE(24) ARCH_ZERO_STORE(25) ARCH_ZERO_STORE(26)
                                                     ARCH_ZERO_STORE(27) ARCH_ZERO_STORE(28) ARCH_ZERO_STORE(29)
                                                         ARCH_ZERO_STORE(30) ARCH_ZERO_STORE(31)
                         :
                         : "r"(at)
                         : "memory");
        at += 32 * sizeof(uintptr_t);
    } while (at != end);
#undef ARCH_ZERO_STORE
#endif
}

#endif
