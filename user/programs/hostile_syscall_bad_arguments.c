/*
 * user/programs/hostile_syscall_bad_arguments.c - every other system call with bad arguments.
 *
 * `hostile_syscall_bad_arguments [KERNEL_ADDRESS]`: unknown numbers, bad file descriptors,
 * spawn with bad pointers (the name, the argument array, a string in it), a name too long, no
 * such program, too many arguments and too many bytes of them, wait with no child and with a bad
 * status pointer. Checks itself (user/lib/expect.c): the expected error of each is in the code.
 *
 * The kernel must: return each error as written below, never fault itself, and leave a child
 * that a failed wait did not reap for the next wait; the program then exits with 0 after
 * "hostile_syscall_bad_arguments: ok".
 * System calls: write, spawn, wait, exit, and three numbers that are no call.
 */
#include "kernel/base/string.h"
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t kernel = number_argument(argc, argv, 1, USER_KERNEL_ADDRESS);
    const char *kernel_string = (const char *)kernel;

    expect("an unknown number", syscall_0(SYS_RVMEM_BASE + 999), -E_NOSYS);
    expect("number 0", syscall_0(0), -E_NOSYS);
    expect("number -1", syscall_0(-1), -E_NOSYS);
    expect("write to fd 0", sys_write(0, "x", 1), -E_BADF);
    expect("write to fd 3", sys_write(3, "x", 1), -E_BADF);

    expect("spawn with a NULL name", sys_spawn(NULL, NULL), -E_FAULT);
    expect("spawn with a kernel name", sys_spawn(kernel_string, NULL), -E_FAULT);
    expect("spawn of no such program", sys_spawn("no_such_program", NULL), -E_NOENT);
    expect("spawn with a name too long", sys_spawn("a_name_longer_than_any_program_may_have", NULL), -E_NAMETOOLONG);
    expect("spawn with a kernel argument array", sys_spawn("exit_with", (const char *const *)kernel), -E_FAULT);
    const char *kernel_argument[] = {"1", kernel_string, NULL};
    expect("spawn with a kernel string among the arguments", sys_spawn("exit_with", kernel_argument), -E_FAULT);
    const char *too_many[USER_ARGUMENTS_MAX + 1];
    for (int i = 0; i < USER_ARGUMENTS_MAX; i++)
        too_many[i] = "1";
    too_many[USER_ARGUMENTS_MAX] = NULL; /* with argv[0], one more than USER_ARGUMENTS_MAX */
    expect("spawn with too many arguments", sys_spawn("exit_with", too_many), -E_2BIG);
    static char long_argument[USER_ARGUMENT_BYTES_MAX];
    memset(long_argument, '7', sizeof long_argument - 1);
    const char *too_long[] = {long_argument, NULL}; /* with "exit_with", more bytes than allowed */
    expect("spawn with too many argument bytes", sys_spawn("exit_with", too_long), -E_2BIG);

    expect("wait with no child", sys_wait(-1, NULL), -E_CHILD);
    expect("wait for a pid that is no child", sys_wait(1 << 30, NULL), -E_CHILD);
    const char *seven[] = {"7", NULL};
    long child = sys_spawn("exit_with", seven);
    expect("spawn exit_with 7", child > 0, 1);
    expect("wait with a kernel status pointer", sys_wait(child, (int *)kernel), -E_FAULT);
    int status = -1;
    expect("the child is still there for the next wait", sys_wait(child, &status), child);
    expect("its status says exit code 7", WAIT_EXITED(status) && WAIT_EXIT_CODE(status) == 7, 1);
    return expect_finish();
}
