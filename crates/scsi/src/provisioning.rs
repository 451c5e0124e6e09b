// SPDX-License-Identifier: GPL-2.0
//! Logical block provisioning (SBC-4 4.7): the limits a thin-provisioned device reports,
//! the UNMAP parameter list, WRITE SAME's checks, GET LBA STATUS data and the logical
//! block provisioning VPD page (B2h).
//!
//! A device is thin-provisioned when its handler can deallocate blocks; deallocated blocks
//! read as zeros (LBPRZ). Anchored blocks (ANC_SUP) are not supported.

use super::device::DeviceParams;
use super::sense::Sense;
use super::wr::{get_be16, get_be32, get_be64, Wr};

/// MAXIMUM UNMAP LBA COUNT: blocks one UNMAP may deallocate in all its descriptors.
pub const MAX_UNMAP_BLOCKS: u32 = 1 << 22;
/// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT.
pub const MAX_UNMAP_DESCRIPTORS: u32 = 64;
/// MAXIMUM WRITE SAME LENGTH in blocks (WSNZ is set: a length of 0 is refused, as LIO
/// refuses it).
pub const MAX_WRITE_SAME_BLOCKS: u32 = 1 << 16;
/// The most descriptors one GET LBA STATUS answer carries.
pub const MAX_LBA_STATUS_DESCRIPTORS: u32 = 64;
/// Bytes of one UNMAP block descriptor and of one LBA status descriptor.
const DESCRIPTOR_LEN: usize = 16;
/// Bytes before the first descriptor of an UNMAP parameter list or GET LBA STATUS data.
const HEADER_LEN: usize = 8;

/// PROVISIONING STATUS of an LBA status descriptor: mapped.
pub const MAPPED: u8 = 0;
/// PROVISIONING STATUS of an LBA status descriptor: deallocated.
pub const DEALLOCATED: u8 = 1;

/// OPTIMAL UNMAP GRANULARITY in blocks: a 4 KiB page (the unit file systems and the page
/// cache deallocate), at least one block.
pub fn unmap_granularity(block_size: u32) -> u32 {
    4096u32.checked_div(block_size).unwrap_or(1).max(1)
}

/// Whether `blocks` from `lba` lie on `dev` (an end past `u64::MAX` does not).
fn within(dev: &DeviceParams<'_>, lba: u64, blocks: u32) -> bool {
    lba.checked_add(u64::from(blocks))
        .is_some_and(|end| end <= dev.num_blocks)
}

/// An UNMAP parameter list whose every descriptor was checked against the device: yields
/// `(lba, blocks)` for the descriptors that deallocate anything.
#[derive(Clone, Copy, Debug)]
pub struct UnmapList<'a> {
    descriptors: &'a [u8],
}

impl<'a> UnmapList<'a> {
    /// Checks UNMAP's parameter list `list` (the bytes received, `param_len` as the CDB
    /// said) for `dev` (SBC-4 5.32): a list shorter than its header is a PARAMETER LIST
    /// LENGTH ERROR; the descriptors are those the BLOCK DESCRIPTOR DATA LENGTH and the
    /// list both hold (an incomplete last one is ignored); more than
    /// [`MAX_UNMAP_DESCRIPTORS`] of them, or more than [`MAX_UNMAP_BLOCKS`] blocks in all,
    /// are an INVALID FIELD IN PARAMETER LIST; a range beyond the last block is LBA OUT OF
    /// RANGE. Nothing is deallocated unless every descriptor is valid.
    pub fn parse(list: &'a [u8], param_len: u16, dev: &DeviceParams<'_>) -> Result<Self, Sense> {
        let len = usize::from(param_len).min(list.len());
        if param_len == 0 {
            return Ok(UnmapList { descriptors: &[] });
        }
        if usize::from(param_len) < HEADER_LEN || list.len() < usize::from(param_len) {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        let declared = usize::from(get_be16(list, 2));
        let body = list.get(HEADER_LEN..len).unwrap_or(&[]);
        let usable = declared.min(body.len());
        let count = usable.checked_div(DESCRIPTOR_LEN).unwrap_or(0);
        if count > MAX_UNMAP_DESCRIPTORS as usize {
            return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(2, None));
        }
        let descriptors = body
            .get(..count.saturating_mul(DESCRIPTOR_LEN))
            .unwrap_or(&[]);
        let mut total: u64 = 0;
        for (i, d) in descriptors.chunks_exact(DESCRIPTOR_LEN).enumerate() {
            let (lba, blocks) = (get_be64(d, 0), get_be32(d, 8));
            total = total.saturating_add(u64::from(blocks));
            if total > u64::from(MAX_UNMAP_BLOCKS) {
                let at = HEADER_LEN
                    .saturating_add(i.saturating_mul(DESCRIPTOR_LEN))
                    .saturating_add(8);
                return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(at, None));
            }
            if !within(dev, lba, blocks) {
                return Err(Sense::LBA_OUT_OF_RANGE);
            }
        }
        Ok(UnmapList { descriptors })
    }

    /// The ranges to deallocate, in list order; descriptors of zero blocks are skipped.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u32)> + 'a {
        self.descriptors
            .chunks_exact(DESCRIPTOR_LEN)
            .map(|d| (get_be64(d, 0), get_be32(d, 8)))
            .filter(|&(_, blocks)| blocks != 0)
    }

    /// The `index`th range of [`UnmapList::ranges`].
    pub fn range(&self, index: usize) -> Option<(u64, u32)> {
        self.ranges().nth(index)
    }
}

