/*
 * kernel/platform/console.h - the console: a UART found through /chosen/stdout-path, else SBI.
 *
 * Supported UARTs: 16550-compatible ("ns16550a", "ns16550", "snps,dw-apb-uart", with
 * reg-shift and reg-io-width) and "sifive,uart0". Anything else falls back to the SBI
 * legacy console. Output is serialized by one lock so lines from different harts
 * do not mix; console_write (kernel/base/platform.h) is the only way out.
 */
#ifndef RVMEM_KERNEL_PLATFORM_CONSOLE_H
#define RVMEM_KERNEL_PLATFORM_CONSOLE_H

#include <stdint.h>

struct fdt;

/* Chooses the console from the device tree. Before it runs, output goes to SBI. */
void console_init(const struct fdt *fdt);

/* The UART's register range from its reg (base, bytes): 0, or -E_NOENT for the SBI console. */
int console_device(uint64_t *base, uint64_t *bytes);

/* A short description of the console in use, e.g. "ns16550a at 0x10000000". */
const char *console_description(void);

/* One byte from the console, or -1 when none is waiting. Never blocks. */
int console_getchar(void);

#endif
