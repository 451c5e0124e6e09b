// SPDX-License-Identifier: GPL-2.0
//! The command lifecycle: the steps of `crate::lifecycle` performed for real.
//!
//! Contexts: every entry point (`rx`, `start`, `rx_data_done`, `exec_done`,
//! `tx_done`) may be called from process context, softirq or hard IRQ.
//! Each step runs in a [`Frame`]: the caller's context (the worse of what
//! the fabric declared and what the kernel reports) and whether the step is
//! inside the fabric's own call. Parsing and emulation never sleep and run
//! anywhere but hard IRQ. Handler execution runs inline only for handlers
//! whose `exec` never sleeps, outside hard IRQ, and is otherwise deferred
//! to the device's queue. Fabric callbacks run where the fabric's template
//! allows (`crate::lifecycle::may_call_fabric`) and are otherwise handed to
//! per-CPU work. Anything arriving in hard IRQ is queued.

use crate::sys::compat::NameBytes;
use crate::abi::{dir, io_op, CmdDesc, MAX_CDB_LEN, MAX_TRANSFER_BYTES, SENSE_BUF_LEN};
use crate::lifecycle::{exec_here, may_call_fabric, Context, Event, Frame, State};
use crate::device::Device;
use crate::gate::{Hold, Place};
use crate::lun::Mapped;
use crate::scsi::cdb::{Cdb, DataDir, Op};
use crate::scsi::device::DeviceParams;
use crate::scsi::emulate::{emulate_disk, Action, MAX_RESPONSE_LEN};
use crate::scsi::sense::Sense;
use crate::scsi::status;
use crate::scsi::task_set::{Order, TaskAttr, UnderAca};
use crate::scsi::ua::Ua;
use crate::session::Session;
use crate::steps::{Next, Steps};
use crate::sys::ops::{defer, CmdPtr, DataBuf, DevContext, DeviceRef, ExecActive, ExecCall, HandlerRef, RawAnswer, SessionRef};
use crate::sys::sg::SgList;
use crate::sys::work::{current_cpu, WorkItem};
use core::mem::ManuallyDrop;
use core::sync::atomic::Ordering;
use kernel::alloc::flags::{GFP_ATOMIC, GFP_KERNEL};
use kernel::prelude::*;

/// The most data any other command moves: the longest answer is REPORT LUNS
/// of every LUN (8 + 16384 * 8 bytes), parameter lists are shorter still.
const NON_IO_MAX_BYTES: u64 = 256 << 10;
/// Buffers up to this size are allocated in the fabric's atomic context;
/// larger ones in a core thread, where the allocation may sleep.
const ATOMIC_BUF_MAX: u64 = 64 << 10;
/// Handlers' malformed answers are logged, but rate limited: a user-space
/// backend could send them by the thousand.
static BAD_ANSWER_LOG: crate::ratelimit::RateLimit = crate::ratelimit::RateLimit::new(10, 5_000);
/// Vendor identification reported in INQUIRY.
const VENDOR: &[u8] = b"RSCST";
/// Product revision reported in INQUIRY.
const REVISION: &[u8] = b"0100";

/// A command. `desc` comes first: its address is the ABI handle.
#[repr(C)]
pub struct Cmd {
    /// What fabrics and handlers see.
    pub desc: CmdDesc,
    /// Where the command is.
    pub state: State,
    /// The device its LUN maps to, if any.
    pub mapped: Option<Mapped>,
    /// Decoded CDB (after parsing).
    pub cdb: Option<Cdb>,
    /// The data buffer (the fabric's, or an SGV buffer).
    pub data: DataBuf,
    /// For deferral to the workqueue.
    pub work: WorkItem,
    /// Bytes a READ or WRITE asked for beyond the initiator's buffer (a
    /// residual overflow): the command transfers the whole blocks that fit.
    pub overflow: u32,
    /// The CDB was parsed (`cdb` stays None for a CDB only the raw tier
    /// understands, so it cannot tell).
    pub parsed: bool,
    /// Whether a handler completed it inside the core's `exec` call.
    pub exec_call: ExecCall,
    /// What is left of a command the core runs as several handler calls
    /// (UNMAP, WRITE SAME, GET LBA STATUS, the read-backs).
    pub steps: Steps,
    /// Its place at its device's write gate (see `crate::gate`).
    pub gate: Place,
    /// Its place at its device's order gate, the task set.
    pub order: Place,
    /// Where its task attribute puts it in the task set (set by `parse`).
    pub task_order: Order,
    /// Where it is with its device's QErr, once it ended with CHECK
    /// CONDITION.
    pub qerr: QErrStep,
    /// What its device's ACA condition made of it when it came
    /// (`AcaCommand` until that command's end is noted).
    pub under_aca: UnderAca,
    /// The ACA condition its CHECK CONDITION established at its device
    /// (`aca::establish`'s number), 0 for none.
    pub faulted: u64,
    /// NACA was set in its CDB and taken away for a raw SCSI tier.
    pub naca_taken: bool,
    /// The device whose write gate `gate` is a pass of, when not the
    /// command's own: an EXTENDED COPY's destination.
    pub gate_elsewhere: Option<DeviceRef>,
    /// The session it came in on, tracked there until this reference drops,
    /// which `CmdPtr` does after the command's memory went back to its cache
    /// (see [`SessionRef`]).
    pub session: ManuallyDrop<SessionRef>,
}

/// Where a command is with its device's QErr (see [`apply_qerr`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum QErrStep {
    /// Not looked at yet.
    Unchecked,
    /// Its response waits in a core thread that applies it.
    Queued,
    /// Applied, or nothing to apply.
    Done,
}

/// The write gate's lane: a command's place there.
pub fn write_place(c: &mut Cmd) -> &mut Place {
    &mut c.gate
}

/// The order gate's lane: a command's place in the task set.
pub fn order_place(c: &mut Cmd) -> &mut Place {
    &mut c.order
}

/// What a fabric hands in with a new command.
pub struct Rx<'a> {
    /// Flat LUN.
    pub lun: u64,
    /// CDB bytes.
    pub cdb: &'a [u8],
    /// Task tag.
    pub tag: u64,
    /// [`dir`] the fabric expects.
    pub expected_dir: u8,
    /// Transfer length the fabric expects.
    pub expected_len: u32,
    /// The initiator's buffer (loopback zero copy), or none: the core then
    /// allocates one from SGV.
    pub data: DataBuf,
}

/// The frame of a fabric's call into the core: `atomic` is what the fabric
/// declared; the kernel's view makes it worse, never better. A fabric that
/// declares it may sleep is checked by the debug kernel.
pub fn fabric_frame(atomic: bool) -> Frame {
    let declared = if atomic {
        Context::Atomic
    } else {
        crate::sys::context::assert_may_sleep();
        Context::Thread
    };
    Frame { ctx: declared.worst(crate::sys::context::current()), in_fabric_call: true }
}

/// The frame of a handler's (or any other non-fabric) call into the core.
fn callback_frame() -> Frame {
    Frame { ctx: crate::sys::context::current(), in_fabric_call: false }
}

fn advance(c: &mut Cmd, ev: Event) {
    match c.state.next(ev) {
        Ok(s) => c.state = s,
        Err(e) => pr_err!("command tag {:#x}: {:?} not allowed in {:?}\n", c.desc.tag, e.event, e.from),
    }
}

/// Not a sense: answer BUSY so the initiator retries (out of buffers).
pub(crate) const BUSY: Sense = Sense::new(0xff, 0, 0);
/// Not a sense: answer RESERVATION CONFLICT.
pub(crate) const CONFLICT: Sense = Sense::new(0xfe, 0, 0);
/// Not a sense: answer ACA ACTIVE.
pub(crate) const ACA_ACTIVE: Sense = Sense::new(0xfd, 0, 0);

/// Residual for `done` bytes of `expected`: positive underrun, negative
/// overrun, saturated (the ABI's lengths come from initiators).
pub(crate) fn resid(expected: u32, done: u64) -> i32 {
    let r = i64::from(expected) - i64::try_from(done).unwrap_or(i64::MAX);
    r.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Residual of a READ or WRITE: the overflow (negative) when the CDB asked
/// for more than the buffer, else the buffer's unused part.
fn io_resid(c: &Cmd) -> i32 {
    if c.overflow != 0 {
        -(c.overflow.min(i32::MAX as u32) as i32)
    } else {
        resid(c.desc.expected_len, u64::from(c.desc.data_len))
    }
}

fn set_check(c: &mut Cmd, sense: Sense) {
    // No data goes back with an error.
    c.desc.resid = resid(c.desc.expected_len, 0);
    let bare = match sense {
        BUSY => Some(status::BUSY),
        CONFLICT => Some(status::RESERVATION_CONFLICT),
        ACA_ACTIVE => Some(status::ACA_ACTIVE),
        _ => None,
    };
    if let Some(s) = bare {
        c.desc.status = s;
        c.desc.sense_len = 0;
        return;
    }
    c.desc.status = status::CHECK_CONDITION;
    // The format the logical unit's control mode page asks for (D_SENSE).
    let descriptor = c.mapped.as_ref().is_some_and(|m| m.dev.descriptor_sense.load(Ordering::Relaxed));
    c.desc.sense_len = if descriptor {
        sense.write_descriptor(&mut c.desc.sense)
    } else {
        sense.write_fixed(&mut c.desc.sense)
    } as u8;
    c.session.stats.local().errors.fetch_add(1, Ordering::Relaxed);
}

fn sg(c: &mut Cmd) -> SgList<'_> {
    // The buffer belongs to the command for its whole life: the initiator's
    // (which outlives the command, see the ABI rules) or its SGV buffer.
    c.data.list()
}

