// SPDX-License-Identifier: GPL-2.0
//! The core object: the sysfs root and the registries of handlers, devices
//! and fabrics.
//!
//! Locking: `Core::reg` (a mutex) serialises every management operation and
//! is never taken on the data path. Sysfs entries are created under it but
//! removed only after it is released ("teardown" below), because removing a
//! sysfs file waits for its running show/store calls, which may be waiting for
//! this very mutex, and every store first checks that its object is not
//! dead (flags set under `reg` when an object is removed).
//!
//! Lock order (a partial order; a lock is only taken while holding locks
//! listed before it): `Core::reg` -> `Core::alua` -> `Target::sessions` -> `Target::groups`
//! -> `Group::inner` -> the sysfs mutexes (`Handler::sysfs`,
//! `Device::sysfs`, `LunSet::sysfs`, `Target::sysfs`, `Session::sysfs`) ->
//! `Session::release_lock` -> one shard of `Session::inflight` at a time.
//! `Core::last`, `Sgv::pools` and each CPU's `Sgv::cpus`
//! lock are taken alone (never two of them at once). A
//! session's group and the LUN tables are read under RCU (no lock).

use crate::sys::compat::NameBytes;
use crate::device::Device;
use crate::fabric::Fabric;
use crate::handler::Handler;
use crate::msg::{MgmtResult, Msg};
use crate::sys::sysfs::{Attr, AttrOps, Dir, TextBuf};
use crate::sys::work::{QueueKind, Workqueue};
use core::fmt::Write;
use core::sync::atomic::AtomicU64;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

/// The SCST release whose sysfs interface rscst answers to: the first line of
/// /sys/kernel/scst_tgt/version, which SCST's tools (scstadmin) read and
/// compare against their minimum (2.0.0), exactly as SCST prints it.
pub const SCST_COMPAT_VERSION: &str = "3.7.0";
/// rscst's own version, on a line of its own after the SCST version (where
/// SCST lists its build options).
pub const VERSION: &str = "0.1.0";

/// Objects whose sysfs entries go away after the registry lock is released.
pub trait Teardown: Send + Sync {
    /// Removes sysfs entries, drains commands, releases backends.
    fn teardown(&self);
}

/// What management operations collect for removal after unlocking.
///
/// A burial must not fail once an object is out of the registry (it would
/// be dropped without its teardown, its sysfs files left behind). So
/// `run_mgmt` makes room for [`Graveyard::ROOM`] burials before a command
/// starts, and a command that buries more reserves room for them with
/// [`Graveyard::reserve`] before it changes anything.
pub struct Graveyard(KVec<Arc<dyn Teardown>>);

impl Graveyard {
    /// Burials every command has room for: ordinary commands bury one or two.
    pub const ROOM: usize = 4;

    /// Makes room for `n` more burials; call before changing anything.
    pub fn reserve(&mut self, n: usize) -> MgmtResult {
        self.0.reserve(n, GFP_KERNEL).map_err(|_| crate::mgmt_err!(ENOMEM, "out of memory"))
    }

    /// Queues `obj` for teardown after the lock is released (within the
    /// room made for it, this does not allocate).
    pub fn bury(&mut self, obj: Arc<dyn Teardown>) -> MgmtResult {
        self.0.push(obj, GFP_KERNEL).map_err(|_| crate::mgmt_err!(ENOMEM, "out of memory"))
    }
}

/// Every registered object.
#[derive(Default)]
pub struct Registry {
    /// Device handlers by registration order.
    pub handlers: KVec<Arc<Handler>>,
    /// Devices; `None` marks a freed slot.
    pub devices: KVec<Option<Arc<Device>>>,
    /// Fabrics (target drivers).
    pub fabrics: KVec<Arc<Fabric>>,
    /// Targets of every fabric; `None` marks a freed slot.
    pub targets: KVec<Option<Arc<crate::target::Target>>>,
}

impl Registry {
    /// The device called `name`.
    pub fn device(&self, name: &[u8]) -> Option<&Arc<Device>> {
        self.devices.iter().flatten().find(|d| d.name.name_bytes() == name)
    }

    /// Stores a device in a free slot.
    pub fn add_device(&mut self, d: Arc<Device>) -> Result {
        crate::slots::insert(&mut self.devices, d, GFP_KERNEL)?;
        Ok(())
    }

    /// Removes the device called `name`.
    pub fn take_device(&mut self, name: &[u8]) -> Option<Arc<Device>> {
        self.devices
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|d| d.name.name_bytes() == name))
            .and_then(|s| s.take())
    }
}

