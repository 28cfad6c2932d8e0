#!/usr/bin/env python3
"""tools/end_on_hangup.py - run a command on this terminal, and end it when the terminal hangs up.

Usage: end_on_hangup.py COMMAND [ARGUMENT...]

./qemu.sh runs QEMU through this when its standard input is a terminal (make run, make debug).
QEMU with -nographic outlives its terminal (a killed tmux session, a dropped ssh): the kernel
sends SIGHUP only to the session's leader, and when that is make (`tmux new 'make run'`,
`ssh -t host make run`) nothing passes it on, so QEMU runs on, orphaned, with no one to type
Ctrl-A x. This waits, reading nothing and using no CPU, for either of two things:
- the command ends: this exits with its status (128 + N if signal N ended it);
- the terminal on standard input hangs up (poll reports POLLHUP or POLLERR on it): the command
  gets SIGHUP (QEMU shuts down on it), then SIGKILL if it is still there after
  KILL_AFTER_SECONDS, and this exits with 129 (128 + SIGHUP).
The command runs in this process's process group with the same standard input, output and
error, so it stays in the terminal's foreground and reads every key (QEMU's raw mode and Ctrl-A x
work as without this). SIGHUP, SIGINT and SIGTERM sent to this process are passed on to the
command, whose exit this then waits for. Exit status 127 when the command cannot be started.
"""
import os
import select
import signal
import subprocess
import sys

KILL_AFTER_SECONDS = 10  # longer than qemu.sh's `timeout -k 5`, which may sit between this and QEMU
HANGUP_STATUS = 128 + signal.SIGHUP
FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def exit_status(returncode):
    """A shell's view of a child's end: its status, or 128 + N when signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


def end(child):
    """Hangs up the child, then kills it if it lingers; returns once it is gone."""
    child.send_signal(signal.SIGHUP)
    try:
        child.wait(KILL_AFTER_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main(argv):
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    pending = []  # signals that arrived before the child existed
    child = None

    def pass_on(number, _frame):
        if child is None:
            pending.append(number)
        elif child.poll() is None:
            child.send_signal(number)

    for number in FORWARDED:
        signal.signal(number, pass_on)  # caught, not ignored: the child starts with the defaults
    try:
        child = subprocess.Popen(argv)
    except OSError as error:
        print(f"end_on_hangup: {argv[0]}: {error.strerror}", file=sys.stderr)
        return 127
    for number in pending:
        child.send_signal(number)

    watcher = select.poll()
    child_ended = os.pidfd_open(child.pid)
    watcher.register(child_ended, select.POLLIN)
    # Asking for no event: poll still reports POLLHUP and POLLERR, so nothing is read from the terminal.
    watcher.register(0, 0)
    while True:
        for descriptor, events in watcher.poll():
            if descriptor == child_ended:
                return exit_status(child.wait())
            if events & select.POLLNVAL:  # no standard input at all: only the child's end counts
                watcher.unregister(descriptor)
            elif events & (select.POLLHUP | select.POLLERR):
                end(child)
                return HANGUP_STATUS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
