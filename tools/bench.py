#!/usr/bin/env python3
"""tools/bench.py - `make bench`: boot with -icount shift=0 and mode=bench, collect the figures.

The guest prints its table and one "BENCH_JSON {...}" line per benchmark; this script
checks the run completed (BENCH_DONE), writes the figures to build/bench.json as a list of
objects with keys name, n, mean, p50, p99, max, unit (plus budget_mean and budget_max, 0
meaning no budget), and fails when the guest reports an exceeded budget.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def this_machine(name, memory):
    """Rows measured on the machine itself are named after its RAM: buddy_init_4G, vm_kernel_map_4G_table_bytes."""
    return name.replace("_this_machine", f"_{memory}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--machine", default="virt")
    parser.add_argument("--mem", default="256M")
    parser.add_argument("--smp", default="4")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--bios", default="default")
    parser.add_argument("--benches", default="")
    parser.add_argument("--json", default="build/bench.json")
    parser.add_argument("--init-mem", default="4G",
                        help="also boot once with this much RAM to time the page allocator's start-up")
    args = parser.parse_args()

    bootargs = "mode=bench" + (f" benches={args.benches}" if args.benches else "")
    command = ["./qemu.sh", "-i", "-M", args.machine, "-s", args.smp, "-m", args.mem, "-t", str(args.timeout),
               "-b", args.bios, "-a", bootargs, args.kernel]
    print("$ " + " ".join(command))
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = result.stdout.decode("utf-8", "replace").replace("\r", "")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(os.path.splitext(args.json)[0] + ".log", "w") as log:
        log.write(text)

    figures = []
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            figures.append(json.loads(line[len("BENCH_JSON "):]))
        elif not line.startswith("BENCH_DONE"):
            print(line)
    for figure in figures:
        figure["name"] = this_machine(figure["name"], args.mem)
    if args.init_mem and not args.benches:
        extra = ["./qemu.sh", "-i", "-M", args.machine, "-s", "1", "-m", args.init_mem, "-t", str(args.timeout),
                 "-b", args.bios, "-a", "mode=bench benches=buddy_init_this_machine,vm_kernel_map_this_machine",
                 args.kernel]
        print("$ " + " ".join(extra))
        more = subprocess.run(extra, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in more.stdout.decode("utf-8", "replace").replace("\r", "").splitlines():
            if line.startswith("BENCH_JSON "):
                figure = json.loads(line[len("BENCH_JSON "):])
                figure["name"] = this_machine(figure["name"], args.init_mem)
                figures.append(figure)
                print(f"{figure['name']:<36} {figure['n']:7d} {figure['mean']:12.2f} (at -m {args.init_mem})")
            if line.startswith("# BUDGET EXCEEDED"):
                print(line)
                text += "\n" + line
        if more.returncode:
            print(f"bench: the -m {args.init_mem} run failed (exit {more.returncode})")
            return 1
    # Issue 3: the same order-0 churn on all harts at once costs at most 1.25x per operation.
    by_name = {figure["name"]: figure for figure in figures}
    ratio_failed = False
    one, every = by_name.get("page_order0_churn_1_hart"), by_name.get("page_order0_churn_all_harts")
    if one and every and one["mean"]:
        ratio = every["mean"] / one["mean"]
        print(f"order-0 churn, all harts / 1 hart: {ratio:.2f} (budget 1.25)")
        ratio_failed = ratio > 1.25
    with open(args.json, "w") as out:
        json.dump(figures, out, indent=2)
        out.write("\n")
    done = re.search(r"^BENCH_DONE (\d+) budget", text, re.M)
    print(f"bench: {len(figures)} figures written to {args.json}")
    if not done:
        print(f"bench: the run did not complete (exit {result.returncode}); see {os.path.splitext(args.json)[0]}.log")
        return 1
    if ratio_failed:
        print("bench: the all-harts churn exceeds 1.25x the one-hart churn")
        return 1
    if int(done.group(1)) or result.returncode:
        print(f"bench: {done.group(1)} budget(s) exceeded (exit {result.returncode})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
