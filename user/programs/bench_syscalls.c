/*
 * user/programs/bench_syscalls.c - what a system call and a first touch cost, measured from U-mode.
 *
 * `bench_syscalls [COUNT]` measures COUNT (default 1000, at most SAMPLES_MAX) of each, with
 * rdinstret around the one operation, the cost of the measurement taken off (user/lib/bench.h):
 *   - syscall_null: getpid, the ecall to the kernel's sret and back;
 *   - user_sbrk_no_page_change: sbrk(16), which moves the break within the heap and maps nothing
 *     (lazy pages: the kernel's default);
 *   - user_heap_first_touch: a store to a heap page never touched before: the page fault, a zeroed
 *     page mapped, the store again (the heap is grown by a page before each, unmeasured).
 * Prints one "bench NAME ..." line per figure (user/lib/bench.h), which the kernel's benchmark
 * (tests/bench/user.c) reads, and exits 0; exits 1 when a call fails. System calls: getpid, sbrk,
 * write.
 */
#include "user/lib/bench.h"
#include "user/lib/runtime.h"

#define SAMPLES_MAX 2000
#define PAGE_BYTES 4096

static uint64_t samples[SAMPLES_MAX];

int main(int argc, char **argv)
{
    unsigned count = (unsigned)number_argument(argc, argv, 1, 1000);
    if (count == 0 || count > SAMPLES_MAX)
        panic("COUNT must be 1..%u", SAMPLES_MAX);
    struct bench_meter meter = bench_meter_start();

    for (unsigned i = 0; i < count; i++) {
        uint64_t start = instructions_retired();
        long pid = sys_getpid();
        uint64_t end = instructions_retired();
        if (pid <= 0)
            return 1;
        samples[i] = bench_net(&meter, start, end);
    }
    bench_report("syscall_null", samples, count);

    for (unsigned i = 0; i < count; i++) {
        uint64_t start = instructions_retired();
        long old = sys_sbrk(16);
        uint64_t end = instructions_retired();
        if (old < 0)
            return 1;
        samples[i] = bench_net(&meter, start, end);
    }
    bench_report("user_sbrk_no_page_change", samples, count);

    for (unsigned i = 0; i < count; i++) {
        long old = sys_sbrk(PAGE_BYTES);
        if (old < 0)
            return 1;
        volatile char *page = (volatile char *)(((uintptr_t)old + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1));
        uint64_t start = instructions_retired();
        *page = 1;
        uint64_t end = instructions_retired();
        samples[i] = bench_net(&meter, start, end);
    }
    bench_report("user_heap_first_touch", samples, count);
    return 0;
}
