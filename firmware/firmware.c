/*
 * firmware/firmware.c - a minimal M-mode SBI firmware, enough to boot rvmem where no OpenSBI
 * exists (rv32 on QEMU virt: Debian ships no rv32 OpenSBI).
 *
 * Implements SBI 1.0 BASE, TIME (CLINT mtimecmp), IPI (CLINT msip), RFENCE remote_fence_i,
 * remote_sfence_vma and remote_sfence_vma_asid (each a whole-TLB fence: an M-mode software
 * interrupt makes every selected hart fence, and the call returns once all have), HSM
 * hart_start, hart_stop and hart_get_status, and the legacy console putchar/getchar (16550 at
 * 0x10000000). Everything
 * else answers SBI_ERR_NOT_SUPPORTED, as the spec asks. S-mode gets all memory (one PMP
 * entry), rdtime/rdcycle/rdinstret (mcounteren) and every exception and S-level interrupt
 * delegated except its own ecalls. The firmware reserves its region with a /memreserve/
 * entry it adds to the device tree. QEMU virt only; see firmware/firmware.h.
 */
#include <stdbool.h>
#include <stdint.h>

#include "firmware/firmware.h"

#define CLINT_BASE 0x2000000UL
#define CLINT_MSIP(hart) ((volatile uint32_t *)(CLINT_BASE + 4 * (hart)))
#define CLINT_MTIMECMP(hart) ((volatile uint32_t *)(CLINT_BASE + 0x4000 + 8 * (hart)))
#define UART_BASE 0x10000000UL
#define UART_LSR_DATA_READY 0x01
#define UART_LSR_THR_EMPTY 0x20
#define RAM_BASE 0x80000000UL

#define SBI_SUCCESS 0
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)
#define EXT_LEGACY_PUTCHAR 0x01
#define EXT_LEGACY_GETCHAR 0x02
#define EXT_BASE 0x10
#define EXT_TIME 0x54494D45
#define EXT_IPI 0x735049
#define EXT_HSM 0x48534D
#define EXT_RFENCE 0x52464E43
#define IMPLEMENTATION_ID 0x7276 /* unregistered: "rv" */

#define MIP_SSIP (1UL << 1)
#define MIP_MSIP (1UL << 3)
#define MIP_STIP (1UL << 5)
#define MIP_MTIP (1UL << 7)
#define CAUSE_INTERRUPT (1UL << (__riscv_xlen - 1))
#define CAUSE_SUPERVISOR_ECALL 9

enum hart_state { HART_STARTED = 0, HART_STOPPED = 1, HART_START_PENDING = 2 };

struct hart_slot {
    volatile int state;
    volatile unsigned long start_address;
    volatile unsigned long opaque;
};
static struct hart_slot slots[FIRMWARE_MAX_HARTS];

/* Why a hart's M-mode software interrupt was raised: an IPI for S-mode, a fence asked by RFENCE (or both). */
static int ssip_pending[FIRMWARE_MAX_HARTS];
static int fence_pending[FIRMWARE_MAX_HARTS];

/* QEMU's fw_dynamic_info (a2 at reset): where the payload starts and in which mode. */
struct fw_dynamic_info {
    unsigned long magic, version, next_address, next_mode, options, boot_hart;
};

/* The registers the trap entry saved: x0..x31 by number (x2 is the interrupted sp). */
struct trap_frame {
    unsigned long x[32];
};
#define REG_A0 10
#define REG_A1 11
#define REG_A6 16
#define REG_A7 17

