// SPDX-License-Identifier: GPL-2.0
//! The C ABI between `rscst.ko` and the fabric and device-handler modules.
//!
//! Rust items cannot cross `.ko` boundaries in Linux 6.12, so modules talk
//! through `#[repr(C)]` tables and exported `extern "C"` functions. This file
//! is the single declaration of that ABI: the core and every module compile it
//! in (`#[path]`), and the host tests pin its layout. Bump [`ABI_VERSION`] on
//! any change to a structure here; registration refuses a mismatch of version
//! or structure size.
//!
//! Ownership rules (the same for every fabric and handler): a command
//! ([`CmdDesc`]) has exactly one owner at a time.
//! - The fabric owns it from `rscst_rx_cmd` to `rscst_cmd_start`, during
//!   `rdy_to_xfer` until `rscst_cmd_rx_data_done`, and from `xmit_response`
//!   until `rscst_cmd_tx_done`. It writes only `fabric_priv`, `task_attr`
//!   (before `rscst_cmd_start`) and the data buffer (write data).
//! - A handler owns it from its `exec` callback until `rscst_cmd_exec_done`,
//!   or from its `exec_scsi` callback until `rscst_cmd_scsi_done` (or
//!   `rscst_cmd_exec_done`) unless it answered `NOT_HANDLED`, and writes only
//!   the data buffer (read data).
//! - The core owns it otherwise.
//!
//! Template state: every callback gets the registered table's `ctx` first
//! (the fabric's or handler's own object), so a module reaches its state
//! through that argument, never through a global.
//!
//! Contexts: entry points marked "any context" may be called from process
//! context, softirq and hard IRQ (the core's data-path locks disable
//! interrupts). The core calls a fabric's `rdy_to_xfer` and `xmit_response`
//! in atomic context, or from inside the fabric's own call into the core,
//! only when the fabric's [`fabric_flags`] allow it; otherwise from per-CPU
//! work in a thread. It calls a handler's `exec` in atomic context only with
//! [`handler_flags::EXEC_ATOMIC`], and never in hard IRQ; `exec_scsi`
//! likewise.

#![cfg_attr(not(CONFIG_RUST), no_std)]
#![allow(unsafe_code)] // `unsafe extern "C" fn` pointer types only; no unsafe blocks.

use core::ffi::{c_char, c_int, c_void};

/// Version of the structures below.
pub const ABI_VERSION: u32 = 8;

/// Longest CDB a command carries (variable-length CDBs up to 32 bytes).
pub const MAX_CDB_LEN: usize = 32;
/// Sense bytes a command carries (SPC-4 allows up to 252; 96 covers fixed and
/// descriptor sense with a few descriptors, as SCST does).
pub const SENSE_BUF_LEN: usize = 96;
/// The longest READ or WRITE the core accepts, in bytes: reported as VPD page
/// B0h's MAXIMUM TRANSFER LENGTH and refused beyond it (INVALID FIELD IN
/// CDB), so that a command's buffer (copy mode allocates one) stays bounded
/// whatever the initiator asks. Fabrics size their requests by it.
pub const MAX_TRANSFER_BYTES: u32 = 8 << 20;
/// Longest initiator or target name, including the NUL (iSCSI names are <= 223).
pub const NAME_LEN: usize = 256;

/// Data direction of a command, as the fabric saw it and as the CDB says.
pub mod dir {
    /// No data phase.
    pub const NONE: u8 = 0;
    /// Data-in: target to initiator (READ).
    pub const READ: u8 = 1;
    /// Data-out: initiator to target (WRITE).
    pub const WRITE: u8 = 2;
    /// Both (bidirectional commands, XDWRITEREAD).
    pub const BIDI: u8 = 3;
}

