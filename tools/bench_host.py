#!/usr/bin/env python3
"""tools/bench_host.py - the malloc workloads on the host: rvmem (LD_PRELOAD) against glibc.

Runs one binary (build/malloc-bench, tests/hostbench/malloc_bench.c) for every workload:
  - under `valgrind --tool=callgrind`, once as it is (glibc's malloc) and once with
    LD_PRELOAD of rvmem's shared library: instructions inside malloc and inside free per call
    (inclusive cost of the binary's call_malloc/call_free wrappers minus their own one-instruction
    jump), and every instruction of the workload per call (its loop and marker checks included);
  - once more with --footprint for each, in its own process: peak resident memory growth
    (VmHWM minus VmRSS before) / peak live requested bytes, the same measure for both allocators;
  - on the wall clock: --runs runs, each a glibc process and then an rvmem process on the same CPU
    (the runs take the CPUs in turn), each process running every workload --repeat times and
    keeping its fastest time. The time figure is the fastest of all; the ratio of the two
    allocators is the median over the runs of rvmem's time over glibc's in the same run, and when
    it is over its budget, --runs runs more are made and the median of all of them counts. On a
    shared machine a process can run on a CPU that is much slower than another for seconds at a
    time (its neighbours' load), for its whole life: the fastest of all could set rvmem's slow
    CPU against glibc's fast one, where a run sets both against the same CPU at nearly the same
    time, and the median leaves out the runs whose conditions changed between its two processes.
larson and zstress run once more with RVMEM_MALLOC_MODE=lean (rvmem's lean mode: every block from
TLSF), under callgrind and for the footprint, set against the same glibc run (host_lean_* rows).
With --patterns, issue 14's patterns too (tools/bench_patterns.py, build/malloc-patterns).
Prints a table and appends the figures to the bench.json list (keys as tools/bench.py writes,
unit "host instructions" or "seconds" or "ratio"), among them two ratios per workload: rvmem's
instructions per call (malloc and free together) over glibc's, and the wall-clock ratio. Their
budgets are in tools/bench_budgets.py; run alone (`make bench-host`) it prints their budgets
table and exits 1 when one is exceeded, and 1 too when the library is missing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_budgets  # noqa: E402

WORKLOADS = ["pair", "simple16", "larson", "zstress", "sweep"]
LEAN_WORKLOADS = ["larson", "zstress"]  # measured in lean mode too (RVMEM_MALLOC_MODE=lean): issue 14's rows
RUNS, REPEAT = 10, 30  # on the clock: processes per allocator, repetitions of each workload per process
LINE = re.compile(r"^workload (\S+) allocator (\S+) mallocs (\d+) frees (\d+) peak_live_bytes (\d+) "
                  r"peak_resident_growth (\d+) best_seconds ([0-9.]+)$")


def run_bench(binary, arguments, preload, prefix=(), cpu=None, mode=None):
    """Runs binary (under prefix, e.g. valgrind) with LD_PRELOAD=preload when given (else none),
    RVMEM_MALLOC_MODE=mode when given (else none) and, when cpu is given, only on that CPU; returns
    its lines by workload (LINE's fields)."""
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    environment.pop("RVMEM_MALLOC_MODE", None)
    if preload:
        environment["LD_PRELOAD"] = os.path.abspath(preload)
    if mode:
        environment["RVMEM_MALLOC_MODE"] = mode
    command = list(prefix) + [binary] + list(arguments)
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    result = subprocess.run(command, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=pin)
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


def callgrind(binary, workload, preload, mode=None):
    """Instructions per malloc, per free and per call of the whole workload, under callgrind (rvmem in
    mode, RVMEM_MALLOC_MODE, when given)."""
    with tempfile.TemporaryDirectory() as scratch:
        out_file = os.path.join(scratch, "callgrind.out")
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                  f"--toggle-collect=malloc_workload_{workload}"]
        line = run_bench(binary, [workload], preload, prefix, mode=mode)[workload]
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


def wall_clock(binary, allocators, workloads, runs, repeat):
    """Each process's fastest time of each (workload, allocator): a list of runs, one process per
    allocator and run, each running every workload repeat times. allocators: (name, LD_PRELOAD
    library or None) in the order they take turns; the processes of one run all run on the same
    CPU, the runs taking this process's CPUs in turn."""
    cpus = sorted(os.sched_getaffinity(0))
    clock = {}
    for run in range(runs):
        for allocator, library in allocators:
            lines = run_bench(binary, ["--repeat", str(repeat)] + workloads, library, cpu=cpus[run % len(cpus)])
            for workload, line in lines.items():
                clock.setdefault((workload, allocator), []).append(line["best_seconds"])
    return clock


