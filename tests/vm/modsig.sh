#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module signing on Debian's stock kernel: booted through UEFI firmware whose
# db holds the lab's test certificate and with module.sig_enforce=1, the
# kernel refuses rscst's modules unsigned, signed with a key it does not
# trust, or altered after signing, and loads the ones signed with the test
# key, which then serve I/O. lab/debian/sign-modules.sh signs the copies in
# out/modsig/ the way DKMS signs (scripts/sign-file, SHA-256).
# lines: debian-7.2
# timeout: 900
# kernel args: module.sig_enforce=1
# firmware: uefi-test-db
. /mnt/rscst/tests/vm/lib.sh
SIGNED=$REPO/out/modsig
TRUSTED_CN="rscst lab trusted module signing key"
UNTRUSTED_CN="rscst lab untrusted module signing key"

rscst_loaded() { grep -q '^rscst ' /proc/modules; }

# refused NAME KO DMESG_LINE: insmod of KO (its dependencies, Debian's
# signed modules, loaded beforehand) fails with "Key was rejected by
# service" (EKEYREJECTED), and the kernel's log since says DMESG_LINE; with
# DMESG_LINE "-", says no "is rejected" at all (the signature was checked
# against a trusted key and did not match). Nothing of rscst stays loaded.
refused() {
	local name=$1 ko=$2 line=$3 o
	check "$name: its dependencies (Debian's modules) load" load_deps "$ko"
	kmsg_mark "$name"
	o=$(insmod "$ko" 2>&1)
	if [ $? = 0 ] || rscst_loaded; then
		not_ok "$name (it loaded)"
		rmmod rscst 2>/dev/null
		return
	fi
	expect_match "$name: insmod says why" "$o" "Key was rejected by service"
	local log
	log=$(since_mark "$name")
	if [ "$line" = - ]; then
		# The marker must be there, or an empty log would prove nothing.
		if dmesg | grep -qF "rscst-test: mark $name" && ! grep -q "is rejected" <<<"$log"; then
			ok "$name: not for want of a trusted key"
		else
			not_ok "$name: not for want of a trusted key"
			printf '%s\n' "$log" | tail -5 | sed 's/^/    # /'
		fi
	else
		expect_match "$name: the kernel says why" "$log" "$line"
	fi
}

echo "== the kernel enforces signatures and trusts the firmware's db"
expect_eq "module.sig_enforce=1 on the command line is in force" \
	"$(cat /sys/module/module/parameters/sig_enforce)" Y
expect_match "the kernel read the certificate from UEFI db" "$(dmesg)" "Loading X.509 certificate: UEFI:db"
expect_match "the test certificate is a kernel key" "$(cat /proc/keys)" "$TRUSTED_CN"
check_fails "the untrusted certificate is not a kernel key" grep -q "$UNTRUSTED_CN" /proc/keys
expect_eq "the trusted copy is signed with the test key" "$(modinfo -F signer "$SIGNED/trusted/rscst.ko")" "$TRUSTED_CN"
expect_eq "the untrusted copy is signed with the other key" "$(modinfo -F signer "$SIGNED/untrusted/rscst.ko")" "$UNTRUSTED_CN"
expect_eq "the build's own rscst.ko is unsigned" "$(modinfo -F signer "$REPO/core/rscst.ko")" ""

echo "== what the kernel refuses"
refused "an unsigned rscst.ko is refused" "$REPO/core/rscst.ko" "Loading of unsigned module is rejected"
refused "a rscst.ko signed with an untrusted key is refused" "$SIGNED/untrusted/rscst.ko" \
	"Loading of module with unavailable key is rejected"
# One byte of the module's body changed after signing: the signature no
# longer matches (fatal with or without enforcement; the kernel logs nothing).
cp "$SIGNED/trusted/rscst.ko" /tmp/altered.ko
size=$(stat -c %s /tmp/altered.ko)
off=$((size / 2))
old=$(od -An -tu1 -j $off -N1 /tmp/altered.ko | tr -d ' ')
printf "\\$(printf '%03o' $(((old + 1) % 256)))" | dd of=/tmp/altered.ko bs=1 seek=$off conv=notrunc status=none
check_fails "the altered copy differs from the signed one" cmp -s /tmp/altered.ko "$SIGNED/trusted/rscst.ko"
refused "a signed rscst.ko altered after signing is refused" /tmp/altered.ko -

echo "== what it loads: the modules signed with the test key"
kmsg_mark trusted
check "the modules signed with the test key load under enforcement" \
	load_modules "$SIGNED/trusted/rscst.ko" "$SIGNED/trusted/rscst_vdisk.ko" "$SIGNED/trusted/rscst_local.ko"
log=$(since_mark trusted)
expect_match "the kernel logged their loading" "$log" "rscst: rscst .* loaded"
check_fails "the kernel refused none of them" grep -q "is rejected" <<<"$log"
# Out-of-tree (O) and nothing else: no E, the taint of a module whose
# signature could not be checked.
for m in rscst rscst_vdisk rscst_local; do
	expect_eq "$m is tainted out-of-tree only" "$(cat /sys/module/$m/taint 2>&1)" O
done
expect_eq "the kernel has no unsigned-module taint (E)" "$(($(cat /proc/sys/kernel/tainted) & 8192))" 0

echo "== the signed modules serve I/O"
truncate -s 64M /root/modsig.img
mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device modsig filename=/root/modsig.img"
SD=$(export_local modsig modsig initiator1)
check "a LUN of the signed modules has a disk ($SD)" test -b "$SD"
dd if=/dev/urandom of=/tmp/data bs=1M count=4 status=none
dd if=/tmp/data of="$SD" bs=1M oflag=direct status=none
dd if="$SD" of=/tmp/back bs=1M count=4 iflag=direct status=none
check "4 MiB written through sd read back equal" cmp /tmp/data /tmp/back
mgmt $SCST/targets/scst_local/mgmt "del_target modsig"
mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device modsig"
check "the signed modules unload" rmmod rscst_local rscst_vdisk rscst
check_fails "nothing of rscst is left loaded" rscst_loaded
finish
