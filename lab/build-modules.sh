#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds rscst's modules against KDIR (default: the lab's cached kernel of
# the given flavour), warnings as errors, after regenerating the bindings
# when the kernel tree changed.
#   build-modules.sh [FLAVOUR] [KDIR] [DIR]
# DIR (relative to the repository) builds another module tree with the same
# flags instead of the product, e.g. tests/canary for the lab's self-test.
source "$(dirname "$0")/lib.sh"
flavour=${1:-debug}
kdir=${2:-}
subdir=${3:-}
if [ -z "$kdir" ]; then
	bash "$LAB_DIR/setup-host.sh" >&2
	kdir=$(bash "$LAB_DIR/kernel/build.sh" "$flavour")
fi
[ -f "$kdir/Module.symvers" ] || die "$kdir is not a built kernel tree"
# shellcheck disable=SC2207
mk=($(kdir_make_flags "$kdir"))
export_libclang_for "${mk[*]:-}"
mdir="$REPO_DIR${subdir:+/$subdir}"
gen="$REPO_DIR/sys/generated/bindings.rs"
stamp="$REPO_DIR/sys/generated/.kdir"
want="$kdir $(sha256sum "$REPO_DIR/sys/bindings.h" "$REPO_DIR/sys/allowlist" "$REPO_DIR/sys/gen-bindings.sh" | sha256sum | cut -c1-16)"
if [ -z "$subdir" ] && { [ ! -f "$gen" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; }; then
	# Kept outside the repository by what they are made of (a fresh clone
	# reuses them): the kernel tree, the inputs above, bindgen's version.
	cached="$RSCST_CACHE/bindings/$(echo "$want $(bindgen --version 2>&1)" | sha256sum | cut -c1-16).rs"
	if [ -f "$cached" ]; then
		mkdir -p "$(dirname "$gen")"
		cp "$cached" "$gen"
		touch "$cached" # (pruned by last use)
	else
		log "generating bindings for $kdir"
		bash "$REPO_DIR/sys/gen-bindings.sh" "$kdir" "$gen"
		mkdir -p "$(dirname "$cached")"
		cp "$gen" "$cached.tmp" && mv "$cached.tmp" "$cached"
	fi
	echo "$want" >"$stamp"
fi
export RUST_LIB_SRC
RUST_LIB_SRC=$(rust_lib_src)
# Compiler warnings are errors; objtool's (e.g. code falling through into
# a panic path it cannot see) fail the build too.
log_file=$(mktemp)
rc=0
# Another tree (a test module) links against the product's exports.
extra=()
[ -n "$subdir" ] && [ -f "$REPO_DIR/Module.symvers" ] && extra=(KBUILD_EXTRA_SYMBOLS="$REPO_DIR/Module.symvers")
make -s -C "$kdir" "${mk[@]}" M="$mdir" "${extra[@]}" KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings modules >"$log_file" 2>&1 || rc=$?
cat "$log_file"
if [ $rc = 0 ] && grep -q "warning:" "$log_file"; then
	log "module build printed warnings: failing"
	rc=1
fi
rm -f "$log_file"
[ $rc = 0 ] || exit $rc
[ -n "$subdir" ] || echo "$kdir" >"$REPO_DIR/sys/generated/.last-kdir"
