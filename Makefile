# rvmem - a freestanding memory runtime for RISC-V.
#
#   make run       boot the runtime in QEMU (installs the toolchain first if missing)
#   make test      every test: in-kernel suites on 1 and 4 harts, crash checks, host tests
#   make help      every target and variable
#
# Variables: CROSS_COMPILE (auto-detected), SMP=4, MEM=256M, MACHINE=virt, STACK_SIZE=16384,
# MAX_HARTS=8, LOAD_ADDR=0x80200000, CHECKED=0, TESTS= (test filter), BENCHES= (bench filter),
# TIMEOUT=120 (seconds per QEMU run), BIOS=default (or a path to an OpenSBI fw_dynamic).

SMP        ?= 4
MEM        ?= 256M
MACHINE    ?= virt
STACK_SIZE ?= 16384
MAX_HARTS  ?= 8
LOAD_ADDR  ?= 0x80200000
CHECKED    ?= 0
TESTS      ?=
BENCHES    ?=
TIMEOUT    ?= 120
BIOS       ?= default
BUDDY_MAX_ORDER ?= 10

BUILD := build
# Quiet by default; V=1 shows every command.
Q := $(if $(filter 1,$(V)),,@)

# The cross compiler: the first of these prefixes whose gcc is on PATH. Evaluated once, lazily,
# so `make deps` (which may install it) runs before the first use.
CROSS_PREFIXES := riscv64-unknown-elf- riscv64-linux-gnu-
CROSS_COMPILE ?= $(eval CROSS_COMPILE := $(firstword $(foreach p,$(CROSS_PREFIXES),$(if $(shell command -v $(p)gcc 2>/dev/null),$(p)))))$(CROSS_COMPILE)

CC      = $(CROSS_COMPILE)gcc
OBJCOPY = $(CROSS_COMPILE)objcopy
OBJDUMP = $(CROSS_COMPILE)objdump
HOST_CC ?= gcc
FUZZ_CC ?= clang

ARCH_FLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
SETTINGS   := -DRVMEM_MAX_HARTS=$(MAX_HARTS) -DRVMEM_STACK_SIZE=$(STACK_SIZE) -DBUDDY_MAX_ORDER=$(BUDDY_MAX_ORDER) \
              $(if $(filter 1,$(CHECKED)),-DRVMEM_CHECKED=1)
WARNINGS   := -Wall -Wextra -Werror
CFLAGS     := -std=gnu11 -O2 -g $(WARNINGS) $(ARCH_FLAGS) $(SETTINGS) -I. \
              -ffreestanding -fno-builtin-malloc -fno-builtin-free -nostdlib -fno-pie -fno-common \
              -fno-omit-frame-pointer -MMD -MP \
              -fstack-protector-strong -mstack-protector-guard=tls -mstack-protector-guard-reg=tp \
              -mstack-protector-guard-offset=0
ASFLAGS    := $(ARCH_FLAGS) $(SETTINGS) -I. -D__ASSEMBLER__ -MMD -MP
LDFLAGS    := -nostdlib -no-pie -T linker.ld -Wl,--defsym=LOAD_ADDRESS=$(LOAD_ADDR) \
              -Wl,--defsym=STACK_SIZE=$(STACK_SIZE) -Wl,--defsym=MAX_HARTS=$(MAX_HARTS) \
              -Wl,--defsym=XLEN_BYTES=8 -Wl,-Map=$(BUILD)/kernel.map -Wl,--no-warn-rwx-segments

# Sources: everything under boot/, kernel/, lib/ and tests/ except host-only and fuzz files.
KERNEL_SOURCES := $(wildcard boot/*.S) $(wildcard kernel/*.c) $(wildcard lib/*.c) \
                  $(filter-out tests/fuzz_%.c,$(wildcard tests/*.c))
KERNEL_OBJECTS := $(patsubst %,$(BUILD)/kernel-objects/%.o,$(KERNEL_SOURCES))

# Host build: the files that say "Builds: kernel, host" in their header, plus tests/host/.
HOST_SOURCES := $(shell grep -l '^ \* Builds: kernel, host' kernel/*.c lib/*.c tests/*.c 2>/dev/null | grep -v '^tests/fuzz_') \
                $(wildcard tests/host/*.c)
HOST_CFLAGS  := -std=gnu11 -O1 -g $(WARNINGS) -I. -DRVMEM_HOST $(SETTINGS) -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined -pthread

QEMU_SH := ./qemu.sh -M $(MACHINE) -s $(SMP) -m $(MEM) -t $(TIMEOUT) -b $(BIOS)

.PHONY: all run test bench debug host-test fuzz format lint deps clean help check-tools

all: $(BUILD)/kernel.elf $(BUILD)/kernel.bin

$(BUILD)/kernel.elf: $(KERNEL_OBJECTS) linker.ld | check-tools
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(KERNEL_OBJECTS)

$(BUILD)/kernel.bin: $(BUILD)/kernel.elf
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -O binary $< $@

$(BUILD)/kernel-objects/%.c.o: %.c | check-tools
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/kernel-objects/%.S.o: %.S | check-tools
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)$(CC) $(ASFLAGS) -c -o $@ $<

# Settings are baked into objects: rebuild everything when they change.
SETTINGS_STAMP := $(BUILD)/settings.$(shell echo '$(CROSS_PREFIXES) $(SETTINGS) $(LOAD_ADDR)' | cksum | cut -d' ' -f1)
$(SETTINGS_STAMP):
	@rm -f $(BUILD)/settings.* ; rm -rf $(BUILD)/kernel-objects ; mkdir -p $(BUILD) ; touch $@
$(KERNEL_OBJECTS): $(SETTINGS_STAMP)

run: all
	$(QEMU_SH) -a "mode=run" $(BUILD)/kernel.elf

test: all host-tests
	python3 tools/test.py --kernel $(BUILD)/kernel.elf --host $(BUILD)/host-tests --machine $(MACHINE) \
	    --mem $(MEM) --timeout $(TIMEOUT) --bios $(BIOS) --tests '$(TESTS)' --log-dir $(BUILD)/test-logs

bench: all
	python3 tools/bench.py --kernel $(BUILD)/kernel.elf --machine $(MACHINE) --mem $(MEM) --smp $(SMP) \
	    --timeout $(TIMEOUT) --bios $(BIOS) --benches '$(BENCHES)' --json $(BUILD)/bench.json

debug: all
	@echo "QEMU waits for gdb on :1234. In another terminal:"
	@echo "  gdb-multiarch -x tools/gdbinit $(BUILD)/kernel.elf"
	$(QEMU_SH) -g -a "mode=run" $(BUILD)/kernel.elf

host-tests: $(BUILD)/host-tests
$(BUILD)/host-tests: $(HOST_SOURCES) $(wildcard kernel/*.h lib/*.h tests/*.h) | check-host-tools
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -o $@ $(HOST_SOURCES)

host-test: $(BUILD)/host-tests
	$(BUILD)/host-tests $(TESTS)

FORMAT_FILES = $(wildcard boot/*.h kernel/*.[ch] lib/*.[ch] tests/*.[ch] tests/host/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)

lint:
	clang-format --dry-run --Werror $(FORMAT_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr --std=c11 \
	    -DRVMEM_HOST -I. --suppress=missingIncludeSystem $(FORMAT_FILES)

deps:
	tools/deps.sh all

check-tools:
	@tools/deps.sh kernel

check-host-tools:
	@tools/deps.sh host

clean:
	rm -rf $(BUILD)

help:
	@sed -n '1,12p' Makefile | sed 's/^# \{0,1\}//'

-include $(KERNEL_OBJECTS:.o=.d)
