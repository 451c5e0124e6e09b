// SPDX-License-Identifier: GPL-2.0
//! The test bodies of suite `rscst_core` (registered in kunit_shim.c), and
//! its setup: devices, targets, LUNs and sessions made through the same
//! sysfs `mgmt` files an administrator writes.
//!
//! LUNs, the same on both targets: 0 `kd_thread` (kunit_dev, completes
//! inside `exec`), 1 `kd_irq` (kunit_dev, completes from hard IRQ after
//! `exec` returned), 2 `kd_hold` (kunit_dev, held until a test completes
//! it), 3 `kd_nofill` (kunit_dev, never writes READ data), 4 `ka_inline`
//! (kunit_atomic: `EXEC_ATOMIC`, completes inside `exec`), 5 `kr_raw`
//! (kunit_raw: the raw SCSI tier answers by opcode, see
//! `fakes::raw_answer`; its block tier completes inside `exec`), 6 `kr_raw`
//! again, read-only; 7 exists only during one case (`kd_thread` and
//! `kd_nofill` in turn).

use crate::abi::{dir, io_op, scsi_status, task_attr, tmf, tmf_result, FabricOps, ABI_VERSION};
use crate::fakes::{self, raw_op, record, Fake, FakeDev, KSession, Record, HELD, STARTING};
use crate::sys::client::{FabricRegistration, HandlerRegistration, Ops, SessionHandle};
use core::num::NonZeroUsize;
use crate::sys::shim::{self, run_in, Where};
use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// A test's outcome: the failure message, if any.
pub type TestResult = core::result::Result<(), &'static CStr>;

fn ensure(cond: bool, msg: &'static CStr) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg)
    }
}

const INQUIRY: [u8; 6] = [0x12, 0, 0, 0, 36, 0];
const LUN_THREAD: u64 = 0;
const LUN_IRQ: u64 = 1;
const LUN_HOLD: u64 = 2;
const LUN_NOFILL: u64 = 3;
const LUN_ATOMIC: u64 = 4;
const LUN_RAW: u64 = 5;
const LUN_RAW_RO: u64 = 6;
/// Added and replaced by `lun_replace_never_leaves_the_lun_missing` only
/// (and a tape's for `raw_tier_of_a_tape_gets_commands_sized_by_the_initiator`).
const LUN_SWAPPED: u64 = 7;
const GOOD: u8 = 0;

fn read10(lba: u32) -> [u8; 10] {
    let l = lba.to_be_bytes();
    [0x28, 0, l[0], l[1], l[2], l[3], 0, 0, 1, 0]
}

fn write10(lba: u32) -> [u8; 10] {
    let mut c = read10(lba);
    c[0] = 0x2a;
    c
}


/// Hands a command in from the caller's context; returns its tag.
fn send(sess: &SessionHandle<Fake>, lun: u64, cdb: &[u8], data_dir: u8, len: u32, atomic: bool) -> Option<u64> {
    send_with(sess, lun, cdb, data_dir, len, atomic, task_attr::SIMPLE)
}

/// [`send`] with the task attribute `attr`.
fn send_with(sess: &SessionHandle<Fake>, lun: u64, cdb: &[u8], data_dir: u8, len: u32, atomic: bool, attr: u8) -> Option<u64> {
    let tag = fakes::new_tag();
    record(tag).tag.store(0, Ordering::Release);
    let mut fc = sess.rx_cmd(lun, cdb, tag, data_dir, len, core::ptr::null_mut(), 0)?;
    fc.set_priv(NonZeroUsize::new(tag as usize).ok_or(()).ok()?);
    fc.set_task_attr(attr);
    STARTING.store(shim::current_task(), Ordering::Release);
    fc.start(atomic);
    STARTING.store(0, Ordering::Release);
    Some(tag)
}

/// Hands a command in from `w` (any context but a thread declares itself
/// atomic).
fn send_from(w: Where, sess: &SessionHandle<Fake>, lun: u64, cdb: &[u8], data_dir: u8, len: u32) -> Option<u64> {
    let mut tag = None;
    run_in(w, || tag = send(sess, lun, cdb, data_dir, len, w != Where::Thread));
    tag
}

/// Polls for `cond` for up to five seconds.
fn wait_until(cond: impl FnMut() -> bool) -> bool {
    wait_up_to_ms(5000, cond)
}

/// Polls for `cond` for up to `ms` milliseconds.
fn wait_up_to_ms(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..ms {
        if cond() {
            return true;
        }
        shim::sleep_ms(1);
    }
    cond()
}

/// Waits for the response to `tag`.
fn response(tag: Option<u64>) -> core::result::Result<&'static Record, &'static CStr> {
    let tag = tag.ok_or(c"the core refused the command")?;
    let r = record(tag);
    ensure(wait_until(|| r.tag.load(Ordering::Acquire) == tag), c"no response within 5 s")?;
    Ok(r)
}

/// Session `i` of the suite: 0 on `ks` (strict), 1 and 2 on `ko` (open).
fn session(i: usize) -> core::result::Result<Arc<SessionHandle<Fake>>, &'static CStr> {
    fakes::session(i).ok_or(c"session missing (setup failed)")
}

fn with_session<R>(i: usize, f: impl FnOnce(&SessionHandle<Fake>) -> R) -> core::result::Result<R, &'static CStr> {
    let s = session(i)?;
    Ok(f(&s))
}

fn mgmt(path: &CStr, line: &CStr) -> TestResult {
    shim::write(path, line).map_err(|_| c"a management write failed")
}

/// Creates the suite's devices, targets, LUNs and sessions.
pub fn setup() -> TestResult {
    let dev = c"/sys/kernel/scst_tgt/handlers/kunit_dev/mgmt";
    mgmt(dev, c"add_device kd_thread mode=inline")?;
    mgmt(dev, c"add_device kd_irq mode=hardirq")?;
    mgmt(dev, c"add_device kd_hold mode=hold")?;
    mgmt(dev, c"add_device kd_nofill mode=nofill")?;
    mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_atomic/mgmt", c"add_device ka_inline mode=inline")?;
    mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_raw/mgmt", c"add_device kr_raw mode=inline")?;
    mgmt(c"/sys/kernel/scst_tgt/targets/kunit_strict/mgmt", c"add_target ks")?;
    mgmt(c"/sys/kernel/scst_tgt/targets/kunit_open/mgmt", c"add_target ko")?;
    for luns in [c"/sys/kernel/scst_tgt/targets/kunit_strict/ks/luns/mgmt", c"/sys/kernel/scst_tgt/targets/kunit_open/ko/luns/mgmt"] {
        mgmt(luns, c"add kd_thread 0")?;
        mgmt(luns, c"add kd_irq 1")?;
        mgmt(luns, c"add kd_hold 2")?;
        mgmt(luns, c"add kd_nofill 3")?;
        mgmt(luns, c"add ka_inline 4")?;
        mgmt(luns, c"add kr_raw 5")?;
        mgmt(luns, c"add kr_raw 6 read_only=1")?;
    }
    let ks = fakes::target(false).ok_or(c"target ks not created")?;
    let ko = fakes::target(true).ok_or(c"target ko not created")?;
    let sessions = [(false, ks, b"kunit-strict".as_slice()), (true, ko, b"kunit-open-a"), (true, ko, b"kunit-open-b")];
    for (id, (open, t, name)) in (1..).zip(sessions) {
        let ctx = Arc::new(KSession { id }, GFP_KERNEL).map_err(|_| c"out of memory")?;
        let h = SessionHandle::register(t, name, ctx).map_err(|_| c"session registration failed")?;
        fakes::add_session(open, h).map_err(|_| c"out of memory")?;
    }
    Ok(())
}

/// Removes what `setup` made.
pub fn teardown() {
    release_held();
    fakes::drop_sessions(None);
    let _ = mgmt(c"/sys/kernel/scst_tgt/targets/kunit_strict/mgmt", c"del_target ks");
    let _ = mgmt(c"/sys/kernel/scst_tgt/targets/kunit_open/mgmt", c"del_target ko");
    for d in [c"del_device kd_thread", c"del_device kd_irq", c"del_device kd_hold", c"del_device kd_nofill"] {
        let _ = mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_dev/mgmt", d);
    }
    let _ = mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_atomic/mgmt", c"del_device ka_inline");
    let _ = mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_raw/mgmt", c"del_device kr_raw");
}

/// A strict fabric that hands in an emulated command from a thread gets the
/// response from a core thread, after its own call returned.
pub fn emulated_in_thread_is_not_reentered() -> TestResult {
    let tag = with_session(0, |s| send(s, LUN_THREAD, &INQUIRY, dir::READ, 36, false))?;
    let r = response(tag)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"INQUIRY not GOOD")?;
    ensure(!r.all_zero.load(Ordering::Relaxed), c"INQUIRY data missing")?;
    ensure(!r.inside_start.load(Ordering::Relaxed), c"xmit_response re-entered the strict fabric")?;
    ensure(r.ctx.load(Ordering::Relaxed) == 0, c"xmit_response not in a thread")
}

/// From softirq, a strict fabric's response comes from a thread.
pub fn emulated_in_softirq_defers_strict_fabric() -> TestResult {
    let tag = with_session(0, |s| send_from(Where::Softirq, s, LUN_THREAD, &INQUIRY, dir::READ, 36))?;
    let r = response(tag)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"INQUIRY not GOOD")?;
    ensure(r.ctx.load(Ordering::Relaxed) == 0, c"xmit_response called in atomic context for a strict fabric")?;
    ensure(!r.inside_start.load(Ordering::Relaxed), c"xmit_response re-entered the strict fabric")
}

/// From softirq, a fabric that allows it gets its response inline.
pub fn emulated_in_softirq_runs_inline_for_open_fabric() -> TestResult {
    let tag = with_session(1, |s| send_from(Where::Softirq, s, LUN_THREAD, &INQUIRY, dir::READ, 36))?;
    let r = response(tag)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"INQUIRY not GOOD")?;
    ensure(r.ctx.load(Ordering::Relaxed) == 1, c"xmit_response not inline in softirq")?;
    ensure(r.inside_start.load(Ordering::Relaxed), c"xmit_response not inside rscst_cmd_start")
}

/// A command handed in from hard IRQ is answered from a thread, even for a
/// fabric that allows atomic callbacks.
pub fn start_in_hardirq_answers_from_a_thread() -> TestResult {
    let tag = with_session(1, |s| send_from(Where::Hardirq, s, LUN_THREAD, &INQUIRY, dir::READ, 36))?;
    let r = response(tag)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"INQUIRY not GOOD")?;
    ensure(!r.all_zero.load(Ordering::Relaxed), c"INQUIRY data missing")?;
    ensure(r.ctx.load(Ordering::Relaxed) == 0, c"xmit_response called in interrupt context")
}

/// A handler completing from hard IRQ after `exec` returned: the response
/// goes to a thread. (A completion that came while `exec` still ran, which
/// a stalled vCPU can cause, is handed back to the exec call instead; such
/// a try is repeated.)
pub fn exec_done_in_hardirq_responds_from_a_thread() -> TestResult {
    for _ in 0..5 {
        let done = fakes::IRQ_DONE.load(Ordering::Acquire);
        let during = fakes::IRQ_DURING_EXEC.load(Ordering::Acquire);
        let tag = with_session(1, |s| send(s, LUN_IRQ, &read10(7), dir::READ, 512, false))?;
        let r = response(tag)?;
        ensure(r.status.load(Ordering::Relaxed) == GOOD, c"READ not GOOD")?;
        ensure(fakes::IRQ_DONE.load(Ordering::Acquire) == done + 1, c"the completion did not come from hard IRQ")?;
        if fakes::IRQ_DURING_EXEC.load(Ordering::Acquire) != during {
            continue;
        }
        return ensure(r.ctx.load(Ordering::Relaxed) == 0, c"xmit_response called in interrupt context");
    }
    Err(c"every hard-IRQ completion came while exec still ran")
}

/// An `EXEC_ATOMIC` handler runs inline in softirq; its inline completion
/// goes back to the exec call, which responds inline for an open fabric.
pub fn atomic_handler_runs_inline_in_softirq() -> TestResult {
    let tag = with_session(1, |s| send_from(Where::Softirq, s, LUN_ATOMIC, &read10(3), dir::READ, 512))?;
    let r = response(tag)?;
    ensure(fakes::EXEC_CTX.load(Ordering::Acquire) == 1, c"exec not called in softirq")?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"READ not GOOD")?;
    ensure(r.head.load(Ordering::Relaxed) == 0x5a5a_5a5a, c"READ data is not the handler's")?;
    ensure(r.ctx.load(Ordering::Relaxed) == 1, c"xmit_response not inline in softirq")?;
    ensure(r.inside_start.load(Ordering::Relaxed), c"xmit_response not inside rscst_cmd_start")
}

/// A handler whose `exec` may sleep is called in a thread, never in the
/// softirq that handed the command in. (That the thread is one of the
/// device's own queue is shown by the `local` VM suite, which sees the
/// queue's name on the busy kworkers; KUnit's threads cannot read /proc.)
pub fn sleeping_handler_runs_in_a_thread() -> TestResult {
    let tag = with_session(1, |s| send_from(Where::Softirq, s, LUN_THREAD, &read10(5), dir::READ, 512))?;
    let r = response(tag)?;
    ensure(fakes::EXEC_CTX.load(Ordering::Acquire) == 0, c"a sleeping exec called in atomic context")?;
    ensure(fakes::EXEC_TASK.load(Ordering::Acquire) != shim::current_task(), c"exec ran in the test thread")?;
    ensure(r.head.load(Ordering::Relaxed) == 0x5a5a_5a5a, c"READ data is not the handler's")?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"READ not GOOD")
}

/// An `EXEC_ATOMIC` handler called inside a strict fabric's start completes
/// inline; the core continues from the exec call and defers the response.
pub fn inline_completion_goes_back_to_the_exec_call() -> TestResult {
    let tag = with_session(0, |s| send(s, LUN_ATOMIC, &read10(9), dir::READ, 512, false))?;
    let r = response(tag)?;
    ensure(fakes::EXEC_TASK.load(Ordering::Acquire) == shim::current_task(), c"exec did not run inside start")?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"READ not GOOD")?;
    ensure(!r.inside_start.load(Ordering::Relaxed), c"xmit_response re-entered the strict fabric")?;
    ensure(r.head.load(Ordering::Relaxed) == 0x5a5a_5a5a, c"READ data is not the handler's")
}

