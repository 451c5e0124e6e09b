// SPDX-License-Identifier: GPL-2.0
//! Disk emulation (SBC-3, peripheral device type 0): turns a decoded [`Cdb`] into the
//! response data or the I/O the core must perform.

use super::cdb::opcode::WRITE_SAME_10;
use super::cdb::{Cdb, Op};
use super::device::DeviceParams;
use super::inquiry::{encode_standard_inquiry, encode_vpd};
use super::mode::{encode_mode_sense, ModeSenseReq};
use super::provisioning;
use super::readback;
use super::rsoc::encode_report_supported_opcodes;
use super::sense::Sense;
use super::wr::Wr;

/// What the core must do with a decoded command after emulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Response data written to `out[..len]` (already truncated to the allocation length
    /// and to `out`); complete with GOOD.
    DataIn {
        /// Number of valid bytes at the start of `out`.
        len: usize,
    },
    /// Complete with GOOD, no data.
    Good,
    /// Range-checked block read for the backend (`lba + blocks <= num_blocks`,
    /// `blocks > 0`).
    Read {
        /// First logical block.
        lba: u64,
        /// Number of blocks.
        blocks: u32,
        /// Force unit access.
        fua: bool,
    },
    /// Range-checked write (`lba + blocks <= num_blocks`, `blocks > 0`, device writable).
    Write {
        /// First logical block.
        lba: u64,
        /// Number of blocks.
        blocks: u32,
        /// Force unit access.
        fua: bool,
    },
    /// Flush to stable storage (range checked; `blocks == 0` means to the end).
    Flush {
        /// First logical block.
        lba: u64,
        /// Number of blocks, 0 meaning through the last block.
        blocks: u32,
        /// Complete before the flush finishes.
        immed: bool,
    },
    /// WRITE SAME, checked (range, length, device writable, UNMAP only on a thin-provisioned
    /// device): the core writes the block received (zeros with `ndob`) to every block, or
    /// deallocates them (see [`super::provisioning::write_same_plan`]).
    WriteSame {
        /// First logical block.
        lba: u64,
        /// Number of blocks (at least one).
        blocks: u32,
        /// UNMAP bit.
        unmap: bool,
        /// NDOB bit: no data-out buffer.
        ndob: bool,
    },
    /// UNMAP on a thin-provisioned, writable device: the core checks the parameter list
    /// ([`super::provisioning::UnmapList`]) and deallocates its ranges.
    Unmap {
        /// Parameter list length from the CDB.
        param_len: u16,
    },
    /// GET LBA STATUS on a thin-provisioned device, `lba` in range: the core asks the
    /// handler and encodes the answer ([`super::provisioning::encode_lba_status`]).
    LbaStatus {
        /// Starting logical block.
        lba: u64,
        /// Allocation length.
        alloc_len: u32,
    },
    /// Read the medium back: VERIFY with BYTCHK, WRITE AND VERIFY with BYTCHK 1,
    /// COMPARE AND WRITE, PRE-FETCH (see [`super::readback`]).
    ReadBack(super::readback::ReadBack),
    /// EXTENDED COPY with a parameter list: the core checks it
    /// ([`super::xcopy::CopyList`]), resolves its CSCD descriptors to the logical units the
    /// I_T nexus reaches and has their handlers copy.
    Copy {
        /// Parameter list length from the CDB (at least one).
        param_len: u32,
    },
    /// The core must produce the answer itself (it owns the state): REPORT LUNS,
    /// REQUEST SENSE, MODE SELECT parameter data (see [`super::mode::parse_mode_select`]).
    Core,
    /// CHECK CONDITION with this sense.
    Check(Sense),
}

/// Length of READ CAPACITY(10) parameter data.
pub const READ_CAPACITY_10_LEN: usize = 8;
/// Length of READ CAPACITY(16) parameter data.
pub const READ_CAPACITY_16_LEN: usize = 32;

