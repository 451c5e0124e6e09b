# SPDX-License-Identifier: GPL-2.0
# rscst: the stable entry points (see README.md).
#   make / make modules [KDIR=/path/to/built/kernel]  build the modules
#   make check        every test tier this machine can run
#   make check-host   fmt, clippy, unit tests of crates/, the fuzz driver
#   make check-vm [SUITE=name] [KERNEL=lab|debian-7.2]  VM suites (all when
#                     SUITE is empty; both kernel lines when KERNEL is)
#   make demo         set up the lab if needed and run the demo in a VM
#   make bench        side-by-side benchmarks -> bench/results/latest.md
#   make deb          the rscst-dkms Debian packages (source and binary) -> out/deb/

SHELL := /bin/bash
REPO := $(CURDIR)
FLAVOUR ?= debug
# Without KDIR, the lab's cached kernel (built on first use).
KDIR ?=
SUITE ?=
KERNEL ?=

.PHONY: all modules clean check check-host check-vm demo bench deb lab

all: modules

lab:
	@bash lab/setup-host.sh

modules:
	@bash lab/build-modules.sh "$(FLAVOUR)" "$(KDIR)"

check-host:
	@bash tests/host/run.sh

check-vm:
	@bash lab/check-vm.sh "$(SUITE)" "$(KERNEL)"

check:
	@bash lab/check.sh

demo:
	@bash lab/demo.sh

bench:
	@bash lab/bench.sh

deb:
	@bash lab/debian/deb.sh

clean:
	@find core fabrics dev_handlers -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name 'modules.order' -o -name 'Module.symvers' -o -name '*.rmeta' 2>/dev/null | xargs -r rm -f
	@rm -rf sys/generated Module.symvers modules.order