/// `rdy_to_xfer` runs where the template allows: inline in softirq for an
/// open fabric, in a thread for a strict one.
pub fn rdy_to_xfer_follows_the_template() -> TestResult {
    fakes::WRITE_BYTE.store(0x33, Ordering::Release);
    fakes::RDY_CTX.store(0xff, Ordering::Release);
    let tag = with_session(1, |s| send_from(Where::Softirq, s, LUN_THREAD, &write10(1), dir::WRITE, 512))?;
    ensure(response(tag)?.status.load(Ordering::Relaxed) == GOOD, c"WRITE not GOOD (open)")?;
    ensure(fakes::RDY_CTX.load(Ordering::Acquire) == 1, c"rdy_to_xfer not inline in softirq (open)")?;
    fakes::RDY_CTX.store(0xff, Ordering::Release);
    let tag = with_session(0, |s| send_from(Where::Softirq, s, LUN_THREAD, &write10(1), dir::WRITE, 512))?;
    ensure(response(tag)?.status.load(Ordering::Relaxed) == GOOD, c"WRITE not GOOD (strict)")?;
    ensure(fakes::RDY_CTX.load(Ordering::Acquire) == 0, c"rdy_to_xfer in atomic context for a strict fabric")
}

/// A READ gets the SGV buffer a WRITE just filled (the cache reuses it) and,
/// since the handler writes no data (and does not claim `FILLS_READS`),
/// returns zeros, not the WRITE's data.
pub fn reused_sgv_buffer_is_zeroed_before_a_read() -> TestResult {
    // Freed buffers stay in the front cache of the CPU that freed them, so
    // a READ reuses the WRITE's buffer only when it runs there too: try
    // pairs until one does (each READ must be zeroed either way).
    for _ in 0..50 {
        fakes::WRITE_BYTE.store(0xab, Ordering::Release);
        let tag = with_session(1, |s| send(s, LUN_NOFILL, &write10(2), dir::WRITE, 512, false))?;
        let w = response(tag)?;
        ensure(w.status.load(Ordering::Relaxed) == GOOD, c"WRITE not GOOD")?;
        let written = fakes::RDY_SG.load(Ordering::Acquire);
        ensure(written != 0 && w.sg.load(Ordering::Relaxed) == written, c"the WRITE did not get an SGV buffer")?;
        let tag = with_session(1, |s| send(s, LUN_NOFILL, &read10(2), dir::READ, 512, false))?;
        let r = response(tag)?;
        ensure(r.status.load(Ordering::Relaxed) == GOOD, c"READ not GOOD")?;
        ensure(r.all_zero.load(Ordering::Relaxed), c"a READ the handler did not fill returned stale data")?;
        if r.sg.load(Ordering::Relaxed) == written {
            return Ok(());
        }
    }
    Err(c"in 50 tries no READ reused the WRITE's buffer")
}

fn wait_held(n: usize) -> TestResult {
    ensure(wait_until(|| HELD.count() == n), c"the hold device did not receive the command")
}

/// What [`during_tmf`] saw.
struct TmfRun<R> {
    /// The TMF's result.
    result: i32,
    /// Its position in the order of events when it reported.
    at: u64,
    /// Whether it was still waiting when `during` finished.
    waited: bool,
    /// What `during` returned.
    during: R,
}

/// Runs `function` from session `i` in a thread of its own; once the core
/// has marked commands in `sessions` sessions (the hold device's
/// `task_mgmt` hook says so), runs `during`, then completes every held
/// command and waits for the TMF.
fn during_tmf<R>(i: usize, function: u8, lun: u64, tag: u64, sessions: u32, during: impl FnOnce() -> R) -> core::result::Result<TmfRun<R>, &'static CStr> {
    let sess = session(i)?;
    let hooks = fakes::HOLD_TMF_CALLS.load(Ordering::Acquire);
    let (mut result, mut at) = (-1, 0);
    let body = || {
        result = sess.task_mgmt_wait(function, lun, tag);
        at = fakes::stamp();
    };
    let out = shim::with_async(body, |job| {
        let marked = wait_until(|| fakes::HOLD_TMF_CALLS.load(Ordering::Acquire) >= hooks + sessions);
        let during = marked.then(during);
        let waited = !job.done();
        release_held();
        (marked, waited, during)
    });
    let (marked, waited, during) = out.ok_or(c"no thread for the TMF")?;
    ensure(marked, c"the TMF did not mark the held commands (no task_mgmt hook call)")?;
    let during = during.ok_or(c"the TMF did not mark the held commands")?;
    Ok(TmfRun { result, at, waited, during })
}

/// Completes the command the hold device received last (the later slot).
fn complete_newest_held() {
    if let Some(c) = HELD.take_last() {
        c.complete(None);
    }
}

/// Completes every command the hold device keeps (from hard IRQ).
pub fn release_held() {
    run_in(Where::Hardirq, || {
        while let Some(c) = HELD.take() {
            c.complete(None);
        }
    });
}

/// REQUEST SENSE in descriptor format: its first four bytes (`Record::head`)
/// are the response code, the sense key, ASC and ASCQ.
const REQUEST_SENSE_DESC: [u8; 6] = [0x03, 0x01, 0, 0, 8, 0];
const TEST_UNIT_READY: [u8; 6] = [0; 6];
const REPORT_LUNS: [u8; 12] = [0xa0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0];

/// Sense key, ASC and ASCQ of a unit attention as `Record::head` holds
/// REQUEST SENSE's descriptor-format answer.
const fn ua_head(asc: u8, ascq: u8) -> u32 {
    u32::from_le_bytes([0x72, 0x06, asc, ascq])
}
/// REQUEST SENSE's answer with nothing pending.
const NO_SENSE_HEAD: u32 = u32::from_le_bytes([0x72, 0, 0, 0]);

/// What REQUEST SENSE answers on `sess` at `lun` (descriptor format).
fn request_sense_on(sess: &SessionHandle<Fake>, lun: u64) -> core::result::Result<u32, &'static CStr> {
    let r = response(send(sess, lun, &REQUEST_SENSE_DESC, dir::READ, 8, false))?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"REQUEST SENSE not GOOD")?;
    Ok(r.head.load(Ordering::Relaxed))
}

/// What REQUEST SENSE answers session `i` at `lun`.
fn request_sense(i: usize, lun: u64) -> core::result::Result<u32, &'static CStr> {
    with_session(i, |s| request_sense_on(s, lun))?
}

/// Reports (and so clears) the unit attentions pending on `sess` at `lun`.
fn clear_attentions_on(sess: &SessionHandle<Fake>, lun: u64) {
    for _ in 0..16 {
        match request_sense_on(sess, lun) {
            Ok(head) if head & 0xff00 == 0x0600 => {}
            _ => break,
        }
    }
}

/// Clears every unit attention pending for the suite's sessions at LUNs 0
/// to 7, so that each case starts without any.
pub fn clear_attentions() {
    for i in 0..3 {
        for lun in 0..=LUN_SWAPPED {
            let _ = with_session(i, |s| clear_attentions_on(s, lun));
        }
    }
}

/// A command's status and fixed-format sense key, ASC and ASCQ.
fn outcome(r: &Record) -> (u8, u8, u8, u8) {
    let (b, len) = r.sense_bytes();
    let (key, asc, ascq) = if len >= 14 { (b[2] & 0x0f, b[12], b[13]) } else { (0, 0, 0) };
    (r.status.load(Ordering::Relaxed), key, asc, ascq)
}

/// TEST UNIT READY from session `i` at `lun`: status, key, ASC, ASCQ.
fn tur(i: usize, lun: u64) -> core::result::Result<(u8, u8, u8, u8), &'static CStr> {
    let r = with_session(i, |s| send(s, lun, &TEST_UNIT_READY, dir::NONE, 0, false)).and_then(response)?;
    Ok(outcome(r))
}

const CHECK: u8 = scsi_status::CHECK_CONDITION;

/// A LOGICAL UNIT RESET leaves BUS DEVICE RESET FUNCTION OCCURRED (29/03)
/// on every nexus of the unit, through both targets, the requester's too,
/// reported once each:
/// INQUIRY passes without clearing it, the next command gets it, REQUEST
/// SENSE returns it as data and clears it; another LUN has none.
pub fn lun_reset_leaves_one_unit_attention_per_nexus() -> TestResult {
    let r = with_session(1, |s| s.task_mgmt_wait(tmf::LUN_RESET, LUN_THREAD, 0))?;
    ensure(r == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")?;
    let inq = with_session(1, |s| send(s, LUN_THREAD, &INQUIRY, dir::READ, 36, false)).and_then(response)?;
    ensure(inq.status.load(Ordering::Relaxed) == GOOD, c"INQUIRY did not pass the unit attention")?;
    ensure(tur(1, LUN_THREAD)? == (CHECK, 6, 0x29, 0x03), c"the requester's next command did not get 06/29/03")?;
    ensure(tur(1, LUN_THREAD)?.0 == GOOD, c"the unit attention was reported twice")?;
    ensure(request_sense(2, LUN_THREAD)? == ua_head(0x29, 0x03), c"REQUEST SENSE of the other nexus did not return 06/29/03")?;
    ensure(request_sense(2, LUN_THREAD)? == NO_SENSE_HEAD, c"REQUEST SENSE did not clear the unit attention")?;
    // Session 0 reaches the same unit through the other target.
    ensure(tur(0, LUN_THREAD)? == (CHECK, 6, 0x29, 0x03), c"the nexus through the other target did not get 06/29/03")?;
    ensure(tur(2, LUN_IRQ)?.0 == GOOD, c"a LUN that was not reset reported a unit attention")
}

/// Adding a LUN leaves POWER ON (29/00) at it and REPORTED LUNS DATA HAS
/// CHANGED (3F/0E) at the others, which REPORT LUNS clears at every LUN of
/// the nexus; removing one raises 3F/0E again; the pending conditions are
/// reported one per command, resets first.
pub fn lun_inventory_changes_raise_unit_attentions_until_report_luns() -> TestResult {
    let luns = c"/sys/kernel/scst_tgt/targets/kunit_open/ko/luns/mgmt";
    mgmt(luns, c"add kd_thread 7")?;
    let res = (|| {
        ensure(tur(1, LUN_SWAPPED)? == (CHECK, 6, 0x29, 0x00), c"the new LUN did not report 06/29/00")?;
        ensure(tur(1, LUN_SWAPPED)?.0 == GOOD, c"the new LUN reported more than its power on")?;
        ensure(tur(1, LUN_THREAD)? == (CHECK, 6, 0x3f, 0x0e), c"another LUN did not report 06/3F/0E")?;
        ensure(tur(1, LUN_THREAD)?.0 == GOOD, c"06/3F/0E was reported twice at one LUN")?;
        let rl = with_session(1, |s| send(s, LUN_THREAD, &REPORT_LUNS, dir::READ, 256, false)).and_then(response)?;
        ensure(rl.status.load(Ordering::Relaxed) == GOOD, c"REPORT LUNS not GOOD")?;
        ensure(tur(1, LUN_IRQ)?.0 == GOOD, c"REPORT LUNS left 06/3F/0E at another LUN")?;
        // The other session did not send REPORT LUNS: still pending there.
        ensure(tur(2, LUN_IRQ)? == (CHECK, 6, 0x3f, 0x0e), c"REPORT LUNS of one nexus cleared another's")?;
        // A LUN reset on top: reported before the inventory change.
        ensure(with_session(2, |s| s.task_mgmt_wait(tmf::LUN_RESET, LUN_THREAD, 0))? == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")?;
        ensure(tur(2, LUN_THREAD)? == (CHECK, 6, 0x29, 0x03), c"the reset was not reported first")?;
        ensure(tur(2, LUN_THREAD)? == (CHECK, 6, 0x3f, 0x0e), c"the inventory change was lost behind the reset")?;
        ensure(tur(2, LUN_THREAD)?.0 == GOOD, c"a third unit attention appeared")
    })();
    let del = mgmt(luns, c"del 7");
    res?;
    del?;
    ensure(tur(1, LUN_IRQ)? == (CHECK, 6, 0x3f, 0x0e), c"removing a LUN did not raise 06/3F/0E")
}

/// CLEAR TASK SET aborts another initiator's held command, which then
/// learns COMMANDS CLEARED BY ANOTHER INITIATOR (2F/00); the requester
/// gets no unit attention.
pub fn clear_task_set_tells_the_other_initiator() -> TestResult {
    let tag = with_session(2, |s| send(s, LUN_HOLD, &read10(1), dir::READ, 512, false))?;
    wait_held(1)?;
    let run = during_tmf(1, tmf::CLEAR_TASK_SET, LUN_HOLD, 0, 1, || ())?;
    ensure(run.result == tmf_result::COMPLETE, c"CLEAR TASK SET not COMPLETE")?;
    ensure(response(tag)?.aborted.load(Ordering::Relaxed), c"the other initiator's command was not aborted")?;
    ensure(tur(2, LUN_HOLD)? == (CHECK, 6, 0x2f, 0x00), c"the other initiator did not get 06/2F/00")?;
    ensure(tur(1, LUN_HOLD)?.0 == GOOD, c"the requester got a unit attention")
}

/// MODE SELECT(6) with the caching page: header and page 08h with WCE.
fn mode_select_caching(wce: bool) -> [u8; 24] {
    let mut list = [0u8; 24];
    list[4] = 0x08;
    list[5] = 0x12;
    list[6] = if wce { 0x04 } else { 0 };
    list
}
const MODE_SELECT_24: [u8; 6] = [0x15, 0x10, 0, 0, 24, 0];

/// MODE SELECT from session 1 at `lun`, handed in from softirq (the core
/// must finish it in a thread); returns its outcome.
fn mode_select_wce(lun: u64, wce: bool) -> core::result::Result<(u8, u8, u8, u8), &'static CStr> {
    fakes::set_write_image(&mode_select_caching(wce));
    let tag = with_session(1, |s| send_from(Where::Softirq, s, lun, &MODE_SELECT_24, dir::WRITE, 24));
    fakes::set_write_image(&[]);
    Ok(outcome(response(tag?)?))
}

/// The WRITE's FUA flag as the handler saw it at `lun`.
fn write_fua(lun: u64) -> core::result::Result<bool, &'static CStr> {
    let w = with_session(1, |s| send(s, lun, &write10(3), dir::WRITE, 512, false)).and_then(response)?;
    ensure(w.status.load(Ordering::Relaxed) == GOOD, c"WRITE not GOOD")?;
    Ok(fakes::EXEC_FUA.load(Ordering::Acquire))
}

