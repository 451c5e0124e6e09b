// SPDX-License-Identifier: GPL-2.0
//! Command descriptor block decoding: turns raw CDB bytes into a validated [`Op`].
//!
//! Validation policy: fields that request a feature this target does not implement
//! (protection information, CMDDT, power conditions, unknown service actions or report
//! selections, obsolete PMI/LBA combinations, reserved BYTCHK) are rejected with
//! INVALID FIELD IN CDB. Other reserved and obsolete bits are ignored, which SPC-4 permits
//! and which keeps old initiators working.

use super::sense::Sense;
use super::wr::{get_be16, get_be32, get_be64, get_u8};

/// Operation codes (SPC-4 / SBC-3), including some the emulation does not implement.
pub mod opcode {
    /// TEST UNIT READY.
    pub const TEST_UNIT_READY: u8 = 0x00;
    /// REQUEST SENSE.
    pub const REQUEST_SENSE: u8 = 0x03;
    /// FORMAT UNIT.
    pub const FORMAT_UNIT: u8 = 0x04;
    /// READ(6).
    pub const READ_6: u8 = 0x08;
    /// WRITE(6).
    pub const WRITE_6: u8 = 0x0A;
    /// INQUIRY.
    pub const INQUIRY: u8 = 0x12;
    /// MODE SELECT(6).
    pub const MODE_SELECT_6: u8 = 0x15;
    /// RESERVE(6).
    pub const RESERVE_6: u8 = 0x16;
    /// RELEASE(6).
    pub const RELEASE_6: u8 = 0x17;
    /// MODE SENSE(6).
    pub const MODE_SENSE_6: u8 = 0x1A;
    /// START STOP UNIT.
    pub const START_STOP_UNIT: u8 = 0x1B;
    /// RECEIVE DIAGNOSTIC RESULTS.
    pub const RECEIVE_DIAGNOSTIC_RESULTS: u8 = 0x1C;
    /// SEND DIAGNOSTIC.
    pub const SEND_DIAGNOSTIC: u8 = 0x1D;
    /// PREVENT ALLOW MEDIUM REMOVAL.
    pub const PREVENT_ALLOW_MEDIUM_REMOVAL: u8 = 0x1E;
    /// READ CAPACITY(10).
    pub const READ_CAPACITY_10: u8 = 0x25;
    /// READ(10).
    pub const READ_10: u8 = 0x28;
    /// WRITE(10).
    pub const WRITE_10: u8 = 0x2A;
    /// WRITE AND VERIFY(10).
    pub const WRITE_AND_VERIFY_10: u8 = 0x2E;
    /// VERIFY(10).
    pub const VERIFY_10: u8 = 0x2F;
    /// PRE-FETCH(10).
    pub const PRE_FETCH_10: u8 = 0x34;
    /// SYNCHRONIZE CACHE(10).
    pub const SYNCHRONIZE_CACHE_10: u8 = 0x35;
    /// WRITE BUFFER.
    pub const WRITE_BUFFER: u8 = 0x3B;
    /// READ BUFFER(10).
    pub const READ_BUFFER: u8 = 0x3C;
    /// WRITE SAME(10).
    pub const WRITE_SAME_10: u8 = 0x41;
    /// UNMAP.
    pub const UNMAP: u8 = 0x42;
    /// LOG SELECT.
    pub const LOG_SELECT: u8 = 0x4C;
    /// LOG SENSE.
    pub const LOG_SENSE: u8 = 0x4D;
    /// MODE SELECT(10).
    pub const MODE_SELECT_10: u8 = 0x55;
    /// RESERVE(10).
    pub const RESERVE_10: u8 = 0x56;
    /// RELEASE(10).
    pub const RELEASE_10: u8 = 0x57;
    /// MODE SENSE(10).
    pub const MODE_SENSE_10: u8 = 0x5A;
    /// PERSISTENT RESERVE IN.
    pub const PERSISTENT_RESERVE_IN: u8 = 0x5E;
    /// PERSISTENT RESERVE OUT.
    pub const PERSISTENT_RESERVE_OUT: u8 = 0x5F;
    /// Variable-length CDB (group 3).
    pub const VARIABLE_LENGTH: u8 = 0x7F;
    /// EXTENDED COPY.
    pub const EXTENDED_COPY: u8 = 0x83;
    /// RECEIVE COPY RESULTS.
    pub const RECEIVE_COPY_RESULTS: u8 = 0x84;
    /// READ(16).
    pub const READ_16: u8 = 0x88;
    /// COMPARE AND WRITE.
    pub const COMPARE_AND_WRITE: u8 = 0x89;
    /// WRITE(16).
    pub const WRITE_16: u8 = 0x8A;
    /// WRITE AND VERIFY(16).
    pub const WRITE_AND_VERIFY_16: u8 = 0x8E;
    /// VERIFY(16).
    pub const VERIFY_16: u8 = 0x8F;
    /// PRE-FETCH(16).
    pub const PRE_FETCH_16: u8 = 0x90;
    /// SYNCHRONIZE CACHE(16).
    pub const SYNCHRONIZE_CACHE_16: u8 = 0x91;
    /// WRITE SAME(16).
    pub const WRITE_SAME_16: u8 = 0x93;
    /// SERVICE ACTION IN(16).
    pub const SERVICE_ACTION_IN_16: u8 = 0x9E;
    /// REPORT LUNS.
    pub const REPORT_LUNS: u8 = 0xA0;
    /// MAINTENANCE IN.
    pub const MAINTENANCE_IN: u8 = 0xA3;
    /// MAINTENANCE OUT.
    pub const MAINTENANCE_OUT: u8 = 0xA4;
    /// READ(12).
    pub const READ_12: u8 = 0xA8;
    /// WRITE(12).
    pub const WRITE_12: u8 = 0xAA;
    /// WRITE AND VERIFY(12).
    pub const WRITE_AND_VERIFY_12: u8 = 0xAE;
    /// VERIFY(12).
    pub const VERIFY_12: u8 = 0xAF;

    /// SERVICE ACTION IN(16) service action: READ CAPACITY(16).
    pub const SAI_READ_CAPACITY_16: u8 = 0x10;
    /// SERVICE ACTION IN(16) service action: GET LBA STATUS.
    pub const SAI_GET_LBA_STATUS: u8 = 0x12;
    /// MAINTENANCE IN service action: REPORT TARGET PORT GROUPS.
    pub const MI_REPORT_TARGET_PORT_GROUPS: u8 = 0x0A;
    /// MAINTENANCE OUT service action: SET TARGET PORT GROUPS.
    pub const MO_SET_TARGET_PORT_GROUPS: u8 = 0x0A;
    /// MAINTENANCE IN service action: REPORT SUPPORTED OPERATION CODES.
    pub const MI_REPORT_SUPPORTED_OPCODES: u8 = 0x0C;
    /// MAINTENANCE IN service action: REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
    pub const MI_REPORT_SUPPORTED_TMFS: u8 = 0x0D;
    /// EXTENDED COPY service action: EXTENDED COPY (LID1).
    pub const XCOPY_LID1: u8 = 0x00;
    /// RECEIVE COPY RESULTS service action: RECEIVE COPY OPERATING PARAMETERS.
    pub const RCR_OPERATING_PARAMETERS: u8 = 0x03;
}

/// Whether the CDB's CONTROL byte has NACA set: a CHECK CONDITION then establishes an ACA
/// condition. The CONTROL byte is the last at the opcode's length, or byte 1 of a
/// variable-length (7Fh) CDB (SPC-4 4.2.5.3). False for a vendor-specific opcode or a CDB
/// shorter than its length.
pub fn naca(cdb: &[u8]) -> bool {
    control_byte(cdb)
        .and_then(|i| cdb.get(i))
        .is_some_and(|c| c & NACA != 0)
}

/// Clears NACA in the CDB's CONTROL byte (for a device behind a raw SCSI tier: the core keeps
/// ACA conditions itself); returns whether it was set.
pub fn take_naca(cdb: &mut [u8]) -> bool {
    let Some(c) = control_byte(cdb).and_then(|i| cdb.get_mut(i)) else {
        return false;
    };
    let was = *c & NACA != 0;
    *c &= !NACA;
    was
}

/// NACA in the CONTROL byte.
const NACA: u8 = 0x04;

/// Where the CONTROL byte is (see [`naca`]).
fn control_byte(cdb: &[u8]) -> Option<usize> {
    match *cdb.first()? {
        opcode::VARIABLE_LENGTH => Some(1),
        op => cdb_len(op)?.checked_sub(1),
    }
}

/// Length of a CDB from its group code (byte 0 bits 7..5): 6, 10, 10, reserved, 16, 12,
/// vendor, vendor. Returns `None` for the reserved group 3 (which also holds the
/// variable-length 7Fh CDB, whose length is in the CDB itself) and the vendor groups 6 and 7.
pub fn cdb_len(opcode: u8) -> Option<usize> {
    match opcode >> 5 {
        0 => Some(6),
        1 | 2 => Some(10),
        4 => Some(16),
        5 => Some(12),
        _ => None,
    }
}

