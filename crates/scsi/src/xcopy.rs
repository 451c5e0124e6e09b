// SPDX-License-Identifier: GPL-2.0
//! EXTENDED COPY (LID1) parameter lists (SPC-4 6.4) and RECEIVE COPY RESULTS' operating
//! parameters (SPC-4 6.18.4): what ESXi's XCOPY sends. The lists this module accepts name
//! their logical units by identification CSCD descriptors (E4h) and copy with
//! block-to-block segment descriptors (02h); the core resolves the designators to the
//! devices the session reaches and has their handlers copy, without the data passing
//! through the initiator.

use super::sense::Sense;
use super::wr::{get_be16, get_be32, get_be64, get_u8, Wr};

/// Bytes of the parameter list header.
pub const HEADER_LEN: usize = 16;
/// Bytes of an identification CSCD descriptor.
pub const CSCD_LEN: usize = 32;
/// Bytes of a block-to-block segment descriptor.
pub const SEGMENT_LEN: usize = 28;
/// DESCRIPTOR TYPE CODE of the identification CSCD descriptor.
pub const IDENTIFICATION: u8 = 0xE4;
/// DESCRIPTOR TYPE CODE of the block device to block device segment descriptor.
pub const BLOCK_TO_BLOCK: u8 = 0x02;
/// MAXIMUM CSCD DESCRIPTOR COUNT.
pub const MAX_CSCD_DESCRIPTORS: u16 = 8;
/// MAXIMUM SEGMENT DESCRIPTOR COUNT.
pub const MAX_SEGMENT_DESCRIPTORS: u16 = 16;
/// MAXIMUM SEGMENT LENGTH in bytes (a segment's NUMBER OF BLOCKS times its block size): no
/// segment exceeds it, 65535 blocks of 4096 bytes being less.
pub const MAX_SEGMENT_BYTES: u32 = 256 << 20;
/// MAXIMUM DESCRIPTOR LIST LENGTH: every descriptor at its largest.
#[allow(clippy::arithmetic_side_effects)] // constants, checked at compile time
pub const MAX_DESCRIPTOR_LIST_LEN: u32 = (MAX_CSCD_DESCRIPTORS as u32) * (CSCD_LEN as u32)
    + (MAX_SEGMENT_DESCRIPTORS as u32) * (SEGMENT_LEN as u32);
/// The longest designator an identification CSCD descriptor holds.
const MAX_DESIGNATOR_LEN: usize = 20 - 4;

/// 05/26/06 TOO MANY TARGET DESCRIPTORS (CSCD descriptors).
pub const TOO_MANY_CSCD_DESCRIPTORS: Sense =
    Sense::new(super::sense::key::ILLEGAL_REQUEST, 0x26, 0x06);
/// 05/26/07 UNSUPPORTED TARGET DESCRIPTOR TYPE CODE.
pub const UNSUPPORTED_CSCD_TYPE: Sense = Sense::new(super::sense::key::ILLEGAL_REQUEST, 0x26, 0x07);
/// 05/26/08 TOO MANY SEGMENT DESCRIPTORS.
pub const TOO_MANY_SEGMENT_DESCRIPTORS: Sense =
    Sense::new(super::sense::key::ILLEGAL_REQUEST, 0x26, 0x08);
/// 05/26/09 UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE.
pub const UNSUPPORTED_SEGMENT_TYPE: Sense =
    Sense::new(super::sense::key::ILLEGAL_REQUEST, 0x26, 0x09);
/// 0A/0D/02 COPY TARGET DEVICE NOT REACHABLE: a segment names a CSCD descriptor the list
/// lacks, a null device, or a logical unit the session does not reach, or blocks it cannot
/// copy (beyond a capacity, between two block sizes). LIO's answer to all of these, and one
/// libiscsi's tests accept.
pub const COPY_TARGET_NOT_REACHABLE: Sense =
    Sense::new(super::sense::key::COPY_ABORTED, 0x0D, 0x02);
/// 0A/0D/01 THIRD PARTY DEVICE FAILURE: a READ from a source or a WRITE to a destination
/// failed during the copy.
pub const THIRD_PARTY_DEVICE_FAILURE: Sense =
    Sense::new(super::sense::key::COPY_ABORTED, 0x0D, 0x01);

/// A logical unit named by an identification CSCD descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cscd<'a> {
    /// CODE SET (byte 4 bits 3..0 of the descriptor).
    pub code_set: u8,
    /// DESIGNATOR TYPE (byte 5 bits 3..0).
    pub designator_type: u8,
    /// The designator, as INQUIRY's VPD page 83h gives it.
    pub designator: &'a [u8],
    /// DISK BLOCK LENGTH: the block size the initiator expects (0: not given).
    pub block_len: u32,
    /// NUL: a null device, which copies nothing to or from anywhere.
    pub nul: bool,
}

