/*
 * kernel/platform/sbi.c - SBI calls (RISC-V SBI spec 1.0 calling convention: a7 = EID, a6 = FID).
 */
#include "kernel/platform/sbi.h"

#include "kernel/base/errors.h"

static struct sbi_info probed;

static struct sbi_result sbi_call4(unsigned long extension, unsigned long function, unsigned long arg0,
                                   unsigned long arg1, unsigned long arg2, unsigned long arg3)
{
    register unsigned long a0 __asm__("a0") = arg0;
    register unsigned long a1 __asm__("a1") = arg1;
    register unsigned long a2 __asm__("a2") = arg2;
    register unsigned long a3 __asm__("a3") = arg3;
    register unsigned long a6 __asm__("a6") = function;
    register unsigned long a7 __asm__("a7") = extension;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a3), "r"(a6), "r"(a7) : "memory");
    return (struct sbi_result){(long)a0, (long)a1};
}

static struct sbi_result sbi_call(unsigned long extension, unsigned long function, unsigned long arg0,
                                  unsigned long arg1, unsigned long arg2)
{
    return sbi_call4(extension, function, arg0, arg1, arg2, 0);
}

/* Maps an SBI error (SBI_ERR_*) to our error codes. */
static int sbi_error_to_code(long error)
{
    switch (error) {
    case 0: return 0;
    case -2: return -E_NOSYS; /* SBI_ERR_NOT_SUPPORTED */
    case -3: return -E_INVAL; /* SBI_ERR_INVALID_PARAM */
    case -6: return -E_BUSY;  /* SBI_ERR_ALREADY_AVAILABLE */
    case -7: return -E_BUSY;  /* SBI_ERR_ALREADY_STARTED */
    case -8: return -E_BUSY;  /* SBI_ERR_ALREADY_STOPPED */
    default: return -E_INVAL;
    }
}

static bool probe_extension(unsigned long extension)
{
    struct sbi_result result = sbi_call(SBI_EXT_BASE, 3, extension, 0, 0);
    return result.error == 0 && result.value != 0;
}

int sbi_init(void)
{
    struct sbi_result version = sbi_call(SBI_EXT_BASE, 0, 0, 0, 0);
    if (version.error != 0)
        return -E_NOSYS;
    probed.spec_version = (unsigned long)version.value;
    probed.implementation_id = (unsigned long)sbi_call(SBI_EXT_BASE, 1, 0, 0, 0).value;
    probed.implementation_version = (unsigned long)sbi_call(SBI_EXT_BASE, 2, 0, 0, 0).value;
    probed.has_time = probe_extension(SBI_EXT_TIME);
    probed.has_ipi = probe_extension(SBI_EXT_IPI);
    probed.has_hsm = probe_extension(SBI_EXT_HSM);
    probed.has_srst = probe_extension(SBI_EXT_SRST);
    probed.has_rfence = probe_extension(SBI_EXT_RFENCE);
    probed.has_legacy_console = probe_extension(SBI_EXT_LEGACY_PUTCHAR);
    return 0;
}

const struct sbi_info *sbi_info(void)
{
    return &probed;
}

const char *sbi_implementation_name(unsigned long id)
{
    switch (id) {
    case 0: return "Berkeley Boot Loader";
    case 1: return "OpenSBI";
    case 2: return "Xvisor";
    case 3: return "KVM";
    case 4: return "RustSBI";
    case 5: return "Diosix";
    default: return "unknown SBI";
    }
}

void sbi_console_putchar(int c)
{
    sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, (unsigned long)c, 0, 0);
}

int sbi_console_getchar(void)
{
    return (int)sbi_call(SBI_EXT_LEGACY_GETCHAR, 0, 0, 0, 0).error;
}

int sbi_hart_start(unsigned long hartid, uintptr_t start_address, unsigned long opaque)
{
    if (!probed.has_hsm)
        return -E_NOSYS;
    return sbi_error_to_code(sbi_call(SBI_EXT_HSM, 0, hartid, start_address, opaque).error);
}

int sbi_hart_stop(void)
{
    if (!probed.has_hsm)
        return -E_NOSYS;
    return sbi_error_to_code(sbi_call(SBI_EXT_HSM, 1, 0, 0, 0).error);
}

long sbi_hart_status(unsigned long hartid)
{
    if (!probed.has_hsm)
        return -E_NOSYS;
    struct sbi_result result = sbi_call(SBI_EXT_HSM, 2, hartid, 0, 0);
    return result.error ? sbi_error_to_code(result.error) : result.value;
}

int sbi_set_timer(uint64_t stime_value)
{
    if (!probed.has_time)
        return -E_NOSYS;
#if __riscv_xlen == 32
    return sbi_error_to_code(
        sbi_call(SBI_EXT_TIME, 0, (unsigned long)stime_value, (unsigned long)(stime_value >> 32), 0).error);
#else
    return sbi_error_to_code(sbi_call(SBI_EXT_TIME, 0, stime_value, 0, 0).error);
#endif
}

int sbi_send_ipi(unsigned long hartid)
{
    if (!probed.has_ipi)
        return -E_NOSYS;
    /* hart_mask = bit 0, hart_mask_base = hartid: exactly this hart. */
    return sbi_error_to_code(sbi_call(SBI_EXT_IPI, 0, 1, hartid, 0).error);
}

int sbi_remote_sfence_vma(unsigned long hart_mask, unsigned long hart_mask_base, uintptr_t start, uintptr_t size)
{
    if (!probed.has_rfence)
        return -E_NOSYS;
    /* FID 1: remote_sfence_vma */
    return sbi_error_to_code(sbi_call4(SBI_EXT_RFENCE, 1, hart_mask, hart_mask_base, start, size).error);
}

int sbi_shutdown(unsigned long reason)
{
    if (!probed.has_srst)
        return -E_NOSYS;
    return sbi_error_to_code(sbi_call(SBI_EXT_SRST, 0, 0 /* shutdown */, reason, 0).error);
}
