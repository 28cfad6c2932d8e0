/*
 * tests/proc/process.c - user programs run as processes (kernel only).
 *
 * Each test spawns an embedded program (user/programs/) as a child of the kernel with its output
 * captured, waits for it, and checks its wait status, its output and, for a program the kernel
 * kills, the kill's cause, trap, address and region. After every run: every page the process held
 * is back in the buddy allocator (its free count, per-hart caches included, as before the spawn)
 * and no program holds a page.
 */
#include "kernel/proc/process.h"

#include "kernel/base/errors.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/hart.h"
#include "kernel/proc/sched.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"
#include "tests/proc/program_run.h"

#define OUTPUT_BYTES 16384
#define RUN_TIMEOUT_MICROSECONDS 60000000ull
#define ADDRESS_TEXT_BYTES 24
/* A heap limit below any machine's free memory (the smallest in make test-matrix has 64 MiB). */
#define HEAP_LIMIT_SMALL_BYTES ((uintptr_t)8 << 20)

static struct ktest_arena output_space = KTEST_ARENA(2 * OUTPUT_BYTES, 16);

/* A word of kernel data the hostile programs aim at: it must keep its value. */
static volatile uintptr_t kernel_word = 0x5eca7e;

/* The output buffer of slot (0 or 1), cleared; NULL when the arena has no memory. */
static char *output_buffer(unsigned slot)
{
    char *memory = ktest_arena_memory(&output_space);
    if (memory == NULL)
        return NULL;
    memset(memory + slot * OUTPUT_BYTES, 0, OUTPUT_BYTES);
    return memory + slot * OUTPUT_BYTES;
}

/* Spawns request (its name argv[0]) as a child of the kernel, its output into slot's buffer. */
static int start_request(struct run *run, unsigned slot, struct process_spawn_request *request)
{
    char *buffer = output_buffer(slot);
    if (buffer == NULL)
        return -E_NOMEM;
    run->output = (struct process_output){.buffer = buffer, .capacity = OUTPUT_BYTES - 1};
    request->name = request->argv[0];
    request->output = &run->output;
    run->error = process_spawn(request, &run->pid);
    return run->error;
}

/* Spawns argv as a child of the kernel, its output into slot's buffer. */
static int start_program(struct run *run, unsigned slot, const char *const *argv, size_t argc, bool eager)
{
    struct process_spawn_request request = {.argv = argv, .argc = argc, .eager = eager, .affinity = PROCESS_ANY_HART};
    return start_request(run, slot, &request);
}

/* Waits for run's process (started before) and fills its result. */
static int finish(struct run *run)
{
    run->error = sched_wait(run->pid, &run->result, RUN_TIMEOUT_MICROSECONDS);
    return run->error;
}

/*
 * Runs argv to its end (lazy or eager pages) and fills run; returns 0 or the error of spawn or
 * wait. The free count is read before and after (the output arena taken first).
 */
static int run_program_mode(struct run *run, const char *const *argv, size_t argc, bool eager)
{
    if (output_buffer(0) == NULL)
        return -E_NOMEM;
    run->free_before = free_pages();
    if (start_program(run, 0, argv, argc, eager) != 0)
        return run->error;
    finish(run);
    run->free_after = free_pages();
    const char *newline = strchr(run->output.buffer, '\n');
    int first_line = newline ? (int)(newline - run->output.buffer) : (int)run->output.length;
    ktest_note("%s: wait status %d, pages free %lu before, %lu after; output's first line: %.*s", argv[0],
               run->result.wait_status, run->free_before, run->free_after, first_line, run->output.buffer);
    return run->error;
}

static int run_program(struct run *run, const char *const *argv, size_t argc)
{
    return run_program_mode(run, argv, argc, false);
}

/* The text of a kernel address, as a program's argument. */
static const char *address_text(char *buffer, uintptr_t address)
{
    ksnprintf(buffer, ADDRESS_TEXT_BYTES, "0x%lx", (unsigned long)address);
    return buffer;
}

/* Killed for a memory fault of trap scause_ in region_. */
#define KASSERT_KILLED_BY(run, scause_, region_)                                                                       \
    do {                                                                                                               \
        KASSERT(WAIT_KILLED((run).result.wait_status));                                                                \
        KASSERT_EQ(WAIT_KILL_CAUSE((run).result.wait_status), USER_KILL_MEMORY_FAULT);                                 \
        KASSERT_EQ((run).result.kill.cause, USER_KILL_MEMORY_FAULT);                                                   \
        KASSERT_EQ((run).result.kill.scause, (scause_));                                                               \
        KASSERT_EQ((run).result.kill.region, (region_));                                                               \
    } while (0)

