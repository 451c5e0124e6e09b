// SPDX-License-Identifier: GPL-2.0
//! The fake fabric and handlers, and what they record.
//!
//! Every command gets a fresh tag (its `fabric_priv` too); `xmit_response`
//! records, per tag, the context it ran in, whether it ran inside the
//! fabric's own `rscst_cmd_start` call, the status, sense, residual, the
//! aborted flag, the session's context and the first bytes of the data,
//! then releases the command. Records are atomics in a ring of slots,
//! since `xmit_response` may run in softirq.

use crate::abi::{dir, fabric_flags, handler_flags, io_op, scsi_status, FabricOps, HandlerOps};
use crate::sys::adapter::{handler_ops, DevHandler, Geometry, MsgOut};
use crate::sys::client::{FabricCmd, FabricTypes, IoCmd, Ops, RawCmd, SessionHandle, SessionId, TargetHandle};
use crate::sys::fabric_ops::{fabric_ops, FabricDriver};
use crate::sys::shim::{self, CmdSlots, Fire, SgBuf};
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
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
    /// The residual.
    pub resid: AtomicI32,
    /// Valid bytes in `sense`.
    pub sense_len: AtomicU8,
    /// The first bytes of the sense data.
    pub sense: [AtomicU8; SENSE_KEPT],
    /// [`KSession::id`] of the command's session context.
    pub session: AtomicU32,
}

/// Sense bytes a record keeps.
pub const SENSE_KEPT: usize = 32;

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
            resid: AtomicI32::new(0),
            sense_len: AtomicU8::new(0),
            sense: [const { AtomicU8::new(0) }; SENSE_KEPT],
            session: AtomicU32::new(0),
        }
    }

    /// The recorded sense bytes.
    pub fn sense_bytes(&self) -> ([u8; SENSE_KEPT], usize) {
        let mut b = [0u8; SENSE_KEPT];
        for (d, s) in b.iter_mut().zip(self.sense.iter()) {
            *d = s.load(Ordering::Relaxed);
        }
        (b, usize::from(self.sense_len.load(Ordering::Relaxed)))
    }
}

/// Per-tag records.
pub static RECORDS: [Record; SLOTS] = [const { Record::new() }; SLOTS];
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);
static ORDER: AtomicU64 = AtomicU64::new(1);
/// The task inside `rscst_cmd_start` (0: none).
pub static STARTING: AtomicUsize = AtomicUsize::new(0);
/// Bytes `rdy_to_xfer` writes at the start of the write data (the rest is
/// [`WRITE_BYTE`]): `WRITE_IMAGE[..WRITE_IMAGE_LEN]`, e.g. a parameter list.
pub static WRITE_IMAGE: [AtomicU8; 64] = [const { AtomicU8::new(0) }; 64];
/// How many bytes of [`WRITE_IMAGE`] are used (0: none).
pub static WRITE_IMAGE_LEN: AtomicUsize = AtomicUsize::new(0);

/// Sets the bytes at the start of the next write data (at most 64).
pub fn set_write_image(bytes: &[u8]) {
    for (d, s) in WRITE_IMAGE.iter().zip(bytes) {
        d.store(*s, Ordering::Relaxed);
    }
    WRITE_IMAGE_LEN.store(bytes.len().min(WRITE_IMAGE.len()), Ordering::Release);
}

fn write_image() -> KVec<u8> {
    let n = WRITE_IMAGE_LEN.load(Ordering::Acquire);
    let mut v = KVec::new();
    for b in WRITE_IMAGE.iter().take(n) {
        let _ = v.push(b.load(Ordering::Relaxed), GFP_ATOMIC);
    }
    v
}

/// The FUA flag of the last command a kunit handler's `exec` got.
pub static EXEC_FUA: AtomicBool = AtomicBool::new(false);
/// DISCARDs the kunit handlers' `exec` got (every fake device is
/// thin-provisioned).
pub static EXEC_DISCARDS: AtomicU32 = AtomicU32::new(0);
/// WRITEs the kunit handlers' `exec` got.
pub static EXEC_WRITES: AtomicU32 = AtomicU32::new(0);
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

