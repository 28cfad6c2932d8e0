# rvmem - a freestanding memory runtime for RISC-V.
#
# Targets (the README's "Make targets" table says more about each):
#   all           build/kernel.elf and build/kernel.bin (the default)
#   run           boot the runtime in QEMU: the monitor on a terminal, the tour otherwise
#                 (installs the toolchain first if missing)
#   test          every test: in-kernel suites on 1 and 4 harts, crash checks, host tests, fuzzing
#   test-matrix   the suites on virt (1-8 harts, 64M-4G), sifive_u and spike, with a table
#   bench         benchmarks in exact guest instructions, then the host's (bench-host); budgets and goals
#   bench-host    the host part of bench alone: rvmem's malloc against glibc's, callgrind and the clock
#   bench-doc     write the last bench run's figures (build/bench.json) into docs/BENCHMARKS.md
#   debug         QEMU waits for gdb on :1234
#   host-test     the portable code's tests on the host, with ASan and UBSan (TESTS= filters)
#   host          the allocator for the host: build/host/librvmem.a and the LD_PRELOAD library
#   user          the user programs alone (user/programs/), as the kernel embeds them
#   fuzz          the libFuzzer targets, FUZZ_SECONDS each
#   stack-report  the worst-case stack depth of every entry point, the kernel's and each user program's
#   format, lint  clang-format in place; the layering, format and cppcheck checks
#   deps          install every tool with apt-get
#   clean         remove build/
#   help          this text
#
# Variables: CROSS_COMPILE (auto-detected), ARCH=rv64 (or rv32), SMP=4, MEM=256M, MACHINE=virt,
# STACK_SIZE=16384, MAX_HARTS=8, LOAD_ADDR=0x80200000, CHECKED=0, TESTS= (test filter), BENCHES= (bench filter),
# TIMEOUT=120 (seconds per QEMU run), BIOS=default (or a path to an OpenSBI fw_dynamic), ICOUNT=1 (0: the
# monitor without -icount: harts on host threads in parallel, counts in its tour and bench inexact).

SMP        ?= 4
MEM        ?= 256M
MACHINE    ?= virt
STACK_SIZE ?= 16384
MAX_HARTS  ?= 8
LOAD_ADDR  ?= 0x80200000
# Where make test and make test-matrix load kernel.bin to prove it relocates itself.
RELOCATED_ADDR ?= 0x84000000
CHECKED    ?= 0
TESTS      ?=
BENCHES    ?=
TIMEOUT    ?= 120
BIOS       ?= default
ICOUNT     ?= 1
BUDDY_MAX_ORDER ?= 10

# ARCH=rv32 builds the whole runtime for rv32imac/ilp32 (in build/rv32: docs/PORTING.md).
ARCH ?= rv64
BUILD ?= build$(if $(filter rv32,$(ARCH)),/rv32)
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
ifeq ($(ARCH),rv32)
ARCH_FLAGS := -march=rv32imac_zicsr_zifencei -mabi=ilp32 -mcmodel=medany
endif
XLEN_BYTES := $(if $(filter rv32,$(ARCH)),4,8)
SETTINGS   := -DRVMEM_MAX_HARTS=$(MAX_HARTS) -DRVMEM_STACK_SIZE=$(STACK_SIZE) -DBUDDY_MAX_ORDER=$(BUDDY_MAX_ORDER) \
              $(if $(filter 1,$(CHECKED)),-DRVMEM_CHECKED=1)
WARNINGS   := -Wall -Wextra -Werror
# Headers the build writes (tools/malloc_step_table.py): every build that compiles lib/malloc/ has them.
GENERATED  := $(BUILD)/generated
STEP_TABLE := $(GENERATED)/malloc_step_table.h
CFLAGS     := -std=gnu11 -O2 -g $(WARNINGS) $(ARCH_FLAGS) $(SETTINGS) -I. -I$(GENERATED) \
              -ffreestanding -fno-builtin-malloc -fno-builtin-free -nostdlib -fno-pie -fno-common \
              -fno-omit-frame-pointer -MMD -MP \
              -fstack-protector-strong -mstack-protector-guard=tls -mstack-protector-guard-reg=tp \
              -mstack-protector-guard-offset=0 -fstack-usage -fcallgraph-info=su
ASFLAGS    := $(WARNINGS) -Wa,--fatal-warnings $(ARCH_FLAGS) $(SETTINGS) -I. -D__ASSEMBLER__ -MMD -MP
LDFLAGS    := -nostdlib -no-pie -T linker.ld -Wl,--defsym=LOAD_ADDRESS=$(LOAD_ADDR) \
              -Wl,--defsym=STACK_SIZE=$(STACK_SIZE) -Wl,--defsym=MAX_HARTS=$(MAX_HARTS) \
              -Wl,--defsym=XLEN_BYTES=$(XLEN_BYTES) -Wl,-Map=$(BUILD)/kernel.map -Wl,--no-warn-rwx-segments -Wl,--build-id=none -Wl,--fatal-warnings \
              -Wl,--emit-relocs

# libgcc: 64-bit division on rv32 (__udivdi3, __umoddi3); nothing is pulled in on rv64. Named by
# path: the multilib matching ARCH_FLAGS (-march with _zicsr_zifencei matches no multilib directory).
MULTILIB_FLAGS = $(if $(filter rv32,$(ARCH)),-march=rv32imac -mabi=ilp32,-march=rv64imac -mabi=lp64)
LDLIBS      = $(shell $(CC) $(MULTILIB_FLAGS) -print-libgcc-file-name)