/// What a handler's `exec` is asked to do (the core emulates everything else).
pub mod io_op {
    /// None yet: the core has not dispatched the command.
    pub const NONE: u8 = 0;
    /// Read `blocks` at `lba` into the command's buffer.
    pub const READ: u8 = 1;
    /// Write the command's buffer to `blocks` at `lba`.
    pub const WRITE: u8 = 2;
    /// Make `blocks` at `lba` (0 = to the end) durable.
    pub const FLUSH: u8 = 3;
    /// Raw SCSI tier: the handler's `exec_scsi` sees the CDB itself (set
    /// while the command waits for, or runs in, `exec_scsi`).
    pub const SCSI: u8 = 4;
    /// Deallocate `blocks` at `lba` (UNMAP, WRITE SAME with UNMAP): asked
    /// only of devices set up `thin_provisioned`. Afterwards those blocks
    /// read as zeros (the core reports LBPRZ). No data buffer.
    pub const DISCARD: u8 = 5;
    /// Report the provisioning of the blocks from `lba` (GET LBA STATUS):
    /// the handler sets `blocks` to how many blocks from `lba` on share
    /// one state (at least 1) and `provisioning` to that state
    /// ([`provisioning`]). `blocks` arrives as the most the core wants.
    /// Asked only of devices set up `thin_provisioned`. No data buffer.
    pub const LBA_STATUS: u8 = 6;
}

/// Provisioning states a handler reports for [`io_op::LBA_STATUS`] (SBC-4's
/// PROVISIONING STATUS).
pub mod provisioning {
    /// The blocks are mapped (hold data).
    pub const MAPPED: u8 = 0;
    /// The blocks are deallocated (read as zeros).
    pub const DEALLOCATED: u8 = 1;
}

/// What a handler's `exec_scsi` answers.
pub mod scsi_exec {
    use core::ffi::c_int;
    /// The handler took the command and completes it (at once or later)
    /// with `rscst_cmd_scsi_done` or `rscst_cmd_exec_done`.
    pub const ACCEPTED: c_int = 0;
    /// The handler does not handle this CDB: the core emulates it (and
    /// hands READ, WRITE and FLUSH to the block tier's `exec`). The command
    /// stays the core's; the handler must not have touched it.
    pub const NOT_HANDLED: c_int = 1;
}

/// SAM-5 status codes a handler may answer with `rscst_cmd_scsi_done`.
pub mod scsi_status {
    /// GOOD.
    pub const GOOD: u8 = 0x00;
    /// CHECK CONDITION (sense data required).
    pub const CHECK_CONDITION: u8 = 0x02;
    /// CONDITION MET.
    pub const CONDITION_MET: u8 = 0x04;
    /// BUSY.
    pub const BUSY: u8 = 0x08;
    /// RESERVATION CONFLICT.
    pub const RESERVATION_CONFLICT: u8 = 0x18;
    /// TASK SET FULL.
    pub const TASK_SET_FULL: u8 = 0x28;
    /// ACA ACTIVE.
    pub const ACA_ACTIVE: u8 = 0x30;
    /// TASK ABORTED.
    pub const TASK_ABORTED: u8 = 0x40;
}

/// Task attributes (SAM-5 8.6), as fabrics pass them in `CmdDesc::task_attr`
/// (each fabric maps its own codes onto these; an untagged command is
/// SIMPLE).
pub mod task_attr {
    /// SIMPLE (the default: zero).
    pub const SIMPLE: u8 = 0;
    /// HEAD OF QUEUE.
    pub const HEAD_OF_QUEUE: u8 = 1;
    /// ORDERED.
    pub const ORDERED: u8 = 2;
    /// ACA.
    pub const ACA: u8 = 4;
}

/// Task management functions (SAM-5), as fabrics pass them in.
pub mod tmf {
    /// ABORT TASK (one command by tag).
    pub const ABORT_TASK: u8 = 1;
    /// ABORT TASK SET (all of this I_T nexus's commands on a LUN).
    pub const ABORT_TASK_SET: u8 = 2;
    /// CLEAR TASK SET (all commands on a LUN, every nexus).
    pub const CLEAR_TASK_SET: u8 = 3;
    /// LOGICAL UNIT RESET.
    pub const LUN_RESET: u8 = 4;
    /// TARGET RESET (every LUN of the target).
    pub const TARGET_RESET: u8 = 5;
    /// I_T NEXUS RESET (every command of the session).
    pub const NEXUS_LOSS: u8 = 6;
    /// QUERY TASK: whether the command `tag` of this I_T nexus is in the
    /// task set of `lun` (answered [`super::tmf_result::SUCCEEDED`] if so,
    /// `COMPLETE` if not); nothing is aborted.
    pub const QUERY_TASK: u8 = 7;
    /// QUERY TASK SET: whether any command of this I_T nexus is in the task
    /// set of `lun`.
    pub const QUERY_TASK_SET: u8 = 8;
    /// QUERY ASYNCHRONOUS EVENT: whether a unit attention is pending for
    /// this I_T nexus at `lun` (which one: `tmf_done`'s `info`).
    pub const QUERY_ASYNC_EVENT: u8 = 9;
    /// CLEAR ACA: clears the ACA condition of the logical unit behind
    /// `lun` if this I_T nexus is its faulted one (aborting its ACA command
    /// in progress); [`super::tmf_result::REJECTED`] if another nexus is.
    pub const CLEAR_ACA: u8 = 10;
}

