#!/usr/bin/env python3
"""tools/stack_report.py - worst-case stack depth of each entry point, from GCC's call graph.

Usage:
  stack_report.py --stack-size BYTES --trap-frame BYTES [--reserved BYTES] [--entry NAME ...]
                  [--trap-handler NAME] [--emergency-stack BYTES] [--indirect-targets FILE]
                  [--recursion FILE] [--stack-requests OBJECT ...] [--thread-start NAME]
                  [--strict] [--verbose] FILE.ci ...

Reads the VCG files written by `gcc -fstack-usage -fcallgraph-info=su` (one .ci per object).
A function's depth is its own frame plus the deepest depth among the functions it calls. Rules:
- A trap can arrive at the deepest point of any chain, so each entry must fit
      depth(entry) + TRAP_FRAME + depth(trap handler) <= STACK_SIZE - RESERVED
  (RESERVED: bytes at the bottom of the stack no frame may enter, e.g. a red zone).
- --emergency-stack: the trap vector may run the handler on a stack of its own, of that many
  bytes (when sp is unusable: an overflow into a guard page), so
      TRAP_FRAME + depth(trap handler) <= EMERGENCY_STACK
- Recursion (a cycle in the graph) makes a depth unbounded unless --recursion declares its
  bound: a function on every cycle of it (the head) and the most frames of the head on the stack
  at once (see read_recursion_bounds()). A declared recursion counts its deepest round (head to
  head) that many times less one, plus the deepest way out of it. Dynamic frames (alloca, VLAs;
  "dynamic" without "bounded") are unbounded too. An unbounded depth printed is a lower bound:
  the deepest chain that goes round no undeclared cycle, counting a dynamic frame's static part.
- A recursion declared "excluded" (one that overflows on purpose) is cut off where it is called,
  and every entry that reaches it says so.
- Indirect calls ("__indirect_call" in the graph) may reach any function whose address is
  taken. The .ci files do not say which those are, so by default the candidates are every
  function defined in the files that has no direct caller, is not an entry point and is not
  a compiler hook ("__" prefix, e.g. __stack_chk_fail: generated code calls it directly).
  --indirect-targets FILE overrides this per callsite; see read_indirect_targets().
- Functions with no frame information (assembly, libgcc, anything not compiled with the
  flags above) count as 0 bytes and are listed in a note.
- --stack-requests: thread entries with stacks of their own (a user program's threads), read from
  the objects' USER_THREAD_ENTRY records (tools/stack_requests.py): each entry must fit the bytes
  it asks for, with the frame of --thread-start (the runtime's function that calls every entry)
  on top: depth(entry) + frame(thread start) <= BYTES. The thread start itself, with what it
  does after the entry returns, must fit the smallest request (its indirect call, the entry,
  reaches nothing there unless --indirect-targets says otherwise). An entry not in the call graph is
  bad input.
Exit status: 1 when a depth breaks the budget (a bounded worst case, or the lower bound of an
unbounded one), or with --strict when any depth is unbounded; 2 on bad input; 0 otherwise.
"""
import argparse
import os
import re
import sys
from collections import defaultdict
from fnmatch import fnmatchcase

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack_requests import RequestError, read_requests  # noqa: E402 (tools/ is not a package)

