// SPDX-License-Identifier: GPL-2.0
//! Commands that read the medium back (SBC-4 5.3, 5.8, 5.29, 5.31): VERIFY with BYTCHK 1
//! or 3, WRITE AND VERIFY with BYTCHK 1, COMPARE AND WRITE and PRE-FETCH. The checks here
//! turn each into a [`ReadBack`] plan; the core reads the blocks, compares them with the
//! data-out buffer as the plan says, writes when it says, and reports a difference with
//! [`miscompare`].

use super::device::DeviceParams;
use super::emulate::{check_range, Action};
use super::sense::Sense;
use super::status;

/// The most blocks one COMPARE AND WRITE may cover: its NUMBER OF LOGICAL BLOCKS field is
/// one byte.
pub const MAX_COMPARE_AND_WRITE_BLOCKS: u32 = 255;

/// MAXIMUM COMPARE AND WRITE LENGTH (VPD B0h byte 5): [`MAX_COMPARE_AND_WRITE_BLOCKS`], or
/// fewer where the device's transfer limit cannot carry twice that many blocks.
pub fn max_compare_and_write_blocks(dev: &DeviceParams<'_>) -> u32 {
    match dev.max_transfer_bytes.checked_div(dev.block_size) {
        Some(limit) if limit > 0 => (limit / 2).min(MAX_COMPARE_AND_WRITE_BLOCKS),
        _ => MAX_COMPARE_AND_WRITE_BLOCKS,
    }
}

/// The most bytes a PRE-FETCH reads: a range that fits is reported with CONDITION MET, a
/// longer one is read only this far and reported with GOOD (SBC-4 5.8: "the cache does not
/// have sufficient capacity").
pub const PRE_FETCH_BYTES: u64 = 32 << 20;

/// What the blocks read are compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Nothing: the blocks are only read (PRE-FETCH).
    Nothing,
    /// The data-out buffer, byte for byte from its start (VERIFY BYTCHK 1, WRITE AND
    /// VERIFY BYTCHK 1, the first half of COMPARE AND WRITE's buffer).
    Buffer,
    /// The one block of the data-out buffer, against every block read (VERIFY BYTCHK 3).
    EveryBlock,
}

/// Whether, and when, the command writes the medium.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// It does not write.
    Nothing,
    /// The data-out buffer is written first, then read back and compared (WRITE AND
    /// VERIFY).
    Before {
        /// Force unit access for the write.
        fua: bool,
    },
    /// The second half of the data-out buffer is written after every block compared equal
    /// (COMPARE AND WRITE).
    After {
        /// Force unit access for the write.
        fua: bool,
    },
}

/// A checked read-back: range, length and write protection are valid, `blocks > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadBack {
    /// First logical block.
    pub lba: u64,
    /// Blocks to read (and to write, for [`Write::Before`] and [`Write::After`]).
    pub blocks: u32,
    /// What the blocks read are compared with.
    pub compare: Compare,
    /// Whether and when the medium is written.
    pub write: Write,
    /// No other write may reach the device between the read and the write (COMPARE AND
    /// WRITE's atomicity).
    pub atomic: bool,
    /// The status when every block compared equal: GOOD, or CONDITION MET for a PRE-FETCH
    /// whose range fit.
    pub status: u8,
}

fn plan(lba: u64, blocks: u32, compare: Compare, write: Write) -> ReadBack {
    ReadBack {
        lba,
        blocks,
        compare,
        write,
        atomic: false,
        status: status::GOOD,
    }
}

/// VERIFY(10/12/16): BYTCHK 0 has nothing to compare (the medium is always readable) and
/// completes with GOOD once the range is checked; 1 compares `blocks` blocks with the
/// buffer, 3 every block with the buffer's one block.
pub fn verify(dev: &DeviceParams<'_>, lba: u64, blocks: u32, bytchk: u8) -> Action {
    if let Err(s) = check_range(dev, lba, blocks) {
        return Action::Check(s);
    }
    let compare = match bytchk {
        _ if blocks == 0 => return Action::Good,
        1 => Compare::Buffer,
        3 => Compare::EveryBlock,
        _ => return Action::Good,
    };
    Action::ReadBack(plan(lba, blocks, compare, Write::Nothing))
}

