// SPDX-License-Identifier: GPL-2.0
//! Mode parameters of a direct-access block device: MODE SENSE(6/10) data and MODE SELECT
//! parameter list validation (SPC-4 7.5, SBC-3 6.4).
//!
//! Implemented pages (subpage 0 only): 01h read-write error recovery, 08h caching, 0Ah
//! control, 1Ch informational exceptions control. Changeable: the caching page's WCE bit
//! (only on devices whose write cache the core manages) and the control page's D_SENSE,
//! QUEUE ALGORITHM MODIFIER, QErr and TAS. Those are also the saveable ones ([`ModeValues`])
//! on a device that keeps saved values (`DeviceParams::saved_modes`; the core keeps them in
//! a file, see [`super::mode_file`]): pages 08h (when WCE is changeable) and 0Ah then have
//! the PS bit, and page control 3 returns the saved values.

use super::device::DeviceParams;
use super::sense::Sense;
use super::task_set::{QErr, QueueAlgorithm};
use super::wr::{get_be16, get_be32, get_u8, Wr};

/// Mode pages implemented, in the order returned for page 3Fh.
pub const SUPPORTED_MODE_PAGES: [u8; 4] = [0x01, 0x08, 0x0A, 0x1C];

/// Page code meaning "return all pages".
pub const ALL_PAGES: u8 = 0x3F;
/// Subpage code meaning "return all subpages".
pub const ALL_SUBPAGES: u8 = 0xFF;

/// Page control: current values.
pub const PC_CURRENT: u8 = 0;
/// Page control: changeable values (a mask).
pub const PC_CHANGEABLE: u8 = 1;
/// Page control: default values.
pub const PC_DEFAULT: u8 = 2;
/// Page control: saved values.
pub const PC_SAVED: u8 = 3;

/// The saveable mode parameters: the changeable ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeValues {
    /// The caching page's WCE.
    pub write_cache: bool,
    /// The control page's D_SENSE.
    pub descriptor_sense: bool,
    /// The control page's TAS.
    pub task_aborted_status: bool,
    /// The control page's QUEUE ALGORITHM MODIFIER.
    pub queue_algorithm: QueueAlgorithm,
    /// The control page's QErr.
    pub qerr: QErr,
}

impl ModeValues {
    /// The values as one byte, for a lock-free copy: bit 0 WCE, 1 D_SENSE, 2 TAS, 3 QUEUE
    /// ALGORITHM MODIFIER, 5..4 QErr.
    pub fn pack(&self) -> u8 {
        u8::from(self.write_cache)
            | u8::from(self.descriptor_sense) << 1
            | u8::from(self.task_aborted_status) << 2
            | (self.queue_algorithm.field() & 1) << 3
            | (self.qerr.field() & 3) << 4
    }

    /// The values [`ModeValues::pack`] packed; None for a byte it does not make.
    pub fn unpack(b: u8) -> Option<ModeValues> {
        if b & 0xC0 != 0 {
            return None;
        }
        Some(ModeValues {
            write_cache: b & 1 != 0,
            descriptor_sense: b & 2 != 0,
            task_aborted_status: b & 4 != 0,
            queue_algorithm: QueueAlgorithm::from_field(b >> 3 & 1)?,
            qerr: QErr::from_field(b >> 4 & 3)?,
        })
    }
}

impl DeviceParams<'_> {
    /// The current values of the saveable mode parameters.
    pub fn mode_values(&self) -> ModeValues {
        ModeValues {
            write_cache: self.write_cache,
            descriptor_sense: self.descriptor_sense,
            task_aborted_status: self.task_aborted_status,
            queue_algorithm: self.queue_algorithm,
            qerr: self.qerr,
        }
    }

    /// The device with `v` as its current mode parameters.
    fn with_mode_values(&self, v: ModeValues) -> Self {
        let mut d = *self;
        d.write_cache = v.write_cache;
        d.descriptor_sense = v.descriptor_sense;
        d.task_aborted_status = v.task_aborted_status;
        d.queue_algorithm = v.queue_algorithm;
        d.qerr = v.qerr;
        d
    }
}

/// D_SENSE: byte 2 of the control mode page.
const D_SENSE: u8 = 0x04;
/// TAS: byte 5 of the control mode page.
const TAS: u8 = 0x40;
/// QUEUE ALGORITHM MODIFIER: byte 3 of the control mode page, bits 7..4.
const QAM_SHIFT: u8 = 4;
/// QErr: byte 3 of the control mode page, bits 2..1.
const QERR_SHIFT: u8 = 1;

