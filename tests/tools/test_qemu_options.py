"""tests/tools/test_qemu_options.py - tools/qemu_options.py: the QEMU options of bench.py, test.py and test_matrix.py.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
The expected command lines are the ones the three runners built by hand before they shared the
module: a change here is a change in how every run boots.
"""
import argparse
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tools"))
import qemu_options  # noqa: E402


class Command(unittest.TestCase):
    def test_test_run(self):
        # tools/test.py's in-kernel suites.
        self.assertEqual(qemu_options.command("build/kernel.elf", machine="virt", harts=4, mem="256M", timeout=120,
                                              bios="default", bootargs="mode=test tests=printf"),
                         ["./qemu.sh", "-M", "virt", "-s", "4", "-m", "256M", "-t", "120", "-b", "default",
                          "-a", "mode=test tests=printf", "build/kernel.elf"])

    def test_bench_run_counts_instructions(self):
        # tools/bench.py: -i first, the hart count as the Makefile passes it (a string).
        self.assertEqual(qemu_options.command("build/kernel.elf", machine="virt", harts="4", mem="256M", timeout=120,
                                              bios="default", bootargs="mode=bench", icount=True),
                         ["./qemu.sh", "-i", "-M", "virt", "-s", "4", "-m", "256M", "-t", "120", "-b", "default",
                          "-a", "mode=bench", "build/kernel.elf"])

    def test_loader_then_the_image(self):
        # tools/test.py's relocated run and tools/test_matrix.py's: the loader as -x, the bounce payload last.
        loader = qemu_options.loader("build/kernel.bin", "0x84000000")
        self.assertEqual(loader, "-device loader,file=build/kernel.bin,addr=0x84000000,force-raw=on")
        self.assertEqual(qemu_options.command("build/bounce.bin", machine="virt", harts=2, mem="256M", timeout=120,
                                              bios="default", bootargs="mode=test", extra=[loader]),
                         ["./qemu.sh", "-M", "virt", "-s", "2", "-m", "256M", "-t", "120", "-b", "default",
                          "-a", "mode=test", "-x", loader, "build/bounce.bin"])

    def test_matrix_run_with_a_device_tree(self):
        # tools/test_matrix.py: no time limit of qemu.sh's own (-t 0), then -d before -x and the image.
        self.assertEqual(qemu_options.command("build/uboot.elf", machine="sifive_u", harts=5, mem="2G", timeout=0,
                                              bios="debian", bootargs="mode=test", dtb="x.dtb", extra=["-a", "-b"]),
                         ["./qemu.sh", "-M", "sifive_u", "-s", "5", "-m", "2G", "-t", "0", "-b", "debian",
                          "-a", "mode=test", "-d", "x.dtb", "-x", "-a", "-x", "-b", "build/uboot.elf"])

    def test_defaults_and_no_bootargs(self):
        self.assertEqual(qemu_options.command("k.elf"),
                         ["./qemu.sh", "-M", "virt", "-s", "4", "-m", "256M", "-t", "120", "-b", "default", "k.elf"])

    def test_empty_bootargs_are_passed(self):
        self.assertEqual(qemu_options.command("k", bootargs="")[-3:], ["-a", "", "k"])

    def test_every_flag_is_one_qemu_sh_takes(self):
        with open(os.path.join(TOP, "qemu.sh")) as script:
            getopts = re.search(r'getopts "([^"]+)"', script.read()).group(1)
        taken = set(getopts.replace(":", ""))
        command = qemu_options.command("k", bootargs="x", icount=True, dtb="d", extra=["e"])
        flags = {argument[1] for argument in command[1:-1] if re.fullmatch(r"-[A-Za-z]", argument)}
        self.assertEqual(flags - taken, set())
        self.assertEqual(flags, {"i", "M", "s", "m", "t", "b", "a", "d", "x"})


class Arguments(unittest.TestCase):
    def parse(self, arguments, **options):
        parser = argparse.ArgumentParser()
        qemu_options.add_arguments(parser, **options)
        return parser.parse_args(arguments)

    def test_defaults(self):
        args = self.parse(["--kernel", "k.elf"], timeout=300, smp="4")
        self.assertEqual((args.kernel, args.machine, args.mem, args.smp, args.timeout, args.bios),
                         ("k.elf", "virt", "256M", "4", 300, "default"))

    def test_given(self):
        args = self.parse(["--kernel", "k", "--machine", "spike", "--mem", "2G", "--smp", "1", "--timeout", "9",
                           "--bios", "debian"], timeout=120, smp="1,4")
        self.assertEqual((args.machine, args.mem, args.smp, args.timeout, args.bios), ("spike", "2G", "1", 9, "debian"))

    def test_only_what_is_asked(self):
        args = self.parse(["--kernel", "k"], timeout=90, machine=False, mem=False)
        self.assertFalse(hasattr(args, "smp") or hasattr(args, "machine") or hasattr(args, "mem"))
        self.assertEqual(args.timeout, 90)

    def test_kernel_required(self):
        with open(os.devnull, "w") as quiet:
            stderr, sys.stderr = sys.stderr, quiet
            try:
                with self.assertRaises(SystemExit):
                    self.parse([], timeout=1)
            finally:
                sys.stderr = stderr


class Runners(unittest.TestCase):
    def test_no_runner_builds_the_command_itself(self):
        for name in ("bench.py", "test.py", "test_matrix.py"):
            with open(os.path.join(TOP, "tools", name)) as source:
                text = source.read()
            self.assertNotIn('"./qemu.sh"', text, name)
            self.assertIn("qemu_options.command(", text, name)
            self.assertIn("qemu_options.add_arguments(", text, name)


if __name__ == "__main__":
    unittest.main()
