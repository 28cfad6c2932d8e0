/*
 * tests/host/platform.c - kernel/base/platform.h for host builds: stdout, pthreads as harts.
 *
 * The host stands in for a machine with RVMEM_HOST_HARTS harts (default 4, at most
 * RVMEM_MAX_HARTS): hart 0 is the main thread; run_on_all_harts() starts one thread per other hart.
 */
#include "kernel/base/platform.h"

#include "kernel/base/layout.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HOST_MAX_HARTS RVMEM_MAX_HARTS

/* Each hart's private area (hart_area), as struct hart holds it in the kernel. */
static struct {
    unsigned char bytes[HART_AREA_BYTES];
} __attribute__((aligned(HART_AREA_OFFSET))) hart_areas[HOST_MAX_HARTS];

static __thread unsigned this_hart;
static unsigned configured_harts;
static pthread_mutex_t console_mutex = PTHREAD_MUTEX_INITIALIZER;

void console_write(const char *text, size_t length)
{
    pthread_mutex_lock(&console_mutex);
    fwrite(text, 1, length, stdout);
    fflush(stdout);
    pthread_mutex_unlock(&console_mutex);
}

unsigned hart_self(void)
{
    return this_hart;
}

void *hart_area(unsigned hart)
{
    return hart_areas[hart].bytes;
}

unsigned hart_count(void)
{
    if (configured_harts == 0) {
        const char *setting = getenv("RVMEM_HOST_HARTS");
        long harts = setting ? strtol(setting, NULL, 10) : 4;
        configured_harts = harts < 1 ? 1 : harts > HOST_MAX_HARTS ? HOST_MAX_HARTS : (unsigned)harts;
    }
    return configured_harts;
}

void stack_check(const char *site)
{
    (void)site; /* host threads have guard pages of their own */
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

struct hart_job {
    void (*fn)(void);
    unsigned hart;
};

static void *hart_thread(void *argument)
{
    struct hart_job *job = argument;
    this_hart = job->hart;
    job->fn();
    return NULL;
}

void run_on_all_harts(void (*fn)(void))
{
    unsigned harts = hart_count();
    pthread_t threads[HOST_MAX_HARTS];
    struct hart_job jobs[HOST_MAX_HARTS];
    for (unsigned hart = 1; hart < harts; hart++) {
        jobs[hart] = (struct hart_job){fn, hart};
        if (pthread_create(&threads[hart], NULL, hart_thread, &jobs[hart]) != 0) {
            fprintf(stderr, "run_on_all_harts: pthread_create failed\n");
            abort();
        }
    }
    fn();
    for (unsigned hart = 1; hart < harts; hart++)
        pthread_join(threads[hart], NULL);
}

void panic(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fflush(stdout);
    fprintf(stderr, "panic: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, " (hart %u)\n", this_hart);
    va_end(args);
    abort();
}
