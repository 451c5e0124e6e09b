// SPDX-License-Identifier: GPL-2.0
//! Task management: ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LUN RESET,
//! TARGET RESET, I_T NEXUS RESET.
//!
//! A TMF marks the affected commands aborted, then waits until each has been
//! released by whoever owned it (handler or fabric). Only then does it
//! report completion, so no command completes after its abort is reported.
//! It never gives up waiting: a fabric that shares buffers with its
//! initiator (loopback) must not see a reset succeed or fail while the core
//! still holds one of its commands. A stuck backend is reported every
//! minute instead. Runs in process context (the fabric's TMF thread or the
//! SCSI error handler) and allocates nothing on the abort path.

use crate::abi::{tmf, tmf_result};
use crate::session::{Session, Track};
use core::ffi::c_int;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// TMFs come from initiators: their log lines are rate limited.
static TMF_LOG: crate::ratelimit::RateLimit = crate::ratelimit::RateLimit::new(20, 5_000);

/// How often a TMF waiting for a stuck command says so.
const TMF_WARN_MS: u32 = 60_000;

/// Marks the commands of `s` matching `pred`, waits for them and returns
/// how many there were.
fn abort_and_wait(s: &Session, function: u8, pred: &dyn Fn(&Track) -> bool) -> usize {
    let found = s.inflight.lock().abort_matching(pred);
    let mut waited = 0u64;
    while !crate::sys::time::wait_until(TMF_WARN_MS, 1, || !s.inflight.lock().aborted_left(pred)) {
        waited += u64::from(TMF_WARN_MS);
        pr_warn!("TMF {} on {:?}: aborted commands still held by the backend after {} ms\n",
            function, s.initiator, waited);
    }
    found
}

/// Runs `function` for `sess` (see [`crate::abi::exports::TaskMgmt`]).
pub fn run(sess: &Arc<Session>, function: u8, lun: u64, tag: u64) -> c_int {
    // One decision for both lines, so a TMF logs both or neither.
    let log = TMF_LOG.allow();
    if log {
        pr_info!("TMF {} lun {} from {:?}: received\n", function, lun, sess.initiator);
    }
    let target = &sess.target;
    let aborted = match function {
        tmf::ABORT_TASK => abort_and_wait(sess, function, &|t| t.tag == tag),
        tmf::ABORT_TASK_SET => abort_and_wait(sess, function, &|t| t.lun == lun),
        tmf::NEXUS_LOSS => abort_and_wait(sess, function, &|_| true),
        tmf::CLEAR_TASK_SET | tmf::LUN_RESET => {
            // The logical unit behind `lun` for this session, wherever other
            // sessions (other access groups) see it.
            let Some(m) = sess.lookup(lun) else { return tmf_result::NOT_FOUND };
            let mut aborted = 0;
            let mut failed = false;
            // The sessions lock is not held while waiting: management and
            // other targets' TMFs go on meanwhile.
            target.for_each_session(|s| {
                // May allocate: on failure report FAILED, and the error
                // handler escalates to a target reset, which does not.
                let Ok(luns) = s.luns_of(&m.dev) else {
                    failed = true;
                    return;
                };
                failed |= luns.is_empty() && Arc::ptr_eq(s, sess);
                if !luns.is_empty() {
                    aborted += abort_and_wait(s, function, &|t| luns.contains(&t.lun));
                }
            });
            m.dev.inflight.fetch_sub(1, Ordering::AcqRel);
            if failed {
                return tmf_result::FAILED;
            }
            aborted
        }
        tmf::TARGET_RESET => {
            let mut aborted = 0;
            target.for_each_session(|s| aborted += abort_and_wait(s, function, &|_| true));
            aborted
        }
        _ => return tmf_result::REJECTED,
    };
    // The count is what the VM suites read to prove a TMF met commands in flight.
    if log {
        pr_info!("TMF {} lun {} from {:?}: aborted {}\n", function, lun, sess.initiator, aborted);
    }
    if function == tmf::ABORT_TASK && aborted == 0 {
        return tmf_result::NOT_FOUND;
    }
    tmf_result::COMPLETE
}