/// What a valid WRITE SAME does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteSame {
    /// Deallocate the blocks (UNMAP set on a thin-provisioned device, with no data or
    /// with the data deallocated blocks read as: zeros).
    Deallocate,
    /// Write the block received (or zeros, with NDOB) to every block of the range.
    Write,
}

/// Checks WRITE SAME (SBC-4 5.50/5.51) of `blocks` at `lba` on `dev`; `length_byte` is
/// where the CDB's NUMBER OF LOGICAL BLOCKS starts. UNMAP on a device that cannot
/// deallocate, a length of zero (WSNZ) or beyond [`MAX_WRITE_SAME_BLOCKS`] are INVALID
/// FIELD IN CDB; a range beyond the last block is LBA OUT OF RANGE; a read-only device
/// answers WRITE PROTECTED.
pub fn check_write_same(
    dev: &DeviceParams<'_>,
    lba: u64,
    blocks: u32,
    unmap: bool,
    length_byte: u16,
) -> Result<(), Sense> {
    if unmap && !dev.thin_provisioned {
        return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(3)));
    }
    if blocks == 0 || blocks > MAX_WRITE_SAME_BLOCKS {
        return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(length_byte, None));
    }
    if !within(dev, lba, blocks) {
        return Err(Sense::LBA_OUT_OF_RANGE);
    }
    if dev.read_only {
        return Err(Sense::WRITE_PROTECTED);
    }
    Ok(())
}

/// How a valid WRITE SAME is carried out, from the data-out buffer's `received` bytes (at
/// most one block of `block_size` is looked at; nothing with NDOB): with UNMAP set,
/// deallocation when no data came (NDOB) or the block sent is all zeros (what deallocated
/// blocks read as), else a write of the block. Fewer bytes than one block without NDOB:
/// PARAMETER LIST LENGTH ERROR.
pub fn write_same_plan(
    unmap: bool,
    ndob: bool,
    received: &[u8],
    block_size: usize,
) -> Result<WriteSame, Sense> {
    let block = if ndob {
        &[][..]
    } else {
        received
            .get(..block_size)
            .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?
    };
    Ok(if unmap && block.iter().all(|&b| b == 0) {
        WriteSame::Deallocate
    } else {
        WriteSame::Write
    })
}

/// How many status descriptors a GET LBA STATUS with `alloc_len` should gather: as many
/// as fit (at least one), at most [`MAX_LBA_STATUS_DESCRIPTORS`].
pub fn lba_status_descriptors(alloc_len: u32) -> u32 {
    let room = (alloc_len as usize).saturating_sub(HEADER_LEN) / DESCRIPTOR_LEN;
    u32::try_from(room)
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_LBA_STATUS_DESCRIPTORS)
}

/// Encodes GET LBA STATUS parameter data (SBC-4 5.21.2) for `descriptors` (`(lba, blocks,
/// provisioning status)`), truncated to `alloc_len` and `out`; returns the bytes written.
pub fn encode_lba_status(
    descriptors: impl Iterator<Item = (u64, u32, u8)> + Clone,
    alloc_len: u32,
    out: &mut [u8],
) -> usize {
    let count = descriptors.clone().count();
    let data_len = count.saturating_mul(DESCRIPTOR_LEN).saturating_add(4);
    let mut w = Wr::new(out, usize::try_from(alloc_len).unwrap_or(usize::MAX));
    w.be32(u32::try_from(data_len).unwrap_or(u32::MAX)); // PARAMETER DATA LENGTH
    w.be32(0); // reserved
    for (lba, blocks, status) in descriptors {
        w.be64(lba);
        w.be32(blocks);
        w.u8(status & 0x0F);
        w.zeros(3);
    }
    w.finish()
}