/// What a command writing `blocks` at `lba` answers without touching the medium, if
/// anything: LBA OUT OF RANGE, GOOD for zero blocks, WRITE PROTECTED (in that order, as
/// WRITE checks them).
fn answered_before_writing(dev: &DeviceParams<'_>, lba: u64, blocks: u32) -> Option<Action> {
    match check_range(dev, lba, blocks) {
        Err(s) => Some(Action::Check(s)),
        Ok(()) if blocks == 0 => Some(Action::Good),
        Ok(()) if dev.read_only => Some(Action::Check(Sense::WRITE_PROTECTED)),
        Ok(()) => None,
    }
}

/// WRITE AND VERIFY(10/12/16): the blocks are written with FUA, so they are on the medium
/// before the command completes; with BYTCHK 1 they are then read back and compared.
pub fn write_and_verify(dev: &DeviceParams<'_>, lba: u64, blocks: u32, compare: bool) -> Action {
    if let Some(answer) = answered_before_writing(dev, lba, blocks) {
        return answer;
    }
    if !compare {
        return Action::Write {
            lba,
            blocks,
            fua: true,
        };
    }
    Action::ReadBack(plan(
        lba,
        blocks,
        Compare::Buffer,
        Write::Before { fua: true },
    ))
}

/// COMPARE AND WRITE: at most [`max_compare_and_write_blocks`] (INVALID FIELD IN CDB at
/// byte 13 beyond), in range, on a writable device; zero blocks is GOOD (SBC-4 5.3).
pub fn compare_and_write(dev: &DeviceParams<'_>, lba: u64, blocks: u32, fua: bool) -> Action {
    if blocks > max_compare_and_write_blocks(dev) {
        return Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(13, None));
    }
    if let Some(answer) = answered_before_writing(dev, lba, blocks) {
        return answer;
    }
    Action::ReadBack(ReadBack {
        atomic: true,
        ..plan(lba, blocks, Compare::Buffer, Write::After { fua })
    })
}

/// PRE-FETCH(10/16): zero blocks means through the last block. The blocks are read (into
/// the page cache of a file-backed device); CONDITION MET if all of them fit in
/// [`PRE_FETCH_BYTES`], else GOOD after reading the first ones. IMMED is not honoured: the
/// status comes after the read (SBC-4 asks for it once the CDB is checked).
pub fn pre_fetch(dev: &DeviceParams<'_>, lba: u64, blocks: u32) -> Action {
    if let Err(s) = check_range(dev, lba, blocks) {
        return Action::Check(s);
    }
    let wanted = if blocks == 0 {
        dev.num_blocks.saturating_sub(lba)
    } else {
        u64::from(blocks)
    };
    let room = PRE_FETCH_BYTES
        .checked_div(u64::from(dev.block_size))
        .unwrap_or(0);
    let (count, status) = if wanted <= room {
        (wanted, status::CONDITION_MET)
    } else {
        (room, status::GOOD)
    };
    match u32::try_from(count) {
        Ok(n) if n > 0 => Action::ReadBack(ReadBack {
            status,
            ..plan(lba, n, Compare::Nothing, Write::Nothing)
        }),
        _ => Action::Good,
    }
}

/// MISCOMPARE DURING VERIFY OPERATION with the offset of the first differing byte in the
/// data-out buffer (in the INFORMATION field).
pub const fn miscompare(offset: u64) -> Sense {
    Sense::MISCOMPARE_DURING_VERIFY.with_info(offset)
}

