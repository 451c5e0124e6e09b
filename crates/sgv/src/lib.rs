// SPDX-License-Identifier: GPL-2.0
//! Policy of the SGV buffer cache, sans IO: which size class a data buffer
//! belongs to, and whether a freed buffer is kept for reuse.
//!
//! Buffers are built of single pages (never higher orders, which fail under
//! fragmentation) and grouped in power-of-two size classes from one page to
//! [`MAX_CACHED_PAGES_PER_BUF`] pages, so a freed buffer serves any later
//! request of its class without rebuilding its scatter-gather list. Larger
//! requests are served exactly and never cached.

#![cfg_attr(not(CONFIG_RUST), no_std)]
#![forbid(unsafe_code)]

/// log2 of the page size.
pub const PAGE_SHIFT: u32 = 12;
/// Page size in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Number of size classes: 1, 2, 4, ... 256 pages.
pub const NUM_CLASSES: usize = 9;
/// Pages in the largest cached class (1 MiB).
pub const MAX_CACHED_PAGES_PER_BUF: u32 = 1 << (NUM_CLASSES - 1);

/// Where a request of some length is served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// From size class `class`, a buffer of `pages` pages (>= the request).
    Class {
        /// Index of the class.
        class: usize,
        /// Pages of a buffer of that class.
        pages: u32,
    },
    /// Too large to cache: an exact buffer of `pages` pages.
    Uncached {
        /// Pages needed.
        pages: u32,
    },
}

/// Pages needed for `len` bytes; None for 0 bytes or beyond u32 pages.
pub fn pages_for(len: u64) -> Option<u32> {
    if len == 0 {
        return None;
    }
    let pages = len.div_ceil(PAGE_SIZE);
    u32::try_from(pages).ok()
}

/// Where a request for `len` bytes is served from (None for 0 bytes or an
/// impossible size).
pub fn fit(len: u64) -> Option<Fit> {
    let pages = pages_for(len)?;
    if pages > MAX_CACHED_PAGES_PER_BUF {
        return Some(Fit::Uncached { pages });
    }
    let rounded = pages.next_power_of_two();
    Some(Fit::Class {
        class: rounded.trailing_zeros() as usize,
        pages: rounded,
    })
}

/// Pages of a buffer of `class`.
pub fn class_pages(class: usize) -> u32 {
    1u32 << class.min(NUM_CLASSES - 1)
}

/// Bytes of a buffer of `class`.
pub fn class_bytes(class: usize) -> u64 {
    u64::from(class_pages(class)) << PAGE_SHIFT
}

/// How much the cache may keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Pages kept in free buffers across all classes.
    pub max_cached_pages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // 64 MiB: enough for a queue of 32 commands of 1 MiB on two fabrics.
        Limits {
            max_cached_pages: 16384,
        }
    }
}

/// Whether a freed buffer of `class` is kept, given `cached_pages` already
/// kept in free buffers.
pub fn keep_on_free(class: usize, cached_pages: u64, limits: &Limits) -> bool {
    class < NUM_CLASSES
        && cached_pages.saturating_add(u64::from(class_pages(class))) <= limits.max_cached_pages
}

/// Pages of free buffers each CPU keeps in front of the shared pools, so
/// that a command freeing a buffer and the next one taking it on the same
/// CPU share no lock with other CPUs (128 KiB with 4 KiB pages). Not part
/// of [`Limits::max_cached_pages`]: the front adds at most this per CPU.
pub const CPU_KEEP_PAGES: u32 = 32;

/// Whether a freed buffer of `class` stays in its CPU's front cache, which
/// holds `held_pages` already.
pub fn keep_on_cpu(class: usize, held_pages: u32) -> bool {
    class < NUM_CLASSES && held_pages.saturating_add(class_pages(class)) <= CPU_KEEP_PAGES
}

/// Per-class counters. Every field only grows (wrapping), so that the
/// counters of several CPUs add up (a buffer may be taken on one CPU and
/// returned on another); [`ClassStats::cached`] and [`ClassStats::in_use`]
/// are derived from the sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Requests served by a cached buffer.
    pub hits: u64,
    /// Requests that built a new buffer.
    pub misses: u64,
    /// Buffers returned and kept for reuse.
    pub kept: u64,
    /// Buffers returned and released.
    pub released: u64,
}

impl ClassStats {
    /// Counts a request served from the cache (`hit`) or by a new buffer.
    pub fn on_alloc(&mut self, hit: bool) {
        if hit {
            self.hits = self.hits.wrapping_add(1);
        } else {
            self.misses = self.misses.wrapping_add(1);
        }
    }

    /// Counts a buffer returned, `kept` in the cache or released.
    pub fn on_free(&mut self, kept: bool) {
        if kept {
            self.kept = self.kept.wrapping_add(1);
        } else {
            self.released = self.released.wrapping_add(1);
        }
    }