/// Results of a task management function.
pub mod tmf_result {
    use core::ffi::c_int;
    /// Function complete.
    pub const COMPLETE: c_int = 0;
    /// The task or LUN does not exist (for the QUERY functions: the LUN, an
    /// INCORRECT LOGICAL UNIT NUMBER; a task not found is `COMPLETE`).
    pub const NOT_FOUND: c_int = 1;
    /// Function rejected (unsupported).
    pub const REJECTED: c_int = 2;
    /// Function failed.
    pub const FAILED: c_int = 3;
    /// FUNCTION SUCCEEDED: the answer of a QUERY function that found what
    /// it asked about.
    pub const SUCCEEDED: c_int = 4;
}

/// Handler flags.
pub mod handler_flags {
    /// `exec` never sleeps: the core may call it from the fabric's context
    /// (which may be atomic) instead of deferring to a thread.
    pub const EXEC_ATOMIC: u32 = 1 << 0;
    /// A successful READ of the block tier fills every byte of the buffer.
    /// Otherwise the core zeroes reused buffers before a READ, so no stale
    /// data of another command can reach the initiator. Ignored for handlers
    /// with a raw tier (which may answer a READ itself).
    pub const FILLS_READS: u32 = 1 << 1;
    /// The device has a volatile write cache the initiator may switch off:
    /// the caching mode page's WCE is changeable by MODE SELECT, the core
    /// shows the device's `write_through` attribute, and while the cache is
    /// off every WRITE reaches the handler with FUA set. The handler then
    /// needs no write-through setting of its own: it honours FUA.
    pub const WRITE_CACHE: u32 = 1 << 2;
}

/// [`FabricOps::protocol`] values.
pub mod protocol {
    /// Fibre Channel.
    pub const FCP: u32 = 0x0;
    /// SCSI RDMA Protocol.
    pub const SRP: u32 = 0x4;
    /// iSCSI.
    pub const ISCSI: u32 = 0x5;
    /// Serial Attached SCSI, and loopback fabrics (as SCST's scst_local).
    pub const SAS: u32 = 0x6;
}

/// Fabric flags: where the core may call the fabric's callbacks.
pub mod fabric_flags {
    /// `xmit_response` may be called in atomic context (softirq, or with
    /// preemption disabled), never in hard IRQ.
    pub const XMIT_ATOMIC: u32 = 1 << 0;
    /// `rdy_to_xfer` may be called in atomic context.
    pub const RDY_TO_XFER_ATOMIC: u32 = 1 << 1;
    /// The core may call `rdy_to_xfer` and `xmit_response` from inside the
    /// fabric's own `rscst_cmd_start` or `rscst_cmd_rx_data_done` (a fabric
    /// that holds a lock of its own across those calls must not set it).
    pub const REENTRANT: u32 = 1 << 2;
}

/// Opaque: a target as the core knows it.
#[repr(C)]
pub struct Target {
    _opaque: [u8; 0],
}

/// Opaque: a session (I_T nexus) as the core knows it.
#[repr(C)]
pub struct Session {
    _opaque: [u8; 0],
}

/// Opaque: a device as the core knows it.
#[repr(C)]
pub struct Device {
    _opaque: [u8; 0],
}

