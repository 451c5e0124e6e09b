// SPDX-License-Identifier: GPL-2.0
//! scst_local's targets and sessions: `add_target NAME`, then
//! `add_session TARGET SESSION` creates a SCSI host for that session.
//!
//! Locking: `Local::targets` then `LocalTarget::sessions` (mutexes, process
//! context). The core calls `lun_changed` and `del_target` with its
//! management lock held; we never call back into management.

use crate::scsi::luns::{flat_lun_of_linux, linux_lun_of_flat};
use crate::abi::{dir, fabric_flags, tmf, tmf_result, FabricOps, MAX_TRANSFER_BYTES};
use crate::sys::client::{FabricCmd, FabricTypes, Ops, SessionHandle, SessionId, TargetHandle};
use crate::sys::fabric_ops::{fabric_ops, FabricDriver};
use crate::sys::msgout::MsgOut;
use crate::sys::scsi_host::{Dir, HostOps, RootDevice, ScsiCmd, ScsiHost, Template};
use core::fmt::Write;
use kernel::alloc::flags::GFP_KERNEL;
use crate::sys::compat::{fmt, NameBytes};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

/// SCSI status GOOD.
const GOOD: u8 = 0;

/// Commands a host queues at once on each of its hardware queues (one per
/// online CPU, at most 16: `sys::scsi_host::hw_queues`), and on one LUN.
const CAN_QUEUE: i32 = 256;
/// Highest Linux LUN number the hosts accept: any, since REPORT LUNS lists
/// them (flat LUN 256 is 0x4100 to Linux; extended flat LUNs are larger).
const MAX_LUN: u64 = u64::MAX;

/// The ops table registered with the core (with a [`Local`] as its
/// context). Completing a command to the midlayer (`scsi_done`) and copying
/// write data are fine in any context and inside queuecommand.
pub const OPS: Ops<FabricOps, Local> = fabric_ops::<Local>(
    c"scst_local",
    crate::abi::protocol::SAS,
    fabric_flags::XMIT_ATOMIC | fabric_flags::RDY_TO_XFER_ATOMIC | fabric_flags::REENTRANT,
    c"       echo \"add_session target_name session_name\" >mgmt\n       echo \"del_session target_name session_name\" >mgmt\n\nadd_target parameters: zero_copy=0 copies data through the core's SGV buffers\n",
);

/// The fabric: its host template, the parent device of its hosts, and
/// its targets.
#[pin_data]
pub struct Local {
    tmpl: Template<LocalSession>,
    root: RootDevice,
    #[pin]
    targets: Mutex<KVec<Option<Arc<LocalTarget>>>>,
}

impl Local {
    /// Creates the host template and the parent device.
    pub fn new(module: &'static ThisModule) -> Result<Arc<Local>> {
        let tmpl = Template::new(c"rscst_local", module, CAN_QUEUE, MAX_TRANSFER_BYTES / 512)?;
        let root = RootDevice::new(c"rscst_local", module)?;
        Arc::pin_init(pin_init!(Local { tmpl, root, targets <- new_mutex!(KVec::new()) }), GFP_KERNEL)
    }
}

impl FabricTypes for Local {
    /// The midlayer's command, completed in `xmit_response`.
    type CmdPriv = ScsiCmd;
    type Session = SessionConfig;
}

/// What every command of a session needs to know of it.
pub struct SessionConfig {
    /// Hand the core the midlayer's buffers (true) or let it use SGV
    /// buffers and copy, as a network fabric would (false).
    zero_copy: bool,
}

/// A target.
#[pin_data]
pub struct LocalTarget {
    name: CString,
    zero_copy: bool,
    handle: TargetHandle<Local>,
    #[pin]
    sessions: Mutex<KVec<Option<SessionEntry>>>,
}

struct SessionEntry {
    name: CString,
    /// The core session's identity (see `FabricDriver::lun_changed`).
    session_id: SessionId,
    /// Dropping the host removes it and then unregisters the core session.
    host: ScsiHost<LocalSession>,
}

/// A session: the core session served by one SCSI host.
pub struct LocalSession {
    handle: SessionHandle<Local>,
}

