/*
 * user/programs/hostile_write_bad_pointers.c - passes write buffers that are not its memory.
 *
 * `hostile_write_bad_pointers [KERNEL_ADDRESS]` calls write with a kernel address (default
 * USER_KERNEL_ADDRESS), NULL, unmapped addresses in the user window (above the break, the stack's
 * guard page), a range that runs from its heap past the break, one that starts below the window,
 * lengths that wrap the address space; then one good write. Checks itself (user/lib/expect.c).
 *
 * The kernel must: answer each bad call with -E_FAULT having written nothing (no byte of kernel
 * memory on the console), and the good one with its length; the program then exits with 0 after
 * "hostile_write_bad_pointers: ok". Never a kernel fault.
 * System calls: write, sbrk, exit.
 */
#include "kernel/base/string.h"
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t kernel = number_argument(argc, argv, 1, USER_KERNEL_ADDRESS);
    /* No malloc in this program: the break is still the heap's start, a page boundary. */
    long heap = sys_sbrk(PAGE_SIZE);
    expect("sbrk of a page", heap > 0, 1);
    if (heap <= 0)
        return expect_finish();
    char *bytes = (char *)heap;
    memset(bytes, 'x', PAGE_SIZE);
    uintptr_t guard = USER_STACK_TOP - USER_MAIN_STACK_BYTES - USER_STACK_GUARD_BYTES;

    expect("write of a kernel address", sys_write(USER_STDOUT, (const void *)kernel, 16), -E_FAULT);
    expect("write of NULL", sys_write(USER_STDOUT, NULL, 16), -E_FAULT);
    expect("write of unmapped memory above the break", sys_write(USER_STDOUT, (const void *)(heap + (16 << 20)), 16),
           -E_FAULT);
    expect("write of the stack's guard page", sys_write(USER_STDOUT, (const void *)(guard + 64), 16), -E_FAULT);
    expect("write running from the heap past the break", sys_write(USER_STDOUT, bytes + PAGE_SIZE - 8, 16), -E_FAULT);
    expect("write starting below the user window", sys_write(USER_STDOUT, (const void *)(USER_WINDOW_START - 8), 16),
           -E_FAULT);
    expect("write whose length wraps the address space", sys_write(USER_STDOUT, bytes, SIZE_MAX), -E_FAULT);
    expect("write at the very top of the address space", sys_write(USER_STDOUT, (const void *)(UINTPTR_MAX - 7), 16),
           -E_FAULT);
    expect("write of a kernel range running into the window",
           sys_write(USER_STDOUT, (const void *)(USER_WINDOW_START - PAGE_SIZE), 2 * PAGE_SIZE), -E_FAULT);

    memcpy(bytes, "(a good write)\n", 15);
    expect("write of its own heap", sys_write(USER_STDOUT, bytes, 15), 15);
    return expect_finish();
}