# Sources, one list per layer (README "Layout"). *_PORTABLE files build for the kernel and for the
# host (host tests, fuzzers, librvmem); *_KERNEL files for the kernel only. `make lint` checks that
# every source file is in exactly one list and that each includes only its own layer and those below.
BOOT_SOURCES      := boot/entry.S boot/trap.S
BASE_PORTABLE     := $(addprefix kernel/base/,errors.c misuse.c printf.c spinlock.c)
BASE_KERNEL       := kernel/base/string.c # the host has its C library's
PLATFORM_PORTABLE := $(addprefix kernel/platform/,bootargs.c fdt.c fdt_query.c)
PLATFORM_KERNEL   := $(addprefix kernel/platform/,console.c hart.c mmu.c panic.c power.c sbi.c stack.c trap.c)
MM_PORTABLE       := $(addprefix kernel/mm/,brk.c buddy.c buddy_init.c buddy_range.c buddy_stats.c buddy_validate.c \
                       fragmentation.c kernel_space.c memmap.c vm.c vm_tables.c vm_validate.c)
MM_KERNEL         := $(addprefix kernel/mm/,pages.c sbrk.c)
PROC_PORTABLE     := $(addprefix kernel/proc/,elf.c user_stack.c)
# Built where the table of embedded user programs is linked (build/user_programs.S): the kernel and the host tests.
PROC_PROGRAMS     := kernel/proc/programs.c
PROC_KERNEL       := $(addprefix kernel/proc/,process.c process_report.c sched.c syscall.c thread.c thread_area.c user_copy.c \
                       user_space.c user_space_regions.c user_space_threads.c user_trap.c)
LIB_PORTABLE      := $(addprefix lib/malloc/,malloc_api.c malloc_checked.c malloc_direct.c malloc_idle.c malloc_large.c malloc_map.c malloc_mode.c malloc_scan.c \
                       malloc_reserve.c malloc_small.c malloc_stats.c malloc_tlsf.c malloc_tlsf_validate.c malloc_validate.c) \
                     $(addprefix lib/,arc.c box.c rc.c vec.c)
# The C names of malloc, for the kernel and the user runtime (the host library exports its own).
LIB_STD_NAMES     := lib/malloc/malloc_std.c
TOP_PORTABLE      := $(addprefix kernel/top/,census.c monitor_text.c)
TOP_KERNEL        := $(addprefix kernel/top/,boot.c main.c malloc_binding.c monitor.c monitor_blocks.c monitor_commands.c monitor_proc.c \
                       monitor_vm.c paging.c terminal.c tour.c tour_check.c \
                       tour_cost.c tour_fragmentation.c tour_frames.c tour_heap.c tour_program_break.c tour_stack_frames.c \
                       tour_static_layout.c tour_user_heap.c)
# The tests mirror the layers; tests/harness/ is the test and benchmark runner.
TESTS_PORTABLE    := $(addprefix tests/harness/,ktest.c ktest_arena.c selftest.c) $(addprefix tests/base/,printf.c string.c) \
                     $(addprefix tests/platform/,bootargs.c fdt.c) \
                     $(addprefix tests/mm/,brk.c buddy.c buddy_index.c buddy_stress.c kernel_space.c memmap.c vm.c vm_arena.c \
                       vm_shadow.c) \
                     $(addprefix tests/proc/,elf.c programs.c user_stack.c) \
                     $(addprefix tests/lib/,arc.c box.c malloc.c malloc_bits.c malloc_idle.c malloc_misuse.c malloc_mode.c malloc_scan.c malloc_smp.c \
                       malloc_reserve.c malloc_top.c malloc_workloads.c malloc_workloads_selftest.c rc.c vec.c) \
                     $(addprefix tests/top/,monitor_text.c)
TESTS_KERNEL      := $(addprefix tests/harness/,kbench.c kbench_series.c kbench_series_selftest.c) \
                     $(addprefix tests/platform/,stack.c) $(addprefix tests/mm/,ktest_memory.c sbrk.c vm_pages.c) \
                     $(addprefix tests/lib/,malloc_exhaustion.c) $(addprefix tests/top/,boot.c malloc_binding.c monitor.c paging.c) \
                     $(addprefix tests/bench/,malloc.c malloc_lean.c malloc_pair.c memory.c stack.c vm.c malloc_patterns.c user.c) \
                     $(addprefix tests/proc/,hello_space.c process.c threads.c user_copy.c user_space.c)