/// A block-to-block segment: `blocks` blocks from `src_lba` of CSCD `src` to `dst_lba`
/// of CSCD `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Index of the source CSCD descriptor.
    pub src: u16,
    /// Index of the destination CSCD descriptor.
    pub dst: u16,
    /// NUMBER OF BLOCKS.
    pub blocks: u16,
    /// SOURCE LOGICAL BLOCK ADDRESS.
    pub src_lba: u64,
    /// DESTINATION LOGICAL BLOCK ADDRESS.
    pub dst_lba: u64,
}

/// An EXTENDED COPY (LID1) parameter list whose every descriptor was checked.
#[derive(Clone, Copy, Debug)]
pub struct CopyList<'a> {
    /// LIST IDENTIFIER.
    pub list_id: u8,
    cscds: &'a [u8],
    segments: &'a [u8],
}

/// INVALID FIELD IN PARAMETER LIST at `byte`.
fn field(byte: usize, bit: Option<u8>) -> Sense {
    Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(byte, bit)
}

impl<'a> CopyList<'a> {
    /// Checks the parameter list `list` (the bytes received; `param_len` as the CDB said,
    /// at least one). A list shorter than its header or than the lengths it declares is a
    /// PARAMETER LIST LENGTH ERROR, and so are descriptor lists longer together than
    /// [`MAX_DESCRIPTOR_LIST_LEN`] (checked before the counts, as libiscsi's tests want);
    /// inline data, a CSCD list that is not whole descriptors, an identification descriptor
    /// of anything but a block device's logical unit or a designator longer than 16 bytes
    /// are INVALID FIELD IN PARAMETER LIST (pointing at the field); a segment naming a CSCD
    /// the list lacks is [`COPY_TARGET_NOT_REACHABLE`]; other descriptor types and more
    /// descriptors than the limits get their own codes (see the constants). LU ID TYPE is
    /// ignored, as SPC-4 wants it where VERSION says SPC-4.
    pub fn parse(list: &'a [u8], param_len: u32) -> Result<Self, Sense> {
        let len = usize::try_from(param_len).unwrap_or(usize::MAX);
        let list = list.get(..len).ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
        if list.len() < HEADER_LEN {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        let cscd_len = usize::from(get_be16(list, 2));
        let segment_len = usize::try_from(get_be32(list, 8)).unwrap_or(usize::MAX);
        if get_be32(list, 12) != 0 {
            // INLINE DATA LENGTH: no inline data (no segment types that use it).
            return Err(field(12, None));
        }
        let end = HEADER_LEN
            .checked_add(cscd_len)
            .and_then(|n| n.checked_add(segment_len))
            .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
        if end > list.len() {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        let max = usize::try_from(MAX_DESCRIPTOR_LIST_LEN).unwrap_or(usize::MAX);
        if cscd_len.saturating_add(segment_len) > max {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        if cscd_len % CSCD_LEN != 0 {
            return Err(field(2, None));
        }
        if cscd_len / CSCD_LEN > usize::from(MAX_CSCD_DESCRIPTORS) {
            return Err(TOO_MANY_CSCD_DESCRIPTORS);
        }
        let cscds = list
            .get(HEADER_LEN..HEADER_LEN.saturating_add(cscd_len))
            .unwrap_or(&[]);
        for (i, d) in cscds.chunks_exact(CSCD_LEN).enumerate() {
            let at = HEADER_LEN.saturating_add(i.saturating_mul(CSCD_LEN));
            check_cscd(d, at)?;
        }
        let count = cscds.len() / CSCD_LEN;
        let segments = list
            .get(HEADER_LEN.saturating_add(cscd_len)..end)
            .unwrap_or(&[]);
        let mut seen = 0usize;
        let mut rest = segments;
        let mut at = HEADER_LEN.saturating_add(cscd_len);
        while !rest.is_empty() {
            if get_u8(rest, 0) != BLOCK_TO_BLOCK {
                return Err(UNSUPPORTED_SEGMENT_TYPE);
            }
            seen = seen.saturating_add(1);
            if seen > usize::from(MAX_SEGMENT_DESCRIPTORS) {
                return Err(TOO_MANY_SEGMENT_DESCRIPTORS);
            }
            let d = rest
                .get(..SEGMENT_LEN)
                .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
            check_segment(d, at, count)?;
            rest = rest.get(SEGMENT_LEN..).unwrap_or(&[]);
            at = at.saturating_add(SEGMENT_LEN);
        }
        Ok(CopyList {
            list_id: get_u8(list, 0),
            cscds,
            segments,
        })
    }

    /// The CSCD descriptors, in list order (their index is their CSCD DESCRIPTOR ID).
    pub fn cscds(&self) -> impl Iterator<Item = Cscd<'a>> + 'a {
        self.cscds.chunks_exact(CSCD_LEN).map(|d| {
            let n = usize::from(get_u8(d, 7)).min(MAX_DESIGNATOR_LEN);
            Cscd {
                code_set: get_u8(d, 4) & 0x0F,
                designator_type: get_u8(d, 5) & 0x0F,
                designator: d.get(8..8usize.saturating_add(n)).unwrap_or(&[]),
                block_len: get_be32(d, 28) & 0x00FF_FFFF,
                nul: get_u8(d, 1) & 0x20 != 0,
            }
        })
    }

    /// Offset in the parameter list of CSCD descriptor `index` (where a field pointer into
    /// it starts).
    pub fn cscd_offset(&self, index: usize) -> usize {
        HEADER_LEN.saturating_add(index.saturating_mul(CSCD_LEN))
    }

    /// Offset in the parameter list of segment descriptor `index` (where a field pointer
    /// into it starts).
    pub fn segment_offset(&self, index: usize) -> usize {
        HEADER_LEN
            .saturating_add(self.cscds.len())
            .saturating_add(index.saturating_mul(SEGMENT_LEN))
    }

    /// The segments, in list order.
    pub fn segments(&self) -> impl Iterator<Item = Segment> + 'a {
        self.segments.chunks_exact(SEGMENT_LEN).map(|d| Segment {
            src: get_be16(d, 4),
            dst: get_be16(d, 6),
            blocks: get_be16(d, 10),
            src_lba: get_be64(d, 12),
            dst_lba: get_be64(d, 20),
        })
    }
}

/// An identification CSCD descriptor at list offset `at`: a block device's logical unit
/// (PERIPHERAL DEVICE TYPE 0), a logical unit designator of at most 16 bytes.
fn check_cscd(d: &[u8], at: usize) -> Result<(), Sense> {
    if get_u8(d, 0) != IDENTIFICATION {
        return Err(UNSUPPORTED_CSCD_TYPE);
    }
    if get_u8(d, 1) & 0x1F != 0 {
        return Err(field(at.saturating_add(1), Some(4)));
    }
    // ASSOCIATION (byte 5 bits 5..4) must be the logical unit.
    if get_u8(d, 5) & 0x30 != 0 {
        return Err(field(at.saturating_add(5), Some(5)));
    }
    if usize::from(get_u8(d, 7)) > MAX_DESIGNATOR_LEN || get_u8(d, 7) == 0 {
        return Err(field(at.saturating_add(7), None));
    }
    Ok(())
}

/// A block-to-block segment descriptor at list offset `at`, among `count` CSCDs:
/// DESCRIPTOR LENGTH 0018h, both CSCD DESCRIPTOR IDs in the list, no CAT or DC (which
/// change what is left behind or counted). A NUMBER OF BLOCKS of zero copies nothing.
fn check_segment(d: &[u8], at: usize, count: usize) -> Result<(), Sense> {
    if get_u8(d, 1) & 0x03 != 0 {
        return Err(field(at.saturating_add(1), Some(1)));
    }
    if get_be16(d, 2) != 0x0018 {
        return Err(field(at.saturating_add(2), None));
    }
    for off in [4usize, 6] {
        if usize::from(get_be16(d, off)) >= count {
            return Err(COPY_TARGET_NOT_REACHABLE);
        }
    }
    Ok(())
}

/// Length of RECEIVE COPY RESULTS' OPERATING PARAMETERS data.
pub const OPERATING_PARAMETERS_LEN: usize = 46;

/// Encodes RECEIVE COPY RESULTS' OPERATING PARAMETERS (service action 03h), truncated to
/// `alloc_len` and `out`; returns the bytes written.
pub fn encode_operating_parameters(alloc_len: u32, out: &mut [u8]) -> usize {
    let limit = usize::try_from(alloc_len).unwrap_or(usize::MAX);
    let mut w = Wr::new(out, limit.min(OPERATING_PARAMETERS_LEN));
    #[allow(clippy::arithmetic_side_effects)] // a constant
    w.be32((OPERATING_PARAMETERS_LEN - 4) as u32); // AVAILABLE DATA
    w.u8(0x01); // SNLID: lists without a list identifier are supported
    w.zeros(3);
    w.be16(MAX_CSCD_DESCRIPTORS);
    w.be16(MAX_SEGMENT_DESCRIPTORS);
    w.be32(MAX_DESCRIPTOR_LIST_LEN);
    w.be32(MAX_SEGMENT_BYTES); // MAXIMUM SEGMENT LENGTH
    w.be32(0); // MAXIMUM INLINE DATA LENGTH
    w.be32(0); // HELD DATA LIMIT
    w.be32(0); // MAXIMUM STREAM DEVICE TRANSFER SIZE
    w.zeros(2);
    w.be16(1); // TOTAL CONCURRENT COPIES
    w.u8(1); // MAXIMUM CONCURRENT COPIES
    w.u8(9); // DATA SEGMENT GRANULARITY: 512 bytes (log2)
    w.u8(9); // INLINE DATA GRANULARITY
    w.u8(9); // HELD DATA GRANULARITY
    w.zeros(3);
    w.u8(2); // IMPLEMENTED DESCRIPTOR LIST LENGTH
    w.u8(BLOCK_TO_BLOCK);
    w.u8(IDENTIFICATION);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const NAA: [u8; 16] = [0x61, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    fn cscd(designator: &[u8]) -> Vec<u8> {
        let mut d = std::vec![0u8; CSCD_LEN];
        d[0] = IDENTIFICATION;
        d[4] = 0x01; // binary
        d[5] = 0x03; // NAA, logical unit
        d[7] = designator.len() as u8;
        d[8..8 + designator.len()].copy_from_slice(designator);
        d[29..32].copy_from_slice(&[0, 2, 0]); // 512-byte blocks
        d
    }

    fn segment(src: u16, dst: u16, blocks: u16, src_lba: u64, dst_lba: u64) -> Vec<u8> {
        let mut d = std::vec![0u8; SEGMENT_LEN];
        d[0] = BLOCK_TO_BLOCK;
        d[2..4].copy_from_slice(&0x18u16.to_be_bytes());
        d[4..6].copy_from_slice(&src.to_be_bytes());
        d[6..8].copy_from_slice(&dst.to_be_bytes());
        d[10..12].copy_from_slice(&blocks.to_be_bytes());
        d[12..20].copy_from_slice(&src_lba.to_be_bytes());
        d[20..28].copy_from_slice(&dst_lba.to_be_bytes());
        d
    }

    fn list(cscds: &[Vec<u8>], segments: &[Vec<u8>]) -> Vec<u8> {
        let c: Vec<u8> = cscds.concat();
        let s: Vec<u8> = segments.concat();
        let mut l = std::vec![0u8; HEADER_LEN];
        l[0] = 7;
        l[1] = 0x18; // LIST ID USAGE 11b
        l[2..4].copy_from_slice(&(c.len() as u16).to_be_bytes());
        l[8..12].copy_from_slice(&(s.len() as u32).to_be_bytes());
        l.extend_from_slice(&c);
        l.extend_from_slice(&s);
        l
    }

    fn parse(l: &[u8]) -> Result<CopyList<'_>, Sense> {
        CopyList::parse(l, l.len() as u32)
    }

    #[test]
    fn two_units_two_segments() {
        let other = [0x62; 16];
        let l = list(
            &[cscd(&NAA), cscd(&other)],
            &[segment(0, 1, 8, 100, 200), segment(1, 0, 1, 5, 6)],
        );
        let c = parse(&l).unwrap();
        assert_eq!(c.list_id, 7);
        let cs: Vec<Cscd<'_>> = c.cscds().collect();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].designator, &NAA);
        assert_eq!((cs[0].code_set, cs[0].designator_type), (1, 3));
        assert_eq!(cs[0].block_len, 512);
        assert_eq!(cs[1].designator, &other);
        assert_eq!(c.cscd_offset(1), 16 + 32);
        assert_eq!(c.segment_offset(0), 16 + 64);
        assert_eq!(c.segment_offset(1), 16 + 64 + 28);
        let segs: Vec<Segment> = c.segments().collect();
        assert_eq!(
            segs,
            [
                Segment {
                    src: 0,
                    dst: 1,
                    blocks: 8,
                    src_lba: 100,
                    dst_lba: 200
                },
                Segment {
                    src: 1,
                    dst: 0,
                    blocks: 1,
                    src_lba: 5,
                    dst_lba: 6
                }
            ]
        );
        // Bytes beyond the declared lists are ignored; fewer are a length error.
        let mut longer = l.clone();
        longer.extend_from_slice(&[0xAA; 9]);
        assert!(parse(&longer).is_ok());
        assert_eq!(
            CopyList::parse(&l, l.len() as u32 - 1).err(),
            Some(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        assert_eq!(
            CopyList::parse(&l[..20], l.len() as u32).err(),
            Some(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        assert_eq!(
            parse(&l[..15]).err(),
            Some(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
    }

    #[test]
    fn refusals_point_at_their_field() {
        let good = || list(&[cscd(&NAA)], &[segment(0, 0, 1, 0, 1)]);
        let mut l = good();
        l[15] = 1; // inline data
        assert_eq!(parse(&l).err(), Some(field(12, None)));
        let mut l = good();
        l[3] = 31; // CSCD list not whole descriptors
        assert!(parse(&l).is_err());
        let mut l = good();
        l[16] = 0xE0; // another CSCD type
        assert_eq!(parse(&l).err(), Some(UNSUPPORTED_CSCD_TYPE));
        let mut l = good();
        l[17] = 0xA0; // NUL, LU ID TYPE 10b
        let c = parse(&l).unwrap();
        assert!(c.cscds().next().unwrap().nul);
        let mut l = good();
        l[17] = 0x01; // a sequential-access device
        assert_eq!(parse(&l).err(), Some(field(17, Some(4))));
        let mut l = good();
        l[21] = 0x13; // association: target port
        assert_eq!(parse(&l).err(), Some(field(21, Some(5))));
        let mut l = good();
        l[23] = 17; // designator too long
        assert_eq!(parse(&l).err(), Some(field(23, None)));
        let mut l = good();
        l[48] = 0x01; // segment type
        assert_eq!(parse(&l).err(), Some(UNSUPPORTED_SEGMENT_TYPE));
        let mut l = good();
        l[49] = 0x02; // DC
        assert_eq!(parse(&l).err(), Some(field(49, Some(1))));
        let mut l = good();
        l[51] = 0x14; // descriptor length
        assert_eq!(parse(&l).err(), Some(field(50, None)));
        let mut l = good();
        l[55] = 1; // destination CSCD 1 of 1
        assert_eq!(parse(&l).err(), Some(COPY_TARGET_NOT_REACHABLE));
        let mut l = good();
        l[59] = 0; // no blocks
        assert_eq!(parse(&l).unwrap().segments().next().unwrap().blocks, 0);
    }

    #[test]
    fn limits() {
        let many: Vec<Vec<u8>> = (0..=MAX_CSCD_DESCRIPTORS).map(|_| cscd(&NAA)).collect();
        let seg = [segment(0, 0, 1, 0, 1)];
        assert_eq!(
            parse(&list(&many, &seg)).err(),
            Some(TOO_MANY_CSCD_DESCRIPTORS)
        );
        assert!(parse(&list(&many[1..], &seg)).is_ok());
        let segs: Vec<Vec<u8>> = (0..=MAX_SEGMENT_DESCRIPTORS)
            .map(|_| segment(0, 0, 1, 0, 1))
            .collect();
        assert_eq!(
            parse(&list(&[cscd(&NAA)], &segs)).err(),
            Some(TOO_MANY_SEGMENT_DESCRIPTORS)
        );
        assert!(parse(&list(&[cscd(&NAA)], &segs[1..])).is_ok());
        // Lists longer together than the maximum: a length error before the counts.
        let long: Vec<Vec<u8>> = (0..20).map(|_| segment(0, 0, 1, 0, 1)).collect();
        assert_eq!(
            parse(&list(&many, &long)).err(),
            Some(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        // No segment at all: a valid list that copies nothing.
        assert_eq!(
            parse(&list(&[cscd(&NAA)], &[])).unwrap().segments().count(),
            0
        );
    }

    #[test]
    fn operating_parameters() {
        let mut out = [0xEEu8; 64];
        assert_eq!(encode_operating_parameters(64, &mut out), 46);
        assert_eq!(&out[..4], &42u32.to_be_bytes());
        assert_eq!(out[4], 1);
        assert_eq!(&out[8..12], &[0, 8, 0, 16]);
        assert_eq!(&out[16..20], &(256u32 << 20).to_be_bytes());
        assert_eq!(&out[43..46], &[2, 0x02, 0xE4]);
        assert_eq!(out[46], 0xEE);
        let mut short = [0xEEu8; 64];
        assert_eq!(encode_operating_parameters(10, &mut short), 10);
        assert_eq!(&short[..10], &out[..10]);
    }
}
