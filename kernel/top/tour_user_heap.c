/*
 * kernel/top/tour_user_heap.c - tour step 7: a program's heap. The program tour_heap_growth
 * (user/programs/) mallocs in U-mode, its malloc calls the sbrk system call, the kernel moves its
 * break, and its first touch of a heap page faults a zeroed page in. The tour runs it on this hart
 * one step at a time (it yields after each, and a slice run with leave_at_tick ends at a yield)
 * and looks at its address space between the steps: the break and the heap's mapped pages, as
 * the monitor's `vm PID` shows them. Then the seed's cost ladder, as the program measured it.
 */
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/proc/process.h"
#include "kernel/proc/sched.h"
#include "kernel/proc/user_space.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"

#define PROGRAM "tour_heap_growth"
#define OUTPUT_BYTES 1024
#define REGIONS_MAX 16
#define SLICES_MAX 10000
#define RUN_TIMEOUT_MICROSECONDS 60000000ull

static char output_buffer[OUTPUT_BYTES];

/* The program's complete line "step N ...", or NULL while it has not printed it. */
static const char *step_line(unsigned step)
{
    char prefix[16];
    ksnprintf(prefix, sizeof prefix, "step %u ", step);
    size_t length = strlen(prefix);
    for (const char *line = output_buffer; *line;) {
        const char *end = strchr(line, '\n');
        if (end == NULL)
            return NULL;
        if (strncmp(line, prefix, length) == 0)
            return line;
        line = end + 1;
    }
    return NULL;
}

/* Runs the program's slices on this hart until it printed step's line; NULL when it stopped first. */
static const char *run_to_step(unsigned step)
{
    for (unsigned slice = 0; slice < SLICES_MAX; slice++) {
        const char *line = step_line(step);
        if (line != NULL)
            return line;
        if (!sched_run_slice(true))
            return NULL; /* nothing left to run: it ended */
    }
    return step_line(step);
}

/* The number after "key=" on line (decimal, or hexadecimal after 0x); 0 when it is not there. */
static uint64_t field(const char *line, const char *key)
{
    if (line == NULL)
        return 0;
    size_t length = strlen(key);
    for (const char *at = line; *at && *at != '\n'; at++) {
        if (strncmp(at, key, length) != 0 || at[length] != '=' || (at != line && at[-1] != ' '))
            continue;
        const char *digit = at + length + 1;
        unsigned base = 10;
        if (digit[0] == '0' && digit[1] == 'x') {
            base = 16;
            digit += 2;
        }
        uint64_t value = 0;
        for (;; digit++) {
            unsigned next;
            if (*digit >= '0' && *digit <= '9')
                next = (unsigned)(*digit - '0');
            else if (base == 16 && *digit >= 'a' && *digit <= 'f')
                next = (unsigned)(*digit - 'a' + 10);
            else
                break;
            value = value * base + next;
        }
        return value;
    }
    return 0;
}

/* What the kernel sees of the program's heap now. */
struct heap_view {
    bool found;
    uintptr_t brk;
    unsigned long heap_pages, heap_mapped, filled;
};

static struct heap_view look(long pid)
{
    struct user_space_region_info regions[REGIONS_MAX];
    struct process_info info;
    struct heap_view view = {0};
    int count = process_regions(pid, regions, REGIONS_MAX, &info);
    for (int i = 0; i < count; i++) {
        if (regions[i].region != USER_REGION_HEAP)
            continue;
        view = (struct heap_view){true, info.brk, regions[i].pages, regions[i].mapped_pages, info.filled};
    }
    if (count > 0 && !view.found) /* an empty heap: no region yet */
        view = (struct heap_view){true, info.brk, 0, 0, info.filled};
    return view;
}

static void show(const char *when, const struct heap_view *view)
{
    kprintf("   %-8s the kernel's view: break %p, heap %lu page(s), %lu mapped\n", when, (void *)view->brk,
            view->heap_pages, view->heap_mapped);
}