/// The core's flat LUN number for Linux's midlayer LUN number (flat LUN 256
/// is 0x4100 to Linux, see `linux_lun_to_sam`). A number that is no flat
/// address maps to one the core never has, so the command gets LOGICAL UNIT
/// NOT SUPPORTED.
fn flat_lun(linux_lun: u64) -> u64 {
    flat_lun_of_linux(linux_lun).unwrap_or(u64::MAX)
}

impl HostOps for LocalSession {
    fn queue(&self, cmd: ScsiCmd) -> Result<(), ScsiCmd> {
        let d = match cmd.dir() {
            Dir::None => dir::NONE,
            Dir::Read => dir::READ,
            Dir::Write => dir::WRITE,
        };
        let (sg, nents) = if self.handle.context().zero_copy { cmd.sg() } else { (core::ptr::null_mut(), 0) };
        match self.handle.rx_cmd(flat_lun(cmd.lun()), cmd.cdb(), cmd.tag(), d, cmd.bufflen(), sg, nents) {
            Some(mut fc) => {
                fc.set_priv(cmd);
                fc.start(true);
                Ok(())
            }
            None => Err(cmd),
        }
    }

    fn abort(&self, lun: u64, tag: u64) -> bool {
        // Not found means it completed already: the abort succeeded too.
        self.handle.task_mgmt_wait(tmf::ABORT_TASK, flat_lun(lun), tag) != tmf_result::FAILED
    }

    fn lun_reset(&self, lun: u64) -> bool {
        self.handle.task_mgmt_wait(tmf::LUN_RESET, flat_lun(lun), 0) == tmf_result::COMPLETE
    }

    fn target_reset(&self) -> bool {
        self.handle.task_mgmt_wait(tmf::TARGET_RESET, 0, 0) == tmf_result::COMPLETE
    }
}

fn find_target(st: &Local, name: &str) -> Option<Arc<LocalTarget>> {
    st.targets.lock().iter().flatten().find(|t| t.name.name_bytes() == name.as_bytes()).cloned()
}

fn add_session(st: &Local, tgt: &str, sess: &str, msg: &mut MsgOut<'_>) -> Result {
    let Some(t) = find_target(st, tgt) else {
        let _ = write!(msg, "target {} not found", tgt);
        return Err(ENOENT);
    };
    if !crate::mgmt::commands::is_valid_device_name(sess) {
        let _ = write!(msg, "invalid session name '{}'", sess);
        return Err(EINVAL);
    }
    let mut list = t.sessions.lock();
    if list.iter().flatten().any(|s| s.name.name_bytes() == sess.as_bytes()) {
        let _ = write!(msg, "session {} already exists", sess);
        return Err(EEXIST);
    }
    // The handle is live: we run under the core's management lock, as does
    // del_target (see TargetHandle).
    let config = Arc::new(SessionConfig { zero_copy: t.zero_copy }, GFP_KERNEL)?;
    let handle = SessionHandle::register(t.handle, sess.as_bytes(), config).inspect_err(|_| {
        let _ = write!(msg, "the core refused session {}", sess);
    })?;
    let session_id = handle.id();
    let ops = Arc::new(LocalSession { handle }, GFP_KERNEL)?;
    let host = ScsiHost::new(&st.tmpl, &st.root, ops, MAX_LUN)?;
    pr_info!("session {} of {} is host{}\n", sess, tgt, host.host_no());
    let entry = SessionEntry { name: CString::try_from_fmt(fmt!("{}", sess))?, session_id, host };
    match list.iter_mut().find(|s| s.is_none()) {
        Some(slot) => *slot = Some(entry),
        None => list.push(Some(entry), GFP_KERNEL)?,
    }
    Ok(())
}

fn del_session(st: &Local, tgt: &str, sess: &str, msg: &mut MsgOut<'_>) -> Result {
    let Some(t) = find_target(st, tgt) else {
        let _ = write!(msg, "target {} not found", tgt);
        return Err(ENOENT);
    };
    let gone = {
        let mut list = t.sessions.lock();
        list.iter_mut().find(|s| s.as_ref().is_some_and(|s| s.name.name_bytes() == sess.as_bytes())).and_then(|s| s.take())
    };
    match gone {
        Some(entry) => {
            drop(entry);
            Ok(())
        }
        None => {
            let _ = write!(msg, "session {} not found on {}", sess, tgt);
            Err(ENOENT)
        }
    }
}

