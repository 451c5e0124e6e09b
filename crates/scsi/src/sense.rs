// SPDX-License-Identifier: GPL-2.0
//! Sense data (SPC-4 4.5): the sense key / ASC / ASCQ triple and its fixed and descriptor
//! encodings.

pub use super::status;
use super::wr::{get_u8, Wr};

/// Sense buffer size the crate produces (fixed format, no additional bytes).
pub const SENSE_LEN: usize = 18;

/// Response code of current fixed-format sense data.
pub const RESPONSE_FIXED_CURRENT: u8 = 0x70;
/// Response code of deferred fixed-format sense data.
pub const RESPONSE_FIXED_DEFERRED: u8 = 0x71;
/// Response code of current descriptor-format sense data.
pub const RESPONSE_DESC_CURRENT: u8 = 0x72;
/// Response code of deferred descriptor-format sense data.
pub const RESPONSE_DESC_DEFERRED: u8 = 0x73;

/// Sense key values (SPC-4 table 27).
pub mod key {
    /// No specific sense key information.
    pub const NO_SENSE: u8 = 0x0;
    /// The command completed after recovery action.
    pub const RECOVERED_ERROR: u8 = 0x1;
    /// The logical unit is not accessible.
    pub const NOT_READY: u8 = 0x2;
    /// Non-recoverable medium error.
    pub const MEDIUM_ERROR: u8 = 0x3;
    /// Non-recoverable hardware failure.
    pub const HARDWARE_ERROR: u8 = 0x4;
    /// Illegal value in the CDB or parameter data.
    pub const ILLEGAL_REQUEST: u8 = 0x5;
    /// A unit attention condition is being reported.
    pub const UNIT_ATTENTION: u8 = 0x6;
    /// The medium is protected against the attempted operation.
    pub const DATA_PROTECT: u8 = 0x7;
    /// Blank or end-of-data encountered.
    pub const BLANK_CHECK: u8 = 0x8;
    /// Vendor specific.
    pub const VENDOR_SPECIFIC: u8 = 0x9;
    /// A copy command was aborted.
    pub const COPY_ABORTED: u8 = 0xA;
    /// The device server aborted the command.
    pub const ABORTED_COMMAND: u8 = 0xB;
    /// The medium end was reached with data still buffered.
    pub const VOLUME_OVERFLOW: u8 = 0xD;
    /// Source data did not match the medium.
    pub const MISCOMPARE: u8 = 0xE;
}

/// Where the invalid field of an ILLEGAL REQUEST is (SPC-4 4.5.2.4.2, the FIELD POINTER
/// form of the sense-key specific bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPointer {
    /// In the CDB (C/D set) rather than in the parameter data.
    pub in_cdb: bool,
    /// The field's (first) byte.
    pub byte: u16,
    /// The field's most significant bit (0 to 7), when the field is part of a byte; None
    /// for a field of whole bytes (BPV clear).
    pub bit: Option<u8>,
}

impl FieldPointer {
    /// The three sense-key specific bytes: SKSV, C/D, BPV and BIT POINTER, then FIELD
    /// POINTER.
    pub const fn bytes(self) -> [u8; 3] {
        let cd = if self.in_cdb { 0x40 } else { 0 };
        let bpv = match self.bit {
            Some(b) => 0x08 | (b & 0x07),
            None => 0,
        };
        let [hi, lo] = self.byte.to_be_bytes();
        [0x80 | cd | bpv, hi, lo]
    }
}

/// A SCSI sense triple, with the invalid field's position for ILLEGAL REQUEST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sense {
    /// Sense key (4 bits, see [`key`]).
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// The invalid field (INVALID FIELD IN CDB or IN PARAMETER LIST), when known.
    pub field: Option<FieldPointer>,
    /// The INFORMATION field (SPC-4 4.5.2.1 and 4.5.3): for MISCOMPARE, the offset of the
    /// first byte that differed.
    pub info: Option<u64>,
}

impl Sense {
    /// Builds a sense triple.
    pub const fn new(key: u8, asc: u8, ascq: u8) -> Self {
        Sense {
            key,
            asc,
            ascq,
            field: None,
            info: None,
        }
    }

