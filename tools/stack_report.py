#!/usr/bin/env python3
"""tools/stack_report.py - worst-case stack depth of each entry point, from GCC's call graph.

Usage:
  stack_report.py --stack-size BYTES --trap-frame BYTES [--reserved BYTES] [--entry NAME ...]
                  [--trap-handler NAME] [--indirect-targets FILE] [--strict] [--verbose] FILE.ci ...

Reads the VCG files written by `gcc -fstack-usage -fcallgraph-info=su` (one .ci per object).
A function's depth is its own frame plus the deepest depth among the functions it calls. Rules:
- A trap can arrive at the deepest point of any chain, so each entry must fit
      depth(entry) + TRAP_FRAME + depth(trap handler) <= STACK_SIZE - RESERVED
  (RESERVED: bytes at the bottom of the stack no frame may enter, e.g. a red zone).
- Recursion (a cycle in the graph) and dynamic frames (alloca, VLAs; "dynamic" without
  "bounded") make a depth unbounded. The depth printed then is a lower bound: the deepest
  chain that enters no cycle, counting a dynamic frame at its static part.
- Indirect calls ("__indirect_call" in the graph) may reach any function whose address is
  taken. The .ci files do not say which those are, so by default the candidates are every
  function defined in the files that has no direct caller, is not an entry point and is not
  a compiler hook ("__" prefix, e.g. __stack_chk_fail: generated code calls it directly).
  --indirect-targets FILE overrides this per callsite; see read_indirect_targets().
- Functions with no frame information (assembly, libgcc, anything not compiled with the
  flags above) count as 0 bytes and are listed in a note.
Exit status: 1 when a depth breaks the budget (a bounded worst case, or the lower bound of an
unbounded one), or with --strict when any depth is unbounded; 2 on bad input; 0 otherwise.
"""
import argparse
import re
import sys
from collections import Counter
from fnmatch import fnmatchcase

