// SPDX-License-Identifier: GPL-2.0
//! Values the data path reads without a lock: an index map (an xarray)
//! and a single slot, both under RCU. Readers run a closure inside an RCU
//! read-side section (any context; the closure must not sleep); writers
//! (management, thread context) publish a new value, wait for a grace
//! period, and only then free the old one.

use core::ffi::{c_int, c_ulong, c_void};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::sync::Arc;

// Keys are u64 LUN numbers, xarray indices unsigned long: 64-bit only.
const _: () = assert!(core::mem::size_of::<c_ulong>() == core::mem::size_of::<u64>());

extern "C" {
    fn rscst_sys_xa_new() -> *mut c_void;
    fn rscst_sys_xa_free(xa: *mut c_void);
    fn rscst_sys_xa_load(xa: *mut c_void, index: c_ulong) -> *mut c_void;
    fn rscst_sys_xa_find(xa: *mut c_void, index: *mut c_ulong) -> *mut c_void;
    fn rscst_sys_xa_store(xa: *mut c_void, index: c_ulong, entry: *mut c_void, old: *mut *mut c_void) -> c_int;
    fn rscst_sys_xa_erase(xa: *mut c_void, index: c_ulong) -> *mut c_void;
    fn rscst_sys_rcu_read_lock();
    fn rscst_sys_rcu_read_unlock();
    fn rscst_sys_synchronize_rcu();
}

/// An RCU read-side section for as long as it lives.
struct ReadGuard;

impl ReadGuard {
    fn new() -> Self {
        // SAFETY: rcu_read_lock may be taken in any context and nests.
        unsafe { rscst_sys_rcu_read_lock() };
        ReadGuard
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        // SAFETY: pairs with the lock taken in `new`.
        unsafe { rscst_sys_rcu_read_unlock() };
    }
}

/// Waits for a grace period: every reader that started before has finished.
fn synchronize() {
    super::context::assert_may_sleep();
    // SAFETY: thread context (checked above in debug kernels).
    unsafe { rscst_sys_synchronize_rcu() };
}

/// A map from `u64` keys to boxed values, read without a lock.
///
/// # Invariants
/// `xa` is a live xarray owned by this value whose entries are leaked
/// `KBox<T>`s; an entry's box is freed only after it was erased or
/// replaced and a grace period passed (or when the map drops).
pub struct RcuMap<T: Send + Sync> {
    xa: NonNull<c_void>,
    _t: PhantomData<T>,
}

// SAFETY: the xarray serialises writers with its own lock; readers see
// `&T`, shared across threads (T: Sync), and values move between threads
// only as whole boxes (T: Send).
unsafe impl<T: Send + Sync> Send for RcuMap<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for RcuMap<T> {}

impl<T: Send + Sync> RcuMap<T> {
    /// An empty map (thread context).
    pub fn new() -> Result<Self> {
        // SAFETY: no preconditions.
        let xa = unsafe { rscst_sys_xa_new() };
        // INVARIANT: a new, empty xarray.
        NonNull::new(xa).map(|xa| RcuMap { xa, _t: PhantomData }).ok_or(code::ENOMEM)
    }

    /// Runs `f` with the value at `key` (any context; `f` must not sleep).
    pub fn with<R>(&self, key: u64, f: impl FnOnce(Option<&T>) -> R) -> R {
        let _rcu = ReadGuard::new();
        // SAFETY: a live xarray (invariant), read under RCU.
        let p = unsafe { rscst_sys_xa_load(self.xa.as_ptr(), key as c_ulong) };
        // SAFETY: a leaked KBox<T> (invariant), not freed before this RCU
        // section ends; `f` cannot keep the reference past it.
        f(NonNull::new(p.cast::<T>()).map(|p| unsafe { p.as_ref() }))
    }