/* The kill happened at a pc of the program's own (not a kernel address it jumped to). */
#define KASSERT_PC_IN_WINDOW(run)                                                                                      \
    KASSERT((run).result.kill.pc >= USER_WINDOW_START && (run).result.kill.pc < USER_WINDOW_END)

KTEST(process, hello_prints_its_pid_and_arguments_and_exits_0)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hello", "one", "two"};
    KASSERT_EQ(run_program(&run, argv, 3), 0);
    KASSERT_EXITED_WITH(run, 0);
    char line[48];
    ksnprintf(line, sizeof line, "hello from pid %ld: 3 arguments", run.pid);
    KASSERT(contains(run.output.buffer, line)); /* getpid's answer is the spawn's pid */
    KASSERT(contains(run.output.buffer, "argv[2] = two"));
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process, exit_status_is_collected)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"exit_with", "42"};
    KASSERT_EQ(run_program(&run, argv, 2), 0);
    KASSERT_EXITED_WITH(run, 42);
    KASSERT_NO_PAGE_LOST(run);
    const char *wide[] = {"exit_with", "300"};
    KASSERT_EQ(run_program(&run, wide, 2), 0);
    KASSERT_EXITED_WITH(run, 300 & 0xff);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process, eager_pages_run_the_same)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hello", "eager"};
    KASSERT_EQ(run_program_mode(&run, argv, 2, true), 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process, spawn_refuses_what_it_cannot_start)
{
    SKIP_WITHOUT_PROGRAMS();
    long pid = 0;
    const char *argv[] = {"no_such_program"};
    struct process_spawn_request request = {.name = argv[0], .argv = argv, .argc = 1, .affinity = PROCESS_ANY_HART};
    KASSERT_EQ(process_spawn(&request, &pid), -E_NOENT);
    request.argc = 0;
    request.name = "hello";
    KASSERT_EQ(process_spawn(&request, &pid), -E_2BIG);
    struct process_result result;
    KASSERT_EQ(sched_wait(12345678, &result, 0), -E_CHILD);
}

KTEST(process, malloc_demo_runs_malloc_on_sbrk)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"malloc_demo"};
    KASSERT_EQ(run_program(&run, argv, 1), 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT(contains(run.output.buffer, "malloc_demo: ok"));
    KASSERT_NO_PAGE_LOST(run);
    KASSERT_EQ(run_program_mode(&run, argv, 1, true), 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT(contains(run.output.buffer, "malloc_demo: ok"));
    KASSERT_NO_PAGE_LOST(run);
}

/* Hostile programs (docs/USER.md): each killed or refused, the kernel up, no page lost. */

KTEST(process_hostile, read_kernel_is_killed_and_reads_nothing)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    char address[ADDRESS_TEXT_BYTES];
    const char *argv[] = {"hostile_read_kernel", address_text(address, (uintptr_t)&kernel_word)};
    KASSERT_EQ(run_program(&run, argv, 2), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_LOAD_PAGE_FAULT, USER_REGION_KERNEL);
    KASSERT_PC_IN_WINDOW(run);
    KASSERT_EQ(run.result.kill.address, (uintptr_t)&kernel_word);
    KASSERT(!contains(run.output.buffer, "read 0x"));
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, write_kernel_is_killed_and_the_word_unchanged)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    char address[ADDRESS_TEXT_BYTES];
    const char *argv[] = {"hostile_write_kernel", address_text(address, (uintptr_t)&kernel_word)};
    KASSERT_EQ(run_program(&run, argv, 2), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_STORE_PAGE_FAULT, USER_REGION_KERNEL);
    KASSERT_PC_IN_WINDOW(run);
    KASSERT_EQ(run.result.kill.address, (uintptr_t)&kernel_word);
    KASSERT_EQ(kernel_word, 0x5eca7e);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, execute_kernel_data_is_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    char address[ADDRESS_TEXT_BYTES];
    const char *argv[] = {"hostile_execute_kernel", address_text(address, (uintptr_t)&kernel_word)};
    KASSERT_EQ(run_program(&run, argv, 2), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_INSTRUCTION_PAGE_FAULT, USER_REGION_KERNEL);
    KASSERT_EQ(run.result.kill.address, (uintptr_t)&kernel_word);
    KASSERT_NO_PAGE_LOST(run);
}

