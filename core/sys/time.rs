// SPDX-License-Identifier: GPL-2.0
//! Sleeping waits for management paths (TMFs, teardown): never on the data path.

use super::bindings;

/// Sleeps at least `ms` milliseconds. Thread context only.
pub fn sleep_ms(ms: u32) {
    // SAFETY: msleep has no preconditions besides sleepable context, which
    // every caller (management and TMF paths) provides.
    unsafe { bindings::msleep(ms) };
}

/// Wall-clock time in seconds since the epoch (it may jump).
pub fn wall_seconds() -> u64 {
    // SAFETY: ktime_get_real_seconds reads the real-time clock; callable
    // in any context.
    let s = unsafe { bindings::ktime_get_real_seconds() };
    u64::try_from(s).unwrap_or(0)
}

/// Monotonic time in milliseconds.
pub fn now_ms() -> u64 {
    // SAFETY: ktime_get reads the monotonic clock; callable in any context.
    let ns = unsafe { bindings::ktime_get() };
    (ns / 1_000_000) as u64
}

/// Polls `done` every `step_ms` until it returns true; returns false once
/// `timeout_ms` of real time passed first (the caller reports the stuck
/// object). Elapsed time is read from the clock: a sleep of `step_ms` lasts
/// at least a jiffy and often longer, so counting requested sleeps would
/// stretch the timeout several times over.
pub fn wait_until(timeout_ms: u32, step_ms: u32, mut done: impl FnMut() -> bool) -> bool {
    let start = now_ms();
    loop {
        if done() {
            return true;
        }
        if now_ms().saturating_sub(start) >= u64::from(timeout_ms) {
            return false;
        }
        sleep_ms(step_ms);
    }
}
