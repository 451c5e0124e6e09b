// SPDX-License-Identifier: GPL-2.0
//! INQUIRY data for a direct-access block device: standard data (SPC-4 6.6.2) and the vital
//! product data pages 00h, 80h, 83h, 86h, B0h, B1h and (thin-provisioned devices) B2h.

use super::device::DeviceParams;
use super::provisioning::{
    unmap_granularity, MAX_UNMAP_BLOCKS, MAX_UNMAP_DESCRIPTORS, MAX_WRITE_SAME_BLOCKS,
};
use super::sense::Sense;
use super::wr::Wr;

/// VPD pages implemented by [`encode_vpd`], in ascending order.
pub const SUPPORTED_VPD_PAGES: [u8; 7] = [0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2];

/// The VPD pages `dev` offers: the logical block provisioning page (B2h) only on a
/// thin-provisioned device, as LIO offers it.
pub fn supported_vpd_pages(dev: &DeviceParams<'_>) -> &'static [u8] {
    const FULLY_PROVISIONED: [u8; 6] = [0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1];
    if dev.thin_provisioned {
        &SUPPORTED_VPD_PAGES
    } else {
        &FULLY_PROVISIONED
    }
}

/// Length of the standard INQUIRY data produced (ADDITIONAL LENGTH + 5).
pub const STANDARD_INQUIRY_LEN: usize = 96;

/// Peripheral qualifier 000b (connected) and device type 00h (direct access block device).
pub const PERIPHERAL_DISK: u8 = 0x00;

/// IEEE company id used in the NAA 5 designator.
pub const NAA_IEEE_COMPANY_ID: u64 = 0x00_14_05;

/// Version descriptors claimed: SAM-5, SPC-4, SBC-3 (no version claimed).
pub const VERSION_DESCRIPTORS: [u16; 3] = [0x00A0, 0x0460, 0x04C0];

/// Maximum bytes of [`DeviceParams::serial`] in VPD page 80h.
pub const MAX_SERIAL_LEN: usize = 64;
/// Maximum bytes of [`DeviceParams::t10_vendor_designator`] in VPD page 83h.
pub const MAX_T10_VENDOR_SPECIFIC_LEN: usize = 64;
/// Maximum bytes of [`DeviceParams::target_port_name`] before the terminating NUL.
pub const MAX_SCSI_NAME_LEN: usize = 251;

/// Encodes standard INQUIRY data (96 bytes) truncated to `alloc_len` and `out`; returns the
/// number of bytes written.
pub fn encode_standard_inquiry(dev: &DeviceParams<'_>, alloc_len: u16, out: &mut [u8]) -> usize {
    let mut w = Wr::new(out, usize::from(alloc_len));
    w.u8(peripheral(dev));
    w.u8(if dev.removable { 0x80 } else { 0 });
    w.u8(0x06); // VERSION: SPC-4
    w.u8(0x32); // NORMACA=1 (ACA: see `task_set`), HISUP=1, RESPONSE DATA FORMAT=2
    w.u8(0); // ADDITIONAL LENGTH, patched below
             // SCCS ACC PROTECT 0; TPGS; 3PC: EXTENDED COPY is served.
    w.u8(((dev.tpgs & 0x3) << 4) | 0x08);
    w.u8(0); // ENCSERV MULTIP ADDR16
    w.u8(0x02); // CMDQUE
    w.ascii(dev.vendor, 8, b' ');
    w.ascii(dev.product, 16, b' ');
    w.ascii(dev.revision, 4, b' ');
    w.zeros(20); // vendor specific (36..56)
    w.u8(0); // CLOCKING QAS IUS
    w.u8(0); // reserved
    for v in VERSION_DESCRIPTORS {
        w.be16(v);
    }
    w.zeros(STANDARD_INQUIRY_LEN.saturating_sub(w.pos()));
    let add = u8::try_from(w.pos().saturating_sub(5)).unwrap_or(u8::MAX);
    w.set_u8(4, add);
    w.finish()
}

/// Encodes VPD page `page` truncated to `alloc_len` and `out`; returns the number of bytes
/// written, or INVALID FIELD IN CDB for a page not in [`SUPPORTED_VPD_PAGES`].
pub fn encode_vpd(
    page: u8,
    dev: &DeviceParams<'_>,
    alloc_len: u16,
    out: &mut [u8],
) -> Result<usize, Sense> {
    if !supported_vpd_pages(dev).contains(&page) {
        return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, None));
    }
    let mut w = Wr::new(out, usize::from(alloc_len));
    w.u8(peripheral(dev));
    w.u8(page);
    w.be16(0); // PAGE LENGTH, patched below
    match page {
        0x00 => w.bytes(supported_vpd_pages(dev)),
        0x80 => {
            let n = dev.serial.len().min(MAX_SERIAL_LEN);
            w.ascii(dev.serial, n, b' ');
        }
        0x83 => device_identification(&mut w, dev),
        0x86 => extended_inquiry_data(&mut w, dev),
        0xB0 => block_limits(&mut w, dev),
        0xB1 => block_device_characteristics(&mut w, dev),
        0xB2 => super::provisioning::write_lbp_vpd(&mut w, dev),
        _ => return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, None)),
    }
    let len = u16::try_from(w.pos().saturating_sub(4)).unwrap_or(u16::MAX);
    w.set_be16(2, len);
    Ok(w.finish())
}