/// Direction of the data phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataDir {
    /// No data phase.
    None,
    /// Data-in: target to initiator.
    Read,
    /// Data-out: initiator to target.
    Write,
}

/// What the command is, decoded from the CDB (validated: required fields, lengths).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// TEST UNIT READY.
    TestUnitReady,
    /// INQUIRY (EVPD=0 implies `page == 0`).
    Inquiry {
        /// Vital product data requested.
        evpd: bool,
        /// VPD page code.
        page: u8,
        /// Allocation length.
        alloc_len: u16,
    },
    /// REQUEST SENSE.
    RequestSense {
        /// Descriptor-format sense requested.
        desc: bool,
        /// Allocation length.
        alloc_len: u8,
    },
    /// REPORT LUNS (SELECT REPORT is 00h, 01h, 02h, 10h or 11h).
    ReportLuns {
        /// SELECT REPORT field.
        select_report: u8,
        /// Allocation length.
        alloc_len: u32,
    },
    /// READ CAPACITY(10).
    ReadCapacity10 {},
    /// READ CAPACITY(16) (SERVICE ACTION IN(16), service action 10h).
    ReadCapacity16 {
        /// Allocation length.
        alloc_len: u32,
    },
    /// MODE SENSE(6) or MODE SENSE(10).
    ModeSense {
        /// Page code (6 bits).
        page: u8,
        /// Subpage code.
        subpage: u8,
        /// Page control: 0 current, 1 changeable, 2 default, 3 saved.
        pc: u8,
        /// Disable block descriptors.
        dbd: bool,
        /// Long LBA block descriptors accepted (MODE SENSE(10) only).
        llbaa: bool,
        /// Allocation length.
        alloc_len: u16,
        /// MODE SENSE(10) rather than (6).
        ten: bool,
    },
    /// READ(6/10/12/16); READ(6) with a zero length means 256 blocks.
    Read {
        /// First logical block.
        lba: u64,
        /// Number of blocks.
        blocks: u32,
        /// Force unit access.
        fua: bool,
    },
    /// WRITE(6/10/12/16); WRITE(6) with a zero length means 256 blocks.
    Write {
        /// First logical block.
        lba: u64,
        /// Number of blocks.
        blocks: u32,
        /// Force unit access.
        fua: bool,
    },
    /// SYNCHRONIZE CACHE(10/16).
    SyncCache {
        /// First logical block.
        lba: u64,
        /// Number of blocks, 0 meaning through the last block.
        blocks: u32,
        /// Return status before the flush completes.
        immed: bool,
    },
    /// START STOP UNIT (POWER CONDITION 0 only).
    StartStopUnit {
        /// START bit.
        start: bool,
        /// Load/eject bit.
        loej: bool,
        /// Immediate bit.
        immed: bool,
    },
    /// VERIFY(10/12/16).
    Verify {
        /// First logical block.
        lba: u64,
        /// Number of blocks.
        blocks: u32,
        /// BYTCHK field (0, 1 or 3; 2 is rejected by the decoder).
        bytchk: u8,
    },
    /// WRITE AND VERIFY(10/12/16).
    WriteAndVerify {
        /// First logical block.
        lba: u64,
        /// Number of blocks.
        blocks: u32,
        /// BYTCHK 1: compare what the medium holds afterwards with the data-out buffer
        /// (BYTCHK 0 only writes; 2 and 3 are rejected by the decoder).
        compare: bool,
    },
    /// COMPARE AND WRITE: the data-out buffer holds `blocks` blocks to compare, then
    /// `blocks` blocks to write.
    CompareAndWrite {
        /// First logical block.
        lba: u64,
        /// Number of blocks (byte 13).
        blocks: u32,
        /// Force unit access for the write.
        fua: bool,
    },
    /// PRE-FETCH(10/16).
    PreFetch {
        /// First logical block.
        lba: u64,
        /// Number of blocks, 0 meaning through the last block.
        blocks: u32,
        /// Return status before the blocks are read.
        immed: bool,
    },
    /// PREVENT ALLOW MEDIUM REMOVAL.
    PreventAllowMediumRemoval {
        /// PREVENT field (2 bits).
        prevent: u8,
    },
    /// MODE SELECT(6) or MODE SELECT(10).
    ModeSelect {
        /// Page format bit.
        pf: bool,
        /// Save pages bit.
        sp: bool,
        /// Parameter list length.
        param_len: u16,
        /// MODE SELECT(10) rather than (6).
        ten: bool,
    },
    /// WRITE SAME(10/16).
    WriteSame {
        /// First logical block.
        lba: u64,
        /// Number of blocks (0 is refused by the emulation: WSNZ).
        blocks: u32,
        /// UNMAP: deallocate the blocks where possible.
        unmap: bool,
        /// NDOB (WRITE SAME(16) only): no data-out buffer, the blocks become zeros.
        ndob: bool,
    },
    /// UNMAP.
    Unmap {
        /// Parameter list length.
        param_len: u16,
    },
    /// GET LBA STATUS (SERVICE ACTION IN(16), service action 12h).
    GetLbaStatus {
        /// Starting logical block address.
        lba: u64,
        /// Allocation length.
        alloc_len: u32,
    },
    /// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (MAINTENANCE IN, service
    /// action 0Dh).
    ReportSupportedTmfs {
        /// REPD: the extended (16-byte) format.
        repd: bool,
        /// Allocation length.
        alloc_len: u32,
    },
    /// EXTENDED COPY (LID1): the core checks the parameter list
    /// ([`super::xcopy::CopyList`]) and has the handlers copy.
    ExtendedCopy {
        /// Parameter list length.
        param_len: u32,
    },
    /// RECEIVE COPY RESULTS, service action OPERATING PARAMETERS (the one served: LID1
    /// copies run to their end before their status).
    ReceiveCopyResults {
        /// Allocation length.
        alloc_len: u32,
    },
    /// PERSISTENT RESERVE IN (the core answers from the logical unit's reservations).
    PersistentReserveIn {
        /// SERVICE ACTION (0..=3).
        sa: u8,
        /// Allocation length.
        alloc_len: u16,
    },
    /// PERSISTENT RESERVE OUT (its other fields are checked with the parameter list:
    /// `super::pr::parse_pr_out`).
    PersistentReserveOut {
        /// SERVICE ACTION (0..=7).
        sa: u8,
        /// Parameter list length.
        param_len: u32,
    },
    /// RESERVE(6) or RESERVE(10) of the whole logical unit (no third party, no extents).
    Reserve,
    /// RELEASE(6) or RELEASE(10) of the whole logical unit.
    Release,
    /// REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0Ah): the core answers
    /// from the device's ALUA configuration ([`super::alua`]).
    ReportTargetPortGroups {
        /// PARAMETER DATA FORMAT 001b: the extended header.
        extended: bool,
        /// Allocation length.
        alloc_len: u32,
    },
    /// SET TARGET PORT GROUPS (MAINTENANCE OUT, service action 0Ah): the core checks the
    /// parameter list ([`super::alua::StpgList`]) and changes the states.
    SetTargetPortGroups {
        /// Parameter list length.
        param_len: u32,
    },
    /// REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0Ch).
    ReportSupportedOpcodes {
        /// Return command timeouts descriptors.
        rctd: bool,
        /// REPORTING OPTIONS (0..=3).
        options: u8,
        /// REQUESTED OPERATION CODE.
        req_opcode: u8,
        /// REQUESTED SERVICE ACTION.
        req_sa: u16,
        /// Allocation length.
        alloc_len: u32,
    },
}

/// A decoded CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cdb {
    /// The decoded operation.
    pub op: Op,
    /// The operation code (byte 0), e.g. to tell READ(10) from READ(16).
    pub opcode: u8,
}

/// The first byte of the TRANSFER LENGTH (or VERIFICATION LENGTH, NUMBER OF LOGICAL
/// BLOCKS) field of a command whose data phase carries logical blocks (where an INVALID
/// FIELD IN CDB about the length points), if `opcode` is one.
pub const fn transfer_length_byte(opcode: u8) -> Option<u16> {
    use opcode::*;
    match opcode {
        READ_6 | WRITE_6 => Some(4),
        READ_10 | WRITE_10 | VERIFY_10 | WRITE_AND_VERIFY_10 => Some(7),
        READ_12 | WRITE_12 | VERIFY_12 | WRITE_AND_VERIFY_12 => Some(6),
        READ_16 | WRITE_16 | VERIFY_16 | WRITE_AND_VERIFY_16 => Some(10),
        COMPARE_AND_WRITE => Some(13),
        _ => None,
    }
}

