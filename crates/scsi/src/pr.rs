// SPDX-License-Identifier: GPL-2.0
//! Reservations of one logical unit: SPC-2 RESERVE/RELEASE and persistent reservations
//! (SPC-4 5.13): the state, PERSISTENT RESERVE OUT's service actions, PERSISTENT RESERVE
//! IN's answers and which commands conflict.
//!
//! An I_T nexus is a [`Port`]: the initiator port's TransportID and the relative target
//! port identifier. Registrations name ports the same way, so they outlive sessions, as
//! SPC-4 requires. The state is generic over where registrations are kept
//! ([`Registrations`]); the kernel keeps them in a vector that it copies, changes and
//! publishes whole, so a service action that fails half-way changes nothing the data path
//! sees.
//!
//! Only LU_SCOPE exists (SPC-4 made the others obsolete). Every effect on other nexuses
//! (unit attentions, aborted tasks) is reported through a [`Notice`] callback, after the
//! state changed.

use super::sense::Sense;
use super::transport_id::TransportId;
use super::ua::Ua;
use super::wr::{get_be16, get_be32, get_be64, get_u8, Wr};

/// PERSISTENT RESERVE OUT service actions.
pub mod out_sa {
    /// REGISTER.
    pub const REGISTER: u8 = 0x00;
    /// RESERVE.
    pub const RESERVE: u8 = 0x01;
    /// RELEASE.
    pub const RELEASE: u8 = 0x02;
    /// CLEAR.
    pub const CLEAR: u8 = 0x03;
    /// PREEMPT.
    pub const PREEMPT: u8 = 0x04;
    /// PREEMPT AND ABORT.
    pub const PREEMPT_AND_ABORT: u8 = 0x05;
    /// REGISTER AND IGNORE EXISTING KEY.
    pub const REGISTER_AND_IGNORE: u8 = 0x06;
    /// REGISTER AND MOVE.
    pub const REGISTER_AND_MOVE: u8 = 0x07;
}

/// PERSISTENT RESERVE IN service actions.
pub mod in_sa {
    /// READ KEYS.
    pub const READ_KEYS: u8 = 0x00;
    /// READ RESERVATION.
    pub const READ_RESERVATION: u8 = 0x01;
    /// REPORT CAPABILITIES.
    pub const REPORT_CAPABILITIES: u8 = 0x02;
    /// READ FULL STATUS.
    pub const READ_FULL_STATUS: u8 = 0x03;
}

/// The length of PERSISTENT RESERVE OUT's basic parameter list.
pub const PARAM_LEN: usize = 24;
/// The most registrations one logical unit keeps: a bound on what initiators can make the
/// kernel hold (SPC-4 lets a device server run out: INSUFFICIENT REGISTRATION RESOURCES).
pub const MAX_REGISTRATIONS: usize = 256;
/// 05/55/04 INSUFFICIENT REGISTRATION RESOURCES.
pub const INSUFFICIENT_REGISTRATION_RESOURCES: Sense =
    Sense::new(super::sense::key::ILLEGAL_REQUEST, 0x55, 0x04);

/// A persistent reservation type (SPC-4 table 176).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrType {
    /// 1h: only the holder writes.
    WriteExclusive,
    /// 3h: only the holder reads or writes.
    ExclusiveAccess,
    /// 5h: only registrants write; the registrant that reserved holds it.
    WriteExclusiveRegistrantsOnly,
    /// 6h: only registrants read or write; the registrant that reserved holds it.
    ExclusiveAccessRegistrantsOnly,
    /// 7h: only registrants write; every registrant holds it.
    WriteExclusiveAllRegistrants,
    /// 8h: only registrants read or write; every registrant holds it.
    ExclusiveAccessAllRegistrants,
}

impl PrType {
    /// The type of TYPE code `code`, if it is one.
    pub const fn from_code(code: u8) -> Option<PrType> {
        Some(match code {
            1 => PrType::WriteExclusive,
            3 => PrType::ExclusiveAccess,
            5 => PrType::WriteExclusiveRegistrantsOnly,
            6 => PrType::ExclusiveAccessRegistrantsOnly,
            7 => PrType::WriteExclusiveAllRegistrants,
            8 => PrType::ExclusiveAccessAllRegistrants,
            _ => return None,
        })
    }

    /// Its TYPE code.
    pub const fn code(self) -> u8 {
        match self {
            PrType::WriteExclusive => 1,
            PrType::ExclusiveAccess => 3,
            PrType::WriteExclusiveRegistrantsOnly => 5,
            PrType::ExclusiveAccessRegistrantsOnly => 6,
            PrType::WriteExclusiveAllRegistrants => 7,
            PrType::ExclusiveAccessAllRegistrants => 8,
        }
    }

    /// Every registrant holds it.
    pub const fn all_registrants(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusiveAllRegistrants | PrType::ExclusiveAccessAllRegistrants
        )
    }

    /// Registrants that do not hold it may still use the logical unit (registrants only
    /// and all registrants types).
    pub const fn registrants_allowed(self) -> bool {
        !matches!(self, PrType::WriteExclusive | PrType::ExclusiveAccess)
    }

    /// Reads conflict too (the exclusive access types).
    pub const fn exclusive_access(self) -> bool {
        matches!(
            self,
            PrType::ExclusiveAccess
                | PrType::ExclusiveAccessRegistrantsOnly
                | PrType::ExclusiveAccessAllRegistrants
        )
    }
}

/// An I_T nexus, as reservations name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    /// The initiator port.
    pub id: TransportId,
    /// RELATIVE TARGET PORT IDENTIFIER of the target port.
    pub rel_tgt: u16,
}

/// One registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Its reservation key (never zero).
    pub key: u64,
    /// The I_T nexus it was made for.
    pub port: Port,
    /// Made with ALL_TG_PT: it holds for the initiator port through every target port.
    pub all_tg_pt: bool,
    /// It holds the reservation (a type that is not all registrants).
    pub holder: bool,
}

impl Registration {
    /// Whether it is a registration of the I_T nexus `n`.
    pub fn is_of(&self, n: &Port) -> bool {
        names_nexus(&self.port, self.all_tg_pt, n)
    }
}

/// Whether `port` (for every target port with `all_tg_pt`) names the I_T nexus `n`.
fn names_nexus(port: &Port, all_tg_pt: bool, n: &Port) -> bool {
    port.id.names(&n.id) && (all_tg_pt || port.rel_tgt == n.rel_tgt)
}

/// Whether registrations for `a` and `b` (each for every target port with its flag) would
/// share an I_T nexus: the same initiator port (or, for an iSCSI name without ISID, any of
/// its ports) through the same target port, or through any where either is for all.
fn share_nexus(a: &Port, a_all: bool, b: &Port, b_all: bool) -> bool {
    let same_initiator = a.id.names(&b.id) || b.id.names(&a.id);
    same_initiator && (a_all || b_all || a.rel_tgt == b.rel_tgt)
}

/// Where registrations are kept.
pub trait Registrations {
    /// Every registration, in the order they were made.
    fn list(&self) -> &[Registration];
    /// The same, to change in place.
    fn list_mut(&mut self) -> &mut [Registration];
    /// Appends one; INSUFFICIENT REGISTRATION RESOURCES when there is no room.
    fn add(&mut self, r: Registration) -> Result<(), Sense>;
    /// Removes the one at `i`, keeping the others' order.
    fn remove(&mut self, i: usize);
}

/// A change another I_T nexus must hear of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The nexus or nexuses (every target port, with `all_tg_pt`) it goes to.
    pub port: Port,
    /// For every target port of the initiator port.
    pub all_tg_pt: bool,
    /// The unit attention to establish there.
    pub ua: Ua,
    /// PREEMPT AND ABORT: their tasks at this logical unit are aborted too.
    pub abort: bool,
}

impl Notice {
    /// Whether it goes to the I_T nexus `n`.
    pub fn is_for(&self, n: &Port) -> bool {
        names_nexus(&self.port, self.all_tg_pt, n)
    }
}

/// How a service action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// GOOD.
    Good,
    /// RESERVATION CONFLICT status.
    Conflict,
    /// CHECK CONDITION with this sense.
    Check(Sense),
}

impl From<Sense> for Answer {
    fn from(s: Sense) -> Answer {
        Answer::Check(s)
    }
}