/// DEVICE-SPECIFIC PARAMETER bits of the mode parameter header.
const WP: u8 = 0x80;
const DPOFUA: u8 = 0x10;

/// A MODE SENSE request, as decoded from the CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeSenseReq {
    /// Page code (6 bits).
    pub page: u8,
    /// Subpage code.
    pub subpage: u8,
    /// Page control (0..=3).
    pub pc: u8,
    /// Disable block descriptors.
    pub dbd: bool,
    /// Long LBA block descriptor accepted (MODE SENSE(10) only).
    pub llbaa: bool,
    /// Allocation length.
    pub alloc_len: u16,
    /// MODE SENSE(10) rather than (6).
    pub ten: bool,
}

/// A mode page image: up to 20 bytes, `len` of them valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Page {
    b: [u8; 20],
    len: usize,
}

impl Page {
    fn bytes(&self) -> &[u8] {
        self.b.get(..self.len).unwrap_or(&[])
    }
}

/// Builds page `code` for page control `pc` (0 current, 1 changeable, 2 default; for 3,
/// saved, the caller passes the device with its saved values as current ones).
fn page(code: u8, pc: u8, dev: &DeviceParams<'_>) -> Option<Page> {
    let mut b = [0u8; 20];
    let changeable = pc == PC_CHANGEABLE;
    let len: usize = match code {
        0x01 => {
            // Read-write error recovery: everything zero (no retries reported).
            12
        }
        0x08 => {
            // Caching: WCE; RCD=0 (read cache enabled), everything else zero.
            let wce = if changeable {
                dev.write_cache_changeable
            } else {
                dev.write_cache
            };
            b[2] = if wce { 0x04 } else { 0 };
            20
        }
        0x0A => {
            // Control: TST=0 (one task set), GLTSD=1; changeable, with their defaults:
            // D_SENSE 0, QUEUE ALGORITHM MODIFIER 1 (unrestricted reordering), QErr 0,
            // TAS 0; BUSY TIMEOUT PERIOD 0 (undefined).
            if changeable {
                b[2] = D_SENSE;
                b[3] = 0xF << QAM_SHIFT | 0x3 << QERR_SHIFT;
                b[5] = TAS;
            } else if pc == PC_CURRENT || pc == PC_SAVED {
                b[2] = 0x02 | if dev.descriptor_sense { D_SENSE } else { 0 };
                b[3] = dev.queue_algorithm.field() << QAM_SHIFT | dev.qerr.field() << QERR_SHIFT;
                if dev.task_aborted_status {
                    b[5] = TAS;
                }
            } else {
                b[2] = 0x02;
                b[3] = QueueAlgorithm::Unrestricted.field() << QAM_SHIFT;
            }
            12
        }
        0x1C => {
            // Informational exceptions control: DEXCPT=1 (none reported), MRIE=0.
            if !changeable {
                b[2] = 0x08;
            }
            12
        }
        _ => return None,
    };
    // PS: the page holds saveable parameters (the changeable ones); SPF=0.
    let saveable = dev.saved_modes.is_some()
        && match code {
            0x08 => dev.write_cache_changeable,
            0x0A => true,
            _ => false,
        };
    b[0] = code | if saveable { 0x80 } else { 0 };
    b[1] = u8::try_from(len.saturating_sub(2)).unwrap_or(0);
    Some(Page { b, len })
}