DEFAULT_ENTRIES = "boot_main secondary_main ktest_run_all kbench_run_all monitor_main"
INDIRECT = "__indirect_call"
PROTECTOR_FAILURE = "__stack_chk_fail"
NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"(?:\s*label:\s*"([^"]*)")?')
FRAME = re.compile(r"^(\d+) bytes \(([a-z,]+)\)$")
# GCC's specialised copies of a function: name.isra, name.constprop, name.part.0, ...
COPY_SUFFIX = re.compile(r"(\.(isra|constprop|part|cold)(\.\d+)?)+$")
EXCLUDED = "excluded"


def frames_text(count):
    return f"{count} frame" + ("" if count == 1 else "s")


class InputError(Exception):
    """Bad input: a rules file that cannot be read or says something impossible (exit status 2)."""


class Function:
    """One node; its key in Graph.functions is GCC's title: "name", or "file.c:name" if static."""

    def __init__(self, name):
        self.name = name
        self.location = ""  # file:line of the definition (or of a declaration if never defined)
        self.frame_bytes = None  # None: no frame information (assembly, library)
        self.dynamic = False  # unbounded dynamic frame: frame_bytes is only its static part
        self.calls = []  # (callee title, callsite "file:line:col" or "", "direct" or "indirect")
        self.context = None  # for a copy made by a CALLER>FUNCTION rule: (the rule's key, CALLER's name)


class Graph:
    def __init__(self):
        self.functions = {}
        self.indirect_sites = []  # (caller title, callsite)
        self.excluded_calls = defaultdict(list)  # caller title: [(callee title, callsite, why)]

    def function(self, title, name=None):
        if title not in self.functions:
            self.functions[title] = Function(name or title.rsplit(":", 1)[-1])
        return self.functions[title]

    def find(self, pattern, copies=False):
        """Titles of the defined functions whose name or title matches a shell pattern; an exact
        title (a global name) wins over statics of the same name. copies: GCC's copies of a
        function (name.isra, name.constprop) match its name too."""
        def names(title, function):
            yield title
            yield function.name
            if copies:
                yield COPY_SUFFIX.sub("", title)
                yield COPY_SUFFIX.sub("", function.name)
        found = [t for t, f in self.functions.items() if f.frame_bytes is not None
                 and any(fnmatchcase(name, pattern) for name in names(t, f))]
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
    a calling function's name (all its indirect calls), CALLER>FUNCTION (FUNCTION's indirect calls
    when CALLER calls it: FUNCTION is then counted once per such caller, each with its own
    targets), or '*' (every other indirect call). TARGETs are names or shell patterns (a static's
    title is "file.c:name"); none: no target."""
    rules = {}
    with open(path, encoding="utf-8") as file:
        for raw in file:
            words = raw.split("#", 1)[0].split()
            if words:
                rules.setdefault(words[0], []).extend(words[1:])
    return rules


class Bound:
    """A declared recursion: at most `frames` frames of its head at once, or excluded."""

    def __init__(self, pattern, frames, source):
        self.pattern = pattern
        self.frames = frames  # int, or EXCLUDED
        self.source = source  # where the number comes from, for the report: "32" or "NAME in FILE"


def define_value(name, path):
    """The number in `#define NAME number` (an integer literal, maybe in parentheses) in path."""
    pattern = re.compile(r"^\s*#\s*define\s+" + re.escape(name) + r"\s+\(?\s*(\d+)[uUlL]*\s*\)?\s*(/[*/].*)?$")
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                match = pattern.match(line)
                if match:
                    return int(match.group(1))
    except OSError as error:
        raise InputError(f"recursion bound {name}@{path}: {error.strerror}") from error
    raise InputError(f"recursion bound {name}@{path}: no `#define {name} NUMBER` in {path}")


def read_recursion_bounds(path):
    """Lines of `FUNCTION BOUND`; '#' starts a comment. FUNCTION is a function on every cycle of
    the recursion (a name, a shell pattern or "file.c:name"; GCC's copies such as name.isra match
    name). BOUND is the most frames of FUNCTION on the stack at once: a number, or NAME@FILE for
    the `#define NAME number` in FILE (a path from the current directory), so that the code and
    the report share one constant; or "excluded": a recursion meant to overflow, cut off where
    it is called and named in the report of every entry that reaches it."""
    bounds = []
    with open(path, encoding="utf-8") as file:
        for number, raw in enumerate(file, 1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 2:
                raise InputError(f"{path}:{number}: expected FUNCTION BOUND, got {' '.join(words)!r}")
            pattern, bound = words
            if bound == EXCLUDED:
                bounds.append(Bound(pattern, EXCLUDED, EXCLUDED))
                continue
            if bound.isdigit():
                frames, source = int(bound), bound
            elif "@" in bound:
                name, header = bound.split("@", 1)
                frames, source = define_value(name, header), f"{name} in {header}"
            else:
                raise InputError(f"{path}:{number}: bound {bound!r} is not a number, NAME@FILE or {EXCLUDED}")
            if frames < 1:
                raise InputError(f"{path}:{number}: a bound of {frames} frames ({source}) allows no call at all")
            bounds.append(Bound(pattern, frames, source))
    return bounds


def copy_for_callers(graph, rules):
    """Applies the CALLER>FUNCTION rules: each direct call from CALLER to FUNCTION goes to a copy
    of FUNCTION of its own, whose indirect calls resolve_indirect_calls resolves by that rule."""
    missing, unused = set(), []
    for key in (k for k in rules if ">" in k):
        caller_pattern, callee_pattern = key.split(">", 1)
        callers, callees = graph.find(caller_pattern), graph.find(callee_pattern)
        missing.update(name for name, found in ((caller_pattern, callers), (callee_pattern, callees)) if not found)
        copies = 0
        for callee in callees:
            original = graph.functions[callee]
            sites = [site for caller, site in graph.indirect_sites if caller == callee]
            for caller in callers:
                calls = graph.functions[caller].calls
                if not any(target == callee for target, _, _ in calls):
                    continue
                title = f"{callee}>{caller}"  # after the caller: callee titles never hold '>'
                copy = graph.function(title, original.name)
                copy.location, copy.frame_bytes, copy.dynamic = original.location, original.frame_bytes, original.dynamic
                copy.calls = list(original.calls)
                copy.context = (key, graph.functions[caller].name)
                graph.indirect_sites += [(title, site) for site in sites]
                graph.functions[caller].calls = [(title if target == callee else target, site, how)
                                                 for target, site, how in calls]
                copies += 1
        if callers and callees and not copies:
            unused.append(key)
    return missing, unused


def resolve_indirect_calls(graph, rules, excluded, verbose):
    """Adds an "indirect" call from each indirect callsite to each of its targets; prints how."""
    called = {callee for f in graph.functions.values() for callee, _, _ in f.calls}
    # Names starting with "__" are the compiler's hooks (__stack_chk_fail): generated code calls
    # them directly, never through a pointer.
    default = sorted(t for t, f in graph.functions.items() if f.frame_bytes is not None
                     and t not in called and t not in excluded and not f.name.startswith("__"))
    missing, unused = copy_for_callers(graph, rules)
    if graph.indirect_sites:
        print(f"indirect calls ({len(graph.indirect_sites)} callsites; default: the {len(default)} functions"
              " with no direct caller that are not entry points or compiler hooks):")
    for caller_title, site in graph.indirect_sites:
        caller = graph.functions[caller_title]
        site_keys = [site, ":".join(site.split(":")[:2])] if site else []
        context_keys = [caller.context[0]] if caller.context else []
        original_title = caller_title.split(">", 1)[0]
        key = next((k for k in context_keys + site_keys + [original_title, caller.name, "*"] if k in rules), None)
        targets = default if key is None else sorted({t for name in rules[key] for t in graph.find(name)})
        missing.update(name for name in rules.get(key, []) if not graph.find(name))
        for target in targets:
            caller.calls.append((target, site, "indirect"))
        names = ", ".join(graph.functions[t].name for t in targets) or "nothing"
        shown = f"{len(targets)} functions" if len(targets) > 6 else names
        how = "default" if key is None else "--indirect-targets " + key
        context = f" (called from {caller.context[1]})" if caller.context else ""
        print(f"  {site or '(no location)'} in {caller.name}{context}: {shown} ({how})")
    if missing:
        print("  warning: --indirect-targets names not in the call graph: " + " ".join(sorted(missing)))
    if unused:
        print("  warning: --indirect-targets CALLER>FUNCTION rules where CALLER does not call FUNCTION: "
              + " ".join(unused))
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


def strongly_connected(nodes, successors):
    """Tarjan's algorithm: {node: component number}; the nodes of one cycle share a number."""
    index, low, component, stack = {}, {}, {}, []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for callee in successors(node):
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

    for node in nodes:
        if node not in index:
            visit(node)
    return component


