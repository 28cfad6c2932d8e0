#!/usr/bin/env python3
"""tools/monitor_check.py - drives the rvmem monitor through QEMU's serial console on a pty.

Used by tools/test.py (monitor_check) and runnable by hand:
    python3 tools/monitor_check.py ./qemu.sh -s 2 -a mode=run build/kernel.elf

Boots the given command with a pseudo-terminal as its stdin and stdout (what a person at
`make run` has), types each command of SCRIPT byte by byte, waits for the next prompt and
checks the answer against a regular expression; then `poweroff`, which must end QEMU with
exit status 0. Prints one line per expectation and returns (passed, failed, transcript).
"""
import os
import pty
import re
import select
import subprocess
import sys
import time

PROMPT = b"rvmem> "
CONTROL_U = "\x15"
BACKSPACE = "\x7f"

# (what is typed, what the answer must match, what the expectation is called)
SCRIPT = [
    ("help", r"map \[COLUMNS\].*\n.*poweroff", "help lists the commands"),
    ("help", r"bench \[FILTER\] .*exact counts under -icount only: make run ICOUNT=1", "help says how to count exactly"),
    ("mem", r"usable total: .* in \d+ range\(s\)\s+pages: \d+ total", "mem: memory map and totals"),
    ("buddy", r"free blocks per order:(\s+\d+){11}\s+buddy pages: fragmentation index", "buddy: blocks per order and index"),
    ("map 40", r"0x[0-9a-f]+ \|[.#:hKx ]{40}\|", "map 40: rows of 40 cells"),
    ("heap", r"break: 0x[0-9a-f]+ \(heap.*validator ok", "heap: the break and malloc"),
    ("heap trim", r"trim: every hart's cache flushed, .* given back through the break\n.*break: 0x.*\(\+ 0 B in per-hart caches\)"
                  r".*validator ok", "heap trim: every hart's cache, then the statistics"),
    ("heap mode", r"malloc mode: fast \(size classes", "heap mode: fast at boot"),
    ("heap mode lean", r"malloc mode: lean \(every new block from TLSF", "heap mode lean: every hart switched"),
    ("heap", r"malloc: .* run\(s\).*\n.*validator ok", "heap in lean mode: the statistics and the validator"),
    ("heap mode slow", r"error: usage: heap", "heap mode of no mode: usage"),
    ("heap mode fast", r"malloc mode: fast", "heap mode fast: back"),
    ("stacks", r"\n\s+0\s+0x[0-9a-f]+-0x[0-9a-f]+\s+\d+\s+\d+\s+intact.*monitor_main\s+(>=)?\s*\d+ bytes",
     "stacks: per hart and the static worst case"),
    ("vm", r"kernel map: Sv(39|32), identity.*\n.*r-x  \.text\n.*r--  \.rodata\n.*---  the guard page under hart 0's "
           r"stack\n.*rw-  hart 0's stack\n.*rw-  the direct map of RAM.*r--  the device tree blob",
     "vm lists the kernel's mappings, guard pages and all"),
    ("vm 0x80200000", r"level \d: table 0x[0-9a-f]+ \[ *\d+\] entry 0x[0-9a-f]+ -> table.*level 0: .*leaf of 4 KiB at "
                      r"0x80200000, r-x global\n  = physical 0x80200000, in \.text, which is read\+execute",
     "vm ADDRESS walks the tables level by level"),
    ("vm 0x1000", r"invalid: nothing mapped\n  = no translation: which is unmapped", "vm of an unmapped address"),
    ("vm nowhere", r"error: usage: vm \[ADDRESS \| PID\]", "vm with a bad address: usage"),
    ("ps", r"0 process\(es\), at most \d+; 0 pages held by programs, \d+ kept for the kernel", "ps with no process"),
    ("run no_such_program", r'error: no program "no_such_program"; the embedded ones: .*hello', "run of no program"),
    ("kill 4242", r"error: no live process 4242", "kill of no process"),
    ("alloc page 2", r"#1: 0x[0-9a-f]+-0x[0-9a-f]+, order 2 page block \(16.0 KiB\)", "alloc page 2 gives #1"),
    ("alloc", r"#1: .*\n1 block\(s\) held", "alloc alone lists the block"),
    ("test printf", r"error: test: the monitor holds 1 block\(s\): free them first", "no tests while blocks are held"),
    ("map 40", r"\|[.#:hKx ]{40}\|", "map still draws with a block out"),
    ("free 1", r"freed #1 \(0x[0-9a-f]+, order 2\): ok", "free 1 frees it"),
    ("free 1", r"error: free: block #1 was freed already", "a second free 1 is refused"),
    ("alloc heap 100", r"#2: 0x[0-9a-f]+, malloc block of 100 bytes \(usable \d+\)",
     "alloc heap 100 gives #2 (a freed id is not reused)"),
    ("free 1", r"error: free: block #1 was freed already", "the stale id 1 is refused"),
    ("alloc", r"#2: 0x[0-9a-f]+, malloc block of 100 bytes.*\n1 block\(s\) held", "the newer block #2 is intact"),
    ("free 99", r"error: free: no block #99: alloc has not handed it out", "an id never handed out is refused"),
    ("alloc heap 64K", r"#3: 0x[0-9a-f]+, malloc block of 65536 bytes", "alloc heap 64K gives #3"),
    ("heap", r"malloc: [\d.]+ \w+ in use .*validator ok", "heap: malloc statistics and the validator"),
    ("free 3", r"freed #3 \(0x[0-9a-f]+, malloc block of 65536 bytes\): ok", "free 3 frees the heap block"),
    ("free 2", r"freed #2 \(0x[0-9a-f]+, malloc block of 100 bytes\): ok", "free 2 frees the other"),
    ("alloc heap 1T", r"error: usage: alloc", "alloc heap 1T: usage (no T suffix)"),
    ("alloc heap 16G", r"error: alloc: malloc\(17179869184\) failed", "alloc heap 16G: out of memory"),
    ("alloc page 11", r"error: alloc: order 11 is above the largest", "order too large"),
    ("alloc page x", r"error: usage: alloc", "bad argument: usage"),
    ("map 5", r"error: usage: map", "map 5: usage"),
    ("frobnicate", r'error: unknown command "frobnicate"', "unknown command"),
    ("x" * 200, r"error: line longer than 120 characters", "overlong line refused"),
    ("helq" + BACKSPACE + "p", r"this list", "backspace edits the line"),
    ("junk words" + CONTROL_U + "heap", r"break: 0x", "Ctrl-U clears the line"),
    ("test crash", r"error: test: crash\.\w+ ends the run on purpose", "crash tests refused"),
    ("test monitor", r"error: test: the monitor's own tests", "the monitor's own tests refused"),
    ("test printf", r"test: \d+ run, 0 failed", "test printf passes"),
    ("test nosuch", r'error: test: no test matches "nosuch"', "test nosuch explains"),
    ("bench nosuch", r'error: bench: no benchmark matches "nosuch" \(benchmarks: \w+', "bench nosuch explains"),
    # make run leaves -icount off for the monitor: the tour and bench say what their counts are then.
    ("tour", r"QEMU runs without -icount here.*make run ICOUNT=1.*tour: every check held",
     "tour without -icount: says so, and every check holds"),
    ("bench stack_frame_16B", r"note: QEMU runs without -icount here.*make run ICOUNT=1.*stack_frame_16B",
     "bench without -icount says its figures are not instructions"),
]


