#!/usr/bin/env python3
"""tools/relocs.py - append the self-relocation table to kernel.bin.

Usage: tools/relocs.py KERNEL.elf KERNEL.bin

KERNEL.elf must be linked with --emit-relocs. The code is compiled -mcmodel=medany, so every
reference from code is PC-relative and survives a move; what does not are the absolute
addresses stored in data (function pointers in the test tables, pointer arrays of strings):
R_RISCV_64 words on rv64, R_RISCV_32 on rv32. This tool lists their locations and appends
to KERNEL.bin, at offset __data_end - __image_start (where .bss begins, so the table costs no
memory at run time):

    u32 magic 0x4c4c4552 ("RELL")   u32 count   u32 offset[count]   (offsets from __image_start)

boot/entry.S adds (run address - link address) to each of those words before anything else
runs, then clears .bss over the table. The build fails here if the image holds a reference
that cannot be relocated that way (an absolute HI20/LO12 pair, a 32-bit absolute address on
rv64, a GOT entry, a PC-relative reference to an absolute symbol) or a section aligned to
more than a page (the image promises to run at any 4 KiB-aligned address).
"""
import struct
import sys

MAGIC = 0x4C4C4552
PAGE = 4096
SHF_ALLOC = 0x2
SHT_RELA, SHT_REL, SHT_SYMTAB = 4, 9, 2
SHN_ABS = 0xFFF1
R_RISCV_32, R_RISCV_64 = 1, 2
# Relocations that stay correct when the whole image moves (PC-relative, differences, hints).
POSITION_INDEPENDENT = {0, 16, 17, 18, 19, 23, 24, 25, 33, 34, 35, 36, 37, 38, 39, 40, 43, 44, 45, 51, 52, 53, 54,
                        55, 56, 57}
PC_RELATIVE = {16, 17, 18, 19, 23, 44, 45, 57}


class Elf:
    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[5] != 1:
            raise SystemExit("relocs.py: not a little-endian ELF file")
        self.data = data
        self.is64 = data[4] == 2
        if self.is64:
            fields = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
            shoff, shentsize, shnum, shstrndx = fields[5], fields[10], fields[11], fields[12]
        else:
            fields = struct.unpack_from("<HHIIIIIHHHHHH", data, 16)
            shoff, shentsize, shnum, shstrndx = fields[5], fields[10], fields[11], fields[12]
        self.sections = []
        for index in range(shnum):
            offset = shoff + index * shentsize
            if self.is64:
                name, kind, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
                    "<IIQQQQIIQQ", data, offset)
            else:
                name, kind, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
                    "<IIIIIIIIII", data, offset)
            self.sections.append(dict(name=name, type=kind, flags=flags, addr=addr, offset=off, size=size,
                                      link=link, info=info, align=align, entsize=entsize))
        names = self.sections[shstrndx]
        for section in self.sections:
            end = data.index(b"\0", names["offset"] + section["name"])
            section["name"] = data[names["offset"] + section["name"]:end].decode()

    def symbols(self, section):
        strings = self.sections[section["link"]]
        result = []
        for index in range(section["size"] // section["entsize"]):
            offset = section["offset"] + index * section["entsize"]
            if self.is64:
                name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", self.data, offset)
            else:
                name, value, size, info, other, shndx = struct.unpack_from("<IIIBBH", self.data, offset)
            end = self.data.index(b"\0", strings["offset"] + name)
            result.append((self.data[strings["offset"] + name:end].decode(), value, shndx))
        return result

    def relocations(self, section):
        for index in range(section["size"] // section["entsize"]):
            offset = section["offset"] + index * section["entsize"]
            if self.is64:
                r_offset, r_info = struct.unpack_from("<QQ", self.data, offset)
                yield r_offset, r_info & 0xFFFFFFFF, r_info >> 32
            else:
                r_offset, r_info = struct.unpack_from("<II", self.data, offset)
                yield r_offset, r_info & 0xFF, r_info >> 8


def relocation_offsets(elf):
    """Offsets from __image_start of every word to relocate; exits with a message on anything else."""
    symtab = next(s for s in elf.sections if s["type"] == SHT_SYMTAB)
    symbols = elf.symbols(symtab)
    by_name = {name: value for name, value, _ in symbols}
    image_start, data_end = by_name["__image_start"], by_name["__data_end"]
    absolute = R_RISCV_64 if elf.is64 else R_RISCV_32
    word = 8 if elf.is64 else 4
    offsets, problems = [], []
    for section in elf.sections:
        if section["flags"] & SHF_ALLOC and section["align"] > PAGE:
            problems.append(f"section {section['name']} is aligned to {section['align']} bytes (more than a page)")
        if section["type"] == SHT_REL:
            problems.append(f"{section['name']}: REL relocations are not expected")
        if section["type"] != SHT_RELA:
            continue
        target = elf.sections[section["info"]]
        if not target["flags"] & SHF_ALLOC:
            continue
        for r_offset, kind, symbol in elf.relocations(section):
            if kind == absolute:
                if r_offset % word or not image_start <= r_offset < data_end:
                    problems.append(f"{target['name']}+{r_offset - target['addr']:#x}: absolute word at "
                                    f"{r_offset:#x} is misaligned or outside the loaded image")
                offsets.append(r_offset - image_start)
            elif kind not in POSITION_INDEPENDENT:
                problems.append(f"{target['name']}+{r_offset - target['addr']:#x}: relocation type {kind} "
                                f"(against {symbols[symbol][0] or '?'}) does not survive a move")
            elif kind in PC_RELATIVE and symbols[symbol][2] == SHN_ABS and symbols[symbol][0]:
                problems.append(f"{target['name']}+{r_offset - target['addr']:#x}: PC-relative reference to the "
                                f"absolute symbol {symbols[symbol][0]}")
    if problems:
        raise SystemExit("relocs.py: the image cannot run at another address:\n  " + "\n  ".join(problems[:20]))
    return sorted(set(offsets)), data_end - image_start


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    with open(sys.argv[1], "rb") as handle:
        elf = Elf(handle.read())
    offsets, table_offset = relocation_offsets(elf)
    with open(sys.argv[2], "rb") as handle:
        image = handle.read()
    if len(image) > table_offset:
        raise SystemExit(f"relocs.py: {sys.argv[2]} is {len(image)} bytes, more than __data_end - __image_start "
                         f"({table_offset}): something loadable follows .data")
    image += b"\0" * (table_offset - len(image))
    image += struct.pack("<II", MAGIC, len(offsets)) + b"".join(struct.pack("<I", o) for o in offsets)
    with open(sys.argv[2], "wb") as handle:
        handle.write(image)


if __name__ == "__main__":
    main()
