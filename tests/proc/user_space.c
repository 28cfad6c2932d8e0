/*
 * tests/proc/user_space.c - a program's address space driven directly, without running it: sbrk
 * and brk, pages filled on first touch, the eager mode, pages given back (kernel only).
 *
 * The space is loaded with the real `hello` image; the kernel reads the program's pages through
 * the direct map (the physical address vm_translate gives), never through the user window.
 */
#include "kernel/proc/user_space.h"

#include "kernel/base/errors.h"
#include "kernel/base/user_abi.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/proc/sched.h"
#include "tests/harness/ktest.h"
#include "tests/proc/hello_space.h"
#include "tests/proc/program_run.h"

#define HEAP_LIMIT_BYTES ((uintptr_t)1 << 20)

/* The kernel's view of the program's byte at address (through the direct map), or NULL when unmapped. */
static volatile uint8_t *byte_at(const struct user_space *space, uintptr_t address)
{
    uint64_t physical;
    if (vm_translate(&space->vm, address, &physical) <= 0)
        return NULL;
    return (volatile uint8_t *)(uintptr_t)physical;
}

KTEST(user_space, lazy_sbrk_maps_on_touch_and_a_shrink_gives_pages_back)
{
    SKIP_WITHOUT_PROGRAMS();
    struct user_space space;
    unsigned long free_before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(hello_space_load(&space, false, HEAP_LIMIT_BYTES), 0);
    uintptr_t start = space.brk;
    KASSERT_EQ(start & (PAGE_SIZE - 1), 0);
    unsigned long held = space.pages;
    /* Growth maps nothing; each first touch maps one zeroed page. */
    KASSERT_EQ(user_space_sbrk(&space, 3 * PAGE_SIZE), (long)start);
    KASSERT_EQ(space.pages, held);
    KASSERT(byte_at(&space, start) == NULL);
    KASSERT_EQ(user_space_fault(&space, start + 10, USER_ACCESS_WRITE), 0);
    KASSERT_EQ(user_space_fault(&space, start + PAGE_SIZE, USER_ACCESS_READ), 0);
    KASSERT_GT(space.pages, held);
    unsigned long touched = space.pages;
    KASSERT(byte_at(&space, start) != NULL);
    KASSERT_EQ(*byte_at(&space, start + 10), 0);
    *byte_at(&space, start + 10) = 0x5a; /* the program's write */
    /* Not fillable: an instruction fetch, and the page past the break. */
    KASSERT_EQ(user_space_fault(&space, start, USER_ACCESS_EXECUTE), -E_FAULT);
    KASSERT_EQ(user_space_fault(&space, start + 3 * PAGE_SIZE, USER_ACCESS_WRITE), -E_FAULT);
    KASSERT_EQ(user_space_region(&space, start + 3 * PAGE_SIZE), USER_REGION_ABOVE_BREAK);
    /* A shrink to the start gives both touched pages back; the heap reads zero when they come again. */
    KASSERT_EQ(user_space_sbrk(&space, -(intptr_t)(3 * PAGE_SIZE)), (long)(start + 3 * PAGE_SIZE));
    KASSERT_EQ(space.pages, touched - 2);
    KASSERT(byte_at(&space, start) == NULL);
    KASSERT_EQ(user_space_sbrk(&space, PAGE_SIZE), (long)start);
    KASSERT_EQ(user_space_fault(&space, start + 10, USER_ACCESS_READ), 0);
    KASSERT_EQ(*byte_at(&space, start + 10), 0);
    /* The limits: past the heap limit, below the start; the break unchanged. */
    KASSERT_EQ(user_space_sbrk(&space, (intptr_t)HEAP_LIMIT_BYTES), -E_NOMEM);
    KASSERT_EQ(user_space_sbrk(&space, -(intptr_t)(2 * PAGE_SIZE)), -E_INVAL);
    KASSERT_EQ(user_space_brk(&space, start - 1), -E_INVAL);
    KASSERT_EQ(user_space_brk(&space, 0), (long)(start + PAGE_SIZE));
    user_space_destroy(&space);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}

KTEST(user_space, eager_sbrk_maps_at_once)
{
    SKIP_WITHOUT_PROGRAMS();
    struct user_space space;
    unsigned long free_before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(hello_space_load(&space, true, HEAP_LIMIT_BYTES), 0);
    uintptr_t start = space.brk;
    unsigned long held = space.pages;
    KASSERT_EQ(user_space_sbrk(&space, 2 * PAGE_SIZE), (long)start);
    KASSERT_GE(space.pages, held + 2);
    KASSERT(byte_at(&space, start) != NULL);
    KASSERT(byte_at(&space, start + PAGE_SIZE) != NULL);
    KASSERT_EQ(*byte_at(&space, start + PAGE_SIZE + 100), 0);
    KASSERT_EQ(space.filled, 0);
    KASSERT_EQ(user_space_brk(&space, start + 1), (long)(start + 1)); /* keeps the break's page */
    KASSERT(byte_at(&space, start) != NULL);
    KASSERT(byte_at(&space, start + PAGE_SIZE) == NULL);
    user_space_destroy(&space);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}