DEFAULT_ENTRIES = "boot_main secondary_main ktest_run_all kbench_run_all monitor_main"
INDIRECT = "__indirect_call"
PROTECTOR_FAILURE = "__stack_chk_fail"
NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"(?:\s*label:\s*"([^"]*)")?')
FRAME = re.compile(r"^(\d+) bytes \(([a-z,]+)\)$")


class Function:
    """One node; its key in Graph.functions is GCC's title: "name", or "file.c:name" if static."""

    def __init__(self, name):
        self.name = name
        self.location = ""  # file:line of the definition (or of a declaration if never defined)
        self.frame_bytes = None  # None: no frame information (assembly, library)
        self.dynamic = False  # unbounded dynamic frame: frame_bytes is only its static part
        self.calls = []  # (callee title, callsite "file:line:col" or "", "direct" or "indirect")


class Graph:
    def __init__(self):
        self.functions = {}
        self.indirect_sites = []  # (caller title, callsite)

    def function(self, title, name=None):
        if title not in self.functions:
            self.functions[title] = Function(name or title.rsplit(":", 1)[-1])
        return self.functions[title]

    def find(self, pattern):
        """Titles of the defined functions whose name or title matches a shell pattern; an exact
        title (a global name) wins over statics of the same name."""
        found = [t for t, f in self.functions.items() if f.frame_bytes is not None
                 and (fnmatchcase(f.name, pattern) or fnmatchcase(t, pattern))]
        return [pattern] if pattern in found else sorted(found)


def read_call_graphs(paths):
    graph, seen_calls = Graph(), set()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
        for title, label in NODE.findall(text):
            if title == INDIRECT:
                continue
            parts = label.split("\\n")
            function = graph.function(title, parts[0])
            frame = FRAME.match(parts[2]) if len(parts) > 2 else None
            location = parts[1].rsplit(":", 1)[0] if len(parts) > 1 else ""  # drop the column
            if frame:  # a definition; one seen twice (two .ci files) keeps the larger frame
                if function.frame_bytes is None or int(frame.group(1)) > function.frame_bytes:
                    function.name, function.frame_bytes, function.location = parts[0], int(frame.group(1)), location
                function.dynamic |= "dynamic" in frame.group(2) and "bounded" not in frame.group(2)
            elif not function.location:
                function.location = location
        for source, target, site in EDGE.findall(text):
            if (source, target, site) in seen_calls:
                continue  # GCC repeats an edge once per inlined copy of a callsite
            seen_calls.add((source, target, site))
            if target == INDIRECT:
                graph.indirect_sites.append((source, site))
            else:
                graph.function(source).calls.append((target, site, "direct"))
                graph.function(target)
    return graph


def read_indirect_targets(path):
    """Lines of `KEY TARGET...`; '#' starts a comment. KEY is a callsite (file:line, any column),
    a calling function's name (all its indirect calls), or '*' (every other indirect call).
    TARGETs are names or shell patterns (a static's title is "file.c:name"); none: no target."""
    rules = {}
    with open(path, encoding="utf-8") as file:
        for raw in file:
            words = raw.split("#", 1)[0].split()
            if words:
                rules.setdefault(words[0], []).extend(words[1:])
    return rules


def resolve_indirect_calls(graph, rules, excluded, verbose):
    """Adds an "indirect" call from each indirect callsite to each of its targets; prints how."""
    called = {callee for f in graph.functions.values() for callee, _, _ in f.calls}
    # Names starting with "__" are the compiler's hooks (__stack_chk_fail): generated code calls
    # them directly, never through a pointer.
    default = sorted(t for t, f in graph.functions.items() if f.frame_bytes is not None
                     and t not in called and t not in excluded and not f.name.startswith("__"))
    if graph.indirect_sites:
        print(f"indirect calls ({len(graph.indirect_sites)} callsites; default: the {len(default)} functions"
              " with no direct caller that are not entry points or compiler hooks):")
    missing = set()
    for caller_title, site in graph.indirect_sites:
        caller = graph.functions[caller_title]
        site_keys = [site, ":".join(site.split(":")[:2])] if site else []
        key = next((k for k in site_keys + [caller_title, caller.name, "*"] if k in rules), None)
        targets = default if key is None else sorted({t for name in rules[key] for t in graph.find(name)})
        missing.update(name for name in rules.get(key, []) if not graph.find(name))
        for target in targets:
            caller.calls.append((target, site, "indirect"))
        names = ", ".join(graph.functions[t].name for t in targets) or "nothing"
        shown = f"{len(targets)} functions" if len(targets) > 6 else names
        how = "default" if key is None else "--indirect-targets " + key
        print(f"  {site or '(no location)'} in {caller.name}: {shown} ({how})")
    if missing:
        print("  warning: --indirect-targets names not in the call graph: " + " ".join(sorted(missing)))
    if verbose and default:
        print("  default candidates: " + " ".join(graph.functions[t].name for t in default))


def drop_nested_protector_failures(graph):
    """-fstack-protector makes the functions that report a smashed canary call __stack_chk_fail
    themselves: a cycle that only a second failure while reporting the first could take. Those
    calls are dropped; calls to it from everywhere else count as usual."""
    if PROTECTOR_FAILURE not in graph.functions:
        return
    reporting, queue = {PROTECTOR_FAILURE}, [PROTECTOR_FAILURE]
    for node in queue:
        for callee, _, _ in graph.functions[node].calls:
            if callee not in reporting and callee != PROTECTOR_FAILURE:
                reporting.add(callee)
                queue.append(callee)
    for title in reporting:
        function = graph.functions[title]
        function.calls = [call for call in function.calls if call[0] != PROTECTOR_FAILURE]


def strongly_connected(graph):
    """Tarjan's algorithm: {title: component number}; the functions of one cycle share a number."""
    index, low, component, stack = {}, {}, {}, []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for callee, _, _ in graph.functions[node].calls:
            if callee not in index:
                visit(callee)
                low[node] = min(low[node], low[callee])
            elif callee not in component:  # still on the stack
                low[node] = min(low[node], index[callee])
        if low[node] == index[node]:
            while True:
                member = stack.pop()
                component[member] = index[node]
                if member == node:
                    break

    for title in graph.functions:
        if title not in index:
            visit(title)
    return component


class Analysis:
    def __init__(self, graph):
        self.graph = graph
        self.component = strongly_connected(graph)
        sizes = Counter(self.component.values())
        self.recursive = {t for t, n in self.component.items() if sizes[n] > 1
                          or any(c == t for c, _, _ in graph.functions[t].calls)}
        self.memo = {}

    def depth(self, title):
        """(bytes, deepest call or None, bounded). Calls back into the function's own cycle are
        skipped, so for an unbounded function bytes is the deepest chain that enters no cycle."""
        if title not in self.memo:
            function = self.graph.functions[title]
            bounded = not function.dynamic and title not in self.recursive
            best_bytes, best_call = 0, None
            for call in function.calls:
                if self.component[call[0]] == self.component[title]:
                    continue
                callee_bytes, _, callee_bounded = self.depth(call[0])
                bounded &= callee_bounded
                if best_call is None or callee_bytes > best_bytes:
                    best_bytes, best_call = callee_bytes, call
            self.memo[title] = (function.frame_bytes or 0) + best_bytes, best_call, bounded
        return self.memo[title]

    def chain(self, title):
        frames, call = [], (title, "", "entry")
        while call:
            frames.append(call)
            call = self.depth(call[0])[1]
        return frames

    def cycle(self, start):
        """One call cycle through `start`, as titles, found by a breadth-first search."""
        parents, queue = {start: None}, [start]
        for node in queue:
            for callee, _, _ in self.graph.functions[node].calls:
                if callee == start:
                    path = [node]
                    while parents[path[-1]]:
                        path.append(parents[path[-1]])
                    return path[::-1] + [start]
                if callee not in parents and self.component[callee] == self.component[start]:
                    parents[callee] = node
                    queue.append(callee)
        return [start]

    def problems(self, title):
        """Warnings and notes for everything reachable from `title`."""
        seen, queue, cycles, warnings, unknown = {title}, [title], set(), [], []
        for node in queue:
            function = self.graph.functions[node]
            if node in self.recursive and self.component[node] not in cycles:
                cycles.add(self.component[node])
                names = " -> ".join(self.graph.functions[t].name for t in self.cycle(node))
                warnings.append(f"unbounded (recursion: {names})")
            if function.dynamic:
                warnings.append(f"unbounded (dynamic frame: {function.name} at {function.location}, "
                                f"{function.frame_bytes} bytes + alloca/VLA)")
            if function.frame_bytes is None:
                unknown.append(function.name)
            for callee, _, _ in function.calls:
                if callee not in seen:
                    seen.add(callee)
                    queue.append(callee)
        return warnings, sorted(unknown)


def print_chain(analysis, title, indent="    "):
    total = 0
    print(f"{indent}{'frame':>6} {'total':>6}  function")
    for callee, site, how in analysis.chain(title):
        function = analysis.graph.functions[callee]
        total += function.frame_bytes or 0
        size = "?" if function.frame_bytes is None else str(function.frame_bytes)
        where = function.location or "no stack info, counted as 0"
        via = f"  [indirect call at {site}]" if how == "indirect" else ""
        dynamic = "  [dynamic frame]" if function.dynamic else ""
        print(f"{indent}{size:>6} {total:>6}  {function.name}  {where}{via}{dynamic}")


def report_entry(analysis, title, label, extra_bytes, extra_bounded, budget):
    """Prints one entry; returns (bytes it needs if that overruns the budget, else 0; unbounded).
    extra_bytes: the trap on top of the entry's chain; None for the trap handler itself."""
    depth_bytes, _, bounded = analysis.depth(title)
    warnings, unknown = analysis.problems(title)
    total = depth_bytes + (extra_bytes or 0)
    verdict = "OVERRUN" if total > budget else "ok" if bounded and extra_bounded else "fits so far, but unbounded"
    bound = f"{depth_bytes} bytes" if bounded else f"at least {depth_bytes} bytes, " + warnings[0]
    if extra_bytes is not None:
        print(f"{label}: {bound}; + {extra_bytes} trap = {total} of {budget}: {verdict}")
    else:
        print(f"{label}: {bound}")
    print_chain(analysis, title)
    for warning in warnings[0 if bounded else 1:]:
        print(f"    warning: {warning}")
    if unknown:
        print(f"    note: no stack info, counted as 0 bytes: {', '.join(unknown)}")
    return total if extra_bytes is not None and total > budget else 0, not bounded


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0].split(" - ")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--stack-size", type=int, required=True, help="bytes of stack per hart")
    parser.add_argument("--trap-frame", type=int, required=True, help="bytes the trap vector pushes")
    parser.add_argument("--reserved", type=int, default=0, help="bytes at the stack bottom no frame may use")
    parser.add_argument("--entry", action="append", help=f"entry point, repeatable (default: {DEFAULT_ENTRIES})")
    parser.add_argument("--trap-handler", default="trap_handler", help="function the trap vector calls")
    parser.add_argument("--indirect-targets", help="file saying where indirect calls go")
    parser.add_argument("--strict", action="store_true", help="fail when any depth is unbounded")
    parser.add_argument("--verbose", action="store_true", help="list the default indirect-call candidates")
    parser.add_argument("files", nargs="+", help=".ci files from -fcallgraph-info=su")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100000))  # depth-first walks of long chains
    try:
        graph = read_call_graphs(args.files)
        rules = read_indirect_targets(args.indirect_targets) if args.indirect_targets else {}
    except OSError as error:
        print(f"stack_report: {error} (an object built without -fcallgraph-info=su?)", file=sys.stderr)
        return 2
    entry_names = args.entry or DEFAULT_ENTRIES.split()
    entries = {name: graph.find(name) for name in entry_names}
    handlers = graph.find(args.trap_handler)
    excluded = {t for titles in entries.values() for t in titles} | set(handlers)
    budget = args.stack_size - args.reserved
    print(f"stack report: {len(args.files)} files, {len(graph.functions)} functions; stack {args.stack_size} bytes"
          f" - {args.reserved} reserved = {budget} per hart; trap frame {args.trap_frame} bytes")
    resolve_indirect_calls(graph, rules, excluded, args.verbose)
    drop_nested_protector_failures(graph)
    analysis = Analysis(graph)
    overruns, unbounded = [], False
    trap_bytes, handler_bounded = args.trap_frame, True
    print()
    if handlers:
        handler_bytes, _, handler_bounded = analysis.depth(handlers[0])
        trap_bytes += handler_bytes
        print(f"trap handler ({args.trap_handler}), added on top of every entry as {args.trap_frame} frame"
              f" + {handler_bytes} = {trap_bytes} bytes:")
        unbounded |= report_entry(analysis, handlers[0], f"  {args.trap_handler}", None, True, budget)[1]
    else:
        print(f"trap handler {args.trap_handler}: not in the call graph; counting only the trap frame")
    for name in entry_names:
        print()
        if not entries[name]:
            print(f"{name}: not in the call graph (skipped)")
        for title in entries[name]:
            needed, entry_unbounded = report_entry(analysis, title, title, trap_bytes, handler_bounded, budget)
            overruns += [f"{title} needs {needed}"] if needed else []
            unbounded |= entry_unbounded
    print()
    if overruns:
        print(f"stack_report: FAILED: {', '.join(overruns)} bytes with a trap on top, more than the {budget}"
              f" bytes of stack: raise STACK_SIZE or shrink the chains above", file=sys.stderr)
        return 1
    if unbounded:
        print("stack_report: some depths are unbounded (recursion or dynamic frames): see the warnings")
        return 1 if args.strict else 0
    print("stack_report: every entry fits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
