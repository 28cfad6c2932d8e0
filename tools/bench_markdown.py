#!/usr/bin/env python3
"""tools/bench_markdown.py - writes the figures of one `make bench` run into docs/BENCHMARKS.md.

  --json FILE   build/bench.json, as `make bench` wrote it (every figure, with its budget)
  --doc FILE    the Markdown file whose generated section is replaced (docs/BENCHMARKS.md)
  --source TEXT what produced the figures (command, branch or commit, date), printed above the table

The section lies between the lines `<!-- bench figures: start -->` and `<!-- bench figures: end -->`;
everything outside it is left as it is. It holds one table of every figure (n, mean, p50, p99, max,
budget) and the goals table of tools/bench_budgets.py with each goal's figure from the same run, so
the document's numbers come from a run and never from a hand edit. Fails (exit 1) when the markers
are missing or the JSON holds no figure, so a stale section cannot pass for a fresh one.
"""
import argparse
import json
import sys

import bench_budgets

START = "<!-- bench figures: start -->"
END = "<!-- bench figures: end -->"


def cell(value):
    """A figure as a table cell: thousands separated, up to two decimals, '' for a missing one."""
    if value is None or value == "":
        return ""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def budget_cell(figure):
    """'mean / max' budgets of a figure ('-' for a field without one), '' when it has none."""
    mean, largest = figure.get("budget_mean") or 0, figure.get("budget_max") or 0
    if not mean and not largest:
        return ""
    return f"{cell(mean) if mean else '-'} / {cell(largest) if largest else '-'}"


def figures_table(figures):
    """Markdown lines: one row per figure, in the order the run printed them."""
    lines = ["| figure | n | mean | p50 | p99 | max | unit | budget (mean / max) |",
             "|---|---|---|---|---|---|---|---|"]
    for figure in figures:
        lines.append(f"| {figure['name']} | {cell(figure.get('n'))} | {cell(figure.get('mean'))} | "
                     f"{cell(figure.get('p50'))} | {cell(figure.get('p99'))} | {cell(figure.get('max'))} | "
                     f"{figure.get('unit', '')} | {budget_cell(figure)} |")
    return lines


def goals_table(figures):
    """Markdown lines: each goal of tools/bench_budgets.py that this run has a figure for."""
    by_name = {figure["name"]: figure for figure in figures}
    lines = ["| goal | field | target | now | issue |", "|---|---|---|---|---|"]
    for goal in bench_budgets.GOALS:
        found = bench_budgets.now(goal, by_name)
        if found is None:
            continue
        value, source = found
        where = "" if source == goal.name else f" (now: {source})"
        lines.append(f"| {goal.name} | {goal.field} | <= {cell(goal.target)} | {cell(value)} | "
                     f"{goal.issue}{where} |")
    return lines if len(lines) > 2 else ["No goal is open: every figure with a target meets it."]


def section(figures, source):
    """The generated section's lines, markers included."""
    return [START, "", f"Produced by: {source}. {len(figures)} figures.", "", *figures_table(figures), "",
            "Goals not reached yet in this run (they do not fail `make bench`):", "", *goals_table(figures), "",
            END]


def replace_section(text, lines):
    """text with the part from START to END (both included) replaced by lines; ValueError without them."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {START!r} and {END!r} are missing or out of order")
    return text[:start] + "\n".join(lines) + text[end + len(END):]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--doc", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args(argv)
    with open(args.json) as f:
        figures = json.load(f)
    if not figures:
        print(f"bench_markdown: {args.json} holds no figure", file=sys.stderr)
        return 1
    with open(args.doc) as f:
        text = f.read()
    try:
        text = replace_section(text, section(figures, args.source))
    except ValueError as error:
        print(f"bench_markdown: {args.doc}: {error}", file=sys.stderr)
        return 1
    with open(args.doc, "w") as f:
        f.write(text)
    print(f"bench_markdown: {len(figures)} figures written into {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