def cyclic_components(nodes, successors):
    """{component number: [members]} of the components that hold a cycle (a loop included)."""
    component = strongly_connected(nodes, successors)
    members = defaultdict(list)
    for node, number in component.items():
        members[number].append(node)
    return component, {number: sorted(group) for number, group in members.items()
                       if len(group) > 1 or group[0] in successors(group[0])}


def find_cycle(start, successors, inside):
    """One cycle through start, as a list of nodes from start back to it, by a breadth-first
    search that stays among the nodes for which inside() holds."""
    parents, queue = {start: None}, [start]
    for node in queue:
        for callee in successors(node):
            if callee == start:
                path = [node]
                while parents[path[-1]]:
                    path.append(parents[path[-1]])
                return path[::-1] + [start]
            if callee not in parents and inside(callee):
                parents[callee] = node
                queue.append(callee)
    return [start]


class Recursion:
    """A recursive component: its head and bound when declared and valid, else why it is unbounded."""

    def __init__(self, members):
        self.members = set(members)
        self.head = None
        self.bound = None
        self.problem = None  # text of the warning when unbounded
        self.round_bytes = 0  # the deepest round, head to head


def apply_exclusions(graph, bounds):
    """Cuts every call into a recursion declared excluded; returns report lines."""
    lines = []
    successors = lambda title: [callee for callee, _, _ in graph.functions[title].calls]  # noqa: E731
    component, cycles = cyclic_components(list(graph.functions), successors)
    for bound in (b for b in bounds if b.frames == EXCLUDED):
        titles = [t for t in graph.find(bound.pattern, copies=True) if component[t] in cycles]
        if not titles:
            lines.append(f"  warning: {bound.pattern} (excluded): no recursion through it in the call graph")
            continue
        for number in sorted({component[t] for t in titles}):
            members = set(cycles[number])
            names = ", ".join(sorted({graph.functions[t].name for t in members}))
            callers = []
            for title, function in graph.functions.items():
                if title in members:
                    continue
                cut = [call for call in function.calls if call[0] in members]
                if cut:
                    function.calls = [call for call in function.calls if call[0] not in members]
                    graph.excluded_calls[title] += [(callee, site, names) for callee, site, _ in cut]
                    callers.append(function.name)
            lines.append(f"  {names}: excluded, a recursion that overflows on purpose; not counted where"
                         f" {', '.join(sorted(set(callers))) or 'nothing'} calls it")
    return lines