/// A session's context: which of the suite's sessions it is.
pub struct KSession {
    /// Its number (1-based, in the order `setup` registers them).
    pub id: u32,
}

/// The module's state.
#[pin_data]
pub struct State {
    /// The two targets the suite creates (`ks` on kunit_strict, `ko` on
    /// kunit_open).
    #[pin]
    targets: Mutex<[Option<TargetHandle<Fake>>; 2]>,
    /// The suite's sessions, with the target they are on (`ko`: true).
    #[pin]
    sessions: Mutex<KVec<Option<(bool, Arc<SessionHandle<Fake>>)>>>,
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

/// A fake fabric, registered twice: `open` for the template that allows
/// everything.
pub struct Fake {
    /// Registered as `kunit_open`.
    pub open: bool,
}

impl FabricTypes for Fake {
    /// The command's tag.
    type CmdPriv = NonZeroUsize;
    type Session = KSession;
}

impl FabricDriver for Fake {
    type Target = KTarget;

    fn add_target(&self, tgt: TargetHandle<Fake>, _name: &str, _params: &str) -> Result<Arc<KTarget>> {
        set_target(self.open, Some(tgt));
        Ok(Arc::new(KTarget, GFP_KERNEL)?)
    }

    fn del_target(&self, _tgt: Arc<KTarget>) {
        // A fabric unregisters a target's sessions before it goes.
        drop_sessions(Some(self.open));
        set_target(self.open, None);
    }

    fn mgmt(&self, _line: &str, _msg: &mut MsgOut<'_>) -> Result {
        Err(EINVAL)
    }

    fn rdy_to_xfer(&self, mut cmd: FabricCmd<Fake>) {
        RDY_CTX.store(shim::context(), Ordering::Release);
        RDY_SG.store(cmd.sg().0 as usize, Ordering::Release);
        // Atomic allocations: the fakes may be called in any context.
        let ok = match SgBuf::new(cmd.data_len() as usize, true) {
            Ok(mut b) => {
                b.fill(WRITE_BYTE.load(Ordering::Acquire));
                b.overwrite_start(&write_image());
                b.copy_into_cmd(&mut cmd) == cmd.data_len() as usize
            }
            Err(_) => false,
        };
        cmd.rx_data_done(ok);
    }

