// SPDX-License-Identifier: GPL-2.0
//! Asymmetric logical unit access (SPC-4 5.16): the target port asymmetric access states,
//! which commands each state lets through, REPORT TARGET PORT GROUPS parameter data
//! (SPC-4 6.36) and SET TARGET PORT GROUPS parameter lists (SPC-4 6.44).
//!
//! The states and the commands they admit are SCST's (`scst_tg.c`); the management
//! interface that sets them lives in the core (`device_groups/` in sysfs).

use super::cdb::opcode::*;
use super::sense::Sense;
use super::wr::{get_be16, get_u8, Wr};

/// A target port group's asymmetric access state, with its ASYMMETRIC ACCESS STATE code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum AccessState {
    /// Active/optimized.
    #[default]
    ActiveOptimized = 0x0,
    /// Active/non-optimized.
    ActiveNonOptimized = 0x1,
    /// Standby.
    Standby = 0x2,
    /// Unavailable.
    Unavailable = 0x3,
    /// Offline.
    Offline = 0xE,
    /// Transitioning between states.
    Transitioning = 0xF,
}

/// Every state, with the name SCST's `state` attribute reads and takes.
pub const STATES: [(AccessState, &str); 6] = [
    (AccessState::ActiveOptimized, "active"),
    (AccessState::ActiveNonOptimized, "nonoptimized"),
    (AccessState::Standby, "standby"),
    (AccessState::Unavailable, "unavailable"),
    (AccessState::Offline, "offline"),
    (AccessState::Transitioning, "transitioning"),
];

/// SUPPORTED STATES of every target port group: T_SUP, O_SUP, U_SUP, S_SUP, AN_SUP and
/// AO_SUP (no logical block dependent state).
pub const SUPPORTED_STATES: u8 = 0xCF;

/// STATUS CODE of a descriptor: the state was last altered by implicit ALUA (management), as
/// SCST always reports it.
const STATUS_ALTERED_BY_IMPLICIT_ALUA: u8 = 0x02;

impl AccessState {
    /// The ASYMMETRIC ACCESS STATE code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The state of `code`, if it is one of the six.
    pub fn from_code(code: u8) -> Option<AccessState> {
        STATES.iter().map(|&(s, _)| s).find(|s| s.code() == code)
    }

    /// SCST's name for the state.
    pub fn name(self) -> &'static str {
        STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, n)| n)
    }

    /// The state named exactly `name`.
    pub fn from_name(name: &str) -> Option<AccessState> {
        STATES.iter().find(|(_, n)| *n == name).map(|&(s, _)| s)
    }

    /// Whether the logical unit is not accessible through the port at all: INQUIRY then
    /// reports PERIPHERAL QUALIFIER 001b (SCST does so for unavailable and offline).
    pub const fn not_connected(self) -> bool {
        matches!(self, AccessState::Unavailable | AccessState::Offline)
    }
}

/// Commands every state admits: INQUIRY, REPORT LUNS, REQUEST SENSE, READ CAPACITY(10) and
/// (16), READ BUFFER, WRITE BUFFER and REPORT TARGET PORT GROUPS.
fn always_admitted(cdb: &[u8]) -> bool {
    let sa = get_u8(cdb, 1) & 0x1F;
    match get_u8(cdb, 0) {
        INQUIRY | REPORT_LUNS | REQUEST_SENSE | READ_CAPACITY_10 | READ_BUFFER | WRITE_BUFFER => {
            true
        }
        SERVICE_ACTION_IN_16 => sa == SAI_READ_CAPACITY_16,
        MAINTENANCE_IN => sa == MI_REPORT_TARGET_PORT_GROUPS,
        _ => false,
    }
}

fn is_set_target_port_groups(cdb: &[u8]) -> bool {
    get_u8(cdb, 0) == MAINTENANCE_OUT && get_u8(cdb, 1) & 0x1F == MO_SET_TARGET_PORT_GROUPS
}

/// Commands standby admits beyond [`always_admitted`] and SET TARGET PORT GROUPS: mode
/// pages, logs, diagnostics and reservations.
fn admitted_in_standby(cdb: &[u8]) -> bool {
    matches!(
        get_u8(cdb, 0),
        MODE_SENSE_6
            | MODE_SENSE_10
            | MODE_SELECT_6
            | MODE_SELECT_10
            | RESERVE_6
            | RESERVE_10
            | RELEASE_6
            | RELEASE_10
            | LOG_SELECT
            | LOG_SENSE
            | RECEIVE_DIAGNOSTIC_RESULTS
            | SEND_DIAGNOSTIC
            | PERSISTENT_RESERVE_IN
            | PERSISTENT_RESERVE_OUT
    )
}

