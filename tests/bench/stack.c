/*
 * tests/bench/stack.c - the seed's first claim: allocating on the stack is a stack-pointer move.
 *
 * Each frame_* function holds a local array of the given size. Calling it costs the call,
 * one stack-pointer subtraction (two instructions when the size does not fit addi's
 * 12-bit immediate), one store that touches the array, the matching addition and the
 * return: the same handful of instructions whatever the size. -fstack-protector-strong adds
 * its canary to every frame holding an array (stored on entry, checked on return); the call with
 * no locals is not instrumented.
 */
#include "tests/harness/kbench.h"
#include "kernel/base/platform.h"

#define STACK_BENCH_CALLS 1000

__attribute__((noinline)) static void frame_empty(void)
{
    __asm__ volatile("" ::: "memory");
}

#define DEFINE_FRAME(name, bytes)                                                                                      \
    __attribute__((noinline)) static void name(void)                                                                   \
    {                                                                                                                  \
        char array[bytes];                                                                                             \
        array[0] = 1;                                                                                                  \
        __asm__ volatile("" : : "r"(array) : "memory"); /* the array must exist and be written */                      \
    }

DEFINE_FRAME(frame_16_bytes, 16)
DEFINE_FRAME(frame_256_bytes, 256)
DEFINE_FRAME(frame_4096_bytes, 4096)

static void measure_calls(void (*function)(void))
{
    for (unsigned i = 0; i < STACK_BENCH_CALLS; i++) {
        uint64_t start = kbench_start();
        function();
        kbench_stop(start);
    }
}

KBENCH(measurement_overhead, 0, 0)
{
    /* Raw cost of reading the counter twice: what kbench_stop() subtracts from every figure. */
    for (unsigned i = 0; i < STACK_BENCH_CALLS; i++) {
        uint64_t start = instructions_retired();
        uint64_t end = instructions_retired();
        kbench_record(end - start);
    }
}

KBENCH(stack_call_no_locals, 0, 0)
{
    measure_calls(frame_empty);
}

/* Budgets: regression guards (docs/BENCHMARKS.md, "Budgets and goals"). */
KBENCH(stack_frame_16B, 28, 28)
{
    measure_calls(frame_16_bytes);
}

KBENCH(stack_frame_256B, 28, 28)
{
    measure_calls(frame_256_bytes);
}

KBENCH(stack_frame_4KiB, 36, 36)
{
    measure_calls(frame_4096_bytes);
}
