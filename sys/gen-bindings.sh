#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Generates sys/generated/bindings.rs for a built kernel tree: bindgen over
# sys/bindings.h with the kernel's own C flags (read from the command line the
# kernel saved for its own bindings) and only the items in sys/allowlist.
set -euo pipefail
kdir=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
cmdfile="$kdir/rust/bindings/.bindings_generated.rs.cmd"
[ -f "$cmdfile" ] || { echo "gen-bindings: $cmdfile missing: is $kdir a built Rust kernel tree?" >&2; exit 1; }
# C flags: what follows " -- " up to the ";" of the sed post-processing step.
cflags=$(sed -n '1s/.* -- \(.*\) ; sed .*/\1/p' "$cmdfile" | sed 's/-Wp,-MMD,[^ ]*//')
# A split headers package (Debian's linux-headers-*-ARCH, whose Makefile
# includes the -common one's) has the generated files here and the sources
# in the -common tree: a "./" path may be in either.
srctree=$(sed -n 's|^include \(/.*\)/Makefile$|\1|p' "$kdir/Makefile" | head -1)
if [ -n "$srctree" ]; then
	split=""
	for f in $cflags; do
		case "$f" in
		-I./*) split="$split -I$kdir/${f#-I./} -I$srctree/${f#-I./}" ;;
		./*) if [ -e "$srctree/${f#./}" ]; then split="$split $srctree/${f#./}"; else split="$split $kdir/${f#./}"; fi ;;
		*) split="$split $f" ;;
		esac
	done
	cflags=$split
fi
allow=()
while read -r kind re; do
	case "$kind" in
	function) allow+=(--allowlist-function "$re") ;;
	type) allow+=(--allowlist-type "$re") ;;
	var) allow+=(--allowlist-var "$re") ;;
	"#"*|"") ;;
	*) echo "gen-bindings: bad allowlist line '$kind $re'" >&2; exit 1 ;;
	esac
done <"$here/allowlist"
mkdir -p "$(dirname "$out")"
cd "$kdir"
# shellcheck disable=SC2086
bindgen "$here/bindings.h" --use-core --ctypes-prefix core::ffi --no-layout-tests \
	--with-derive-default --no-doc-comments --rust-target 1.68 \
	--opaque-type xregs_state --opaque-type desc_struct --opaque-type arch_lbr_state \
	--opaque-type local_apic --opaque-type alt_instr --opaque-type x86_msi_data \
	--opaque-type x86_msi_addr_lo --opaque-type spinlock --opaque-type kunit_try_catch \
	--blocklist-type '__kernel_s?size_t' --blocklist-type __kernel_ptrdiff_t \
	--blocklist-function '__list_.*_report' --blocklist-item ARCH_SLAB_MINALIGN \
	"${allow[@]}" -o "$out.tmp" -- $cflags -DMODULE
mv "$out.tmp" "$out"