# Built for the host only: its platform (tests/host/), the LD_PRELOAD binding (lib/host/), the fuzzers.
TESTS_HOST        := $(addprefix tests/host/,ktest_memory.c main.c malloc_arena.c malloc_exhaustion.c platform.c)
LIB_HOST          := $(addprefix lib/host/,binding.c park.c platform_posix.c preload.c preload_park.c)
# The host binding's own tests (real threads, process limits): linked with build/host/librvmem.a.
TESTS_HOST_LIB    := tests/host/binding.c tests/host/binding_park.c
TESTS_HOST_PARK   := tests/host/park_program.c
FUZZ_SOURCES      := $(addprefix tests/fuzz/,fuzz_buddy.c fuzz_elf.c fuzz_fdt.c fuzz_malloc.c fuzz_malloc_lending.c fuzz_vm.c)
HOSTBENCH_SOURCES := tests/hostbench/malloc_bench.c tests/lib/malloc_workloads.c
HOSTPATTERNS_SOURCES := tests/hostbench/malloc_patterns.c tests/lib/malloc_workloads.c
PORTABLE_SOURCES  := $(BASE_PORTABLE) $(PLATFORM_PORTABLE) $(MM_PORTABLE) $(PROC_PORTABLE) $(LIB_PORTABLE) $(TOP_PORTABLE)
HEADERS           := $(wildcard boot/*.h kernel/*/*.h lib/*.h lib/*/*.h tests/*/*.h)

# Device-tree test blobs (tests/platform/fdt_blobs.h): QEMU's own trees and tests/data/fdt_board.dts as C arrays.
FDT_BLOBS := $(BUILD)/fdt_blobs.c
# The user programs, embedded (kernel/proc/programs.h): generated below, from user/programs/.
USER_PROGRAM_TABLE := $(BUILD)/user_programs.S
KERNEL_SOURCES := $(BOOT_SOURCES) $(PORTABLE_SOURCES) $(LIB_STD_NAMES) $(BASE_KERNEL) $(PLATFORM_KERNEL) $(MM_KERNEL) $(PROC_PROGRAMS) $(PROC_KERNEL) \
                  $(TOP_KERNEL) $(TESTS_PORTABLE) $(TESTS_KERNEL) $(FDT_BLOBS) $(USER_PROGRAM_TABLE)
KERNEL_OBJECTS := $(patsubst %,$(BUILD)/kernel-objects/%.o,$(KERNEL_SOURCES))
# Generated after the stack report, linked last (see build_figures.c below).
BUILD_FIGURES := $(BUILD)/build_figures.c
BUILD_FIGURES_OBJECT := $(BUILD)/kernel-objects/$(BUILD_FIGURES).o

# Host build: the portable sources and their tests, plus the host platform (tests/host/).
HOST_SOURCES := $(PORTABLE_SOURCES) $(PROC_PROGRAMS) $(TESTS_PORTABLE) $(TESTS_HOST) $(FDT_BLOBS) $(USER_PROGRAM_TABLE)
HOST_CFLAGS  := -std=gnu11 -O1 -g $(WARNINGS) -I. -I$(GENERATED) -DRVMEM_HOST $(SETTINGS) -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined -pthread \
                $(if $(filter rv32,$(ARCH)),-m32)

QEMU_SH := ./qemu.sh -M $(MACHINE) -s $(SMP) -m $(MEM) -t $(TIMEOUT) -b $(BIOS)

.PHONY: all user stack-report checked-kernel run test test-matrix firmware bench bench-host bench-doc debug host host-test fuzz \
        fuzz-targets format lint deps clean help check-tools check-host-tools check-bench-tools

all: $(BUILD)/kernel.elf $(BUILD)/kernel.bin $(BUILD)/stack-report.txt

# User programs (docs/USER.md): user/programs/NAME.c, or a folder user/programs/NAME/, each linked
# with the runtime at the user window's base (user/lib/linker.ld) and embedded whole in the kernel
# image. The runtime is user/lib/ plus the portable base and lib/ (malloc, box, vec, rc, arc)
# compiled for U-mode: one archive, from which each program takes what it uses. The objects get
# GCC's .su and .ci files like the kernel's, for a stack report of each program.
USER_LIB_SOURCES     := $(addprefix user/lib/,bench.c crt0.S expect.c malloc_user.c mutex.c parse.c platform_user.c start.c stdio.c thread.c)
USER_RUNTIME_SOURCES := $(filter-out %.S,$(USER_LIB_SOURCES)) $(BASE_PORTABLE) $(BASE_KERNEL) $(LIB_PORTABLE) $(LIB_STD_NAMES)
USER_PROGRAM_NAMES   := $(sort $(basename $(notdir $(wildcard user/programs/*.c))) \
                          $(notdir $(patsubst %/,%,$(dir $(wildcard user/programs/*/*.c)))))
