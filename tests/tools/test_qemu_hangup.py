"""tests/tools/test_qemu_hangup.py - closing the terminal of ./qemu.sh ends QEMU (tools/end_on_hangup.py).

Run from the top of the tree: python3 -m unittest discover -s tests/tools
Boots the monitor (mode=run, one hart) of build/kernel.elf, or of the image RVMEM_KERNEL names, on
a pseudo-terminal, waits for its prompt, then closes the terminal's master side, as a killed tmux
session or a dropped ssh connection does, and checks that QEMU is gone within HANGUP_SECONDS. The
terminal is either no one's controlling terminal, or that of a session whose leader waits on
without passing SIGHUP on, as make does: in both, only the hang-up itself can end QEMU. Every
process a test starts is killed by pid when it ends, passed or not. Skipped without an image or QEMU.
"""
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KERNEL = os.environ.get("RVMEM_KERNEL", os.path.join(ROOT, "build", "kernel.elf"))
QEMU = os.environ.get("QEMU", "qemu-system-riscv64")
PROMPT = b"rvmem> "
BOOT_SECONDS = 60
HANGUP_SECONDS = 10
HANGUP_STATUS = 128 + signal.SIGHUP

# A session leader like make: it catches SIGHUP and waits for its child, passing nothing on.
WAITING_LEADER = ("import signal, subprocess, sys; signal.signal(signal.SIGHUP, lambda *_: None); "
                  "sys.exit(subprocess.call(sys.argv[1:]))")


def parent_of(pid):
    """The parent pid from /proc/PID/stat, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def running(pid):
    """Whether pid is a live process (not gone, not a zombie waiting for its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def command_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def descendants(pid):
    """Every live process below pid."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            children.setdefault(parent_of(int(entry)), []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def make_controlling_terminal():
    """In the child, after start_new_session's setsid(): standard input becomes its terminal."""
    import fcntl
    import termios
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@unittest.skipUnless(os.path.isfile(KERNEL) and shutil.which(QEMU), f"needs {KERNEL} (make) and {QEMU}")
class HangUpEndsQemu(unittest.TestCase):
    def start(self, command, **options):
        """Starts command on a new pseudo-terminal; returns (process, master side)."""
        master, slave = pty.openpty()
        process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, **options)
        os.close(slave)
        self.started = [process.pid]
        self.addCleanup(self.kill_everything, process)
        return process, master

    def kill_everything(self, process):
        """Kills, by pid, every process this test started that is still there."""
        for pid in reversed(self.started + descendants(process.pid)):
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def wait_for_prompt(self, master):
        output, deadline = b"", time.monotonic() + BOOT_SECONDS
        while PROMPT not in output and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
        self.assertIn(PROMPT, output, "the monitor's prompt never came: " + output[-500:].decode("utf-8", "replace"))

    def qemu_below(self, process):
        pids = [pid for pid in descendants(process.pid) if command_name(pid).startswith("qemu-system")]
        self.assertEqual(len(pids), 1, f"one QEMU below ./qemu.sh, found {pids}")
        self.started += pids
        return pids[0]

    def hang_up_and_check(self, process, master):
        self.wait_for_prompt(master)
        qemu = self.qemu_below(process)
        os.close(master)  # the terminal goes away
        deadline = time.monotonic() + HANGUP_SECONDS
        while running(qemu) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(running(qemu), f"QEMU (pid {qemu}) still runs {HANGUP_SECONDS} s after its terminal hung up")
        self.assertEqual(process.wait(HANGUP_SECONDS), HANGUP_STATUS)

    def qemu_sh(self):
        return ["./qemu.sh", "-s", "1", "-t", str(BOOT_SECONDS * 2), "-a", "mode=run", KERNEL]

    def test_terminal_of_no_session(self):
        process, master = self.start(self.qemu_sh())
        self.hang_up_and_check(process, master)

    def test_controlling_terminal_whose_session_leader_waits_like_make(self):
        process, master = self.start([sys.executable, "-c", WAITING_LEADER] + self.qemu_sh(),
                                     start_new_session=True, preexec_fn=make_controlling_terminal)
        self.hang_up_and_check(process, master)


if __name__ == "__main__":
    unittest.main()