/// The Extended INQUIRY Data page (86h, SPC-4 7.8.7): no protection information; HEAD OF
/// QUEUE, ORDERED and SIMPLE task attributes supported; V_SUP while a volatile write cache
/// is on (write-through devices have none to flush). LUICLR is 0 (SCST sets it): reporting a
/// unit attention at one LUN does not clear it at the others.
fn extended_inquiry_data(w: &mut Wr<'_>, dev: &DeviceParams<'_>) {
    w.u8(0); // ACTIVATE MICROCODE, SPT, GRD_CHK, APP_CHK, REF_CHK
    w.u8(0x07); // UASK_SUP GROUP_SUP PRIOR_SUP 0; HEADSUP ORDSUP SIMPSUP 1
    w.u8(u8::from(dev.write_cache)); // WU_SUP CRD_SUP NV_SUP 0; V_SUP
    w.u8(0); // P_I_I_SUP 0; LUICLR 0
    w.zeros(56); // bytes 8 to 63: reserved, timers and counts not reported
}

/// PERIPHERAL QUALIFIER and DEVICE TYPE: 001b (not accessible through this port) when the
/// port's asymmetric access state is unavailable or offline, as SCST reports it.
fn peripheral(dev: &DeviceParams<'_>) -> u8 {
    if dev.port_state.not_connected() {
        0x20 | PERIPHERAL_DISK
    } else {
        PERIPHERAL_DISK
    }
}

/// Writes a designation descriptor header.
fn designator(w: &mut Wr<'_>, code_set: u8, assoc_type: u8, len: usize) {
    w.u8(code_set); // PROTOCOL IDENTIFIER 0, CODE SET
    w.u8(assoc_type); // PIV=0, ASSOCIATION, DESIGNATOR TYPE
    w.u8(0);
    w.u8(u8::try_from(len).unwrap_or(u8::MAX));
}

const CODE_SET_BINARY: u8 = 1;
const CODE_SET_ASCII: u8 = 2;
const CODE_SET_UTF8: u8 = 3;
const ASSOC_LU: u8 = 0x00;
const ASSOC_PORT: u8 = 0x10;

/// The NAA 5 (IEEE Registered) identifier derived from `naa_id`.
pub fn naa5(naa_id: u64) -> u64 {
    (5u64 << 60) | (NAA_IEEE_COMPANY_ID << 36) | (naa_id & 0x0000_000F_FFFF_FFFF)
}