/// A PERSISTENT RESERVE OUT command, CDB and parameter list checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrOut<'a> {
    /// SERVICE ACTION.
    pub sa: u8,
    /// TYPE, when the service action needs one (RESERVE, RELEASE, PREEMPT, PREEMPT AND
    /// ABORT); None for the others.
    pub pr_type: Option<PrType>,
    /// RESERVATION KEY.
    pub key: u64,
    /// SERVICE ACTION RESERVATION KEY.
    pub sark: u64,
    /// SPEC_I_PT (REGISTER only).
    pub spec_i_pt: bool,
    /// ALL_TG_PT (REGISTER and REGISTER AND IGNORE EXISTING KEY only).
    pub all_tg_pt: bool,
    /// APTPL.
    pub aptpl: bool,
    /// REGISTER AND MOVE: UNREG.
    pub unreg: bool,
    /// REGISTER AND MOVE: RELATIVE TARGET PORT IDENTIFIER.
    pub move_rel_tgt: u16,
    /// The TransportIDs (SPEC_I_PT's list, REGISTER AND MOVE's one).
    pub transport_ids: &'a [u8],
}

fn bad_cdb(byte: u16, bit: Option<u8>) -> Sense {
    Sense::INVALID_FIELD_IN_CDB.in_cdb(byte, bit)
}

fn bad_param(byte: usize, bit: Option<u8>) -> Sense {
    Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(byte, bit)
}

/// Checks a PERSISTENT RESERVE OUT command: `cdb` its CDB (10 bytes), `list` the parameter
/// data received. An unknown service action, a scope other than LU_SCOPE or an unknown type
/// where one is needed are INVALID FIELD IN CDB; a list shorter or longer than the service
/// action's (24 bytes, or those plus the TransportIDs they announce) is a PARAMETER LIST
/// LENGTH ERROR; SPEC_I_PT other than with REGISTER, or TransportIDs that do not fill their
/// announced length exactly, are INVALID FIELD IN PARAMETER LIST.
pub fn parse_pr_out<'a>(cdb: &[u8], list: &'a [u8]) -> Result<PrOut<'a>, Sense> {
    let sa = get_u8(cdb, 1) & 0x1F;
    if sa > out_sa::REGISTER_AND_MOVE {
        return Err(bad_cdb(1, Some(4)));
    }
    let scope_type = get_u8(cdb, 2);
    let needs_type = matches!(
        sa,
        out_sa::RESERVE | out_sa::RELEASE | out_sa::PREEMPT | out_sa::PREEMPT_AND_ABORT
    );
    let pr_type = if needs_type {
        if scope_type >> 4 != 0 {
            return Err(bad_cdb(2, Some(7)));
        }
        Some(PrType::from_code(scope_type & 0x0F).ok_or(bad_cdb(2, Some(3)))?)
    } else {
        None
    };
    let param_len = usize::try_from(get_be32(cdb, 5)).unwrap_or(usize::MAX);
    let list = list
        .get(..param_len)
        .ok_or(Sense::PARAMETER_LIST_LENGTH_ERROR)?;
    if list.len() < PARAM_LEN {
        return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
    }
    let key = get_be64(list, 0);
    let sark = get_be64(list, 8);
    if sa == out_sa::REGISTER_AND_MOVE {
        let flags = get_u8(list, 17);
        let tid_len = usize::try_from(get_be32(list, 20)).unwrap_or(usize::MAX);
        if PARAM_LEN.checked_add(tid_len) != Some(list.len()) {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        let ids = list.get(PARAM_LEN..).unwrap_or(&[]);
        if ids.is_empty() {
            // No TransportID: the length that announced none is wrong.
            return Err(bad_param(20, None));
        }
        let (_, used) = TransportId::parse(ids).map_err(|_| bad_param(PARAM_LEN, None))?;
        if used != ids.len() {
            return Err(bad_param(20, None));
        }
        return Ok(PrOut {
            sa,
            pr_type: None,
            key,
            sark,
            spec_i_pt: false,
            all_tg_pt: false,
            aptpl: flags & 0x01 != 0,
            unreg: flags & 0x02 != 0,
            move_rel_tgt: get_be16(list, 18),
            transport_ids: ids,
        });
    }
    let flags = get_u8(list, 20);
    let spec_i_pt = flags & 0x08 != 0;
    let registers = matches!(sa, out_sa::REGISTER | out_sa::REGISTER_AND_IGNORE);
    if spec_i_pt && sa != out_sa::REGISTER {
        return Err(bad_param(20, Some(3)));
    }
    let ids = if spec_i_pt {
        // TRANSPORTID PARAMETER DATA LENGTH, then the IDs, filling it exactly.
        let tid_len = usize::try_from(get_be32(list, PARAM_LEN)).unwrap_or(usize::MAX);
        let end = PARAM_LEN
            .checked_add(4)
            .and_then(|n| n.checked_add(tid_len));
        if end != Some(list.len()) {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        let ids = list.get(PARAM_LEN.saturating_add(4)..).unwrap_or(&[]);
        let mut at = 0usize;
        while at < ids.len() {
            let rest = ids.get(at..).unwrap_or(&[]);
            let (_, used) = TransportId::parse(rest)
                .map_err(|_| bad_param(PARAM_LEN.saturating_add(4).saturating_add(at), None))?;
            at = at.saturating_add(used);
        }
        ids
    } else {
        if list.len() != PARAM_LEN {
            return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
        }
        &[]
    };
    Ok(PrOut {
        sa,
        pr_type,
        key,
        sark,
        spec_i_pt,
        all_tg_pt: registers && flags & 0x04 != 0,
        aptpl: flags & 0x01 != 0,
        unreg: false,
        move_rel_tgt: 0,
        transport_ids: ids,
    })
}

/// Iterates over a checked SPEC_I_PT TransportID list.
fn transport_ids(ids: &[u8]) -> impl Iterator<Item = TransportId> + '_ {
    let mut at = 0usize;
    core::iter::from_fn(move || {
        let (t, used) = TransportId::parse(ids.get(at..)?).ok()?;
        at = at.saturating_add(used);
        Some(t)
    })
}

/// The reservations of one logical unit.
#[derive(Clone, Debug, Default)]
pub struct Reservations<R> {
    /// PRgeneration.
    pub generation: u32,
    /// The persistent reservation's type, if one exists. Its holder is the registration
    /// with `holder` set, or every registrant for the all registrants types.
    pub reservation: Option<PrType>,
    /// Persist through power loss (the last APTPL a REGISTER, REGISTER AND IGNORE EXISTING
    /// KEY or REGISTER AND MOVE gave).
    pub aptpl: bool,
    /// The registrations.
    pub regs: R,
    /// The I_T nexus holding an SPC-2 reservation, if any.
    pub spc2: Option<Port>,
}

/// What a command does to the medium, for the conflict rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Allowed under every reservation, SPC-2 ones included (INQUIRY, REPORT LUNS, TEST
    /// UNIT READY, READ CAPACITY, ...).
    Allowed,
    /// Reads (or only looks at) the medium: conflicts under the exclusive access types.
    Read,
    /// Changes the medium or the logical unit's state: conflicts under every type.
    Write,
    /// PERSISTENT RESERVE IN/OUT: never conflicts with a persistent reservation (PERSISTENT
    /// RESERVE OUT's service actions check the caller themselves), always with an SPC-2
    /// reservation, the caller's own included (SPC-2 5.5.1).
    Persistent,
    /// RESERVE(6/10): conflicts with another nexus's SPC-2 reservation, and with
    /// registrations unless the caller holds the persistent reservation or is registered
    /// under a registrants only or all registrants type (CRH, SPC-4 5.13.3).
    Reserve,
    /// RELEASE(6/10): never conflicts with an SPC-2 reservation (another nexus's is left
    /// alone); with registrations as RESERVE does.
    Release,
}

/// Whether `cdb` is a PERSISTENT RESERVE OUT with service action PREEMPT AND ABORT (which an
/// ACA condition of another nexus lets through).
pub fn is_preempt_and_abort(cdb: &[u8]) -> bool {
    matches!(cdb, [super::cdb::opcode::PERSISTENT_RESERVE_OUT, sa, ..] if sa & 0x1F == out_sa::PREEMPT_AND_ABORT)
}

