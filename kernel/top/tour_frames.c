/*
 * kernel/top/tour_frames.c - three nested calls with local arrays of different sizes, for tour
 * step 1 (see tour_frames.h). Kept in a file of their own so that the build can turn this
 * file's -fstack-usage report into the table the tour compares against.
 */
#include "kernel/top/tour_frames.h"

#include "kernel/base/string.h"

/* Keeps an array alive and written, so the compiler must give it room in the frame. */
#define USE_ARRAY(array)                                                                                               \
    do {                                                                                                               \
        memset((array), 0x5a, sizeof(array));                                                                          \
        __asm__ volatile("" : : "r"(array) : "memory");                                                                \
    } while (0)

__attribute__((noinline, noclone)) static void tour_frame_inner(struct tour_frame_trace *trace)
{
    char line_buffer[1024];
    USE_ARRAY(line_buffer);
    trace->stack_pointer[2] = tour_current_sp();
    trace->local_array[2] = (uintptr_t)line_buffer;
    trace->function[2] = __func__;
    trace->entry[2] = (const void *)tour_frame_inner;
}

__attribute__((noinline, noclone)) static void tour_frame_middle(struct tour_frame_trace *trace)
{
    uint64_t samples[32];
    USE_ARRAY(samples);
    trace->stack_pointer[1] = tour_current_sp();
    trace->local_array[1] = (uintptr_t)samples;
    trace->function[1] = __func__;
    trace->entry[1] = (const void *)tour_frame_middle;
    tour_frame_inner(trace);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame must still exist */
}

__attribute__((noinline, noclone)) void tour_frame_outer(struct tour_frame_trace *trace)
{
    char name[24];
    USE_ARRAY(name);
    trace->stack_pointer[0] = tour_current_sp();
    trace->local_array[0] = (uintptr_t)name;
    trace->function[0] = __func__;
    trace->entry[0] = (const void *)tour_frame_outer;
    tour_frame_middle(trace);
    __asm__ volatile("" ::: "memory");
}

unsigned long tour_compiler_frame_bytes(const char *function)
{
    for (unsigned i = 0; i < tour_compiler_frame_count; i++)
        if (strcmp(tour_compiler_frames[i].function, function) == 0)
            return tour_compiler_frames[i].bytes;
    return 0;
}
