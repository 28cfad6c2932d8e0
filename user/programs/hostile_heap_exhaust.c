/*
 * user/programs/hostile_heap_exhaust.c - grows its heap and touches every page until memory ends.
 *
 * `hostile_heap_exhaust [STEP_KIB]` grows the break by STEP_KIB (default 64) KiB at a time and
 * writes a byte to each new page, until sbrk fails, then gives it all back. Checks itself.
 *
 * The kernel must do one of two things, and keep its reserve either way (the other processes and
 * the monitor keep working, no page lost once it has ended):
 *   - refuse the growth: sbrk gets -E_NOMEM (the heap limit, or no memory when heap pages are
 *     allocated eagerly), the program gives its heap back and exits with 0 after
 *     "hostile_heap_exhaust: ok";
 *   - or, with lazy heap pages, find no page for a touch: kill it (WAIT_KILL_CAUSE ==
 *     USER_KILL_REQUESTED) with a report that says out of memory, the address and region "heap".
 * System calls: sbrk, write, exit.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t step = number_argument(argc, argv, 1, 64) * 1024;
    if (step == 0 || step % PAGE_SIZE != 0) {
        printf("hostile_heap_exhaust: the step must be a multiple of 4 KiB\n");
        return 2;
    }
    long start = sys_sbrk(0);
    uintptr_t grown = 0;
    long result;
    for (;;) {
        result = sys_sbrk((intptr_t)step);
        if (result <= 0) /* 0 is no break either: the heap is never at address 0 */
            break;
        for (uintptr_t offset = 0; offset < step; offset += PAGE_SIZE)
            ((volatile char *)result)[offset] = 1;
        grown += step;
        if (grown % (16u << 20) == 0)
            printf("hostile_heap_exhaust: %lu MiB touched\n", (unsigned long)(grown >> 20));
    }
    printf("hostile_heap_exhaust: sbrk said %s after %lu KiB\n", error_name((int)result), (unsigned long)(grown >> 10));
    expect("sbrk past what it may have", result, -E_NOMEM);
    expect("the break did not move on the failure", sys_sbrk(0), start + (long)grown);
    expect("giving it all back", sys_sbrk(-(intptr_t)grown), start + (long)grown);
    expect("the break is back at the start", sys_sbrk(0), start);
    return expect_finish();
}