/// What the command `cdb` does, for the conflict rules (SPC-4 table 66, SBC-3 table 13): any
/// CDB, including those only a raw SCSI tier understands; a command not named here changes
/// the logical unit as far as reservations are concerned.
pub fn access_of(cdb: &[u8]) -> Access {
    use super::cdb::opcode::*;
    let Some(&op) = cdb.first() else {
        return Access::Write;
    };
    let sa = get_u8(cdb, 1) & 0x1F;
    match op {
        INQUIRY | REPORT_LUNS | REQUEST_SENSE => Access::Allowed,
        PERSISTENT_RESERVE_IN | PERSISTENT_RESERVE_OUT => Access::Persistent,
        RESERVE_6 | RESERVE_10 => Access::Reserve,
        RELEASE_6 | RELEASE_10 => Access::Release,
        // TEST UNIT READY, READ CAPACITY(10), LOG SENSE, ACCESS CONTROL IN/OUT.
        TEST_UNIT_READY | READ_CAPACITY_10 | 0x4D | 0x86 | 0x87 => Access::Allowed,
        // MAINTENANCE IN: REPORT IDENTIFYING INFORMATION, REPORT TARGET PORT GROUPS,
        // REPORT ALIASES, REPORT PRIORITY, REPORT TIMESTAMP; the supported operation codes
        // and task management functions, and MANAGEMENT PROTOCOL IN, read.
        MAINTENANCE_IN if matches!(sa, 0x05 | 0x0A | 0x0B | 0x0E | 0x0F) => Access::Allowed,
        MAINTENANCE_IN => Access::Read,
        // READ CAPACITY(16); GET LBA STATUS and READ LONG(16) read.
        SERVICE_ACTION_IN_16 if sa == SAI_READ_CAPACITY_16 => Access::Allowed,
        SERVICE_ACTION_IN_16 if sa == SAI_GET_LBA_STATUS || sa == 0x11 => Access::Read,
        // READ MEDIA SERIAL NUMBER (SERVICE ACTION IN(12) 01h).
        0xAB if sa == 0x01 => Access::Allowed,
        // PREVENT ALLOW MEDIUM REMOVAL that allows; START STOP UNIT that starts (START 1,
        // POWER CONDITION 0).
        PREVENT_ALLOW_MEDIUM_REMOVAL if get_u8(cdb, 4) & 0x03 == 0 => Access::Allowed,
        START_STOP_UNIT if get_u8(cdb, 4) & 0xF1 == 0x01 => Access::Allowed,
        // READ(6/10/12/16), VERIFY(10/12/16), PRE-FETCH(10/16), MODE SENSE(6/10), READ
        // BUFFER, RECEIVE DIAGNOSTIC RESULTS, READ DEFECT DATA(10/12), READ LONG(10), READ
        // ATTRIBUTE, SECURITY PROTOCOL IN, RECEIVE COPY RESULTS.
        READ_6 | READ_10 | READ_12 | READ_16 | VERIFY_10 | VERIFY_12 | VERIFY_16 | PRE_FETCH_10
        | PRE_FETCH_16 | MODE_SENSE_6 | MODE_SENSE_10 | 0x3C | 0x1C | 0x37 | 0xB7 | 0x3E | 0x8C
        | 0xA2 | 0x84 => Access::Read,
        _ => Access::Write,
    }
}

impl<R: Registrations> Reservations<R> {
    /// Whether the holders agree with the reservation: one registration holds a reservation
    /// that is not all registrants, none holds one that is (every registrant does, and
    /// there is one), none holds when nothing is reserved.
    pub fn holders_consistent(&self) -> bool {
        let regs = self.regs.list();
        let holders = regs.iter().filter(|r| r.holder).count();
        match self.reservation {
            None => holders == 0,
            Some(t) if t.all_registrants() => holders == 0 && !regs.is_empty(),
            Some(_) => holders == 1,
        }
    }

    /// Whether no two registrations share an I_T nexus (see `overlaps`).
    pub fn registrations_distinct(&self) -> bool {
        let regs = self.regs.list();
        regs.iter().enumerate().all(|(i, r)| {
            regs.iter()
                .skip(i.saturating_add(1))
                .all(|q| !share_nexus(&r.port, r.all_tg_pt, &q.port, q.all_tg_pt))
        })
    }

    /// Whether nothing is reserved or registered (the state need not be kept).
    pub fn is_empty(&self) -> bool {
        self.spc2.is_none() && self.regs.list().is_empty() && self.reservation.is_none()
    }

    /// The registration of `n`, by index.
    fn find(&self, n: &Port) -> Option<usize> {
        self.regs.list().iter().position(|r| r.is_of(n))
    }

    /// Whether a registration for `p` (for every target port with
    /// `all_tg_pt`) would share an I_T nexus with one that exists.
    fn overlaps(&self, p: &Port, all_tg_pt: bool) -> bool {
        self.regs
            .list()
            .iter()
            .any(|r| share_nexus(&r.port, r.all_tg_pt, p, all_tg_pt))
    }

    /// Whether `n` holds the persistent reservation.
    pub fn holds(&self, n: &Port) -> bool {
        match self.reservation {
            None => false,
            Some(t) if t.all_registrants() => self.find(n).is_some(),
            Some(_) => self.regs.list().iter().any(|r| r.holder && r.is_of(n)),
        }
    }

    /// Whether a command of `access` from `n` conflicts with a reservation (SPC-2
    /// reservations, SPC-4 table 66 and SBC-3 table 13).
    pub fn conflicts(&self, n: &Port, access: Access) -> bool {
        if let Some(holder) = &self.spc2 {
            return match access {
                Access::Allowed | Access::Release => false,
                Access::Persistent => true,
                _ => holder != n,
            };
        }
        match access {
            Access::Allowed | Access::Persistent => false,
            Access::Reserve | Access::Release => {
                !self.regs.list().is_empty() && !self.compatible(n)
            }
            Access::Read | Access::Write => {
                let Some(t) = self.reservation else {
                    return false;
                };
                if access == Access::Read && !t.exclusive_access() {
                    return false;
                }
                if self.holds(n) {
                    return false;
                }
                !(t.registrants_allowed() && self.find(n).is_some())
            }
        }
    }

    /// Compatible reservations handling (CRH, SPC-4 5.13.3): whether `n` holds the
    /// persistent reservation or is registered under a registrants only or all registrants
    /// type, when RESERVE and RELEASE(6/10) complete GOOD and do nothing.
    fn compatible(&self, n: &Port) -> bool {
        match self.reservation {
            Some(t) if t.registrants_allowed() => self.find(n).is_some(),
            Some(_) => self.holds(n),
            None => false,
        }
    }

    /// RESERVE(6/10) from `n`: an SPC-2 reservation, unless persistent reservations are in
    /// use (see [`Access::Reserve`]).
    pub fn reserve_spc2(&mut self, n: &Port) -> Answer {
        if self.conflicts(n, Access::Reserve) {
            return Answer::Conflict;
        }
        if self.regs.list().is_empty() {
            self.spc2 = Some(*n);
        }
        Answer::Good
    }

    /// RELEASE(6/10) from `n`: releases its SPC-2 reservation; GOOD without effect when it
    /// holds none.
    pub fn release_spc2(&mut self, n: &Port) -> Answer {
        if self.conflicts(n, Access::Release) {
            return Answer::Conflict;
        }
        if self.spc2.as_ref() == Some(n) {
            self.spc2 = None;
        }
        Answer::Good
    }

    /// Drops the SPC-2 reservation (LOGICAL UNIT RESET, TARGET RESET), or only `n`'s (I_T
    /// nexus loss) when `n` is given.
    pub fn reset_spc2(&mut self, n: Option<&Port>) {
        if n.is_none() || self.spc2.as_ref() == n {
            self.spc2 = None;
        }
    }

    /// Runs PERSISTENT RESERVE OUT `cmd` from `n`. `port_protocol` gives the PROTOCOL
    /// IDENTIFIER of the target port a relative target port identifier names, if one does
    /// (REGISTER AND MOVE). `notice` hears of every effect on other nexuses.
    ///
    /// When it fails with INSUFFICIENT REGISTRATION RESOURCES the state may be half
    /// changed: run it on a copy and keep the copy only if it succeeded.
    pub fn pr_out(
        &mut self,
        n: &Port,
        cmd: &PrOut<'_>,
        port_protocol: &dyn Fn(u16) -> Option<u8>,
        notice: &mut dyn FnMut(Notice),
    ) -> Answer {
        if self.spc2.is_some() {
            return Answer::Conflict;
        }
        let mine = self.find(n);
        // Every service action but REGISTER AND IGNORE EXISTING KEY proves the caller's
        // key: an unregistered nexus proves key 0 (REGISTER only).
        if cmd.sa != out_sa::REGISTER_AND_IGNORE {
            let key = mine
                .and_then(|i| self.regs.list().get(i))
                .map_or(0, |r| r.key);
            let registers = cmd.sa == out_sa::REGISTER;
            if mine.is_none() && !registers {
                return Answer::Conflict;
            }
            // RELEASE with nothing reserved is GOOD whatever the key (as SCST and LIO).
            let nothing_to_release = cmd.sa == out_sa::RELEASE && self.reservation.is_none();
            if cmd.key != key && !nothing_to_release {
                return Answer::Conflict;
            }
        }
        let answer = match cmd.sa {
            out_sa::REGISTER | out_sa::REGISTER_AND_IGNORE => self.register(n, mine, cmd, notice),
            out_sa::RESERVE => self.reserve(n, cmd.pr_type),
            out_sa::RELEASE => self.release(n, cmd.pr_type, notice),
            out_sa::CLEAR => self.clear(n, notice),
            out_sa::PREEMPT | out_sa::PREEMPT_AND_ABORT => self.preempt(n, cmd, notice),
            out_sa::REGISTER_AND_MOVE => self.register_and_move(n, mine, cmd, port_protocol),
            _ => Answer::Check(bad_cdb(1, Some(4))),
        };
        // Every service action that succeeds counts but RESERVE and RELEASE, an
        // unregistered nexus's REGISTER of key 0 (which registers nothing) included, as
        // SPC-4 and SCST count.
        if answer == Answer::Good && !matches!(cmd.sa, out_sa::RESERVE | out_sa::RELEASE) {
            self.generation = self.generation.wrapping_add(1);
        }
        answer
    }