fn device_identification(w: &mut Wr<'_>, dev: &DeviceParams<'_>) {
    // NAA (type 3), binary, logical unit.
    designator(w, CODE_SET_BINARY, ASSOC_LU | 0x03, 8);
    w.be64(naa5(dev.naa_id));
    // T10 vendor ID (type 1), ASCII, logical unit.
    let vs = dev
        .t10_vendor_designator
        .len()
        .min(MAX_T10_VENDOR_SPECIFIC_LEN);
    designator(w, CODE_SET_ASCII, ASSOC_LU | 0x01, vs.saturating_add(8));
    w.ascii(dev.vendor, 8, b' ');
    w.ascii(dev.t10_vendor_designator, vs, b' ');
    // Relative target port (type 4), target port.
    designator(w, CODE_SET_BINARY, ASSOC_PORT | 0x04, 4);
    w.be16(0);
    w.be16(dev.relative_port);
    // Target port group (type 5), target port: only for a port in a group.
    if dev.target_port_group != 0 {
        designator(w, CODE_SET_BINARY, ASSOC_PORT | 0x05, 4);
        w.be16(0);
        w.be16(dev.target_port_group);
    }
    // SCSI name string (type 8), UTF-8, target port: NUL terminated, padded to 4.
    let name = dev
        .target_port_name
        .split(|&b| b == 0)
        .next()
        .unwrap_or(&[]);
    let n = name.len().min(MAX_SCSI_NAME_LEN);
    if n > 0 {
        let padded = n.saturating_add(4) & !3;
        designator(w, CODE_SET_UTF8, ASSOC_PORT | 0x08, padded);
        for &b in name.iter().take(n) {
            w.u8(b);
        }
        w.zeros(padded.saturating_sub(n));
    }
}

fn block_limits(w: &mut Wr<'_>, dev: &DeviceParams<'_>) {
    w.u8(0x01); // WSNZ: WRITE SAME of zero blocks is refused
    let caw = super::readback::max_compare_and_write_blocks(dev);
    w.u8(u8::try_from(caw).unwrap_or(u8::MAX)); // MAXIMUM COMPARE AND WRITE LENGTH
    w.be16(1); // OPTIMAL TRANSFER LENGTH GRANULARITY
    let max_blocks = dev.max_transfer_bytes.checked_div(dev.block_size);
    w.be32(max_blocks.unwrap_or(0)); // MAXIMUM TRANSFER LENGTH (0: no limit)
    w.be32(0); // OPTIMAL TRANSFER LENGTH: not reported
    w.be32(0); // MAXIMUM PREFETCH LENGTH
    if dev.thin_provisioned {
        w.be32(MAX_UNMAP_BLOCKS); // MAXIMUM UNMAP LBA COUNT
        w.be32(MAX_UNMAP_DESCRIPTORS); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
        w.be32(unmap_granularity(dev.block_size)); // OPTIMAL UNMAP GRANULARITY
    } else {
        w.zeros(12); // UNMAP not supported
    }
    w.be32(0); // UGAVALID 0: no unmap granularity alignment
    w.be64(u64::from(MAX_WRITE_SAME_BLOCKS)); // MAXIMUM WRITE SAME LENGTH
    w.zeros(20); // atomic limits and reserved, up to byte 63
}

fn block_device_characteristics(w: &mut Wr<'_>, dev: &DeviceParams<'_>) {
    w.be16(if dev.rotational { 0 } else { 1 }); // MEDIUM ROTATION RATE
    w.u8(0); // PRODUCT TYPE
    w.u8(0); // WABEREQ WACEREQ NOMINAL FORM FACTOR
    w.u8(0x01); // FUAB 0; VBULS 1: VERIFY compares an unmapped block as the zeros it reads
    w.zeros(55); // reserved, up to byte 63
}

#[cfg(test)]
mod tests {
    use super::super::wr::printable;
    use super::*;
    use std::{vec, vec::Vec};

    fn is_printable(c: &[u8]) -> bool {
        c.iter().all(|&b| printable(b) == b)
    }

