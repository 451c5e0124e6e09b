# SPDX-License-Identifier: GPL-2.0
# Shared settings for the lab scripts: where the machine-local cache lives and
# how the heavy artefacts are keyed. Sourced, never run.

set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
# Machine-local, outside the repository: survives fresh clones on a warm machine.
RSCST_CACHE=${RSCST_CACHE:-/var/cache/rscst}
RUST_SRC_PKG_VERSION=${RUST_SRC_PKG_VERSION:-}
BINDGEN_VERSION=0.69.5
BINDGEN_ROOT="$RSCST_CACHE/bindgen-$BINDGEN_VERSION"
# UEFI firmware for the guests that boot through it (package ovmf; no Secure
# Boot in this build, so it boots the kernel given to qemu as it is).
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# virt-fw-vars (edits UEFI variable stores; not packaged for Debian 12), in
# a virtual environment of its own.
VIRT_FIRMWARE_VERSION=24.11
VIRT_FIRMWARE_ROOT="$RSCST_CACHE/virt-firmware-$VIRT_FIRMWARE_VERSION"
export PATH="$BINDGEN_ROOT/bin:$PATH"

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

rustc_version() { rustc --version | awk '{print $2}'; }

# Runs a command in a chroot with a clean environment (none of the host's
# PATH, compilers or kbuild variables).
in_chroot() { # ROOT CMD...
	local root=$1
	shift
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# The Rust library sources the kernel needs must match rustc exactly.
rust_lib_src() { echo "/usr/src/rustc-$(rustc_version)/library"; }

kernel_src_tarball() {
	ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null || true
}

kernel_pkg_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true
}

# Key = (kernel package version, config fragment hash, rustc version, flavour).
kernel_key() {
	local flavour=${1:-debug}
	local h
	h=$(cat "$LAB_DIR/kernel/base.config" "$LAB_DIR/kernel/$flavour.config" \
		"$LAB_DIR/kernel/build.sh" | sha256sum | cut -c1-12)
	echo "$(kernel_pkg_version)-$flavour-$h-rustc$(rustc_version)"
}

kernel_dir() { echo "$RSCST_CACHE/kernel/$(kernel_key "${1:-debug}")/linux"; }
kernel_mods_dir() { echo "$RSCST_CACHE/kernel/$(kernel_key "${1:-debug}")/modroot"; }

# Root filesystem images: Debian 12 (bookworm) for the lab's own kernels;
# Debian 13 (trixie) with Debian's stock kernel installed for the Debian
# line, keyed also by that kernel's package version.
rootfs_key() { # [SUITE]
	{ cat "$LAB_DIR/rootfs/build.sh" "$LAB_DIR/rootfs/packages" "$LAB_DIR/rootfs/rscst-init"; echo "${1:-bookworm}"; } |
		sha256sum | cut -c1-12
}
rootfs_image() { # [SUITE [KERNEL_PKGVER]]
	local d
	d=$(rootfs_key "${1:-bookworm}")
	[ -n "${2:-}" ] && d="$d-$2"
	echo "$RSCST_CACHE/rootfs/$d/rootfs.img"
}

# Where lab/debian/prepare.sh keeps the packages of Debian's kernel PKGVER.
debian_debs_dir() { echo "$RSCST_CACHE/debian/debs-$1"; }

# The Debian line's trixie chroot, keyed by its package list: Debian's module
# toolchain (what rscst-dkms depends on), and what `make deb` packs with.
DEBIAN_CHROOT_PKGS="rustc,rust-src,bindgen,gcc,gcc-14,gcc-14-for-host,libc6-dev,libclang1-19,libclang-dev,make,bc,flex,bison,libelf-dev,libssl-dev,openssl,dwarves,xz-utils,kmod,cpio,python3,rsync,dpkg-dev,build-essential,debhelper,dh-dkms,dkms,apt-utils"
# Keyed also by the Debian 13 guest image's key: a new image brings a new
# chroot, so the toolchain packages the dkms suite installs from the chroot's
# archive are never older than the libraries in the image.
debian_chroot() {
	echo "$RSCST_CACHE/debian/chroot-$(printf 'trixie minbase %s %s\n' "$DEBIAN_CHROOT_PKGS" "$(rootfs_key trixie)" |
		sha256sum | cut -c1-12)"
}

# The compiler a flavour's kernel is built with, from its fragment's
# "# toolchain: LLVM=-19" line (GCC when there is none).
flavour_make_flags() {
	sed -n 's/^# toolchain: *//p' "$LAB_DIR/kernel/${1:-debug}.config"
}

# Kbuild flags that make a module build use the compiler KDIR was built with:
# a Clang-built tree needs LLVM=-N of the same major version, and bindgen
# that version's libclang (read from the tree's .config, so a user's own
# kernel works too).
kdir_make_flags() {
	local v
	v=$(sed -n 's/^CONFIG_CLANG_VERSION=\([0-9]*\)/\1/p' "$1/.config" 2>/dev/null)
	if [ -n "$v" ] && [ "$v" != 0 ]; then echo "LLVM=-$((v / 10000))"; fi
}

# libclang for bindgen: the one matching the kernel's Clang, else the default.
export_libclang_for() { # MAKE_FLAGS
	case "$1" in
	*LLVM=-*)
		local n=${1##*LLVM=-}
		n=${n%% *}
		[ -d "/usr/lib/llvm-$n/lib" ] && export LIBCLANG_PATH="/usr/lib/llvm-$n/lib"
		;;
	esac
	return 0
}
