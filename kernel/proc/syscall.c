/*
 * kernel/proc/syscall.c - the system calls (see syscall.h).
 */
#include "kernel/proc/syscall.h"

#include "kernel/base/arch.h"
#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/platform/console.h"
#include "kernel/proc/process.h"
#include "kernel/proc/programs.h"
#include "kernel/proc/thread.h"
#include "kernel/proc/user_copy.h"
#include "kernel/proc/user_trap.h"

#define REGISTER_A0 10
#define REGISTER_A1 11
#define REGISTER_A2 12
#define REGISTER_A3 13
#define REGISTER_A7 17

/* write's console: the bytes in one piece (console_write holds the console's lock for all of them). */
static void console_sink(void *context, const char *bytes, size_t length)
{
    (void)context;
    console_write(bytes, length);
}

/* write's bytes for a child of the kernel that captures them (struct process_output). */
static void output_sink(void *context, const char *bytes, size_t length)
{
    struct process_output *output = context;
    size_t room = output->capacity - output->length, kept = length < room ? length : room;
    memcpy(output->buffer + output->length, bytes, kept);
    output->length += kept;
    output->dropped += length - kept;
    if (output->echo)
        console_write(bytes, length);
}

static long sys_write(struct process *process, uintptr_t fd, uintptr_t buffer, uintptr_t bytes)
{
    if (fd != USER_STDOUT && fd != USER_STDERR)
        return -E_BADF;
    if (bytes == 0)
        return 0;
    if ((long)bytes < 0)
        return -E_FAULT; /* no program's memory is that large: the range wraps or leaves the window */
    int error = process->output ? user_copy_to_sink(&process->space, buffer, bytes, output_sink, process->output)
                                : user_copy_to_sink(&process->space, buffer, bytes, console_sink, NULL);
    return error ? error : (long)bytes;
}

/*
 * spawn(name, arguments): the strings come into the kernel first (checked and counted against
 * spawn's limits), then the new process is made from them.
 */
static long sys_spawn(struct process *process, uintptr_t name_address, uintptr_t arguments)
{
    char strings[USER_ARGUMENT_BYTES_MAX];
    const char *argv[USER_ARGUMENTS_MAX];
    long length = user_copy_string_in(&process->space, strings, name_address, USER_PROGRAM_NAME_MAX);
    if (length == -E_RANGE)
        return -E_NAMETOOLONG;
    if (length < 0)
        return length;
    if (user_program_find(strings) == NULL)
        return -E_NOENT;
    argv[0] = strings;
    size_t argc = 1, used = (size_t)length + 1;
    for (uintptr_t at = arguments; at != 0; at += sizeof(uintptr_t)) {
        uintptr_t pointer;
        int error = user_copy_in(&process->space, &pointer, at, sizeof pointer);
        if (error)
            return error;
        if (pointer == 0)
            break;
        if (argc == USER_ARGUMENTS_MAX)
            return -E_2BIG;
        long copied = user_copy_string_in(&process->space, strings + used, pointer, sizeof strings - used);
        if (copied == -E_RANGE)
            return -E_2BIG;
        if (copied < 0)
            return copied;
        argv[argc++] = strings + used;
        used += (size_t)copied + 1;
    }
    struct process_spawn_request request = {.name = strings,
                                            .argv = argv,
                                            .argc = argc,
                                            .parent = process,
                                            .eager = process->space.eager,
                                            .affinity = PROCESS_ANY_HART};
    long pid;
    int error = process_spawn(&request, &pid);
    return error ? error : pid;
}

/* wait(pid, status): false when the thread must block (the call runs again once a child ends). */
static bool sys_wait(struct thread *thread, long pid, uintptr_t status_address)
{
    struct process *process = thread->process;
    uintptr_t *registers = thread->frame.registers;
    if (status_address != 0 && user_space_check(&process->space, status_address, sizeof(int), USER_ACCESS_WRITE)) {
        registers[REGISTER_A0] = (uintptr_t)-E_FAULT; /* checked before anything is reaped */
        return true;
    }
    int status = 0;
    long result = process_wait_child(thread, pid, &status);
    if (result == -E_AGAIN) {
        thread->frame.pc -= 4; /* back on the ecall */
        thread->leave = THREAD_LEAVE_BLOCK;
        return false;
    }
    if (result > 0 && status_address != 0)
        user_copy_out(&process->space, status_address, &status, sizeof status); /* checked above */
    registers[REGISTER_A0] = (uintptr_t)result;
    return true;
}