/* A kernel function a program must never run: it would fail the test. */
static void never_from_user(void)
{
    ktest_fail(__FILE__, __LINE__, "a kernel function ran on a program's jump");
}

KTEST(process_hostile, jump_into_kernel_text_is_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    char address[ADDRESS_TEXT_BYTES];
    const char *argv[] = {"hostile_jump_kernel_text", address_text(address, (uintptr_t)never_from_user)};
    KASSERT_EQ(run_program(&run, argv, 2), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_INSTRUCTION_PAGE_FAULT, USER_REGION_KERNEL);
    KASSERT_EQ(run.result.kill.address, (uintptr_t)never_from_user);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, write_own_text_is_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hostile_write_text"};
    KASSERT_EQ(run_program(&run, argv, 1), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_STORE_PAGE_FAULT, USER_REGION_TEXT);
    KASSERT_PC_IN_WINDOW(run);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, execute_heap_is_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hostile_execute_heap"};
    KASSERT_EQ(run_program(&run, argv, 1), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_INSTRUCTION_PAGE_FAULT, USER_REGION_HEAP);
    KASSERT_NO_PAGE_LOST(run);
    KASSERT_EQ(run_program_mode(&run, argv, 1, true), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_INSTRUCTION_PAGE_FAULT, USER_REGION_HEAP);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, execute_stack_is_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hostile_execute_stack"};
    KASSERT_EQ(run_program(&run, argv, 1), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_INSTRUCTION_PAGE_FAULT, USER_REGION_STACK);
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, touch_past_the_break_is_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hostile_touch_past_break"};
    KASSERT_EQ(run_program(&run, argv, 1), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_STORE_PAGE_FAULT, USER_REGION_ABOVE_BREAK);
    KASSERT_PC_IN_WINDOW(run);
    KASSERT_EQ(run.result.kill.address & (PAGE_SIZE - 1), 0); /* the break was on a page boundary */
    KASSERT_NO_PAGE_LOST(run);
}

KTEST(process_hostile, stack_overflow_dies_in_the_guard_page)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hostile_stack_overflow"};
    KASSERT_EQ(run_program(&run, argv, 1), 0);
    KASSERT_KILLED_BY(run, TRAP_CAUSE_STORE_PAGE_FAULT, USER_REGION_STACK_GUARD);
    uintptr_t guard = USER_STACK_TOP - USER_MAIN_STACK_BYTES - USER_STACK_GUARD_BYTES;
    KASSERT(run.result.kill.address >= guard && run.result.kill.address < guard + USER_STACK_GUARD_BYTES);
    KASSERT_NO_PAGE_LOST(run);
    const char *fits[] = {"hostile_stack_overflow", "30"};
    KASSERT_EQ(run_program(&run, fits, 2), 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT_NO_PAGE_LOST(run);
}

/* A program that checks itself: exits 0 after "NAME: ok", in both page modes. */
static void run_self_checking(const char *name, bool with_kernel_address)
{
    struct run run;
    char address[ADDRESS_TEXT_BYTES], ok[USER_PROGRAM_NAME_MAX + 8];
    const char *argv[] = {name, address_text(address, (uintptr_t)&kernel_word)};
    ksnprintf(ok, sizeof ok, "%s: ok", name);
    for (int eager = 0; eager < 2; eager++) {
        KASSERT_EQ(run_program_mode(&run, argv, with_kernel_address ? 2 : 1, eager), 0);
        KASSERT_EXITED_WITH(run, 0);
        KASSERT(contains(run.output.buffer, ok));
        KASSERT_NO_PAGE_LOST(run);
    }
    KASSERT_EQ(kernel_word, 0x5eca7e);
}

KTEST(process_hostile, write_with_bad_pointers_gets_efault)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_write_bad_pointers", true);
}

KTEST(process_hostile, system_calls_with_bad_arguments_get_their_errors)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_syscall_bad_arguments", true);
}

KTEST(process_hostile, sbrk_huge_gets_enomem)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_sbrk_huge", false);
}

KTEST(process_hostile, sbrk_below_start_gets_einval)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_sbrk_below_start", false);
}

KTEST(process_hostile, sbrk_most_negative_gets_einval)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_sbrk_most_negative", false);
}

