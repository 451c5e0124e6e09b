// SPDX-License-Identifier: GPL-2.0
//! ACA conditions (SAM-5 5.9): a CHECK CONDITION of a command with NACA set
//! in its CONTROL byte establishes one at its logical unit for its I_T
//! nexus, the faulted one. While it lasts:
//!
//! - the rules of `scsi::task_set::under_aca` decide what happens to new
//!   commands: the faulted nexus may send one command with the ACA
//!   attribute at a time, another nexus a PREEMPT AND ABORT; both run at
//!   once (as HEAD OF QUEUE). Everything else ends with ACA ACTIVE or BUSY
//!   before its CDB is looked at;
//! - the commands already in the task set that have not passed its order
//!   gate stay there (blocked, SAM's word): the condition holds a head pass
//!   of the gate. Those that passed it before the condition was
//!   established complete.
//!
//! A CLEAR ACA from the faulted nexus clears it (aborting its ACA command),
//! as do a LOGICAL UNIT RESET, a TARGET RESET, the faulted nexus's loss, a
//! PREEMPT AND ABORT of it, and the nexus no longer seeing the logical unit;
//! an ACA command that ends with CHECK CONDITION without NACA does too (as
//! in SCST). The blocked commands then go on.
//!
//! The logical unit has one task set, so one condition at a time. The data
//! path reads one atomic flag while no condition is established; the state
//! itself is under an IRQ-safe spinlock, under which only the order gate's
//! lock is taken.

use crate::device::Device;
use crate::gate::Hold;
use crate::scsi::task_set::{under_aca, TaskAttr, UnderAca};
use crate::sys::lock::IrqSpinLock;
use core::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use kernel::prelude::*;

/// A logical unit's ACA condition.
#[pin_data]
pub struct Aca {
    /// A condition is established (written under the lock).
    established: AtomicBool,
    #[pin]
    state: IrqSpinLock<State>,
}

#[derive(Default)]
struct State {
    /// The faulted I_T nexus (`Session::nexus`), while a condition is
    /// established.
    faulted: Option<u64>,
    /// The tag of the faulted nexus's ACA command in progress, if any.
    aca_command: Option<u64>,
    /// The order gate's head pass the condition holds while it lasts.
    block: Hold,
    /// Counts the conditions established (which one `undo` means).
    generation: u64,
}

/// What CLEAR ACA found.
pub enum Cleared {
    /// No condition was established: nothing to do.
    Nothing,
    /// The condition was the requester's and is cleared; its ACA command
    /// in progress, if any, is to be aborted.
    Cleared(Option<u64>),
    /// Another I_T nexus is the faulted one: rejected.
    NotFaulted,
}

/// A number for each I_T nexus, never used again (ACA conditions name
/// their faulted nexus by it: a session's address may be reused).
pub fn next_nexus() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Aca {
    /// No condition.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Aca {
            established: AtomicBool::new(false),
            state <- crate::new_irq_spinlock!(State::default(), "rscst_aca"),
        })
    }

    /// Whether a condition is established (data path: one atomic load).
    pub fn is_established(&self) -> bool {
        self.established.load(Ordering::Acquire)
    }
}

/// What the condition of `dev`, if one is established, does to the new
/// command `tag` of `nexus` with attribute `attr` (data path, any context;
/// `cdb` is read only while a condition is established). An admitted ACA
/// command becomes the one in progress.
pub fn admit(dev: &Device, nexus: u64, tag: u64, attr: TaskAttr, cdb: &[u8]) -> UnderAca {
    let aca = &dev.aca;
    if !aca.is_established() {
        return UnderAca::Proceed;
    }
    let naca = crate::scsi::cdb::naca(cdb);
    let preempt_and_abort = crate::scsi::pr::is_preempt_and_abort(cdb);
    let mut s = aca.state.lock();
    let Some(faulted) = s.faulted else { return UnderAca::Proceed };
    let verdict = under_aca(faulted == nexus, attr, naca, preempt_and_abort, s.aca_command.is_some());
    if verdict == UnderAca::AcaCommand {
        s.aca_command = Some(tag);
    }
    verdict
}

/// A command of `nexus` with NACA set ends with CHECK CONDITION: the
/// condition is established for it, unless one is already; returns which
/// one if this established it. From now on the order gate passes only the
/// commands the condition admits.
pub fn establish(dev: &Device, nexus: u64) -> Option<u64> {
    let mut s = dev.aca.state.lock();
    if s.faulted.is_some() {
        return None;
    }
    s.faulted = Some(nexus);
    s.aca_command = None;
    s.generation += 1;
    // Set before the head pass is taken: a HEAD OF QUEUE command that takes
    // its own pass after this one (the gate's lock orders the two) sees the
    // flag (`crate::cmd::enter_task_set`).
    dev.aca.established.store(true, Ordering::SeqCst);
    dev.order.enter_head(&mut s.block);
    Some(s.generation)
}

/// The condition `generation` goes if it is still established and no ACA
/// command came meanwhile: the command that established it was aborted
/// before its CHECK CONDITION went out, or its nexus no longer sees the
/// logical unit.
pub fn undo(dev: &Device, generation: u64) {
    let mut s = dev.aca.state.lock();
    if s.faulted.is_some() && s.generation == generation && s.aca_command.is_none() {
        clear_locked(dev, &mut s);
    }
}

/// The ACA command `tag` of `nexus` ended, with CHECK CONDITION if
/// `check`: another may follow; a CHECK CONDITION without NACA (`naca`)
/// clears the condition.
pub fn aca_command_done(dev: &Device, nexus: u64, tag: u64, check: bool, naca: bool) {
    let mut s = dev.aca.state.lock();
    if s.faulted != Some(nexus) || s.aca_command != Some(tag) {
        return;
    }
    s.aca_command = None;
    if check && !naca {
        clear_locked(dev, &mut s);
    }
}

/// CLEAR ACA from `nexus`.
pub fn clear_from(dev: &Device, nexus: u64) -> Cleared {
    let mut s = dev.aca.state.lock();
    match s.faulted {
        None => Cleared::Nothing,
        Some(f) if f != nexus => Cleared::NotFaulted,
        Some(_) => {
            let aca_command = s.aca_command;
            clear_locked(dev, &mut s);
            Cleared::Cleared(aca_command)
        }
    }
}

/// Clears the condition, whoever it is for (a reset).
pub fn clear(dev: &Device) {
    if dev.aca.is_established() {
        clear_locked(dev, &mut dev.aca.state.lock());
    }
}

/// Clears the condition if `nexus` is the faulted one (its loss, its
/// preemption, or the logical unit leaving its view). A full barrier
/// first, and the lock always: a caller that changed what the nexus sees
/// before and a command establishing a condition (which looks at that
/// after, with a barrier between, see `crate::cmd::note_aca`) cannot both
/// miss each other.
pub fn clear_if_faulted(dev: &Device, nexus: u64) {
    fence(Ordering::SeqCst);
    let mut s = dev.aca.state.lock();
    if s.faulted == Some(nexus) {
        clear_locked(dev, &mut s);
    }
}

fn clear_locked(dev: &Device, s: &mut State) {
    if s.faulted.take().is_none() {
        return;
    }
    s.aca_command = None;
    dev.aca.established.store(false, Ordering::Release);
    // The blocked commands go on.
    dev.order.leave(&mut s.block, crate::cmd::resume_at_gate);
}