/// The offset of the first byte where `a` and `b` differ, comparing the shorter length.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let n = a.len().min(b.len());
    if a.get(..n) == b.get(..n) {
        // The common case, as one memcmp.
        return None;
    }
    a.iter().zip(b).position(|(x, y)| x != y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> DeviceParams<'static> {
        DeviceParams {
            block_size: 512,
            num_blocks: 1000,
            ..DeviceParams::EMPTY
        }
    }

    fn read_only() -> DeviceParams<'static> {
        DeviceParams {
            read_only: true,
            ..dev()
        }
    }

    fn rb(a: Action) -> ReadBack {
        match a {
            Action::ReadBack(r) => r,
            other => panic!("not a read-back: {other:?}"),
        }
    }

    #[test]
    fn verify_plans() {
        let d = dev();
        assert_eq!(verify(&d, 0, 8, 0), Action::Good);
        assert_eq!(verify(&d, 5, 0, 1), Action::Good);
        assert_eq!(
            verify(&d, 1000, 0, 1),
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            verify(&d, 999, 2, 1),
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        let r = rb(verify(&d, 10, 4, 1));
        assert_eq!((r.lba, r.blocks, r.compare), (10, 4, Compare::Buffer));
        assert_eq!((r.write, r.atomic, r.status), (Write::Nothing, false, 0));
        assert_eq!(rb(verify(&d, 10, 4, 3)).compare, Compare::EveryBlock);
        // Read-only devices verify.
        let ro = read_only();
        assert_eq!(rb(verify(&ro, 0, 1, 1)).blocks, 1);
    }

    #[test]
    fn write_and_verify_plans() {
        let d = dev();
        assert_eq!(
            write_and_verify(&d, 3, 2, false),
            Action::Write {
                lba: 3,
                blocks: 2,
                fua: true
            }
        );
        let r = rb(write_and_verify(&d, 3, 2, true));
        assert_eq!(r.write, Write::Before { fua: true });
        assert_eq!((r.compare, r.atomic), (Compare::Buffer, false));
    }

    #[test]
    fn writing_read_backs_check_range_and_protection() {
        let writers: [fn(&DeviceParams<'_>, u64, u32) -> Action; 2] = [
            |d, lba, blocks| write_and_verify(d, lba, blocks, true),
            |d, lba, blocks| compare_and_write(d, lba, blocks, false),
        ];
        for write in writers {
            assert_eq!(write(&dev(), 3, 0), Action::Good);
            assert_eq!(
                write(&dev(), 999, 2),
                Action::Check(Sense::LBA_OUT_OF_RANGE)
            );
            assert_eq!(
                write(&read_only(), 0, 1),
                Action::Check(Sense::WRITE_PROTECTED)
            );
        }
    }

    #[test]
    fn compare_and_write_plans() {
        let d = dev();
        let r = rb(compare_and_write(&d, 7, 3, true));
        assert_eq!((r.lba, r.blocks, r.atomic), (7, 3, true));
        assert_eq!(r.write, Write::After { fua: true });
        assert_eq!(rb(compare_and_write(&d, 0, 255, false)).blocks, 255);
        assert_eq!(
            compare_and_write(&d, 0, 256, false),
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(13, None))
        );
        let limited = DeviceParams {
            max_transfer_bytes: 4096,
            ..dev()
        };
        assert_eq!(max_compare_and_write_blocks(&limited), 4);
        assert_eq!(rb(compare_and_write(&limited, 0, 4, false)).blocks, 4);
        assert_eq!(
            compare_and_write(&limited, 0, 5, false),
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(13, None))
        );
    }

    #[test]
    fn pre_fetch_plans() {
        let d = dev();
        let r = rb(pre_fetch(&d, 10, 8));
        assert_eq!((r.lba, r.blocks, r.status), (10, 8, status::CONDITION_MET));
        assert_eq!((r.compare, r.write), (Compare::Nothing, Write::Nothing));
        // Zero: through the last block.
        assert_eq!(rb(pre_fetch(&d, 990, 0)).blocks, 10);
        assert_eq!(
            pre_fetch(&d, 1000, 0),
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        // Larger than the cache: the first 32 MiB, GOOD.
        let big = DeviceParams {
            num_blocks: 1 << 20,
            ..dev()
        };
        let r = rb(pre_fetch(&big, 0, 0));
        assert_eq!((r.blocks, r.status), (65536, status::GOOD));
        assert_eq!(rb(pre_fetch(&big, 0, 65536)).status, status::CONDITION_MET);
    }

    #[test]
    fn miscompare_sense() {
        let s = miscompare(100);
        assert_eq!(s.code(), (0x0E, 0x1D, 0x00));
        let mut b = [0u8; 18];
        s.write_fixed(&mut b);
        assert_eq!(&b[..7], &[0xF0, 0, 0x0E, 0, 0, 0, 100]);
        assert_eq!(first_difference(b"abcd", b"abxd"), Some(2));
        assert_eq!(first_difference(b"abcd", b"abc"), None);
        assert_eq!(first_difference(b"", b""), None);
    }
}
