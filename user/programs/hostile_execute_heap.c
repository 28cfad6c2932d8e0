/*
 * user/programs/hostile_execute_heap.c - runs code it wrote into its heap.
 *
 * Grows the heap by a page with sbrk, writes a return instruction (c.ret) at its start, makes it
 * visible to instruction fetch (fence.i) and calls it. The heap is read and write, never
 * execute (W^X). The write itself must work (the first touch of a heap page maps it).
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming an
 * instruction page fault at the page's address (printed first), region "heap"; the heap page
 * given back with the rest; no page lost.
 * System calls: write, sbrk, exit (only when the call came back: exit code 1).
 */
#include "user/lib/runtime.h"

#define COMPRESSED_RETURN 0x8082 /* c.ret: jr ra */

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long page = sys_sbrk(PAGE_SIZE);
    if (page <= 0) {
        printf("hostile_execute_heap: sbrk: %s\n", error_name((int)page));
        return 2;
    }
    volatile uint16_t *code = (volatile uint16_t *)page;
    code[0] = COMPRESSED_RETURN;
    __asm__ volatile("fence.i" ::: "memory");
    printf("hostile_execute_heap: calling the heap at %p\n", (void *)code);
    ((void (*)(void))(uintptr_t)code)();
    printf("hostile_execute_heap: came back: the heap is executable\n");
    return 1;
}
