/*
 * user/programs/hostile_sbrk_most_negative.c - sbrk by the most negative increment.
 *
 * sbrk(INTPTR_MIN) at the heap's start and after growing a page: a kernel that negates the
 * increment to check it (-INTPTR_MIN overflows) or adds it with signed arithmetic goes wrong
 * here. Checks itself: -E_INVAL each time, the break unchanged.
 *
 * The kernel must: answer as written; the program exits with 0 after
 * "hostile_sbrk_most_negative: ok".
 * System calls: sbrk, write, exit.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long start = sys_sbrk(0);
    expect("sbrk(INTPTR_MIN) at the heap's start", sys_sbrk(INTPTR_MIN), -E_INVAL);
    expect("sbrk of a page", sys_sbrk(PAGE_SIZE), start);
    expect("sbrk(INTPTR_MIN) a page up", sys_sbrk(INTPTR_MIN), -E_INVAL);
    expect("sbrk(INTPTR_MIN + 1)", sys_sbrk(INTPTR_MIN + 1), -E_INVAL);
    expect("the break stayed a page up", sys_sbrk(0), start + (long)PAGE_SIZE);
    return expect_finish();
}
