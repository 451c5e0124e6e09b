// SPDX-License-Identifier: GPL-2.0
//! REPORT SUPPORTED OPERATION CODES parameter data (SPC-4 6.35) for the commands
//! [`super::cdb::Cdb::decode`] accepts, with CDB usage bitmaps matching its checks.

use super::cdb::opcode::*;
use super::sense::Sense;
use super::wr::Wr;

/// One supported command: opcode, service action, and CDB usage data (its length is the
/// CDB length; byte 0 is the opcode, the service action field holds the service action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandInfo {
    /// Operation code.
    pub opcode: u8,
    /// Service action, for commands that have one.
    pub service_action: Option<u16>,
    /// CDB usage data.
    pub usage: &'static [u8],
}

const fn cmd(opcode: u8, usage: &'static [u8]) -> CommandInfo {
    CommandInfo {
        opcode,
        service_action: None,
        usage,
    }
}

const fn cmd_sa(opcode: u8, sa: u16, usage: &'static [u8]) -> CommandInfo {
    CommandInfo {
        opcode,
        service_action: Some(sa),
        usage,
    }
}

/// CONTROL byte usage: NACA is honoured (an ACA condition on CHECK CONDITION), everything
/// else ignored.
const C: u8 = 0x04;
const F: u8 = 0xFF;

