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
/* How long the boot hart waits for a started hart to report in, in hart_relax() rounds (~2 s). */
#define REPORT_IN_POLL_LIMIT 200000UL
/* cpu nodes read from the device tree (OpenSBI 1.1 itself caps a platform at 128 harts). */
#define SMP_MAX_DEVICE_TREE_CPUS 128

extern char secondary_start[];
void secondary_main(unsigned long hartid, unsigned index) __attribute__((noreturn));

unsigned hart_count(void)
{
    unsigned online = __atomic_load_n(&harts_online, __ATOMIC_ACQUIRE);
    return online ? online : 1;
}

/*
 * A waiting hart sleeps for HART_RELAX_TICKS with wfi, woken by its own timer. Interrupts
 * stay disabled (sstatus.SIE is 0), so no trap is taken: wfi only needs the timer interrupt
 * enabled in sie to end. This matters under QEMU -icount, where all harts share one host
 * thread and a spinning hart would never give the others a turn.
 */
#define HART_RELAX_TICKS 100
#define SIE_TIMER (1UL << 5)
#define SIE_SOFTWARE (1UL << 1)

/*
 * An idle secondary hart sleeps in wfi until an IPI (sip.SSIP) arrives, so it executes
 * nothing while another hart is measured. A pending SSIP makes wfi return at once, so an
 * IPI sent before the hart went to sleep is never lost. Without the IPI extension it
 * falls back to hart_relax().
 */
static void sleep_until_ipi(void)
{
    if (!sbi_info()->has_ipi) {
        hart_relax();
        return;
    }
    __asm__ volatile("csrs sie, %0" ::"r"(SIE_SOFTWARE));
    __asm__ volatile("wfi");
    __asm__ volatile("csrc sie, %0" ::"r"(SIE_SOFTWARE));
    __asm__ volatile("csrc sip, %0" ::"r"(SIE_SOFTWARE));
}

void hart_relax(void)
{
    if (!sbi_info()->has_time) {
        spin_pause();
        return;
    }
    uint64_t now;
#if __riscv_xlen == 32
    uint32_t high, low, high_again;
    do { /* the two halves are two reads: retry when the low half wrapped in between */
        __asm__ volatile("rdtimeh %0\n\trdtime %1\n\trdtimeh %2" : "=r"(high), "=r"(low), "=r"(high_again));
    } while (high != high_again);
    now = ((uint64_t)high << 32) | low;
#else
    __asm__ volatile("rdtime %0" : "=r"(now));
#endif
    sbi_set_timer(now + HART_RELAX_TICKS);
    __asm__ volatile("csrs sie, %0" ::"r"(SIE_TIMER));
    __asm__ volatile("wfi");
    __asm__ volatile("csrc sie, %0" ::"r"(SIE_TIMER));
    sbi_set_timer(UINT64_MAX);
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
            continue;
        }
        sleep_until_ipi();
    }
}

void run_on_all_harts(void (*fn)(void))
{
    unsigned online = hart_count();
    for (unsigned index = 1; index < online; index++) {
        harts[index].job = fn;
        __atomic_add_fetch(&harts[index].job_generation, 1, __ATOMIC_RELEASE);
        sbi_send_ipi(harts[index].hartid);
    }
    fn();
    for (unsigned index = 1; index < online; index++) {
        struct hart *other = &harts[index];
        while (__atomic_load_n(&other->done_generation, __ATOMIC_ACQUIRE) !=
               __atomic_load_n(&other->job_generation, __ATOMIC_RELAXED))
            hart_relax();
    }
}

static bool wait_for_report(struct hart *hart)
{
    for (unsigned long round = 0; round < REPORT_IN_POLL_LIMIT; round++) {
        if (__atomic_load_n(&hart->online, __ATOMIC_ACQUIRE)) {
            return true;
        }
        hart_relax();
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
