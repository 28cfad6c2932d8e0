/*
 * kernel/top/tour_cost.c - tour step 6: what each kind of allocation costs, measured now with
 * rdinstret. Exact guest instructions only under QEMU -icount shift=0 (`./qemu.sh -i`, which also
 * puts the word icount in the bootargs: `make run`, on a terminal or not, unless ICOUNT=0);
 * without it rdinstret reads the host's clock, and the step says so instead of checking exactness.
 */
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/sbrk.h"
#include "kernel/base/printf.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"
#include "lib/malloc/malloc.h"
#include "kernel/top/malloc_binding.h"

#define COST_SAMPLES 64
#define SBRK_SMALL_BYTES 16

static uint64_t samples[COST_SAMPLES];
static uint64_t measurement_overhead;

__attribute__((noinline, noclone)) static void frame_16_bytes(void)
{
    char array[16];
    array[0] = 1;
    __asm__ volatile("" : : "r"(array) : "memory");
}

__attribute__((noinline, noclone)) static void frame_4096_bytes(void)
{
    char array[4096];
    array[0] = 1;
    __asm__ volatile("" : : "r"(array) : "memory");
}

static void sort_samples(unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        uint64_t value = samples[i];
        unsigned j = i;
        for (; j > 0 && samples[j - 1] > value; j--)
            samples[j] = samples[j - 1];
        samples[j] = value;
    }
}

static void print_row(const char *operation, unsigned count)
{
    sort_samples(count);
    kprintf("   %-40s %6llu %7llu %6llu\n", operation, (unsigned long long)samples[0],
            (unsigned long long)samples[count / 2], (unsigned long long)samples[count - 1]);
}

/* Instructions since start, without the cost of reading the counter twice. */
static uint64_t since(uint64_t start)
{
    uint64_t elapsed = instructions_retired() - start;
    return elapsed > measurement_overhead ? elapsed - measurement_overhead : 0;
}

static void measure_call(const char *operation, void (*function)(void))
{
    for (unsigned i = 0; i < COST_SAMPLES; i++) {
        uint64_t start = instructions_retired();
        function();
        samples[i] = since(start);
    }
    print_row(operation, COST_SAMPLES);
}

static void measure_sbrk(void)
{
    sbrk(SBRK_SMALL_BYTES); /* the first move claims a page; the measured ones stay inside it */
    for (unsigned i = 0; i < COST_SAMPLES; i++) {
        uint64_t start = instructions_retired();
        sbrk(SBRK_SMALL_BYTES);
        samples[i] = since(start);
    }
    sbrk(-(intptr_t)SBRK_SMALL_BYTES * (COST_SAMPLES + 1));
    print_row("sbrk(16), inside the heap's last page", COST_SAMPLES);
    unsigned grown = 0;
    for (unsigned i = 0; i < COST_SAMPLES / 4; i++) {
        uint64_t start = instructions_retired();
        void *previous = sbrk(PAGE_SIZE);
        samples[i] = since(start);
        grown += previous != (void *)-1;
    }
    sbrk(-(intptr_t)PAGE_SIZE * grown);
    print_row("sbrk(4096): claims and zeroes a page", COST_SAMPLES / 4);
}

static void measure_pages(unsigned order)
{
    static void *blocks[COST_SAMPLES];
    for (unsigned i = 0; i < COST_SAMPLES; i++) {
        uint64_t start = instructions_retired();
        blocks[i] = page_alloc(order);
        samples[i] = since(start);
    }
    char operation[48];
    ksnprintf(operation, sizeof operation, "page_alloc(%u): %u KiB from the buddy", order, 4u << order);
    print_row(operation, COST_SAMPLES);
    for (unsigned i = 0; i < COST_SAMPLES; i++) {
        uint64_t start = instructions_retired();
        page_free(blocks[COST_SAMPLES - 1 - i], order);
        samples[i] = since(start);
    }
    ksnprintf(operation, sizeof operation, "page_free(order %u)", order);
    print_row(operation, COST_SAMPLES);
}

static void measure_malloc(size_t bytes)
{
    static void *blocks[COST_SAMPLES];
    free(malloc(bytes)); /* the first call may grow the heap: measure the steady state */
    for (unsigned i = 0; i < COST_SAMPLES; i++) {
        uint64_t start = instructions_retired();
        blocks[i] = malloc(bytes);
        samples[i] = since(start);
    }
    char operation[48];
    ksnprintf(operation, sizeof operation, "malloc(%u)", (unsigned)bytes);
    print_row(operation, COST_SAMPLES);
    for (unsigned i = 0; i < COST_SAMPLES; i++) {
        uint64_t start = instructions_retired();
        free(blocks[COST_SAMPLES - 1 - i]);
        samples[i] = since(start);
    }
    ksnprintf(operation, sizeof operation, "free(a %u-byte block)", (unsigned)bytes);
    print_row(operation, COST_SAMPLES);
    rvmem_malloc_trim(); /* the tour gives back what it took, heap pages included */
}

void tour_cost(void)
{
    kprintf("\n6. Cost: instructions per operation, measured now (rdinstret, %u samples each)\n", COST_SAMPLES);
    measurement_overhead = UINT64_MAX;
    for (unsigned i = 0; i < 16; i++) {
        uint64_t start = instructions_retired();
        uint64_t elapsed = instructions_retired() - start;
        if (elapsed < measurement_overhead)
            measurement_overhead = elapsed;
    }
    kprintf("   %-40s %6s %7s %6s\n", "operation", "min", "median", "max");
    measure_call("stack: call + return, 16-byte frame", frame_16_bytes);
    measure_call("stack: call + return, 4 KiB frame", frame_4096_bytes);
    measure_sbrk();
    measure_pages(0);
    measure_pages(4);
    measure_malloc(32);
    measure_malloc(4096);
    if (!tour_counts_are_exact()) {
        kprintf("   (QEMU runs without -icount here: these are host clock ticks, not instructions, and vary from\n"
                "    run to run. Exact counts: `make run ICOUNT=1` for the monitor, `make run < /dev/null` for the\n"
                "    tour alone, or `./qemu.sh -i`)\n");
        return;
    }
    kprintf("   (exact guest instructions: QEMU runs with -icount shift=0)\n");
    uint64_t start = instructions_retired();
    frame_16_bytes();
    uint64_t first = since(start);
    start = instructions_retired();
    frame_16_bytes();
    tour_check(first == since(start), "the same call counts the same instructions twice (exact counting)");
}
