/*
 * kernel/platform/panic.c - the one panic path: message, hart, failing exit code.
 */
#include <stdarg.h>

#include "kernel/platform/hart.h"
#include "kernel/base/platform.h"
#include "kernel/platform/power.h"
#include "kernel/base/printf.h"

void panic(const char *format, ...)
{
    char message[200];
    va_list args;
    va_start(args, format);
    kvsnprintf(message, sizeof message, format, args);
    va_end(args);
    struct hart *self = hart_current();
    kprintf("panic: %s (hart %u, hartid %lu)\n", message, self->index, self->hartid);
    power_exit(EXIT_PANIC);
}
