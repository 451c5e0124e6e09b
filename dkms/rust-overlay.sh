#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Completes a distribution kernel's headers tree with the Rust metadata an
# out-of-tree Rust module needs and which headers packages do not ship
# (rust/*.rmeta, the proc-macro libraries, scripts/target.json, the kernel's
# bindgen command line):
#   rust-overlay.sh SOURCE_TARBALL HEADERS_DIR WORK_DIR
# SOURCE_TARBALL is the same kernel's source (Debian: linux-source-X.Y);
# HEADERS_DIR its headers tree, completed in place (its scripts/ must be
# writable); WORK_DIR a scratch directory, removed afterwards.
#
# The metadata is regenerated: `make prepare` on the source with the kernel's
# own .config, by the compilers the kernel was built with. A module links
# against the kernel's Rust crates by their hashes, so every Rust symbol the
# kernel exports (Module.symvers) must come out identical; if one differs,
# the toolchain is not the kernel's and this stops, saying so.
# Used by rscst-dkms (dkms/build.sh) and by the lab (lab/debian/prepare.sh).
set -euo pipefail
tarball=$1
kdir=$2
work=$3
die() { echo "rust-overlay: $*" >&2; exit 1; }
say() { echo "rust-overlay: $*" >&2; }

config=$kdir/.config
[ -f "$config" ] || die "no .config in $kdir"
grep -qx 'CONFIG_RUST=y' "$config" || die "the kernel of $kdir has no Rust support (CONFIG_RUST is not set)"
# The compilers the kernel was built with, by the kernel's own record
# (distribution kernels are GCC-built; a Clang-built one is not handled here).
grep -qx 'CONFIG_CC_IS_GCC=y' "$config" || die "the kernel of $kdir was not built with GCC"
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$config")
want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
command -v "$cc" >/dev/null || die "the kernel was built with $cc, which is not installed"
have_rustc=$(rustc --version 2>/dev/null || echo "no rustc")
[ "$have_rustc" = "$want_rustc" ] ||
	die "the kernel was built with '$want_rustc'; this system's rustc is '$have_rustc'"
[ -f "$tarball" ] || die "no kernel source at $tarball"

rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
say "unpacking $tarball"
tar -xf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)
[ -f "$src/Makefile" ] || die "$tarball does not unpack to a kernel tree"
cp "$config" "$src/.config"
make -s -C "$src" CC="$cc" olddefconfig
if ! cmp -s "$src/.config" "$config"; then
	diff -u "$config" "$src/.config" | grep '^[-+]CONFIG\|^[-+]# CONFIG' | head -40 >&2
	die "make olddefconfig changed the kernel's .config (above): these compilers are not the kernel's (or the source is another version)"
fi
say "make prepare (builds the kernel's Rust crates; a few minutes)"
make -s -C "$src" CC="$cc" -j"$(nproc)" prepare >"$work/prepare.log" 2>&1 ||
	{ tail -30 "$work/prepare.log" >&2; die "make prepare failed"; }

# Every Rust symbol the kernel exports, with its crate hash, must be defined
# by the regenerated crates.
want=$work/kernel-rust-symbols
have=$work/built-rust-symbols
{ grep -o '^0x[0-9a-f]*[[:space:]]_R[^[:space:]]*[[:space:]]vmlinux' "$kdir/Module.symvers" || true; } |
	awk '{print $2}' | sort -u >"$want"
(cd "$src/rust" && nm --defined-only ./*.o 2>/dev/null) | awk '{print $3}' | sort -u >"$have"
total=$(wc -l <"$want")
[ "$total" -gt 0 ] || die "$kdir/Module.symvers lists no Rust symbol of vmlinux"
missing=$(comm -23 "$want" "$have" | wc -l)
[ "$missing" = 0 ] ||
	die "$missing of $total Rust symbols of the kernel differ from the regenerated crates: the toolchain or the source differs from the kernel's"
say "crate hashes match the kernel's Module.symvers ($total Rust symbols)"

mkdir -p "$kdir/rust/bindings"
cp "$src"/rust/*.rmeta "$src"/rust/*.so "$kdir/rust/"
cp "$src/scripts/target.json" "$kdir/scripts/"
# The C flags of the kernel's own bindgen run (for a module's own bindings).
cp "$src/rust/bindings/.bindings_generated.rs.cmd" "$kdir/rust/bindings/"
