/*
 * user/lib/runtime.h - what a user program gets from its runtime (docs/USER.md).
 *
 * A program defines main(argc, argv) and links with the runtime, which provides:
 *   - the start (user/lib/crt0.S, start.c): gp and tp set, the canary seeded, malloc bound if the
 *     program uses it, main called with the arguments the kernel placed on the stack, and its
 *     result passed to exit;
 *   - the system calls (user/lib/syscall.h: sys_write, sys_exit, sys_sbrk, sys_spawn, ...);
 *   - printf and snprintf (kernel/base/printf.c compiled for U-mode: its formats, a line of at
 *     most 255 bytes per printf);
 *   - malloc and the rest of the C allocation functions (lib/malloc/, bound to the sbrk system
 *     call by user/lib/malloc_user.c), and lib/'s box, vec, rc and arc;
 *   - panic (kernel/base/platform.h): the message, then exit with USER_EXIT_PANIC.
 * Threads, their mutex and condition variable: user/lib/thread.h. Every function here may be
 * called from any thread (malloc keeps a cache per thread; printf is one write per call).
 */
#ifndef RVMEM_USER_LIB_RUNTIME_H
#define RVMEM_USER_LIB_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/user_abi.h"
/* malloc, free, calloc, realloc, ...: lib/malloc/malloc_std.h; their memory comes from the sbrk system call,
   set up before main. */
#include "lib/malloc/malloc_std.h"
#include "user/lib/syscall.h"

/* The program: argc >= 1 arguments, argv[0] its name, argv[argc] NULL. Its result is the exit status. */
int main(int argc, char **argv);

/*
 * A kernel address for the hostile programs to aim at when not given one: the kernel's link
 * address (the Makefile's LOAD_ADDR; the kernel may run elsewhere, so tests pass the address of
 * a kernel symbol as an argument instead).
 */
#ifndef USER_KERNEL_ADDRESS
#define USER_KERNEL_ADDRESS 0x80200000UL
#endif

/* The program's name (argv[0]), set before main. */
extern const char *user_program_name;

/* Ends the process with status (what a return from main does). */
__attribute__((noreturn)) void exit(int status);

/* Formatted output to the console (USER_STDOUT), as kprintf (kernel/base/printf.h): one write per call. */
__attribute__((format(printf, 1, 2))) int printf(const char *format, ...);

/* Formats into buffer (size bytes, NUL-terminated when size > 0); returns the full output's length. */
__attribute__((format(printf, 3, 4))) int snprintf(char *buffer, size_t size, const char *format, ...);

/* Writes text and a newline to the console. Returns 0, or the negative error of the write. */
int puts(const char *text);

/*
 * Reads an unsigned number: decimal, or hexadecimal after 0x. Returns 0 and stores it in *value,
 * or -E_INVAL (not a number, trailing characters, or NULL) or -E_RANGE (too large), *value unchanged.
 */
int parse_unsigned(const char *text, uintptr_t *value);

/* argv[index] as a number (parse_unsigned) when the program has that argument, else fallback;
   a malformed one is a panic that names it. */
uintptr_t number_argument(int argc, char **argv, int index, uintptr_t fallback);

/*
 * For programs that check themselves (the hostile programs): prints "NAME: ok: what" when got
 * equals want, else "NAME: FAILED: what: got G (E_...), want W" and counts the failure (NAME is
 * argv[0]). expect_finish prints the verdict and returns the exit status: 0 when nothing failed, 1.
 */
void expect(const char *what, long got, long want);
int expect_finish(void);

/*
 * How many times malloc has asked the kernel to move the break (its sbrk system calls, set-up's
 * included, failed ones too). A program's own view of when its malloc calls sbrk, with no system
 * call to ask: the benchmarks read it around a call without disturbing the count.
 */
unsigned long malloc_sbrk_calls(void);

#endif