/// Whether `opcode` is one [`Cdb::decode`] understands (it may still reject the CDB's
/// fields or service action).
pub fn is_supported_opcode(opcode: u8) -> bool {
    use opcode::*;
    matches!(
        opcode,
        TEST_UNIT_READY
            | REQUEST_SENSE
            | READ_6
            | WRITE_6
            | INQUIRY
            | MODE_SELECT_6
            | MODE_SENSE_6
            | START_STOP_UNIT
            | PREVENT_ALLOW_MEDIUM_REMOVAL
            | READ_CAPACITY_10
            | READ_10
            | WRITE_10
            | WRITE_AND_VERIFY_10
            | VERIFY_10
            | PRE_FETCH_10
            | SYNCHRONIZE_CACHE_10
            | WRITE_SAME_10
            | UNMAP
            | MODE_SELECT_10
            | MODE_SENSE_10
            | READ_16
            | WRITE_16
            | COMPARE_AND_WRITE
            | WRITE_AND_VERIFY_16
            | VERIFY_16
            | PRE_FETCH_16
            | SYNCHRONIZE_CACHE_16
            | WRITE_SAME_16
            | SERVICE_ACTION_IN_16
            | REPORT_LUNS
            | MAINTENANCE_IN
            | MAINTENANCE_OUT
            | READ_12
            | WRITE_12
            | WRITE_AND_VERIFY_12
            | VERIFY_12
            | RESERVE_6
            | RELEASE_6
            | RESERVE_10
            | RELEASE_10
            | PERSISTENT_RESERVE_IN
            | PERSISTENT_RESERVE_OUT
            | EXTENDED_COPY
            | RECEIVE_COPY_RESULTS
    )
}

const BAD: Sense = Sense::INVALID_FIELD_IN_CDB;

/// INVALID FIELD IN CDB pointing at `byte` and, for a field within a byte, its most
/// significant `bit`.
const fn bad(byte: u16, bit: Option<u8>) -> Sense {
    BAD.in_cdb(byte, bit)
}

/// RDPROTECT / WRPROTECT / VRPROTECT (byte 1 bits 7..5) must be zero: no protection
/// information support.
fn no_protect(c: &[u8]) -> Result<(), Sense> {
    if get_u8(c, 1) & 0xE0 != 0 {
        Err(bad(1, Some(7)))
    } else {
        Ok(())
    }
}

fn bit(c: &[u8], byte: usize, mask: u8) -> bool {
    get_u8(c, byte) & mask != 0
}

fn rw(c: &[u8], lba: u64, blocks: u32, write: bool) -> Result<Op, Sense> {
    no_protect(c)?;
    let fua = bit(c, 1, 0x08);
    Ok(if write {
        Op::Write { lba, blocks, fua }
    } else {
        Op::Read { lba, blocks, fua }
    })
}

/// WRITE SAME(10) or (16): WRPROTECT must be zero, ANCHOR is not supported (ANC_SUP 0),
/// and neither are the obsolete PBDATA and LBDATA (which would change the data written).
fn write_same(c: &[u8], lba: u64, blocks: u32, sixteen: bool) -> Result<Op, Sense> {
    no_protect(c)?;
    if bit(c, 1, 0x10) {
        return Err(bad(1, Some(4)));
    }
    if bit(c, 1, 0x04) {
        return Err(bad(1, Some(2)));
    }
    if bit(c, 1, 0x02) {
        return Err(bad(1, Some(1)));
    }
    Ok(Op::WriteSame {
        lba,
        blocks,
        unmap: bit(c, 1, 0x08),
        ndob: sixteen && bit(c, 1, 0x01),
    })
}

fn verify(c: &[u8], lba: u64, blocks: u32) -> Result<Op, Sense> {
    no_protect(c)?;
    let bytchk = (get_u8(c, 1) >> 1) & 3;
    if bytchk == 2 {
        return Err(bad(1, Some(2)));
    }
    Ok(Op::Verify {
        lba,
        blocks,
        bytchk,
    })
}

/// WRITE AND VERIFY(10/12/16): WRPROTECT must be zero; BYTCHK 0 (write, then verify the
/// medium) or 1 (then compare with the data written); 2 and 3 are reserved here.
fn write_and_verify(c: &[u8], lba: u64, blocks: u32) -> Result<Op, Sense> {
    no_protect(c)?;
    let bytchk = (get_u8(c, 1) >> 1) & 3;
    if bytchk > 1 {
        return Err(bad(1, Some(2)));
    }
    Ok(Op::WriteAndVerify {
        lba,
        blocks,
        compare: bytchk == 1,
    })
}