/* The seed's cost ladder as the program measured it, checked for its order when the counts are exact. */
static void show_costs(const char *grow, const char *touch, const char *rest)
{
    uint64_t frame = field(rest, "stack_frame"), warm = field(rest, "malloc_warm"), small = field(rest, "sbrk");
    uint64_t first_touch = field(touch, "instructions"), grows = field(grow, "instructions");
    static const char *const rungs[] = {"a call with a 16-byte stack frame", "malloc(32) from a warm cache",
                                        "sbrk(16): a system call, no page", "the first touch of a heap page: the fault",
                                        "malloc that calls sbrk (its new pages too)"};
    const uint64_t costs[] = {frame, warm, small, first_touch, grows};
    kprintf("   what each cost the program (instructions, rdinstret in U-mode):\n");
    for (unsigned i = 0; i < sizeof costs / sizeof costs[0]; i++)
        kprintf("      %-44s %6llu\n", rungs[i], (unsigned long long)costs[i]);
    if (!tour_counts_are_exact()) {
        kprintf("   (host clock ticks, not instructions: QEMU runs without -icount here; see step 6)\n");
        return;
    }
    kprintf("   (exact guest instructions: QEMU runs with -icount shift=0)\n");
    tour_check(frame < small && warm < small && small < first_touch && small < grows,
               "the stack and a warm malloc cost less than a system call, and a system call less than a page "
               "fault or a malloc that calls sbrk");
}

void tour_user_heap(void)
{
    kprintf("\n7. A program's heap: its malloc calls sbrk, the kernel moves the break, a first touch maps a page\n");
    if (!sched_ready()) {
        kprintf("   (no paging on this machine: programs cannot run here)\n");
        return;
    }
    memset(output_buffer, 0, sizeof output_buffer);
    struct process_output output = {.buffer = output_buffer, .capacity = sizeof output_buffer - 1};
    const char *argv[] = {PROGRAM};
    struct process_spawn_request request = {
        .name = PROGRAM, .argv = argv, .argc = 1, .affinity = (int)hart_self(), .output = &output};
    unsigned long held_before = user_space_pages_held();
    long pid;
    if (process_spawn(&request, &pid) != 0) {
        tour_check(false, PROGRAM " started");
        return;
    }
    kprintf("   %s (pid %ld) runs in U-mode in its own address space, on this hart; it pauses after each step\n",
            PROGRAM, pid);

    const char *start = run_to_step(1);
    struct heap_view at_start = look(pid);
    kprintf("   it starts: malloc set itself up before main (its page map, from sbrk): break %p\n",
            (void *)(uintptr_t)field(start, "break"));
    show("", &at_start);

    const char *grow = run_to_step(2);
    struct heap_view grown = look(pid);
    uint64_t break_before = field(grow, "break_before"), break_after = field(grow, "break_after");
    uint64_t calls = field(grow, "sbrk_calls");
    kprintf("   malloc(256 KiB) = %p: no room in its cache or heap, so it called sbrk %llu time(s):\n"
            "   the break moved %p -> %p\n",
            (void *)(uintptr_t)field(grow, "block"), (unsigned long long)calls, (void *)(uintptr_t)break_before,
            (void *)(uintptr_t)break_after);
    show("", &grown);
    kprintf("   (lazy pages: sbrk mapped nothing; the pages malloc wrote its chunk's header and tags to faulted in)\n");

    const char *aim = run_to_step(3);
    struct heap_view untouched = look(pid);
    kprintf("   it is about to write to %p, the block's middle page:\n", (void *)(uintptr_t)field(aim, "page"));
    show("before", &untouched);
    const char *touch = run_to_step(4);
    struct heap_view touched = look(pid);
    show("after", &touched);
    kprintf("   the store faulted: the kernel found the address under the break, mapped a zeroed page, and the\n"
            "   store ran again\n");

    const char *rest = run_to_step(5);
    struct process_result result = {0};
    bool ended = sched_wait(pid, &result, RUN_TIMEOUT_MICROSECONDS) == 0;
    if (!ended && process_kill(pid, USER_KILL_REQUESTED) == 0) /* it did not end: end it, the check fails */
        sched_wait(pid, &result, RUN_TIMEOUT_MICROSECONDS);
    tour_check(start && grow && aim && touch && rest && ended && WAIT_EXITED(result.wait_status) &&
                   WAIT_EXIT_CODE(result.wait_status) == 0,
               "the program took every step and exited 0");
    tour_check(grown.found && calls >= 1 && break_after > break_before && grown.brk == break_after &&
                   grown.heap_pages > at_start.heap_pages,
               "its malloc called sbrk, and the kernel moved its break (the heap has more pages)");
    tour_check(untouched.found && touched.found && touched.heap_mapped == untouched.heap_mapped + 1 &&
                   touched.filled == untouched.filled + 1 && touched.heap_mapped < touched.heap_pages,
               "the page was not mapped until the program touched it; then one zeroed page was");
    show_costs(grow, touch, rest);
    tour_check(user_space_pages_held() == held_before, "every page the program held went back when it exited");
}