/* sbrk beyond its common case (a shrink, the eager mode, an error). */
static __attribute__((noinline)) bool sys_sbrk(struct thread *thread)
{
    uintptr_t *registers = thread->frame.registers;
    registers[REGISTER_A0] = (uintptr_t)user_space_sbrk(&thread->process->space, (intptr_t)registers[REGISTER_A0]);
    return true;
}

/* The system calls other than getpid and sbrk (kept out of syscall_trap: their frames and canaries). */
static __attribute__((noinline)) bool syscall_other(struct thread *thread)
{
    struct process *process = thread->process;
    uintptr_t *registers = thread->frame.registers;
    long result;
    switch (registers[REGISTER_A7]) {
    case SYS_BRK: result = user_space_brk(&process->space, registers[REGISTER_A0]); break;
    case SYS_WRITE:
        result = sys_write(process, registers[REGISTER_A0], registers[REGISTER_A1], registers[REGISTER_A2]);
        break;
    case SYS_SCHED_YIELD:
        registers[REGISTER_A0] = 0;
        if (!thread->yield_at_tick && !process_others_runnable(hart_self()))
            return true; /* nobody else wants this hart (its kernel work included) */
        thread->leave = THREAD_LEAVE_YIELD;
        return false;
    case SYS_EXIT:
        thread->exit_status = (int)registers[REGISTER_A0];
        thread->leave = THREAD_LEAVE_EXIT;
        return false;
    case SYS_SPAWN: result = sys_spawn(process, registers[REGISTER_A0], registers[REGISTER_A1]); break;
    case SYS_WAIT: return sys_wait(thread, (long)registers[REGISTER_A0], registers[REGISTER_A1]);
    case SYS_THREAD_CREATE:
        result = thread_create(thread, registers[REGISTER_A0], registers[REGISTER_A1], registers[REGISTER_A2],
                               registers[REGISTER_A3]);
        break;
    case SYS_THREAD_EXIT:
        thread->exit_value = registers[REGISTER_A0];
        thread->leave = THREAD_LEAVE_THREAD_EXIT;
        return false;
    case SYS_THREAD_JOIN: return thread_join(thread, (long)registers[REGISTER_A0], registers[REGISTER_A1]);
    case SYS_FUTEX_WAIT: return futex_wait(thread, registers[REGISTER_A0], (uint32_t)registers[REGISTER_A1]);
    case SYS_FUTEX_WAKE: result = futex_wake(process, registers[REGISTER_A0], registers[REGISTER_A1]); break;
    default: result = -E_NOSYS; break;
    }
    registers[REGISTER_A0] = (uintptr_t)result;
    return true;
}

/*
 * The common system calls first (getpid, and sbrk growing the heap in the lazy mode, which only
 * moves the break), in a function with no frame of its own: the rest are in sys_sbrk and
 * syscall_other, faults and interrupts in user_trap_exception.
 */
ARCH_NO_FRAME_POINTER bool syscall_trap(struct user_frame *frame, uintptr_t scause)
{
    struct thread *thread = (struct thread *)frame;
    if (__builtin_expect(scause != TRAP_CAUSE_USER_ECALL, 0))
        return user_trap_exception(thread, scause);
    uintptr_t *registers = frame->registers;
    frame->pc += 4;
    thread->syscalls++;
    uintptr_t number = registers[REGISTER_A7];
    if (number == SYS_GETPID) {
        registers[REGISTER_A0] = (uintptr_t)thread->process->pid;
        return true;
    }
    if (number == SYS_SBRK) {
        long old;
        if (!user_space_sbrk_lazy_grow(&thread->process->space, (intptr_t)registers[REGISTER_A0], &old))
            return sys_sbrk(thread);
        registers[REGISTER_A0] = (uintptr_t)old;
        return true;
    }
    return syscall_other(thread);
}