/// Whether a command `cdb` may run through a port in `state`: the active states admit
/// everything; standby, unavailable (and offline, as SCST has it) and transitioning admit
/// what SPC-4 5.16.2.4 requires of them and refuse the rest with NOT READY and the state's
/// additional sense code (04/0B, 04/0C, 04/0A).
pub fn check_access(state: AccessState, cdb: &[u8]) -> Result<(), Sense> {
    let (admitted, refusal) = match state {
        AccessState::ActiveOptimized | AccessState::ActiveNonOptimized => return Ok(()),
        AccessState::Standby => (
            always_admitted(cdb) || is_set_target_port_groups(cdb) || admitted_in_standby(cdb),
            Sense::TARGET_PORT_IN_STANDBY_STATE,
        ),
        AccessState::Unavailable | AccessState::Offline => (
            always_admitted(cdb) || is_set_target_port_groups(cdb),
            Sense::TARGET_PORT_IN_UNAVAILABLE_STATE,
        ),
        AccessState::Transitioning => (
            always_admitted(cdb),
            Sense::ASYMMETRIC_ACCESS_STATE_TRANSITION,
        ),
    };
    if admitted {
        Ok(())
    } else {
        Err(refusal)
    }
}

/// One target port group as REPORT TARGET PORT GROUPS describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortGroup<'a> {
    /// TARGET PORT GROUP.
    pub id: u16,
    /// Its asymmetric access state.
    pub state: AccessState,
    /// PREF: the preferred group.
    pub preferred: bool,
    /// RELATIVE TARGET PORT IDENTIFIERs of its ports (at most 255 are listed).
    pub ports: &'a [u16],
}

/// Encodes REPORT TARGET PORT GROUPS parameter data for `groups`, with the extended header
/// (format 1, implicit transition time 0) when `extended`, truncated to `alloc_len` and
/// `out`; returns the number of bytes written. RETURN DATA LENGTH counts everything, even
/// what did not fit.
pub fn encode_report_target_port_groups<'a>(
    groups: impl Iterator<Item = PortGroup<'a>>,
    extended: bool,
    alloc_len: u32,
    out: &mut [u8],
) -> usize {
    let limit = usize::try_from(alloc_len).unwrap_or(usize::MAX);
    let mut w = Wr::new(out, limit);
    w.be32(0); // RETURN DATA LENGTH, patched below
    if extended {
        w.u8(0x10); // FORMAT TYPE 001b
        w.u8(0); // IMPLICIT TRANSITION TIME
        w.be16(0);
    }
    for g in groups {
        let count = g.ports.len().min(usize::from(u8::MAX));
        w.u8(if g.preferred { 0x80 } else { 0 } | g.state.code());
        w.u8(SUPPORTED_STATES);
        w.be16(g.id);
        w.u8(0);
        w.u8(STATUS_ALTERED_BY_IMPLICIT_ALUA);
        w.u8(0); // vendor specific
        w.u8(u8::try_from(count).unwrap_or(u8::MAX)); // TARGET PORT COUNT
        for &port in g.ports.iter().take(count) {
            w.be16(0);
            w.be16(port);
        }
    }
    let len = u32::try_from(w.pos().saturating_sub(4)).unwrap_or(u32::MAX);
    w.set_be32(0, len);
    w.finish()
}

/// One change a SET TARGET PORT GROUPS parameter list asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// TARGET PORT GROUP.
    pub group: u16,
    /// The state asked for.
    pub state: AccessState,
    /// Offset of the descriptor in the parameter list (for a field pointer).
    pub offset: usize,
}

/// Bytes of the parameter list header (reserved).
const STPG_HEADER_LEN: usize = 4;
/// Bytes of a set target port group descriptor.
const STPG_DESCRIPTOR_LEN: usize = 4;
/// The most descriptors a list may have, as in SCST: each names a distinct group, and a
/// longer list would only cost time (every pair is compared).
pub const MAX_STPG_DESCRIPTORS: usize = 64;

/// A checked SET TARGET PORT GROUPS parameter list: 4 reserved bytes, then descriptors of 4
/// bytes (ASYMMETRIC ACCESS STATE in byte 0, bits 3..0; TARGET PORT GROUP in bytes 2..3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StpgList<'a> {
    descriptors: &'a [u8],
}

