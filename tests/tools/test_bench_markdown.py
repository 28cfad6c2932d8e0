"""tests/tools/test_bench_markdown.py - tools/bench_markdown.py: the generated section of BENCHMARKS.md.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tools"))
import bench_budgets  # noqa: E402
import bench_markdown  # noqa: E402

FIGURES = [
    {"name": "stack_frame_16B", "n": 1000, "mean": 26.0, "p50": 26, "p99": 26, "max": 26, "unit": "instructions",
     "budget_mean": 28, "budget_max": 28},
    {"name": "buddy_init_4G", "n": 1, "mean": 607010, "unit": "instructions", "budget_mean": 0, "budget_max": 0},
    {"name": "host_pair_seconds_rvmem_over_glibc", "n": 1, "mean": 0.6871, "unit": "ratio", "budget_mean": 0,
     "budget_max": 0},
]
DOC = "# Benchmarks\n\nbefore\n\n" + bench_markdown.START + "\nstale\n" + bench_markdown.END + "\n\nafter\n"


class Section(unittest.TestCase):
    def test_every_figure_has_its_row_with_its_budget(self):
        lines = bench_markdown.figures_table(FIGURES)
        self.assertEqual(len(lines), 2 + len(FIGURES))
        self.assertIn("| stack_frame_16B | 1,000 | 26 | 26 | 26 | 26 | instructions | 28 / 28 |", lines)
        self.assertIn("| buddy_init_4G | 1 | 607,010 |  |  |  | instructions |  |", lines)
        self.assertIn("| host_pair_seconds_rvmem_over_glibc | 1 | 0.687 |  |  |  | ratio |  |", lines)

    def test_a_goal_shows_this_runs_figure(self):
        goal = bench_budgets.GOALS[0]
        lines = bench_markdown.goals_table([{"name": goal.name, "n": 1, goal.field: 12345, "unit": "x"}])
        self.assertEqual(len(lines), 3)
        self.assertIn(f"| {goal.name} | {goal.field} |", lines[2])
        self.assertIn("| 12,345 |", lines[2])

    def test_no_goal_figure_says_so(self):
        self.assertEqual(len(bench_markdown.goals_table(FIGURES)), 1)

    def test_only_the_section_changes(self):
        text = bench_markdown.replace_section(DOC, bench_markdown.section(FIGURES, "make bench, test"))
        self.assertTrue(text.startswith("# Benchmarks\n\nbefore\n\n" + bench_markdown.START))
        self.assertTrue(text.endswith(bench_markdown.END + "\n\nafter\n"))
        self.assertNotIn("stale", text)
        self.assertIn("Produced by: make bench, test. 3 figures.", text)

    def test_missing_markers_are_an_error(self):
        with self.assertRaises(ValueError):
            bench_markdown.replace_section("# no markers\n", ["x"])
        with self.assertRaises(ValueError):
            bench_markdown.replace_section(bench_markdown.END + "\n" + bench_markdown.START, ["x"])


class Command(unittest.TestCase):
    def run_main(self, figures, doc):
        with tempfile.TemporaryDirectory() as folder:
            json_path, doc_path = os.path.join(folder, "bench.json"), os.path.join(folder, "BENCHMARKS.md")
            with open(json_path, "w") as f:
                json.dump(figures, f)
            with open(doc_path, "w") as f:
                f.write(doc)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                status = bench_markdown.main(["--json", json_path, "--doc", doc_path, "--source", "test"])
            with open(doc_path) as f:
                return status, f.read()

    def test_writes_the_figures(self):
        status, text = self.run_main(FIGURES, DOC)
        self.assertEqual(status, 0)
        self.assertIn("| buddy_init_4G |", text)

    def test_an_empty_run_leaves_the_document_alone(self):
        self.assertEqual(self.run_main([], DOC), (1, DOC))

    def test_a_document_without_markers_is_left_alone(self):
        self.assertEqual(self.run_main(FIGURES, "# none\n"), (1, "# none\n"))


if __name__ == "__main__":
    unittest.main()
