// SPDX-License-Identifier: GPL-2.0
//! Sleeping waits for management paths (TMFs, teardown): never on the data path.

use super::bindings;

/// Sleeps at least `ms` milliseconds. Thread context only.
pub fn sleep_ms(ms: u32) {
    // SAFETY: msleep has no preconditions besides sleepable context, which
    // every caller (management and TMF paths) provides.
    unsafe { bindings::msleep(ms) };
}

/// Polls `done` every `step_ms` until it returns true; returns false if
/// `timeout_ms` passed first (the caller reports the stuck object).
pub fn wait_until(timeout_ms: u32, step_ms: u32, mut done: impl FnMut() -> bool) -> bool {
    let mut waited = 0;
    loop {
        if done() {
            return true;
        }
        if waited >= timeout_ms {
            return false;
        }
        sleep_ms(step_ms);
        waited += step_ms;
    }
}