impl Cdb {
    /// Decodes a CDB.
    ///
    /// Unknown opcode (or empty input) -> `Err(Sense::INVALID_OPCODE)`. Known opcode with a
    /// bad field (CDB shorter than its group length, a field requesting an
    /// unsupported feature, unsupported service action) -> `Err(Sense::INVALID_FIELD_IN_CDB)`.
    /// `cdb` may be longer than the opcode's length (fabrics pass 16 or 32-byte buffers).
    /// Never panics.
    pub fn decode(cdb: &[u8]) -> Result<Cdb, Sense> {
        use opcode::*;
        let opcode = *cdb.first().ok_or(Sense::INVALID_OPCODE)?;
        if !is_supported_opcode(opcode) {
            return Err(Sense::INVALID_OPCODE);
        }
        let len = cdb_len(opcode).ok_or(Sense::INVALID_OPCODE)?;
        let c = cdb.get(..len).ok_or(BAD)?;
        // CONTROL byte: NACA (bit 2) is taken (see `task_set`); the rest of
        // it is vendor specific or reserved (ignored).
        let op = match opcode {
            TEST_UNIT_READY => Op::TestUnitReady,
            REQUEST_SENSE => Op::RequestSense {
                desc: bit(c, 1, 0x01),
                alloc_len: get_u8(c, 4),
            },
            INQUIRY => {
                let evpd = bit(c, 1, 0x01);
                let page = get_u8(c, 2);
                // CMDDT (obsolete) is not supported; EVPD=0 requires PAGE CODE 0.
                if bit(c, 1, 0x02) {
                    return Err(bad(1, Some(1)));
                }
                if !evpd && page != 0 {
                    return Err(bad(2, None));
                }
                Op::Inquiry {
                    evpd,
                    page,
                    alloc_len: get_be16(c, 3),
                }
            }
            MODE_SELECT_6 | MODE_SELECT_10 => {
                let ten = opcode == MODE_SELECT_10;
                Op::ModeSelect {
                    pf: bit(c, 1, 0x10),
                    sp: bit(c, 1, 0x01),
                    param_len: if ten {
                        get_be16(c, 7)
                    } else {
                        u16::from(get_u8(c, 4))
                    },
                    ten,
                }
            }
            MODE_SENSE_6 | MODE_SENSE_10 => {
                let ten = opcode == MODE_SENSE_10;
                let b2 = get_u8(c, 2);
                Op::ModeSense {
                    page: b2 & 0x3F,
                    subpage: get_u8(c, 3),
                    pc: b2 >> 6,
                    dbd: bit(c, 1, 0x08),
                    llbaa: ten && bit(c, 1, 0x10),
                    alloc_len: if ten {
                        get_be16(c, 7)
                    } else {
                        u16::from(get_u8(c, 4))
                    },
                    ten,
                }
            }
            START_STOP_UNIT => {
                let b4 = get_u8(c, 4);
                // POWER CONDITION other than START_VALID: no power condition support.
                if b4 >> 4 != 0 {
                    return Err(bad(4, Some(7)));
                }
                Op::StartStopUnit {
                    start: b4 & 0x01 != 0,
                    loej: b4 & 0x02 != 0,
                    immed: bit(c, 1, 0x01),
                }
            }
            PREVENT_ALLOW_MEDIUM_REMOVAL => Op::PreventAllowMediumRemoval {
                prevent: get_u8(c, 4) & 0x03,
            },
            READ_6 | WRITE_6 => {
                let lba = (u64::from(get_u8(c, 1) & 0x1F) << 16) | u64::from(get_be16(c, 2));
                let blocks = match get_u8(c, 4) {
                    0 => 256,
                    n => u32::from(n),
                };
                let fua = false;
                if opcode == WRITE_6 {
                    Op::Write { lba, blocks, fua }
                } else {
                    Op::Read { lba, blocks, fua }
                }
            }
            READ_CAPACITY_10 => {
                // PMI=0 requires LOGICAL BLOCK ADDRESS 0 (SBC-3).
                if !bit(c, 8, 0x01) && get_be32(c, 2) != 0 {
                    return Err(bad(2, None));
                }
                Op::ReadCapacity10 {}
            }
            READ_10 | WRITE_10 => rw(
                c,
                u64::from(get_be32(c, 2)),
                u32::from(get_be16(c, 7)),
                opcode == WRITE_10,
            )?,
            READ_12 | WRITE_12 => rw(
                c,
                u64::from(get_be32(c, 2)),
                get_be32(c, 6),
                opcode == WRITE_12,
            )?,
            READ_16 | WRITE_16 => rw(c, get_be64(c, 2), get_be32(c, 10), opcode == WRITE_16)?,
            VERIFY_10 => verify(c, u64::from(get_be32(c, 2)), u32::from(get_be16(c, 7)))?,
            VERIFY_12 => verify(c, u64::from(get_be32(c, 2)), get_be32(c, 6))?,
            VERIFY_16 => verify(c, get_be64(c, 2), get_be32(c, 10))?,
            WRITE_AND_VERIFY_10 => {
                write_and_verify(c, u64::from(get_be32(c, 2)), u32::from(get_be16(c, 7)))?
            }
            WRITE_AND_VERIFY_12 => write_and_verify(c, u64::from(get_be32(c, 2)), get_be32(c, 6))?,
            WRITE_AND_VERIFY_16 => write_and_verify(c, get_be64(c, 2), get_be32(c, 10))?,
            COMPARE_AND_WRITE => {
                no_protect(c)?;
                Op::CompareAndWrite {
                    lba: get_be64(c, 2),
                    blocks: u32::from(get_u8(c, 13)),
                    fua: bit(c, 1, 0x08),
                }
            }
            PRE_FETCH_10 => Op::PreFetch {
                lba: u64::from(get_be32(c, 2)),
                blocks: u32::from(get_be16(c, 7)),
                immed: bit(c, 1, 0x02),
            },
            PRE_FETCH_16 => Op::PreFetch {
                lba: get_be64(c, 2),
                blocks: get_be32(c, 10),
                immed: bit(c, 1, 0x02),
            },
            SYNCHRONIZE_CACHE_10 => Op::SyncCache {
                lba: u64::from(get_be32(c, 2)),
                blocks: u32::from(get_be16(c, 7)),
                immed: bit(c, 1, 0x02),
            },
            SYNCHRONIZE_CACHE_16 => Op::SyncCache {
                lba: get_be64(c, 2),
                blocks: get_be32(c, 10),
                immed: bit(c, 1, 0x02),
            },
            WRITE_SAME_10 => write_same(
                c,
                u64::from(get_be32(c, 2)),
                u32::from(get_be16(c, 7)),
                false,
            )?,
            WRITE_SAME_16 => write_same(c, get_be64(c, 2), get_be32(c, 10), true)?,
            UNMAP => {
                // ANCHOR: anchored blocks are not supported (ANC_SUP 0).
                if bit(c, 1, 0x01) {
                    return Err(bad(1, Some(0)));
                }
                Op::Unmap {
                    param_len: get_be16(c, 7),
                }
            }
            SERVICE_ACTION_IN_16 if get_u8(c, 1) & 0x1F == SAI_GET_LBA_STATUS => Op::GetLbaStatus {
                lba: get_be64(c, 2),
                alloc_len: get_be32(c, 10),
            },
            SERVICE_ACTION_IN_16 => {
                if get_u8(c, 1) & 0x1F != SAI_READ_CAPACITY_16 {
                    return Err(bad(1, Some(4)));
                }
                if !bit(c, 14, 0x01) && get_be64(c, 2) != 0 {
                    return Err(bad(2, None));
                }
                Op::ReadCapacity16 {
                    alloc_len: get_be32(c, 10),
                }
            }
            REPORT_LUNS => {
                let select_report = get_u8(c, 2);
                // 12h: see `luns::report_lists_luns`.
                if !matches!(select_report, 0x00..=0x02 | 0x10 | 0x11) {
                    return Err(bad(2, None));
                }
                Op::ReportLuns {
                    select_report,
                    alloc_len: get_be32(c, 6),
                }
            }
            PERSISTENT_RESERVE_IN => {
                let sa = get_u8(c, 1) & 0x1F;
                if sa > super::pr::in_sa::READ_FULL_STATUS {
                    return Err(bad(1, Some(4)));
                }
                Op::PersistentReserveIn {
                    sa,
                    alloc_len: get_be16(c, 7),
                }
            }
            PERSISTENT_RESERVE_OUT => {
                let sa = get_u8(c, 1) & 0x1F;
                if sa > super::pr::out_sa::REGISTER_AND_MOVE {
                    return Err(bad(1, Some(4)));
                }
                Op::PersistentReserveOut {
                    sa,
                    param_len: get_be32(c, 5),
                }
            }
            RESERVE_6 | RELEASE_6 | RESERVE_10 | RELEASE_10 => {
                // 3RDPTY (bit 4), LONGID (bit 1 of the 10-byte CDBs) and the obsolete
                // EXTENT (bit 0): only reservations of the whole unit by the sender.
                let b1 = get_u8(c, 1);
                let unsupported = if len == 6 { 0x11 } else { 0x13 };
                if b1 & unsupported != 0 {
                    let top = if b1 & 0x10 != 0 {
                        4
                    } else if b1 & 0x02 != 0 {
                        1
                    } else {
                        0
                    };
                    return Err(bad(1, Some(top)));
                }
                if matches!(opcode, RESERVE_6 | RESERVE_10) {
                    Op::Reserve
                } else {
                    Op::Release
                }
            }
            EXTENDED_COPY => {
                if get_u8(c, 1) & 0x1F != XCOPY_LID1 {
                    return Err(bad(1, Some(4)));
                }
                Op::ExtendedCopy {
                    param_len: get_be32(c, 10),
                }
            }
            RECEIVE_COPY_RESULTS => {
                if get_u8(c, 1) & 0x1F != RCR_OPERATING_PARAMETERS {
                    return Err(bad(1, Some(4)));
                }
                Op::ReceiveCopyResults {
                    alloc_len: get_be32(c, 10),
                }
            }
            MAINTENANCE_IN if get_u8(c, 1) & 0x1F == MI_REPORT_SUPPORTED_TMFS => {
                let alloc_len = get_be32(c, 6);
                // SPC-4 6.36: an allocation length below four is refused.
                if alloc_len < 4 {
                    return Err(bad(6, None));
                }
                Op::ReportSupportedTmfs {
                    repd: get_u8(c, 2) & 0x80 != 0,
                    alloc_len,
                }
            }
            MAINTENANCE_IN if get_u8(c, 1) & 0x1F == MI_REPORT_TARGET_PORT_GROUPS => {
                // PARAMETER DATA FORMAT: 000b the length-only header, 001b the extended one.
                let extended = match get_u8(c, 1) >> 5 {
                    0 => false,
                    1 => true,
                    _ => return Err(bad(1, Some(7))),
                };
                Op::ReportTargetPortGroups {
                    extended,
                    alloc_len: get_be32(c, 6),
                }
            }
            MAINTENANCE_OUT => {
                if get_u8(c, 1) & 0x1F != MO_SET_TARGET_PORT_GROUPS {
                    return Err(bad(1, Some(4)));
                }
                Op::SetTargetPortGroups {
                    param_len: get_be32(c, 6),
                }
            }
            MAINTENANCE_IN => {
                if get_u8(c, 1) & 0x1F != MI_REPORT_SUPPORTED_OPCODES {
                    return Err(bad(1, Some(4)));
                }
                let b2 = get_u8(c, 2);
                let options = b2 & 0x07;
                if options > 3 {
                    return Err(bad(2, Some(2)));
                }
                Op::ReportSupportedOpcodes {
                    rctd: b2 & 0x80 != 0,
                    options,
                    req_opcode: get_u8(c, 3),
                    req_sa: get_be16(c, 4),
                    alloc_len: get_be32(c, 6),
                }
            }
            _ => return Err(Sense::INVALID_OPCODE),
        };
        Ok(Cdb { op, opcode })
    }

    /// Data direction (by command type; a zero-length transfer keeps its direction).
    pub fn data_dir(&self) -> DataDir {
        match self.op {
            Op::Inquiry { .. }
            | Op::RequestSense { .. }
            | Op::ReportLuns { .. }
            | Op::ReadCapacity10 {}
            | Op::ReadCapacity16 { .. }
            | Op::ModeSense { .. }
            | Op::Read { .. }
            | Op::ReportSupportedOpcodes { .. }
            | Op::ReportSupportedTmfs { .. }
            | Op::ReportTargetPortGroups { .. }
            | Op::PersistentReserveIn { .. }
            | Op::ReceiveCopyResults { .. }
            | Op::GetLbaStatus { .. } => DataDir::Read,
            Op::Write { .. }
            | Op::ModeSelect { .. }
            | Op::Unmap { .. }
            | Op::ExtendedCopy { .. }
            | Op::SetTargetPortGroups { .. }
            | Op::PersistentReserveOut { .. } => DataDir::Write,
            Op::WriteSame { ndob: false, .. } => DataDir::Write,
            Op::WriteSame { ndob: true, .. } => DataDir::None,
            Op::Verify { bytchk, .. } if bytchk != 0 => DataDir::Write,
            Op::WriteAndVerify { .. } | Op::CompareAndWrite { .. } => DataDir::Write,
            Op::TestUnitReady
            | Op::PreFetch { .. }
            | Op::SyncCache { .. }
            | Op::StartStopUnit { .. }
            | Op::Verify { .. }
            | Op::Reserve
            | Op::Release
            | Op::PreventAllowMediumRemoval { .. } => DataDir::None,
        }
    }

