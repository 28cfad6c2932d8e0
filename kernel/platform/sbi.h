/*
 * kernel/platform/sbi.h - calls into the SBI firmware (OpenSBI), probe first, then use.
 *
 * Every call returns the SBI error in .error (0 or a negative SBI_ERR_*) and a value.
 * sbi_init() probes the extensions once; sbi_has() answers from that probe, so callers
 * never call an extension the firmware lacks. Safe on all harts at once.
 */
#ifndef RVMEM_KERNEL_PLATFORM_SBI_H
#define RVMEM_KERNEL_PLATFORM_SBI_H

#include <stdbool.h>
#include <stdint.h>

enum sbi_extension {
    SBI_EXT_LEGACY_PUTCHAR = 0x01,
    SBI_EXT_LEGACY_GETCHAR = 0x02,
    SBI_EXT_BASE = 0x10,
    SBI_EXT_TIME = 0x54494D45,
    SBI_EXT_IPI = 0x735049,
    SBI_EXT_HSM = 0x48534D,
    SBI_EXT_SRST = 0x53525354,
    SBI_EXT_RFENCE = 0x52464E43,
};

enum sbi_hart_state {
    SBI_HART_STARTED = 0,
    SBI_HART_STOPPED = 1,
    SBI_HART_START_PENDING = 2,
    SBI_HART_STOP_PENDING = 3,
    SBI_HART_SUSPENDED = 4,
};

struct sbi_result {
    long error;
    long value;
};

struct sbi_info {
    unsigned long spec_version; /* major << 24 | minor */
    unsigned long implementation_id;
    unsigned long implementation_version;
    bool has_time, has_ipi, has_hsm, has_srst, has_rfence, has_legacy_console;
};

/* Probes the firmware (BASE must exist: SBI >= 0.2). Returns 0, or -E_NOSYS without BASE. */
int sbi_init(void);

/* What sbi_init found. */
const struct sbi_info *sbi_info(void);

/* Name of an SBI implementation id ("OpenSBI", ...). */
const char *sbi_implementation_name(unsigned long id);

/* Legacy console: one byte out; one byte in or -1 when none is waiting. */
void sbi_console_putchar(int c);
int sbi_console_getchar(void);

/* HSM: start hartid at physical start_address with a1 = opaque. Returns 0 or -E_xxx. */
int sbi_hart_start(unsigned long hartid, uintptr_t start_address, unsigned long opaque);
/* HSM: stops the calling hart (back to the firmware until a hart_start). Returns only on failure (-E_xxx). */
int sbi_hart_stop(void);
/* HSM: state of hartid (enum sbi_hart_state) or a negative error. */
long sbi_hart_status(unsigned long hartid);

/* TIME: next timer interrupt at absolute time stime_value. Returns 0 or -E_NOSYS. */
int sbi_set_timer(uint64_t stime_value);

/* IPI: raises a supervisor software interrupt (sip.SSIP) on hartid. Returns 0 or -E_xxx. */
int sbi_send_ipi(unsigned long hartid);

/*
 * RFENCE: makes the harts of hart_mask (bit i: hartid hart_mask_base + i) execute sfence.vma for
 * [start, start + size) (size 0 or ~0: everything), and returns once they have. Returns 0 or -E_xxx.
 */
int sbi_remote_sfence_vma(unsigned long hart_mask, unsigned long hart_mask_base, uintptr_t start, uintptr_t size);

/* SRST: shut down (reason 0: none, 1: system failure). Returns only on failure (-E_xxx). */
int sbi_shutdown(unsigned long reason);

#endif
