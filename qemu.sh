#!/bin/sh
# qemu.sh - boot an rvmem image in QEMU with OpenSBI and turn the guest's verdict into an exit status.
#
# Usage: ./qemu.sh [options] IMAGE
#   -M MACHINE   QEMU machine (default virt)
#   -s HARTS     hart count (default 4)
#   -m MEMORY    RAM size, e.g. 256M or 4G (default 256M)
#   -a ARGS      bootargs, passed with -append into /chosen/bootargs (e.g. "mode=test tests=fdt")
#   -i           count instructions exactly: -icount shift=0 (benchmarks, the tour's cost table; every
#                hart then runs on one host thread), and add the word icount to the bootargs so the
#                guest knows its counts are exact.
#   -t SECONDS   give up after SECONDS (default 120; 0 = never); exit status 124 then
#   -g           wait for gdb on tcp::1234 before running (see `make debug`)
#   -b BIOS      firmware: "default" (QEMU's OpenSBI), "debian" (Debian's fw_dynamic.bin) or a path
#   -d FILE      use this device-tree blob instead of QEMU's own (-dtb)
#   -x ARG       one extra QEMU argument (repeatable)
# Environment: QEMU= the emulator (default qemu-system-riscv64; qemu-system-riscv32 for ARCH=rv32 images).
# On a terminal, QEMU ends when the terminal hangs up (tools/end_on_hangup.py), as it would not by itself.
# Exit status: the guest's exit code (0 pass, 1 tests failed, 2 panic, 3 crash, 4 bench budget),
# 124 on timeout, 129 when the terminal hung up, or QEMU's own failure.
set -eu

machine=virt harts=4 memory=256M bootargs="" icount="" seconds=120 gdb="" bios=default dtb="" extra=""
while getopts "M:s:m:a:it:gb:d:x:" option; do
    case "$option" in
    M) machine=$OPTARG ;;
    s) harts=$OPTARG ;;
    m) memory=$OPTARG ;;
    a) bootargs=$OPTARG ;;
    i) icount=1 ;;
    t) seconds=$OPTARG ;;
    g) gdb=1 ;;
    b) bios=$OPTARG ;;
    d) dtb=$OPTARG ;;
    x) extra="$extra $OPTARG" ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
image=$1
[ -f "$image" ] || { echo "qemu.sh: no image at $image (run make first)" >&2; exit 2; }

case "$bios" in
debian) bios=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin ;;
esac

set -- "${QEMU:-qemu-system-riscv64}" -machine "$machine" -smp "$harts" -m "$memory" -nographic -bios "$bios" -kernel "$image"
[ -n "$icount" ] && bootargs="${bootargs:+$bootargs }icount"
[ -n "$bootargs" ] && set -- "$@" -append "$bootargs"
[ -n "$icount" ] && set -- "$@" -icount shift=0
[ -n "$dtb" ] && set -- "$@" -dtb "$dtb"
[ -n "$gdb" ] && set -- "$@" -s -S
# shellcheck disable=SC2086
[ -n "$extra" ] && set -- "$@" $extra

if [ "$seconds" != 0 ] && [ -z "$gdb" ]; then
    # Keep stdin attached (the monitor reads the console); kill QEMU hard if TERM is ignored.
    set -- timeout --foreground -k 5 "$seconds" "$@"
fi
if [ -t 0 ]; then
    # A terminal: end QEMU when it hangs up. QEMU stays in the foreground, reading the keys.
    set -- python3 "$(dirname "$0")/tools/end_on_hangup.py" "$@"
fi
exec "$@"