/// Creates a command (any context). The fabric then calls `start`.
pub fn rx(session: &Session, rx: Rx<'_>) -> Result<CmdPtr> {
    let reservation_out = rx.cdb.first() == Some(&crate::scsi::cdb::opcode::PERSISTENT_RESERVE_OUT);
    let session = SessionRef::track(session, rx.tag, rx.lun, reservation_out)?;
    let mut cdb = [0u8; MAX_CDB_LEN];
    let n = rx.cdb.len().min(MAX_CDB_LEN);
    cdb[..n].copy_from_slice(&rx.cdb[..n]);
    let desc = CmdDesc {
        tag: rx.tag,
        lun: rx.lun,
        cdb,
        cdb_len: n as u8,
        expected_dir: rx.expected_dir,
        data_dir: dir::NONE,
        status: status::GOOD,
        sense_len: 0,
        aborted: 0,
        io_op: io_op::NONE,
        fua: 0,
        expected_len: rx.expected_len,
        data_len: 0,
        resid: 0,
        sg: core::ptr::null_mut(),
        sg_cnt: 0,
        block_shift: 9,
        lba: 0,
        blocks: 0,
        cpu: current_cpu(),
        sense: [0; SENSE_BUF_LEN],
        fabric_priv: core::ptr::null_mut(),
        dev_priv: core::ptr::null_mut(),
        sess_priv: session.sess_priv as *mut core::ffi::c_void,
        provisioning: 0,
        task_attr: crate::abi::task_attr::SIMPLE,
        _reserved: [0; 6],
    };
    let cmd = Cmd {
        desc,
        state: State::New,
        mapped: None,
        cdb: None,
        data: rx.data,
        work: WorkItem::default(),
        overflow: 0,
        parsed: false,
        exec_call: ExecCall::new(),
        steps: Steps::Idle,
        gate: Place::default(),
        order: Place::default(),
        task_order: Order::Simple,
        qerr: QErrStep::Unchecked,
        under_aca: UnderAca::Proceed,
        faulted: 0,
        naca_taken: false,
        gate_elsewhere: None,
        session: ManuallyDrop::new(session),
    };
    CmdPtr::alloc(cmd)
}

/// Parses and runs a command as far as it can go in `frame`.
pub fn start(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    c.session.stats.local().commands.fetch_add(1, Ordering::Relaxed);
    if frame.ctx == Context::Irq {
        // Nothing but queueing in hard IRQ: the whole step goes to a thread
        // (still `New`: `run_deferred` comes back here).
        return defer(cmd, |c| &c.session.target.fabric.core.wq);
    }
    start_parsed(cmd, frame)
}

fn start_parsed(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    if let Err(sense) = parse(c) {
        set_check(c, sense);
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    }
    c.parsed = true;
    // Its place in the task set, before its data (queued there, it comes
    // back to `with_buffer` through `run_deferred`).
    let Some(cmd) = enter_task_set(cmd) else { return };
    with_buffer(cmd, frame)
}

/// The parsed command gets its buffer (or waits for a thread to allocate a
/// large one), then goes on to fetch write data or to run.
fn with_buffer(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    let needs = c.desc.data_dir == dir::WRITE && c.desc.data_len != 0;
    match alloc_buf(c, frame.ctx) {
        Ok(Buffer::InThread) => {
            // Still `New`: `run_deferred` comes back here in a thread.
            defer(cmd, thread_queue);
        }
        Ok(Buffer::Ready { allocated }) => {
            let needs_data = needs && allocated;
            advance(c, Event::Parsed { needs_data });
            if needs_data {
                return request_data(cmd, frame);
            }
            ready(cmd, frame)
        }
        Err(sense) => {
            set_check(c, sense);
            advance(c, Event::Rejected);
            respond(cmd, frame)
        }
    }
}

/// The queue where a step of `c` that may sleep runs: its device's, so that
/// a hung backing store holds up only its own LUNs.
fn thread_queue(c: &Cmd) -> &crate::sys::work::Workqueue {
    // An EXTENDED COPY's next call goes to the queue of the unit it calls:
    // a hung backing store holds up only its own LUNs.
    match crate::steps::device_of_next_call(c) {
        Some(m) => &m.dev.queue,
        None => &c.session.target.fabric.core.wq,
    }
}

/// Asks the fabric for the write data (in `DataWait`), here if its template
/// allows, otherwise from per-CPU work.
fn request_data(mut cmd: CmdPtr, frame: Frame) {
    let ops = cmd.get().session.target.fabric.ops;
    if !may_call_fabric(frame, ops.rules(true)) {
        return defer(cmd, |c| &c.session.target.fabric.core.fabric_wq);
    }
    if let Err(mut back) = ops.rdy_to_xfer(cmd) {
        let c = back.get();
        set_check(c, Sense::INTERNAL_TARGET_FAILURE);
        advance(c, Event::Rejected);
        respond(back, Frame { in_fabric_call: true, ..frame });
    }
}

/// Decodes the CDB, resolves the LUN and reports a pending unit attention;
/// returns whether write data must be fetched first.
fn parse(c: &mut Cmd) -> Result<bool, Sense> {
    let fetch = decode(c)?;
    // Where the task attribute puts it in the task set (refused, as a
    // field of the CDB would be, before any unit attention). What an ACA
    // condition admits runs at once, past the commands it blocks.
    if let Some(m) = c.mapped.as_ref() {
        let cdb = &c.desc.cdb[..usize::from(c.desc.cdb_len)];
        c.task_order = match c.under_aca {
            UnderAca::AcaCommand | UnderAca::PreemptAndAbort => Order::HeadOfQueue,
            _ => {
                let attr = TaskAttr::from_code(c.desc.task_attr).ok_or(Sense::INVALID_TASK_ATTRIBUTE)?;
                crate::scsi::task_set::order(attr, cdb, m.dev.queue_algorithm())?
            }
        };
    }
    // A pending unit attention ends a valid command (a CDB error comes
    // first, as in SCST and LIO), except those SPC lets through.
    if c.mapped.is_some() && crate::scsi::ua::terminates(c.desc.cdb[0]) {
        if let Some(ua) = c.session.ua.take(c.desc.lun) {
            return Err(ua.sense());
        }
    }
    // Then the asymmetric access state of the port (after the unit
    // attention, which may be what says the state changed, as LIO orders
    // them), then a reservation of another I_T nexus (after the unit
    // attention, which may be what tells the initiator it lost the
    // reservation).
    if let Some(m) = c.mapped.as_ref() {
        let cdb = &c.desc.cdb[..usize::from(c.desc.cdb_len)];
        crate::alua::check_access(&m.dev, c.session.target.rel_tgt_id, cdb)?;
        if m.dev.reservations.conflicts(&c.session.port, || crate::scsi::pr::access_of(cdb)) {
            return Err(CONFLICT);
        }
    }
    Ok(fetch)
}

/// An ACA condition of the command's logical unit, if one is established,
/// ends it with ACA ACTIVE or BUSY unless it admits it (SAM-5 5.9.3: before
/// any field of the CDB is checked).
fn admit_under_aca(c: &mut Cmd) -> Result<(), Sense> {
    let Some(m) = c.mapped.as_ref() else { return Ok(()) };
    // A code that is no attribute is refused later (05/49/00); here it
    // counts as SIMPLE.
    let attr = TaskAttr::from_code(c.desc.task_attr).unwrap_or(TaskAttr::Simple);
    let cdb = &c.desc.cdb[..usize::from(c.desc.cdb_len)];
    c.under_aca = crate::aca::admit(&m.dev, c.session.nexus, c.desc.tag, attr, cdb);
    match c.under_aca {
        UnderAca::AcaActive => Err(ACA_ACTIVE),
        UnderAca::Busy => Err(BUSY),
        UnderAca::Proceed | UnderAca::AcaCommand | UnderAca::PreemptAndAbort => Ok(()),
    }
}

