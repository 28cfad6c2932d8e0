/*
 * tools/bounce.S - a two-instruction payload that jumps to TARGET with a0 and a1 untouched.
 *
 * Loaded by QEMU -kernel at 0x80200000, where OpenSBI enters its payload, it plays the part
 * U-Boot plays on a board: the image proper is loaded elsewhere (QEMU's generic loader,
 * -device loader,file=...,addr=TARGET) and entered there with a0 = hartid and a1 = the device
 * tree. `make test-matrix` uses it to prove the image runs away from its link address.
 * Built with -DTARGET=ADDRESS (see the Makefile's bounce rule).
 */
    .section .text
    .globl _start
_start:
    li      t0, TARGET
    jr      t0
