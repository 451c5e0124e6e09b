// SPDX-License-Identifier: GPL-2.0
//! Unit attention conditions (SAM-5 5.14, SPC-4 5.10): the set pending for one I_T_L nexus,
//! which commands they terminate, and the order they are reported in.
//!
//! A nexus holds at most one condition of each kind ([`Ua`]), so establishing one twice
//! reports it once. Conditions are reported in the order of [`Ua`]'s variants: resets first
//! (they say that everything else the initiator knew is stale), then the changes. A reset
//! condition established on a nexus clears the pending conditions of the kinds a reset makes
//! meaningless (an older reset, commands cleared by another initiator) and keeps those that
//! describe state the reset did not restore (mode parameters, capacity, reservations, LUN
//! inventory), as SCST and LIO keep them.

use super::cdb::opcode;
use super::sense::Sense;

/// One kind of unit attention condition, in reporting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Ua {
    /// 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED: a new I_T nexus, or a LUN newly
    /// mapped to one.
    PowerOnReset = 0,
    /// 29/03 BUS DEVICE RESET FUNCTION OCCURRED: LOGICAL UNIT RESET or TARGET RESET.
    BusDeviceReset,
    /// 29/07 I_T NEXUS LOSS OCCURRED: I_T NEXUS RESET.
    NexusLoss,
    /// 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR: CLEAR TASK SET (TAS off).
    CommandsCleared,
    /// 2A/03 RESERVATIONS PREEMPTED.
    ReservationsPreempted,
    /// 2A/04 RESERVATIONS RELEASED.
    ReservationsReleased,
    /// 2A/05 REGISTRATIONS PREEMPTED.
    RegistrationsPreempted,
    /// 2A/01 MODE PARAMETERS CHANGED.
    ModeParametersChanged,
    /// 2A/09 CAPACITY DATA HAS CHANGED.
    CapacityChanged,
    /// 2A/06 ASYMMETRIC ACCESS STATE CHANGED.
    AsymmetricAccessChanged,
    /// 3F/03 INQUIRY DATA HAS CHANGED: the LUN now maps another device.
    InquiryDataChanged,
    /// 3F/0E REPORTED LUNS DATA HAS CHANGED.
    ReportedLunsChanged,
}

/// Every kind, in reporting order.
const ALL: [Ua; 12] = [
    Ua::PowerOnReset,
    Ua::BusDeviceReset,
    Ua::NexusLoss,
    Ua::CommandsCleared,
    Ua::ReservationsPreempted,
    Ua::ReservationsReleased,
    Ua::RegistrationsPreempted,
    Ua::ModeParametersChanged,
    Ua::CapacityChanged,
    Ua::AsymmetricAccessChanged,
    Ua::InquiryDataChanged,
    Ua::ReportedLunsChanged,
];

impl Ua {
    /// The sense the condition is reported with.
    pub const fn sense(self) -> Sense {
        match self {
            Ua::PowerOnReset => Sense::POWER_ON_RESET,
            Ua::BusDeviceReset => Sense::BUS_DEVICE_RESET,
            Ua::NexusLoss => Sense::I_T_NEXUS_LOSS,
            Ua::CommandsCleared => Sense::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR,
            Ua::ReservationsPreempted => Sense::RESERVATIONS_PREEMPTED,
            Ua::ReservationsReleased => Sense::RESERVATIONS_RELEASED,
            Ua::RegistrationsPreempted => Sense::REGISTRATIONS_PREEMPTED,
            Ua::ModeParametersChanged => Sense::MODE_PARAMETERS_CHANGED,
            Ua::CapacityChanged => Sense::CAPACITY_DATA_CHANGED,
            Ua::AsymmetricAccessChanged => Sense::ASYMMETRIC_ACCESS_STATE_CHANGED,
            Ua::InquiryDataChanged => Sense::INQUIRY_DATA_CHANGED,
            Ua::ReportedLunsChanged => Sense::REPORTED_LUNS_DATA_CHANGED,
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u8)
    }

    /// Whether this is a reset condition (ASC 29h).
    pub const fn is_reset(self) -> bool {
        matches!(self, Ua::PowerOnReset | Ua::BusDeviceReset | Ua::NexusLoss)
    }
}

/// What a reset condition supersedes: the other resets and the commands another initiator
/// cleared (the reset cleared them all the same).
const SUPERSEDED_BY_RESET: u16 = Ua::PowerOnReset.bit()
    | Ua::BusDeviceReset.bit()
    | Ua::NexusLoss.bit()
    | Ua::CommandsCleared.bit();

/// The unit attention conditions pending for one I_T_L nexus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UaSet(u16);

impl UaSet {
    /// No condition pending.
    pub const EMPTY: UaSet = UaSet(0);

