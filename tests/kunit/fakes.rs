// SPDX-License-Identifier: GPL-2.0
//! The fake fabric and handlers, and what they record.
//!
//! Every command gets a fresh tag (its `fabric_priv` too); `xmit_response`
//! records, per tag, the context it ran in, whether it ran inside the
//! fabric's own `rscst_cmd_start` call, the status, the aborted flag and the
//! first bytes of the data, then releases the command. Records are atomics
//! in a ring of slots, since `xmit_response` may run in softirq.

use crate::abi::{fabric_flags, handler_flags, io_op, FabricOps, HandlerOps};
use crate::sys::adapter::{handler_ops, with_task_mgmt, DevHandler, Geometry, MsgOut};
use crate::sys::client::{FabricCmd, IoCmd, OpsCell, SessionHandle, TargetHandle};
use crate::sys::fabric_ops::{fabric_ops, FabricDriver};
use crate::sys::shim::{self, CmdSlots, Fire, SgBuf};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use kernel::prelude::*;
use crate::sys::global::Global;
use kernel::new_mutex;
use kernel::sync::{Arc, Mutex};

/// Record slots (tags are reused modulo this).
const SLOTS: usize = 64;

/// What `xmit_response` saw for one command.
pub struct Record {
    /// The tag recorded last (0: none yet).
    pub tag: AtomicU64,
    /// `shim::context()` in `xmit_response`.
    pub ctx: AtomicU8,
    /// Ran inside the fabric's own `rscst_cmd_start` call.
    pub inside_start: AtomicBool,
    /// SCSI status.
    pub status: AtomicU8,
    /// The aborted flag.
    pub aborted: AtomicBool,
    /// First four data bytes (little endian), for data-in commands.
    pub head: AtomicU32,
    /// The whole data buffer was zero.
    pub all_zero: AtomicBool,
    /// Position in the global order of events ([`stamp`]), taken before
    /// the command was released.
    pub stamp: AtomicU64,
    /// The command's scatterlist (which buffer it had).
    pub sg: AtomicUsize,
}

impl Record {
    const fn new() -> Self {
        Record {
            tag: AtomicU64::new(0),
            ctx: AtomicU8::new(0),
            inside_start: AtomicBool::new(false),
            status: AtomicU8::new(0),
            aborted: AtomicBool::new(false),
            head: AtomicU32::new(0),
            all_zero: AtomicBool::new(false),
            stamp: AtomicU64::new(0),
            sg: AtomicUsize::new(0),
        }
    }
}

/// Per-tag records.
pub static RECORDS: [Record; SLOTS] = [const { Record::new() }; SLOTS];
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);
static ORDER: AtomicU64 = AtomicU64::new(1);
/// The task inside `rscst_cmd_start` (0: none).
pub static STARTING: AtomicUsize = AtomicUsize::new(0);
/// The byte `rdy_to_xfer` fills write data with.
pub static WRITE_BYTE: AtomicU8 = AtomicU8::new(0);
/// `shim::context()` of the last `rdy_to_xfer`.
pub static RDY_CTX: AtomicU8 = AtomicU8::new(0xff);
/// The scatterlist the last `rdy_to_xfer` filled.
pub static RDY_SG: AtomicUsize = AtomicUsize::new(0);

/// A new tag.
pub fn new_tag() -> u64 {
    NEXT_TAG.fetch_add(1, Ordering::Relaxed)
}

/// The next position in the global order of events.
pub fn stamp() -> u64 {
    ORDER.fetch_add(1, Ordering::AcqRel)
}

/// The record slot of `tag`.
pub fn record(tag: u64) -> &'static Record {
    &RECORDS[(tag as usize) % SLOTS]
}

/// A fake target (its handle is kept in [`State`]).
pub struct KTarget;

/// The module's state.
#[pin_data]
pub struct State {
    /// The two targets the suite creates (`ks` on kunit_strict, `ko` on
    /// kunit_open).
    #[pin]
    targets: Mutex<[Option<TargetHandle>; 2]>,
    /// The suite's sessions, with the target they are on (`ko`: true).
    #[pin]
    sessions: Mutex<KVec<Option<(bool, Arc<SessionHandle>)>>>,
    /// The `hardirq` device's completion timer.
    irq_timer: shim::Later<IrqCompleter>,
}

/// The module's state, set at init.
pub static STATE: Global<State> = Global::new();

impl State {
    /// The state of a freshly loaded module.
    pub fn new() -> Result<Arc<State>> {
        let irq_timer = shim::Later::new(&IRQ_COMPLETER)?;
        Arc::pin_init(
            pin_init!(State {
                targets <- new_mutex!([None, None]),
                sessions <- new_mutex!(KVec::new()),
                irq_timer,
            }),
            GFP_KERNEL,
        )
    }
}

/// A fake fabric; `OPEN` selects the template that allows everything.
pub struct Fake<const OPEN: bool>;

impl<const OPEN: bool> FabricDriver for Fake<OPEN> {
    type Target = KTarget;