impl FabricDriver for Local {
    type Target = LocalTarget;

    fn add_target(&self, tgt: TargetHandle<Local>, name: &str, params: &str) -> Result<Arc<LocalTarget>> {
        let mut zero_copy = true;
        for p in crate::mgmt::params::Params::new(params) {
            match p {
                Ok(("zero_copy", v)) => zero_copy = crate::mgmt::params::parse_bool(v).map_err(|_| EINVAL)?,
                _ => return Err(EINVAL),
            }
        }
        let cname = CString::try_from_fmt(fmt!("{}", name))?;
        let t = Arc::pin_init(
            pin_init!(LocalTarget {
                name: cname,
                zero_copy,
                handle: tgt,
                sessions <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        let mut list = self.targets.lock();
        match list.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(t.clone()),
            None => list.push(Some(t.clone()), GFP_KERNEL)?,
        }
        Ok(t)
    }

    fn del_target(&self, t: Arc<LocalTarget>) {
        // Hosts go first: each drop removes the host and unregisters its session.
        let sessions = core::mem::take(&mut *t.sessions.lock());
        drop(sessions);
        for slot in self.targets.lock().iter_mut() {
            if slot.as_ref().is_some_and(|x| Arc::ptr_eq(x, &t)) {
                *slot = None;
            }
        }
    }

    fn mgmt(&self, line: &str, msg: &mut MsgOut<'_>) -> Result {
        let mut words = line.split_ascii_whitespace();
        let (verb, tgt, sess) = (words.next(), words.next(), words.next());
        if words.next().is_some() {
            let _ = write!(msg, "too many arguments");
            return Err(EINVAL);
        }
        match (verb, tgt, sess) {
            (Some("add_session"), Some(t), Some(s)) => add_session(self, t, s, msg),
            (Some("del_session"), Some(t), Some(s)) => del_session(self, t, s, msg),
            (Some("add_session" | "del_session"), _, _) => {
                let _ = write!(msg, "usage: {} target_name session_name", verb.unwrap_or(""));
                Err(EINVAL)
            }
            _ => {
                let _ = write!(msg, "unknown command");
                Err(EINVAL)
            }
        }
    }

    fn rdy_to_xfer(&self, mut cmd: FabricCmd<Local>) {
        let ok = match cmd.take_priv() {
            Some(scmd) => {
                let ok = scmd.copy_into(&mut cmd) == cmd.data_len() as usize;
                cmd.set_priv(scmd);
                ok
            }
            None => false,
        };
        cmd.rx_data_done(ok);
    }

    fn xmit_response(&self, mut cmd: FabricCmd<Local>) {
        // Complete before releasing: a TMF waiting for this command must not
        // return before the midlayer got its answer.
        if let Some(scmd) = cmd.take_priv() {
            if cmd.aborted() {
                // Aborted by a reset: the midlayer retries DID_RESET. A command
                // the error handler already owns (it timed out) ignores this.
                scmd.complete_reset();
            } else {
                if !cmd.session().zero_copy && scmd.dir() == Dir::Read && cmd.status() == GOOD {
                    // Copy mode: the data is in the core's SGV buffer.
                    let len = (scmd.bufflen() as i64 - i64::from(cmd.resid().max(0))).max(0) as usize;
                    scmd.copy_from(&cmd, len);
                }
                scmd.complete(cmd.status(), cmd.sense(), cmd.resid());
            }
        }
        cmd.tx_done();
    }

    fn lun_changed(&self, t: &LocalTarget, session: SessionId, lun: u64, added: bool) {
        let list = t.sessions.lock();
        for s in list.iter().flatten().filter(|s| s.session_id == session) {
            if added {
                s.host.add_lun(linux_lun_of_flat(lun));
            } else {
                s.host.remove_lun(linux_lun_of_flat(lun));
            }
        }
    }
}