    /// A set holding just `ua`.
    pub const fn of(ua: Ua) -> UaSet {
        UaSet(ua.bit())
    }

    /// Whether nothing is pending.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `ua` is pending.
    pub const fn contains(self, ua: Ua) -> bool {
        self.0 & ua.bit() != 0
    }

    /// Establishes `ua` (a reset replaces the conditions it supersedes).
    pub fn establish(&mut self, ua: Ua) {
        if ua.is_reset() {
            self.0 &= !SUPERSEDED_BY_RESET;
        }
        self.0 |= ua.bit();
    }

    /// Establishes every condition of `other`, in reporting order.
    pub fn establish_all(&mut self, other: UaSet) {
        for ua in other.iter() {
            self.establish(ua);
        }
    }

    /// Clears `ua`.
    pub fn clear(&mut self, ua: Ua) {
        self.0 &= !ua.bit();
    }

    /// The condition reported next, if any.
    pub fn next(self) -> Option<Ua> {
        self.iter().next()
    }

    /// Removes and returns the condition reported next.
    pub fn take_next(&mut self) -> Option<Ua> {
        let ua = self.next()?;
        self.clear(ua);
        Some(ua)
    }

    /// QUERY ASYNCHRONOUS EVENT's ADDITIONAL RESPONSE INFORMATION (SAM-5
    /// 7.10) for the condition reported next, if any, as three bytes in the
    /// low 24 bits: byte 0 the UADE DEPTH (01b: the only one pending, 10b:
    /// more pending) in bits 5..4 and the SENSE KEY (UNIT ATTENTION) in bits
    /// 3..0, byte 1 the ASC, byte 2 the ASCQ. Reporting it clears nothing.
    pub fn query_info(self) -> Option<u32> {
        let ua = self.next()?;
        let depth: u32 = if self.iter().nth(1).is_some() {
            0x20
        } else {
            0x10
        };
        let s = ua.sense();
        Some((depth | u32::from(s.key)) << 16 | u32::from(s.asc) << 8 | u32::from(s.ascq))
    }

    /// The pending conditions in reporting order.
    pub fn iter(self) -> impl Iterator<Item = Ua> {
        ALL.into_iter().filter(move |ua| self.contains(*ua))
    }
}

/// Whether a pending unit attention terminates a command starting with `op` (SAM-5 5.14):
/// every command but INQUIRY, REPORT LUNS and REQUEST SENSE, which SPC-4 lets through
/// (REQUEST SENSE then reports it as its parameter data).
pub const fn terminates(op: u8) -> bool {
    !matches!(
        op,
        opcode::INQUIRY | opcode::REPORT_LUNS | opcode::REQUEST_SENSE
    )
}

/// The conditions pending at one LUN of an I_T nexus: an entry of a nexus's table, which
/// lists the LUNs with pending conditions in ascending order (entries may be empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UaEntry {
    /// LUN.
    pub lun: u64,
    /// What is pending there.
    pub set: UaSet,
}

/// The entry of `lun` in the ascending `table`.
pub fn find(table: &mut [UaEntry], lun: u64) -> Option<&mut UaEntry> {
    let i = table.binary_search_by_key(&lun, |e| e.lun).ok()?;
    table.get_mut(i)
}

/// Establishes `ua` at each LUN of the ascending `luns` if every one of them already has an
/// entry in the ascending `table` (nothing to allocate): returns how many entries were empty
/// before, or None, changing nothing, when a LUN has no entry. One walk over both lists.
pub fn establish_in_place(table: &mut [UaEntry], luns: &[u64], ua: Ua) -> Option<usize> {
    let mut rest = table.iter().map(|e| e.lun).peekable();
    for l in luns {
        while rest.next_if(|t| t < l).is_some() {}
        if rest.peek() != Some(l) {
            return None;
        }
    }
    let mut woke = 0usize;
    let mut entries = table.iter_mut().peekable();
    for l in luns {
        while entries.next_if(|e| e.lun < *l).is_some() {}
        if let Some(e) = entries.peek_mut() {
            if e.set.is_empty() {
                woke = woke.saturating_add(1);
            }
            e.set.establish(ua);
        }
    }
    Some(woke)
}

