// SPDX-License-Identifier: GPL-2.0
//! The module-wide core object, reachable from C callbacks that carry no
//! context pointer (the exported ABI entry points).

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::sync::Arc;

/// A slot holding one `Arc<T>` for the module's lifetime.
///
/// # Invariants
/// The pointer is null or came from `Arc::into_raw`; it is set once in module
/// init before any entry point can run and taken in module exit after every
/// client module is gone (the core's own sysfs files hold what they show,
/// not the slot), and `get` on a taken slot returns None.
pub struct Global<T> {
    ptr: AtomicPtr<T>,
}

impl<T> Global<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        Global { ptr: AtomicPtr::new(core::ptr::null_mut()) }
    }

    /// Installs the object (module init).
    pub fn set(&self, v: Arc<T>) {
        let old = self.ptr.swap(Arc::into_raw(v).cast_mut(), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: a non-null value came from Arc::into_raw (invariant).
            drop(unsafe { Arc::from_raw(old) });
        }
    }

    /// Removes the object (module exit).
    pub fn take(&self) -> Option<Arc<T>> {
        let old = self.ptr.swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null value came from Arc::into_raw (invariant).
        (!old.is_null()).then(|| unsafe { Arc::from_raw(old) })
    }

    /// The object, while the module is live.
    pub fn get(&self) -> Option<&T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: non-null means installed and not yet taken; `take` only runs
        // when no entry point can be running (invariant).
        unsafe { p.as_ref() }
    }
}
