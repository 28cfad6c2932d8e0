/*
 * kernel/top/tour_frames.h - the tour's nested calls, each recording where its frame is, and the
 * compiler's own frame sizes for them (a table generated at build time from the -fstack-usage
 * report of kernel/top/tour_frames.c by tools/build_figures.py).
 *
 * A function's frame is what it subtracts from sp on entry, so the distance between the sp
 * seen in a caller and the sp seen in its callee is exactly the callee's frame: the tour and
 * tests/kernel_tour.c compare that distance with what GCC wrote in tour_frames.c.su.
 */
#ifndef RVMEM_KERNEL_TOP_TOUR_FRAMES_H
#define RVMEM_KERNEL_TOP_TOUR_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define TOUR_FRAME_DEPTH 3

/* What one descent recorded: the sp each level saw, outermost first, and their local arrays. */
struct tour_frame_trace {
    uintptr_t stack_pointer[TOUR_FRAME_DEPTH];
    uintptr_t local_array[TOUR_FRAME_DEPTH];
    const char *function[TOUR_FRAME_DEPTH];
    const void *entry[TOUR_FRAME_DEPTH]; /* the function's first instruction */
};

/*
 * Calls tour_frame_middle, which calls tour_frame_inner, each filling its entry of *trace.
 * The caller should record its own sp just before the call (tour_current_sp): the first
 * distance is then tour_frame_outer's frame. Any hart; uses about 1.5 KiB of stack.
 */
void tour_frame_outer(struct tour_frame_trace *trace);

/* The calling function's stack pointer (read after its prologue, so constant in its body). */
static inline uintptr_t tour_current_sp(void)
{
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    return sp;
}

/* One function's frame as GCC reported it (-fstack-usage): name and bytes. */
struct tour_compiler_frame {
    const char *function;
    unsigned long bytes;
    const char *kind; /* "static", "dynamic", "dynamic,bounded" */
};

/* The build's table (build/build_figures.c): every function of kernel/top/tour_frames.c. */
extern const struct tour_compiler_frame tour_compiler_frames[];
extern const unsigned tour_compiler_frame_count;

/* The compiler's frame size of function, or 0 when the table has no such function. */
unsigned long tour_compiler_frame_bytes(const char *function);

#endif
