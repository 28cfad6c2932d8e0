/*
 * kernel/top/terminal.c - the console as a terminal: reading a key without spinning, and the
 * terminal's width (see terminal.h).
 */
#include "kernel/top/terminal.h"

#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "kernel/platform/console.h"
#include "kernel/platform/hart.h"
#include "kernel/proc/sched.h"

/*
 * How long the hart sleeps between two looks at the console while no key is waiting: short
 * enough that typing feels immediate, long enough that an idle prompt costs the host next to
 * nothing (a hart that wakes every few microseconds keeps a host core busy).
 */
#define POLL_MICROSECONDS 10000
/* Polls to wait for the terminal's answer to the size probe (0.3 s). */
#define PROBE_POLLS 30
#define DEFAULT_COLUMNS 80

static unsigned console_columns = DEFAULT_COLUMNS;

unsigned terminal_columns(void)
{
    return console_columns;
}

int terminal_read_byte(unsigned long max_polls)
{
    for (unsigned long poll = 0; max_polls == 0 || poll < max_polls; poll++) {
        int c = console_getchar();
        if (c >= 0)
            return c;
        if (!sched_run_slice(true)) /* programs run while the prompt waits (one slice, then a look) */
            hart_sleep_microseconds(POLL_MICROSECONDS);
    }
    return -1;
}

void terminal_probe_columns(void)
{
    static const char probe[] = "\0337\033[999C\033[6n\0338";
    console_write(probe, sizeof probe - 1);
    char answer[24];
    unsigned length = 0;
    int c;
    while (length + 1 < sizeof answer && (c = terminal_read_byte(PROBE_POLLS)) >= 0 && c != 'R')
        answer[length++] = (char)c;
    answer[length] = '\0';
    const char *column = strchr(answer, ';');
    if (!column)
        return;
    unsigned value = 0;
    for (column++; *column >= '0' && *column <= '9' && value < 10000; column++)
        value = value * 10 + (unsigned)(*column - '0');
    if (value >= 40)
        console_columns = value;
}