    /// Runs `f` with the first entry whose key is `key` or more, if any
    /// (any context; `f` must not sleep). Walks the map without allocating.
    pub fn next_from<R>(&self, key: u64, f: impl FnOnce(Option<(u64, &T)>) -> R) -> R {
        let _rcu = ReadGuard::new();
        let mut index = key as c_ulong;
        // SAFETY: a live xarray (invariant), searched under RCU.
        let p = unsafe { rscst_sys_xa_find(self.xa.as_ptr(), &mut index) };
        // SAFETY: as in `with`.
        f(NonNull::new(p.cast::<T>()).map(|p| (index as u64, unsafe { p.as_ref() })))
    }

    /// Calls `f` with every entry in key order (any context; `f` must not
    /// sleep). Entries added or removed meanwhile may or may not be seen.
    pub fn for_each(&self, mut f: impl FnMut(u64, &T)) {
        let _rcu = ReadGuard::new();
        let mut index: c_ulong = 0;
        loop {
            // SAFETY: a live xarray (invariant), searched under RCU.
            let p = unsafe { rscst_sys_xa_find(self.xa.as_ptr(), &mut index) };
            let Some(p) = NonNull::new(p.cast::<T>()) else { return };
            // SAFETY: as in `with`.
            f(index as u64, unsafe { p.as_ref() });
            let Some(next) = index.checked_add(1) else { return };
            index = next;
        }
    }

    /// Stores `v` at `key`; returns the value it replaced, once no reader
    /// can see that one any more (thread context; allocates).
    pub fn store(&self, key: u64, v: KBox<T>) -> Result<Option<KBox<T>>> {
        let p = KBox::into_raw(v);
        let mut old: *mut c_void = core::ptr::null_mut();
        // SAFETY: a live xarray (invariant); `p` is a leaked box, which the
        // map owns from here (INVARIANT) unless the store fails.
        let r = unsafe { rscst_sys_xa_store(self.xa.as_ptr(), key as c_ulong, p.cast(), &mut old) };
        if r != 0 {
            // SAFETY: not stored: still ours.
            drop(unsafe { KBox::from_raw(p) });
            return Err(Error::from_errno(r));
        }
        Ok(self.retire(old))
    }

    /// Removes the value at `key`; returns it once no reader can see it
    /// (thread context; never allocates).
    pub fn remove(&self, key: u64) -> Option<KBox<T>> {
        self.erase(key).map(Erased::reclaim)
    }

    /// Takes the value at `key` out of the map without waiting for its
    /// readers: many erasures can share one grace period ([`reclaim_all`]).
    pub fn erase(&self, key: u64) -> Option<Erased<T>> {
        // SAFETY: a live xarray (invariant).
        let old = unsafe { rscst_sys_xa_erase(self.xa.as_ptr(), key as c_ulong) };
        // INVARIANT: a leaked box that left the map.
        NonNull::new(old.cast::<T>()).map(Erased)
    }

    /// Takes back an entry taken out of the map, after a grace period.
    fn retire(&self, old: *mut c_void) -> Option<KBox<T>> {
        let old = NonNull::new(old.cast::<T>())?;
        synchronize();
        // SAFETY: a leaked box that left the map (invariant) and that no
        // reader can still see after the grace period.
        Some(unsafe { KBox::from_raw(old.as_ptr()) })
    }
}

impl<T: Send + Sync> Drop for RcuMap<T> {
    fn drop(&mut self) {
        // Nobody reads a map that is dropped (`&mut self`): no grace period.
        let mut index: c_ulong = 0;
        loop {
            // SAFETY: a live xarray (invariant), ours alone now.
            let p = unsafe { rscst_sys_xa_find(self.xa.as_ptr(), &mut index) };
            if p.is_null() {
                break;
            }
            // SAFETY: as above; the entry is a leaked box (invariant), erased
            // and freed once.
            unsafe {
                rscst_sys_xa_erase(self.xa.as_ptr(), index);
                drop(KBox::from_raw(p.cast::<T>()));
            }
        }
        // SAFETY: ours, empty, freed once.
        unsafe { rscst_sys_xa_free(self.xa.as_ptr()) };
    }
}

