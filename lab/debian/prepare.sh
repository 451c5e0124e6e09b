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
#   not load): dkms/rust-overlay.sh, the script rscst-dkms runs on users'
#   machines, run in the chroot;
# - the kernel's image, base and modules packages for the guest
#   (lab/rootfs/build.sh trixie PKGVER installs them).
# Prints the chroot's path, the ABI name ("7.2.12+deb13-amd64") and the
# package version ("7.2.12-1~bpo13+1") on stdout.
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
root=$(debian_chroot)
if [ ! -f "$root/.built" ]; then
	log "debootstrap trixie (Debian's module toolchain) in $root"
	rm -rf "$root"
	debootstrap --variant=minbase --include="$DEBIAN_CHROOT_PKGS" trixie "$root" http://deb.debian.org/debian \
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
debs=$(debian_debs_dir "$pkgver")
# What the module build needs (source, headers, kbuild) and what the guest
# installs (image, base, modules, binary).
want="linux-source-7.2 linux-headers-$abi linux-headers-$base-common linux-kbuild-$base
	linux-image-$abi linux-base-$abi linux-modules-$abi linux-binary-$abi"
missing=()
for p in $want; do
	ls "$debs/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p=$pkgver")
done
# The image package pre-depends on a newer linux-base than trixie has.
if ! ls "$debs"/linux-base_*.deb >/dev/null 2>&1; then
	v=$(apt-cache madison linux-base | awk -F'|' '/trixie-backports/ {gsub(/ /, "", $2); print $2; exit}')
	[ -n "$v" ] || die "no linux-base in trixie-backports"
	missing+=("linux-base=$v")
fi
if [ ${#missing[@]} -gt 0 ]; then
	mkdir -p "$debs"
	log "downloading Debian $abi ($pkgver): ${missing[*]%%=*}"
	(cd "$debs" && apt-get download -q "${missing[@]}" >"$top/download.log" 2>&1) ||
		{ tail -5 "$top/download.log" >&2; die "apt-get download failed"; }
fi
if [ ! -f "$root/.prepared-$pkgver" ]; then
	rm -rf "$tree"
	for p in linux-headers-"$abi" linux-headers-"$base"-common linux-kbuild-"$base"; do
		dpkg -x "$debs/${p}_"*.deb "$root"
	done
	[ -f "$tree/.config" ] || die "no .config in $tree"
	log "regenerating the Rust metadata: dkms/rust-overlay.sh (make prepare on linux-source-7.2 with Debian's .config)"
	dpkg -x "$debs"/linux-source-7.2_*.deb "$root"
	install -m 0755 "$REPO_DIR/dkms/rust-overlay.sh" "$root/usr/local/bin/rust-overlay"
	in_chroot "$root" /bin/bash /usr/local/bin/rust-overlay /usr/src/linux-source-7.2.tar.xz "/usr/src/linux-headers-$abi" /build \
		>"$top/prepare.log" 2>&1 || { tail -30 "$top/prepare.log" >&2; die "the Rust metadata for Debian's $abi could not be made (log: $top/prepare.log)"; }
	grep 'crate hashes' "$top/prepare.log" | sed 's/^rust-overlay: //' | while read -r l; do log "$l"; done
	rm -f "$root/usr/src/linux-source-7.2.tar.xz"
	touch "$root/.prepared-$pkgver"
fi
echo "$root $abi $pkgver"
