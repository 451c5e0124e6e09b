// SPDX-License-Identifier: GPL-2.0
//! Task management: ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LUN RESET,
//! TARGET RESET, I_T NEXUS RESET.
//!
//! A TMF marks the affected commands aborted, then waits until each has been
//! released by whoever owned it (handler or fabric). Only then does it
//! report completion, so no command completes after its abort is reported.
//! Runs in process context (the fabric's TMF thread or SCSI error handler).

use crate::abi::{tmf, tmf_result};
use crate::session::{Session, Track};
use core::ffi::c_int;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::Arc;

/// How long a TMF waits for aborted commands before reporting failure.
const TMF_TIMEOUT_MS: u32 = 60_000;

/// Runs `function` for `sess` (see [`crate::abi::exports::TaskMgmt`]).
pub fn run(sess: &Arc<Session>, function: u8, lun: u64, tag: u64) -> c_int {
    let target = &sess.target;
    // (session, ids) for every aborted command.
    let mut waits: KVec<(Arc<Session>, KVec<u64>)> = KVec::new();
    let mut mark = |s: &Arc<Session>, pred: &dyn Fn(&Track) -> bool| -> bool {
        let mut ids = KVec::new();
        s.inflight.lock().abort_matching(pred, &mut ids);
        let found = !ids.is_empty();
        if found {
            let _ = waits.push((s.clone(), ids), GFP_KERNEL);
        }
        found
    };
    let all_sessions = || target.sessions().unwrap_or_default();
    let found = match function {
        tmf::ABORT_TASK => mark(sess, &|t| t.tag == tag),
        tmf::ABORT_TASK_SET => mark(sess, &|t| t.lun == lun),
        tmf::CLEAR_TASK_SET | tmf::LUN_RESET => {
            // The logical unit behind `lun` for this session, wherever other
            // sessions (other access groups) see it.
            let Some(m) = sess.lookup(lun) else { return tmf_result::NOT_FOUND };
            let mut any = false;
            for s in all_sessions().iter() {
                let luns = s.luns_of(&m.dev);
                any |= !luns.is_empty() && mark(s, &|t| luns.contains(&t.lun));
            }
            m.dev.inflight.fetch_sub(1, core::sync::atomic::Ordering::AcqRel);
            any
        }
        tmf::TARGET_RESET => {
            let mut any = false;
            for s in all_sessions().iter() {
                any |= mark(s, &|_| true);
            }
            any
        }
        tmf::NEXUS_LOSS => mark(sess, &|_| true),
        _ => return tmf_result::REJECTED,
    };
    for (s, ids) in waits.iter() {
        let done = crate::sys::time::wait_until(TMF_TIMEOUT_MS, 1, || !s.inflight.lock().any_of(ids));
        if !done {
            pr_err!("TMF {} on {:?}: aborted commands did not finish\n", function, s.initiator);
            return tmf_result::FAILED;
        }
    }
    pr_info!("TMF {} lun {} from {:?}: {} done\n", function, lun, sess.initiator,
        if found { "aborted commands" } else { "nothing to abort," });
    if function == tmf::ABORT_TASK && !found {
        return tmf_result::NOT_FOUND;
    }
    tmf_result::COMPLETE
}
