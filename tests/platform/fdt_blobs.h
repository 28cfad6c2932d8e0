/*
 * tests/platform/fdt_blobs.h - device tree blobs for tests/platform/fdt.c and the fuzzer corpus.
 *
 * Defined in build/fdt_blobs.c, which tools/fdt_blobs.sh generates at build time:
 *   fdt_blob_qemu_virt      qemu-system-riscv64 -machine virt,dumpdtb=... -smp 4 -m 256M
 *                           -append "mode=test tests=x"   (/chosen/bootargs set)
 *   fdt_blob_qemu_sifive_u  qemu-system-riscv64 -machine sifive_u,dumpdtb=... -smp 5
 *   fdt_blob_board          dtc of tests/data/fdt_board.dts (/memreserve/, /reserved-memory,
 *                           odd cpus, stdout-path through an alias with options)
 * Each array holds exactly the blob's totalsize bytes, 8-byte aligned.
 */
#ifndef RVMEM_TESTS_PLATFORM_FDT_BLOBS_H
#define RVMEM_TESTS_PLATFORM_FDT_BLOBS_H

#include <stddef.h>

extern const unsigned char fdt_blob_qemu_virt[];
extern const size_t fdt_blob_qemu_virt_bytes;
extern const unsigned char fdt_blob_qemu_sifive_u[];
extern const size_t fdt_blob_qemu_sifive_u_bytes;
extern const unsigned char fdt_blob_board[];
extern const size_t fdt_blob_board_bytes;

#endif
