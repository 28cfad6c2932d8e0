/*
 * user/programs/hostile_write_kernel.c - writes kernel memory.
 *
 * `hostile_write_kernel [ADDRESS]` stores a word to ADDRESS (default USER_KERNEL_ADDRESS, the
 * kernel's link address; pass an aligned address).
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming a
 * store page fault at ADDRESS, region "kernel"; the word at ADDRESS unchanged (test: pass the
 * address of a kernel variable and compare it before and after); no page lost.
 * System calls: write, exit (only when the store did not fault: exit code 1).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t address = number_argument(argc, argv, 1, USER_KERNEL_ADDRESS);
    printf("hostile_write_kernel: writing to %p\n", (void *)address);
    *(volatile uintptr_t *)address = (uintptr_t)0x0badc0de;
    printf("hostile_write_kernel: wrote %p: the kernel let a program change its memory\n", (void *)address);
    return 1;
}
