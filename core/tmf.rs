// SPDX-License-Identifier: GPL-2.0
//! Task management: ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LUN RESET,
//! TARGET RESET, I_T NEXUS RESET, CLEAR ACA, and the QUERY functions (QUERY
//! TASK, QUERY TASK SET, QUERY ASYNCHRONOUS EVENT), which abort nothing.
//!
//! A fabric submits a TMF from any context ([`submit`]) and gets its result
//! later through its `tmf_done` callback; the TMF runs in a core thread. It
//! marks the affected commands aborted, tells the handlers of the devices
//! concerned (their `task_mgmt` hook, so that a backend can finish what it
//! holds early), then sleeps until each marked command has been released by
//! whoever owned it (handler or fabric). Only then does it report, so no
//! command completes after its abort is reported. It never gives up
//! waiting: a fabric that shares buffers with its initiator (loopback) must
//! not see a reset succeed or fail while the core still holds one of its
//! commands; a stuck backend is reported every minute instead. No lock is
//! held while waiting, so logins, LUN changes and other TMFs go on, and the
//! marking and waiting allocate nothing.

use crate::abi::{tmf, tmf_result};
use crate::aca::Cleared;
use crate::lun::Mapped;
use crate::scsi::ua::Ua;
use crate::session::{Session, Track};
use crate::sys::ops::TmfPriv;
use crate::sys::work::RunOnce;
use core::ffi::c_int;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// TMFs come from initiators: their log lines are rate limited.
static TMF_LOG: crate::ratelimit::RateLimit = crate::ratelimit::RateLimit::new(20, 5_000);

/// How often a TMF waiting for a stuck command says so.
const TMF_WARN_MS: u32 = 60_000;

/// A TMF on its way to a core thread.
struct Request {
    sess: Arc<Session>,
    function: u8,
    lun: u64,
    tag: u64,
    /// Commands of this TMF epoch and later ones arrived after the TMF:
    /// untouched.
    before: u64,
    tmf_priv: TmfPriv,
}