impl<'a> StpgList<'a> {
    /// Checks `list`: a length that is not the header plus whole descriptors is a
    /// PARAMETER LIST LENGTH ERROR; more than [`MAX_STPG_DESCRIPTORS`] INVALID FIELD IN CDB
    /// at the PARAMETER LIST LENGTH (byte 6), as SCST has it; a state that cannot be asked for (transitioning, or no
    /// state at all) is INVALID FIELD IN PARAMETER LIST pointing at it, as is a group named
    /// twice (an invalid combination, SPC-4 6.44).
    pub fn parse(list: &'a [u8]) -> Result<StpgList<'a>, Sense> {
        let descriptors = list
            .get(STPG_HEADER_LEN..)
            .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
        if descriptors.len() % STPG_DESCRIPTOR_LEN != 0 {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        if descriptors.len() / STPG_DESCRIPTOR_LEN > MAX_STPG_DESCRIPTORS {
            return Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(6, None));
        }
        let me = StpgList { descriptors };
        for (i, c) in me.changes_unchecked().enumerate() {
            let code = get_u8(list, c.offset) & 0x0F;
            match AccessState::from_code(code) {
                Some(AccessState::Transitioning) | None => {
                    return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(c.offset, Some(3)))
                }
                Some(_) => {}
            }
            if me.changes_unchecked().take(i).any(|o| o.group == c.group) {
                return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST
                    .in_param(c.offset.saturating_add(2), None));
            }
        }
        Ok(me)
    }

    fn changes_unchecked(&self) -> impl Iterator<Item = StateChange> + 'a {
        self.descriptors
            .chunks_exact(STPG_DESCRIPTOR_LEN)
            .enumerate()
            .map(|(i, d)| StateChange {
                group: get_be16(d, 2),
                state: AccessState::from_code(get_u8(d, 0) & 0x0F).unwrap_or_default(),
                offset: STPG_HEADER_LEN.saturating_add(i.saturating_mul(STPG_DESCRIPTOR_LEN)),
            })
    }

    /// The changes asked for, in list order (each group at most once).
    pub fn changes(&self) -> impl Iterator<Item = StateChange> + 'a {
        self.changes_unchecked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn names_and_codes_round_trip() {
        for (s, n) in STATES {
            assert_eq!(AccessState::from_name(n), Some(s));
            assert_eq!(s.name(), n);
            assert_eq!(AccessState::from_code(s.code()), Some(s));
        }
        assert_eq!(AccessState::from_name("Active"), None);
        assert_eq!(AccessState::from_name("active\n"), None);
        assert_eq!(AccessState::from_name("lba_dependent"), None);
        assert_eq!(AccessState::from_code(4), None);
        assert!(AccessState::Offline.not_connected() && AccessState::Unavailable.not_connected());
        assert!(!AccessState::Standby.not_connected());
    }

    fn verdict(state: AccessState, cdb: &[u8]) -> Option<(u8, u8, u8)> {
        check_access(state, cdb).err().map(|s| s.code())
    }

    #[test]
    fn states_admit_what_scst_admits() {
        let tur = [TEST_UNIT_READY, 0, 0, 0, 0, 0];
        let read = [READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        let inquiry = [INQUIRY, 0, 0, 0, 36, 0];
        let rtpg = [MAINTENANCE_IN, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        let rsoc = [MAINTENANCE_IN, 0x0C, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        let stpg = [MAINTENANCE_OUT, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0];
        let rc16 = [
            SERVICE_ACTION_IN_16,
            0x10,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            32,
            0,
            0,
        ];
        let lba_status = [
            SERVICE_ACTION_IN_16,
            0x12,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            32,
            0,
            0,
        ];
        let mode_sense = [MODE_SENSE_6, 0, 0x3F, 0, 255, 0];
        let pr_in = [PERSISTENT_RESERVE_IN, 0, 0, 0, 0, 0, 0, 2, 0, 0];
        for s in [
            AccessState::ActiveOptimized,
            AccessState::ActiveNonOptimized,
        ] {
            for c in [&tur[..], &read, &rsoc, &stpg, &lba_status] {
                assert_eq!(verdict(s, c), None);
            }
        }
        let standby = Some((2, 4, 0x0B));
        let unavailable = Some((2, 4, 0x0C));
        let transitioning = Some((2, 4, 0x0A));
        for (s, refusal) in [
            (AccessState::Standby, standby),
            (AccessState::Unavailable, unavailable),
            (AccessState::Offline, unavailable),
            (AccessState::Transitioning, transitioning),
        ] {
            for c in [&inquiry[..], &rtpg, &rc16] {
                assert_eq!(verdict(s, c), None, "{s:?} {c:x?}");
            }
            for c in [&tur[..], &read, &rsoc, &lba_status] {
                assert_eq!(verdict(s, c), refusal, "{s:?} {c:x?}");
            }
        }
        assert_eq!(verdict(AccessState::Standby, &mode_sense), None);
        assert_eq!(verdict(AccessState::Standby, &pr_in), None);
        assert_eq!(verdict(AccessState::Standby, &stpg), None);
        assert_eq!(verdict(AccessState::Unavailable, &mode_sense), unavailable);
        assert_eq!(verdict(AccessState::Unavailable, &stpg), None);
        assert_eq!(verdict(AccessState::Transitioning, &stpg), transitioning);
        assert_eq!(verdict(AccessState::Standby, &[]), standby);
    }

    fn rtpg(groups: &[PortGroup<'_>], extended: bool, alloc: u32) -> Vec<u8> {
        let mut out = [0xEEu8; 256];
        let n = encode_report_target_port_groups(groups.iter().copied(), extended, alloc, &mut out);
        out[..n].to_vec()
    }

    #[test]
    fn report_target_port_groups() {
        let groups = [
            PortGroup {
                id: 1,
                state: AccessState::ActiveOptimized,
                preferred: true,
                ports: &[1, 3],
            },
            PortGroup {
                id: 0x0102,
                state: AccessState::Standby,
                preferred: false,
                ports: &[],
            },
        ];
        let full = rtpg(&groups, false, 1024);
        assert_eq!(
            full,
            [
                0, 0, 0, 24, // RETURN DATA LENGTH
                0x80, 0xCF, 0, 1, 0, 2, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, //
                0x02, 0xCF, 1, 2, 0, 2, 0, 0
            ]
        );
        let ext = rtpg(&groups, true, 1024);
        assert_eq!(&ext[..8], &[0, 0, 0, 28, 0x10, 0, 0, 0]);
        assert_eq!(&ext[8..], &full[4..]);
        // Truncated to the allocation length; the length field still counts it all.
        assert_eq!(rtpg(&groups, false, 6), [0, 0, 0, 24, 0x80, 0xCF]);
        assert_eq!(rtpg(&groups, false, 0), []);
        assert_eq!(rtpg(&[], true, 1024), [0, 0, 0, 4, 0x10, 0, 0, 0]);
        assert_eq!(rtpg(&[], false, 1024), [0, 0, 0, 0]);
    }

    #[test]
    fn set_target_port_groups_list() {
        let list = [0, 0, 0, 0, 0x02, 0, 0, 1, 0xF0, 0, 0, 2];
        let l = StpgList::parse(&list).unwrap();
        let changes: Vec<_> = l.changes().collect();
        assert_eq!(
            changes,
            [
                StateChange {
                    group: 1,
                    state: AccessState::Standby,
                    offset: 4
                },
                StateChange {
                    group: 2,
                    state: AccessState::ActiveOptimized,
                    offset: 8
                },
            ]
        );
        assert_eq!(StpgList::parse(&[0, 0, 0, 0]).unwrap().changes().count(), 0);
        let len_err = Some((5, 0x1A, 0));
        let code = |l: &[u8]| StpgList::parse(l).err().map(|s| s.code());
        assert_eq!(code(&[0, 0, 0]), len_err);
        assert_eq!(code(&[0, 0, 0, 0, 1, 0, 0]), len_err);
        let bad_field = Some((5, 0x26, 0));
        assert_eq!(code(&[0, 0, 0, 0, 0x0F, 0, 0, 1]), bad_field);
        assert_eq!(code(&[0, 0, 0, 0, 0x04, 0, 0, 1]), bad_field);
        assert_eq!(code(&[0, 0, 0, 0, 0x0E, 0, 0, 1]), None);
        assert_eq!(code(&[0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 1]), bad_field);
        let mut long = std::vec![0u8; 4 + 4 * 65];
        for (i, d) in long[4..].chunks_mut(4).enumerate() {
            d[3] = i as u8;
        }
        assert_eq!(
            StpgList::parse(&long[..4 + 4 * 64])
                .unwrap()
                .changes()
                .count(),
            64
        );
        assert_eq!(
            StpgList::parse(&long),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(6, None))
        );
        let s = StpgList::parse(&[0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 1]).unwrap_err();
        assert_eq!(s, Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(10, None));
    }
}