/// The part of a command that fabrics and handlers may see. It heads the
/// core's command object, so a `*mut CmdDesc` is the command's handle.
#[repr(C)]
pub struct CmdDesc {
    /// Initiator's task tag.
    pub tag: u64,
    /// LUN as a flat number (the fabric decodes SAM addressing).
    pub lun: u64,
    /// The CDB; `cdb_len` bytes are valid.
    pub cdb: [u8; MAX_CDB_LEN],
    /// Valid bytes in `cdb`.
    pub cdb_len: u8,
    /// [`dir`] value the fabric expects.
    pub expected_dir: u8,
    /// [`dir`] value the CDB implies (set by the core before `rdy_to_xfer`;
    /// for a CDB only a raw tier understands, the fabric's `expected_dir`).
    pub data_dir: u8,
    /// SCSI status for the response (valid in `xmit_response`).
    pub status: u8,
    /// Valid bytes in `sense`.
    pub sense_len: u8,
    /// Non-zero when the command was aborted (by a TMF, session loss, or a
    /// CHECK CONDITION of another of its nexus's commands under QErr): the
    /// fabric must not send a response, only release it with `tx_done`. (A
    /// command another I_T nexus's TMF aborted on a logical unit with TAS
    /// set comes with `aborted` 0 and status TASK ABORTED: it is answered.)
    pub aborted: u8,
    /// [`io_op`] for the handler's `exec`, or [`io_op::SCSI`] for its
    /// `exec_scsi`.
    pub io_op: u8,
    /// Force unit access requested.
    pub fua: u8,
    /// Transfer length the fabric announced.
    pub expected_len: u32,
    /// Bytes the command really transfers (set by the core after parsing).
    pub data_len: u32,
    /// Residual for the response: positive for underrun, negative for overrun.
    pub resid: i32,
    /// Scatter-gather list (`struct scatterlist *`) holding the data.
    pub sg: *mut c_void,
    /// Entries in `sg`.
    pub sg_cnt: u32,
    /// log2 of the device's block size (for `lba`/`blocks`).
    pub block_shift: u32,
    /// First block for `io_op`.
    pub lba: u64,
    /// Block count for `io_op`.
    pub blocks: u32,
    /// CPU the command arrived on (for handlers that keep per-CPU queues).
    pub cpu: u32,
    /// Sense data for a CHECK CONDITION.
    pub sense: [u8; SENSE_BUF_LEN],
    /// The fabric's per-command context.
    pub fabric_priv: *mut c_void,
    /// The handler's per-device context (set by the core before `exec`).
    pub dev_priv: *mut c_void,
    /// The fabric's per-session context, as it passed it to
    /// `rscst_session_register` (set by the core in `rscst_rx_cmd`).
    pub sess_priv: *mut c_void,
    /// The handler's answer to [`io_op::LBA_STATUS`] ([`provisioning`]).
    pub provisioning: u8,
    /// The command's [`task_attr`], set by the fabric before
    /// `rscst_cmd_start` (zero, SIMPLE, unless it says otherwise).
    pub task_attr: u8,
    /// Reserved, zero.
    pub _reserved: [u8; 6],
}

/// What a handler reports about a device it attached.
#[repr(C)]
pub struct DeviceSetup {
    /// The handler's per-device context, in each command's `dev_priv` and
    /// passed to `detach`, `show_attr` and `task_mgmt`.
    pub dev_priv: *mut c_void,
    /// Capacity in blocks.
    pub num_blocks: u64,
    /// Block size in bytes (512..=4096, a power of two).
    pub block_size: u32,
    /// The device refuses writes.
    pub read_only: u8,
    /// The device has a volatile write cache (WCE=1 in the caching page).
    pub write_cache: u8,
    /// The medium rotates.
    pub rotational: u8,
    /// The size is configuration, not a property of the backing store (nullio's
    /// `size`): the `size` attribute then carries SCST's `[key]` marker so that
    /// a configuration saved from sysfs keeps it. Was reserved (zero) before.
    pub size_is_key: u8,
    /// The device deallocates blocks: the handler's `exec` takes
    /// [`io_op::DISCARD`] and [`io_op::LBA_STATUS`], and deallocated blocks
    /// read as zeros (UNMAP, WRITE SAME with UNMAP and GET LBA STATUS are
    /// offered; READ CAPACITY(16) reports LBPME and LBPRZ).
    pub thin_provisioned: u8,
}

impl Default for DeviceSetup {
    fn default() -> Self {
        DeviceSetup {
            dev_priv: core::ptr::null_mut(),
            num_blocks: 0,
            block_size: 0,
            read_only: 0,
            write_cache: 0,
            rotational: 0,
            size_is_key: 0,
            thin_provisioned: 0,
        }
    }
}

