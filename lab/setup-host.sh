#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs what the lab needs on a Debian 12 machine: kernel build deps, the
# kernel source, rust-src matching rustc (one pinned package from
# trixie-backports, never a suite-wide upgrade), bindgen-cli, qemu, OVMF and
# virt-fw-vars.
# Idempotent: a warm machine passes through in a few seconds.
source "$(dirname "$0")/lib.sh"

HOST_PKGS=(gcc make bc flex bison libelf-dev libssl-dev cpio kmod xz-utils
	libclang-dev qemu-system-x86 debootstrap e2fsprogs rsync linux-source-6.12
	python3 busybox-static clang-19 lld-19 llvm-19 libclang-19-dev
	ovmf python3-venv python3-cryptography python3-pefile python3-setuptools)

mkdir -p "$RSCST_CACHE"

missing_pkgs() {
	local p
	for p in "${HOST_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
}

apt_updated=0
apt_update() {
	[ $apt_updated = 1 ] && return
	log "apt-get update"
	apt-get update -qq
	apt_updated=1
}

export DEBIAN_FRONTEND=noninteractive
miss=$(missing_pkgs)
if [ -n "$miss" ]; then
	apt_update
	log "installing: $miss"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $miss >/dev/null
fi

# rust-src for exactly this rustc: trixie-backports, pinned low so nothing else
# is ever taken from it.
want=$(rustc_version)
if [ ! -d "$(rust_lib_src)" ]; then
	cat >/etc/apt/sources.list.d/rscst-trixie-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	cat >/etc/apt/preferences.d/rscst-trixie-backports <<'PIN'
Package: *
Pin: release n=trixie-backports
Pin-Priority: 100
PIN
	apt_updated=0
	apt_update
	ver=$(apt-cache madison rust-src | awk -v w="$want+" '$3 ~ "^"w {print $3; exit}')
	[ -n "$ver" ] || die "no rust-src $want in trixie-backports (apt-cache madison rust-src)"
	log "installing rust-src=$ver"
	apt-get install -y -qq --no-install-recommends "rust-src=$ver" >/dev/null
	[ -d "$(rust_lib_src)" ] || die "rust-src installed but $(rust_lib_src) is missing"
fi

if ! command -v bindgen >/dev/null || ! bindgen --version | grep -q "$BINDGEN_VERSION"; then
	log "cargo install bindgen-cli@$BINDGEN_VERSION"
	cargo install --locked --quiet --root "$BINDGEN_ROOT" "bindgen-cli@$BINDGEN_VERSION"
fi

# virt-fw-vars for the modsig suite's UEFI variable store: only the one
# package from PyPI (its dependencies are Debian's). Without it the suites
# that need it fail and say so; nothing else does.
if [ ! -x "$VIRT_FIRMWARE_ROOT/bin/virt-fw-vars" ]; then
	log "pip install virt-firmware==$VIRT_FIRMWARE_VERSION"
	rm -rf "$VIRT_FIRMWARE_ROOT"
	if ! { python3 -m venv --system-site-packages "$VIRT_FIRMWARE_ROOT" &&
		"$VIRT_FIRMWARE_ROOT/bin/pip" install --quiet --no-deps "virt-firmware==$VIRT_FIRMWARE_VERSION"; }; then
		rm -rf "$VIRT_FIRMWARE_ROOT"
		log "warning: virt-firmware could not be installed (PyPI): the suites booted through UEFI will fail"
	fi
fi

# Components the host tier needs.
for c in rustfmt clippy; do
	rustup component list --installed 2>/dev/null | grep -q "^$c" || log "warning: rustup component $c missing"
done

log "host ready: rustc $(rustc_version), $(bindgen --version), kernel source $(kernel_pkg_version)"
