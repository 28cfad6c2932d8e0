/*
 * kernel/base/misuse.c - the default misuse reporter (see misuse.h).
 */
#include "kernel/base/misuse.h"

#include "kernel/base/printf.h"

static misuse_hook installed_hook;
static unsigned long unexpected_reports;

static const char *const kind_names[MISUSE_KIND_COUNT] = {
    [MISUSE_DOUBLE_FREE] = "double free",           [MISUSE_INVALID_FREE] = "invalid free",
    [MISUSE_WRONG_SIZE] = "free with wrong size",   [MISUSE_OUT_OF_RANGE] = "pointer out of range",
    [MISUSE_WRITE_AFTER_FREE] = "write after free", [MISUSE_OVERFLOW] = "block overflow",
    [MISUSE_UNDERFLOW] = "block underflow",         [MISUSE_STACK_OVERFLOW] = "stack overflow",
};

const char *misuse_kind_name(enum misuse_kind kind)
{
    return (unsigned)kind < MISUSE_KIND_COUNT ? kind_names[kind] : "unknown misuse";
}

void misuse_report(const struct misuse_report *report)
{
    misuse_hook hook = __atomic_load_n(&installed_hook, __ATOMIC_ACQUIRE);
    if (hook) {
        hook(report);
        return;
    }
    __atomic_add_fetch(&unexpected_reports, 1, __ATOMIC_RELAXED);
    kprintf("misuse: %s of %p in %s, hart %u, caller %p\n", misuse_kind_name(report->kind), (void *)report->address,
            report->allocator, report->hart, report->caller);
}

misuse_hook misuse_set_hook(misuse_hook hook)
{
    return __atomic_exchange_n(&installed_hook, hook, __ATOMIC_ACQ_REL);
}

misuse_hook misuse_current_hook(void)
{
    return __atomic_load_n(&installed_hook, __ATOMIC_ACQUIRE);
}

unsigned long misuse_unexpected_count(void)
{
    return __atomic_load_n(&unexpected_reports, __ATOMIC_RELAXED);
}
