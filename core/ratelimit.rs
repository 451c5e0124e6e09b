// SPDX-License-Identifier: GPL-2.0
//! Rate limiting for kernel log lines an initiator can trigger (one per TMF,
//! for example): a burst per interval, then silence until the next interval.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// At most `burst` lines per `interval_ms`.
pub struct RateLimit {
    window_start_ms: AtomicU64,
    printed: AtomicU32,
    burst: u32,
    interval_ms: u64,
}

impl RateLimit {
    /// A limit of `burst` lines per `interval_ms` milliseconds.
    pub const fn new(burst: u32, interval_ms: u64) -> Self {
        RateLimit { window_start_ms: AtomicU64::new(0), printed: AtomicU32::new(0), burst, interval_ms }
    }

    /// Whether one more line may be printed now (any context). Two callers
    /// racing at a window's end may both start a new window: a line or two
    /// more, never fewer.
    pub fn allow(&self) -> bool {
        let now = crate::sys::time::now_ms();
        let start = self.window_start_ms.load(Ordering::Relaxed);
        if now.saturating_sub(start) >= self.interval_ms {
            self.window_start_ms.store(now, Ordering::Relaxed);
            self.printed.store(0, Ordering::Relaxed);
        }
        self.printed.fetch_add(1, Ordering::Relaxed) < self.burst
    }
}