user_program_sources  = $(or $(wildcard user/programs/$(1).c),$(wildcard user/programs/$(1)/*.c))
USER_PROGRAM_SOURCES := $(foreach name,$(USER_PROGRAM_NAMES),$(call user_program_sources,$(name)))
# Sources of tests/ a program links too (listed in their own layer): bench_malloc runs the workloads.
USER_SHARED_SOURCES_bench_malloc := tests/lib/malloc_workloads.c
user_shared_sources   = $(USER_SHARED_SOURCES_$(1))
USER_SHARED_OBJECTS  := $(call user_object,$(sort $(foreach name,$(USER_PROGRAM_NAMES),$(call user_shared_sources,$(name)))))
user_object           = $(patsubst %,$(BUILD)/user/objects/%.o,$(1))
USER_CRT0            := $(call user_object,user/lib/crt0.S)
USER_RUNTIME_OBJECTS := $(call user_object,$(USER_RUNTIME_SOURCES))
USER_PROGRAM_OBJECTS := $(call user_object,$(USER_PROGRAM_SOURCES))
USER_LIBRARY         := $(BUILD)/user/libuser.a
USER_EMBEDDED        := $(patsubst %,$(BUILD)/user/embedded/%,$(USER_PROGRAM_NAMES))
USER_CFLAGS           = $(CFLAGS) -ffunction-sections -fdata-sections -DUSER_KERNEL_ADDRESS=$(LOAD_ADDR)UL
# A constant of kernel/base/user_abi.h (or layout.h) as a number the shell computes (C's UL suffixes dropped).
user_abi_constant     = $$(( $(shell echo '$(1)' | $(CC) $(ARCH_FLAGS) -I. -E -P -include kernel/base/user_abi.h - | tail -1 | \
                          sed -E 's/([0-9a-fA-F])[uUlL]+/\1/g') ))
USER_LDFLAGS          = -nostdlib -no-pie -T user/lib/linker.ld -Wl,-z,max-page-size=16 -Wl,--gc-sections -Wl,--build-id=none -Wl,--fatal-warnings \
                        -Wl,--defsym=USER_BASE=$(call user_abi_constant,USER_WINDOW_START) \
                        -Wl,--defsym=USER_END=$(call user_abi_constant,USER_WINDOW_END) \
                        -Wl,--defsym=USER_STACK_RESERVED=$(call user_abi_constant,USER_STACKS_RESERVED_BYTES)

user: $(USER_EMBEDDED)

$(BUILD)/user/objects/%.c.o: %.c | check-tools $(STEP_TABLE)
	@mkdir -p $(@D)
	@echo "  CC      $< (user)"
	$(Q)$(CC) $(USER_CFLAGS) -c -o $@ $<

$(BUILD)/user/objects/%.S.o: %.S | check-tools
	@mkdir -p $(@D)
	@echo "  AS      $< (user)"
	$(Q)$(CC) $(ASFLAGS) -c -o $@ $<

$(USER_LIBRARY): $(USER_RUNTIME_OBJECTS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(CROSS_COMPILE)ar rcs $@ $^

# Each program: crt0 first, its own objects, then the runtime archive (only the members it needs).
define user_program_rule
$(BUILD)/user/$(1).elf: $(USER_CRT0) $(call user_object,$(call user_program_sources,$(1)) $(call user_shared_sources,$(1))) \
                        $(USER_LIBRARY) user/lib/linker.ld
	@echo "  LD      $$@"
	$(Q)$$(CC) $$(USER_CFLAGS) $$(USER_LDFLAGS) -Wl,-Map=$(BUILD)/user/$(1).map -o $$@ $(USER_CRT0) \
	    $(call user_object,$(call user_program_sources,$(1)) $(call user_shared_sources,$(1))) $(USER_LIBRARY) $$(LDLIBS)
endef
$(foreach name,$(USER_PROGRAM_NAMES),$(eval $(call user_program_rule,$(name))))

# Each program's worst-case stack (docs/STACK.md): main, through user_start, within
# USER_MAIN_STACK_BYTES less the entry block's page, and each thread entry it declares with
# USER_THREAD_ENTRY (user/lib/stack_request.h) within the bytes it asks for, the runtime's thread
# start (USER_THREAD_START) below it. A program whose worst case does not fit, or is not proven
# (--strict), is not embedded: the build fails. The runtime's call graphs are all given; only what
# the program's entries reach counts.
USER_THREAD_START     = user_thread_start
USER_STACK_REPORT     = python3 tools/stack_report.py --stack-size $(call user_abi_constant,USER_MAIN_STACK_BYTES) \
                        --stack-name USER_MAIN_STACK_BYTES --reserved $(call user_abi_constant,USER_ENTRY_BLOCK_BYTES_MAX) \
                        --trap-frame 0 --trap-handler none --entry user_start --thread-start $(USER_THREAD_START) \
                        --indirect-targets tools/stack_indirect_targets_user.txt --recursion tools/stack_recursion.txt --strict
USER_RUNTIME_CALL_GRAPHS := $(patsubst %.c.o,%.c.ci,$(USER_RUNTIME_OBJECTS))
user_program_objects  = $(call user_object,$(call user_program_sources,$(1)) $(call user_shared_sources,$(1)))
define user_stack_rule
$(BUILD)/user/$(1).stack.txt: $(BUILD)/user/$(1).elf tools/stack_report.py tools/stack_requests.py \
                              tools/stack_indirect_targets_user.txt tools/stack_recursion.txt
	@echo "  STACK   $$@"
	$(Q)$$(USER_STACK_REPORT) $(addprefix --stack-requests ,$(call user_program_objects,$(1))) \
	    $(patsubst %.o,%.ci,$(filter %.c.o,$(call user_program_objects,$(1)))) $$(USER_RUNTIME_CALL_GRAPHS) \
	    > $$@.tmp || { cat $$@.tmp; rm -f $$@ $$@.tmp; exit 1; }
	$(Q)mv $$@.tmp $$@
endef
$(foreach name,$(USER_PROGRAM_NAMES),$(eval $(call user_stack_rule,$(name))))

# What the kernel embeds: the ELF file without its symbols and debug information (once its stack
# report holds).
$(BUILD)/user/embedded/%: $(BUILD)/user/%.elf $(BUILD)/user/%.stack.txt
	@mkdir -p $(@D)
	$(Q)$(OBJCOPY) --strip-all $< $@

# The table (kernel/proc/programs.h), rewritten when a program or the set of names changes.
USER_NAMES_STAMP := $(BUILD)/user/programs.$(shell echo '$(USER_PROGRAM_NAMES)' | cksum | cut -d' ' -f1)
$(USER_NAMES_STAMP):
	@mkdir -p $(@D) && rm -f $(BUILD)/user/programs.* && touch $@
$(USER_PROGRAM_TABLE): $(USER_EMBEDDED) $(USER_NAMES_STAMP) tools/user_programs.py
	@echo "  GEN     $@"
	$(Q)python3 tools/user_programs.py $@ $(foreach name,$(USER_PROGRAM_NAMES),$(name)=$(BUILD)/user/embedded/$(name))

$(STEP_TABLE): tools/malloc_step_table.py
	@echo "  GEN     $@"
	$(Q)python3 tools/malloc_step_table.py $@

$(FDT_BLOBS): tools/fdt_blobs.sh tools/fdt_to_c.sh tests/data/fdt_board.dts | check-tools
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	$(Q)tools/fdt_blobs.sh $@

$(BUILD)/kernel-objects/$(BUILD)/%.c.o: $(BUILD)/%.c | check-tools $(STEP_TABLE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/kernel.elf: $(KERNEL_OBJECTS) $(BUILD_FIGURES_OBJECT) linker.ld | check-tools
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(KERNEL_OBJECTS) $(BUILD_FIGURES_OBJECT) $(LDLIBS)

# Figures of this build that the monitor and the tour show (tools/build_figures.py): GCC's frame
# sizes for kernel/top/tour_frames.c and each entry point's worst case from the stack report.
$(BUILD_FIGURES): $(BUILD)/stack-report.txt tools/build_figures.py $(BUILD)/kernel-objects/kernel/top/tour_frames.c.o
	@echo "  GEN     $@"
	$(Q)python3 tools/build_figures.py --su $(BUILD)/kernel-objects/kernel/top/tour_frames.c.su \
	    --stack-report $(BUILD)/stack-report.txt -o $@

$(BUILD)/kernel.bin: $(BUILD)/kernel.elf tools/relocs.py
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -O binary $< $@
	$(Q)python3 tools/relocs.py $< $@

$(BUILD)/kernel-objects/%.c.o: %.c | check-tools $(STEP_TABLE)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/kernel-objects/%.S.o: %.S | check-tools
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)$(CC) $(ASFLAGS) -c -o $@ $<

# Settings are baked into objects: rebuild everything when they change.
SETTINGS_STAMP := $(BUILD)/settings.$(shell echo '$(CROSS_PREFIXES) $(SETTINGS) $(LOAD_ADDR) $(CFLAGS)' | cksum | cut -d' ' -f1)
$(SETTINGS_STAMP):
	@rm -f $(BUILD)/settings.* ; rm -rf $(BUILD)/kernel-objects ; mkdir -p $(BUILD) ; touch $@
$(KERNEL_OBJECTS) $(USER_CRT0) $(USER_RUNTIME_OBJECTS) $(USER_PROGRAM_OBJECTS) $(USER_SHARED_OBJECTS): $(SETTINGS_STAMP)

# Worst-case stack depth of every entry point, from the call graphs (.ci) GCC writes next to each
# object (docs/STACK.md). Part of every build: a worst case that does not fit the stack, counting a
# trap on top and keeping the red zone free, fails it, and so does an entry point left without a
# proven worst case (--strict: a recursion whose bound tools/stack_recursion.txt does not declare,
# or a dynamic frame). `make stack-report` prints the whole report.
header_constant = $$(( $(shell echo $(2) | $(CC) $(ARCH_FLAGS) -ffreestanding -I. -E -P -include $(1) - | tail -1) ))
KERNEL_CALL_GRAPHS = $(patsubst %.c.o,%.c.ci,$(filter %.c.o,$(KERNEL_OBJECTS)))
STACK_REPORT = python3 tools/stack_report.py --stack-size $(STACK_SIZE) \
    --trap-frame $(call header_constant,kernel/platform/trap.h,TRAP_FRAME_SIZE) \
    --reserved $(call header_constant,kernel/platform/stack.h,STACK_RED_ZONE_BYTES) \
    --emergency-stack $(call header_constant,kernel/base/layout.h,EMERGENCY_STACK_SIZE) \
    --indirect-targets tools/stack_indirect_targets.txt --recursion tools/stack_recursion.txt --strict \
    $(KERNEL_CALL_GRAPHS)

stack-report: $(KERNEL_OBJECTS) $(patsubst %,$(BUILD)/user/%.stack.txt,$(USER_PROGRAM_NAMES))
	$(Q)$(STACK_REPORT)
	$(Q)for name in $(USER_PROGRAM_NAMES); do echo; echo "user program $$name:"; cat $(BUILD)/user/$$name.stack.txt; done

$(BUILD)/stack-report.txt: $(KERNEL_OBJECTS) tools/stack_report.py tools/stack_indirect_targets.txt tools/stack_recursion.txt
	@echo "  STACK   $@"
	$(Q)$(STACK_REPORT) > $@.tmp || { cat $@.tmp; rm -f $@ $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

# A terminal gets the monitor (no time limit); anything else (a pipe, CI) gets the tour, then a
# power-off with exit 0. The tour runs under -icount (-i: exact instruction counts for its cost
# table); so does the monitor unless ICOUNT=0, which runs the harts on host threads in parallel
# (faster `test` at the prompt) at the price of exact counts in its tour and bench. An idle prompt
# costs the host next to nothing either way (kernel/top/terminal.c sleeps 10 ms between looks).
run: all
	@if [ -t 0 ]; then mode=run seconds=0 icount=$(if $(filter 1,$(ICOUNT)),-i); \
	    else mode=tour seconds=$(TIMEOUT) icount=-i; fi; \
	    echo "$(QEMU_SH) $$icount -t $$seconds -a mode=$$mode $(BUILD)/kernel.elf"; \
	    $(QEMU_SH) $$icount -t $$seconds -a "mode=$$mode" $(BUILD)/kernel.elf

FUZZ_SMOKE_SECONDS ?= 10
# Fuzzers with seed inputs (tests/fuzz/seeds/NAME/) start make test's run from those alone each
# time: their inputs build heaps of megabytes that the validator walks after every operation, so a
# corpus kept from run to run would make the replay before the fuzzing outlast FUZZ_SMOKE_SECONDS.
FUZZ_SEEDED := $(notdir $(patsubst %/,%,$(wildcard tests/fuzz/seeds/fuzz_*/)))
# The allocator suites run once more in a checked build (poisoning, validator after every operation).
CHECKED_BUILD := $(BUILD)/checked
checked-kernel:
	$(Q)$(MAKE) --no-print-directory BUILD=$(CHECKED_BUILD) CHECKED=1 $(CHECKED_BUILD)/kernel.elf

