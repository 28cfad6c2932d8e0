/*
 * kernel/top/monitor.h - the interactive monitor on the console (`make run` on a terminal).
 *
 * A prompt with basic line editing (backspace, Ctrl-U clears the line, Ctrl-C abandons it,
 * escape sequences such as arrow keys are ignored) and the commands of
 * kernel/top/monitor_commands.c. Input is polled with console_getchar(); while none is waiting the
 * hart sleeps (wfi until its timer, 10 ms at a time: kernel/top/terminal.c), never spinning. Unknown commands, bad
 * arguments and overlong lines get a one-line "error: ..." and the prompt back: nothing typed
 * reaches a panic. Boot hart only, after the other harts are up.
 */
#ifndef RVMEM_KERNEL_TOP_MONITOR_H
#define RVMEM_KERNEL_TOP_MONITOR_H

/* Characters a command line may hold; longer lines are refused whole. */
#define MONITOR_LINE_MAX 120
/* Words a command line may hold (the command and its arguments). */
#define MONITOR_WORDS_MAX 8

/* What a command returns. */
enum monitor_status {
    MONITOR_DONE = 0,      /* the prompt comes back */
    MONITOR_BAD_USAGE = 1, /* the monitor prints "error: usage: ..." */
    MONITOR_POWEROFF = 2,  /* the monitor returns: the machine powers off */
};

/* Runs the prompt until `poweroff`. Returns the exit code for power_exit (EXIT_PASS). */
int monitor_main(void);

/*
 * Runs one command line (modified in place: it is split into words). Returns the command's
 * status; errors are printed. Exposed for tests/top/monitor.c.
 */
enum monitor_status monitor_run_line(char *line);

#endif
