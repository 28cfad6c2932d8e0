"""tests/tools/test_bench_host.py - tools/bench_host.py's parsing of callgrind_annotate and of malloc-bench.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
The fixture (tests/tools/fixtures/callgrind_annotate.txt) is callgrind_annotate 3.19's output
for one malloc-bench run under glibc, with the duplicate listings it really prints.
"""
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "tools", "bench_host.py")

spec = importlib.util.spec_from_file_location("bench_host", SCRIPT)
bench_host = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_host)


class ParseAnnotate(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(HERE, "fixtures", "callgrind_annotate.txt")) as fixture:
            self.costs = bench_host.parse_annotate(fixture.read())

    def test_program_totals(self):
        self.assertEqual(self.costs["PROGRAM TOTALS"], 1255153)

    def test_duplicate_listings_count_once(self):
        # call_free is listed twice (absolute and relative file name): 445,000, not 890,000.
        self.assertEqual(self.costs["call_free"], 445000)
        self.assertEqual(self.costs["call_malloc"], 210134)

    def test_inlined_part_does_not_replace_the_whole(self):
        # free's arena.c listing (15,000) is a part of malloc.c's (440,000).
        self.assertEqual(self.costs["free"], 440000)


class ParseBenchLine(unittest.TestCase):
    def test_line(self):
        line = ("workload larson allocator libc mallocs 55000 frees 55000 peak_live_bytes 2565854 "
                "peak_resident_growth 2973696 best_seconds 0.002638")
        match = bench_host.LINE.match(line)
        self.assertIsNotNone(match)
        self.assertEqual(match.group(1), "larson")
        self.assertEqual(int(match.group(3)), 55000)
        self.assertEqual(float(match.group(7)), 0.002638)

    def test_other_lines_ignored(self):
        self.assertIsNone(bench_host.LINE.match("malloc-bench: larson failed with error -12"))


class WallClock(unittest.TestCase):
    def test_paired_ratio_is_the_median_of_each_runs_ratio(self):
        self.assertEqual(bench_host.paired_ratio([1, 2, 3], [2, 2, 2]), 1.0)
        self.assertEqual(bench_host.paired_ratio([1, 1, 3, 4], [2, 2, 2, 2]), 1.0)

    def test_a_run_on_a_slow_cpu_does_not_decide(self):
        # Run 0: rvmem's process slowed down; run 1: glibc's process sped up. The fastest of all reads 46/45.
        rvmem, glibc = [62, 46, 47, 46, 47], [54, 45, 55, 54, 55]
        self.assertGreater(min(rvmem) / min(glibc), 1)
        self.assertLess(bench_host.paired_ratio(rvmem, glibc), 0.9)

    def test_budget_of_each_workload(self):
        for workload in bench_host.WORKLOADS:
            self.assertLessEqual(bench_host.wall_clock_budget(workload), 1.0)
        self.assertEqual(bench_host.wall_clock_budget("no_such_workload"), float("inf"))


if __name__ == "__main__":
    unittest.main()
