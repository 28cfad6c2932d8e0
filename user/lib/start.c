/*
 * user/lib/start.c - from the entry block to main, and from main's result to exit.
 */
#include "kernel/base/user_abi.h"
#include "user/lib/runtime.h"
#include "user/lib/thread.h"

/*
 * malloc's set-up (user/lib/malloc_user.c), weak: the binding is linked only into programs that
 * use malloc (through lib/'s objects, which reference hart_area, which the binding defines), so
 * a program that never allocates neither carries malloc nor moves its break at start.
 */
void user_malloc_init(void) __attribute__((weak));

const char *user_program_name = "?";

/*
 * The canary -fstack-protector checks: the kernel's seed with a zero low byte (a terminator
 * canary: an overflowing string copy stops at it instead of rewriting it), never zero itself.
 */
static uintptr_t canary_from_seed(uintptr_t seed)
{
    uintptr_t canary = (seed ^ (uintptr_t)0x5a17c0de5a17c0deULL) & ~(uintptr_t)0xff;
    return canary ? canary : (uintptr_t)0x5a17c000;
}

void user_start(unsigned long *entry) __attribute__((noreturn, no_stack_protector));
void user_start(unsigned long *entry)
{
    unsigned long argc = entry[USER_ENTRY_ARGC_WORD];
    char **argv = (char **)&entry[USER_ENTRY_ARGV_WORD];
    user_program_name = argv[0];
    for (unsigned i = 0; i < USER_THREADS_MAX; i++)
        user_threads[i].index = i;
    struct user_thread *main_thread = user_thread_self();
    main_thread->stack_protector_guard = canary_from_seed(entry[USER_ENTRY_SEED_WORD(argc)]);
    main_thread->stack_low = USER_STACK_TOP - USER_MAIN_STACK_BYTES;
    main_thread->stack_high = USER_STACK_TOP;
    if (user_malloc_init)
        user_malloc_init();
    exit(main((int)argc, argv));
}

void exit(int status)
{
    sys_exit(status);
}