    /// Undoes `on_alloc(false)` for a buffer that could not be built.
    pub fn on_failed_alloc(&mut self) {
        self.misses = self.misses.wrapping_sub(1);
    }

    /// Adds another CPU's counters.
    pub fn add(&mut self, o: &ClassStats) {
        self.hits = self.hits.wrapping_add(o.hits);
        self.misses = self.misses.wrapping_add(o.misses);
        self.kept = self.kept.wrapping_add(o.kept);
        self.released = self.released.wrapping_add(o.released);
    }

    /// Free buffers kept now (every hit takes one that was kept). Sums
    /// read CPU after CPU while commands run can be behind by a few, even
    /// below zero: shown as 0 then.
    pub fn cached(&self) -> u64 {
        non_negative(self.kept.wrapping_sub(self.hits))
    }

    /// Buffers handed out now (as for [`ClassStats::cached`]).
    pub fn in_use(&self) -> u64 {
        non_negative(
            self.hits
                .wrapping_add(self.misses)
                .wrapping_sub(self.kept)
                .wrapping_sub(self.released),
        )
    }
}

/// A difference of wrapping counters, read as signed, clamped at zero.
fn non_negative(v: u64) -> u64 {
    (v as i64).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_to_powers_of_two_pages() {
        assert_eq!(fit(0), None);
        assert_eq!(fit(1), Some(Fit::Class { class: 0, pages: 1 }));
        assert_eq!(fit(4096), Some(Fit::Class { class: 0, pages: 1 }));
        assert_eq!(fit(4097), Some(Fit::Class { class: 1, pages: 2 }));
        assert_eq!(fit(3 * 4096), Some(Fit::Class { class: 2, pages: 4 }));
        assert_eq!(
            fit(1 << 20),
            Some(Fit::Class {
                class: 8,
                pages: 256
            })
        );
        assert_eq!(fit((1 << 20) + 1), Some(Fit::Uncached { pages: 257 }));
        assert_eq!(fit(u64::MAX), None);
    }

    #[test]
    fn every_length_fits_in_its_class() {
        let mut len = 1u64;
        while len <= 4 << 20 {
            for l in [len - 1, len, len + 1] {
                match fit(l) {
                    Some(Fit::Class { class, pages }) => {
                        assert!(class_bytes(class) >= l);
                        assert_eq!(class_pages(class), pages);
                        // Not more than twice what was asked (plus a page).
                        assert!(class_bytes(class) < 2 * l + PAGE_SIZE);
                    }
                    Some(Fit::Uncached { pages }) => assert!(u64::from(pages) * PAGE_SIZE >= l),
                    None => assert_eq!(l, 0),
                }
            }
            len *= 3;
        }
    }

    #[test]
    fn cache_limit_is_respected() {
        let lim = Limits {
            max_cached_pages: 8,
        };
        assert!(keep_on_free(3, 0, &lim));
        assert!(!keep_on_free(3, 1, &lim));
        assert!(keep_on_free(0, 7, &lim));
        assert!(!keep_on_free(0, 8, &lim));
        assert!(!keep_on_free(NUM_CLASSES, 0, &lim));
    }

    #[test]
    fn stats_track_hits_and_cached() {
        let mut s = ClassStats::default();
        s.on_alloc(false);
        s.on_free(true);
        assert_eq!((s.misses, s.cached(), s.in_use()), (1, 1, 0));
        s.on_alloc(true);
        assert_eq!((s.hits, s.cached(), s.in_use()), (1, 0, 1));
        s.on_free(false);
        assert_eq!((s.cached(), s.in_use()), (0, 0));
        s.on_alloc(false);
        s.on_failed_alloc();
        assert_eq!((s.misses, s.in_use()), (1, 0));
    }

    #[test]
    fn stats_of_several_cpus_add_up() {
        // Taken on CPU 0 (a miss, then a hit), returned on CPU 1.
        let (mut a, mut b) = (ClassStats::default(), ClassStats::default());
        a.on_alloc(false);
        b.on_free(true);
        a.on_alloc(true);
        b.on_free(true);
        assert_eq!(b.in_use(), 0, "one CPU alone is below zero: shown as 0");
        let mut sum = ClassStats::default();
        sum.add(&a);
        sum.add(&b);
        assert_eq!(
            (sum.hits, sum.misses, sum.cached(), sum.in_use()),
            (1, 1, 1, 0)
        );
    }

    #[test]
    fn cpu_front_keeps_a_bounded_number_of_pages() {
        assert!(keep_on_cpu(0, 0));
        assert!(keep_on_cpu(5, 0), "32 pages fit an empty front");
        assert!(!keep_on_cpu(5, 1));
        assert!(!keep_on_cpu(6, 0), "64 pages never stay on a CPU");
        assert!(keep_on_cpu(0, CPU_KEEP_PAGES - 1));
        assert!(!keep_on_cpu(0, CPU_KEEP_PAGES));
        assert!(!keep_on_cpu(NUM_CLASSES, 0));
    }
}
