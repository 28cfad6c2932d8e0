#!/usr/bin/env python3
"""tests/fuzz/seeds/fuzz_malloc.py - writes the seed inputs of tests/fuzz/fuzz_malloc.c.

Usage: python3 tests/fuzz/seeds/fuzz_malloc.py   (from the repository root; rewrites
tests/fuzz/seeds/fuzz_malloc/). Rerun it when the fuzzer's operations change.

An input is one byte (the arena's limit: 16 KiB << (byte % 9)) and then 4-byte operations, the
first byte of each choosing it (% 15). Random bytes reach a class scan late: it needs a class with a
megabyte of runs, nearly all free, and then requests that would grow the heap. These inputs reach
it (and the idle detach) at once, and every fuzzer run (make test's too) starts from them.
"""
import os

MALLOC, CALLOC, ALIGNED, REALLOC, FREE, TRIM, MISUSE, DOUBLE_FREE, FOREIGN, BULK, BULK_TOUCH = (
    0, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14)
ARENA_1_MIB, ARENA_4_MIB = 6, 8


def op(kind, *args, variant=0):
    """An operation (variant: another first byte for the same kind, which the bulk ones fill with)."""
    return bytes([kind + 15 * variant, *args])


def bulk(kilobytes, octave, step, keep):
    """A bulk operation's bytes 1..3: kilobytes (12 << n) of blocks of octave (16 << n) plus
    octave * step / 256 bytes, all freed but one in 2 ** (keep - 1) (keep 0: all freed)."""
    kilobytes_code, octave_code = (kilobytes // 12).bit_length() - 1, (octave // 16).bit_length() - 1
    assert 12 << kilobytes_code == kilobytes and 16 << octave_code == octave
    return bytes([kilobytes_code << 5 | octave_code, step, keep])


SEEDS = {
    # Each slot operation once, then a small bulk one whose class, left idle, is detached.
    "every_operation": (ARENA_1_MIB, [
        op(MALLOC, 0, 0x10, 0x20),       # slot 0: 32 bytes
        op(CALLOC, 1, 0x45, 0x11),       # slot 1: 5 x 18 bytes
        op(ALIGNED, 2, 0x80, 0x0c),      # slot 2: 1012 bytes aligned to 4096
        op(REALLOC, 0, 0x43, 0x00),      # slot 0 to 768 bytes
        op(FREE, 1, 0, 0),               # slot 1
        op(FOREIGN, 0, 1, 0),            # somebody else takes 2 pages above the heap
        op(MALLOC, 3, 0xc2, 0x00),       # slot 3: 20 KiB, in a new region above them
        op(FREE + 1, 3, 0, 0),           # slot 3
        op(TRIM, 0, 1, 0),               # trim: the region above the foreign pages goes back
        op(FOREIGN, 0, 0, 0),            # the foreign pages given back
        op(MISUSE, 0, 1, 0),             # interior free of slot 0
        op(MISUSE, 2, 0, 0),             # one byte past slot 2
        op(DOUBLE_FREE, 0, 0x10, 0x40),  # double free
        op(TRIM, 0, 2, 3),               # reserve 192 KiB
        op(TRIM, 0, 0, 0),               # flush the cache
        op(BULK, *bulk(192, 128, 0, 0)),  # 192 KiB of 128-byte blocks, all freed: the class is idle
        op(MALLOC + 1, 4, 0xd8, 0x00),   # slot 4: 80 KiB, past the free memory: the idle class detached
        op(TRIM, 0, 2, 0),               # reserve 0
        op(TRIM, 0, 1, 0),               # trim
    ]),
    # Two class scans: the first stepped by requests that grow the heap while blocks of its runs
    # are freed and allocated, finished by a step; the second completed by a trim.
    "scans": (ARENA_4_MIB, [
        op(BULK, *bulk(768, 64, 0, 11)),                  # 768 KiB of 64-byte blocks, one in 1024 kept
        op(BULK, *bulk(192, 1024, 0, 0), variant=1),      # 192 KiB of 1 KiB blocks: the scan starts, steps
        op(BULK_TOUCH, 0, 0, 3),                          # 4 kept blocks freed (of runs under scan)
        op(BULK_TOUCH, 0, 1, 128 | 15, variant=1),        # 16 more of their size
        op(BULK, *bulk(192, 512, 128, 0), variant=2),     # 192 KiB of 768-byte blocks: steps
        op(BULK_TOUCH, 0, 2, 1),                          # 2 kept blocks freed
        op(MALLOC, 1, 0xcf, 0xff),                        # slot 1: 160 KiB: a step
        op(BULK, *bulk(768, 512, 0, 7), variant=3),       # 768 KiB of 512-byte blocks, one in 64 kept: the scan finishes
        op(BULK_TOUCH, 0, 9, 128 | 31),                   # 32 more of a kept block's size
        op(BULK, *bulk(768, 256, 0, 0), variant=4),       # 768 KiB of 256-byte blocks, all freed
        op(MALLOC, 2, 0xcf, 0xfe, variant=1),             # slot 2: 160 KiB: an idle class detached
        op(BULK_TOUCH, 0, 5, 7),                          # 8 kept blocks freed
        op(TRIM, 0, 1, 0),                                # trim
        op(BULK, *bulk(1536, 128, 0, 13), variant=5),     # 1.5 MiB of 128-byte blocks, one in 4096 kept
        op(BULK, *bulk(192, 2048, 0, 0), variant=6),      # 192 KiB of 2 KiB blocks: another scan starts
        op(BULK_TOUCH, 0, 0, 0),                          # a kept block freed
        op(TRIM, 0, 1, 0),                                # trim: completes the scan
    ]),
    # A scan that keeps every run (each holds a kept block), the newest with its uncarved tail
    # laid out lazily (its run was taken while the heap was reserved).
    "scan_keeps_every_run": (ARENA_4_MIB, [
        op(TRIM, 0, 2, 7),                                # reserve 448 KiB
        op(BULK, *bulk(1536, 2048, 100, 4)),              # 1.5 MiB of 2848-byte blocks, one in 8 kept
        op(MALLOC, 0, 0xcf, 0xff),                        # slot 0: 160 KiB: the scan starts (and ends)
        op(BULK_TOUCH, 0, 7, 3),                          # 4 kept blocks freed
        op(BULK, *bulk(96, 512, 0, 0), variant=1),        # 96 KiB of 512-byte blocks, all freed
        op(TRIM, 0, 2, 0),                                # reserve 0
        op(TRIM, 0, 1, 0),                                # trim
    ]),
}

if __name__ == "__main__":
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_malloc")
    os.makedirs(directory, exist_ok=True)
    for name, (arena, operations) in SEEDS.items():
        with open(os.path.join(directory, name), "wb") as seed:
            seed.write(bytes([arena]) + b"".join(operations))
