/*
 * user/programs/hostile_sbrk_huge.c - asks sbrk and brk for more than any heap may have.
 *
 * sbrk by a quarter of the address space, by the whole rest of the user window, brk to the top
 * of the window and into the stack. Checks itself: each gets -E_NOMEM and the break stays where
 * it was; then a page still works.
 *
 * The kernel must: answer as written (nothing mapped, nothing reserved, the break unchanged);
 * the program exits with 0 after "hostile_sbrk_huge: ok".
 * System calls: sbrk, brk, write, exit.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long start = sys_sbrk(0);
    intptr_t quarter = (intptr_t)1 << (sizeof(intptr_t) * 8 - 2);
    expect("sbrk by a quarter of the address space", sys_sbrk(quarter), -E_NOMEM);
    expect("sbrk up to the end of the user window", sys_sbrk((intptr_t)(USER_WINDOW_END - (uintptr_t)start)), -E_NOMEM);
    expect("brk to the end of the user window", sys_brk((void *)USER_WINDOW_END), -E_NOMEM);
    expect("brk into the main stack", sys_brk((void *)(USER_STACK_TOP - USER_MAIN_STACK_BYTES)), -E_NOMEM);
    expect("the break did not move", sys_sbrk(0), start);
    expect("a page still comes", sys_sbrk(PAGE_SIZE), start);
    expect("and goes back", sys_sbrk(-(intptr_t)PAGE_SIZE), start + (long)PAGE_SIZE);
    return expect_finish();
}
