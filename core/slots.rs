// SPDX-License-Identifier: GPL-2.0
//! Slot vectors: `KVec<Option<T>>` whose freed entries are reused, since
//! 6.12's KVec cannot remove elements.

use kernel::alloc::{AllocError, Flags, KVec};

/// Stores `v` in the first free slot, or in a new one.
pub fn insert<T>(slots: &mut KVec<Option<T>>, v: T, flags: Flags) -> Result<(), AllocError> {
    match slots.iter_mut().find(|s| s.is_none()) {
        Some(slot) => {
            *slot = Some(v);
            Ok(())
        }
        None => slots.push(Some(v), flags),
    }
}
