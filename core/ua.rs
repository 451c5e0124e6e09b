// SPDX-License-Identifier: GPL-2.0
//! A session's pending unit attention conditions, per LUN (the rules are
//! `crate::scsi::ua`'s).
//!
//! Locking: the table is an interrupt-safe spinlock, taken by the data path
//! only when `pending` says some LUN has a condition, so a session with none
//! (the normal case) costs each command one load. Conditions are
//! established from management, TMF threads and command completion (MODE
//! SELECT); the table grows by building a merged copy outside the lock and
//! swapping it in, so that nothing allocates under the lock.

use crate::device::Device;
use crate::registry::Core;
use crate::scsi::ua::{establish_in_place, find, merge_into, Ua, UaEntry};
use crate::session::Session;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::alloc::Flags;
use kernel::prelude::*;
use crate::sys::lock::IrqSpinLock;

/// `entries[..used]`: ascending by LUN; entries may be empty.
struct Table {
    entries: KVec<UaEntry>,
    used: usize,
}

impl Table {
    fn live(&mut self) -> &mut [UaEntry] {
        let used = self.used.min(self.entries.len());
        &mut self.entries[..used]
    }

    /// LUNs with a condition pending.
    fn pending(&mut self) -> usize {
        self.live().iter().filter(|e| !e.set.is_empty()).count()
    }
}

/// The unit attention conditions of one I_T nexus.
#[pin_data]
pub struct Attentions {
    #[pin]
    table: IrqSpinLock<Table>,
    /// LUNs with a condition pending (written under the lock).
    pending: AtomicUsize,
}

impl Attentions {
    /// No condition pending.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Attentions {
            table <- crate::new_irq_spinlock!(Table { entries: KVec::new(), used: 0 }, "rscst_ua"),
            pending: AtomicUsize::new(0),
        })
    }

    /// Whether a condition is pending at any LUN (one load).
    pub fn any(&self) -> bool {
        self.pending.load(Ordering::Acquire) != 0
    }

    /// Whether a condition is pending at `lun`.
    pub fn pending_at(&self, lun: u64) -> bool {
        self.any() && find(self.table.lock().live(), lun).is_some_and(|e| !e.set.is_empty())
    }

    /// Removes and returns the condition `lun` reports next (data path, any
    /// context).
    pub fn take(&self, lun: u64) -> Option<Ua> {
        if !self.any() {
            return None;
        }
        let mut t = self.table.lock();
        let e = find(t.live(), lun)?;
        let ua = e.set.take_next()?;
        if e.set.is_empty() {
            self.pending.fetch_sub(1, Ordering::Release);
        }
        Some(ua)
    }

    /// Establishes `ua` at each LUN of the ascending `luns`, allocating with
    /// `flags` when the table must grow.
    pub fn establish(&self, luns: &[u64], ua: Ua, flags: Flags) -> Result {
        if luns.is_empty() {
            return Ok(());
        }
        loop {
            let need = {
                let mut t = self.table.lock();
                if establish_in_place(t.live(), luns, ua) {
                    let n = t.pending();
                    self.pending.store(n, Ordering::Release);
                    return Ok(());
                }
                t.used.checked_add(luns.len()).ok_or(ENOMEM)?
            };
            let mut fresh = KVec::from_elem(UaEntry::default(), need, flags)?;
            let mut t = self.table.lock();
            let Some(used) = merge_into(t.live(), luns, ua, &mut fresh) else {
                // The table grew meanwhile: size again.
                continue;
            };
            let old = core::mem::replace(&mut t.entries, fresh);
            t.used = used;
            let n = t.pending();
            self.pending.store(n, Ordering::Release);
            drop(t);
            drop(old);
            return Ok(());
        }
    }

    /// Clears `ua` wherever it is pending (None: every condition), at `lun`
    /// only or (None) at every LUN.
    pub fn clear(&self, lun: Option<u64>, ua: Option<Ua>) {
        if !self.any() {
            return;
        }
        let mut t = self.table.lock();
        for e in t.live().iter_mut().filter(|e| lun.is_none_or(|l| l == e.lun)) {
            match ua {
                Some(ua) => e.set.clear(ua),
                None => e.set = Default::default(),
            }
        }
        let n = t.pending();
        self.pending.store(n, Ordering::Release);
    }
}

/// Establishes `ua` on every I_T nexus that sees `dev`, at each LUN that
/// maps it, but on `except` (the nexus whose command caused it). Thread
/// context; a nexus whose table cannot grow loses the condition, and says
/// so.
pub fn raise_on_device(core: &Core, dev: &Device, ua: Ua, except: Option<&Session>) {
    let walked = core.for_each_target(|t| {
        t.for_each_session(|s| {
            if except.is_some_and(|e| core::ptr::eq(e, &**s)) {
                return;
            }
            if s.luns_of(dev).and_then(|luns| s.ua.establish(&luns, ua, GFP_KERNEL)).is_err() {
                pr_warn!("session {:?}: out of memory for a unit attention\n", s.initiator);
            }
        })
    });
    if walked.is_err() {
        pr_warn!("out of memory: unit attention {:?} not raised\n", ua);
    }
}