/// Decodes and checks the CDB and resolves the LUN; returns whether write
/// data must be fetched first.
fn decode(c: &mut Cmd) -> Result<bool, Sense> {
    let len = usize::from(c.desc.cdb_len);
    c.mapped = c.session.lookup(c.desc.lun);
    admit_under_aca(c)?;
    if c.mapped.as_ref().is_some_and(|m| raw_tier_sizes_commands(&m.dev)) && !core_keeps(c) {
        return parse_raw(c);
    }
    let cdb = match Cdb::decode(&c.desc.cdb[..len]) {
        Ok(cdb) => cdb,
        // A command the core does not implement goes to a raw tier; a known
        // one with a bad field gets the decoder's answer.
        Err(_) if c.mapped.as_ref().is_some_and(|m| m.dev.handler.ops.has_exec_scsi())
            && crate::scsi::cdb::is_unknown_command(&c.desc.cdb[..len]) =>
        {
            return parse_raw(c)
        }
        Err(sense) => return Err(sense),
    };
    c.cdb = Some(cdb);
    let block_size = c.mapped.as_ref().map_or(512, |m| m.dev.geo.block_size);
    c.desc.block_shift = block_size.trailing_zeros();
    if c.mapped.is_none() && !matches!(cdb.op, Op::Inquiry { .. } | Op::ReportLuns { .. } | Op::RequestSense { .. }) {
        return Err(Sense::LUN_NOT_SUPPORTED);
    }
    let (d, data_len) = match cdb.data_dir() {
        DataDir::None => (dir::NONE, 0),
        DataDir::Read => (dir::READ, cdb.transfer_len(block_size)),
        DataDir::Write => (dir::WRITE, cdb.transfer_len(block_size)),
    };
    c.desc.data_dir = d;
    let is_io = matches!(cdb.op, Op::Read { .. } | Op::Write { .. });
    // Commands whose data-out buffer holds blocks to compare (and write):
    // all of it is needed.
    let blocks_out = matches!(
        cdb.op,
        Op::Verify { bytchk: 1.., .. } | Op::WriteAndVerify { .. } | Op::CompareAndWrite { .. }
    );
    // A length refused: INVALID FIELD IN CDB pointing at its TRANSFER
    // LENGTH (or NUMBER OF LOGICAL BLOCKS).
    let bad_length = match crate::scsi::cdb::transfer_length_byte(cdb.opcode) {
        Some(byte) => Sense::INVALID_FIELD_IN_CDB.in_cdb(byte, None),
        None => Sense::INVALID_FIELD_IN_CDB,
    };
    if (is_io || blocks_out) && data_len > u64::from(MAX_TRANSFER_BYTES) {
        // Longer than VPD page B0h's MAXIMUM TRANSFER LENGTH (SBC-4 5.15).
        return Err(bad_length);
    }
    if let Op::Verify { blocks, bytchk: 1.., .. } = cdb.op {
        // BYTCHK 3 sends one block for all of them: the blocks read count
        // against the transfer limit too.
        if u64::from(blocks) * u64::from(block_size) > u64::from(MAX_TRANSFER_BYTES) {
            return Err(bad_length);
        }
    }
    if blocks_out && data_len > u64::from(c.desc.expected_len) {
        // Less data than blocks to compare: nothing to compare them with.
        return Err(bad_length);
    }
    // Allocation and parameter list lengths beyond the initiator's buffer
    // transfer only what fits, and never more than any answer or parameter
    // list can hold: no buffer is allocated for the CDB's claim.
    let wanted = data_len;
    let limit = if is_io || blocks_out { u64::MAX } else { NON_IO_MAX_BYTES };
    let data_len = data_len.min(u64::from(c.desc.expected_len)).min(limit) as u32;
    // (Those the core keeps never reach the raw tier.)
    let raw_tier = c.mapped.as_ref().is_some_and(|m| m.dev.handler.ops.has_exec_scsi()) && !core_keeps(c);
    if raw_tier && wanted > u64::from(data_len) && (is_io || d == dir::WRITE) {
        // A raw tier passes the CDB on as it came: its device would move
        // more than the buffer holds (or expect more data-out than came).
        return Err(bad_length);
    }
    if is_io && wanted > u64::from(data_len) {
        // A READ or WRITE longer than the buffer: a residual overflow (SAM-5,
        // RFC 7143 11.4.5.1). The whole blocks that fit are transferred; a
        // buffer ending inside a block can hold none of it.
        if data_len & (block_size - 1) != 0 {
            return Err(bad_length);
        }
        c.overflow = u32::try_from(wanted - u64::from(data_len)).unwrap_or(u32::MAX);
    }
    c.desc.data_len = data_len;
    // The buffer must point the way the data flows: a data-in command
    // with a to-device buffer would write into pages the initiator only
    // lent for reading.
    if data_len != 0 && c.desc.expected_dir != d {
        return Err(Sense::INVALID_FIELD_IN_CDB);
    }
    Ok(d == dir::WRITE && data_len != 0)
}

/// A CDB the core cannot decode, for a device with a raw SCSI tier: its
/// handler judges it, with the direction and length the fabric announced
/// (no bidirectional commands, nothing beyond the transfer limit).
fn parse_raw(c: &mut Cmd) -> Result<bool, Sense> {
    let d = c.desc.expected_dir;
    if !matches!(d, dir::NONE | dir::READ | dir::WRITE) || c.desc.expected_len > MAX_TRANSFER_BYTES {
        return Err(Sense::INVALID_FIELD_IN_CDB);
    }
    c.desc.data_dir = d;
    c.desc.data_len = if d == dir::NONE { 0 } else { c.desc.expected_len };
    Ok(d == dir::WRITE && c.desc.data_len != 0)
}

/// What [`alloc_buf`] did.
enum Buffer {
    /// The command has its buffer; `allocated` when the core gave it one
    /// (then write data must be fetched into it).
    Ready { allocated: bool },
    /// Too large to allocate here: continue in a thread.
    InThread,
}

/// Gives the command an SGV buffer when the fabric brought none.
fn alloc_buf(c: &mut Cmd, ctx: Context) -> Result<Buffer, Sense> {
    if !c.data.is_none() || c.desc.data_len == 0 {
        return Ok(Buffer::Ready { allocated: false });
    }
    let len = u64::from(c.desc.data_len);
    if ctx == Context::Atomic && len > ATOMIC_BUF_MAX {
        return Ok(Buffer::InThread);
    }
    let core = c.session.target.fabric.core;
    let b = core.sgv.alloc(len, ctx == Context::Atomic).map_err(|_| BUSY)?;
    c.data = DataBuf::owned(b, len);
    // A reused buffer holds another command's data: unless the handler
    // overwrites every byte of a READ, clear it.
    // The promise covers the block tier only: a raw tier may answer a READ
    // itself.
    let fills = c.mapped.as_ref().is_some_and(|m| m.dev.fills_reads());
    if c.desc.data_dir == dir::READ && !(fills && matches!(c.cdb.map(|x| x.op), Some(Op::Read { .. }))) {
        sg(c).zero(len as usize);
    }
    Ok(Buffer::Ready { allocated: true })
}

/// Write data arrived (or the transfer failed). The fabric does not say
/// whether it may sleep here: assume it may not.
pub fn rx_data_done(mut cmd: CmdPtr, ok: bool) {
    let frame = fabric_frame(true);
    let c = cmd.get();
    if !ok {
        set_check(c, Sense::ABORTED_COMMAND);
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    }
    advance(c, Event::DataReceived);
    if frame.ctx == Context::Irq {
        return defer(cmd, thread_queue);
    }
    ready(cmd, frame)
}

fn params_for<'a>(m: &'a Mapped, rel_tgt_id: u16) -> DeviceParams<'a> {
    let d = &m.dev;
    let alua = crate::alua::port_alua(d, rel_tgt_id);
    let name = d.name.name_bytes();
    DeviceParams {
        block_size: d.geo.block_size,
        num_blocks: d.num_blocks(),
        read_only: d.geo.read_only || m.read_only,
        write_cache: d.write_cache.load(Ordering::Relaxed),
        write_cache_changeable: d.handler.ops.manages_write_cache(),
        descriptor_sense: d.descriptor_sense.load(Ordering::Relaxed),
        task_aborted_status: d.task_aborted_status.load(Ordering::Relaxed),
        queue_algorithm: d.queue_algorithm(),
        qerr: d.qerr(),
        saved_modes: d.saved_modes.get(),
        rotational: d.geo.rotational,
        removable: false,
        thin_provisioned: d.geo.thin_provisioned,
        vendor: VENDOR,
        product: name,
        revision: REVISION,
        serial: &d.usn,
        naa_id: d.naa_id,
        t10_vendor_designator: name,
        relative_port: rel_tgt_id,
        target_port_group: alua.group_id,
        tpgs: alua.tpgs,
        port_state: alua.state,
        target_port_name: b"",
        max_transfer_bytes: MAX_TRANSFER_BYTES,
    }
}

