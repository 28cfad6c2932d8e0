/*
 * kernel/platform/hart.c - logical harts, SMP bring-up through SBI HSM, and run_on_all_harts.
 */
#include "kernel/platform/hart.h"

#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/platform/mmu.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/platform/sbi.h"
#include "kernel/base/spinlock.h"
#include "kernel/platform/stack.h"

struct hart harts[RVMEM_MAX_HARTS];
/* In .data, not .bss: a hart may read it in _start before the boot hart has cleared .bss. */
struct hart_start_request hart_start_request = {.hartid = HART_START_NONE, .index = 0};
static unsigned harts_online;
/*
 * How long the boot hart waits for a started hart to report in: seconds of the timebase (the
 * host's clock under QEMU without -icount, so a loaded host can stretch a start), and, where
 * the firmware has no TIME or the tree no timebase, hart_relax() rounds (spin_pause() then).
 */
#define REPORT_IN_SECONDS 10
#define REPORT_IN_POLL_LIMIT 2000000UL
/* cpu nodes read from the device tree (OpenSBI 1.1 itself caps a platform at 128 harts). */
#define SMP_MAX_DEVICE_TREE_CPUS 128

extern char secondary_start[];
void secondary_main(unsigned long hartid, unsigned index, bool start_raced) __attribute__((noreturn));

void *hart_area(unsigned hart)
{
    return harts[hart].area;
}

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
    uintptr_t enabled;
    __asm__ volatile("csrrs %0, sie, %1" : "=r"(enabled) : "r"(SIE_SOFTWARE));
    __asm__ volatile("wfi");
    __asm__ volatile("csrw sie, %0" ::"r"(enabled));
    __asm__ volatile("csrc sip, %0" ::"r"(SIE_SOFTWARE));
}

/* The time CSR (ticks of the device tree's timebase-frequency). */
uint64_t hart_time_now(void)
{
#if __riscv_xlen == 32
    uint32_t high, low, high_again;
    do { /* the two halves are two reads: retry when the low half wrapped in between */
        __asm__ volatile("rdtimeh %0\n\trdtime %1\n\trdtimeh %2" : "=r"(high), "=r"(low), "=r"(high_again));
    } while (high != high_again);
    return ((uint64_t)high << 32) | low;
#else
    uint64_t now;
    __asm__ volatile("rdtime %0" : "=r"(now));
    return now;
#endif
}

/* The deadline each hart's timer is armed for by hart_timer_arm (0: disarmed), restored after a sleep. */
static uint64_t armed_deadline[RVMEM_MAX_HARTS];

/*
 * Sleeps in wfi until ticks of the timebase have passed (or another interrupt is pending, or the
 * hart's armed deadline comes first). sie is as before afterwards, and so is the timer.
 */
static void sleep_ticks(uint64_t ticks)
{
    uint64_t wake = hart_time_now() + ticks, deadline = armed_deadline[hart_self()];
    sbi_set_timer(deadline != 0 && deadline < wake ? deadline : wake);
    uintptr_t enabled;
    __asm__ volatile("csrrs %0, sie, %1" : "=r"(enabled) : "r"(SIE_TIMER));
    __asm__ volatile("wfi");
    __asm__ volatile("csrw sie, %0" ::"r"(enabled));
    sbi_set_timer(deadline != 0 ? deadline : UINT64_MAX);
}

void hart_relax(void)
{
    mmu_answer_shootdowns(); /* a waiting hart answers TLB shootdowns (the IPI path: kernel/platform/mmu.h) */
    if (!sbi_info()->has_time) {
        spin_pause();
        return;
    }
    sleep_ticks(HART_RELAX_TICKS);
}

/* The clock hart_sleep_microseconds() and wait_for() measure with (0: none). Set by smp_start_harts(). */
static uint64_t timebase_hz;