/// The supported commands, in ascending opcode order.
pub const COMMANDS: &[CommandInfo] = &[
    cmd(TEST_UNIT_READY, &[TEST_UNIT_READY, 0, 0, 0, 0, C]),
    cmd(REQUEST_SENSE, &[REQUEST_SENSE, 0x01, 0, 0, F, C]),
    cmd(READ_6, &[READ_6, 0x1F, F, F, F, C]),
    cmd(WRITE_6, &[WRITE_6, 0x1F, F, F, F, C]),
    cmd(INQUIRY, &[INQUIRY, 0x03, F, F, F, C]),
    cmd(MODE_SELECT_6, &[MODE_SELECT_6, 0x11, 0, 0, F, C]),
    cmd(RESERVE_6, &[RESERVE_6, 0x11, 0, 0, 0, C]),
    cmd(RELEASE_6, &[RELEASE_6, 0x11, 0, 0, 0, C]),
    cmd(MODE_SENSE_6, &[MODE_SENSE_6, 0x08, F, F, F, C]),
    cmd(START_STOP_UNIT, &[START_STOP_UNIT, 0x01, 0, 0, 0xF3, C]),
    cmd(
        PREVENT_ALLOW_MEDIUM_REMOVAL,
        &[PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 0x03, C],
    ),
    cmd(
        READ_CAPACITY_10,
        &[READ_CAPACITY_10, 0, F, F, F, F, 0, 0, 0x01, C],
    ),
    cmd(READ_10, &[READ_10, 0xE8, F, F, F, F, 0, F, F, C]),
    cmd(WRITE_10, &[WRITE_10, 0xE8, F, F, F, F, 0, F, F, C]),
    cmd(
        WRITE_AND_VERIFY_10,
        &[WRITE_AND_VERIFY_10, 0xE6, F, F, F, F, 0, F, F, C],
    ),
    cmd(VERIFY_10, &[VERIFY_10, 0xE6, F, F, F, F, 0, F, F, C]),
    cmd(PRE_FETCH_10, &[PRE_FETCH_10, 0x02, F, F, F, F, 0, F, F, C]),
    cmd(
        SYNCHRONIZE_CACHE_10,
        &[SYNCHRONIZE_CACHE_10, 0x02, F, F, F, F, 0, F, F, C],
    ),
    cmd(
        WRITE_SAME_10,
        &[WRITE_SAME_10, 0xFE, F, F, F, F, 0, F, F, C],
    ),
    cmd(UNMAP, &[UNMAP, 0x01, 0, 0, 0, 0, 0, F, F, C]),
    cmd(
        MODE_SELECT_10,
        &[MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, F, F, C],
    ),
    cmd(RESERVE_10, &[RESERVE_10, 0x13, 0, 0, 0, 0, 0, 0, 0, C]),
    cmd(RELEASE_10, &[RELEASE_10, 0x13, 0, 0, 0, 0, 0, 0, 0, C]),
    cmd(
        MODE_SENSE_10,
        &[MODE_SENSE_10, 0x18, F, F, 0, 0, 0, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_IN,
        0,
        &[PERSISTENT_RESERVE_IN, 0, 0, 0, 0, 0, 0, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_IN,
        1,
        &[PERSISTENT_RESERVE_IN, 1, 0, 0, 0, 0, 0, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_IN,
        2,
        &[PERSISTENT_RESERVE_IN, 2, 0, 0, 0, 0, 0, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_IN,
        3,
        &[PERSISTENT_RESERVE_IN, 3, 0, 0, 0, 0, 0, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        0,
        &[PERSISTENT_RESERVE_OUT, 0, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        1,
        &[PERSISTENT_RESERVE_OUT, 1, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        2,
        &[PERSISTENT_RESERVE_OUT, 2, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        3,
        &[PERSISTENT_RESERVE_OUT, 3, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        4,
        &[PERSISTENT_RESERVE_OUT, 4, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        5,
        &[PERSISTENT_RESERVE_OUT, 5, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        6,
        &[PERSISTENT_RESERVE_OUT, 6, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        PERSISTENT_RESERVE_OUT,
        7,
        &[PERSISTENT_RESERVE_OUT, 7, F, 0, 0, F, F, F, F, C],
    ),
    cmd_sa(
        EXTENDED_COPY,
        XCOPY_LID1 as u16,
        &[
            EXTENDED_COPY,
            XCOPY_LID1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd_sa(
        RECEIVE_COPY_RESULTS,
        RCR_OPERATING_PARAMETERS as u16,
        &[
            RECEIVE_COPY_RESULTS,
            RCR_OPERATING_PARAMETERS,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd(
        READ_16,
        &[READ_16, 0xE8, F, F, F, F, F, F, F, F, F, F, F, F, 0, C],
    ),
    cmd(
        COMPARE_AND_WRITE,
        &[
            COMPARE_AND_WRITE,
            0xE8,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0,
            0,
            0,
            F,
            0,
            C,
        ],
    ),
    cmd(
        WRITE_16,
        &[WRITE_16, 0xE8, F, F, F, F, F, F, F, F, F, F, F, F, 0, C],
    ),
    cmd(
        WRITE_AND_VERIFY_16,
        &[
            WRITE_AND_VERIFY_16,
            0xE6,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd(
        VERIFY_16,
        &[VERIFY_16, 0xE6, F, F, F, F, F, F, F, F, F, F, F, F, 0, C],
    ),
    cmd(
        PRE_FETCH_16,
        &[PRE_FETCH_16, 0x02, F, F, F, F, F, F, F, F, F, F, F, F, 0, C],
    ),
    cmd(
        SYNCHRONIZE_CACHE_16,
        &[
            SYNCHRONIZE_CACHE_16,
            0x02,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd(
        WRITE_SAME_16,
        &[
            WRITE_SAME_16,
            0xFF,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd_sa(
        SERVICE_ACTION_IN_16,
        SAI_READ_CAPACITY_16 as u16,
        &[
            SERVICE_ACTION_IN_16,
            SAI_READ_CAPACITY_16,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0x01,
            C,
        ],
    ),
    cmd_sa(
        SERVICE_ACTION_IN_16,
        SAI_GET_LBA_STATUS as u16,
        &[
            SERVICE_ACTION_IN_16,
            SAI_GET_LBA_STATUS,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd(REPORT_LUNS, &[REPORT_LUNS, 0, F, 0, 0, 0, F, F, F, F, 0, C]),
    cmd_sa(
        MAINTENANCE_IN,
        MI_REPORT_TARGET_PORT_GROUPS as u16,
        &[
            MAINTENANCE_IN,
            0xE0 | MI_REPORT_TARGET_PORT_GROUPS,
            0,
            0,
            0,
            0,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd_sa(
        MAINTENANCE_IN,
        MI_REPORT_SUPPORTED_OPCODES as u16,
        &[
            MAINTENANCE_IN,
            MI_REPORT_SUPPORTED_OPCODES,
            0x87,
            F,
            F,
            F,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd_sa(
        MAINTENANCE_IN,
        MI_REPORT_SUPPORTED_TMFS as u16,
        &[
            MAINTENANCE_IN,
            MI_REPORT_SUPPORTED_TMFS,
            0x80,
            0,
            0,
            0,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd_sa(
        MAINTENANCE_OUT,
        MO_SET_TARGET_PORT_GROUPS as u16,
        &[
            MAINTENANCE_OUT,
            MO_SET_TARGET_PORT_GROUPS,
            0,
            0,
            0,
            0,
            F,
            F,
            F,
            F,
            0,
            C,
        ],
    ),
    cmd(READ_12, &[READ_12, 0xE8, F, F, F, F, F, F, F, F, 0, C]),
    cmd(WRITE_12, &[WRITE_12, 0xE8, F, F, F, F, F, F, F, F, 0, C]),
    cmd(
        WRITE_AND_VERIFY_12,
        &[WRITE_AND_VERIFY_12, 0xE6, F, F, F, F, F, F, F, F, 0, C],
    ),
    cmd(VERIFY_12, &[VERIFY_12, 0xE6, F, F, F, F, F, F, F, F, 0, C]),
];

/// What a device offers of the commands that not every device does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offered {
    /// UNMAP: the device deallocates blocks.
    pub unmap: bool,
    /// SET TARGET PORT GROUPS: explicit ALUA.
    pub set_target_port_groups: bool,
}

impl Offered {
    /// What `dev` offers.
    pub fn by(dev: &super::device::DeviceParams<'_>) -> Offered {
        Offered {
            unmap: dev.thin_provisioned,
            set_target_port_groups: dev.tpgs & super::device::TPGS_EXPLICIT != 0,
        }
    }

    /// Every command.
    pub const ALL: Offered = Offered {
        unmap: true,
        set_target_port_groups: true,
    };

    fn offers(self, c: &CommandInfo) -> bool {
        match c.opcode {
            UNMAP => self.unmap,
            MAINTENANCE_OUT => self.set_target_port_groups,
            _ => true,
        }
    }
}

/// The commands a device offers.
fn offered(by: Offered) -> impl Iterator<Item = &'static CommandInfo> {
    COMMANDS.iter().filter(move |c| by.offers(c))
}

/// Whether any supported command with this opcode has a service action.
fn has_sa(opcode: u8) -> bool {
    COMMANDS
        .iter()
        .any(|c| c.opcode == opcode && c.service_action.is_some())
}

fn has_plain(opcode: u8) -> bool {
    COMMANDS
        .iter()
        .any(|c| c.opcode == opcode && c.service_action.is_none())
}

/// Bytes of a command descriptor (SPC-4 6.35.2), without timeouts.
const DESCRIPTOR_LEN: usize = 8;
/// Bytes of a command timeouts descriptor (SPC-4 6.35.4).
const TIMEOUTS_LEN: usize = 12;
/// The longest answer: every command, each with its timeouts (RCTD=1).
#[allow(clippy::arithmetic_side_effects)] // constants, checked at compile time
pub const MAX_LEN: usize = 4 + COMMANDS.len() * (DESCRIPTOR_LEN + TIMEOUTS_LEN);

fn timeouts(w: &mut Wr<'_>) {
    w.be16(0x0A); // DESCRIPTOR LENGTH
    w.u8(0);
    w.u8(0); // command specific
    w.be32(0); // NOMINAL COMMAND PROCESSING TIMEOUT: not specified
    w.be32(0); // RECOMMENDED COMMAND TIMEOUT: not specified
}

fn usage_len(c: &CommandInfo) -> u16 {
    u16::try_from(c.usage.len()).unwrap_or(0)
}

/// INVALID FIELD IN CDB at REPORTING OPTIONS (byte 2, bits 2..0): the option does not fit
/// the requested operation code.
const REPORTING_OPTIONS: Sense = Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(2));

/// Encodes REPORT SUPPORTED OPERATION CODES data for REPORTING OPTIONS `options`
/// (0 all commands, 1 by opcode, 2 by opcode and service action, 3 by opcode and service
/// action if it has one), truncated to `alloc_len` and `out`, of the commands the device
/// offers (`thin`). Errors (INVALID FIELD IN
/// CDB): options > 3, option 1 for an opcode with service actions, option 2 for an opcode
/// without.
pub fn encode_report_supported_opcodes(
    by: Offered,
    rctd: bool,
    options: u8,
    req_opcode: u8,
    req_sa: u16,
    alloc_len: u32,
    out: &mut [u8],
) -> Result<usize, Sense> {
    let limit = usize::try_from(alloc_len).unwrap_or(usize::MAX);
    let mut w = Wr::new(out, limit);
    let found = match options {
        0 => {
            w.be32(0); // COMMAND DATA LENGTH, patched below
            for c in offered(by) {
                w.u8(c.opcode);
                w.u8(0);
                w.be16(c.service_action.unwrap_or(0));
                w.u8(0);
                w.u8((u8::from(rctd) << 1) | u8::from(c.service_action.is_some()));
                w.be16(usage_len(c));
                if rctd {
                    timeouts(&mut w);
                }
            }
            let len = u32::try_from(w.pos().saturating_sub(4)).unwrap_or(u32::MAX);
            w.set_be32(0, len);
            return Ok(w.finish());
        }
        1 => {
            if has_sa(req_opcode) {
                return Err(REPORTING_OPTIONS);
            }
            offered(by).find(|c| c.opcode == req_opcode)
        }
        2 => {
            if has_plain(req_opcode) {
                return Err(REPORTING_OPTIONS);
            }
            offered(by).find(|c| c.opcode == req_opcode && c.service_action == Some(req_sa))
        }
        3 => offered(by).find(|c| {
            c.opcode == req_opcode
                && match c.service_action {
                    Some(sa) => sa == req_sa,
                    None => true,
                }
        }),
        _ => return Err(REPORTING_OPTIONS),
    };
    w.u8(0);
    match found {
        Some(c) => {
            w.u8((u8::from(rctd) << 7) | 0x03); // CTDP, SUPPORT = supported per standard
            w.be16(usage_len(c));
            w.bytes(c.usage);
            if rctd {
                timeouts(&mut w);
            }
        }
        None => {
            w.u8(0x01); // SUPPORT = not supported
            w.be16(0);
        }
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::super::cdb::{cdb_len, is_supported_opcode, Cdb};
    use super::*;
    use std::vec::Vec;

    const NO_UNMAP: Offered = Offered {
        unmap: false,
        set_target_port_groups: true,
    };

    #[test]
    fn table_matches_decoder() {
        let mut last = (0u8, 0u16);
        for (i, c) in COMMANDS.iter().enumerate() {
            assert!(is_supported_opcode(c.opcode));
            assert_eq!(cdb_len(c.opcode), Some(c.usage.len()));
            assert_eq!(c.usage[0], c.opcode);
            let key = (c.opcode, c.service_action.unwrap_or(0));
            if i > 0 {
                assert!(key > last, "table not sorted at {i}");
            }
            last = key;
            // Base CDB: only the opcode and service action; PMI set where LBA needs it.
            let mut base = [0u8; 16];
            base[0] = c.opcode;
            if let Some(sa) = c.service_action {
                base[1] = sa as u8;
            }
            if c.opcode == MAINTENANCE_IN
                && c.service_action == Some(MI_REPORT_SUPPORTED_TMFS as u16)
            {
                // Its allocation length must be at least four.
                base[9] = 4;
            }
            let n = c.usage.len();
            let want = Cdb::decode(&base[..n]);
            assert!(want.is_ok(), "{:#x}", c.opcode);
            // Flipping a bit the usage data says is ignored never changes the result.
            for byte in 1..n {
                for bit in 0..8 {
                    let m = 1u8 << bit;
                    // The service action field holds the value, not a mask.
                    let sa_field = c.service_action.is_some() && byte == 1 && m & 0x1F != 0;
                    if c.usage[byte] & m == 0 && !sa_field {
                        let mut b = base;
                        b[byte] ^= m;
                        assert_eq!(
                            Cdb::decode(&b[..n]),
                            want,
                            "{:#x} byte {byte} bit {bit}",
                            c.opcode
                        );
                    }
                }
            }
        }
        // Every supported opcode is listed.
        for op in 0..=255u8 {
            if is_supported_opcode(op) {
                assert!(COMMANDS.iter().any(|c| c.opcode == op), "{op:#x}");
            }
        }
    }

    fn rsoc(rctd: bool, options: u8, op: u8, sa: u16) -> Result<Vec<u8>, Sense> {
        let mut out = [0xEEu8; MAX_LEN];
        encode_report_supported_opcodes(Offered::ALL, rctd, options, op, sa, 0xFFFF_FFFF, &mut out)
            .map(|n| out[..n].to_vec())
    }

    #[test]
    fn all_commands() {
        let v = rsoc(false, 0, 0, 0).unwrap();
        assert_eq!(v.len(), 4 + 8 * COMMANDS.len());
        assert_eq!(
            u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as usize,
            8 * COMMANDS.len()
        );
        assert_eq!(&v[4..12], &[0x00, 0, 0, 0, 0, 0, 0, 6]);
        let i = COMMANDS
            .iter()
            .position(|c| c.opcode == SERVICE_ACTION_IN_16)
            .unwrap();
        assert_eq!(&v[4 + 8 * i..12 + 8 * i], &[0x9E, 0, 0, 0x10, 0, 1, 0, 16]);
        let v = rsoc(true, 0, 0, 0).unwrap();
        assert_eq!(v.len(), 4 + 20 * COMMANDS.len());
        assert_eq!(
            &v[4..24],
            &[0x00, 0, 0, 0, 0, 2, 0, 6, 0, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn one_command() {
        assert_eq!(
            rsoc(false, 1, READ_10, 0).unwrap(),
            [0, 3, 0, 10, 0x28, 0xE8, F, F, F, F, 0, F, F, C]
        );
        assert_eq!(
            rsoc(false, 1, COMPARE_AND_WRITE, 0).unwrap()[..8],
            [0, 3, 0, 16, 0x89, 0xE8, F, F]
        );
        assert_eq!(rsoc(false, 1, 0x85, 0).unwrap(), [0, 1, 0, 0]);
        assert_eq!(
            rsoc(false, 2, EXTENDED_COPY, 0).unwrap()[..8],
            [0, 3, 0, 16, 0x83, 0, 0, 0]
        );
        assert_eq!(rsoc(false, 2, EXTENDED_COPY, 1).unwrap(), [0, 1, 0, 0]);
        // UNMAP only where the device deallocates.
        let mut out = [0u8; 64];
        let n = encode_report_supported_opcodes(NO_UNMAP, false, 1, UNMAP, 0, 64, &mut out);
        assert_eq!(&out[..n.unwrap()], &[0, 1, 0, 0]);
        assert_eq!(rsoc(false, 1, UNMAP, 0).unwrap()[..4], [0, 3, 0, 10]);
        let all = |thin| {
            let mut out = [0u8; MAX_LEN];
            encode_report_supported_opcodes(
                Offered {
                    unmap: thin,
                    set_target_port_groups: true,
                },
                false,
                0,
                0,
                0,
                4096,
                &mut out,
            )
            .unwrap()
        };
        assert_eq!(all(true), all(false) + 8);
        assert_eq!(
            rsoc(false, 2, MAINTENANCE_IN, 0x0D).unwrap(),
            [0, 3, 0, 12, 0xA3, 0x0D, 0x80, 0, 0, 0, F, F, F, F, 0, C]
        );
        assert_eq!(
            rsoc(false, 1, SERVICE_ACTION_IN_16, 0x10),
            Err(REPORTING_OPTIONS)
        );
        let v = rsoc(false, 2, SERVICE_ACTION_IN_16, 0x10).unwrap();
        assert_eq!(&v[..6], &[0, 3, 0, 16, 0x9E, 0x10]);
        assert_eq!(
            rsoc(false, 2, SERVICE_ACTION_IN_16, 0x13).unwrap(),
            [0, 1, 0, 0]
        );
        assert_eq!(rsoc(false, 2, READ_10, 0), Err(REPORTING_OPTIONS));
        assert_eq!(
            rsoc(false, 2, PERSISTENT_RESERVE_IN, 3).unwrap(),
            [0, 3, 0, 10, 0x5E, 3, 0, 0, 0, 0, 0, F, F, C]
        );
        assert_eq!(
            rsoc(false, 2, PERSISTENT_RESERVE_IN, 4).unwrap(),
            [0, 1, 0, 0]
        );
        let v = rsoc(true, 3, READ_10, 0x55).unwrap();
        assert_eq!(&v[..2], &[0, 0x83]);
        assert_eq!(v.len(), 4 + 10 + 12);
        let v = rsoc(false, 3, MAINTENANCE_IN, 0x0C).unwrap();
        assert_eq!(&v[..6], &[0, 3, 0, 12, 0xA3, 0x0C]);
        assert_eq!(
            rsoc(false, 3, MAINTENANCE_IN, 0x0A).unwrap(),
            [0, 3, 0, 12, 0xA3, 0xEA, 0, 0, 0, 0, F, F, F, F, 0, C]
        );
        assert_eq!(rsoc(false, 3, MAINTENANCE_IN, 0x0B).unwrap(), [0, 1, 0, 0]);
        // SET TARGET PORT GROUPS only with explicit ALUA.
        let mut out = [0u8; 64];
        let implicit_only = Offered {
            unmap: true,
            set_target_port_groups: false,
        };
        let n = encode_report_supported_opcodes(
            implicit_only,
            false,
            2,
            MAINTENANCE_OUT,
            0x0A,
            64,
            &mut out,
        );
        assert_eq!(&out[..n.unwrap()], &[0, 1, 0, 0]);
        assert_eq!(
            rsoc(false, 2, MAINTENANCE_OUT, 0x0A).unwrap()[..6],
            [0, 3, 0, 12, 0xA4, 0x0A]
        );
        assert_eq!(rsoc(false, 4, 0, 0), Err(REPORTING_OPTIONS));
    }

    #[test]
    fn truncation() {
        let full = rsoc(true, 0, 0, 0).unwrap();
        for alloc in [0u32, 1, 3, 4, 5, 100, 523, 524, 525, 2000] {
            let mut out = [0xEEu8; MAX_LEN];
            let n = encode_report_supported_opcodes(Offered::ALL, true, 0, 0, 0, alloc, &mut out)
                .unwrap();
            assert_eq!(n, (alloc as usize).min(full.len()));
            assert_eq!(&out[..n], &full[..n]);
            assert!(out[n..].iter().all(|&b| b == 0xEE));
        }
        let mut small = [0u8; 100];
        let n = encode_report_supported_opcodes(Offered::ALL, true, 0, 0, 0, u32::MAX, &mut small)
            .unwrap();
        assert_eq!(n, 100);
        assert_eq!(&small[..], &full[..100]);
    }
}
