"""tools/qemu_options.py - the QEMU options the Python runners share, and the ./qemu.sh command built from them.

tools/bench.py (`make bench`), tools/test.py (`make test`) and tools/test_matrix.py
(`make test-matrix`) boot images through ./qemu.sh. They take the same options from the Makefile
(--kernel, --machine, --mem, --smp, --timeout, --bios) and build the same command line; both live
here so the three cannot drift apart. ./qemu.sh documents each flag.
"""

QEMU_SH = "./qemu.sh"


def add_arguments(parser, timeout, smp=None, smp_help=None, machine=True, mem=True):
    """Adds --kernel (required), --bios and --timeout (seconds per QEMU run, default timeout) to an
    argparse parser, and --machine and --mem unless asked not to, and --smp when smp (its default)
    is given. The defaults are the Makefile's (virt, 256M, default firmware)."""
    parser.add_argument("--kernel", required=True)
    if machine:
        parser.add_argument("--machine", default="virt")
    if mem:
        parser.add_argument("--mem", default="256M")
    if smp is not None:
        parser.add_argument("--smp", default=smp, help=smp_help)
    parser.add_argument("--timeout", type=int, default=timeout, help="seconds per QEMU run (0: no limit)")
    parser.add_argument("--bios", default="default")


def command(image, machine="virt", harts=4, mem="256M", timeout=120, bios="default", bootargs=None, icount=False,
            dtb=None, extra=()):
    """The ./qemu.sh command (a list for subprocess) that boots image on machine with harts harts and
    mem of RAM: -i when icount (exact instruction counts), a time limit of timeout seconds (0: none),
    firmware bios, bootargs when not None, a device tree dtb when given, and each of extra as one -x
    argument (one more QEMU option, e.g. a -device loader)."""
    arguments = [QEMU_SH] + (["-i"] if icount else [])
    arguments += ["-M", machine, "-s", str(harts), "-m", mem, "-t", str(timeout), "-b", bios]
    if bootargs is not None:
        arguments += ["-a", bootargs]
    if dtb:
        arguments += ["-d", dtb]
    for argument in extra:
        arguments += ["-x", argument]
    return arguments + [image]


def loader(path, address):
    """QEMU's generic loader placing the raw image at path at address (an -x argument of command)."""
    return f"-device loader,file={path},addr={address},force-raw=on"
