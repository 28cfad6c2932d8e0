/*
 * tests/mm/vm_pages.c - the page-table core on the kernel's page allocator: a million map and
 * unmap operations of single pages, scattered so that tables are created and given back all the
 * time, with every table page from page_alloc. Afterwards the buddy allocator's free count is
 * back where it started, and so is the space (its root only).
 */
#include "kernel/mm/vm.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "tests/harness/ktest.h"

#define PAGE PAGE_SIZE
#define OPERATIONS 1000000u
#define WINDOW_PAGES 16384u /* 64 MiB: 32 tables of 4 KiB leaves (Sv39), across two top-level slots */
#define MAX_LIVE 64u
#define VALIDATE_EVERY 65536u

static struct vm_space space;
static uintptr_t live[MAX_LIVE];
static unsigned long mapped_bits[WINDOW_PAGES / (8 * sizeof(unsigned long))];

static bool is_mapped(unsigned page)
{
    return (mapped_bits[page / (8 * sizeof(unsigned long))] >> (page % (8 * sizeof(unsigned long)))) & 1;
}

static void flip_mapped(unsigned page)
{
    mapped_bits[page / (8 * sizeof(unsigned long))] ^= 1ul << (page % (8 * sizeof(unsigned long)));
}

KTEST(vm_pages, million_operations_give_every_page_back)
{
#if __riscv_xlen == 32
    enum vm_mode mode = VM_MODE_SV32;
#else
    enum vm_mode mode = VM_MODE_SV39;
#endif
    unsigned long free_before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(vm_init(&space, mode, &pages_vm_tables), 0);
    /* The window straddles a top-level boundary, so that tables of every level come and go. */
    uintptr_t window = vm_leaf_bytes(&space, vm_levels(&space) - 1) - WINDOW_PAGES / 2 * PAGE;
    uint32_t random = 0x2545f491u;
    unsigned live_count = 0;
    unsigned long peak_tables = 0, tables_made = 0, previous_tables = 1;
    memset(mapped_bits, 0, sizeof mapped_bits);
    for (unsigned operation = 0; operation < OPERATIONS; operation++) {
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        if (live_count < MAX_LIVE && (live_count == 0 || random % 2)) {
            unsigned page = (random >> 8) % WINDOW_PAGES;
            uintptr_t virtual = window + (uintptr_t)page * PAGE;
            int result = vm_map(&space, virtual, 0x80000000 + (uint64_t)page * PAGE, PAGE, VM_READ | VM_WRITE);
            KASSERT_EQ(result, is_mapped(page) ? -E_BUSY : 0);
            if (result == 0) {
                flip_mapped(page);
                live[live_count++] = virtual;
            }
        } else {
            unsigned slot = (random >> 8) % live_count;
            uintptr_t virtual = live[slot];
            uint64_t physical;
            KASSERT_EQ(vm_translate(&space, virtual, &physical), VM_READ | VM_WRITE);
            KASSERT_EQ(physical, 0x80000000 + (uint64_t)(virtual - window));
            KASSERT_EQ(vm_unmap(&space, virtual, PAGE), 0);
            flip_mapped((unsigned)((virtual - window) / PAGE));
            live[slot] = live[--live_count];
        }
        if (space.table_pages > previous_tables)
            tables_made += space.table_pages - previous_tables;
        previous_tables = space.table_pages;
        if (space.table_pages > peak_tables)
            peak_tables = space.table_pages;
        if (operation % VALIDATE_EVERY == 0)
            KASSERT_EQ(vm_validate(&space), 0);
    }
    KASSERT_EQ(vm_validate(&space), 0);
    while (live_count > 0)
        KASSERT_EQ(vm_unmap(&space, live[--live_count], PAGE), 0);
    KASSERT_EQ(space.table_pages, 1);
    vm_destroy(&space);
    ktest_note("%u operations, %lu table pages taken and given back, at most %lu held at once", OPERATIONS, tables_made,
               peak_tables);
    KASSERT_GT(tables_made, 1000);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}