/// A value taken out of an [`RcuMap`] that readers may still see: it can be
/// read, and is freed only after a grace period ([`Erased::reclaim`],
/// [`reclaim_all`], or dropping it, which waits).
///
/// # Invariants
/// A leaked `KBox<T>` that left its map and is freed by nobody else.
pub struct Erased<T: Send + Sync>(NonNull<T>);

impl<T: Send + Sync> Erased<T> {
    /// The value (readers may still be reading it too).
    pub fn get(&self) -> &T {
        // SAFETY: not freed before this value is gone (invariant).
        unsafe { self.0.as_ref() }
    }

    /// Waits for a grace period and returns the box (thread context).
    pub fn reclaim(self) -> KBox<T> {
        synchronize();
        let p = self.0;
        core::mem::forget(self);
        // SAFETY: no reader can see it after the grace period (invariant).
        unsafe { KBox::from_raw(p.as_ptr()) }
    }
}

impl<T: Send + Sync> Drop for Erased<T> {
    fn drop(&mut self) {
        synchronize();
        // SAFETY: as in `reclaim`.
        drop(unsafe { KBox::from_raw(self.0.as_ptr()) });
    }
}

/// Frees a batch of erased values after one grace period (thread context).
pub fn reclaim_all<T: Send + Sync>(batch: &mut [Option<Erased<T>>]) {
    if batch.iter().all(|e| e.is_none()) {
        return;
    }
    synchronize();
    for e in batch.iter_mut() {
        if let Some(e) = e.take() {
            let p = e.0;
            core::mem::forget(e);
            // SAFETY: no reader can see it after the grace period above
            // (invariant of `Erased`).
            drop(unsafe { KBox::from_raw(p.as_ptr()) });
        }
    }
}

/// An optional shared reference, read without a lock and replaced without
/// allocating.
///
/// # Invariants
/// `p` is null or a pointer from `Arc::into_raw` that this value owns; a
/// replaced one is released only after a grace period (or when the cell
/// drops).
pub struct RcuArc<T: Send + Sync> {
    p: AtomicPtr<T>,
}

fn into_raw<T>(v: Option<Arc<T>>) -> *mut T {
    v.map_or(core::ptr::null_mut(), |a| Arc::into_raw(a).cast_mut())
}

impl<T: Send + Sync> RcuArc<T> {
    /// A cell holding `v`.
    pub fn new(v: Option<Arc<T>>) -> Self {
        // INVARIANT: null or from into_raw.
        RcuArc { p: AtomicPtr::new(into_raw(v)) }
    }

    /// Runs `f` with the value (any context; `f` must not sleep).
    pub fn read<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        let _rcu = ReadGuard::new();
        let p = self.p.load(Ordering::Acquire);
        // SAFETY: null or an Arc's pointer (invariant) whose reference is
        // released only after this RCU section; `f` cannot keep it.
        f(NonNull::new(p).map(|p| unsafe { p.as_ref() }))
    }

    /// Whether the cell holds `other` (the same object, or both none).
    pub fn holds(&self, other: Option<&Arc<T>>) -> bool {
        let p = self.p.load(Ordering::Acquire);
        match other {
            Some(a) => core::ptr::eq(p, &**a),
            None => p.is_null(),
        }
    }

    /// Publishes `v`; returns the old value once no reader can see it
    /// (thread context; never allocates).
    pub fn replace(&self, v: Option<Arc<T>>) -> Option<Arc<T>> {
        let old = self.p.swap(into_raw(v), Ordering::AcqRel);
        let old = NonNull::new(old)?;
        synchronize();
        // SAFETY: from into_raw (invariant), out of the cell, and no reader
        // can still see it after the grace period.
        Some(unsafe { Arc::from_raw(old.as_ptr()) })
    }
}

impl<T: Send + Sync> Drop for RcuArc<T> {
    fn drop(&mut self) {
        if let Some(p) = NonNull::new(*self.p.get_mut()) {
            // SAFETY: from into_raw (invariant); nobody reads a dropped cell.
            drop(unsafe { Arc::from_raw(p.as_ptr()) });
        }
    }
}
