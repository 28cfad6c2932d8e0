/*
 * user/programs/hostile_sbrk_below_start.c - shrinks the heap below its start.
 *
 * The break starts at the heap's start (this program has no malloc). sbrk(-1) there, sbrk of two
 * pages back after growing one, brk below the start and into its own text. Checks itself: each
 * gets -E_INVAL with the break unchanged; shrinking exactly to the start works.
 *
 * The kernel must: answer as written (nothing unmapped that is below the heap: text, data and
 * bss intact); the program exits with 0 after "hostile_sbrk_below_start: ok".
 * System calls: sbrk, brk, write, exit.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long start = sys_sbrk(0);
    expect("brk(NULL) tells the break", sys_brk(NULL), start);
    expect("sbrk(-1) at the heap's start", sys_sbrk(-1), -E_INVAL);
    expect("sbrk of a page", sys_sbrk(PAGE_SIZE), start);
    expect("sbrk of two pages back", sys_sbrk(-2 * (intptr_t)PAGE_SIZE), -E_INVAL);
    expect("the break stayed a page up", sys_sbrk(0), start + (long)PAGE_SIZE);
    expect("brk one byte below the start", sys_brk((void *)(start - 1)), -E_INVAL);
    expect("brk into its own text", sys_brk((void *)(uintptr_t)main), -E_INVAL);
    expect("sbrk of the page back", sys_sbrk(-(intptr_t)PAGE_SIZE), start + (long)PAGE_SIZE);
    expect("the break is at the start again", sys_sbrk(0), start);
    expect("its code still runs and its data is intact", user_program_name[0] != 0, 1);
    return expect_finish();
}
