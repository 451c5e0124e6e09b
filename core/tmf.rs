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

/// How often a TMF waiting for a stuck command says so.
const TMF_WARN_MS: u32 = 60_000;

/// Marks the commands of `s` matching `pred` and waits for them.
fn abort_and_wait(s: &Session, function: u8, pred: &dyn Fn(&Track) -> bool) -> bool {
    let found = s.inflight.lock().abort_matching(pred) != 0;
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
    let target = &sess.target;
    let found = match function {
        tmf::ABORT_TASK => abort_and_wait(sess, function, &|t| t.tag == tag),
        tmf::ABORT_TASK_SET => abort_and_wait(sess, function, &|t| t.lun == lun),
        tmf::NEXUS_LOSS => abort_and_wait(sess, function, &|_| true),
        tmf::CLEAR_TASK_SET | tmf::LUN_RESET => {
            // The logical unit behind `lun` for this session, wherever other
            // sessions (other access groups) see it.
            let Some(m) = sess.lookup(lun) else { return tmf_result::NOT_FOUND };
            let sessions = target.sessions.lock();
            let mut any = false;
            let mut failed = false;
            for s in sessions.iter().flatten() {
                // May allocate: on failure report FAILED, and the error
                // handler escalates to a target reset, which does not.
                let luns = s.luns_of(&m.dev);
                failed |= luns.is_empty() && core::ptr::eq(&**s, &**sess);
                if !luns.is_empty() {
                    any |= abort_and_wait(s, function, &|t| luns.contains(&t.lun));
                }
            }
            drop(sessions);
            m.dev.inflight.fetch_sub(1, Ordering::AcqRel);
            if failed {
                return tmf_result::FAILED;
            }
            any
        }
        tmf::TARGET_RESET => {
            let sessions = target.sessions.lock();
            let mut any = false;
            for s in sessions.iter().flatten() {
                any |= abort_and_wait(s, function, &|_| true);
            }
            any
        }
        _ => return tmf_result::REJECTED,
    };
    pr_info!("TMF {} lun {} from {:?}: {}\n", function, lun, sess.initiator,
        if found { "aborted commands released" } else { "nothing to abort" });
    if function == tmf::ABORT_TASK && !found {
        return tmf_result::NOT_FOUND;
    }
    tmf_result::COMPLETE
}