    fn add_target(tgt: TargetHandle, _name: &str, _params: &str) -> Result<Arc<KTarget>> {
        set_target(OPEN, Some(tgt));
        Ok(Arc::new(KTarget, GFP_KERNEL)?)
    }

    fn del_target(_tgt: Arc<KTarget>) {
        // A fabric unregisters a target's sessions before it goes.
        drop_sessions(Some(OPEN));
        set_target(OPEN, None);
    }

    fn mgmt(_line: &str, _msg: &mut MsgOut<'_>) -> Result {
        Err(EINVAL)
    }

    fn rdy_to_xfer(mut cmd: FabricCmd) {
        RDY_CTX.store(shim::context(), Ordering::Release);
        RDY_SG.store(cmd.sg().0 as usize, Ordering::Release);
        // Atomic allocations: the fakes may be called in any context.
        let ok = match SgBuf::new(cmd.data_len() as usize, true) {
            Ok(mut b) => {
                b.fill(WRITE_BYTE.load(Ordering::Acquire));
                b.copy_into_cmd(&mut cmd) == cmd.data_len() as usize
            }
            Err(_) => false,
        };
        cmd.rx_data_done(ok);
    }

    fn xmit_response(cmd: FabricCmd) {
        let tag = cmd.priv_() as u64;
        let r = record(tag);
        let ctx = shim::context();
        r.ctx.store(ctx, Ordering::Relaxed);
        r.inside_start.store(STARTING.load(Ordering::Acquire) == shim::current_task(), Ordering::Relaxed);
        r.status.store(cmd.status(), Ordering::Relaxed);
        r.aborted.store(cmd.aborted(), Ordering::Relaxed);
        let (mut head, mut zero) = (0, true);
        let len = (cmd.data_len() as usize).min(4096);
        if len >= 4 && !cmd.aborted() {
            if let Ok(mut b) = SgBuf::new(len, true) {
                b.copy_from_cmd(&cmd);
                let d = b.bytes();
                head = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                zero = d.iter().all(|x| *x == 0);
            }
        }
        r.head.store(head, Ordering::Relaxed);
        r.all_zero.store(zero, Ordering::Relaxed);
        r.sg.store(cmd.sg().0 as usize, Ordering::Relaxed);
        // Stamped before the release: a TMF waiting for this command may
        // report as soon as it is released, and must come later in order.
        r.stamp.store(stamp(), Ordering::Relaxed);
        cmd.tx_done();
        r.tag.store(tag, Ordering::Release);
    }

    fn lun_changed(_tgt: &KTarget, _session: usize, _lun: u64, _added: bool) {}
}

fn set_target(open: bool, h: Option<TargetHandle>) {
    if let Some(st) = STATE.get() {
        st.targets.lock()[usize::from(open)] = h;
    }
}

/// Keeps a session of the suite, on `ko` (`open`) or `ks`.
pub fn add_session(open: bool, h: SessionHandle) -> Result {
    let st = STATE.get().ok_or(ENODEV)?;
    let h = Arc::new(h, GFP_KERNEL)?;
    st.sessions.lock().push(Some((open, h)), GFP_KERNEL)?;
    Ok(())
}

/// Session `i` of the suite.
pub fn session(i: usize) -> Option<Arc<SessionHandle>> {
    STATE.get().and_then(|st| st.sessions.lock().get(i).and_then(|e| e.as_ref()).map(|(_, s)| s.clone()))
}

/// Unregisters the suite's sessions (of one target, or all).
pub fn drop_sessions(open: Option<bool>) {
    let Some(st) = STATE.get() else { return };
    loop {
        // One at a time, unregistered outside the lock.
        let next = {
            let mut list = st.sessions.lock();
            let slot = list.iter_mut().find(|e| e.as_ref().is_some_and(|(o, _)| open.is_none_or(|want| *o == want)));
            let Some(slot) = slot else { break };
            slot.take()
        };
        drop(next);
    }
}


/// The target handle of `ks` (false) or `ko` (true).
pub fn target(open: bool) -> Option<TargetHandle> {
    STATE.get().and_then(|st| st.targets.lock()[usize::from(open)])
}

const HELP: &core::ffi::CStr = c"(kunit fake fabric: no driver commands)\n";

/// The fabric that allows nothing: every callback from a thread, outside
/// its own calls.
pub static STRICT_OPS: OpsCell<FabricOps> = OpsCell(fabric_ops::<Fake<false>>(c"kunit_strict", 0, HELP));

/// The fabric that allows callbacks in atomic context and re-entry.
pub static OPEN_OPS: OpsCell<FabricOps> = OpsCell(fabric_ops::<Fake<true>>(
    c"kunit_open",
    fabric_flags::XMIT_ATOMIC | fabric_flags::RDY_TO_XFER_ATOMIC | fabric_flags::REENTRANT,
    HELP,
));

/// How a fake device answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Completes inside `exec`, READ data `0x5a` bytes.
    Inline,
    /// Completes from a hard IRQ timer 2 ms after `exec` returned.
    Hardirq,
    /// Keeps the command in [`HELD`] until a test completes it.
    Hold,
    /// Completes inside `exec` without writing READ data.
    NoFill,
}