    /// Number of bytes the data phase transfers for a device with `block_size`:
    /// blocks * block_size for I/O, the allocation or parameter list length for others
    /// (8 for READ CAPACITY(10)), 0 for none. VERIFY with BYTCHK=1 transfers `blocks` blocks,
    /// with BYTCHK=3 a single block; COMPARE AND WRITE twice `blocks` blocks.
    pub fn transfer_len(&self, block_size: u32) -> u64 {
        let bs = u64::from(block_size);
        match self.op {
            Op::Inquiry { alloc_len, .. } => u64::from(alloc_len),
            Op::RequestSense { alloc_len, .. } => u64::from(alloc_len),
            Op::ReportLuns { alloc_len, .. } => u64::from(alloc_len),
            Op::ReadCapacity10 {} => 8,
            Op::ReadCapacity16 { alloc_len } => u64::from(alloc_len),
            Op::ModeSense { alloc_len, .. } => u64::from(alloc_len),
            Op::ReportSupportedOpcodes { alloc_len, .. } => u64::from(alloc_len),
            Op::ReportSupportedTmfs { alloc_len, .. } => u64::from(alloc_len),
            Op::ReportTargetPortGroups { alloc_len, .. } => u64::from(alloc_len),
            Op::SetTargetPortGroups { param_len } => u64::from(param_len),
            Op::ModeSelect { param_len, .. } | Op::Unmap { param_len } => u64::from(param_len),
            Op::GetLbaStatus { alloc_len, .. } => u64::from(alloc_len),
            Op::PersistentReserveIn { alloc_len, .. } => u64::from(alloc_len),
            Op::PersistentReserveOut { param_len, .. } => u64::from(param_len),
            Op::ExtendedCopy { param_len } => u64::from(param_len),
            Op::ReceiveCopyResults { alloc_len } => u64::from(alloc_len),
            // One block, the pattern (none with NDOB).
            Op::WriteSame { ndob, .. } => {
                if ndob {
                    0
                } else {
                    bs
                }
            }
            Op::Read { blocks, .. }
            | Op::Write { blocks, .. }
            | Op::WriteAndVerify { blocks, .. } => u64::from(blocks).saturating_mul(bs),
            Op::CompareAndWrite { blocks, .. } => {
                u64::from(blocks).saturating_mul(bs).saturating_mul(2)
            }
            Op::Verify { blocks, bytchk, .. } => match bytchk {
                0 => 0,
                3 if blocks != 0 => bs,
                3 => 0,
                _ => u64::from(blocks).saturating_mul(bs),
            },
            Op::TestUnitReady
            | Op::SyncCache { .. }
            | Op::PreFetch { .. }
            | Op::StartStopUnit { .. }
            | Op::Reserve
            | Op::Release
            | Op::PreventAllowMediumRemoval { .. } => 0,
        }
    }
}

/// Whether a CDB that [`Cdb::decode`] refused is a command the core does
/// not implement (an opcode, or a service action of SERVICE ACTION IN(16)
/// or MAINTENANCE IN, it does not know) rather than a known command with a
/// bad field: a device handler's raw SCSI tier may take the former, the
/// latter gets the decoder's answer.
pub fn is_unknown_command(cdb: &[u8]) -> bool {
    use opcode::*;
    let Some(&op) = cdb.first() else { return false };
    if !is_supported_opcode(op) {
        return true;
    }
    let sa = get_u8(cdb, 1) & 0x1F;
    match op {
        SERVICE_ACTION_IN_16 => sa != SAI_READ_CAPACITY_16 && sa != SAI_GET_LBA_STATUS,
        MAINTENANCE_IN => !matches!(
            sa,
            MI_REPORT_TARGET_PORT_GROUPS | MI_REPORT_SUPPORTED_OPCODES | MI_REPORT_SUPPORTED_TMFS
        ),
        MAINTENANCE_OUT => sa != MO_SET_TARGET_PORT_GROUPS,
        EXTENDED_COPY => sa != XCOPY_LID1,
        RECEIVE_COPY_RESULTS => sa != RCR_OPERATING_PARAMETERS,
        _ => false,
    }
}

/// Service actions of VARIABLE LENGTH (0x7F) CDBs that write the medium
/// (SBC-4: WRITE(32), WRITE AND VERIFY(32), WRITE SAME(32), ORWRITE(32),
/// WRITE ATOMIC(32), WRITE SCATTERED(32), WRITE STREAM(32)).
const VARIABLE_LENGTH_WRITES: [u16; 7] = [0x000B, 0x000C, 0x000D, 0x000E, 0x000F, 0x0011, 0x0010];

/// Whether a CDB changes the medium of a direct-access device (SBC-4), as
/// SCST's WRITE_MEDIUM flag says: what a LUN exported read-only refuses
/// with DATA PROTECT whatever handler serves it. Reservations, log and
/// mode pages, buffers and diagnostics are not medium changes.
pub fn writes_medium(cdb: &[u8]) -> bool {
    use opcode::*;
    let Some(&op) = cdb.first() else { return false };
    match op {
        FORMAT_UNIT | WRITE_6 | WRITE_10 | WRITE_AND_VERIFY_10 | WRITE_SAME_10 | UNMAP
        | WRITE_12 | WRITE_16 | WRITE_AND_VERIFY_16 | WRITE_SAME_16 | COMPARE_AND_WRITE => true,
        // WRITE LONG(10), XDWRITE(10), XDWRITEREAD(10), SANITIZE,
        // ORWRITE(16), WRITE STREAM(16), WRITE ATOMIC(16), WRITE AND
        // VERIFY(12).
        0x3F | 0x50 | 0x53 | 0x48 | 0x8B | 0x9A | 0x9C | 0xAE => true,
        // WRITE LONG(16) is SERVICE ACTION OUT(16) 0x11.
        0x9F => get_u8(cdb, 1) & 0x1F == 0x11,
        VARIABLE_LENGTH => VARIABLE_LENGTH_WRITES.contains(&get_be16(cdb, 8)),
        _ => false,
    }
}

