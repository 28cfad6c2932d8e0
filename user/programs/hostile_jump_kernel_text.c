/*
 * user/programs/hostile_jump_kernel_text.c - calls a kernel function from U-mode.
 *
 * `hostile_jump_kernel_text [ADDRESS]` calls ADDRESS as a function of one string argument, as
 * if it were the kernel's console or panic function (default USER_KERNEL_ADDRESS, the kernel's
 * entry). Run it with the address of a kernel function (kprintf, panic). Kernel text is
 * executable, but not for U-mode: its pages lack the U bit.
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming an
 * instruction page fault at ADDRESS, region "kernel"; the function must not have run (nothing
 * printed by it; with panic, the kernel still up); no page lost.
 * System calls: write, exit (only when the call came back: exit code 1).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t address = number_argument(argc, argv, 1, USER_KERNEL_ADDRESS);
    printf("hostile_jump_kernel_text: calling %p\n", (void *)address);
    ((void (*)(const char *))address)("hostile_jump_kernel_text: this line comes from kernel code\n");
    printf("hostile_jump_kernel_text: came back from %p: the kernel let a program run its code\n", (void *)address);
    return 1;
}
