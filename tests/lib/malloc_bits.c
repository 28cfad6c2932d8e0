/*
 * tests/lib/malloc_bits.c - the allocator's bit scans (lib/malloc/malloc_internal.h) against a plain loop:
 * the kernel's de Bruijn lookup and the host's builtins must agree for every bit position and
 * for values with many bits set.
 */
#include "lib/malloc/malloc_internal.h"
#include "tests/harness/ktest.h"

static unsigned highest_bit_by_loop(uint64_t value)
{
    unsigned bit = 0;
    while (value >>= 1)
        bit++;
    return bit;
}

KTEST(malloc_bits, highest_and_lowest_bit_agree_with_a_loop)
{
    for (unsigned bit = 0; bit < 64; bit++) {
        uint64_t single = (uint64_t)1 << bit;
        KASSERT_EQ(malloc_highest_bit(single), bit);
        KASSERT_EQ(malloc_lowest_bit(single), bit);
        KASSERT_EQ(malloc_highest_bit(single | (single - 1)), bit); /* every bit below set too */
        KASSERT_EQ(malloc_lowest_bit(~(uint64_t)0 << bit), bit);
    }
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < 4096; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        uint64_t value = state >> (state % 64);
        if (!value)
            continue;
        KASSERT_EQ(malloc_highest_bit(value), highest_bit_by_loop(value));
        KASSERT_EQ(malloc_lowest_bit(value), highest_bit_by_loop(value & -value));
    }
}
