/*
 * kernel/platform/power.h - ending the run with an exit code.
 *
 * In order of preference: the "sifive,test" finisher found in the device tree
 * (QEMU exits with the code: 0x5555 -> 0, (code << 16) | 0x3333 -> code), else SBI SRST
 * shutdown (cannot report failure on QEMU: its exit status is always 0), else every hart
 * parks. Exit codes used by the runtime are the EXIT_* values below.
 */
#ifndef RVMEM_KERNEL_PLATFORM_POWER_H
#define RVMEM_KERNEL_PLATFORM_POWER_H

#include <stdint.h>

struct fdt;

enum exit_code {
    EXIT_PASS = 0,
    EXIT_TEST_FAILED = 1, /* mode=test: at least one test failed */
    EXIT_PANIC = 2,       /* panic(): a broken invariant or bad input such as a corrupt device tree */
    EXIT_CRASH = 3,       /* an unexpected trap (crash report printed) */
    EXIT_BENCH_FAILED = 4 /* mode=bench: a budget was exceeded */
};

/* Finds the finisher device in the device tree. Before it runs, exits go to SBI. */
void power_init(const struct fdt *fdt);

/* The finisher's register range from its reg (base, bytes): 0, or -E_NOENT when there is none. */
int power_device(uint64_t *base, uint64_t *bytes);

/* A short description of how exit codes leave the machine. */
const char *power_description(void);

/*
 * Ends the run with code (0..0xffff): prints "power: exit CODE" first (the verdict where no
 * exit device exists), then stops the machine. Never returns; safe from any hart.
 */
__attribute__((noreturn)) void power_exit(int code);

#endif