KTEST(user_space, thread_stacks_fill_in_their_slot_and_go_back)
{
    SKIP_WITHOUT_PROGRAMS();
    struct user_space space;
    unsigned long free_before = buddy_free_pages(kernel_pages());
    KASSERT_EQ(hello_space_load(&space, false, HEAP_LIMIT_BYTES), 0);
    unsigned long held = space.pages;
    uintptr_t top = 0, bytes = 4 * PAGE_SIZE;
    KASSERT_EQ(user_space_thread_stack_add(&space, 1, 2, bytes, &top), 0);
    KASSERT_EQ(top, user_thread_slot_top(1));
    KASSERT_EQ(top, (uintptr_t)USER_THREAD_AREA_TOP);
    KASSERT_EQ(space.pages, held); /* lazy: nothing mapped yet */
    KASSERT_EQ(user_space_region(&space, top - 1), USER_REGION_THREAD_STACK);
    KASSERT_EQ(user_space_region(&space, top - bytes), USER_REGION_THREAD_STACK);
    KASSERT_EQ(user_space_region(&space, top - bytes - 1), USER_REGION_THREAD_STACK_GUARD);
    KASSERT_EQ(user_space_region(&space, top - USER_THREAD_SLOT_BYTES), USER_REGION_THREAD_STACK_GUARD);
    KASSERT_EQ(user_space_region(&space, top - USER_THREAD_SLOT_BYTES - 1), USER_REGION_UNUSED); /* slot 2: free */
    struct user_thread_stack stack;
    KASSERT(user_space_thread_stack_at(&space, top - bytes - 1, &stack));
    KASSERT_EQ(stack.thread_id, 2);
    KASSERT_EQ(stack.bottom, top - bytes);
    KASSERT_EQ(stack.top, top);
    /* First touches fill the stack's pages; the guard is never filled. */
    KASSERT_EQ(user_space_fault(&space, top - 8, USER_ACCESS_WRITE), 0);
    KASSERT_EQ(user_space_fault(&space, top - bytes, USER_ACCESS_READ), 0);
    KASSERT_EQ(user_space_fault(&space, top - bytes - 8, USER_ACCESS_WRITE), -E_FAULT);
    KASSERT_EQ(user_space_fault(&space, top - bytes, USER_ACCESS_EXECUTE), -E_FAULT);
    KASSERT(byte_at(&space, top - 8) != NULL);
    unsigned long touched = space.pages;
    KASSERT_GE(touched, held + 2);
    /* A second touch of a page mapped meanwhile (another thread's) is served too. */
    KASSERT_EQ(user_space_fault(&space, top - 16, USER_ACCESS_WRITE), 0);
    KASSERT_EQ(space.pages, touched);
    /* Removed: both pages back (and the tables they emptied), the slot free, nothing fillable there any more. */
    user_space_thread_stack_remove(&space, 1);
    KASSERT_EQ(space.pages, held);
    KASSERT(byte_at(&space, top - 8) == NULL);
    KASSERT_EQ(user_space_region(&space, top - 1), USER_REGION_UNUSED);
    KASSERT_EQ(user_space_fault(&space, top - 8, USER_ACCESS_WRITE), -E_FAULT);
    /* A stack left in place goes back with the space. */
    KASSERT_EQ(user_space_thread_stack_add(&space, 3, 4, bytes, &top), 0);
    KASSERT_EQ(user_space_fault(&space, top - 8, USER_ACCESS_WRITE), 0);
    user_space_destroy(&space);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);

    /* Eager: the whole stack at once, and back at once. */
    KASSERT_EQ(hello_space_load(&space, true, HEAP_LIMIT_BYTES), 0);
    held = space.pages;
    KASSERT_EQ(user_space_thread_stack_add(&space, USER_PROCESS_THREADS_MAX - 1, 5, bytes, &top), 0);
    KASSERT_EQ(top - USER_THREAD_SLOT_BYTES, (uintptr_t)USER_THREAD_AREA_BOTTOM); /* the last slot is the lowest */
    KASSERT_GE(space.pages, held + bytes / PAGE_SIZE);
    KASSERT(byte_at(&space, top - bytes) != NULL);
    user_space_thread_stack_remove(&space, USER_PROCESS_THREADS_MAX - 1);
    KASSERT_EQ(space.pages, held);
    user_space_destroy(&space);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}