/// Writes into `out` the ascending table that is `table` with `ua` established at each LUN of
/// the ascending `luns`, leaving out empty entries; returns its length, or None when `out`
/// is too short (`table.len() + luns.len()` always suffices).
pub fn merge_into(table: &[UaEntry], luns: &[u64], ua: Ua, out: &mut [UaEntry]) -> Option<usize> {
    let (mut old, mut new) = (table.iter().peekable(), luns.iter().peekable());
    let mut n = 0usize;
    loop {
        let e = match (old.peek(), new.peek()) {
            (None, None) => return Some(n),
            (Some(o), Some(&&l)) if o.lun == l => {
                let mut e = **o;
                e.set.establish(ua);
                old.next();
                new.next();
                e
            }
            (Some(o), Some(&&l)) if o.lun > l => {
                new.next();
                UaEntry {
                    lun: l,
                    set: UaSet::of(ua),
                }
            }
            (Some(o), _) => {
                let e = **o;
                old.next();
                e
            }
            (None, Some(&&l)) => {
                new.next();
                UaEntry {
                    lun: l,
                    set: UaSet::of(ua),
                }
            }
        };
        // A LUN listed twice gets one entry.
        if let Some(last) = n.checked_sub(1).and_then(|i| out.get_mut(i)) {
            if last.lun == e.lun {
                last.set.establish_all(e.set);
                continue;
            }
        }
        if e.set.is_empty() {
            continue;
        }
        *out.get_mut(n)? = e;
        n = n.checked_add(1)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_info_names_the_next_condition_and_whether_more_wait() {
        assert_eq!(UaSet::EMPTY.query_info(), None);
        let mut s = UaSet::of(Ua::BusDeviceReset);
        assert_eq!(s.query_info(), Some(0x16_29_03));
        s.establish(Ua::ModeParametersChanged);
        assert_eq!(s.query_info(), Some(0x26_29_03));
        // Nothing was cleared.
        assert_eq!(s.take_next(), Some(Ua::BusDeviceReset));
        assert_eq!(s.query_info(), Some(0x16_2A_01));
    }

    #[test]
    fn each_condition_is_reported_once_in_order() {
        let mut s = UaSet::EMPTY;
        s.establish(Ua::ReportedLunsChanged);
        s.establish(Ua::ModeParametersChanged);
        s.establish(Ua::ReportedLunsChanged);
        s.establish(Ua::CapacityChanged);
        let senses: std::vec::Vec<Sense> = core::iter::from_fn(|| s.take_next())
            .map(Ua::sense)
            .collect();
        assert_eq!(
            senses,
            [
                Sense::MODE_PARAMETERS_CHANGED,
                Sense::CAPACITY_DATA_CHANGED,
                Sense::REPORTED_LUNS_DATA_CHANGED
            ]
        );
        assert!(s.is_empty());
        assert_eq!(s.take_next(), None);
    }

    #[test]
    fn a_reset_replaces_older_resets_and_cleared_commands_and_keeps_changes() {
        let mut s = UaSet::EMPTY;
        s.establish(Ua::PowerOnReset);
        s.establish(Ua::CommandsCleared);
        s.establish(Ua::ModeParametersChanged);
        s.establish(Ua::ReportedLunsChanged);
        s.establish(Ua::BusDeviceReset);
        assert_eq!(
            s.iter().collect::<std::vec::Vec<_>>(),
            [
                Ua::BusDeviceReset,
                Ua::ModeParametersChanged,
                Ua::ReportedLunsChanged
            ]
        );
        s.establish(Ua::NexusLoss);
        assert_eq!(s.next(), Some(Ua::NexusLoss));
        assert!(!s.contains(Ua::BusDeviceReset));
        // Cleared commands after a reset are news again.
        s.establish(Ua::CommandsCleared);
        assert!(s.contains(Ua::NexusLoss) && s.contains(Ua::CommandsCleared));
    }

    #[test]
    fn senses_are_unit_attentions_with_the_spc_codes() {
        let codes: std::vec::Vec<(u8, u8)> = ALL
            .iter()
            .map(|u| (u.sense().asc, u.sense().ascq))
            .collect();
        assert_eq!(
            codes,
            [
                (0x29, 0x00),
                (0x29, 0x03),
                (0x29, 0x07),
                (0x2F, 0x00),
                (0x2A, 0x03),
                (0x2A, 0x04),
                (0x2A, 0x05),
                (0x2A, 0x01),
                (0x2A, 0x09),
                (0x2A, 0x06),
                (0x3F, 0x03),
                (0x3F, 0x0E)
            ]
        );
        assert!(ALL
            .iter()
            .all(|u| u.sense().key == super::super::sense::key::UNIT_ATTENTION));
        assert!(ALL.iter().enumerate().all(|(i, u)| *u as usize == i));
    }

    #[test]
    fn only_inquiry_report_luns_and_request_sense_pass() {
        let passing: std::vec::Vec<u8> = (0..=255u8).filter(|op| !terminates(*op)).collect();
        assert_eq!(passing, [0x03, 0x12, 0xA0]);
    }

    #[test]
    fn establish_all_merges_in_order() {
        let mut a = UaSet::of(Ua::CommandsCleared);
        let mut b = UaSet::of(Ua::PowerOnReset);
        b.establish(Ua::InquiryDataChanged);
        a.establish_all(b);
        assert_eq!(
            a.iter().collect::<std::vec::Vec<_>>(),
            [Ua::PowerOnReset, Ua::InquiryDataChanged]
        );
    }

    /// A small deterministic generator (no external crates).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % bound
        }
    }

    #[test]
    fn the_table_matches_a_map_of_sets_under_random_operations() {
        use std::collections::BTreeMap;
        let mut rng = Lcg(7);
        for _round in 0..200 {
            let mut model: BTreeMap<u64, UaSet> = BTreeMap::new();
            let mut table: std::vec::Vec<UaEntry> = std::vec::Vec::new();
            // What the kernel's `pending` counter would say, kept the way it keeps it.
            let mut pending = 0usize;
            for _op in 0..40 {
                let ua = ALL[rng.next(ALL.len() as u64) as usize];
                let mut luns: std::vec::Vec<u64> = (0..rng.next(6)).map(|_| rng.next(12)).collect();
                luns.sort_unstable();
                match rng.next(3) {
                    0 | 1 => {
                        for l in &luns {
                            model.entry(*l).or_default().establish(ua);
                        }
                        match establish_in_place(&mut table, &luns, ua) {
                            Some(woke) => pending += woke,
                            None => {
                                let mut out =
                                    std::vec![UaEntry::default(); table.len() + luns.len()];
                                let n = merge_into(&table, &luns, ua, &mut out).unwrap();
                                out.truncate(n);
                                table = out;
                                pending = table.iter().filter(|e| !e.set.is_empty()).count();
                            }
                        }
                    }
                    _ => {
                        // Report (take) the next condition at one LUN.
                        let l = rng.next(12);
                        let want = model.get_mut(&l).and_then(|s| s.take_next());
                        let got = find(&mut table, l).and_then(|e| {
                            let ua = e.set.take_next();
                            if ua.is_some() && e.set.is_empty() {
                                pending -= 1;
                            }
                            ua
                        });
                        assert_eq!(got, want);
                    }
                }
                assert!(
                    table.windows(2).all(|w| w[0].lun < w[1].lun),
                    "table not ascending"
                );
                assert_eq!(
                    pending,
                    table.iter().filter(|e| !e.set.is_empty()).count(),
                    "pending count drifted"
                );
                let flat: std::vec::Vec<(u64, UaSet)> = table
                    .iter()
                    .filter(|e| !e.set.is_empty())
                    .map(|e| (e.lun, e.set))
                    .collect();
                let expect: std::vec::Vec<(u64, UaSet)> = model
                    .iter()
                    .filter(|(_, s)| !s.is_empty())
                    .map(|(l, s)| (*l, *s))
                    .collect();
                assert_eq!(flat, expect);
            }
        }
    }

    #[test]
    fn merge_refuses_a_short_output_and_drops_empty_entries() {
        let table = [
            UaEntry {
                lun: 1,
                set: UaSet::EMPTY,
            },
            UaEntry {
                lun: 3,
                set: UaSet::of(Ua::CapacityChanged),
            },
        ];
        let mut out = [UaEntry::default(); 2];
        assert_eq!(
            merge_into(&table, &[0, 2, 4], Ua::PowerOnReset, &mut out),
            None
        );
        let mut out = [UaEntry::default(); 5];
        assert_eq!(
            merge_into(&table, &[0, 2, 4], Ua::PowerOnReset, &mut out),
            Some(4)
        );
        assert_eq!(
            out[..4].iter().map(|e| e.lun).collect::<std::vec::Vec<_>>(),
            [0, 2, 3, 4]
        );
        assert!(out[2].set.contains(Ua::CapacityChanged) && !out[2].set.contains(Ua::PowerOnReset));
        assert_eq!(
            merge_into(&table, &[5, 5], Ua::NexusLoss, &mut out),
            Some(2)
        );
        assert_eq!(
            out[1],
            UaEntry {
                lun: 5,
                set: UaSet::of(Ua::NexusLoss)
            }
        );
        // In place: only when every LUN has an entry; counts the entries it woke.
        let mut t = table;
        assert_eq!(
            establish_in_place(&mut t, &[1, 3], Ua::PowerOnReset),
            Some(1)
        );
        assert!(t[0].set.contains(Ua::PowerOnReset) && t[1].set.contains(Ua::CapacityChanged));
        assert_eq!(establish_in_place(&mut t, &[1, 2], Ua::NexusLoss), None);
        assert!(!t[0].set.contains(Ua::NexusLoss));
    }
}