class Analysis:
    def __init__(self, graph, bounds=()):
        self.graph = graph
        self.component, cycles = cyclic_components(list(graph.functions), self.successors)
        self.recursions = {number: Recursion(members) for number, members in cycles.items()}
        self.lines = []  # what became of each declared bound, for the report's header
        self.memo = {}
        self.tables = {}  # recursion number: cycle_tables()
        self.ways = {}  # member of a declared recursion: how its deepest chain goes (declared_depth)
        for bound in (b for b in bounds if b.frames != EXCLUDED):
            titles = graph.find(bound.pattern, copies=True)
            recursive = [t for t in titles if self.component[t] in self.recursions]
            if not recursive:
                self.lines.append(f"  warning: {bound.pattern} (at most {frames_text(bound.frames)}): "
                                  + ("no recursion through it in the call graph" if titles else "not in the call graph"))
            for title in recursive:
                recursion = self.recursions[self.component[title]]
                if recursion.head not in (None, title):
                    recursion.problem = (f"recursion through {graph.functions[recursion.head].name} and "
                                         f"{graph.functions[title].name} has two declared bounds: keep one")
                recursion.head, recursion.bound = title, bound
        for recursion in self.recursions.values():
            self.check_declared(recursion)
        for recursion in self.recursions.values():  # once every recursion is checked: tables reach into others
            if not recursion.problem:
                head = recursion.head
                recursion.round_bytes = self.cycle_tables(self.component[head])["round"][0]
                self.lines.append(f"  {self.graph.functions[head].name}: at most {frames_text(recursion.bound.frames)}"
                                  f" ({recursion.bound.source}); deepest round {recursion.round_bytes} bytes:"
                                  f" {self.names(self.round_titles(head) + [head])}")

    def successors(self, title):
        return [callee for callee, _, _ in self.graph.functions[title].calls]

    def names(self, titles):
        return " -> ".join(self.graph.functions[t].name for t in titles)

    def check_declared(self, recursion):
        """A declared head must lie on every cycle of its recursion: without it, none is left."""
        if recursion.head is None:
            start = min(recursion.members)
            cycle = find_cycle(start, self.successors, lambda t: t in recursion.members)
            recursion.problem = f"recursion: {self.names(cycle)}"
            return
        if recursion.problem:
            return
        head = recursion.head
        rest = [t for t in recursion.members if t != head]
        inner = lambda t: [c for c in self.successors(t) if c in recursion.members and c != head]  # noqa: E731
        _, left = cyclic_components(rest, inner)
        if left:
            start = min(next(iter(left.values())))
            cycle = find_cycle(start, inner, lambda t: True)
            recursion.problem = (f"recursion: {self.names(cycle)}, which does not pass through "
                                 f"{self.graph.functions[head].name} (bound declared there)")
            return

    def round_titles(self, head):
        """The deepest round of a declared recursion, from its head up to the call back into it."""
        to_head = self.cycle_tables(self.component[head])["to_head"]
        titles, title = [head], to_head[head][1][0]
        while title != head:
            titles.append(title)
            title = to_head[title][1][0]
        return titles

    def cycle_tables(self, number):
        """For a declared recursion: per member, "plain" (bytes, next call, bounded), the deepest
        chain that never calls the head again; "to_head" (bytes or None, next call), the deepest
        chain up to a call of the head; "round": to_head of the head itself."""
        if number in self.tables:
            return self.tables[number]
        recursion = self.recursions[number]
        head, plain, to_head = recursion.head, {}, {}

        def plain_depth(title):
            if title not in plain:
                function = self.graph.functions[title]
                best_bytes, best_call, bounded = 0, None, not function.dynamic
                for call in function.calls:
                    if call[0] == head:
                        continue
                    inside = call[0] in recursion.members
                    callee_bytes, _, callee_bounded = plain_depth(call[0]) if inside else self.depth(call[0])
                    bounded &= callee_bounded
                    if best_call is None or callee_bytes > best_bytes:
                        best_bytes, best_call = callee_bytes, call
                plain[title] = ((function.frame_bytes or 0) + best_bytes, best_call, bounded)
            return plain[title]

        def head_depth(title):
            if title not in to_head:
                best_bytes, best_call = None, None
                for call in self.graph.functions[title].calls:
                    if call[0] == head:
                        callee_bytes = 0
                    elif call[0] in recursion.members:
                        callee_bytes = head_depth(call[0])[0]
                    else:
                        continue
                    if callee_bytes is not None and (best_bytes is None or callee_bytes > best_bytes):
                        best_bytes, best_call = callee_bytes, call
                frame = self.graph.functions[title].frame_bytes or 0
                to_head[title] = (None if best_bytes is None else frame + best_bytes, best_call)
            return to_head[title]

        for title in sorted(recursion.members):
            plain_depth(title)
            head_depth(title)
        self.tables[number] = {"plain": plain, "to_head": to_head, "round": to_head[head]}
        return self.tables[number]

    def depth(self, title):
        """(bytes, deepest call or None, bounded). Inside an undeclared recursion, calls back into
        it are skipped, so bytes is the deepest chain that goes round no such cycle. Inside a
        declared one, the deepest call is None: chain() rebuilds the path from cycle_tables."""
        if title not in self.memo:
            number = self.component[title]
            recursion = self.recursions.get(number)
            if recursion and not recursion.problem:
                self.memo[title] = self.declared_depth(title, recursion)
                return self.memo[title]
            function = self.graph.functions[title]
            bounded = not function.dynamic and recursion is None
            best_bytes, best_call = 0, None
            for call in function.calls:
                if self.component[call[0]] == number:
                    continue
                callee_bytes, _, callee_bounded = self.depth(call[0])
                bounded &= callee_bounded
                if best_call is None or callee_bytes > best_bytes:
                    best_bytes, best_call = callee_bytes, call
            self.memo[title] = (function.frame_bytes or 0) + best_bytes, best_call, bounded
        return self.memo[title]

    def declared_depth(self, title, recursion):
        """The deepest of: never calling the head again, or up to the head and then the head's
        frames at their bound (a round per frame but the last, then the head's way out)."""
        tables = self.cycle_tables(self.component[title])
        plain_bytes, _, bounded = tables["plain"][title]
        head_plain, _, head_bounded = tables["plain"][recursion.head]
        round_bytes = tables["round"][0]
        through = head_plain + (recursion.bound.frames - 1) * round_bytes
        if title != recursion.head:
            up_to_head = tables["to_head"][title][0]
            through = None if up_to_head is None else up_to_head + through
        if through is None or plain_bytes >= through:
            self.ways[title] = "plain"
            return plain_bytes, None, bounded
        self.ways[title] = "through the head"
        return through, None, bounded and head_bounded

    def chain(self, title):
        """The deepest chain from title: [("frame", title, site, how) or ("rounds", count, bytes,
        head title, frames)], the latter standing for count more rounds like the one before it."""
        items, call = [], (title, "", "entry")
        while call:
            number = self.component[call[0]]
            recursion = self.recursions.get(number)
            if recursion and not recursion.problem:
                call = self.declared_chain(call, recursion, items)
                continue
            items.append(("frame",) + call)
            call = self.depth(call[0])[1]
        return items

    def declared_chain(self, call, recursion, items):
        """Appends the frames of a declared recursion's deepest chain; returns the call out of it."""
        tables = self.cycle_tables(self.component[call[0]])
        head, frames = recursion.head, recursion.bound.frames
        self.depth(call[0])
        if self.ways[call[0]] == "plain":
            return self.follow(call, tables["plain"], recursion, items)
        while call[0] != head:  # up to the head's first frame
            items.append(("frame",) + call)
            call = tables["to_head"][call[0]][1]
        if frames > 1:  # the first round frame by frame, then how many more
            items.append(("frame",) + call)
            call = tables["to_head"][call[0]][1]
            while call[0] != head:
                items.append(("frame",) + call)
                call = tables["to_head"][call[0]][1]
            if frames > 2:
                items.append(("rounds", frames - 2, tables["round"][0], head, frames))
        return self.follow(call, tables["plain"], recursion, items)

    def follow(self, call, plain, recursion, items):
        """Frames along the chain that never calls the head again, up to the call out of the recursion."""
        while call and call[0] in recursion.members:
            items.append(("frame",) + call)
            call = plain[call[0]][1]
        return call

    def problems(self, title):
        """Warnings and notes for everything reachable from `title`."""
        seen, queue, cycles, warnings, notes, unknown = {title}, [title], set(), [], [], []
        for node in queue:
            function = self.graph.functions[node]
            number = self.component[node]
            recursion = self.recursions.get(number)
            if recursion and number not in cycles:
                cycles.add(number)
                if recursion.problem:
                    warnings.append(f"unbounded ({recursion.problem})")
                else:
                    notes.append(f"recursion: {self.graph.functions[recursion.head].name} at most"
                                 f" {frames_text(recursion.bound.frames)} ({recursion.bound.source})")
            for callee, site, names in self.graph.excluded_calls.get(node, []):
                notes.append(f"excluded on purpose: {names} (called at {site or 'an unknown site'} in"
                             f" {function.name}), a recursion that overflows: not counted")
            if function.dynamic:
                warnings.append(f"unbounded (dynamic frame: {function.name} at {function.location}, "
                                f"{function.frame_bytes} bytes + alloca/VLA)")
            if function.frame_bytes is None:
                unknown.append(function.name)
            for callee, _, _ in function.calls:
                if callee not in seen:
                    seen.add(callee)
                    queue.append(callee)
        return warnings, notes, sorted(set(unknown))


