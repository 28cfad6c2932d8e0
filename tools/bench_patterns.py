#!/usr/bin/env python3
"""tools/bench_patterns.py - issue 14's patterns on the host: memory held and time, rvmem (LD_PRELOAD) against glibc.

Runs build/malloc-patterns (tests/hostbench/malloc_patterns.c), one pattern per process, once as it
is (glibc's malloc) and once with LD_PRELOAD of rvmem's library, and of any other allocator given
(--peer NAME=LIBRARY: figures for the write-up, never budgets or goals):
  - every pattern, PATTERNS[...].runs times, the allocators taking turns within a run; the
    single-threaded ones pinned to one CPU per run, the runs taking the CPUs in turn (as
    tools/bench_host.py's wall clock). A figure is the median over the runs; a time ratio is the
    median over the runs of the allocator's time over glibc's in the same run;
  - phases, remote and regrow once more under `valgrind --tool=callgrind`, glibc and rvmem, at the
    kernel's scale (CALLGRIND): instructions per malloc, free and realloc;
  - python3's start-up (`python3 -c pass`, PYTHON_RUNS times): the median wall time and peak
    resident memory (the child's ru_maxrss).
Figures (keys as tools/bench.py writes): host_PATTERN_ALLOCATOR_KEY for every number a pattern
prints (bytes, seconds, counts); host_PATTERN_ALLOCATOR_footprint (peak resident growth over
peak live bytes) for phases and remote; host_PATTERN_KEY_ALLOCATOR_over_glibc for the times and
regrow's peak resident memory; host_aslimit_ALLOCATOR_refused (1: the 2 GiB malloc under
`ulimit -v 4000000` returned NULL). The threads and idle patterns run rvmem once more in lean mode
(RVMEM_MALLOC_MODE=lean: no thread caches), as the allocator "lean" (host_idle_lean_...). Issue
14's targets for them are goals or budgets in tools/bench_budgets.py.

    python3 tools/bench_patterns.py --patterns build/malloc-patterns --preload build/host/librvmem_malloc.so \\
        [--peer jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ...] [--only phases,remote] [--json FILE]
"""
import argparse
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_budgets  # noqa: E402
import bench_host  # noqa: E402

Pattern = collections.namedtuple("Pattern", "name arguments runs pin clock limit_kib lean")

# runs: processes per allocator; pin: one CPU per run (single-threaded, or threads taking turns);
# clock: the time figure set against glibc's (None: memory only); limit_kib: RLIMIT_AS for the process;
# lean: rvmem runs once more in lean mode (RVMEM_MALLOC_MODE=lean), as the allocator "lean".
PATTERNS = [
    Pattern("phases", [], 3, True, "seconds", None, False),
    Pattern("remote", [], 3, True, "free_seconds", None, False),
    Pattern("threads", [], 3, False, "cpu_seconds", None, True),
    Pattern("thread_exit", ["--threads", "10000"], 1, False, None, None, False),
    Pattern("idle", [], 1, False, None, None, True),
    Pattern("regrow", [], 3, True, "seconds", None, False),
    Pattern("large2", [], 3, False, "cpu_seconds", None, False),
    Pattern("aslimit", [], 1, False, None, 4000000, False),
]
LEAN = "lean"  # the allocator name of rvmem's lean-mode runs
# Under callgrind, at the kernel's scale (tests/bench/malloc_patterns.c): the calls each pattern counts.
CALLGRIND = {
    "phases": (["--phase-bytes", str(4 << 20)], ("malloc", "free")),
    "remote": (["--remote-bytes", str(8 << 20)], ("malloc", "free")),
    "regrow": (["--regrow-bytes", str(8 << 20)], ("realloc",)),
}
PYTHON_RUNS = 10
# Numbers a pattern prints that are its parameters, not figures.
PARAMETERS = {"phase_bytes", "max_bytes", "limit_kib", "bytes"}


