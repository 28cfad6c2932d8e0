#!/bin/sh
# tools/deps.sh - make sure the tools a make target needs are installed.
#
# Usage: tools/deps.sh kernel|host|bench|all
#   kernel: RISC-V cross compiler, QEMU, OpenSBI, dtc, python3 (make all/run/test/bench)
#   host:   host C compiler with sanitizers and the C library's headers, clang with libFuzzer,
#           python3 (make host-test/test)
#   bench:  host, plus valgrind (callgrind: make bench's host part, make bench-host)
#   all:    all three, plus gdb-multiarch, clang-format, cppcheck, tmux, U-Boot and the 32-bit
#           host libraries (make deps: everything make test-matrix and make lint use too)
# Missing tools are installed with apt-get when this machine has it and we are root (or
# have password-less sudo): one line names the packages, apt's own output goes to a log that is
# shown only when apt-get fails. Packages come without the ones they merely recommend (for
# qemu-system-misc: its graphics, audio, block and network firmware extras, none of which a
# -nographic RISC-V run uses): the packages named here and their dependencies hold every file
# the targets use. Otherwise the exact command is printed and the script fails.
set -eu

want=${1:-all}
missing=""

need() { # need COMMAND PACKAGE...
    command -v "$1" >/dev/null 2>&1 || missing="$missing $(shift; echo "$@")"
}
need_file() { # need_file PATH PACKAGE...
    [ -e "$1" ] || missing="$missing $(shift; echo "$@")"
}

have_cross() {
    command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || command -v riscv64-linux-gnu-gcc >/dev/null 2>&1
}

case "$want" in
kernel | all)
    have_cross || missing="$missing gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf"
    need qemu-system-riscv64 qemu-system-misc
    need_file /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin opensbi
    need dtc device-tree-compiler
    need python3 python3
    ;;
esac
case "$want" in
host | bench | all)
    need gcc gcc
    need_file /usr/include/stdio.h libc6-dev # gcc only recommends it
    need clang clang
    need qemu-system-riscv64 qemu-system-misc
    need dtc device-tree-compiler
    need_file /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev
    need python3 python3
    ;;
esac
case "$want" in
bench | all)
    need valgrind valgrind
    ;;
esac
if [ "$want" = all ]; then
    need gdb-multiarch gdb-multiarch
    need clang-format clang-format
    need cppcheck cppcheck
    need tmux tmux
    # make test-matrix: U-Boot for the booti run; the 32-bit host tests (x86-64 hosts).
    need_file /usr/lib/u-boot/qemu-riscv64_smode/uboot.elf u-boot-qemu
    if [ "$(uname -m)" = x86_64 ]; then
        need_file /usr/lib/gcc/x86_64-linux-gnu/12/32/libgcc.a gcc-multilib
        need_file /usr/lib32/libasan.so.8 lib32asan8
        need_file /usr/lib32/libubsan.so.1 lib32ubsan1
    fi
fi

[ -z "$missing" ] && exit 0
# shellcheck disable=SC2086
packages=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
packages=${packages% }

if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo"
    else
        echo "rvmem: missing tools. Install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages" >&2
        exit 1
    fi
    printf 'rvmem: installing with apt-get: %s... ' "$packages"
    log=$(mktemp "${TMPDIR:-/tmp}/rvmem-apt.XXXXXX")
    # shellcheck disable=SC2086
    if { $sudo apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
            $packages; } >"$log" 2>&1; then
        echo "done"
        rm -f "$log"
        exit 0
    fi
    echo "failed" >&2
    echo "rvmem: apt-get failed; the end of its output, progress lines left out (all of it in $log):" >&2
    grep -v '^(Reading database' "$log" | tail -n 25 >&2
    exit 1
fi
echo "rvmem: missing tools and no apt-get here. On Debian or Ubuntu install:" >&2
echo "  apt-get install -y --no-install-recommends $packages" >&2
exit 1
