/*
 * lib/rc.c - Rc: single-hart reference counting (lib/rc.h).
 */
#include "lib/rc.h"

#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "lib/refcount_header.h"

void *rc_new(size_t size, rc_destructor destructor)
{
    return refcount_header_new(size, REFCOUNT_LIVE_RC, destructor);
}

static void report_dead(const void *value, const void *caller)
{
    struct misuse_report report = {MISUSE_DOUBLE_FREE, "rc", (uintptr_t)value, hart_self(), caller};
    misuse_report(&report);
}

void *rc_retain(void *value)
{
    struct refcount_header *header = refcount_header_of(value);
    if (header->magic != REFCOUNT_LIVE_RC) {
        report_dead(value, __builtin_return_address(0));
        return value;
    }
    if (header->count == UINT32_MAX)
        panic("rc_retain: count of %p would overflow", value);
    header->count++;
    return value;
}

void rc_release(void *value)
{
    if (!value)
        return;
    struct refcount_header *header = refcount_header_of(value);
    if (header->magic != REFCOUNT_LIVE_RC || header->count == 0) {
        report_dead(value, __builtin_return_address(0));
        return;
    }
    if (--header->count)
        return;
    if (header->destructor)
        header->destructor(value);
    header->magic = REFCOUNT_DEAD;
    rvmem_free(header);
}

size_t rc_count(const void *value)
{
    return refcount_header_of(value)->count;
}