    fn register(
        &mut self,
        n: &Port,
        mine: Option<usize>,
        cmd: &PrOut<'_>,
        notice: &mut dyn FnMut(Notice),
    ) -> Answer {
        let Some(i) = mine else {
            if cmd.sark == 0 {
                // Nothing to register, nothing to change.
                return Answer::Good;
            }
            // The other I_T nexuses SPEC_I_PT names (through the same target port), none
            // named twice: all of them or none. One that names the caller itself, or one
            // registered already (which keeps its key, as LIO keeps it), adds nothing.
            let named = || {
                transport_ids(cmd.transport_ids)
                    .map(|id| Port {
                        id,
                        rel_tgt: n.rel_tgt,
                    })
                    .filter(|p| !p.id.names(&n.id))
            };
            // More than there can be registrations: refused before comparing them
            // pairwise (a parameter list holds thousands).
            if transport_ids(cmd.transport_ids).count() >= MAX_REGISTRATIONS {
                return INSUFFICIENT_REGISTRATION_RESOURCES.into();
            }
            for (k, p) in named().enumerate() {
                let twice = named()
                    .take(k)
                    .any(|q| q.id.names(&p.id) || p.id.names(&q.id));
                if twice {
                    return Answer::Check(bad_param(PARAM_LEN, None));
                }
            }
            let count = named()
                .filter(|p| self.find(p).is_none())
                .count()
                .saturating_add(1);
            if self.regs.list().len().saturating_add(count) > MAX_REGISTRATIONS {
                return INSUFFICIENT_REGISTRATION_RESOURCES.into();
            }
            // One registration per I_T nexus: an ALL_TG_PT registration of an
            // initiator port registered through some target port already would be a
            // second one for that nexus.
            if cmd.all_tg_pt && self.overlaps(n, true) {
                return Answer::Check(bad_param(20, Some(2)));
            }
            for port in core::iter::once(*n).chain(named()) {
                if self.overlaps(&port, cmd.all_tg_pt) {
                    continue;
                }
                let r = Registration {
                    key: cmd.sark,
                    port,
                    all_tg_pt: cmd.all_tg_pt,
                    holder: false,
                };
                if let Err(s) = self.regs.add(r) {
                    return s.into();
                }
            }
            self.aptpl = cmd.aptpl;
            return Answer::Good;
        };
        if cmd.spec_i_pt {
            return Answer::Check(bad_param(20, Some(3)));
        }
        if cmd.sark == 0 {
            self.unregister(i, n, notice);
        } else if let Some(r) = self.regs.list_mut().get_mut(i) {
            r.key = cmd.sark;
        }
        self.aptpl = cmd.aptpl;
        Answer::Good
    }

    /// Removes registration `i` (`n`'s own): a holder's reservation goes with it, and
    /// under a registrants only type the other registrants hear that it was released;
    /// under an all registrants type it goes with the last registrant.
    fn unregister(&mut self, i: usize, n: &Port, notice: &mut dyn FnMut(Notice)) {
        let was_holder = self.regs.list().get(i).is_some_and(|r| r.holder);
        self.regs.remove(i);
        match self.reservation {
            Some(t) if t.all_registrants() && self.regs.list().is_empty() => {
                self.reservation = None;
            }
            Some(t) if !t.all_registrants() && was_holder => {
                self.reservation = None;
                if t.registrants_allowed() {
                    self.tell_others(n, Ua::ReservationsReleased, notice);
                }
            }
            _ => {}
        }
    }

    /// Tells every registrant but `n` of `ua`.
    fn tell_others(&self, n: &Port, ua: Ua, notice: &mut dyn FnMut(Notice)) {
        for r in self.regs.list().iter().filter(|r| !r.is_of(n)) {
            notice(Notice {
                port: r.port,
                all_tg_pt: r.all_tg_pt,
                ua,
                abort: false,
            });
        }
    }

    fn reserve(&mut self, n: &Port, pr_type: Option<PrType>) -> Answer {
        let Some(t) = pr_type else {
            return Answer::Check(bad_cdb(2, Some(3)));
        };
        if let Some(held) = self.reservation {
            // Reserving again what it holds is GOOD; anything else conflicts.
            return if self.holds(n) && held == t {
                Answer::Good
            } else {
                Answer::Conflict
            };
        }
        if !t.all_registrants() {
            let Some(r) = self.find(n).and_then(|i| self.regs.list_mut().get_mut(i)) else {
                return Answer::Conflict;
            };
            r.holder = true;
        }
        self.reservation = Some(t);
        Answer::Good
    }

    fn release(
        &mut self,
        n: &Port,
        pr_type: Option<PrType>,
        notice: &mut dyn FnMut(Notice),
    ) -> Answer {
        let Some(held) = self.reservation else {
            return Answer::Good;
        };
        if !self.holds(n) {
            return Answer::Good;
        }
        if pr_type != Some(held) {
            return Answer::Check(Sense::INVALID_RELEASE_OF_PERSISTENT_RESERVATION);
        }
        self.drop_reservation();
        if held.registrants_allowed() {
            self.tell_others(n, Ua::ReservationsReleased, notice);
        }
        Answer::Good
    }

    fn drop_reservation(&mut self) {
        self.reservation = None;
        for r in self.regs.list_mut() {
            r.holder = false;
        }
    }

    fn clear(&mut self, n: &Port, notice: &mut dyn FnMut(Notice)) -> Answer {
        self.tell_others(n, Ua::ReservationsPreempted, notice);
        self.drop_reservation();
        while !self.regs.list().is_empty() {
            self.regs.remove(self.regs.list().len().saturating_sub(1));
        }
        Answer::Good
    }

    /// Removes the registrations `doomed` picks (`n`'s own only if `even_mine`), telling
    /// the other nexuses; returns how many went.
    fn preempt_where(
        &mut self,
        n: &Port,
        abort: bool,
        even_mine: bool,
        doomed: &dyn Fn(&Registration) -> bool,
        notice: &mut dyn FnMut(Notice),
    ) -> usize {
        let mut gone = 0usize;
        let mut i = 0usize;
        while let Some(r) = self.regs.list().get(i).copied() {
            let mine = r.is_of(n);
            if doomed(&r) && (even_mine || !mine) {
                self.regs.remove(i);
                gone = gone.saturating_add(1);
                if mine {
                    continue;
                }
                notice(Notice {
                    port: r.port,
                    all_tg_pt: r.all_tg_pt,
                    ua: Ua::RegistrationsPreempted,
                    abort,
                });
            } else {
                i = i.saturating_add(1);
            }
        }
        gone
    }

    /// Makes `n` hold a new reservation of type `t`.
    fn take_reservation(&mut self, n: &Port, t: PrType) {
        self.drop_reservation();
        if !t.all_registrants() {
            if let Some(r) = self.find(n).and_then(|i| self.regs.list_mut().get_mut(i)) {
                r.holder = true;
            }
        }
        self.reservation = Some(t);
    }

