// SPDX-License-Identifier: GPL-2.0
//! The task set of a logical unit (SAM-5 8, SPC-4 7.5.8): how a command's task attribute
//! orders it among the others, and what the control mode page's QUEUE ALGORITHM MODIFIER
//! and QErr fields change.
//!
//! rscst keeps one task set per logical unit, shared by every I_T nexus (TST 000b, as LIO
//! does; SCST's vdisk keeps one per nexus by default). A CHECK CONDITION of a command with
//! NACA set in its CONTROL byte establishes an ACA condition for its I_T nexus (NormACA 1
//! in INQUIRY), which [`under_aca`] says what it does to new commands, as SCST has it;
//! without one, a command with the ACA attribute is refused.
//!
//! The ordering itself, in the words of SAM-5 8.6: a SIMPLE command waits for the HEAD
//! OF QUEUE and ORDERED commands received before it; an ORDERED one for every command
//! received before it; a HEAD OF QUEUE one for nothing. The core enforces it with a gate
//! per logical unit (SIMPLE commands pass it shared, ORDERED ones exclusive, HEAD OF
//! QUEUE ones at once).

use super::sense::Sense;

/// A command's task attribute, as the fabric delivered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskAttr {
    /// SIMPLE (and untagged commands).
    Simple,
    /// HEAD OF QUEUE.
    HeadOfQueue,
    /// ORDERED.
    Ordered,
    /// ACA.
    Aca,
}

impl TaskAttr {
    /// The attribute of an ABI code (`abi::task_attr`: 0 SIMPLE, 1 HEAD OF QUEUE, 2
    /// ORDERED, 4 ACA); None for any other code.
    pub fn from_code(code: u8) -> Option<TaskAttr> {
        match code {
            0 => Some(TaskAttr::Simple),
            1 => Some(TaskAttr::HeadOfQueue),
            2 => Some(TaskAttr::Ordered),
            4 => Some(TaskAttr::Aca),
            _ => None,
        }
    }
}

/// Where a command goes in its task set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Beside the other SIMPLE commands, behind earlier ORDERED and HEAD OF QUEUE ones.
    Simple,
    /// Behind everything received before it; everything received after it waits for it.
    Ordered,
    /// At once; what is received after it (but HEAD OF QUEUE) waits for it.
    HeadOfQueue,
}

/// The control mode page's QUEUE ALGORITHM MODIFIER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueAlgorithm {
    /// 0h, restricted reordering: the device server keeps the data integrity of SIMPLE
    /// commands as if they ran in order. rscst (as SCST) runs them as ORDERED.
    Restricted,
    /// 1h, unrestricted reordering (the default).
    Unrestricted,
}

impl QueueAlgorithm {
    /// The value of the 4-bit field; None for the reserved and vendor-specific values.
    pub fn from_field(v: u8) -> Option<QueueAlgorithm> {
        match v {
            0 => Some(QueueAlgorithm::Restricted),
            1 => Some(QueueAlgorithm::Unrestricted),
            _ => None,
        }
    }

    /// The field's value.
    pub fn field(self) -> u8 {
        match self {
            QueueAlgorithm::Restricted => 0,
            QueueAlgorithm::Unrestricted => 1,
        }
    }
}

/// The control mode page's QErr: what a CHECK CONDITION does to the other commands of
/// the task set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QErr {
    /// 00b: they go on (the default).
    Continue,
    /// 01b: every other command of the task set, from every I_T nexus, is aborted.
    AbortAll,
    /// 11b: the other commands of the faulted I_T nexus are aborted.
    AbortThisNexus,
}

impl QErr {
    /// The value of the 2-bit field; None for the reserved 10b.
    pub fn from_field(v: u8) -> Option<QErr> {
        match v {
            0 => Some(QErr::Continue),
            1 => Some(QErr::AbortAll),
            3 => Some(QErr::AbortThisNexus),
            _ => None,
        }
    }

    /// The field's value.
    pub fn field(self) -> u8 {
        match self {
            QErr::Continue => 0,
            QErr::AbortAll => 1,
            QErr::AbortThisNexus => 3,
        }
    }
}

/// Opcodes a SIMPLE command of is run as HEAD OF QUEUE, as SCST does: TEST UNIT READY,
/// INQUIRY, READ CAPACITY(10) and REPORT LUNS (READ CAPACITY(16), a service action, is
/// matched in [`order`]). They touch no medium, and an initiator probing a path should
/// not wait behind a queue of ORDERED commands.
const IMPLICIT_HEAD_OF_QUEUE: [u8; 4] = [0x00, 0x12, 0x25, 0xA0];