/// A device handler (vdisk_fileio, vdisk_nullio, ...), registered with
/// `rscst_register_handler`. The table must stay valid until unregistered.
#[repr(C)]
pub struct HandlerOps {
    /// Must be [`ABI_VERSION`].
    pub abi_version: u32,
    /// Must be `size_of::<HandlerOps>()`.
    pub struct_size: u32,
    /// NUL-terminated handler name, the directory under `handlers/`.
    pub name: *const c_char,
    /// [`handler_flags`].
    pub flags: u32,
    /// SCSI peripheral device type it emulates (0 = disk, 5 = CD/DVD).
    /// With a raw tier and a type other than 0, every command the core does
    /// not keep (REPORT LUNS, reservations, REQUEST SENSE with a unit
    /// attention pending, target port groups) reaches `exec_scsi`
    /// undecoded, with the fabric's expected direction and length: SBC's
    /// decoding of the same opcodes would size them wrong there.
    pub device_type: u32,
    /// The handler's own object, passed to every callback as `ctx`.
    pub ctx: *mut c_void,
    /// NUL-terminated help for `add_device` parameters (shown by the handler's
    /// `mgmt` file), e.g. "filename, blocksize, read_only".
    pub params_help: *const c_char,
    /// Opens a device: parse `params` (the `k=v; k=v` string, not
    /// NUL-terminated), fill `setup`. Returns 0 or a negative errno; on error
    /// it may write a NUL-terminated message into `msg` (`msg_len` bytes).
    pub attach: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            name: *const u8,
            name_len: usize,
            params: *const u8,
            params_len: usize,
            setup: *mut DeviceSetup,
            msg: *mut u8,
            msg_len: usize,
        ) -> c_int,
    >,
    /// Optional: releases a device after the core drained its commands.
    pub detach: Option<unsafe extern "C" fn(ctx: *mut c_void, dev_priv: *mut c_void)>,
    /// The block tier: starts `cmd.io_op` (READ, WRITE, FLUSH); completes
    /// later (or at once) through `rscst_cmd_exec_done`. Called in thread
    /// context unless the handler set [`handler_flags::EXEC_ATOMIC`]. Inside
    /// `exec` a handler may complete only the command it was given (others
    /// it completes from its own context: the core could otherwise call a
    /// fabric back from inside the fabric's own call). Optional when
    /// `exec_scsi` is set: without it READ, WRITE and FLUSH that reach the
    /// block tier get INVALID COMMAND OPERATION CODE.
    pub exec: Option<unsafe extern "C" fn(ctx: *mut c_void, cmd: *mut CmdDesc)>,
    /// The raw SCSI tier (optional): called for each command of the device
    /// the core did not refuse (unknown LUN, a bad field in a CDB it
    /// implements, a medium change on a read-only LUN, an abort), once its
    /// write data
    /// arrived and before the core emulates anything, with `cmd.io_op` ==
    /// [`io_op::SCSI`]. The handler reads `cdb`, `data_dir`, `data_len` and
    /// the buffer, and either answers [`scsi_exec::ACCEPTED`] and completes
    /// the command with `rscst_cmd_scsi_done` (any status, sense, residual),
    /// or answers [`scsi_exec::NOT_HANDLED`] without having touched it (nor
    /// its buffer), and never completes it then. Any other answer is logged
    /// and taken as ACCEPTED. Commands the core does not implement reach it
    /// too,
    /// with the fabric's expected direction and length (not bidirectional,
    /// at most [`MAX_TRANSFER_BYTES`]). Contexts and the rule on completing
    /// inside the call are those of `exec`.
    pub exec_scsi: Option<unsafe extern "C" fn(ctx: *mut c_void, cmd: *mut CmdDesc) -> c_int>,
    /// Writes attribute `index` (0-based, in `attr_names` order) of a device
    /// into `buf` (`len` bytes, NUL-free), returns bytes written.
    pub show_attr: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            dev_priv: *mut c_void,
            index: u32,
            buf: *mut u8,
            len: usize,
        ) -> usize,
    >,
    /// Names of attributes shown under `devices/<name>/` besides the core's
    /// own: NUL-separated, ended by an empty name (`b"filename\0nv_cache\0\0"`).
    /// May be null.
    pub attr_names: *const c_char,
    /// Optional: task management function `function` ([`tmf`]) marked
    /// commands of this device aborted. The handler may finish those it owns
    /// early (`rscst_cmd_exec_done`, any status: the core answers TASK
    /// ABORTED or nothing), after checking each with `rscst_cmd_aborted`; a
    /// user-space backend reclaims their ring space. Called from a core
    /// thread before the TMF waits for the commands; may sleep.
    pub task_mgmt:
        Option<unsafe extern "C" fn(ctx: *mut c_void, dev_priv: *mut c_void, function: u8)>,
    /// Optional: the size of the device's backing store now, in bytes, or a
    /// negative errno: writing the device's `resync_size` attribute (SCST's)
    /// makes the core read it again and take it as the new capacity
    /// (CAPACITY DATA HAS CHANGED to every I_T nexus). Thread context; may
    /// sleep. Without it `resync_size` is refused.
    pub size: Option<unsafe extern "C" fn(ctx: *mut c_void, dev_priv: *mut c_void) -> i64>,
}