    fn preempt(&mut self, n: &Port, cmd: &PrOut<'_>, notice: &mut dyn FnMut(Notice)) -> Answer {
        let Some(t) = cmd.pr_type else {
            return Answer::Check(bad_cdb(2, Some(3)));
        };
        let abort = cmd.sa == out_sa::PREEMPT_AND_ABORT;
        let sark = cmd.sark;
        let holder_key = self.regs.list().iter().find(|r| r.holder).map(|r| r.key);
        match self.reservation {
            Some(held) if held.all_registrants() && sark == 0 => {
                // Everybody else goes; the caller holds a reservation of the new type.
                self.preempt_where(n, abort, false, &|_| true, notice);
                self.take_reservation(n, t);
                Answer::Good
            }
            Some(held) if !held.all_registrants() && holder_key == Some(sark) => {
                // The holder's registrations go (not the caller's own: preempting itself
                // changes the type), and the caller holds the new reservation.
                self.preempt_where(n, abort, false, &|r| r.key == sark, notice);
                self.take_reservation(n, t);
                if held != t {
                    self.tell_others(n, Ua::ReservationsReleased, notice);
                }
                Answer::Good
            }
            _ => {
                // No reservation, or another key: only registrations go, the caller's own
                // too if it has that key (as SCST and LIO remove it).
                if sark == 0 {
                    return Answer::Check(bad_param(8, None));
                }
                let any = self.regs.list().iter().any(|r| r.key == sark);
                if !any {
                    return Answer::Conflict;
                }
                self.preempt_where(n, abort, true, &|r| r.key == sark, notice);
                if self.reservation.is_some_and(PrType::all_registrants)
                    && self.regs.list().is_empty()
                {
                    self.reservation = None;
                }
                Answer::Good
            }
        }
    }

    fn register_and_move(
        &mut self,
        n: &Port,
        mine: Option<usize>,
        cmd: &PrOut<'_>,
        port_protocol: &dyn Fn(u16) -> Option<u8>,
    ) -> Answer {
        // Nothing to move: INVALID FIELD IN CDB, as SCST and LIO answer.
        let Some(held) = self.reservation else {
            return Answer::Check(Sense::INVALID_FIELD_IN_CDB);
        };
        if held.all_registrants() || !self.holds(n) {
            return Answer::Conflict;
        }
        if cmd.sark == 0 {
            return Answer::Check(bad_param(8, None));
        }
        // The destination is one initiator port (an iSCSI name without ISID names
        // them all), of the protocol of the target port it names.
        let Ok((id, _)) = TransportId::parse(cmd.transport_ids) else {
            return Answer::Check(bad_param(PARAM_LEN, None));
        };
        if !id.is_one_port() {
            return Answer::Check(bad_param(PARAM_LEN, None));
        }
        if port_protocol(cmd.move_rel_tgt) != Some(id.protocol()) {
            return Answer::Check(bad_param(18, None));
        }
        let dest = Port {
            id,
            rel_tgt: cmd.move_rel_tgt,
        };
        if mine
            .and_then(|i| self.regs.list().get(i))
            .is_some_and(|r| r.is_of(&dest))
        {
            return Answer::Check(bad_param(PARAM_LEN, None));
        }
        let d = match self.find(&dest) {
            Some(d) => d,
            None => {
                if self.regs.list().len() >= MAX_REGISTRATIONS {
                    return INSUFFICIENT_REGISTRATION_RESOURCES.into();
                }
                let r = Registration {
                    key: cmd.sark,
                    port: dest,
                    all_tg_pt: false,
                    holder: false,
                };
                if let Err(s) = self.regs.add(r) {
                    return s.into();
                }
                self.regs.list().len().saturating_sub(1)
            }
        };
        for (k, r) in self.regs.list_mut().iter_mut().enumerate() {
            r.holder = k == d;
            if k == d {
                r.key = cmd.sark;
            }
        }
        if cmd.unreg {
            if let Some(i) = mine {
                self.regs.remove(i);
            }
        }
        self.aptpl = cmd.aptpl;
        Answer::Good
    }

    /// Answers PERSISTENT RESERVE IN `sa` into `out` (truncated to `alloc_len` and `out`);
    /// returns the length written. An unknown service action is INVALID FIELD IN CDB.
    pub fn pr_in(&self, sa: u8, alloc_len: u16, out: &mut [u8]) -> Result<usize, Sense> {
        let mut w = Wr::new(out, usize::from(alloc_len));
        match sa {
            in_sa::READ_KEYS => {
                let n = self.regs.list().len();
                w.be32(self.generation);
                w.be32(u32::try_from(n.saturating_mul(8)).unwrap_or(u32::MAX));
                for r in self.regs.list() {
                    w.be64(r.key);
                }
            }
            in_sa::READ_RESERVATION => {
                w.be32(self.generation);
                match self.reservation {
                    None => w.be32(0),
                    Some(t) => {
                        w.be32(16);
                        // All registrants types report key 0.
                        let key = self
                            .regs
                            .list()
                            .iter()
                            .find(|r| r.holder)
                            .map_or(0, |r| r.key);
                        w.be64(if t.all_registrants() { 0 } else { key });
                        w.zeros(4);
                        w.u8(0);
                        w.u8(t.code());
                        w.zeros(2);
                    }
                }
            }
            in_sa::REPORT_CAPABILITIES => {
                w.be16(8);
                // CRH, SIP_C, ATP_C, PTPL_C.
                w.u8(0x10 | 0x08 | 0x04 | 0x01);
                // TMV, ALLOW COMMANDS 0 (not reported), PTPL_A.
                w.u8(0x80 | u8::from(self.aptpl));
                // PERSISTENT RESERVATION TYPE MASK: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC,
                // WR_EX; EX_AC_AR.
                w.u8(0x80 | 0x40 | 0x20 | 0x08 | 0x02);
                w.u8(0x01);
                w.zeros(2);
            }
            in_sa::READ_FULL_STATUS => {
                w.be32(self.generation);
                let len: usize = self
                    .regs
                    .list()
                    .iter()
                    .map(|r| r.port.id.as_bytes().len().saturating_add(24))
                    .fold(0, usize::saturating_add);
                w.be32(u32::try_from(len).unwrap_or(u32::MAX));
                for r in self.regs.list() {
                    let holds = match self.reservation {
                        Some(t) if t.all_registrants() => true,
                        Some(_) => r.holder,
                        None => false,
                    };
                    w.be64(r.key);
                    w.zeros(4);
                    w.u8(if r.all_tg_pt { 0x02 } else { 0 } | u8::from(holds));
                    w.u8(if holds {
                        self.reservation.map_or(0, PrType::code)
                    } else {
                        0
                    });
                    w.zeros(4);
                    w.be16(if r.all_tg_pt { 0 } else { r.port.rel_tgt });
                    let id = r.port.id.as_bytes();
                    w.be32(u32::try_from(id.len()).unwrap_or(0));
                    w.bytes(id);
                }
            }
            _ => return Err(bad_cdb(1, Some(4))),
        }
        Ok(w.finish())
    }
}

/// Registrations in a `Vec`, for the tests of this module and of `super::pr_file`.
#[cfg(test)]
pub(crate) mod test_regs {
    use super::{Registration, Registrations};
    use crate::sense::Sense;
    use std::vec::Vec;

    #[derive(Default, Clone, Debug)]
    pub(crate) struct Regs(pub(crate) Vec<Registration>);

