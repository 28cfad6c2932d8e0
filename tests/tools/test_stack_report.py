"""tests/tools/test_stack_report.py - tools/stack_report.py over small hand-written .ci files.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
The fixtures (tests/tools/fixtures/) copy the format GCC 12 writes with -fcallgraph-info=su;
each test states the depth it expects, worked out by hand from the frame sizes in them.
"""
import contextlib
import importlib.util
import io
import os
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


class DynamicFrames(unittest.TestCase):
    def test_dynamic_frame_is_unbounded_and_bounded_one_counts(self):
        status, output, _ = run("--stack-size", 4096, "--trap-frame", 0, "--entry", "boot_main",
                                "--entry", "bounded_main", fixture("dynamic.ci"))
        self.assertEqual(status, 0)
        line = entry_line(output, "boot_main")
        self.assertIn("at least 332 bytes", line)  # 32 + the bounded alloca's 300
        self.assertIn("unbounded (dynamic frame: with_vla at dynamic.c:5, 80 bytes + alloca/VLA)", line)
        self.assertIn("bounded_main: 316 bytes", output)


if __name__ == "__main__":
    unittest.main()
