// SPDX-License-Identifier: GPL-2.0
//! A device's gates: queues of commands in arrival order that admit shared
//! passes together and an exclusive pass alone. A device has two.
//!
//! **The write gate** makes COMPARE AND WRITE atomic against every other
//! write to the device, from every initiator (SBC-4 5.3). Every command
//! that writes the medium through the block tier (WRITE, WRITE AND VERIFY,
//! WRITE SAME, UNMAP) passes it shared, for as long as it executes (an
//! EXTENDED COPY passes its destination's gate for each of its WRITEs,
//! `Cmd::gate_elsewhere`); COMPARE AND WRITE passes it exclusive, from
//! before its read until after its write. Reads do not pass it: a READ
//! overlapping a COMPARE AND WRITE sees the blocks before or after it, as
//! SBC allows. A raw SCSI tier's commands that change the medium pass it
//! shared (`cmd::ready`).
//!
//! **The order gate** is the logical unit's task set (SAM-5 8.6, see
//! `scsi::task_set`): every command passes it from when its data is
//! present until its status is ready; SIMPLE ones shared, ORDERED ones
//! exclusive, and HEAD OF QUEUE ones at once ([`Gate::enter_head`]), while
//! what comes after them but HEAD OF QUEUE waits.
//!
//! Shared passes cost two atomic operations while no exclusive or head
//! pass is about (the fast path). While one is held or waited for, later
//! commands queue behind it in arrival order; a queued command leaves the
//! gate's hands through `resume`, which sends it on in a thread of its
//! device. A command aborted while queued leaves the queue at once when
//! its TMF says so ([`Gate::release_aborted`]): its TMF must not wait for
//! the commands it queued behind, which may be waiting for the TMF.
//!
//! The fast path pairs with the exclusive side like Dekker's algorithm: a
//! shared pass counts itself in `shared` and then reads `closed`; an
//! exclusive or head pass counts itself in `closed` (under the lock) and
//! then reads `shared`. Both are SeqCst, so at least one of the two sees
//! the other.

use crate::cmd::Cmd;
use crate::sys::lock::IrqSpinLock;
use crate::sys::ops::CmdPtr;
use core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use kernel::prelude::*;

/// What a command has of the gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Hold {
    /// Nothing.
    #[default]
    None,
    /// Queued for a shared pass.
    WaitingShared,
    /// Queued for the exclusive pass.
    WaitingExclusive,
    /// A shared pass.
    Shared,
    /// The exclusive pass.
    Exclusive,
    /// A head pass (HEAD OF QUEUE: taken at once, beside anything held).
    Head,
}

impl Hold {
    /// Whether the command holds a pass.
    pub fn held(self) -> bool {
        matches!(self, Hold::Shared | Hold::Exclusive | Hold::Head)
    }
}

/// A command's place at one gate: what it holds and, while queued there,
/// the next queued command.
#[derive(Default)]
pub struct Place {
    /// What it has of the gate.
    pub hold: Hold,
    /// The next command in the gate's queue, while queued there.
    next: Option<CmdPtr>,
}

/// Which of a command's places a gate uses.
pub type Lane = fn(&mut Cmd) -> &mut Place;

/// The queue, in arrival order: `outgoing` pops from its head; `incoming`
/// is pushed at its head and reversed into `outgoing` when that runs dry
/// (both linked through the commands' `Place::next` of the gate's lane).
struct Queue {
    outgoing: Option<CmdPtr>,
    incoming: Option<CmdPtr>,
    /// The exclusive pass is held.
    exclusive: bool,
    /// Head passes held.
    heads: u32,
    lane: Lane,
}

