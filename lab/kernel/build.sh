#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configures and builds the lab kernel (flavour "debug" for make check, "bench"
# for make bench) from Debian's linux-source-6.12, cached by
# (kernel version, config, rustc). Prints the kernel tree's path on stdout.
source "$(dirname "$0")/../lib.sh"

flavour=${1:-debug}
[ -f "$LAB_DIR/kernel/$flavour.config" ] || die "unknown kernel flavour '$flavour'"
tarball=$(kernel_src_tarball)
[ -n "$tarball" ] || die "linux-source-6.12 is not installed: run lab/setup-host.sh"

top="$RSCST_CACHE/kernel/$(kernel_key "$flavour")"
kdir="$top/linux"
mkdir -p "$top"
exec 9>"$top/.lock"
flock 9

if [ -f "$top/.built" ]; then
	echo "$kdir"
	exit 0
fi

export RUST_LIB_SRC
RUST_LIB_SRC=$(rust_lib_src)
# shellcheck disable=SC2207
mk=($(flavour_make_flags "$flavour"))
export_libclang_for "${mk[*]:-}"
start=$(date +%s)
log "building kernel $(kernel_key "$flavour") in $top (${mk[*]:-gcc})"
rm -rf "$kdir" "$top/modroot"
mkdir -p "$kdir"
tar -xf "$tarball" -C "$kdir" --strip-components=1

cd "$kdir"
make -s "${mk[@]}" defconfig >/dev/null
make -s "${mk[@]}" kvm_guest.config >/dev/null
scripts/kconfig/merge_config.sh -m .config "$LAB_DIR/kernel/base.config" \
	"$LAB_DIR/kernel/$flavour.config" >/dev/null
make -s "${mk[@]}" olddefconfig >/dev/null
make -s "${mk[@]}" rustavailable >&2 || die "rust toolchain not usable by the kernel"

# Kconfig drops what it cannot satisfy silently: insist on what the lab needs.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=[ym])
		grep -qx "$line" .config || { log "config lost: $line ($(grep "^${line%%=*}=" .config || echo unset))"; bad=1; }
		;;
	esac
done < <(cat "$LAB_DIR/kernel/base.config" "$LAB_DIR/kernel/$flavour.config")
[ $bad = 0 ] || die "kernel config does not hold what the lab needs"

jobs=$(nproc)
log "make -j$jobs bzImage modules"
make -s "${mk[@]}" -j"$jobs" bzImage modules >"$top/build.log" 2>&1 || { tail -50 "$top/build.log" >&2; die "kernel build failed (log: $top/build.log)"; }
make -s "${mk[@]}" INSTALL_MOD_PATH="$top/modroot" modules_install >/dev/null
end=$(date +%s)
echo "$((end - start))" >"$top/build-seconds"
touch "$top/.built"
log "kernel built in $((end - start)) s"
echo "$kdir"