#define read_csr(name)                                                                                                 \
    ({                                                                                                                 \
        unsigned long value_;                                                                                          \
        __asm__ volatile("csrr %0, " #name : "=r"(value_));                                                            \
        value_;                                                                                                        \
    })
#define write_csr(name, value) __asm__ volatile("csrw " #name ", %0" ::"r"((unsigned long)(value)))
#define set_csr(name, bits) __asm__ volatile("csrs " #name ", %0" ::"r"((unsigned long)(bits)))
#define clear_csr(name, bits) __asm__ volatile("csrc " #name ", %0" ::"r"((unsigned long)(bits)))

static void uart_putchar(char c)
{
    volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;
    while (!(uart[5] & UART_LSR_THR_EMPTY))
        ;
    uart[0] = (uint8_t)c;
}

static void print(const char *text)
{
    for (; *text; text++)
        uart_putchar(*text);
}

static void print_hex(unsigned long value)
{
    print("0x");
    for (int shift = __riscv_xlen - 4; shift >= 0; shift -= 4)
        uart_putchar("0123456789abcdef"[(value >> shift) & 0xf]);
}

/* Called by every hart at reset: delegation, counters, PMP, the software interrupt. */
void firmware_hart_init(void);
void firmware_hart_init(void)
{
    write_csr(medeleg, 0xb1ffUL);                         /* every exception but ecalls from S and M */
    write_csr(mideleg, MIP_SSIP | MIP_STIP | (1UL << 9)); /* S-level software, timer, external */
    write_csr(mcounteren, 7);                             /* time, cycle, instret readable from S */
    write_csr(pmpaddr0, ~0UL);                            /* one NAPOT entry over everything: R, W, X */
    write_csr(pmpcfg0, 0x1f);
    set_csr(mie, MIP_MSIP);
}

/* 32-bit big-endian words of the device tree header. */
static uint32_t fdt_word(const uint8_t *blob, unsigned offset)
{
    return (uint32_t)blob[offset] << 24 | (uint32_t)blob[offset + 1] << 16 | (uint32_t)blob[offset + 2] << 8 |
           blob[offset + 3];
}

static void fdt_set_word(uint8_t *blob, unsigned offset, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        blob[offset + i] = (uint8_t)(value >> (24 - 8 * i));
}

/*
 * Adds a /memreserve/ entry for the firmware's own region at the head of the reservation
 * block, moving what follows 16 bytes up (QEMU leaves free RAM above its tree).
 */
static void reserve_firmware_region(uint8_t *blob)
{
    if (fdt_word(blob, 0) != 0xd00dfeed)
        return;
    uint32_t total = fdt_word(blob, 4), reservations = fdt_word(blob, 16);
    for (uint32_t i = total; i-- > reservations;)
        blob[i + 16] = blob[i];
    uint64_t entry[2] = {RAM_BASE, FIRMWARE_RESERVED_BYTES};
    for (int field = 0; field < 2; field++)
        for (int i = 0; i < 8; i++)
            blob[reservations + 8 * field + i] = (uint8_t)(entry[field] >> (56 - 8 * i));
    fdt_set_word(blob, 4, total + 16);
    fdt_set_word(blob, 8, fdt_word(blob, 8) + 16);   /* structure block */
    fdt_set_word(blob, 12, fdt_word(blob, 12) + 16); /* strings block */
}

/* The boot hart: reserve the firmware, then enter the payload QEMU named. Returns its address. */
unsigned long firmware_boot_hart(unsigned long hartid, void *device_tree, const struct fw_dynamic_info *info);
unsigned long firmware_boot_hart(unsigned long hartid, void *device_tree, const struct fw_dynamic_info *info)
{
    for (unsigned i = 0; i < FIRMWARE_MAX_HARTS; i++)
        slots[i].state = i == hartid ? HART_STARTED : HART_STOPPED;
    reserve_firmware_region(device_tree);
    print("rvmem minimal SBI firmware: boot hart ");
    print_hex(hartid);
    print(", payload at ");
    print_hex(info->next_address);
    print("\n");
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return info->next_address;
}

/* A non-boot hart: sleeps until hart_start names it. Returns the start address; opaque in a1. */
struct start_order {
    unsigned long address, opaque;
};
struct start_order firmware_wait_for_start(unsigned long hartid);
struct start_order firmware_wait_for_start(unsigned long hartid)
{
    struct hart_slot *slot = &slots[hartid];
    while (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != HART_START_PENDING) {
        __asm__ volatile("wfi");
        *CLINT_MSIP(hartid) = 0;
    }
    *CLINT_MSIP(hartid) = 0;
    clear_csr(mip, MIP_SSIP);
    struct start_order order = {slot->start_address, slot->opaque};
    __atomic_store_n(&slot->state, HART_STARTED, __ATOMIC_RELEASE);
    return order;
}

static long sbi_base(unsigned long function, unsigned long argument, long *value)
{
    switch (function) {
    case 0: *value = 0x01000000; return SBI_SUCCESS; /* spec 1.0 */
    case 1: *value = IMPLEMENTATION_ID; return SBI_SUCCESS;
    case 2: *value = 1; return SBI_SUCCESS;
    case 3:
        *value = argument == EXT_BASE || argument == EXT_TIME || argument == EXT_IPI || argument == EXT_HSM ||
                 argument == EXT_RFENCE || argument == EXT_LEGACY_PUTCHAR || argument == EXT_LEGACY_GETCHAR;
        return SBI_SUCCESS;
    case 4: *value = (long)read_csr(mvendorid); return SBI_SUCCESS;
    case 5: *value = (long)read_csr(marchid); return SBI_SUCCESS;
    case 6: *value = (long)read_csr(mimpid); return SBI_SUCCESS;
    default: return SBI_ERR_NOT_SUPPORTED;
    }
}

static void set_timer(unsigned long hartid, uint64_t when)
{
    volatile uint32_t *compare = CLINT_MTIMECMP(hartid);
    compare[1] = 0xffffffff; /* never a moment where the half-written value is in the past */
    compare[0] = (uint32_t)when;
    compare[1] = (uint32_t)(when >> 32);
    clear_csr(mip, MIP_STIP);
    set_csr(mie, MIP_MTIP);
}

/* Whether hart is in (mask, base), the SBI's hart mask (base ~0: every hart), and running. */
static bool selected_and_started(unsigned hart, unsigned long mask, unsigned long base)
{
    bool selected = base == ~0UL || (hart >= base && hart - base < __riscv_xlen && (mask >> (hart - base)) & 1);
    return selected && slots[hart].state == HART_STARTED;
}

static long send_ipi(unsigned long mask, unsigned long base)
{
    for (unsigned hart = 0; hart < FIRMWARE_MAX_HARTS; hart++) {
        if (selected_and_started(hart, mask, base)) {
            __atomic_store_n(&ssip_pending[hart], 1, __ATOMIC_RELEASE);
            *CLINT_MSIP(hart) = 1;
        }
    }
    return SBI_SUCCESS;
}

/* The fences RFENCE asks for, on the calling hart: the whole TLB and the instruction cache. */
static void fence_here(void)
{
    __asm__ volatile("sfence.vma zero, zero\n\tfence.i" ::: "memory");
}

/* A fence this hart was asked for, if any (also polled while it waits for others: no deadlock). */
static void answer_fence(unsigned long hartid)
{
    if (__atomic_load_n(&fence_pending[hartid], __ATOMIC_ACQUIRE)) {
        fence_here();
        __atomic_store_n(&fence_pending[hartid], 0, __ATOMIC_RELEASE);
    }
}

/* RFENCE: every selected running hart fences; returns once all have. */
static long remote_fence(unsigned long hartid, unsigned long mask, unsigned long base)
{
    for (unsigned hart = 0; hart < FIRMWARE_MAX_HARTS; hart++) {
        if (hart != hartid && selected_and_started(hart, mask, base)) {
            __atomic_store_n(&fence_pending[hart], 1, __ATOMIC_RELEASE);
            *CLINT_MSIP(hart) = 1;
        }
    }
    if (selected_and_started(hartid, mask, base))
        fence_here();
    for (unsigned hart = 0; hart < FIRMWARE_MAX_HARTS; hart++) {
        while (hart != hartid && __atomic_load_n(&fence_pending[hart], __ATOMIC_ACQUIRE) &&
               slots[hart].state == HART_STARTED)
            answer_fence(hartid);
    }
    return SBI_SUCCESS;
}

static long hart_start(unsigned long hartid, unsigned long address, unsigned long opaque)
{
    if (hartid >= FIRMWARE_MAX_HARTS)
        return SBI_ERR_INVALID_PARAM;
    struct hart_slot *slot = &slots[hartid];
    int expected = HART_STOPPED;
    slot->start_address = address;
    slot->opaque = opaque;
    if (!__atomic_compare_exchange_n(&slot->state, &expected, HART_START_PENDING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return SBI_ERR_ALREADY_AVAILABLE;
    *CLINT_MSIP(hartid) = 1;
    return SBI_SUCCESS;
}

/* In firmware/entry.S: the calling hart goes back to waiting for hart_start. */
void firmware_stop_hart(unsigned long hartid) __attribute__((noreturn));

static long handle_ecall(unsigned long hartid, struct trap_frame *frame, long *value)
{
    unsigned long *a = &frame->x[REG_A0];
    unsigned long function = frame->x[REG_A6];
    *value = 0;
    switch (frame->x[REG_A7]) {
    case EXT_LEGACY_PUTCHAR: uart_putchar((char)a[0]); return SBI_SUCCESS;
    case EXT_LEGACY_GETCHAR: {
        volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;
        return (uart[5] & UART_LSR_DATA_READY) ? uart[0] : -1;
    }
    case EXT_BASE: return sbi_base(function, a[0], value);
    case EXT_TIME:
        if (function != 0)
            return SBI_ERR_NOT_SUPPORTED;
#if __riscv_xlen == 32
        set_timer(hartid, (uint64_t)a[1] << 32 | a[0]);
#else
        set_timer(hartid, a[0]);
#endif
        return SBI_SUCCESS;
    case EXT_IPI: return function == 0 ? send_ipi(a[0], a[1]) : SBI_ERR_NOT_SUPPORTED;
    case EXT_RFENCE: return function <= 2 ? remote_fence(hartid, a[0], a[1]) : SBI_ERR_NOT_SUPPORTED;
    case EXT_HSM:
        if (function == 0)
            return hart_start(a[0], a[1], a[2]);
        if (function == 1) { /* hart_stop: never returns */
            clear_csr(mip, MIP_STIP);
            __atomic_store_n(&slots[hartid].state, HART_STOPPED, __ATOMIC_RELEASE);
            firmware_stop_hart(hartid);
        }
        if (function == 2) {
            if (a[0] >= FIRMWARE_MAX_HARTS)
                return SBI_ERR_INVALID_PARAM;
            *value = slots[a[0]].state;
            return SBI_SUCCESS;
        }
        return SBI_ERR_NOT_SUPPORTED;
    default: return SBI_ERR_NOT_SUPPORTED;
    }
}

/* Every trap into M-mode: the timer and software interrupts, S-mode ecalls; anything else halts. */
void firmware_trap(struct trap_frame *frame);
void firmware_trap(struct trap_frame *frame)
{
    unsigned long cause = read_csr(mcause), hartid = read_csr(mhartid);
    if (cause == (CAUSE_INTERRUPT | 7)) { /* machine timer: hand it to S-mode */
        clear_csr(mie, MIP_MTIP);
        set_csr(mip, MIP_STIP);
        return;
    }
    if (cause == (CAUSE_INTERRUPT | 3)) { /* machine software: an IPI for S-mode, a fence, or both */
        *CLINT_MSIP(hartid) = 0;
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* a request made after this reads raises MSIP again */
        answer_fence(hartid);
        if (__atomic_exchange_n(&ssip_pending[hartid], 0, __ATOMIC_ACQ_REL))
            set_csr(mip, MIP_SSIP);
        return;
    }
    if (cause == CAUSE_SUPERVISOR_ECALL) {
        long value;
        long legacy = frame->x[REG_A7] == EXT_LEGACY_PUTCHAR || frame->x[REG_A7] == EXT_LEGACY_GETCHAR;
        long error = handle_ecall(hartid, frame, &value);
        frame->x[REG_A0] = (unsigned long)error;
        if (!legacy)
            frame->x[REG_A1] = (unsigned long)value;
        write_csr(mepc, read_csr(mepc) + 4);
        return;
    }
    print("rvmem minimal SBI firmware: unexpected trap, mcause ");
    print_hex(cause);
    print(" mepc ");
    print_hex(read_csr(mepc));
    print(" mtval ");
    print_hex(read_csr(mtval));
    print("\n");
    for (;;)
        __asm__ volatile("wfi");
}