void hart_sleep_microseconds(unsigned long microseconds)
{
    if (!sbi_info()->has_time || timebase_hz == 0) {
        for (unsigned long round = 0; round <= microseconds / 10; round++)
            hart_relax();
        return;
    }
    sleep_ticks((uint64_t)microseconds * timebase_hz / 1000000);
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

void hart_boot_report_in(unsigned long hartid)
{
    report_in(&harts[0], hartid, 0);
    harts_online = 1;
}

/* Work an idle secondary hart does before it sleeps (hart_set_idle_work); NULL: none. */
static bool (*idle_work)(void);

void hart_set_idle_work(bool (*work)(void))
{
    __atomic_store_n(&idle_work, work, __ATOMIC_RELEASE);
}

bool hart_job_pending(void)
{
    struct hart *self = hart_current();
    return __atomic_load_n(&self->job_generation, __ATOMIC_ACQUIRE) != self->done_generation;
}

uint64_t hart_timebase_hz(void)
{
    return sbi_info()->has_time ? timebase_hz : 0;
}

bool hart_timer_arm(uint64_t deadline)
{
    if (!sbi_info()->has_time)
        return false;
    armed_deadline[hart_self()] = deadline;
    return sbi_set_timer(deadline) == 0;
}

void hart_timer_disarm(void)
{
    if (!sbi_info()->has_time)
        return;
    armed_deadline[hart_self()] = 0;
    sbi_set_timer(UINT64_MAX);
}

/* Entered from boot/entry.S on every secondary hart, on its own stack, tp set, paging off. */
void secondary_main(unsigned long hartid, unsigned index, bool start_raced)
{
    struct hart *self = hart_current();
    mmu_turn_on_this_hart(); /* before it reports in: no job runs without the kernel's map */
    self->start_raced = start_raced;
    report_in(self, hartid, index);
    for (;;) {
        mmu_answer_shootdowns();
        unsigned long generation = __atomic_load_n(&self->job_generation, __ATOMIC_ACQUIRE);
        if (generation != self->done_generation) {
            self->job();
            stack_check("run_on_all_harts job");
            __atomic_store_n(&self->done_generation, generation, __ATOMIC_RELEASE);
            continue;
        }
        bool (*work)(void) = __atomic_load_n(&idle_work, __ATOMIC_ACQUIRE);
        if (work != NULL && work())
            continue;
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

/* Waits until done(hart): true once it holds, false after REPORT_IN_SECONDS. */
static bool wait_for(bool (*done)(const struct hart *), const struct hart *hart)
{
    bool by_time = timebase_hz != 0 && sbi_info()->has_time;
    uint64_t deadline = by_time ? hart_time_now() + REPORT_IN_SECONDS * timebase_hz : 0;
    for (unsigned long round = 0; by_time || round < REPORT_IN_POLL_LIMIT; round++) {
        if (done(hart))
            return true;
        if (by_time && hart_time_now() >= deadline)
            return false;
        hart_relax();
    }
    return false;
}

static bool reported_in(const struct hart *hart)
{
    return __atomic_load_n(&hart->online, __ATOMIC_ACQUIRE);
}

/*
 * Starts hartid at entry (opaque in a1) as logical hart index and waits for it to report in.
 * Returns 0, hart_start's error, or -E_TIMEDOUT. hart_start_request names the hart meanwhile.
 */
static int start_hart(unsigned long hartid, unsigned index, uintptr_t entry, unsigned long opaque)
{
    hart_start_request.index = index;
    __atomic_store_n(&hart_start_request.hartid, hartid, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* seen before the firmware marks the hart START_PENDING */
    int error = sbi_hart_start(hartid, entry, opaque);
    if (error == 0 && !wait_for(reported_in, &harts[index]))
        error = -E_TIMEDOUT;
    __atomic_store_n(&hart_start_request.hartid, HART_START_NONE, __ATOMIC_RELEASE);
    return error;
}

/* What the firmware says of a hart that never reported in, for the panic message. */
static const char *hart_state_name(long state)
{
    switch (state) {
    case SBI_HART_STARTED: return "STARTED (it runs, but not our code)";
    case SBI_HART_STOPPED: return "STOPPED";
    case SBI_HART_START_PENDING: return "START_PENDING (the firmware has not let it go)";
    case SBI_HART_STOP_PENDING: return "STOP_PENDING";
    case SBI_HART_SUSPENDED: return "SUSPENDED";
    default: return state < 0 ? error_name((int)state) : "unknown";
    }
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
    if (fdt_timebase_frequency(fdt, &timebase_hz) != 0)
        timebase_hz = 0; /* no clock to measure with: count rounds instead */
    unsigned next_index = 1;
    for (int i = 0; i < cpu_count; i++) {
        const struct fdt_cpu *cpu = &cpus[i];
        if (cpu->hartid == boot_hartid || !fdt_cpu_usable_for_smode(cpu))
            continue;
        if (next_index >= RVMEM_MAX_HARTS) {
            kprintf("hartid %lu: not started: this build holds MAX_HARTS=%d harts\n", (unsigned long)cpu->hartid,
                    RVMEM_MAX_HARTS);
            continue;
        }
        int error = start_hart(cpu->hartid, next_index, (uintptr_t)secondary_start, next_index);
        /* A late hart would run on this index's stack: never reuse it, stop here instead. */
        if (error == -E_TIMEDOUT)
            panic("hartid %lu: started but never reported in within %d s; the firmware says it is %s",
                  (unsigned long)cpu->hartid, REPORT_IN_SECONDS, hart_state_name(sbi_hart_status(cpu->hartid)));
        if (error) {
            kprintf("hartid %lu: SBI hart_start failed: %s\n", (unsigned long)cpu->hartid, error_name(error));
            continue;
        }
        next_index++;
        __atomic_store_n(&harts_online, next_index, __ATOMIC_RELEASE);
    }
    return harts_online;
}

static int stop_refused; /* what sbi_hart_stop() returned to stop_this_hart(), when it returned */

/* A job: the hart leaves for the firmware (HSM stop). Returns only when the firmware refuses. */
static void stop_this_hart(void)
{
    struct hart *self = hart_current();
    __atomic_store_n(&self->online, false, __ATOMIC_RELEASE);
    int error = sbi_hart_stop();
    __atomic_store_n(&stop_refused, error, __ATOMIC_RELAXED);
    __atomic_store_n(&self->online, true, __ATOMIC_RELEASE);
}

static bool stopped_or_refused(const struct hart *hart)
{
    return __atomic_load_n(&hart->done_generation, __ATOMIC_ACQUIRE) ==
               __atomic_load_n(&hart->job_generation, __ATOMIC_RELAXED) ||
           sbi_hart_status(hart->hartid) == SBI_HART_STOPPED;
}

int smp_restart_hart(unsigned index, uintptr_t entry, unsigned long opaque)
{
    if (index == 0 || index >= hart_count())
        return -E_INVAL;
    struct hart *hart = &harts[index];
    __atomic_store_n(&stop_refused, 0, __ATOMIC_RELAXED);
    hart->job = stop_this_hart;
    unsigned long generation = __atomic_add_fetch(&hart->job_generation, 1, __ATOMIC_RELEASE);
    sbi_send_ipi(hart->hartid);
    if (!wait_for(stopped_or_refused, hart))
        return -E_TIMEDOUT;
    if (__atomic_load_n(&hart->done_generation, __ATOMIC_ACQUIRE) == generation) { /* it is still running */
        int refused = __atomic_load_n(&stop_refused, __ATOMIC_RELAXED);
        return refused ? refused : -E_INVAL;
    }
    /* It stopped inside the job: the job ends here, so the hart does not run it again when back. */
    __atomic_store_n(&hart->done_generation, generation, __ATOMIC_RELEASE);
    hart->report_count = 0; /* the hart is the firmware's now: nobody else writes it */
    return start_hart(hart->hartid, index, entry, opaque);
}

void smp_print_harts(void)
{
    for (unsigned index = 0; index < hart_count(); index++)
        kprintf("  hart %u: hartid %lu, stack %p-%p%s\n", index, harts[index].hartid, (void *)stack_bottom(index),
                (void *)stack_top(index),
                harts[index].start_raced ? " (OpenSBI 1.1's hart_start race sent it astray; handled)" : "");
}
