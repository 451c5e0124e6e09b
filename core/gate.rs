// SPDX-License-Identifier: GPL-2.0
//! The device's write gate: what makes COMPARE AND WRITE atomic against
//! every other write to the device, from every initiator (SBC-4 5.3).
//!
//! Every command that writes the medium through the block tier (WRITE,
//! WRITE AND VERIFY, WRITE SAME, UNMAP) passes the gate shared, for as long
//! as it executes (an EXTENDED COPY passes its destination's gate for each
//! of its WRITEs, `Cmd::gate_elsewhere`); COMPARE AND WRITE passes it exclusive, from before its
//! read until after its write. Shared passes cost two atomic operations
//! while no COMPARE AND WRITE is about (the fast path). While one holds or
//! waits for the gate, later writes queue behind it in arrival order; a
//! queued command leaves the gate's hands through `resume`, which sends it
//! on in a thread of its device.
//!
//! Reads do not pass the gate: a READ overlapping a COMPARE AND WRITE sees
//! the blocks before or after it, as SBC allows. A raw SCSI tier's
//! commands that change the medium pass it shared (`cmd::ready`).
//!
//! The fast path pairs with the exclusive side like Dekker's algorithm: a
//! shared pass counts itself in `shared` and then reads `closed`; an
//! exclusive pass counts itself in `closed` (under the lock) and then reads
//! `shared`. Both are SeqCst, so at least one of the two sees the other.

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
}

impl Hold {
    /// Whether the command holds a pass.
    pub fn held(self) -> bool {
        matches!(self, Hold::Shared | Hold::Exclusive)
    }
}

/// The queue, in arrival order: `outgoing` pops from its head; `incoming`
/// is pushed at its head and reversed into `outgoing` when that runs dry
/// (both linked through `Cmd::gate_next`).
struct Queue {
    outgoing: Option<CmdPtr>,
    incoming: Option<CmdPtr>,
    /// The exclusive pass is held.
    exclusive: bool,
}

impl Queue {
    fn push(&mut self, mut cmd: CmdPtr) {
        cmd.get().gate_next = self.incoming.take();
        self.incoming = Some(cmd);
    }

    /// The oldest queued command's hold, if any.
    fn front(&mut self) -> Option<Hold> {
        if self.outgoing.is_none() {
            while let Some(mut cmd) = self.incoming.take() {
                self.incoming = cmd.get().gate_next.take();
                cmd.get().gate_next = self.outgoing.take();
                self.outgoing = Some(cmd);
            }
        }
        self.outgoing.as_mut().map(|c| c.get().gate)
    }

    fn pop(&mut self) -> Option<CmdPtr> {
        self.front()?;
        let mut cmd = self.outgoing.take()?;
        self.outgoing = cmd.get().gate_next.take();
        Some(cmd)
    }
}

/// A device's write gate.
#[pin_data]
pub struct Gate {
    /// Shared passes held, plus fast-path attempts in progress.
    shared: AtomicU32,
    /// Exclusive passes held or queued (written under the lock).
    closed: AtomicU32,
    #[pin]
    queue: IrqSpinLock<Queue>,
}

impl Gate {
    /// An open gate.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Gate {
            shared: AtomicU32::new(0),
            closed: AtomicU32::new(0),
            queue <- crate::new_irq_spinlock!(Queue { outgoing: None, incoming: None, exclusive: false }, "rscst_gate"),
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

    /// Queues `cmd` for its pass (any context): `exclusive` for COMPARE AND
    /// WRITE. It is handed to `resume` once it holds it, perhaps before
    /// this returns, and may then complete and be freed on another CPU: the
    /// caller keeps the device alive for the call.
    pub fn enter(&self, mut cmd: CmdPtr, exclusive: bool, resume: fn(CmdPtr)) {
        let mut q = self.queue.lock();
        if exclusive {
            self.closed.fetch_add(1, SeqCst);
            cmd.get().gate = Hold::WaitingExclusive;
        } else {
            cmd.get().gate = Hold::WaitingShared;
        }
        q.push(cmd);
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
    /// while no exclusive one is held, an exclusive one when nothing else is
    /// held. Resuming only queues work, so it is done under the lock.
    fn admit(&self, q: &mut Queue, resume: fn(CmdPtr)) {
        while let Some(front) = q.front() {
            let pass = match front {
                Hold::WaitingShared if !q.exclusive => Hold::Shared,
                Hold::WaitingExclusive if !q.exclusive && self.shared.load(SeqCst) == 0 => Hold::Exclusive,
                _ => return,
            };
            let Some(mut cmd) = q.pop() else { return };
            if pass == Hold::Shared {
                self.shared.fetch_add(1, SeqCst);
            } else {
                q.exclusive = true;
            }
            cmd.get().gate = pass;
            resume(cmd);
        }
    }
}
