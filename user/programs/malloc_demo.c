/*
 * user/programs/malloc_demo.c - malloc in a program: its heap grows through the sbrk system call.
 *
 * Prints the break as the program allocates: a small block (malloc takes a run of pages for its
 * size class: the break moves), the same size again (the per-thread cache: the break stays), a
 * large block (TLSF grows the heap again; touching its pages is the kernel's lazy first-touch
 * fault), then frees it all and trims, giving the top of the heap back (sbrk with a negative
 * increment). Then box, vec, rc and arc, all on the same malloc. Checks itself as it goes:
 * exits with 0 when every step did what it says, 1 (after a "FAILED" line) otherwise.
 *
 * System calls: write, sbrk (through malloc), exit. The kernel's test: exit status 0, output
 * ending in "malloc_demo: ok", no page lost after it exits.
 */
#include "lib/arc.h"
#include "lib/box.h"
#include "lib/malloc/malloc.h"
#include "lib/rc.h"
#include "lib/vec.h"
#include "user/lib/runtime.h"

static int failures;

static void check(int holds, const char *what)
{
    if (!holds) {
        printf("malloc_demo: FAILED: %s\n", what);
        failures++;
    }
}

static uintptr_t current_break(void)
{
    return (uintptr_t)sys_sbrk(0);
}

static int destroyed;

static void count_destruction(void *value)
{
    (void)value;
    destroyed++;
}

static void ownership_toolkit(void)
{
    int initial = 42;
    int *boxed = box_new(sizeof initial, &initial);
    check(boxed && *boxed == 42, "box_new copies its value");
    box_free(boxed);

    struct vec numbers;
    vec_init(&numbers, sizeof(int));
    for (int i = 0; i < 1000; i++)
        check(vec_push(&numbers, &i) == 0, "vec_push");
    long sum = 0;
    for (size_t i = 0; i < numbers.length; i++)
        sum += *(int *)vec_at(&numbers, i);
    check(sum == 999L * 1000 / 2, "the vector holds 0..999");
    vec_free(&numbers);

    int *shared = rc_new(sizeof(int), count_destruction);
    check(shared != NULL, "rc_new");
    if (shared) {
        rc_retain(shared);
        check(rc_count(shared) == 2, "rc_retain counts a second owner");
        rc_release(shared);
        rc_release(shared);
    }
    int *atomic = arc_new(sizeof(int), count_destruction);
    check(atomic != NULL, "arc_new");
    if (atomic) {
        arc_retain(atomic);
        arc_release(atomic);
        check(arc_count(atomic) == 1, "arc_release gives the second owner back");
        arc_release(atomic);
    }
    check(destroyed == 2, "the last owner's release destroys each value");
    printf("malloc_demo: box, vec (1000 ints, sum %ld), rc and arc on the same malloc\n", sum);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    uintptr_t start = current_break();
    printf("malloc_demo: break at %p after malloc's set-up (its page map)\n", (void *)start);

    char *small = malloc(100);
    uintptr_t after_small = current_break();
    check(small != NULL, "malloc(100)");
    check(after_small > start, "the first small block's run grows the heap");
    printf("malloc_demo: malloc(100) = %p, break %p (+%lu: malloc grew its heap for a run of the class)\n",
           (void *)small, (void *)after_small, (unsigned long)(after_small - start));
    free(small);
    char *again = malloc(100);
    check(again == small, "the same size again comes from the thread's cache");
    check(current_break() == after_small, "a cached block moves no break");
    printf("malloc_demo: free, then malloc(100) = %p again: the cache, break unchanged\n", (void *)again);
    free(again);

    size_t large_bytes = 256 * 1024;
    char *large = malloc(large_bytes);
    uintptr_t after_large = current_break();
    check(large != NULL, "malloc(256 KiB)");
    check(after_large > after_small && after_large >= (uintptr_t)large + large_bytes,
          "a large block grows the heap up to its end");
    printf("malloc_demo: malloc(256 KiB) = %p, break %p: touching each of its pages faults it in\n", (void *)large,
           (void *)after_large);
    if (large) {
        for (size_t offset = 0; offset < large_bytes; offset += PAGE_SIZE)
            large[offset] = (char)offset;
        check(large[PAGE_SIZE] == (char)PAGE_SIZE, "a touched heap page keeps what was written");
    }
    free(large);
    size_t returned = rvmem_malloc_trim();
    uintptr_t after_trim = current_break();
    check(after_trim < after_large, "trim gives the top of the heap back through sbrk");
    printf("malloc_demo: free and trim: %lu bytes given back, break %p\n", (unsigned long)returned, (void *)after_trim);

    ownership_toolkit();

    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    check(stats.bytes_in_use == 0, "every block was freed");
    check(rvmem_malloc_validate() == 0, "the heap validates");
    printf("malloc_demo: %lu more-core (sbrk) calls in all\n", (unsigned long)stats.more_core_calls);
    if (failures) {
        printf("malloc_demo: %d check(s) failed\n", failures);
        return 1;
    }
    printf("malloc_demo: ok\n");
    return 0;
}
