/*
 * kernel/hart.c - logical harts, SMP bring-up through SBI HSM, and run_on_all_harts.
 */
#include "kernel/hart.h"

#include "kernel/errors.h"
#include "kernel/fdt.h"
#include "kernel/platform.h"
#include "kernel/printf.h"
#include "kernel/sbi.h"
#include "kernel/spinlock.h"
#include "kernel/stack.h"

struct hart harts[RVMEM_MAX_HARTS];
static unsigned harts_online;
/* How long the boot hart waits for a started hart to report in, in polling rounds. */
#define REPORT_IN_POLL_LIMIT 200000000UL
/* cpu nodes read from the device tree (OpenSBI 1.1 itself caps a platform at 128 harts). */
#define SMP_MAX_DEVICE_TREE_CPUS 128

extern char secondary_start[];
void secondary_main(unsigned long hartid, unsigned index) __attribute__((noreturn));

unsigned hart_self(void)
{
    return hart_current()->index;
}

unsigned hart_count(void)
{
    unsigned online = __atomic_load_n(&harts_online, __ATOMIC_ACQUIRE);
    return online ? online : 1;
}

static void report_in(struct hart *self, unsigned long hartid, unsigned index)
{
    uintptr_t sp;
    __asm__("mv %0, sp" : "=r"(sp));
    self->hartid = hartid;
    self->index = index;
    self->boot_stack_pointer = sp;
    __atomic_add_fetch(&self->report_count, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&self->online, true, __ATOMIC_RELEASE);
}

/* Called by kernel/main.c for the boot hart, before anything else that uses struct hart. */
void hart_boot_report_in(unsigned long hartid)
{
    report_in(&harts[0], hartid, 0);
    harts_online = 1;
}

/* Entered from boot/entry.S on every secondary hart, on its own stack, tp set. */
void secondary_main(unsigned long hartid, unsigned index)
{
    struct hart *self = hart_current();
    report_in(self, hartid, index);
    for (;;) {
        unsigned long generation = __atomic_load_n(&self->job_generation, __ATOMIC_ACQUIRE);
        if (generation != self->done_generation) {
            self->job();
            stack_check("run_on_all_harts job");
            __atomic_store_n(&self->done_generation, generation, __ATOMIC_RELEASE);
        }
        spin_pause();
    }
}

void run_on_all_harts(void (*fn)(void))
{
    unsigned online = hart_count();
    for (unsigned index = 1; index < online; index++) {
        harts[index].job = fn;
        __atomic_add_fetch(&harts[index].job_generation, 1, __ATOMIC_RELEASE);
    }
    fn();
    for (unsigned index = 1; index < online; index++) {
        struct hart *other = &harts[index];
        while (__atomic_load_n(&other->done_generation, __ATOMIC_ACQUIRE) !=
               __atomic_load_n(&other->job_generation, __ATOMIC_RELAXED))
            spin_pause();
    }
}

static bool wait_for_report(struct hart *hart)
{
    for (unsigned long round = 0; round < REPORT_IN_POLL_LIMIT; round++) {
        if (__atomic_load_n(&hart->online, __ATOMIC_ACQUIRE))
            return true;
        spin_pause();
    }
    return false;
}

unsigned smp_start_harts(const struct fdt *fdt, unsigned long boot_hartid)
{
    static struct fdt_cpu cpus[SMP_MAX_DEVICE_TREE_CPUS]; /* boot hart only, once: keep it off the stack */
    int cpu_count = fdt_cpus(fdt, cpus, SMP_MAX_DEVICE_TREE_CPUS);
    if (cpu_count < 0)
        panic("device tree: cannot read /cpus: %s", fdt_strerror(cpu_count));
    if (cpu_count > SMP_MAX_DEVICE_TREE_CPUS) {
        kprintf("device tree lists %d cpus; only the first %d are considered\n", cpu_count, SMP_MAX_DEVICE_TREE_CPUS);
        cpu_count = SMP_MAX_DEVICE_TREE_CPUS;
    }
    unsigned next_index = 1;
    for (int i = 0; i < cpu_count; i++) {
        const struct fdt_cpu *cpu = &cpus[i];
        if (cpu->hartid == boot_hartid || !fdt_cpu_usable_for_smode(cpu))
            continue;
        if (next_index >= RVMEM_MAX_HARTS) {
            kprintf("hart %lu: not started: this build holds MAX_HARTS=%d harts\n", (unsigned long)cpu->hartid,
                    RVMEM_MAX_HARTS);
            continue;
        }
        unsigned index = next_index;
        int error = sbi_hart_start(cpu->hartid, (uintptr_t)secondary_start, index);
        if (error) {
            kprintf("hart %lu: SBI hart_start failed: %s\n", (unsigned long)cpu->hartid, error_name(error));
            continue;
        }
        /* A late hart would run on this index's stack: never reuse it, stop here instead. */
        if (!wait_for_report(&harts[index]))
            panic("hart %lu: started but never reported in", (unsigned long)cpu->hartid);
        next_index++;
        __atomic_store_n(&harts_online, next_index, __ATOMIC_RELEASE);
    }
    return harts_online;
}

void smp_print_harts(void)
{
    for (unsigned index = 0; index < hart_count(); index++)
        kprintf("  hart %u: hartid %lu, stack %p-%p\n", index, harts[index].hartid, (void *)stack_bottom(index),
                (void *)stack_top(index));
}
