"""tests/tools/test_relocs.py - tools/relocs.py over tiny images linked on the spot.

Run from the top of the tree: python3 -m unittest discover -s tests/tools
Each test assembles a few lines with the RISC-V cross compiler (skipped when there is none),
links them with --emit-relocs like the kernel, and checks the table relocs.py appends, or
that it refuses an image a move would break.
"""
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "tools", "relocs.py")
CROSS = next((prefix for prefix in ("riscv64-unknown-elf-", "riscv64-linux-gnu-")
              if shutil.which(prefix + "gcc")), None)

# Section layout like linker.ld: the symbols relocs.py needs, .data last of what is loaded.
# Linked at 0x40200000 (VisionFive 2's load address): low enough for a lui/addi pair on rv64.
LOAD_ADDRESS = 0x40200000
LINKER_SCRIPT = """
SECTIONS {
    . = 0x40200000;
    __image_start = .;
    .text : { *(.text) }
    .data : ALIGN(8) { *(.data) __data_end = .; }
    .bss (NOLOAD) : { *(.bss) }
}
"""


@unittest.skipIf(CROSS is None, "no RISC-V cross compiler")
class RelocationTable(unittest.TestCase):
    def build(self, source, march="rv64imac", mabi="lp64"):
        """Links source; returns (relocs.py exit status, its stderr, the final .bin bytes, __data_end offset)."""
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        paths = {name: os.path.join(directory, name) for name in ("image.S", "image.ld", "image.elf", "image.bin")}
        with open(paths["image.S"], "w") as handle:
            handle.write(source)
        with open(paths["image.ld"], "w") as handle:
            handle.write(LINKER_SCRIPT)
        subprocess.run([CROSS + "gcc", f"-march={march}", f"-mabi={mabi}", "-nostdlib", "-Wl,--emit-relocs",
                        "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-T", paths["image.ld"], "-o",
                        paths["image.elf"], paths["image.S"]], check=True, capture_output=True)
        subprocess.run([CROSS + "objcopy", "-O", "binary", paths["image.elf"], paths["image.bin"]], check=True)
        result = subprocess.run(["python3", SCRIPT, paths["image.elf"], paths["image.bin"]], capture_output=True)
        with open(paths["image.bin"], "rb") as handle:
            image = handle.read()
        symbols = subprocess.run([CROSS + "nm", paths["image.elf"]], capture_output=True, check=True).stdout.decode()
        data_end = next(int(line.split()[0], 16) for line in symbols.splitlines() if line.endswith(" __data_end"))
        return result.returncode, result.stderr.decode(), image, data_end - LOAD_ADDRESS

    def table(self, image, offset):
        magic, count = struct.unpack_from("<II", image, offset)
        self.assertEqual(magic, 0x4C4C4552)
        return list(struct.unpack_from(f"<{count}I", image, offset + 8))

    def test_lists_every_absolute_word_and_nothing_else(self):
        status, errors, image, table_at = self.build("""
            .text
            .globl _start
        _start: lla a0, target      /* PC-relative: nothing to relocate */
                call _start
            .data
            .dword 7                /* a constant: nothing */
            .dword target           /* offset 8 in .data */
            .dword _start + 4       /* offset 16 */
        target: .dword 0
        """)
        self.assertEqual(status, 0, errors)
        data = table_at - 32  # .data holds four dwords
        self.assertEqual(self.table(image, table_at), [data + 8, data + 16])

    def test_rv32_uses_32_bit_words(self):
        status, errors, image, table_at = self.build("""
            .text
            .globl _start
        _start: j _start
            .data
            .word _start            /* offset 0 */
            .word 5
        """, march="rv32imac", mabi="ilp32")
        self.assertEqual(status, 0, errors)
        self.assertEqual(self.table(image, table_at), [table_at - 8])

    def test_refuses_an_absolute_hi20_lo12_pair(self):
        status, errors, _, _ = self.build("""
            .text
            .globl _start
        _start: lui a0, %hi(target)
                addi a0, a0, %lo(target)
            .data
        target: .dword 0
        """)
        self.assertNotEqual(status, 0)
        self.assertIn("relocation type 26", errors)  # R_RISCV_HI20

    def test_refuses_a_32_bit_address_on_rv64(self):
        status, errors, _, _ = self.build("""
            .text
            .globl _start
        _start: j _start
            .data
            .word _start
        """)
        self.assertNotEqual(status, 0)
        self.assertIn("relocation type 1 ", errors)  # R_RISCV_32

    def test_refuses_sections_aligned_beyond_a_page(self):
        status, errors, _, _ = self.build("""
            .text
            .globl _start
        _start: j _start
            .data
            .balign 8192
            .dword 1
        """)
        self.assertNotEqual(status, 0)
        self.assertIn("aligned to 8192 bytes", errors)


if __name__ == "__main__":
    unittest.main()
