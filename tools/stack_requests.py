#!/usr/bin/env python3
"""tools/stack_requests.py - the thread entries a program declares, and the stack each asks for.

USER_THREAD_ENTRY(function, bytes) (user/lib/stack_request.h) leaves a 64-byte record in the
object's .rvmem_stack_requests section: the function's name, NUL-padded to 56 bytes, then the
bytes as a little-endian 32-bit word and a zero word. This reads those records from ELF
relocatable objects (32- or 64-bit, little-endian: RISC-V), with no tool but Python. The stack
report (tools/stack_report.py --stack-requests) checks each entry against its bytes.

Usage: stack_requests.py OBJECT... prints one "NAME BYTES" line per record.
"""
import struct
import sys

SECTION = ".rvmem_stack_requests"
RECORD_BYTES = 64
NAME_BYTES = 56


class RequestError(Exception):
    """An object that is not a little-endian ELF file, or a malformed record."""


def section_bytes(data, wanted):
    """The contents of the section named wanted in ELF image data, or None when it has none."""
    if data[:4] != b"\x7fELF" or data[5] != 1:
        raise RequestError("not a little-endian ELF file")
    if data[4] == 1:
        shoff, = struct.unpack_from("<I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
        layout = "<IIIIIIIIII"
    elif data[4] == 2:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        layout = "<IIQQQQIIQQ"
    else:
        raise RequestError("unknown ELF class")
    headers = [struct.unpack_from(layout, data, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx]
    for name, kind, _, _, offset, size, *_ in headers:
        start = names[4] + name
        if data[start:data.index(b"\0", start)].decode() == wanted:
            return b"" if kind == 8 else data[offset:offset + size]  # SHT_NOBITS: no bytes
    return None


def read_requests(path):
    """[(function name, stack bytes)] declared in the object at path."""
    with open(path, "rb") as file:
        data = file.read()
    try:
        contents = section_bytes(data, SECTION)
    except (RequestError, struct.error, ValueError, IndexError) as error:
        raise RequestError(f"{path}: {error}") from None
    if contents is None:
        return []
    if len(contents) % RECORD_BYTES:
        raise RequestError(f"{path}: {SECTION} holds {len(contents)} bytes, not a whole number of records")
    requests = []
    for offset in range(0, len(contents), RECORD_BYTES):
        name, stack_bytes, zero = struct.unpack_from(f"<{NAME_BYTES}sII", contents, offset)
        name = name.split(b"\0", 1)[0].decode()
        if not name or zero or not stack_bytes:
            raise RequestError(f"{path}: a malformed record in {SECTION} at offset {offset}")
        requests.append((name, stack_bytes))
    return requests


def main(argv):
    try:
        for path in argv:
            for name, stack_bytes in read_requests(path):
                print(name, stack_bytes)
    except (OSError, RequestError) as error:
        print(f"stack_requests: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
