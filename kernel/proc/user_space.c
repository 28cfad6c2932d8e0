/*
 * kernel/proc/user_space.c - a program's address space (see user_space.h).
 */
#include "kernel/proc/user_space.h"

#include "kernel/base/arch.h"
#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/mm/kernel_space.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/mmu.h"
#include "kernel/proc/user_space_internal.h"
#include "kernel/proc/user_stack.h"

#if __riscv_xlen == 32
#define USER_VM_MODE VM_MODE_SV32
#else
#define USER_VM_MODE VM_MODE_SV39
#endif

static const struct kernel_space *kernel_map;
static unsigned long reserve;
static unsigned long held;        /* pages held by every space together */
static unsigned long lowest_free; /* the fewest free pool pages seen right after a program's page was taken */

void user_space_setup(const struct kernel_space *kernel, unsigned long reserve_pages)
{
    reserve = reserve_pages;
    lowest_free = ~0UL;
    __atomic_store_n(&kernel_map, kernel, __ATOMIC_RELEASE);
}

bool user_space_ready(void)
{
    return __atomic_load_n(&kernel_map, __ATOMIC_ACQUIRE) != NULL;
}

unsigned long user_space_reserve_pages(void)
{
    return reserve;
}

unsigned long user_space_pages_held(void)
{
    return __atomic_load_n(&held, __ATOMIC_RELAXED);
}

unsigned long user_space_lowest_free_pages(void)
{
    return __atomic_load_n(&lowest_free, __ATOMIC_RELAXED);
}

static uintptr_t page_down(uintptr_t address)
{
    return address & ~(PAGE_SIZE - 1);
}

