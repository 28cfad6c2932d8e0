/*
 * kernel/platform/mmu.c - satp, fences and TLB shootdowns (see mmu.h).
 */
#include "kernel/platform/mmu.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/platform/fdt.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/sbi.h"

/* cpu nodes read from the device tree (as smp_start_harts: OpenSBI 1.1 caps a platform at 128 harts). */
#define MMU_MAX_DEVICE_TREE_CPUS 128

static uintptr_t kernel_satp;
static bool force_ipi;
/* The IPI path: shootdowns asked of each hart, and those it has answered (fenced). */
static unsigned long requested[RVMEM_MAX_HARTS];
static unsigned long answered[RVMEM_MAX_HARTS];

#if __riscv_xlen == 32
#define SATP_MODE_SHIFT 31
#define MACHINE_MODE MMU_MODE_SV32
#else
#define SATP_MODE_SHIFT 60
#define MACHINE_MODE MMU_MODE_SV39
#endif

/* Whether an mmu-type value provides this build's mode. */
static bool mmu_type_provides_mode(const char *mmu_type)
{
    if (mmu_type == NULL)
        return false;
#if __riscv_xlen == 32
    return strcmp(mmu_type, "riscv,sv32") == 0;
#else
    /* A hart with Sv48 must support Sv39, one with Sv57 Sv48 (privileged spec). */
    return strcmp(mmu_type, "riscv,sv39") == 0 || strcmp(mmu_type, "riscv,sv48") == 0 ||
           strcmp(mmu_type, "riscv,sv57") == 0;
#endif
}

unsigned mmu_machine_mode(const struct fdt *fdt, unsigned long boot_hartid, char *why, size_t why_bytes)
{
    static struct fdt_cpu cpus[MMU_MAX_DEVICE_TREE_CPUS]; /* boot hart only, once: keep it off the stack */
    int count = fdt_cpus(fdt, cpus, MMU_MAX_DEVICE_TREE_CPUS);
    if (count < 0) {
        ksnprintf(why, why_bytes, "/cpus is unreadable (%s)", fdt_strerror(count));
        return MMU_MODE_BARE;
    }
    if (count > MMU_MAX_DEVICE_TREE_CPUS)
        count = MMU_MAX_DEVICE_TREE_CPUS;
    bool boot_hart_seen = false;
    unsigned started = 1; /* as smp_start_harts counts them: the boot hart, then the usable others */
    for (int i = 0; i < count; i++) {
        const struct fdt_cpu *cpu = &cpus[i];
        bool boot = cpu->hartid == boot_hartid;
        if (!boot && (!fdt_cpu_usable_for_smode(cpu) || started >= RVMEM_MAX_HARTS))
            continue;
        started += !boot;
        boot_hart_seen |= boot;
        if (!mmu_type_provides_mode(cpu->mmu_type)) {
            ksnprintf(why, why_bytes, "hartid %lu: mmu-type %s", (unsigned long)cpu->hartid,
                      cpu->mmu_type ? cpu->mmu_type : "absent");
            return MMU_MODE_BARE;
        }
    }
    if (!boot_hart_seen) {
        ksnprintf(why, why_bytes, "the boot hart (hartid %lu) has no /cpus node", boot_hartid);
        return MMU_MODE_BARE;
    }
    return MACHINE_MODE;
}

uintptr_t mmu_read_satp(void)
{
    uintptr_t satp;
    __asm__ volatile("csrr %0, satp" : "=r"(satp));
    return satp;
}

/* Writes satp on the calling hart and fences. True when the mode stuck (satp is WARL). */
static bool write_satp(uintptr_t satp)
{
    __asm__ volatile("sfence.vma zero, zero\n\tcsrw satp, %0\n\tsfence.vma zero, zero" ::"r"(satp) : "memory");
    return (mmu_read_satp() >> SATP_MODE_SHIFT) == (satp >> SATP_MODE_SHIFT);
}

bool mmu_turn_on(uintptr_t satp)
{
    if (!write_satp(satp)) {
        write_satp(0);
        return false;
    }
    __atomic_store_n(&kernel_satp, satp, __ATOMIC_RELEASE);
    return true;
}

void mmu_turn_on_this_hart(void)
{
    uintptr_t satp = __atomic_load_n(&kernel_satp, __ATOMIC_ACQUIRE);
    if (satp != 0 && !write_satp(satp))
        panic("this hart ignores satp mode %lu, which the boot hart runs: it cannot share the kernel's map",
              (unsigned long)(satp >> SATP_MODE_SHIFT));
}

uintptr_t mmu_kernel_satp(void)
{
    return __atomic_load_n(&kernel_satp, __ATOMIC_ACQUIRE);
}

void tlb_flush_local(uintptr_t virtual, uintptr_t bytes)
{
    if (bytes == 0 || bytes > 64 * PAGE_SIZE) { /* a long range: one full fence beats a fence per page */
        __asm__ volatile("sfence.vma zero, zero" ::: "memory");
        return;
    }
    for (uintptr_t page = virtual & ~(PAGE_SIZE - 1); page < virtual + bytes; page += PAGE_SIZE)
        __asm__ volatile("sfence.vma %0, zero" ::"r"(page) : "memory");
}

