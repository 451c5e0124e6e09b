#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Module signing on the Debian line (the modsig suite): signs copies of the
# modules lab/debian/build-modules.sh built, the way DKMS signs them (the
# kernel's own scripts/sign-file, SHA-256, a self-signed RSA key with the
# code-signing usage), and makes the UEFI variable store the guest boots
# with, which has the lab's test certificate in db:
#   sign-modules.sh  ->  prints the variable store's path
# In the module copy (the guest's /mnt/rscst), out/modsig/ then holds
#   trusted/*.ko    signed with the test key whose certificate is in db;
#   untrusted/*.ko  signed with a second key the guest never sees;
#   dkms/           the trusted key pair as DKMS's MOK key (mok.key, mok.pub).
# Debian's kernel loads db's certificates into its .platform keyring (also
# without Secure Boot) and accepts module signatures made with them.
# The keys live in the chroot and go with it.
source "$(dirname "$0")/../lib.sh"
read -r root abi _ < <(bash "$LAB_DIR/debian/prepare.sh")
copy="$root/src/rscst"
[ -f "$copy/core/rscst.ko" ] || die "no modules in $copy: run lab/debian/build-modules.sh"
vfw="$VIRT_FIRMWARE_ROOT/bin/virt-fw-vars"
[ -x "$vfw" ] || die "virt-fw-vars is missing: run lab/setup-host.sh"
[ -f "$OVMF_VARS" ] || die "no UEFI variable store at $OVMF_VARS: run lab/setup-host.sh"
exec 9>"$root/src.lock"
flock 9

keys=/var/lib/rscst-lab/modsig # inside the chroot
sign_file="/usr/lib/linux-kbuild-${abi%-amd64}/scripts/sign-file" # kbuild has no flavour
in_chroot "$root" test -x "$sign_file" || die "no $sign_file in the chroot (linux-kbuild)"
for k in trusted untrusted; do
	in_chroot "$root" test -f "$keys/$k.der" -a -f "$keys/$k.key" && continue
	in_chroot "$root" mkdir -p "$keys"
	# As DKMS makes its MOK key (openssl req in /usr/sbin/dkms).
	in_chroot "$root" openssl req -new -x509 -nodes -days 36500 -newkey rsa:2048 \
		-subj "/CN=rscst lab $k module signing key" -addext extendedKeyUsage=codeSigning \
		-keyout "$keys/$k.key" -outform DER -out "$keys/$k.der" >&2 ||
		die "openssl could not make the $k test key"
done

rm -rf "$copy/out/modsig"
mkdir -p "$copy/out/modsig"
mapfile -t mods < <(cd "$copy" && find . -path ./out -prune -o -name '*.ko' -print | sort)
[ ${#mods[@]} -gt 0 ] || die "no modules in $copy"
for k in trusted untrusted; do
	mkdir -p "$copy/out/modsig/$k"
	for m in "${mods[@]}"; do
		dst="/src/rscst/out/modsig/$k/$(basename "$m")"
		cp "$copy/$m" "$root$dst"
		in_chroot "$root" "$sign_file" sha256 "$keys/$k.key" "$keys/$k.der" "$dst" ||
			die "sign-file failed on $dst"
	done
done
log "signed ${#mods[@]} modules with the lab's trusted and untrusted test keys ($copy/out/modsig)"
# The trusted pair as DKMS keeps its MOK key (mok.key, mok.pub in DER), for
# the dkms suite to give DKMS before it builds.
mkdir -p "$copy/out/modsig/dkms"
cp "$root$keys/trusted.key" "$copy/out/modsig/dkms/mok.key"
cp "$root$keys/trusted.der" "$copy/out/modsig/dkms/mok.pub"

# The variable store: OVMF's empty one plus the trusted certificate in db,
# under an owner GUID of the lab's own (the kernel does not read it). Made
# anew every run (under a second): nothing stale survives a new OVMF.
vars="$root$keys/uefi-vars.fd"
"$vfw" --input "$OVMF_VARS" --output "$vars.new" \
	--add-db f84276b5-ef2a-49e4-a2ab-8109e68837b8 "$root$keys/trusted.der" >"$root$keys/virt-fw-vars.log" 2>&1 || {
	cat "$root$keys/virt-fw-vars.log" >&2
	die "virt-fw-vars could not add the test certificate to db"
}
mv "$vars.new" "$vars"
echo "$vars"
