/*
 * user/programs/tour_heap_growth.c - the tour's program (kernel/top/tour_user_heap.c): its malloc
 * grows the heap with sbrk, and a first touch faults a page in.
 *
 * Goes step by step, printing one "step N key=value ..." line after each and yielding, so the
 * kernel's tour (which runs it on its own hart, slice by slice) can look at its address space
 * between the steps:
 *   step 1  the heap as malloc set it up before main: the break, malloc's sbrk calls so far;
 *   step 2  malloc(BLOCK_BYTES) with neither cache nor heap room: malloc calls sbrk, the break
 *           moves; the block, the break before and after, the sbrk calls it made, its instructions;
 *   step 3  the page it is about to touch: in the middle of the block, never written yet;
 *   step 4  the store to that page (the page fault, a zeroed page mapped, the store again): its
 *           instructions;
 *   step 5  the rest of the seed's cost ladder, each the least of SAMPLES: a call with a 16-byte
 *           stack frame, malloc(32) from a warm cache, sbrk(16) (a system call, no page).
 * Instructions are rdinstret around the one operation, the counter's own cost taken off; exact
 * only under -icount. Then frees the block and exits 0 (1 when malloc fails).
 */
#include "user/lib/runtime.h"

#define BLOCK_BYTES (256 * 1024)
#define PAGE_BYTES 4096
#define SAMPLES 16

static uint64_t overhead;

static uint64_t since(uint64_t start)
{
    uint64_t spent = instructions_retired() - start;
    return spent > overhead ? spent - overhead : 0;
}

/* A call and return with a 16-byte array in its frame (noinline, noclone: a real call). */
__attribute__((noinline, noclone)) static void frame_16_bytes(void)
{
    char array[16];
    array[0] = 1;
    __asm__ volatile("" : : "r"(array) : "memory");
}

static uint64_t least_frame(void)
{
    uint64_t least = UINT64_MAX;
    for (unsigned i = 0; i < SAMPLES; i++) {
        uint64_t start = instructions_retired();
        frame_16_bytes();
        uint64_t spent = since(start);
        least = spent < least ? spent : least;
    }
    return least;
}

static uint64_t least_warm_malloc(void)
{
    uint64_t least = UINT64_MAX;
    for (unsigned i = 0; i < SAMPLES; i++) {
        free(malloc(32)); /* the cache holds a block of the class now */
        uint64_t start = instructions_retired();
        void *block = malloc(32);
        uint64_t spent = since(start);
        __asm__ volatile("" : : "r"(block) : "memory");
        free(block);
        least = spent < least ? spent : least;
    }
    return least;
}

static uint64_t least_sbrk(void)
{
    uint64_t least = UINT64_MAX;
    for (unsigned i = 0; i < SAMPLES; i++) {
        uint64_t start = instructions_retired();
        long old = sys_sbrk(16);
        uint64_t spent = since(start);
        if (old >= 0)
            sys_sbrk(-16);
        least = spent < least ? spent : least;
    }
    return least;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    overhead = UINT64_MAX;
    for (unsigned i = 0; i < SAMPLES; i++) {
        uint64_t start = instructions_retired();
        uint64_t spent = instructions_retired() - start;
        overhead = spent < overhead ? spent : overhead;
    }

    printf("step 1 break=0x%lx sbrk_calls=%lu\n", (unsigned long)sys_sbrk(0), malloc_sbrk_calls());
    sys_sched_yield();

    long break_before = sys_sbrk(0);
    unsigned long calls_before = malloc_sbrk_calls();
    uint64_t start = instructions_retired();
    char *block = malloc(BLOCK_BYTES);
    uint64_t malloc_instructions = since(start);
    if (block == NULL)
        return 1;
    printf("step 2 block=0x%lx break_before=0x%lx break_after=0x%lx sbrk_calls=%lu instructions=%llu\n",
           (unsigned long)block, (unsigned long)break_before, (unsigned long)sys_sbrk(0),
           malloc_sbrk_calls() - calls_before, (unsigned long long)malloc_instructions);
    sys_sched_yield();

    volatile char *page =
        (volatile char *)(((uintptr_t)block + BLOCK_BYTES / 2 + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1));
    printf("step 3 page=0x%lx\n", (unsigned long)page);
    sys_sched_yield();

    start = instructions_retired();
    *page = 1;
    uint64_t touch_instructions = since(start);
    printf("step 4 instructions=%llu\n", (unsigned long long)touch_instructions);
    sys_sched_yield();

    uint64_t frame = least_frame(), warm = least_warm_malloc(), sbrk_small = least_sbrk();
    printf("step 5 stack_frame=%llu malloc_warm=%llu sbrk=%llu\n", (unsigned long long)frame, (unsigned long long)warm,
           (unsigned long long)sbrk_small);
    free(block);
    return 0;
}