test: all $(BUILD)/host-tests fuzz-targets host $(BUILD)/malloc-patterns $(if $(TESTS),,checked-kernel) \
      $(BUILD)/bounce-$(RELOCATED_ADDR).bin
	$(if $(TESTS),,$(Q)for name in $(FUZZ_SEEDED); do rm -rf $(BUILD)/test-logs/$$name-corpus && \
	    mkdir -p $(BUILD)/test-logs/$$name-corpus && cp tests/fuzz/seeds/$$name/* $(BUILD)/test-logs/$$name-corpus/; done)
	python3 tools/test.py --kernel $(BUILD)/kernel.elf --host $(BUILD)/host-tests --machine $(MACHINE) \
	    --preload $(BUILD)/host/librvmem_malloc.so --plain-host $(BUILD)/host/host-tests-plain \
	    --binding-tests $(BUILD)/host/binding-tests \
	    --patterns $(BUILD)/malloc-patterns \
	    --park-check $(BUILD)/host/librvmem_malloc_parkcheck.so --park-program $(BUILD)/host/park-program \
	    $(if $(TESTS),,--checked-kernel $(CHECKED_BUILD)/kernel.elf) \
	    $(if $(TESTS),,--relocated $(BUILD)/kernel.bin --bounce $(BUILD)/bounce-$(RELOCATED_ADDR).bin --relocated-address $(RELOCATED_ADDR)) \
	    --mem $(MEM) --timeout $(TIMEOUT) --bios $(BIOS) --tests '$(TESTS)' --log-dir $(BUILD)/test-logs \
	    $(if $(TESTS),,$(foreach target,$(FUZZ_TARGETS),--fuzz $(target))) --fuzz-seconds $(FUZZ_SMOKE_SECONDS)

# One image on every QEMU machine, hart count and RAM size (tools/test_matrix.py), with a summary table.
# Also: kernel.bin loaded by QEMU's generic loader at RELOCATED_ADDR (behind tools/bounce.S) relocates
# itself, and an image linked there (LOAD_ADDR=RELOCATED_ADDR) boots there.
UBOOT ?= /usr/lib/u-boot/qemu-riscv64_smode/uboot.elf
# rv32: the image and firmware/ for it (-Werror like every build), and the host tests with -m32 where
# this host can build them (gcc-multilib, lib32asan8, lib32ubsan1).
HOST32_OK = $(shell echo 'int main(void){return 0;}' | $(HOST_CC) -m32 -fsanitize=address,undefined -x c - \
              -o /dev/null 2>/dev/null && echo yes)
test-matrix: all firmware $(BUILD)/bounce-$(RELOCATED_ADDR).bin $(BUILD)/mpfs_icicle_dw_apb.dtb
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/load-$(RELOCATED_ADDR) LOAD_ADDR=$(RELOCATED_ADDR) \
	    $(BUILD)/load-$(RELOCATED_ADDR)/kernel.bin
	$(Q)$(MAKE) --no-print-directory ARCH=rv32 BUILD=$(BUILD)/rv32 all firmware $(if $(HOST32_OK),$(BUILD)/rv32/host-tests)
	python3 tools/test_matrix.py --kernel $(BUILD)/kernel.elf --bios $(BIOS) --log-dir $(BUILD)/matrix-logs \
	    --relocated-address $(RELOCATED_ADDR) --bounce $(BUILD)/bounce-$(RELOCATED_ADDR).bin --relocated-kernel $(BUILD)/kernel.bin \
	    --linked-kernel $(BUILD)/load-$(RELOCATED_ADDR)/kernel.bin --dw-apb-dtb $(BUILD)/mpfs_icicle_dw_apb.dtb \
	    --uboot $(UBOOT) --firmware $(BUILD)/firmware.elf --rv32-kernel $(BUILD)/rv32/kernel.elf \
	    --rv32-firmware $(BUILD)/rv32/firmware.elf $(if $(HOST32_OK),--host32 $(BUILD)/rv32/host-tests)

$(BUILD)/mpfs_icicle_dw_apb.dtb: tests/data/mpfs_icicle_dw_apb.dts | check-tools
	@mkdir -p $(@D)
	$(Q)dtc -q -I dts -O dtb -o $@ $<

# The minimal M-mode SBI firmware (firmware/): boots images where no OpenSBI exists (rv32: Debian has
# no rv32 OpenSBI). QEMU virt only.
FIRMWARE_SOURCES := $(wildcard firmware/*.S firmware/*.c)
firmware: $(BUILD)/firmware.elf
$(BUILD)/firmware.elf: $(FIRMWARE_SOURCES) firmware/firmware.h firmware/linker.ld boot/asm.h | check-tools
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) -std=gnu11 -O2 -g $(WARNINGS) $(ARCH_FLAGS) -I. -ffreestanding -nostdlib -fno-pie -Wl,--no-relax -Wl,--fatal-warnings \
	    -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T firmware/linker.ld -o $@ $(FIRMWARE_SOURCES)

$(BUILD)/bounce-$(RELOCATED_ADDR).bin: tools/bounce.S | check-tools
	@mkdir -p $(@D)
	$(Q)$(CC) $(WARNINGS) -Wa,--fatal-warnings $(ARCH_FLAGS) -nostdlib -Wl,-Ttext=0x80200000 -Wl,--build-id=none -DTARGET=$(RELOCATED_ADDR) \
	    -o $(@:.bin=.elf) $<
	$(Q)$(OBJCOPY) -O binary $(@:.bin=.elf) $@

# The malloc workloads on the host (tests/hostbench/): one optimized binary without sanitizers, run by
# tools/bench_host.py under callgrind and the clock with glibc's malloc and with rvmem's (LD_PRELOAD).
HOST_BENCH     := $(BUILD)/malloc-bench
RVMEM_PRELOAD  ?= $(BUILD)/host/librvmem_malloc.so
$(HOST_BENCH): $(HOSTBENCH_SOURCES) $(HEADERS) | check-bench-tools
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) -std=gnu11 -O2 -g -fno-plt -Wl,-z,now $(WARNINGS) -I. -DRVMEM_HOST -o $@ \
	    $(HOSTBENCH_SOURCES) -ldl

# Issue 14's patterns on the host (tests/hostbench/malloc_patterns.c): threads, resident memory, the
# clock; the same binary under each allocator. make test runs it small under the LD_PRELOAD malloc.
HOST_PATTERNS  := $(BUILD)/malloc-patterns
$(HOST_PATTERNS): $(HOSTPATTERNS_SOURCES) $(HEADERS) | check-host-tools
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) -std=gnu11 -O2 -g -fno-plt -Wl,-z,now $(WARNINGS) -I. -DRVMEM_HOST -pthread -o $@ \
	    $(HOSTPATTERNS_SOURCES) -ldl

# The kernel's figures, then (without a BENCHES filter) the host's; budgets fail the run, goals not
# reached yet are printed at the end (docs/BENCHMARKS.md, "Budgets and goals").
bench: all $(if $(BENCHES),,$(HOST_BENCH) $(HOST_PATTERNS) $(BUILD)/host/librvmem_malloc.so)
	python3 tools/bench.py --kernel $(BUILD)/kernel.elf --machine $(MACHINE) --mem $(MEM) --smp $(SMP) \
	    --timeout $(TIMEOUT) --bios $(BIOS) --benches '$(BENCHES)' --json $(BUILD)/bench.json \
	    $(if $(BENCHES),,--host-bench $(HOST_BENCH) --host-patterns $(HOST_PATTERNS) --preload $(RVMEM_PRELOAD))

bench-host: $(HOST_BENCH) $(HOST_PATTERNS) $(BUILD)/host/librvmem_malloc.so
	python3 tools/bench_host.py --bench $(HOST_BENCH) --patterns $(HOST_PATTERNS) --preload $(RVMEM_PRELOAD) \
	    --json $(BUILD)/bench.json

# The last `make bench` run's figures into docs/BENCHMARKS.md's generated section (tools/bench_markdown.py).
bench-doc:
	@test -s $(BUILD)/bench.json || { echo "bench-doc: no $(BUILD)/bench.json: run make bench first"; exit 1; }
	@tree=$$(git describe --always --dirty 2>/dev/null || echo 'this tree'); \
	day=$$(date -u -r $(BUILD)/bench.json +%Y-%m-%d); \
	qemu=$$(qemu-system-riscv64 --version | sed -n '1s/.*version \([0-9.]*\).*/\1/p'); \
	python3 tools/bench_markdown.py --json $(BUILD)/bench.json --doc docs/BENCHMARKS.md \
	    --source "\`make bench\` on $$tree, $$day, QEMU $$qemu $(MACHINE), $(SMP) harts, $(MEM)"

debug: all
	@echo "QEMU waits for gdb on :1234. In another terminal:"
	@echo "  gdb-multiarch -x tools/gdbinit $(BUILD)/kernel.elf"
	$(QEMU_SH) -g -a "mode=run" $(BUILD)/kernel.elf

$(BUILD)/host-tests: $(HOST_SOURCES) $(HEADERS) $(STEP_TABLE) | check-host-tools
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -o $@ $(HOST_SOURCES)

host-test: $(BUILD)/host-tests $(BUILD)/host/binding-tests
	$(BUILD)/host-tests $(TESTS)
	$(BUILD)/host/binding-tests '$(TESTS)'

# libFuzzer targets: tests/fuzz/fuzz_NAME.c linked with the portable sources.
FUZZ_TARGETS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SOURCES))
FUZZ_LINKED   := $(PORTABLE_SOURCES) tests/host/platform.c
FUZZ_CFLAGS   := -std=gnu11 -O1 -g $(WARNINGS) -I. -I$(GENERATED) -DRVMEM_HOST -DRVMEM_CHECKED=1 $(SETTINGS) \
                 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread
FUZZ_SECONDS  ?= 60
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LINKED) $(HEADERS) $(STEP_TABLE) | check-host-tools
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LINKED)
# fuzz_malloc with a binding that lends free pages away: unchecked (a checked build never releases them).
$(BUILD)/fuzz/fuzz_malloc_lending: tests/fuzz/fuzz_malloc.c
$(BUILD)/fuzz/fuzz_malloc_lending: FUZZ_CFLAGS := $(filter-out -DRVMEM_CHECKED=1,$(FUZZ_CFLAGS))


# make host: the allocator cores and lib for the host (x86-64): a static library and a shared
# library that replaces the system malloc through LD_PRELOAD (lib/host/: per-thread caches).
# -fno-tree-slp-vectorize: GCC's -O2 pairs the allocator's adjacent counters (TLSF's used blocks and
# bytes) into SSE loads, adds and stores, several instructions where two adds to memory do.
HOST_LIB_SOURCES := $(PORTABLE_SOURCES) lib/host/platform_posix.c lib/host/binding.c lib/host/park.c
HOST_LIB_CFLAGS  := -std=gnu11 -O2 -g $(WARNINGS) -I. -I$(GENERATED) -DRVMEM_HOST -DRVMEM_MALLOC_THREAD_CACHE $(SETTINGS) -fPIC \
                    -fvisibility=hidden -ftls-model=initial-exec -fno-builtin-malloc -fno-builtin-free -pthread \
                    -fno-tree-slp-vectorize