def paired_ratio(numerators, denominators):
    """The median of numerators[i] / denominators[i]: a ratio of two allocators' times taken run by
    run, so that a run on a slow CPU (or in a busy second) is set against the same conditions."""
    ratios = sorted(n / d for n, d in zip(numerators, denominators))
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def wall_clock_budget(workload):
    """The budget of a workload's wall-clock ratio (tools/bench_budgets.py; infinite without one)."""
    return bench_budgets.BUDGETS.get(f"host_{workload}_seconds_rvmem_over_glibc", (0, 0))[0] or float("inf")


def measure(binary, preload, workloads, runs, repeat):
    """Measures every workload with glibc and with rvmem (preload) and prints the table; returns
    (figures, problems), problems naming what could not be measured."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        return [], ["valgrind is not installed (make deps, or apt-get install valgrind)"]
    problems = []
    if not os.path.exists(preload):
        print(f"bench-host: {preload} does not exist (rvmem's LD_PRELOAD library; `make host` builds it):"
              " glibc only, the rvmem side is not measured")
    allocators = [("glibc", None)] + ([("rvmem", preload)] if os.path.exists(preload) else [])

    print(f"$ valgrind --tool=callgrind --toggle-collect=malloc_workload_NAME {binary} NAME"
          f"   (glibc; then LD_PRELOAD={preload})")
    counts = {}
    for workload in workloads:
        for allocator, library in allocators:
            counts[(workload, allocator)] = callgrind(binary, workload, library)
            expected = os.path.basename(library) if library else "libc.so.6"
            if counts[(workload, allocator)]["allocator"] != expected:
                raise RuntimeError(f"the {allocator} run reported allocator {counts[(workload, allocator)]['allocator']}")

    footprint = {}
    for workload in workloads:
        for allocator, library in allocators:
            line = run_bench(binary, ["--footprint", workload], library)[workload]
            footprint[(workload, allocator)] = line["peak_resident_growth"] / line["peak_live_bytes"]

    cpus = sorted(os.sched_getaffinity(0))
    print(f"$ {binary} --repeat {repeat} {' '.join(workloads)}   ({runs} runs of a glibc process and an rvmem"
          f" process on one CPU, CPUs {','.join(map(str, cpus))} in turn; seconds: the fastest; rvmem/glibc: the"
          " median of the runs' ratios)")
    clock = wall_clock(binary, allocators, workloads, runs, repeat)
    over = [workload for workload in workloads if len(allocators) == 2 and paired_ratio(
        clock[(workload, "rvmem")], clock[(workload, "glibc")]) > wall_clock_budget(workload)]
    if over:
        # One look more before a miss counts: the median of twice the runs. A slower rvmem stays over.
        print(f"wall clock over budget for {', '.join(over)}: {runs} more runs, the ratio from all of them")
        for key, times in wall_clock(binary, allocators, workloads, runs, repeat).items():
            clock[key] += times

    figures = []
    header = (f"{'workload':<10} {'allocator':<7} {'malloc':>9} {'free':>9} {'alloc/call':>10} {'total/call':>10} "
              f"{'footprint':>9} {'seconds':>10}")
    print("host: instructions per call under callgrind; footprint = peak resident growth / peak live bytes")
    print(header)
    for workload in workloads:
        for allocator, _ in allocators:
            c = counts[(workload, allocator)]
            print(f"{workload:<10} {allocator:<7} {c['malloc']:9.2f} {c['free']:9.2f} {c['allocator_per_call']:10.2f} "
                  f"{c['workload_per_call']:10.2f} {footprint[(workload, allocator)]:9.3f} "
                  f"{min(clock[(workload, allocator)]):10.6f}")
            base = f"host_{workload}_{allocator}"
            for key, value, count in (("malloc", c["malloc"], c["mallocs"]), ("free", c["free"], c["frees"]),
                                      ("allocator_per_call", c["allocator_per_call"], c["mallocs"] + c["frees"]),
                                      ("workload_per_call", c["workload_per_call"], c["mallocs"] + c["frees"])):
                figures.append({"name": f"{base}_{key}", "n": count, "mean": round(value, 2),
                                "unit": "host instructions (callgrind)", "budget_mean": 0, "budget_max": 0})
            figures.append({"name": f"{base}_footprint", "n": 1, "mean": round(footprint[(workload, allocator)], 3),
                            "unit": "ratio", "budget_mean": 0, "budget_max": 0})
            figures.append({"name": f"{base}_seconds", "n": len(clock[(workload, allocator)]) * repeat,
                            "mean": min(clock[(workload, allocator)]), "unit": "seconds (fastest)", "budget_mean": 0,
                            "budget_max": 0})
        if len(allocators) < 2:
            problems.append(f"{workload}: rvmem not measured")
            continue
        ratio = counts[(workload, "rvmem")]["allocator_per_call"] / counts[(workload, "glibc")]["allocator_per_call"]
        speed = paired_ratio(clock[(workload, "rvmem")], clock[(workload, "glibc")])
        ratios = [{"name": f"host_{workload}_instructions_rvmem_over_glibc", "n": 1, "mean": round(ratio, 3),
                   "unit": "ratio", "budget_mean": 0, "budget_max": 0},
                  {"name": f"host_{workload}_seconds_rvmem_over_glibc", "n": 1, "mean": round(speed, 3),
                   "unit": "ratio", "budget_mean": 0, "budget_max": 0}]
        bench_budgets.apply_budgets(ratios)
        print(f"{workload:<10} rvmem/glibc: instructions {ratio:.3f} (budget {ratios[0]['budget_mean']}), "
              f"wall clock {speed:.3f} (budget {ratios[1]['budget_mean']})")
        figures += ratios
    if len(allocators) == 2:
        figures += measure_lean(binary, preload, [w for w in workloads if w in LEAN_WORKLOADS], counts)
    return figures, problems


def measure_lean(binary, preload, workloads, counts):
    """rvmem's lean mode (RVMEM_MALLOC_MODE=lean) on workloads: instructions per call under callgrind
    and footprint, against glibc's from counts (measure's); prints a line each, returns the figures."""
    figures = []
    for workload in workloads:
        lean = callgrind(binary, workload, preload, mode="lean")
        if lean["allocator"] != os.path.basename(preload):
            raise RuntimeError(f"the lean run reported allocator {lean['allocator']}")
        line = run_bench(binary, ["--footprint", workload], preload, mode="lean")[workload]
        footprint = line["peak_resident_growth"] / line["peak_live_bytes"]
        glibc = counts[(workload, "glibc")]["allocator_per_call"]
        ratio = lean["allocator_per_call"] / glibc
        base = f"host_lean_{workload}_rvmem"
        for key, count in (("malloc", lean["mallocs"]), ("free", lean["frees"]),
                           ("allocator_per_call", lean["mallocs"] + lean["frees"])):
            figures.append({"name": f"{base}_{key}", "n": count, "mean": round(lean[key], 2),
                            "unit": "host instructions (callgrind)", "budget_mean": 0, "budget_max": 0})
        figures.append({"name": f"{base}_footprint", "n": 1, "mean": round(footprint, 3), "unit": "ratio",
                        "budget_mean": 0, "budget_max": 0})
        ratios = [{"name": f"host_lean_{workload}_instructions_rvmem_over_glibc", "n": 1, "mean": round(ratio, 3),
                   "unit": "ratio", "budget_mean": 0, "budget_max": 0}]
        bench_budgets.apply_budgets(ratios)
        figures += ratios
        print(f"{workload:<10} lean    {lean['malloc']:9.2f} {lean['free']:9.2f} {lean['allocator_per_call']:10.2f} "
              f"{lean['workload_per_call']:10.2f} {footprint:9.3f}   lean/glibc: instructions {ratio:.3f}")
    return figures


def merge_into(path, figures):
    """Writes figures into the bench.json list at path, replacing the host figures it held."""
    existing = []
    if os.path.exists(path):
        with open(path) as old:
            existing = [f for f in json.load(old) if not f["name"].startswith("host_")]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as out:
        json.dump(existing + figures, out, indent=2)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="build/malloc-bench")
    parser.add_argument("--preload", required=True, help="rvmem's LD_PRELOAD shared library")
    parser.add_argument("--json", default="build/bench.json")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--runs", type=int, default=RUNS, help="processes per allocator on the clock")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="repetitions of each workload per process")
    parser.add_argument("--patterns", help="build/malloc-patterns: also issue 14's patterns (tools/bench_patterns.py)")
    args = parser.parse_args()
    figures, problems = measure(args.bench, args.preload, [w for w in args.workloads.split(",") if w], args.runs,
                                args.repeat)
    if args.patterns:
        import bench_patterns  # noqa: E402 (tools/bench_patterns.py)
        pattern_figures, pattern_problems = bench_patterns.measure(args.patterns, args.preload)
        figures += pattern_figures
        problems += pattern_problems
    merge_into(args.json, figures)
    print(f"bench-host: {len(figures)} figures added to {args.json}")
    missed = bench_budgets.print_tables(figures)
    for problem in problems:
        print(f"bench-host: {problem}")
    for miss in missed:
        print(f"# BUDGET EXCEEDED: {miss}")
    return 1 if problems or missed else 0


if __name__ == "__main__":
    sys.exit(main())
