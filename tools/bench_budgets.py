"""tools/bench_budgets.py - what `make bench` holds its figures to: budgets, which fail the run; goals, which do not.

A budget is a regression guard: it holds today with a small margin, so a figure that gets worse
fails `make bench`, and `make bench` exits 0 when every budget holds. A goal is a figure an open
issue asks for that the code does not reach yet: it is printed in its own table at the end of
`make bench` and never fails the run. docs/BENCHMARKS.md ("Budgets and goals") states the margin
rule and lists the goals; keep GOALS and that list in step (tests/tools/test_bench_budgets.py checks).

The kernel's budgets live beside its benchmarks (KBENCH(name, budget_mean, budget_max) and
kbench_report() in tests/bench/*.c): the guest checks them and writes them into each figure's
budget_mean and budget_max. BUDGETS holds those of the figures made outside the guest (tools/bench.py's
boot at -m 4G and its churn ratio, tools/bench_host.py's ratios); apply_budgets() writes them into
those figures the same way, so one check and one table cover every figure. A figure is a dict as in
build/bench.json: name, n, mean, p50, p99, max, unit, budget_mean, budget_max (0: no budget).
"""
import collections

# name: (budget_mean, budget_max); 0: no budget on that field.
BUDGETS = {
    # Page allocator start-up over the machine's RAM (buddy_init_<MEM>): the default 256M and the 4G boot.
    "buddy_init_256M": (0, 49142),
    "buddy_init_4G": (0, 698062),
    # Order-0 churn on every hart over one hart, per operation (issue 3's target: at most 1.25).
    "page_order0_churn_all_harts_over_1_hart": (1.25, 0),
    # The host: rvmem's instructions per call (malloc and free together) over glibc's, under callgrind.
    "host_pair_instructions_rvmem_over_glibc": (0.39, 0),
    "host_simple16_instructions_rvmem_over_glibc": (0.28, 0),
    "host_larson_instructions_rvmem_over_glibc": (0.32, 0),
    "host_zstress_instructions_rvmem_over_glibc": (0.21, 0),
    "host_sweep_instructions_rvmem_over_glibc": (0.25, 0),
    # The host: rvmem's wall-clock time over glibc's (issue 5's target: faster, at most 1).
    "host_pair_seconds_rvmem_over_glibc": (1.0, 0),
    "host_simple16_seconds_rvmem_over_glibc": (0.91, 0),
    "host_larson_seconds_rvmem_over_glibc": (0.59, 0),
    "host_zstress_seconds_rvmem_over_glibc": (0.64, 0),
    "host_sweep_seconds_rvmem_over_glibc": (0.56, 0),
    # Issue 14's patterns on the host (tools/bench_patterns.py), their targets met: the targets are the budgets.
    # Resident growth over the thread_exit pattern's threads (late destructor frees): within 1 MiB.
    "host_thread_exit_rvmem_resident_growth": (1 << 20, 0),
    # The 2 GiB malloc under `ulimit -v 4000000` refused (1) or served (0): must be 0, written 0.5
    # because a budget of 0 means none.
    "host_aslimit_rvmem_refused": (0.5, 0),
    # Phases (16 sizes in turn, 50 MiB each): peak resident within 1.25 x its live bytes, and no
    # slower than glibc (idle classes give their runs back before the heap grows).
    "host_phases_rvmem_footprint": (1.25, 0),
    "host_phases_seconds_rvmem_over_glibc": (1.0, 0),
    # Regrow (two buffers grown alternately by realloc to 64 MiB each): no slower than glibc
    # (growing direct blocks remap to twice their mapping, advised for transparent huge pages).
    "host_regrow_seconds_rvmem_over_glibc": (1.0, 0),
    # Resident memory after the threads pattern's 64 threads ended: within 1 MiB of the start.
    "host_threads_rvmem_resident_after_exit": (1 << 20, 0),
    # The idle pattern in lean mode (no thread caches: every block from TLSF): what 16 blocked
    # threads leave held after malloc_trim, within 1 MiB.
    "host_idle_lean_resident_after_trim": (1 << 20, 0),
    # The same in the fast mode: malloc_trim flushes the caches of threads parked in the C library's
    # blocking calls (lib/host/park.c), within 1 MiB.
    "host_idle_rvmem_resident_after_trim": (1 << 20, 0),
    # The kernel: what the heap holds after hart 1 used every class and went idle, once hart 0's
    # rvmem_malloc_trim_all_harts has every hart flush its cache: within 1 MiB (issue 14).
    "malloc_idle_hart_held_after_trim": (1 << 20, 0),
    # Frees from another hart (thread) come back as memory for every size (lib/malloc/malloc_scan.c):
    # the phases' bound, 1.25 x the live bytes, across harts and threads; and the same with the
    # program keeping one block in 1024 of the size it has finished with (kernel).
    "malloc_remote_footprint": (1250, 0),
    "host_remote_rvmem_footprint": (1.25, 0),
    # Their time: thread B's frees of thread A's blocks over glibc's (0.44 to 0.65 in the runs of
    # 2026-12-08; the wall-clock rule of docs/BENCHMARKS.md: 25 % over the worst).
    "host_remote_free_seconds_rvmem_over_glibc": (0.81, 0),
    "malloc_kept_few_footprint": (1250, 0),
    # Issue 14's lean mode on zstress: malloc plus free no dearer than glibc's (met since branch leanz;
    # larson's is a goal below).
    "host_lean_zstress_instructions_rvmem_over_glibc": (1.0, 0),
    # The phases workload in the kernel: 1.25 x the live bytes (issue 14), met since short runs
    # (a class takes free memory between live runs before the heap grows; docs/MALLOC.md).
    "malloc_phases_footprint": (1250, 0),
}

