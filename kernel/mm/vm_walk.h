/*
 * kernel/mm/vm_walk.h - the page-table entry format, each mode's geometry and vm_translate, all
 * inline: vm.h includes this file at its end, so that a translation costs no call (the
 * vm_translate budget of `make bench` needs it: tests/bench/vm.c). Not an interface of its own:
 * include vm.h.
 *
 * The mode is a run-time field on the host, which tests both; a kernel build knows its hart's
 * mode at compile time (vm_sv32 is a constant there), so its walks carry no mode test.
 */
#ifndef RVMEM_KERNEL_MM_VM_WALK_H
#define RVMEM_KERNEL_MM_VM_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/errors.h"

/* A page-table entry as the core handles it: wide enough for Sv39 wherever Sv39 can run. */
#if defined(RVMEM_HOST) || __riscv_xlen == 64
typedef uint64_t vm_pte;
#else
typedef uint32_t vm_pte;
#endif

/* PTE bits below the PPN, the same in Sv32 and Sv39. */
#define VM_PTE_VALID 0x001u
#define VM_PTE_ACCESSED 0x040u
#define VM_PTE_DIRTY 0x080u
#define VM_PTE_RSW 0x300u     /* the two software bits: a digit of the table's count */
#define VM_PTE_RSW_ONE 0x100u /* 1 in that digit */
#define VM_PTE_LEAF (VM_READ | VM_WRITE | VM_EXECUTE)
#define VM_PTE_PPN_SHIFT 10

#define VM_SV39_VIRTUAL_BITS 39
#define VM_SV39_PHYSICAL_BITS 56
#define VM_SV32_PHYSICAL_BITS 34

/* Is space in Sv32? A constant in a kernel build. */
static inline bool vm_sv32(const struct vm_space *space)
{
#if defined(RVMEM_HOST)
    return space->mode == VM_MODE_SV32;
#elif __riscv_xlen == 32
    (void)space;
    return true;
#else
    (void)space;
    return false;
#endif
}

static inline unsigned vm_top_level(const struct vm_space *space)
{
    return vm_sv32(space) ? 1 : 2;
}

/* Bits of virtual address each level indexes: 10 (1024 entries) or 9 (512). */
static inline unsigned vm_index_bits(const struct vm_space *space)
{
    return vm_sv32(space) ? 10 : 9;
}

static inline unsigned vm_entries(const struct vm_space *space)
{
    return 1u << vm_index_bits(space);
}

static inline unsigned vm_level_shift(const struct vm_space *space, unsigned level)
{
    return PAGE_SHIFT + level * vm_index_bits(space);
}

/* Bytes one entry of level covers (a leaf's size there). */
static inline uintptr_t vm_level_bytes(const struct vm_space *space, unsigned level)
{
    return (uintptr_t)1 << vm_level_shift(space, level);
}

static inline unsigned vm_index(const struct vm_space *space, uintptr_t virtual, unsigned level)
{
    return (unsigned)(virtual >> vm_level_shift(space, level)) & (vm_entries(space) - 1);
}

/* Bits of the physical addresses the mode's entries can hold: 34 (Sv32) or 56 (Sv39). */
static inline unsigned vm_physical_bits(const struct vm_space *space)
{
    return vm_sv32(space) ? VM_SV32_PHYSICAL_BITS : VM_SV39_PHYSICAL_BITS;
}

/* One past the highest physical address the mode's entries can hold. */
static inline uint64_t vm_physical_limit(const struct vm_space *space)
{
    return (uint64_t)1 << vm_physical_bits(space);
}

/*
 * Is virtual inside the mode's virtual space? Sv39: canonical (bits 63..38 all equal); Sv32:
 * below 2^32, which a 32-bit uintptr_t always is.
 */
static inline bool vm_virtual_valid(const struct vm_space *space, uintptr_t virtual)
{
    uint64_t wide = virtual;
    if (vm_sv32(space))
        return (wide >> 32) == 0;
    const unsigned unused = 64 - VM_SV39_VIRTUAL_BITS;
    return (uint64_t)((int64_t)(wide << unused) >> unused) == wide;
}

