"""tests/tools/test_deps.py - tools/deps.sh's install path, with a stand-in apt-get.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
Each test runs deps.sh with a PATH holding only the few commands it needs and a fake apt-get (and
an id that says root), so every tool looks missing and nothing is installed: the fake records how
it was called and prints what apt and dpkg print.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "tools", "deps.sh")

FAKE_APT = """#!/bin/sh
echo "$*" >> "{calls}"
[ "$1" = update ] && exit 0
i=0
while [ $i -lt 30 ]; do echo "(Reading database ... $i%"; i=$((i + 1)); done
echo "Setting up qemu-system-misc ..."
echo "debconf: delaying package configuration, since apt-utils is not installed" >&2
{ending}
"""


class Install(unittest.TestCase):
    def run_deps(self, ending, group="kernel"):
        """Runs deps.sh GROUP with the fake apt-get ending as given; returns (status, stdout, stderr, calls)."""
        scratch = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, scratch)
        bin_dir = os.path.join(scratch, "bin")
        os.mkdir(bin_dir)
        for command in ("sort", "tr", "uname", "mktemp", "grep", "tail", "rm", "env"):
            os.symlink(shutil.which(command), os.path.join(bin_dir, command))
        calls = os.path.join(scratch, "calls")
        for name, text in (("apt-get", FAKE_APT.format(calls=calls, ending=ending)), ("id", "#!/bin/sh\necho 0\n")):
            with open(os.path.join(bin_dir, name), "w") as fake:
                fake.write(text)
            os.chmod(os.path.join(bin_dir, name), 0o755)
        result = subprocess.run(["/bin/sh", SCRIPT, group], env={"PATH": bin_dir, "TMPDIR": scratch},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        with open(calls) as recorded:
            return result.returncode, result.stdout, result.stderr, recorded.read().splitlines()

    def test_one_line_and_no_recommends(self):
        status, out, err, calls = self.run_deps("exit 0")
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        self.assertEqual(len(out.splitlines()), 1, out)
        self.assertRegex(out, r"^rvmem: installing with apt-get: .*qemu-system-misc.*\.\.\. done\n$")
        self.assertEqual(calls[0], "update -qq")
        self.assertIn("--no-install-recommends", calls[1].split())
        self.assertIn("gcc-riscv64-unknown-elf", calls[1].split())

    def test_bench_needs_valgrind_test_does_not(self):
        self.assertIn("valgrind", self.run_deps("exit 0", "bench")[3][1].split())
        self.assertNotIn("valgrind", self.run_deps("exit 0", "host")[3][1].split())

    def test_errors_stay_visible(self):
        status, out, err, calls = self.run_deps('echo "E: Unable to locate package qemu-system-misc" >&2; exit 100')
        self.assertEqual(status, 1)
        self.assertIn("E: Unable to locate package qemu-system-misc", err)
        self.assertNotIn("(Reading database", out + err)
        self.assertIn("apt-get failed", err)


if __name__ == "__main__":
    unittest.main()