/// A command whose data is present: offered to its handler's raw SCSI tier
/// first, if it has one, and otherwise emulated or dispatched.
fn ready(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    if c.session.aborted() {
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    }
    let in_thread = match c.cdb {
        Some(x) if emulated_in_thread(&x.op) => {
            frame.ctx == Context::Thread && !(frame.in_fabric_call && outlasts_fabric_call(&x.op))
        }
        _ => true,
    };
    if !in_thread {
        // In a thread of the device (`run_deferred` comes back here).
        return defer(cmd, thread_queue);
    }
    // (A command left undecoded for the raw tier stays the raw tier's, even
    // if a unit attention made `core_keeps` true since.)
    let raw = c.mapped.as_ref().filter(|m| m.dev.handler.ops.has_exec_scsi() && (c.cdb.is_none() || !core_keeps(c)));
    let Some(m) = raw else { return emulate(cmd, frame) };
    // The handler is not told that its LUN is read-only: the core refuses
    // what changes the medium for it (SCST's WRITE_MEDIUM commands).
    let writes = crate::scsi::cdb::writes_medium_of(
        m.dev.handler.ops.device_type(),
        &c.desc.cdb[..usize::from(c.desc.cdb_len)],
    );
    if writes && (m.read_only || m.dev.geo.read_only) {
        set_check(c, Sense::WRITE_PROTECTED);
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    }
    c.desc.io_op = io_op::SCSI;
    // The core keeps ACA conditions: the device behind the tier sees neither
    // NACA nor the ACA attribute (the command the condition admits runs at
    // once there too).
    let len = usize::from(c.desc.cdb_len);
    c.naca_taken |= crate::scsi::cdb::take_naca(&mut c.desc.cdb[..len]);
    if c.desc.task_attr == crate::abi::task_attr::ACA {
        c.desc.task_attr = crate::abi::task_attr::HEAD_OF_QUEUE;
    }
    // The residual of a handler that completes with `rscst_cmd_exec_done`
    // (`rscst_cmd_scsi_done` sets its own).
    c.desc.resid = io_resid(c);
    let atomic_ok = m.dev.handler.ops.exec_atomic();
    // A raw tier's writes pass the write gate as the block tier's do.
    // Queued there, the command comes back through `run_deferred` to
    // `offer_raw`.
    let Some(cmd) = pass_gate(cmd, if writes { Gated::Shared } else { Gated::No }) else { return };
    call_here_or_defer(cmd, frame, atomic_ok, offer_raw)
}

/// Commands whose emulation sleeps: MODE SELECT with a parameter list
/// (applying it raises unit attentions on the device's other nexuses, which
/// takes the targets' session locks) or with SP (saving writes files), and those the core runs as several
/// handler calls (their plans allocate; see `crate::steps`).
fn emulated_in_thread(op: &Op) -> bool {
    matches!(
        op,
        Op::ModeSelect { param_len: 1.., .. }
            | Op::ModeSelect { sp: true, .. }
            | Op::Unmap { param_len: 1.. }
            | Op::WriteSame { .. }
            | Op::GetLbaStatus { .. }
            | Op::Verify { bytchk: 1.., .. }
            | Op::WriteAndVerify { compare: true, .. }
            | Op::CompareAndWrite { .. }
            | Op::PreFetch { .. }
            | Op::PersistentReserveIn { .. }
            | Op::PersistentReserveOut { .. }
            | Op::SetTargetPortGroups { .. }
            | Op::Reserve
            | Op::Release
            | Op::ExtendedCopy { param_len: 1.. }
    )
}

/// Commands too long to run inside a fabric's call even where it may sleep:
/// an EXTENDED COPY moves up to 16 segments of 65535 blocks; a MODE SELECT
/// with SP writes and syncs two files.
fn outlasts_fabric_call(op: &Op) -> bool {
    matches!(op, Op::ExtendedCopy { .. } | Op::ModeSelect { sp: true, .. })
}

/// Enters the command's task set as its task attribute says (any
/// context), once it is parsed: the order of the task set is the order in
/// which commands are parsed, their arrival order (but for commands handed
/// in from hard IRQ, parsed later in a thread). None: queued there behind
/// earlier commands; it comes back to `with_buffer` in a thread of the
/// device once it is its turn.
fn enter_task_set(mut cmd: CmdPtr) -> Option<CmdPtr> {
    let c = cmd.get();
    let Some(m) = c.mapped.as_ref() else { return Some(cmd) };
    let order = &m.dev.order;
    if c.task_order == Order::HeadOfQueue {
        order.enter_head(&mut c.order.hold);
        // An ACA condition established since the command was admitted (its
        // flag is set before the condition takes its own head pass, so a
        // pass taken after that one sees it): the command waits with those
        // the condition blocks.
        if c.under_aca != UnderAca::Proceed || !m.dev.aca.is_established() {
            return Some(cmd);
        }
        order.leave(&mut c.order.hold, resume_at_gate);
        c.task_order = Order::Simple;
    }
    match c.task_order {
        Order::Simple if order.try_shared(&mut c.order.hold, resume_at_gate) => {}
        exclusive_or_queued => {
            // Once queued, the command may pass, complete and be freed on
            // another CPU before `enter` returns: the count keeps the device.
            let active = ExecActive::begin(&m.dev);
            let passed = active.device().order.enter(cmd, exclusive_or_queued == Order::Ordered, resume_at_gate);
            drop(active);
            return passed;
        }
    }
    Some(cmd)
}

/// Whether the command was aborted (the order gate's test, see
/// `Gate::release_aborted`).
pub fn is_aborted(c: &mut Cmd) -> bool {
    c.session.aborted()
}

/// Leaves the command's task set, if it entered it: the commands queued
/// behind it that may now go on do.
fn leave_task_set(c: &mut Cmd) {
    if let Some(m) = c.mapped.as_ref() {
        m.dev.order.leave(&mut c.order.hold, resume_at_gate);
    }
}

/// Sends the aborted commands queued in the task set of `dev` on at once,
/// without waiting for their turn (any context; for a TMF that marked
/// them: it may be what the commands ahead of them wait for).
pub fn release_aborted_at(dev: &Device) {
    dev.order.release_aborted(resume_at_gate);
}

/// Whether the command's device's QErr makes its CHECK CONDITION abort
/// other commands, and whose. Only a command that entered the task set
/// counts: one refused while parsed (a CDB error, a unit attention it
/// reports, a reservation conflict) does not, or two initiators' unit
/// attentions of the aborts (06/2F/00) would abort each other's commands
/// in turn.
fn qerr_aborts(c: &Cmd) -> crate::scsi::task_set::Aborts {
    use crate::scsi::task_set::Aborts;
    match c.mapped.as_ref() {
        Some(m) if c.order.hold.held() && c.desc.status == status::CHECK_CONDITION && !c.session.aborted() => {
            m.dev.qerr().on_check_condition()
        }
        _ => Aborts::Nothing,
    }
}

/// QErr (SPC-4 7.5.8): a command ending with CHECK CONDITION aborts the
/// other commands of its task set (those of every I_T nexus, or of its
/// own), before its status goes out and while it still holds its place in
/// the task set, so that nothing queued behind it starts first. In a core
/// thread: marking them walks the targets' sessions.
fn apply_qerr(c: &mut Cmd) {
    use crate::scsi::task_set::Aborts;
    c.qerr = QErrStep::Done;
    let every_nexus = match qerr_aborts(c) {
        Aborts::Nothing => return,
        Aborts::ThisNexus => false,
        Aborts::EveryNexus => true,
    };
    if let Some(m) = c.mapped.as_ref() {
        crate::tmf::abort_on_check_condition(&c.session, &m.dev, c.desc.tag, c.desc.lun, every_nexus);
    }
}

/// What the command's end does to its device's ACA condition (once, as
/// its status is final, before it leaves the task set): a CHECK CONDITION
/// with NACA set establishes one for its nexus; the ACA command's end lets
/// another follow, and its CHECK CONDITION without NACA clears the
/// condition.
fn note_aca(c: &mut Cmd) {
    let check = c.desc.status == status::CHECK_CONDITION && !c.session.aborted();
    end_aca_command(c, check);
    if !check {
        return;
    }
    let Some(m) = c.mapped.as_ref() else { return };
    if !naca(c) {
        return;
    }
    let Some(generation) = crate::aca::establish(&m.dev, c.session.nexus) else { return };
    c.faulted = generation;
    // A nexus that no longer sees the unit (a LUN deleted or replaced, the
    // session moved to another group or closing while the command ran)
    // could never clear the condition: it goes again. The other side of
    // the race changes what the nexus sees first, then clears
    // (`aca::clear_if_faulted`): with a barrier on each side, one of the
    // two sees the other.
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    let still_seen = c.session.lookup(c.desc.lun).is_some_and(|now| core::ptr::eq(&*now.dev, &*m.dev));
    if !still_seen || c.session.dying.load(core::sync::atomic::Ordering::Acquire) {
        crate::aca::undo(&m.dev, generation);
        c.faulted = 0;
    }
}

/// Whether the command's CDB had NACA set.
fn naca(c: &Cmd) -> bool {
    c.naca_taken || crate::scsi::cdb::naca(&c.desc.cdb[..usize::from(c.desc.cdb_len)])
}

/// The end of the ACA command in progress, if this is it (idempotent: also
/// when it is released without a status).
fn end_aca_command(c: &mut Cmd, check: bool) {
    if c.under_aca != UnderAca::AcaCommand {
        return;
    }
    c.under_aca = UnderAca::Proceed;
    if let Some(m) = c.mapped.as_ref() {
        crate::aca::aca_command_done(&m.dev, c.session.nexus, c.desc.tag, check, naca(c));
    }
}