    fn dev() -> DeviceParams<'static> {
        DeviceParams {
            block_size: 512,
            num_blocks: 1 << 21,
            read_only: false,
            write_cache: true,
            write_cache_changeable: true,
            descriptor_sense: false,
            task_aborted_status: false,
            queue_algorithm: crate::task_set::QueueAlgorithm::Unrestricted,
            qerr: crate::task_set::QErr::Continue,
            saved_modes: None,
            rotational: false,
            removable: false,
            thin_provisioned: false,
            vendor: b"RSCST",
            product: b"DISK",
            revision: b"0.1",
            serial: b"SN123",
            naa_id: 0xABCD_1234_5678,
            t10_vendor_designator: b"disk0",
            relative_port: 1,
            target_port_group: 7,
            tpgs: 0,
            port_state: super::super::alua::AccessState::ActiveOptimized,
            target_port_name: b"iqn.x,t,0x1",
            max_transfer_bytes: 0,
        }
    }

    #[test]
    fn standard() {
        let mut out = [0xEEu8; 512];
        let n = encode_standard_inquiry(&dev(), 512, &mut out);
        assert_eq!(n, 96);
        let mut want = [0u8; 96];
        want[..8].copy_from_slice(&[0, 0, 6, 0x32, 91, 0x08, 0, 2]);
        want[8..16].copy_from_slice(b"RSCST   ");
        want[16..32].copy_from_slice(b"DISK            ");
        want[32..36].copy_from_slice(b"0.1 ");
        want[58..64].copy_from_slice(&[0x00, 0xA0, 0x04, 0x60, 0x04, 0xC0]);
        assert_eq!(&out[..96], &want[..]);
        assert!(is_printable(&out[8..36]));

        let mut d = dev();
        d.removable = true;
        d.vendor = b"VENDORNAMETOOLONG";
        d.product = b"P\x00\x7f\xff";
        let n = encode_standard_inquiry(&d, 36, &mut out);
        assert_eq!(n, 36);
        assert_eq!(out[1], 0x80);
        assert_eq!(&out[8..16], b"VENDORNA");
        assert_eq!(&out[16..32], b"P               ");
        assert_eq!(out[4], 91);
    }

    #[test]
    fn standard_truncation() {
        let mut full = [0u8; 96];
        encode_standard_inquiry(&dev(), 96, &mut full);
        for alloc in 0..=100u16 {
            let mut out = [0xEEu8; 100];
            let n = encode_standard_inquiry(&dev(), alloc, &mut out);
            assert_eq!(n, usize::from(alloc).min(96));
            assert_eq!(&out[..n], &full[..n]);
            assert!(out[n..].iter().all(|&b| b == 0xEE));
        }
        for olen in 0..=100usize {
            let mut out = [0xEEu8; 100];
            let n = encode_standard_inquiry(&dev(), 0xFFFF, &mut out[..olen]);
            assert_eq!(n, olen.min(96));
            assert_eq!(&out[..n], &full[..n]);
        }
    }

    fn vpd(page: u8, d: &DeviceParams<'_>) -> Vec<u8> {
        let mut out = [0xEEu8; 1024];
        let n = encode_vpd(page, d, 0xFFFF, &mut out).unwrap();
        let v = out[..n].to_vec();
        assert_eq!(usize::from(u16::from_be_bytes([v[2], v[3]])) + 4, n);
        assert_eq!(v[0], 0);
        assert_eq!(v[1], page);
        v
    }

    #[test]
    fn supported_pages() {
        assert_eq!(
            vpd(0, &dev()),
            [0, 0, 0, 6, 0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1]
        );
        let thin = DeviceParams {
            thin_provisioned: true,
            ..dev()
        };
        assert_eq!(
            vpd(0, &thin),
            [0, 0, 0, 7, 0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2]
        );
        for p in SUPPORTED_VPD_PAGES {
            vpd(p, &thin);
        }
        for p in [0x01u8, 0x81, 0x85, 0x89, 0xB2, 0xB7, 0xFF] {
            let mut out = [0u8; 64];
            assert_eq!(
                encode_vpd(p, &dev(), 64, &mut out),
                Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, None))
            );
        }
    }

    #[test]
    fn extended_inquiry_data_claims_the_task_attributes_and_a_volatile_cache_while_on() {
        let v = vpd(0x86, &dev());
        assert_eq!(v.len(), 64);
        assert_eq!(
            &v[..8],
            &[0, 0x86, 0, 0x3C, 0, 0x07, u8::from(dev().write_cache), 0]
        );
        assert!(v[8..].iter().all(|&b| b == 0));
        for wce in [false, true] {
            let d = DeviceParams {
                write_cache: wce,
                ..dev()
            };
            assert_eq!(
                vpd(0x86, &d)[6],
                u8::from(wce),
                "V_SUP follows the write cache"
            );
        }
    }

    #[test]
    fn serial() {
        assert_eq!(vpd(0x80, &dev()), b"\x00\x80\x00\x05SN123");
        let long = [b'9'; 100];
        let mut d = dev();
        d.serial = &long;
        let v = vpd(0x80, &d);
        assert_eq!(v.len(), 4 + 64);
        d.serial = b"";
        assert_eq!(vpd(0x80, &d), [0, 0x80, 0, 0]);
        d.serial = b"a\nb";
        assert_eq!(vpd(0x80, &d), b"\x00\x80\x00\x03a b");
    }

    #[test]
    fn device_id() {
        let v = vpd(0x83, &dev());
        // NAA 5: 5h | 001405h | low 36 bits of naa_id.
        let naa = naa5(0xABCD_1234_5678);
        assert_eq!(naa, 0x5001_405D_1234_5678);
        let mut want = vec![0, 0x83, 0, 0];
        want.extend_from_slice(&[0x01, 0x03, 0, 8]);
        want.extend_from_slice(&naa.to_be_bytes());
        want.extend_from_slice(&[0x02, 0x01, 0, 13]);
        want.extend_from_slice(b"RSCST   disk0");
        want.extend_from_slice(&[0x01, 0x14, 0, 4, 0, 0, 0, 1]);
        want.extend_from_slice(&[0x01, 0x15, 0, 4, 0, 0, 0, 7]);
        want.extend_from_slice(&[0x03, 0x18, 0, 12]);
        want.extend_from_slice(b"iqn.x,t,0x1\0");
        let len = (want.len() - 4) as u16;
        want[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(v, want);
        // A port in no target port group: no target port group designator.
        let mut d = dev();
        d.target_port_group = 0;
        let v = vpd(0x83, &d);
        assert_eq!(v.len(), want.len() - 8);
        assert!(!v.windows(2).any(|w| w == [0x01, 0x15]));
    }

    #[test]
    fn alua_in_inquiry() {
        let byte = |d: &DeviceParams<'_>, i: usize| {
            let mut out = [0u8; 96];
            encode_standard_inquiry(d, 96, &mut out);
            out[i]
        };
        let mut d = dev();
        assert_eq!((byte(&d, 0), byte(&d, 5)), (0x00, 0x08));
        d.tpgs = super::super::device::TPGS_IMPLICIT;
        assert_eq!(byte(&d, 5), 0x18);
        d.tpgs |= super::super::device::TPGS_EXPLICIT;
        assert_eq!(byte(&d, 5), 0x38);
        use super::super::alua::AccessState;
        for (state, pq) in [
            (AccessState::ActiveOptimized, 0x00),
            (AccessState::ActiveNonOptimized, 0x00),
            (AccessState::Standby, 0x00),
            (AccessState::Transitioning, 0x00),
            (AccessState::Unavailable, 0x20),
            (AccessState::Offline, 0x20),
        ] {
            d.port_state = state;
            assert_eq!(byte(&d, 0), pq, "{state:?}");
            let mut out = [0u8; 64];
            encode_vpd(0x80, &d, 64, &mut out).unwrap();
            assert_eq!(out[0], pq, "{state:?}");
        }
    }

    #[test]
    fn device_id_name_padding_and_limits() {
        let mut d = dev();
        d.target_port_name = b"";
        let v = vpd(0x83, &d);
        assert_eq!(v.len(), 4 + 12 + 17 + 8 + 8);
        for (name, padded) in [(&b"abc"[..], 4usize), (b"abcd", 8), (b"abcde", 8)] {
            d.target_port_name = name;
            let v = vpd(0x83, &d);
            let desc = &v[4 + 12 + 17 + 16..];
            assert_eq!(desc[..4], [0x03, 0x18, 0, padded as u8]);
            assert_eq!(&desc[4..4 + name.len()], name);
            assert!(desc[4 + name.len()..].iter().all(|&b| b == 0));
            assert_eq!(desc.len(), 4 + padded);
        }
        let long = [b'n'; 400];
        let longv = [b'v'; 400];
        d.target_port_name = &long;
        d.t10_vendor_designator = &longv;
        let v = vpd(0x83, &d);
        assert_eq!(v.len(), 4 + 12 + 4 + 8 + 64 + 8 + 8 + 4 + 252);
        assert!(v.len() <= 512);
        // A NUL ends the name.
        d.target_port_name = b"ab\0cd";
        let v = vpd(0x83, &d);
        assert_eq!(&v[v.len() - 8..], &[0x03, 0x18, 0, 4, b'a', b'b', 0, 0]);
        d.target_port_name = b"\0abc";
        assert_eq!(vpd(0x83, &d).len(), 4 + 12 + 4 + 8 + 64 + 8 + 8);
    }

    #[test]
    fn block_limits_and_characteristics() {
        let v = vpd(0xB0, &dev());
        assert_eq!(v.len(), 64);
        assert_eq!(&v[..8], &[0, 0xB0, 0, 0x3C, 1, 255, 0, 1]);
        // No UNMAP limits on a fully provisioned device; WRITE SAME's maximum.
        assert!(v[8..36].iter().all(|&b| b == 0));
        assert_eq!(&v[36..44], &u64::from(MAX_WRITE_SAME_BLOCKS).to_be_bytes());
        assert!(v[44..].iter().all(|&b| b == 0));
        let mut d = dev();
        d.thin_provisioned = true;
        d.block_size = 1024;
        let v = vpd(0xB0, &d);
        assert_eq!(&v[20..24], &MAX_UNMAP_BLOCKS.to_be_bytes());
        assert_eq!(&v[24..28], &MAX_UNMAP_DESCRIPTORS.to_be_bytes());
        assert_eq!(&v[28..32], &4u32.to_be_bytes());
        assert_eq!(vpd(0xB2, &d), [0, 0xB2, 0, 4, 0, 0xE4, 0x02, 0]);
        // MAXIMUM TRANSFER LENGTH is in blocks.
        let mut d = dev();
        d.max_transfer_bytes = 8 << 20;
        let v = vpd(0xB0, &d);
        assert_eq!(&v[8..12], &16384u32.to_be_bytes());
        d.block_size = 4096;
        assert_eq!(&vpd(0xB0, &d)[8..12], &2048u32.to_be_bytes());
        // COMPARE AND WRITE carries twice its blocks: half the transfer limit, at most 255.
        d.max_transfer_bytes = 1 << 20;
        assert_eq!(vpd(0xB0, &d)[5], 128);
        let v = vpd(0xB1, &dev());
        assert_eq!(v.len(), 64);
        assert_eq!(&v[..6], &[0, 0xB1, 0, 0x3C, 0, 1]);
        assert_eq!(&v[6..9], &[0, 0, 0x01]);
        assert!(v[9..].iter().all(|&b| b == 0));
        let mut d = dev();
        d.rotational = true;
        let v = vpd(0xB1, &d);
        assert_eq!(&v[4..6], &[0, 0]);
    }

    #[test]
    fn vpd_truncation() {
        let thin = DeviceParams {
            thin_provisioned: true,
            ..dev()
        };
        for page in SUPPORTED_VPD_PAGES {
            let full = vpd(page, &thin);
            for alloc in 0..=(full.len() as u16 + 2) {
                let mut out = [0xEEu8; 600];
                let n = encode_vpd(page, &thin, alloc, &mut out).unwrap();
                assert_eq!(n, usize::from(alloc).min(full.len()));
                assert_eq!(&out[..n], &full[..n]);
                assert!(out[n..].iter().all(|&b| b == 0xEE));
            }
        }
    }
}
