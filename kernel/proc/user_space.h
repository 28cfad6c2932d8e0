/*
 * kernel/proc/user_space.h - a program's address space: its page table, its image, its heap and
 * its stack, the pages it holds, and the regions a fault is named by.
 *
 * The page table. Each program has its own root table, restricted to the user window
 * (kernel/base/layout.h; vm_set_window), which borrows the kernel's root entries outside it
 * (kernel_space_share): the kernel is mapped in every address space, identity-mapped, global and
 * without the user bit, so a trap from U-mode needs no page-table switch and nothing of the kernel
 * is reachable from U-mode. Every page of the program is mapped with VM_USER and one segment's
 * permissions (W^X: the ELF loader refuses a write+execute segment).
 *
 * The layout (docs/USER.md): the ELF file's segments from the bottom of the window, the heap from
 * the page after them (heap_start, image.end) up to the break, the main stack of
 * USER_MAIN_STACK_BYTES at the top of the window with an unmapped guard page below it, and the
 * thread area below that (kernel/base/user_abi.h): one slot per thread other than the main one,
 * its stack at the slot's top and the rest of the slot unmapped (its guard). The heap ends below
 * the thread area.
 *
 * Pages filled on first touch. In the lazy mode (the default) only the pages that hold bytes of
 * the file and the stack's top page (the entry block) are mapped at start; the heap below the
 * break, the rest of the stack and the zero pages of writable segments (bss) are mapped when the
 * program first touches them: the page fault comes to user_space_fault, which maps a zeroed page
 * and the program goes on. sbrk then only moves the break. The eager mode maps every page when it
 * enters the address space (at start, and when sbrk grows the heap), so both costs can be
 * compared (docs/BENCHMARKS.md). Either way a page that enters the heap reads as zero.
 *
 * Pages come from the machine's page allocator, one at a time, and only while it keeps a reserve
 * for the kernel (user_space_setup): a program cannot starve the kernel of pages. Every page a
 * space holds (its tables, the copies of the image, heap, stack) is counted in pages and goes back
 * with user_space_destroy.
 *
 * TLB: a change is fenced on the calling hart (which must run the space: its satp loaded); a
 * removal also moves generation, so that a hart that ran the space before flushes before it runs
 * it again (kernel/proc/sched.c). Once a second thread was created (shared), the threads may run
 * on several harts at once: a removal then moves generation first and is shot down on the other
 * harts that run the space at that moment (running_harts, which sched.c keeps: a hart sets its
 * bit before it reads generation, a removal moves generation before it reads the bits, so a hart
 * entering meanwhile is either shot down or flushes as it enters), before its pages go back. An addition needs none: a
 * hart that still holds the old, invalid entry faults, and the fault finds the page mapped and lets the program go on.
 *
 * Thread-safety: the threads of a program call into its space from several harts at once. Every
 * call that reads or changes the mappings, the break or the thread stacks takes the space's lock
 * (user_space_check_locked: the caller holds it), except user_space_sbrk_lazy_grow, which only a
 * space with one thread uses, and user_space_region, a snapshot for a report. Set-up
 * (create, load, stack) and user_space_destroy run while no thread of the space runs. The
 * reserve and the counters are shared, atomically.
 */
#ifndef RVMEM_KERNEL_PROC_USER_SPACE_H
#define RVMEM_KERNEL_PROC_USER_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.h"
#include "kernel/base/user_abi.h"
#include "kernel/mm/vm.h"
#include "kernel/proc/elf.h"

struct kernel_space;

/* Where an address of a program lies: the report of a fault names it (user_region_name). */
enum user_region {
    USER_REGION_TEXT,        /* an executable segment */
    USER_REGION_RODATA,      /* a read-only segment */
    USER_REGION_DATA,        /* a writable segment's pages that hold bytes of the file */
    USER_REGION_BSS,         /* a writable segment's zero pages */
    USER_REGION_HEAP,        /* [heap_start, the page that holds the break) */
    USER_REGION_ABOVE_BREAK, /* above the heap, up to the stack's guard page: nothing mapped */
    USER_REGION_STACK_GUARD, /* the page under the stack: never mapped */
    USER_REGION_STACK,       /* the main stack */
    USER_REGION_KERNEL,      /* outside the user window: the kernel's half */
    USER_REGION_UNUSED, /* inside the window but in none of the above (below the first segment, between segments) */
    USER_REGION_THREAD_STACK,       /* a thread's stack (user_space_thread_stack_at names the thread) */
    USER_REGION_THREAD_STACK_GUARD, /* the unmapped rest of a thread's slot, below its stack */
    USER_REGION_COUNT
};

