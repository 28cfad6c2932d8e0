/*
 * user/programs/hostile_execute_kernel.c - executes kernel memory.
 *
 * `hostile_execute_kernel [ADDRESS]` jumps to ADDRESS (default USER_KERNEL_ADDRESS). Run it with
 * a kernel data address (a variable's, a page of the page allocator's): memory the kernel never
 * executes. hostile_jump_kernel_text aims at the kernel's functions.
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming an
 * instruction page fault, address and pc ADDRESS, region "kernel"; no page lost.
 * System calls: write, exit (only when the jump came back: exit code 1).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t address = number_argument(argc, argv, 1, USER_KERNEL_ADDRESS);
    printf("hostile_execute_kernel: jumping to %p\n", (void *)address);
    ((void (*)(void))address)();
    printf("hostile_execute_kernel: came back from %p: the kernel let a program run its memory\n", (void *)address);
    return 1;
}
