#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "dkms": rscst-dkms as a Debian user installs it, on Debian's own
# kernel. The guest has no network: apt installs the package, Debian's
# headers and linux-source for the running kernel, and the toolchain from the
# lab's local package folder (share "pkgs", lab/debian/guest-pkgs.sh). DKMS
# builds the modules (the kernel's Rust metadata made from linux-source with
# Debian's rustc), the SCST aliases load them, and a LUN carries data. Then
# what a kernel installation runs (dkms's postinst hook) builds them again,
# and a kernel without CONFIG_RUST is refused. The kernel enforces module
# signatures and trusts the lab's test key (in UEFI db); DKMS signs with it,
# given to DKMS as its MOK key before the install, as a user whose key is
# enrolled has it.
# timeout: 2700
# lines: debian-7.2
# kernel args: module.sig_enforce=1
# firmware: uefi-test-db
# not in make check: under TCG the guest's first DKMS build (the kernel's Rust metadata from linux-source, then the modules) takes about 30 minutes; the whole suite about 36
. "$(dirname "$0")/lib.sh"

kver=$(uname -r)
kre=$(printf '%s' "$kver" | sed 's/[.+]/\\&/g') # as a literal in grep -E
mm=$(echo "$kver" | cut -d. -f1,2)
mkdir -p /mnt/pkgs
check "the local package folder mounts" mount -t 9p -o trans=virtio,version=9p2000.L,ro pkgs /mnt/pkgs
deb=$(ls /mnt/pkgs/rscst-dkms_*_all.deb 2>/dev/null | head -1)
version=$(dpkg-deb -f "$deb" Version 2>/dev/null)
check "it holds rscst-dkms ($version)" test -n "$version"
# Only the local folder: the image's network sources cannot be reached.
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:/mnt/pkgs ./" >/etc/apt/sources.list.d/lab-local.list
check "apt reads the local folder" apt-get update -q

# DKMS's MOK key, enrolled (the test key in db): what DKMS signs with.
expect_eq "the kernel enforces module signatures" "$(cat /sys/module/module/parameters/sig_enforce)" Y
mkdir -p /var/lib/dkms
check "DKMS's MOK key is the enrolled test key" cp "$REPO/out/modsig/dkms/mok.key" "$REPO/out/modsig/dkms/mok.pub" /var/lib/dkms/
expect_match "the kernel trusts it (from UEFI db)" "$(cat /proc/keys)" "rscst lab trusted module signing key"

# apt install ./rscst-dkms_*.deb with the running kernel's headers and source.
log=/root/install.log
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" \
	"linux-headers-$kver" "linux-source-$mm" >$log 2>&1
rc=$?
expect_eq "apt installs rscst-dkms, linux-headers-$kver and linux-source-$mm" "$rc" 0
echo "    # DKMS install log (guest):"
grep -E 'rscst|dkms|DKMS|Building|Signing|Installing|crate hashes|rust-overlay|Error|error' $log | head -40 | sed 's/^/    #   /'
cp $log "$RSCST_OUT/dkms-install.log" 2>/dev/null
for f in /var/lib/dkms/rscst/*/build/make.log; do
	[ -f "$f" ] && cp "$f" "$RSCST_OUT/dkms-make.log"
done
if [ $rc != 0 ]; then
	echo "    # DKMS build log (tail; whole in dkms-make.log):"
	tail -40 "$RSCST_OUT/dkms-make.log" 2>/dev/null | sed 's/^/    #   /'
	# Everything below needs the installed modules.
	finish
	exit 1
fi
expect_match "dkms status: rscst $version installed for $kver" "$(dkms status rscst 2>&1)" "rscst/$version, $kre, x86_64: installed"
for m in rscst rscst_vdisk rscst_local; do
	check "$m.ko installed under /lib/modules/$kver/updates/dkms" \
		sh -c "ls /lib/modules/$kver/updates/dkms/$m.ko*"
done
overlay=/var/lib/rscst-dkms/$kver/overlay.log
sed 's/^/    #   /' $overlay 2>/dev/null
expect_match "the kernel's Rust metadata was regenerated and checked" "$(cat $overlay 2>&1)" "crate hashes match the kernel's Module.symvers \([0-9]+ Rust symbols\)"
mok=$(openssl x509 -in /var/lib/dkms/mok.pub -noout -subject -nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= *//p')
expect_eq "the modules are signed with DKMS's MOK key ($mok)" "$(modinfo -F signer /lib/modules/$kver/updates/dkms/rscst.ko*)" "$mok"
expect_eq "DKMS's MOK key is the one the kernel trusts" "$mok" "rscst lab trusted module signing key"

# The SCST names load rscst's modules, dependencies included.
check "modprobe scst_vdisk (loads rscst_vdisk and rscst)" modprobe scst_vdisk
check "rscst and rscst_vdisk are loaded" sh -c "grep -q '^rscst_vdisk ' /proc/modules && grep -q '^rscst ' /proc/modules"
expect_match "rscst_vdisk came from the DKMS build" "$(modinfo -n rscst_vdisk)" "/updates/dkms/rscst_vdisk.ko"
# Out-of-tree (O) only: no E, the taint of a module whose signature could
# not be checked (under enforcement it would not have loaded at all).
expect_eq "rscst_vdisk's signature was checked (taint O only)" "$(cat /sys/module/rscst_vdisk/taint 2>&1)" O
check "modprobe scst_local" modprobe scst_local

# Local smoke: a file-backed LUN through sd, data written and read back.
truncate -s 64M /root/smoke.img
check "add a fileio device" mgmt $SCST/handlers/vdisk_fileio/mgmt "add_device smoke filename=/root/smoke.img"
SD=$(export_local smoke smoke init1)
check "its LUN appears as a disk ($SD)" test -b "$SD"
dd if=/dev/urandom of=/root/pattern bs=1M count=8 status=none
check "write 8 MiB through sd" dd if=/root/pattern of="$SD" bs=1M oflag=direct status=none
check "read back through sd: the same data" sh -c "dd if=$SD bs=1M count=8 iflag=direct status=none | cmp - /root/pattern"
check "the backing file holds it" sh -c "cmp -n 8388608 /root/smoke.img /root/pattern"
check "del_target" mgmt $SCST/targets/scst_local/mgmt "del_target smoke"
check "del_device" mgmt $SCST/handlers/vdisk_fileio/mgmt "del_device smoke"
check "modprobe -r scst_local scst_vdisk" modprobe -r rscst_local rscst_vdisk rscst

# What installing a kernel runs: dkms's postinst hook rebuilds the modules
# (AUTOINSTALL) for that kernel.
check "dkms unbuild (the modules are gone)" sh -c "dkms unbuild rscst/$version -k $kver && ! ls /lib/modules/$kver/updates/dkms/rscst.ko* 2>/dev/null"
check "the kernel postinst hook builds and installs them again" /etc/kernel/postinst.d/dkms "$kver"
expect_match "dkms status after the hook: installed" "$(dkms status rscst 2>&1)" "rscst/$version, $kre, x86_64: installed"
check "modprobe scst_local after the rebuild" modprobe scst_local
check "modprobe -r" modprobe -r rscst_local rscst

# A kernel without Rust: dkms declines it, and the build step says why.
norust=7.2.0-norust # the series matches; only CONFIG_RUST is missing
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

finish
