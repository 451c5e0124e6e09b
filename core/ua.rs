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
use kernel::alloc::KVVec;
use kernel::prelude::*;
use crate::sys::lock::IrqSpinLock;

/// `entries[..used]`: ascending by LUN; entries may be empty. Kept in a
/// `KVVec` (a session may see 16384 LUNs), which is only ever freed in
/// thread context with no lock held (vfree may sleep).
struct Table {
    entries: KVVec<UaEntry>,
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
            table <- crate::new_irq_spinlock!(Table { entries: KVVec::new(), used: 0 }, "rscst_ua"),
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

    /// QUERY ASYNCHRONOUS EVENT's additional response information for the
    /// condition `lun` reports next, if one is pending (it stays pending).
    pub fn query_info(&self, lun: u64) -> Option<u32> {
        if !self.any() {
            return None;
        }
        find(self.table.lock().live(), lun).and_then(|e| e.set.query_info())
    }

    /// Removes and returns the condition `lun` reports next (data path, any
    /// context; frees nothing).
    pub fn take(&self, lun: u64) -> Option<Ua> {
        if !self.any() {
            return None;
        }
        let mut t = self.table.lock();
        let e = find(t.live(), lun)?;
        let ua = e.set.take_next()?;
        if e.set.is_empty() {
            let left = self.pending.load(Ordering::Relaxed).saturating_sub(1);
            self.pending.store(left, Ordering::Release);
            if left == 0 {
                // Every entry is empty: the table is too (its memory goes
                // at the next change, in a thread).
                t.used = 0;
            }
        }
        Some(ua)
    }

    /// Establishes `ua` at each LUN of the ascending `luns`, growing the
    /// table with `GFP_KERNEL` when it must (thread context).
    pub fn establish(&self, luns: &[u64], ua: Ua) -> Result {
        crate::sys::context::assert_may_sleep();
        if luns.is_empty() {
            return Ok(());
        }
        loop {
            let need = {
                let mut t = self.table.lock();
                if let Some(woke) = establish_in_place(t.live(), luns, ua) {
                    self.pending.fetch_add(woke, Ordering::AcqRel);
                    return Ok(());
                }
                t.used.checked_add(luns.len()).ok_or(ENOMEM)?
            };
            let mut fresh = KVVec::from_elem(UaEntry::default(), need, GFP_KERNEL)?;
            let mut t = self.table.lock();
            let Some(used) = merge_into(t.live(), luns, ua, &mut fresh) else {
                // The table grew meanwhile: size again (`fresh` is freed
                // with no lock held).
                drop(t);
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

    /// Clears `ua` (None: every condition) at `lun` (None: at every LUN).
    /// Any context; frees nothing (see [`Attentions::release_if_idle`]).
    pub fn clear(&self, lun: Option<u64>, ua: Option<Ua>) {
        if !self.any() {
            return;
        }
        let wipe = |e: &mut UaEntry| match ua {
            Some(ua) => e.set.clear(ua),
            None => e.set = Default::default(),
        };
        let mut t = self.table.lock();
        match lun {
            Some(l) => {
                if let Some(e) = find(t.live(), l) {
                    let was = !e.set.is_empty();
                    wipe(e);
                    if was && e.set.is_empty() {
                        let left = self.pending.load(Ordering::Relaxed).saturating_sub(1);
                        self.pending.store(left, Ordering::Release);
                    }
                }
            }
            None => {
                t.live().iter_mut().for_each(wipe);
                let n = t.pending();
                self.pending.store(n, Ordering::Release);
            }
        }
        if self.pending.load(Ordering::Relaxed) == 0 {
            t.used = 0;
        }
    }

    /// Frees the table's memory if nothing is pending (management and TMF
    /// threads call it after a change; the data path never frees, since
    /// its callers may hold locks of their own).
    pub fn release_if_idle(&self) {
        crate::sys::context::assert_may_sleep();
        let mut t = self.table.lock();
        if self.pending.load(Ordering::Relaxed) != 0 || t.entries.capacity() == 0 {
            return;
        }
        t.used = 0;
        let old = core::mem::replace(&mut t.entries, KVVec::new());
        drop(t);
        drop(old);
    }
}

/// Establishes `ua` on every I_T nexus that sees `dev`, at each LUN that
/// maps it, but on `except` (the nexus whose command caused it). Thread
/// context; a nexus whose table cannot grow loses the condition, and says
/// so.
pub fn raise_on_device(core: &Core, dev: &Device, ua: Ua, except: Option<&Session>) {
    raise_on_device_where(core, dev, ua, &|s| !except.is_some_and(|e| core::ptr::eq(e, s)))
}

/// Establishes `ua` on every I_T nexus that sees `dev` and that `to`
/// picks, at each LUN that maps it (thread context, as
/// [`raise_on_device`]).
pub fn raise_on_device_where(core: &Core, dev: &Device, ua: Ua, to: &dyn Fn(&Session) -> bool) {
    let walked = core.for_each_target(|t| {
        t.for_each_session(|s| {
            if !to(s) {
                return;
            }
            if s.luns_of(dev).and_then(|luns| s.establish_for_device(dev, &luns, ua)).is_err() {
                pr_warn!("session {:?}: out of memory for a unit attention\n", s.initiator);
            }
        })
    });
    if walked.is_err() {
        pr_warn!("out of memory: unit attention {:?} not raised\n", ua);
    }
}
