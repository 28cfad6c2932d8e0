#!/usr/bin/env python3
"""tools/layers.py - checks that the tree keeps its layers (make lint).

Usage:
  layers.py --listed FILE... [--call-graphs FILE.ci...]

The layers, from the bottom (README "Layout"):
  kernel/base/      the portable base: errors, strings, printf, the lock, misuse, layout, the platform seam
  kernel/platform/  the machine: SBI, device tree, console, harts, traps, stacks, power  (boot/ beside it)
  kernel/mm/        memory management: memory map, buddy pages, program break, page tables
  kernel/proc/      user programs: the ELF loader's core, the entry block, the embedded programs
  lib/              malloc on sbrk (lib/malloc/) and the ownership toolkit; lib/host/ binds them to a POSIX host
  kernel/top/       main, the boot sequence, the monitor and the tour
  tests/            one folder per layer, tests/harness/ (the runner) beside them
  user/             beside the kernel: the user runtime (user/lib/) and the programs (user/programs/),
                    built for U-mode on the portable base and lib/

Checks, each printed as "layers: FILE: what is wrong" (exit status 1 when any fails):
1. Every .c and .S under boot/, kernel/, lib/, tests/ and user/ is in exactly one of the Makefile's
   per-layer source lists (--listed), and every listed file exists.
2. Includes: a file includes only its own layer and the layers below it, and the allocator cores
   (kernel/mm/ and lib/) include only the portable base (which holds the platform seam) and their
   own layer. Nothing outside kernel/top/ includes the top layer, except that the tests may read
   what the boot hart found (kernel/top/boot.h) and the address space it built (kernel/top/paging.h):
   the machine they run on.
3. Calls (--call-graphs: GCC's -fcallgraph-info files of the kernel build): no two files call
   each other. Calls into the platform seam (functions declared in kernel/base/platform.h) are
   the seam working as meant and do not count, nor do the calls the compiler makes itself
   (__stack_chk_fail).
"""
import argparse
import os
import re
import sys
from collections import defaultdict

SOURCE_ROOTS = ("boot", "kernel", "lib", "tests", "user")
# Not built into anything by the lists: fixtures and tool tests.
UNLISTED_DIRS = ("tests/data/", "tests/tools/")
SEAM = "kernel/base/platform.h"

# (layer, the prefixes its files may include). The first matching layer wins.
RULES = [
    ("kernel/base/", ("kernel/base/",)),
    ("kernel/platform/", ("kernel/base/", "kernel/platform/", "boot/")),
    ("boot/", ("kernel/base/", "kernel/platform/", "boot/")),
    ("kernel/mm/", ("kernel/base/", "kernel/mm/")),
    ("kernel/proc/", ("kernel/base/", "kernel/platform/", "kernel/mm/", "kernel/proc/")),
    ("lib/host/", ("kernel/base/", "lib/")),
    ("lib/", ("kernel/base/", "lib/malloc/", "lib/")),
    ("kernel/top/", ("kernel/", "lib/", "tests/harness/")),
    ("tests/harness/", ("kernel/base/", "tests/harness/")),
    ("tests/base/", ("kernel/base/", "tests/")),
    ("tests/platform/", ("kernel/base/", "kernel/platform/", "tests/")),
    ("tests/mm/", ("kernel/base/", "kernel/platform/", "kernel/mm/", "tests/")),
    ("tests/lib/", ("kernel/base/", "kernel/platform/", "kernel/mm/", "lib/", "tests/")),
    ("tests/proc/", ("kernel/base/", "kernel/platform/", "kernel/mm/", "kernel/proc/", "tests/")),
    ("tests/", ("kernel/", "lib/", "tests/")),
    ("user/lib/", ("kernel/base/", "lib/", "user/lib/")),
    # The benchmark programs run the shared malloc workloads (linked in by the Makefile).
    ("user/programs/", ("kernel/base/", "lib/", "user/lib/", "user/programs/", "tests/lib/malloc_workloads.h")),
]
# What the boot hart found and built, which the tests may read: the machine and its address space.
BOOT_INFO = ("kernel/top/boot.h", "kernel/top/paging.h")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def source_files():
    found = []
    for root in SOURCE_ROOTS:
        for directory, _, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if not path.startswith(UNLISTED_DIRS):
                    found.append(path)
    return sorted(found)


def check_listed(files, listed):
    problems = []
    counts = defaultdict(int)
    for path in listed:
        counts[os.path.normpath(path)] += 1
    for path, count in sorted(counts.items()):
        if count > 1:
            problems.append((path, "listed %d times in the Makefile's source lists" % count))
        if not os.path.exists(path):
            problems.append((path, "listed in the Makefile but missing"))
    for path in files:
        if path.endswith((".c", ".S")) and path not in counts:
            problems.append((path, "in no source list of the Makefile (add it to its layer's list)"))
    return problems


def rule_for(path):
    for layer, allowed in RULES:
        if path.startswith(layer):
            return layer, allowed
    return None, None


def check_includes(files):
    problems = []
    for path in files:
        if not path.endswith((".c", ".h", ".S")):
            continue
        layer, allowed = rule_for(path)
        if layer is None:
            continue
        with open(path, encoding="utf-8") as source:
            text = source.read()
        for included in INCLUDE.findall(text):
            if not included.startswith(SOURCE_ROOTS):
                continue  # generated files and system-style headers
            if included.startswith(allowed):
                if included.startswith("kernel/top/") and not path.startswith(("kernel/top/", "tests/top/")):
                    if not (path.startswith("tests/") and included in BOOT_INFO):
                        problems.append((path, "includes %s: nothing below the top layer reaches up into it" % included))
                continue
            if path.startswith("tests/") and included in BOOT_INFO:
                continue
            problems.append((path, "includes %s: %s may include only %s" % (included, layer, ", ".join(allowed))))
    return problems


NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def seam_functions():
    with open(SEAM, encoding="utf-8") as header:
        text = header.read()
    return set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", text))


def check_calls(graphs):
    defined = {}  # node title -> file that defines it
    edges = []
    for graph in graphs:
        with open(graph, encoding="utf-8") as source:
            text = source.read()
        for title, label in NODE.findall(text):
            where = re.search(r"\\n([^:\\]+):\d+:\d+\\n\d+ bytes", label)
            if where:
                defined[title] = os.path.normpath(where.group(1))
        edges += EDGE.findall(text)
    seam = seam_functions()
    calls = defaultdict(set)
    for caller, callee in edges:
        name = callee.split(":")[-1]
        if name in seam or name.startswith("__"):  # the seam, or a compiler hook (__stack_chk_fail)
            continue
        caller_file, callee_file = defined.get(caller), defined.get(callee)
        if caller_file and callee_file and caller_file != callee_file:
            calls[caller_file].add(callee_file)
    problems = []
    for first in sorted(calls):
        for second in sorted(calls[first]):
            if first < second and first in calls.get(second, ()):
                problems.append((first, "and %s call each other (move what both need to a helper file, or "
                                 "let one of them only be called)" % second))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listed", nargs="*", default=[], help="the Makefile's per-layer source lists")
    parser.add_argument("--call-graphs", nargs="*", default=[], help="the kernel build's .ci files")
    options = parser.parse_args()
    files = source_files()
    problems = check_listed(files, options.listed) + check_includes(files) + check_calls(options.call_graphs)
    for path, what in problems:
        print("layers: %s: %s" % (path, what))
    checked = "%d files, %d call graphs" % (len(files), len(options.call_graphs))
    print("layers: %s (%s)" % ("%d problem(s)" % len(problems) if problems else "ok", checked))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
