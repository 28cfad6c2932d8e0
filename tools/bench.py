#!/usr/bin/env python3
"""tools/bench.py - `make bench`: boot with -icount shift=0 and mode=bench, collect the figures, judge them.

The guest prints its table and one "BENCH_JSON {...}" line per benchmark; this script checks the
run completed (BENCH_DONE), boots once more at --init-mem to time the page allocator's start-up
there, adds the all-harts over one-hart churn ratio, with --host-bench the host's figures
(tools/bench_host.py) and with --host-patterns those of issue 14's patterns on the host
(tools/bench_patterns.py). It writes every figure to build/bench.json as a list of objects with keys
name, n, mean, p50, p99, max, unit, budget_mean and budget_max (0 meaning no budget), then prints
the budgets table and the goals table (tools/bench_budgets.py) and exits 1 when a budget is
exceeded, a benchmark failed or a run did not complete; 0 otherwise. Goals not reached never
fail the run.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_budgets  # noqa: E402
import qemu_options  # noqa: E402

CHURN_RATIO = "page_order0_churn_all_harts_over_1_hart"


def bench_lines(text):
    """The figures of the BENCH_JSON lines in a guest's output."""
    return [json.loads(line[len("BENCH_JSON "):]) for line in text.splitlines() if line.startswith("BENCH_JSON ")]


def churn_ratio(figures):
    """The all-harts order-0 churn over the one-hart churn, per operation, as a figure (None without both)."""
    by_name = {figure["name"]: figure for figure in figures}
    one, every = by_name.get("page_order0_churn_1_hart"), by_name.get("page_order0_churn_all_harts")
    if not (one and every and one["mean"]):
        return None
    ratio = round(every["mean"] / one["mean"], 3)
    return {"name": CHURN_RATIO, "n": 1, "mean": ratio, "p50": ratio, "p99": ratio, "max": ratio, "unit": "ratio",
            "budget_mean": 0, "budget_max": 0}


def this_machine(name, memory):
    """Rows measured on the machine itself are named after its RAM: buddy_init_4G, vm_kernel_map_4G_table_bytes."""
    return name.replace("_this_machine", f"_{memory}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    qemu_options.add_arguments(parser, timeout=300, smp="4")
    parser.add_argument("--benches", default="")
    parser.add_argument("--json", default="build/bench.json")
    parser.add_argument("--init-mem", default="4G",
                        help="also boot once with this much RAM to time the page allocator's start-up")
    parser.add_argument("--host-bench", help="build/malloc-bench: also measure the host (tools/bench_host.py)")
    parser.add_argument("--host-patterns", help="build/malloc-patterns: also issue 14's patterns on the host "
                        "(tools/bench_patterns.py), with --host-bench")
    parser.add_argument("--preload", help="rvmem's LD_PRELOAD library, for --host-bench")
    args = parser.parse_args()
    if args.host_bench and not args.preload:
        parser.error("--host-bench needs --preload")

    bootargs = "mode=bench" + (f" benches={args.benches}" if args.benches else "")
    command = qemu_options.command(args.kernel, machine=args.machine, harts=args.smp, mem=args.mem,
                                   timeout=args.timeout, bios=args.bios, bootargs=bootargs, icount=True)
    print("$ " + " ".join(command))
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = result.stdout.decode("utf-8", "replace").replace("\r", "")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    log_path = os.path.splitext(args.json)[0] + ".log"
    with open(log_path, "w") as log:
        log.write(text)
    for line in text.splitlines():
        if not line.startswith("BENCH_JSON ") and not line.startswith("BENCH_DONE"):
            print(line)
    figures = bench_lines(text)
    for figure in figures:
        figure["name"] = this_machine(figure["name"], args.mem)

    failures = []
    done = re.search(r"^BENCH_DONE (\d+) budget", text, re.M)
    guest_exceeded = int(done.group(1)) if done else 0
    if not done:
        failures.append(f"the run did not complete (exit {result.returncode}); see {log_path}")
    elif guest_exceeded or result.returncode:
        failures.append(f"the guest counted {guest_exceeded} budget(s) exceeded or benchmark(s) failed "
                        f"(exit {result.returncode})")
    if args.init_mem and not args.benches:
        extra = qemu_options.command(args.kernel, machine=args.machine, harts=1, mem=args.init_mem,
                                     timeout=args.timeout, bios=args.bios,
                                     bootargs="mode=bench benches=buddy_init_this_machine,vm_kernel_map_this_machine",
                                     icount=True)
        print("$ " + " ".join(extra))
        more = subprocess.run(extra, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        more_text = more.stdout.decode("utf-8", "replace").replace("\r", "")
        for figure in bench_lines(more_text):
            figure["name"] = this_machine(figure["name"], args.init_mem)
            figures.append(figure)
            print(f"{figure['name']:<36} {figure['n']:7d} {figure['mean']:12.2f} (at -m {args.init_mem})")
        for line in more_text.splitlines():
            if line.startswith("# BUDGET EXCEEDED"):
                print(line)
        if more.returncode:
            failures.append(f"the -m {args.init_mem} run failed (exit {more.returncode})")
    ratio = churn_ratio(figures)
    if ratio:
        figures.append(ratio)
        print(f"order-0 churn, all harts / 1 hart: {ratio['mean']:.3f}")
    with open(args.json, "w") as out:
        json.dump(figures, out, indent=2)
        out.write("\n")
    print(f"bench: {len(figures)} figures written to {args.json}")

    if args.host_bench:
        import bench_host  # noqa: E402 (tools/bench_host.py)
        host_figures, problems = bench_host.measure(args.host_bench, args.preload, bench_host.WORKLOADS,
                                                    bench_host.RUNS, bench_host.REPEAT)
        failures += [f"host: {problem}" for problem in problems]
        figures += host_figures
        if args.host_patterns:
            import bench_patterns  # noqa: E402 (tools/bench_patterns.py)
            pattern_figures, problems = bench_patterns.measure(args.host_patterns, args.preload)
            failures += [f"host patterns: {problem}" for problem in problems]
            figures += pattern_figures

    bench_budgets.apply_budgets(figures)
    with open(args.json, "w") as out:
        json.dump(figures, out, indent=2)
        out.write("\n")
    missed = bench_budgets.print_tables(figures)
    failures += [f"budget exceeded: {miss}" for miss in missed]
    print(f"bench: {len(figures)} figures in {args.json}; " +
          ("every budget holds" if not failures else f"FAILED: {'; '.join(failures)}"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