/// A fake device.
pub struct KDev {
    mode: Mode,
}

/// Commands the `hold` device keeps.
pub static HELD: CmdSlots<64> = CmdSlots::new();
/// The command the `hardirq` device completes next.
static IRQ_PENDING: CmdSlots<1> = CmdSlots::new();
/// `shim::context()` of the last `exec`, and its task.
pub static EXEC_CTX: AtomicU8 = AtomicU8::new(0xff);
/// The task of the last `exec`.
pub static EXEC_TASK: AtomicUsize = AtomicUsize::new(0);
/// Set while the `hardirq` device's `exec` runs.
static IRQ_EXEC_RUNNING: AtomicBool = AtomicBool::new(false);
/// Hard-IRQ completions that came while their `exec` still ran (then the
/// core continues the command in the `exec` call, not from the IRQ).
pub static IRQ_DURING_EXEC: AtomicU32 = AtomicU32::new(0);
/// Hard-IRQ completions done.
pub static IRQ_DONE: AtomicU32 = AtomicU32::new(0);
/// Calls of the `task_mgmt` hook for the `hold` device: one per session in
/// which a TMF marked commands (the core calls it right after marking).
pub static HOLD_TMF_CALLS: AtomicU32 = AtomicU32::new(0);

/// Completes the pending command of the `hardirq` device.
pub struct IrqCompleter;

impl Fire for IrqCompleter {
    fn fire(&self) {
        if let Some(cmd) = IRQ_PENDING.take() {
            if IRQ_EXEC_RUNNING.load(Ordering::Acquire) {
                IRQ_DURING_EXEC.fetch_add(1, Ordering::Relaxed);
            }
            if shim::context() == 2 {
                IRQ_DONE.fetch_add(1, Ordering::Release);
            }
            cmd.complete(None);
        }
    }
}

/// The completer's instance.
pub static IRQ_COMPLETER: IrqCompleter = IrqCompleter;

/// A fake handler; `ATOMIC` selects the template with `EXEC_ATOMIC`.
pub struct FakeDev<const ATOMIC: bool>;

impl<const ATOMIC: bool> DevHandler for FakeDev<ATOMIC> {
    type Dev = KDev;

    fn attach(_name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<KDev>, Geometry)> {
        let mode = match params.trim() {
            "mode=inline" => Mode::Inline,
            "mode=hardirq" => Mode::Hardirq,
            "mode=hold" => Mode::Hold,
            "mode=nofill" => Mode::NoFill,
            _ => {
                let _ = core::fmt::Write::write_str(msg, "mode=inline|hardirq|hold|nofill");
                return Err(EINVAL);
            }
        };
        let geo = Geometry {
            block_size: 512,
            num_blocks: 2048,
            read_only: false,
            write_cache: false,
            rotational: false,
            size_is_key: false,
        };
        Ok((KBox::new(KDev { mode }, GFP_KERNEL)?, geo))
    }

    fn exec(dev: &KDev, mut cmd: IoCmd) {
        let ctx = shim::context();
        EXEC_CTX.store(ctx, Ordering::Release);
        EXEC_TASK.store(shim::current_task(), Ordering::Release);
        match dev.mode {
            Mode::Inline => {
                if cmd.op() == io_op::READ {
                    // The suite reads one block at a time.
                    let len = ((cmd.blocks() as usize) << cmd.block_shift()).min(512);
                    let _ = cmd.sg().copy_from(&[0x5au8; 512][..len]);
                }
                cmd.complete(None)
            }
            Mode::NoFill => cmd.complete(None),
            Mode::Hold => {
                if let Err(cmd) = HELD.put(cmd) {
                    cmd.complete(Some((0x04, 0x44, 0x00)));
                }
            }
            Mode::Hardirq => {
                IRQ_EXEC_RUNNING.store(true, Ordering::Release);
                match IRQ_PENDING.put(cmd) {
                    Ok(()) => {
                        if let Some(st) = STATE.get() {
                            st.irq_timer.start(2000);
                        }
                    }
                    Err(cmd) => cmd.complete(Some((0x04, 0x44, 0x00))),
                }
                IRQ_EXEC_RUNNING.store(false, Ordering::Release);
            }
        }
    }

    fn show_attr(_dev: &KDev, _index: u32, _out: &mut MsgOut<'_>) {}

    fn task_mgmt(dev: &KDev, _function: u8) {
        if dev.mode == Mode::Hold {
            HOLD_TMF_CALLS.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// `kunit_dev`: `exec` may sleep.
pub static DEV_OPS: OpsCell<HandlerOps> = OpsCell(with_task_mgmt::<FakeDev<false>>(handler_ops::<FakeDev<false>>(
    c"kunit_dev",
    0,
    c"mode=inline|hardirq|hold|nofill",
    b"\0",
)));
/// `kunit_atomic`: `exec` never sleeps.
pub static ATOMIC_OPS: OpsCell<HandlerOps> = OpsCell(handler_ops::<FakeDev<true>>(
    c"kunit_atomic",
    handler_flags::EXEC_ATOMIC,
    c"mode=inline|hardirq|hold|nofill",
    b"\0",
));
