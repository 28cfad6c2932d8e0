/*
 * kernel/top/tour.h - the guided tour of memory (`make run` without a terminal, the monitor's
 * `tour`): each idea of the runtime shown live, with real addresses and measured numbers.
 *
 *   1. stack frames         kernel/top/tour.c            (frames: kernel/top/tour_frames.c)
 *   2. static allocation    kernel/top/tour.c
 *   3. the heap             kernel/top/tour_heap.c       (box, vec, rc, arc on malloc)
 *   4. the program break    kernel/top/tour.c, then malloc's growth in kernel/top/tour_heap.c
 *   5. fragmentation        kernel/top/tour_fragmentation.c
 *   6. cost                 kernel/top/tour_cost.c
 *
 * Every step also checks what it claims (a frame's measured size is the compiler's, the break
 * comes back, memory coalesces again...) and counts a failed check; the monitor prints them,
 * `make run` exits 1 on any. Boot hart only (hart 0), one tour at a time; each step gives back
 * everything it took. Step 3 runs work on every hart (run_on_all_harts).
 */
#ifndef RVMEM_KERNEL_TOP_TOUR_H
#define RVMEM_KERNEL_TOP_TOUR_H

#include <stdbool.h>
#include <stdint.h>

/* Runs the six steps in order. Returns the number of failed checks (0: all held). */
unsigned tour_run(void);

/* Records one of a step's checks: prints "   check: <what>: yes/NO" and counts a failure. */
void tour_check(bool held, const char *what);

/* Steps in their own files: 3, the malloc half of 4, 5 and 6. */
void tour_heap(void);
void tour_malloc_growth(void);
void tour_fragmentation(void);
void tour_cost(void);

/* Checks failed since the current tour started. */
unsigned tour_failed_checks(void);

/* The retired-instruction counter: exact guest instructions under QEMU -icount shift=0. */
static inline uint64_t tour_instret(void)
{
    uint64_t count;
    __asm__ volatile("rdinstret %0" : "=r"(count)::"memory");
    return count;
}

#endif