KTEST(process_hostile, sbrk_wrapping_is_refused)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_sbrk_wrap", false);
}

/* Scheduling: several processes, several harts, the timer. */

/* The hart the scheduling tests pin their processes to: a secondary one when there is one. */
static int pinned_hart(void)
{
    return hart_count() > 1 ? 1 : 0;
}

KTEST(process_sched, spinning_program_is_preempted_and_killed)
{
    SKIP_WITHOUT_PROGRAMS();
    if (hart_timebase_hz() == 0) {
        ktest_skip("no timer: nothing preempts a spinning program");
        return;
    }
    struct run spin, hello = {0};
    KASSERT_NOT_NULL(output_buffer(0));
    unsigned long free_before = free_pages();
    const char *spin_argv[] = {"hostile_spin"}, *hello_argv[] = {"hello", "beside", "a", "spinner"};
    struct process_spawn_request spin_request = {.argv = spin_argv, .argc = 1, .affinity = pinned_hart()};
    struct process_spawn_request hello_request = {.argv = hello_argv, .argc = 4, .affinity = pinned_hart()};
    KASSERT_EQ(start_request(&spin, 0, &spin_request), 0);
    /* Once the spinner spins, hello comes to its hart: it ends only if the timer takes the hart from the spinner. */
    bool spinning = output_shows(&spin, "spins without yielding");
    if (spinning && start_request(&hello, 1, &hello_request) == 0)
        finish(&hello);
    struct process_info infos[PROCESS_MAX];
    unsigned count = process_list(infos, PROCESS_MAX);
    /* The spinner is killed and reaped whatever happened above: the next tests need the machine back. */
    int kill_error = process_kill(spin.pid, USER_KILL_REQUESTED);
    KASSERT_EQ(finish(&spin), 0);
    KASSERT(spinning);
    KASSERT_EQ(hello.error, 0);
    KASSERT_EXITED_WITH(hello, 0);
    KASSERT(contains(hello.output.buffer, "argv[3] = spinner"));
    KASSERT_EQ(count, 1);
    KASSERT_EQ(infos[0].pid, spin.pid);
    KASSERT_EQ(infos[0].state, PROCESS_LIVE);
    KASSERT_EQ(kill_error, 0);
    KASSERT(WAIT_KILLED(spin.result.wait_status));
    KASSERT_EQ(WAIT_KILL_CAUSE(spin.result.wait_status), USER_KILL_REQUESTED);
    KASSERT_EQ(process_kill(spin.pid, USER_KILL_REQUESTED), -E_SRCH);
    KASSERT_EQ(free_pages(), free_before);
    KASSERT_EQ(user_space_pages_held(), 0);
}

KTEST(process_sched, two_yielders_share_a_hart)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run first, second;
    KASSERT_NOT_NULL(output_buffer(0));
    unsigned long free_before = free_pages();
    const char *argv[] = {"yielder", "200"};
    struct process_spawn_request request = {.argv = argv, .argc = 2, .affinity = pinned_hart()};
    KASSERT_EQ(start_request(&first, 0, &request), 0);
    KASSERT_EQ(start_request(&second, 1, &request), 0);
    KASSERT_EQ(finish(&first), 0);
    KASSERT_EQ(finish(&second), 0);
    KASSERT_EXITED_WITH(first, 0);
    KASSERT_EXITED_WITH(second, 0);
    KASSERT_EQ(free_pages(), free_before);
}

KTEST(process_sched, spawn_loop_meets_the_process_limit)
{
    SKIP_WITHOUT_PROGRAMS();
    run_self_checking("hostile_spawn_loop", false);
}

KTEST(process_sched, the_kernel_meets_the_process_limit_too)
{
    SKIP_WITHOUT_PROGRAMS();
    unsigned long free_before = free_pages();
    const char *argv[] = {"exit_with", "7"};
    struct process_spawn_request request = {.name = "exit_with", .argv = argv, .argc = 2, .affinity = PROCESS_ANY_HART};
    long pids[PROCESS_MAX + 1];
    unsigned started = 0;
    int error = 0;
    while (started <= PROCESS_MAX && (error = process_spawn(&request, &pids[started])) == 0)
        started++;
    KASSERT_EQ(error, -E_AGAIN);
    KASSERT_EQ(started, PROCESS_MAX);
    for (unsigned i = 0; i < started; i++) {
        struct process_result result;
        KASSERT_EQ(sched_wait(pids[i], &result, RUN_TIMEOUT_MICROSECONDS), 0);
        KASSERT_EQ(WAIT_EXIT_CODE(result.wait_status), 7);
    }
    KASSERT_EQ(process_count(), 0);
    KASSERT_EQ(free_pages(), free_before);
}

