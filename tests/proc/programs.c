/*
 * tests/proc/programs.c - the embedded user programs (kernel/proc/programs.c, build/user_programs.S).
 *
 * Every program the build embedded is found by its name and is a file the ELF loader accepts as
 * the user linker script lays it out; the programs the kernel's own tests will run are all there.
 */
#include "kernel/base/layout.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/proc/elf.h"
#include "kernel/proc/programs.h"
#include "tests/harness/ktest.h"

KTEST(user_programs, every_program_is_found_and_loads)
{
    KASSERT_GT(user_program_count, 0u);
    struct elf_target target = elf_target_native(USER_WINDOW_START, USER_WINDOW_END);
    for (size_t i = 0; i < user_program_count; i++) {
        const struct user_program *program = &user_programs[i];
        KASSERT_PTR_EQ(user_program_find(program->name), program);
        KASSERT_EQ((uintptr_t)program->bytes % 16, 0u);
        struct elf_image image;
        int result = elf_load(program->bytes, program->size, &target, &image);
        if (result != 0)
            ktest_note("%s: %s", program->name, elf_problem_text(image.problem));
        KASSERT_EQ(result, 0);
        /* As user/lib/linker.ld lays it out: text first, at the window's start, where _start is. */
        KASSERT_EQ(image.entry, USER_WINDOW_START);
        KASSERT_EQ(image.segments[0].address, USER_WINDOW_START);
        KASSERT_EQ(image.segments[0].permissions, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
        for (unsigned s = 1; s < image.segment_count; s++)
            KASSERT_EQ(image.segments[s].permissions & ELF_SEGMENT_EXECUTE, 0u);
        /* Its heap has room below the main stack and its guard page. */
        KASSERT_LT(image.end, USER_STACK_TOP - USER_MAIN_STACK_BYTES - USER_STACK_GUARD_BYTES);
    }
}

KTEST(user_programs, names_are_in_order_and_unique)
{
    for (size_t i = 1; i < user_program_count; i++)
        KASSERT_LT(strcmp(user_programs[i - 1].name, user_programs[i].name), 0);
}

KTEST(user_programs, the_programs_the_kernel_tests_run_are_there)
{
    static const char *const names[] = {
        "exit_with",
        "hello",
        "hostile_execute_heap",
        "hostile_execute_kernel",
        "hostile_execute_stack",
        "hostile_heap_exhaust",
        "hostile_jump_kernel_text",
        "hostile_read_kernel",
        "hostile_sbrk_below_start",
        "hostile_sbrk_huge",
        "hostile_sbrk_most_negative",
        "hostile_sbrk_wrap",
        "hostile_spawn_loop",
        "hostile_spin",
        "hostile_stack_overflow",
        "hostile_syscall_bad_arguments",
        "hostile_touch_past_break",
        "hostile_write_bad_pointers",
        "hostile_write_kernel",
        "hostile_write_text",
        "malloc_demo",
        "yielder",
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!user_program_find(names[i]))
            ktest_fail(__FILE__, __LINE__, "no program called %s", names[i]);
        KASSERT_LT(strlen(names[i]), (size_t)USER_PROGRAM_NAME_MAX);
    }
}

KTEST(user_programs, other_names_find_nothing)
{
    KASSERT_NULL(user_program_find(NULL));
    KASSERT_NULL(user_program_find(""));
    KASSERT_NULL(user_program_find("hell"));
    KASSERT_NULL(user_program_find("hello "));
    KASSERT_NULL(user_program_find("HELLO"));
    KASSERT_NULL(user_program_find("no_such_program"));
}