/// Which pass of its device's write gate a command needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gated {
    /// None: it does not write through the block tier.
    No,
    /// A shared one: it writes.
    Shared,
    /// The exclusive one: COMPARE AND WRITE.
    Exclusive,
}

/// Passes the device's write gate (any context). None: queued there; it
/// goes on in a thread of the device once it holds its pass
/// ([`resume_at_gate`]), back to where it was queued.
fn pass_gate(mut cmd: CmdPtr, gated: Gated) -> Option<CmdPtr> {
    let c = cmd.get();
    let upgrade = gated == Gated::Exclusive && c.gate.hold == Hold::Shared;
    if gated == Gated::No || (c.gate.hold.held() && !upgrade) {
        return Some(cmd);
    }
    let dev = match (&c.gate_elsewhere, &c.mapped) {
        (Some(dev), _) => dev,
        (None, Some(m)) => &m.dev,
        (None, None) => return Some(cmd),
    };
    if upgrade {
        // A COMPARE AND WRITE its raw tier declined passed shared on the
        // way there: it queues for the exclusive pass like any other.
        dev.gate.leave(&mut c.gate.hold, resume_at_gate);
    }
    if gated == Gated::Shared && dev.gate.try_shared(&mut c.gate.hold, resume_at_gate) {
        return Some(cmd);
    }
    // Once queued, the command may pass, complete and be freed on another
    // CPU before `enter` returns: the count keeps the device.
    let active = ExecActive::begin(dev);
    let passed = active.device().gate.enter(cmd, gated == Gated::Exclusive, resume_at_gate);
    drop(active);
    passed
}

/// A command queued at the write gate holds its pass now: on in a thread
/// (`run_deferred` finds where it stopped).
pub(crate) fn resume_at_gate(cmd: CmdPtr) {
    defer(cmd, thread_queue)
}

/// Gives back the command's pass of the write gate, if it has one.
fn leave_gate(c: &mut Cmd) {
    if c.gate.hold.held() {
        match (&c.gate_elsewhere, &c.mapped) {
            (Some(dev), _) => dev.gate.leave(&mut c.gate.hold, resume_at_gate),
            (None, Some(m)) => m.dev.gate.leave(&mut c.gate.hold, resume_at_gate),
            (None, None) => {}
        }
    }
    // Dropped only once its pass is given back.
    if !c.gate.hold.held() {
        c.gate_elsewhere = None;
    }
}

/// Whether the device's raw tier takes every command the core does not
/// keep as the fabric sized it, undecoded: a device other than a disk
/// behind a raw tier (a pass-through tape, changer, CD/DVD...). The core's
/// decoder knows SBC's CDBs, whose opcodes mean other transfers there (a
/// tape's READ(6) counts bytes or blocks by its FIXED bit; a CD's blocks
/// are 2048 bytes).
fn raw_tier_sizes_commands(dev: &Device) -> bool {
    dev.handler.ops.has_exec_scsi() && dev.handler.ops.device_type() != 0
}

/// Commands the core answers even for a handler with a raw tier: REPORT
/// LUNS (the LUN inventory is the target's), reservations (the core keeps
/// them for every device, as SCST does) and REQUEST SENSE while a unit
/// attention is pending (the core keeps those).
fn core_keeps(c: &Cmd) -> bool {
    use crate::scsi::cdb::opcode::*;
    match c.desc.cdb[0] {
        REPORT_LUNS | PERSISTENT_RESERVE_IN | PERSISTENT_RESERVE_OUT | RESERVE_6 | RESERVE_10 | RELEASE_6 | RELEASE_10 => true,
        REQUEST_SENSE => c.session.ua.pending_at(c.desc.lun),
        // Target port groups are the core's.
        MAINTENANCE_IN => c.desc.cdb[1] & 0x1F == MI_REPORT_TARGET_PORT_GROUPS,
        MAINTENANCE_OUT => c.desc.cdb[1] & 0x1F == MO_SET_TARGET_PORT_GROUPS,
        _ => false,
    }
}

/// Runs `call` (a call into the command's handler) here if `exec_here`
/// allows it, else defers it to a thread of the device: its unbound queue
/// in the deep regime, its per-CPU queue in the shallow one
/// ([`in_deep_regime`]; the worker comes back to `call` through
/// `run_deferred`).
fn call_here_or_defer(mut cmd: CmdPtr, frame: Frame, atomic_ok: bool, call: fn(CmdPtr, Frame)) {
    if exec_here(frame.ctx, atomic_ok) {
        return call(cmd, frame);
    }
    if cmd.get().mapped.as_ref().is_none_or(|m| in_deep_regime(&m.dev)) {
        defer(cmd, thread_queue)
    } else {
        defer(cmd, idle_queue)
    }
}

/// Idle handler calls that still count as deep after the device last saw
/// a deep queue.
const DEEP_CREDIT: u32 = 256;
/// One in this many idle handler calls of a device that has not seen a deep
/// queue lately counts as deep all the same.
const IDLE_PROBE: u32 = 16;

/// Whether a handler call that has to go to a thread belongs to the
/// device's deep regime (spread over the CPUs by its unbound queue) rather
/// than its shallow one (answered fastest by a worker on this CPU, its
/// per-CPU queue).
///
/// A busy device (another command in flight) is deep. But a shallow call
/// may complete its command before the submitter sends the next, so that a
/// deep queue would find the device idle every time and stay on one CPU.
/// Hence: after a busy call, the next `DEEP_CREDIT` idle calls are deep
/// too; and with no credit left, one in `IDLE_PROBE` still is, so that a
/// deep queue's next command finds it in flight, the device busy, and the
/// credit renewed.
fn in_deep_regime(dev: &Device) -> bool {
    // This command holds one count: more means others are in flight.
    if dev.inflight.load(Ordering::Relaxed) > 1 {
        if dev.deep_credit.load(Ordering::Relaxed) != DEEP_CREDIT {
            dev.deep_credit.store(DEEP_CREDIT, Ordering::Relaxed);
        }
        return true;
    }
    let credit = dev.deep_credit.load(Ordering::Relaxed);
    if credit > 0 {
        dev.deep_credit.store(credit - 1, Ordering::Relaxed);
        return true;
    }
    dev.idle_calls.fetch_add(1, Ordering::Relaxed) % IDLE_PROBE == IDLE_PROBE - 1
}

/// The device's per-CPU queue (see `Device::idle_queue`).
fn idle_queue(c: &Cmd) -> &crate::sys::work::Workqueue {
    match c.mapped.as_ref() {
        Some(m) => &m.dev.idle_queue,
        None => thread_queue(c),
    }
}

/// Starts execution by the command's handler (state **Executing**): `call`
/// gets the handler, the device's context and the command. The command may
/// complete and be freed inside the call, so the device is kept attached
/// (and its module loaded) until the call returned. None when the command
/// has no device: answered here (callers only send mapped commands).
fn run_handler<R>(mut cmd: CmdPtr, frame: Frame, call: impl FnOnce(HandlerRef, DevContext, CmdPtr) -> R) -> Option<R> {
    let c = cmd.get();
    advance(c, Event::Execute { emulated: false });
    let Some(m) = c.mapped.as_ref() else {
        set_check(c, Sense::INTERNAL_TARGET_FAILURE);
        advance(c, Event::ExecDone);
        respond(cmd, frame);
        return None;
    };
    let (handler, ctx) = (m.dev.handler.ops, m.dev.ctx);
    let active = ExecActive::begin(&m.dev);
    let r = call(handler, ctx, cmd);
    drop(active);
    Some(r)
}

/// Hands the command to the raw SCSI tier; emulates it if declined.
fn offer_raw(cmd: CmdPtr, frame: Frame) {
    let Some(answer) = run_handler(cmd, frame, |h, ctx, cmd| h.exec_scsi(ctx, cmd)) else { return };
    match answer {
        RawAnswer::Accepted(Some(cmd)) => respond(cmd, frame),
        RawAnswer::Accepted(None) => {}
        RawAnswer::NotHandled(mut cmd) => {
            let c = cmd.get();
            c.desc.io_op = io_op::NONE;
            advance(c, Event::Declined);
            if c.session.aborted() {
                advance(c, Event::Rejected);
                return respond(cmd, frame);
            }
            emulate(cmd, frame)
        }
    }
}

