/*
 * kernel/platform/console.c - UART drivers (16550-compatible, SiFive) and the SBI fallback.
 */
#include "kernel/platform/console.h"

#include <stdint.h>

#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/platform/sbi.h"
#include "kernel/base/spinlock.h"
#include "kernel/base/string.h"

enum console_kind { CONSOLE_SBI, CONSOLE_NS16550, CONSOLE_SIFIVE };

static struct {
    enum console_kind kind;
    uintptr_t base;
    uint64_t bytes; /* the UART's reg size */
    unsigned reg_shift;
    unsigned reg_io_width;
    char description[96];
} console;

static struct spinlock console_lock = SPINLOCK_INIT;

/* 16550 registers (index before reg-shift). */
#define UART_RBR 0 /* receive buffer */
#define UART_THR 0 /* transmit holding */
#define UART_LSR 5 /* line status */
#define UART_LSR_DATA_READY 0x01
#define UART_LSR_THR_EMPTY 0x20

/* SiFive UART registers (byte offsets). */
#define SIFIVE_TXDATA 0x00
#define SIFIVE_RXDATA 0x04
#define SIFIVE_TXCTRL 0x08
#define SIFIVE_RXCTRL 0x0c
#define SIFIVE_FULL_OR_EMPTY 0x80000000u

static uint32_t ns16550_read(unsigned reg)
{
    uintptr_t address = console.base + ((uintptr_t)reg << console.reg_shift);
    if (console.reg_io_width == 4)
        return *(volatile uint32_t *)address;
    return *(volatile uint8_t *)address;
}

static void ns16550_write(unsigned reg, uint32_t value)
{
    uintptr_t address = console.base + ((uintptr_t)reg << console.reg_shift);
    if (console.reg_io_width == 4)
        *(volatile uint32_t *)address = value;
    else
        *(volatile uint8_t *)address = (uint8_t)value;
}

static void put_raw(char c)
{
    switch (console.kind) {
    case CONSOLE_NS16550:
        while (!(ns16550_read(UART_LSR) & UART_LSR_THR_EMPTY))
            ;
        ns16550_write(UART_THR, (uint8_t)c);
        break;
    case CONSOLE_SIFIVE: {
        volatile uint32_t *txdata = (volatile uint32_t *)(console.base + SIFIVE_TXDATA);
        while (*txdata & SIFIVE_FULL_OR_EMPTY)
            ;
        *txdata = (uint8_t)c;
        break;
    }
    default: sbi_console_putchar(c); break;
    }
}

void console_write(const char *text, size_t length)
{
    spin_lock(&console_lock);
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            put_raw('\r');
        put_raw(text[i]);
    }
    spin_unlock(&console_lock);
}

int console_getchar(void)
{
    switch (console.kind) {
    case CONSOLE_NS16550:
        if (!(ns16550_read(UART_LSR) & UART_LSR_DATA_READY))
            return -1;
        return (int)(ns16550_read(UART_RBR) & 0xff);
    case CONSOLE_SIFIVE: {
        uint32_t value = *(volatile uint32_t *)(console.base + SIFIVE_RXDATA);
        return (value & SIFIVE_FULL_OR_EMPTY) ? -1 : (int)(value & 0xff);
    }
    default: return sbi_console_getchar();
    }
}

int console_device(uint64_t *base, uint64_t *bytes)
{
    if (console.kind == CONSOLE_SBI)
        return -E_NOENT;
    *base = console.base;
    *bytes = console.bytes;
    return 0;
}

const char *console_description(void)
{
    return console.description[0] ? console.description : "SBI legacy console";
}

static bool setup_ns16550(const struct fdt *fdt, int node, uint64_t base)
{
    uint32_t shift = 0, width = 1;
    fdt_property_u32(fdt, node, "reg-shift", &shift);
    fdt_property_u32(fdt, node, "reg-io-width", &width);
    if (shift > 4 || (width != 1 && width != 4))
        return false;
    console.base = (uintptr_t)base;
    console.reg_shift = shift;
    console.reg_io_width = width;
    console.kind = CONSOLE_NS16550;
    return true;
}

static bool setup_sifive(uint64_t base)
{
    console.base = (uintptr_t)base;
    /* Enable the transmitter and receiver (bit 0 of txctrl and rxctrl). */
    *(volatile uint32_t *)(console.base + SIFIVE_TXCTRL) |= 1;
    *(volatile uint32_t *)(console.base + SIFIVE_RXCTRL) |= 1;
    console.kind = CONSOLE_SIFIVE;
    return true;
}

void console_init(const struct fdt *fdt)
{
    struct fdt_stdout_path stdout_path;
    if (fdt_chosen_stdout(fdt, &stdout_path) != 0)
        return;
    int node = stdout_path.node;
    uint64_t base = 0, size = 0;
    if (fdt_node_reg(fdt, node, 0, &base, &size) < 0 || base == 0 || (uintptr_t)base != base)
        return;
    static const char *const ns16550_compatibles[] = {"ns16550a", "ns16550", "ns16750", "snps,dw-apb-uart"};
    const char *chosen = NULL;
    bool ready = false;
    for (unsigned i = 0; i < sizeof ns16550_compatibles / sizeof ns16550_compatibles[0] && !ready; i++) {
        if (fdt_node_is_compatible(fdt, node, ns16550_compatibles[i]) == 1) {
            chosen = ns16550_compatibles[i];
            ready = setup_ns16550(fdt, node, base);
        }
    }
    if (!ready && fdt_node_is_compatible(fdt, node, "sifive,uart0") == 1) {
        chosen = "sifive,uart0";
        ready = setup_sifive(base);
    }
    if (!ready)
        return;
    console.bytes = size;
    spin_lock(&console_lock);
    ksnprintf(console.description, sizeof console.description, "%s at %p (reg-shift %u, reg-io-width %u)", chosen,
              (void *)console.base, console.reg_shift, console.reg_io_width ? console.reg_io_width : 4);
    spin_unlock(&console_lock);
}
