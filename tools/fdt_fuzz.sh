#!/bin/sh
# tools/fdt_fuzz.sh - builds tests/fuzz/fuzz_fdt.c with libFuzzer and runs it.
#
# Usage: tools/fdt_fuzz.sh [SECONDS] [BUILD_DIR]    (defaults: 60, build)
# Seeds the corpus BUILD_DIR/fdt_corpus with the blobs of tools/fdt_blobs.sh (made first if
# missing) and keeps what the fuzzer finds there between runs. A crash leaves crash-* files
# in the current directory and fails. Needs clang and libclang-rt-14-dev. Run from the
# repository root.
set -eu

seconds=${1:-60}
build=${2:-build}
CLANG=${CLANG:-clang}
corpus="$build/fdt_corpus"

[ -e "$build/fdt_blobs.c" ] || tools/fdt_blobs.sh "$build/fdt_blobs.c"
mkdir -p "$corpus"
cp "$build"/fdt_qemu_virt.dtb "$build"/fdt_qemu_sifive_u.dtb "$build"/fdt_board.dtb "$corpus"/

"$CLANG" -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Werror -DRVMEM_HOST -I. \
    tests/fuzz/fuzz_fdt.c kernel/platform/fdt.c kernel/platform/fdt_query.c -o "$build/fuzz_fdt"
"$build/fuzz_fdt" -max_total_time="$seconds" -timeout=10 -max_len=16384 "$corpus"