/// Encodes MODE SENSE(6) or (10) data truncated to `req.alloc_len` and `out`.
///
/// Errors: unsupported page, or subpage other than 00h/FFh -> INVALID FIELD IN CDB; page
/// control 3 (saved) on a device without saved values -> SAVING PARAMETERS NOT SUPPORTED.
pub fn encode_mode_sense(
    req: &ModeSenseReq,
    dev: &DeviceParams<'_>,
    out: &mut [u8],
) -> Result<usize, Sense> {
    if req.subpage != 0 && req.subpage != ALL_SUBPAGES {
        return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(3, None));
    }
    if req.page != ALL_PAGES && !SUPPORTED_MODE_PAGES.contains(&req.page) {
        return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(5)));
    }
    let saved_dev;
    let dev = if req.pc == PC_SAVED {
        let saved = dev
            .saved_modes
            .ok_or(Sense::SAVING_PARAMETERS_NOT_SUPPORTED)?;
        saved_dev = dev.with_mode_values(saved);
        &saved_dev
    } else {
        dev
    };
    let changeable = req.pc == PC_CHANGEABLE;
    let long = req.ten && req.llbaa;
    let bd_len: usize = match (req.dbd, long) {
        (true, _) => 0,
        (false, true) => 16,
        (false, false) => 8,
    };
    let dev_spec = if dev.read_only { WP } else { 0 } | DPOFUA;

    let mut w = Wr::new(out, usize::from(req.alloc_len));
    if req.ten {
        w.be16(0); // MODE DATA LENGTH, patched below
        w.u8(0); // MEDIUM TYPE
        w.u8(dev_spec);
        w.u8(u8::from(long)); // LONGLBA
        w.u8(0);
        w.be16(u16::try_from(bd_len).unwrap_or(0));
    } else {
        w.u8(0); // MODE DATA LENGTH, patched below
        w.u8(0);
        w.u8(dev_spec);
        w.u8(u8::try_from(bd_len).unwrap_or(0));
    }
    if bd_len != 0 {
        // For changeable values the descriptor is a mask: nothing can be changed.
        let (blocks, bs) = if changeable {
            (0, 0)
        } else {
            (dev.num_blocks, dev.block_size)
        };
        if long {
            w.be64(blocks);
            w.be32(0);
            w.be32(bs);
        } else {
            w.be32(u32::try_from(blocks).unwrap_or(u32::MAX));
            w.u8(0);
            w.bytes(bs.to_be_bytes().get(1..).unwrap_or(&[]));
        }
    }
    for code in SUPPORTED_MODE_PAGES {
        if req.page == ALL_PAGES || req.page == code {
            if let Some(p) = page(code, req.pc, dev) {
                w.bytes(p.bytes());
            }
        }
    }
    if req.ten {
        let mdl = u16::try_from(w.pos().saturating_sub(2)).unwrap_or(u16::MAX);
        w.set_be16(0, mdl);
    } else {
        let mdl = u8::try_from(w.pos().saturating_sub(1)).unwrap_or(u8::MAX);
        w.set_u8(0, mdl);
    }
    Ok(w.finish())
}

/// Changes requested by a valid MODE SELECT parameter list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModeChanges {
    /// New WCE value, when the caching page was sent.
    pub write_cache: Option<bool>,
    /// New D_SENSE value (descriptor-format sense), when the control page was sent.
    pub descriptor_sense: Option<bool>,
    /// New TAS value (TASK ABORTED status to other initiators), when the control page was
    /// sent.
    pub task_aborted_status: Option<bool>,
    /// New QUEUE ALGORITHM MODIFIER, when the control page was sent.
    pub queue_algorithm: Option<QueueAlgorithm>,
    /// New QErr, when the control page was sent.
    pub qerr: Option<QErr>,
}

impl ModeChanges {
    /// `v` with these changes.
    pub fn applied_to(&self, v: ModeValues) -> ModeValues {
        ModeValues {
            write_cache: self.write_cache.unwrap_or(v.write_cache),
            descriptor_sense: self.descriptor_sense.unwrap_or(v.descriptor_sense),
            task_aborted_status: self.task_aborted_status.unwrap_or(v.task_aborted_status),
            queue_algorithm: self.queue_algorithm.unwrap_or(v.queue_algorithm),
            qerr: self.qerr.unwrap_or(v.qerr),
        }
    }
}