/* What a program does to an address (a fault's kind, or what a system call will do with a pointer). */
enum user_access { USER_ACCESS_READ, USER_ACCESS_WRITE, USER_ACCESS_EXECUTE };

/* One segment of the program's file, as mapped. */
struct user_segment {
    uintptr_t start, end; /* page aligned */
    uintptr_t zero_from;  /* the first page holding no byte of the file (end when every page does) */
    unsigned permissions; /* VM_READ, VM_WRITE, VM_EXECUTE (VM_USER is added when mapped) */
};

/* A thread's stack in the thread area (slot >= 1); thread_id 0: the slot is free. */
struct user_thread_stack {
    long thread_id;
    uintptr_t bottom, top;
};

struct user_space {
    struct spinlock lock; /* held while the mappings change, and by whoever lists them from another hart */
    struct vm_space vm;
    struct user_segment segments[ELF_SEGMENTS_MAX]; /* in address order */
    unsigned segment_count;
    uintptr_t heap_start;              /* the page after the segments */
    uintptr_t brk;                     /* the break: heap_start <= brk <= heap_max */
    uintptr_t heap_max;                /* the highest break allowed: the heap limit, or the stack's guard page */
    uintptr_t heap_limit_bytes;        /* the heap's limit (USER_SPACE_NO_HEAP_LIMIT: none but the stack) */
    uintptr_t stack_bottom, stack_top; /* the main stack; the guard page is right below stack_bottom */
    bool eager;                        /* every page mapped when it enters the space (no filling on touch) */
    unsigned long pages;               /* pages held: tables, image, heap, stack */
    unsigned long filled;              /* pages mapped on first touch */
    unsigned long generation;          /* moves whenever a mapping goes away (TLB: see above) */
    unsigned long running_harts;       /* a bit per hart whose satp is this space now (kernel/proc/sched.c) */
    bool shared;                       /* a second thread was created: removals are shot down (see above) */
    void *deferred_frees; /* while a shared space's removal runs: where the tables it empties wait for the shootdown */
    struct user_thread_stack thread_stacks[USER_PROCESS_THREADS_MAX]; /* by slot; slot 0 (main) unused */
};

/* The pages a program may hold at most when nothing else limits it: 0 means no heap limit. */
#define USER_SPACE_NO_HEAP_LIMIT 0

/*
 * Once, at boot, with paging on: kernel is the kernel's built address space (its root entries
 * are lent to every program's), reserve_pages the pages the page allocator keeps for the kernel
 * (a program's page is refused when fewer are free in its pool).
 */
void user_space_setup(const struct kernel_space *kernel, unsigned long reserve_pages);

/* Whether user_space_setup ran (paging is on): programs can run. */
bool user_space_ready(void);

/* The reserve, the pages held by every program together, and the fewest free pool pages a program's page saw. */
unsigned long user_space_reserve_pages(void);
unsigned long user_space_pages_held(void);
unsigned long user_space_lowest_free_pages(void);

/*
 * An empty address space (the kernel's root entries borrowed), heap limit heap_limit_bytes
 * (USER_SPACE_NO_HEAP_LIMIT: up to the stack's guard page), eager or lazy. Returns 0, or -E_NOMEM.
 */
int user_space_create(struct user_space *space, bool eager, uintptr_t heap_limit_bytes);

/*
 * Maps the segments of image (from elf_load over file) with their permissions and VM_USER: each
 * page holding file bytes gets a copy of them (the rest of the page zero); the other pages are
 * zero, mapped now when read-only or eager, else on first touch. Sets the heap's start and the
 * break to image->end. Returns 0 or -E_NOMEM (what was mapped stays, for user_space_destroy).
 */
int user_space_load(struct user_space *space, const uint8_t *file, const struct elf_image *image);

/*
 * Maps the stack's top page with the entry block for argv (argc strings) and seed
 * (kernel/proc/user_stack.h) and, when eager, the rest of the stack. *sp is where the program's sp
 * starts. Returns 0, -E_2BIG (the block does not fit: spawn's limits prevent it), -E_NOMEM.
 */
int user_space_stack(struct user_space *space, const char *const *argv, size_t argc, uintptr_t seed, uintptr_t *sp);

