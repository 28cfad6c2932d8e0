/*
 * kernel/top/tour.c - the guided tour's running order (see tour.h).
 */
#include "kernel/top/tour.h"

#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/top/tour_check.h"

unsigned tour_run(void)
{
    tour_checks_begin();
    kprintf("\nrvmem tour: where memory comes from, shown live on hart %u\n", hart_self());
    tour_stack_frames();
    tour_static_layout();
    tour_heap();
    tour_program_break();
    tour_fragmentation();
    tour_cost();
    tour_user_heap();
    unsigned failed = tour_failed_checks();
    kprintf("\ntour: %s (%u check(s) failed)\n", failed ? "FAILED" : "every check held", failed);
    return failed;
}