/// A fabric (target driver: scst_local, iscsi, srpt, ...), registered with
/// `rscst_register_fabric`. The table must stay valid until unregistered.
#[repr(C)]
pub struct FabricOps {
    /// Must be [`ABI_VERSION`].
    pub abi_version: u32,
    /// Must be `size_of::<FabricOps>()`.
    pub struct_size: u32,
    /// NUL-terminated driver name: the directory under `targets/`.
    pub name: *const c_char,
    /// [`fabric_flags`].
    pub flags: u32,
    /// The SCSI transport protocol's PROTOCOL IDENTIFIER (SPC-4 7.6.1: 0
    /// Fibre Channel, 4 SRP, 5 iSCSI, 6 SAS, which loopback fabrics use):
    /// what the TransportIDs of the fabric's initiators are made of
    /// (persistent reservations name initiator ports by them). At most 0xF.
    pub protocol: u32,
    /// The fabric's global context.
    pub ctx: *mut c_void,
    /// NUL-terminated help for the driver's own `mgmt` commands.
    pub mgmt_help: *const c_char,
    /// A target was created by `add_target NAME [params]`. Returns 0 or a
    /// negative errno; sets `*tgt_priv`.
    pub add_target: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            tgt: *mut Target,
            name: *const u8,
            name_len: usize,
            params: *const u8,
            params_len: usize,
            tgt_priv: *mut *mut c_void,
        ) -> c_int,
    >,
    /// The target is being deleted: unregister its sessions before
    /// returning.
    pub del_target: Option<unsafe extern "C" fn(ctx: *mut c_void, tgt_priv: *mut c_void)>,
    /// Any other command written to `targets/<driver>/mgmt`
    /// (e.g. scst_local's `add_session`). Returns 0 or a negative errno and
    /// may leave a NUL-terminated message in `msg`.
    pub mgmt: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            line: *const u8,
            len: usize,
            msg: *mut u8,
            msg_len: usize,
        ) -> c_int,
    >,
    /// `enabled` was written for a target.
    pub enable: Option<
        unsafe extern "C" fn(ctx: *mut c_void, tgt_priv: *mut c_void, enable: bool) -> c_int,
    >,
    /// Write data is needed in `cmd.sg` (an SGV buffer: the fabric passed
    /// no buffer with the command): the fabric fetches it and calls
    /// `rscst_cmd_rx_data_done`. Commands that came with the initiator's own
    /// buffer (loopback zero copy) never get here.
    pub rdy_to_xfer: Option<unsafe extern "C" fn(ctx: *mut c_void, cmd: *mut CmdDesc) -> c_int>,
    /// The response is ready (status, sense, data in `sg`). The fabric sends
    /// it, or skips sending when `cmd.aborted`, then calls `rscst_cmd_tx_done`.
    pub xmit_response: Option<unsafe extern "C" fn(ctx: *mut c_void, cmd: *mut CmdDesc)>,
    /// A LUN appeared for session `sess` (`added`) or is about to disappear
    /// from it (called before the core stops serving it, so the initiator can
    /// flush). Process context, management lock held: do not call back into
    /// management.
    pub luns_changed: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            tgt_priv: *mut c_void,
            sess: *mut Session,
            lun: u64,
            added: bool,
        ),
    >,
    /// The task management function submitted with `tmf_priv` finished with
    /// `result` ([`tmf_result`]): every command it aborted has been released.
    /// `info` is the ADDITIONAL RESPONSE INFORMATION (SAM-5 7.1), three
    /// bytes in its low 24 bits, for the fabrics whose TMF response carries
    /// it (FCP's): for a QUERY ASYNCHRONOUS EVENT answered
    /// [`tmf_result::SUCCEEDED`], the unit attention it found (byte 0: UADE
    /// DEPTH in bits 5..4, SENSE KEY in bits 3..0; byte 1 ASC; byte 2
    /// ASCQ); zero otherwise. Called once per accepted `rscst_task_mgmt`,
    /// from a core thread. Required to submit task management functions.
    pub tmf_done: Option<
        unsafe extern "C" fn(ctx: *mut c_void, tmf_priv: *mut c_void, result: c_int, info: u32),
    >,
    /// Optional: a unit attention condition was established at `lun` for
    /// the session whose context is `sess_priv` (what the fabric passed to
    /// `rscst_session_register`; others may be pending there too): a fabric
    /// whose protocol reports asynchronous events (iSCSI's Asynchronous
    /// Message, SRP's AER) may tell the initiator now rather than with its
    /// next command. The condition stays pending until a command reports
    /// it. Any context (a MODE SELECT's thread, a TMF, management), under a
    /// spinlock of the session that `rscst_session_unregister` takes too:
    /// the fabric only queues work here, calls nothing in the core, and
    /// takes no lock it holds across `rscst_session_unregister`. It is also
    /// called from inside `rscst_session_register` (the new session's power
    /// on, at each LUN), before the fabric has the session's handle.
    pub ua_raised: Option<unsafe extern "C" fn(ctx: *mut c_void, sess_priv: *mut c_void, lun: u64)>,
}

