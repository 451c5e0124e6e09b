#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs VM suites against freshly built modules, on each kernel line:
#   check-vm.sh [SUITE] [KERNEL]
# SUITE: one suite (all when empty). KERNEL: "lab" (the lab's own 6.12 debug
# kernel: every suite), "debian-7.2" (Debian's stock kernel: the suites whose
# header says "# lines: ... debian-7.2"), or empty for both. Prints
# "N passed, N failed" over all of them.
source "$(dirname "$0")/lib.sh"
want=${1:-}
line=${2:-}
case "$line" in "" | lab | debian-7.2) ;; *) die "unknown kernel line '$line' (lab, debian-7.2)" ;; esac
bash "$LAB_DIR/setup-host.sh" >&2

# Every suite, and the lines it runs on ("lab" unless its header says more).
suite_file() { # NAME
	if [ "$1" = canary ]; then echo "$LAB_DIR/selftest-canary.sh"
	elif [ -f "$REPO_DIR/tests/vm/$1.sh" ]; then echo "$REPO_DIR/tests/vm/$1.sh"
	else echo "$LAB_DIR/guest/$1.sh"; fi
}
# header NAME FIELD: the value of the suite's "# FIELD: VALUE" header line.
header() { sed -n "s/^# $2: *//p" "$(suite_file "$1")"; }
suite_lines() { # NAME
	local l
	l=$(header "$1" lines)
	echo "${l:-lab}"
}
runs=() # "suite line" pairs: the lab's line first, then Debian's
for l in lab debian-7.2; do
	[ -n "$line" ] && [ "$l" != "$line" ] && continue
	for f in "$REPO_DIR"/tests/vm/*.sh "$LAB_DIR/selftest-canary.sh" "$LAB_DIR/guest/demo.sh"; do
		n=$(basename "$f" .sh)
		n=${n#selftest-}
		case "$n" in lib | lib-*) continue ;; esac # helpers, not suites
		[ -n "$want" ] && [ "$n" != "$want" ] && continue
		[[ " $(suite_lines "$n") " == *" $l "* ]] || continue
		# The demo is part of make check on the Debian line only (make demo
		# runs it on the lab's kernel).
		[ "$n" = demo ] && [ "$l" = lab ] && [ -z "$want" ] && continue
		# A suite whose header says "# not in make check: REASON" runs only
		# when named.
		why=$(header "$n" "not in make check")
		if [ -z "$want" ] && [ -n "$why" ]; then
			log "suite $n@$l is not part of this run: $why (make check-vm SUITE=$n KERNEL=$l)"
			continue
		fi
		# A suite whose header says "# make check lines: LINE..." runs, when
		# not named, on those of its lines only.
		mc=$(header "$n" "make check lines")
		if [ -z "$want" ] && [ -n "$mc" ] && [[ " $mc " != *" $l "* ]]; then
			log "suite $n@$l is not part of this run: it runs on $mc in make check (make check-vm SUITE=$n KERNEL=$l)"
			continue
		fi
		runs+=("$n $l")
	done
done
[ ${#runs[@]} -gt 0 ] || die "no VM suite named '${want:-*}' on kernel line '${line:-any}'"
lines=" ${runs[*]#* } "

if [[ "$lines" == *" lab "* ]]; then
	bash "$LAB_DIR/kernel/build.sh" debug >/dev/null
	bash "$LAB_DIR/rootfs/build.sh" >/dev/null
	bash "$LAB_DIR/build-modules.sh" debug
	# The KUnit tier is a module of its own, built against the product.
	if [[ " ${runs[*]} " == *" kunit lab "* ]]; then
		bash "$LAB_DIR/build-modules.sh" debug "$(kernel_dir debug)" tests/kunit
	fi
fi
# The Debian line's preparation (it needs the network when its caches are
# cold); if it fails, its suites count as failed and the lab's still run.
# What only some suites need fails only those: unprepared[SUITE]=why.
declare -A unprepared=()
debian_runs_with() { # FIELD VALUE: the Debian-line suites with that header
	local r
	for r in "${runs[@]}"; do
		[ "${r#* }" = debian-7.2 ] && [ "$(header "${r% *}" "$1")" = "$2" ] && echo "${r% *}"
	done
	return 0
}
unprepare() { # WHY SUITE...: the first reason a suite cannot run stays
	local why=$1 s
	shift
	for s in "$@"; do [ -n "${unprepared[$s]:-}" ] || unprepared[$s]=$why; done
}
prepare_debian_line() {
	local prep
	prep=$(bash "$LAB_DIR/debian/prepare.sh") || return 1
	read -r _ _ pkgver <<<"$prep"
	export RSCST_DEBIAN_PKGVER=$pkgver # run-vm.sh boots this kernel
	bash "$LAB_DIR/rootfs/build.sh" trixie "$pkgver" >/dev/null || return 1
	# The modules for Debian's kernel are built in a copy inside its chroot;
	# that copy is the guest's /mnt/rscst on this line.
	debian_share=$(bash "$LAB_DIR/debian/build-modules.sh") || return 1
	local uefi pkgs image
	uefi=$(debian_runs_with firmware uefi-test-db)
	pkgs=$(debian_runs_with "package folder" rscst-dkms)
	image=$(debian_runs_with "root filesystem" "rscst-dkms installed")
	# Booted through UEFI with the lab's test certificate in db: copies of
	# the modules signed with its key, the variable store, and the key pair
	# for DKMS.
	if [ -n "$uefi$image" ]; then
		modsig_vars=$(bash "$LAB_DIR/debian/sign-modules.sh") || {
			modsig_vars=""
			unprepare "the modules could not be signed or the UEFI variable store made (see above)" $uefi $image
		}
	fi
	# The rscst-dkms package in a local folder (the guest has no network),
	# and the Debian 13 image with the package installed from it.
	if [ -n "$pkgs$image" ]; then
		local deb
		if deb=$(bash "$LAB_DIR/debian/deb.sh") && debian_pkgs=$(bash "$LAB_DIR/debian/guest-pkgs.sh" "$deb"); then
			# (It needs the key pair sign-modules.sh leaves for DKMS.)
			if [ -n "$image" ] && [ -n "$modsig_vars" ]; then
				dkms_image=$(bash "$LAB_DIR/debian/dkms-image.sh" "$debian_pkgs" "$debian_share/out/modsig/dkms") ||
					unprepare "the image with rscst-dkms installed could not be made (see above)" $image
			fi
		else
			unprepare "the rscst-dkms package could not be built (see above)" $pkgs $image
		fi
	fi
}
debian_ready=0
modsig_vars=""
debian_pkgs=""
dkms_image=""
# With the lab's suites in the run too, the Debian line is prepared while
# they run, at a lower priority than their guests (about six minutes of
# building and installing, mostly hidden behind them); its output is shown
# when the first Debian suite waits for it.
prep_pid=""
prep_log=$(mktemp)
prep_state=$(mktemp)
debian_prepared() { # after prepare_debian_line succeeded: what it set, for the parent shell
	declare -p debian_share modsig_vars debian_pkgs dkms_image unprepared
	echo "export RSCST_DEBIAN_PKGVER=$RSCST_DEBIAN_PKGVER"
}
if [[ "$lines" == *" debian-7.2 "* ]] && [[ "$lines" == *" lab "* ]]; then
	(
		renice -n 10 -p $BASHPID >/dev/null 2>&1 || true # (before any child: they inherit it)
		prepare_debian_line && debian_prepared >"$prep_state"
	) >"$prep_log" 2>&1 </dev/null &
	prep_pid=$!
	# Interrupted (a timeout, ^C): the preparation and its children stop too.
	trap 'if [ -n "$prep_pid" ]; then pkill -TERM -P "$prep_pid" 2>/dev/null; kill "$prep_pid" 2>/dev/null; fi; rm -f "$prep_log" "$prep_state"' EXIT
	log "preparing the Debian line behind the lab's suites (pid $prep_pid)"
elif [[ "$lines" == *" debian-7.2 "* ]]; then
	if prepare_debian_line; then
		debian_ready=1
	else
		log "the Debian line could not be prepared (see above): its suites count as failed"
	fi
fi

# kunit_parse DIR: the kernel's own KTAP parser must agree that every case
# of the suite's KTAP output passed.
kunit_parse() {
	local cases ktap=$1/kunit.ktap out=$1/kunit-parse.log
	cases=$(sed -n 's/^CASES=\([0-9]*\)$/\1/p' "$REPO_DIR/tests/vm/kunit.sh")
	python3 "$(kernel_dir debug)/tools/testing/kunit/kunit.py" parse "$ktap" >"$out" 2>&1
	local rc=$?
	sed 's/^/    # /' "$out" | tail -5
	# Anchored: a parse error shows as ", errors: N" after the counts.
	if [ $rc != 0 ] || ! grep -qE "Ran $cases tests: passed: $cases\$" "$out"; then
		log "suite kunit: kunit.py parse does not report $cases passed tests (see $out)"
		return 1
	fi
}
total_p=0
total_f=0
failed_runs=()
for r in "${runs[@]}"; do
	s=${r% *}
	l=${r#* }
	rc=0
	why=""
	if [ "$l" = debian-7.2 ] && [ -n "$prep_pid" ]; then
		prep_rc=0
		wait "$prep_pid" || prep_rc=$?
		prep_pid=""
		cat "$prep_log" >&2
		if [ $prep_rc = 0 ] && [ -s "$prep_state" ]; then
			# shellcheck disable=SC1090
			source "$prep_state"
			debian_ready=1
		else
			log "the Debian line could not be prepared (see above): its suites count as failed"
		fi
	fi
	if [ "$l" = debian-7.2 ] && [ $debian_ready = 0 ]; then
		why="the Debian line is not prepared"
	elif [ "$l" = debian-7.2 ]; then
		why=${unprepared[$s]:-}
	elif [ -n "$(header "$s" firmware)$(header "$s" "root filesystem")$(header "$s" "package folder")" ]; then
		why="its firmware, root filesystem or package folder is made for the Debian line only"
	fi
	if [ -n "$why" ]; then
		log "suite $s@$l: 0 passed, 1 failed ($why)"
		failed_runs+=("$s@$l: $why")
		total_f=$((total_f + 1))
		continue
	fi
	if [ "$s" = canary ]; then
		# The self-test boots its own run and prints its own summary.
		log="$REPO_DIR/out/selftest-canary.log"
		mkdir -p "$REPO_DIR/out"
		bash "$LAB_DIR/selftest-canary.sh" >"$log" 2>&1 || rc=$?
		name=canary
	else
		t=$(header "$s" timeout)
		t=${t%% *}
		# What the suite's header asks for: kernel arguments, UEFI with the
		# lab's test certificate in db, the image with rscst-dkms installed,
		# the package folder (Debian line; prepared above).
		kargs=$(header "$s" "kernel args")
		mem=$(header "$s" memory)
		uefi=""
		[ "$(header "$s" firmware)" = uefi-test-db ] && uefi=$modsig_vars
		disk=""
		[ "$(header "$s" "root filesystem")" = "rscst-dkms installed" ] && disk=$dkms_image
		pkgdir=""
		[ "$(header "$s" "package folder")" = rscst-dkms ] && pkgdir=$debian_pkgs
		name=$s
		[ "$l" = lab ] || name=$s@$l
		rm -rf "$REPO_DIR/out/$name" # nothing of an earlier run is read as this one's
		if [ "$l" = lab ]; then
			RSCST_KERNEL_ARGS=$kargs RSCST_UEFI_VARS="" RSCST_ROOTFS_IMAGE="" RSCST_VM_MEMORY=$mem \
				bash "$LAB_DIR/run-vm.sh" "$s" "${t:-900}" debug || rc=$?
		else
			RSCST_KERNEL_ARGS=$kargs RSCST_UEFI_VARS=$uefi RSCST_ROOTFS_IMAGE=$disk RSCST_SHARE_DIR=$debian_share \
				RSCST_PKG_DIR=$pkgdir RSCST_VM_MEMORY=$mem bash "$LAB_DIR/run-vm.sh" "$s" "${t:-900}" "$l" || rc=$?
		fi
		log="$REPO_DIR/out/$name/suite.log"
	fi
	cat "$log" 2>/dev/null || true
	# (No suite.log at all, when run-vm.sh stopped before the guest ran.)
	p=$({ sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" 2>/dev/null || true; } | tail -1)
	f=$({ sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" 2>/dev/null || true; } | tail -1)
	if [ -z "$p" ]; then
		# A suite that stopped before its summary line failed, whatever it printed.
		log "suite $name: no summary line (stopped early)"
		p=0
		f=1
	fi
	f=${f:-0}
	if [ "$s" = kunit ] && ! kunit_parse "$REPO_DIR/out/kunit"; then
		f=$((f + 1))
	fi
	# A clean suite whose boot or kernel log failed still counts as a failure.
	if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi
	# Why the run failed, next to its counts (the log's tail is what CI keeps).
	# (The canary's inner runs fail on purpose: their verdicts are not its.)
	why=""
	if [ $rc != 0 ] && [ "$s" != canary ] && [ -s "$REPO_DIR/out/$name/verdict" ]; then
		why=" ($(paste -sd';' "$REPO_DIR/out/$name/verdict"))"
	fi
	log "suite $name: $p passed, $f failed$why"
	[ "$f" = 0 ] || failed_runs+=("$name: $f failed$why")
	total_p=$((total_p + p))
	total_f=$((total_f + f))
done
rm -f "$prep_log" "$prep_state"
for r in "${failed_runs[@]}"; do log "failed: $r"; done
echo "vm: $total_p passed, $total_f failed"
[ $total_f = 0 ]
