/*
 * user/programs/thread_sees_unmap.c - a page another thread is reading goes away: the reader's
 * next load must fault, on whatever hart it runs (the kernel's TLB shootdown).
 *
 * main grows the heap by two pages with sbrk and writes the first. A reader thread loads that
 * page in a loop (so its hart's TLB holds the mapping) and says so. main then shrinks the heap
 * by the two pages, which unmaps the page, and tells the reader, whose next load is of a page
 * above the break. The kernel must: kill the process (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT)
 * with a load page fault at the page, region "above the break". A hart that kept the old
 * translation would let the load through: the reader then returns, main prints "stale" and exits
 * 1. System calls: sbrk, thread_create, thread_exit, thread_join, futex_wait, sched_yield, write, exit.
 */
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

#define PAGE_BYTES 4096

static volatile uint8_t *page;
static volatile int reading, unmapped;

static int reader(void *argument)
{
    (void)argument;
    unsigned sum = 0;
    while (!unmapped) {
        sum += *page; /* keeps the translation in this hart's TLB */
        __atomic_store_n(&reading, 1, __ATOMIC_RELEASE);
    }
    sum += *page; /* the page is gone: this load must fault */
    return (int)(sum & 0x7f);
}
USER_THREAD_ENTRY(reader, 4096);

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long old = sys_sbrk(2 * PAGE_BYTES);
    if (old < 0)
        return 2;
    page = (volatile uint8_t *)(((uintptr_t)old + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1));
    *page = 1;
    printf("thread_sees_unmap: page %p, reading it on another thread\n", (void *)page);
    long id = thread_create(reader, NULL, reader_stack_bytes);
    if (id < 0)
        return 3;
    while (!__atomic_load_n(&reading, __ATOMIC_ACQUIRE))
        sys_sched_yield();
    if (sys_sbrk(-2 * PAGE_BYTES) < 0)
        return 4;
    __atomic_store_n(&unmapped, 1, __ATOMIC_RELEASE);
    thread_join(id, NULL);
    printf("thread_sees_unmap: stale: the reader loaded the page after it was unmapped\n");
    return 1;
}