static bool use_rfence(void)
{
    return sbi_info()->has_rfence && !__atomic_load_n(&force_ipi, __ATOMIC_RELAXED);
}

const char *mmu_shootdown_method(void)
{
    if (mmu_kernel_satp() == 0)
        return "none";
    return use_rfence() ? "SBI RFENCE" : "IPI";
}

void mmu_set_shootdown_by_ipi(bool by_ipi)
{
    __atomic_store_n(&force_ipi, by_ipi, __ATOMIC_RELAXED);
}

bool mmu_shootdown_by_ipi(void)
{
    return __atomic_load_n(&force_ipi, __ATOMIC_RELAXED);
}

void mmu_answer_shootdowns(void)
{
    unsigned self = hart_self();
    unsigned long asked = __atomic_load_n(&requested[self], __ATOMIC_ACQUIRE);
    if (asked == answered[self])
        return;
    __asm__ volatile("sfence.vma zero, zero" ::: "memory");
    __atomic_store_n(&answered[self], asked, __ATOMIC_RELEASE);
}

/* A hart of harts_wanted (a bit per hart index) that runs the kernel now (not stopped by smp_restart_hart), other than
 * the caller. */
static bool another_running_hart(unsigned index, unsigned self, unsigned long harts_wanted)
{
    return index != self && (harts_wanted >> index & 1) && __atomic_load_n(&harts[index].online, __ATOMIC_ACQUIRE);
}

/* Every other running hart of harts_wanted, through the firmware: one call per XLEN-wide window of hartids. */
static void shootdown_by_rfence(unsigned self, unsigned online, unsigned long harts_wanted, uintptr_t virtual,
                                uintptr_t bytes)
{
    bool covered[RVMEM_MAX_HARTS] = {false};
    uintptr_t size = bytes == 0 ? UINTPTR_MAX : bytes; /* all ones: the whole address space (SBI spec) */
    for (unsigned first = 0; first < online; first++) {
        if (!another_running_hart(first, self, harts_wanted) || covered[first])
            continue;
        unsigned long base = harts[first].hartid, mask = 0;
        for (unsigned other = first; other < online; other++) {
            unsigned long hartid = harts[other].hartid;
            if (another_running_hart(other, self, harts_wanted) && !covered[other] && hartid >= base &&
                hartid - base < __riscv_xlen) {
                mask |= 1UL << (hartid - base);
                covered[other] = true;
            }
        }
        int error = sbi_remote_sfence_vma(mask, base, virtual, size);
        if (error)
            panic("SBI RFENCE remote_sfence_vma(mask 0x%lx, base %lu) failed: %s", mask, base, error_name(error));
    }
}

/* Every other running hart of harts_wanted, by request and IPI: each fences when it next waits (mmu_answer_shootdowns).
 */
static void shootdown_by_ipi(unsigned self, unsigned online, unsigned long harts_wanted)
{
    unsigned long wanted[RVMEM_MAX_HARTS];
    bool asked[RVMEM_MAX_HARTS];
    for (unsigned other = 0; other < online; other++) {
        asked[other] = another_running_hart(other, self, harts_wanted);
        if (!asked[other])
            continue;
        wanted[other] = __atomic_add_fetch(&requested[other], 1, __ATOMIC_ACQ_REL);
        sbi_send_ipi(harts[other].hartid);
    }
    for (unsigned other = 0; other < online; other++) {
        unsigned long rounds = 0;
        /* A hart stopped meanwhile (smp_restart_hart) fences as it starts again: no answer needed. */
        while (asked[other] && another_running_hart(other, self, harts_wanted) &&
               (long)(__atomic_load_n(&answered[other], __ATOMIC_ACQUIRE) - wanted[other]) < 0) {
            if (++rounds > MMU_SHOOTDOWN_RELAX_ROUNDS)
                panic("TLB shootdown: hart %u never answered (without SBI RFENCE a hart fences only when it waits)",
                      other);
            hart_relax(); /* answers requests made of this hart meanwhile: two shootdowns never wait for each other */
        }
    }
}

void tlb_shootdown_harts(unsigned long harts_wanted, uintptr_t virtual, uintptr_t bytes)
{
    if (mmu_kernel_satp() == 0)
        return;
    tlb_flush_local(virtual, bytes);
    unsigned self = hart_self(), online = hart_count();
    if (online <= 1 || (harts_wanted & ~(1UL << self)) == 0)
        return;
    /* The changed entries are visible to every hart before any of them fences (and walks again). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (use_rfence())
        shootdown_by_rfence(self, online, harts_wanted, virtual, bytes);
    else
        shootdown_by_ipi(self, online, harts_wanted);
}

void tlb_shootdown(uintptr_t virtual, uintptr_t bytes)
{
    tlb_shootdown_harts(~0UL, virtual, bytes);
}