impl RunOnce for Request {
    fn run(self) {
        let fabric = &self.sess.target.fabric;
        let (result, info) = match self.function {
            tmf::QUERY_ASYNC_EVENT => query_async_event(&self.sess, self.lun),
            _ => (run(&self.sess, self.function, self.lun, self.tag, self.before), 0),
        };
        fabric.ops.tmf_done(self.tmf_priv, result, info);
        // After its last call into the fabric (its module may go once the
        // count is zero, see `fabric::unregister`).
        fabric.tmfs_pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Submits `function` for `sess` (see [`crate::abi::exports::TaskMgmt`]).
/// Any context. The TMF affects the commands that arrived before this call.
pub fn submit(sess: &Arc<Session>, function: u8, lun: u64, tag: u64, tmf_priv: TmfPriv) -> Result {
    let fabric = &sess.target.fabric;
    if !fabric.ops.has_tmf_done() {
        return Err(EINVAL);
    }
    // Commands that arrived before this call are in earlier epochs; those
    // arriving after it see the new one.
    let before = fabric.core.tmf_epoch.fetch_add(1, Ordering::AcqRel) + 1;
    let req = Request { sess: sess.clone(), function, lun, tag, before, tmf_priv };
    fabric.tmfs_pending.fetch_add(1, Ordering::AcqRel);
    fabric.core.tmf_wq.queue_value(req).inspect_err(|_| {
        fabric.tmfs_pending.fetch_sub(1, Ordering::AcqRel);
    })
}

/// Marks the commands of `s` matching `pred` (all at LUNs for which
/// `at_lun` holds) and tells the handlers of those LUNs; returns how many.
fn mark(s: &Session, function: u8, pred: &dyn Fn(&Track) -> bool, at_lun: &dyn Fn(u64) -> bool) -> usize {
    mark_answering(s, function, pred, at_lun, false)
}

/// [`mark`], the commands answered with TASK ABORTED status if
/// `task_aborted`.
fn mark_answering(s: &Session, function: u8, pred: &dyn Fn(&Track) -> bool, at_lun: &dyn Fn(u64) -> bool, task_aborted: bool) -> usize {
    let found = s.abort_matching(pred, task_aborted);
    if found != 0 {
        tell_handlers(s, function, at_lun);
    }
    found
}

/// Waits until the aborted commands of `s` older than the TMF are released
/// (those it marked, and any other TMF marked before it).
fn wait(s: &Session, function: u8, before: u64) {
    s.wait_aborted(&|t| t.epoch < before, TMF_WARN_MS, |waited| {
        pr_warn!("TMF {} on {:?}: aborted commands still held by the backend after {} ms\n",
            function, s.initiator, waited);
    });
}

/// Calls the `task_mgmt` hook of the handler of every device `s` sees at a
/// LUN for which `at_lun` holds (walking the LUN table from LUN to LUN: no
/// allocation, no lock held during the calls).
fn tell_handlers(s: &Session, function: u8, at_lun: &dyn Fn(u64) -> bool) {
    s.for_each_mapped(|lun, m| {
        if at_lun(lun) {
            m.dev.handler.ops.task_mgmt(&m.dev, function);
            // Those still queued in the task set go now, not in their turn:
            // what they queue behind may be waiting for this TMF.
            crate::cmd::release_aborted_at(&m.dev);
        }
        true
    });
}

/// Runs `function` for `sess` in a core thread on the commands that arrived
/// in TMF epochs below `before`; returns a [`tmf_result`].
fn run(sess: &Arc<Session>, function: u8, lun: u64, tag: u64, before: u64) -> c_int {
    // One decision for both lines, so a TMF logs both or neither.
    let log = TMF_LOG.allow(crate::sys::time::now_ms());
    if log {
        pr_info!("TMF {} lun {} from {:?}: received\n", function, lun, sess.initiator);
    }
    let target = &sess.target;
    let older = |t: &Track| t.epoch < before;
    // The QUERY functions look, and abort nothing (SAM-5 7.9 to 7.11).
    let found = match function {
        tmf::QUERY_TASK => Some(sess.in_flight(&|t| older(t) && t.tag == tag && t.lun == lun)),
        tmf::QUERY_TASK_SET => Some(sess.in_flight(&|t| older(t) && t.lun == lun)),
        _ => None,
    };
    if let Some(found) = found {
        if sess.lookup(lun).is_none() {
            return tmf_result::NOT_FOUND;
        }
        if log {
            pr_info!("TMF {} lun {} from {:?}: found {}\n", function, lun, sess.initiator, found);
        }
        return if found { tmf_result::SUCCEEDED } else { tmf_result::COMPLETE };
    }
    // The ACA conditions a reset ends go before its commands are marked: a
    // condition a later command establishes while the reset waits stays.
    // (One an aborted command established goes when it is answered, see
    // `crate::cmd::respond`.)
    clear_aca(sess, function, lun);
    let mut failed = false;
    let aborted = match function {
        tmf::ABORT_TASK => mark(sess, function, &|t| older(t) && t.tag == tag && t.lun == lun, &|l| l == lun),
        tmf::ABORT_TASK_SET => mark(sess, function, &|t| older(t) && t.lun == lun, &|l| l == lun),
        tmf::NEXUS_LOSS => mark(sess, function, &older, &|_| true),
        tmf::CLEAR_TASK_SET | tmf::LUN_RESET => {
            // The logical unit behind `lun` for this session, wherever other
            // sessions (other access groups) see it.
            let Some(m) = sess.lookup(lun) else { return tmf_result::NOT_FOUND };
            let (n, complete) = mark_unit(sess, function, &m, before);
            failed = !complete;
            n
        }
        tmf::TARGET_RESET => {
            let mut aborted = 0;
            target.for_each_session(|s| aborted += mark_for_target_reset(s, sess, before));
            aborted
        }
        // The faulted nexus clears its ACA condition and aborts its ACA
        // command in progress; another nexus is rejected; with no condition
        // there is nothing to do (as SCST answers).
        tmf::CLEAR_ACA => {
            let Some(m) = sess.lookup(lun) else { return tmf_result::NOT_FOUND };
            match crate::aca::clear_from(&m.dev, sess.nexus) {
                Cleared::NotFaulted => return tmf_result::REJECTED,
                Cleared::Nothing | Cleared::Cleared(None) => return tmf_result::COMPLETE,
                Cleared::Cleared(Some(aca_tag)) => {
                    mark(sess, function, &|t| older(t) && t.tag == aca_tag && t.lun == lun, &|l| l == lun)
                }
            }
        }
        _ => return tmf_result::REJECTED,
    };
    // Every session's commands are marked before any is waited for: a
    // reset takes effect at once on the whole target. The wait does not
    // depend on the LUN mapping, which may change meanwhile.
    match function {
        tmf::CLEAR_TASK_SET | tmf::LUN_RESET | tmf::TARGET_RESET => {
            target.for_each_session(|s| wait(s, function, before));
        }
        _ => wait(sess, function, before),
    }
    release_spc2(sess, function, lun);
    restore_mode_parameters(sess, function, lun);
    raise_attentions(sess, function, lun);
    // The count is what the VM suites read to prove a TMF met commands in flight.
    if log {
        pr_info!("TMF {} lun {} from {:?}: aborted {}\n", function, lun, sess.initiator, aborted);
    }
    if failed {
        return tmf_result::FAILED;
    }
    if function == tmf::ABORT_TASK && aborted == 0 {
        return tmf_result::NOT_FOUND;
    }
    tmf_result::COMPLETE
}

/// QUERY ASYNCHRONOUS EVENT (SAM-5 7.10): FUNCTION SUCCEEDED with the
/// unit attention `lun` of `sess` reports next (it stays pending) as the
/// additional response information, FUNCTION COMPLETE when none is
/// pending, NOT_FOUND for a LUN the session does not see.
fn query_async_event(sess: &Session, lun: u64) -> (c_int, u32) {
    if sess.lookup(lun).is_none() {
        return (tmf_result::NOT_FOUND, 0);
    }
    let info = sess.ua.query_info(lun);
    if TMF_LOG.allow(crate::sys::time::now_ms()) {
        pr_info!("TMF {} lun {} from {:?}: found {:#08x}\n", tmf::QUERY_ASYNC_EVENT, lun, sess.initiator, info.unwrap_or(0));
    }
    match info {
        Some(info) => (tmf_result::SUCCEEDED, info),
        None => (tmf_result::COMPLETE, 0),
    }
}

/// TARGET RESET's marking of the commands of `s` older than `before`:
/// another initiator's at a logical unit whose TAS is set are answered
/// with TASK ABORTED status, the others go silently (SAM-5 7.12 with the
/// control mode page's TAS, which is per logical unit).
fn mark_for_target_reset(s: &Session, requester: &Session, before: u64) -> usize {
    let function = tmf::TARGET_RESET;
    let older = |t: &Track| t.epoch < before;
    if core::ptr::eq(s, requester) {
        return mark(s, function, &older, &|_| true);
    }
    let mut aborted = 0;
    s.for_each_mapped(|lun, m| {
        if m.dev.task_aborted_status.load(Ordering::Acquire) {
            aborted += mark_answering(s, function, &|t| older(t) && t.lun == lun, &|l| l == lun, true);
        }
        true
    });
    // The rest silently; the handlers of the LUNs above were told already.
    let told = |l: u64| s.lookup(l).is_some_and(|m| m.dev.task_aborted_status.load(Ordering::Acquire));
    aborted + mark(s, function, &|t| older(t) && !t.aborted, &|l| !told(l))
}

/// Marks every command of the logical unit `m` older than `before` in every
/// session of the target; returns how many, and whether that was done
/// completely.
fn mark_unit(sess: &Arc<Session>, function: u8, m: &Mapped, before: u64) -> (usize, bool) {
    let mut aborted = 0;
    let mut failed = false;
    // Finding a session's LUNs of the unit may allocate: on failure the TMF
    // reports FAILED (after waiting for what was marked), and the error
    // handler escalates to a target reset, which does not allocate.
    // TAS: another initiator's commands end with TASK ABORTED status.
    let tas = m.dev.task_aborted_status.load(Ordering::Acquire);
    sess.target.for_each_session(|s| match s.luns_of(&m.dev) {
        Ok(luns) => {
            let requester = Arc::ptr_eq(s, sess);
            failed |= luns.is_empty() && requester;
            let answered = tas && !requester;
            let n = mark_answering(s, function, &|t| t.epoch < before && luns.contains(&t.lun), &|l| luns.contains(&l), answered);
            // Another initiator's commands cleared silently (TAS off): it
            // is told so on its next command (SAM-5 7.4).
            if function == tmf::CLEAR_TASK_SET && n != 0 && !requester && !tas {
                s.raise(&luns, Ua::CommandsCleared);
            }
            aborted += n;
        }
        Err(_) => failed = true,
    });
    (aborted, !failed)
}

/// PREEMPT AND ABORT (SPC-4 5.13.11.2.4): aborts the commands at `dev` of
/// every I_T nexus `whose` picks that arrived before this call, as ABORT
/// TASK SET there would (answered with TASK ABORTED status when the
/// device's TAS is set), and waits until they are gone. Thread context.
/// Their PERSISTENT RESERVE OUTs are left to finish: one could be a
/// PREEMPT AND ABORT waiting for this one's initiator.
pub fn abort_at_device(core: &crate::registry::Core, dev: &crate::device::Device, whose: &dyn Fn(&Session) -> bool) {
    let before = core.tmf_epoch.fetch_add(1, Ordering::AcqRel) + 1;
    let spared = |_: &Session, t: &Track| t.reservation_out;
    let Ok(aborted) = mark_at_device(core, dev, before, whose, &spared, None) else {
        pr_warn!("out of memory: PREEMPT AND ABORT aborted no command\n");
        return;
    };
    // A preempted faulted nexus's ACA condition goes with its commands.
    let _ = core.for_each_target(|t| {
        t.for_each_session(|s| {
            if whose(s) {
                crate::aca::clear_if_faulted(dev, s.nexus);
            }
        })
    });
    // Not for PERSISTENT RESERVE OUTs, even aborted by another TMF: one may
    // be a PREEMPT AND ABORT waiting in turn.
    let _ = core.for_each_target(|t| {
        t.for_each_session(|s| {
            if whose(s) {
                s.wait_aborted(&|t| t.epoch < before && !t.reservation_out, TMF_WARN_MS, |waited| {
                    pr_warn!("PREEMPT AND ABORT on {:?}: aborted commands still held by the backend after {} ms\n", s.initiator, waited);
                });
            }
        })
    });
    if TMF_LOG.allow(crate::sys::time::now_ms()) {
        pr_info!("PREEMPT AND ABORT on {:?}: aborted {}\n", dev.name, aborted);
    }
}

/// QErr (SPC-4 7.5.8): the command `tag` at `lun` of `faulted` ended with
/// CHECK CONDITION, and the device's QErr aborts the other commands of its
/// task set: those of `faulted` at `dev`, and with `every_nexus` those of
/// every other I_T nexus too (answered with TASK ABORTED status when the
/// device's TAS is set, otherwise told by COMMANDS CLEARED BY ANOTHER
/// INITIATOR). The faulted nexus's go silently: its initiator knows from
/// the CHECK CONDITION. Thread context. It does not wait for them: they
/// may be queued in the task set behind the faulted command, which still
/// holds its place.
pub fn abort_on_check_condition(faulted: &Session, dev: &crate::device::Device, tag: u64, lun: u64, every_nexus: bool) {
    let core = &faulted.target.fabric.core;
    let before = core.tmf_epoch.fetch_add(1, Ordering::AcqRel) + 1;
    let whose = |s: &Session| every_nexus || core::ptr::eq(s, faulted);
    let itself = |s: &Session, t: &Track| core::ptr::eq(s, faulted) && t.tag == tag && t.lun == lun;
    match mark_at_device(core, dev, before, &whose, &itself, Some(faulted)) {
        Ok(n) if n != 0 && TMF_LOG.allow(crate::sys::time::now_ms()) => {
            pr_info!("QErr on {:?}: a CHECK CONDITION from {:?} aborted {}\n", dev.name, faulted.initiator, n);
        }
        Ok(_) => {}
        Err(_) => pr_warn!("out of memory: QErr on {:?} aborted no command\n", dev.name),
    }
}

/// Marks the commands at `dev` older than `before` of the sessions `whose`
/// picks, except those `spared`, and returns how many. Those of sessions
/// other than `requester` (all, without one) are answered with TASK
/// ABORTED status when the device's TAS is set; otherwise their sessions
/// are told by COMMANDS CLEARED BY ANOTHER INITIATOR on their next command
/// (SAM-5 7.4). Thread context.
fn mark_at_device(
    core: &crate::registry::Core,
    dev: &crate::device::Device,
    before: u64,
    whose: &dyn Fn(&Session) -> bool,
    spared: &dyn Fn(&Session, &Track) -> bool,
    requester: Option<&Session>,
) -> Result<usize> {
    let tas = dev.task_aborted_status.load(Ordering::Acquire);
    let function = tmf::ABORT_TASK_SET;
    let mut aborted = 0;
    core.for_each_target(|t| {
        t.for_each_session(|s| {
            if !whose(s) {
                return;
            }
            let other = requester.is_none_or(|r| !core::ptr::eq(&**s, r));
            match s.luns_of(dev) {
                Ok(luns) => {
                    let doomed = |t: &Track| t.epoch < before && luns.contains(&t.lun) && !spared(s, t);
                    let n = mark_answering(s, function, &doomed, &|l| luns.contains(&l), tas && other);
                    if n != 0 && !tas && other {
                        s.raise(&luns, Ua::CommandsCleared);
                    }
                    aborted += n;
                }
                Err(_) => pr_warn!("session {:?}: out of memory: commands not aborted\n", s.initiator),
            }
        })
    })?;
    Ok(aborted)
}

/// SPC-2 reservations a TMF releases (SPC-2 5.5.1): a LOGICAL UNIT RESET
/// the unit's, a TARGET RESET those of every unit of the target, an I_T
/// NEXUS RESET those the nexus holds.
fn release_spc2(sess: &Arc<Session>, function: u8, lun: u64) {
    match function {
        tmf::LUN_RESET => {
            if let Some(m) = sess.lookup(lun) {
                m.dev.reservations.drop_spc2(None);
            }
        }
        tmf::TARGET_RESET => sess.target.for_each_session(|s| crate::reservations::drop_spc2_seen_by(s, None)),
        tmf::NEXUS_LOSS => crate::reservations::drop_spc2_seen_by(sess, Some(&sess.port)),
        _ => {}
    }
}

/// The mode parameters a reset returns to their saved values, or defaults
/// (SAM-5 6.3.3, `crate::saved_modes::reset`): a LOGICAL UNIT RESET the
/// unit's, a TARGET RESET those of every unit of the target.
fn restore_mode_parameters(sess: &Arc<Session>, function: u8, lun: u64) {
    for_each_reset_unit(sess, function, lun, crate::saved_modes::reset);
}

/// Calls `f` with the device of each logical unit a reset resets: a
/// LOGICAL UNIT RESET's, or for a TARGET RESET every unit of the target
/// (once for each LUN it is seen through).
fn for_each_reset_unit(sess: &Arc<Session>, function: u8, lun: u64, f: impl Fn(&crate::device::Device)) {
    match function {
        tmf::LUN_RESET => {
            if let Some(m) = sess.lookup(lun) {
                f(&m.dev);
            }
        }
        tmf::TARGET_RESET => sess.target.for_each_session(|s| {
            s.for_each_mapped(|_, m| {
                f(&m.dev);
                true
            })
        }),
        _ => {}
    }
}

/// ACA conditions a TMF clears (SAM-5 5.9.5): a LOGICAL UNIT RESET the
/// unit's, a TARGET RESET those of every unit of the target, an I_T NEXUS
/// RESET those whose faulted nexus it is.
fn clear_aca(sess: &Arc<Session>, function: u8, lun: u64) {
    if function == tmf::NEXUS_LOSS {
        sess.for_each_mapped(|_, m| {
            crate::aca::clear_if_faulted(&m.dev, sess.nexus);
            true
        });
    } else {
        for_each_reset_unit(sess, function, lun, crate::aca::clear);
    }
}

/// The unit attentions a reset leaves (SAM-5 6.3): BUS DEVICE RESET
/// FUNCTION OCCURRED on every I_T nexus of the logical unit, through every
/// target that exports it (LOGICAL UNIT RESET), or on every nexus of the
/// target (TARGET RESET); I_T NEXUS LOSS OCCURRED on the nexus that was
/// reset. Raised once the aborted commands are gone, before the TMF
/// reports.
fn raise_attentions(sess: &Arc<Session>, function: u8, lun: u64) {
    match function {
        tmf::LUN_RESET => {
            let Some(m) = sess.lookup(lun) else { return };
            crate::ua::raise_on_device(&sess.target.fabric.core, &m.dev, Ua::BusDeviceReset, None);
        }
        tmf::TARGET_RESET => sess.target.for_each_session(|s| s.raise_everywhere(Ua::BusDeviceReset)),
        tmf::NEXUS_LOSS => sess.raise_everywhere(Ua::NexusLoss),
        _ => {}
    }
}