def print_chain(analysis, title, indent="    "):
    total = 0
    print(f"{indent}{'frame':>6} {'total':>6}  function")
    for item in analysis.chain(title):
        if item[0] == "rounds":
            _, count, round_bytes, head, frames = item
            total += count * round_bytes
            print(f"{indent}{'':>6} {total:>6}  ... {count} more round(s) like the one above, {round_bytes} bytes each"
                  f" ({analysis.graph.functions[head].name}: at most {frames_text(frames)})")
            continue
        _, callee, site, how = item
        function = analysis.graph.functions[callee]
        total += function.frame_bytes or 0
        size = "?" if function.frame_bytes is None else str(function.frame_bytes)
        where = function.location or "no stack info, counted as 0"
        via = f"  [indirect call at {site}]" if how == "indirect" else ""
        dynamic = "  [dynamic frame]" if function.dynamic else ""
        print(f"{indent}{size:>6} {total:>6}  {function.name}  {where}{via}{dynamic}")


def report_entry(analysis, title, label, extra_bytes, extra_bounded, budget, extra_label="trap"):
    """Prints one entry; returns (bytes it needs if that overruns the budget, else 0; unbounded).
    extra_bytes: what sits on the stack with the entry's chain (a trap on top, or the thread start
    below it: extra_label says which); None for the trap handler itself."""
    depth_bytes, _, bounded = analysis.depth(title)
    warnings, notes, unknown = analysis.problems(title)
    total = depth_bytes + (extra_bytes or 0)
    verdict = "OVERRUN" if total > budget else "ok" if bounded and extra_bounded else "fits so far, but unbounded"
    bound = f"{depth_bytes} bytes" if bounded else f"at least {depth_bytes} bytes, " + warnings[0]
    if extra_bytes is not None:
        print(f"{label}: {bound}; + {extra_bytes} {extra_label} = {total} of {budget}: {verdict}")
    else:
        print(f"{label}: {bound}")
    print_chain(analysis, title)
    for warning in warnings[0 if bounded else 1:]:
        print(f"    warning: {warning}")
    for note in notes:
        print(f"    note: {note}")
    if unknown:
        print(f"    note: no stack info, counted as 0 bytes: {', '.join(unknown)}")
    return total if extra_bytes is not None and total > budget else 0, not bounded


