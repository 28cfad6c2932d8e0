/*
 * user/programs/hostile_touch_past_break.c - touches the first byte past the break.
 *
 * Grows the heap by one page (the break starts on a page boundary: no malloc here), writes the
 * last byte below the break (which must work: the lazy first touch), then the byte at the break.
 * That page is not the program's: the kernel must not map it on a fault.
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming a
 * store page fault at the break (printed first), region "above the break" (the heap's unmapped
 * part); the heap page given back; no page lost.
 * System calls: sbrk, write, exit (only when the store did not fault: exit code 1).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long start = sys_sbrk(PAGE_SIZE);
    if (start <= 0) {
        printf("hostile_touch_past_break: sbrk: %s\n", error_name((int)start));
        return 2;
    }
    volatile char *heap = (volatile char *)start;
    heap[PAGE_SIZE - 1] = 1;
    printf("hostile_touch_past_break: wrote the last byte below the break; now the break at %p\n",
           (void *)(heap + PAGE_SIZE));
    heap[PAGE_SIZE] = 1;
    printf("hostile_touch_past_break: wrote past the break: the kernel mapped a page it should not have\n");
    return 1;
}
