#!/usr/bin/env python3
"""tools/test_matrix.py - one image, every QEMU RISC-V machine: what `make test-matrix` runs.

Boots the in-kernel suites (mode=test) on:
  - virt with 1, 2, 4 and 8 harts, each with 64M, 256M, 2G and 4G of RAM (with 4G QEMU puts
    the device tree in the middle of RAM);
  - sifive_u with 5 harts (hart 0 is the S-mode-less monitor core), 256M and 2G;
  - spike with 1 and 4 harts (HTIF only: the console falls back to SBI);
  - console variants: stdout-path through an alias with ":115200n8" options (virt, sifive_u);
  - with --relocated-kernel: the image linked for 0x80200000 loaded at another address by QEMU's
    generic loader behind a two-instruction bounce payload at 0x80200000 (tools/bounce.S, standing
    in for U-Boot): it relocates itself;
  - with --linked-kernel: an image linked for that address (LOAD_ADDR=) loaded there, and the same
    image loaded at 0x80200000 by -kernel (relocation downwards);
  - with --uboot: U-Boot's `booti` starting the image from that address, as on a board;
  - with --firmware / --rv32-kernel and --rv32-firmware: firmware/ (the minimal M-mode SBI) booting
    the rv64 image, and the ARCH=rv32 image on qemu-system-riscv32 virt (1, 4, 8 harts);
  - with --host32: the portable code's host tests built with -m32;
  - with --dw-apb-dtb: microchip-icicle-kit, whose UARTs are 16550s with reg-shift 2 and
    reg-io-width 4, described as snps,dw-apb-uart (as on JH7110 and D1);
  - paging: every row above must run with paging on (Sv39, or Sv32 on rv32); three rows edit the
    device tree so that harts have no MMU (mmu-type "riscv,none" on every cpu, or on one, or
    mmu-type deleted) and must run physical and pass;
  - the guard page: for each hart count, the last hart overflows its stack on purpose
    (crash.stack_overflow_into_guard_page) and the run must end in the overflow report naming it
    (exit 2), on rv64 and on rv32.

The verdict of each run comes from the console: the KTAP output must be complete and clean and
the kernel must print "power: exit 0". Where the machine reports an exit status (virt's
sifive,test finisher) that status must agree. Where it cannot (sifive_u, spike: see
docs/PLATFORM.md), the runner ends QEMU itself once the verdict line is out. A run that
prints no verdict within --timeout seconds fails (status 124).

Prints a table (machine, harts, RAM, boot hart, console, result, time) and
"matrix: N passed, N failed"; exits non-zero if any run failed.
"""
import argparse
import concurrent.futures
import errno
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402
import qemu_options  # noqa: E402

VERDICT = re.compile(r"^power: exit (\d+)\s*$", re.M)
BOOT_HART = re.compile(r"boot hart: hartid (\d+)")
CONSOLE = re.compile(r"^  console: (\S+)", re.M)
HARTS_ONLINE = re.compile(r"^  harts: (\d+) online", re.M)
# Seconds QEMU gets to exit by itself after the verdict line before the runner ends it.
GRACE_SECONDS = 2.0
# Process groups of the QEMUs running now: each runs in its own session (so the runner can end it
# with its children), so a runner stopped from outside must end them itself (spike never exits).
running_groups = set()
running_lock = threading.Lock()


def end_running_and_exit(signal_number, _frame):
    """SIGINT/SIGTERM: ends every QEMU still running, then exits as the signal asks."""
    with running_lock:
        for group in list(running_groups):
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
    os._exit(128 + signal_number)


class Run:
    """One boot of the matrix: how to start it and what it must show."""

    def __init__(self, machine, harts, memory, exit_status=True, expect_harts=None, expect_console=None,
                 dtb=None, extra=(), kernel=None, note="", bios=None, script=(), qemu=None, expect_paging="on",
                 tests=None, expect_exit=0, expect_text=()):
        self.machine, self.harts, self.memory = machine, harts, memory
        self.exit_status = exit_status  # the machine reports the guest's exit code
        self.expect_harts = harts if expect_harts is None else expect_harts
        self.expect_console = expect_console
        self.dtb = dtb  # a function (run, args) -> path of a device tree to pass with -dtb
        self.extra = list(extra)  # more QEMU options, each one ./qemu.sh -x argument
        self.kernel = kernel  # the image, when not --kernel
        self.note = note
        self.bios = bios  # firmware for this machine (default: --bios)
        self.script = list(script)  # (text to wait for, line to type on the console), in order
        self.qemu = qemu  # the emulator when not qemu-system-riscv64
        self.expect_paging = expect_paging  # "on" or "off": what the boot line "paging: ..." must say
        self.tests = tests  # a tests= filter of the row's own (a crash run), instead of --tests
        self.expect_exit = expect_exit  # the verdict the run must end with (a crash run: not 0)
        self.expect_text = list(expect_text)  # (regular expression, what it checks) the output must match

    def name(self):
        text = f"{self.machine}-smp{self.harts}-{self.memory}"
        return text + ("-" + re.sub(r"[^A-Za-z0-9]+", "-", self.note).strip("-") if self.note else "")


