"""tests/tools/test_bench_patterns.py - tools/bench_patterns.py: malloc-patterns' lines, the figures, the goals' names.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
The last test runs build/malloc-patterns (make test builds it) small, with the C library's malloc.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tools"))
import bench_budgets  # noqa: E402
import bench_host  # noqa: E402
import bench_patterns  # noqa: E402

BINARY = os.path.join(TOP, "build", "malloc-patterns")


class ParseLine(unittest.TestCase):
    def test_line(self):
        line = bench_patterns.parse_line("pattern remote allocator libc.so.6 phase_bytes 1048576 mallocs 20480 "
                                         "resident_after_phase1 1335296 free_seconds 0.000814")
        self.assertEqual(line["pattern"], "remote")
        self.assertEqual(line["allocator"], "libc.so.6")
        self.assertEqual(line["mallocs"], 20480)
        self.assertEqual(line["free_seconds"], 0.000814)

    def test_other_lines_ignored(self):
        self.assertIsNone(bench_patterns.parse_line("malloc-patterns: phases: the workload failed with error -12"))
        self.assertIsNone(bench_patterns.parse_line("pattern phases allocator libc.so.6 mallocs"))

    def test_units(self):
        self.assertEqual(bench_patterns.unit_of("free_seconds"), "seconds")
        self.assertEqual(bench_patterns.unit_of("resident_after_trim"), "bytes")
        self.assertEqual(bench_patterns.unit_of("peak_live_bytes"), "bytes")
        self.assertEqual(bench_patterns.unit_of("frees_per_second"), "per second")
        self.assertEqual(bench_patterns.unit_of("mallocs"), "count")


def line(pattern, **figures):
    return dict({"pattern": pattern, "allocator": "x"}, **figures)


class Figures(unittest.TestCase):
    allocators = [("glibc", None), ("rvmem", "librvmem_malloc.so")]

    def by_name(self, pattern_name, results):
        pattern = next(p for p in bench_patterns.PATTERNS if p.name == pattern_name)
        return {f["name"]: f for f in bench_patterns.pattern_figures(pattern, self.allocators, results)}

    def test_median_footprint_and_paired_time(self):
        results = {
            "glibc": [line("phases", peak_live_bytes=100, peak_resident_growth=200, seconds=s) for s in (1, 2, 1)],
            "rvmem": [line("phases", peak_live_bytes=100, peak_resident_growth=r, seconds=s)
                      for r, s in ((1600, 3), (1700, 2), (1500, 5))],
        }
        figures = self.by_name("phases", results)
        self.assertEqual(figures["host_phases_rvmem_footprint"]["mean"], 16.0)
        self.assertEqual(figures["host_phases_glibc_footprint"]["mean"], 2.0)
        self.assertEqual(figures["host_phases_rvmem_seconds"]["mean"], 3)
        self.assertEqual(figures["host_phases_seconds_rvmem_over_glibc"]["mean"], 3.0)  # ratios 3, 1, 5
        self.assertNotIn("host_phases_rvmem_phase_bytes", figures)

    def test_refused_and_regrow_ratio(self):
        figures = self.by_name("aslimit", {"glibc": [line("aslimit", served=1)], "rvmem": [line("aslimit", served=0)]})
        self.assertEqual(figures["host_aslimit_rvmem_refused"]["mean"], 1)
        self.assertEqual(figures["host_aslimit_glibc_refused"]["mean"], 0)
        figures = self.by_name("regrow", {
            "glibc": [line("regrow", peak_live_bytes=10, peak_resident_growth=10, seconds=1)] * 3,
            "rvmem": [line("regrow", peak_live_bytes=10, peak_resident_growth=18, seconds=1.5)] * 3})
        self.assertEqual(figures["host_regrow_peak_resident_rvmem_over_glibc"]["mean"], 1.8)
        self.assertEqual(figures["host_regrow_seconds_rvmem_over_glibc"]["mean"], 1.5)
        self.assertNotIn("host_regrow_rvmem_footprint", figures)

    def test_lean_runs_are_an_allocator_of_their_own(self):
        lean = [p.name for p in bench_patterns.PATTERNS if p.lean]
        self.assertEqual(lean, ["threads", "idle"])
        pattern = next(p for p in bench_patterns.PATTERNS if p.name == "idle")
        results = {name: [line("idle", resident_after_trim=value)]
                   for name, value in (("glibc", 6), ("rvmem", 150), (bench_patterns.LEAN, 0.5))}
        allocators = self.allocators + [(bench_patterns.LEAN, "librvmem_malloc.so")]
        figures = {f["name"]: f for f in bench_patterns.pattern_figures(pattern, allocators, results)}
        self.assertEqual(figures["host_idle_lean_resident_after_trim"]["mean"], 0.5)
        self.assertEqual(figures["host_idle_rvmem_resident_after_trim"]["mean"], 150)
        self.assertIn("host_idle_lean_resident_after_trim", bench_budgets.BUDGETS)

    @unittest.skipUnless(os.path.exists(BINARY), "build/malloc-patterns is not built (make build/malloc-patterns)")
    def test_every_host_goal_names_a_figure_the_patterns_make(self):
        figures = {}
        for pattern in bench_patterns.PATTERNS:
            arguments = ["--quick"] + (["--threads", "16"] if pattern.name == "thread_exit" else [])
            result = bench_patterns.run_pattern(BINARY, pattern.name, arguments, None)
            runs = {"glibc": [result], "rvmem": [result]}
            figures.update({f["name"]: f for f in bench_patterns.pattern_figures(pattern, self.allocators, runs)})
        # The lean mode's instruction ratios are tools/bench_host.py's (measure_lean), not the patterns'.
        lean = {f"host_lean_{workload}_instructions_rvmem_over_glibc" for workload in bench_host.LEAN_WORKLOADS}
        for goal in bench_budgets.GOALS:
            if goal.name.startswith("host_") and goal.name not in lean:
                self.assertIn(goal.name, figures)
        # Each of them is a goal, or a budget once met.
        self.assertTrue(lean <= {goal.name for goal in bench_budgets.GOALS} | set(bench_budgets.BUDGETS))



class ClockBudget(unittest.TestCase):
    """A pattern's time ratio over its budget earns one look more (clock_over_budget)."""

    def lines(self, seconds):
        return [{"seconds": value} for value in seconds]

    def test_over_and_under_the_budget(self):
        regrow = next(p for p in bench_patterns.PATTERNS if p.name == "regrow")
        budget = bench_budgets.BUDGETS["host_regrow_seconds_rvmem_over_glibc"][0]
        slow = {"glibc": self.lines([1.0, 1.0, 1.0]), "rvmem": self.lines([budget * 2] * 3)}
        fast = {"glibc": self.lines([1.0, 1.0, 1.0]), "rvmem": self.lines([budget / 2] * 3)}
        self.assertTrue(bench_patterns.clock_over_budget(regrow, slow))
        self.assertFalse(bench_patterns.clock_over_budget(regrow, fast))

    def test_no_clock_or_no_budget_is_never_over(self):
        idle = next(p for p in bench_patterns.PATTERNS if p.name == "idle")
        self.assertFalse(bench_patterns.clock_over_budget(idle, {"glibc": [{}], "rvmem": [{}]}))
        glibc_only = {"glibc": self.lines([1.0])}
        regrow = next(p for p in bench_patterns.PATTERNS if p.name == "regrow")
        self.assertFalse(bench_patterns.clock_over_budget(regrow, glibc_only))

if __name__ == "__main__":
    unittest.main()