/// The one descriptor of a device that deallocates nothing: every block from `lba` on is
/// mapped (as many as one descriptor can say).
pub fn all_mapped_from(dev: &DeviceParams<'_>, lba: u64) -> (u64, u32, u8) {
    let left = dev.num_blocks.saturating_sub(lba);
    (lba, u32::try_from(left).unwrap_or(u32::MAX), MAPPED)
}

/// Writes the body of the logical block provisioning VPD page (B2h, SBC-4 6.6.6) after
/// its 4-byte header.
pub(super) fn write_lbp_vpd(w: &mut Wr<'_>, dev: &DeviceParams<'_>) {
    let thin = dev.thin_provisioned;
    w.u8(0); // THRESHOLD EXPONENT: no thresholds
             // LBPU, LBPWS, LBPWS10, LBPRZ 001b (deallocated blocks read as zeros, as READ
             // CAPACITY(16)'s LBPRZ says), ANC_SUP 0, DP 0.
    w.u8(if thin { 0x80 | 0x40 | 0x20 | 0x04 } else { 0 });
    w.u8(if thin { 0x02 } else { 0 }); // MINIMUM PERCENTAGE 0, PROVISIONING TYPE: thin
    w.u8(0); // THRESHOLD PERCENTAGE
}

/// The bits of READ CAPACITY(16) byte 14: LBPME and LBPRZ for a thin-provisioned device.
pub fn read_capacity_lbp_bits(dev: &DeviceParams<'_>) -> u8 {
    if dev.thin_provisioned {
        0x80 | 0x40
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn thin() -> DeviceParams<'static> {
        DeviceParams {
            num_blocks: 1000,
            thin_provisioned: true,
            ..DeviceParams::EMPTY
        }
    }

    fn list(descs: &[(u64, u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        let bd = (descs.len() * 16) as u16;
        v.extend_from_slice(&(bd + 6).to_be_bytes());
        v.extend_from_slice(&bd.to_be_bytes());
        v.extend_from_slice(&[0; 4]);
        for &(lba, n) in descs {
            v.extend_from_slice(&lba.to_be_bytes());
            v.extend_from_slice(&n.to_be_bytes());
            v.extend_from_slice(&[0; 4]);
        }
        v
    }

    fn parse(l: &[u8]) -> Result<Vec<(u64, u32)>, Sense> {
        UnmapList::parse(l, l.len() as u16, &thin()).map(|u| u.ranges().collect())
    }

    #[test]
    fn unmap_lists() {
        assert_eq!(
            parse(&list(&[(0, 8), (100, 0), (992, 8)])),
            Ok(std::vec![(0, 8), (992, 8)])
        );
        assert_eq!(parse(&[]), Ok(std::vec![]));
        assert_eq!(parse(&list(&[])), Ok(std::vec![]));
        // A list shorter than its header, or than the CDB said.
        assert_eq!(parse(&[0, 6, 0]), Err(Sense::PARAMETER_LIST_LENGTH_ERROR));
        let l = list(&[(0, 1)]);
        assert_eq!(
            UnmapList::parse(&l[..20], 24, &thin()).map(|_| ()),
            Err(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        // An incomplete last descriptor is ignored; so is what BLOCK DESCRIPTOR DATA
        // LENGTH does not cover.
        let mut l = list(&[(0, 1), (5, 1)]);
        l[3] = 31;
        assert_eq!(parse(&l), Ok(std::vec![(0, 1)]));
        let l = list(&[(0, 1), (5, 1)]);
        assert_eq!(parse(&l[..30]), Ok(std::vec![(0, 1)]));
        // Beyond the end of the medium.
        assert_eq!(
            parse(&list(&[(0, 1), (993, 8)])),
            Err(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(parse(&list(&[(u64::MAX, 2)])), Err(Sense::LBA_OUT_OF_RANGE));
        // An end past u64::MAX on a device of u64::MAX blocks (found by the fuzzer for
        // WRITE SAME).
        let huge = DeviceParams {
            num_blocks: u64::MAX,
            ..thin()
        };
        let l = list(&[(u64::MAX, 1)]);
        assert_eq!(
            UnmapList::parse(&l, l.len() as u16, &huge).map(|_| ()),
            Err(Sense::LBA_OUT_OF_RANGE)
        );
        // Too many descriptors, too many blocks.
        let many: Vec<(u64, u32)> = (0..65).map(|i| (i, 1)).collect();
        assert_eq!(
            parse(&list(&many)),
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(2, None))
        );
        let big = DeviceParams {
            num_blocks: u64::MAX,
            ..thin()
        };
        let l = list(&[(0, MAX_UNMAP_BLOCKS), (0, 1)]);
        assert_eq!(
            UnmapList::parse(&l, l.len() as u16, &big).map(|_| ()),
            Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(8 + 16 + 8, None))
        );
        let l = list(&[(1, 0), (2, 3), (9, 1)]);
        let u = UnmapList::parse(&l, 56, &thin()).unwrap();
        assert_eq!(u.range(0), Some((2, 3)));
        assert_eq!(u.range(1), Some((9, 1)));
        assert_eq!(u.range(2), None);
    }

    #[test]
    fn write_same_checks() {
        let t = thin();
        assert_eq!(check_write_same(&t, 0, 8, true, 10), Ok(()));
        let full = DeviceParams {
            thin_provisioned: false,
            ..t
        };
        assert_eq!(
            check_write_same(&full, 0, 8, true, 10),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(3)))
        );
        assert_eq!(check_write_same(&full, 0, 8, false, 10), Ok(()));
        assert_eq!(
            check_write_same(&t, 0, 0, false, 7),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(7, None))
        );
        let big = DeviceParams {
            num_blocks: u64::MAX,
            ..t
        };
        assert_eq!(
            check_write_same(&big, 0, MAX_WRITE_SAME_BLOCKS, false, 10),
            Ok(())
        );
        assert_eq!(
            check_write_same(&big, 0, MAX_WRITE_SAME_BLOCKS + 1, false, 10),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(10, None))
        );
        assert_eq!(
            check_write_same(&t, 999, 2, false, 10),
            Err(Sense::LBA_OUT_OF_RANGE)
        );
        let huge = DeviceParams {
            num_blocks: u64::MAX,
            ..t
        };
        assert_eq!(
            check_write_same(&huge, u64::MAX, 2, false, 10),
            Err(Sense::LBA_OUT_OF_RANGE)
        );
        let ro = DeviceParams {
            read_only: true,
            ..t
        };
        assert_eq!(
            check_write_same(&ro, 0, 1, false, 10),
            Err(Sense::WRITE_PROTECTED)
        );
        assert_eq!(
            write_same_plan(true, true, &[], 512),
            Ok(WriteSame::Deallocate)
        );
        assert_eq!(
            write_same_plan(true, true, &[7; 9], 512),
            Ok(WriteSame::Deallocate)
        );
        assert_eq!(
            write_same_plan(true, false, &[0; 512], 512),
            Ok(WriteSame::Deallocate)
        );
        assert_eq!(
            write_same_plan(true, false, &[1; 512], 512),
            Ok(WriteSame::Write)
        );
        assert_eq!(
            write_same_plan(false, false, &[0; 512], 512),
            Ok(WriteSame::Write)
        );
        assert_eq!(write_same_plan(false, true, &[], 512), Ok(WriteSame::Write));
        // Only the first block counts; fewer bytes than one block are refused.
        let mut zeros_then_ones = [0u8; 1024];
        zeros_then_ones[512..].fill(1);
        assert_eq!(
            write_same_plan(true, false, &zeros_then_ones, 512),
            Ok(WriteSame::Deallocate)
        );
        assert_eq!(
            write_same_plan(true, false, &[0; 511], 512),
            Err(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
    }

    #[test]
    fn lba_status_data() {
        let d = [(0u64, 8u32, MAPPED), (8, 992, DEALLOCATED)];
        let mut out = [0xEEu8; 64];
        let n = encode_lba_status(d.iter().copied(), 64, &mut out);
        assert_eq!(n, 40);
        assert_eq!(&out[..8], &[0, 0, 0, 36, 0, 0, 0, 0]);
        assert_eq!(
            &out[8..24],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0]
        );
        assert_eq!(
            &out[24..40],
            &[0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 3, 0xE0, 1, 0, 0, 0]
        );
        assert_eq!(encode_lba_status(d.iter().copied(), 20, &mut out), 20);
        assert_eq!(lba_status_descriptors(0), 1);
        assert_eq!(lba_status_descriptors(24), 1);
        assert_eq!(lba_status_descriptors(40), 2);
        assert_eq!(lba_status_descriptors(u32::MAX), MAX_LBA_STATUS_DESCRIPTORS);
        let big = DeviceParams {
            num_blocks: 1 << 40,
            ..thin()
        };
        assert_eq!(all_mapped_from(&big, 0), (0, u32::MAX, MAPPED));
        assert_eq!(all_mapped_from(&thin(), 10), (10, 990, MAPPED));
        assert_eq!(unmap_granularity(512), 8);
        assert_eq!(unmap_granularity(4096), 1);
    }
}
