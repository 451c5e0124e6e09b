// SPDX-License-Identifier: GPL-2.0
//! The SGV buffer cache: data buffers for commands whose fabric does not
//! bring the initiator's own (network fabrics; scst_local with
//! `zero_copy=0`). Buffers are kept per size class (policy in crates/sgv) so
//! the common sizes are reused without allocating; `sgv/global_stats` shows
//! the hits and misses.
//!
//! Locking: one spinlock over all classes, taken from any context for a pop
//! or a push (no allocation or sleeping under it).

use crate::sgv_policy::{self as policy, ClassStats, Fit, Limits, NUM_CLASSES};
use crate::sys::pages::PageBuf;
use crate::sys::sysfs::{AttrOps, TextBuf};
use core::fmt::Write;
use kernel::alloc::flags::GFP_ATOMIC;
use kernel::prelude::*;
use crate::sys::lock::IrqSpinLock;

/// A stack on a KVec (6.12's KVec has no pop).
struct Stack<T> {
    items: KVec<Option<T>>,
    len: usize,
}

impl<T> Stack<T> {
    const fn new() -> Self {
        Stack { items: KVec::new(), len: 0 }
    }

    fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        self.items.get_mut(self.len).and_then(|s| s.take())
    }

    /// Pushes, or gives `v` back when memory for the slot is short.
    fn push(&mut self, v: T) -> Result<(), T> {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(v);
        } else if self.items.push(None, GFP_ATOMIC).is_ok() {
            if let Some(slot) = self.items.get_mut(self.len) {
                *slot = Some(v);
            }
        } else {
            return Err(v);
        }
        self.len += 1;
        Ok(())
    }
}

struct Pools {
    free: [Stack<KBox<PageBuf>>; NUM_CLASSES],
    stats: [ClassStats; NUM_CLASSES],
    cached_pages: u64,
    uncached: u64,
    limits: Limits,
}

/// A buffer handed to a command.
pub struct SgvBuf {
    buf: KBox<PageBuf>,
    class: Option<usize>,
}

impl SgvBuf {
    /// Shapes the buffer for `len` bytes: the scatterlist and entry count.
    pub fn shape(&mut self, len: u64) -> (*mut core::ffi::c_void, u32) {
        self.buf.shape(len)
    }
}

/// The cache.
#[pin_data]
pub struct Sgv {
    #[pin]
    pools: IrqSpinLock<Pools>,
}

impl Sgv {
    /// An empty cache.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Sgv {
            pools <- crate::new_irq_spinlock!(Pools {
                free: [const { Stack::new() }; NUM_CLASSES],
                stats: [ClassStats::default(); NUM_CLASSES],
                cached_pages: 0,
                uncached: 0,
                limits: Limits::default(),
            }, "rscst_sgv"),
        })
    }

    /// A buffer of at least `len` bytes (`atomic`: the caller cannot sleep).
    pub fn alloc(&self, len: u64, atomic: bool) -> Result<SgvBuf> {
        match policy::fit(len).ok_or(EINVAL)? {
            Fit::Class { class, pages } => {
                let cached = {
                    let mut p = self.pools.lock();
                    let b = p.free[class].pop();
                    if b.is_some() {
                        p.cached_pages = p.cached_pages.saturating_sub(u64::from(pages));
                    }
                    p.stats[class].on_alloc(b.is_some());
                    b
                };
                let buf = match cached {
                    Some(b) => b,
                    None => match PageBuf::alloc(pages, atomic).and_then(|b| Ok(KBox::new(b, GFP_ATOMIC)?)) {
                        Ok(b) => b,
                        Err(e) => {
                            // Counted as in use above: undo.
                            self.pools.lock().stats[class].on_free(false);
                            return Err(e);
                        }
                    },
                };
                Ok(SgvBuf { buf, class: Some(class) })
            }
            Fit::Uncached { pages } => {
                let buf = KBox::new(PageBuf::alloc(pages, atomic)?, GFP_ATOMIC)?;
                self.pools.lock().uncached += 1;
                Ok(SgvBuf { buf, class: None })
            }
        }
    }

    /// Returns a buffer: kept for reuse within the limits, released otherwise.
    pub fn free(&self, b: SgvBuf) {
        let Some(class) = b.class else { return };
        let mut p = self.pools.lock();
        let keep = policy::keep_on_free(class, p.cached_pages, &p.limits);
        let kept = keep && p.free[class].push(b.buf).is_ok();
        if kept {
            p.cached_pages += u64::from(policy::class_pages(class));
        }
        p.stats[class].on_free(kept);
        // A buffer not kept is dropped here: freeing pages is fine in any context.
    }
}

/// `sgv/global_stats`.
pub struct SgvStats {
    /// The cache shown.
    pub sgv: kernel::sync::Arc<Sgv>,
}

impl AttrOps for SgvStats {
    fn show(&self, out: &mut TextBuf<'_>) {
        let p = self.sgv.pools.lock();
        let _ = writeln!(out, "{:>10} {:>12} {:>12} {:>8} {:>8}", "size", "hits", "misses", "cached", "in_use");
        for (c, s) in p.stats.iter().enumerate() {
            let _ = writeln!(out, "{:>10} {:>12} {:>12} {:>8} {:>8}", policy::class_bytes(c), s.hits, s.misses, s.cached, s.in_use);
        }
        let _ = writeln!(out, "cached_pages {} (max {})", p.cached_pages, p.limits.max_cached_pages);
        let _ = writeln!(out, "uncached_allocs {}", p.uncached);
    }
}
