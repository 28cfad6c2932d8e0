"""tests/tools/test_make_targets.py - the public make targets: `make help` and the README's table name the same ones.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
Each public target has one name: the build steps behind host-test and bench-host have none of their
own (they are file targets), so `make host-tests` and `make host-bench` are no targets at all.
"""
import os
import re
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))


def make(*arguments):
    """Runs make at the top of the tree, outside any make that runs this test (its jobserver, its level)."""
    environment = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-s", *arguments], cwd=TOP, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def help_targets():
    """Target names in `make help`'s "Targets" list ("format, lint" gives two)."""
    text = make("help").stdout
    block = text[text.index("Targets"):text.index("Variables:")]
    names = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^  (\S.*?)\s{2,}\S", line)
        if match:
            names += [name.strip() for name in match.group(1).split(",")]
    return names


def readme_targets():
    """Target names in the first column of README.md's "Make targets" table."""
    with open(os.path.join(TOP, "README.md")) as readme:
        text = readme.read()
    table = text[text.index("## Make targets"):]
    table = table[:table.index("\n## ", 1)]
    names = []
    for line in table.splitlines():
        match = re.match(r"^\| (`[^|]+`)( \(default\))? \|", line)
        if match:
            names += re.findall(r"`([^`]+)`", match.group(1))
    return names


class Targets(unittest.TestCase):
    def test_help_and_readme_agree(self):
        self.assertEqual(sorted(help_targets()), sorted(readme_targets()))
        self.assertIn("bench-host", help_targets())
        self.assertIn("host-test", help_targets())

    def test_every_listed_target_is_phony(self):
        with open(os.path.join(TOP, "Makefile")) as makefile:
            declaration = re.search(r"^\.PHONY:((?:.*\\\n)*.*)", makefile.read(), re.M).group(1)
        phony = set(declaration.replace("\\", " ").split())
        self.assertEqual(set(help_targets()) - phony, set())

    def test_the_confusable_names_are_gone(self):
        for name in ("host-tests", "host-bench"):
            result = make("-n", name)
            self.assertNotEqual(result.returncode, 0, name)
            self.assertIn("No rule to make target", result.stderr, name)


if __name__ == "__main__":
    unittest.main()