/// Validates a MODE SELECT(6) (`ten == false`) or (10) parameter list against `dev` and
/// returns the changes it requests. The core applies them (and establishes the MODE
/// PARAMETERS CHANGED unit attention for other I_T nexuses).
///
/// Rules: the header (and block descriptor, and each page) must be complete, else
/// PARAMETER LIST LENGTH ERROR. A block descriptor must be 8 bytes (16 with LONGLBA) and
/// carry the current block length; its NUMBER OF LOGICAL BLOCKS is ignored. Each page must
/// be an implemented page in page_0 format with its exact length, and may differ from the
/// current values only in changeable bits (the PS bit is ignored); otherwise INVALID FIELD
/// IN PARAMETER LIST. The PF bit is not checked: the page format is the only one supported.
pub fn parse_mode_select(
    data: &[u8],
    ten: bool,
    dev: &DeviceParams<'_>,
) -> Result<ModeChanges, Sense> {
    let hdr: usize = if ten { 8 } else { 4 };
    if data.len() < hdr {
        return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
    }
    let (bd_len, long) = if ten {
        (usize::from(get_be16(data, 6)), get_u8(data, 4) & 1 != 0)
    } else {
        (usize::from(get_u8(data, 3)), false)
    };
    let bd_size: usize = if long { 16 } else { 8 };
    let field =
        |byte: usize, bit: Option<u8>| Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(byte, bit);
    if bd_len != 0 && bd_len != bd_size {
        // BLOCK DESCRIPTOR LENGTH.
        return Err(field(if ten { 6 } else { 3 }, None));
    }
    let bd = data
        .get(hdr..hdr.saturating_add(bd_len))
        .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
    if bd_len != 0 {
        let (bs, at) = if long {
            (get_be32(bd, 12), 12)
        } else {
            (get_be32(bd, 4) & 0x00FF_FFFF, 5)
        };
        if bs != dev.block_size {
            // LOGICAL BLOCK LENGTH.
            return Err(field(hdr.saturating_add(at), None));
        }
    }
    let mut off = hdr.saturating_add(bd_len);
    let mut rest = data.get(off..).unwrap_or(&[]);
    let mut changes = ModeChanges::default();
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        let b0 = get_u8(rest, 0);
        let total = usize::from(get_u8(rest, 1)).saturating_add(2);
        let sent = rest
            .get(..total)
            .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
        if b0 & 0x40 != 0 {
            // SPF: sub_page format, and no subpages are implemented.
            return Err(field(off, Some(6)));
        }
        let code = b0 & 0x3F;
        let (Some(cur), Some(mask)) = (page(code, PC_CURRENT, dev), page(code, PC_CHANGEABLE, dev))
        else {
            // PAGE CODE.
            return Err(field(off, Some(5)));
        };
        if cur.len != total {
            // PAGE LENGTH.
            return Err(field(off.saturating_add(1), None));
        }
        let body = |p: &[u8]| -> [u8; 20] {
            let mut a = [0u8; 20];
            for (d, s) in a.iter_mut().zip(p.iter()).skip(2) {
                *d = *s;
            }
            a
        };
        let (s, c, m) = (body(sent), body(cur.bytes()), body(mask.bytes()));
        // The first byte that differs from the current value where it may not. No bit
        // pointer: it must name a field's first bit, and the pages' field boundaries
        // are not described here.
        let changed = s
            .iter()
            .zip(c.iter())
            .zip(m.iter())
            .map(|((s, c), m)| (s ^ c) & !m)
            .enumerate()
            .find(|(_, diff)| *diff != 0);
        if let Some((i, _)) = changed {
            return Err(field(off.saturating_add(i), None));
        }
        if code == 0x08 {
            changes.write_cache = Some(get_u8(sent, 2) & 0x04 != 0);
        }
        if code == 0x0A {
            changes.descriptor_sense = Some(get_u8(sent, 2) & D_SENSE != 0);
            changes.task_aborted_status = Some(get_u8(sent, 5) & TAS != 0);
            // Changeable fields whose values are not all valid: the pointer names the
            // field's most significant bit.
            let b3 = get_u8(sent, 3);
            let qam = QueueAlgorithm::from_field(b3 >> QAM_SHIFT)
                .ok_or_else(|| field(off.saturating_add(3), Some(7)))?;
            let qerr = QErr::from_field(b3 >> QERR_SHIFT & 0x3)
                .ok_or_else(|| field(off.saturating_add(3), Some(2)))?;
            changes.queue_algorithm = Some(qam);
            changes.qerr = Some(qerr);
        }
        off = off.saturating_add(total);
        rest = rest.get(total..).unwrap_or(&[]);
    }
    Ok(changes)
}

