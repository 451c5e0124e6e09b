// SPDX-License-Identifier: GPL-2.0
//! Removal from KVecs, which 6.12 cannot do in place: slot vectors
//! (`KVec<Option<T>>` whose freed entries are reused) and order-keeping
//! removal by predicate.

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

/// Removes the elements matching `pred`, keeping the others in order, and
/// returns them (6.12's KVec cannot remove in place). Both vectors are
/// allocated before `v` is touched, so on failure `v` is unchanged.
pub fn take_where<T>(v: &mut KVec<T>, pred: impl Fn(&T) -> bool, flags: Flags) -> Result<KVec<T>, AllocError> {
    let mut keep = KVec::with_capacity(v.len(), flags)?;
    let mut gone = KVec::with_capacity(v.len(), flags)?;
    for x in core::mem::take(v) {
        // Within the reserved capacity: these pushes do not allocate.
        if pred(&x) {
            gone.push(x, flags)?;
        } else {
            keep.push(x, flags)?;
        }
    }
    *v = keep;
    Ok(gone)
}
