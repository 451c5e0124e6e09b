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
keep_r=$(rootfs_key)
for d in "$RSCST_CACHE"/rootfs/*/; do
	[ -d "$d" ] || continue
	[ "$(basename "$d")" = "$keep_r" ] || { log "pruning stale rootfs $(basename "$d")"; rm -rf "$d"; }
done