/// Minimum MODE SELECT parameter list length for a given CDB size (the header).
pub fn mode_select_header_len(ten: bool) -> usize {
    if ten {
        8
    } else {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    fn dev() -> DeviceParams<'static> {
        DeviceParams {
            block_size: 4096,
            num_blocks: 0x1_0000_0001,
            write_cache: true,
            write_cache_changeable: true,
            ..DeviceParams::EMPTY
        }
    }

    fn req(page: u8, pc: u8, ten: bool) -> ModeSenseReq {
        ModeSenseReq {
            page,
            subpage: 0,
            pc,
            dbd: false,
            llbaa: false,
            alloc_len: 0xFFFF,
            ten,
        }
    }

    fn sense(r: &ModeSenseReq, d: &DeviceParams<'_>) -> Vec<u8> {
        let mut out = [0xEEu8; 512];
        let n = encode_mode_sense(r, d, &mut out).unwrap();
        out[..n].to_vec()
    }

    const CACHING_WCE: [u8; 20] = [
        0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    const CONTROL: [u8; 12] = [0x0A, 0x0A, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];
    const RW_RECOVERY: [u8; 12] = [0x01, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const IEC: [u8; 12] = [0x1C, 0x0A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn caching_6_with_block_descriptor() {
        let v = sense(&req(0x08, 0, false), &dev());
        let mut want = vec![3 + 8 + 20, 0, 0x10, 8];
        want.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0x00, 0x10, 0x00]);
        want.extend_from_slice(&CACHING_WCE);
        assert_eq!(v, want);
    }

    #[test]
    fn caching_10_long_descriptor_wp() {
        let mut d = dev();
        d.read_only = true;
        d.write_cache = false;
        let mut r = req(0x08, 0, true);
        r.llbaa = true;
        let v = sense(&r, &d);
        let mut want = vec![0, 6 + 16 + 20, 0, 0x90, 1, 0, 0, 16];
        want.extend_from_slice(&0x1_0000_0001u64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x10, 0]);
        let mut c = CACHING_WCE;
        c[2] = 0;
        want.extend_from_slice(&c);
        assert_eq!(v, want);
        // Without LLBAA: short descriptor.
        r.llbaa = false;
        let v = sense(&r, &d);
        assert_eq!(&v[..8], &[0, 6 + 8 + 20, 0, 0x90, 0, 0, 0, 8]);
        assert_eq!(&v[8..16], &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x10, 0]);
    }

    #[test]
    fn all_pages_dbd() {
        let mut r = req(ALL_PAGES, 0, false);
        r.dbd = true;
        let v = sense(&r, &dev());
        let mut want = vec![3 + 56, 0, 0x10, 0];
        want.extend_from_slice(&RW_RECOVERY);
        want.extend_from_slice(&CACHING_WCE);
        want.extend_from_slice(&CONTROL);
        want.extend_from_slice(&IEC);
        assert_eq!(v, want);
        r.subpage = ALL_SUBPAGES;
        assert_eq!(sense(&r, &dev()), want);
        r.pc = PC_DEFAULT;
        assert_eq!(sense(&r, &dev()), want);
        r.ten = true;
        let v10 = sense(&r, &dev());
        assert_eq!(&v10[..8], &[0, 6 + 56, 0, 0x10, 0, 0, 0, 0]);
        assert_eq!(&v10[8..], &want[4..]);
    }

    #[test]
    fn changeable() {
        let v = sense(&req(ALL_PAGES, PC_CHANGEABLE, false), &dev());
        let mut want = vec![3 + 8 + 56, 0, 0x10, 8, 0, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&RW_RECOVERY);
        want.extend_from_slice(&CACHING_WCE);
        let mut c = CONTROL;
        c[2] = 0x04; // D_SENSE
        c[3] = 0xF6; // QUEUE ALGORITHM MODIFIER, QErr
        c[5] = 0x40; // TAS
        want.extend_from_slice(&c);
        let mut i = IEC;
        i[2] = 0;
        want.extend_from_slice(&i);
        assert_eq!(v, want);
    }

    #[test]
    fn single_pages() {
        let mut r = req(0x0A, 0, false);
        r.dbd = true;
        assert_eq!(sense(&r, &dev())[4..], CONTROL);
        r.page = 0x01;
        assert_eq!(sense(&r, &dev())[4..], RW_RECOVERY);
        r.page = 0x1C;
        assert_eq!(sense(&r, &dev())[4..], IEC);
    }

    #[test]
    fn errors() {
        let mut out = [0u8; 512];
        for p in [0x00u8, 0x02, 0x03, 0x04, 0x07, 0x19, 0x1A, 0x3E] {
            assert_eq!(
                encode_mode_sense(&req(p, 0, false), &dev(), &mut out),
                Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(5))),
                "{p:#x}"
            );
        }
        let mut r = req(0x08, 0, true);
        r.subpage = 1;
        assert_eq!(
            encode_mode_sense(&r, &dev(), &mut out),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(3, None))
        );
        r.subpage = 0xFE;
        assert_eq!(
            encode_mode_sense(&r, &dev(), &mut out),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(3, None))
        );
        assert_eq!(
            encode_mode_sense(&req(0x08, PC_SAVED, false), &dev(), &mut out),
            Err(Sense::SAVING_PARAMETERS_NOT_SUPPORTED)
        );
        assert_eq!(
            encode_mode_sense(&req(ALL_PAGES, PC_SAVED, true), &dev(), &mut out),
            Err(Sense::SAVING_PARAMETERS_NOT_SUPPORTED)
        );
    }

    #[test]
    fn saved_values_with_the_ps_bit_on_saveable_pages() {
        let saved = ModeValues {
            write_cache: false,
            descriptor_sense: true,
            task_aborted_status: true,
            queue_algorithm: QueueAlgorithm::Restricted,
            qerr: QErr::AbortThisNexus,
        };
        let d = DeviceParams {
            saved_modes: Some(saved),
            ..dev()
        };
        let mut r = req(ALL_PAGES, PC_SAVED, false);
        r.dbd = true;
        let v = sense(&r, &d);
        let mut want = vec![3 + 56, 0, 0x10, 0];
        want.extend_from_slice(&RW_RECOVERY);
        let mut c = CACHING_WCE;
        c[0] |= 0x80;
        c[2] = 0;
        want.extend_from_slice(&c);
        let mut k = CONTROL;
        k[0] |= 0x80;
        k[2] = 0x02 | 0x04; // GLTSD, D_SENSE
        k[3] = 0x06; // QUEUE ALGORITHM MODIFIER 0, QErr 11b
        k[5] = 0x40; // TAS
        want.extend_from_slice(&k);
        want.extend_from_slice(&IEC);
        assert_eq!(v, want);
        // Current values keep theirs, with the PS bits.
        r.pc = PC_CURRENT;
        let v = sense(&r, &d);
        assert_eq!(v[4 + 12], 0x88);
        assert_eq!(v[4 + 12 + 2], 0x04);
        assert_eq!(&v[4 + 32..4 + 38], &[0x8A, 0x0A, 0x02, 0x10, 0, 0]);
        // A write cache the core does not manage is not saveable.
        let fixed = DeviceParams {
            write_cache_changeable: false,
            ..d
        };
        let v = sense(&r, &fixed);
        assert_eq!(
            (v[4], v[4 + 12], v[4 + 32], v[4 + 44]),
            (0x01, 0x08, 0x8A, 0x1C)
        );
        // The PS bit of a page sent back is ignored.
        let mut back = v[4 + 32..4 + 44].to_vec();
        back[2] |= 0x04;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&back]), false, &fixed)
                .map(|c| c.descriptor_sense),
            Ok(Some(true))
        );
    }

    #[test]
    fn mode_values_pack_and_unpack() {
        for b in 0..=255u8 {
            match ModeValues::unpack(b) {
                Some(v) => assert_eq!(v.pack(), b),
                None => assert!(b & 0xC0 != 0 || b >> 4 & 3 == 2, "{b:#x}"),
            }
        }
        let v = dev().mode_values();
        assert_eq!(ModeValues::unpack(v.pack()), Some(v));
        assert_eq!(ModeChanges::default().applied_to(v), v);
        let c = ModeChanges {
            descriptor_sense: Some(true),
            qerr: Some(QErr::AbortAll),
            ..ModeChanges::default()
        };
        assert_eq!(
            c.applied_to(v),
            ModeValues {
                descriptor_sense: true,
                qerr: QErr::AbortAll,
                ..v
            }
        );
    }

    #[test]
    fn truncation() {
        for ten in [false, true] {
            let full = sense(&req(ALL_PAGES, 0, ten), &dev());
            for alloc in 0..=(full.len() as u16 + 3) {
                let mut r = req(ALL_PAGES, 0, ten);
                r.alloc_len = alloc;
                let mut out = [0xEEu8; 200];
                let n = encode_mode_sense(&r, &dev(), &mut out).unwrap();
                assert_eq!(n, usize::from(alloc).min(full.len()));
                assert_eq!(&out[..n], &full[..n]);
                assert!(out[n..].iter().all(|&b| b == 0xEE));
            }
        }
    }

    fn select(ten: bool, bd: &[u8], pages: &[&[u8]]) -> Vec<u8> {
        let mut v = if ten {
            vec![0, 0, 0, 0, u8::from(bd.len() == 16), 0, 0, bd.len() as u8]
        } else {
            vec![0, 0, 0, bd.len() as u8]
        };
        v.extend_from_slice(bd);
        for p in pages {
            v.extend_from_slice(p);
        }
        v
    }

    #[test]
    fn mode_select_wce_on_a_device_whose_cache_is_fixed() {
        let fixed = DeviceParams {
            write_cache_changeable: false,
            ..dev()
        };
        let mut r = req(0x08, PC_CHANGEABLE, false);
        r.dbd = true;
        assert_eq!(
            sense(&r, &fixed)[4 + 2],
            0,
            "WCE changeable on a fixed cache"
        );
        // The current value may be sent back; another is refused.
        let d = select(false, &[], &[&CACHING_WCE]);
        assert_eq!(
            parse_mode_select(&d, false, &fixed),
            Ok(ModeChanges {
                write_cache: Some(true),
                ..ModeChanges::default()
            })
        );
        let mut off = CACHING_WCE;
        off[2] = 0;
        let d = select(false, &[], &[&off]);
        // The WCE byte: byte 2 of the page after the 4-byte header.
        assert_eq!(
            parse_mode_select(&d, false, &fixed),
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(6, None))
        );
    }

    #[test]
    fn mode_select_wce() {
        let mut c = CACHING_WCE;
        c[2] = 0;
        for ten in [false, true] {
            let d = select(ten, &[], &[&c]);
            assert_eq!(
                parse_mode_select(&d, ten, &dev()),
                Ok(ModeChanges {
                    write_cache: Some(false),
                    ..ModeChanges::default()
                })
            );
        }
        // PS bit set (as echoed from MODE SENSE by some initiators) is ignored.
        let mut ps = CACHING_WCE;
        ps[0] |= 0x80;
        let d = select(false, &[], &[&ps, &CONTROL]);
        assert_eq!(
            parse_mode_select(&d, false, &dev()),
            Ok(ModeChanges {
                write_cache: Some(true),
                descriptor_sense: Some(false),
                task_aborted_status: Some(false),
                queue_algorithm: Some(QueueAlgorithm::Unrestricted),
                qerr: Some(QErr::Continue),
            })
        );
        // Header only: nothing changes.
        assert_eq!(
            parse_mode_select(&[0, 0, 0, 0], false, &dev()),
            Ok(ModeChanges::default())
        );
        // With block descriptors carrying the right block length.
        let bd = [0, 0, 0, 0, 0, 0, 0x10, 0];
        let d = select(false, &bd, &[&c]);
        assert!(parse_mode_select(&d, false, &dev()).is_ok());
        let mut lbd = [0u8; 16];
        lbd[14] = 0x10;
        let d = select(true, &lbd, &[&c]);
        assert!(parse_mode_select(&d, true, &dev()).is_ok());
    }

    #[test]
    fn mode_select_errors() {
        let e_len = Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        let e_field = |byte: usize, bit: Option<u8>| {
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(byte, bit))
        };
        let d = dev();
        assert_eq!(parse_mode_select(&[0, 0, 0], false, &d), e_len);
        assert_eq!(parse_mode_select(&[0; 7], true, &d), e_len);
        // Block descriptor promised but missing.
        assert_eq!(parse_mode_select(&[0, 0, 0, 8, 0, 0], false, &d), e_len);
        // Bad block descriptor length / block size.
        assert_eq!(
            parse_mode_select(&[0, 0, 0, 4, 0, 0, 0, 0], false, &d),
            e_field(3, None)
        );
        let bd = [0, 0, 0, 0, 0, 0, 0x02, 0];
        assert_eq!(
            parse_mode_select(&select(false, &bd, &[]), false, &d),
            e_field(9, None)
        );
        // Truncated page.
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&CACHING_WCE[..10]]), false, &d),
            e_len
        );
        assert_eq!(parse_mode_select(&[0, 0, 0, 0, 0x08], false, &d), e_len);
        // Unknown page, subpage format, wrong length.
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&[0x19, 2, 0, 0]]), false, &d),
            e_field(4, Some(5))
        );
        let mut spf = CACHING_WCE;
        spf[0] |= 0x40;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&spf]), false, &d),
            e_field(4, Some(6))
        );
        let mut short = CONTROL;
        short[1] = 6;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&short[..8]]), false, &d),
            e_field(5, None)
        );
        // Non-changeable bit changed: RCD, D_SENSE.
        let mut rcd = CACHING_WCE;
        rcd[2] |= 0x01;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&rcd]), false, &d),
            e_field(6, None)
        );
        // TST (byte 2, bits 7..5) is not changeable.
        let mut tst = CONTROL;
        tst[2] |= 0x20;
        assert_eq!(
            parse_mode_select(&select(true, &[], &[&tst]), true, &d),
            e_field(10, None)
        );
        // D_SENSE is.
        let mut ds = CONTROL;
        ds[2] |= 0x04;
        assert_eq!(
            parse_mode_select(&select(true, &[], &[&ds]), true, &d),
            Ok(ModeChanges {
                descriptor_sense: Some(true),
                task_aborted_status: Some(false),
                queue_algorithm: Some(QueueAlgorithm::Unrestricted),
                qerr: Some(QErr::Continue),
                ..ModeChanges::default()
            })
        );
        // So is TAS (byte 5 bit 6).
        let mut tas = CONTROL;
        tas[5] |= 0x40;
        assert_eq!(
            parse_mode_select(&select(true, &[], &[&tas]), true, &d),
            Ok(ModeChanges {
                descriptor_sense: Some(false),
                task_aborted_status: Some(true),
                queue_algorithm: Some(QueueAlgorithm::Unrestricted),
                qerr: Some(QErr::Continue),
                ..ModeChanges::default()
            })
        );
        let mut r = req(0x0A, PC_CHANGEABLE, false);
        r.dbd = true;
        assert_eq!(sense(&r, &d)[4 + 5], 0x40);
        let td = DeviceParams {
            task_aborted_status: true,
            ..dev()
        };
        r.pc = PC_CURRENT;
        assert_eq!(sense(&r, &td)[4 + 5], 0x40);
        assert_eq!(sense(&r, &d)[4 + 5], 0);
        // The current page says what the device uses.
        let dd = DeviceParams {
            descriptor_sense: true,
            ..dev()
        };
        let mut r = req(0x0A, PC_CURRENT, false);
        r.dbd = true;
        assert_eq!(sense(&r, &dd)[4 + 2], 0x06);
        r.pc = PC_DEFAULT;
        assert_eq!(sense(&r, &dd)[4 + 2], 0x02);
        assert_eq!(mode_select_header_len(false), 4);
        assert_eq!(mode_select_header_len(true), 8);
    }

    #[test]
    fn control_page_queue_algorithm_and_qerr() {
        let d = dev();
        let mut r = req(0x0A, PC_CHANGEABLE, false);
        r.dbd = true;
        // Both fields whole in the changeable mask, as SCST has them.
        assert_eq!(sense(&r, &d)[4 + 3], 0xF6);
        r.pc = PC_DEFAULT;
        assert_eq!(sense(&r, &d)[4 + 3], 0x10);
        r.pc = PC_CURRENT;
        let set = DeviceParams {
            queue_algorithm: QueueAlgorithm::Restricted,
            qerr: QErr::AbortThisNexus,
            ..dev()
        };
        assert_eq!(sense(&r, &set)[4 + 3], 0x06);
        assert_eq!(sense(&r, &d)[4 + 3], 0x10);
        // Every valid value is taken.
        for (b3, qam, qerr) in [
            (0x00, QueueAlgorithm::Restricted, QErr::Continue),
            (0x12, QueueAlgorithm::Unrestricted, QErr::AbortAll),
            (0x16, QueueAlgorithm::Unrestricted, QErr::AbortThisNexus),
        ] {
            let mut c = CONTROL;
            c[3] = b3;
            assert_eq!(
                parse_mode_select(&select(false, &[], &[&c]), false, &d),
                Ok(ModeChanges {
                    descriptor_sense: Some(false),
                    task_aborted_status: Some(false),
                    queue_algorithm: Some(qam),
                    qerr: Some(qerr),
                    ..ModeChanges::default()
                }),
                "{b3:#x}"
            );
        }
        // Reserved values: the field's most significant bit, byte 3 of the page after
        // the 4-byte header.
        let mut c = CONTROL;
        c[3] = 0x20;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&c]), false, &d),
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(7, Some(7)))
        );
        c[3] = 0x14;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&c]), false, &d),
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(7, Some(2)))
        );
        // Bit 0 of byte 3 (obsolete) stays unchangeable.
        c[3] = 0x11;
        assert_eq!(
            parse_mode_select(&select(false, &[], &[&c]), false, &d),
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(7, None))
        );
    }
}
