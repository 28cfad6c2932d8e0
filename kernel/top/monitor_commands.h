/*
 * kernel/top/monitor_commands.h - the monitor's commands: a table of name, usage, one-line help and
 * the function that runs it. kernel/top/monitor_commands.c holds the table and the read-only
 * commands; kernel/top/monitor_blocks.c holds `alloc` and `free`, kernel/top/monitor_vm.c `vm`.
 */
#ifndef RVMEM_KERNEL_TOP_MONITOR_COMMANDS_H
#define RVMEM_KERNEL_TOP_MONITOR_COMMANDS_H

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

/* `vm` and `vm ADDRESS` (kernel/top/monitor_vm.c): the kernel's mappings, one address's walk. */
enum monitor_status monitor_vm(int count, char **words);

#endif
