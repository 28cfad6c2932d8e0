/*
 * kernel/platform/hart.h - per-hart data and SMP bring-up.
 *
 * Every hart has a logical index (0 for the boot hart, then 1, 2, ... in device-tree
 * order), independent of its hartid, which may be any number. tp points at the hart's
 * own struct hart for its whole life; hart_self() reads the index through it.
 */
#ifndef RVMEM_KERNEL_PLATFORM_HART_H
#define RVMEM_KERNEL_PLATFORM_HART_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/layout.h"

struct fdt;

struct hart {
    uintptr_t stack_protector_guard; /* offset 0: read by -fstack-protector through tp */
    unsigned index;                  /* offset HART_INDEX_OFFSET (8 on rv64, 4 on rv32): logical index */
    uintptr_t trap_scratch[2];       /* offset HART_TRAP_SCRATCH_OFFSET: the trap vector's t0 and t1 */
    uintptr_t stack_bottom;          /* offset HART_STACK_BOTTOM_OFFSET: its stack's lowest byte (boot/entry.S) */
    uintptr_t emergency_bottom;      /* offset HART_EMERGENCY_BOTTOM_OFFSET: its emergency stack's lowest byte */
    unsigned long hartid;            /* the hardware hart id (mhartid) */
    bool online;                     /* reported in */
    bool start_raced; /* its last start arrived with the firmware's stale address or argument (hart_start_request) */
    unsigned long report_count;   /* times it reported in (must be exactly 1) */
    uintptr_t boot_stack_pointer; /* sp seen by the hart's first C function */
    /* Hand-off of work from run_on_all_harts(). */
    void (*volatile job)(void);
    unsigned long job_generation;
    unsigned long done_generation;
    /* Offset HART_AREA_OFFSET to the end: the hart's private area, lent through the seam (hart_area). */
    uint8_t area[HART_AREA_BYTES] __attribute__((aligned(HART_AREA_OFFSET)));
} __attribute__((aligned(HART_STRUCT_SIZE)));

_Static_assert(sizeof(struct hart) == HART_STRUCT_SIZE, "HART_STRUCT_SIZE in layout.h must match struct hart");
_Static_assert(__builtin_offsetof(struct hart, stack_protector_guard) == HART_STACK_GUARD_OFFSET, "guard offset");
_Static_assert(__builtin_offsetof(struct hart, index) == HART_INDEX_OFFSET, "index offset");
_Static_assert(__builtin_offsetof(struct hart, trap_scratch) == HART_TRAP_SCRATCH_OFFSET, "trap scratch offset");
_Static_assert(__builtin_offsetof(struct hart, stack_bottom) == HART_STACK_BOTTOM_OFFSET, "stack bottom offset");
_Static_assert(__builtin_offsetof(struct hart, emergency_bottom) == HART_EMERGENCY_BOTTOM_OFFSET,
               "emergency stack offset");
_Static_assert(__builtin_offsetof(struct hart, area) == HART_AREA_OFFSET, "area offset");

/*
 * The hart smp_start_harts() is starting and the index it gives it; hartid is
 * HART_START_NONE otherwise. OpenSBI 1.1's hart_start marks a hart START_PENDING before it
 * stores the start address and argument (lib/sbi/sbi_hsm.c; later releases store them first),
 * so a hart that wakes in between leaves for the previous payload's entry, _start, with the
 * boot arguments. boot/entry.S looks here and sends such a hart on to secondary_start.
 */
struct hart_start_request {
    unsigned long hartid; /* offset HART_START_REQUEST_HARTID_OFFSET */
    unsigned long index;  /* offset HART_START_REQUEST_INDEX_OFFSET */
};
#define HART_START_NONE (~0UL)
_Static_assert(__builtin_offsetof(struct hart_start_request, hartid) == HART_START_REQUEST_HARTID_OFFSET,
               "hart_start_request hartid offset");
_Static_assert(__builtin_offsetof(struct hart_start_request, index) == HART_START_REQUEST_INDEX_OFFSET,
               "hart_start_request index offset");
extern struct hart_start_request hart_start_request;

/* The per-hart table; entry i belongs to logical hart i. */
extern struct hart harts[RVMEM_MAX_HARTS];

/* The calling hart's struct hart (through tp). */
static inline struct hart *hart_current(void)
{
    struct hart *self;
    __asm__("mv %0, tp" : "=r"(self));
    return self;
}

/* Makes the calling hart logical hart 0 (tp already points at harts[0]). Boot hart, first thing. */
void hart_boot_report_in(unsigned long hartid);

/*
 * Starts, through SBI HSM, every hart the device tree marks usable for S-mode, giving
 * them logical indices 1, 2, ... in device-tree order, and waits until each has reported
 * in. Harts beyond MAX_HARTS are not started (a message says so). Returns the number of
 * harts online, the boot hart included. Boot hart only, once.
 */
unsigned smp_start_harts(const struct fdt *fdt, unsigned long boot_hartid);

/*
 * Stops logical hart index (HSM hart_stop, from a job on that hart) and starts it again at
 * entry with opaque in a1. The tests use it to make OpenSBI 1.1's hart_start race happen (struct
 * hart_start_request): entry _start, or secondary_start with a bad index, must still bring the
 * hart back as itself, reporting in once (report_count 1). Boot hart only, no other job running.
 * Returns 0 once it has reported in; -E_INVAL for index 0 or a hart not online; the firmware's
 * refusal (-E_NOSYS where HSM has no hart_stop); -E_TIMEDOUT when the hart
 * neither stopped nor came back (it is lost then).
 */
int smp_restart_hart(unsigned index, uintptr_t entry, unsigned long opaque);

/*
 * Sleeps the calling hart for about microseconds: wfi until its timer (an earlier interrupt may
 * end the sleep sooner). Without a timer (no SBI TIME, or no timebase in the device tree, or
 * before smp_start_harts has read it) it counts hart_relax() rounds instead, each taken as 10 us.
 * For waits a person notices, such as a prompt waiting for a key: an idle hart then costs its
 * host next to nothing, where hart_relax() wakes it every few microseconds.
 */
void hart_sleep_microseconds(unsigned long microseconds);

/*
 * Work for the idle secondary harts: each calls work() in its loop whenever it has no
 * run_on_all_harts job, before it sleeps; work returns true when it did something (the loop then
 * looks for a job again), false to let the hart sleep until an IPI (so whoever makes work for an
 * idle hart sends it one). kernel/proc installs its scheduler here. NULL: none.
 */
void hart_set_idle_work(bool (*work)(void));

/* Whether a run_on_all_harts job waits for the calling hart (a hart busy elsewhere should come back). */
bool hart_job_pending(void);

/* The time CSR, in ticks of the device tree's timebase-frequency. */
uint64_t hart_time_now(void);

/* Ticks of hart_time_now per second, or 0 when there is no timer (no SBI TIME or no timebase). */
uint64_t hart_timebase_hz(void);

/*
 * Arms the calling hart's timer: its supervisor timer interrupt is pending (sip.STIP) from the
 * time deadline on (hart_time_now's ticks), until the timer is armed again or disarmed. A trap
 * comes only where sie.STIE is set and interrupts are enabled (in U-mode: kernel/proc/sched.c).
 * hart_relax and hart_sleep_microseconds use the timer for themselves and then arm it again for
 * the same deadline, and leave sie as they found it. Returns false without a timer (no SBI TIME).
 */
bool hart_timer_arm(uint64_t deadline);

/* No timer interrupt for the calling hart until it is armed again. */
void hart_timer_disarm(void);

/* Prints one line per hart: index, hartid, stack bounds. */
void smp_print_harts(void);

#endif