/* The address of the entry of table (at level) for virtual: its offset in one shift and one mask. */
static inline void *vm_entry_address(const struct vm_space *space, const void *table, uintptr_t virtual, unsigned level)
{
    unsigned entry_shift = vm_sv32(space) ? 2 : 3; /* log2 of an entry's bytes */
    uintptr_t offset =
        (virtual >> (vm_level_shift(space, level) - entry_shift)) & ((uintptr_t)(vm_entries(space) - 1) << entry_shift);
    return (char *)table + offset;
}

static inline vm_pte vm_load(const struct vm_space *space, const void *address)
{
    if (vm_sv32(space))
        return *(const uint32_t *)address;
    return (vm_pte) * (const uint64_t *)address;
}

/* One aligned store: a hardware walk sees the old entry or the new one. */
static inline void vm_store(const struct vm_space *space, void *address, vm_pte entry)
{
    if (vm_sv32(space))
        *(uint32_t *)address = (uint32_t)entry;
    else
        *(uint64_t *)address = entry;
}

/* Entry index of table. */
static inline vm_pte vm_entry(const struct vm_space *space, const void *table, unsigned index)
{
    return vm_load(space, (const char *)table + (index << (vm_sv32(space) ? 2 : 3)));
}

static inline void vm_set_entry(const struct vm_space *space, void *table, unsigned index, vm_pte entry)
{
    vm_store(space, (char *)table + (index << (vm_sv32(space) ? 2 : 3)), entry);
}

static inline uint64_t vm_entry_physical(vm_pte entry)
{
    return (uint64_t)(entry >> VM_PTE_PPN_SHIFT) << PAGE_SHIFT;
}

static inline vm_pte vm_make_entry(uint64_t physical, unsigned low_bits)
{
    return (vm_pte)((physical >> PAGE_SHIFT) << VM_PTE_PPN_SHIFT) | low_bits;
}

static inline bool vm_is_leaf(vm_pte entry)
{
    return (entry & VM_PTE_LEAF) != 0;
}

static inline bool vm_is_valid(vm_pte entry)
{
    return (entry & VM_PTE_VALID) != 0;
}

/* The table a pointer entry names, at its writable address. */
static inline void *vm_table_at(const struct vm_space *space, vm_pte entry)
{
    return (void *)((uintptr_t)vm_entry_physical(entry) + space->table_offset);
}

static inline uint64_t vm_table_physical(const struct vm_space *space, const void *table)
{
    return (uintptr_t)table - space->table_offset;
}

/*
 * One level of vm_translate: false to go on down (*table is then the next table), true when the
 * walk ended (*result holds the answer). vm_translate writes the levels out, so that each one's
 * shifts and masks are constants. Level 0 holds no pointers (vm_validate checks it) and the core
 * leaves nothing but count bits in an invalid entry, so there V alone tells a leaf.
 */
static inline __attribute__((always_inline)) bool vm_translate_level(const struct vm_space *space, const void **table,
                                                                     uintptr_t virtual, unsigned level,
                                                                     uint64_t *physical, int *result)
{
    vm_pte entry = vm_load(space, vm_entry_address(space, *table, virtual, level));
    if (level > 0 && (entry & (VM_PTE_VALID | VM_PTE_LEAF)) == VM_PTE_VALID) { /* a pointer */
        *table = vm_table_at(space, entry);
        return false;
    }
    if (!vm_is_valid(entry)) {
        *result = -E_NOENT;
        return true;
    }
    *physical = vm_entry_physical(entry) | (virtual & (vm_level_bytes(space, level) - 1));
    *result = (int)(entry & VM_PERMISSIONS);
    return true;
}

/* See vm.h. */
static inline int vm_translate(const struct vm_space *space, uintptr_t virtual, uint64_t *physical)
{
    if (!vm_virtual_valid(space, virtual))
        return -E_INVAL;
    const void *table = space->root;
    int result;
    if (!vm_sv32(space) && vm_translate_level(space, &table, virtual, 2, physical, &result))
        return result;
    if (vm_translate_level(space, &table, virtual, 1, physical, &result))
        return result;
    vm_translate_level(space, &table, virtual, 0, physical, &result);
    return result;
}

#endif