def parse_line(line):
    """A malloc-patterns line ("pattern NAME allocator A key value ...") as a dict, or None."""
    words = line.split()
    if len(words) < 4 or len(words) % 2 or words[0] != "pattern" or words[2] != "allocator":
        return None
    result = {"pattern": words[1], "allocator": words[3]}
    for key, value in zip(words[4::2], words[5::2]):
        result[key] = float(value)
    return result


def run_pattern(binary, pattern, arguments, preload, cpu=None, limit_kib=None, prefix=(), mode=None):
    """Runs one pattern in its own process (under prefix, e.g. valgrind) with LD_PRELOAD=preload
    when given, on one CPU when given, under RLIMIT_AS when given, with RVMEM_MALLOC_MODE=mode when
    given; returns its line's dict."""
    environment = dict(os.environ)
    environment.pop("LD_PRELOAD", None)
    environment.pop("RVMEM_MALLOC_MODE", None)
    if preload:
        environment["LD_PRELOAD"] = os.path.abspath(preload)
    if mode:
        environment["RVMEM_MALLOC_MODE"] = mode

    def limit():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if limit_kib is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_kib * 1024, limit_kib * 1024))

    command = list(prefix) + [binary] + list(arguments) + [pattern]
    result = subprocess.run(command, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limit)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    for line in result.stdout.splitlines():
        parsed = parse_line(line)
        if parsed and parsed["pattern"] == pattern:
            return parsed
    raise RuntimeError(f"{' '.join(command)} printed no line for {pattern}")


def unit_of(key):
    """The unit of a pattern's figure, by its name."""
    if key.endswith("seconds"):
        return "seconds"
    if "resident" in key or key.endswith("_bytes") or key.endswith("bytes_per_thread"):
        return "bytes"
    if key.endswith("per_second"):
        return "per second"
    return "count"


def figure(name, value, unit, n=1):
    return {"name": name, "n": n, "mean": round(value, 6) if isinstance(value, float) else value, "unit": unit,
            "budget_mean": 0, "budget_max": 0}


def pattern_figures(pattern, allocators, results):
    """The figures of one pattern from its runs: results[allocator] is a list of line dicts."""
    figures = []
    for allocator, _ in allocators:
        runs = results[allocator]
        for key in runs[0]:
            if key in ("pattern", "allocator") or key in PARAMETERS:
                continue
            value = statistics.median(run[key] for run in runs)
            figures.append(figure(f"host_{pattern.name}_{allocator}_{key}", value, unit_of(key), len(runs)))
        if "peak_live_bytes" in runs[0] and pattern.name != "regrow":
            value = statistics.median(run["peak_resident_growth"] / run["peak_live_bytes"] for run in runs)
            figures.append(figure(f"host_{pattern.name}_{allocator}_footprint", round(value, 3), "ratio", len(runs)))
        if "served" in runs[0]:
            figures.append(figure(f"host_{pattern.name}_{allocator}_refused", 1 - int(runs[0]["served"]), "count"))
    for allocator, _ in allocators[1:]:
        ours, theirs = results[allocator], results["glibc"]
        if pattern.clock:
            ratio = bench_host.paired_ratio([run[pattern.clock] for run in ours], [run[pattern.clock] for run in theirs])
            figures.append(figure(f"host_{pattern.name}_{pattern.clock}_{allocator}_over_glibc", round(ratio, 3),
                                  "ratio", len(ours)))
        if pattern.name == "regrow":
            ratio = bench_host.paired_ratio([run["peak_resident_growth"] for run in ours],
                                            [run["peak_resident_growth"] for run in theirs])
            figures.append(figure(f"host_regrow_peak_resident_{allocator}_over_glibc", round(ratio, 3), "ratio",
                                  len(ours)))
    return figures