/// Signatures of the functions `rscst.ko` exports. The core checks its
/// definitions against them and every client its declarations, so both sides
/// of the module boundary agree at compile time.
pub mod exports {
    use super::*;

    /// `rscst_abi_version() -> ABI_VERSION`.
    pub type AbiVersion = unsafe extern "C" fn() -> u32;
    /// `rscst_register_handler(ops) -> 0 | -errno`.
    pub type RegisterHandler = unsafe extern "C" fn(ops: *const HandlerOps) -> c_int;
    /// `rscst_unregister_handler(ops)`: deletes its devices first.
    pub type UnregisterHandler = unsafe extern "C" fn(ops: *const HandlerOps);
    /// `rscst_register_fabric(ops) -> 0 | -errno`.
    pub type RegisterFabric = unsafe extern "C" fn(ops: *const FabricOps) -> c_int;
    /// `rscst_unregister_fabric(ops)`: deletes its targets first.
    pub type UnregisterFabric = unsafe extern "C" fn(ops: *const FabricOps);
    /// `rscst_session_register(tgt, initiator, len, sess_priv) -> session | NULL`.
    /// Process context.
    pub type SessionRegister = unsafe extern "C" fn(
        tgt: *mut Target,
        initiator: *const u8,
        initiator_len: usize,
        sess_priv: *mut c_void,
    ) -> *mut Session;
    /// `rscst_session_unregister(session)`: aborts and waits for its commands.
    /// Process context.
    pub type SessionUnregister = unsafe extern "C" fn(sess: *mut Session);
    /// `rscst_rx_cmd(...) -> command | NULL` (NULL: out of memory, answer
    /// BUSY). Any context. The fabric may set `fabric_priv` and then must
    /// call `rscst_cmd_start`.
    pub type RxCmd = unsafe extern "C" fn(
        sess: *mut Session,
        lun: u64,
        cdb: *const u8,
        cdb_len: u32,
        tag: u64,
        expected_dir: u8,
        expected_len: u32,
        sg: *mut c_void,
        sg_cnt: u32,
    ) -> *mut CmdDesc;
    /// `rscst_cmd_start(cmd, atomic)`: `atomic` says whether the caller's
    /// context may not sleep.
    pub type CmdStart = unsafe extern "C" fn(cmd: *mut CmdDesc, atomic: bool);
    /// `rscst_cmd_rx_data_done(cmd, ok)`: write data arrived (or failed).
    pub type CmdRxDataDone = unsafe extern "C" fn(cmd: *mut CmdDesc, ok: bool);
    /// `rscst_cmd_exec_done(cmd, key, asc, ascq)`: handler finished; key 0 =
    /// GOOD, otherwise CHECK CONDITION with that sense. Any context.
    pub type CmdExecDone = unsafe extern "C" fn(cmd: *mut CmdDesc, key: u8, asc: u8, ascq: u8);
    /// `rscst_cmd_scsi_done(cmd, status, sense, sense_len, resid)`: the raw
    /// tier's completion. `status` is a [`scsi_status`] code; `sense` (fixed
    /// or descriptor format, `sense_len` bytes, at most [`SENSE_BUF_LEN`]
    /// kept) goes with CHECK CONDITION; `resid` counts the bytes of
    /// `data_len` not transferred (negative: the device had that much more
    /// than a buffer it filled). The core checks all of it: an unknown
    /// status, or CHECK CONDITION without valid sense, becomes CHECK
    /// CONDITION HARDWARE ERROR / INTERNAL TARGET FAILURE; a positive
    /// residual is bounded by the buffer, a negative one is reported only
    /// for a non-empty buffer the command filled. Any context.
    pub type CmdScsiDone = unsafe extern "C" fn(
        cmd: *mut CmdDesc,
        status: u8,
        sense: *const u8,
        sense_len: u32,
        resid: i32,
    );
    /// `rscst_cmd_tx_done(cmd)`: the fabric is finished with the command.
    pub type CmdTxDone = unsafe extern "C" fn(cmd: *mut CmdDesc);
    /// `rscst_sg_copy(dst, dst_nents, src, src_nents, len) -> bytes copied`:
    /// copies between two scatterlists (a fabric moving data between its
    /// transport buffers and a command's SGV buffer). Any context.
    pub type SgCopy = unsafe extern "C" fn(
        dst: *mut c_void,
        dst_nents: u32,
        src: *mut c_void,
        src_nents: u32,
        len: usize,
    ) -> usize;
    /// `rscst_task_mgmt(sess, function, lun, tag, tmf_priv) -> 0 | -errno`:
    /// submits a task management function and returns at once. On 0 the
    /// fabric's `tmf_done(tmf_priv, result)` is called exactly once, when
    /// every command it aborted has been released; on an error (-ENOMEM,
    /// -EINVAL without `tmf_done`) it is not called. Any context.
    pub type TaskMgmt = unsafe extern "C" fn(
        sess: *mut Session,
        function: u8,
        lun: u64,
        tag: u64,
        tmf_priv: *mut c_void,
    ) -> c_int;
    /// `rscst_cmd_aborted(cmd) -> bool`: whether a TMF or session loss
    /// aborted the command (a handler may then skip its I/O). Any context,
    /// by the command's current owner.
    pub type CmdAborted = unsafe extern "C" fn(cmd: *mut CmdDesc) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    // The layout is the ABI: changing it without bumping ABI_VERSION breaks
    // every out-of-tree fabric, so pin it.
    #[test]
    fn cmd_desc_layout_is_pinned() {
        assert_eq!(offset_of!(CmdDesc, tag), 0);
        assert_eq!(offset_of!(CmdDesc, lun), 8);
        assert_eq!(offset_of!(CmdDesc, cdb), 16);
        assert_eq!(offset_of!(CmdDesc, cdb_len), 48);
        assert_eq!(offset_of!(CmdDesc, expected_len), 56);
        assert_eq!(offset_of!(CmdDesc, sg), 72);
        assert_eq!(offset_of!(CmdDesc, sense), 104);
        assert_eq!(offset_of!(CmdDesc, dev_priv), 208);
        assert_eq!(offset_of!(CmdDesc, sess_priv), 216);
        assert_eq!(offset_of!(CmdDesc, provisioning), 224);
        assert_eq!(offset_of!(CmdDesc, task_attr), 225);
        assert_eq!(size_of::<CmdDesc>(), 232);
    }

    #[test]
    fn ops_tables_have_stable_sizes() {
        assert_eq!(size_of::<HandlerOps>(), 104);
        assert_eq!(size_of::<FabricOps>(), 112);
        assert_eq!(offset_of!(FabricOps, protocol), 20);
        assert_eq!(size_of::<DeviceSetup>(), 32);
    }
}