static uintptr_t page_up(uintptr_t address)
{
    return (address + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

/* The shared pool's free pages, read without its lock: a snapshot, enough to keep the reserve. */
static unsigned long pool_free_pages(void)
{
    return __atomic_load_n(&pages_allocator.pool_free_pages, __ATOMIC_RELAXED);
}

/*
 * A zeroed page for space, or NULL when the pool is down to the reserve (or empty). The margin of
 * one cache batch: page_alloc may refill this hart's cache from the pool with a batch of pages at
 * once, and the pool still keeps the reserve after it.
 */
static void *page_take(struct user_space *space)
{
    if (pool_free_pages() < reserve + ((unsigned long)1 << BUDDY_CACHE_BATCH_ORDER))
        return NULL;
    void *page = page_alloc(0);
    if (page == NULL)
        return NULL;
    arch_page_zero(page);
    space->pages++;
    __atomic_add_fetch(&held, 1, __ATOMIC_RELAXED);
    unsigned long free = pool_free_pages();
    if (free < __atomic_load_n(&lowest_free, __ATOMIC_RELAXED))
        __atomic_store_n(&lowest_free, free, __ATOMIC_RELAXED); /* statistics: a race only blurs it */
    return page;
}

static void page_give(struct user_space *space, void *page)
{
    page_free(page, 0);
    space->pages--;
    __atomic_sub_fetch(&held, 1, __ATOMIC_RELAXED);
}

/* The page-table core's table pages: the space's own pages, under the same reserve. */
static void *table_alloc(void *context)
{
    return page_take(context);
}

/*
 * Pages unmapped but not given back yet: a shared space's pages go back only once every hart
 * dropped them from its TLB (leaves and the cached tables above them), one shootdown for a
 * batch. A table that an unmap empties joins the batch too (table_free): another hart may still
 * walk it until the shootdown. The slack holds the tables one unmap can free.
 */
#define RELEASE_BATCH_PAGES 32
#define RELEASE_BATCH_SLACK 4
struct release_batch {
    uintptr_t from, to; /* the virtual range the batch's pages came from */
    uintptr_t physical[RELEASE_BATCH_PAGES + RELEASE_BATCH_SLACK];
    unsigned count;
};

/* One batch per hart: a hart releases within one space at a time (under its lock), never nested. */
static struct release_batch release_batches[RVMEM_MAX_HARTS];

static void table_free(void *context, void *table)
{
    struct user_space *space = context;
    struct release_batch *batch = space->deferred_frees;
    if (batch && batch->count < RELEASE_BATCH_PAGES + RELEASE_BATCH_SLACK) {
        batch->physical[batch->count++] = (uintptr_t)table;
        return;
    }
    page_give(space, table);
}

/* Drops what this hart's TLB may hold for the page (an invalid entry included: no Svvptc). */
static inline void fence_page(uintptr_t page)
{
    __asm__ volatile("sfence.vma %0, zero" ::"r"(page) : "memory");
}

/* The page at physical (== its kernel address: the direct map is the identity) at virtual. */
static int map_page(struct user_space *space, uintptr_t virtual, void *page, unsigned permissions)
{
    return vm_map(&space->vm, virtual, (uintptr_t)page, PAGE_SIZE, permissions | VM_USER);
}

int user_space_map_zero_page(struct user_space *space, uintptr_t virtual)
{
    void *page = page_take(space);
    if (page == NULL)
        return -E_NOMEM;
    int error = map_page(space, virtual, page, VM_READ | VM_WRITE);
    if (error) {
        page_give(space, page);
        return error == -E_BUSY ? -E_BUSY : -E_NOMEM;
    }
    return 0;
}

int user_space_create(struct user_space *space, bool eager, uintptr_t heap_limit_bytes)
{
    const struct kernel_space *kernel = __atomic_load_n(&kernel_map, __ATOMIC_ACQUIRE);
    if (kernel == NULL)
        return -E_NOSYS;
    *space = (struct user_space){.lock = SPINLOCK_INIT, .eager = eager};
    struct vm_tables tables = {.alloc = table_alloc, .free = table_free, .context = space, .virtual_offset = 0};
    int error = vm_init(&space->vm, USER_VM_MODE, &tables);
    if (error)
        return error;
    error = vm_set_window(&space->vm, USER_WINDOW_START, USER_WINDOW_END - USER_WINDOW_START);
    if (error == 0)
        error = kernel_space_share(kernel, &space->vm);
    if (error)
        panic("user space: cannot lend the kernel's map to a program's page table: %s", error_name(error));
    space->stack_top = USER_STACK_TOP;
    space->stack_bottom = USER_STACK_TOP - USER_MAIN_STACK_BYTES;
    space->heap_limit_bytes = heap_limit_bytes;
    return 0;
}

/* ELF p_flags to page-table permissions. */
static unsigned segment_permissions(unsigned elf_permissions)
{
    return ((elf_permissions & ELF_SEGMENT_READ) ? VM_READ : 0) |
           ((elf_permissions & ELF_SEGMENT_WRITE) ? VM_WRITE : 0) |
           ((elf_permissions & ELF_SEGMENT_EXECUTE) ? VM_EXECUTE : 0);
}

int user_space_load(struct user_space *space, const uint8_t *file, const struct elf_image *image)
{
    for (unsigned i = 0; i < image->segment_count; i++) {
        const struct elf_segment *segment = &image->segments[i];
        struct user_segment *mine = &space->segments[i];
        uintptr_t file_end = segment->address + segment->file_bytes;
        mine->start = segment->address;
        mine->end = page_up(segment->address + segment->memory_bytes);
        mine->zero_from = page_up(file_end);
        mine->permissions = segment_permissions(segment->permissions);
        space->segment_count = i + 1;
        for (uintptr_t page = mine->start; page < mine->end; page += PAGE_SIZE) {
            if (page >= mine->zero_from && (mine->permissions & VM_WRITE) && !space->eager)
                continue; /* bss: filled on first touch */
            uint8_t *copy = page_take(space);
            if (copy == NULL)
                return -E_NOMEM;
            if (page < file_end) {
                size_t bytes = file_end - page < PAGE_SIZE ? file_end - page : PAGE_SIZE;
                memcpy(copy, file + segment->file_offset + (page - segment->address), bytes);
            }
            if (map_page(space, page, copy, mine->permissions) != 0) {
                page_give(space, copy);
                return -E_NOMEM;
            }
        }
    }
    uintptr_t limit = space->heap_limit_bytes, guard = USER_THREAD_AREA_BOTTOM;
    space->heap_start = space->brk = image->end;
    space->heap_max = guard;
    if (limit != USER_SPACE_NO_HEAP_LIMIT && limit < guard - image->end)
        space->heap_max = image->end + limit;
    return 0;
}

int user_space_stack(struct user_space *space, const char *const *argv, size_t argc, uintptr_t seed, uintptr_t *sp)
{
    uint8_t *top = page_take(space);
    if (top == NULL)
        return -E_NOMEM;
    size_t used;
    int error = user_entry_build(top, PAGE_SIZE, space->stack_top, argv, argc, seed, &used);
    if (error == 0 && map_page(space, space->stack_top - PAGE_SIZE, top, VM_READ | VM_WRITE) != 0)
        error = -E_NOMEM;
    if (error) {
        page_give(space, top);
        return error;
    }
    for (uintptr_t page = space->stack_bottom; space->eager && page < space->stack_top - PAGE_SIZE; page += PAGE_SIZE)
        if (user_space_map_zero_page(space, page) != 0)
            return -E_NOMEM;
    *sp = space->stack_top - used;
    return 0;
}

void user_space_give_back(struct user_space *space, uintptr_t from, uintptr_t to)
{
    struct vm_mapping mapping;
    for (uintptr_t at = from; at < to && vm_find(&space->vm, at, &mapping) == 0 && mapping.virtual < to;
         at = mapping.virtual + mapping.bytes)
        page_give(space, (void *)(uintptr_t)mapping.physical); /* every leaf is one page of the program's */
}

/*
 * Every page of a program lies in a segment, the heap up to the break's page or a stack (the
 * pages above the break went back when it moved down), so only those ranges are searched: the
 * window's empty stretches between them would cost a walk per empty entry. A page anywhere else
 * would stay counted, and the count's check below would say so.
 */
void user_space_destroy(struct user_space *space)
{
    if (space->vm.root == NULL)
        return;
    spin_lock(&space->lock);
    for (unsigned i = 0; i < space->segment_count; i++)
        user_space_give_back(space, space->segments[i].start, space->segments[i].end);
    user_space_give_back(space, space->heap_start, page_up(space->brk));
    user_space_give_back(space, space->stack_bottom, space->stack_top);
    for (unsigned slot = 1; slot < USER_PROCESS_THREADS_MAX; slot++)
        if (space->thread_stacks[slot].thread_id != 0)
            user_space_give_back(space, space->thread_stacks[slot].bottom, space->thread_stacks[slot].top);
    vm_destroy(&space->vm);
    spin_unlock(&space->lock);
    if (space->pages != 0)
        panic("user space: %lu pages still counted after every page and table went back", space->pages);
}

/*
 * Shoots the batch's range down on the harts that run the space now, the generation moved first
 * (user_space.h, "TLB"), then gives its pages back.
 */
static void release_batch_flush(struct user_space *space, struct release_batch *batch)
{
    if (batch->count == 0)
        return;
    __atomic_add_fetch(&space->generation, 1, __ATOMIC_SEQ_CST);
    unsigned long running = __atomic_load_n(&space->running_harts, __ATOMIC_SEQ_CST);
    tlb_shootdown_harts(running, batch->from, batch->to - batch->from);
    for (unsigned i = 0; i < batch->count; i++)
        page_give(space, (void *)batch->physical[i]);
    batch->count = 0;
}

void user_space_release_pages(struct user_space *space, uintptr_t from, uintptr_t to)
{
    struct vm_mapping mapping;
    struct release_batch *batch = &release_batches[hart_self()];
    batch->count = 0;
    if (space->shared)
        space->deferred_frees = batch;
    for (uintptr_t at = from; at < to && vm_find(&space->vm, at, &mapping) == 0 && mapping.virtual < to;
         at = mapping.virtual + PAGE_SIZE) {
        if (!space->shared) { /* no other hart runs this space: this hart's fence is enough */
            vm_unmap(&space->vm, mapping.virtual, PAGE_SIZE); /* a 4 KiB leaf: needs no table, cannot fail */
            fence_page(mapping.virtual);
            page_give(space, (void *)(uintptr_t)mapping.physical);
            continue;
        }
        if (batch->count == 0)
            batch->from = mapping.virtual;
        batch->to = mapping.virtual + PAGE_SIZE;
        batch->physical[batch->count++] = (uintptr_t)mapping.physical;
        vm_unmap(&space->vm, mapping.virtual, PAGE_SIZE); /* the tables it empties join the batch */
        if (batch->count >= RELEASE_BATCH_PAGES)
            release_batch_flush(space, batch);
    }
    release_batch_flush(space, batch);
    space->deferred_frees = NULL;
    __atomic_add_fetch(&space->generation, 1, __ATOMIC_SEQ_CST);
}

/* Moves the break to new_break (checked against the limits; lock held). -E_NOMEM when eager found no page. */
static int set_break(struct user_space *space, uintptr_t new_break)
{
    uintptr_t old_end = page_up(space->brk), new_end = page_up(new_break);
    if (new_end > old_end && space->eager) {
        for (uintptr_t page = old_end; page < new_end; page += PAGE_SIZE) {
            int error = user_space_map_zero_page(space, page);
            if (error) {
                user_space_release_pages(space, old_end, page);
                return -E_NOMEM;
            }
            fence_page(page);
        }
    } else if (new_end < old_end) {
        user_space_release_pages(space, new_end, old_end);
    }
    space->brk = new_break;
    return 0;
}

static long sbrk_locked(struct user_space *space, intptr_t increment)
{
    uintptr_t old = space->brk, new_break;
    if (increment >= 0) {
        if ((uintptr_t)increment > space->heap_max - old)
            return -E_NOMEM;
        new_break = old + (uintptr_t)increment;
        /* The common case: the heap's pages stay as they are (lazy growth maps nothing). */
        if (!space->eager || page_up(new_break) == page_up(old)) {
            space->brk = new_break;
            return (long)old;
        }
    } else {
        uintptr_t down = 0 - (uintptr_t)increment; /* the most negative increment included */
        if (down > old - space->heap_start)
            return -E_INVAL;
        new_break = old - down;
    }
    int error = set_break(space, new_break);
    return error ? error : (long)old;
}

long user_space_sbrk(struct user_space *space, intptr_t increment)
{
    spin_lock(&space->lock);
    long result = sbrk_locked(space, increment);
    spin_unlock(&space->lock);
    return result;
}

static long brk_locked(struct user_space *space, uintptr_t address)
{
    if (address == 0)
        return (long)space->brk;
    if (address < space->heap_start)
        return -E_INVAL;
    if (address > space->heap_max)
        return -E_NOMEM;
    int error = set_break(space, address);
    return error ? error : (long)space->brk;
}

long user_space_brk(struct user_space *space, uintptr_t address)
{
    spin_lock(&space->lock);
    long result = brk_locked(space, address);
    spin_unlock(&space->lock);
    return result;
}

/* A page mapped with a zeroed page on first touch: heap below the break, stack, a writable segment's zero pages. */
static bool fillable(const struct user_space *space, uintptr_t page)
{
    if (page - space->heap_start < page_up(space->brk) - space->heap_start)
        return true;
    if (page - space->stack_bottom < space->stack_top - space->stack_bottom)
        return true;
    for (unsigned slot = 1; slot < USER_PROCESS_THREADS_MAX; slot++) {
        const struct user_thread_stack *stack = &space->thread_stacks[slot];
        if (stack->thread_id != 0 && page - stack->bottom < stack->top - stack->bottom)
            return true;
    }
    for (unsigned i = 0; i < space->segment_count; i++) {
        const struct user_segment *segment = &space->segments[i];
        if (page >= segment->zero_from && page < segment->end && (segment->permissions & VM_WRITE))
            return true;
    }
    return false;
}

/* user_space_fault with the lock held. */
static int fault_locked(struct user_space *space, uintptr_t address, enum user_access access)
{
    uintptr_t page = page_down(address);
    if (access == USER_ACCESS_EXECUTE || !fillable(space, page))
        return -E_FAULT; /* nothing to fill is executable, so an instruction fault is never served */
    int error = user_space_map_zero_page(space, page);
    if (error == -E_NOMEM)
        return error;
    /* -E_BUSY: mapped already (read+write, as every fillable page): another thread's touch, or
       this hart held the old entry. Either way the program goes on. */
    fence_page(page);
    if (error == 0)
        space->filled++;
    return 0;
}

int user_space_fault(struct user_space *space, uintptr_t address, enum user_access access)
{
    spin_lock(&space->lock);
    int error = fault_locked(space, address, access);
    spin_unlock(&space->lock);
    return error;
}

/* Whether permissions allow access, for U-mode. */
static bool permits(unsigned permissions, enum user_access access)
{
    unsigned needed = access == USER_ACCESS_WRITE ? VM_WRITE : access == USER_ACCESS_READ ? VM_READ : VM_EXECUTE;
    return (permissions & VM_USER) && (permissions & needed);
}

int user_space_check(struct user_space *space, uintptr_t address, size_t bytes, enum user_access access)
{
    spin_lock(&space->lock);
    int error = user_space_check_locked(space, address, bytes, access);
    spin_unlock(&space->lock);
    return error;
}

int user_space_check_locked(struct user_space *space, uintptr_t address, size_t bytes, enum user_access access)
{
    uintptr_t last = address + (bytes ? bytes : 1) - 1;
    if (last < address || address < USER_WINDOW_START || last >= USER_WINDOW_END)
        return -E_FAULT;
    for (uintptr_t page = page_down(address);; page += PAGE_SIZE) {
        uint64_t physical;
        int permissions = vm_translate(&space->vm, page, &physical);
        if (permissions > 0) {
            if (!permits((unsigned)permissions, access))
                return -E_FAULT;
        } else {
            int error = fault_locked(space, page, access);
            if (error)
                return error;
        }
        if (last - page < PAGE_SIZE)
            return 0;
    }
}

uintptr_t user_space_satp(const struct user_space *space)
{
    return (uintptr_t)vm_satp(&space->vm, 0);
}
