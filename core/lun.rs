// SPDX-License-Identifier: GPL-2.0
//! LUN tables (a target's default set and each access group's) and their
//! `luns/` sysfs directory with its `mgmt` file.
//!
//! Locking: `table` is a spinlock taken on the data path (LUN lookup) and by
//! management to swap entries; nothing that sleeps or frees a device runs
//! under it. `sysfs` is a mutex taken by management only, inside `Core::reg`.

use crate::device::Device;
use crate::mgmt::commands::{parse_lun_cmd, LunCmd};
use crate::msg::MgmtResult;
use crate::registry::{Graveyard, Registry, Teardown};
use crate::sys::sysfs::{Attr, AttrOps, Dir, Link, TextBuf};
use core::sync::atomic::Ordering;
use kernel::alloc::flags::{GFP_ATOMIC, GFP_KERNEL};
use kernel::fmt;
use kernel::prelude::*;
use crate::sys::lock::IrqSpinLock;
use crate::sys::ops::DeviceRef;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;
use crate::mgmt_err;

/// Highest LUN number accepted (SAM flat addressing: 14 bits).
pub const MAX_LUN: u64 = 16383;

/// One mapping in a LUN table.
#[derive(Clone)]
pub struct LunEntry {
    /// LUN number.
    pub lun: u64,
    /// The device behind it.
    pub dev: Arc<Device>,
    /// Writes refused through this LUN.
    pub read_only: bool,
}

/// What a lookup returns: the device, counted as in flight until dropped.
pub struct Mapped {
    /// The device.
    pub dev: DeviceRef,
    /// Writes refused through this LUN.
    pub read_only: bool,
}

/// A LUN table and its `luns/` directory.
#[pin_data]
pub struct LunSet {
    #[pin]
    table: IrqSpinLock<KVec<Option<LunEntry>>>,
    #[pin]
    sysfs: Mutex<LunSetSysfs>,
}

struct LunSysfs {
    lun: u64,
    _attrs: KVec<Attr>,
    _link: Link,
    _dir: Dir,
}

struct LunSetSysfs {
    luns: KVec<Option<LunSysfs>>,
    attrs: KVec<Attr>,
    dir: Option<Dir>,
}

struct LunReadOnly {
    read_only: bool,
}

impl AttrOps for LunReadOnly {
    fn show(&self, out: &mut TextBuf<'_>) {
        let _ = crate::device::key_attr(out, u8::from(self.read_only), self.read_only);
    }
}

/// Hooks the owner of a LUN set (a target or an access group) gets.
pub trait LunOwner: Send + Sync {
    /// A LUN appeared, or is about to go: tell the fabric.
    fn lun_changed(&self, lun: u64, added: bool);
    /// The LUN set this is.
    fn lun_set(&self) -> &LunSet;
    /// Deleted (checked under `Core::reg`): management refuses.
    fn is_dead(&self) -> bool;
    /// The core whose management lock guards the set.
    fn core(&self) -> crate::sys::abi::CoreRef;
}

struct LunMgmt {
    owner: Arc<dyn LunOwner>,
}

const LUN_MGMT_HELP: &str = "Usage: echo \"add H:C:I:L lun [parameters]\" >mgmt\n       \
echo \"add VNAME lun [parameters]\" >mgmt\n       \
echo \"del lun\" >mgmt\n       \
echo \"replace H:C:I:L lun [parameters]\" >mgmt\n       \
echo \"replace VNAME lun [parameters]\" >mgmt\n       \
echo \"clear\" >mgmt\n\n\
where parameters are one or more param_name=value pairs separated by ';'\n\n\
The following parameters available: read_only\n";

impl AttrOps for LunMgmt {
    fn show(&self, out: &mut TextBuf<'_>) {
        out.push(LUN_MGMT_HELP.as_bytes());
    }

    fn store(&self, input: &[u8]) -> Result {
        let owner = &*self.owner;
        let core = owner.core();
        let set = owner.lun_set();
        core.run_mgmt(input, |reg, _grave| match parse_lun_cmd(input) {
            _ if owner.is_dead() => Err(mgmt_err!(ENOENT, "target or group is being deleted")),
            Ok(LunCmd::Add { device, lun, params }) => set.add(owner, reg, device, lun, params, false),
            Ok(LunCmd::Replace { device, lun, params }) => set.add(owner, reg, device, lun, params, true),
            Ok(LunCmd::Del { lun }) => set.del(owner, lun),
            Ok(LunCmd::Clear) => set.clear(Some(owner)),
            Err(e) => Err(mgmt_err!(EINVAL, "{}", e.message())),
        })
    }
}