class Console:
    def __init__(self, command):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.output = b""
        self.cursor = 0  # output before this has been matched by read_until

    def read_until(self, pattern, seconds):
        """Reads until pattern (bytes) appears after what was consumed; returns the text up to and
        including it (then consumed), or None on timeout or end of output."""
        deadline = time.monotonic() + seconds
        while pattern not in self.output[self.cursor:]:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    return None
                if not chunk:
                    return None
                self.output += chunk
        end = self.output.index(pattern, self.cursor) + len(pattern)
        text, self.cursor = self.output[self.cursor:end], end
        return text

    def type(self, text, enter=b"\r"):
        for byte in text.encode():
            os.write(self.master, bytes([byte]))
            time.sleep(0.001)
        os.write(self.master, enter)

    def finish(self, seconds):
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return 124
        finally:
            try:
                while select.select([self.master], [], [], 0.1)[0]:
                    chunk = os.read(self.master, 4096)
                    if not chunk:
                        break
                    self.output += chunk
            except OSError:
                pass
            os.close(self.master)


def check(command, timeout=60, verbose=False):
    """Runs SCRIPT against command; returns (passed, failed, problems, transcript)."""
    console = Console(command)
    passed, failed, problems = 0, 0, []

    def expect(met, name):
        nonlocal passed, failed
        if met:
            passed += 1
        else:
            failed += 1
            problems.append(f"monitor: expected {name}")
        if verbose:
            print(f"  {'ok' if met else 'FAILED'}: {name}")

    booted = console.read_until(PROMPT, timeout) is not None
    expect(booted, "the prompt after boot")
    if booted:
        for typed, pattern, name in SCRIPT:
            console.type(typed)
            answer = console.read_until(PROMPT, timeout)
            text = (answer or b"").decode("utf-8", "replace").replace("\r", "")
            expect(answer is not None and re.search(pattern, text, re.S) is not None, name)
        # A line ended by CR LF (a serial terminal's Enter) runs once: no second, empty prompt.
        console.type("heap", enter=b"\r\n")
        answer = console.read_until(PROMPT, timeout)
        extra_prompt = console.read_until(PROMPT, 0.5)
        expect(answer is not None and b"break: 0x" in answer and extra_prompt is None, "CR LF is one Enter, not two")
        console.type("poweroff")
        expect(console.read_until(b"powering off", timeout) is not None, "poweroff says so")
    status = console.finish(timeout if booted else 1)
    expect(status == 0, f"QEMU exits with status 0 after poweroff (got {status})")
    return passed, failed, problems, console.output.decode("utf-8", "replace")


if __name__ == "__main__":
    counts = check(sys.argv[1:], verbose=True)
    print(f"monitor: {counts[0]} passed, {counts[1]} failed")
    sys.exit(1 if counts[1] else 0)
