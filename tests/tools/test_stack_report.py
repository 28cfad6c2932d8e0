"""tests/tools/test_stack_report.py - tools/stack_report.py over small hand-written .ci files.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
The fixtures (tests/tools/fixtures/) copy the format GCC 12 writes with -fcallgraph-info=su;
each test states the depth it expects, worked out by hand from the frame sizes in them.
"""
import contextlib
import importlib.util
import io
import os
import struct
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
SCRIPT = os.path.join(HERE, "..", "..", "tools", "stack_report.py")

spec = importlib.util.spec_from_file_location("stack_report", SCRIPT)
stack_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stack_report)


def fixture(name):
    return os.path.join(FIXTURES, name)


def run(*args):
    """Runs the report; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = stack_report.main([str(arg) for arg in args])
    return status, out.getvalue(), err.getvalue()


def entry_line(output, name):
    return next(line for line in output.splitlines() if line.startswith(name + ":"))


class BoundsFile:
    """A --recursion file with the given lines, in a temporary directory, for a with block."""

    def __init__(self, *lines):
        self.lines = lines

    def __enter__(self):
        self.directory = tempfile.TemporaryDirectory()
        path = os.path.join(self.directory.name, "recursion.txt")
        with open(path, "w") as file:
            file.write("\n".join(self.lines) + "\n")
        return path

    def __exit__(self, *exception):
        self.directory.cleanup()


class SimpleChain(unittest.TestCase):
    # boot_main 64 -> setup 32 -> print 96 -> format 200 -> memcpy 16 = 408 bytes;
    # trap_handler 48 -> print 96 -> format 200 -> memcpy 16 = 360 bytes.
    FILES = [fixture("chain_main.ci"), fixture("chain_print.ci")]

    def test_depth_and_deepest_chain_across_files(self):
        status, output, _ = run("--stack-size", 4096, "--trap-frame", 100, "--entry", "boot_main", *self.FILES)
        self.assertEqual(status, 0)
        self.assertIn("boot_main: 408 bytes; + 460 trap = 868 of 4096: ok", output)
        chain = output[output.index("boot_main: 408"):].splitlines()[2:7]
        self.assertEqual([line.split()[:3] for line in chain],
                         [["64", "64", "boot_main"], ["32", "96", "setup"], ["96", "192", "print"],
                          ["200", "392", "format"], ["16", "408", "memcpy"]])
        self.assertIn("main.c:4", chain[1])  # where the static function is defined

    def test_trap_handler_reported_separately(self):
        _, output, _ = run("--stack-size", 4096, "--trap-frame", 100, *self.FILES)
        self.assertIn("added on top of every entry as 100 frame + 360 = 460 bytes", output)
        self.assertIn("  trap_handler: 360 bytes", output)

    def test_emergency_stack_holds_the_trap_handler_or_fails(self):
        status, output, _ = run("--stack-size", 4096, "--trap-frame", 100, "--emergency-stack", 460, *self.FILES)
        self.assertEqual(status, 0)
        self.assertIn("on the emergency stack: 460 of 460 bytes: ok", output)
        status, output, err = run("--stack-size", 4096, "--trap-frame", 100, "--emergency-stack", 459, *self.FILES)
        self.assertEqual(status, 1)
        self.assertIn("on the emergency stack: 460 of 459 bytes: OVERRUN", output)
        self.assertIn("emergency stack needs 460", err)

    def test_function_without_frame_information_counts_zero(self):
        _, output, _ = run("--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main", *self.FILES)
        self.assertIn("note: no stack info, counted as 0 bytes: park_forever", output)

    def test_missing_entries_are_skipped_with_a_note(self):
        status, output, _ = run("--stack-size", 4096, "--trap-frame", 0, *self.FILES)
        self.assertEqual(status, 0)
        self.assertIn("monitor_main: not in the call graph (skipped)", output)

    def test_unreadable_file_is_bad_input(self):
        status, _, err = run("--stack-size", 4096, "--trap-frame", 0, fixture("no_such.ci"))
        self.assertEqual(status, 2)
        self.assertIn("no_such.ci", err)


class BudgetCheck(unittest.TestCase):
    FILES = SimpleChain.FILES

    def test_exactly_full_stack_passes(self):
        status, _, _ = run("--stack-size", 868, "--trap-frame", 100, "--entry", "boot_main", *self.FILES)
        self.assertEqual(status, 0)

    def test_one_byte_short_fails_with_a_message(self):
        status, output, err = run("--stack-size", 867, "--trap-frame", 100, "--entry", "boot_main", *self.FILES)
        self.assertEqual(status, 1)
        self.assertIn("868 of 867: OVERRUN", entry_line(output, "boot_main"))
        self.assertIn("FAILED: boot_main needs 868 bytes", err)

    def test_reserved_bytes_come_off_the_budget(self):
        status, _, _ = run("--stack-size", 868, "--reserved", 8, "--trap-frame", 100, "--entry", "boot_main",
                           *self.FILES)
        self.assertEqual(status, 1)


class Recursion(unittest.TestCase):
    def test_cycle_is_reported_and_unbounded(self):
        status, output, _ = run("--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main", fixture("cycle.ci"))
        self.assertEqual(status, 0)
        line = entry_line(output, "boot_main")
        self.assertIn("unbounded (recursion: walk -> walk_children -> walk)", line)
        self.assertIn("at least 80 bytes", line)  # boot_main 32 + walk 48, going round no cycle
        self.assertIn("fits so far, but unbounded", line)

    def test_strict_fails_on_unbounded(self):
        status, _, _ = run("--strict", "--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                           fixture("cycle.ci"))
        self.assertEqual(status, 1)

    def test_lower_bound_over_budget_is_a_proven_overrun(self):
        status, _, _ = run("--stack-size", 79, "--trap-frame", 0, "--entry", "boot_main", fixture("cycle.ci"))
        self.assertEqual(status, 1)

    def test_nested_protector_failure_is_not_recursion(self):
        # boot_main 128 -> __stack_chk_fail 16 -> panic 256; panic's own canary check is dropped.
        status, output, _ = run("--strict", "--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                                fixture("protector.ci"))
        self.assertEqual(status, 0)
        self.assertIn("boot_main: 400 bytes", output)


class DeclaredRecursion(unittest.TestCase):
    # cycle.ci: boot_main 32 -> walk 48 -> walk_children 64 -> walk ...; walk_children -> leaf 16.
    def run_cycle(self, *lines, stack=4096):
        with BoundsFile(*lines) as bounds:
            return run("--strict", "--stack-size", stack, "--trap-frame", 0, "--entry", "boot_main",
                       "--recursion", bounds, fixture("cycle.ci"))

    def test_declared_bound_counts_every_frame(self):
        # Three frames of walk: 32 + 3 * (48 + 64) + 16 = 384.
        status, output, _ = self.run_cycle("walk 3  # the deepest tree")
        self.assertEqual(status, 0)
        self.assertIn("boot_main: 384 bytes; + 0 trap = 384 of 4096: ok", output)
        self.assertIn("walk: at most 3 frames (3); deepest round 112 bytes: walk -> walk_children -> walk", output)
        self.assertIn("note: recursion: walk at most 3 frames (3)", output)
        chain = output[output.index("boot_main: 384"):].splitlines()[2:]
        self.assertEqual([line.split()[:3] for line in chain[:3]],
                         [["32", "32", "boot_main"], ["48", "80", "walk"], ["64", "144", "walk_children"]])
        self.assertIn("256  ... 1 more round(s) like the one above, 112 bytes each (walk: at most 3 frames)", chain[3])
        self.assertEqual([line.split()[:3] for line in chain[4:7]],
                         [["48", "304", "walk"], ["64", "368", "walk_children"], ["16", "384", "leaf"]])

    def test_bound_from_a_define_in_the_code(self):
        status, output, _ = self.run_cycle(f"walk_children WALK_MAX_DEPTH@{fixture('cycle_bound.h')}")
        self.assertEqual(status, 0)
        # Three frames of walk_children, each called by a walk, and a fourth walk that cannot go on:
        # 32 + 4 * 48 + 3 * 64 = 416.
        self.assertIn("boot_main: 416 bytes", output)
        self.assertIn("walk_children: at most 3 frames (WALK_MAX_DEPTH in ", output)

    def test_one_frame_means_the_recursion_never_comes_back(self):
        status, output, _ = self.run_cycle("walk 1")
        self.assertEqual(status, 0)
        self.assertIn("boot_main: 160 bytes", output)  # 32 + 48 + 64 + 16
        self.assertIn("walk: at most 1 frame (1)", output)

    def test_a_bound_too_small_for_the_stack_is_an_overrun(self):
        status, output, err = self.run_cycle("walk 3", stack=383)
        self.assertEqual(status, 1)
        self.assertIn("384 of 383: OVERRUN", entry_line(output, "boot_main"))
        self.assertIn("FAILED: boot_main needs 384", err)

    def test_undeclared_recursion_fails_strict_with_a_message(self):
        status, output, err = self.run_cycle("leaf 2")
        self.assertEqual(status, 1)
        self.assertIn("warning: leaf (at most 2 frames): no recursion through it in the call graph", output)
        self.assertIn("unbounded (recursion: walk -> walk_children -> walk)", entry_line(output, "boot_main"))
        self.assertIn("FAILED (--strict): every entry needs a proven worst case", err)

    def test_a_cycle_that_avoids_the_declared_function_stays_unbounded(self):
        # two_cycles.ci: a <-> b and b <-> c; a bound on a leaves b -> c -> b unbounded.
        with BoundsFile("a 2") as bounds:
            status, output, _ = run("--strict", "--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                                    "--recursion", bounds, fixture("two_cycles.ci"))
        self.assertEqual(status, 1)
        self.assertIn("unbounded (recursion: b -> c -> b, which does not pass through a (bound declared there))",
                      entry_line(output, "boot_main"))
        with BoundsFile("b 2") as bounds:  # b lies on both cycles: 32 + 16 + 2 * (32 + 64) = 240
            status, output, _ = run("--strict", "--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                                    "--recursion", bounds, fixture("two_cycles.ci"))
        self.assertEqual(status, 0)
        self.assertIn("boot_main: 240 bytes", output)

    def test_two_bounds_in_one_recursion_are_refused(self):
        status, output, _ = self.run_cycle("walk 3", "walk_children 3")
        self.assertEqual(status, 1)
        self.assertIn("has two declared bounds: keep one", entry_line(output, "boot_main"))

    def test_bad_bounds_are_bad_input(self):
        for lines, message in ((["walk"], "expected FUNCTION BOUND"), (["walk many"], "is not a number"),
                               (["walk 0"], "allows no call at all"),
                               ([f"walk NO_SUCH@{fixture('cycle_bound.h')}"], "no `#define NO_SUCH NUMBER`"),
                               (["walk X@no/such/file.h"], "X@no/such/file.h")):
            status, _, err = self.run_cycle(*lines)
            self.assertEqual(status, 2, lines)
            self.assertIn(message, err)


class ExcludedRecursion(unittest.TestCase):
    # overflow.ci: boot_main 32 -> ktest_run_overflow 64 -> recurse.isra 512 (a loop); boot_main -> other 100.
    def run_overflow(self, *lines):
        with BoundsFile(*lines) as bounds:
            return run("--strict", "--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                       "--recursion", bounds, fixture("overflow.ci"))

    def test_excluded_recursion_is_cut_and_named_in_each_entry(self):
        status, output, _ = self.run_overflow("recurse excluded  # overflows on purpose")
        self.assertEqual(status, 0)
        self.assertIn("boot_main: 132 bytes", output)  # 32 + other 100; 32 + 64 without recurse
        self.assertIn("recurse.isra: excluded, a recursion that overflows on purpose; not counted where"
                      " ktest_run_overflow calls it", output)
        self.assertIn("note: excluded on purpose: recurse.isra (called at overflow.c:13:5 in ktest_run_overflow)",
                      output)

    def test_without_the_exclusion_the_recursion_is_unbounded(self):
        status, output, _ = self.run_overflow("other 2")
        self.assertEqual(status, 1)
        self.assertIn("unbounded (recursion: recurse.isra -> recurse.isra)", entry_line(output, "boot_main"))

    def test_excluding_what_does_not_recurse_excludes_nothing(self):
        status, output, _ = self.run_overflow("recurse excluded", "other excluded")
        self.assertEqual(status, 0)
        self.assertIn("warning: other (excluded): no recursion through it in the call graph", output)
        self.assertIn("boot_main: 132 bytes", output)


class IndirectCalls(unittest.TestCase):
    def test_default_rule_takes_every_function_without_a_direct_caller(self):
        # Candidates: small_test 16, big_test 1024, unused_helper 2048; not boot_main (an entry)
        # nor __stack_chk_fail (a compiler hook). boot_main 32 + run_all 48 + unused_helper 2048.
        _, output, _ = run("--stack-size", 8192, "--trap-frame", 0, "--entry", "boot_main", "--verbose",
                           fixture("indirect.ci"))
        self.assertIn("indirect.c:23:9 in run_all: big_test, small_test, unused_helper (default)", output)
        self.assertIn("boot_main: 2128 bytes", output)
        self.assertIn("[indirect call at indirect.c:23:9]", output)

    def test_targets_file_narrows_a_callsite(self):
        # boot_main 32 + run_all 48 + big_test 1024.
        _, output, _ = run("--stack-size", 8192, "--trap-frame", 0, "--entry", "boot_main",
                           "--indirect-targets", fixture("indirect_targets.txt"), fixture("indirect.ci"))
        self.assertIn("in run_all: big_test, small_test (--indirect-targets run_all)", output)
        self.assertIn("boot_main: 1104 bytes", output)
        self.assertIn("not in the call graph: no_such_function", output)


    def test_caller_rules_count_a_function_once_per_caller(self):
        # context.ci: runner 32 and tour 48 both call run_on_all_harts 16, which calls its caller's job:
        # test_job 1000 from the runner, tour_job 10 from the tour.
        status, output, _ = run("--stack-size", 8192, "--trap-frame", 0, "--entry", "tour", "--entry", "boot_main",
                                "--indirect-targets", fixture("context_targets.txt"), fixture("context.ci"))
        self.assertEqual(status, 0)
        self.assertIn("context.c:12:5 in run_on_all_harts (called from tour): tour_job"
                      " (--indirect-targets tour>run_on_all_harts)", output)
        self.assertIn("context.c:12:5 in run_on_all_harts (called from runner): test_job"
                      " (--indirect-targets runner>run_on_all_harts)", output)
        self.assertIn("tour: 74 bytes", output)  # 48 + 16 + 10
        self.assertIn("boot_main: 1064 bytes", output)  # 16 + 32 + 16 + 1000

    def test_without_caller_rules_every_caller_reaches_every_job(self):
        with tempfile.TemporaryDirectory() as directory:
            rules = os.path.join(directory, "targets.txt")
            with open(rules, "w") as file:
                file.write("run_on_all_harts context.c:*_job\nnobody>run_on_all_harts context.c:tour_job\n")
            _, output, _ = run("--stack-size", 8192, "--trap-frame", 0, "--entry", "tour",
                               "--indirect-targets", rules, fixture("context.ci"))
        self.assertIn("tour: 1064 bytes", output)  # 48 + 16 + test_job 1000
        self.assertIn("not in the call graph: nobody", output)


class DynamicFrames(unittest.TestCase):
    def test_dynamic_frame_is_unbounded_and_bounded_one_counts(self):
        status, output, _ = run("--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                                "--entry", "bounded_main", fixture("dynamic.ci"))
        self.assertEqual(status, 0)
        line = entry_line(output, "boot_main")
        self.assertIn("at least 332 bytes", line)  # 32 + the bounded alloca's 300
        self.assertIn("unbounded (dynamic frame: with_vla at dynamic.c:5, 80 bytes + alloca/VLA)", line)
        self.assertIn("bounded_main: 316 bytes", output)


def elf_object(path, sections, bits=64):
    """Writes a little-endian ELF relocatable at path whose sections are {name: bytes}."""
    names = b"\0" + b"".join(name.encode() + b"\0" for name in list(sections) + [".shstrtab"])
    header_bytes, entry_bytes = (64, 64) if bits == 64 else (52, 40)
    body, offsets = b"", []
    for contents in list(sections.values()) + [names]:
        offsets.append(header_bytes + len(body))
        body += contents
    shoff = header_bytes + len(body)
    count = len(sections) + 2
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1]) + bytes(9)
    if bits == 64:
        header = ident + struct.pack("<HHIQQQIHHHHHH", 1, 243, 1, 0, 0, shoff, 0, header_bytes, 0, 0,
                                     entry_bytes, count, count - 1)
    else:
        header = ident + struct.pack("<HHIIIIIHHHHHH", 1, 243, 1, 0, 0, shoff, 0, header_bytes, 0, 0,
                                     entry_bytes, count, count - 1)
    layout = "<IIQQQQIIQQ" if bits == 64 else "<IIIIIIIIII"
    table = bytes(entry_bytes)
    name_offset = 1
    for (name, contents), offset in zip(list(sections.items()) + [(".shstrtab", names)], offsets):
        kind = 3 if name == ".shstrtab" else 1
        table += struct.pack(layout, name_offset, kind, 0, 0, offset, len(contents), 0, 0, 1, 0)
        name_offset += len(name) + 1
    with open(path, "wb") as file:
        file.write(header + body + table)


def request(name, stack_bytes):
    """One USER_THREAD_ENTRY record (user/lib/stack_request.h)."""
    return struct.pack("<56sII", name.encode(), stack_bytes, 0)


class ThreadStacks(unittest.TestCase):
    # user_start 32 -> main 96 -> thread_create 48 = 176 bytes of the main stack;
    # worker 2000 -> helper 1000 = 3000, with user_thread_start's 64-byte frame below it: 3064;
    # small_worker 16 + 64 = 80; user_thread_start 64 -> flush_cache 128 = 192 on its own.
    ARGS = ["--stack-size", 8192, "--trap-frame", 0, "--trap-handler", "none", "--entry", "user_start",
            "--thread-start", "user_thread_start", "--stack-name", "USER_MAIN_STACK_BYTES"]

    def run_with(self, records, bits=64):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "program.o")
            elf_object(path, {".text": b"\0" * 8, ".rvmem_stack_requests": b"".join(records)}, bits)
            return run(*self.ARGS, "--stack-requests", path, fixture("threads.ci"))

    def test_each_entry_fits_what_it_asks_for(self):
        for bits in (32, 64):
            status, output, _ = self.run_with([request("worker", 4096), request("small_worker", 4096)], bits)
            self.assertEqual(status, 0, output)
            self.assertIn("thread program.c:worker (asks 4096 bytes): 3000 bytes; + 64 thread start "
                          "(user_thread_start) frame = 3064 of 4096: ok", output)
            self.assertIn("thread program.c:small_worker (asks 4096 bytes): 16 bytes; + 64", output)
            self.assertIn("user_thread_start (every thread's start): 192 bytes", output)
            self.assertIn("user_start: 176 bytes", output)

    def test_an_entry_asking_too_little_fails(self):
        status, output, errors = self.run_with([request("worker", 3000), request("small_worker", 4096)])
        self.assertEqual(status, 1)
        self.assertIn("3064 of 3000: OVERRUN", output)
        self.assertIn("thread program.c:worker needs 3064 bytes, more than the thread asks for", errors)

    def test_the_thread_start_must_fit_the_smallest_request(self):
        status, output, errors = self.run_with([request("small_worker", 128)])
        self.assertEqual(status, 1)
        self.assertIn("user_thread_start needs 192", errors)

    def test_main_is_checked_against_the_main_stack(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "program.o")
            elf_object(path, {".text": b"\0" * 8})
            args = list(self.ARGS)
            args[1] = 160
            status, _, errors = run(*args, "--stack-requests", path, fixture("threads.ci"))
        self.assertEqual(status, 1)
        self.assertIn("user_start needs 176 bytes, more than the 160 bytes of stack: raise USER_MAIN_STACK_BYTES",
                      errors)

    def test_an_unknown_entry_or_a_bad_record_is_bad_input(self):
        status, _, errors = self.run_with([request("no_such_function", 4096)])
        self.assertEqual(status, 2)
        self.assertIn("not in the call graph: no_such_function", errors)
        status, _, errors = self.run_with([request("worker", 4096)[:60]])
        self.assertEqual(status, 2)
        self.assertIn("not a whole number of records", errors)


if __name__ == "__main__":
    unittest.main()