/*
 * Pages the exhaustion test leaves free above the reserve, holding the rest itself meanwhile: a
 * program runs out of memory as fast on a machine of 4 GiB as on one of 64 MiB.
 */
#define EXHAUST_FREE_ABOVE_RESERVE_PAGES 4096

/* A block the test holds, linked through its own first bytes. */
struct held_block {
    struct held_block *next;
    unsigned order;
};

/* Takes blocks from the buddy allocator until about keep pages are left free; returns them. */
static struct held_block *hold_all_but(unsigned long keep)
{
    struct held_block *held = NULL;
    for (unsigned order = BUDDY_MAX_ORDER;;) {
        struct held_block *block = free_pages() > keep + (1ul << order) ? page_alloc(order) : NULL;
        if (block == NULL) {
            if (order == 0)
                return held;
            order--;
            continue;
        }
        *block = (struct held_block){held, order};
        held = block;
    }
}

static void release_held(struct held_block *held)
{
    while (held) {
        struct held_block *next = held->next;
        page_free(held, held->order);
        held = next;
    }
}

/* Runs hostile_heap_exhaust without a heap limit (eager or lazy) with little free memory; fills run. */
static void exhaust_without_limit(struct run *run, bool eager)
{
    static const char *const argv[] = {"hostile_heap_exhaust", "1024"};
    struct held_block *held = hold_all_but(user_space_reserve_pages() + EXHAUST_FREE_ABOVE_RESERVE_PAGES);
    run->free_before = free_pages();
    struct process_spawn_request request = {
        .argv = argv, .argc = 2, .eager = eager, .no_heap_limit = true, .affinity = PROCESS_ANY_HART};
    if (start_request(run, 0, &request) == 0)
        finish(run);
    run->free_after = free_pages();
    release_held(held);
    ktest_note("hostile_heap_exhaust (%s, no heap limit): wait status %d, pages free %lu before, %lu after",
               eager ? "eager" : "lazy", run->result.wait_status, run->free_before, run->free_after);
}

KTEST(process_sched, heap_exhaustion_keeps_the_kernel_reserve)
{
    SKIP_WITHOUT_PROGRAMS();
    struct run run;
    const char *argv[] = {"hostile_heap_exhaust", "1024"};
    /* Within a heap limit smaller than any machine's free memory: sbrk says -E_NOMEM, the program exits 0. */
    KASSERT_NOT_NULL(output_buffer(0));
    run.free_before = free_pages();
    struct process_spawn_request limited = {
        .argv = argv, .argc = 2, .heap_limit_bytes = HEAP_LIMIT_SMALL_BYTES, .affinity = PROCESS_ANY_HART};
    KASSERT_EQ(start_request(&run, 0, &limited), 0);
    KASSERT_EQ(finish(&run), 0);
    run.free_after = free_pages();
    KASSERT_EXITED_WITH(run, 0);
    KASSERT(contains(run.output.buffer, "hostile_heap_exhaust: ok"));
    KASSERT_NO_PAGE_LOST(run);
    /* Without one, lazily: the touch finds no page above the reserve and the kernel kills it. */
    exhaust_without_limit(&run, false);
    KASSERT_EQ(run.error, 0);
    KASSERT(WAIT_KILLED(run.result.wait_status));
    KASSERT_EQ(WAIT_KILL_CAUSE(run.result.wait_status), USER_KILL_REQUESTED);
    KASSERT(run.result.kill.out_of_memory);
    KASSERT_EQ(run.result.kill.region, USER_REGION_HEAP);
    KASSERT_GE(user_space_lowest_free_pages(), user_space_reserve_pages());
    KASSERT_NO_PAGE_LOST(run);
    /* Eagerly: sbrk finds no page and says -E_NOMEM. */
    exhaust_without_limit(&run, true);
    KASSERT_EQ(run.error, 0);
    KASSERT_EXITED_WITH(run, 0);
    KASSERT_GE(user_space_lowest_free_pages(), user_space_reserve_pages());
    KASSERT_NO_PAGE_LOST(run);
}
