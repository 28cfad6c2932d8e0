#!/usr/bin/env python3
"""tools/bench_host.py - the malloc workloads on the host: rvmem (LD_PRELOAD) against glibc.

Runs one binary (build/malloc-bench, tests/hostbench/malloc_bench.c) for every workload:
  - under `valgrind --tool=callgrind`, once as it is (glibc's malloc) and once with
    LD_PRELOAD of rvmem's shared library: instructions inside malloc and inside free per call
    (inclusive cost of the binary's call_malloc/call_free wrappers minus their own one-instruction
    jump), and every instruction of the workload per call (its loop and marker checks included);
  - once more with --footprint for each, in its own process: peak resident memory growth
    (VmHWM minus VmRSS before) / peak live requested bytes, the same measure for both allocators;
  - on the wall clock: --runs processes per allocator, alternating, each running every workload
    --repeat times; the fastest time of all is kept.
Prints a table, appends the figures to the bench.json list (keys as tools/bench.py writes,
unit "host instructions" or "seconds" or "ratio") and exits 1 when a budget is missed:
rvmem's instructions per call (malloc and free together) at most --ratio-budget (0.4) of glibc's,
and rvmem faster than glibc on the clock, for every workload. Exit 1 too when the library is missing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

WORKLOADS = ["pair", "simple16", "larson", "zstress", "sweep"]
LINE = re.compile(r"^workload (\S+) allocator (\S+) mallocs (\d+) frees (\d+) peak_live_bytes (\d+) "
                  r"peak_resident_growth (\d+) best_seconds ([0-9.]+)$")


def run_bench(binary, arguments, preload, prefix=()):
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    if preload:
        environment["LD_PRELOAD"] = os.path.abspath(preload)
    command = list(prefix) + [binary] + list(arguments)
    result = subprocess.run(command, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    lines = {}
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            lines[match.group(1)] = {
                "allocator": match.group(2), "mallocs": int(match.group(3)), "frees": int(match.group(4)),
                "peak_live_bytes": int(match.group(5)), "peak_resident_growth": int(match.group(6)),
                "best_seconds": float(match.group(7))}
    return lines


def parse_annotate(text):
    """Function name -> instructions, from callgrind_annotate's output (inclusive or self cost).

    callgrind_annotate may list one function more than once (under its source file's absolute and
    relative name, or per file it inlines code from): each listing shows the same or a part of the
    cost, so the largest is the function's cost. "PROGRAM TOTALS" is kept under that name.
    """
    costs = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.+?)(?:\s+\[.*\])?$", line)
        if not match:
            continue
        cost, where = int(match.group(1).replace(",", "")), match.group(2)
        if where == "PROGRAM TOTALS":
            costs["PROGRAM TOTALS"] = cost
        elif ":" in where:
            function = where.rsplit(":", 1)[1]
            costs[function] = max(costs.get(function, 0), cost)
    return costs


def annotate(out_file, inclusive):
    """parse_annotate over `callgrind_annotate` of one callgrind output file."""
    command = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", "--auto=no",
               out_file]
    text = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True).stdout
    return parse_annotate(text)


def callgrind(binary, workload, preload):
    """Instructions per malloc, per free and per call of the whole workload, under callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        out_file = os.path.join(scratch, "callgrind.out")
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                  f"--toggle-collect=malloc_workload_{workload}"]
        line = run_bench(binary, [workload], preload, prefix)[workload]
        inclusive, own = annotate(out_file, True), annotate(out_file, False)
    calls = line["mallocs"] + line["frees"]
    figures = {"allocator": line["allocator"], "mallocs": line["mallocs"], "frees": line["frees"]}
    for name, count in (("malloc", line["mallocs"]), ("free", line["frees"])):
        wrapper = f"call_{name}"
        if wrapper not in inclusive:
            raise RuntimeError(f"callgrind saw no {wrapper} in the {workload} run")
        figures[name] = (inclusive[wrapper] - own.get(wrapper, 0)) / count
    figures["workload_per_call"] = inclusive["PROGRAM TOTALS"] / calls
    figures["allocator_per_call"] = (figures["malloc"] * line["mallocs"] + figures["free"] * line["frees"]) / calls
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="build/malloc-bench")
    parser.add_argument("--preload", required=True, help="rvmem's LD_PRELOAD shared library")
    parser.add_argument("--json", default="build/bench.json")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--runs", type=int, default=10, help="processes per allocator on the clock")
    parser.add_argument("--repeat", type=int, default=30, help="repetitions of each workload per process")
    parser.add_argument("--ratio-budget", type=float, default=0.4)
    args = parser.parse_args()
    workloads = [w for w in args.workloads.split(",") if w]
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        print("bench-host: valgrind is not installed (make deps, or apt-get install valgrind)")
        return 1

    if not os.path.exists(args.preload):
        print(f"bench-host: {args.preload} does not exist (rvmem's LD_PRELOAD library; `make host` builds it):"
              " glibc only, the rvmem side is not measured")
    allocators = [("glibc", None)] + ([("rvmem", args.preload)] if os.path.exists(args.preload) else [])

    print(f"$ valgrind --tool=callgrind --toggle-collect=malloc_workload_NAME {args.bench} NAME"
          f"   (glibc; then LD_PRELOAD={args.preload})")
    counts = {}
    for workload in workloads:
        for allocator, preload in allocators:
            counts[(workload, allocator)] = callgrind(args.bench, workload, preload)
            expected = os.path.basename(preload) if preload else "libc.so.6"
            if counts[(workload, allocator)]["allocator"] != expected:
                raise RuntimeError(f"the {allocator} run reported allocator {counts[(workload, allocator)]['allocator']}")

    footprint = {}
    for workload in workloads:
        for allocator, preload in allocators:
            line = run_bench(args.bench, ["--footprint", workload], preload)[workload]
            footprint[(workload, allocator)] = line["peak_resident_growth"] / line["peak_live_bytes"]

    print(f"$ {args.bench} --repeat {args.repeat} {' '.join(workloads)}   ({args.runs} runs per allocator,"
          " alternating; fastest kept)")
    clock = {}
    for _ in range(args.runs):
        for allocator, preload in allocators:
            for workload, line in run_bench(args.bench, ["--repeat", str(args.repeat)] + workloads, preload).items():
                key = (workload, allocator)
                clock[key] = min(clock.get(key, float("inf")), line["best_seconds"])

    figures, misses = [], []
    header = (f"{'workload':<10} {'allocator':<7} {'malloc':>9} {'free':>9} {'alloc/call':>10} {'total/call':>10} "
              f"{'footprint':>9} {'seconds':>10}")
    print("host: instructions per call under callgrind; footprint = peak resident growth / peak live bytes")
    print(header)
    for workload in workloads:
        for allocator, _ in allocators:
            c = counts[(workload, allocator)]
            print(f"{workload:<10} {allocator:<7} {c['malloc']:9.2f} {c['free']:9.2f} {c['allocator_per_call']:10.2f} "
                  f"{c['workload_per_call']:10.2f} {footprint[(workload, allocator)]:9.3f} "
                  f"{clock[(workload, allocator)]:10.6f}")
            base = f"host_{workload}_{allocator}"
            for key, value, count in (("malloc", c["malloc"], c["mallocs"]), ("free", c["free"], c["frees"]),
                                      ("allocator_per_call", c["allocator_per_call"], c["mallocs"] + c["frees"]),
                                      ("workload_per_call", c["workload_per_call"], c["mallocs"] + c["frees"])):
                figures.append({"name": f"{base}_{key}", "n": count, "mean": round(value, 2),
                                "unit": "host instructions (callgrind)", "budget_mean": 0, "budget_max": 0})
            figures.append({"name": f"{base}_footprint", "n": 1, "mean": round(footprint[(workload, allocator)], 3),
                            "unit": "ratio", "budget_mean": 0, "budget_max": 0})
            figures.append({"name": f"{base}_seconds", "n": args.runs * args.repeat,
                            "mean": clock[(workload, allocator)], "unit": "seconds (fastest)", "budget_mean": 0,
                            "budget_max": 0})
        if len(allocators) < 2:
            misses.append(f"{workload}: rvmem not measured")
            continue
        ratio = counts[(workload, "rvmem")]["allocator_per_call"] / counts[(workload, "glibc")]["allocator_per_call"]
        speed = clock[(workload, "rvmem")] / clock[(workload, "glibc")]
        print(f"{workload:<10} rvmem/glibc: instructions {ratio:.2f} (budget {args.ratio_budget}), "
              f"wall clock {speed:.2f} (budget < 1)")
        figures.append({"name": f"host_{workload}_instructions_rvmem_over_glibc", "n": 1, "mean": round(ratio, 3),
                        "unit": "ratio", "budget_mean": args.ratio_budget, "budget_max": 0})
        figures.append({"name": f"host_{workload}_seconds_rvmem_over_glibc", "n": 1, "mean": round(speed, 3),
                        "unit": "ratio", "budget_mean": 1, "budget_max": 0})
        if ratio > args.ratio_budget:
            misses.append(f"{workload}: instructions {ratio:.2f}x glibc > {args.ratio_budget}")
        if speed >= 1:
            misses.append(f"{workload}: wall clock {speed:.2f}x glibc, not faster")

    existing = []
    if os.path.exists(args.json):
        with open(args.json) as old:
            existing = [f for f in json.load(old) if not f["name"].startswith("host_")]
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as out:
        json.dump(existing + figures, out, indent=2)
        out.write("\n")
    print(f"bench-host: {len(figures)} figures added to {args.json}")
    for miss in misses:
        print(f"# BUDGET EXCEEDED: host {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