def callgrind_figures(binary, pattern, preload, allocator):
    """Instructions per call of the pattern's calls (CALLGRIND) under callgrind, as figures."""
    arguments, calls = CALLGRIND[pattern]
    with tempfile.TemporaryDirectory() as scratch:
        out_file = os.path.join(scratch, "callgrind.out")
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"]
        line = run_pattern(binary, pattern, arguments, preload, prefix=prefix)
        inclusive, own = bench_host.annotate(out_file, True), bench_host.annotate(out_file, False)
    counts = {"malloc": line.get("mallocs", 0), "free": line.get("frees", 0), "realloc": line.get("reallocs", 0)}
    figures = []
    for call in calls:
        wrapper = f"call_{call}"
        if wrapper not in inclusive or not counts[call]:
            raise RuntimeError(f"callgrind saw no {wrapper} in the {pattern} run")
        per_call = (inclusive[wrapper] - own.get(wrapper, 0)) / counts[call]
        figures.append({"name": f"host_{pattern}_{allocator}_{call}", "n": int(counts[call]),
                        "mean": round(per_call, 2), "unit": "host instructions (callgrind)", "budget_mean": 0,
                        "budget_max": 0})
    return figures


def python_startup(allocators, runs):
    """`python3 -c pass` runs times per allocator, taking turns: the median seconds and peak
    resident bytes of each, and each allocator's time over glibc's (the median of the runs' ratios)."""
    seconds, resident = collections.defaultdict(list), collections.defaultdict(list)
    for _ in range(runs):
        for allocator, library in allocators:
            environment = dict(os.environ)
            environment.pop("LD_PRELOAD", None)
            if library:
                environment["LD_PRELOAD"] = os.path.abspath(library)
            started = time.monotonic()
            child = subprocess.Popen([sys.executable, "-c", "pass"], env=environment, stdin=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            seconds[allocator].append(time.monotonic() - started)
            resident[allocator].append(usage.ru_maxrss * 1024)
            if status:
                raise RuntimeError(f"python3 -c pass under {allocator} exited with status {status}")
    figures = []
    for allocator, _ in allocators:
        figures.append(figure(f"host_python_startup_{allocator}_seconds", statistics.median(seconds[allocator]),
                              "seconds", runs))
        figures.append(figure(f"host_python_startup_{allocator}_max_resident_bytes",
                              statistics.median(resident[allocator]), "bytes", runs))
    for allocator, _ in allocators[1:]:
        ratio = bench_host.paired_ratio(seconds[allocator], seconds["glibc"])
        figures.append(figure(f"host_python_startup_seconds_{allocator}_over_glibc", round(ratio, 3), "ratio", runs))
    return figures


def describe(value, unit):
    if unit == "bytes" and value >= 1 << 20:
        return f"{value / 1048576:.1f} MiB"
    if unit == "bytes":
        return f"{value:.0f} B"
    if unit == "seconds":
        return f"{value:.4f} s"
    return bench_budgets.number(value)


def print_figures(figures):
    """One line per pattern and allocator, then the ratios."""
    rows = collections.OrderedDict()
    ratios = []
    for item in figures:
        name = item["name"]
        if "_over_glibc" in name:
            ratios.append(item)
            continue
        rest = name[len("host_"):]
        for pattern in [p.name for p in PATTERNS] + ["python_startup"]:
            if rest.startswith(pattern + "_"):
                allocator, key = rest[len(pattern) + 1:].split("_", 1)
                rows.setdefault((pattern, allocator), []).append(f"{key} {describe(item['mean'], item['unit'])}")
                break
    for (pattern, allocator), values in rows.items():
        print(f"  {pattern:<14} {allocator:<10} " + ", ".join(values))
    for item in ratios:
        print(f"  {item['name']:<56} {bench_budgets.number(item['mean'])}")


def clock_over_budget(pattern, results):
    """Whether rvmem's time ratio of a pattern's runs (results[allocator]: its lines) is over its budget."""
    budget = bench_budgets.BUDGETS.get(f"host_{pattern.name}_{pattern.clock}_rvmem_over_glibc", (0, 0))[0]
    if not pattern.clock or not budget or "rvmem" not in results:
        return False
    return bench_host.paired_ratio([run[pattern.clock] for run in results["rvmem"]],
                                   [run[pattern.clock] for run in results["glibc"]]) > budget


def run_pattern_runs(binary, pattern, runners, cpus, results):
    """pattern.runs runs of every runner (the allocators taking turns), appended to results."""
    for run in range(pattern.runs):
        for allocator, library in runners:
            cpu = cpus[run % len(cpus)] if pattern.pin else None
            line = run_pattern(binary, pattern.name, pattern.arguments, library, cpu, pattern.limit_kib,
                               mode="lean" if allocator == LEAN else None)
            expected = os.path.basename(library) if library else "libc.so.6"
            if line["allocator"] != expected:
                raise RuntimeError(f"the {allocator} run of {pattern.name} reported allocator {line['allocator']}")
            results[allocator].append(line)


def measure(binary, preload, peers=(), only=None, callgrind=True):
    """Measures every pattern (only: those named) with glibc, rvmem and the peers; prints them;
    returns (figures, problems)."""
    problems = []
    allocators = [("glibc", None)]
    if os.path.exists(preload):
        allocators.append(("rvmem", preload))
    else:
        problems.append(f"{preload} does not exist (rvmem's LD_PRELOAD library; `make host` builds it)")
    allocators += list(peers)
    cpus = sorted(os.sched_getaffinity(0))
    patterns = [p for p in PATTERNS if not only or p.name in only]
    started = time.monotonic()
    print(f"$ {binary} PATTERN   (one process per pattern and allocator: {', '.join(a for a, _ in allocators)};"
          " the single-threaded ones pinned, a run per CPU in turn)")
    figures = []
    for pattern in patterns:
        results = collections.defaultdict(list)
        runners = allocators + ([(LEAN, preload)] if pattern.lean and len(allocators) > 1 else [])
        run_pattern_runs(binary, pattern, runners, cpus, results)
        if clock_over_budget(pattern, results):
            # One look more before a miss counts, as tools/bench_host.py's wall clock: the median of
            # twice the runs. A slower rvmem stays over.
            print(f"{pattern.name}: time over budget, {pattern.runs} more runs, the ratio from all of them")
            run_pattern_runs(binary, pattern, runners, cpus, results)
        figures += pattern_figures(pattern, runners, results)
    if callgrind and bench_host.shutil.which("valgrind"):
        for pattern in CALLGRIND:
            if only and pattern not in only:
                continue
            for allocator, library in allocators[:2]:
                figures += callgrind_figures(binary, pattern, library, allocator)
    elif callgrind:
        problems.append("valgrind is not installed: the patterns' instructions per call are not measured")
    if not only or "python_startup" in only:
        figures += python_startup(allocators, PYTHON_RUNS)
    print(f"host patterns (issue 14; {time.monotonic() - started:.0f} s): median of the runs; resident figures are"
          " growth over the process's start")
    print_figures(figures)
    return figures, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", default="build/malloc-patterns")
    parser.add_argument("--preload", required=True, help="rvmem's LD_PRELOAD shared library")
    parser.add_argument("--peer", action="append", default=[], help="NAME=LIBRARY: another allocator to measure")
    parser.add_argument("--only", default="", help="patterns to run (comma-separated; python_startup too)")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--json", help="also write the figures here (a list, as build/bench.json)")
    args = parser.parse_args()
    peers = [tuple(peer.split("=", 1)) for peer in args.peer]
    figures, problems = measure(args.patterns, args.preload, peers, [p for p in args.only.split(",") if p],
                                not args.no_callgrind)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)
            out.write("\n")
    for line in bench_budgets.goal_table(figures):
        print(line)
    for problem in problems:
        print(f"bench-patterns: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
