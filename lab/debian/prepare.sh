#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The lab's second kernel line: Debian's own stock 7.2 kernel from
# trixie-backports, not one we build. Makes (cached under
# $RSCST_CACHE/debian/):
# - a trixie chroot with Debian's module toolchain for that kernel (rustc and
#   rust-src 1.85.1, bindgen 0.71.1, gcc-14, libclang-19);
# - in it, Debian's linux-headers for the newest 7.2 ABI in trixie-backports,
#   completed with the Rust metadata Debian does not ship: `make prepare` on
#   linux-source-7.2 with Debian's .config regenerates rust/*.rmeta, the
#   proc-macro libraries and scripts/target.json, and the crate hashes are
#   checked against Debian's Module.symvers (a module built otherwise would
#   not load);
# - the kernel image and modules package (linux-binary) for the guest.
# Prints the chroot's path and the ABI name ("7.2.12+deb13-amd64") on stdout.
source "$(dirname "$0")/../lib.sh"

command -v debootstrap >/dev/null || die "debootstrap is missing: run lab/setup-host.sh"
top="$RSCST_CACHE/debian"
mkdir -p "$top"
exec 9>"$top/.lock"
flock 9

[ -f /etc/apt/sources.list.d/rscst-trixie-backports.sources ] ||
	die "the host has no trixie-backports source: run lab/setup-host.sh"
newest_abi() { # the newest 7.2 ABI trixie-backports has (read at run time)
	apt-cache search --names-only '^linux-headers-7\.2\.[0-9]+\+deb13-amd64$' | awk '{print $1}' |
		sed 's/^linux-headers-//' | sort -V | tail -1
}
abi=$(newest_abi)
if [ -z "$abi" ]; then
	apt-get update -q >/dev/null 2>&1 || true
	abi=$(newest_abi)
fi
[ -n "$abi" ] || die "no linux-headers-7.2.*+deb13-amd64 in trixie-backports"
base=${abi%-amd64}
pkgver=$(apt-cache madison "linux-headers-$abi" | awk -F'|' 'NR == 1 {gsub(/ /, "", $2); print $2}')

# The chroot, keyed by its package list.
pkgs="rustc,rust-src,bindgen,gcc,gcc-14,libc6-dev,libclang1-19,make,bc,flex,bison,libelf-dev,libssl-dev,openssl,dwarves,xz-utils,kmod,cpio,python3,rsync"
ckey=$(printf 'trixie minbase %s\n' "$pkgs" | sha256sum | cut -c1-12)
root="$top/chroot-$ckey"
if [ ! -f "$root/.built" ]; then
	log "debootstrap trixie (Debian's module toolchain) in $root"
	rm -rf "$root"
	debootstrap --variant=minbase --include="$pkgs" trixie "$root" http://deb.debian.org/debian \
		>"$top/debootstrap.log" 2>&1 || { tail -20 "$top/debootstrap.log" >&2; die "debootstrap trixie failed"; }
	touch "$root/.built"
fi
rv=$(in_chroot "$root" rustc --version)
case "$rv" in
*1.85.1*) ;;
*) die "trixie's rustc is '$rv', not the 1.85.1 Debian's 7.2 kernels were built with" ;;
esac

tree="$root/usr/src/linux-headers-$abi"
# Keyed by the package version: Debian may upload the same ABI again.
if [ ! -f "$root/.prepared-$pkgver" ]; then
	debs="$top/debs-$pkgver"
	rm -rf "$debs"
	mkdir -p "$debs"
	rm -rf "$tree"
	log "downloading Debian $abi ($pkgver): source, headers, kbuild, binary"
	(cd "$debs" && apt-get download -q "linux-source-7.2=$pkgver" "linux-headers-$abi=$pkgver" \
		"linux-headers-$base-common=$pkgver" "linux-kbuild-$base=$pkgver" "linux-binary-$abi=$pkgver" \
		>"$top/download.log" 2>&1) || { tail -5 "$top/download.log" >&2; die "apt-get download failed"; }
	for p in linux-headers-"$abi" linux-headers-"$base"-common linux-kbuild-"$base"; do
		dpkg -x "$debs/${p}_"*.deb "$root"
	done
	[ -f "$tree/.config" ] || die "no .config in $tree"
	log "regenerating the Rust metadata: make prepare on linux-source-7.2 with Debian's .config"
	src="$root/build/linux-source-7.2"
	rm -rf "$root/build" && mkdir -p "$root/build"
	dpkg -x "$debs"/linux-source-7.2_*.deb "$root/build/pkg"
	tar -xf "$root"/build/pkg/usr/src/linux-source-7.2.tar.xz -C "$root/build"
	rm -rf "$root/build/pkg"
	[ -d "$src" ] || die "linux-source-7.2 did not unpack to $src"
	cp "$tree/.config" "$src/.config"
	in_chroot "$root" /bin/bash -c "cd /build/linux-source-7.2 && make -s CC=x86_64-linux-gnu-gcc-14 olddefconfig && cmp -s .config /usr/src/linux-headers-$abi/.config" ||
		die "olddefconfig changed Debian's .config: the toolchain differs from Debian's"
	in_chroot "$root" /bin/bash -c "cd /build/linux-source-7.2 && make -s CC=x86_64-linux-gnu-gcc-14 -j$(nproc) prepare" >"$top/prepare.log" 2>&1 ||
		{ tail -30 "$top/prepare.log" >&2; die "make prepare failed (log: $top/prepare.log)"; }
	# Every Rust symbol vmlinux exports must be defined, with the same
	# crate hashes, by the regenerated crates.
	{ grep -o '^0x[0-9a-f]*[[:space:]]_R[^[:space:]]*[[:space:]]vmlinux' "$tree/Module.symvers" || true; } |
		awk '{print $2}' | sort -u >"$top/debian-rust-syms"
	in_chroot "$root" /bin/bash -c "cd /build/linux-source-7.2/rust && nm --defined-only *.o 2>/dev/null" | awk '{print $3}' | sort -u >"$top/built-rust-syms"
	missing=$(comm -23 "$top/debian-rust-syms" "$top/built-rust-syms" | wc -l)
	total=$(wc -l <"$top/debian-rust-syms")
	[ "$total" -gt 0 ] || die "Debian's Module.symvers lists no Rust symbol: is CONFIG_RUST on?"
	[ "$missing" = 0 ] || die "$missing of $total Rust symbols of Debian's vmlinux differ from the regenerated crates (toolchain mismatch): see $top/debian-rust-syms"
	log "crate hashes match Debian's Module.symvers ($total Rust symbols)"
	cp "$src"/rust/*.rmeta "$src"/rust/*.so "$tree/rust/" 2>/dev/null || { mkdir -p "$tree/rust" && cp "$src"/rust/*.rmeta "$src"/rust/*.so "$tree/rust/"; }
	cp "$src/scripts/target.json" "$tree/scripts/"
	# The C flags of the kernel's own bindgen run, which sys/gen-bindings.sh reads.
	mkdir -p "$tree/rust/bindings"
	cp "$src/rust/bindings/.bindings_generated.rs.cmd" "$tree/rust/bindings/"
	rm -rf "$root/build"
	touch "$root/.prepared-$pkgver"
fi
echo "$root $abi"