def dump_dtb(run, args, path):
    """QEMU's own tree for this machine, hart count and RAM size."""
    subprocess.run(["qemu-system-riscv64", "-machine", f"{run.machine},dumpdtb={path}", "-smp", str(run.harts),
                    "-m", run.memory, "-nographic", "-bios", "none"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def alias_dtb(uart_path):
    """A tree whose stdout-path is "serial0:115200n8" through /aliases (made with fdtput)."""

    def make(run, args):
        path = os.path.join(args.log_dir, f"{run.name()}.dtb")
        dump_dtb(run, args, path)
        subprocess.run(["fdtput", "-p", "-t", "s", path, "/aliases", "serial0", uart_path], check=True)
        subprocess.run(["fdtput", "-t", "s", path, "/chosen", "stdout-path", "serial0:115200n8"], check=True)
        return path

    return make


def mmu_dtb(how):
    """QEMU's virt tree with the harts' MMUs edited (fdtput): "none" sets mmu-type riscv,none on every
    cpu, "none-on-one" on cpu@1 only, "deleted" removes mmu-type from every cpu."""

    def make(run, args):
        path = os.path.join(args.log_dir, f"{run.name()}.dtb")
        dump_dtb(run, args, path)
        for cpu in range(run.harts if how != "none-on-one" else 1):
            node = f"/cpus/cpu@{cpu if how != 'none-on-one' else 1}"
            if how == "deleted":
                subprocess.run(["fdtput", "-d", path, node, "mmu-type"], check=True)
            else:
                subprocess.run(["fdtput", "-t", "s", path, node, "mmu-type", "riscv,none"], check=True)
        return path

    return make


def guard_page_run(harts, **options):
    """The last hart recurses into its guard page: the report must name it, with exit status 2."""
    last = harts - 1
    report = (rf"stack overflow on hart {last}: stack 0x[0-9a-f]+-0x[0-9a-f]+, sp 0x[0-9a-f]+, guard word \w+, "
              rf"detected by the guard page at 0x[0-9a-f]+ \(fault at 0x[0-9a-f]+, pc 0x[0-9a-f]+\)")
    return Run("virt", harts, "256M", expect_console="ns16550a", tests="crash.stack_overflow_into_guard_page",
               expect_exit=2, expect_text=[(report, f"the guard page's overflow report naming hart {last}")],
               note=f"guard page, hart {last} overflows" + options.pop("note_suffix", ""), **options)


def matrix(args):
    runs = []
    for harts in (1, 2, 4, 8):
        for memory in ("64M", "256M", "2G", "4G"):
            runs.append(Run("virt", harts, memory, expect_console="ns16550a"))
    # Hart 0 of sifive_u is the E51 monitor core (no MMU, no S-mode): 4 harts run the kernel.
    for memory in ("256M", "2G"):
        runs.append(Run("sifive_u", 5, memory, exit_status=False, expect_harts=4, expect_console="sifive,uart0"))
    for harts in (1, 4):
        runs.append(Run("spike", harts, "256M", exit_status=False, expect_console="SBI"))
    runs.append(Run("virt", 2, "256M", expect_console="ns16550a", dtb=alias_dtb("/soc/serial@10000000"),
                    note="alias serial0:115200n8"))
    runs.append(Run("sifive_u", 5, "256M", exit_status=False, expect_harts=4, expect_console="sifive,uart0",
                    dtb=alias_dtb("/soc/serial@10010000"), note="alias serial0:115200n8"))
    address = args.relocated_address
    if args.relocated_kernel:  # the default image, moved: it relocates itself
        runs.append(Run("virt", 4, "256M", expect_console="ns16550a",
                        extra=[qemu_options.loader(args.relocated_kernel, address)], kernel=args.bounce,
                        note=f"relocated to {address}"))
        runs.append(Run("sifive_u", 5, "256M", exit_status=False, expect_harts=4, expect_console="sifive,uart0",
                        extra=[qemu_options.loader(args.relocated_kernel, address)], kernel=args.bounce,
                        note=f"relocated to {address}"))
    if args.linked_kernel:  # an image linked for the address (LOAD_ADDR=), loaded there
        runs.append(Run("virt", 4, "256M", expect_console="ns16550a",
                        extra=[qemu_options.loader(args.linked_kernel, address)], kernel=args.bounce,
                        note=f"linked for {address}"))
        # ... and the same image loaded at 0x80200000 instead: relocation downwards.
        runs.append(Run("virt", 2, "64M", expect_console="ns16550a", kernel=args.linked_kernel,
                        note="linked elsewhere, at 0x80200000"))
    # U-Boot (S-mode, under OpenSBI) as on a board: the image sits where U-Boot's kernel_addr_r would
    # put it and `booti` starts it, with the bootargs set in U-Boot's environment. booti moves it to
    # RAM base + text_offset (0x80200000): the image linked for 0x84000000 then relocates itself.
    for image, what in ((args.relocated_kernel, "default image"), (args.linked_kernel, "LOAD_ADDR image")):
        if args.uboot and image:
            runs.append(Run("virt", 4, "256M", expect_console="ns16550a", extra=[qemu_options.loader(image, address)],
                            kernel=args.uboot,
                            script=[("autoboot", "\n"),
                                    ("=> ", f"setenv bootargs mode=test{' tests=' + args.tests if args.tests else ''}"
                                            f"; booti {address} - ${{fdtcontroladdr}}\n")],
                            note=f"U-Boot booti, {what}"))
    if args.firmware:  # the rv64 image on firmware/ instead of OpenSBI: the firmware is not rv32-only
        runs.append(Run("virt", 4, "256M", expect_console="ns16550a", bios=args.firmware,
                        note="on firmware/ (not OpenSBI)"))
    if args.rv32_kernel and args.rv32_firmware:  # rv32: no OpenSBI exists for it, firmware/ boots it
        for harts, memory in ((1, "64M"), (4, "256M"), (8, "2G")):
            runs.append(Run("virt", harts, memory, expect_console="ns16550a", bios=args.rv32_firmware,
                            kernel=args.rv32_kernel, qemu="qemu-system-riscv32", note="rv32 on firmware/"))
        # kernel.bin is loaded raw at 0x80400000 on rv32 (4 MiB past the firmware): it relocates itself.
        runs.append(Run("virt", 2, "256M", expect_console="ns16550a", bios=args.rv32_firmware,
                        kernel=os.path.splitext(args.rv32_kernel)[0] + ".bin", qemu="qemu-system-riscv32",
                        note="rv32 kernel.bin relocated"))
    # Harts without an MMU run physical (and pass): one such hart keeps the whole machine physical.
    runs.append(Run("virt", 4, "256M", expect_console="ns16550a", dtb=mmu_dtb("none"), expect_paging="off",
                    note="no MMU: mmu-type riscv,none"))
    runs.append(Run("virt", 4, "256M", expect_console="ns16550a", dtb=mmu_dtb("none-on-one"), expect_paging="off",
                    note="no MMU on hart 1 only"))
    runs.append(Run("virt", 2, "64M", expect_console="ns16550a", dtb=mmu_dtb("deleted"), expect_paging="off",
                    expect_harts=1, note="mmu-type deleted (1 hart starts)"))
    # Each hart count: its last hart's overflow is caught by its guard page.
    for harts in (1, 2, 4, 8):
        runs.append(guard_page_run(harts))
    if args.rv32_kernel and args.rv32_firmware:
        runs.append(guard_page_run(4, bios=args.rv32_firmware, kernel=args.rv32_kernel, qemu="qemu-system-riscv32",
                                   note_suffix=", rv32"))
    if args.dw_apb_dtb:
        # QEMU's default firmware here is the HSS, not OpenSBI: boot Debian's OpenSBI 1.1 instead.
        runs.append(Run("microchip-icicle-kit", 5, "2G", exit_status=False, expect_harts=4,
                        expect_console="snps,dw-apb-uart", dtb=lambda run, args: args.dw_apb_dtb,
                        note="dw-apb-uart reg-shift 2", bios="debian"))
    if args.only:
        runs = [run for run in runs if re.search(args.only, run.name())]
    return runs


def boot(run, args):
    """Boots one run; returns (ok, problems, text, seconds, status, ended_by_runner)."""
    tests = run.tests or args.tests
    command = qemu_options.command(run.kernel or args.kernel, machine=run.machine, harts=run.harts, mem=run.memory,
                                   timeout=0, bios=run.bios or args.bios,
                                   bootargs="mode=test" + (f" tests={tests}" if tests else ""),
                                   dtb=run.dtb(run, args) if run.dtb else None, extra=run.extra)
    started = time.monotonic()
    environment = dict(os.environ, QEMU=run.qemu) if run.qemu else None
    process = subprocess.Popen(command, stdin=subprocess.PIPE if run.script else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                               env=environment)
    with running_lock:
        running_groups.add(process.pid)
    chunks = []
    tail = [""]
    verdict_at = [None]

    def reader():
        script = list(run.script)
        seen = ""  # output not yet matched against the script (a prompt has no newline)
        for chunk in iter(lambda: os.read(process.stdout.fileno(), 4096), b""):
            text = chunk.decode("utf-8", "replace")
            chunks.append(text)
            seen += text
            while script and script[0][0] in seen:
                seen = seen[seen.index(script[0][0]) + len(script[0][0]):]
                process.stdin.write(script.pop(0)[1].encode())
                process.stdin.flush()
            tail[0] = (tail[0] + text)[-400:]  # the verdict line may arrive in several pieces
            if verdict_at[0] is None and VERDICT.search(tail[0].replace("\r", "")):
                verdict_at[0] = time.monotonic()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    ended_by_runner = timed_out = False
    status = None
    while status is None:
        status = process.poll()
        if status is not None:
            break
        now = time.monotonic()
        waited_for = now - verdict_at[0] if verdict_at[0] is not None else None
        # Machines without an exit device never stop: end them once the verdict is printed.
        if waited_for is not None and (not run.exit_status or waited_for > GRACE_SECONDS):
            ended_by_runner = True
        elif now - started > args.timeout:
            ended_by_runner = timed_out = True
        if ended_by_runner:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            break
        time.sleep(0.05)
    with running_lock:
        running_groups.discard(process.pid)
    thread.join(timeout=5)
    seconds = time.monotonic() - started
    text = "".join(chunks).replace("\r", "")
    with open(os.path.join(args.log_dir, run.name() + ".log"), "w") as log:
        log.write(text)
    return judge(run, text, process.returncode, ended_by_runner, timed_out, seconds)


PAGING = re.compile(r"^  paging: (on|off)", re.M)


def judge(run, text, status, ended_by_runner, timed_out, seconds):
    count = ktap.parse(text, run.name())
    problems = list(count.problems) if run.expect_exit == 0 else []  # a crash run ends inside its test
    if timed_out:
        problems.append(f"timed out after {seconds:.0f} s")
    verdict = VERDICT.search(text)
    if verdict is None:
        problems.append("no verdict line (power: exit N): hang or timeout" if ended_by_runner else
                        f"no verdict line; QEMU exit status {status}")
        status = 124 if ended_by_runner else status
    else:
        code = int(verdict.group(1))
        if code != run.expect_exit:
            problems.append(f"the kernel's verdict is exit {code}" +
                            (f", expected {run.expect_exit}" if run.expect_exit else ""))
        if run.exit_status and ended_by_runner:
            problems.append("QEMU did not exit by itself although this machine has an exit device")
        elif run.exit_status and status != code:
            problems.append(f"QEMU exit status {status} disagrees with the printed verdict {code}")
        status = code if not run.exit_status else status
    online = HARTS_ONLINE.search(text)
    if online is None or int(online.group(1)) != run.expect_harts:
        problems.append(f"expected {run.expect_harts} harts online, saw {online.group(1) if online else 'none'}")
    console = CONSOLE.search(text)
    if run.expect_console and (console is None or console.group(1) != run.expect_console):
        problems.append(f"expected console {run.expect_console}, saw {console.group(1) if console else 'none'}")
    paging = PAGING.search(text)
    if paging is None or paging.group(1) != run.expect_paging:
        problems.append(f"expected paging {run.expect_paging}, saw {paging.group(1) if paging else 'no paging line'}")
    for pattern, what in run.expect_text:
        if not re.search(pattern, text):
            problems.append(f"expected {what}")
    ok = not problems and (count.failed == 0 and count.passed > 0 if run.expect_exit == 0 else True)
    boot_hart = BOOT_HART.search(text)
    return {
        "ok": ok, "problems": problems, "passed": count.passed, "failed": count.failed, "seconds": seconds,
        "status": status, "ended_by_runner": ended_by_runner,
        "boot_hart": boot_hart.group(1) if boot_hart else "?", "console": console.group(1) if console else "?",
    }


def can_execute(program):
    """False when the kernel refuses to run program at all (ENOEXEC: e.g. -m32 binaries without IA32 emulation)."""
    try:
        subprocess.run([program, "no-test-has-this-name"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    except OSError as error:
        if error.errno == errno.ENOEXEC:
            return False
        raise
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    qemu_options.add_arguments(parser, timeout=90, machine=False, mem=False)
    parser.add_argument("--relocated-kernel", help="a raw image (.bin) to load at --relocated-address")
    parser.add_argument("--linked-kernel", help="a raw image linked for --relocated-address (LOAD_ADDR=)")
    parser.add_argument("--relocated-address", default="0x84000000")
    parser.add_argument("--bounce", help="the payload at 0x80200000 that jumps to --relocated-address")
    parser.add_argument("--uboot", help="U-Boot for QEMU virt in S-mode (Debian u-boot-qemu: "
                        "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf); skipped when absent")
    parser.add_argument("--firmware", help="firmware/ built for rv64: the rv64 image boots on it too")
    parser.add_argument("--rv32-kernel", help="an ARCH=rv32 kernel.elf (kernel.bin beside it)")
    parser.add_argument("--rv32-firmware", help="firmware/ built for rv32 (-bios): Debian has no rv32 OpenSBI")
    parser.add_argument("--host32", help="the host tests built with -m32 (build/rv32/host-tests), run when given")
    parser.add_argument("--dw-apb-dtb", help="device tree for microchip-icicle-kit (snps,dw-apb-uart console)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tests", default="", help="test filter passed as tests= (default: every suite)")
    parser.add_argument("--only", default="", help="regular expression: run only the matching configurations")
    parser.add_argument("--log-dir", default="build/matrix-logs")
    args = parser.parse_args()
    os.makedirs(args.log_dir, exist_ok=True)
    signal.signal(signal.SIGINT, end_running_and_exit)
    signal.signal(signal.SIGTERM, end_running_and_exit)

    if args.uboot and not os.path.exists(args.uboot):
        print(f"test-matrix: no U-Boot at {args.uboot} (apt-get install u-boot-qemu): its run is skipped")
        args.uboot = None
    runs = matrix(args)
    started = time.monotonic()
    print(f"rvmem test matrix: {len(runs)} runs, {args.jobs} at a time (logs in {args.log_dir})")
    header = f"  {'machine':<21} {'harts':>5} {'RAM':>5}  {'note':<34} {'boot':>4}  {'console':<16} {'tests':>9}  " \
             f"{'exit':>4} {'result':<6} {'time':>6}"
    print(header)
    passed = failed = 0
    failed_logs = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = pool.map(lambda run: (run, boot(run, args)), runs)
        for run, result in results:
            how = "*" if result["ended_by_runner"] else " "
            print(f"  {run.machine:<21} {run.harts:>5} {run.memory:>5}  {run.note:<34} {result['boot_hart']:>4}  "
                  f"{result['console']:<16} {result['passed']:>4}/{result['failed']:<4} {result['status']:>4}{how}"
                  f"{'ok' if result['ok'] else 'FAILED':<6} {result['seconds']:5.1f}s", flush=True)
            for problem in result["problems"][:10]:
                print(f"      {problem}")
            if result["ok"]:
                passed += 1
            else:
                failed += 1
                failed_logs.append(os.path.join(args.log_dir, run.name() + ".log"))
                print(f"      log: {failed_logs[-1]}")
    if args.host32 and not can_execute(args.host32):
        print(f"  {'host -m32 (ASan+UBSan)':<21} {'':>5} {'':>5}  {'portable code, 32-bit pointers':<34} {'':>4}  "
              f"skipped: built, but this host's kernel cannot run 32-bit x86 programs (no IA32 emulation)")
    elif args.host32:
        started_host = time.monotonic()
        result = subprocess.run([args.host32] + ([args.tests] if args.tests else []), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=600)
        text = result.stdout.decode("utf-8", "replace")
        with open(os.path.join(args.log_dir, "host32.log"), "w") as log:
            log.write(text)
        count = ktap.parse(text, "host32")
        ok = result.returncode == 0 and count.failed == 0 and count.passed > 0
        print(f"  {'host -m32 (ASan+UBSan)':<21} {'':>5} {'':>5}  {'portable code, 32-bit pointers':<34} {'':>4}  "
              f"{'':<16} {count.passed:>4}/{count.failed:<4} {result.returncode:>4} {'ok' if ok else 'FAILED':<6} "
              f"{time.monotonic() - started_host:5.1f}s")
        for problem in count.problems[:10]:
            print(f"      {problem}")
        passed, failed = passed + ok, failed + (not ok)
    print("  (tests: passed/failed; boot: hartid that won the boot race; * QEMU ended by the runner after "
          "the verdict, the machine has no exit device)")
    for path in failed_logs:  # CI keeps only the end of the output: the evidence goes last
        ktap.print_log_tail(path)
    print(f"matrix: {passed} passed, {failed} failed ({time.monotonic() - started:.0f} s)")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