    fn xmit_response(&self, mut cmd: FabricCmd<Fake>) {
        let tag = cmd.take_priv().map_or(0, |t| t.get() as u64);
        let r = record(tag);
        r.session.store(cmd.session().id, Ordering::Relaxed);
        r.resid.store(cmd.resid(), Ordering::Relaxed);
        let sense = cmd.sense();
        r.sense_len.store(sense.len() as u8, Ordering::Relaxed);
        for (d, s) in r.sense.iter().zip(sense.iter()) {
            d.store(*s, Ordering::Relaxed);
        }
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

    fn lun_changed(&self, _tgt: &KTarget, _session: SessionId, _lun: u64, _added: bool) {}

    fn ua_raised(&self, session: &KSession, lun: u64) {
        let i = (session.id as usize).min(UA_RAISED.len() - 1);
        UA_RAISED_LUN[i].store(lun, Ordering::Relaxed);
        UA_RAISED[i].fetch_add(1, Ordering::Release);
    }
}

/// How often the core told the fabric of a unit attention (`ua_raised`),
/// per session id (1 to 3), and at which LUN the last time.
pub static UA_RAISED: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];
/// See [`UA_RAISED`].
pub static UA_RAISED_LUN: [AtomicU64; 4] = [const { AtomicU64::new(u64::MAX) }; 4];

fn set_target(open: bool, h: Option<TargetHandle<Fake>>) {
    if let Some(st) = STATE.get() {
        st.targets.lock()[usize::from(open)] = h;
    }
}

/// Keeps a session of the suite, on `ko` (`open`) or `ks`.
pub fn add_session(open: bool, h: SessionHandle<Fake>) -> Result {
    let st = STATE.get().ok_or(ENODEV)?;
    let h = Arc::new(h, GFP_KERNEL)?;
    st.sessions.lock().push(Some((open, h)), GFP_KERNEL)?;
    Ok(())
}

/// Session `i` of the suite.
pub fn session(i: usize) -> Option<Arc<SessionHandle<Fake>>> {
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
pub fn target(open: bool) -> Option<TargetHandle<Fake>> {
    STATE.get().and_then(|st| st.targets.lock()[usize::from(open)])
}

const HELP: &core::ffi::CStr = c"(kunit fake fabric: no driver commands)\n";

/// The fabric that allows nothing: every callback from a thread, outside
/// its own calls.
pub const STRICT_OPS: Ops<FabricOps, Fake> = fabric_ops::<Fake>(c"kunit_strict", crate::abi::protocol::SAS, 0, HELP);

/// The fabric that allows callbacks in atomic context and re-entry.
pub const OPEN_OPS: Ops<FabricOps, Fake> = fabric_ops::<Fake>(
    c"kunit_open",
    crate::abi::protocol::SAS,
    fabric_flags::XMIT_ATOMIC | fabric_flags::RDY_TO_XFER_ATOMIC | fabric_flags::REENTRANT,
    HELP,
);

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

/// A fake handler (registered as `kunit_dev`, and with `EXEC_ATOMIC` as
/// `kunit_atomic`); with `RAW`, the raw-tier handler `kunit_raw`.
pub struct FakeDev<const RAW: bool>;

impl<const RAW: bool> DevHandler for FakeDev<RAW> {
    type Dev = KDev;
    const RAW_TIER: bool = RAW;
    const TASK_MGMT: bool = true;

    fn attach(&self, _name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<KDev>, Geometry)> {
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
            thin_provisioned: true,
        };
        Ok((KBox::new(KDev { mode }, GFP_KERNEL)?, geo))
    }

    fn exec(&self, dev: &KDev, mut cmd: IoCmd) {
        let ctx = shim::context();
        EXEC_FUA.store(cmd.fua(), Ordering::Release);
        if cmd.op() == io_op::DISCARD {
            EXEC_DISCARDS.fetch_add(1, Ordering::AcqRel);
        }
        if cmd.op() == io_op::WRITE {
            EXEC_WRITES.fetch_add(1, Ordering::AcqRel);
        }
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

    fn exec_scsi(&self, _dev: &KDev, cmd: RawCmd) -> core::result::Result<(), RawCmd> {
        raw_answer(cmd)
    }

    fn task_mgmt(&self, dev: &KDev, _function: u8) {
        if dev.mode == Mode::Hold {
            HOLD_TMF_CALLS.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Vendor-specific opcodes (unknown to the core) the raw tier answers.
pub mod raw_op {
    /// Data-in: fills all but [`super::RAW_SHORT`] bytes with 0xa5, GOOD.
    pub const SHORT_READ: u8 = 0xc0;
    /// CHECK CONDITION with [`super::DESC_SENSE`].
    pub const DESC_SENSE: u8 = 0xc1;
    /// RESERVATION CONFLICT.
    pub const CONFLICT: u8 = 0xc2;
    /// An unknown status (0x55).
    pub const BAD_STATUS: u8 = 0xc3;
    /// CHECK CONDITION with 200 bytes that are no sense data.
    pub const BAD_SENSE: u8 = 0xc4;
    /// Declined.
    pub const DECLINED: u8 = 0xc5;
    /// Data-out: GOOD if every byte is [`super::WRITE_BYTE`], else MISCOMPARE.
    pub const CHECK_WRITE: u8 = 0xc6;
}

/// Bytes of `SHORT_READ`'s buffer the raw tier leaves untouched.
pub const RAW_SHORT: i32 = 100;

/// Descriptor-format sense: MEDIUM ERROR, UNRECOVERED READ ERROR, with an
/// information descriptor (LBA 0x1234).
pub const DESC_SENSE: [u8; 20] = [
    0x72, 0x03, 0x11, 0x00, 0, 0, 0, 12, // header, 12 bytes of descriptors
    0x00, 0x0a, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x12, 0x34, // information, VALID
];

/// Fixed-format sense: NOT READY, BECOMING READY (a TEST UNIT READY the raw
/// tier answers instead of the core).
pub const BECOMING_READY: [u8; 18] = [0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x01, 0, 0, 0, 0];

/// How `kunit_raw` answers: by opcode; READ, INQUIRY and the rest are
/// declined (the core emulates them; READ goes on to the block tier).
fn raw_answer(mut cmd: RawCmd) -> core::result::Result<(), RawCmd> {
    let op = cmd.cdb().first().copied().unwrap_or(0);
    let (status, sense, resid): (u8, &[u8], i32) = match op {
        0x00 => (scsi_status::CHECK_CONDITION, &BECOMING_READY, 0),
        // A tape's READ(6) (only `kunit_raw_tape` gets one): its whole
        // buffer, 0xa5.
        0x08 => {
            let len = (cmd.data_len() as usize).min(4096);
            let _ = cmd.sg().copy_from(&[0xa5u8; 4096][..len]);
            (scsi_status::GOOD, &[], 0)
        }
        raw_op::SHORT_READ => {
            let len = (cmd.data_len() as usize).saturating_sub(RAW_SHORT as usize).min(4096);
            let _ = cmd.sg().copy_from(&[0xa5u8; 4096][..len]);
            (scsi_status::GOOD, &[], RAW_SHORT)
        }
        raw_op::DESC_SENSE => (scsi_status::CHECK_CONDITION, &DESC_SENSE, 0),
        raw_op::CONFLICT => (scsi_status::RESERVATION_CONFLICT, &[], 0),
        raw_op::BAD_STATUS => (0x55, &[], 0),
        raw_op::BAD_SENSE => (scsi_status::CHECK_CONDITION, &[0u8; 200], 0),
        raw_op::CHECK_WRITE if cmd.data_dir() == dir::WRITE => {
            let mut buf = [0u8; 512];
            let n = cmd.sg().copy_to(&mut buf);
            let want = WRITE_BYTE.load(Ordering::Acquire);
            if n == cmd.data_len() as usize && n > 0 && buf[..n].iter().all(|b| *b == want) {
                (scsi_status::GOOD, &[], 0)
            } else {
                (scsi_status::CHECK_CONDITION, &MISCOMPARE, 0)
            }
        }
        _ => return Err(cmd),
    };
    cmd.complete(status, sense, resid);
    Ok(())
}

/// Fixed-format sense: MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION.
const MISCOMPARE: [u8; 18] = [0x70, 0, 0x0e, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x1d, 0, 0, 0, 0, 0];

const MODES: &core::ffi::CStr = c"mode=inline|hardirq|hold|nofill";

/// `kunit_dev`: `exec` may sleep.
pub const DEV_OPS: Ops<HandlerOps, FakeDev<false>> = handler_ops::<FakeDev<false>>(c"kunit_dev", 0, MODES, b"\0");
/// `kunit_atomic`: `exec` never sleeps.
/// It also lets the core manage its devices' write cache (`WRITE_CACHE`;
/// they report it off).
pub const ATOMIC_OPS: Ops<HandlerOps, FakeDev<false>> =
    handler_ops::<FakeDev<false>>(c"kunit_atomic", handler_flags::EXEC_ATOMIC | handler_flags::WRITE_CACHE, MODES, b"\0");
/// `kunit_raw`: the raw SCSI tier in front of the block tier; may sleep.
pub const RAW_OPS: Ops<HandlerOps, FakeDev<true>> = handler_ops::<FakeDev<true>>(c"kunit_raw", 0, MODES, b"\0");
/// `kunit_raw_tape`: `kunit_raw` for tapes (peripheral device type 1), as
/// a pass-through `dev_tape`.
pub const RAW_TAPE_OPS: Ops<HandlerOps, FakeDev<true>> =
    handler_ops::<FakeDev<true>>(c"kunit_raw_tape", 0, MODES, b"\0").with_device_type(1);
