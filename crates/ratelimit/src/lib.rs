// SPDX-License-Identifier: GPL-2.0
//! Rate limiting for kernel log lines an initiator can trigger (one per TMF,
//! for example): a burst per interval, then silence until the next interval.
//! The caller passes the time, so the policy is tested on the host.

#![cfg_attr(not(CONFIG_RUST), no_std)]
#![forbid(unsafe_code)]

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
        RateLimit {
            window_start_ms: AtomicU64::new(0),
            printed: AtomicU32::new(0),
            burst,
            interval_ms,
        }
    }

    /// Whether one more line may be printed at `now_ms` (a monotonic clock;
    /// any context). Two callers racing at a window's end may both start a
    /// new window: a line or two more, never fewer.
    pub fn allow(&self, now_ms: u64) -> bool {
        let start = self.window_start_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(start) >= self.interval_ms {
            self.window_start_ms.store(now_ms, Ordering::Relaxed);
            self.printed.store(0, Ordering::Relaxed);
        }
        // Saturating: a flood of calls in one window never wraps the count.
        let before = self
            .printed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(1))
            });
        before.unwrap_or(u32::MAX) < self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_silence_until_the_next_window() {
        let r = RateLimit::new(3, 1000);
        let t0 = 5_000;
        let allowed = (0..10).filter(|_| r.allow(t0)).count();
        assert_eq!(allowed, 3);
        assert!(!r.allow(t0 + 999));
        assert!(r.allow(t0 + 1000));
        assert_eq!((0..10).filter(|_| r.allow(t0 + 1500)).count(), 2);
    }

    #[test]
    fn a_clock_near_zero_still_gets_its_burst() {
        // A clock that starts near zero still gets its burst.
        let r = RateLimit::new(2, 1000);
        assert!(r.allow(10));
        assert!(r.allow(20));
        assert!(!r.allow(30));
    }

    #[test]
    fn a_flood_does_not_wrap_the_count() {
        let r = RateLimit::new(1, u64::MAX);
        r.printed.store(u32::MAX - 1, Ordering::Relaxed);
        r.window_start_ms.store(1, Ordering::Relaxed);
        for _ in 0..4 {
            assert!(!r.allow(2));
        }
        assert_eq!(r.printed.load(Ordering::Relaxed), u32::MAX);
    }

    #[test]
    fn a_clock_going_backwards_keeps_the_window() {
        let r = RateLimit::new(1, 1000);
        assert!(r.allow(5_000));
        assert!(!r.allow(4_000));
    }
}
