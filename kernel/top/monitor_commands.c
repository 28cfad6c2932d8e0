/*
 * kernel/top/monitor_commands.c - the monitor's command table and its commands that show state:
 * help, mem, buddy, map, heap, stacks, tour, bench, test, poweroff (see monitor_commands.h).
 */
#include "kernel/top/monitor_commands.h"

#include "kernel/top/boot.h"
#include "kernel/top/malloc_binding.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/platform/bootargs.h"
#include "kernel/platform/hart.h"
#include "kernel/mm/memmap.h"
#include "kernel/top/monitor_text.h"
#include "kernel/top/terminal.h"
#include "kernel/mm/pages.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/platform/stack.h"
#include "kernel/top/stack_figures.h"
#include "kernel/base/string.h"
#include "kernel/top/tour.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/kbench.h"
#include "tests/harness/ktest.h"

#define MAP_ROWS 8
#define MAP_COLUMNS_MAX 200
#define MAP_COLUMNS_MIN 16

static enum monitor_status command_help(int count, char **words);

static enum monitor_status command_mem(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    memmap_print(boot_memory_map());
    struct buddy_stats stats;
    buddy_get_stats(kernel_pages(), &stats);
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    char total[SIZE_TEXT_BYTES], free_size[SIZE_TEXT_BYTES], used[SIZE_TEXT_BYTES];
    kprintf("pages: %lu total (%s), %lu free (%s), %lu used (%s), peak used %lu\n", stats.total_pages,
            size_text(total, (uint64_t)stats.total_pages * PAGE_SIZE), stats.free_pages,
            size_text(free_size, (uint64_t)stats.free_pages * PAGE_SIZE), stats.used_pages,
            size_text(used, (uint64_t)stats.used_pages * PAGE_SIZE), stats.peak_used_pages);
    kprintf("heap: %lu page(s) held by the break; allocator metadata %lu bytes\n", (unsigned long)heap.pages_held,
            stats.metadata_bytes);
    return MONITOR_DONE;
}

static enum monitor_status command_buddy(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    kprintf("orders 0..%d (order k: blocks of 2^k pages); index -1.000: a block that size is free\n", BUDDY_MAX_ORDER);
    buddy_print_stats(kernel_pages(), "pages");
    return MONITOR_DONE;
}

extern char __image_start[], __image_end[];

/* A picture cell; RAM the allocator does not manage shows 'K' (the kernel image) or 'x' (excluded). */
static char map_cell(uintptr_t start, uintptr_t bytes, const struct brk_stats *heap)
{
    char cell = picture_cell(kernel_pages(), start, bytes, heap->start,
                             heap->pages_held ? heap->start + heap->pages_held * PAGE_SIZE : 0);
    if (cell != PICTURE_UNMANAGED)
        return cell;
    return start < (uintptr_t)__image_end && start + bytes > (uintptr_t)__image_start ? 'K' : 'x';
}

