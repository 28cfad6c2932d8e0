/*
 * kernel/top/tour_check.h - what every step of the tour shares: its checks (see tour.h).
 *
 * Boot hart only, one tour at a time.
 */
#ifndef RVMEM_KERNEL_TOP_TOUR_CHECK_H
#define RVMEM_KERNEL_TOP_TOUR_CHECK_H

#include <stdbool.h>

/* Starts counting a new tour's checks from zero. */
void tour_checks_begin(void);

/* Records one of a step's checks: prints "   check: <what>: yes/NO" and counts a failure. */
void tour_check(bool held, const char *what);

/* Checks failed since tour_checks_begin. */
unsigned tour_failed_checks(void);

/*
 * Whether rdinstret counts exact guest instructions here: ./qemu.sh -i runs QEMU with
 * -icount shift=0 and says so in the bootargs (the word icount). Otherwise it reads the host's clock.
 */
bool tour_counts_are_exact(void);

#endif