/* Gives back every page the space holds (mapped pages and tables, never the kernel's). */
void user_space_destroy(struct user_space *space);

/*
 * sbrk and brk (docs/USER.md): sbrk returns the break before the call, brk the break after it
 * (0 asks); -E_NOMEM past the heap limit (the break unchanged; eager: also when no page is left),
 * -E_INVAL below the heap's start. Shrinking gives the pages above the break's page back. The
 * caller runs the space (a removal is fenced on this hart).
 */
long user_space_sbrk(struct user_space *space, intptr_t increment);

/*
 * sbrk's common case, inline for the system call's fast path: a growth (increment >= 0) in the
 * lazy mode, within the heap's limit, of a space with one thread (no lock), only moves the break. Returns true with the
 * old break in *old when it was that case; false, changing nothing, for every other (call user_space_sbrk).
 */
static inline bool user_space_sbrk_lazy_grow(struct user_space *space, intptr_t increment, long *old)
{
    uintptr_t brk = space->brk;
    if (space->eager || space->shared || increment < 0 || (uintptr_t)increment > space->heap_max - brk)
        return false;
    space->brk = brk + (uintptr_t)increment;
    *old = (long)brk;
    return true;
}
long user_space_brk(struct user_space *space, uintptr_t address);

/*
 * A page fault of the program at address with access: maps a zeroed page when the address is in
 * a page to be filled on first touch (heap below the break, stack, a writable segment's zero
 * pages) and access is a read or a write; returns 0 when the program may go on (the page is
 * mapped with that access now). -E_FAULT: a fault the kernel does not serve (the program dies);
 * -E_NOMEM: no page for it (out of memory, or the reserve reached). The caller runs the space.
 */
int user_space_fault(struct user_space *space, uintptr_t address, enum user_access access);

/*
 * Checks that [address, address + bytes) is the program's memory with access (read or write)
 * on every page: inside the window, not wrapping, mapped with VM_USER and the permission, or to
 * be filled on first touch (it is filled now, as the program's own touch would). Returns 0,
 * -E_FAULT, or -E_NOMEM (a page to fill found none). bytes 0 is checked as 1 byte. The caller runs
 * the space.
 */
int user_space_check(struct user_space *space, uintptr_t address, size_t bytes, enum user_access access);

/* user_space_check with space->lock held by the caller (kernel/proc/user_copy.c: check, then copy). */
int user_space_check_locked(struct user_space *space, uintptr_t address, size_t bytes, enum user_access access);

/* The top of thread slot slot (1 .. USER_PROCESS_THREADS_MAX - 1) in the thread area. */
uintptr_t user_thread_slot_top(unsigned slot);

/*
 * Gives thread thread_id the stack of slot (free): stack_bytes (page multiple, at most
 * USER_THREAD_STACK_MAX_BYTES) at the slot's top, mapped now when eager, else on first touch;
 * the slot's rest stays unmapped. Marks the space shared. *top gets the stack's top. Returns 0 or
 * -E_NOMEM (eager: no page; nothing stays mapped).
 */
int user_space_thread_stack_add(struct user_space *space, unsigned slot, long thread_id, uintptr_t stack_bytes,
                                uintptr_t *top);

/*
 * Unmaps slot's stack and gives its pages back, after every other hart dropped them from its TLB;
 * the slot is free again. The caller runs the space.
 */
void user_space_thread_stack_remove(struct user_space *space, unsigned slot);

/*
 * Whether address lies in the slot of a thread that has a stack (its stack or the guard below it):
 * true with *stack filled (the thread, its stack's bounds).
 */
bool user_space_thread_stack_at(const struct user_space *space, uintptr_t address, struct user_thread_stack *stack);

/* Which region address is in, and its name ("heap", "stack guard", "kernel", ...). */
enum user_region user_space_region(const struct user_space *space, uintptr_t address);
const char *user_region_name(enum user_region region);

/* The satp value that runs this space. */
uintptr_t user_space_satp(const struct user_space *space);

/*
 * Lists the regions of the space in address order: its kind, bounds, the permissions it is mapped
 * with and how many of its pages are mapped now (for the monitor's vm). Returns how many it filled.
 * With space->lock held (process_regions), since the program may run meanwhile.
 */
struct user_space_region_info {
    enum user_region region;
    uintptr_t start, end;
    unsigned permissions;
    unsigned long pages, mapped_pages;
};
unsigned user_space_regions(const struct user_space *space, struct user_space_region_info *regions, unsigned max);

#endif
