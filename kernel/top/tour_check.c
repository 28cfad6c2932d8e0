/*
 * kernel/top/tour_check.c - the tour's checks: each step states what it claims and whether it held.
 */
#include "kernel/top/tour_check.h"

#include "kernel/base/printf.h"
#include "kernel/platform/bootargs.h"
#include "kernel/top/boot.h"

static unsigned failed_checks;

void tour_checks_begin(void)
{
    failed_checks = 0;
}

void tour_check(bool held, const char *what)
{
    kprintf("   check: %s: %s\n", what, held ? "yes" : "NO");
    if (!held)
        failed_checks++;
}

unsigned tour_failed_checks(void)
{
    return failed_checks;
}

bool tour_counts_are_exact(void)
{
    return bootargs_has(boot_arguments(), "icount");
}