/// Where the command `cdb` with attribute `attr` goes in its task set under `qam`.
///
/// Errors: the ACA attribute (asked here only while no ACA condition is established, see
/// [`under_aca`]) -> ILLEGAL REQUEST, INVALID MESSAGE ERROR.
pub fn order(attr: TaskAttr, cdb: &[u8], qam: QueueAlgorithm) -> Result<Order, Sense> {
    let implicit_hoq = match cdb {
        [0x9E, sa, ..] => sa & 0x1F == 0x10,
        [op, ..] => IMPLICIT_HEAD_OF_QUEUE.contains(op),
        [] => false,
    };
    Ok(match attr {
        TaskAttr::Aca => return Err(Sense::INVALID_TASK_ATTRIBUTE),
        TaskAttr::HeadOfQueue => Order::HeadOfQueue,
        TaskAttr::Simple if implicit_hoq => Order::HeadOfQueue,
        _ if qam == QueueAlgorithm::Restricted => Order::Ordered,
        TaskAttr::Ordered => Order::Ordered,
        TaskAttr::Simple => Order::Simple,
    })
}

/// What an established ACA condition does to a new command (SAM-5 5.9, as SCST).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnderAca {
    /// It goes on as it would without the condition.
    Proceed,
    /// It is the faulted nexus's ACA command: it runs at once (as HEAD OF QUEUE).
    AcaCommand,
    /// It is another nexus's PREEMPT AND ABORT, which may end the condition: it runs at
    /// once (as HEAD OF QUEUE).
    PreemptAndAbort,
    /// It ends with ACA ACTIVE status.
    AcaActive,
    /// It ends with BUSY status.
    Busy,
}

/// What the ACA condition of a logical unit does to a new command with attribute `attr`:
/// `from_faulted` says whether it comes from the faulted I_T nexus, `naca` whether its
/// CONTROL byte has NACA set, `preempt_and_abort` whether it is a PERSISTENT RESERVE OUT
/// PREEMPT AND ABORT, `aca_command_running` whether the faulted nexus's one ACA command
/// is in progress.
///
/// The faulted nexus may send one ACA command at a time; anything else it sends gets ACA
/// ACTIVE. Another nexus may preempt and abort the faulted one; its ACA commands, and its
/// commands with NACA set, get ACA ACTIVE, the others BUSY.
pub fn under_aca(
    from_faulted: bool,
    attr: TaskAttr,
    naca: bool,
    preempt_and_abort: bool,
    aca_command_running: bool,
) -> UnderAca {
    match (from_faulted, attr) {
        (true, TaskAttr::Aca) if !aca_command_running => UnderAca::AcaCommand,
        (true, _) => UnderAca::AcaActive,
        (false, TaskAttr::Aca) => UnderAca::AcaActive,
        (false, _) if preempt_and_abort => UnderAca::PreemptAndAbort,
        (false, _) if naca => UnderAca::AcaActive,
        (false, _) => UnderAca::Busy,
    }
}

/// Whose other commands a CHECK CONDITION aborts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aborts {
    /// None.
    Nothing,
    /// Those of the faulted I_T nexus at the logical unit.
    ThisNexus,
    /// Those of every I_T nexus at the logical unit.
    EveryNexus,
}