impl LunSet {
    /// An empty set.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(LunSet {
            table <- crate::new_irq_spinlock!(KVec::new(), "rscst_lun_table"),
            sysfs <- new_mutex!(LunSetSysfs { luns: KVec::new(), attrs: KVec::new(), dir: None }, "rscst_lun_sysfs"),
        })
    }

    /// Creates `parent/luns/` with its `mgmt` file.
    pub fn create_sysfs(&self, parent: &Dir, owner: Arc<dyn LunOwner>) -> Result {
        let dir = Dir::new(Some(parent), c"luns")?;
        let mgmt = dir.add_attr(c"mgmt", 0o644, Arc::new(LunMgmt { owner }, GFP_KERNEL)?)?;
        let mut s = self.sysfs.lock();
        s.attrs.push(mgmt, GFP_KERNEL)?;
        s.dir = Some(dir);
        Ok(())
    }

    /// Looks `lun` up for a command (data path, any context).
    pub fn lookup(&self, lun: u64) -> Option<Mapped> {
        let t = self.table.lock();
        let e = t.iter().flatten().find(|e| e.lun == lun)?;
        // Counted under the table lock: a device removed from the table after
        // this still waits for the command (see Device::teardown).
        Some(Mapped { dev: DeviceRef::count(&e.dev)?, read_only: e.read_only })
    }

    /// The `i`th slot of the table: None past the end, `Some(None)` for an
    /// empty slot, else the LUN and its device (counted, as by `lookup`).
    /// Lets callers that sleep between entries walk the table without
    /// holding its lock or copying it.
    pub fn lun_at(&self, i: usize) -> Option<Option<(u64, Mapped)>> {
        let t = self.table.lock();
        let slot = t.get(i)?;
        Some(slot.as_ref().and_then(|e| Some((e.lun, Mapped { dev: DeviceRef::count(&e.dev)?, read_only: e.read_only }))))
    }

    /// Calls `f` with every LUN number, in table order (REPORT LUNS).
    pub fn for_each_lun(&self, mut f: impl FnMut(u64)) {
        let t = self.table.lock();
        for e in t.iter().flatten() {
            f(e.lun);
        }
    }

    /// Number of LUNs.
    pub fn count(&self) -> usize {
        self.table.lock().iter().flatten().count()
    }

    fn add(
        &self,
        owner: &dyn LunOwner,
        reg: &Registry,
        device: &str,
        lun: u64,
        params: crate::mgmt::params::Params<'_>,
        replace: bool,
    ) -> MgmtResult {
        if lun > MAX_LUN {
            return Err(mgmt_err!(EINVAL, "LUN {} too large (max {})", lun, MAX_LUN));
        }
        let Some(dev) = reg.device(device.as_bytes()).cloned() else {
            return Err(mgmt_err!(ENOENT, "device {} not found", device));
        };
        let mut read_only = dev.geo.read_only;
        for p in params {
            match p {
                Ok(("read_only", v)) => {
                    read_only |= crate::mgmt::params::parse_bool(v)
                        .map_err(|_| mgmt_err!(EINVAL, "read_only must be 0 or 1, not '{}'", v))?;
                }
                Ok((k, _)) => return Err(mgmt_err!(EINVAL, "unknown LUN parameter '{}'", k)),
                Err(e) => return Err(mgmt_err!(EINVAL, "{}", e.message())),
            }
        }
        let exists = self.table.lock().iter().flatten().any(|e| e.lun == lun);
        if exists && !replace {
            return Err(mgmt_err!(EEXIST, "LUN {} already exists", lun));
        }
        if exists {
            self.take(Some(owner), lun);
        }
        let entry = LunEntry { lun, dev: dev.clone(), read_only };
        self.add_sysfs(&dev, lun, read_only)
            .map_err(|e| crate::msg::MgmtError::new(e, format_args!("LUN {}: sysfs failed", lun)))?;
        {
            let mut t = self.table.lock();
            let res = crate::slots::insert(&mut t, entry, GFP_ATOMIC);
            if res.is_err() {
                drop(t);
                self.del_sysfs(lun);
                return Err(mgmt_err!(ENOMEM, "out of memory"));
            }
        }
        dev.exported.fetch_add(1, Ordering::AcqRel);
        owner.lun_changed(lun, true);
        pr_info!("LUN {} -> device {:?}{}\n", lun, dev.name, if read_only { " (read-only)" } else { "" });
        Ok(())
    }

    /// Removes `lun` from the table (telling `owner`'s fabric first); returns its entry.
    fn take(&self, owner: Option<&dyn LunOwner>, lun: u64) -> Option<LunEntry> {
        let present = self.table.lock().iter().flatten().any(|e| e.lun == lun);
        if let (true, Some(o)) = (present, owner) {
            o.lun_changed(lun, false);
        }
        let e = {
            let mut t = self.table.lock();
            t.iter_mut().find(|s| s.as_ref().is_some_and(|e| e.lun == lun)).and_then(|s| s.take())
        };
        if let Some(e) = &e {
            e.dev.exported.fetch_sub(1, Ordering::AcqRel);
            self.del_sysfs(lun);
        }
        e
    }

    fn del(&self, owner: &dyn LunOwner, lun: u64) -> MgmtResult {
        match self.take(Some(owner), lun) {
            Some(_) => Ok(()),
            None => Err(mgmt_err!(ENOENT, "LUN {} not found", lun)),
        }
    }

    /// Removes every LUN matching `pred`, one at a time and without
    /// allocating, so that no failure can leave one behind; returns how many.
    fn take_all(&self, owner: Option<&dyn LunOwner>, pred: impl Fn(&LunEntry) -> bool) -> usize {
        let mut n = 0;
        loop {
            let next = self.table.lock().iter().flatten().find(|e| pred(e)).map(|e| e.lun);
            let Some(lun) = next else { return n };
            self.take(owner, lun);
            n += 1;
        }
    }

    fn clear(&self, owner: Option<&dyn LunOwner>) -> MgmtResult {
        self.take_all(owner, |_| true);
        Ok(())
    }

    /// Removes every LUN of `dev` (device deletion by its handler). After it
    /// returns no LUN of this set maps `dev`.
    pub fn drop_device(&self, owner: &dyn LunOwner, dev: &Arc<Device>) -> bool {
        self.take_all(Some(owner), |e| Arc::ptr_eq(&e.dev, dev)) != 0
    }

    fn add_sysfs(&self, dev: &Arc<Device>, lun: u64, read_only: bool) -> Result {
        let mut s = self.sysfs.lock();
        let Some(parent) = s.dir.as_ref() else { return Ok(()) };
        let name = kernel::str::CString::try_from_fmt(fmt!("{}", lun))?;
        let dir = Dir::new(Some(parent), &name)?;
        let link = dev.with_dir(|d| d.map(|d| dir.add_link(d, c"device")).transpose())?;
        let Some(link) = link else { return Err(ENODEV) };
        let mut attrs = KVec::new();
        attrs.push(dir.add_attr(c"read_only", 0o444, Arc::new(LunReadOnly { read_only }, GFP_KERNEL)?)?, GFP_KERNEL)?;
        let entry = LunSysfs { lun, _attrs: attrs, _link: link, _dir: dir };
        crate::slots::insert(&mut s.luns, entry, GFP_KERNEL)?;
        Ok(())
    }

    fn del_sysfs(&self, lun: u64) {
        let gone = {
            let mut s = self.sysfs.lock();
            s.luns.iter_mut().find(|e| e.as_ref().is_some_and(|e| e.lun == lun)).and_then(|e| e.take())
        };
        // Removed unlocked: the LUN's files take no lock, but keep the rule.
        drop(gone);
    }

    /// LUN numbers that map `dev` (for LUN-scoped TMFs); all of them or an
    /// error, never a partial list.
    pub fn luns_of(&self, dev: &Device) -> Result<KVec<u64>> {
        let mut v = KVec::new();
        let t = self.table.lock();
        for e in t.iter().flatten() {
            if core::ptr::eq(&*e.dev, dev) {
                v.push(e.lun, GFP_ATOMIC)?;
            }
        }
        Ok(v)
    }
}

impl Teardown for LunSet {
    fn teardown(&self) {
        // The fabric already dropped its sessions: nobody to tell.
        let _ = self.clear(None);
        let parts = {
            let mut s = self.sysfs.lock();
            (core::mem::take(&mut s.attrs), core::mem::take(&mut s.luns), s.dir.take())
        };
        drop(parts);
    }
}

/// Removes `dev` from every target's LUN sets. Allocates nothing, so it
/// cannot stop halfway: afterwards no LUN anywhere maps `dev`.
pub fn drop_device_everywhere(reg: &Registry, dev: &Arc<Device>, _grave: &mut Graveyard) -> MgmtResult {
    for t in reg.targets.iter().flatten() {
        t.luns.drop_device(&**t, dev);
        // One group at a time, not under the groups lock (removing a LUN
        // calls into the fabric). Groups change only under the registry
        // lock, which the caller holds, so indices are stable.
        let mut i = 0;
        loop {
            let next = t.groups.lock().get(i).cloned();
            let Some(g) = next else { break };
            g.luns.drop_device(&*g, dev);
            i += 1;
        }
    }
    Ok(())
}