    /// The same sense with the INFORMATION field set to `info`.
    pub const fn with_info(self, info: u64) -> Self {
        Sense {
            info: Some(info),
            ..self
        }
    }

    /// The same sense, pointing at `byte` (and `bit`, the field's most significant bit, for
    /// a field within a byte) of the CDB.
    pub const fn in_cdb(self, byte: u16, bit: Option<u8>) -> Self {
        Sense {
            field: Some(FieldPointer {
                in_cdb: true,
                byte,
                bit,
            }),
            ..self
        }
    }

    /// The same sense, pointing at `byte` (and `bit`) of the parameter data; a byte beyond
    /// 65535 cannot be pointed at.
    pub fn in_param(self, byte: usize, bit: Option<u8>) -> Self {
        Sense {
            field: u16::try_from(byte).ok().map(|byte| FieldPointer {
                in_cdb: false,
                byte,
                bit,
            }),
            ..self
        }
    }

    /// Key, ASC and ASCQ: the condition, whatever field it points at.
    pub const fn code(&self) -> (u8, u8, u8) {
        (self.key, self.asc, self.ascq)
    }

    /// 00/00/00 NO ADDITIONAL SENSE INFORMATION.
    pub const NO_SENSE: Sense = Sense::new(key::NO_SENSE, 0x00, 0x00);
    /// 02/04/00 LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE.
    pub const LOGICAL_UNIT_NOT_READY: Sense = Sense::new(key::NOT_READY, 0x04, 0x00);
    /// 02/04/01 LOGICAL UNIT IS IN PROCESS OF BECOMING READY.
    pub const LOGICAL_UNIT_BECOMING_READY: Sense = Sense::new(key::NOT_READY, 0x04, 0x01);
    /// 02/04/03 LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED.
    pub const LOGICAL_UNIT_NOT_READY_MANUAL: Sense = Sense::new(key::NOT_READY, 0x04, 0x03);
    /// 02/04/0A LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION.
    pub const ASYMMETRIC_ACCESS_STATE_TRANSITION: Sense = Sense::new(key::NOT_READY, 0x04, 0x0A);
    /// 02/04/0B LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE.
    pub const TARGET_PORT_IN_STANDBY_STATE: Sense = Sense::new(key::NOT_READY, 0x04, 0x0B);
    /// 02/04/0C LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE.
    pub const TARGET_PORT_IN_UNAVAILABLE_STATE: Sense = Sense::new(key::NOT_READY, 0x04, 0x0C);
    /// 02/3A/00 MEDIUM NOT PRESENT.
    pub const MEDIUM_NOT_PRESENT: Sense = Sense::new(key::NOT_READY, 0x3A, 0x00);
    /// 03/0C/00 WRITE ERROR.
    pub const WRITE_ERROR: Sense = Sense::new(key::MEDIUM_ERROR, 0x0C, 0x00);
    /// 03/11/00 UNRECOVERED READ ERROR.
    pub const READ_ERROR: Sense = Sense::new(key::MEDIUM_ERROR, 0x11, 0x00);
    /// 04/08/00 LOGICAL UNIT COMMUNICATION FAILURE.
    pub const LOGICAL_UNIT_COMMUNICATION_FAILURE: Sense =
        Sense::new(key::HARDWARE_ERROR, 0x08, 0x00);
    /// 04/44/00 INTERNAL TARGET FAILURE.
    pub const INTERNAL_TARGET_FAILURE: Sense = Sense::new(key::HARDWARE_ERROR, 0x44, 0x00);
    /// 05/1A/00 PARAMETER LIST LENGTH ERROR.
    pub const PARAMETER_LIST_LENGTH_ERROR: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x1A, 0x00);
    /// 05/20/00 INVALID COMMAND OPERATION CODE.
    pub const INVALID_OPCODE: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x20, 0x00);
    /// 05/21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE.
    pub const LBA_OUT_OF_RANGE: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x21, 0x00);
    /// 05/24/00 INVALID FIELD IN CDB.
    pub const INVALID_FIELD_IN_CDB: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x24, 0x00);
    /// 05/25/00 LOGICAL UNIT NOT SUPPORTED.
    pub const LUN_NOT_SUPPORTED: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x25, 0x00);
    /// 05/26/00 INVALID FIELD IN PARAMETER LIST.
    pub const INVALID_FIELD_IN_PARAMETER_LIST: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x26, 0x00);
    /// 05/26/01 PARAMETER NOT SUPPORTED.
    pub const PARAMETER_NOT_SUPPORTED: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x26, 0x01);
    /// 05/26/02 PARAMETER VALUE INVALID.
    pub const PARAMETER_VALUE_INVALID: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x26, 0x02);
    /// 05/26/04 INVALID RELEASE OF PERSISTENT RESERVATION.
    pub const INVALID_RELEASE_OF_PERSISTENT_RESERVATION: Sense =
        Sense::new(key::ILLEGAL_REQUEST, 0x26, 0x04);
    /// 05/2C/00 COMMAND SEQUENCE ERROR.
    pub const COMMAND_SEQUENCE_ERROR: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x2C, 0x00);
    /// 05/39/00 SAVING PARAMETERS NOT SUPPORTED.
    pub const SAVING_PARAMETERS_NOT_SUPPORTED: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x39, 0x00);
    /// 05/53/02 MEDIUM REMOVAL PREVENTED.
    pub const MEDIUM_REMOVAL_PREVENTED: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x53, 0x02);
    /// 05/55/03 INSUFFICIENT RESOURCES.
    pub const INSUFFICIENT_RESOURCES: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x55, 0x03);
    /// 06/29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    pub const POWER_ON_RESET: Sense = Sense::new(key::UNIT_ATTENTION, 0x29, 0x00);
    /// 06/29/03 BUS DEVICE RESET FUNCTION OCCURRED (logical unit reset).
    pub const BUS_DEVICE_RESET: Sense = Sense::new(key::UNIT_ATTENTION, 0x29, 0x03);
    /// 06/29/07 I_T NEXUS LOSS OCCURRED.
    pub const I_T_NEXUS_LOSS: Sense = Sense::new(key::UNIT_ATTENTION, 0x29, 0x07);
    /// 06/2A/01 MODE PARAMETERS CHANGED.
    pub const MODE_PARAMETERS_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2A, 0x01);
    /// 06/2A/03 RESERVATIONS PREEMPTED.
    pub const RESERVATIONS_PREEMPTED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2A, 0x03);
    /// 06/2A/04 RESERVATIONS RELEASED.
    pub const RESERVATIONS_RELEASED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2A, 0x04);
    /// 06/2A/05 REGISTRATIONS PREEMPTED.
    pub const REGISTRATIONS_PREEMPTED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2A, 0x05);
    /// 06/2A/06 ASYMMETRIC ACCESS STATE CHANGED.
    pub const ASYMMETRIC_ACCESS_STATE_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2A, 0x06);
    /// 06/2A/09 CAPACITY DATA HAS CHANGED.
    pub const CAPACITY_DATA_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2A, 0x09);
    /// 06/2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR.
    pub const COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: Sense =
        Sense::new(key::UNIT_ATTENTION, 0x2F, 0x00);
    /// 06/3F/03 INQUIRY DATA HAS CHANGED.
    pub const INQUIRY_DATA_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x3F, 0x03);
    /// 06/3F/0E REPORTED LUNS DATA HAS CHANGED.
    pub const REPORTED_LUNS_DATA_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x3F, 0x0E);
    /// 07/27/00 WRITE PROTECTED.
    pub const WRITE_PROTECTED: Sense = Sense::new(key::DATA_PROTECT, 0x27, 0x00);
    /// 0B/00/00 ABORTED COMMAND, no additional sense information.
    pub const ABORTED_COMMAND: Sense = Sense::new(key::ABORTED_COMMAND, 0x00, 0x00);
    /// 0B/0E/03 INVALID FIELD IN COMMAND INFORMATION UNIT.
    pub const INVALID_FIELD_IN_COMMAND_IU: Sense = Sense::new(key::ABORTED_COMMAND, 0x0E, 0x03);
    /// 0B/47/00 SCSI PARITY ERROR (used for transport digest errors).
    pub const SCSI_PARITY_ERROR: Sense = Sense::new(key::ABORTED_COMMAND, 0x47, 0x00);
    /// 0B/49/00 INVALID MESSAGE ERROR.
    ///
    /// SPC-4 pairs ASC 49h with the ABORTED COMMAND sense key: the transport delivered a
    /// message (e.g. an iSCSI PDU) the target could not accept, and a retry may succeed.
    pub const INVALID_MESSAGE: Sense = Sense::new(key::ABORTED_COMMAND, 0x49, 0x00);
    /// 05/49/00 INVALID MESSAGE ERROR with ILLEGAL REQUEST: a task attribute the logical
    /// unit does not take: ACA while no ACA condition is established (SAM-5 8.6.5), or a
    /// code that is no attribute. SCST answers both so.
    pub const INVALID_TASK_ATTRIBUTE: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x49, 0x00);
    /// 0B/4B/00 DATA PHASE ERROR.
    pub const DATA_PHASE_ERROR: Sense = Sense::new(key::ABORTED_COMMAND, 0x4B, 0x00);
    /// 0B/4E/00 OVERLAPPED COMMANDS ATTEMPTED.
    pub const OVERLAPPED_COMMANDS: Sense = Sense::new(key::ABORTED_COMMAND, 0x4E, 0x00);
    /// 0E/1D/00 MISCOMPARE DURING VERIFY OPERATION.
    pub const MISCOMPARE_DURING_VERIFY: Sense = Sense::new(key::MISCOMPARE, 0x1D, 0x00);

    /// Writes fixed-format (0x70, current) sense into `out`, returns bytes written (18, or
    /// fewer if `out` is shorter: truncates, never panics). The INFORMATION field is valid
    /// (VALID set) when the sense carries information that fits its four bytes; larger
    /// information needs descriptor format.
    pub fn write_fixed(&self, out: &mut [u8]) -> usize {
        let info = self.info.and_then(|i| u32::try_from(i).ok());
        let mut w = Wr::new(out, SENSE_LEN);
        let valid = if info.is_some() { 0x80 } else { 0 };
        w.u8(valid | RESPONSE_FIXED_CURRENT);
        w.u8(0); // obsolete
        w.u8(self.key & 0x0F); // FILEMARK, EOM, ILI all zero
        w.be32(info.unwrap_or(0));
        w.u8(10); // additional sense length: bytes 8..18
        w.be32(0); // command-specific information
        w.u8(self.asc);
        w.u8(self.ascq);
        w.u8(0); // field replaceable unit code
        match self.field {
            Some(f) => w.bytes(&f.bytes()),
            None => w.zeros(3), // SKSV clear
        }
        w.finish()
    }

    /// Descriptor format (0x72, current): the 8-byte header, then the information
    /// descriptor (00h, 12 bytes) when the sense carries information, then the sense-key
    /// specific descriptor (02h, 8 bytes) when it carries a field pointer; truncates to
    /// `out.len()`. Returns bytes written.
    pub fn write_descriptor(&self, out: &mut [u8]) -> usize {
        let info_len: u8 = if self.info.is_some() { 12 } else { 0 };
        let field_len: u8 = if self.field.is_some() { 8 } else { 0 };
        let extra = info_len.saturating_add(field_len);
        let mut w = Wr::new(out, usize::from(extra).saturating_add(8));
        w.u8(RESPONSE_DESC_CURRENT);
        w.u8(self.key & 0x0F);
        w.u8(self.asc);
        w.u8(self.ascq);
        w.zeros(3); // SDAT_OVFL and reserved
        w.u8(extra); // additional sense length
        if let Some(info) = self.info {
            w.u8(0x00); // information
            w.u8(0x0A); // additional length
            w.u8(0x80); // VALID
            w.u8(0);
            w.be64(info);
        }
        if let Some(f) = self.field {
            w.u8(0x02); // sense key specific
            w.u8(0x06); // additional length
            w.zeros(2);
            w.bytes(&f.bytes());
            w.u8(0);
        }
        w.finish()
    }

    /// Parses fixed (0x70/0x71, at least 14 bytes) or descriptor (0x72/0x73, at least 4
    /// bytes) sense data back into a [`Sense`]; `None` if too short or the response code is
    /// unknown.
    pub fn parse(bytes: &[u8]) -> Option<Sense> {
        let code = bytes.first()? & 0x7F;
        match code {
            RESPONSE_FIXED_CURRENT | RESPONSE_FIXED_DEFERRED if bytes.len() >= 14 => {
                Some(Sense::new(
                    get_u8(bytes, 2) & 0x0F,
                    get_u8(bytes, 12),
                    get_u8(bytes, 13),
                ))
            }
            RESPONSE_DESC_CURRENT | RESPONSE_DESC_DEFERRED if bytes.len() >= 4 => Some(Sense::new(
                get_u8(bytes, 1) & 0x0F,
                get_u8(bytes, 2),
                get_u8(bytes, 3),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(s: Sense) -> [u8; 18] {
        let mut b = [0xEEu8; 18];
        assert_eq!(s.write_fixed(&mut b), 18);
        b
    }

    #[test]
    fn all_named_codes() {
        let table: &[(Sense, [u8; 3])] = &[
            (Sense::INVALID_OPCODE, [0x05, 0x20, 0x00]),
            (Sense::INVALID_FIELD_IN_CDB, [0x05, 0x24, 0x00]),
            (Sense::LBA_OUT_OF_RANGE, [0x05, 0x21, 0x00]),
            (Sense::LUN_NOT_SUPPORTED, [0x05, 0x25, 0x00]),
            (Sense::WRITE_PROTECTED, [0x07, 0x27, 0x00]),
            (Sense::PARAMETER_LIST_LENGTH_ERROR, [0x05, 0x1A, 0x00]),
            (Sense::INVALID_FIELD_IN_PARAMETER_LIST, [0x05, 0x26, 0x00]),
            (Sense::SAVING_PARAMETERS_NOT_SUPPORTED, [0x05, 0x39, 0x00]),
            (Sense::READ_ERROR, [0x03, 0x11, 0x00]),
            (Sense::WRITE_ERROR, [0x03, 0x0C, 0x00]),
            (Sense::INTERNAL_TARGET_FAILURE, [0x04, 0x44, 0x00]),
            (Sense::NO_SENSE, [0x00, 0x00, 0x00]),
            (Sense::POWER_ON_RESET, [0x06, 0x29, 0x00]),
            (Sense::REPORTED_LUNS_DATA_CHANGED, [0x06, 0x3F, 0x0E]),
            (
                Sense::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR,
                [0x06, 0x2F, 0x00],
            ),
            (Sense::CAPACITY_DATA_CHANGED, [0x06, 0x2A, 0x09]),
            (Sense::MODE_PARAMETERS_CHANGED, [0x06, 0x2A, 0x01]),
            (Sense::ABORTED_COMMAND, [0x0B, 0x00, 0x00]),
            (Sense::LOGICAL_UNIT_NOT_READY_MANUAL, [0x02, 0x04, 0x03]),
            (Sense::OVERLAPPED_COMMANDS, [0x0B, 0x4E, 0x00]),
            (Sense::INVALID_MESSAGE, [0x0B, 0x49, 0x00]),
            (Sense::LOGICAL_UNIT_NOT_READY, [0x02, 0x04, 0x00]),
            (Sense::LOGICAL_UNIT_BECOMING_READY, [0x02, 0x04, 0x01]),
            (
                Sense::ASYMMETRIC_ACCESS_STATE_TRANSITION,
                [0x02, 0x04, 0x0A],
            ),
            (Sense::TARGET_PORT_IN_STANDBY_STATE, [0x02, 0x04, 0x0B]),
            (Sense::TARGET_PORT_IN_UNAVAILABLE_STATE, [0x02, 0x04, 0x0C]),
            (Sense::MEDIUM_NOT_PRESENT, [0x02, 0x3A, 0x00]),
            (
                Sense::LOGICAL_UNIT_COMMUNICATION_FAILURE,
                [0x04, 0x08, 0x00],
            ),
            (Sense::PARAMETER_NOT_SUPPORTED, [0x05, 0x26, 0x01]),
            (Sense::PARAMETER_VALUE_INVALID, [0x05, 0x26, 0x02]),
            (
                Sense::INVALID_RELEASE_OF_PERSISTENT_RESERVATION,
                [0x05, 0x26, 0x04],
            ),
            (Sense::COMMAND_SEQUENCE_ERROR, [0x05, 0x2C, 0x00]),
            (Sense::MEDIUM_REMOVAL_PREVENTED, [0x05, 0x53, 0x02]),
            (Sense::INSUFFICIENT_RESOURCES, [0x05, 0x55, 0x03]),
            (Sense::BUS_DEVICE_RESET, [0x06, 0x29, 0x03]),
            (Sense::I_T_NEXUS_LOSS, [0x06, 0x29, 0x07]),
            (Sense::RESERVATIONS_PREEMPTED, [0x06, 0x2A, 0x03]),
            (Sense::RESERVATIONS_RELEASED, [0x06, 0x2A, 0x04]),
            (Sense::REGISTRATIONS_PREEMPTED, [0x06, 0x2A, 0x05]),
            (Sense::ASYMMETRIC_ACCESS_STATE_CHANGED, [0x06, 0x2A, 0x06]),
            (Sense::INQUIRY_DATA_CHANGED, [0x06, 0x3F, 0x03]),
            (Sense::INVALID_FIELD_IN_COMMAND_IU, [0x0B, 0x0E, 0x03]),
            (Sense::SCSI_PARITY_ERROR, [0x0B, 0x47, 0x00]),
            (Sense::DATA_PHASE_ERROR, [0x0B, 0x4B, 0x00]),
            (Sense::MISCOMPARE_DURING_VERIFY, [0x0E, 0x1D, 0x00]),
        ];
        for &(s, [k, asc, ascq]) in table {
            assert_eq!((s.key, s.asc, s.ascq), (k, asc, ascq), "{s:?}");
            let b = fixed(s);
            let want = [
                0x70, 0, k, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0,
            ];
            assert_eq!(b, want, "{s:?}");
            assert_eq!(Sense::parse(&b), Some(s));
            let mut d = [0xEEu8; 8];
            assert_eq!(s.write_descriptor(&mut d), 8);
            assert_eq!(d, [0x72, k, asc, ascq, 0, 0, 0, 0]);
            assert_eq!(Sense::parse(&d), Some(s));
        }
    }

    #[test]
    fn field_pointers_in_fixed_and_descriptor_sense() {
        // INVALID FIELD IN CDB at byte 1 bit 4 (a service action field).
        let s = Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(4));
        assert_eq!(
            fixed(s),
            [0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0xCC, 0, 1]
        );
        let mut d = [0xEEu8; 18];
        assert_eq!(s.write_descriptor(&mut d), 16);
        assert_eq!(
            &d[..16],
            &[0x72, 5, 0x24, 0, 0, 0, 0, 8, 0x02, 0x06, 0, 0, 0xCC, 0, 1, 0]
        );
        assert_eq!(d[16], 0xEE);
        // INVALID FIELD IN PARAMETER LIST at byte 300, whole bytes: C/D and BPV clear.
        let p = Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(300, None);
        assert_eq!(&fixed(p)[15..], &[0x80, 0x01, 0x2C]);
        assert_eq!(p.code(), Sense::INVALID_FIELD_IN_PARAMETER_LIST.code());
        // Beyond what the field can hold: no pointer rather than a wrong one.
        assert_eq!(
            Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(70_000, Some(1)),
            Sense::INVALID_FIELD_IN_PARAMETER_LIST
        );
        // Parsing keeps the condition (the pointer is not read back).
        assert_eq!(Sense::parse(&fixed(s)), Some(Sense::INVALID_FIELD_IN_CDB));
    }

    #[test]
    fn fixed_with_info() {
        let s = Sense::LBA_OUT_OF_RANGE.with_info(0x1234_5678);
        assert_eq!(
            fixed(s),
            [0xF0, 0, 5, 0x12, 0x34, 0x56, 0x78, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0]
        );
        assert_eq!(Sense::parse(&fixed(s)), Some(Sense::LBA_OUT_OF_RANGE));
        // Information too large for four bytes: VALID clear, the field zero.
        let big = Sense::MISCOMPARE_DURING_VERIFY.with_info(1 << 32);
        assert_eq!(&fixed(big)[..7], &[0x70, 0, 0x0E, 0, 0, 0, 0]);
    }

    #[test]
    fn descriptor_with_info() {
        let s = Sense::MISCOMPARE_DURING_VERIFY.with_info(0x0102_0304_0506_0708);
        let mut d = [0xEEu8; 32];
        assert_eq!(s.write_descriptor(&mut d), 20);
        assert_eq!(
            &d[..20],
            &[0x72, 0x0E, 0x1D, 0, 0, 0, 0, 12, 0x00, 0x0A, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        // With a field pointer too: information first, then the sense-key specific bytes.
        let both = Sense::INVALID_FIELD_IN_CDB.in_cdb(2, None).with_info(9);
        assert_eq!(both.write_descriptor(&mut d), 28);
        assert_eq!(d[7], 20);
        assert_eq!(&d[8..12], &[0x00, 0x0A, 0x80, 0]);
        assert_eq!(d[19], 9);
        assert_eq!(&d[20..28], &[0x02, 0x06, 0, 0, 0xC0, 0, 2, 0]);
        assert_eq!(Sense::parse(&d), Some(Sense::INVALID_FIELD_IN_CDB));
    }

    #[test]
    fn truncation() {
        for n in 0..=20 {
            let mut b = [0xEEu8; 20];
            let got = Sense::INVALID_OPCODE.write_fixed(&mut b[..n]);
            assert_eq!(got, n.min(18));
            assert_eq!(&b[..got], &fixed(Sense::INVALID_OPCODE)[..got]);
            assert!(b[got..n].iter().all(|&x| x == 0xEE));
            let got = Sense::INVALID_OPCODE.write_descriptor(&mut b[..n]);
            assert_eq!(got, n.min(8));
        }
    }

    #[test]
    fn key_is_masked() {
        let mut b = [0u8; 18];
        Sense::new(0xF5, 1, 2).write_fixed(&mut b);
        assert_eq!(b[2], 0x05);
    }

    #[test]
    fn parse_rejects() {
        assert_eq!(Sense::parse(&[]), None);
        assert_eq!(Sense::parse(&[0x70; 13]), None);
        assert_eq!(Sense::parse(&[0x72, 5, 0x24]), None);
        assert_eq!(Sense::parse(&[0x7F; 18]), None);
        assert_eq!(Sense::parse(&[0x00; 18]), None);
        // Deferred and VALID-bit variants are accepted.
        assert_eq!(
            Sense::parse(&[0x73, 6, 0x29, 0]),
            Some(Sense::POWER_ON_RESET)
        );
        let mut b = [0u8; 14];
        b[0] = 0xF1;
        b[2] = 0x23; // ILI/EOM bits around the key are ignored
        b[12] = 0x11;
        assert_eq!(Sense::parse(&b), Some(Sense::new(3, 0x11, 0)));
    }

    #[test]
    fn status_codes() {
        assert_eq!(status::GOOD, 0);
        assert_eq!(status::CHECK_CONDITION, 2);
        assert_eq!(status::CONDITION_MET, 4);
        assert_eq!(status::BUSY, 8);
        assert_eq!(status::RESERVATION_CONFLICT, 0x18);
        assert_eq!(status::TASK_SET_FULL, 0x28);
        assert_eq!(status::ACA_ACTIVE, 0x30);
        assert_eq!(status::TASK_ABORTED, 0x40);
    }
}
