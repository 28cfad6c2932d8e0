/*
 * kernel/top/terminal.h - the console as a terminal, for the monitor and its commands.
 *
 * Boot hart only (the one that reads the console).
 */
#ifndef RVMEM_KERNEL_TOP_TERMINAL_H
#define RVMEM_KERNEL_TOP_TERMINAL_H

/*
 * The next input byte, sleeping 10 ms at a time (wfi until the hart's timer) while none is
 * waiting, or running a slice of a user program in its place when one is runnable
 * (kernel/proc/sched.h); -1 after max_polls such waits without one (0: wait for ever).
 */
int terminal_read_byte(unsigned long max_polls);

/*
 * Asks the terminal for its width: moves the cursor far right, asks where it is (ESC [ 6 n) and
 * reads "ESC [ row ; column R". A terminal that does not answer (a pipe, a test) leaves 80.
 */
void terminal_probe_columns(void);

/* Columns of the console, as probed (80 when the terminal did not answer or was never asked). */
unsigned terminal_columns(void);

#endif
