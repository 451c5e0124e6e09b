#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VM suite "dkms": rscst-dkms installed by apt on Debian's own kernel, with
# DKMS's first build at native speed: lab/debian/dkms-image.sh installs the
# package, linux-headers and linux-source for the image's kernel and the
# toolchain in a chroot of a copy of the Debian 13 image, as an appliance
# image is built, with the lab's test key as DKMS's MOK key; then runs what
# installing a kernel runs (dkms unbuild, dkms's kernel postinst hook). This
# guest boots that image on a kernel that enforces module signatures and
# trusts the test key (UEFI db), and checks what the install left: DKMS's
# logs, the Rust metadata step, the signed modules loading by their SCST
# names, a LUN carrying data, and a kernel without CONFIG_RUST refused.
# The dkms-guest suite does the whole install inside the guest (32 minutes
# under TCG, so only when named).
# timeout: 1200
# lines: debian-7.2
# kernel args: module.sig_enforce=1
# firmware: uefi-test-db
# root filesystem: rscst-dkms installed
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dkms.sh"

version=$(sed -n '1s/^rscst (\([^)]*\)).*/\1/p' "$REPO/debian/changelog")
expect_eq "rscst-dkms $version is installed" \
	"$(dpkg-query -W -f='${Version} ${db:Status-Status}' rscst-dkms 2>&1)" "$version installed"
# Its sources are this tree's: every file it put under /usr/src but the
# dkms.conf dh_dkms made from debian/rscst-dkms.dkms.
src=/usr/src/rscst-$version
n=$(cd $src 2>/dev/null && find . -type f ! -name dkms.conf | wc -l)
differ=$(cd $src 2>/dev/null && find . -type f ! -name dkms.conf | while IFS= read -r f; do cmp -s "$f" "$REPO/$f" || echo "$f"; done)
check "its $n source files are this tree's" test "$n" -gt 0 -a -z "$differ"
[ -z "$differ" ] || echo "$differ" | head -5 | sed 's/^/    # differs: /'
check "it made SCST's directories for persistent reservations and saved mode parameters" \
	test -d /var/lib/scst/pr -a -d /var/lib/scst/vdev_mode_pages
dkms_enforcement_checks /var/lib/dkms/mok.pub

log=/root/dkms-install.log
cp $log "$RSCST_OUT/dkms-install.log" 2>/dev/null
echo "    # DKMS in the install log (apt-get install in the image, on the host):"
grep -E 'rscst|DKMS|Building|Signing|Installing|crate hashes|rust-overlay|[Ee]rror' $log | grep -v '^ ' | head -40 | sed 's/^/    #   /'
expect_match "DKMS built rscst $version for $kver during the install" "$(cat $log)" "Building initial module rscst/$version for $kre"
expect_match "DKMS signed the modules" "$(cat $log)" "Signing module"
expect_match "DKMS installed them under updates/dkms" "$(cat $log)" "/lib/modules/$kre/updates/dkms/rscst(\.ko)?"

hook=/root/dkms-hook.log
cp $hook "$RSCST_OUT/dkms-hook.log" 2>/dev/null
sed 's/^/    #   /' $hook | head -30
expect_match "dkms unbuild removed the modules before the kernel hook ran" "$(cat $hook)" "Deleting /lib/modules/$kre/updates/dkms/rscst\.ko"
expect_match "dkms's kernel postinst hook built them again" "$(cat $hook)" "Building module\(s\)"
expect_eq "the hook succeeded" "$(tail -1 $hook)" "exit status 0"

# The modules now installed are the hook's build.
dkms_installed_checks "$version"
dkms_norust_checks "$version"
finish