# A goal: the figure's field must come to at most target. When the row does not exist yet (its
# workload or mode is still to be built), now() reads the stand-in rows instead, as today's nearest
# figure, and the table says so.
Goal = collections.namedtuple("Goal", "name field target issue stand_ins note")

GOALS = [
    # Issue 14's lean mode: malloc plus free no dearer than glibc's on the same workload (its footprints,
    # malloc_lean_larson_footprint and malloc_lean_zstress_footprint, are budgets in tests/bench/malloc_lean.c;
    # zstress's instructions are a budget above).
    Goal("host_lean_larson_instructions_rvmem_over_glibc", "mean", 1.0, "issue 14", (), ""),
] + [
    # Issue 16: the user runtime's malloc within 10 % of the kernel's malloc_larson_malloc mean.
    Goal("user_malloc_larson_malloc", "mean", 18.9, "issue 16: its refills fault their heap pages in", (), ""),
] + [
    # Issue 14's patterns (tests/bench/malloc_patterns.c in the kernel; tools/bench_patterns.py on the host).
    Goal("host_regrow_peak_resident_rvmem_over_glibc", "mean", 1.0, "issue 14", (), ""),
]


def apply_budgets(figures):
    """Writes BUDGETS into the figures they name (budget_mean, budget_max); leaves the others as they are."""
    for figure in figures:
        if figure["name"] in BUDGETS:
            figure["budget_mean"], figure["budget_max"] = BUDGETS[figure["name"]]


def checks(figure):
    """(field, value, budget, holds) for each field of figure that has a budget."""
    result = []
    for field in ("mean", "max"):
        budget = figure.get(f"budget_{field}") or 0
        if budget and field in figure:
            result.append((field, figure[field], budget, figure[field] <= budget))
    return result


def exceeded(figures):
    """Every budget the figures exceed, as "name field value > budget" lines."""
    return [f"{figure['name']} {field} {number(value)} > {number(budget)}"
            for figure in figures for field, value, budget, holds in checks(figure) if not holds]


def number(value):
    """A figure as the tables print it: whole numbers without decimals, others with up to three."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "")
    return f"{value:.3f}".rstrip("0")


def budget_table(figures):
    """Lines of the budgets table: every figure with a budget, its value and budget per field, the
    headroom left (budget over value, minus 1) and whether it holds."""
    rows = [(figure, checks(figure)) for figure in figures]
    rows = [(figure, fields) for figure, fields in rows if fields]
    if not rows:
        return []
    lines = [f"{'figure':<44} {'field':<5} {'now':>10} {'budget':>10} {'headroom':>8}  verdict"]
    for figure, fields in rows:
        for field, value, budget, holds in fields:
            headroom = f"{(budget / value - 1) * 100:7.1f}%" if value else f"{'-':>8}"
            lines.append(f"{figure['name']:<44} {field:<5} {number(value):>10} {number(budget):>10} {headroom}  "
                         f"{'ok' if holds else 'EXCEEDED'}")
    return lines


def now(goal, by_name):
    """(value, where it comes from) for a goal: its own row when it exists, else the largest of its
    stand-in rows that exist; None when neither does."""
    if goal.name in by_name and goal.field in by_name[goal.name]:
        return by_name[goal.name][goal.field], goal.name
    found = [(by_name[name][goal.field], name) for name in goal.stand_ins
             if name in by_name and goal.field in by_name[name]]
    if not found:
        return None
    value = max(value for value, _ in found)
    return value, f"{goal.note} {' / '.join(name for _, name in found)}"


def goal_table(figures):
    """Lines of the goals table: each goal with a figure to set against it (goal, now, where now comes from)."""
    by_name = {figure["name"]: figure for figure in figures}
    lines = []
    for goal in GOALS:
        found = now(goal, by_name)
        if found is None:
            continue
        value, source = found
        reached = value <= goal.target
        where = "" if source == goal.name else f"  ({source})"
        lines.append(f"{goal.name:<44} {goal.field:<5} {'<= ' + number(goal.target):>10} {number(value):>10}  "
                     f"{goal.issue}{', REACHED: make it a budget' if reached else ''}{where}")
    if lines:
        lines.insert(0, f"{'figure':<44} {'field':<5} {'goal':>10} {'now':>10}  issue")
    return lines


def print_tables(figures):
    """Prints the budgets table, then the goals table; returns the budgets exceeded (exceeded()'s lines)."""
    missed = exceeded(figures)
    table = budget_table(figures)
    if table:
        print("\nbudgets (regression guards: a figure above its budget fails the run; "
              "docs/BENCHMARKS.md \"Budgets and goals\"):")
        print("\n".join(table))
    checked = sum(len(checks(figure)) for figure in figures)
    print(f"budgets: {checked - len(missed)} of {checked} hold")
    goals = goal_table(figures)
    if goals:
        print("\ngoals (not reached yet; they do not fail the run; docs/BENCHMARKS.md lists them):")
        print("\n".join(goals))
    return missed