HOST_LIB_OBJECTS := $(patsubst %.c,$(BUILD)/host/objects/%.o,$(HOST_LIB_SOURCES))
$(BUILD)/host/objects/%.o: %.c $(HEADERS) $(STEP_TABLE) | check-host-tools
	@mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -c -o $@ $<
$(BUILD)/host/librvmem.a: $(HOST_LIB_OBJECTS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/host/librvmem_malloc.so: $(HOST_LIB_OBJECTS) $(BUILD)/host/objects/lib/host/preload.o \
                                  $(BUILD)/host/objects/lib/host/preload_park.o
	@echo "  HOSTLD  $@"
	$(Q)$(HOST_CC) -shared -pthread -o $@ $^ -ldl
# The same library with RVMEM_PARK_CHECK (lib/host/preload.c): an allocation by a parked thread aborts.
$(BUILD)/host/objects/lib/host/preload_parkcheck.o: lib/host/preload.c $(HEADERS) | check-host-tools
	@mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -DRVMEM_PARK_CHECK -c -o $@ $<
$(BUILD)/host/librvmem_malloc_parkcheck.so: $(HOST_LIB_OBJECTS) $(BUILD)/host/objects/lib/host/preload_parkcheck.o \
                                            $(BUILD)/host/objects/lib/host/preload_park.o
	@echo "  HOSTLD  $@"
	$(Q)$(HOST_CC) -shared -pthread -o $@ $^ -ldl
# Every blocking call the library parks in, with a trimmer and cancellations (tests/host/park_program.c).
$(BUILD)/host/park-program: $(TESTS_HOST_PARK) | check-host-tools
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) -std=gnu11 -O1 -g $(WARNINGS) -pthread -o $@ $<
# The host tests without sanitizers, to run under the LD_PRELOAD malloc (ASan must come first).
$(BUILD)/host/host-tests-plain: $(HOST_SOURCES) $(HEADERS) $(STEP_TABLE) | check-host-tools
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(HOST_CFLAGS)) -o $@ $(HOST_SOURCES)
# The binding's tests (tests/host/binding.c) on the library itself, without sanitizers.
$(BUILD)/host/binding-tests: $(TESTS_HOST_LIB) $(BUILD)/host/librvmem.a $(HEADERS) | check-host-tools
	@echo "  HOSTCC  $@"
	$(Q)$(HOST_CC) -std=gnu11 -O1 -g $(WARNINGS) -I. -DRVMEM_HOST -pthread -o $@ $(TESTS_HOST_LIB) $(BUILD)/host/librvmem.a