/// Emulates a command, or dispatches its READ, WRITE or FLUSH to the
/// handler's block tier.
fn emulate(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    let Some(cdb) = c.cdb else {
        // Only the raw tier takes CDBs the core cannot decode; declined,
        // they get the decoder's answer.
        let len = usize::from(c.desc.cdb_len);
        let sense = Cdb::decode(&c.desc.cdb[..len]).err().unwrap_or(Sense::INTERNAL_TARGET_FAILURE);
        set_check(c, sense);
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    };
    let action = match c.mapped.as_ref() {
        // READ and WRITE produce no response data: no scratch buffer to
        // zero on the data path.
        Some(m) if matches!(cdb.op, Op::Read { .. } | Op::Write { .. }) => {
            emulate_disk(&cdb, &params_for(m, c.session.target.rel_tgt_id), &mut [])
        }
        Some(m) => {
            // Room for the longest emulated answer, so that only the
            // allocation length ever cuts one. Not on the stack (over 512
            // bytes); these commands are rare next to READ and WRITE.
            let mut scratch = KVec::new();
            if scratch.extend_with(MAX_RESPONSE_LEN, 0u8, GFP_ATOMIC).is_err() {
                set_check(c, BUSY);
                return finish_emulated(cmd, frame);
            }
            let a = emulate_disk(&cdb, &params_for(m, c.session.target.rel_tgt_id), &mut scratch);
            if let Action::DataIn { len } = a {
                let n = sg(c).copy_from(&scratch[..len.min(scratch.len())]);
                c.desc.resid = resid(c.desc.expected_len, n as u64);
            }
            a
        }
        None => Action::Core,
    };
    match action {
        Action::DataIn { .. } => finish_emulated(cmd, frame),
        Action::Good => {
            // No data went back: all of the buffer is residual.
            c.desc.resid = resid(c.desc.expected_len, 0);
            finish_emulated(cmd, frame)
        }
        Action::Check(sense) => {
            set_check(c, sense);
            finish_emulated(cmd, frame)
        }
        Action::Read { lba, blocks, fua } => dispatch(cmd, frame, io_op::READ, lba, blocks, fua),
        Action::Write { lba, blocks, fua } => dispatch(cmd, frame, io_op::WRITE, lba, blocks, fua),
        Action::Flush { lba, blocks, .. } => dispatch(cmd, frame, io_op::FLUSH, lba, blocks, false),
        Action::WriteSame { lba, blocks, unmap, ndob } => {
            start_steps(cmd, frame, Gated::Shared, |c| crate::steps::begin_write_same(c, lba, blocks, unmap, ndob))
        }
        Action::Unmap { param_len } => {
            start_steps(cmd, frame, Gated::Shared, |c| crate::steps::begin_unmap(c, param_len))
        }
        Action::Copy { param_len } => {
            // Each WRITE passes its destination's gate (`run_steps`).
            start_steps(cmd, frame, Gated::No, |c| crate::copy::begin_copy(c, param_len))
        }
        Action::LbaStatus { lba, alloc_len } => {
            start_steps(cmd, frame, Gated::No, |c| crate::steps::begin_lba_status(c, lba, alloc_len))
        }
        Action::ReadBack(plan) => {
            let gated = match plan.write {
                _ if plan.atomic => Gated::Exclusive,
                crate::scsi::readback::Write::Nothing => Gated::No,
                _ => Gated::Shared,
            };
            start_steps(cmd, frame, gated, |c| crate::steps::begin_read_back(c, plan))
        }
        Action::Core => {
            emulate_in_core(c, &cdb);
            finish_emulated(cmd, frame)
        }
    }
}

/// The commands whose answer depends on core state: REPORT LUNS, REQUEST
/// SENSE, MODE SELECT, and INQUIRY of an unmapped LUN.
fn emulate_in_core(c: &mut Cmd, cdb: &Cdb) {
    match cdb.op {
        Op::ReportLuns { select_report, alloc_len } => {
            let mut luns = KVec::new();
            let mut oom = false;
            if crate::scsi::luns::report_lists_luns(select_report) {
                c.session.for_each_lun(|l| oom |= luns.push(l, GFP_ATOMIC).is_err());
            }
            let need = 8 + 8 * luns.len();
            let mut buf = KVec::new();
            if oom || buf.extend_with(need.min(alloc_len as usize), 0u8, GFP_ATOMIC).is_err() {
                return set_check(c, Sense::INTERNAL_TARGET_FAILURE);
            }
            let n = crate::scsi::luns::encode_report_luns(luns.iter().copied(), alloc_len, &mut buf);
            let copied = sg(c).copy_from(&buf[..n]);
            c.desc.resid = resid(c.desc.expected_len, copied as u64);
            // The initiator has the new inventory: no LUN of this nexus
            // needs to say it changed (SPC-4 6.33).
            c.session.ua.clear(None, Some(Ua::ReportedLunsChanged));
        }
        Op::RequestSense { desc, alloc_len } => {
            // A pending unit attention is the answer, and is then cleared.
            let sense = match c.mapped {
                Some(_) => c.session.ua.take(c.desc.lun).map_or(Sense::NO_SENSE, Ua::sense),
                None => Sense::LUN_NOT_SUPPORTED,
            };
            let mut buf = [0u8; 64];
            let n = crate::scsi::request_sense::encode_request_sense(sense, desc, alloc_len, &mut buf);
            let copied = sg(c).copy_from(&buf[..n]);
            c.desc.resid = resid(c.desc.expected_len, copied as u64);
        }
        Op::Inquiry { evpd: false, alloc_len, .. } if c.mapped.is_none() => {
            // SPC-4: peripheral qualifier 3 (no LU at this LUN), type 0x1f.
            let mut buf = [0u8; 36];
            buf[0] = 0x7f;
            buf[2] = 0x06;
            buf[3] = 0x02;
            buf[4] = 31;
            let n = buf.len().min(usize::from(alloc_len));
            let copied = sg(c).copy_from(&buf[..n]);
            c.desc.resid = resid(c.desc.expected_len, copied as u64);
        }
        Op::ReportTargetPortGroups { extended, alloc_len } => {
            let need = c.mapped.as_ref().map_or(0, |m| crate::alua::report_target_port_groups_len(&m.dev, extended));
            let mut buf = KVec::new();
            let room = (alloc_len as usize).min(c.desc.data_len as usize).min(need);
            if buf.extend_with(room, 0u8, GFP_ATOMIC).is_err() {
                return set_check(c, Sense::INTERNAL_TARGET_FAILURE);
            }
            let n = c.mapped.as_ref().map(|m| crate::alua::report_target_port_groups(&m.dev, extended, alloc_len, &mut buf));
            let Some(n) = n else { return set_check(c, Sense::LUN_NOT_SUPPORTED) };
            let copied = sg(c).copy_from(&buf[..n]);
            c.desc.resid = resid(c.desc.expected_len, copied as u64);
        }
        Op::SetTargetPortGroups { param_len } => match set_target_port_groups(c, param_len) {
            Ok(()) => c.desc.resid = resid(c.desc.expected_len, u64::from(c.desc.data_len)),
            Err(sense) => set_check(c, sense),
        },
        Op::ModeSelect { ten, sp, param_len, .. } => match mode_select(c, ten, sp, param_len) {
            Ok(()) => c.desc.resid = resid(c.desc.expected_len, u64::from(c.desc.data_len)),
            Err(sense) => set_check(c, sense),
        },
        Op::PersistentReserveIn { .. }
        | Op::PersistentReserveOut { .. }
        | Op::Reserve
        | Op::Release => {
            if let Err(sense) = crate::reservations::serve(c, &cdb.op) {
                set_check(c, sense);
            }
        }
        _ => set_check(c, if c.mapped.is_none() { Sense::LUN_NOT_SUPPORTED } else { Sense::INVALID_OPCODE }),
    }
}

/// SET TARGET PORT GROUPS's parameter list (thread context): the states
/// change, and the device's other I_T nexuses through the groups' targets
/// get the unit attention that says so (see `crate::alua`).
fn set_target_port_groups(c: &mut Cmd, param_len: u32) -> Result<(), Sense> {
    crate::sys::context::assert_may_sleep();
    let list = param_list(c, param_len)?;
    let Some(m) = c.mapped.as_ref() else { return Err(Sense::LUN_NOT_SUPPORTED) };
    crate::alua::set_target_port_groups(c.session.target.fabric.core, &m.dev, &c.session, &list)
}

/// MODE SELECT's parameter list (thread context): checked against the
/// device's mode pages, then applied; with SP set, every saveable value is
/// then saved (SPC-4 6.11; `crate::saved_modes`), and if that fails nothing
/// changes and the command ends BUSY, as in SCST. A change raises MODE
/// PARAMETERS CHANGED on every other I_T nexus of the device (SPC-4
/// 7.5.2). The one step of a command that takes mutexes (the device's mode
/// changes, `Target::sessions` through `raise_on_device`) and sleeps:
/// `ready` sent it to a thread of the device first, and nothing holding
/// those mutexes waits for a command.
fn mode_select(c: &mut Cmd, ten: bool, sp: bool, param_len: u16) -> Result<(), Sense> {
    crate::sys::context::assert_may_sleep();
    // (SP with no list: the current values are saved.)
    let list = if param_len == 0 { None } else { Some(param_list(c, param_len)?) };
    let m = c.mapped.as_ref().ok_or(Sense::LUN_NOT_SUPPORTED)?;
    let _changes = m.dev.saved_modes.lock_changes();
    let params = params_for(m, c.session.target.rel_tgt_id);
    let changes = match list {
        Some(list) => crate::scsi::mode::parse_mode_select(&list, ten, &params)?,
        None => crate::scsi::mode::ModeChanges::default(),
    };
    let after = changes.applied_to(params.mode_values());
    if sp {
        crate::saved_modes::save(&m.dev, after).map_err(|_| BUSY)?;
    }
    let changed = m.dev.set_mode_values(after);
    if changed {
        let core = c.session.target.fabric.core;
        crate::ua::raise_on_device(&core, &m.dev, Ua::ModeParametersChanged, Some(&c.session));
    }
    Ok(())
}

