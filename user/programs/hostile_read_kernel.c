/*
 * user/programs/hostile_read_kernel.c - reads kernel memory.
 *
 * `hostile_read_kernel [ADDRESS]` loads a word from ADDRESS (default USER_KERNEL_ADDRESS, the
 * kernel's link address; pass an aligned address). The kernel is mapped in every address space
 * without the U bit, so the load faults in U-mode.
 *
 * The kernel must: kill it (wait: WAIT_KILLED, WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a
 * report naming the pid, "hostile_read_kernel", a load page fault, address ADDRESS, the pc in
 * its text, region "kernel"; and stay up, losing no page. Test: pass the address of a kernel
 * variable holding a known value; the "read ..." line must never appear (it would print it).
 * System calls: write, exit (only when the read did not fault: exit code 1).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t address = number_argument(argc, argv, 1, USER_KERNEL_ADDRESS);
    printf("hostile_read_kernel: reading %p\n", (void *)address);
    uintptr_t value = *(volatile const uintptr_t *)address;
    printf("hostile_read_kernel: read %p there: the kernel let a program read its memory\n", (void *)value);
    return 1;
}
