#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Checks shared by the dkms suites (sourced after lib.sh): what must hold
# once rscst-dkms is installed and DKMS built it for the running kernel,
# however it got there.
# timeout: none of its own: a library, bounded by the timeout of the suite
# that sources it (dkms.sh, dkms-guest.sh); check-vm.sh runs no lib-* file.

kver=$(uname -r)
kre=$(printf '%s' "$kver" | sed 's/[.+]/\\&/g') # as a literal in grep -E
mm=$(echo "$kver" | cut -d. -f1,2)

# hexnorm: hex digits of stdin, lower case, without leading zeros.
hexnorm() { tr -cd '0-9A-Fa-f' | tr 'A-F' 'a-f' | sed 's/^0*//'; }

# cert_cn FILE: the common name of a certificate (DER or PEM).
cert_cn() { openssl x509 -in "$1" -noout -subject -nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= *//p'; }

# dkms_enforcement_checks MOK_PUB: the kernel enforces module signatures and
# trusts the key of MOK_PUB, DKMS's MOK certificate (the lab's test key,
# in UEFI db: the suites boot with "# firmware: uefi-test-db").
dkms_enforcement_checks() {
	local cn
	cn=$(cert_cn "$1")
	expect_eq "the kernel enforces module signatures" "$(cat /sys/module/module/parameters/sig_enforce)" Y
	check "DKMS's MOK certificate has a name ($cn)" test -n "$cn"
	expect_match "the kernel trusts DKMS's MOK key (enrolled in UEFI db)" "$(cat /proc/keys)" "${cn:-no name}"
}

# dkms_installed_checks VERSION: DKMS built, signed and installed rscst
# VERSION for this kernel; the SCST names load it; a LUN carries data.
dkms_installed_checks() {
	local version=$1 m mok
	expect_match "dkms status: rscst $version installed for $kver" "$(dkms status rscst 2>&1)" "rscst/$version, $kre, x86_64: installed"
	for m in rscst rscst_vdisk rscst_local rscst_disk; do
		check "$m.ko installed under /lib/modules/$kver/updates/dkms" \
			sh -c "ls /lib/modules/$kver/updates/dkms/$m.ko*"
	done
	local overlay=/var/lib/rscst-dkms/$kver/overlay.log
	sed 's/^/    #   /' $overlay 2>/dev/null
	expect_match "the kernel's Rust metadata was made from linux-source and checked (its overlay.log)" "$(cat $overlay 2>&1)" "crate hashes match the kernel's Module.symvers \([0-9]+ Rust symbols\)"
	mok=$(cert_cn /var/lib/dkms/mok.pub)
	expect_eq "the modules are signed with DKMS's MOK key ($mok)" "$(modinfo -F signer /lib/modules/$kver/updates/dkms/rscst.ko*)" "$mok"
	# By certificate, not only by name: the signature names the MOK
	# certificate's serial number, and the kernel holds that certificate's
	# key (a key's description ends with its subject key identifier).
	local serial sig skid
	serial=$(openssl x509 -in /var/lib/dkms/mok.pub -noout -serial 2>/dev/null | sed 's/^serial=//' | hexnorm)
	sig=$(modinfo -F sig_key "$(ls /lib/modules/$kver/updates/dkms/rscst.ko* | head -1)" | hexnorm)
	expect_eq "the signature names DKMS's MOK certificate (serial ${serial:-none})" "$sig" "$serial"
	skid=$(openssl x509 -in /var/lib/dkms/mok.pub -noout -ext subjectKeyIdentifier 2>/dev/null | sed -n 2p | tr -d ' :' | tr 'A-F' 'a-f')
	expect_match "the kernel holds that certificate's key (key id ${skid:-none})" "$(cat /proc/keys)" "$mok: ${skid:-no key id}"

	# The SCST names load rscst's modules, dependencies included.
	check "modprobe scst_vdisk (loads rscst_vdisk and rscst)" modprobe scst_vdisk
	check "rscst and rscst_vdisk are loaded" sh -c "grep -q '^rscst_vdisk ' /proc/modules && grep -q '^rscst ' /proc/modules"
	expect_match "rscst_vdisk came from the DKMS build" "$(modinfo -n rscst_vdisk)" "/updates/dkms/rscst_vdisk.ko"
	# Out-of-tree (O) only: no E, the taint of a module whose signature
	# could not be checked (under enforcement it would not load at all).
	expect_eq "rscst_vdisk's signature was checked (taint O only)" "$(cat /sys/module/rscst_vdisk/taint 2>&1)" O
	check "modprobe scst_local" modprobe scst_local

	# Local smoke: a file-backed LUN through sd, data written and read back.
	truncate -s 64M /root/smoke.img
	check "add a fileio device" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device smoke filename=/root/smoke.img"
	local sd
	sd=$(export_local smoke smoke init1)
	check "its LUN appears as a disk ($sd)" test -b "$sd"
	dd if=/dev/urandom of=/root/pattern bs=1M count=8 status=none
	check "write 8 MiB through sd" dd if=/root/pattern of="$sd" bs=1M oflag=direct status=none
	check "read back through sd: the same data" sh -c "dd if=$sd bs=1M count=8 iflag=direct status=none | cmp - /root/pattern"
	check "the backing file holds it" sh -c "cmp -n 8388608 /root/smoke.img /root/pattern"
	check "del_target" mgmt $SCST/targets/scst_local/mgmt "del_target smoke"
	check "del_device" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device smoke"
	check "modprobe -r scst_local scst_vdisk" modprobe -r rscst_local rscst_vdisk rscst
}

# dkms_norust_checks VERSION: a kernel without Rust: dkms declines it, and
# the build step says why.
dkms_norust_checks() {
	local version=$1 out rc
	local norust=$mm.0-norust # the series matches; only CONFIG_RUST is missing
	mkdir -p /root/norust /lib/modules/$norust
	grep -v '^CONFIG_RUST' /lib/modules/$kver/build/.config >/root/norust/.config
	ln -sfn /root/norust /lib/modules/$norust/build
	out=$(dkms build rscst/$version -k $norust 2>&1)
	rc=$?
	check "dkms does not build rscst for a kernel without CONFIG_RUST" test $rc != 0
	expect_match "and says the kernel does not match (BUILD_EXCLUSIVE)" "$out" "BUILD_EXCLUSIVE"
	out=$(bash /usr/src/rscst-$version/dkms/build.sh $norust 2>&1)
	rc=$?
	check "the build step refuses it too" test $rc != 0
	expect_match "saying CONFIG_RUST is not set" "$out" "kernel $norust has no Rust support \(CONFIG_RUST is not set\)"
}
