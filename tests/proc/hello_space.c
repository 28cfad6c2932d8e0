/*
 * tests/proc/hello_space.c - a space with `hello` loaded (hello_space.h).
 */
#include "tests/proc/hello_space.h"

#include "kernel/base/errors.h"
#include "kernel/base/user_abi.h"
#include "kernel/proc/elf.h"
#include "kernel/proc/programs.h"

int hello_space_load(struct user_space *space, bool eager, uintptr_t heap_limit_bytes)
{
    const struct user_program *program = user_program_find("hello");
    if (program == NULL)
        return -E_NOENT;
    struct elf_image image;
    struct elf_target target = elf_target_native(USER_WINDOW_START, USER_WINDOW_END);
    if (elf_load(program->bytes, program->size, &target, &image) != 0)
        return -E_NOEXEC;
    int error = user_space_create(space, eager, heap_limit_bytes);
    if (error == 0)
        error = user_space_load(space, program->bytes, &image);
    if (error)
        user_space_destroy(space);
    return error;
}
