/*
 * kernel/top/stack_figures.h - the static stack report of this very build, for the monitor's
 * `stacks` command: each entry point's proven worst-case depth against the per-hart budget.
 *
 * The table is generated at build time (tools/build_figures.py) from build/stack-report.txt,
 * which tools/stack_report.py computes from GCC's call graphs (docs/STACK.md).
 */
#ifndef RVMEM_KERNEL_TOP_STACK_FIGURES_H
#define RVMEM_KERNEL_TOP_STACK_FIGURES_H

#include <stdbool.h>

struct stack_figure {
    const char *entry;          /* entry point, e.g. "boot_main", "monitor_main" */
    unsigned long depth_bytes;  /* deepest chain (a lower bound when !bounded) */
    unsigned long with_trap;    /* depth plus a trap frame and the trap handler on top */
    unsigned long budget_bytes; /* stack size minus the red zone */
    bool bounded;               /* false: recursion or a dynamic frame makes it a lower bound */
    const char *verdict;        /* the report's verdict: "ok", "fits so far, but unbounded", ... */
};

extern const struct stack_figure stack_figures[];
extern const unsigned stack_figure_count;

#endif
