# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the VM suites (sourced inside the lab guest).
# Every check prints "ok - NAME" or "not ok - NAME" with the evidence; the
# suite ends with "N passed, N failed".

PASS=0
FAIL=0
SKIP=0
SCST=/sys/kernel/scst_tgt
REPO=${REPO:-/mnt/rscst}

# Each check's time since the one before it, in timing.txt next to the
# suite's log (where a suite's minutes go; no fork, read from /proc/uptime).
_last_check_at=""
_time_check() { # NAME
	[ -n "${RSCST_OUT:-}" ] || return 0
	local now _ d
	read -r now _ </proc/uptime
	now=${now/./} # centiseconds
	now=$((10#$now))
	d=$((now - ${_last_check_at:-$now}))
	printf '%d.%02d %s\n' $((d / 100)) $((d % 100)) "$1" >>"$RSCST_OUT/timing.txt"
	_last_check_at=$now
}
ok() { PASS=$((PASS + 1)); echo "ok - $1"; _time_check "$1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; _time_check "$1"; }
skip() { SKIP=$((SKIP + 1)); echo "skip - $1: $2"; _time_check "$1"; }

# check NAME CMD...: passes when CMD exits 0; shows its output otherwise.
check() {
	local name=$1
	shift
	local o
	if o=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$o" | tail -25 | sed 's/^/    # /'
	fi
}

# wait_bg NAME PID LOG: passes when background job PID exited 0; shows LOG otherwise.
wait_bg() {
	if wait "$2"; then
		ok "$1"
	else
		not_ok "$1"
		tail -25 "$3" | sed 's/^/    # /'
	fi
}

# check_fails NAME CMD...: passes when CMD exits non-zero.
check_fails() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		not_ok "$name (unexpectedly succeeded: $*)"
	else
		ok "$name"
	fi
}

# expect_eq NAME ACTUAL EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "    # expected: '$3'"
		echo "    # actual:   '$2'"
	fi
}

# expect_match NAME TEXT REGEX
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1"
		echo "    # '$3' not found in:"
		printf '%s\n' "$2" | head -20 | sed 's/^/    #   /'
	fi
}

finish() {
	echo "$PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" = 0 ]
}

# mgmt FILE CMD: writes a management command; fails like the write did.
mgmt() {
	echo "$2" >"$1"
}

# The SCSI host created by the last add_session (highest rscst_local host).
local_host() {
	local h best=-1 n
	for h in /sys/class/scsi_host/host*; do
		[ "$(cat "$h/proc_name" 2>/dev/null)" = rscst_local ] || continue
		n=${h##*/host}
		[ "$n" -gt "$best" ] && best=$n
	done
	echo "$best"
}

# sd_of HOST LUN / sg_of HOST LUN: the block / generic device of a LUN.
sd_of() { ls "/sys/bus/scsi/devices/$1:0:0:$2/block/" 2>/dev/null | head -1; }
sg_of() { ls "/sys/bus/scsi/devices/$1:0:0:$2/scsi_generic/" 2>/dev/null | head -1; }
# has_sd/has_sg/no_sd/no_sg HOST LUN: conditions for wait_for (evaluated on each poll).
has_sd() { test -n "$(sd_of "$1" "$2")"; }
has_sg() { test -n "$(sg_of "$1" "$2")"; }
no_sd() { test -z "$(sd_of "$1" "$2")"; }
no_sg() { test -z "$(sg_of "$1" "$2")"; }

# kmsg_mark NAME: writes a marker line into the kernel log; since_mark NAME
# prints the kernel log after the newest marker of that name. Counting log
# lines against a marker, not against an earlier line count, stays right
# when the log ring wraps.
# A missing marker prints nothing (never the whole log), so a check that
# needs a line after it fails.
kmsg_mark() {
	echo "rscst-test: mark $1" >/dev/kmsg || echo "kmsg_mark: cannot write the marker $1" >&2
}
since_mark() {
	dmesg | awk -v m="rscst-test: mark $1" 'index($0, m) { s = 1; n = 0; next } s { l[++n] = $0 } END { for (i = 1; i <= n; i++) print l[i] }'
}

# wait_for SECONDS CMD...: polls CMD until it succeeds. CMD runs on every
# poll, so pass a command, never "$(...)" output expanded once before the wait.
wait_for() {
	local t=$1
	shift
	local i=0
	while [ $i -lt $((t * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# export_local DEVICE TARGET SESSION: exports an existing device as LUN 0 of
# a new scst_local target and opens a session; prints the LUN's /dev/sdX.
export_local() {
	mgmt $SCST/targets/scst_local/mgmt "add_target $2" &&
		mgmt $SCST/targets/scst_local/$2/luns/mgmt "add $1 0" &&
		mgmt $SCST/targets/scst_local/mgmt "add_session $2 $3" || return 1
	local h
	h=$(local_host)
	wait_for 10 has_sd $h 0 || return 1
	echo /dev/$(sd_of $h 0)
}

# insmod KO after the kernel's own modules it needs (on a distribution
# kernel SCSI is modular; the lab's kernels have it built in, and modprobe
# of a built-in succeeds).
load_deps() { # KO: the kernel's own modules KO depends on
	local d
	for d in $(modinfo -F depends "$1" | tr , ' '); do
		case "$d" in rscst*) continue ;; esac
		modprobe "$d" || return 1
	done
}
insmod_with_deps() { # KO
	load_deps "$1" && insmod "$1"
}

# load_modules KO...: each module in turn, after what it needs.
load_modules() {
	local ko
	for ko in "$@"; do insmod_with_deps "$ko" || return 1; done
}

load_rscst() {
	load_modules "$REPO/core/rscst.ko" "$REPO/dev_handlers/vdisk/rscst_vdisk.ko" "$REPO/fabrics/local/rscst_local.ko"
}