/// MODE SELECT switching WCE on a device whose write cache the core
/// manages (`kunit_atomic`, LUN 4 of both targets), handed in from softirq:
/// GOOD; every other I_T nexus of the device, through the other target too,
/// gets MODE PARAMETERS CHANGED (2A/01) once, the sender none; while the
/// cache is off a WRITE without FUA reaches the handler with FUA, while it
/// is on it does not. A device whose cache the core does not manage refuses
/// the change (INVALID FIELD IN PARAMETER LIST) and gets no forced FUA.
pub fn mode_select_switches_the_write_cache_of_every_nexus() -> TestResult {
    ensure(write_fua(LUN_ATOMIC)?, c"a WRITE to a device whose cache is off lacked FUA")?;
    ensure(mode_select_wce(LUN_ATOMIC, true)? == (GOOD, 0, 0, 0), c"MODE SELECT setting WCE not GOOD")?;
    let res = (|| {
        ensure(tur(2, LUN_ATOMIC)? == (CHECK, 6, 0x2a, 0x01), c"the other session of the target did not get 06/2A/01")?;
        ensure(tur(0, LUN_ATOMIC)? == (CHECK, 6, 0x2a, 0x01), c"the session of the other target did not get 06/2A/01")?;
        ensure(tur(2, LUN_ATOMIC)?.0 == GOOD, c"06/2A/01 was reported twice")?;
        ensure(tur(1, LUN_ATOMIC)?.0 == GOOD, c"the sender got a unit attention")?;
        ensure(!write_fua(LUN_ATOMIC)?, c"a WRITE with the cache on got FUA")?;
        // Sending the current value changes nothing: no unit attention.
        ensure(mode_select_wce(LUN_ATOMIC, true)? == (GOOD, 0, 0, 0), c"MODE SELECT of the current WCE not GOOD")?;
        ensure(tur(2, LUN_ATOMIC)?.0 == GOOD, c"an unchanged MODE SELECT raised a unit attention")?;
        ensure(mode_select_wce(LUN_THREAD, true)? == (CHECK, 5, 0x26, 0), c"a cache the core does not manage was switched")?;
        ensure(!write_fua(LUN_THREAD)?, c"a WRITE to a device whose cache the core does not manage got FUA")
    })();
    // Back to the cache off, as the device reports it at first.
    let back = mode_select_wce(LUN_ATOMIC, false);
    res?;
    ensure(back? == (GOOD, 0, 0, 0), c"MODE SELECT clearing WCE not GOOD")?;
    ensure(write_fua(LUN_ATOMIC)?, c"a WRITE after clearing WCE lacked FUA")
}

/// A new I_T nexus reports POWER ON (29/00) once at each of its LUNs, after
/// INQUIRY and REPORT LUNS, which pass.
pub fn new_nexus_reports_power_on_at_every_lun() -> TestResult {
    let ko = fakes::target(true).ok_or(c"target ko missing")?;
    let ctx = Arc::new(KSession { id: 9 }, GFP_KERNEL).map_err(|_| c"out of memory")?;
    let h = SessionHandle::register(ko, b"kunit-open-new", ctx).map_err(|_| c"session registration failed")?;
    let one = |cdb: &[u8], d: u8, len: u32, lun: u64| send(&h, lun, cdb, d, len, false);
    let inq = response(one(&INQUIRY, dir::READ, 36, LUN_IRQ))?;
    ensure(inq.status.load(Ordering::Relaxed) == GOOD, c"INQUIRY did not pass the power on")?;
    let rl = response(one(&REPORT_LUNS, dir::READ, 256, LUN_IRQ))?;
    ensure(rl.status.load(Ordering::Relaxed) == GOOD, c"REPORT LUNS did not pass the power on")?;
    for lun in LUN_THREAD..=LUN_RAW_RO {
        ensure(outcome(response(one(&TEST_UNIT_READY, dir::NONE, 0, lun))?) == (CHECK, 6, 0x29, 0x00), c"a LUN of the new nexus did not report 06/29/00")?;
    }
    ensure(response(one(&read10(0), dir::READ, 512, LUN_THREAD))?.status.load(Ordering::Relaxed) == GOOD, c"the power on was reported twice")?;
    // Unmapped: no logical unit, no unit attention.
    let un = response(one(&TEST_UNIT_READY, dir::NONE, 0, 100))?;
    ensure(outcome(un) == (CHECK, 5, 0x25, 0), c"an unmapped LUN did not answer LOGICAL UNIT NOT SUPPORTED")
}

/// ABORT TASK of a command the handler holds: the TMF waits until the
/// command was released, which a hard-IRQ completion does; the response is
/// suppressed and the TMF reports after it.
pub fn abort_task_waits_for_the_held_command() -> TestResult {
    let tag = with_session(1, |s| send(s, LUN_HOLD, &read10(1), dir::READ, 512, false))?
        .ok_or(c"the core refused the command")?;
    wait_held(1)?;
    let run = during_tmf(1, tmf::ABORT_TASK, LUN_HOLD, tag, 1, || ())?;
    ensure(run.waited, c"ABORT TASK returned while its command was held")?;
    ensure(run.result == tmf_result::COMPLETE, c"ABORT TASK not COMPLETE")?;
    let r = response(Some(tag))?;
    ensure(r.aborted.load(Ordering::Relaxed), c"the aborted command was not flagged aborted")?;
    ensure(r.stamp.load(Ordering::Relaxed) < run.at, c"ABORT TASK reported before the command was released")
}

/// The other functions REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS claims
/// besides ABORT TASK and LOGICAL UNIT RESET (ABORT TASK SET, CLEAR TASK
/// SET, I_T NEXUS RESET), which rscst_local never sends: each aborts a held
/// command, waits until it is released and reports COMPLETE after that.
pub fn abort_task_set_clear_task_set_and_nexus_reset_abort_held_commands() -> TestResult {
    for function in [tmf::ABORT_TASK_SET, tmf::CLEAR_TASK_SET, tmf::NEXUS_LOSS] {
        let tag = with_session(1, |s| send(s, LUN_HOLD, &read10(1), dir::READ, 512, false))?
            .ok_or(c"the core refused the command")?;
        wait_held(1)?;
        let run = during_tmf(1, function, LUN_HOLD, 0, 1, || ())?;
        ensure(run.waited, c"the TMF returned while its command was held")?;
        ensure(run.result == tmf_result::COMPLETE, c"the TMF did not report COMPLETE")?;
        let r = response(Some(tag))?;
        ensure(r.aborted.load(Ordering::Relaxed), c"the held command was not flagged aborted")?;
        ensure(r.stamp.load(Ordering::Relaxed) < run.at, c"the TMF reported before its command was released")?;
    }
    Ok(())
}

/// A LUN RESET affects only commands that arrived before it: one sent to the
/// same LUN while the reset waits completes normally.
pub fn lun_reset_spares_commands_after_it() -> TestResult {
    let old = with_session(1, |s| send(s, LUN_HOLD, &read10(1), dir::READ, 512, false))?;
    wait_held(1)?;
    let run = during_tmf(1, tmf::LUN_RESET, LUN_HOLD, 0, 1, || {
        let new = with_session(1, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))?;
        wait_held(2)?;
        complete_newest_held();
        response(new)
    })?;
    let new_rec = run.during?;
    ensure(run.waited, c"LUN RESET returned while the older command was held")?;
    ensure(!new_rec.aborted.load(Ordering::Relaxed), c"LUN RESET aborted a command sent after it")?;
    ensure(new_rec.status.load(Ordering::Relaxed) == GOOD, c"the later command not GOOD")?;
    ensure(response(old)?.aborted.load(Ordering::Relaxed), c"LUN RESET did not abort the older command")?;
    ensure(run.result == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")
}

/// A TARGET RESET marks the commands of every session before it waits for
/// any: both sessions' hooks are called while it still waits for the first
/// session's command, and the second session's command comes back aborted.
pub fn target_reset_marks_every_session_first() -> TestResult {
    let a = with_session(1, |s| send(s, LUN_HOLD, &read10(1), dir::READ, 512, false))?;
    wait_held(1)?;
    let b = with_session(2, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))?;
    wait_held(2)?;
    let run = during_tmf(1, tmf::TARGET_RESET, 0, 0, 2, || {
        // The second session's command alone.
        complete_newest_held();
        response(b)
    })?;
    let b_rec = run.during?;
    ensure(run.waited, c"TARGET RESET returned while a command was held")?;
    ensure(b_rec.aborted.load(Ordering::Relaxed), c"the second session's command was not aborted at once")?;
    ensure(response(a)?.aborted.load(Ordering::Relaxed), c"the first session's command was not aborted")?;
    ensure(run.result == tmf_result::COMPLETE, c"TARGET RESET not COMPLETE")?;
    ensure(run.at > b_rec.stamp.load(Ordering::Relaxed), c"TARGET RESET reported before a command was released")
}

/// Whether the hold device keeps `n` commands, all flagged aborted (each
/// is taken out, looked at and put back).
fn held_all_aborted(n: usize) -> bool {
    let mut back = KVec::new();
    if back.reserve(n + 1, GFP_KERNEL).is_err() {
        return false;
    }
    let mut all = true;
    while back.len() <= n {
        let Some(c) = HELD.take() else { break };
        all &= c.is_aborted();
        // Within the room reserved: no allocation, no failure.
        let _ = back.push(c, GFP_KERNEL);
    }
    let count = back.len();
    for c in back {
        if let Err(c) = HELD.put(c) {
            c.complete(None);
        }
    }
    all && count == n
}

/// Unregistering a session aborts its commands and returns only when every
/// one was released, whichever CPU it arrived on (each CPU has its own
/// shard of the in-flight table): a held command arrives from each of two
/// CPUs; the unregistration, in a thread on CPU 0, marks both, and after
/// CPU 0's command is released it still waits for CPU 1's until that one
/// is released too (from hard IRQ).
pub fn unregistration_waits_for_commands_of_every_cpu() -> TestResult {
    ensure(shim::run_on_cpu(1, || {}), c"the test needs two online CPUs")?;
    let ko = fakes::target(true).ok_or(c"target ko missing (setup failed)")?;
    let ctx = Arc::new(KSession { id: 9 }, GFP_KERNEL).map_err(|_| c"out of memory")?;
    let h = SessionHandle::register(ko, b"kunit-drain", ctx).map_err(|_| c"session registration failed")?;
    // The new nexus's power on, reported before the commands that are held.
    clear_attentions_on(&h, LUN_HOLD);
    let mut handle = Some(h);
    // Declared after `handle`, so dropped before it: a return with commands
    // held completes them before the session's drain waits for them.
    let _release = ReleaseHeldOnDrop;
    let mut tags = [None; 2];
    for (cpu, tag) in (0u32..).zip(tags.iter_mut()) {
        let h = handle.as_ref().ok_or(c"no session")?;
        let on_cpu = shim::run_on_cpu(cpu, || *tag = send(h, LUN_HOLD, &read10(cpu), dir::READ, 512, true));
        ensure(on_cpu, c"the test needs two online CPUs")?;
        ensure(tag.is_some(), c"the core refused the command")?;
        wait_held(cpu as usize + 1)?;
    }
    let out = shim::with_async_on(
        Some(0),
        || drop(handle.take()),
        |job| {
            let marked = wait_until(|| held_all_aborted(2));
            // The held command in the first slot: CPU 0's, sent first.
            run_in(Where::Hardirq, || {
                if let Some(c) = HELD.take() {
                    c.complete(None);
                }
            });
            // Its response is recorded just before it is released.
            let first_done = response(tags[0]).is_ok();
            let returned_early = wait_up_to_ms(500, || job.done());
            release_held();
            (marked, first_done, returned_early)
        },
    );
    let (marked, first_done, returned_early) = out.ok_or(c"no thread for the unregistration")?;
    ensure(marked, c"unregistration did not abort both held commands")?;
    ensure(first_done, c"CPU 0's command got no response")?;
    ensure(!returned_early, c"unregistration returned while CPU 1's command was held")?;
    for tag in tags {
        ensure(response(tag)?.aborted.load(Ordering::Relaxed), c"a held command was not flagged aborted")?;
    }
    Ok(())
}

/// Completes every held command when dropped.
struct ReleaseHeldOnDrop;

impl Drop for ReleaseHeldOnDrop {
    fn drop(&mut self) {
        release_held();
    }
}

/// What the READs of [`lun_replace_never_leaves_the_lun_missing`] saw.
#[derive(Default)]
struct SwapReads {
    not_good: u32,
    changed: u32,
    filled: u32,
    zero: u32,
}

/// `replace` in a target's `luns/mgmt` switches a LUN from one device to
/// another in one step: READs sent to it in a loop meanwhile, while it is
/// replaced 20 times, all come back GOOD (none finds no LUN) and from both
/// devices (`kd_thread` fills 0x5a, `kd_nofill` leaves zeros), but for
/// those that report a replacement (INQUIRY DATA HAS CHANGED), which at
/// least one does.
pub fn lun_replace_never_leaves_the_lun_missing() -> TestResult {
    let luns = c"/sys/kernel/scst_tgt/targets/kunit_open/ko/luns/mgmt";
    mgmt(luns, c"add kd_thread 7")?;
    clear_attentions();
    let stop = AtomicBool::new(false);
    let mut seen = SwapReads::default();
    let mut failed: Option<&'static CStr> = None;
    let reader = || {
        while !stop.load(Ordering::Acquire) {
            let r = match with_session(1, |s| send(s, LUN_SWAPPED, &read10(0), dir::READ, 512, false)).and_then(response) {
                Ok(r) => r,
                Err(e) => {
                    failed = Some(e);
                    return;
                }
            };
            match (r.status.load(Ordering::Relaxed), r.head.load(Ordering::Relaxed)) {
                (GOOD, 0x5a5a_5a5a) => seen.filled += 1,
                (GOOD, 0) => seen.zero += 1,
                // A replacement is reported: INQUIRY DATA HAS CHANGED.
                _ if outcome(r) == (CHECK, 6, 0x3f, 0x03) => seen.changed += 1,
                _ => seen.not_good += 1,
            }
        }
    };
    let replaced = shim::with_async(reader, |_| {
        let mut res = Ok(());
        for i in 0..20 {
            let line = if i % 2 == 0 { c"replace kd_nofill 7" } else { c"replace kd_thread 7" };
            res = res.and(mgmt(luns, line));
            shim::sleep_ms(5);
        }
        stop.store(true, Ordering::Release);
        res
    });
    let _ = mgmt(luns, c"del 7");
    replaced.ok_or(c"no thread for the READs")??;
    if let Some(e) = failed {
        return Err(e);
    }
    ensure(seen.not_good == 0, c"a READ during the replacements was not GOOD with one device's data")?;
    ensure(seen.filled > 0 && seen.zero > 0, c"the READs did not see both devices")?;
    ensure(seen.changed > 0, c"no READ reported INQUIRY DATA HAS CHANGED after a replacement")
}

/// ABORT TASK racing a hard-IRQ completion, many times: every command gets
/// exactly one response, and a TMF that found its command reports only
/// after that command was released.
pub fn abort_races_hardirq_completions() -> TestResult {
    for i in 0..100u32 {
        let tag = with_session(1, |s| send(s, LUN_IRQ, &read10(i), dir::READ, 512, false))?
            .ok_or(c"the core refused the command")?;
        shim::sleep_ms(i % 4);
        let result = with_session(1, |s| s.task_mgmt_wait(tmf::ABORT_TASK, LUN_IRQ, tag))?;
        let after = fakes::stamp();
        let r = response(Some(tag))?;
        let aborted = r.aborted.load(Ordering::Relaxed);
        match result {
            tmf_result::COMPLETE => {
                ensure(r.stamp.load(Ordering::Relaxed) < after, c"ABORT TASK reported before its command was released")?
            }
            tmf_result::NOT_FOUND => ensure(!aborted, c"a command not found was flagged aborted")?,
            _ => return Err(c"ABORT TASK neither COMPLETE nor NOT_FOUND"),
        }
        ensure(aborted || r.status.load(Ordering::Relaxed) == GOOD, c"a completed READ not GOOD")?;
    }
    Ok(())
}