/// The result of the last management command, for `last_sysfs_mgmt_res`.
struct LastResult {
    errno: i32,
    msg: Msg,
}

/// The core.
#[pin_data]
pub struct Core {
    attrs: KVec<Attr>,
    /// Registries; the management lock.
    #[pin]
    pub reg: Mutex<Registry>,
    last: Arc<Mutex<LastResult>>,
    /// Threads for command steps that may sleep and belong to no device
    /// (buffers of commands to unmapped LUNs).
    pub wq: Workqueue,
    /// Per-CPU work calling fabric callbacks that may not run where the
    /// command was (atomic context, or inside the fabric's own call).
    pub fabric_wq: Workqueue,
    /// Threads running task management functions.
    pub tmf_wq: Workqueue,
    /// The TMF epoch: each TMF submitted opens a new one, and each command
    /// records the epoch it arrived in. A TMF affects the commands of the
    /// epochs before its own: those that arrived before it was submitted.
    /// Commands only read it, so CPUs receiving commands share its cache
    /// line instead of bouncing it.
    pub tmf_epoch: AtomicU64,
    /// The live targets by relative target port identifier, readable
    /// without `reg` (under RCU): how a command thread finds every I_T
    /// nexus of a device (`crate::ua::raise_on_device`).
    pub live_targets: crate::sys::rcu::RcuMap<Arc<crate::target::Target>>,
    /// Data buffers for commands without the initiator's own.
    pub sgv: Arc<crate::sgv::Sgv>,
    /// The commands' slab cache (`rscst_cmd` in /proc/slabinfo).
    pub cmds: crate::sys::slab::Slab<crate::cmd::Cmd>,
    /// `handlers/`.
    pub handlers_dir: Dir,
    /// `devices/`.
    pub devices_dir: Dir,
    /// `targets/`.
    pub targets_dir: Dir,
    /// `sgv/`.
    pub sgv_dir: Dir,
    /// `device_groups/`.
    pub device_groups_dir: Dir,
    /// The ALUA device groups (see `crate::alua` for its lock order).
    #[pin]
    pub alua: Mutex<crate::alua::Alua>,
    /// `/sys/kernel/scst_tgt`.
    pub root: Dir,
}

struct VersionAttr;
impl AttrOps for VersionAttr {
    fn show(&self, out: &mut TextBuf<'_>) {
        let _ = writeln!(out, "{}", SCST_COMPAT_VERSION);
        let _ = writeln!(out, "rscst {}", VERSION);
    }
}

struct LastResAttr {
    last: Arc<Mutex<LastResult>>,
}

impl AttrOps for LastResAttr {
    fn show(&self, out: &mut TextBuf<'_>) {
        let last = self.last.lock();
        let _ = writeln!(out, "{}", last.errno);
        if !last.msg.as_bytes().is_empty() {
            out.push(last.msg.as_bytes());
            out.push(b"\n");
        }
    }
}

/// Runs a management step that must happen whatever memory there is (a
/// module's unregistration: its exit cannot fail). Each attempt changes
/// nothing unless it can finish (its allocations come first), so it is
/// retried until memory allows; other errors end it.
/// The failure is logged on the first attempt and then once a minute.
pub fn until_done(core: &Core, what: &[u8], mut f: impl FnMut(&mut Registry, &mut Graveyard) -> MgmtResult) {
    let mut attempt = 0u32;
    loop {
        match core.run_mgmt_logged(what, &mut f, attempt % 60 == 0) {
            Err(e) if e == ENOMEM => {
                attempt = attempt.wrapping_add(1);
                crate::sys::time::sleep_ms(1000)
            }
            _ => return,
        }
    }
}

impl Core {
    /// The PROTOCOL IDENTIFIER of the live target whose relative target
    /// port identifier is `id`, if there is one.
    pub fn rel_tgt_protocol(&self, id: u16) -> Option<u8> {
        let mut found = None;
        self.live_targets.for_each(|_, t| {
            if t.rel_tgt_id == id {
                found = Some(t.fabric.ops.protocol());
            }
        });
        found
    }

    /// Calls `f` with every live target, holding no lock (thread context;
    /// a target added or removed meanwhile may or may not be seen).
    pub fn for_each_target(&self, mut f: impl FnMut(&Arc<crate::target::Target>)) -> Result {
        let mut count = 0usize;
        self.live_targets.for_each(|_, _| count += 1);
        let mut targets = KVec::with_capacity(count, GFP_KERNEL)?;
        let mut oom = false;
        // Within the capacity unless targets were added meanwhile.
        self.live_targets.for_each(|_, t| oom |= targets.push(t.clone(), kernel::alloc::flags::GFP_ATOMIC).is_err());
        if oom {
            return Err(ENOMEM);
        }
        targets.iter().for_each(&mut f);
        Ok(())
    }