impl Queue {
    fn place<'a>(&self, cmd: &'a mut CmdPtr) -> &'a mut Place {
        (self.lane)(cmd.get())
    }

    fn push(&mut self, mut cmd: CmdPtr) {
        let incoming = self.incoming.take();
        self.place(&mut cmd).next = incoming;
        self.incoming = Some(cmd);
    }

    /// Moves `incoming` behind `outgoing`, in arrival order.
    fn settle(&mut self) {
        let mut reversed = None;
        while let Some(mut cmd) = self.incoming.take() {
            self.incoming = self.place(&mut cmd).next.take();
            self.place(&mut cmd).next = reversed.take();
            reversed = Some(cmd);
        }
        // `reversed` is in arrival order now: append it.
        let lane = self.lane;
        let mut tail = &mut self.outgoing;
        while let Some(cmd) = tail {
            tail = &mut lane(cmd.get()).next;
        }
        *tail = reversed;
    }

    /// The oldest queued command's hold, if any.
    fn front(&mut self) -> Option<Hold> {
        if self.outgoing.is_none() {
            self.settle();
        }
        let lane = self.lane;
        self.outgoing.as_mut().map(|c| lane(c.get()).hold)
    }

    fn pop(&mut self) -> Option<CmdPtr> {
        self.front()?;
        let mut cmd = self.outgoing.take()?;
        self.outgoing = self.place(&mut cmd).next.take();
        Some(cmd)
    }

    /// Takes the queued commands for which `doomed` holds out of the queue
    /// (their holds back to none), keeping the others in order; each goes
    /// to `gone`.
    fn remove(&mut self, doomed: &dyn Fn(&mut CmdPtr) -> bool, mut gone: impl FnMut(CmdPtr)) {
        self.settle();
        let lane = self.lane;
        let mut rest = self.outgoing.take();
        let mut tail = &mut self.outgoing;
        while let Some(mut cmd) = rest {
            rest = lane(cmd.get()).next.take();
            if doomed(&mut cmd) {
                gone(cmd);
            } else {
                let kept = tail.insert(cmd);
                tail = &mut lane(kept.get()).next;
            }
        }
    }
}

/// One of a device's gates.
#[pin_data]
pub struct Gate {
    /// Shared passes held, plus fast-path attempts in progress.
    shared: AtomicU32,
    /// Exclusive passes held or queued, and head passes held (written
    /// under the lock).
    closed: AtomicU32,
    /// Whether a command is aborted, for a gate whose queued commands a
    /// TMF releases at once (`release_aborted`).
    aborted: Option<fn(&mut Cmd) -> bool>,
    #[pin]
    queue: IrqSpinLock<Queue>,
}

impl Gate {
    /// An open gate whose commands' places are in `lane`; with `aborted`,
    /// one whose aborted commands never wait in the queue.
    pub fn new(lane: Lane, aborted: Option<fn(&mut Cmd) -> bool>) -> impl PinInit<Self> {
        pin_init!(Gate {
            shared: AtomicU32::new(0),
            closed: AtomicU32::new(0),
            aborted,
            queue <- crate::new_irq_spinlock!(
                Queue { outgoing: None, incoming: None, exclusive: false, heads: 0, lane },
                "rscst_gate"
            ),
        })
    }

    /// The fast path of a shared pass (any context): true if `hold` is a
    /// shared pass now, false if an exclusive pass is about ([`Gate::enter`]
    /// then queues the command).
    pub fn try_shared(&self, hold: &mut Hold, resume: fn(CmdPtr)) -> bool {
        if self.closed.load(SeqCst) != 0 {
            return false;
        }
        self.shared.fetch_add(1, SeqCst);
        if self.closed.load(SeqCst) == 0 {
            *hold = Hold::Shared;
            return true;
        }
        // An exclusive pass came meanwhile: undo.
        self.drop_shared(resume);
        false
    }

    /// Takes a pass for `cmd` (any context): `exclusive` for COMPARE AND
    /// WRITE or ORDERED. Some: it holds it now, nothing being queued ahead
    /// of it. None: it is queued, and handed to `resume` once it holds it,
    /// perhaps before this returns, and may then complete and be freed on
    /// another CPU: the caller keeps the device alive for the call. A gate
    /// that releases aborted commands does not queue one that is aborted
    /// already (its TMF may have looked at the queue before it came): it
    /// goes to `resume` without a pass.
    pub fn enter(&self, mut cmd: CmdPtr, exclusive: bool, resume: fn(CmdPtr)) -> Option<CmdPtr> {
        let mut q = self.queue.lock();
        if self.aborted.is_some_and(|aborted| aborted(cmd.get())) {
            q.place(&mut cmd).hold = Hold::None;
            resume(cmd);
            return None;
        }
        let hold = if exclusive {
            self.closed.fetch_add(1, SeqCst);
            Hold::WaitingExclusive
        } else {
            Hold::WaitingShared
        };
        if q.front().is_none() {
            if let Some(pass) = self.pass_for(&q, hold) {
                self.grant(&mut q, pass);
                q.place(&mut cmd).hold = pass;
                return Some(cmd);
            }
        }
        q.place(&mut cmd).hold = hold;
        q.push(cmd);
        self.admit(&mut q, resume);
        None
    }