fn strict() -> Ops<FabricOps, Fake> {
    crate::sys::fabric_ops::fabric_ops::<Fake>(c"kunit_bad", crate::abi::protocol::SAS, 0, c"")
}

fn refused_fabric(ops: Ops<FabricOps, Fake>) -> bool {
    Arc::new(Fake { open: false }, GFP_KERNEL).is_ok_and(|f| FabricRegistration::new(ops, f).err() == Some(EINVAL))
}

/// Registration refuses tables of another ABI version or size, and tables
/// without a required callback.
pub fn registration_refuses_bad_tables() -> TestResult {
    let size = core::mem::size_of::<FabricOps>() as u32;
    ensure(refused_fabric(strict().with_header(ABI_VERSION + 1, size)), c"a table of another ABI version was accepted")?;
    ensure(refused_fabric(strict().with_header(ABI_VERSION, size - 8)), c"a table of another size was accepted")?;
    ensure(refused_fabric(strict().without_xmit_response()), c"a fabric without xmit_response was accepted")?;
    let no_tier = crate::sys::adapter::handler_ops::<FakeDev<true>>(c"kunit_bad", 0, c"", b"\0\0").without_tiers();
    let refused = Arc::new(FakeDev::<true>, GFP_KERNEL).is_ok_and(|h| HandlerRegistration::new(no_tier, h).err() == Some(EINVAL));
    ensure(refused, c"a handler with neither exec nor exec_scsi was accepted")
}

fn check_sense(r: &Record, want: &[u8], msg: &'static CStr) -> TestResult {
    let (sense, len) = r.sense_bytes();
    ensure(len == want.len() && sense[..want.len().min(sense.len())] == *want, msg)
}

/// ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE and HARDWARE ERROR /
/// INTERNAL TARGET FAILURE, as the core writes them (fixed format).
const INVALID_OPCODE: [u8; 18] = [0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0];
const INTERNAL_FAILURE: [u8; 18] = [0x70, 0, 0x04, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0];

fn vendor(op: u8, len: u32) -> [u8; 10] {
    let l = len.to_be_bytes();
    [op, 0, 0, 0, 0, 0, l[1], l[2], l[3], 0]
}