impl QErr {
    /// What a command ending with CHECK CONDITION aborts (one task set for every nexus).
    pub fn on_check_condition(self) -> Aborts {
        match self {
            QErr::Continue => Aborts::Nothing,
            QErr::AbortAll => Aborts::EveryNexus,
            QErr::AbortThisNexus => Aborts::ThisNexus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ10: [u8; 10] = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];

    #[test]
    fn abi_codes_map_to_attributes() {
        assert_eq!(TaskAttr::from_code(0), Some(TaskAttr::Simple));
        assert_eq!(TaskAttr::from_code(1), Some(TaskAttr::HeadOfQueue));
        assert_eq!(TaskAttr::from_code(2), Some(TaskAttr::Ordered));
        assert_eq!(TaskAttr::from_code(4), Some(TaskAttr::Aca));
        for code in [3, 5, 0xFF] {
            assert_eq!(TaskAttr::from_code(code), None);
        }
    }

    #[test]
    fn attributes_order_as_sent_under_unrestricted_reordering() {
        let u = QueueAlgorithm::Unrestricted;
        assert_eq!(order(TaskAttr::Simple, &READ10, u), Ok(Order::Simple));
        assert_eq!(order(TaskAttr::Ordered, &READ10, u), Ok(Order::Ordered));
        assert_eq!(
            order(TaskAttr::HeadOfQueue, &READ10, u),
            Ok(Order::HeadOfQueue)
        );
    }

    #[test]
    fn restricted_reordering_orders_all_but_head_of_queue() {
        let r = QueueAlgorithm::Restricted;
        assert_eq!(order(TaskAttr::Simple, &READ10, r), Ok(Order::Ordered));
        assert_eq!(order(TaskAttr::Ordered, &READ10, r), Ok(Order::Ordered));
        assert_eq!(
            order(TaskAttr::HeadOfQueue, &READ10, r),
            Ok(Order::HeadOfQueue)
        );
        // INQUIRY stays a HEAD OF QUEUE command.
        assert_eq!(
            order(TaskAttr::Simple, &[0x12, 0, 0, 0, 36, 0], r),
            Ok(Order::HeadOfQueue)
        );
    }

    #[test]
    fn probing_commands_are_implicitly_head_of_queue() {
        let u = QueueAlgorithm::Unrestricted;
        for cdb in [
            &[0x00, 0, 0, 0, 0, 0][..],
            &[0x12, 0, 0, 0, 36, 0],
            &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0],
            &[0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0],
        ] {
            assert_eq!(
                order(TaskAttr::Simple, cdb, u),
                Ok(Order::HeadOfQueue),
                "{cdb:x?}"
            );
            // An explicit ORDERED stays ORDERED.
            assert_eq!(
                order(TaskAttr::Ordered, cdb, u),
                Ok(Order::Ordered),
                "{cdb:x?}"
            );
        }
        // Another SERVICE ACTION IN(16) (GET LBA STATUS) is not.
        let get_lba_status = [0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];
        assert_eq!(
            order(TaskAttr::Simple, &get_lba_status, u),
            Ok(Order::Simple)
        );
        assert_eq!(order(TaskAttr::Simple, &[], u), Ok(Order::Simple));
    }

    #[test]
    fn aca_attribute_without_a_condition_is_refused_with_invalid_message_error() {
        for qam in [QueueAlgorithm::Restricted, QueueAlgorithm::Unrestricted] {
            let e = order(TaskAttr::Aca, &READ10, qam).unwrap_err();
            assert_eq!((e.key, e.asc, e.ascq), (0x05, 0x49, 0x00));
        }
    }

    #[test]
    fn control_page_fields_round_trip_and_refuse_reserved_values() {
        for v in 0..16u8 {
            match QueueAlgorithm::from_field(v) {
                Some(q) => assert_eq!(q.field(), v),
                None => assert!(v >= 2),
            }
        }
        for v in 0..4u8 {
            match QErr::from_field(v) {
                Some(q) => assert_eq!(q.field(), v),
                None => assert_eq!(v, 2),
            }
        }
    }

    #[test]
    fn aca_admits_one_aca_command_of_the_faulted_nexus_and_preempt_and_abort() {
        use TaskAttr::*;
        use UnderAca::*;
        // The faulted nexus.
        assert_eq!(under_aca(true, Aca, false, false, false), AcaCommand);
        assert_eq!(under_aca(true, Aca, true, false, false), AcaCommand);
        assert_eq!(under_aca(true, Aca, false, false, true), AcaActive);
        for attr in [Simple, Ordered, HeadOfQueue] {
            assert_eq!(under_aca(true, attr, false, false, false), AcaActive);
            assert_eq!(under_aca(true, attr, false, true, false), AcaActive);
        }
        // Another nexus.
        assert_eq!(under_aca(false, Aca, false, false, false), AcaActive);
        assert_eq!(
            under_aca(false, Simple, false, true, false),
            PreemptAndAbort
        );
        assert_eq!(under_aca(false, Ordered, true, true, true), PreemptAndAbort);
        assert_eq!(under_aca(false, Simple, true, false, false), AcaActive);
        assert_eq!(under_aca(false, Ordered, false, false, false), Busy);
        assert_eq!(under_aca(false, HeadOfQueue, false, false, true), Busy);
    }

    #[test]
    fn qerr_says_whose_commands_a_check_condition_aborts() {
        assert_eq!(QErr::Continue.on_check_condition(), Aborts::Nothing);
        assert_eq!(QErr::AbortAll.on_check_condition(), Aborts::EveryNexus);
        assert_eq!(QErr::AbortThisNexus.on_check_condition(), Aborts::ThisNexus);
    }
}
