/*
 * user/programs/hostile_execute_stack.c - runs code it wrote onto its stack.
 *
 * Writes a return instruction (c.ret) into a local array, makes it visible to instruction fetch
 * (fence.i) and calls it. The stack is read and write, never execute (W^X).
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming an
 * instruction page fault at the array's address (printed first), region "stack"; no page lost.
 * System calls: write, exit (only when the call came back: exit code 1).
 */
#include "user/lib/runtime.h"

#define COMPRESSED_RETURN 0x8082 /* c.ret: jr ra */

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    volatile uint16_t code[8] = {COMPRESSED_RETURN};
    __asm__ volatile("fence.i" ::: "memory");
    printf("hostile_execute_stack: calling the stack at %p\n", (void *)code);
    ((void (*)(void))(uintptr_t)code)();
    printf("hostile_execute_stack: came back: the stack is executable\n");
    return 1;
}
