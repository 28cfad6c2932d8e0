/*
 * user/programs/hostile_sbrk_wrap.c - sbrk increments whose sum with the break wraps.
 *
 * A positive increment cannot carry the break past the top of the address space (the break is
 * below 2^38, or 2^31 on rv32), but a kernel that adds with signed arithmetic overflows on
 * INTPTR_MAX, and a negative increment larger than the break wraps below zero to the top of the
 * address space, which an "is it above the start" check alone accepts. Checks itself: INTPTR_MAX
 * and INTPTR_MAX - the break get -E_NOMEM; -(break + a page), -break and a page - break get
 * -E_INVAL; the break never moves.
 *
 * The kernel must: answer as written; the program exits with 0 after "hostile_sbrk_wrap: ok".
 * System calls: sbrk, write, exit.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long start = sys_sbrk(0);
    expect("sbrk(INTPTR_MAX)", sys_sbrk(INTPTR_MAX), -E_NOMEM);
    expect("sbrk(INTPTR_MAX - break)", sys_sbrk(INTPTR_MAX - start), -E_NOMEM);
    expect("sbrk(-(break + a page)): wraps below zero", sys_sbrk(-(start + (long)PAGE_SIZE)), -E_INVAL);
    expect("sbrk(-break): to address zero", sys_sbrk(-start), -E_INVAL);
    expect("sbrk(a page - break): to address 4096", sys_sbrk((long)PAGE_SIZE - start), -E_INVAL);
    expect("the break never moved", sys_sbrk(0), start);
    return expect_finish();
}