/// A copy of the command's parameter list of `param_len` bytes (thread
/// context). A buffer shorter than the CDB said is a PARAMETER LIST LENGTH
/// ERROR: the list the device server got is not the one the CDB describes.
pub(crate) fn param_list(c: &mut Cmd, param_len: impl Into<u32>) -> Result<KVec<u8>, Sense> {
    crate::sys::context::assert_may_sleep();
    let param_len: u32 = param_len.into();
    if c.desc.data_len < param_len {
        return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
    }
    let mut list = KVec::new();
    list.extend_with(param_len as usize, 0u8, GFP_KERNEL).map_err(|_| BUSY)?;
    if c.data.list().copy_to(&mut list) != list.len() {
        return Err(Sense::PARAMETER_LIST_LENGTH_ERROR);
    }
    Ok(list)
}

/// Starts a command the core runs as several handler calls (thread
/// context), once it passed the write gate as `gated` says: `plan` sets up
/// `c.steps` from the command and its device.
fn start_steps(cmd: CmdPtr, frame: Frame, gated: Gated, plan: impl FnOnce(&mut Cmd) -> Result<(), Sense>) {
    let Some(mut cmd) = pass_gate(cmd, gated) else { return };
    let c = cmd.get();
    let planned = match c.mapped.as_ref() {
        Some(m) if m.dev.handler.ops.has_exec() => plan(c),
        // A raw-tier-only handler declined it.
        _ => Err(Sense::INVALID_OPCODE),
    };
    if let Err(sense) = planned {
        crate::steps::clear(c);
        set_check(c, sense);
        return finish_emulated(cmd, frame);
    }
    // No data goes back but GET LBA STATUS's (`finish_steps` sets it).
    c.desc.resid = resid(c.desc.expected_len, u64::from(c.desc.data_len));
    advance(c, Event::Execute { emulated: false });
    run_steps(cmd, frame)
}

/// Makes the next handler calls of a command that has `steps` (state
/// **Executing**, owned by the core between two calls), one after another
/// while each completes inside its call, until one is left to complete
/// later, one must wait for a thread, one fails, or none is left.
fn run_steps(mut cmd: CmdPtr, frame: Frame) {
    loop {
        let c = cmd.get();
        if c.session.aborted() {
            return finish_steps(cmd, frame);
        }
        let Some(m) = crate::steps::device_of_next_call(c) else {
            set_check(c, Sense::INTERNAL_TARGET_FAILURE);
            return finish_steps(cmd, frame);
        };
        let num_blocks = m.dev.num_blocks();
        if !exec_here(frame.ctx, m.dev.handler.ops.exec_atomic()) {
            // Before `steps::next`, which moves on to the next call:
            // `run_deferred` comes back here to make it.
            return defer(cmd, thread_queue);
        }
        let (handler, ctx, forced, shift) = (m.dev.handler.ops, m.dev.ctx, forced_fua(&m.dev), m.dev.geo.block_shift);
        cmd = match copy_gate(cmd) {
            Some(cmd) => cmd,
            // Queued at the destination's gate: `run_deferred` comes back
            // here once it holds its pass.
            None => return,
        };
        let c = cmd.get();
        if c.desc.status != status::GOOD {
            return finish_steps(cmd, frame);
        }
        let (op, lba, blocks, fua) = match crate::steps::next(c, num_blocks) {
            Next::Done => return finish_steps(cmd, frame),
            Next::Fail(sense) => {
                set_check(c, sense);
                return finish_steps(cmd, frame);
            }
            Next::Call { op, lba, blocks, fua } => (op, lba, blocks, fua),
        };
        c.desc.io_op = op;
        c.desc.lba = lba;
        c.desc.blocks = blocks;
        // The device's own (an EXTENDED COPY's devices may differ).
        c.desc.block_shift = shift;
        // What changes the medium reaches it while the write cache is off.
        c.desc.fua = u8::from((fua || forced) && matches!(op, io_op::WRITE | io_op::DISCARD));
        c.desc.provisioning = 0;
        if matches!(op, io_op::READ | io_op::WRITE) {
            // The bytes of this call (WRITE SAME's buffer holds a chunk, a
            // read-back's spare buffer one READ).
            c.desc.data_len = blocks << c.desc.block_shift;
        }
        let Some(m) = crate::steps::device_of_next_call(c) else { return finish_steps(cmd, frame) };
        let active = ExecActive::begin(&m.dev);
        let back = handler.exec(ctx, cmd);
        drop(active);
        match back {
            // Completed inside the call: `handler_finished` said whether
            // there is more.
            Some(mut done) => {
                if done.get().state != State::Executing {
                    return respond(done, frame);
                }
                cmd = done;
            }
            // The completion continues it.
            None => return,
        }
    }
}

/// Before each call of an EXTENDED COPY: the call checked again
/// (`copy::check_next_call`; a refusal ends the copy with its sense), and
/// for a WRITE a shared pass of the destination's write gate, as a WRITE
/// from the initiator would hold (given back when it completed,
/// `handler_finished`). None: queued at the gate.
fn copy_gate(mut cmd: CmdPtr) -> Option<CmdPtr> {
    let c = cmd.get();
    let Steps::Copy(cp) = &c.steps else { return Some(cmd) };
    if let Err(sense) = crate::copy::check_next_call(cp, &c.session.port) {
        set_check(c, sense);
        return Some(cmd);
    }
    match crate::copy::destination_of_next_call(cp) {
        None => {
            leave_gate(c);
            Some(cmd)
        }
        // Came back from the gate's queue with its pass.
        Some(_) if c.gate.hold.held() => Some(cmd),
        Some(dev) => {
            let Some(counted) = DeviceRef::count(dev) else {
                set_check(c, crate::scsi::xcopy::COPY_TARGET_NOT_REACHABLE);
                return Some(cmd);
            };
            c.gate_elsewhere = Some(counted);
            pass_gate(cmd, Gated::Shared)
        }
    }
}

/// The last call of a command with `steps` completed, failed, or the command
/// was aborted: its answer (GET LBA STATUS's data) is written, and it is
/// done.
fn finish_steps(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    if c.desc.status == status::GOOD && !c.session.aborted() {
        match crate::steps::finish(c) {
            Ok(0) => {}
            Ok(n) => c.desc.resid = resid(c.desc.expected_len, n as u64),
            Err(sense) => set_check(c, sense),
        }
    }
    crate::steps::clear(c);
    advance(c, Event::ExecDone);
    respond(cmd, frame)
}

/// Whether what changes the medium must reach it: while the write cache the
/// core manages is off.
fn forced_fua(dev: &Device) -> bool {
    dev.handler.ops.manages_write_cache() && !dev.write_cache.load(Ordering::Relaxed)
}

fn finish_emulated(mut cmd: CmdPtr, frame: Frame) {
    advance(cmd.get(), Event::Execute { emulated: true });
    respond(cmd, frame)
}

