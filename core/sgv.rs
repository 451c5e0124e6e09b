// SPDX-License-Identifier: GPL-2.0
//! The SGV buffer cache: data buffers for commands whose fabric does not
//! bring the initiator's own (network fabrics; scst_local with
//! `zero_copy=0`). Buffers are kept per size class (policy in crates/sgv) so
//! the common sizes are reused without allocating; `sgv/global_stats` shows
//! the hits and misses.
//!
//! Locking: see [`Sgv`].

use crate::sgv_policy::{self as policy, ClassStats, Fit, Limits, NUM_CLASSES};
use crate::sys::pages::PageBuf;
use crate::sys::sysfs::{AttrOps, TextBuf};
use core::fmt::Write;
use kernel::alloc::flags::GFP_ATOMIC;
use kernel::prelude::*;
use crate::sys::lock::IrqSpinLock;
use crate::sys::percpu::PerCpu;

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

/// The shared pools, behind every CPU's front cache.
struct Pools {
    free: [Stack<KBox<PageBuf>>; NUM_CLASSES],
    cached_pages: u64,
    uncached: u64,
    limits: Limits,
}

/// One CPU's front cache: a few free buffers taken and returned without
/// touching the shared pools (bounded by `policy::CPU_KEEP_PAGES`), and the
/// counters of the commands that ran on this CPU.
struct CpuCache {
    free: [Stack<KBox<PageBuf>>; NUM_CLASSES],
    held_pages: u32,
    stats: [ClassStats; NUM_CLASSES],
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
///
/// Locking: each CPU's front cache has a spinlock of its own, which only
/// that CPU's commands take (and, rarely, a task that migrated meanwhile,
/// or the stats file); the shared pools' spinlock is taken only when a
/// front cache is empty or full. Both disable interrupts (any context);
/// neither is held while allocating or freeing pages, and never both.
#[pin_data]
pub struct Sgv {
    #[pin]
    pools: IrqSpinLock<Pools>,
    cpus: PerCpu<IrqSpinLock<CpuCache>>,
}

impl Sgv {
    /// An empty cache (process context).
    pub fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Sgv {
            pools <- crate::new_irq_spinlock!(Pools {
                free: [const { Stack::new() }; NUM_CLASSES],
                cached_pages: 0,
                uncached: 0,
                limits: Limits::default(),
            }, "rscst_sgv"),
            cpus: PerCpu::<IrqSpinLock<CpuCache>>::new(|| crate::new_irq_spinlock!(CpuCache {
                free: [const { Stack::new() }; NUM_CLASSES],
                held_pages: 0,
                stats: [ClassStats::default(); NUM_CLASSES],
            }, "rscst_sgv_cpu"))?,
        }? Error)
    }

    /// A buffer of at least `len` bytes (`atomic`: the caller cannot sleep).
    pub fn alloc(&self, len: u64, atomic: bool) -> Result<SgvBuf> {
        match policy::fit(len).ok_or(EINVAL)? {
            Fit::Class { class, pages } => {
                let cpu = self.cpus.local();
                let front = {
                    let mut c = cpu.lock();
                    let b = c.free[class].pop();
                    if b.is_some() {
                        c.held_pages = c.held_pages.saturating_sub(pages);
                        c.stats[class].on_alloc(true);
                    }
                    b
                };
                let cached = match front {
                    Some(b) => Some(b),
                    None => {
                        let b = {
                            let mut p = self.pools.lock();
                            let b = p.free[class].pop();
                            if b.is_some() {
                                p.cached_pages = p.cached_pages.saturating_sub(u64::from(pages));
                            }
                            b
                        };
                        cpu.lock().stats[class].on_alloc(b.is_some());
                        b
                    }
                };
                let buf = match cached {
                    Some(b) => b,
                    None => match PageBuf::alloc(pages, atomic).and_then(|b| Ok(KBox::new(b, GFP_ATOMIC)?)) {
                        Ok(b) => b,
                        Err(e) => {
                            cpu.lock().stats[class].on_failed_alloc();
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

    /// Returns a buffer: kept for reuse (in this CPU's front cache, else
    /// the shared pools) within the limits, released otherwise.
    pub fn free(&self, b: SgvBuf) {
        let Some(class) = b.class else { return };
        let pages = policy::class_pages(class);
        let cpu = self.cpus.local();
        let mut buf = b.buf;
        {
            let mut c = cpu.lock();
            if policy::keep_on_cpu(class, c.held_pages) {
                match c.free[class].push(buf) {
                    Ok(()) => {
                        c.held_pages += pages;
                        c.stats[class].on_free(true);
                        return;
                    }
                    Err(back) => buf = back,
                }
            }
        }
        // The CPU keeps enough: the shared pools, or release it.
        let unkept = {
            let mut p = self.pools.lock();
            if policy::keep_on_free(class, p.cached_pages, &p.limits) {
                match p.free[class].push(buf) {
                    Ok(()) => {
                        p.cached_pages += u64::from(pages);
                        None
                    }
                    Err(back) => Some(back),
                }
            } else {
                Some(buf)
            }
        };
        cpu.lock().stats[class].on_free(unkept.is_none());
        // A buffer not kept is dropped here, with no lock held (freeing
        // pages is fine in any context).
        drop(unkept);
    }
}

/// `sgv/global_stats`.
pub struct SgvStats {
    /// The cache shown.
    pub sgv: kernel::sync::Arc<Sgv>,
}

impl AttrOps for SgvStats {
    fn show(&self, out: &mut TextBuf<'_>) {
        let mut sum = [ClassStats::default(); NUM_CLASSES];
        let mut front_pages = 0u64;
        for cpu in self.sgv.cpus.iter() {
            let c = cpu.lock();
            for (t, s) in sum.iter_mut().zip(c.stats.iter()) {
                t.add(s);
            }
            front_pages += u64::from(c.held_pages);
        }
        let _ = writeln!(out, "{:>10} {:>12} {:>12} {:>8} {:>8}", "size", "hits", "misses", "cached", "in_use");
        for (c, s) in sum.iter().enumerate() {
            let _ = writeln!(out, "{:>10} {:>12} {:>12} {:>8} {:>8}", policy::class_bytes(c), s.hits, s.misses, s.cached(), s.in_use());
        }
        let p = self.sgv.pools.lock();
        let _ = writeln!(out, "cached_pages {} (max {})", p.cached_pages, p.limits.max_cached_pages);
        let _ = writeln!(out, "cpu_cached_pages {} (max {} per CPU)", front_pages, policy::CPU_KEEP_PAGES);
        let _ = writeln!(out, "uncached_allocs {}", p.uncached);
    }
}