host: $(BUILD)/host/librvmem.a $(BUILD)/host/librvmem_malloc.so $(BUILD)/host/host-tests-plain $(BUILD)/host/binding-tests \
      $(BUILD)/host/librvmem_malloc_parkcheck.so $(BUILD)/host/park-program

fuzz-targets: $(FUZZ_TARGETS)
fuzz: $(FUZZ_TARGETS) $(FDT_BLOBS) $(USER_EMBEDDED)
	@mkdir -p $(BUILD)/fuzz/corpus-fuzz_fdt && cp $(BUILD)/fdt_*.dtb $(BUILD)/fuzz/corpus-fuzz_fdt/
	@mkdir -p $(BUILD)/fuzz/corpus-fuzz_elf && cp $(USER_EMBEDDED) $(BUILD)/fuzz/corpus-fuzz_elf/
	@for name in $(FUZZ_SEEDED); do mkdir -p $(BUILD)/fuzz/corpus-$$name && cp tests/fuzz/seeds/$$name/* $(BUILD)/fuzz/corpus-$$name/; done
	@for target in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$(basename $$target); \
	    echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
	    $$target -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/corpus-$$(basename $$target) \
	        || exit 1; \
	done

FORMAT_FILES = $(wildcard boot/*.h kernel/*/*.[ch] lib/*.[ch] lib/*/*.[ch] tests/*/*.[ch] firmware/*.[ch] user/*/*.[ch] \
                 user/programs/*/*.[ch])
format:
	clang-format -i $(FORMAT_FILES)

# Every source in one layer's list above (tests/lib/malloc_workloads.c is shared with the host bench).
LISTED_SOURCES = $(BOOT_SOURCES) $(PORTABLE_SOURCES) $(LIB_STD_NAMES) $(BASE_KERNEL) $(PLATFORM_KERNEL) $(MM_KERNEL) $(PROC_PROGRAMS) $(PROC_KERNEL) $(TOP_KERNEL) \
                 $(TESTS_PORTABLE) $(TESTS_KERNEL) $(TESTS_HOST) $(TESTS_HOST_LIB) $(TESTS_HOST_PARK) $(LIB_HOST) $(FUZZ_SOURCES) \
                 tests/hostbench/malloc_bench.c tests/hostbench/malloc_patterns.c $(USER_LIB_SOURCES) $(USER_PROGRAM_SOURCES)
# The call graphs of the kernel and of the user runtime's own files.
USER_LIB_CALL_GRAPHS = $(patsubst %.c.o,%.c.ci,$(filter $(BUILD)/user/objects/user/%.c.o,$(USER_RUNTIME_OBJECTS)))
lint: $(KERNEL_OBJECTS) $(USER_RUNTIME_OBJECTS)
	$(Q)python3 tools/layers.py --listed $(LISTED_SOURCES) --call-graphs $(KERNEL_CALL_GRAPHS) $(USER_LIB_CALL_GRAPHS)
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr --std=c11 \
	    -DRVMEM_HOST -I. -I$(GENERATED) --suppress=missingIncludeSystem $(FORMAT_FILES)

deps:
	tools/deps.sh all

check-tools:
	@tools/deps.sh kernel

check-host-tools:
	@tools/deps.sh host

check-bench-tools:
	@tools/deps.sh bench

clean:
	rm -rf $(BUILD)

# The comment block at the top of this file, up to its first blank line.
help:
	@sed -n '1,/^$$/p' Makefile | sed -e '/^$$/d' -e 's/^# \{0,1\}//'

-include $(KERNEL_OBJECTS:.o=.d) $(USER_CRT0:.o=.d) $(USER_RUNTIME_OBJECTS:.o=.d) $(USER_PROGRAM_OBJECTS:.o=.d) $(USER_SHARED_OBJECTS:.o=.d)