/// The raw tier answers with any status, any sense format and a residual,
/// and the fabric gets exactly that: data with a short transfer, descriptor
/// sense, RESERVATION CONFLICT, and its own answer to a TEST UNIT READY the
/// core would have answered GOOD.
pub fn raw_tier_answers_any_status_sense_and_residual() -> TestResult {
    let r = response(with_session(1, |s| send(s, LUN_RAW, &vendor(raw_op::SHORT_READ, 4096), dir::READ, 4096, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"short read not GOOD")?;
    ensure(r.resid.load(Ordering::Relaxed) == fakes::RAW_SHORT, c"short read's residual not what the handler said")?;
    ensure(r.head.load(Ordering::Relaxed) == 0xa5a5_a5a5, c"short read's data missing")?;
    ensure(r.sense_len.load(Ordering::Relaxed) == 0, c"sense sent with GOOD")?;
    let r = response(with_session(1, |s| send(s, LUN_RAW, &vendor(raw_op::DESC_SENSE, 0), dir::NONE, 0, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == scsi_status::CHECK_CONDITION, c"descriptor sense not CHECK CONDITION")?;
    check_sense(r, &fakes::DESC_SENSE, c"descriptor sense bytes changed on the way")?;
    let r = response(with_session(1, |s| send(s, LUN_RAW, &vendor(raw_op::CONFLICT, 0), dir::NONE, 0, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == scsi_status::RESERVATION_CONFLICT, c"RESERVATION CONFLICT lost")?;
    ensure(r.sense_len.load(Ordering::Relaxed) == 0, c"sense sent with RESERVATION CONFLICT")?;
    let r = response(with_session(1, |s| send(s, LUN_RAW, &[0u8; 6], dir::NONE, 0, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == scsi_status::CHECK_CONDITION, c"the core answered TEST UNIT READY instead of the raw tier")?;
    check_sense(r, &fakes::BECOMING_READY, c"the raw tier's fixed sense changed on the way")?;
    // A command the core knows, with a bad field (INQUIRY's CMDDT), is the
    // core's to refuse: it never reaches the raw tier.
    let r = response(with_session(1, |s| send(s, LUN_RAW, &[0x12, 0x02, 0, 0, 36, 0], dir::READ, 36, false))?)?;
    check_sense(r, &INVALID_FIELD, c"a known CDB with a bad field reached the raw tier")
}

/// ILLEGAL REQUEST, INVALID FIELD IN CDB (fixed format), pointing at the
/// CMDDT bit of INQUIRY: SKSV, C/D, BPV and bit 1; byte 1.
const INVALID_FIELD: [u8; 18] = [0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0xC9, 0, 1];

/// What the raw tier declines, the core emulates: INQUIRY, a READ that then
/// reaches the block tier, and an opcode nobody knows (INVALID COMMAND
/// OPERATION CODE).
pub fn raw_tier_declines_and_the_core_emulates() -> TestResult {
    let r = response(with_session(1, |s| send(s, LUN_RAW, &INQUIRY, dir::READ, 36, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"declined INQUIRY not GOOD")?;
    ensure(r.head.load(Ordering::Relaxed) & 0xff == 0, c"declined INQUIRY not a disk's")?;
    ensure(!r.all_zero.load(Ordering::Relaxed), c"declined INQUIRY without data")?;
    let r = response(with_session(1, |s| send(s, LUN_RAW, &read10(3), dir::READ, 512, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"declined READ not GOOD")?;
    ensure(r.head.load(Ordering::Relaxed) == 0x5a5a_5a5a, c"declined READ did not reach the block tier")?;
    let r = response(with_session(0, |s| send(s, LUN_RAW, &vendor(raw_op::DECLINED, 0), dir::NONE, 0, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == scsi_status::CHECK_CONDITION, c"declined unknown opcode not CHECK CONDITION")?;
    check_sense(r, &INVALID_OPCODE, c"declined unknown opcode not INVALID COMMAND OPERATION CODE")
}

/// A raw tier answering an unknown status, or CHECK CONDITION with bytes
/// that are no sense data (and more than the 96 kept), gets the initiator
/// HARDWARE ERROR / INTERNAL TARGET FAILURE, never the garbage.
pub fn raw_tier_malformed_answers_become_internal_failures() -> TestResult {
    for op in [raw_op::BAD_STATUS, raw_op::BAD_SENSE] {
        let r = response(with_session(1, |s| send(s, LUN_RAW, &vendor(op, 0), dir::NONE, 0, false))?)?;
        ensure(r.status.load(Ordering::Relaxed) == scsi_status::CHECK_CONDITION, c"malformed answer not CHECK CONDITION")?;
        check_sense(r, &INTERNAL_FAILURE, c"malformed answer not INTERNAL TARGET FAILURE")?;
    }
    Ok(())
}

/// A CDB the core cannot decode still gets its write data first, in the
/// direction and length the fabric announced, before the raw tier sees it;
/// a bidirectional one is refused.
pub fn raw_tier_gets_write_data_for_unknown_cdbs() -> TestResult {
    fakes::WRITE_BYTE.store(0x3c, Ordering::Release);
    fakes::RDY_CTX.store(0xff, Ordering::Release);
    let r = response(with_session(0, |s| send(s, LUN_RAW, &vendor(raw_op::CHECK_WRITE, 512), dir::WRITE, 512, false))?)?;
    ensure(fakes::RDY_CTX.load(Ordering::Acquire) == 0, c"write data not fetched from a thread")?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"the raw tier did not see the write data")?;
    let r = response(with_session(0, |s| send(s, LUN_RAW, &vendor(raw_op::CHECK_WRITE, 512), dir::BIDI, 512, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == scsi_status::CHECK_CONDITION, c"a bidirectional unknown CDB was accepted")
}

/// DATA PROTECT, WRITE PROTECTED (fixed format).
const WRITE_PROTECTED: [u8; 18] = [0x70, 0, 0x07, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x27, 0, 0, 0, 0, 0];

/// On a LUN exported read-only, the core refuses what changes the medium
/// before the raw tier sees it (a WRITE, a WRITE SAME(16) without data,
/// which the core does not implement), and hands the rest on, data-out
/// included (a vendor command with data, RESERVATION CONFLICT).
pub fn raw_tier_read_only_lun_refuses_writes() -> TestResult {
    let r = response(with_session(1, |s| send(s, LUN_RAW_RO, &write10(9), dir::WRITE, 512, false))?)?;
    check_sense(r, &WRITE_PROTECTED, c"a WRITE to a read-only raw-tier LUN was not refused")?;
    let mut write_same = [0u8; 16];
    write_same[0] = 0x93;
    write_same[1] = 0x01; // NDOB: no data-out buffer
    write_same[13] = 8;
    let r = response(with_session(1, |s| send(s, LUN_RAW_RO, &write_same, dir::NONE, 0, false))?)?;
    check_sense(r, &WRITE_PROTECTED, c"WRITE SAME without data to a read-only raw-tier LUN was not refused")?;
    fakes::WRITE_BYTE.store(0x3c, Ordering::Release);
    let r = response(with_session(1, |s| send(s, LUN_RAW_RO, &vendor(raw_op::CHECK_WRITE, 512), dir::WRITE, 512, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"a vendor data-out command did not reach the raw tier")?;
    let r = response(with_session(1, |s| send(s, LUN_RAW_RO, &vendor(raw_op::CONFLICT, 0), dir::NONE, 0, false))?)?;
    ensure(r.status.load(Ordering::Relaxed) == scsi_status::RESERVATION_CONFLICT, c"a no-data CDB did not reach the raw tier")
}

/// A raw tier of another device type than a disk (`kunit_raw_tape`, type
/// 1) gets the commands the core does not keep undecoded, sized as the
/// initiator sent them: a tape's READ(6) of one 512-byte variable block
/// (`08 00 00 02 00 00`, which SBC would read as 256 blocks at LBA 2)
/// moves 512 bytes. REPORT LUNS stays the core's.
pub fn raw_tier_of_a_tape_gets_commands_sized_by_the_initiator() -> TestResult {
    let luns = c"/sys/kernel/scst_tgt/targets/kunit_open/ko/luns/mgmt";
    mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_raw_tape/mgmt", c"add_device kt_tape mode=inline")?;
    let res = mgmt(luns, c"add kt_tape 7").and_then(|()| {
        clear_attentions();
        let read6 = [0x08, 0, 0, 0x02, 0, 0];
        let r = response(with_session(1, |s| send(s, LUN_SWAPPED, &read6, dir::READ, 512, false))?)?;
        ensure(r.status.load(Ordering::Relaxed) == GOOD, c"a tape's READ(6) not GOOD")?;
        ensure(r.head.load(Ordering::Relaxed) == 0xa5a5_a5a5, c"a tape's READ(6) did not reach the raw tier")?;
        ensure(r.resid.load(Ordering::Relaxed) == 0, c"a tape's READ(6) of 512 bytes has a residual")?;
        let rl = response(with_session(1, |s| send(s, LUN_SWAPPED, &REPORT_LUNS, dir::READ, 256, false))?)?;
        ensure(rl.status.load(Ordering::Relaxed) == GOOD, c"REPORT LUNS on the tape's LUN not answered by the core")
    });
    let _ = mgmt(luns, c"del 7");
    let _ = mgmt(c"/sys/kernel/scst_tgt/handlers/kunit_raw_tape/mgmt", c"del_device kt_tape");
    clear_attentions();
    res
}

/// An unknown CDB whose buffer is too large to allocate in atomic context
/// (128 KiB), handed in from softirq, is parsed once and then gets its
/// buffer in a thread, and reaches the raw tier.
pub fn raw_tier_large_unknown_cdb_from_softirq() -> TestResult {
    let len = 128 << 10;
    let r = response(with_session(1, |s| send_from(Where::Softirq, s, LUN_RAW, &vendor(raw_op::SHORT_READ, len), dir::READ, len))?)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"large unknown CDB not GOOD")?;
    ensure(r.resid.load(Ordering::Relaxed) == fakes::RAW_SHORT, c"large unknown CDB's residual wrong")?;
    ensure(r.head.load(Ordering::Relaxed) == 0xa5a5_a5a5, c"large unknown CDB's data missing")
}

/// Every command carries its session's context to the fabric: commands of
/// three sessions, one after another on the same LUN, each answer with
/// their own.
pub fn commands_carry_their_session_context() -> TestResult {
    for (i, want) in [(0usize, 1u32), (1, 2), (2, 3), (0, 1)] {
        let r = response(with_session(i, |s| send(s, LUN_THREAD, &INQUIRY, dir::READ, 36, false))?)?;
        ensure(r.session.load(Ordering::Relaxed) == want, c"a response carried another session's context")?;
    }
    Ok(())
}

/// UNMAP with ranges (10, 2), (20, 0) and (30, 4): its parameter list.
const UNMAP_LIST: [u8; 56] = {
    let mut l = [0u8; 56];
    l[1] = 54;
    l[3] = 48;
    l[15] = 10;
    l[19] = 2;
    l[31] = 20;
    l[47] = 30;
    l[51] = 4;
    l
};
const UNMAP_56: [u8; 10] = [0x42, 0, 0, 0, 0, 0, 0, 0, 56, 0];

/// Sends UNMAP of [`UNMAP_LIST`] to `lun` from session 1.
fn send_unmap(lun: u64) -> core::result::Result<Option<u64>, &'static CStr> {
    fakes::set_write_image(&UNMAP_LIST);
    let tag = with_session(1, |s| send(s, lun, &UNMAP_56, dir::WRITE, 56, false));
    fakes::set_write_image(&[]);
    tag
}

/// Why an UNMAP answered instead of reaching the hold device.
fn unmap_answered(tag: Option<u64>) -> &'static CStr {
    let Some(tag) = tag else { return c"the core refused UNMAP" };
    let r = record(tag);
    if r.tag.load(Ordering::Acquire) != tag {
        return c"the hold device did not receive the DISCARD (and UNMAP got no answer)";
    }
    match outcome(r) {
        (GOOD, ..) => c"UNMAP answered GOOD without reaching the hold device",
        (CHECK, 5, 0x20, 0) => c"UNMAP answered INVALID COMMAND OPERATION CODE (device not thin?)",
        (CHECK, 5, 0x1a, 0) => c"UNMAP answered PARAMETER LIST LENGTH ERROR",
        (CHECK, 5, 0x26, _) => c"UNMAP answered INVALID FIELD IN PARAMETER LIST",
        (CHECK, 5, 0x21, 0) => c"UNMAP answered LBA OUT OF RANGE",
        (CHECK, 6, ..) => c"UNMAP answered a unit attention",
        (CHECK, 4, ..) => c"UNMAP answered HARDWARE ERROR",
        (CHECK, ..) => c"UNMAP answered another CHECK CONDITION",
        _ => c"UNMAP answered another status",
    }
}

/// Waits for the hold device's next command and checks it is a DISCARD of
/// `blocks` at `lba`; returns it. `tag` is the UNMAP's, for the diagnosis.
fn held_discard(tag: Option<u64>, lba: u64, blocks: u32) -> core::result::Result<crate::sys::client::IoCmd, &'static CStr> {
    if !wait_until(|| HELD.count() == 1) {
        return Err(unmap_answered(tag));
    }
    let c = HELD.take().ok_or(c"the held command vanished")?;
    let ok = c.op() == io_op::DISCARD && c.lba() == lba && c.blocks() == blocks;
    if !ok {
        c.complete(None);
        return Err(c"the handler got something else than the DISCARD of the next range");
    }
    Ok(c)
}

/// UNMAP through a handler that completes later: each range with blocks
/// reaches it as one DISCARD, in list order, and the next only once the
/// previous one completed (the hold device has one in hand at a time;
/// completed from this thread, the core makes the next call here). Through
/// the hard-IRQ device, whose completions come from a timer, the core makes
/// each next call from a thread: two DISCARDs, GOOD.
pub fn unmap_makes_one_discard_per_range_one_at_a_time() -> TestResult {
    let tag = send_unmap(LUN_HOLD)?;
    let first = held_discard(tag, 10, 2)?;
    shim::sleep_ms(20);
    let early = HELD.count();
    first.complete(None);
    ensure(early == 0, c"the second DISCARD came before the first completed")?;
    held_discard(tag, 30, 4)?.complete(None);
    let r = response(tag)?;
    ensure(r.status.load(Ordering::Relaxed) == GOOD, c"UNMAP through the hold device not GOOD")?;
    ensure(HELD.count() == 0, c"a DISCARD followed the last range")?;
    let before = fakes::EXEC_DISCARDS.load(Ordering::Acquire);
    let irq = response(send_unmap(LUN_IRQ)?)?;
    ensure(irq.status.load(Ordering::Relaxed) == GOOD, c"UNMAP through the hard-IRQ device not GOOD")?;
    ensure(fakes::EXEC_DISCARDS.load(Ordering::Acquire) - before == 2, c"the hard-IRQ device did not get exactly two DISCARDs")
}

/// ABORT TASK of an UNMAP whose first DISCARD the handler holds: once that
/// one completes, the core makes no more calls, and the initiator gets no
/// response (the command is flagged aborted), before the TMF reports.
pub fn an_aborted_unmap_makes_no_further_discard() -> TestResult {
    let tag = send_unmap(LUN_HOLD)?.ok_or(c"the core refused UNMAP")?;
    if !wait_until(|| HELD.count() == 1) {
        return Err(unmap_answered(Some(tag)));
    }
    let before = fakes::EXEC_DISCARDS.load(Ordering::Acquire);
    let run = during_tmf(1, tmf::ABORT_TASK, LUN_HOLD, tag, 1, || ())?;
    ensure(run.result == tmf_result::COMPLETE, c"ABORT TASK not COMPLETE")?;
    let r = response(Some(tag))?;
    ensure(r.aborted.load(Ordering::Relaxed), c"the aborted UNMAP was not flagged aborted")?;
    shim::sleep_ms(20);
    ensure(HELD.count() == 0, c"a DISCARD was made after the abort")?;
    ensure(fakes::EXEC_DISCARDS.load(Ordering::Acquire) == before, c"a DISCARD was made after the abort")
}

/// VERIFY(10) of block 4 with BYTCHK 1.
const VERIFY_BYTCHK_1: [u8; 10] = [0x2f, 0x02, 0, 0, 0, 4, 0, 0, 1, 0];
/// VERIFY(10) of block 4 with BYTCHK 3 (one block against each).
const VERIFY_BYTCHK_3: [u8; 10] = [0x2f, 0x06, 0, 0, 0, 4, 0, 0, 1, 0];
/// WRITE AND VERIFY(10) of block 4 with BYTCHK 1.
const WRITE_AND_VERIFY: [u8; 10] = [0x2e, 0x02, 0, 0, 0, 4, 0, 0, 1, 0];
/// PRE-FETCH(10) of blocks 8 to 15.
const PRE_FETCH: [u8; 10] = [0x34, 0, 0, 0, 0, 8, 0, 0, 8, 0];

/// COMPARE AND WRITE of one block at `lba`.
const fn compare_and_write(lba: u8) -> [u8; 16] {
    [0x89, 0, 0, 0, 0, 0, 0, 0, 0, lba, 0, 0, 0, 1, 0, 0]
}

/// What a read-back answered: status, sense key, ASC, ASCQ, and the
/// INFORMATION field if its VALID bit is set.
type ReadBackOutcome = ((u8, u8, u8, u8), Option<u32>);

/// Sends `cdb` from session 1 to `lun` with `len` bytes of write data, all
/// `byte` but for `image` at the start; waits for its answer.
fn read_back(lun: u64, cdb: &[u8], len: u32, byte: u8, image: &[u8]) -> core::result::Result<ReadBackOutcome, &'static CStr> {
    fakes::WRITE_BYTE.store(byte, Ordering::Release);
    fakes::set_write_image(image);
    let d = if len == 0 { dir::NONE } else { dir::WRITE };
    let tag = with_session(1, |s| send(s, lun, cdb, d, len, false));
    fakes::set_write_image(&[]);
    let r = response(tag?)?;
    let (b, n) = r.sense_bytes();
    let info = (n >= 7 && b[0] & 0x80 != 0).then(|| u32::from_be_bytes([b[3], b[4], b[5], b[6]]));
    Ok((outcome(r), info))
}

/// The `n` bytes 0x5a and one other: where the device (which reads 0x5a)
/// and the data-out buffer first differ.
fn differing_at<const N: usize>() -> [u8; N] {
    let mut b = [0x5au8; N];
    b[N - 1] = 0x11;
    b
}

const MISCOMPARE: (u8, u8, u8, u8) = (CHECK, 0x0e, 0x1d, 0x00);

/// Through a device whose READs return 0x5a bytes: VERIFY with BYTCHK 1
/// and 3 and WRITE AND VERIFY are GOOD when the data-out buffer holds the
/// same, MISCOMPARE with the offset of the first differing byte in the
/// INFORMATION field otherwise (WRITE AND VERIFY has written by then);
/// COMPARE AND WRITE writes only when the compare succeeds; PRE-FETCH of
/// blocks that fit the cache answers CONDITION MET.
pub fn read_backs_compare_what_the_medium_holds() -> TestResult {
    let writes = || fakes::EXEC_WRITES.load(Ordering::Acquire);
    let good = ((GOOD, 0, 0, 0), None);
    ensure(read_back(LUN_THREAD, &VERIFY_BYTCHK_1, 512, 0x5a, &[])? == good, c"VERIFY BYTCHK 1 of equal data not GOOD")?;
    ensure(
        read_back(LUN_THREAD, &VERIFY_BYTCHK_1, 512, 0x5a, &differing_at::<41>())? == (MISCOMPARE, Some(40)),
        c"VERIFY BYTCHK 1 did not report MISCOMPARE at offset 40",
    )?;
    ensure(read_back(LUN_THREAD, &VERIFY_BYTCHK_3, 512, 0x5a, &[])? == good, c"VERIFY BYTCHK 3 of equal data not GOOD")?;
    ensure(
        read_back(LUN_THREAD, &VERIFY_BYTCHK_3, 512, 0x5a, &differing_at::<8>())? == (MISCOMPARE, Some(7)),
        c"VERIFY BYTCHK 3 did not report MISCOMPARE at offset 7",
    )?;
    let before = writes();
    ensure(read_back(LUN_THREAD, &WRITE_AND_VERIFY, 512, 0x5a, &[])? == good, c"WRITE AND VERIFY reading back what it wrote not GOOD")?;
    ensure(writes() - before == 1, c"WRITE AND VERIFY did not write once")?;
    ensure(
        read_back(LUN_THREAD, &WRITE_AND_VERIFY, 512, 0x33, &[])? == (MISCOMPARE, Some(0)),
        c"WRITE AND VERIFY reading back other data did not report MISCOMPARE at offset 0",
    )?;
    let before = writes();
    ensure(read_back(LUN_THREAD, &compare_and_write(5), 1024, 0x5a, &[])? == good, c"COMPARE AND WRITE of equal data not GOOD")?;
    ensure(writes() - before == 1, c"COMPARE AND WRITE that compared equal did not write once")?;
    let before = writes();
    ensure(
        read_back(LUN_THREAD, &compare_and_write(5), 1024, 0x5a, &differing_at::<11>())? == (MISCOMPARE, Some(10)),
        c"COMPARE AND WRITE did not report MISCOMPARE at offset 10",
    )?;
    ensure(writes() == before, c"COMPARE AND WRITE wrote after a miscompare")?;
    // A device that leaves READ data untouched: the spare buffer the core
    // reads into was zeroed, so zeros compare equal.
    ensure(read_back(LUN_NOFILL, &VERIFY_BYTCHK_1, 512, 0, &[])? == good, c"VERIFY BYTCHK 1 of zeros on a device that fills no READ not GOOD")?;
    let (pre, _) = read_back(LUN_THREAD, &PRE_FETCH, 0, 0, &[])?;
    ensure(pre == (scsi_status::CONDITION_MET, 0, 0, 0), c"PRE-FETCH of eight blocks did not answer CONDITION MET")
}

/// Waits for the hold device's next command; it must be `op` at `lba`.
fn held_io(op: u8, lba: u64, what: &'static CStr) -> core::result::Result<crate::sys::client::IoCmd, &'static CStr> {
    ensure(wait_until(|| HELD.count() == 1), what)?;
    let c = HELD.take().ok_or(c"the held command vanished")?;
    if c.op() != op || c.lba() != lba {
        c.complete(None);
        return Err(c"the hold device got another command than the one expected");
    }
    Ok(c)
}

/// COMPARE AND WRITE is atomic against other writes. It waits for a WRITE
/// the hold device has in hand (its READ reaches the device only once that
/// WRITE completed); while the device has its READ, then its WRITE, a
/// WRITE (queued in `dispatch`) and an UNMAP (queued before its steps)
/// reach no handler, and go on once it answered. Its WRITE carries the
/// second half of the data-out buffer (the first half, which the held READ
/// is filled to match, starts with 16 bytes 0x11; the second is all 0x77).
pub fn compare_and_write_holds_writes_until_it_completes() -> TestResult {
    fakes::WRITE_BYTE.store(0x77, Ordering::Release);
    let first = with_session(2, |s| send(s, LUN_HOLD, &write10(7), dir::WRITE, 512, false))?;
    let first_io = held_io(io_op::WRITE, 7, c"the first WRITE did not reach the hold device")?;
    fakes::set_write_image(&[0x11; 16]);
    let caw = with_session(1, |s| send(s, LUN_HOLD, &compare_and_write(5), dir::WRITE, 1024, false));
    fakes::set_write_image(&[]);
    let caw = caw?;
    shim::sleep_ms(100);
    let read_early = HELD.count();
    first_io.complete(None);
    ensure(read_early == 0, c"COMPARE AND WRITE read while a WRITE was in progress")?;
    ensure(response(first)?.status.load(Ordering::Relaxed) == GOOD, c"the first WRITE not GOOD")?;
    let mut read = held_io(io_op::READ, 5, c"COMPARE AND WRITE's READ did not reach the hold device")?;
    let other = with_session(2, |s| send(s, LUN_HOLD, &write10(6), dir::WRITE, 512, false))?;
    let unmap = send_unmap(LUN_HOLD)?;
    shim::sleep_ms(100);
    let passed_read = HELD.count();
    let mut block = [0x77u8; 512];
    block[..16].fill(0x11);
    let _ = read.sg().copy_from(&block);
    read.complete(None);
    ensure(passed_read == 0, c"a WRITE or UNMAP reached the device during COMPARE AND WRITE's READ")?;
    let mut write = held_io(io_op::WRITE, 5, c"COMPARE AND WRITE did not write after comparing equal")?;
    let mut head = [0u8; 16];
    let _ = write.sg().copy_to(&mut head);
    shim::sleep_ms(50);
    let passed_write = HELD.count();
    write.complete(None);
    ensure(head == [0x77; 16], c"COMPARE AND WRITE did not write the second half of its buffer")?;
    ensure(passed_write == 0, c"a WRITE or UNMAP reached the device during COMPARE AND WRITE's WRITE")?;
    let c = response(caw)?;
    ensure(c.status.load(Ordering::Relaxed) == GOOD, c"COMPARE AND WRITE not GOOD")?;
    // Now the WRITE and the UNMAP's first DISCARD, in either order.
    ensure(wait_until(|| HELD.count() == 2), c"the queued WRITE and UNMAP did not both go on")?;
    let (x, y) = (HELD.take(), HELD.take());
    let ops = [x.as_ref().map(|c| (c.op(), c.lba())), y.as_ref().map(|c| (c.op(), c.lba()))];
    for c in [x, y].into_iter().flatten() {
        c.complete(None);
    }
    let want = [Some((io_op::WRITE, 6)), Some((io_op::DISCARD, 10))];
    ensure(ops == want || ops == [want[1], want[0]], c"after COMPARE AND WRITE the device got something else than the WRITE and the DISCARD")?;
    held_discard(unmap, 30, 4)?.complete(None);
    let w = response(other)?;
    ensure(w.status.load(Ordering::Relaxed) == GOOD, c"the queued WRITE not GOOD")?;
    let u = response(unmap)?;
    ensure(u.status.load(Ordering::Relaxed) == GOOD, c"the queued UNMAP not GOOD")?;
    ensure(
        c.stamp.load(Ordering::Relaxed) < w.stamp.load(Ordering::Relaxed)
            && c.stamp.load(Ordering::Relaxed) < u.stamp.load(Ordering::Relaxed),
        c"a queued command answered before COMPARE AND WRITE",
    )
}

/// QUERY TASK and QUERY TASK SET find the command the hold device has in
/// hand (FUNCTION SUCCEEDED) by its tag and LUN, for its own I_T nexus
/// only, and abort nothing: it completes GOOD, after which both find
/// nothing (COMPLETE). QUERY ASYNCHRONOUS EVENT succeeds while a unit
/// attention is pending at the LUN, with its sense key and codes as the
/// additional response information (16h 29h 03h: the only one pending),
/// leaves it pending, and completes once it was reported; a LUN the
/// session does not see: NOT_FOUND.
pub fn query_functions_find_without_aborting() -> TestResult {
    let (one, two) = (session(1)?, session(2)?);
    let tag = send(&one, LUN_HOLD, &read10(1), dir::READ, 512, false).ok_or(c"the core refused the command")?;
    wait_held(1)?;
    let task = one.task_mgmt_wait(tmf::QUERY_TASK, LUN_HOLD, tag);
    let other_tag = one.task_mgmt_wait(tmf::QUERY_TASK, LUN_HOLD, tag ^ 0x8000);
    let other_lun = one.task_mgmt_wait(tmf::QUERY_TASK, LUN_THREAD, tag);
    let set = one.task_mgmt_wait(tmf::QUERY_TASK_SET, LUN_HOLD, 0);
    let other_nexus = two.task_mgmt_wait(tmf::QUERY_TASK_SET, LUN_HOLD, 0);
    release_held();
    let r = response(Some(tag))?;
    ensure(task == tmf_result::SUCCEEDED, c"QUERY TASK did not find the held command")?;
    ensure(other_tag == tmf_result::COMPLETE, c"QUERY TASK found a tag that is not in flight")?;
    ensure(other_lun == tmf_result::COMPLETE, c"QUERY TASK found the command at another LUN")?;
    ensure(set == tmf_result::SUCCEEDED, c"QUERY TASK SET did not find the held command")?;
    ensure(other_nexus == tmf_result::COMPLETE, c"QUERY TASK SET found another I_T nexus's command")?;
    ensure(!r.aborted.load(Ordering::Relaxed) && r.status.load(Ordering::Relaxed) == GOOD, c"a queried command did not complete GOOD")?;
    ensure(one.task_mgmt_wait(tmf::QUERY_TASK, LUN_HOLD, tag) == tmf_result::COMPLETE, c"QUERY TASK found a completed command")?;
    ensure(one.task_mgmt_wait(tmf::QUERY_TASK_SET, LUN_HOLD, 0) == tmf_result::COMPLETE, c"QUERY TASK SET found a command after all completed")?;
    ensure(one.task_mgmt_wait(tmf::QUERY_ASYNC_EVENT, LUN_THREAD, 0) == tmf_result::COMPLETE, c"QUERY ASYNCHRONOUS EVENT succeeded with nothing pending")?;
    // A LOGICAL UNIT RESET from the other session leaves 06/29/03 here.
    ensure(two.task_mgmt_wait(tmf::LUN_RESET, LUN_THREAD, 0) == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")?;
    let found = one.task_mgmt_wait_info(tmf::QUERY_ASYNC_EVENT, LUN_THREAD, 0);
    ensure(found.0 == tmf_result::SUCCEEDED, c"QUERY ASYNCHRONOUS EVENT missed a pending unit attention")?;
    // UADE DEPTH 01b (the only one), UNIT ATTENTION, 29h/03h.
    ensure(found.1 == 0x16_29_03, c"QUERY ASYNCHRONOUS EVENT's additional response information was not 16 29 03")?;
    ensure(tur(1, LUN_THREAD)? == (CHECK, 6, 0x29, 0x03), c"the unit attention was not 06/29/03")?;
    ensure(one.task_mgmt_wait(tmf::QUERY_ASYNC_EVENT, LUN_THREAD, 0) == tmf_result::COMPLETE, c"QUERY ASYNCHRONOUS EVENT succeeded after the unit attention was reported")?;
    ensure(one.task_mgmt_wait(tmf::QUERY_TASK_SET, 100, 0) == tmf_result::NOT_FOUND, c"QUERY TASK SET of an unmapped LUN not NOT_FOUND")
}

/// TAS set on the hold device's control mode page: a LOGICAL UNIT RESET
/// from session 1 ends session 2's held command with TASK ABORTED status,
/// answered (not flagged aborted), before the reset reports; session 1's
/// own command ends silently (flagged aborted). The reset returns TAS to
/// its default, off (SAM-5 6.3.3: the device keeps no saved values here):
/// a CLEAR TASK SET then ends session 2's command silently and leaves it
/// 06/2F/00. With TAS set again, a CLEAR TASK SET gives session 2's command
/// TASK ABORTED instead, and no unit attention.
pub fn task_aborted_status_goes_to_the_other_initiator() -> TestResult {
    // CLEAR TASK SET from session 1 with TAS off: session 2's held command
    // ends silently, and session 2 is told 06/2F/00.
    let cleared_silently = |why_silent: &'static CStr, why_ua: &'static CStr| -> TestResult {
        let other = with_session(2, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))?;
        wait_held(1)?;
        let run = during_tmf(1, tmf::CLEAR_TASK_SET, LUN_HOLD, 0, 1, || ())?;
        ensure(run.result == tmf_result::COMPLETE, c"CLEAR TASK SET not COMPLETE")?;
        ensure(response(other)?.aborted.load(Ordering::Relaxed), why_silent)?;
        ensure(tur(2, LUN_HOLD)? == (CHECK, 6, 0x2f, 0x00), why_ua)
    };
    with_control(CONTROL_B3_DEFAULT, true, || {
        let own = with_session(1, |s| send(s, LUN_HOLD, &read10(1), dir::READ, 512, false))?;
        wait_held(1)?;
        let other = with_session(2, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))?;
        wait_held(2)?;
        let run = during_tmf(1, tmf::LUN_RESET, LUN_HOLD, 0, 2, || ())?;
        ensure(run.result == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")?;
        let o = response(other)?;
        ensure(!o.aborted.load(Ordering::Relaxed), c"with TAS, the other initiator's command was not answered")?;
        ensure(o.status.load(Ordering::Relaxed) == scsi_status::TASK_ABORTED, c"with TAS, the other initiator's command did not get TASK ABORTED")?;
        ensure(o.stamp.load(Ordering::Relaxed) < run.at, c"TASK ABORTED came after the LUN RESET reported")?;
        ensure(response(own)?.aborted.load(Ordering::Relaxed), c"the requester's own command was not ended silently")?;
        clear_attentions();
        cleared_silently(
            c"after the LUN RESET (TAS back to its default), the other initiator's command was not ended silently",
            c"after the LUN RESET (TAS back to its default), CLEAR TASK SET did not leave 06/2F/00",
        )?;
        clear_attentions();
        ensure(mode_select_control(CONTROL_B3_DEFAULT, true)? == (GOOD, 0, 0, 0), c"MODE SELECT setting TAS again not GOOD")?;
        clear_attentions();
        let other = with_session(2, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))?;
        wait_held(1)?;
        let run = during_tmf(1, tmf::CLEAR_TASK_SET, LUN_HOLD, 0, 1, || ())?;
        ensure(run.result == tmf_result::COMPLETE, c"CLEAR TASK SET not COMPLETE")?;
        ensure(response(other)?.status.load(Ordering::Relaxed) == scsi_status::TASK_ABORTED, c"CLEAR TASK SET with TAS: no TASK ABORTED")?;
        ensure(tur(2, LUN_HOLD)?.0 == GOOD, c"with TAS, CLEAR TASK SET still raised a unit attention")
    })?;
    cleared_silently(
        c"without TAS, the other initiator's command was not ended silently",
        c"without TAS, CLEAR TASK SET did not leave 06/2F/00",
    )
}

/// PERSISTENT RESERVE OUT from session `i` at `lun` with the basic 24-byte
/// list (service action `sa`, TYPE `t`, the two keys); its record.
fn pr_out(i: usize, lun: u64, sa: u8, t: u8, key: u64, sark: u64) -> core::result::Result<&'static Record, &'static CStr> {
    pr_out_with(i, lun, sa, t, key, sark, task_attr::SIMPLE)
}

/// [`pr_out`] with the task attribute `attr`.
fn pr_out_with(i: usize, lun: u64, sa: u8, t: u8, key: u64, sark: u64, attr: u8) -> core::result::Result<&'static Record, &'static CStr> {
    let mut list = [0u8; 24];
    list[..8].copy_from_slice(&key.to_be_bytes());
    list[8..16].copy_from_slice(&sark.to_be_bytes());
    fakes::set_write_image(&list);
    let tag = with_session(i, |s| send_with(s, lun, &[0x5f, sa, t, 0, 0, 0, 0, 0, 24, 0], dir::WRITE, 24, false, attr));
    fakes::set_write_image(&[]);
    response(tag?)
}

/// PREEMPT AND ABORT (SPC-4 5.13.11.2.4) from session 1 of session 2's
/// key, on the hold device where session 2 holds an exclusive access
/// reservation, taking it over (exclusive access): session 2's READ, held
/// by the handler when the preemption arrives, is aborted (ended silently,
/// TAS being off) and released before the PERSISTENT RESERVE OUT completes
/// GOOD; session 2 is then told COMMANDS CLEARED BY ANOTHER INITIATOR and
/// REGISTRATIONS PREEMPTED, in that order, its READ conflicts with session
/// 1's reservation and its REGISTER with its old key conflicts (it is no
/// longer registered).
pub fn preempt_and_abort_ends_the_preempted_initiators_commands() -> TestResult {
    const RESERVATION_CONFLICT: u8 = scsi_status::RESERVATION_CONFLICT;
    clear_attentions();
    ensure(pr_out(2, LUN_HOLD, 0, 0, 0, 0xb)?.status.load(Ordering::Relaxed) == GOOD, c"REGISTER through session 2 not GOOD")?;
    ensure(pr_out(1, LUN_HOLD, 0, 0, 0, 0xa)?.status.load(Ordering::Relaxed) == GOOD, c"REGISTER through session 1 not GOOD")?;
    let res = (|| {
        ensure(pr_out(2, LUN_HOLD, 1, 3, 0xb, 0)?.status.load(Ordering::Relaxed) == GOOD, c"RESERVE through session 2 not GOOD")?;
        let held = with_session(2, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))?;
        wait_held(1)?;
        let hooks = fakes::HOLD_TMF_CALLS.load(Ordering::Acquire);
        let mut preempt = None;
        let out = shim::with_async(
            || preempt = Some(pr_out(1, LUN_HOLD, 5, 3, 0xa, 0xb).map(|r| (r.status.load(Ordering::Relaxed), r.stamp.load(Ordering::Relaxed)))),
            |_| {
                let marked = wait_until(|| fakes::HOLD_TMF_CALLS.load(Ordering::Acquire) > hooks);
                release_held();
                (marked, ())
            },
        );
        let (marked, _) = out.ok_or(c"no thread for the PERSISTENT RESERVE OUT")?;
        ensure(marked, c"PREEMPT AND ABORT did not abort the held READ (no task_mgmt hook call)")?;
        let (status, at) = preempt.ok_or(c"the PERSISTENT RESERVE OUT did not run")?.map_err(|_| c"PREEMPT AND ABORT got no response")?;
        ensure(status == GOOD, c"PREEMPT AND ABORT not GOOD")?;
        let r = response(held).map_err(|_| c"the preempted READ got no response")?;
        ensure(r.aborted.load(Ordering::Relaxed), c"the preempted READ was not ended silently")?;
        ensure(r.stamp.load(Ordering::Relaxed) < at, c"the preempted READ ended after PREEMPT AND ABORT completed")?;
        let first = tur(2, LUN_HOLD).map_err(|_| c"session 2's TEST UNIT READY got no response")?;
        ensure(first == (CHECK, 6, 0x2f, 0x00), c"session 2 not told COMMANDS CLEARED BY ANOTHER INITIATOR")?;
        ensure(tur(2, LUN_HOLD)? == (CHECK, 6, 0x2a, 0x05), c"session 2 not told REGISTRATIONS PREEMPTED")?;
        let read = with_session(2, |s| send(s, LUN_HOLD, &read10(2), dir::READ, 512, false))
            .and_then(response)
            .map_err(|_| c"session 2's READ got no response (no reservation conflict: the hold device took it)")?;
        ensure(read.status.load(Ordering::Relaxed) == RESERVATION_CONFLICT, c"session 2's READ under exclusive access did not conflict")?;
        let again = pr_out(2, LUN_HOLD, 0, 0, 0xb, 0xc)?;
        ensure(again.status.load(Ordering::Relaxed) == RESERVATION_CONFLICT, c"session 2 is still registered with key b")
    })();
    // Whatever happened: no registration or reservation stays for the next cases.
    release_held();
    let cleared = pr_out(1, LUN_HOLD, 3, 0, 0xa, 0).map(|r| r.status.load(Ordering::Relaxed));
    clear_attentions();
    res?;
    ensure(cleared? == GOOD, c"CLEAR through session 1 not GOOD")
}

/// READ(10) of block `lba` from session `i` at the hold device with task
/// attribute `attr`; its tag.
fn read_with(i: usize, lba: u32, attr: u8) -> core::result::Result<u64, &'static CStr> {
    with_session(i, |s| send_with(s, LUN_HOLD, &read10(lba), dir::READ, 512, false, attr))?.ok_or(c"the core refused the command")
}

/// Whether the command `tag` was answered.
fn answered(tag: u64) -> bool {
    record(tag).tag.load(Ordering::Acquire) == tag
}

/// Waits 100 ms, then says whether the hold device has exactly `n`
/// commands in hand (nothing else reached it meanwhile).
fn still_held(n: usize) -> bool {
    shim::sleep_ms(100);
    HELD.count() == n
}

/// The response to `tag` is GOOD; its position in the order of events.
fn good_at(tag: u64, what: &'static CStr) -> core::result::Result<u64, &'static CStr> {
    let r = response(Some(tag))?;
    ensure(!r.aborted.load(Ordering::Relaxed) && r.status.load(Ordering::Relaxed) == GOOD, what)?;
    Ok(r.stamp.load(Ordering::Relaxed))
}

/// The task set orders commands by their task attributes (SAM-5 8.6), over
/// both I_T nexuses of the hold device: an ORDERED READ waits for the
/// SIMPLE one ahead of it, and a SIMPLE one sent after it waits for it; a
/// HEAD OF QUEUE READ sent last reaches the device at once, and the
/// ORDERED one waits for it too. Completing them one by one lets each go
/// on in turn, all GOOD.
pub fn ordered_waits_for_earlier_commands_and_holds_later_ones() -> TestResult {
    let first = read_with(1, 1, task_attr::SIMPLE)?;
    held_io_kept(1, c"the first SIMPLE READ did not reach the hold device")?;
    let ordered = read_with(2, 2, task_attr::ORDERED)?;
    let later = read_with(1, 3, task_attr::SIMPLE)?;
    let passed_early = !still_held(1);
    let head = read_with(2, 4, task_attr::HEAD_OF_QUEUE)?;
    let head_passed = wait_until(|| HELD.count() == 2);
    // The first command went into the first slot.
    let first_io = HELD.take().ok_or(c"the held SIMPLE READ vanished")?;
    let first_lba = first_io.lba();
    first_io.complete(None);
    let waited_for_head = still_held(1);
    // Completed alone: `release_held` would also take the ORDERED READ,
    // which its completion lets through.
    let head_io = HELD.take().ok_or(c"the held HEAD OF QUEUE READ vanished")?;
    let head_lba = head_io.lba();
    head_io.complete(None);
    ensure(head_lba == 4, c"the hold device's command left was not the HEAD OF QUEUE READ")?;
    ensure(!passed_early, c"a command behind the ORDERED one, or the ORDERED one, reached the device while the first was held")?;
    ensure(head_passed, c"the HEAD OF QUEUE READ did not reach the device at once")?;
    ensure(first_lba == 1, c"the hold device's first slot did not hold the first READ")?;
    ensure(waited_for_head, c"the ORDERED READ did not wait for the HEAD OF QUEUE READ")?;
    let ordered_io = held_io(io_op::READ, 2, c"the ORDERED READ did not reach the device once the others completed")?;
    let later_waited = still_held(0);
    ordered_io.complete(None);
    ensure(later_waited, c"the SIMPLE READ sent after the ORDERED one did not wait for it")?;
    held_io(io_op::READ, 3, c"the last SIMPLE READ did not reach the device after the ORDERED one")?.complete(None);
    let at = [
        good_at(first, c"the first SIMPLE READ not GOOD")?,
        good_at(head, c"the HEAD OF QUEUE READ not GOOD")?,
        good_at(ordered, c"the ORDERED READ not GOOD")?,
        good_at(later, c"the last SIMPLE READ not GOOD")?,
    ];
    ensure(at[0] < at[2] && at[1] < at[2] && at[2] < at[3], c"the commands were not answered in task-set order")
}

/// Waits until the hold device has `n` commands in hand (leaving them
/// there).
fn held_io_kept(n: usize, what: &'static CStr) -> TestResult {
    ensure(wait_until(|| HELD.count() == n), what)
}

/// MODE SELECT(6) of the control mode page from session 1 at the hold
/// device with byte 3 (QUEUE ALGORITHM MODIFIER, QErr) as `b3` and TAS as
/// `tas`.
fn mode_select_control(b3: u8, tas: bool) -> core::result::Result<(u8, u8, u8, u8), &'static CStr> {
    let list = [0, 0, 0, 0, 0x0a, 0x0a, 0x02, b3, 0, if tas { 0x40 } else { 0 }, 0, 0, 0, 0, 0, 0];
    fakes::set_write_image(&list);
    let tag = with_session(1, |s| send(s, LUN_HOLD, &[0x15, 0x10, 0, 0, 16, 0], dir::WRITE, 16, false));
    fakes::set_write_image(&[]);
    Ok(outcome(response(tag?)?))
}

/// The control page's defaults: QUEUE ALGORITHM MODIFIER 1, QErr 0.
const CONTROL_B3_DEFAULT: u8 = 0x10;

/// Runs `body` with the hold device's control page byte 3 (QUEUE ALGORITHM
/// MODIFIER, QErr) as `b3` and TAS as `tas`, no unit attention pending;
/// then, whatever `body` returned, completes what the device holds, puts
/// the defaults back and clears the unit attentions of the changes.
fn with_control(b3: u8, tas: bool, body: impl FnOnce() -> TestResult) -> TestResult {
    ensure(mode_select_control(b3, tas)? == (GOOD, 0, 0, 0), c"MODE SELECT of the control page not GOOD")?;
    clear_attentions();
    let res = body();
    release_held();
    // A unit attention `body` left (a reset's) would end the MODE SELECT.
    clear_attentions();
    let back = mode_select_control(CONTROL_B3_DEFAULT, false);
    clear_attentions();
    res?;
    ensure(back? == (GOOD, 0, 0, 0), c"MODE SELECT putting the control page's defaults back not GOOD")
}

/// The ACA attribute while no ACA condition is established and a code
/// that is no attribute end with CHECK CONDITION, ILLEGAL REQUEST, INVALID
/// MESSAGE ERROR (05/49/00), reaching no handler. With the QUEUE ALGORITHM
/// MODIFIER at 0 (restricted reordering) a SIMPLE READ waits for the one
/// ahead of it, as an ORDERED one would; back at 1 it does not.
pub fn aca_attribute_is_refused_and_restricted_reordering_orders_simple_commands() -> TestResult {
    for attr in [task_attr::ACA, 3] {
        let r = response(with_session(1, |s| send_with(s, LUN_HOLD, &read10(1), dir::READ, 512, false, attr))?)?;
        ensure(outcome(r) == (CHECK, 5, 0x49, 0x00), c"a task attribute refused without 05/49/00")?;
        ensure(HELD.count() == 0, c"a refused task attribute reached the hold device")?;
    }
    with_control(0x00, false, || {
        let first = read_with(1, 1, task_attr::SIMPLE)?;
        held_io_kept(1, c"the first READ did not reach the hold device")?;
        let second = read_with(2, 2, task_attr::SIMPLE)?;
        let waited = still_held(1);
        // Completed alone: `release_held` would also take the second READ.
        HELD.take().ok_or(c"the first READ vanished")?.complete(None);
        ensure(waited, c"under restricted reordering a SIMPLE READ did not wait for the one ahead")?;
        held_io(io_op::READ, 2, c"the second READ did not go on")?.complete(None);
        good_at(first, c"the first READ not GOOD")?;
        good_at(second, c"the second READ not GOOD")?;
        Ok(())
    })?;
    let first = read_with(1, 1, task_attr::SIMPLE)?;
    let second = read_with(2, 2, task_attr::SIMPLE)?;
    let both = wait_until(|| HELD.count() == 2);
    release_held();
    ensure(both, c"under unrestricted reordering two SIMPLE READs did not run together")?;
    good_at(first, c"the first READ not GOOD")?;
    good_at(second, c"the second READ not GOOD").map(|_| ())
}

/// A READ from session `i` that the hold device, with two commands in hand
/// already, fails with MEDIUM ERROR, UNRECOVERED READ ERROR (03/11/00);
/// its outcome.
fn failing_read(i: usize) -> core::result::Result<(u8, u8, u8, u8), &'static CStr> {
    let tag = read_with(i, 3, task_attr::SIMPLE)?;
    held_io_kept(3, c"the third READ did not reach the hold device")?;
    // The newest command is in the last occupied slot.
    let io = HELD.take_last().ok_or(c"the third READ vanished")?;
    let lba = io.lba();
    io.complete(Some((0x03, 0x11, 0x00)));
    ensure(lba == 3, c"the hold device's last slot did not hold the third READ")?;
    Ok(outcome(response(Some(tag))?))
}

/// QErr (SPC-4 7.5.8). At 01b, a CHECK CONDITION (a READ failed by the
/// device) of session 1 aborts the commands of both sessions the hold
/// device has in hand: session 1's silently, session 2's silently too (TAS
/// off), with COMMANDS CLEARED BY ANOTHER INITIATOR for session 2 only. At
/// 11b only session 1's command is aborted; session 2's completes GOOD and
/// it gets no unit attention. A command refused while parsed (a READ
/// beyond the capacity, 05/21/00) never entered the task set, and aborts
/// nothing.
pub fn qerr_aborts_the_task_set_on_check_condition() -> TestResult {
    with_control(CONTROL_B3_DEFAULT | 0x02, false, || {
        let own = read_with(1, 1, task_attr::SIMPLE)?;
        let other = read_with(2, 2, task_attr::SIMPLE)?;
        held_io_kept(2, c"the two READs did not reach the hold device")?;
        let beyond = outcome(response(with_session(1, |s| send(s, LUN_HOLD, &read10(4096), dir::READ, 512, false))?)?);
        let untouched = !answered(own) && !answered(other);
        let failed = failing_read(1)?;
        release_held();
        ensure(beyond == (CHECK, 5, 0x21, 0x00), c"the READ beyond the capacity did not fail with 05/21/00")?;
        ensure(untouched, c"QErr 01b: a CDB refused while parsed aborted commands")?;
        ensure(failed == (CHECK, 3, 0x11, 0x00), c"the failed READ did not end with 03/11/00")?;
        ensure(response(Some(own))?.aborted.load(Ordering::Relaxed), c"QErr 01b: the faulted nexus's other READ was not aborted")?;
        ensure(response(Some(other))?.aborted.load(Ordering::Relaxed), c"QErr 01b: the other nexus's READ was not aborted")?;
        ensure(tur(2, LUN_HOLD)? == (CHECK, 6, 0x2f, 0x00), c"QErr 01b: the other nexus was not told 06/2F/00")?;
        ensure(tur(1, LUN_HOLD)?.0 == GOOD, c"QErr 01b: the faulted nexus got a unit attention")?;
        ensure(mode_select_control(CONTROL_B3_DEFAULT | 0x06, false)? == (GOOD, 0, 0, 0), c"MODE SELECT of QErr 11b not GOOD")?;
        clear_attentions();
        let own = read_with(1, 1, task_attr::SIMPLE)?;
        let other = read_with(2, 2, task_attr::SIMPLE)?;
        held_io_kept(2, c"the two READs did not reach the hold device")?;
        let failed = failing_read(1)?;
        release_held();
        ensure(failed == (CHECK, 3, 0x11, 0x00), c"the failed READ did not end with 03/11/00")?;
        ensure(response(Some(own))?.aborted.load(Ordering::Relaxed), c"QErr 11b: the faulted nexus's other READ was not aborted")?;
        good_at(other, c"QErr 11b: the other nexus's READ was not left to complete GOOD")?;
        ensure(tur(2, LUN_HOLD)?.0 == GOOD, c"QErr 11b: the other nexus got a unit attention")
    })
}

/// An ABORT TASK SET does not wait for the commands ahead of those it
/// aborts in the task set: session 2's ORDERED READ, queued behind session
/// 1's SIMPLE READ that the hold device keeps, is aborted and released at
/// once, and the TMF completes while session 1's READ is still held (it
/// then completes GOOD).
pub fn abort_task_set_answers_commands_queued_in_the_task_set_at_once() -> TestResult {
    let first = read_with(1, 1, task_attr::SIMPLE)?;
    held_io_kept(1, c"the SIMPLE READ did not reach the hold device")?;
    let ordered = read_with(2, 2, task_attr::ORDERED)?;
    let two = session(2)?;
    let mut result = -1;
    let out = shim::with_async(
        || result = two.task_mgmt_wait(tmf::ABORT_TASK_SET, LUN_HOLD, 0),
        |job| {
            let done = wait_until(|| job.done());
            let first_held = HELD.count() == 1 && !answered(first);
            release_held();
            (done, first_held)
        },
    );
    let (done, first_held) = out.ok_or(c"no thread for the TMF")?;
    ensure(done, c"ABORT TASK SET waited for the command ahead of the one it aborted")?;
    ensure(first_held, c"the first READ was not in hand while the TMF completed")?;
    ensure(result == tmf_result::COMPLETE, c"ABORT TASK SET not COMPLETE")?;
    ensure(response(Some(ordered))?.aborted.load(Ordering::Relaxed), c"the queued ORDERED READ was not aborted")?;
    good_at(first, c"the first READ not GOOD").map(|_| ())
}

/// TAS for TARGET RESET: with TAS set on the hold device, a TARGET RESET
/// from session 1 ends session 2's held READ with TASK ABORTED status
/// (answered, before the reset reports) and session 1's own silently.
pub fn target_reset_answers_task_aborted_where_tas_is_set() -> TestResult {
    with_control(CONTROL_B3_DEFAULT, true, || {
        let own = read_with(1, 1, task_attr::SIMPLE)?;
        let other = read_with(2, 2, task_attr::SIMPLE)?;
        held_io_kept(2, c"the two READs did not reach the hold device")?;
        let run = during_tmf(1, tmf::TARGET_RESET, 0, 0, 2, || ())?;
        ensure(run.result == tmf_result::COMPLETE, c"TARGET RESET not COMPLETE")?;
        let o = response(Some(other))?;
        ensure(!o.aborted.load(Ordering::Relaxed), c"with TAS, the other initiator's command was not answered")?;
        ensure(o.status.load(Ordering::Relaxed) == scsi_status::TASK_ABORTED, c"with TAS, the other initiator's command did not get TASK ABORTED")?;
        ensure(o.stamp.load(Ordering::Relaxed) < run.at, c"TASK ABORTED came after the TARGET RESET reported")?;
        ensure(response(Some(own))?.aborted.load(Ordering::Relaxed), c"the requester's own command was not ended silently")
    })
}

/// The deadlock `Gate::release_aborted` prevents: session 2 holds an
/// exclusive access reservation and has a READ in the hold device's hands
/// and an ORDERED READ queued behind it; session 1's PREEMPT AND ABORT of
/// session 2's key, sent HEAD OF QUEUE, passes at once and aborts both.
/// The ORDERED READ, which would wait for the PREEMPT AND ABORT's head
/// pass while that waits for it, is answered at once (silently, before the
/// held READ is released); the PERSISTENT RESERVE OUT completes GOOD once
/// the held READ is released too.
pub fn preempt_and_abort_at_the_head_of_the_queue_ends_what_is_queued_behind() -> TestResult {
    clear_attentions();
    ensure(pr_out(2, LUN_HOLD, 0, 0, 0, 0xb)?.status.load(Ordering::Relaxed) == GOOD, c"REGISTER through session 2 not GOOD")?;
    ensure(pr_out(1, LUN_HOLD, 0, 0, 0, 0xa)?.status.load(Ordering::Relaxed) == GOOD, c"REGISTER through session 1 not GOOD")?;
    let res = (|| {
        ensure(pr_out(2, LUN_HOLD, 1, 3, 0xb, 0)?.status.load(Ordering::Relaxed) == GOOD, c"RESERVE through session 2 not GOOD")?;
        let held = read_with(2, 2, task_attr::SIMPLE)?;
        held_io_kept(1, c"session 2's READ did not reach the hold device")?;
        let queued = read_with(2, 3, task_attr::ORDERED)?;
        let hooks = fakes::HOLD_TMF_CALLS.load(Ordering::Acquire);
        let mut preempt = None;
        let out = shim::with_async(
            || preempt = Some(pr_out_with(1, LUN_HOLD, 5, 3, 0xa, 0xb, task_attr::HEAD_OF_QUEUE).map(|r| r.status.load(Ordering::Relaxed))),
            |_| {
                let marked = wait_until(|| fakes::HOLD_TMF_CALLS.load(Ordering::Acquire) > hooks);
                let queued_answered = wait_until(|| answered(queued));
                let held_waiting = !answered(held);
                release_held();
                (marked, queued_answered, held_waiting)
            },
        );
        let (marked, queued_answered, held_waiting) = out.ok_or(c"no thread for the PERSISTENT RESERVE OUT")?;
        ensure(marked, c"PREEMPT AND ABORT did not abort the held READ (no task_mgmt hook call)")?;
        ensure(queued_answered, c"the ORDERED READ queued behind the held one was not answered while that one was held")?;
        ensure(held_waiting, c"the held READ was answered before it was released")?;
        ensure(response(Some(queued))?.aborted.load(Ordering::Relaxed), c"the queued ORDERED READ was not ended silently")?;
        ensure(response(Some(held))?.aborted.load(Ordering::Relaxed), c"the held READ was not ended silently")?;
        let status = preempt.ok_or(c"the PERSISTENT RESERVE OUT did not run")?.map_err(|_| c"PREEMPT AND ABORT got no response")?;
        ensure(status == GOOD, c"PREEMPT AND ABORT not GOOD")
    })();
    release_held();
    let cleared = pr_out(1, LUN_HOLD, 3, 0, 0xa, 0).map(|r| r.status.load(Ordering::Relaxed));
    clear_attentions();
    res?;
    ensure(cleared? == GOOD, c"CLEAR through session 1 not GOOD")
}

/// READ(10) of block `lba` with NACA set in its CONTROL byte.
fn read10_naca(lba: u32) -> [u8; 10] {
    let mut c = read10(lba);
    c[9] = 0x04;
    c
}

/// TEST UNIT READY with NACA set.
const TEST_UNIT_READY_NACA: [u8; 6] = [0, 0, 0, 0, 0, 0x04];

/// The status of `cdb` (no data) from session `i` at the hold device with
/// task attribute `attr`.
fn status_with(i: usize, cdb: &[u8], attr: u8) -> core::result::Result<u8, &'static CStr> {
    Ok(response(with_session(i, |s| send_with(s, LUN_HOLD, cdb, dir::NONE, 0, false, attr))?)?.status.load(Ordering::Relaxed))
}

/// Session 1's READ with NACA set, failed by the hold device (03/11/00),
/// establishes an ACA condition for session 1's nexus.
fn establish_aca() -> TestResult {
    let tag = with_session(1, |s| send(s, LUN_HOLD, &read10_naca(1), dir::READ, 512, false))?.ok_or(c"the core refused the READ with NACA")?;
    held_io_kept(1, c"the READ with NACA did not reach the hold device")?;
    HELD.take().ok_or(c"the READ with NACA vanished")?.complete(Some((0x03, 0x11, 0x00)));
    ensure(outcome(response(Some(tag))?) == (CHECK, 3, 0x11, 0x00), c"the READ with NACA did not end with 03/11/00")
}

/// ACA (SAM-5 5.9). Once session 1's READ with NACA set ends with CHECK
/// CONDITION: session 1's SIMPLE TEST UNIT READY gets ACA ACTIVE, session
/// 2's BUSY (ACA ACTIVE with NACA set, or with the ACA attribute); session
/// 1's ACA command runs (a READ the device holds), a second one meanwhile
/// gets ACA ACTIVE, the next one after it GOOD. CLEAR ACA from session 2 is
/// rejected, from session 1 it completes, and both sessions' commands are
/// GOOD again, an ACA command refused (05/49/00). A LOGICAL UNIT RESET
/// clears a condition too (the next command gets its 06/29/03); CLEAR ACA
/// with no condition completes.
pub fn aca_condition_admits_only_the_faulted_nexus_aca_command_until_clear_aca() -> TestResult {
    use scsi_status::{ACA_ACTIVE, BUSY};
    clear_attentions();
    let (one, two) = (session(1)?, session(2)?);
    let res = (|| {
        establish_aca()?;
        ensure(status_with(1, &TEST_UNIT_READY, task_attr::SIMPLE)? == ACA_ACTIVE, c"the faulted nexus's SIMPLE command did not get ACA ACTIVE")?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == BUSY, c"another nexus's command did not get BUSY")?;
        ensure(status_with(2, &TEST_UNIT_READY_NACA, task_attr::SIMPLE)? == ACA_ACTIVE, c"another nexus's command with NACA did not get ACA ACTIVE")?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::ACA)? == ACA_ACTIVE, c"another nexus's ACA command did not get ACA ACTIVE")?;
        let aca_read = read_with(1, 2, task_attr::ACA)?;
        held_io_kept(1, c"the faulted nexus's ACA READ did not reach the hold device")?;
        let second = status_with(1, &TEST_UNIT_READY, task_attr::ACA)?;
        release_held();
        ensure(second == ACA_ACTIVE, c"a second ACA command while one ran did not get ACA ACTIVE")?;
        good_at(aca_read, c"the ACA READ not GOOD")?;
        ensure(status_with(1, &TEST_UNIT_READY, task_attr::ACA)? == GOOD, c"the next ACA command not GOOD")?;
        ensure(two.task_mgmt_wait(tmf::CLEAR_ACA, LUN_HOLD, 0) == tmf_result::REJECTED, c"CLEAR ACA from another nexus not REJECTED")?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == BUSY, c"a rejected CLEAR ACA cleared the condition")?;
        ensure(one.task_mgmt_wait(tmf::CLEAR_ACA, LUN_HOLD, 0) == tmf_result::COMPLETE, c"CLEAR ACA from the faulted nexus not COMPLETE")?;
        ensure(status_with(1, &TEST_UNIT_READY, task_attr::SIMPLE)? == GOOD, c"after CLEAR ACA the faulted nexus's command not GOOD")?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == GOOD, c"after CLEAR ACA another nexus's command not GOOD")?;
        let refused = response(with_session(1, |s| send_with(s, LUN_HOLD, &TEST_UNIT_READY, dir::NONE, 0, false, task_attr::ACA))?)?;
        ensure(outcome(refused) == (CHECK, 5, 0x49, 0x00), c"an ACA command without a condition not refused with 05/49/00")?;
        establish_aca()?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == BUSY, c"the second condition was not established")?;
        ensure(two.task_mgmt_wait(tmf::LUN_RESET, LUN_HOLD, 0) == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")?;
        ensure(tur(1, LUN_HOLD)? == (CHECK, 6, 0x29, 0x03), c"after a LUN RESET the faulted nexus did not get 06/29/03")?;
        ensure(tur(1, LUN_HOLD)?.0 == GOOD, c"a LUN RESET left the ACA condition")?;
        ensure(one.task_mgmt_wait(tmf::CLEAR_ACA, LUN_HOLD, 0) == tmf_result::COMPLETE, c"CLEAR ACA with no condition not COMPLETE")
    })();
    // Whatever happened: no condition stays for the next cases (cleared
    // first: it would block what the device lets go).
    let _ = one.task_mgmt_wait(tmf::CLEAR_ACA, LUN_HOLD, 0);
    release_held();
    clear_attentions();
    res
}

/// INQUIRY with CMDDT set (refused: 05/24/00) and NACA set.
const INQUIRY_CMDDT_NACA: [u8; 6] = [0x12, 0x02, 0, 0, 36, 0x04];

/// Session 2's SIMPLE READ of `lba`, held by the device, and its ORDERED
/// READ of `lba + 1` queued behind it; then session 1's INQUIRY with CMDDT
/// and NACA ends with 05/24/00 (an ACA condition for session 1) and the
/// SIMPLE READ completes GOOD. The ORDERED READ must stay blocked by the
/// condition: not at the device, unanswered, 100 ms later. Its tag.
fn blocked_by_aca(lba: u32) -> core::result::Result<u64, &'static CStr> {
    let simple = read_with(2, lba, task_attr::SIMPLE)?;
    held_io_kept(1, c"the SIMPLE READ did not reach the hold device")?;
    let ordered = read_with(2, lba + 1, task_attr::ORDERED)?;
    let inquiry = response(with_session(1, |s| send(s, LUN_HOLD, &INQUIRY_CMDDT_NACA, dir::READ, 36, false))?)?;
    ensure(outcome(inquiry) == (CHECK, 5, 0x24, 0x00), c"the INQUIRY with CMDDT and NACA did not end with 05/24/00")?;
    HELD.take().ok_or(c"the SIMPLE READ vanished")?.complete(None);
    good_at(simple, c"the SIMPLE READ held before the condition not GOOD")?;
    ensure(still_held(0) && !answered(ordered), c"the ORDERED READ queued before the condition was not blocked by it")?;
    Ok(ordered)
}

/// An ACA condition blocks the commands queued in the task set before it
/// was established (SAM-5 5.9.2) until it ends ([`blocked_by_aca`]): while
/// session 1's ACA TEST UNIT READY runs GOOD the blocked READ stays; CLEAR
/// ACA lets it go on (GOOD), and so does an I_T NEXUS RESET of the faulted
/// nexus. CLEAR ACA aborts the ACA command in progress (a held READ) and
/// reports after it is released. An ACA command's CHECK CONDITION without
/// NACA ends the condition, and so does another nexus's PREEMPT AND ABORT
/// of the faulted one, which the condition lets run (session 2's commands
/// GOOD again after each).
pub fn aca_condition_blocks_the_task_set_until_clear_aca_reset_or_preemption() -> TestResult {
    use scsi_status::BUSY;
    clear_attentions();
    let one = session(1)?;
    let res = (|| {
        let blocked = blocked_by_aca(3)?;
        ensure(status_with(1, &TEST_UNIT_READY, task_attr::ACA)? == GOOD, c"the ACA TEST UNIT READY not GOOD while a command was blocked")?;
        ensure(still_held(0) && !answered(blocked), c"the blocked READ went on after the ACA command")?;
        ensure(one.task_mgmt_wait(tmf::CLEAR_ACA, LUN_HOLD, 0) == tmf_result::COMPLETE, c"CLEAR ACA not COMPLETE")?;
        held_io(io_op::READ, 4, c"the blocked ORDERED READ did not go on after CLEAR ACA")?.complete(None);
        good_at(blocked, c"the ORDERED READ blocked until CLEAR ACA not GOOD")?;

        establish_aca()?;
        let aca_read = read_with(1, 5, task_attr::ACA)?;
        held_io_kept(1, c"the ACA READ did not reach the hold device")?;
        let run = during_tmf(1, tmf::CLEAR_ACA, LUN_HOLD, 0, 1, || ())?;
        ensure(run.waited, c"CLEAR ACA returned while the ACA command was held")?;
        ensure(run.result == tmf_result::COMPLETE, c"CLEAR ACA with an ACA command in progress not COMPLETE")?;
        let r = response(Some(aca_read))?;
        ensure(r.aborted.load(Ordering::Relaxed), c"CLEAR ACA did not abort the ACA command in progress")?;
        ensure(r.stamp.load(Ordering::Relaxed) < run.at, c"CLEAR ACA reported before its aborted ACA command was released")?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == GOOD, c"CLEAR ACA left the condition")?;

        establish_aca()?;
        let failing = read_with(1, 6, task_attr::ACA)?;
        held_io_kept(1, c"the failing ACA READ did not reach the hold device")?;
        HELD.take().ok_or(c"the failing ACA READ vanished")?.complete(Some((0x03, 0x11, 0x00)));
        ensure(outcome(response(Some(failing))?) == (CHECK, 3, 0x11, 0x00), c"the failing ACA READ did not end with 03/11/00")?;
        ensure(
            status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == GOOD,
            c"an ACA command's CHECK CONDITION without NACA left the condition",
        )?;

        let blocked = blocked_by_aca(7)?;
        ensure(one.task_mgmt_wait(tmf::NEXUS_LOSS, LUN_HOLD, 0) == tmf_result::COMPLETE, c"I_T NEXUS RESET not COMPLETE")?;
        held_io(io_op::READ, 8, c"the blocked ORDERED READ did not go on after the I_T NEXUS RESET")?.complete(None);
        good_at(blocked, c"the ORDERED READ blocked until the I_T NEXUS RESET not GOOD")?;
        ensure(
            status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == GOOD,
            c"an I_T NEXUS RESET of the faulted nexus left the condition",
        )?;

        clear_attentions();
        ensure(pr_out(1, LUN_HOLD, 0, 0, 0, 0xa)?.status.load(Ordering::Relaxed) == GOOD, c"REGISTER through session 1 not GOOD")?;
        ensure(pr_out(2, LUN_HOLD, 0, 0, 0, 0xb)?.status.load(Ordering::Relaxed) == GOOD, c"REGISTER through session 2 not GOOD")?;
        establish_aca()?;
        ensure(status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == BUSY, c"the condition before the PREEMPT AND ABORT was not established")?;
        let preempt = pr_out(2, LUN_HOLD, 5, 3, 0xb, 0xa)?.status.load(Ordering::Relaxed);
        ensure(preempt == GOOD, c"session 2's PREEMPT AND ABORT of the faulted nexus under the condition not GOOD")?;
        ensure(
            status_with(2, &TEST_UNIT_READY, task_attr::SIMPLE)? == GOOD,
            c"a PREEMPT AND ABORT of the faulted nexus left the condition",
        )
    })();
    // Whatever happened: no condition, held command or registration stays
    // for the next cases (the condition first: it would block what the
    // device lets go).
    let _ = one.task_mgmt_wait(tmf::CLEAR_ACA, LUN_HOLD, 0);
    release_held();
    clear_attentions();
    let _ = pr_out(2, LUN_HOLD, 3, 0, 0xb, 0);
    let _ = pr_out(1, LUN_HOLD, 3, 0, 0xa, 0);
    clear_attentions();
    res
}

/// The fabric hears of each unit attention established for its sessions
/// (`ua_raised`, which iSCSI and SRP turn into asynchronous events): a
/// LOGICAL UNIT RESET from session 2 at the hold device raises 29/03 on
/// every nexus of the unit, the other target's session too, and each is
/// told once per condition, at that LUN; a TEST UNIT READY that reports the
/// condition tells nobody.
pub fn the_fabric_is_told_of_each_unit_attention_raised() -> TestResult {
    clear_attentions();
    let before: [u32; 4] = core::array::from_fn(|i| fakes::UA_RAISED[i].load(Ordering::Acquire));
    let two = session(2)?;
    ensure(two.task_mgmt_wait(tmf::LUN_RESET, LUN_HOLD, 0) == tmf_result::COMPLETE, c"LUN RESET not COMPLETE")?;
    let after: [u32; 4] = core::array::from_fn(|i| fakes::UA_RAISED[i].load(Ordering::Acquire));
    let res = (|| {
        for id in 1..=3 {
            ensure(after[id] == before[id] + 1, c"a session was not told once of the LUN RESET's unit attention")?;
            ensure(fakes::UA_RAISED_LUN[id].load(Ordering::Relaxed) == LUN_HOLD, c"the fabric was told of another LUN")?;
        }
        ensure(tur(2, LUN_HOLD)? == (CHECK, 6, 0x29, 0x03), c"session 2 did not get the 06/29/03 it was told of")?;
        ensure(fakes::UA_RAISED[3].load(Ordering::Acquire) == after[3], c"reporting the condition told the fabric again")
    })();
    clear_attentions();
    res
}
