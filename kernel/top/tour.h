/*
 * kernel/top/tour.h - the guided tour of memory (`make run` without a terminal, the monitor's
 * `tour`): each idea of the runtime shown live, with real addresses and measured numbers.
 *
 *   1. stack frames         kernel/top/tour_stack_frames.c  (the frames: kernel/top/tour_frames.c)
 *   2. static allocation    kernel/top/tour_static_layout.c
 *   3. the heap             kernel/top/tour_heap.c          (box, vec, rc, arc on malloc)
 *   4. the program break    kernel/top/tour_program_break.c (sbrk, then malloc growing the break)
 *   5. fragmentation        kernel/top/tour_fragmentation.c
 *   6. cost                 kernel/top/tour_cost.c
 *   7. a program's heap     kernel/top/tour_user_heap.c     (malloc in U-mode, sbrk, the first touch)
 *
 * Every step also checks what it claims (a frame's measured size is the compiler's, the break
 * comes back, memory coalesces again...) and counts a failed check (kernel/top/tour_check.h); the
 * monitor prints them,
 * `make run` exits 1 on any. Boot hart only (hart 0), one tour at a time; each step gives back
 * everything it took. Step 3 runs work on every hart (run_on_all_harts); step 7 runs a program on
 * this hart (skipped without paging).
 */
#ifndef RVMEM_KERNEL_TOP_TOUR_H
#define RVMEM_KERNEL_TOP_TOUR_H

/* Runs the seven steps in order. Returns the number of failed checks (0: all held). */
unsigned tour_run(void);

/* The steps, one file each (kernel/top/tour_<step>.c), in the order tour_run takes them. */
void tour_stack_frames(void);
void tour_static_layout(void);
void tour_heap(void);
void tour_program_break(void);
void tour_fragmentation(void);
void tour_cost(void);
void tour_user_heap(void);

#endif
