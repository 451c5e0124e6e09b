# SPDX-License-Identifier: GPL-2.0
# Rust cfg flags for the kernel line being built against (sys/compat.rs).
# By version: Debian's headers packages carry no Rust sources to probe.
# Supported: 6.12 and 7.2 or later (Debian's stock kernels); a kernel from
# 6.13 to 6.19 gets the 6.12 side and fails to compile.
rustflags-y += $(if $(filter-out 0 1 2 3 4 5 6,$(VERSION)),--cfg rscst_kernel7)
