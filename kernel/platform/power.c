/*
 * kernel/platform/power.c - exit codes through the sifive,test finisher, SBI SRST, or parking.
 */
#include "kernel/platform/power.h"

#include <stdint.h>

#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/base/printf.h"
#include "kernel/platform/sbi.h"

#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333

static volatile uint32_t *finisher;
static uint64_t finisher_bytes;

void park_forever(void) __attribute__((noreturn));

void power_init(const struct fdt *fdt)
{
    static const char *const compatibles[] = {"sifive,test0", "sifive,test1"};
    for (unsigned i = 0; i < sizeof compatibles / sizeof compatibles[0]; i++) {
        int node = fdt_find_compatible(fdt, -1, compatibles[i]);
        uint64_t base, size;
        if (node >= 0 && fdt_node_reg(fdt, node, 0, &base, &size) == 0 && (uintptr_t)base == base && base != 0) {
            finisher = (volatile uint32_t *)(uintptr_t)base;
            finisher_bytes = size;
            return;
        }
    }
}

int power_device(uint64_t *base, uint64_t *bytes)
{
    if (finisher == NULL)
        return -E_NOENT;
    *base = (uintptr_t)finisher;
    *bytes = finisher_bytes;
    return 0;
}

const char *power_description(void)
{
    if (finisher)
        return "sifive,test finisher (exit codes reach the host)";
    if (sbi_info()->has_srst)
        return "SBI SRST shutdown (the exit status cannot report failure)";
    return "none (harts park at the end; the console output is the verdict)";
}

void power_exit(int code)
{
    /* The verdict line runners read where the machine cannot report an exit status (tools/test_matrix.py). */
    kprintf("power: exit %d\n", code);
    if (finisher)
        *finisher = code == 0 ? FINISHER_PASS : ((uint32_t)(code & 0xffff) << 16) | FINISHER_FAIL;
    sbi_shutdown(code == 0 ? 0 : 1);
    park_forever();
}