/// Checks that blocks `lba .. lba + blocks` exist. The LBA itself must be below the
/// capacity even for a zero-length request (its LOGICAL BLOCK ADDRESS field would exceed
/// the capacity).
pub fn check_range(dev: &DeviceParams<'_>, lba: u64, blocks: u32) -> Result<(), Sense> {
    if lba >= dev.num_blocks {
        return Err(Sense::LBA_OUT_OF_RANGE);
    }
    if u64::from(blocks) > dev.num_blocks.saturating_sub(lba) {
        return Err(Sense::LBA_OUT_OF_RANGE);
    }
    Ok(())
}

fn data(r: Result<usize, Sense>) -> Action {
    match r {
        Ok(len) => Action::DataIn { len },
        Err(s) => Action::Check(s),
    }
}

/// The longest response [`emulate_disk`] writes (REPORT SUPPORTED OPERATION CODES of every
/// command with timeouts is the longest; everything else fits 512 bytes): an `out` of this
/// size truncates responses only at the initiator's allocation length.
pub const MAX_RESPONSE_LEN: usize = if super::rsoc::MAX_LEN > 512 {
    super::rsoc::MAX_LEN
} else {
    512
};

/// Emulates `cdb` for a disk (SBC-3, peripheral device type 0). `out` is a scratch buffer
/// (the core provides [`MAX_RESPONSE_LEN`] bytes); responses longer than `out.len()` are
/// truncated.
/// Never panics.
///
/// Ordering of checks for I/O: range (LBA OUT OF RANGE), then zero length (GOOD), then
/// write protection (WRITE PROTECTED). MODE SELECT with SP=1 fails with INVALID FIELD IN
/// CDB (no saveable pages); with a zero parameter list length it is GOOD; otherwise the core
/// receives the parameter list and handles it. A zero-capacity device reports last LBA 0
/// in READ CAPACITY (SCSI cannot express an empty medium) and refuses all I/O.
pub fn emulate_disk(cdb: &Cdb, dev: &DeviceParams<'_>, out: &mut [u8]) -> Action {
    match cdb.op {
        Op::TestUnitReady | Op::StartStopUnit { .. } | Op::PreventAllowMediumRemoval { .. } => {
            Action::Good
        }
        Op::Inquiry {
            evpd,
            page,
            alloc_len,
        } => {
            if evpd {
                data(encode_vpd(page, dev, alloc_len, out))
            } else {
                Action::DataIn {
                    len: encode_standard_inquiry(dev, alloc_len, out),
                }
            }
        }
        Op::RequestSense { .. }
        | Op::ReportLuns { .. }
        | Op::PersistentReserveIn { .. }
        | Op::PersistentReserveOut { .. }
        | Op::Reserve
        | Op::Release
        | Op::ReportTargetPortGroups { .. } => Action::Core,
        // SPC-4 6.44: a logical unit without explicit ALUA does not support it.
        Op::SetTargetPortGroups { .. } if dev.tpgs & super::device::TPGS_EXPLICIT == 0 => {
            Action::Check(Sense::INVALID_OPCODE)
        }
        Op::SetTargetPortGroups { param_len: 0 } => Action::Good,
        Op::SetTargetPortGroups { .. } => Action::Core,
        Op::ModeSelect { sp, param_len, .. } => {
            if sp && dev.saved_modes.is_none() {
                // SPC-4 6.11: saved values not implemented.
                Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(0)))
            } else if param_len == 0 && !sp {
                Action::Good
            } else {
                Action::Core
            }
        }
        Op::ReadCapacity10 {} => {
            let last = u32::try_from(dev.last_lba()).unwrap_or(u32::MAX);
            let mut w = Wr::new(out, READ_CAPACITY_10_LEN);
            w.be32(last);
            w.be32(dev.block_size);
            Action::DataIn { len: w.finish() }
        }
        Op::ReadCapacity16 { alloc_len } => {
            let limit = usize::try_from(alloc_len).unwrap_or(usize::MAX);
            let mut w = Wr::new(out, limit.min(READ_CAPACITY_16_LEN));
            w.be64(dev.last_lba());
            w.be32(dev.block_size);
            w.u8(0); // P_TYPE, PROT_EN
            w.u8(0); // P_I_EXPONENT, LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
            w.u8(provisioning::read_capacity_lbp_bits(dev)); // LBPME, LBPRZ
            w.u8(0); // LOWEST ALIGNED LBA
            w.zeros(16);
            Action::DataIn { len: w.finish() }
        }
        Op::ModeSense {
            page,
            subpage,
            pc,
            dbd,
            llbaa,
            alloc_len,
            ten,
        } => {
            let req = ModeSenseReq {
                page,
                subpage,
                pc,
                dbd,
                llbaa,
                alloc_len,
                ten,
            };
            data(encode_mode_sense(&req, dev, out))
        }
        Op::Read { lba, blocks, fua } => match check_range(dev, lba, blocks) {
            Err(s) => Action::Check(s),
            Ok(()) if blocks == 0 => Action::Good,
            Ok(()) => Action::Read { lba, blocks, fua },
        },
        Op::Write { lba, blocks, fua } => match check_range(dev, lba, blocks) {
            Err(s) => Action::Check(s),
            Ok(()) if blocks == 0 => Action::Good,
            Ok(()) if dev.read_only => Action::Check(Sense::WRITE_PROTECTED),
            Ok(()) => Action::Write { lba, blocks, fua },
        },
        Op::SyncCache { lba, blocks, immed } => {
            // LBA 0 with NUMBER OF BLOCKS 0 (flush everything) is always valid.
            if lba == 0 && blocks == 0 {
                return Action::Flush { lba, blocks, immed };
            }
            match check_range(dev, lba, blocks) {
                Err(s) => Action::Check(s),
                Ok(()) => Action::Flush { lba, blocks, immed },
            }
        }
        Op::Verify {
            lba,
            blocks,
            bytchk,
        } => readback::verify(dev, lba, blocks, bytchk),
        Op::WriteAndVerify {
            lba,
            blocks,
            compare,
        } => readback::write_and_verify(dev, lba, blocks, compare),
        Op::CompareAndWrite { lba, blocks, fua } => {
            readback::compare_and_write(dev, lba, blocks, fua)
        }
        Op::PreFetch { lba, blocks, .. } => readback::pre_fetch(dev, lba, blocks),
        Op::ReportSupportedOpcodes {
            rctd,
            options,
            req_opcode,
            req_sa,
            alloc_len,
        } => data(encode_report_supported_opcodes(
            super::rsoc::Offered::by(dev),
            rctd,
            options,
            req_opcode,
            req_sa,
            alloc_len,
            out,
        )),
        Op::WriteSame {
            lba,
            blocks,
            unmap,
            ndob,
        } => {
            let length_byte = if cdb.opcode == WRITE_SAME_10 { 7 } else { 10 };
            match provisioning::check_write_same(dev, lba, blocks, unmap, length_byte) {
                Err(s) => Action::Check(s),
                Ok(()) => Action::WriteSame {
                    lba,
                    blocks,
                    unmap,
                    ndob,
                },
            }
        }
        Op::Unmap { param_len } => {
            if !dev.thin_provisioned {
                Action::Check(Sense::INVALID_OPCODE)
            } else if dev.read_only {
                Action::Check(Sense::WRITE_PROTECTED)
            } else if param_len == 0 {
                Action::Good
            } else {
                Action::Unmap { param_len }
            }
        }
        Op::GetLbaStatus { lba, alloc_len } => {
            if lba >= dev.num_blocks {
                Action::Check(Sense::LBA_OUT_OF_RANGE)
            } else if dev.thin_provisioned {
                Action::LbaStatus { lba, alloc_len }
            } else {
                let d = provisioning::all_mapped_from(dev, lba);
                Action::DataIn {
                    len: provisioning::encode_lba_status(core::iter::once(d), alloc_len, out),
                }
            }
        }
        // SPC-4 6.4.1: a zero-length parameter list copies nothing, and is no error.
        Op::ExtendedCopy { param_len: 0 } => Action::Good,
        Op::ExtendedCopy { param_len } => Action::Copy { param_len },
        Op::ReceiveCopyResults { alloc_len } => Action::DataIn {
            len: super::xcopy::encode_operating_parameters(alloc_len, out),
        },
        Op::ReportSupportedTmfs { repd, alloc_len } => Action::DataIn {
            len: super::rstmf::encode_report_supported_tmfs(repd, alloc_len, out),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::cdb::opcode::*;
    use super::*;
    use std::vec::Vec;

    fn dev() -> DeviceParams<'static> {
        DeviceParams {
            block_size: 512,
            num_blocks: 1000,
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
            product: b"Virtual Disk",
            revision: b"0001",
            serial: b"beef",
            naa_id: 0x1234,
            t10_vendor_designator: b"d0",
            relative_port: 1,
            target_port_group: 0,
            tpgs: 0,
            port_state: super::super::alua::AccessState::ActiveOptimized,
            target_port_name: b"",
            max_transfer_bytes: 0,
        }
    }

    /// Every data-in answer at the largest allocation length, into a buffer far larger than
    /// MAX_RESPONSE_LEN: none may be longer (the core's buffer would cut it with GOOD).
    #[test]
    fn every_response_fits_max_response_len() {
        let d = DeviceParams {
            product: b"a-product-name-longer-than-sixteen-bytes",
            serial: b"0123456789abcdef0123456789abcdef",
            t10_vendor_designator: b"a-long-t10-vendor-designator-for-the-device-id-page",
            target_port_name: b"iqn.2026-11.org.example:a-long-target-port-name-for-vpd-83",
            thin_provisioned: true,
            tpgs: super::super::device::TPGS_IMPLICIT | super::super::device::TPGS_EXPLICIT,
            target_port_group: 9,
            ..dev()
        };
        let mut cdbs: Vec<Vec<u8>> = Vec::new();
        cdbs.push(std::vec![INQUIRY, 0, 0, 0xFF, 0xFF, 0]);
        for page in 0..=255u8 {
            cdbs.push(std::vec![INQUIRY, 1, page, 0xFF, 0xFF, 0]);
        }
        for sub in [0u8, 0xFF] {
            cdbs.push(std::vec![MODE_SENSE_6, 0, 0x3F, sub, 0xFF, 0]);
            cdbs.push(std::vec![
                MODE_SENSE_10,
                0x10,
                0x3F,
                sub,
                0,
                0,
                0,
                0xFF,
                0xFF,
                0
            ]);
        }
        for b2 in [0x00u8, 0x80] {
            cdbs.push(std::vec![
                MAINTENANCE_IN,
                0x0C,
                b2,
                0,
                0,
                0,
                0xFF,
                0xFF,
                0xFF,
                0xFF,
                0,
                0
            ]);
        }
        let mut longest = 0;
        for cdb in &cdbs {
            let Ok(c) = Cdb::decode(cdb) else { continue };
            let mut out = std::vec![0u8; 8 * MAX_RESPONSE_LEN];
            if let Action::DataIn { len } = emulate_disk(&c, &d, &mut out) {
                assert!(len <= MAX_RESPONSE_LEN, "{:02x?}: {} bytes", cdb, len);
                longest = longest.max(len);
            }
        }
        // RSOC of every command with timeouts is the longest, and exactly MAX_LEN.
        assert_eq!(longest, super::super::rsoc::MAX_LEN);
        let c = Cdb::decode(&[
            MAINTENANCE_IN,
            0x0C,
            0x80,
            0,
            0,
            0,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0,
            0,
        ])
        .expect("rsoc");
        let mut out = std::vec![0u8; 8 * MAX_RESPONSE_LEN];
        assert_eq!(
            emulate_disk(&c, &d, &mut out),
            Action::DataIn {
                len: super::super::rsoc::MAX_LEN
            }
        );
    }

    fn emu(cdb: &[u8], d: &DeviceParams<'_>) -> (Action, Vec<u8>) {
        let c = Cdb::decode(cdb).expect("decode");
        let mut out = [0xEEu8; 512];
        let a = emulate_disk(&c, d, &mut out);
        let v = match a {
            Action::DataIn { len } => out[..len].to_vec(),
            _ => Vec::new(),
        };
        (a, v)
    }

    fn cdb16(op: u8, b1: u8, lba: u64, n: u32) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = op;
        b[1] = b1;
        b[2..10].copy_from_slice(&lba.to_be_bytes());
        b[10..14].copy_from_slice(&n.to_be_bytes());
        b
    }

    fn cdb10(op: u8, b1: u8, lba: u32, n: u16) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[0] = op;
        b[1] = b1;
        b[2..6].copy_from_slice(&lba.to_be_bytes());
        b[7..9].copy_from_slice(&n.to_be_bytes());
        b
    }

    #[test]
    fn simple_good() {
        let d = dev();
        assert_eq!(emu(&[0; 6], &d).0, Action::Good);
        assert_eq!(emu(&[0x1B, 1, 0, 0, 1, 0], &d).0, Action::Good);
        assert_eq!(emu(&[0x1B, 0, 0, 0, 2, 0], &d).0, Action::Good);
        assert_eq!(emu(&[0x1E, 0, 0, 0, 1, 0], &d).0, Action::Good);
        assert_eq!(emu(&[0x1E, 0, 0, 0, 0, 0], &d).0, Action::Good);
    }

    #[test]
    fn core_commands() {
        let d = dev();
        assert_eq!(emu(&[0x03, 0, 0, 0, 18, 0], &d).0, Action::Core);
        let mut rl = [0u8; 12];
        rl[0] = REPORT_LUNS;
        rl[9] = 16;
        assert_eq!(emu(&rl, &d).0, Action::Core);
        assert_eq!(emu(&[0x15, 0x10, 0, 0, 24, 0], &d).0, Action::Core);
        assert_eq!(
            emu(&[0x55, 0x10, 0, 0, 0, 0, 0, 0, 28, 0], &d).0,
            Action::Core
        );
        assert_eq!(emu(&[0x15, 0x10, 0, 0, 0, 0], &d).0, Action::Good);
        assert_eq!(
            emu(&[0x15, 0x11, 0, 0, 24, 0], &d).0,
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(0)))
        );
        // A device that keeps saved values: SP=1 goes to the core, which saves, even
        // without a parameter list.
        let saving = DeviceParams {
            saved_modes: Some(d.mode_values()),
            ..d
        };
        assert_eq!(emu(&[0x15, 0x11, 0, 0, 24, 0], &saving).0, Action::Core);
        assert_eq!(emu(&[0x15, 0x11, 0, 0, 0, 0], &saving).0, Action::Core);
        assert_eq!(
            emu(&[0x55, 0x11, 0, 0, 0, 0, 0, 0, 0, 0], &saving).0,
            Action::Core
        );
        assert_eq!(emu(&[0x15, 0x10, 0, 0, 0, 0], &saving).0, Action::Good);
    }

    #[test]
    fn inquiry_paths() {
        let d = dev();
        let (a, v) = emu(&[0x12, 0, 0, 0, 36, 0], &d);
        assert_eq!(a, Action::DataIn { len: 36 });
        assert_eq!(&v[..8], &[0, 0, 6, 0x32, 91, 0x08, 0, 2]);
        assert_eq!(&v[8..36], b"RSCST   Virtual Disk    0001");
        let (a, v) = emu(&[0x12, 1, 0x00, 0, 255, 0], &d);
        assert_eq!(a, Action::DataIn { len: 10 });
        assert_eq!(v, [0, 0, 0, 6, 0, 0x80, 0x83, 0x86, 0xB0, 0xB1]);
        let (_, v) = emu(&[0x12, 1, 0x80, 0, 255, 0], &d);
        assert_eq!(v, b"\x00\x80\x00\x04beef");
        let (a, _) = emu(&[0x12, 1, 0xB2, 0, 255, 0], &d);
        assert_eq!(
            a,
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, None))
        );
        let (a, _) = emu(&[0x12, 1, 0x83, 0, 0, 0], &d);
        assert_eq!(a, Action::DataIn { len: 0 });
    }

    #[test]
    fn copy_commands() {
        let mut x = [0u8; 16];
        x[0] = EXTENDED_COPY;
        assert_eq!(emu(&x, &dev()).0, Action::Good, "no parameter list");
        x[13] = 0x4C;
        assert_eq!(emu(&x, &dev()).0, Action::Copy { param_len: 0x4C });
        let mut r = [0u8; 16];
        r[0] = RECEIVE_COPY_RESULTS;
        r[1] = RCR_OPERATING_PARAMETERS;
        r[13] = 8;
        let (a, v) = emu(&r, &dev());
        assert_eq!(a, Action::DataIn { len: 8 });
        assert_eq!(v[..4], [0, 0, 0, 42]);
    }

    #[test]
    fn read_capacity_10() {
        let d = dev();
        let (a, v) = emu(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &d);
        assert_eq!(a, Action::DataIn { len: 8 });
        assert_eq!(v, [0, 0, 0x03, 0xE7, 0, 0, 2, 0]);
        for (n, last) in [
            (0u64, 0u32),
            (1, 0),
            (0xFFFF_FFFF, 0xFFFF_FFFE),
            (0x1_0000_0000, 0xFFFF_FFFF),
            (u64::MAX, 0xFFFF_FFFF),
        ] {
            let dd = DeviceParams {
                num_blocks: n,
                block_size: 4096,
                ..dev()
            };
            let (_, v) = emu(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &dd);
            assert_eq!(&v[..4], &last.to_be_bytes());
            assert_eq!(&v[4..], &[0, 0, 0x10, 0]);
        }
        let c = Cdb::decode(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        let mut small = [0u8; 5];
        assert_eq!(emulate_disk(&c, &d, &mut small), Action::DataIn { len: 5 });
    }

    #[test]
    fn read_capacity_16() {
        let d = DeviceParams {
            num_blocks: 0x1_2345_6789,
            block_size: 4096,
            ..dev()
        };
        let mut b = [0u8; 16];
        b[0] = SERVICE_ACTION_IN_16;
        b[1] = SAI_READ_CAPACITY_16;
        b[13] = 255;
        let (a, v) = emu(&b, &d);
        assert_eq!(a, Action::DataIn { len: 32 });
        let mut want = [0u8; 32];
        want[..8].copy_from_slice(&0x1_2345_6788u64.to_be_bytes());
        want[8..12].copy_from_slice(&4096u32.to_be_bytes());
        assert_eq!(v, want);
        for alloc in 0..=40u8 {
            b[13] = alloc;
            let (a, v) = emu(&b, &d);
            let n = usize::from(alloc).min(32);
            assert_eq!(a, Action::DataIn { len: n });
            assert_eq!(&v[..], &want[..n]);
        }
        let max = DeviceParams {
            num_blocks: u64::MAX,
            ..dev()
        };
        b[13] = 32;
        let (_, v) = emu(&b, &max);
        assert_eq!(&v[..8], &(u64::MAX - 1).to_be_bytes());
    }

    #[test]
    fn mode_sense_paths() {
        let d = dev();
        let (a, v) = emu(&[0x1A, 0x08, 0x08, 0, 0xFF, 0], &d);
        assert_eq!(a, Action::DataIn { len: 24 });
        assert_eq!(&v[..4], &[23, 0, 0x10, 0]);
        assert_eq!(v[4..7], [0x08, 0x12, 0x04]);
        let ro = DeviceParams {
            read_only: true,
            ..dev()
        };
        let (_, v) = emu(&[0x1A, 0, 0x3F, 0, 4, 0], &ro);
        assert_eq!(v, [3 + 8 + 56, 0, 0x90, 8]);
        let (a, _) = emu(&[0x1A, 0, 0xC8, 0, 0xFF, 0], &d);
        assert_eq!(a, Action::Check(Sense::SAVING_PARAMETERS_NOT_SUPPORTED));
        let (a, _) = emu(&[0x1A, 0, 0x02, 0, 0xFF, 0], &d);
        assert_eq!(
            a,
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(5)))
        );
        let (a, _) = emu(&[0x5A, 0, 0x08, 0x01, 0, 0, 0, 0, 0xFF, 0], &d);
        assert_eq!(
            a,
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(3, None))
        );
        let (a, v) = emu(&[0x5A, 0x10, 0x3F, 0xFF, 0, 0, 0, 0x10, 0, 0], &d);
        assert_eq!(a, Action::DataIn { len: 8 + 16 + 56 });
        assert_eq!(&v[..8], &[0, 6 + 16 + 56, 0, 0x10, 1, 0, 0, 16]);
    }

    #[test]
    fn reads() {
        let d = dev();
        assert_eq!(
            emu(&cdb10(READ_10, 0x08, 10, 20), &d).0,
            Action::Read {
                lba: 10,
                blocks: 20,
                fua: true
            }
        );
        assert_eq!(
            emu(&cdb10(READ_10, 0, 990, 10), &d).0,
            Action::Read {
                lba: 990,
                blocks: 10,
                fua: false
            }
        );
        assert_eq!(
            emu(&cdb10(READ_10, 0, 990, 11), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            emu(&cdb10(READ_10, 0, 1000, 1), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(emu(&cdb10(READ_10, 0, 999, 0), &d).0, Action::Good);
        assert_eq!(
            emu(&cdb10(READ_10, 0, 1000, 0), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        // READ(6) with 0 blocks means 256.
        assert_eq!(
            emu(&[0x08, 0, 0, 5, 0, 0], &d).0,
            Action::Read {
                lba: 5,
                blocks: 256,
                fua: false
            }
        );
        assert_eq!(
            emu(&[0x08, 0, 0x03, 0x00, 0, 0], &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        // READ(12) and READ(16), with overflowing LBA + length.
        let mut r12 = [0u8; 12];
        r12[0] = READ_12;
        r12[5] = 1;
        r12[9] = 2;
        assert_eq!(
            emu(&r12, &d).0,
            Action::Read {
                lba: 1,
                blocks: 2,
                fua: false
            }
        );
        let huge = DeviceParams {
            num_blocks: u64::MAX,
            ..dev()
        };
        assert_eq!(
            emu(&cdb16(READ_16, 0, u64::MAX - 1, 1), &huge).0,
            Action::Read {
                lba: u64::MAX - 1,
                blocks: 1,
                fua: false
            }
        );
        assert_eq!(
            emu(&cdb16(READ_16, 0, u64::MAX - 1, 2), &huge).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            emu(&cdb16(READ_16, 0, u64::MAX, u32::MAX), &huge).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        let empty = DeviceParams {
            num_blocks: 0,
            ..dev()
        };
        assert_eq!(
            emu(&cdb16(READ_16, 0, 0, 1), &empty).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            emu(&cdb16(READ_16, 0, 0, 0), &empty).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
    }

    #[test]
    fn writes() {
        let d = dev();
        assert_eq!(
            emu(&cdb10(WRITE_10, 0x08, 0, 1000), &d).0,
            Action::Write {
                lba: 0,
                blocks: 1000,
                fua: true
            }
        );
        assert_eq!(
            emu(&[0x0A, 0, 0, 0, 0, 0], &d).0,
            Action::Write {
                lba: 0,
                blocks: 256,
                fua: false
            }
        );
        assert_eq!(
            emu(&cdb16(WRITE_16, 0, 1, 1000), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(emu(&cdb16(WRITE_16, 0, 1, 0), &d).0, Action::Good);
        let ro = DeviceParams {
            read_only: true,
            ..dev()
        };
        assert_eq!(
            emu(&cdb10(WRITE_10, 0, 0, 1), &ro).0,
            Action::Check(Sense::WRITE_PROTECTED)
        );
        assert_eq!(
            emu(&[0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], &ro).0,
            Action::Check(Sense::WRITE_PROTECTED)
        );
        assert_eq!(emu(&cdb10(WRITE_10, 0, 0, 0), &ro).0, Action::Good);
        assert_eq!(
            emu(&cdb10(WRITE_10, 0, 2000, 1), &ro).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            emu(&cdb10(READ_10, 0, 0, 1), &ro).0,
            Action::Read {
                lba: 0,
                blocks: 1,
                fua: false
            }
        );
    }

    #[test]
    fn sync_cache() {
        let d = dev();
        assert_eq!(
            emu(&cdb10(SYNCHRONIZE_CACHE_10, 0x02, 0, 0), &d).0,
            Action::Flush {
                lba: 0,
                blocks: 0,
                immed: true
            }
        );
        assert_eq!(
            emu(&cdb10(SYNCHRONIZE_CACHE_10, 0, 500, 0), &d).0,
            Action::Flush {
                lba: 500,
                blocks: 0,
                immed: false
            }
        );
        assert_eq!(
            emu(&cdb10(SYNCHRONIZE_CACHE_10, 0, 1000, 0), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            emu(&cdb16(SYNCHRONIZE_CACHE_16, 0, 999, 2), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert_eq!(
            emu(&cdb16(SYNCHRONIZE_CACHE_16, 0, 999, 1), &d).0,
            Action::Flush {
                lba: 999,
                blocks: 1,
                immed: false
            }
        );
        let empty = DeviceParams {
            num_blocks: 0,
            ..dev()
        };
        assert_eq!(
            emu(&cdb10(SYNCHRONIZE_CACHE_10, 0, 0, 0), &empty).0,
            Action::Flush {
                lba: 0,
                blocks: 0,
                immed: false
            }
        );
    }

    #[test]
    fn verify() {
        let d = dev();
        assert_eq!(emu(&cdb10(VERIFY_10, 0, 0, 1000), &d).0, Action::Good);
        assert_eq!(emu(&cdb10(VERIFY_10, 0, 10, 0), &d).0, Action::Good);
        assert_eq!(
            emu(&cdb10(VERIFY_10, 0, 1, 1000), &d).0,
            Action::Check(Sense::LBA_OUT_OF_RANGE)
        );
        assert!(matches!(
            emu(&cdb10(VERIFY_10, 0x02, 0, 1), &d).0,
            Action::ReadBack(r) if r.compare == readback::Compare::Buffer
        ));
        assert!(matches!(
            emu(&cdb16(VERIFY_16, 0x06, 0, 1), &d).0,
            Action::ReadBack(r) if r.compare == readback::Compare::EveryBlock
        ));
        assert!(matches!(
            emu(&cdb10(WRITE_AND_VERIFY_10, 0x02, 0, 1), &d).0,
            Action::ReadBack(r) if r.write == readback::Write::Before { fua: true }
        ));
        assert!(matches!(
            emu(&cdb10(PRE_FETCH_10, 0, 0, 1), &d).0,
            Action::ReadBack(r) if r.status == crate::status::CONDITION_MET
        ));
        let mut caw = [0u8; 16];
        caw[0] = COMPARE_AND_WRITE;
        caw[13] = 1;
        assert!(matches!(emu(&caw, &d).0, Action::ReadBack(r) if r.atomic));
        assert_eq!(
            emu(&[0xAF, 0, 0, 0, 0x03, 0xE7, 0, 0, 0, 1, 0, 0], &d).0,
            Action::Good
        );
    }

    #[test]
    fn rsoc_path() {
        let d = dev();
        let (a, v) = emu(&[0xA3, 0x0C, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0], &d);
        assert_eq!(a, Action::DataIn { len: 14 });
        assert_eq!(&v[..4], &[0, 3, 0, 10]);
        let (a, _) = emu(&[0xA3, 0x0C, 0x01, 0x9E, 0, 0, 0, 0, 1, 0, 0, 0], &d);
        assert_eq!(
            a,
            Action::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(2)))
        );
    }
}
