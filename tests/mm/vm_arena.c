/*
 * tests/mm/vm_arena.c - table pages for the page-table core's tests (see vm_arena.h).
 */
#include "tests/mm/vm_arena.h"

#include "kernel/base/string.h"
#include "tests/harness/ktest_arena.h"

/*
 * The fake physical address of the arena's first page. Above 4 GiB on a 64-bit host, so that
 * Sv32's 34-bit entries are exercised; where uintptr_t has 32 bits, the core's address arithmetic
 * is modulo 2^32 and a low base keeps the two views equal.
 */
#if UINTPTR_MAX > 0xffffffffu
#define FAKE_PHYSICAL_BASE ((uintptr_t)0x300000000)
#else
#define FAKE_PHYSICAL_BASE ((uintptr_t)0x10000000)
#endif

/* The pages themselves: test memory, taken when a suite first resets the arena (not in .bss). */
static struct ktest_arena memory = KTEST_ARENA(VM_ARENA_PAGES * PAGE_SIZE, PAGE_SIZE);
static unsigned char (*arena)[PAGE_SIZE];
static uint16_t free_pages[VM_ARENA_PAGES]; /* a stack of free page numbers */
static unsigned free_count;
static bool taken[VM_ARENA_PAGES];
static unsigned long successes_left, failures;
static bool ready, failing_planned, misused;

static void *arena_alloc(void *context)
{
    (void)context;
    if ((failing_planned && successes_left == 0) || free_count == 0) {
        failures++;
        return NULL;
    }
    if (failing_planned)
        successes_left--;
    unsigned page = free_pages[--free_count];
    taken[page] = true;
    memset(arena[page], 0, PAGE_SIZE);
    return arena[page];
}

static void arena_free(void *context, void *table)
{
    (void)context;
    uintptr_t offset = (uintptr_t)table - (uintptr_t)arena[0];
    unsigned page = (unsigned)(offset / PAGE_SIZE);
    if ((uintptr_t)table < (uintptr_t)arena[0] || offset % PAGE_SIZE || page >= VM_ARENA_PAGES || !taken[page]) {
        misused = true;
        return;
    }
    memset(arena[page], 0x5a, PAGE_SIZE); /* a stale read of a freed table sees junk */
    taken[page] = false;
    free_pages[free_count++] = (uint16_t)page;
}

bool vm_arena_reset(struct vm_tables *tables)
{
    arena = ktest_arena_memory(&memory);
    if (arena == NULL)
        return false;
    free_count = 0;
    for (unsigned page = VM_ARENA_PAGES; page-- > 0;) {
        taken[page] = false;
        free_pages[free_count++] = (uint16_t)page;
    }
    failing_planned = misused = false;
    failures = 0;
    ready = true;
    *tables = (struct vm_tables){arena_alloc, arena_free, NULL, (uintptr_t)arena[0] - FAKE_PHYSICAL_BASE};
    return true;
}

unsigned long vm_arena_taken(void)
{
    return ready ? VM_ARENA_PAGES - free_count : 0;
}

void vm_arena_fail_after(unsigned long successes)
{
    failing_planned = true;
    successes_left = successes;
}

void vm_arena_never_fail(void)
{
    failing_planned = false;
}

unsigned long vm_arena_failures(void)
{
    return failures;
}

bool vm_arena_misused(void)
{
    return misused;
}
