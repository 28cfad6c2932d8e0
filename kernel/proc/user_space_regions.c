/*
 * kernel/proc/user_space_regions.c - the regions of an address space (see user_space.h): which
 * one an address is in (a fault's report names it) and the list the monitor's vm shows.
 */
#include "kernel/base/platform.h"
#include "kernel/base/user_abi.h"
#include "kernel/proc/user_space.h"

static uintptr_t page_up(uintptr_t address)
{
    return (address + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

enum user_region user_space_region(const struct user_space *space, uintptr_t address)
{
    if (address < USER_WINDOW_START || address >= USER_WINDOW_END)
        return USER_REGION_KERNEL;
    for (unsigned i = 0; i < space->segment_count; i++) {
        const struct user_segment *segment = &space->segments[i];
        if (address < segment->start || address >= segment->end)
            continue;
        if (segment->permissions & VM_EXECUTE)
            return USER_REGION_TEXT;
        if (segment->permissions & VM_WRITE)
            return address < segment->zero_from ? USER_REGION_DATA : USER_REGION_BSS;
        return USER_REGION_RODATA;
    }
    uintptr_t guard = space->stack_bottom - USER_STACK_GUARD_BYTES;
    if (address >= space->stack_bottom && address < space->stack_top)
        return USER_REGION_STACK;
    if (address >= guard && address < space->stack_bottom)
        return USER_REGION_STACK_GUARD;
    struct user_thread_stack stack;
    if (user_space_thread_stack_at(space, address, &stack))
        return address >= stack.bottom ? USER_REGION_THREAD_STACK : USER_REGION_THREAD_STACK_GUARD;
    if (address >= space->heap_start && address < page_up(space->brk))
        return USER_REGION_HEAP;
    if (address >= space->heap_start && address < USER_THREAD_AREA_BOTTOM)
        return USER_REGION_ABOVE_BREAK;
    return USER_REGION_UNUSED;
}

const char *user_region_name(enum user_region region)
{
    static const char *const names[USER_REGION_COUNT] = {
        [USER_REGION_TEXT] = "text",
        [USER_REGION_RODATA] = "rodata",
        [USER_REGION_DATA] = "data",
        [USER_REGION_BSS] = "bss",
        [USER_REGION_HEAP] = "heap",
        [USER_REGION_ABOVE_BREAK] = "above the break",
        [USER_REGION_STACK_GUARD] = "stack guard",
        [USER_REGION_STACK] = "stack",
        [USER_REGION_KERNEL] = "kernel",
        [USER_REGION_UNUSED] = "unused",
        [USER_REGION_THREAD_STACK] = "thread stack",
        [USER_REGION_THREAD_STACK_GUARD] = "thread stack guard",
    };
    return (unsigned)region < USER_REGION_COUNT ? names[region] : "?";
}

/* Pages mapped in [start, end). */
static unsigned long mapped_pages(const struct user_space *space, uintptr_t start, uintptr_t end)
{
    unsigned long count = 0;
    struct vm_mapping mapping;
    for (uintptr_t at = start; at < end && vm_find(&space->vm, at, &mapping) == 0 && mapping.virtual < end;
         at = mapping.virtual + mapping.bytes)
        count++;
    return count;
}

static unsigned add_region(const struct user_space *space, struct user_space_region_info *regions, unsigned count,
                           unsigned max, enum user_region region, uintptr_t start, uintptr_t end, unsigned permissions)
{
    if (count >= max || end <= start)
        return count;
    regions[count] = (struct user_space_region_info){
        region, start, end, permissions, (end - start) / PAGE_SIZE, mapped_pages(space, start, end)};
    return count + 1;
}

unsigned user_space_regions(const struct user_space *space, struct user_space_region_info *regions, unsigned max)
{
    unsigned count = 0;
    if (space->vm.root == NULL)
        return 0;
    for (unsigned i = 0; i < space->segment_count; i++) {
        const struct user_segment *segment = &space->segments[i];
        if (segment->permissions & VM_WRITE) {
            count = add_region(space, regions, count, max, USER_REGION_DATA, segment->start, segment->zero_from,
                               segment->permissions);
            count = add_region(space, regions, count, max, USER_REGION_BSS, segment->zero_from, segment->end,
                               segment->permissions);
        } else {
            enum user_region kind = (segment->permissions & VM_EXECUTE) ? USER_REGION_TEXT : USER_REGION_RODATA;
            count = add_region(space, regions, count, max, kind, segment->start, segment->end, segment->permissions);
        }
    }
    count = add_region(space, regions, count, max, USER_REGION_HEAP, space->heap_start, page_up(space->brk),
                       VM_READ | VM_WRITE);
    for (unsigned slot = USER_PROCESS_THREADS_MAX - 1; slot >= 1; slot--) { /* in address order: the last slot lowest */
        const struct user_thread_stack *stack = &space->thread_stacks[slot];
        if (stack->thread_id == 0)
            continue;
        count = add_region(space, regions, count, max, USER_REGION_THREAD_STACK_GUARD,
                           user_thread_slot_top(slot) - USER_THREAD_SLOT_BYTES, stack->bottom, 0);
        count = add_region(space, regions, count, max, USER_REGION_THREAD_STACK, stack->bottom, stack->top,
                           VM_READ | VM_WRITE);
    }
    uintptr_t guard = space->stack_bottom - USER_STACK_GUARD_BYTES;
    count = add_region(space, regions, count, max, USER_REGION_STACK_GUARD, guard, space->stack_bottom, 0);
    count = add_region(space, regions, count, max, USER_REGION_STACK, space->stack_bottom, space->stack_top,
                       VM_READ | VM_WRITE);
    return count;
}