fn dispatch(mut cmd: CmdPtr, frame: Frame, op: u8, lba: u64, blocks: u32, fua: bool) {
    let c = cmd.get();
    // A residual overflow transfers only the blocks the buffer holds.
    let blocks = if op == io_op::FLUSH { blocks } else { blocks.min(c.desc.data_len >> c.desc.block_shift) };
    if blocks == 0 && op != io_op::FLUSH {
        c.desc.resid = io_resid(c);
        return finish_emulated(cmd, frame);
    }
    c.desc.io_op = op;
    c.desc.lba = lba;
    c.desc.blocks = blocks;
    let Some(m) = c.mapped.as_ref() else {
        set_check(c, Sense::LUN_NOT_SUPPORTED);
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    };
    // With the write cache the core manages off, every WRITE is forced to
    // the medium.
    c.desc.fua = u8::from(fua || (op == io_op::WRITE && forced_fua(&m.dev)));
    if !m.dev.handler.ops.has_exec() {
        // A raw-tier-only handler declined a READ, WRITE or FLUSH.
        set_check(c, Sense::INVALID_OPCODE);
        return finish_emulated(cmd, frame);
    }
    let atomic_ok = m.dev.handler.ops.exec_atomic();
    let bytes = u64::from(blocks) << c.desc.block_shift;
    let stats = c.session.stats.local();
    match op {
        io_op::READ => {
            stats.read_cmds.fetch_add(1, Ordering::Relaxed);
            stats.read_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        io_op::WRITE => {
            stats.write_cmds.fetch_add(1, Ordering::Relaxed);
            stats.write_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        _ => {}
    }
    c.desc.resid = io_resid(c);
    let gated = if op == io_op::WRITE { Gated::Shared } else { Gated::No };
    // Queued at the gate, it comes back through `run_deferred` to `exec`.
    let Some(cmd) = pass_gate(cmd, gated) else { return };
    // `ready` just checked for an abort.
    call_here_or_defer(cmd, frame, atomic_ok, exec)
}

/// A deferred step, in a workqueue thread: what runs depends on where the
/// command is.
pub fn run_deferred(mut cmd: CmdPtr) {
    let frame = Frame::THREAD;
    let c = cmd.get();
    if c.state == State::Done {
        // A response the fabric could not take where it was produced.
        return respond(cmd, frame);
    }
    if c.state == State::Executing {
        // The next handler call of a command with `steps`.
        return run_steps(cmd, frame);
    }
    // Aborted while queued: do not run it.
    if c.session.aborted() {
        advance(c, Event::Rejected);
        return respond(cmd, frame);
    }
    match c.state {
        // Handed in from hard IRQ: parsed here in the shared queue, but as
        // if atomic, so that what may block (a large buffer, a handler's
        // `exec`) goes on in the device's own queue.
        State::New if !c.parsed => start_parsed(cmd, Frame { ctx: Context::Atomic, in_fabric_call: false }),
        // Parsed in atomic context with a large buffer to allocate.
        State::New => with_buffer(cmd, frame),
        State::DataWait => request_data(cmd, frame),
        _ => match c.desc.io_op {
            // Passed the write gate on its way to `start_steps` (its raw
            // tier, if any, declined it already).
            io_op::NONE if c.gate.hold.held() => emulate(cmd, frame),
            // Write data arrived in hard IRQ: not dispatched yet.
            io_op::NONE => ready(cmd, frame),
            io_op::SCSI => offer_raw(cmd, frame),
            _ => exec(cmd, frame),
        },
    }
}

fn exec(cmd: CmdPtr, frame: Frame) {
    if let Some(Some(cmd)) = run_handler(cmd, frame, |h, ctx, cmd| h.exec(ctx, cmd)) {
        // Completed before `exec` returned: go on here, where the frame
        // says whether the fabric may be called.
        respond(cmd, frame)
    }
}

/// The handler finished (any context).
pub fn exec_done(mut cmd: CmdPtr, sense: Sense) {
    let c = cmd.get();
    if sense.key != 0 {
        set_check(c, sense);
    }
    handler_finished(cmd)
}

/// A handler completed the command (its status set): it goes on here, or
/// in the handler call still running if it completed inside it.
fn handler_finished(mut cmd: CmdPtr) {
    let c = cmd.get();
    if c.steps.running() {
        // One call of several: the command stays Executing, and the core
        // makes the next call (or finishes it), here or in the call still
        // running if the handler completed inside it.
        let num_blocks = c.mapped.as_ref().map_or(0, |m| m.dev.num_blocks());
        if c.desc.status == status::GOOD {
            crate::steps::record(c, num_blocks);
            if matches!(c.steps, Steps::Copy(_)) {
                // An EXTENDED COPY's WRITE is done with the destination's
                // gate (any context: leaving only queues work).
                leave_gate(c);
            }
        } else {
            // Failed: no more calls. An EXTENDED COPY says the copy failed
            // (the device that failed is not the one the initiator spoke to).
            if matches!(c.steps, Steps::Copy(_)) {
                set_check(c, crate::scsi::xcopy::THIRD_PARTY_DEVICE_FAILURE);
            }
            crate::steps::clear(c);
            advance(c, Event::ExecDone);
        }
        if let Some(mut cmd) = cmd.completed_by_handler() {
            if cmd.get().state == State::Executing {
                // Not from inside the handler's own completion call, which
                // may hold the locks its `exec` takes: from a thread of the
                // device (`run_deferred` makes the next call).
                return defer(cmd, thread_queue);
            }
            return respond(cmd, callback_frame());
        }
        return;
    }
    advance(c, Event::ExecDone);
    if let Some(cmd) = cmd.completed_by_handler() {
        respond(cmd, callback_frame())
    }
}

/// The raw tier finished (any context): `status`, `sense` and the residual
/// of `data_len` come from a handler (perhaps one in user space), so each
/// is checked before it reaches the initiator.
pub fn scsi_done(mut cmd: CmdPtr, status: u8, sense: &[u8], handler_resid: i32) {
    let c = cmd.get();
    let sense_ok = Sense::parse(sense).is_some();
    if !status::is_known(status) || (status == status::CHECK_CONDITION && !sense_ok) {
        if BAD_ANSWER_LOG.allow(crate::sys::time::now_ms()) {
            pr_err!("LUN {}: handler completed tag {:#x} with status {:#x} and {} sense bytes that are no SCSI answer\n",
                c.desc.lun, c.desc.tag, status, sense.len());
        }
        set_check(c, Sense::INTERNAL_TARGET_FAILURE);
    } else {
        c.desc.status = status;
        c.desc.sense_len = 0;
        if status == status::CHECK_CONDITION {
            let n = sense.len().min(SENSE_BUF_LEN);
            c.desc.sense[..n].copy_from_slice(&sense[..n]);
            c.desc.sense_len = n as u8;
            c.session.stats.local().errors.fetch_add(1, Ordering::Relaxed);
        }
        c.desc.resid = raw_resid(c.desc.expected_len, c.desc.data_len, c.overflow, handler_resid);
    }
    handler_finished(cmd)
}

/// The residual the initiator gets when the raw tier left `handler_resid`
/// bytes of the `data_len` the command transfers untouched (bounded by
/// the buffer), or said the device had `-handler_resid` bytes more than
/// it (an overflow, reported only when the buffer was filled, as is the
/// core's own `overflow` of a READ or WRITE longer than the buffer).
fn raw_resid(expected_len: u32, data_len: u32, overflow: u32, handler_resid: i32) -> i32 {
    let full = data_len == expected_len;
    if full && data_len != 0 && handler_resid < 0 {
        return handler_resid;
    }
    let left = u32::try_from(handler_resid).unwrap_or(0).min(data_len);
    if full && left == 0 && overflow != 0 {
        return -(overflow.min(i32::MAX as u32) as i32);
    }
    resid(expected_len, u64::from(data_len - left))
}

/// Hands the response to the fabric (or, for an aborted command, lets the
/// fabric release it silently), here if its template allows, otherwise
/// from per-CPU work.
fn respond(mut cmd: CmdPtr, frame: Frame) {
    let c = cmd.get();
    if c.qerr == QErrStep::Unchecked {
        note_aca(c);
    }
    match c.qerr {
        QErrStep::Unchecked if qerr_aborts(c) != crate::scsi::task_set::Aborts::Nothing => {
            c.qerr = QErrStep::Queued;
            return defer(cmd, |c| &c.session.target.fabric.core.wq);
        }
        QErrStep::Unchecked => c.qerr = QErrStep::Done,
        QErrStep::Queued => apply_qerr(c),
        QErrStep::Done => {}
    }
    // Done with the medium (after QErr aborted the writes queued behind
    // it): they may go on. Its status is final: it leaves the task set.
    leave_gate(c);
    leave_task_set(c);
    let ops = c.session.target.fabric.ops;
    if !may_call_fabric(frame, ops.rules(false)) {
        return defer(cmd, |c| &c.session.target.fabric.core.fabric_wq);
    }
    if c.session.aborted() {
        // Aborted after its CHECK CONDITION established an ACA condition:
        // the initiator never sees it, so the condition goes.
        let generation = core::mem::take(&mut c.faulted);
        if let (1.., Some(m)) = (generation, c.mapped.as_ref()) {
            crate::aca::undo(&m.dev, generation);
        }
        if c.session.answers_task_aborted() {
            // TAS: the initiator gets TASK ABORTED status, with no data.
            c.desc.sense_len = 0;
            c.desc.resid = resid(c.desc.expected_len, 0);
        } else {
            c.desc.aborted = 1;
        }
        c.desc.status = status::TASK_ABORTED;
    }
    advance(c, Event::Transmit);
    ops.xmit_response(cmd)
}

/// The fabric is done: release everything (any context).
pub fn tx_done(mut cmd: CmdPtr) {
    let c = cmd.get();
    advance(c, Event::TxDone);
    release(c);
    cmd.free()
}

/// Gives back what a command holds: its device reference and SGV buffer.
/// Idempotent. (Its in-flight entry goes when it is freed, see
/// [`crate::sys::ops::SessionRef`].)
pub fn release(c: &mut Cmd) {
    leave_gate(c);
    end_aca_command(c, false);
    leave_task_set(c);
    crate::steps::clear(c);
    c.mapped = None;
    if let Some(b) = c.data.take_owned() {
        c.desc.sg = core::ptr::null_mut();
        c.desc.sg_cnt = 0;
        c.session.target.fabric.core.sgv.free(b);
    }
}
