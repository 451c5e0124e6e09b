#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rscst-dkms's build step (dkms.conf MAKE): builds rscst's modules for one
# installed kernel, in the source tree this script belongs to.
#   build.sh KERNELVER [HEADERS_DIR]
# rscst's modules are Rust, and a Rust module needs its kernel's Rust
# metadata, which distribution headers packages lack. For a Debian headers
# tree this makes it once per kernel package version, from the matching
# linux-source-X.Y with the system's rustc (dkms/rust-overlay.sh), in a
# private copy of the headers under /var/lib/rscst-dkms/KERNELVER; a kernel
# tree that already has it (one you built yourself) is used as it is.
set -euo pipefail
kver=${1:?usage: build.sh KERNELVER [HEADERS_DIR]}
headers=$(readlink -f "${2:-/lib/modules/$kver/build}")
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
die() { echo "rscst-dkms: $*" >&2; exit 1; }
say() { echo "rscst-dkms: $*" >&2; }

[ -f "$headers/.config" ] || die "no headers for kernel $kver at $headers: install linux-headers-$kver"
grep -qx 'CONFIG_RUST=y' "$headers/.config" ||
	die "kernel $kver has no Rust support (CONFIG_RUST is not set): rscst's modules are written in Rust and need a kernel built with CONFIG_RUST=y (Debian's 7.2 kernels from trixie-backports have it); nothing was built for $kver"

# A module links against the kernel's Rust crates: only the rustc that
# built the kernel can build it.
want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$headers/.config")
have_rustc=$(rustc --version 2>/dev/null || echo "no rustc")
[ "$have_rustc" = "$want_rustc" ] ||
	die "kernel $kver was built with '$want_rustc'; this system's rustc is '$have_rustc'; nothing was built for $kver"

kdir=$headers
if [ ! -f "$headers/rust/libkernel.rmeta" ]; then
	hpkg=$(dpkg-query -S "$headers/.config" 2>/dev/null | cut -d: -f1 | head -1 || true)
	[ -n "$hpkg" ] || die "$headers lacks the kernel's Rust metadata (rust/libkernel.rmeta) and belongs to no Debian package: build against the kernel's full build tree instead"
	hver=$(dpkg-query -W -f='${Version}' "$hpkg")
	state=/var/lib/rscst-dkms/$kver
	kdir=$state/headers
	mkdir -p /var/lib/rscst-dkms
	exec 8>"/var/lib/rscst-dkms/.lock-$kver"
	flock 8
	if [ ! -f "$state/.complete-$hver" ]; then
		mm=$(echo "$kver" | cut -d. -f1,2)
		spkg=linux-source-$mm
		sver=$(dpkg-query -W -f='${Version}' "$spkg" 2>/dev/null || true)
		[ "$sver" = "$hver" ] ||
			die "the Rust metadata of kernel $kver is made from its source: install $spkg=$hver (installed: ${sver:-none}), then run: dkms autoinstall -k $kver"
		say "completing a copy of $hpkg ($hver) with the kernel's Rust metadata in $kdir"
		rm -rf "$state"
		mkdir -p "$state"
		cp -a "$headers" "$kdir"
		# The copy's Makefile names its own path, and its scripts/ (where the
		# Rust target file goes) must be its own, not the kbuild package's.
		sed -i "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$kdir|" "$kdir/Makefile"
		grep -qx "KBUILD_OUTPUT=$kdir" "$kdir/Makefile" || die "$headers/Makefile is not a Debian headers Makefile (no KBUILD_OUTPUT line)"
		for l in scripts tools; do
			[ -L "$kdir/$l" ] || continue
			rm "$kdir/$l"
			cp -a "$(readlink -f "$headers/$l")" "$kdir/$l"
		done
		# Its report stays with the copy (DKMS deletes a good build's log).
		bash "$here/rust-overlay.sh" "/usr/src/$spkg.tar.xz" "$kdir" "$state/work" 2>&1 | tee "$state/overlay.log"
		touch "$state/.complete-$hver"
	fi
fi

# The C compiler the kernel was built with, by the kernel's own record: a
# GCC by its name (Debian's x86_64-linux-gnu-gcc-14), Clang by its version.
clang=$(sed -n 's/^CONFIG_CLANG_VERSION=\([1-9][0-9]*\)$/\1/p' "$kdir/.config")
if [ -n "$clang" ]; then
	cc_flags=(LLVM=-$((clang / 10000)))
else
	cc_flags=(CC="$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$kdir/.config")")
fi
cd "$top"
say "building rscst for $kver with $(rustc --version) and ${cc_flags[*]}"
bash sys/gen-bindings.sh "$kdir" "$top/sys/generated/bindings.rs"
# RSCST_MAKE_FLAGS: more kbuild flags (the lab passes warnings-as-errors).
# shellcheck disable=SC2086
make -C "$kdir" -j"$(nproc)" "${cc_flags[@]}" ${RSCST_MAKE_FLAGS:-} M="$top" modules
