/*
 * kernel/top/monitor_commands.h - the monitor's commands: a table of name, usage, one-line help and
 * the function that runs it. kernel/top/monitor_commands.c holds the table and the read-only
 * commands; kernel/top/monitor_blocks.c holds `alloc` and `free`, kernel/top/monitor_vm.c `vm`,
 * kernel/top/monitor_proc.c the commands for user programs (`ps`, `run`, `kill`, and `vm PID`).
 */
#ifndef RVMEM_KERNEL_TOP_MONITOR_COMMANDS_H
#define RVMEM_KERNEL_TOP_MONITOR_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/top/monitor.h"

struct monitor_command {
    const char *name;
    const char *usage; /* "alloc page [ORDER] | alloc heap BYTES" */
    const char *help;  /* one line */
    /* words[0] is the command's name; returns a monitor_status. Prints its own output. */
    enum monitor_status (*run)(int count, char **words);
};

/* The command called name, or NULL. */
const struct monitor_command *monitor_find_command(const char *name);

/* Runs command with its words (the one call through the table's function pointers). */
enum monitor_status monitor_command_run(const struct monitor_command *command, int count, char **words);

/* `alloc` and `free` (kernel/top/monitor_blocks.c), and how many blocks the monitor holds now. */
unsigned monitor_blocks_held(void);
/* The id the last successful alloc handed out in this session (0: none yet). */
uint64_t monitor_blocks_last_id(void);
enum monitor_status monitor_alloc(int count, char **words);
enum monitor_status monitor_free(int count, char **words);

/*
 * `vm`, `vm ADDRESS` and `vm PID` (kernel/top/monitor_vm.c): the kernel's mappings, one address's
 * walk, or (a number that is the pid of a live process) that process's regions.
 */
enum monitor_status monitor_vm(int count, char **words);

/* `ps`, `run PROGRAM [ARGS]` and `kill PID` (kernel/top/monitor_proc.c). */
enum monitor_status monitor_ps(int count, char **words);
enum monitor_status monitor_run(int count, char **words);
enum monitor_status monitor_kill(int count, char **words);

/*
 * Prints the regions of live process pid (bounds, permissions, pages, pages mapped now) and
 * returns true; false, printing nothing, when no live process has that pid.
 */
bool monitor_vm_process(long pid);

#endif