    impl Registrations for Regs {
        fn list(&self) -> &[Registration] {
            &self.0
        }
        fn list_mut(&mut self) -> &mut [Registration] {
            &mut self.0
        }
        fn add(&mut self, r: Registration) -> Result<(), Sense> {
            self.0.push(r);
            Ok(())
        }
        fn remove(&mut self, i: usize) {
            self.0.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_regs::Regs;
    use super::*;

    #[test]
    fn preempt_and_abort_is_told_by_opcode_and_service_action() {
        assert!(is_preempt_and_abort(&[
            0x5F, 0x05, 0x03, 0, 0, 0, 0, 0, 24, 0
        ]));
        assert!(is_preempt_and_abort(&[0x5F, 0xE5]));
        assert!(!is_preempt_and_abort(&[0x5F, 0x04]));
        assert!(!is_preempt_and_abort(&[0x5E, 0x05]));
        assert!(!is_preempt_and_abort(&[0x5F]));
    }
    use crate::transport_id::protocol;
    use std::vec::Vec;

    type State = Reservations<Regs>;

    fn port(name: &str, rel_tgt: u16) -> Port {
        Port {
            id: TransportId::of_initiator(protocol::SAS, name.as_bytes()).unwrap(),
            rel_tgt,
        }
    }

    fn cdb(sa: u8, pr_type: u8, len: u32) -> [u8; 10] {
        let l = len.to_be_bytes();
        [0x5F, sa, pr_type, 0, 0, l[0], l[1], l[2], l[3], 0]
    }

    fn list(key: u64, sark: u64, flags: u8) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&key.to_be_bytes());
        v.extend_from_slice(&sark.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, flags, 0, 0, 0]);
        v
    }

    /// Runs a PR OUT from `n`; returns the answer and the notices.
    fn out(
        s: &mut State,
        n: &Port,
        sa: u8,
        pr_type: u8,
        key: u64,
        sark: u64,
        flags: u8,
    ) -> (Answer, Vec<Notice>) {
        let l = list(key, sark, flags);
        let c = cdb(sa, pr_type, l.len() as u32);
        run(s, n, &c, &l)
    }

    fn run(s: &mut State, n: &Port, c: &[u8], l: &[u8]) -> (Answer, Vec<Notice>) {
        let mut notes = Vec::new();
        let a = match parse_pr_out(c, l) {
            Ok(cmd) => s.pr_out(
                n,
                &cmd,
                &|p| (p == 1 || p == 2).then_some(protocol::SAS),
                &mut |x| notes.push(x),
            ),
            Err(e) => Answer::Check(e),
        };
        (a, notes)
    }

    fn keys(s: &State) -> Vec<u64> {
        s.regs.0.iter().map(|r| r.key).collect()
    }

    const A: u64 = 0xa;
    const B: u64 = 0xb;
    const C: u64 = 0xc;

    /// Nexuses a, b, c registered with keys A, B, C; generation 3.
    fn three() -> (State, Port, Port, Port) {
        let mut s = State::default();
        let (a, b, c) = (port("ini-a", 1), port("ini-b", 1), port("ini-c", 2));
        for (n, k) in [(&a, A), (&b, B), (&c, C)] {
            assert_eq!(out(&mut s, n, out_sa::REGISTER, 0, 0, k, 0).0, Answer::Good);
        }
        assert_eq!(s.generation, 3);
        (s, a, b, c)
    }

    #[test]
    fn register_proves_the_key_and_counts_generations() {
        let (mut s, a, _, _) = three();
        // Wrong key from a registered nexus; a key from an unregistered one.
        assert_eq!(
            out(&mut s, &a, out_sa::REGISTER, 0, 0xbad, 1, 0).0,
            Answer::Conflict
        );
        let d = port("ini-d", 1);
        assert_eq!(
            out(&mut s, &d, out_sa::REGISTER, 0, 5, 1, 0).0,
            Answer::Conflict
        );
        // An unregistered nexus registering key 0: GOOD, nothing registered, but the
        // generation counts it (SPC-4, SCST).
        assert_eq!(
            out(&mut s, &d, out_sa::REGISTER, 0, 0, 0, 0).0,
            Answer::Good
        );
        assert_eq!((s.generation, keys(&s)), (4, std::vec![A, B, C]));
        // Key changed, then ignored-key registration, then unregistration.
        assert_eq!(
            out(&mut s, &a, out_sa::REGISTER, 0, A, 0x1a, 0).0,
            Answer::Good
        );
        assert_eq!(
            out(&mut s, &a, out_sa::REGISTER_AND_IGNORE, 0, 0x999, 0x2a, 0).0,
            Answer::Good
        );
        assert_eq!(keys(&s), [0x2a, B, C]);
        assert_eq!(
            out(&mut s, &a, out_sa::REGISTER, 0, 0x2a, 0, 0).0,
            Answer::Good
        );
        assert_eq!(keys(&s), [B, C]);
        assert_eq!(s.generation, 7);
        // Service actions other than REGISTER need a registration.
        assert_eq!(
            out(&mut s, &a, out_sa::RESERVE, 1, 0, 0, 0).0,
            Answer::Conflict
        );
        assert_eq!(
            out(&mut s, &a, out_sa::CLEAR, 0, 0, 0, 0).0,
            Answer::Conflict
        );
    }

    #[test]
    fn reservations_conflict_as_spc4_table_66_says() {
        // (type, holder, registrant, non-registrant): what reads and writes may do.
        let rules: [(u8, [(bool, bool); 3]); 6] = [
            (1, [(true, true), (true, false), (true, false)]),
            (3, [(true, true), (false, false), (false, false)]),
            (5, [(true, true), (true, true), (true, false)]),
            (6, [(true, true), (true, true), (false, false)]),
            (7, [(true, true), (true, true), (true, false)]),
            (8, [(true, true), (true, true), (false, false)]),
        ];
        for (t, expect) in rules {
            let (mut s, a, b, _) = three();
            assert_eq!(
                out(&mut s, &a, out_sa::RESERVE, t, A, 0, 0).0,
                Answer::Good,
                "type {t}"
            );
            let stranger = port("ini-z", 1);
            for (n, (read, write)) in [&a, &b, &stranger].into_iter().zip(expect) {
                assert_eq!(
                    !s.conflicts(n, Access::Read),
                    read,
                    "type {t} read by {n:?}"
                );
                assert_eq!(
                    !s.conflicts(n, Access::Write),
                    write,
                    "type {t} write by {n:?}"
                );
                assert!(!s.conflicts(n, Access::Allowed) && !s.conflicts(n, Access::Persistent));
            }
            // The same initiator port through another target port is another nexus, and
            // not registered.
            let a_elsewhere = Port { rel_tgt: 2, ..a };
            assert!(!s.holds(&a_elsewhere) && s.conflicts(&a_elsewhere, Access::Write));
        }
    }

    #[test]
    fn reserve_and_release_follow_the_holder() {
        let (mut s, a, b, _) = three();
        assert_eq!(out(&mut s, &a, out_sa::RESERVE, 5, A, 0, 0).0, Answer::Good);
        // Again, same type: GOOD; another type or another nexus: conflict.
        assert_eq!(out(&mut s, &a, out_sa::RESERVE, 5, A, 0, 0).0, Answer::Good);
        assert_eq!(
            out(&mut s, &a, out_sa::RESERVE, 1, A, 0, 0).0,
            Answer::Conflict
        );
        assert_eq!(
            out(&mut s, &b, out_sa::RESERVE, 5, B, 0, 0).0,
            Answer::Conflict
        );
        // RELEASE by a registrant that is not the holder: GOOD, nothing happens.
        assert_eq!(out(&mut s, &b, out_sa::RELEASE, 5, B, 0, 0).0, Answer::Good);
        assert_eq!(s.reservation, Some(PrType::WriteExclusiveRegistrantsOnly));
        // The holder with the wrong type.
        assert_eq!(
            out(&mut s, &a, out_sa::RELEASE, 6, A, 0, 0).0,
            Answer::Check(Sense::INVALID_RELEASE_OF_PERSISTENT_RESERVATION)
        );
        // Released: the other registrants hear of it (registrants only type).
        let (answer, notes) = out(&mut s, &a, out_sa::RELEASE, 5, A, 0, 0);
        assert_eq!(answer, Answer::Good);
        assert_eq!(s.reservation, None);
        assert_eq!(notes.len(), 2);
        assert!(notes
            .iter()
            .all(|n| n.ua == Ua::ReservationsReleased && !n.abort));
        assert!(notes.iter().all(|n| n.port != a));
        // Releasing a write exclusive reservation tells nobody; no generation change.
        assert_eq!(out(&mut s, &a, out_sa::RESERVE, 1, A, 0, 0).0, Answer::Good);
        let (answer, notes) = out(&mut s, &a, out_sa::RELEASE, 1, A, 0, 0);
        assert_eq!((answer, notes.len(), s.generation), (Answer::Good, 0, 3));
        // Invalid scope and type.
        assert_eq!(
            out(&mut s, &a, out_sa::RESERVE, 0x11, A, 0, 0).0,
            Answer::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(7)))
        );
        assert_eq!(
            out(&mut s, &a, out_sa::RESERVE, 2, A, 0, 0).0,
            Answer::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(2, Some(3)))
        );
    }

    #[test]
    fn a_holder_that_unregisters_releases_the_reservation() {
        let (mut s, a, _, _) = three();
        out(&mut s, &a, out_sa::RESERVE, 6, A, 0, 0);
        let (_, notes) = out(&mut s, &a, out_sa::REGISTER, 0, A, 0, 0);
        assert_eq!(s.reservation, None);
        assert_eq!(
            notes
                .iter()
                .filter(|n| n.ua == Ua::ReservationsReleased)
                .count(),
            2
        );
        // An all registrants reservation lasts until its last registrant goes.
        let (mut s, a, b, c) = three();
        out(&mut s, &b, out_sa::RESERVE, 7, B, 0, 0);
        assert!(s.holds(&a) && s.holds(&b) && s.holds(&c));
        out(&mut s, &b, out_sa::REGISTER, 0, B, 0, 0);
        out(&mut s, &a, out_sa::REGISTER, 0, A, 0, 0);
        assert_eq!(s.reservation, Some(PrType::WriteExclusiveAllRegistrants));
        out(&mut s, &c, out_sa::REGISTER, 0, C, 0, 0);
        assert_eq!(s.reservation, None);
        assert!(s.is_empty());
    }

    #[test]
    fn clear_removes_everything_and_tells_the_others() {
        let (mut s, a, b, _) = three();
        out(&mut s, &a, out_sa::RESERVE, 3, A, 0, 0);
        let (answer, notes) = out(&mut s, &b, out_sa::CLEAR, 0, B, 0, 0);
        assert_eq!(answer, Answer::Good);
        assert!(s.regs.0.is_empty() && s.reservation.is_none());
        assert_eq!(notes.len(), 2);
        assert!(notes
            .iter()
            .all(|n| n.ua == Ua::ReservationsPreempted && n.port != b));
        assert_eq!(s.generation, 4);
    }

    #[test]
    fn preempt_takes_the_reservation_and_removes_the_holder() {
        let (mut s, a, b, c) = three();
        out(&mut s, &a, out_sa::RESERVE, 3, A, 0, 0);
        let (answer, notes) = out(&mut s, &b, out_sa::PREEMPT_AND_ABORT, 1, B, A, 0);
        assert_eq!(answer, Answer::Good);
        assert_eq!(keys(&s), [B, C]);
        assert!(s.holds(&b) && !s.holds(&c));
        assert_eq!(s.reservation, Some(PrType::WriteExclusive));
        // a: preempted (and its tasks aborted); c: the type changed.
        assert_eq!(notes.len(), 2);
        assert_eq!(
            (notes[0].port, notes[0].ua, notes[0].abort),
            (a, Ua::RegistrationsPreempted, true)
        );
        assert_eq!((notes[1].port, notes[1].ua), (c, Ua::ReservationsReleased));
        assert_eq!(s.generation, 4);
        // Preempting a key nobody has: conflict; key 0 without an all registrants
        // reservation to preempt: invalid.
        assert_eq!(
            out(&mut s, &c, out_sa::PREEMPT, 1, C, 0x77, 0).0,
            Answer::Conflict
        );
        assert_eq!(
            out(&mut s, &c, out_sa::PREEMPT, 1, C, 0, 0).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(8, None))
        );
        // Preempting a key the caller shares removes the caller's registration too.
        let (mut t, ta, tb, _) = three();
        out(&mut t, &tb, out_sa::REGISTER, 0, B, A, 0);
        let (answer, notes) = out(&mut t, &tb, out_sa::PREEMPT, 1, A, A, 0);
        assert_eq!((answer, notes.len()), (Answer::Good, 1));
        assert_eq!(notes[0].port, ta);
        assert_eq!(keys(&t), [C]);
        // A key that is not the holder's removes registrations only.
        let (answer, notes) = out(&mut s, &b, out_sa::PREEMPT, 3, B, C, 0);
        assert_eq!((answer, notes.len()), (Answer::Good, 1));
        assert_eq!(s.reservation, Some(PrType::WriteExclusive));
        assert_eq!(
            (notes[0].port, notes[0].ua, notes[0].abort),
            (c, Ua::RegistrationsPreempted, false)
        );
        assert_eq!(keys(&s), [B]);
    }

    #[test]
    fn preempting_all_registrants_with_key_zero_leaves_the_caller_alone() {
        let (mut s, a, b, _) = three();
        out(&mut s, &a, out_sa::RESERVE, 8, A, 0, 0);
        let (answer, notes) = out(&mut s, &b, out_sa::PREEMPT, 3, B, 0, 0);
        assert_eq!(answer, Answer::Good);
        assert_eq!(keys(&s), [B]);
        assert_eq!(s.reservation, Some(PrType::ExclusiveAccess));
        assert!(s.holds(&b));
        assert_eq!(notes.len(), 2);
        assert!(notes
            .iter()
            .all(|n| n.ua == Ua::RegistrationsPreempted && !n.abort));
    }

    #[test]
    fn spec_i_pt_registers_every_named_port_or_none() {
        let mut s = State::default();
        let a = port("ini-a", 1);
        let b = port("ini-b", 1);
        let mut l = list(0, A, 0x08);
        let ids = [b.id.as_bytes(), port("ini-c", 1).id.as_bytes()].concat();
        l.extend_from_slice(&(ids.len() as u32).to_be_bytes());
        l.extend_from_slice(&ids);
        let (answer, _) = run(&mut s, &a, &cdb(0, 0, l.len() as u32), &l);
        assert_eq!(answer, Answer::Good);
        assert_eq!(keys(&s), [A, A, A]);
        assert_eq!(s.generation, 1);
        // b registered already keeps its key; the others are registered.
        let mut s2 = State::default();
        out(&mut s2, &b, out_sa::REGISTER, 0, 0, B, 0);
        let (answer, _) = run(&mut s2, &a, &cdb(0, 0, l.len() as u32), &l);
        assert_eq!(answer, Answer::Good);
        assert_eq!(keys(&s2), [B, A, A]);
        // A port named twice refuses the whole list.
        let mut l4 = list(0, A, 0x08);
        let twice = [b.id.as_bytes(), b.id.as_bytes()].concat();
        l4.extend_from_slice(&(twice.len() as u32).to_be_bytes());
        l4.extend_from_slice(&twice);
        let mut s4 = State::default();
        let (answer, _) = run(&mut s4, &a, &cdb(0, 0, l4.len() as u32), &l4);
        assert_eq!(
            answer,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(24, None))
        );
        assert!(s4.regs.0.is_empty());
        // From a registered nexus: SPEC_I_PT is invalid.
        let mut l2 = list(A, A, 0x08);
        l2.extend_from_slice(&0u32.to_be_bytes());
        let (answer, _) = run(&mut s, &a, &cdb(0, 0, l2.len() as u32), &l2);
        assert_eq!(
            answer,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(20, Some(3)))
        );
        // A list whose length field lies.
        let mut l3 = list(0, A, 0x08);
        l3.extend_from_slice(&100u32.to_be_bytes());
        let (answer, _) = run(&mut State::default(), &a, &cdb(0, 0, l3.len() as u32), &l3);
        assert_eq!(answer, Answer::Check(Sense::PARAMETER_LIST_LENGTH_ERROR));
    }

    #[test]
    fn one_i_t_nexus_has_one_registration() {
        let mut s = State::default();
        let a1 = port("ini-a", 1);
        let a2 = port("ini-a", 2);
        assert_eq!(
            out(&mut s, &a1, out_sa::REGISTER, 0, 0, A, 0).0,
            Answer::Good
        );
        // The same initiator port through another target port, for every port: it
        // would be a second registration of (a, 1).
        assert_eq!(
            out(&mut s, &a2, out_sa::REGISTER, 0, 0, B, 0x04).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(20, Some(2)))
        );
        // Through that port alone it is another nexus.
        assert_eq!(
            out(&mut s, &a2, out_sa::REGISTER, 0, 0, B, 0).0,
            Answer::Good
        );
        assert_eq!(keys(&s), [A, B]);
        // An iSCSI initiator registered for all ports is the same nexus through each.
        let i1 = Port {
            id: TransportId::of_initiator(protocol::ISCSI, b"iqn.x:i,i,0x1").unwrap(),
            rel_tgt: 1,
        };
        let i2 = Port { rel_tgt: 2, ..i1 };
        assert_eq!(
            out(&mut s, &i1, out_sa::REGISTER, 0, 0, C, 0x04).0,
            Answer::Good
        );
        assert_eq!(
            out(&mut s, &i2, out_sa::REGISTER, 0, C, 0xcc, 0).0,
            Answer::Good
        );
        assert_eq!(keys(&s), [A, B, 0xcc]);
    }

    #[test]
    fn parameter_list_lengths_are_checked() {
        let a = port("ini-a", 1);
        let l = list(0, A, 0);
        let mut s = State::default();
        assert_eq!(
            run(&mut s, &a, &cdb(0, 0, 23), &l).0,
            Answer::Check(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        assert_eq!(
            run(&mut s, &a, &cdb(0, 0, 25), &l).0,
            Answer::Check(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        let mut long = l.clone();
        long.push(0);
        assert_eq!(
            run(&mut s, &a, &cdb(0, 0, 25), &long).0,
            Answer::Check(Sense::PARAMETER_LIST_LENGTH_ERROR)
        );
        assert_eq!(
            run(&mut s, &a, &cdb(9, 0, 24), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(4)))
        );
        // SPEC_I_PT with another service action.
        let l = list(0, A, 0x08);
        assert_eq!(
            run(&mut s, &a, &cdb(6, 0, 24), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(20, Some(3)))
        );
    }

    fn move_list(key: u64, sark: u64, flags: u8, rel_tgt: u16, to: &Port) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&key.to_be_bytes());
        v.extend_from_slice(&sark.to_be_bytes());
        v.extend_from_slice(&[0, flags]);
        v.extend_from_slice(&rel_tgt.to_be_bytes());
        let id = to.id.as_bytes();
        v.extend_from_slice(&(id.len() as u32).to_be_bytes());
        v.extend_from_slice(id);
        v
    }

    #[test]
    fn register_and_move_hands_the_reservation_over() {
        let (mut s, a, _, _) = three();
        let d = port("ini-d", 2);
        // Nothing reserved yet: INVALID FIELD IN CDB (as SCST and LIO).
        let l = move_list(A, 0xd, 0, 2, &d);
        assert_eq!(
            run(&mut s, &a, &cdb(7, 0, l.len() as u32), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_CDB)
        );
        out(&mut s, &a, out_sa::RESERVE, 3, A, 0, 0);
        // An unknown target port; itself as destination.
        let l = move_list(A, 0xd, 0, 9, &d);
        assert_eq!(
            run(&mut s, &a, &cdb(7, 0, l.len() as u32), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(18, None))
        );
        // A destination of another protocol than the target port's; an iSCSI name
        // without ISID (every port of an initiator).
        let iscsi = Port {
            id: TransportId::of_initiator(protocol::ISCSI, b"iqn.x:d").unwrap(),
            rel_tgt: 2,
        };
        let l = move_list(A, 0xd, 0, 2, &iscsi);
        assert_eq!(
            run(&mut s, &a, &cdb(7, 0, l.len() as u32), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(24, None))
        );
        let iscsi_port = Port {
            id: TransportId::of_initiator(protocol::ISCSI, b"iqn.x:d,i,0x1").unwrap(),
            rel_tgt: 2,
        };
        let l = move_list(A, 0xd, 0, 2, &iscsi_port);
        assert_eq!(
            run(&mut s, &a, &cdb(7, 0, l.len() as u32), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(18, None)),
            "an iSCSI port through a SAS target port"
        );
        let l = move_list(A, 0xd, 0, 1, &a);
        assert_eq!(
            run(&mut s, &a, &cdb(7, 0, l.len() as u32), &l).0,
            Answer::Check(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(24, None))
        );
        // Moved, the source unregistered (UNREG), APTPL set.
        let l = move_list(A, 0xd, 0x03, 2, &d);
        assert_eq!(
            run(&mut s, &a, &cdb(7, 0, l.len() as u32), &l).0,
            Answer::Good
        );
        assert!(s.holds(&d) && !s.holds(&a));
        assert_eq!(keys(&s), [B, C, 0xd]);
        assert!(s.aptpl);
        assert_eq!(s.reservation, Some(PrType::ExclusiveAccess));
    }

    #[test]
    fn commands_are_classed_by_what_they_do_to_the_unit() {
        let class = |cdb: &[u8]| access_of(cdb);
        assert_eq!(class(&[0x12, 0, 0, 0, 36, 0]), Access::Allowed);
        assert_eq!(
            class(&[0xA3, 0x0A]),
            Access::Allowed,
            "REPORT TARGET PORT GROUPS"
        );
        assert_eq!(
            class(&[0xA3, 0x0C]),
            Access::Read,
            "REPORT SUPPORTED OPERATION CODES"
        );
        assert_eq!(class(&[0x00; 6]), Access::Allowed);
        assert_eq!(class(&[0x28; 10]), Access::Read);
        assert_eq!(class(&[0x2A; 10]), Access::Write);
        assert_eq!(class(&[0x35; 10]), Access::Write, "SYNCHRONIZE CACHE");
        assert_eq!(class(&[0x9E, 0x10]), Access::Allowed, "READ CAPACITY(16)");
        assert_eq!(class(&[0x9E, 0x12]), Access::Read, "GET LBA STATUS");
        assert_eq!(class(&[0x1B, 0, 0, 0, 0x01, 0]), Access::Allowed, "START");
        assert_eq!(class(&[0x1B, 0, 0, 0, 0x00, 0]), Access::Write, "STOP");
        assert_eq!(class(&[0x1E, 0, 0, 0, 0x01, 0]), Access::Write, "PREVENT");
        assert_eq!(class(&[0x5F, 0x01]), Access::Persistent);
        assert_eq!(class(&[0x56; 10]), Access::Reserve);
        assert_eq!(class(&[0x17; 6]), Access::Release);
        assert_eq!(class(&[0xC0; 6]), Access::Write, "vendor specific");
        assert_eq!(class(&[]), Access::Write);
    }

    #[test]
    fn spc2_reservations_stand_apart_from_persistent_ones() {
        let mut s = State::default();
        let (a, b) = (port("ini-a", 1), port("ini-b", 1));
        assert_eq!(s.reserve_spc2(&a), Answer::Good);
        assert_eq!(s.reserve_spc2(&a), Answer::Good);
        assert_eq!(s.reserve_spc2(&b), Answer::Conflict);
        assert!(s.conflicts(&b, Access::Read) && s.conflicts(&b, Access::Persistent));
        assert!(!s.conflicts(&b, Access::Allowed) && !s.conflicts(&a, Access::Write));
        assert!(s.conflicts(&b, Access::Read) && s.conflicts(&b, Access::Reserve));
        // PERSISTENT RESERVE IN/OUT conflict with an SPC-2 reservation, the holder's own
        // included.
        assert!(s.conflicts(&a, Access::Persistent));
        // RELEASE by another nexus: GOOD, the reservation stays.
        assert_eq!(s.release_spc2(&b), Answer::Good);
        assert_eq!(s.spc2, Some(a));
        assert_eq!(
            out(&mut s, &b, out_sa::REGISTER, 0, 0, B, 0).0,
            Answer::Conflict
        );
        s.reset_spc2(Some(&b));
        assert_eq!(s.spc2, Some(a));
        s.reset_spc2(Some(&a));
        assert!(s.is_empty());
        // With a registration, RESERVE(6/10) conflicts, but for the persistent holder and,
        // under a registrants only type, for registrants (CRH): GOOD, and nothing reserved.
        out(&mut s, &b, out_sa::REGISTER, 0, 0, B, 0);
        assert_eq!(s.reserve_spc2(&a), Answer::Conflict);
        assert_eq!(s.reserve_spc2(&b), Answer::Conflict);
        out(&mut s, &b, out_sa::RESERVE, 1, B, 0, 0);
        assert_eq!((s.reserve_spc2(&b), s.spc2), (Answer::Good, None));
        assert_eq!(s.release_spc2(&b), Answer::Good);
        assert_eq!(s.reservation, Some(PrType::WriteExclusive));
        assert_eq!(s.release_spc2(&a), Answer::Conflict);
        out(&mut s, &a, out_sa::REGISTER, 0, 0, A, 0);
        out(&mut s, &b, out_sa::RELEASE, 1, B, 0, 0);
        out(&mut s, &b, out_sa::RESERVE, 5, B, 0, 0);
        assert_eq!(s.reserve_spc2(&a), Answer::Good);
    }

    #[test]
    fn persistent_reserve_in_reports_keys_reservation_and_status() {
        let (mut s, a, _, _) = three();
        out(&mut s, &a, out_sa::RESERVE, 5, A, 0, 0);
        let mut buf = [0u8; 512];
        let n = s.pr_in(in_sa::READ_KEYS, 512, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[
                0, 0, 0, 3, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0xa, 0, 0, 0, 0, 0, 0, 0, 0xb, 0, 0,
                0, 0, 0, 0, 0, 0xc
            ]
        );
        // Truncated by the allocation length; the length field still tells all.
        assert_eq!(s.pr_in(in_sa::READ_KEYS, 12, &mut buf), Ok(12));
        let n = s.pr_in(in_sa::READ_RESERVATION, 512, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &[0, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0xa, 0, 0, 0, 0, 0, 5, 0, 0]
        );
        let n = s.pr_in(in_sa::REPORT_CAPABILITIES, 512, &mut buf).unwrap();
        assert_eq!(&buf[..n], &[0, 8, 0x1d, 0x80, 0xea, 0x01, 0, 0]);
        let n = s.pr_in(in_sa::READ_FULL_STATUS, 512, &mut buf).unwrap();
        assert_eq!(n, 8 + 3 * 48);
        assert_eq!(&buf[4..8], &[0, 0, 0, 144]);
        // a: holder of type 5 through target port 1, its SAS TransportID.
        assert_eq!(
            &buf[8..32],
            &[0, 0, 0, 0, 0, 0, 0, 0xa, 0, 0, 0, 0, 0x01, 5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 24]
        );
        assert_eq!(&buf[32..56], a.id.as_bytes());
        assert_eq!(buf[56 + 12], 0);
        assert_eq!(
            s.pr_in(9, 512, &mut buf),
            Err(Sense::INVALID_FIELD_IN_CDB.in_cdb(1, Some(4)))
        );
    }
}
