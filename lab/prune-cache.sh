#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Removes cached kernel trees and root filesystems that no current key
# names (left behind by config or script changes); each tree is ~2.3 GiB.
source "$(dirname "$0")/lib.sh"
keep_k=" $(kernel_key debug) $(kernel_key bench) "
for d in "$RSCST_CACHE"/kernel/*/; do
	[ -d "$d" ] || continue
	k=$(basename "$d")
	case "$keep_k" in *" $k "*) ;; *) log "pruning stale kernel $k"; rm -rf "$d" ;; esac
done
# Debian 12's image, and Debian 13's for any version of Debian's kernel.
keep_r=$(rootfs_key)
keep_t=$(rootfs_key trixie)
for d in "$RSCST_CACHE"/rootfs/*/; do
	[ -d "$d" ] || continue
	r=$(basename "$d")
	case "$r" in "$keep_r" | "$keep_t"-*) ;; *) log "pruning stale rootfs $r"; rm -rf "$d" ;; esac
done
# The Debian line's chroot of the current package list (section 8.1).
keep_c=$(basename "$(debian_chroot)")
for d in "$RSCST_CACHE"/debian/chroot-*/; do
	[ -d "$d" ] || continue
	[ "$(basename "$d")" = "$keep_c" ] || { log "pruning stale Debian chroot $(basename "$d")"; rm -rf "$d"; }
done
# Generated bindings (a few MiB each): the eight used last.
if [ -d "$RSCST_CACHE/bindings" ]; then
	ls -t "$RSCST_CACHE"/bindings/*.rs 2>/dev/null | tail -n +9 | xargs -r rm -f
fi
