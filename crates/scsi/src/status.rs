// SPDX-License-Identifier: GPL-2.0
//! SCSI status codes (SAM-5) returned at command completion.

/// The command completed successfully.
pub const GOOD: u8 = 0x00;
/// Sense data describes an error or exception.
pub const CHECK_CONDITION: u8 = 0x02;
/// A search or pre-fetch condition was met.
pub const CONDITION_MET: u8 = 0x04;
/// The logical unit is temporarily unable to accept the command.
pub const BUSY: u8 = 0x08;
/// The command conflicts with a reservation.
pub const RESERVATION_CONFLICT: u8 = 0x18;
/// The task set is full.
pub const TASK_SET_FULL: u8 = 0x28;
/// An auto contingent allegiance condition is active.
pub const ACA_ACTIVE: u8 = 0x30;
/// The command was aborted by another I_T nexus (TAS=1).
pub const TASK_ABORTED: u8 = 0x40;

/// Whether `s` is a status a logical unit may return (SAM-5 table 32; the
/// obsolete and reserved codes are not).
pub const fn is_known(s: u8) -> bool {
    matches!(
        s,
        GOOD | CHECK_CONDITION
            | CONDITION_MET
            | BUSY
            | RESERVATION_CONFLICT
            | TASK_SET_FULL
            | ACA_ACTIVE
            | TASK_ABORTED
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sam5_statuses_are_known() {
        let known: usize = (0..=255u8).filter(|s| is_known(*s)).count();
        assert_eq!(known, 8);
        assert!(is_known(RESERVATION_CONFLICT));
        // INTERMEDIATE (0x10) and COMMAND TERMINATED (0x22) are obsolete.
        assert!(!is_known(0x10) && !is_known(0x22) && !is_known(0x01));
    }
}