def report_threads(analysis, threads, starts, overruns):
    """Checks each thread entry against the stack it asks for, with the thread start's frame
    below it; appends to overruns what does not fit; returns whether any depth is unbounded."""
    if not threads:
        return False
    start_frame = sum(analysis.graph.functions[t].frame_bytes or 0 for t in starts[:1])
    label = f"thread start ({analysis.graph.functions[starts[0]].name}) frame" if starts else "thread start"
    unbounded = False
    for name, stack_bytes, titles in threads:
        for title in titles:
            print()
            needed, entry_unbounded = report_entry(analysis, title, f"thread {title} (asks {stack_bytes} bytes)",
                                                   start_frame, True, stack_bytes, label)
            overruns += [f"thread {title} needs {needed}"] if needed else []
            unbounded |= entry_unbounded
    if starts:
        smallest = min(stack_bytes for _, stack_bytes, _ in threads)
        print()
        needed, start_unbounded = report_entry(analysis, starts[0], f"{starts[0]} (every thread's start)",
                                               0, True, smallest, "more")
        overruns += [f"{starts[0]} needs {needed}"] if needed else []
        unbounded |= start_unbounded
    return unbounded


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0].split(" - ")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--stack-size", type=int, required=True, help="bytes of stack per hart")
    parser.add_argument("--stack-name", default="STACK_SIZE", help="what sets the stack size, for the failure message")
    parser.add_argument("--trap-frame", type=int, required=True, help="bytes the trap vector pushes")
    parser.add_argument("--reserved", type=int, default=0, help="bytes at the stack bottom no frame may use")
    parser.add_argument("--entry", action="append", help=f"entry point, repeatable (default: {DEFAULT_ENTRIES})")
    parser.add_argument("--trap-handler", default="trap_handler", help="function the trap vector calls")
    parser.add_argument("--emergency-stack", type=int, default=0,
                        help="bytes of the stack the trap vector moves to when sp is unusable (0: none)")
    parser.add_argument("--indirect-targets", help="file saying where indirect calls go")
    parser.add_argument("--recursion", help="file declaring the bound of each deliberate recursion")
    parser.add_argument("--stack-requests", action="append", default=[], metavar="OBJECT",
                        help="an object whose USER_THREAD_ENTRY records name thread entries and their stacks")
    parser.add_argument("--thread-start", help="the function that calls every thread entry")
    parser.add_argument("--strict", action="store_true", help="fail when any depth is unbounded")
    parser.add_argument("--verbose", action="store_true", help="list the default indirect-call candidates")
    parser.add_argument("files", nargs="+", help=".ci files from -fcallgraph-info=su")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100000))  # depth-first walks of long chains
    try:
        graph = read_call_graphs(args.files)
        rules = read_indirect_targets(args.indirect_targets) if args.indirect_targets else {}
        bounds = read_recursion_bounds(args.recursion) if args.recursion else []
        requests = [request for path in args.stack_requests for request in read_requests(path)]
    except RequestError as error:
        print(f"stack_report: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"stack_report: {error} (an object built without -fcallgraph-info=su?)", file=sys.stderr)
        return 2
    except InputError as error:
        print(f"stack_report: {error}", file=sys.stderr)
        return 2
    entry_names = args.entry or DEFAULT_ENTRIES.split()
    entries = {name: graph.find(name) for name in entry_names}
    handlers = graph.find(args.trap_handler)
    threads = [(name, stack_bytes, graph.find(name)) for name, stack_bytes in requests]
    starts = graph.find(args.thread_start) if args.thread_start else []
    missing = [name for name, _, titles in threads if not titles]
    if missing or (requests and args.thread_start and not starts):
        print(f"stack_report: declared as thread entries but not in the call graph: "
              f"{', '.join(missing or [args.thread_start])}", file=sys.stderr)
        return 2
    excluded = {t for titles in entries.values() for t in titles} | set(handlers)
    excluded |= {t for _, _, titles in threads for t in titles} | set(starts)
    budget = args.stack_size - args.reserved
    print(f"stack report: {len(args.files)} files, {len(graph.functions)} functions; stack {args.stack_size} bytes"
          f" - {args.reserved} reserved = {budget} per hart; trap frame {args.trap_frame} bytes")
    if starts:
        rules.setdefault(args.thread_start, [])  # its call of the entry: each entry is checked on its own, below
    resolve_indirect_calls(graph, rules, excluded, args.verbose)
    drop_nested_protector_failures(graph)
    exclusion_lines = apply_exclusions(graph, bounds)
    analysis = Analysis(graph, bounds)
    if bounds:
        print(f"recursion (--recursion {args.recursion}):")
        for line in analysis.lines + exclusion_lines:
            print(line)
    overruns, unbounded = [], False
    trap_bytes, handler_bounded = args.trap_frame, True
    print()
    if handlers:
        handler_bytes, _, handler_bounded = analysis.depth(handlers[0])
        trap_bytes += handler_bytes
        print(f"trap handler ({args.trap_handler}), added on top of every entry as {args.trap_frame} frame"
              f" + {handler_bytes} = {trap_bytes} bytes:")
        unbounded |= report_entry(analysis, handlers[0], f"  {args.trap_handler}", None, True, budget)[1]
        if args.emergency_stack:
            fits = trap_bytes <= args.emergency_stack
            print(f"  on the emergency stack: {trap_bytes} of {args.emergency_stack} bytes: "
                  f"{'ok' if fits else 'OVERRUN'}")
            if not fits:
                overruns.append(f"the trap handler on its emergency stack needs {trap_bytes}")
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
    overruns_before = len(overruns)
    unbounded |= report_threads(analysis, threads, starts, overruns)
    print()
    if len(overruns) > overruns_before:
        print(f"stack_report: FAILED: {', '.join(overruns[overruns_before:])} bytes, more than the thread asks"
              f" for (USER_THREAD_ENTRY): ask for more or shrink the chains above", file=sys.stderr)
        del overruns[overruns_before:]
        if not overruns:
            return 1
    if overruns:
        on_top = " with a trap on top" if trap_bytes else ""
        print(f"stack_report: FAILED: {', '.join(overruns)} bytes{on_top}, more than the {budget}"
              f" bytes of stack: raise {args.stack_name} or shrink the chains above", file=sys.stderr)
        return 1
    if unbounded:
        print("stack_report: some depths are unbounded (recursion or dynamic frames): see the warnings")
        if args.strict:
            print("stack_report: FAILED (--strict): every entry needs a proven worst case: declare the bound of a"
                  " deliberate recursion in the --recursion file, or say where an indirect call goes", file=sys.stderr)
            return 1
        return 0
    print("stack_report: every entry fits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