    /// A head pass, at once (any context): what is queued or comes later,
    /// but other head passes, waits until it is given back.
    pub fn enter_head(&self, hold: &mut Hold) {
        let mut q = self.queue.lock();
        self.closed.fetch_add(1, SeqCst);
        q.heads += 1;
        *hold = Hold::Head;
    }

    /// Takes the queued commands that are aborted out of the queue and
    /// hands each to `resume` without a pass (any context; for a TMF that
    /// marked them, before it waits for them): they are answered at once
    /// rather than in their turn. The commands behind them that may pass
    /// now go on too. Nothing for a gate made without an `aborted` test.
    pub fn release_aborted(&self, resume: fn(CmdPtr)) {
        let Some(aborted) = self.aborted else { return };
        let mut q = self.queue.lock();
        let lane = q.lane;
        let mut exclusive_left = 0;
        q.remove(&|cmd| aborted(cmd.get()), |mut cmd| {
            let place = lane(cmd.get());
            if place.hold == Hold::WaitingExclusive {
                exclusive_left += 1;
            }
            place.hold = Hold::None;
            resume(cmd);
        });
        self.closed.fetch_sub(exclusive_left, SeqCst);
        self.admit(&mut q, resume);
    }

    /// Gives back the pass `hold` is (any context; nothing if it is none):
    /// the commands queued behind it that may now pass go to `resume`.
    pub fn leave(&self, hold: &mut Hold, resume: fn(CmdPtr)) {
        match core::mem::take(hold) {
            Hold::Shared => self.drop_shared(resume),
            Hold::Exclusive => {
                let mut q = self.queue.lock();
                q.exclusive = false;
                self.closed.fetch_sub(1, SeqCst);
                self.admit(&mut q, resume);
            }
            Hold::Head => {
                let mut q = self.queue.lock();
                q.heads -= 1;
                self.closed.fetch_sub(1, SeqCst);
                self.admit(&mut q, resume);
            }
            // A queued command is owned by the queue, never released.
            Hold::None | Hold::WaitingShared | Hold::WaitingExclusive => {}
        }
    }

    fn drop_shared(&self, resume: fn(CmdPtr)) {
        if self.shared.fetch_sub(1, SeqCst) == 1 && self.closed.load(SeqCst) != 0 {
            // The last shared pass of those an exclusive one waits for.
            let mut q = self.queue.lock();
            self.admit(&mut q, resume);
        }
    }

    /// Lets the queued commands pass that may, oldest first: shared passes
    /// while no exclusive or head pass is held, an exclusive one when
    /// nothing else is held. Resuming only queues work, so it is done under
    /// the lock.
    fn admit(&self, q: &mut Queue, resume: fn(CmdPtr)) {
        while let Some(front) = q.front() {
            let Some(pass) = self.pass_for(q, front) else { return };
            let Some(mut cmd) = q.pop() else { return };
            self.grant(q, pass);
            q.place(&mut cmd).hold = pass;
            resume(cmd);
        }
    }

    /// The pass a command waiting as `waiting` may take now, if any.
    fn pass_for(&self, q: &Queue, waiting: Hold) -> Option<Hold> {
        let open = !q.exclusive && q.heads == 0;
        match waiting {
            Hold::WaitingShared if open => Some(Hold::Shared),
            Hold::WaitingExclusive if open && self.shared.load(SeqCst) == 0 => Some(Hold::Exclusive),
            _ => None,
        }
    }

    /// Counts `pass` as held.
    fn grant(&self, q: &mut Queue, pass: Hold) {
        if pass == Hold::Shared {
            self.shared.fetch_add(1, SeqCst);
        } else {
            q.exclusive = true;
        }
    }
}
