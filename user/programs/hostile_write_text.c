/*
 * user/programs/hostile_write_text.c - writes its own code.
 *
 * Stores a byte over the first byte of main, the byte that is already there. Text is mapped
 * read and execute, never write (W^X).
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming a
 * store page fault at the address of main (printed first), region "text"; no page lost.
 * System calls: write, exit (only when the store did not fault: exit code 1).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    volatile uint8_t *text = (volatile uint8_t *)(uintptr_t)main;
    printf("hostile_write_text: writing to main at %p\n", (void *)text);
    uint8_t first = text[0];
    text[0] = first; /* the byte that is there: harmless, were the store allowed */
    printf("hostile_write_text: wrote its own text: text is writable\n");
    return 1;
}
