#!/usr/bin/env python3
"""tools/test.py - everything `make test` runs, and the one summary line at the end.

Runs, in order:
  1. the in-kernel suites on QEMU with 1 hart and with 4 harts (KTAP, counted strictly);
  2. unless a filter is given: bootargs over 255 bytes (mode=test and tests= after byte 250
     must run the tests); a tests= value too long for its buffer, mode=bogus and a device tree
     without /memory (each must stop the boot with a message naming the cause, and exit 2); the
     crash check (an illegal instruction must give a crash
     report naming the cause, sepc, stval, sp and a backtrace, and exit status 3) and the
     propagation check (the deliberately failing selftest_fail must fail the run), the leak
     check's own test (a page leaked beside a test arena must fail its suite), and with
     --relocated kernel.bin booted away from its link address (it must relocate itself);
     then `make run` without a terminal (the tour, exit 0) and the monitor driven through a pty
     (tools/monitor_check.py);
  3. the host tests (portable code under AddressSanitizer and UBSan), KTAP as well, and the host
     binding's own tests (tests/host/binding.c: real threads, process limits, parked threads);
     unless a filter is given, real programs under the LD_PRELOAD library (python3, the host
     tests, issue 14's patterns, the park program) and under its park check (preload_checks);
  4. each fuzz target given with --fuzz, briefly.
Ends with "tests: N passed, N failed" (and how many were skipped, when any were) and exits
non-zero if anything failed.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402
import qemu_options  # noqa: E402

EXIT_TEST_FAILED = 1
EXIT_PANIC = 2
EXIT_CRASH = 3


def run(command, log_path, timeout):
    """Runs command, saving its output; returns (exit status, output text, seconds)."""
    started = time.monotonic()
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=timeout)
        status, output = result.returncode, result.stdout
    except subprocess.TimeoutExpired as expired:
        status, output = 124, expired.stdout or b""
    text = output.decode("utf-8", "replace")
    with open(log_path, "w") as log:
        log.write(text)
    return status, text, time.monotonic() - started


def qemu_command(args, harts, bootargs):
    return qemu_options.command(args.kernel, machine=args.machine, harts=harts, mem=args.mem, timeout=args.timeout,
                                bios=args.bios, bootargs=bootargs)


NOTHING_MATCHED = "# ktest: no test matches the filter"


def skip_if_filter_matched_nothing(label, count, status, text):
    """A filter (TESTS=) that names suites of one side only (kernel or host) leaves the other side
    with nothing to run: that side is skipped, not failed. make test still fails when no side ran
    anything (main checks the total)."""
    if status != 0 and count.passed == 0 and NOTHING_MATCHED in text:
        count.failed = 0
        count.problems = []
        count.skipped += 1
        print(f"  {label:<34} nothing here matches the filter: skipped")
        return True
    return False


def report(label, count, status, seconds, log_path):
    verdict = "ok" if count.failed == 0 else "FAILED"
    skipped = f", {count.skipped} skipped" if count.skipped else ""
    print(f"  {label:<34} {count.passed:4d} passed, {count.failed:3d} failed"
          f"  (exit {status}, {seconds:5.1f} s) {verdict}{skipped}")
    for problem in count.problems[:20]:
        print(f"      {problem}")
    if count.failed:
        print(f"      log: {log_path}")
        ktap.print_log_tail(log_path)


def kernel_suites(args, harts, total, kernel=None, tests=None, name="kernel", extra_bootargs=""):
    label = f"{name} {args.machine} smp={harts} mem={args.mem}"
    log_path = os.path.join(args.log_dir, f"{name.split()[0]}-smp{harts}.log")
    tests = args.tests if tests is None else tests
    bootargs = "mode=test" + (f" tests={tests}" if tests else "") + extra_bootargs
    command = qemu_command(args, harts, bootargs)
    if kernel:
        command[-1] = kernel
    status, text, seconds = run(command, log_path, args.timeout + 10)
    count = ktap.parse(text, label)
    if tests and skip_if_filter_matched_nothing(label, count, status, text):
        total.add(count)
        return
    if count.failed == 0 and status != 0:
        count.failed += 1
        count.problems.append(f"{label}: every result ok but the exit status is {status}")
    if count.failed and status == 0:
        count.problems.append(f"{label}: failures but exit status 0 (exit path broken?)")
    report(label, count, status, seconds, log_path)
    total.add(count)


def relocated_suites(args, total):
    """kernel.bin loaded away from its link address (QEMU's generic loader) relocates itself and passes."""
    label = f"kernel.bin at {args.relocated_address} smp=2"
    log_path = os.path.join(args.log_dir, "relocated.log")
    command = qemu_options.command(args.bounce, machine="virt", harts=2, mem=args.mem, timeout=args.timeout,
                                   bios=args.bios, bootargs="mode=test",
                                   extra=[qemu_options.loader(args.relocated, args.relocated_address)])
    status, text, seconds = run(command, log_path, args.timeout + 10)
    count = ktap.parse(text, label)
    image = re.search(r"excluded 0x0*([0-9a-f]+)-0x[0-9a-f]+ .* kernel image and stacks", text)
    if not image or int(image.group(1), 16) != int(args.relocated_address, 16):
        count.failed += 1
        count.problems.append(f"{label}: the image did not run at {args.relocated_address}")
    if count.failed == 0 and status != 0:
        count.failed += 1
        count.problems.append(f"{label}: every result ok but the exit status is {status}")
    report(label, count, status, seconds, log_path)
    total.add(count)


# Bootargs longer than 255 bytes, whose mode=test and tests= come after byte 250: the kernel must
# read all of them (a cut would lose the mode and start the monitor, which waits for input forever).
LONG_BOOTARGS_PADDING = "note=" + "x" * 250
LONG_BOOTARGS_SUITES = ("bootargs", "printf")


def long_bootargs_check(args, total):
    """Bootargs of 300+ bytes with mode=test after byte 250 run the tests their tests= filter names."""
    label = "bootargs over 255 bytes (mode=test late)"
    bootargs = f"{LONG_BOOTARGS_PADDING} mode=test tests={','.join(LONG_BOOTARGS_SUITES)}"
    log_path = os.path.join(args.log_dir, "long-bootargs.log")
    status, text, seconds = run(qemu_command(args, 1, bootargs), log_path, args.timeout + 10)
    text = text.replace("\r", "")
    seen = ktap.parse(text, label)
    suites = re.findall(r"^    # Subtest: (\S+)$", text, re.M)
    check_expectations(label, {
        "the mode after byte 250 is read (tests ran, 124: it waited at the monitor)": seen.passed > 0,
        "exit status 0": status == 0,
        "every test passed": seen.failed == 0,
        "the tests= filter after byte 250 is obeyed": sorted(suites) == sorted(LONG_BOOTARGS_SUITES),
        "the banner shows the whole bootargs": f'bootargs: "{bootargs}"' in text,
    }, status, seconds, log_path, total)


def overlong_value_check(args, total):
    """A tests= value longer than its buffer stops the boot with a message and exit 2: never a cut filter."""
    label = "tests= value over its buffer"
    value = "printf," + ",".join(f"no_such_suite_{i:03d}" for i in range(30))
    log_path = os.path.join(args.log_dir, "overlong-value.log")
    status, text, seconds = run(qemu_command(args, 1, f"mode=test tests={value}"), log_path, args.timeout + 10)
    text = text.replace("\r", "")
    check_expectations(label, {
        "exit status 2 (panic)": status == EXIT_PANIC,
        "a message naming tests= and its length": re.search(rf"bootargs: the value of tests= is {len(value)} bytes",
                                                            text),
        "no test ran with a cut filter": "KTAP version 1" not in text,
    }, status, seconds, log_path, total)


def unknown_mode_check(args, total):
    """mode=bogus stops the boot with exit 2 and a message listing every mode."""
    label = "mode=bogus lists every mode"
    log_path = os.path.join(args.log_dir, "unknown-mode.log")
    status, text, seconds = run(qemu_command(args, 1, "mode=bogus"), log_path, args.timeout + 10)
    check_expectations(label, {
        "exit status 2 (panic)": status == EXIT_PANIC,
        "run, tour, test and bench listed": re.search(
            r'unknown mode "bogus" in bootargs \(expected one of: run, tour, test, bench\)', text),
    }, status, seconds, log_path, total)


def no_memory_node_check(args, total):
    """QEMU's own tree with its /memory node removed (fdtput): the panic names /memory, exit 2."""
    label = "device tree without /memory"
    log_path = os.path.join(args.log_dir, "no-memory-node.log")
    dtb = os.path.join(args.log_dir, "no-memory-node.dtb")
    try:
        subprocess.run(["qemu-system-riscv64", "-machine", f"{args.machine},dumpdtb={dtb}", "-smp", "1", "-m", args.mem,
                        "-nographic", "-bios", "none"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        nodes = subprocess.run(["fdtget", "-l", dtb, "/"], check=True, stdout=subprocess.PIPE,
                               timeout=30).stdout.decode().split()
        for node in nodes:
            if node == "memory" or node.startswith("memory@"):
                subprocess.run(["fdtput", "-r", dtb, "/" + node], check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        count = ktap.Count()
        count.failed, count.problems = 1, [f"{label}: cannot make the tree (dtc's fdtget/fdtput): {error}"]
        report(label, count, 0, 0.0, log_path)
        total.add(count)
        return
    command = qemu_command(args, 1, "mode=test")
    command[-1:-1] = ["-d", dtb]
    status, text, seconds = run(command, log_path, args.timeout + 10)
    check_expectations(label, {
        "exit status 2 (panic)": status == EXIT_PANIC,
        "the panic names /memory": re.search(r"panic: device tree: no /memory node", text),
    }, status, seconds, log_path, total)


def symbol_at(kernel, address):
    """The function containing address, through addr2line (empty when unavailable)."""
    for tool in ("riscv64-unknown-elf-addr2line", "riscv64-linux-gnu-addr2line", "addr2line"):
        try:
            output = subprocess.run([tool, "-f", "-e", kernel, address], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, timeout=30).stdout.decode()
            return output.splitlines()[0] if output else ""
        except (OSError, subprocess.TimeoutExpired):
            continue
    return ""


def check_expectations(label, expectations, status, seconds, log_path, total):
    count = ktap.Count()
    for name, met in expectations.items():
        if met:
            count.passed += 1
        else:
            count.failed += 1
            count.problems.append(f"{label}: expected {name}")
    report(label, count, status, seconds, log_path)
    total.add(count)


def crash_run(args, name, harts, label):
    log_path = os.path.join(args.log_dir, f"{name}.log")
    status, text, seconds = run(qemu_command(args, harts, f"mode=test tests={name}"), log_path, args.timeout + 10)
    return status, text.replace("\r", ""), seconds, log_path


def crash_check(args, total):
    """An illegal instruction in a test must produce the full crash report and exit 3."""
    label = "crash report (illegal instruction)"
    status, text, seconds, log_path = crash_run(args, "crash.illegal_instruction", 2, label)
    expectations = {
        "exit status 3": status == EXIT_CRASH,
        "crash line": re.search(r"crash: unexpected trap on hart \d+ \(hartid \d+\)", text),
        "scause named": "scause 0x2 (illegal instruction)" in text,
        "sepc": re.search(r"sepc\s+0x[0-9a-f]+", text),
        "stval": re.search(r"stval\s+0x[0-9a-f]+", text),
        "sp and stack bounds": re.search(r"sp\s+0x[0-9a-f]+ \(stack 0x[0-9a-f]+-0x[0-9a-f]+\)", text),
        "backtrace of 2+ frames": re.search(r"#1 0x[0-9a-f]+", text),
    }
    sepc = re.search(r"sepc\s+(0x[0-9a-f]+)", text)
    expectations["sepc is in the crashing test"] = bool(sepc) and "illegal_instruction" in symbol_at(
        args.kernel, sepc.group(1))
    caller = re.search(r"#1 (0x[0-9a-f]+)", text)
    expectations["backtrace reaches the test runner"] = bool(caller) and "run_one" in symbol_at(
        args.kernel, caller.group(1))
    check_expectations(label, expectations, status, seconds, log_path, total)


def stack_overflow_checks(args, total):
    """Deep recursion on the last of 4 harts, and a smashed frame, must be caught and reported."""
    overflow = r"stack overflow on hart (\d+): stack 0x[0-9a-f]+-0x[0-9a-f]+, sp 0x[0-9a-f]+, guard word \w+, "
    label = "stack overflow (recursion, hart 3)"
    status, text, seconds, log_path = crash_run(args, "crash.stack_overflow_by_recursion", 4, label)
    found = re.search(overflow + r"detected by deliberate recursion", text)
    check_expectations(label, {
        "exit status 2 (panic)": status == EXIT_PANIC,
        "overflow report with bounds and sp": found,
        "report names hart 3": bool(found) and found.group(1) == "3",
        "misuse line with kind and hart": re.search(r"misuse: stack overflow of 0x[0-9a-f]+ in stack, hart 3", text),
    }, status, seconds, log_path, total)

    label = "stack overflow into the guard page (hart 3)"
    status, text, seconds, log_path = crash_run(args, "crash.stack_overflow_into_guard_page", 4, label)
    found = re.search(overflow + r"detected by the guard page at (0x[0-9a-f]+) \(fault at (0x[0-9a-f]+), pc 0x[0-9a-f]+\)",
                      text)
    guard, fault = (int(found.group(i), 16) for i in (2, 3)) if found else (0, 1 << 64)
    check_expectations(label, {
        "exit status 2 (panic)": status == EXIT_PANIC,
        "overflow report with bounds, sp and the faulting address": found,
        "report names hart 3": bool(found) and found.group(1) == "3",
        "the fault is in that guard page": guard <= fault < guard + 4096,
        "misuse line with kind and hart": re.search(r"misuse: stack overflow of 0x[0-9a-f]+ in stack, hart 3", text),
    }, status, seconds, log_path, total)

    label = "stack protector (smashed frame)"
    status, text, seconds, log_path = crash_run(args, "crash.stack_protector", 1, label)
    check_expectations(label, {
        "exit status 2 (panic)": status == EXIT_PANIC,
        "overflow report from the stack protector": re.search(overflow + r"detected by stack protector", text),
    }, status, seconds, log_path, total)


def paging_fault_checks(args, total):
    """W^X and unmapped addresses: each fault ends in a crash report (exit 3) naming the region and what it allows."""
    cases = [
        ("crash.store_to_text", "W^X: store to .text", "store/AMO page fault",
         r"fault: store to 0x[0-9a-f]+ in \.text, which is read\+execute"),
        ("crash.execute_data", "W^X: execute .data", "instruction page fault",
         r"fault: execute at 0x[0-9a-f]+ in \.data, which is read\+write"),
        ("crash.read_unmapped", "load from an unmapped address", "load page fault",
         r"fault: load from 0x[0-9a-f]+ which is unmapped \(no region of the kernel's map\)"),
    ]
    for name, label, cause, fault in cases:
        status, text, seconds, log_path = crash_run(args, name, 2, label)
        check_expectations(label, {
            "exit status 3": status == EXIT_CRASH,
            "crash line": re.search(r"crash: unexpected trap on hart \d+ \(hartid \d+\)", text),
            f"scause named ({cause})": f"({cause})" in text,
            "the region and its permission named": re.search(fault, text),
        }, status, seconds, log_path, total)


def expect_one_failure(label, command, log_path, timeout, total):
    """Runs command, which must end with exit status 1 and exactly one failed test (124: it hung)."""
    status, text, seconds = run(command, log_path, timeout)
    seen = ktap.parse(text, label)
    count = ktap.Count()
    if status == EXIT_TEST_FAILED and seen.failed == 1 and seen.passed == 0:
        count.passed += 1
    else:
        count.failed += 1
        count.problems.append(f"{label}: expected exit 1 and one failed test, got exit {status}, "
                              f"{seen.passed} passed, {seen.failed} failed (124: it hung)")
    report(label, count, status, seconds, log_path)
    total.add(count)


def propagation_check(args, total):
    """The deliberately failing test must fail the run: exit status 1 and a 'not ok' line."""
    expect_one_failure("failure propagation (selftest_fail)", qemu_command(args, 1, "mode=test tests=selftest_fail"),
                       os.path.join(args.log_dir, "selftest-fail.log"), args.timeout + 10, total)


def leak_check_selftest(args, total):
    """A suite holding a test arena that leaks one page fails the machine_pages leak check, by one page."""
    label = "leak check beside a test arena"
    log_path = os.path.join(args.log_dir, "selftest-leak.log")
    status, text, seconds = run(qemu_command(args, 1, "mode=test tests=selftest_leak"), log_path, args.timeout + 10)
    pages = re.search(r"machine pages: (\d+) free before, (\d+) after \(\+ (\d+) in the suite's test arenas\)", text)
    before, after, arena = (int(pages.group(i)) for i in (1, 2, 3)) if pages else (0, 0, 0)
    check_expectations(label, {
        "exit status 1": status == EXIT_TEST_FAILED,
        "the check fails the suite": "leak check 'machine_pages' failed" in text and "not ok 1 selftest_leak" in text,
        "the arena's pages are counted apart": arena > 0,
        "exactly the one leaked page is missing": bool(pages) and before - after - arena == 1,
    }, status, seconds, log_path, total)


def smp_propagation_check(args, total):
    """One hart fails while the others wait at a barrier (selftest_fail_smp): the run must end, failed, not hang."""
    runs = [("kernel", qemu_command(args, 4, "mode=test tests=selftest_fail_smp"), args.timeout + 10)]
    if args.host:
        runs.append(("host", [args.host, "selftest_fail_smp"], 60))
    for where, command, timeout in runs:
        expect_one_failure(f"failure propagation (SMP), {where}", command,
                           os.path.join(args.log_dir, f"selftest-fail-smp-{where}.log"), timeout, total)


def host_tests(args, total):
    label = "host (ASan+UBSan)"
    log_path = os.path.join(args.log_dir, "host.log")
    command = [args.host] + ([args.tests] if args.tests else [])
    status, text, seconds = run(command, log_path, 600)
    count = ktap.parse(text, label)
    if args.tests and skip_if_filter_matched_nothing(label, count, status, text):
        total.add(count)
        return
    if status != 0 and count.failed == 0:
        count.failed += 1
        count.problems.append(f"{label}: exit status {status} (sanitizer report?) - see the log")
    report(label, count, status, seconds, log_path)
    total.add(count)


def binding_tests(args, total):
    """The host binding's own tests (tests/host/binding.c, make host): real threads ending with late
    destructors, process limits; one "ok"/"not ok" line a test."""
    label = "host binding (librvmem.a, real threads)"
    log_path = os.path.join(args.log_dir, "binding.log")
    status, text, seconds = run([args.binding_tests, args.tests], log_path, 600)
    count = ktap.Count()
    count.passed = len(re.findall(r"^ok ", text, re.M))
    failures = re.findall(r"^not ok (.*)$", text, re.M)
    count.failed = len(failures)
    count.problems.extend(f"{label}: {line}" for line in failures)
    if status != 0 and count.failed == 0:
        count.failed = 1
        count.problems.append(f"{label}: exit status {status}")
    if count.passed or count.failed:
        report(label, count, status, seconds, log_path)
    total.add(count)


def fuzz_smoke(args, target, total):
    name = os.path.basename(target)
    label = f"fuzz {name} ({args.fuzz_seconds} s)"
    log_path = os.path.join(args.log_dir, f"{name}.log")
    corpus = os.path.join(args.log_dir, f"{name}-corpus")
    os.makedirs(corpus, exist_ok=True)
    command = [target, f"-max_total_time={args.fuzz_seconds}", "-seed=1", "-print_final_stats=1", corpus]
    status, _, seconds = run(command, log_path, args.fuzz_seconds + 120)
    count = ktap.Count()
    if status == 0:
        count.passed += 1
    else:
        count.failed += 1
        count.problems.append(f"{label}: the fuzzer found a failure (exit {status})")
    report(label, count, status, seconds, log_path)
    total.add(count)


PRELOAD_WORKLOAD = """
import json, os, threading
def churn(seed):
    table = {}
    for i in range(30000):
        table[(i * seed) % 1009] = [str(i)] * (i % 40) + [bytes(i % 3000)]
    return len(json.dumps({k: len(v) for k, v in table.items()}))
results = []
threads = [threading.Thread(target=lambda s=s: results.append(churn(s))) for s in range(1, 5)]
[t.start() for t in threads]
[t.join() for t in threads]
pid = os.fork()
if pid == 0:
    os._exit(0 if churn(7) > 0 else 1)
_, status = os.waitpid(pid, 0)
assert status == 0 and len(results) == 4, (status, results)
print("workload ok", sum(results))
"""


def preload_checks(args, total):
    """Real programs with malloc replaced by the LD_PRELOAD library (make host): python3, the host tests
    and, with --patterns, issue 14's patterns run small (every block checked across threads, thread
    exits with a destructor's late free, realloc's copies; the last pattern's line means all ran);
    with --park-program, every blocking call the library parks in; with --park-check, python3, the
    park program and the patterns again under the library that aborts when a parked thread allocates."""
    python = [sys.executable, "-c", PRELOAD_WORKLOAD]
    programs = [("python3 under LD_PRELOAD malloc", python, "workload ok", [], args.preload),
                ("python3 under LD_PRELOAD malloc in lean mode", python, "workload ok", ["RVMEM_MALLOC_MODE=lean"],
                 args.preload),
                ("host tests under LD_PRELOAD malloc", [args.plain_host], "# ktest:", [], args.preload)]
    if args.patterns:
        programs.append(("patterns under LD_PRELOAD malloc", [args.patterns, "--quick", "all"],
                         "pattern aslimit allocator " + os.path.basename(args.preload), [], args.preload))
    if args.park_program:
        programs.append(("park program under LD_PRELOAD malloc", [args.park_program], "park program ok", [],
                         args.preload))
    if args.park_check:
        # The library whose allocation functions abort when called by a parked thread (lib/host/preload.c):
        # no blocking call it wraps may allocate inside.
        programs.append(("python3 under the park check", python, "workload ok", [], args.park_check))
        if args.park_program:
            programs.append(("park program under the park check", [args.park_program], "park program ok", [],
                             args.park_check))
        if args.patterns:
            programs.append(("patterns under the park check", [args.patterns, "--quick", "all"],
                             "pattern aslimit allocator " + os.path.basename(args.park_check), [], args.park_check))
    for label, command, expected, settings, library in programs:
        environment = ["env", "LD_PRELOAD=" + os.path.abspath(library), "RVMEM_MALLOC_STATS=1"]
        lean = "RVMEM_MALLOC_MODE=lean" in settings
        checked = library != args.preload
        log_path = os.path.join(args.log_dir, "preload-" + label.split()[0] + ("-lean" if lean else "") +
                                ("-parkcheck" if checked else "") + ".log")
        status, text, seconds = run(environment + settings + command, log_path, 600)
        count = ktap.Count()
        served = re.findall(r"rvmem malloc: .* (\d+) more-core calls", text)
        # Lean mode takes no run for any class in any of the processes (every block from TLSF).
        runs = re.findall(r"rvmem malloc: .* (\d+) small runs", text)
        lean_held = not lean or (runs and all(int(taken) == 0 for taken in runs))
        if status == 0 and expected in text and served and int(served[-1]) > 0 and lean_held:
            count.passed += 1
        else:
            count.failed += 1
            count.problems.append(f"{label}: exit {status}, expected output {'seen' if expected in text else 'missing'}, "
                                  f"allocator statistics {'seen' if served else 'missing'}"
                                  f"{'' if lean_held else ', small runs taken in lean mode: ' + ' '.join(runs)}")
        report(label, count, status, seconds, log_path)
        total.add(count)


def tool_tests(args, total):
    """The Python tools' own unit tests (the stack report's rules, QEMU ending on hang-up with this kernel)."""
    label = "tools (python unittest)"
    log_path = os.path.join(args.log_dir, "tools.log")
    os.environ["RVMEM_KERNEL"] = args.kernel  # tests/tools/test_qemu_hangup.py boots it
    status, text, seconds = run([sys.executable, "-m", "unittest", "discover", "-s", "tests/tools", "-v"], log_path,
                                300)
    count = ktap.Count()
    count.passed = len(re.findall(r" \.\.\. ok$", text, re.M))
    count.failed = len(re.findall(r" \.\.\. (FAIL|ERROR)$", text, re.M))
    if status != 0 and count.failed == 0:
        count.failed = 1
        count.problems.append(f"{label}: exit status {status}")
    report(label, count, status, seconds, log_path)
    total.add(count)


def tour_check(args, total):
    """`make run` with stdin not a terminal runs the tour (mode=tour) under -icount (the word icount in the
    bootargs: exact counts, so the cost step checks them) and exits 0 with every check held."""
    label = "make run without a terminal (tour)"
    log_path = os.path.join(args.log_dir, "tour.log")
    command = ["env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "make", "--no-print-directory", "-s", "run",
               f"BUILD={os.path.dirname(args.kernel)}", f"MACHINE={args.machine}", "SMP=2", f"MEM={args.mem}",
               f"BIOS={args.bios}", f"TIMEOUT={args.timeout}"]
    status, text, seconds = run(command, log_path, args.timeout + 30)
    text = text.replace("\r", "")
    steps = ["1. Stack frames", "2. Static allocation", "3. The heap", "4. The program break", "5. Fragmentation",
             "6. Cost", "7. A program's heap"]
    no_paging = "(no paging on this machine: programs cannot run here)" in text
    check_expectations(label, {
        "exit status 0": status == 0,
        "bootargs mode=tour icount": 'bootargs: "mode=tour icount"' in text,
        "the seven steps in order": all(step in text for step in steps) and
        [text.find(step) for step in steps] == sorted(text.find(step) for step in steps),
        "frames measured equal the compiler's": re.search(
            r"tour_frame_inner\s+0x[0-9a-f]+\s+(\d+)\s+\1\s+addi sp,sp,-\1", text),
        "no failed check": "check:" in text and ": NO" not in text,
        "sections mapped with their permissions, the guard page unmapped":
            re.search(r"\.text r-x, \.rodata r--, \.data rw-, \.bss rw-", text) and
            re.search(r"guard page 0x[0-9a-f]+-0x[0-9a-f]+, right under its stack, is unmapped", text),
        "box, vec, rc and arc shown": all(f"\n   {name}" in text for name in ("box: ", "vec of", "rc: ", "arc: ")),
        "a growing vec moves": "(moved: elements copied)" in text,
        "malloc moves the break": "<- sbrk" in text,
        "fragmentation picture": re.search(r"0x[0-9a-f]+ \|[.#]{64}\|", text),
        "cost table measured": re.search(r"page_alloc\(0\): 4 KiB from the buddy\s+\d+\s+\d+\s+\d+", text),
        "exact counts checked": "the same call counts the same instructions twice (exact counting): yes" in text,
        "a program's malloc called sbrk, its first touch mapped a page, its costs in order (or no paging)": no_paging or
        all(f"{claim}: yes" in text for claim in (
            "its malloc called sbrk, and the kernel moved its break (the heap has more pages)",
            "the page was not mapped until the program touched it; then one zeroed page was",
            "a system call less than a page fault or a malloc that calls sbrk",
            "every page the program held went back when it exited")),
        "tour verdict": "tour: every check held" in text,
    }, status, seconds, log_path, total)


def monitor_check(args, total):
    """The monitor driven through a pty: every command, bad input, line editing, poweroff exit 0."""
    import monitor_check as monitor  # noqa: E402 (tools/monitor_check.py)
    label = "monitor on a pty (smp=2)"
    log_path = os.path.join(args.log_dir, "monitor.log")
    started = time.monotonic()
    passed, failed, problems, transcript = monitor.check(qemu_command(args, 2, "mode=run"), timeout=60)
    with open(log_path, "w") as log:
        log.write(transcript)
    count = ktap.Count()
    count.passed, count.failed, count.problems = passed, failed, problems
    report(label, count, 0 if failed == 0 else 1, time.monotonic() - started, log_path)
    total.add(count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    qemu_options.add_arguments(parser, timeout=120, smp="1,4", smp_help="hart counts for the in-kernel runs")
    parser.add_argument("--host")
    parser.add_argument("--checked-kernel", help="a CHECKED=1 build: its allocator suites run too")
    parser.add_argument("--fuzz", action="append", default=[])
    parser.add_argument("--preload", help="the LD_PRELOAD malloc (make host): real programs run under it")
    parser.add_argument("--plain-host", help="the host tests built without sanitizers, run under --preload")
    parser.add_argument("--binding-tests", help="build/host/binding-tests (the host binding's own tests)")
    parser.add_argument("--patterns", help="build/malloc-patterns (issue 14's patterns): run small under --preload")
    parser.add_argument("--park-program", help="build/host/park-program (every wrapped blocking call): run under --preload")
    parser.add_argument("--park-check", help="build/host/librvmem_malloc_parkcheck.so: python3, the park program and the "
                        "patterns run under it too")
    parser.add_argument("--fuzz-seconds", type=int, default=10)
    parser.add_argument("--relocated", help="kernel.bin: also boot it at --relocated-address behind --bounce")
    parser.add_argument("--bounce", help="tools/bounce.S built for --relocated-address (placed at 0x80200000)")
    parser.add_argument("--relocated-address", default="0x84000000")
    parser.add_argument("--tests", default="")
    parser.add_argument("--log-dir", default="build/test-logs")
    args = parser.parse_args()
    os.makedirs(args.log_dir, exist_ok=True)

    total = ktap.Count()
    print("rvmem tests:")
    for harts in [int(h) for h in args.smp.split(",") if h]:
        kernel_suites(args, harts, total)
    if args.checked_kernel:
        kernel_suites(args, 4, total, kernel=args.checked_kernel,
                      tests="buddy*,brk,sbrk,pages,malloc*,box,vec,rc,arc,vm,vm_shadow,kernel_space,paging",
                      name="checked (CHECKED=1)")
    if not args.tests:
        kernel_suites(args, 2, total, tests="sbrk,pages,malloc_exhaustion", name="heap_max=64K", extra_bootargs=" heap_max=64K")
        kernel_suites(args, 2, total, tests="boot,stack,paging,vm_pages,buddy", name="paging=off (physical)",
                      extra_bootargs=" paging=off")
        long_bootargs_check(args, total)
        overlong_value_check(args, total)
        unknown_mode_check(args, total)
        no_memory_node_check(args, total)
        if args.relocated:
            relocated_suites(args, total)
        crash_check(args, total)
        stack_overflow_checks(args, total)
        paging_fault_checks(args, total)
        propagation_check(args, total)
        leak_check_selftest(args, total)
        smp_propagation_check(args, total)
        tour_check(args, total)
        monitor_check(args, total)
    if args.host:
        host_tests(args, total)
    if args.binding_tests:
        binding_tests(args, total)
    if args.preload and args.plain_host and not args.tests:
        preload_checks(args, total)
    if not args.tests:
        tool_tests(args, total)
    for target in args.fuzz:
        fuzz_smoke(args, target, total)
    print(f"tests: {total.passed} passed, {total.failed} failed" + (f", {total.skipped} skipped" if total.skipped else "") +
          ("; nothing ran: does the filter name a suite?" if total.passed == 0 and total.failed == 0 else ""))
    return 0 if total.failed == 0 and total.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