    /// Creates the sysfs root and an empty registry.
    pub fn new() -> Result<Arc<Core>> {
        let root = Dir::new(None, c"scst_tgt")?;
        let handlers_dir = Dir::new(Some(&root), c"handlers")?;
        let devices_dir = Dir::new(Some(&root), c"devices")?;
        let targets_dir = Dir::new(Some(&root), c"targets")?;
        let sgv_dir = Dir::new(Some(&root), c"sgv")?;
        let device_groups_dir = Dir::new(Some(&root), c"device_groups")?;
        let mut attrs = KVec::new();
        attrs.push(root.add_attr(c"version", 0o444, Arc::new(VersionAttr, GFP_KERNEL)?)?, GFP_KERNEL)?;
        let last = Arc::pin_init(new_mutex!(LastResult { errno: 0, msg: Msg::new() }, "rscst_last_res"), GFP_KERNEL)?;
        let res_attr = LastResAttr { last: last.clone() };
        attrs.push(root.add_attr(c"last_sysfs_mgmt_res", 0o444, Arc::new(res_attr, GFP_KERNEL)?)?, GFP_KERNEL)?;
        let wq = Workqueue::new(c"rscst_wq", QueueKind::Blocking { max_active: 0 })?;
        let fabric_wq = Workqueue::new(c"rscst_fabric", QueueKind::PerCpu)?;
        let tmf_wq = Workqueue::new(c"rscst_tmf", QueueKind::Blocking { max_active: 0 })?;
        let cmds = crate::sys::slab::Slab::new(c"rscst_cmd")?;
        let live_targets = crate::sys::rcu::RcuMap::new()?;
        let sgv = Arc::pin_init(crate::sgv::Sgv::new(), GFP_KERNEL)?;
        let stats = crate::sgv::SgvStats { sgv: sgv.clone() };
        attrs.push(sgv_dir.add_attr(c"global_stats", 0o444, Arc::new(stats, GFP_KERNEL)?)?, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Core {
                attrs,
                reg <- new_mutex!(Registry::default(), "rscst_registry"),
                last,
                wq,
                fabric_wq,
                tmf_wq,
                tmf_epoch: AtomicU64::new(1),
                live_targets,
                sgv,
                cmds,
                handlers_dir,
                devices_dir,
                targets_dir,
                sgv_dir,
                device_groups_dir,
                alua <- new_mutex!(crate::alua::Alua::default(), "rscst_alua"),
                root,
            }),
            GFP_KERNEL,
        )
    }

    /// Runs one management command: under the registry lock, then the
    /// teardown of what it removed, then records the result for
    /// `last_sysfs_mgmt_res` and the kernel log. Returns the errno for the
    /// writer.
    pub fn run_mgmt(
        &self,
        what: &[u8],
        f: impl FnOnce(&mut Registry, &mut Graveyard) -> MgmtResult,
    ) -> Result {
        self.run_mgmt_logged(what, f, true)
    }

    /// [`Core::run_mgmt`], logging a failure only when `log` is set (the
    /// result is recorded either way).
    fn run_mgmt_logged(
        &self,
        what: &[u8],
        f: impl FnOnce(&mut Registry, &mut Graveyard) -> MgmtResult,
        log: bool,
    ) -> Result {
        let mut grave = Graveyard(KVec::new());
        let res = match grave.reserve(Graveyard::ROOM) {
            Ok(()) => {
                let mut reg = self.reg.lock();
                f(&mut reg, &mut grave)
            }
            Err(e) => Err(e),
        };
        for obj in grave.0.iter() {
            obj.teardown();
        }
        drop(grave);
        let mut last = self.last.lock();
        match res {
            Ok(()) => {
                last.errno = 0;
                last.msg = Msg::new();
                Ok(())
            }
            Err(e) => {
                let cmd = core::str::from_utf8(what).unwrap_or("?").trim_end();
                // A failure that ends a retried step is always logged.
                if log || e.err != ENOMEM {
                    pr_err!("\"{}\": {}\n", cmd, e.msg.as_str());
                }
                last.errno = e.err.to_errno();
                last.msg = e.msg;
                Err(e.err)
            }
        }
    }
}
