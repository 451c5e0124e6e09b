#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "dkms-guest": rscst-dkms as a Debian user installs it, on Debian's
# own kernel, all of it inside the booted guest (the dkms suite does the
# install in the image on the host). The guest has no network: apt installs
# the package, Debian's headers and linux-source for the running kernel, and
# the toolchain from the lab's local package folder (share "pkgs",
# lab/debian/guest-pkgs.sh). DKMS builds the modules (the kernel's Rust
# metadata made from linux-source with Debian's rustc) and signs them with
# its MOK key, which is the lab's test key, enrolled (UEFI db) in a kernel
# that enforces module signatures; the SCST aliases load them, and a LUN
# carries data. Then what a kernel installation runs (dkms's postinst hook)
# builds them again, and a kernel without CONFIG_RUST is refused.
# timeout: 2700
# lines: debian-7.2
# kernel args: module.sig_enforce=1
# firmware: uefi-test-db
# package folder: rscst-dkms
# not in make check: under TCG the guest's first DKMS build (the kernel's Rust metadata from linux-source, then the modules) takes about 27 minutes; the whole suite about 32 (the dkms suite, in make check, runs the same install natively in the image)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dkms.sh"

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
mkdir -p /var/lib/dkms
check "DKMS's MOK key is the enrolled test key" cp "$REPO/out/modsig/dkms/mok.key" "$REPO/out/modsig/dkms/mok.pub" /var/lib/dkms/
dkms_enforcement_checks /var/lib/dkms/mok.pub

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
dkms_installed_checks "$version"

# What installing a kernel runs: dkms's postinst hook rebuilds the modules
# (AUTOINSTALL) for that kernel.
check "dkms unbuild (the modules are gone)" sh -c "dkms unbuild rscst/$version -k $kver && ! ls /lib/modules/$kver/updates/dkms/rscst.ko* 2>/dev/null"
check "the kernel postinst hook builds and installs them again" /etc/kernel/postinst.d/dkms "$kver"
expect_match "dkms status after the hook: installed" "$(dkms status rscst 2>&1)" "rscst/$version, $kre, x86_64: installed"
check "modprobe scst_local after the rebuild" modprobe scst_local
check "modprobe -r" modprobe -r rscst_local rscst

dkms_norust_checks "$version"

finish
