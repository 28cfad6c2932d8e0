/*
 * kernel/proc/programs.h - the user programs embedded in the kernel image (there is no file system).
 *
 * The Makefile builds every program of user/programs/ for U-mode and tools/user_programs.py
 * writes build/user_programs.S, which includes each one's ELF file whole (.incbin) and lists
 * them in user_programs[], in name order. The kernel starts a program by its name
 * (user_program_find) and hands its bytes to the ELF loader (kernel/proc/elf.h). The host tests
 * link the same table, so the loader is tested on the real programs everywhere.
 */
#ifndef RVMEM_KERNEL_PROC_PROGRAMS_H
#define RVMEM_KERNEL_PROC_PROGRAMS_H

#include <stddef.h>
#include <stdint.h>

struct user_program {
    const char *name;     /* the file's or folder's name in user/programs/, e.g. "hello" */
    const uint8_t *bytes; /* the ELF file (16-byte aligned, read-only) */
    size_t size;          /* its bytes */
};

/* Every embedded program, in name order, and how many there are. */
extern const struct user_program user_programs[];
extern const size_t user_program_count;

/* The program called name, or NULL when there is none (name NULL included). O(programs). */
const struct user_program *user_program_find(const char *name);

#endif