static enum monitor_status command_map(int count, char **words)
{
    uint64_t columns = terminal_columns() > 20 ? terminal_columns() - 20 : MAP_COLUMNS_MIN;
    if (count > 2 || (count == 2 && (!parse_number(words[1], false, &columns) || columns < MAP_COLUMNS_MIN ||
                                     columns > MAP_COLUMNS_MAX)))
        return MONITOR_BAD_USAGE;
    if (columns > MAP_COLUMNS_MAX)
        columns = MAP_COLUMNS_MAX;
    const struct memmap *map = boot_memory_map();
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    kprintf(
        "RAM, %u rows of %u cells per range: '.' free, '#' used, ':' both, 'h' heap, 'K' kernel image, 'x' excluded\n",
        (unsigned)MAP_ROWS, (unsigned)columns);
    for (unsigned range = 0; range < map->ram_count; range++) {
        uint64_t start = map->ram[range].start, end = map->ram[range].end;
        uint64_t cells = columns * MAP_ROWS;
        uint64_t cell_bytes = ((end - start) / cells + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
        if (cell_bytes == 0)
            cell_bytes = PAGE_SIZE;
        char size[SIZE_TEXT_BYTES];
        kprintf("%p-%p, one cell = %s\n", (void *)(uintptr_t)start, (void *)(uintptr_t)end,
                size_text(size, cell_bytes));
        for (uint64_t row_start = start; row_start < end; row_start += cell_bytes * columns) {
            char line[MAP_COLUMNS_MAX + 1];
            unsigned length = 0;
            for (uint64_t cell = row_start; length < columns && cell < end; cell += cell_bytes)
                line[length++] = map_cell((uintptr_t)cell, (uintptr_t)cell_bytes, &heap);
            line[length] = '\0';
            kprintf("  %p |%s|\n", (void *)(uintptr_t)row_start, line);
        }
    }
    return MONITOR_DONE;
}

/*
 * `heap mode [fast|lean]`: the allocator's mode on every hart (rvmem_malloc_set_mode_all_harts,
 * from this boot hart with the others idle), or alone the mode in use. `bench malloc_lean_larson`
 * runs larson in both and prints them side by side.
 */
static enum monitor_status command_heap_mode(int count, char **words)
{
    static const char *const names[] = {"fast", "lean"};
    if (count == 3) {
        enum malloc_mode mode;
        if (strcmp(words[2], "fast") == 0)
            mode = MALLOC_MODE_FAST;
        else if (strcmp(words[2], "lean") == 0)
            mode = MALLOC_MODE_LEAN;
        else
            return MONITOR_BAD_USAGE;
        rvmem_malloc_set_mode_all_harts(mode);
    }
    kprintf("malloc mode: %s (%s)\n", names[rvmem_malloc_mode()],
            rvmem_malloc_mode() == MALLOC_MODE_LEAN
                ? "every new block from TLSF at the size asked: the least memory, a lock a call"
                : "size classes through per-hart caches: a few dozen instructions a call");
    return MONITOR_DONE;
}

static enum monitor_status command_heap(int count, char **words)
{
    if (count >= 2 && strcmp(words[1], "mode") == 0 && count <= 3)
        return command_heap_mode(count, words);
    if (count > 2 || (count == 2 && strcmp(words[1], "trim") != 0))
        return MONITOR_BAD_USAGE;
    if (count == 2) {
        char returned[SIZE_TEXT_BYTES];
        size_t bytes = rvmem_malloc_trim_all_harts();
        kprintf("trim: every hart's cache flushed, free runs released, %s given back through the break\n",
                size_text(returned, bytes));
    }
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    char size[SIZE_TEXT_BYTES];
    kprintf("break: %p (heap %p-%p, %s in use), peak %p, limit %p, %lu page(s) held\n", (void *)heap.current,
            (void *)heap.start, (void *)heap.current, size_text(size, heap.current - heap.start), (void *)heap.peak,
            (void *)heap.limit, (unsigned long)heap.pages_held);
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    char in_use[SIZE_TEXT_BYTES], peak[SIZE_TEXT_BYTES], span[SIZE_TEXT_BYTES], cached[SIZE_TEXT_BYTES];
    char free_small[SIZE_TEXT_BYTES], free_medium[SIZE_TEXT_BYTES];
    kprintf("malloc: %s in use (peak %s), heap span %s from %p, %lu sbrk call(s), %lu failed request(s)\n",
            size_text(in_use, stats.bytes_in_use), size_text(peak, stats.peak_bytes_in_use),
            size_text(span, stats.heap_span_bytes), (void *)stats.heap_start, (unsigned long)stats.more_core_calls,
            (unsigned long)stats.failed_requests);
    kprintf("malloc: free %s in size classes (+ %s in per-hart caches), %s in TLSF; %lu run(s), %lu large block(s)\n",
            size_text(free_small, stats.bytes_free_small), size_text(cached, stats.bytes_cached),
            size_text(free_medium, stats.bytes_free_medium), (unsigned long)stats.small_runs,
            (unsigned long)stats.medium_blocks_in_use);
    int valid = rvmem_malloc_validate();
    kprintf("malloc: validator %s\n", valid == 0 ? "ok: every block, list and counter agrees" : "FOUND A PROBLEM");
    return MONITOR_DONE;
}

static enum monitor_status command_stacks(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    kprintf("hart  stack                    size  high-water  guard\n");
    for (unsigned index = 0; index < hart_count(); index++)
        kprintf("%4u  %p-%p %6u %11zu  %s\n", index, (void *)stack_bottom(index), (void *)stack_top(index),
                (unsigned)RVMEM_STACK_SIZE, stack_high_water_bytes(index),
                stack_guard_intact(index) ? "intact" : "OVERWRITTEN");
    kprintf("static worst case (build/stack-report.txt; + trap = with a trap on top; budget = size - red zone):\n");
    for (unsigned i = 0; i < stack_figure_count; i++) {
        const struct stack_figure *figure = &stack_figures[i];
        kprintf("  %-16s %s%5lu bytes, + trap %5lu of %lu: %s\n", figure->entry,
                figure->bounded ? "" : ">=", figure->depth_bytes, figure->with_trap, figure->budget_bytes,
                figure->verdict);
    }
    return MONITOR_DONE;
}

static enum monitor_status command_tour(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    tour_run();
    return MONITOR_DONE;
}

extern const struct kbench __start_kbenches[], __stop_kbenches[];

/* Benchmarks the error message names when a filter matches none. */
#define BENCHES_NAMED 4

static enum monitor_status command_bench(int count, char **words)
{
    if (count > 2)
        return MONITOR_BAD_USAGE;
    if (!bootargs_has(boot_arguments(), "icount")) /* ./qemu.sh -i puts it there */
        kprintf("note: QEMU runs without -icount here: the figures below are host clock ticks, not instructions,\n"
                "and budgets fail. Exact counts: `make run ICOUNT=1` for this monitor, or `make bench`\n");
    const char *filter = count == 2 ? words[1] : "";
    /* The linker's section bounds as a count, as tests/harness/kbench.c does: one array between them. */
    size_t registered = ((uintptr_t)__stop_kbenches - (uintptr_t)__start_kbenches) / sizeof(struct kbench);
    unsigned selected = 0;
    for (size_t index = 0; index < registered; index++)
        selected += ktest_glob_list_matches(filter, __start_kbenches[index].name);
    if (selected == 0) {
        kprintf("error: bench: no benchmark matches \"%s\" (benchmarks:", filter);
        for (size_t index = 0; index < registered && index < BENCHES_NAMED; index++)
            kprintf(" %s,", __start_kbenches[index].name);
        kprintf(" ... %u in all; globs with *, e.g. bench page_*)\n", (unsigned)registered);
        return MONITOR_DONE;
    }
    kbench_run_all(filter);
    return MONITOR_DONE;
}

extern const struct ktest __start_ktests[], __stop_ktests[];

/* The monitor's own tests drive this very monitor (its block ids, its `test`): never from its prompt. */
#define MONITOR_SUITE "monitor"
#define EVERY_SUITE_FILTER_BYTES 1024

static size_t registered_tests(void)
{
    /* The linker's section bounds as a count, as tests/harness/ktest.c does: one array between them. */
    return ((uintptr_t)__stop_ktests - (uintptr_t)__start_ktests) / sizeof(struct ktest);
}

/* "suite.*,suite.*,..." for every suite but the monitor's: what `test` alone runs. */
static const char *every_suite_filter(void)
{
    static char filter[EVERY_SUITE_FILTER_BYTES];
    size_t length = 0;
    filter[0] = '\0';
    for (size_t index = 0; index < registered_tests(); index++) {
        const char *suite = __start_ktests[index].suite;
        bool seen = strcmp(suite, MONITOR_SUITE) == 0;
        for (size_t before = 0; before < index && !seen; before++)
            seen = strcmp(__start_ktests[before].suite, suite) == 0;
        if (!seen && length + strlen(suite) + 4 < sizeof filter)
            length += (size_t)ksnprintf(filter + length, sizeof filter - length, "%s%s.*", length ? "," : "", suite);
    }
    return filter;
}

static enum monitor_status command_test(int count, char **words)
{
    if (count > 2)
        return MONITOR_BAD_USAGE;
    if (monitor_blocks_held()) {
        /* The suites expect memory as boot left it (an empty heap below the break, ...). */
        kprintf("error: test: the monitor holds %u block(s): free them first (alloc lists them)\n",
                monitor_blocks_held());
        return MONITOR_DONE;
    }
    const char *filter = count == 2 ? words[1] : every_suite_filter();
    unsigned selected = 0;
    for (size_t index = 0; index < registered_tests(); index++) {
        const struct ktest *test = &__start_ktests[index];
        if (!ktest_filter_matches(filter, test))
            continue;
        if (strcmp(test->suite, MONITOR_SUITE) == 0) {
            kprintf("error: test: the monitor's own tests drive this monitor (and its ids): use make test\n");
            return MONITOR_DONE;
        }
        if (test->flags & KTEST_FLAG_EXPLICIT) {
            kprintf("error: test: %s.%s ends the run on purpose (crash or failure checks): use make test\n",
                    test->suite, test->name);
            return MONITOR_DONE;
        }
        selected++;
    }
    if (selected == 0) {
        kprintf("error: test: no test matches \"%s\" (suites: printf, buddy, sbrk, ...; globs with *)\n", filter);
        return MONITOR_DONE;
    }
    /* The suites' leak checks compare the break: start from a trimmed heap, as a fresh boot does. */
    rvmem_malloc_trim();
    int failed = ktest_run_all(filter);
    kprintf("test: %u run, %d failed\n", selected, failed);
    return MONITOR_DONE;
}

static enum monitor_status command_poweroff(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    kprintf("powering off\n");
    return MONITOR_POWEROFF;
}

static const struct monitor_command commands[] = {
    {"help", "help", "this list", command_help},
    {"mem", "mem", "memory map from the device tree, and page totals", command_mem},
    {"buddy", "buddy", "free blocks per order and the fragmentation index", command_buddy},
    {"map", "map [COLUMNS]", "a picture of RAM: used and free pages by region", command_map},
    {"heap", "heap [trim|mode [fast|lean]]",
     "the program break and malloc statistics; trim: malloc_trim on every hart first; mode: malloc's mode",
     command_heap},
    {"stacks", "stacks", "per-hart stack size, high-water mark, static worst case", command_stacks},
    {"vm", "vm [ADDRESS | PID]", "the kernel's mappings; an address's page-table walk; a process's regions",
     monitor_vm},
    {"ps", "ps", "the processes: state, hart, pages, heap, system calls", monitor_ps},
    {"run", "run PROGRAM [ARGS]", "start an embedded user program in the background", monitor_run},
    {"kill", "kill PID", "kill a process (its report says where it was)", monitor_kill},
    {"alloc", "alloc page [N] | heap BYTES", "2^N pages, or a malloc block: an id to free it; alone: list",
     monitor_alloc},
    {"free", "free ID", "free the pages or block alloc gave the id ID", monitor_free},
    {"tour", "tour", "the guided tour of memory (what make run shows without a terminal)", command_tour},
    {"bench", "bench [FILTER]", "the benchmarks (exact counts under -icount only: make run ICOUNT=1)", command_bench},
    {"test", "test [FILTER]", "the in-kernel tests, e.g. test printf or test buddy.*", command_test},
    {"poweroff", "poweroff", "power off (QEMU exits with status 0)", command_poweroff},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static enum monitor_status command_help(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    for (unsigned i = 0; i < COMMAND_COUNT; i++)
        kprintf("  %-28s %s\n", commands[i].usage, commands[i].help);
    kprintf("  editing: backspace, Ctrl-U clears the line, Ctrl-C abandons it; quit QEMU: Ctrl-A x\n");
    return MONITOR_DONE;
}

const struct monitor_command *monitor_find_command(const char *name)
{
    for (unsigned i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

enum monitor_status monitor_command_run(const struct monitor_command *command, int count, char **words)
{
    return command->run(count, words);
}
