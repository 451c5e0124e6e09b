// SPDX-License-Identifier: GPL-2.0
//! Abort flags with stable addresses: one per slot of a shard of a session's
//! in-flight table, in chunks that never move, so that a command keeps a
//! pointer to its own flag and reads it without taking the shard's lock (the
//! data path checks it at every step), while TMFs set it under that lock.

use core::ptr::NonNull;
use core::sync::atomic::AtomicBool;
use kernel::alloc::Flags;
use kernel::prelude::*;

/// Flags per chunk.
pub const CHUNK: usize = 64;

type Chunk = [AtomicBool; CHUNK];

/// A growable array of abort flags whose addresses never change.
///
/// # Invariants
/// Every pointer in `chunks` is a leaked `KBox<Chunk>`, freed only when
/// this value drops.
pub struct AbortFlags {
    chunks: KVec<NonNull<Chunk>>,
}

// SAFETY: the chunks hold atomics only; the pointers are owned.
unsafe impl Send for AbortFlags {}
// SAFETY: as above.
unsafe impl Sync for AbortFlags {}

impl AbortFlags {
    /// No flags.
    pub const fn new() -> Self {
        AbortFlags { chunks: KVec::new() }
    }

    /// Flags available.
    pub fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// Adds a chunk of cleared flags.
    pub fn grow(&mut self, flags: Flags) -> Result {
        self.chunks.reserve(1, flags)?;
        let chunk = KBox::new([const { AtomicBool::new(false) }; CHUNK], flags)?;
        // INVARIANT: leaked here, freed in Drop. Room was reserved: the push
        // does not allocate, so it cannot fail and leak the chunk.
        let p = NonNull::from(KBox::leak(chunk));
        self.chunks.push(p, flags)?;
        Ok(())
    }

    /// Flag `i`, if within the capacity. Its address stays the same for as
    /// long as this value lives.
    pub fn get(&self, i: usize) -> Option<&AtomicBool> {
        let chunk = self.chunks.get(i / CHUNK)?;
        // SAFETY: a live chunk (invariant), shared: only atomics in it.
        Some(&unsafe { chunk.as_ref() }[i % CHUNK])
    }
}

impl Drop for AbortFlags {
    fn drop(&mut self) {
        for p in self.chunks.iter() {
            // SAFETY: leaked by `grow` (invariant), freed once here.
            drop(unsafe { KBox::from_raw(p.as_ptr()) });
        }
    }
}
