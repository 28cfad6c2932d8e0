"""tests/tools/test_bench_budgets.py - tools/bench_budgets.py: budgets fail, goals are only printed.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
Figures are dicts as in build/bench.json; the names are made up unless a test says otherwise.
"""
import contextlib
import io
import os
import sys
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tools"))
import bench  # noqa: E402
import bench_budgets  # noqa: E402


def figure(name, mean, maximum=None, budget_mean=0, budget_max=0, unit="instructions"):
    result = {"name": name, "n": 1, "mean": mean, "unit": unit, "budget_mean": budget_mean, "budget_max": budget_max}
    if maximum is not None:
        result["max"] = maximum
    return result


class Budgets(unittest.TestCase):
    def test_a_figure_at_its_budget_holds(self):
        self.assertEqual(bench_budgets.exceeded([figure("a", 20.0, 20, 20, 20)]), [])

    def test_a_figure_above_its_budget_is_exceeded(self):
        figures = [figure("a", 20.01, 20, 20, 20), figure("b", 10, 151, 0, 150), figure("c", 999, 999)]
        self.assertEqual(bench_budgets.exceeded(figures), ["a mean 20.01 > 20", "b max 151 > 150"])

    def test_no_max_field_no_max_check(self):
        # The host's ratios have a mean only.
        self.assertEqual(bench_budgets.checks(figure("r", 0.5, None, 1, 1)), [("mean", 0.5, 1, True)])

    def test_apply_budgets_sets_the_named_ones_only(self):
        figures = [figure("host_pair_seconds_rvmem_over_glibc", 0.8, unit="ratio"), figure("other", 5, 5, 7, 8)]
        bench_budgets.apply_budgets(figures)
        self.assertEqual((figures[0]["budget_mean"], figures[0]["budget_max"]),
                         bench_budgets.BUDGETS["host_pair_seconds_rvmem_over_glibc"])
        self.assertEqual((figures[1]["budget_mean"], figures[1]["budget_max"]), (7, 8))

    def test_every_budget_outside_the_guest_holds_something(self):
        for name, (mean, maximum) in bench_budgets.BUDGETS.items():
            self.assertTrue(mean or maximum, name)

    def test_table_marks_the_exceeded(self):
        lines = bench_budgets.budget_table([figure("a", 21, 21, 20, 0), figure("b", 5, 5), figure("c", 10, 10, 0, 11)])
        self.assertEqual(len(lines), 3)  # the header, a's mean, c's max; b has no budget
        self.assertTrue(lines[1].startswith("a ") and lines[1].endswith("EXCEEDED"), lines[1])
        self.assertTrue(lines[2].startswith("c ") and lines[2].endswith("ok"), lines[2])
        self.assertIn("10.0%", lines[2])

    def test_print_tables_returns_the_misses(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            missed = bench_budgets.print_tables([figure("a", 21, 21, 20, 0), figure("c", 10, 10, 0, 11)])
        self.assertEqual(missed, ["a mean 21 > 20"])
        self.assertIn("budgets: 1 of 2 hold", out.getvalue())


class Goals(unittest.TestCase):
    def goal_lines(self, figures):
        return {line.split()[0]: line for line in bench_budgets.goal_table(figures)[1:]}

    # A goal of its own, so these tests of the mechanism outlive the goals of the day.
    SAMPLE_GOAL = bench_budgets.Goal("sample_deepest", "max", 400, "issue 0", (), "")

    def test_own_row_first(self):
        with mock.patch.object(bench_budgets, "GOALS", [self.SAMPLE_GOAL]):
            lines = self.goal_lines([figure("sample_deepest", 400, 461)])
        self.assertIn("461", lines["sample_deepest"])
        self.assertNotIn("(", lines["sample_deepest"])

    def test_stand_in_when_the_row_does_not_exist_yet(self):
        goal = bench_budgets.Goal("sample_lean_footprint", "mean", 1100, "issue 0", ("sample_footprint",),
                                  "no such mode yet: the other's")
        with mock.patch.object(bench_budgets, "GOALS", [goal]):
            lines = self.goal_lines([figure("sample_footprint", 1398, 1398)])
        self.assertIn("1398", lines["sample_lean_footprint"])
        self.assertIn("(no such mode yet: the other's sample_footprint)", lines["sample_lean_footprint"])

    def test_stand_ins_give_their_largest(self):
        goal = bench_budgets.Goal("sample_max", "max", 400, "issue 0", ("malloc_pair_malloc", "malloc_pair_free"),
                                  "not built yet: every call's")
        with mock.patch.object(bench_budgets, "GOALS", [goal]):
            lines = self.goal_lines([figure("malloc_pair_malloc", 13, 2079), figure("malloc_pair_free", 22, 22)])
        self.assertIn("2079", lines["sample_max"])
        self.assertIn("malloc_pair_malloc / malloc_pair_free", lines["sample_max"])

    def test_nothing_to_set_against_it_no_line(self):
        self.assertEqual(bench_budgets.goal_table([figure("unrelated", 1, 1)]), [])

    def test_reached_says_so(self):
        with mock.patch.object(bench_budgets, "GOALS", [self.SAMPLE_GOAL]):
            lines = self.goal_lines([figure("sample_deepest", 300, 400)])
            self.assertIn("REACHED", lines["sample_deepest"])
            lines = self.goal_lines([figure("sample_deepest", 300, 401)])
            self.assertNotIn("REACHED", lines["sample_deepest"])

    def test_goals_never_fail(self):
        figures = [figure("sample_deepest", 4298, 4298)]
        self.assertEqual(bench_budgets.exceeded(figures), [])
        with mock.patch.object(bench_budgets, "GOALS", [self.SAMPLE_GOAL]):
            self.assertEqual(len(bench_budgets.goal_table(figures)), 2)

    def test_docs_list_every_goal(self):
        with open(os.path.join(TOP, "docs", "BENCHMARKS.md")) as docs:
            text = docs.read()
        section = text[text.index("## Budgets and goals"):]
        section = section[:section.index("\n## ", 1)]
        for goal in bench_budgets.GOALS:
            self.assertIn(f"`{goal.name}`", section, goal.name)


class ChurnRatio(unittest.TestCase):
    def test_ratio_of_the_two_churns(self):
        ratio = bench.churn_ratio([figure("page_order0_churn_1_hart", 52.0, 52),
                                   figure("page_order0_churn_all_harts", 55.0, 55)])
        self.assertEqual((ratio["name"], ratio["mean"], ratio["max"]), (bench.CHURN_RATIO, 1.058, 1.058))
        self.assertIn(bench.CHURN_RATIO, bench_budgets.BUDGETS)

    def test_without_both_no_ratio(self):
        self.assertIsNone(bench.churn_ratio([figure("page_order0_churn_1_hart", 52.0, 52)]))


if __name__ == "__main__":
    unittest.main()
