/*
 * lib/host/platform_posix.c - kernel/base/platform.h for the host library (librvmem.a and the
 * LD_PRELOAD malloc): stderr as the console, threads as harts.
 *
 * Must not allocate: it runs inside malloc. hart_self() numbers threads as they first ask.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kernel/base/platform.h"

static __thread unsigned thread_number;
static unsigned threads_numbered;

void console_write(const char *text, size_t length)
{
    while (length > 0) {
        ssize_t written = write(2, text, length);
        if (written <= 0)
            return;
        text += written;
        length -= (size_t)written;
    }
}

unsigned hart_self(void)
{
    if (thread_number == 0)
        thread_number = __atomic_add_fetch(&threads_numbered, 1, __ATOMIC_RELAXED);
    return thread_number - 1;
}

unsigned hart_count(void)
{
    return __atomic_load_n(&threads_numbered, __ATOMIC_RELAXED);
}

void tlb_shootdown(uintptr_t virtual, uintptr_t bytes)
{
    (void)virtual; /* no page tables of the runtime's own on the host */
    (void)bytes;
}

void hart_relax(void)
{
    sched_yield();
}

void run_on_all_harts(void (*fn)(void))
{
    fn();
}

void stack_check(const char *site)
{
    (void)site;
}

void panic(const char *format, ...)
{
    char line[256];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    console_write("rvmem panic: ", 13);
    if (length > 0)
        console_write(line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
    console_write("\n", 1);
    abort();
}