/// Whether a CDB changes the medium of a device of peripheral device type
/// `device_type`, by its own command set (the same opcode means another
/// command there: MMC's READ SUB-CHANNEL is SBC's UNMAP): for a disk, an
/// optical memory device or RBC, [`writes_medium`]; for a tape (SSC-4),
/// FORMAT MEDIUM, WRITE(6) and (16), WRITE FILEMARKS(6) and (16), ERASE(6)
/// and (16), SET CAPACITY; for a CD/DVD (MMC-6), FORMAT UNIT, WRITE(10) and
/// (12), WRITE AND VERIFY(10), BLANK, CLOSE TRACK/SESSION, RESERVE TRACK
/// and SEND CUE SHEET; for the other types (processors, changers, storage
/// array controllers) none.
pub fn writes_medium_of(device_type: u8, cdb: &[u8]) -> bool {
    let Some(&op) = cdb.first() else { return false };
    match device_type {
        0x00 | 0x07 | 0x0E => writes_medium(cdb),
        0x01 => matches!(op, 0x04 | 0x0A | 0x8A | 0x10 | 0x80 | 0x19 | 0x93 | 0x0B),
        0x05 => matches!(op, 0x04 | 0x2A | 0xAA | 0x2E | 0xA1 | 0x5B | 0x53 | 0x5D),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::opcode::*;
    use super::*;

    #[test]
    fn medium_changes_by_device_type() {
        // WRITE FILEMARKS(6) and (16), ERASE(6), SET CAPACITY: a tape's, not
        // a disk's (ERASE(16) is a disk's WRITE SAME(16)).
        for op in [0x10u8, 0x19, 0x0B, 0x80] {
            assert!(writes_medium_of(1, &[op, 0, 0, 0, 1, 0]), "{op:#x}");
            assert!(!writes_medium_of(0, &[op, 0, 0, 0, 1, 0]), "{op:#x}");
        }
        assert!(writes_medium_of(1, &[0x93; 16]));
        // BLANK and SEND CUE SHEET: a CD's.
        assert!(writes_medium_of(
            5,
            &[0xA1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        ));
        assert!(writes_medium_of(5, &[0x5D, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert!(!writes_medium_of(
            1,
            &[0xA1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        ));
        // A tape's WRITE(6) is SBC's too; READ(6) is no change for anyone.
        assert!(writes_medium_of(1, &[0x0A, 0, 0, 2, 0, 0]));
        assert!(!writes_medium_of(1, &[0x08, 0, 0, 2, 0, 0]));
        assert!(!writes_medium_of(8, &[]));
        // MMC's READ SUB-CHANNEL is SBC's UNMAP: no change on a CD.
        assert!(!writes_medium_of(5, &[0x42, 0, 0x40, 1, 0, 0, 0, 0, 16, 0]));
        assert!(writes_medium_of(0, &[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0]));
        assert!(writes_medium_of(5, &[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]));
        // A changer's MOVE MEDIUM moves cartridges, writes none.
        assert!(!writes_medium_of(
            8,
            &[0xA5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        ));
    }

    fn dec(b: &[u8]) -> Result<Op, Sense> {
        Cdb::decode(b).map(|c| c.op)
    }

    #[test]
    fn group_lengths() {
        assert_eq!(cdb_len(0x00), Some(6));
        assert_eq!(cdb_len(0x1F), Some(6));
        assert_eq!(cdb_len(0x28), Some(10));
        assert_eq!(cdb_len(0x5A), Some(10));
        assert_eq!(cdb_len(0x60), None);
        assert_eq!(cdb_len(0x7F), None);
        assert_eq!(cdb_len(0x88), Some(16));
        assert_eq!(cdb_len(0xA0), Some(12));
        assert_eq!(cdb_len(0xC0), None);
        assert_eq!(cdb_len(0xFF), None);
    }

    #[test]
    fn unknown_and_empty() {
        assert_eq!(dec(&[]), Err(Sense::INVALID_OPCODE));
        for op in [0x01, 0x04, 0x1D, 0x3B, 0x7F, 0x85, 0xC0, 0xFF] {
            assert_eq!(dec(&[op; 32]), Err(Sense::INVALID_OPCODE), "{op:#x}");
            assert_eq!(dec(&[op]), Err(Sense::INVALID_OPCODE), "{op:#x}");
        }
    }

    #[test]
    fn supported_list_matches_decoder() {
        for op in 0..=255u8 {
            let mut b = [0u8; 32];
            b[0] = op;
            let r = dec(&b);
            assert_eq!(
                is_supported_opcode(op),
                r != Err(Sense::INVALID_OPCODE),
                "{op:#x}"
            );
            if is_supported_opcode(op) {
                let n = cdb_len(op).unwrap();
                // Exactly the group length is enough; one byte less is a bad field.
                assert_eq!(dec(&b[..n]), r, "{op:#x}");
                assert_eq!(dec(&b[..n - 1]), Err(Sense::INVALID_FIELD_IN_CDB));
            }
        }
    }

    #[test]
    fn transfer_length_fields() {
        assert_eq!(transfer_length_byte(READ_6), Some(4));
        assert_eq!(transfer_length_byte(WRITE_10), Some(7));
        assert_eq!(transfer_length_byte(READ_12), Some(6));
        assert_eq!(transfer_length_byte(WRITE_16), Some(10));
        assert_eq!(transfer_length_byte(VERIFY_10), Some(7));
        assert_eq!(transfer_length_byte(WRITE_AND_VERIFY_12), Some(6));
        assert_eq!(transfer_length_byte(COMPARE_AND_WRITE), Some(13));
        assert_eq!(transfer_length_byte(PRE_FETCH_10), None);
    }

    #[test]
    fn write_same_and_unmap() {
        let ws10 = |b1: u8| dec(&[WRITE_SAME_10, b1, 0, 0, 0, 5, 0, 0, 8, 0]);
        let ws = |unmap, ndob| {
            Ok(Op::WriteSame {
                lba: 5,
                blocks: 8,
                unmap,
                ndob,
            })
        };
        assert_eq!(ws10(0), ws(false, false));
        assert_eq!(ws10(0x08), ws(true, false));
        // No NDOB in WRITE SAME(10): bit 0 is reserved.
        assert_eq!(ws10(0x01), ws(false, false));
        assert_eq!(ws10(0x10), Err(bad(1, Some(4))));
        assert_eq!(ws10(0x04), Err(bad(1, Some(2))));
        assert_eq!(ws10(0x02), Err(bad(1, Some(1))));
        assert!(ws10(0x20).is_err());
        let mut c = [0u8; 16];
        c[0] = WRITE_SAME_16;
        c[1] = 0x09;
        c[9] = 5;
        c[13] = 8;
        assert_eq!(dec(&c), ws(true, true));
        let op = Cdb::decode(&c).unwrap();
        assert_eq!(op.data_dir(), DataDir::None);
        assert_eq!(op.transfer_len(4096), 0);
        c[1] = 0x08;
        let op = Cdb::decode(&c).unwrap();
        assert_eq!(op.data_dir(), DataDir::Write);
        assert_eq!(op.transfer_len(4096), 4096);
        let unmap = |b1: u8| dec(&[UNMAP, b1, 0, 0, 0, 0, 0, 0, 24, 0]);
        assert_eq!(unmap(0), Ok(Op::Unmap { param_len: 24 }));
        assert_eq!(unmap(0x01), Err(bad(1, Some(0))));
    }

    #[test]
    fn naca_taken_and_found_at_the_control_byte() {
        assert_eq!(dec(&[0, 0, 0, 0, 0, 0x04]), Ok(Op::TestUnitReady));
        assert_eq!(dec(&[0, 0, 0, 0, 0, 0x03]), Ok(Op::TestUnitReady));
        assert!(naca(&[0, 0, 0, 0, 0, 0x04]));
        assert!(!naca(&[0, 0, 0, 0, 0, 0x03]));
        let mut r10 = [0u8; 16];
        r10[0] = READ_10;
        r10[9] = 0x04;
        assert!(naca(&r10));
        // Byte 5 is no CONTROL byte of a 10-byte CDB.
        r10[9] = 0;
        r10[5] = 0x04;
        assert!(!naca(&r10));
        // Too short, empty, or of a group without a length.
        assert!(!naca(&[0x28, 0, 0, 0, 0, 0x04]));
        assert!(!naca(&[]));
        // A variable-length CDB's CONTROL byte is byte 1.
        assert!(!naca(&[0x7F, 0, 0, 0, 0, 0x04]));
        assert!(naca(&[0x7F, 0x04]));
        assert!(!naca(&[0x7F]));
        // Taken away for a raw tier: only the CONTROL byte's NACA bit.
        let mut t = [0x28, 0x04, 0, 0, 0, 0x04, 0, 0, 1, 0x07];
        assert!(take_naca(&mut t));
        assert_eq!(t, [0x28, 0x04, 0, 0, 0, 0x04, 0, 0, 1, 0x03]);
        assert!(!take_naca(&mut t));
        assert!(!take_naca(&mut [0x28, 0, 0, 0, 0, 0x04]));
        assert!(!take_naca(&mut []));
    }

    #[test]
    fn inquiry() {
        assert_eq!(
            dec(&[0x12, 0, 0, 0x01, 0x02, 0]),
            Ok(Op::Inquiry {
                evpd: false,
                page: 0,
                alloc_len: 0x0102
            })
        );
        assert_eq!(
            dec(&[0x12, 1, 0x83, 0, 0xFF, 0]),
            Ok(Op::Inquiry {
                evpd: true,
                page: 0x83,
                alloc_len: 0xFF
            })
        );
        assert_eq!(dec(&[0x12, 0, 0x80, 0, 0xFF, 0]), Err(bad(2, None)));
        assert_eq!(dec(&[0x12, 2, 0, 0, 0xFF, 0]), Err(bad(1, Some(1))));
        let c = Cdb::decode(&[0x12, 0, 0, 0, 36, 0]).unwrap();
        assert_eq!(c.opcode, INQUIRY);
        assert_eq!(c.data_dir(), DataDir::Read);
        assert_eq!(c.transfer_len(512), 36);
    }

    #[test]
    fn request_sense() {
        let c = Cdb::decode(&[0x03, 1, 0, 0, 252, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::RequestSense {
                desc: true,
                alloc_len: 252
            }
        );
        assert_eq!(c.data_dir(), DataDir::Read);
        assert_eq!(c.transfer_len(4096), 252);
    }

    #[test]
    fn report_luns() {
        let mut b = [0u8; 12];
        b[0] = REPORT_LUNS;
        b[6..10].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        for sel in [0u8, 1, 2, 0x10, 0x11] {
            b[2] = sel;
            let c = Cdb::decode(&b).unwrap();
            assert_eq!(
                c.op,
                Op::ReportLuns {
                    select_report: sel,
                    alloc_len: 0x10000
                }
            );
            assert_eq!(c.transfer_len(512), 0x10000);
        }
        for sel in [3u8, 0x0F, 0x12, 0x13, 0xF8, 0xFF] {
            b[2] = sel;
            assert_eq!(dec(&b), Err(bad(2, None)));
        }
    }

    #[test]
    fn copy_commands() {
        let mut x = [0u8; 16];
        x[0] = EXTENDED_COPY;
        x[13] = 0x40;
        let c = Cdb::decode(&x).unwrap();
        assert_eq!(c.op, Op::ExtendedCopy { param_len: 0x40 });
        assert_eq!(c.data_dir(), DataDir::Write);
        assert_eq!(c.transfer_len(512), 0x40);
        x[1] = 0x01; // LID4
        assert_eq!(dec(&x), Err(bad(1, Some(4))));
        assert!(is_unknown_command(&x), "EXTENDED COPY(LID4)");
        let mut r = [0u8; 16];
        r[0] = RECEIVE_COPY_RESULTS;
        r[1] = RCR_OPERATING_PARAMETERS;
        r[12] = 0x01;
        let c = Cdb::decode(&r).unwrap();
        assert_eq!(c.op, Op::ReceiveCopyResults { alloc_len: 0x100 });
        assert_eq!(c.data_dir(), DataDir::Read);
        assert_eq!(c.transfer_len(512), 0x100);
        for sa in [0u8, 1, 4, 5, 0x1F] {
            r[1] = sa;
            assert_eq!(dec(&r), Err(bad(1, Some(4))), "{sa:#x}");
            assert!(is_unknown_command(&r), "{sa:#x}");
        }
        assert_eq!(dec(&x[..15]), Err(BAD), "short CDB");
    }

    #[test]
    fn report_supported_tmfs() {
        let c = Cdb::decode(&[0xA3, 0x0D, 0x80, 0, 0, 0, 0, 0, 0, 0x10, 0, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::ReportSupportedTmfs {
                repd: true,
                alloc_len: 16
            }
        );
        assert_eq!(c.data_dir(), DataDir::Read);
        assert_eq!(c.transfer_len(512), 16);
        let c = Cdb::decode(&[0xA3, 0x0D, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::ReportSupportedTmfs {
                repd: false,
                alloc_len: 4
            }
        );
        for short in [0u8, 3] {
            assert_eq!(
                dec(&[0xA3, 0x0D, 0, 0, 0, 0, 0, 0, 0, short, 0, 0]),
                Err(bad(6, None))
            );
        }
    }

    #[test]
    fn read_capacity() {
        let c = Cdb::decode(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(c.op, Op::ReadCapacity10 {});
        assert_eq!(c.transfer_len(512), 8);
        assert_eq!(c.data_dir(), DataDir::Read);
        assert_eq!(dec(&[0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]), Err(bad(2, None)));
        assert_eq!(
            dec(&[0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0]),
            Ok(Op::ReadCapacity10 {})
        );
        let mut b = [0u8; 16];
        b[0] = SERVICE_ACTION_IN_16;
        b[1] = SAI_READ_CAPACITY_16;
        b[13] = 32;
        assert_eq!(dec(&b), Ok(Op::ReadCapacity16 { alloc_len: 32 }));
        b[9] = 1;
        assert_eq!(dec(&b), Err(bad(2, None)));
        b[14] = 1;
        assert_eq!(dec(&b), Ok(Op::ReadCapacity16 { alloc_len: 32 }));
        b[1] = SAI_GET_LBA_STATUS;
        assert_eq!(
            dec(&b),
            Ok(Op::GetLbaStatus {
                lba: 1,
                alloc_len: 32
            })
        );
        b[1] = 0x13;
        assert_eq!(dec(&b), Err(bad(1, Some(4))));
    }

    #[test]
    fn mode_sense() {
        assert_eq!(
            dec(&[0x1A, 0x08, 0x48, 0, 0xC0, 0]),
            Ok(Op::ModeSense {
                page: 0x08,
                subpage: 0,
                pc: 1,
                dbd: true,
                llbaa: false,
                alloc_len: 0xC0,
                ten: false
            })
        );
        // LLBAA bit is ignored in MODE SENSE(6).
        assert_eq!(
            dec(&[0x1A, 0x10, 0xFF, 0xFF, 4, 0]),
            Ok(Op::ModeSense {
                page: 0x3F,
                subpage: 0xFF,
                pc: 3,
                dbd: false,
                llbaa: false,
                alloc_len: 4,
                ten: false
            })
        );
        let c = Cdb::decode(&[0x5A, 0x10, 0x0A, 0, 0, 0, 0, 0x12, 0x34, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::ModeSense {
                page: 0x0A,
                subpage: 0,
                pc: 0,
                dbd: false,
                llbaa: true,
                alloc_len: 0x1234,
                ten: true
            }
        );
        assert_eq!(c.transfer_len(512), 0x1234);
    }

    #[test]
    fn mode_select() {
        let c = Cdb::decode(&[0x15, 0x11, 0, 0, 24, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::ModeSelect {
                pf: true,
                sp: true,
                param_len: 24,
                ten: false
            }
        );
        assert_eq!(c.data_dir(), DataDir::Write);
        assert_eq!(c.transfer_len(512), 24);
        let c = Cdb::decode(&[0x55, 0x10, 0, 0, 0, 0, 0, 0x01, 0x00, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::ModeSelect {
                pf: true,
                sp: false,
                param_len: 256,
                ten: true
            }
        );
    }

    #[test]
    fn read_write_6() {
        let c = Cdb::decode(&[0x08, 0x1F, 0xFF, 0xFE, 0, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::Read {
                lba: 0x1F_FFFE,
                blocks: 256,
                fua: false
            }
        );
        assert_eq!(c.transfer_len(512), 256 * 512);
        assert_eq!(c.data_dir(), DataDir::Read);
        // Bits 7..5 of byte 1 (old LUN field) are ignored for the 6-byte commands.
        let c = Cdb::decode(&[0x0A, 0xE0, 0x00, 0x10, 8, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::Write {
                lba: 0x10,
                blocks: 8,
                fua: false
            }
        );
        assert_eq!(c.data_dir(), DataDir::Write);
        assert_eq!(c.transfer_len(4096), 8 * 4096);
    }

    #[test]
    fn read_write_10_12_16() {
        let r10 = [0x28, 0x08, 0x12, 0x34, 0x56, 0x78, 0, 0xAB, 0xCD, 0];
        assert_eq!(
            dec(&r10),
            Ok(Op::Read {
                lba: 0x1234_5678,
                blocks: 0xABCD,
                fua: true
            })
        );
        let w10 = [0x2A, 0x10, 0, 0, 0, 1, 0x1F, 0, 0, 0];
        assert_eq!(
            dec(&w10),
            Ok(Op::Write {
                lba: 1,
                blocks: 0,
                fua: false
            })
        );
        let r12 = [0xA8, 0, 0, 0, 0, 2, 0x01, 0x02, 0x03, 0x04, 0, 0];
        assert_eq!(
            dec(&r12),
            Ok(Op::Read {
                lba: 2,
                blocks: 0x0102_0304,
                fua: false
            })
        );
        let w12 = [0xAA, 0x08, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0];
        assert_eq!(
            dec(&w12),
            Ok(Op::Write {
                lba: 2,
                blocks: 9,
                fua: true
            })
        );
        let mut r16 = [0u8; 16];
        r16[0] = READ_16;
        r16[2..10].copy_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        r16[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
        let c = Cdb::decode(&r16).unwrap();
        assert_eq!(
            c.op,
            Op::Read {
                lba: 0x0102_0304_0506_0708,
                blocks: u32::MAX,
                fua: false
            }
        );
        assert_eq!(c.transfer_len(4096), u64::from(u32::MAX) * 4096);
        r16[0] = WRITE_16;
        r16[1] = 0x08;
        assert_eq!(
            dec(&r16),
            Ok(Op::Write {
                lba: 0x0102_0304_0506_0708,
                blocks: u32::MAX,
                fua: true
            })
        );
        // Protection information requested: rejected.
        for p in [0x20u8, 0x40, 0x80] {
            for op in [READ_10, WRITE_10, READ_12, WRITE_12, READ_16, WRITE_16] {
                let mut b = [0u8; 16];
                b[0] = op;
                b[1] = p;
                assert_eq!(dec(&b), Err(bad(1, Some(7))), "{op:#x} {p:#x}");
            }
        }
    }

    #[test]
    fn sync_cache() {
        let c = Cdb::decode(&[0x35, 0x02, 0, 0, 0, 5, 0, 0, 3, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::SyncCache {
                lba: 5,
                blocks: 3,
                immed: true
            }
        );
        assert_eq!(c.data_dir(), DataDir::None);
        assert_eq!(c.transfer_len(512), 0);
        let mut b = [0u8; 16];
        b[0] = SYNCHRONIZE_CACHE_16;
        b[9] = 7;
        b[13] = 1;
        assert_eq!(
            dec(&b),
            Ok(Op::SyncCache {
                lba: 7,
                blocks: 1,
                immed: false
            })
        );
    }

    #[test]
    fn start_stop_prevent_tur() {
        assert_eq!(
            dec(&[0x1B, 1, 0, 0, 0x03, 0]),
            Ok(Op::StartStopUnit {
                start: true,
                loej: true,
                immed: true
            })
        );
        assert_eq!(
            dec(&[0x1B, 0, 0, 0, 0x04, 0]),
            Ok(Op::StartStopUnit {
                start: false,
                loej: false,
                immed: false
            })
        );
        assert_eq!(dec(&[0x1B, 0, 0, 0, 0x11, 0]), Err(bad(4, Some(7))));
        let c = Cdb::decode(&[0x1E, 0, 0, 0, 0xFF, 0]).unwrap();
        assert_eq!(c.op, Op::PreventAllowMediumRemoval { prevent: 3 });
        assert_eq!(c.data_dir(), DataDir::None);
        let c = Cdb::decode(&[0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(c.op, Op::TestUnitReady);
        assert_eq!(c.data_dir(), DataDir::None);
        assert_eq!(c.transfer_len(512), 0);
    }

    #[test]
    fn verify() {
        let c = Cdb::decode(&[0x2F, 0, 0, 0, 0, 9, 0, 0, 4, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::Verify {
                lba: 9,
                blocks: 4,
                bytchk: 0
            }
        );
        assert_eq!(c.data_dir(), DataDir::None);
        assert_eq!(c.transfer_len(512), 0);
        let c = Cdb::decode(&[0x2F, 0x02, 0, 0, 0, 9, 0, 0, 4, 0]).unwrap();
        assert_eq!(c.data_dir(), DataDir::Write);
        assert_eq!(c.transfer_len(512), 2048);
        let c = Cdb::decode(&[0x2F, 0x06, 0, 0, 0, 9, 0, 0, 4, 0]).unwrap();
        assert_eq!(c.transfer_len(512), 512);
        assert_eq!(
            dec(&[0x2F, 0x04, 0, 0, 0, 9, 0, 0, 4, 0]),
            Err(bad(1, Some(2)))
        );
        assert_eq!(
            dec(&[0x2F, 0x20, 0, 0, 0, 9, 0, 0, 4, 0]),
            Err(bad(1, Some(7)))
        );
        assert_eq!(
            dec(&[0xAF, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]),
            Ok(Op::Verify {
                lba: 1,
                blocks: 2,
                bytchk: 0
            })
        );
        let mut b = [0u8; 16];
        b[0] = VERIFY_16;
        b[9] = 3;
        b[13] = 5;
        assert_eq!(
            dec(&b),
            Ok(Op::Verify {
                lba: 3,
                blocks: 5,
                bytchk: 0
            })
        );
    }

    #[test]
    fn write_and_verify() {
        let c = Cdb::decode(&[0x2E, 0x02, 0, 0, 0, 9, 0, 0, 4, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::WriteAndVerify {
                lba: 9,
                blocks: 4,
                compare: true
            }
        );
        assert_eq!(c.data_dir(), DataDir::Write);
        assert_eq!(c.transfer_len(512), 2048);
        assert_eq!(
            dec(&[0x2E, 0, 0, 0, 0, 9, 0, 0, 4, 0]),
            Ok(Op::WriteAndVerify {
                lba: 9,
                blocks: 4,
                compare: false
            })
        );
        assert_eq!(
            dec(&[0x2E, 0x04, 0, 0, 0, 9, 0, 0, 4, 0]),
            Err(bad(1, Some(2)))
        );
        assert_eq!(
            dec(&[0x2E, 0x06, 0, 0, 0, 9, 0, 0, 4, 0]),
            Err(bad(1, Some(2)))
        );
        assert_eq!(
            dec(&[0x2E, 0x40, 0, 0, 0, 9, 0, 0, 4, 0]),
            Err(bad(1, Some(7)))
        );
        assert_eq!(
            dec(&[0xAE, 0x02, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]),
            Ok(Op::WriteAndVerify {
                lba: 1,
                blocks: 2,
                compare: true
            })
        );
        let mut b = [0u8; 16];
        b[0] = WRITE_AND_VERIFY_16;
        b[9] = 3;
        b[13] = 5;
        assert_eq!(
            dec(&b),
            Ok(Op::WriteAndVerify {
                lba: 3,
                blocks: 5,
                compare: false
            })
        );
    }

    #[test]
    fn compare_and_write() {
        let mut b = [0u8; 16];
        b[0] = COMPARE_AND_WRITE;
        b[1] = 0x08;
        b[2] = 1;
        b[9] = 7;
        b[10] = 0xFF; // reserved
        b[13] = 3;
        let c = Cdb::decode(&b).unwrap();
        assert_eq!(
            c.op,
            Op::CompareAndWrite {
                lba: (1 << 56) | 7,
                blocks: 3,
                fua: true
            }
        );
        assert_eq!(c.data_dir(), DataDir::Write);
        assert_eq!(c.transfer_len(4096), 6 * 4096);
        b[1] = 0x20;
        assert_eq!(dec(&b), Err(bad(1, Some(7))));
    }

    #[test]
    fn pre_fetch() {
        let c = Cdb::decode(&[0x34, 0x02, 0, 0, 1, 0, 0, 0, 8, 0]).unwrap();
        assert_eq!(
            c.op,
            Op::PreFetch {
                lba: 256,
                blocks: 8,
                immed: true
            }
        );
        assert_eq!(c.data_dir(), DataDir::None);
        assert_eq!(c.transfer_len(512), 0);
        let mut b = [0u8; 16];
        b[0] = PRE_FETCH_16;
        b[9] = 4;
        b[12] = 1;
        assert_eq!(
            dec(&b),
            Ok(Op::PreFetch {
                lba: 4,
                blocks: 256,
                immed: false
            })
        );
    }

    #[test]
    fn rsoc() {
        let b = [0xA3, 0x0C, 0x82, 0x9E, 0x00, 0x10, 0, 0, 0x10, 0, 0, 0];
        let c = Cdb::decode(&b).unwrap();
        assert_eq!(
            c.op,
            Op::ReportSupportedOpcodes {
                rctd: true,
                options: 2,
                req_opcode: 0x9E,
                req_sa: 0x10,
                alloc_len: 0x1000
            }
        );
        assert_eq!(c.data_dir(), DataDir::Read);
        assert_eq!(c.transfer_len(512), 0x1000);
        let mut bad_options = b;
        bad_options[2] = 0x04;
        assert_eq!(dec(&bad_options), Err(bad(2, Some(2))));
        let mut other_sa = b;
        other_sa[1] = 0x0B;
        assert_eq!(dec(&other_sa), Err(bad(1, Some(4))));
    }

    #[test]
    fn target_port_groups() {
        let rtpg = [MAINTENANCE_IN, 0x0A, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0];
        let c = Cdb::decode(&rtpg).unwrap();
        assert_eq!(
            c.op,
            Op::ReportTargetPortGroups {
                extended: false,
                alloc_len: 0x200
            }
        );
        assert_eq!((c.data_dir(), c.transfer_len(512)), (DataDir::Read, 0x200));
        let mut ext = rtpg;
        ext[1] = 0x2A;
        assert_eq!(
            Cdb::decode(&ext).unwrap().op,
            Op::ReportTargetPortGroups {
                extended: true,
                alloc_len: 0x200
            }
        );
        for format in [2u8, 3, 7] {
            let mut f = rtpg;
            f[1] = format << 5 | 0x0A;
            assert_eq!(dec(&f), Err(bad(1, Some(7))));
        }
        let stpg = [MAINTENANCE_OUT, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0x0C, 0, 0];
        let c = Cdb::decode(&stpg).unwrap();
        assert_eq!(c.op, Op::SetTargetPortGroups { param_len: 12 });
        assert_eq!((c.data_dir(), c.transfer_len(512)), (DataDir::Write, 12));
        let mut other = stpg;
        other[1] = 0x06;
        assert_eq!(dec(&other), Err(bad(1, Some(4))));
        assert!(is_unknown_command(&other));
        assert!(!is_unknown_command(&stpg) && !is_unknown_command(&rtpg));
    }

    #[test]
    fn unknown_commands_are_unknown_opcodes_or_service_actions() {
        assert!(
            is_unknown_command(&[0xC0, 0, 0, 0, 0, 0]),
            "vendor specific"
        );
        assert!(
            is_unknown_command(&[0x3B, 0x01, 0, 0, 0, 0, 0, 0, 0x18, 0]),
            "WRITE BUFFER"
        );
        assert!(
            is_unknown_command(&[0x9E, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0]),
            "SERVICE ACTION IN(16) 13h"
        );
        assert!(
            !is_unknown_command(&[0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0]),
            "GET LBA STATUS"
        );
        assert!(
            !is_unknown_command(&[0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0]),
            "READ CAPACITY(16)"
        );
        assert!(
            is_unknown_command(&[0xA3, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "REPORT IDENTIFYING INFORMATION"
        );
        assert!(
            !is_unknown_command(&[0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]),
            "REPORT SUPPORTED OPERATION CODES"
        );
        assert!(
            !is_unknown_command(&[0xA3, 0x0D, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0]),
            "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS"
        );
        // READ(10) with a bad field (RDPROTECT).
        assert!(!is_unknown_command(&[0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0]));
        assert!(!is_unknown_command(&[]));
    }

    #[test]
    fn medium_writes_are_told_from_other_data_out() {
        for w in [
            &[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0][..],
            &[0x0A, 0, 0, 0, 1, 0],
            &[0x93; 16],
            &[0x42; 10],
            &[0x04; 6],
            &[0x48; 10],
            &[0x89; 16],
        ] {
            assert!(writes_medium(w), "{:#x}", w[0]);
        }
        let mut write32 = [0u8; 32];
        write32[0] = 0x7F;
        write32[9] = 0x0B;
        assert!(writes_medium(&write32));
        write32[9] = 0x09; // READ(32)
        assert!(!writes_medium(&write32));
        // PERSISTENT RESERVE OUT, WRITE BUFFER, LOG SELECT, SEND DIAGNOSTIC,
        // MODE SELECT(10), READ(10): not medium changes.
        for n in [0x5F, 0x3B, 0x4C, 0x1D, 0x55, 0x28] {
            assert!(!writes_medium(&[n, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "{n:#x}");
        }
        assert!(writes_medium(&[
            0x9F, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
        assert!(!writes_medium(&[
            0x9F, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
        assert!(!writes_medium(&[]));
    }
}
