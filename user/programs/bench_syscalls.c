/*
 * user/programs/bench_syscalls.c - what a system call and a first touch cost, measured from U-mode.
 *
 * `bench_syscalls [COUNT]` measures COUNT (default 1000, at most SAMPLES_MAX) of each, with
 * rdinstret around the one operation (instructions_retired: the kernel sets scounteren.IR), the
 * cost of the measurement itself (two reads back to back, the least seen) taken off:
 *   - syscall_null: getpid, the ecall to the kernel's sret and back;
 *   - user_sbrk_no_page_change: sbrk(16), which moves the break within the heap and maps nothing
 *     (lazy pages: the kernel's default);
 *   - user_heap_first_touch: a store to a heap page never touched before: the page fault, a zeroed
 *     page mapped, the store again (the heap is grown by a page before each, unmeasured).
 * Prints one line per figure, "bench NAME n=N mean100=M p50=A p99=B max=C" (mean100: the mean
 * times 100), which the kernel's benchmark (tests/bench/user.c) reads, and exits 0; exits 1 when a
 * call fails. Counts are exact only under -icount (make bench). System calls: getpid, sbrk, write.
 */
#include "user/lib/runtime.h"

#define SAMPLES_MAX 2000
#define PAGE_BYTES 4096

static uint64_t samples[SAMPLES_MAX];
static uint64_t overhead;

/* The least cost of two reads of the counter back to back: what every sample has in it besides the operation. */
static uint64_t measure_overhead(void)
{
    uint64_t least = UINT64_MAX;
    for (unsigned i = 0; i < 100; i++) {
        uint64_t start = instructions_retired();
        uint64_t end = instructions_retired();
        if (end - start < least)
            least = end - start;
    }
    return least;
}

static uint64_t net(uint64_t start, uint64_t end)
{
    uint64_t spent = end - start;
    return spent > overhead ? spent - overhead : 0;
}

/* Sorts samples[0..count) (insertion sort: small counts, no allocation). */
static void sort(unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        uint64_t value = samples[i];
        unsigned j = i;
        for (; j > 0 && samples[j - 1] > value; j--)
            samples[j] = samples[j - 1];
        samples[j] = value;
    }
}

static void report(const char *name, unsigned count)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < count; i++)
        total += samples[i];
    sort(count);
    printf("bench %s n=%u mean100=%llu p50=%llu p99=%llu max=%llu\n", name, count,
           (unsigned long long)(total * 100 / count), (unsigned long long)samples[count / 2],
           (unsigned long long)samples[count * 99 / 100], (unsigned long long)samples[count - 1]);
}

int main(int argc, char **argv)
{
    unsigned count = (unsigned)number_argument(argc, argv, 1, 1000);
    if (count == 0 || count > SAMPLES_MAX)
        panic("COUNT must be 1..%u", SAMPLES_MAX);
    overhead = measure_overhead();

    for (unsigned i = 0; i < count; i++) {
        uint64_t start = instructions_retired();
        long pid = sys_getpid();
        uint64_t end = instructions_retired();
        if (pid <= 0)
            return 1;
        samples[i] = net(start, end);
    }
    report("syscall_null", count);

    for (unsigned i = 0; i < count; i++) {
        uint64_t start = instructions_retired();
        long old = sys_sbrk(16);
        uint64_t end = instructions_retired();
        if (old < 0)
            return 1;
        samples[i] = net(start, end);
    }
    report("user_sbrk_no_page_change", count);

    for (unsigned i = 0; i < count; i++) {
        long old = sys_sbrk(PAGE_BYTES);
        if (old < 0)
            return 1;
        volatile char *page = (volatile char *)(((uintptr_t)old + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1));
        uint64_t start = instructions_retired();
        *page = 1;
        uint64_t end = instructions_retired();
        samples[i] = net(start, end);
    }
    report("user_heap_first_touch", count);
    return 0;
}
