"""tools/ktap.py - read KTAP version 1 output and count what it proves.

The counting is strict: every plan must be met. A suite that announced M tests and
printed fewer (a crash or hang mid-run) counts the missing ones as failed; a missing
suite counts as one failure; a run with no KTAP header at all is one failure.
"""
import re

RESULT = re.compile(r"^(not ok|ok) (\d+)(?: (.*?))?(?: # (SKIP|TODO).*)?$")
PLAN = re.compile(r"^1\.\.(\d+)$")


# Lines of a failed run's console log that print_log_tail shows.
LOG_TAIL_LINES = 30


def print_log_tail(path, lines=LOG_TAIL_LINES):
    """Prints the last lines a failed run wrote (its panic or last test), so the reason is in the output itself."""
    try:
        with open(path, errors="replace") as log:
            tail = log.read().replace("\r", "").splitlines()[-lines:]
    except OSError as error:
        print(f"--- no log to show: {error}")
        return
    print(f"--- last {len(tail)} lines of {path}")
    for line in tail:
        print(f"    {line}")


class Count:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.problems = []  # human-readable lines: failing tests and broken plans

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.problems += other.problems


def _clean(line):
    return line.rstrip("\r\n").replace("\r", "")


def parse(text, label="run"):
    """Counts leaf test results in KTAP text; suites are the indented subtests."""
    count = Count()
    lines = [_clean(line) for line in text.splitlines()]
    try:
        start = lines.index("KTAP version 1")
    except ValueError:
        count.failed += 1
        count.problems.append(f"{label}: no KTAP output (did the image boot?)")
        return count
    top_plan = None
    suites_seen = 0
    suite = None  # dict(name, plan, results, failed)
    for line in lines[start + 1:]:
        if top_plan is None:
            match = PLAN.match(line)
            if match:
                top_plan = int(match.group(1))
            continue
        if line.startswith("    "):
            inner = line[4:]
            if inner == "KTAP version 1":
                suite = {"name": "?", "plan": None, "results": 0, "failed": 0}
            elif suite is not None and inner.startswith("# Subtest: "):
                suite["name"] = inner[len("# Subtest: "):]
            elif suite is not None and PLAN.match(inner) and suite["plan"] is None:
                suite["plan"] = int(PLAN.match(inner).group(1))
            elif suite is not None and RESULT.match(inner):
                match = RESULT.match(inner)
                suite["results"] += 1
                if match.group(4) == "SKIP":
                    count.skipped += 1
                elif match.group(1) == "ok":
                    count.passed += 1
                else:
                    count.failed += 1
                    suite["failed"] += 1
                    count.problems.append(f"{label}: not ok {suite['name']}.{match.group(3)}")
            continue
        match = RESULT.match(line)
        if match and suite is not None:
            suites_seen += 1
            plan = suite["plan"] or 0
            if suite["results"] < plan:
                missing = plan - suite["results"]
                count.failed += missing
                count.problems.append(f"{label}: suite {suite['name']}: {missing} of {plan} planned results missing")
            elif match.group(1) == "not ok" and suite["failed"] == 0:
                count.failed += 1  # e.g. a leak check after the suite
                count.problems.append(f"{label}: suite {suite['name']} failed after its tests (leak check?)")
            suite = None
    if suite is not None:  # cut off inside a suite
        plan = suite["plan"] or 1
        missing = max(plan - suite["results"], 1)
        count.failed += missing
        count.problems.append(f"{label}: output ends inside suite {suite['name']} ({missing} result(s) missing)")
        suites_seen += 1
    if top_plan is None:
        count.failed += 1
        count.problems.append(f"{label}: KTAP header without a plan")
    elif suites_seen < top_plan:
        count.failed += top_plan - suites_seen
        count.problems.append(f"{label}: {top_plan - suites_seen} of {top_plan} suites never ran")
    return count
