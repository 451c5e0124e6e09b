// SPDX-License-Identifier: GPL-2.0
//! LUN tables (a target's default set and each access group's) and their
//! `luns/` sysfs directory with its `mgmt` file.
//!
//! Locking: `table` is an xarray under RCU: the data path looks LUNs up
//! without a lock and without scanning; management stores and removes
//! entries (under `Core::reg`, or from the graveyard once the set is
//! unreachable) and frees a removed one only after a grace period; the
//! xarray's own lock makes each erasure return an entry once. `sysfs` is a mutex taken by management only,
//! inside `Core::reg`.

use crate::device::Device;
use crate::mgmt::commands::{parse_lun_cmd, LunCmd};
use crate::msg::MgmtResult;
use crate::registry::{Graveyard, Registry, Teardown};
use crate::session::LunChange;
use crate::sys::sysfs::{Attr, AttrOps, Dir, Link, TextBuf};
use core::sync::atomic::Ordering;
use kernel::alloc::flags::{GFP_ATOMIC, GFP_KERNEL};
use kernel::error::Error;
use crate::sys::compat::fmt;
use kernel::prelude::*;
use crate::sys::ops::DeviceRef;
use crate::sys::rcu::{Erased, RcuMap};
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;
use crate::mgmt_err;

/// LUNs removed per RCU grace period by [`LunSet::take_all`] (their erased
/// entries wait on the stack).
const TAKE_BATCH: usize = 32;

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
    table: RcuMap<LunEntry>,
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
    /// LUNs (ascending) appeared, are about to go or changed device: tell
    /// the sessions that see this set.
    fn luns_changed(&self, luns: &[u64], change: LunChange);
    /// The LUN set this is.
    fn lun_set(&self) -> &LunSet;
    /// Deleted (checked under `Core::reg`): management refuses.
    fn is_dead(&self) -> bool;
    /// The core whose management lock guards the set.
    fn core(&self) -> crate::sys::abi::CoreRef;
    /// `dev` left the set (the table no longer holds it there): tell the
    /// sessions that see this set (`Session::device_left`).
    fn device_left(&self, dev: &Device);
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
    pub fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(LunSet {
            table: RcuMap::new()?,
            sysfs <- new_mutex!(LunSetSysfs { luns: KVec::new(), attrs: KVec::new(), dir: None }, "rscst_lun_sysfs"),
        }? Error)
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

    /// Looks `lun` up for a command (data path, any context): no lock, no
    /// scan. The device is counted (a device whose teardown began is not
    /// found, see `DeviceRef`).
    pub fn lookup(&self, lun: u64) -> Option<Mapped> {
        self.table.with(lun, |e| {
            let e = e?;
            Some(Mapped { dev: DeviceRef::count(&e.dev)?, read_only: e.read_only })
        })
    }

    /// The first LUN numbered `from` or more, with its device (counted, as
    /// by `lookup`; None when its teardown began). Lets callers that sleep
    /// between entries walk the table without a lock and without copying it.
    pub fn next_lun(&self, from: u64) -> Option<(u64, Option<Mapped>)> {
        self.table.next_from(from, |e| {
            let (lun, e) = e?;
            let m = DeviceRef::count(&e.dev).map(|dev| Mapped { dev, read_only: e.read_only });
            Some((lun, m))
        })
    }

    /// Whether `lun` is in the table (any context).
    pub fn contains(&self, lun: u64) -> bool {
        self.table.with(lun, |e| e.is_some())
    }

    /// Whether `lun` maps `dev` (any context).
    pub fn maps(&self, lun: u64, dev: &Device) -> bool {
        self.table.with(lun, |e| e.is_some_and(|e| core::ptr::eq(&*e.dev, dev)))
    }

    /// Calls `f` with every LUN number, in increasing order (REPORT LUNS).
    /// `f` must not sleep.
    pub fn for_each_lun(&self, mut f: impl FnMut(u64)) {
        self.table.for_each(|lun, _| f(lun));
    }

    /// The device and read-only flag at `lun`, referenced (management).
    fn entry(&self, lun: u64) -> Option<(Arc<Device>, bool)> {
        self.table.with(lun, |e| e.map(|e| (e.dev.clone(), e.read_only)))
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
        let old = self.entry(lun);
        if old.is_some() && !replace {
            return Err(mgmt_err!(EEXIST, "LUN {} already exists", lun));
        }
        let entry = KBox::new(LunEntry { lun, dev: dev.clone(), read_only }, GFP_KERNEL)
            .map_err(|_| mgmt_err!(ENOMEM, "out of memory"))?;
        if old.is_some() {
            // The initiator sees the old unit go first (so that it can
            // flush); the table switches in one store, so commands find the
            // old device or the new one, never no LUN.
            owner.luns_changed(&[lun], LunChange::Leaving);
            self.del_sysfs(lun);
        }
        // On failure the table still holds the old entry: give it back its
        // sysfs files and tell the initiator it is there again.
        let restore = |old: &Option<(Arc<Device>, bool)>| {
            if let Some((odev, oro)) = old {
                let _ = self.add_sysfs(odev, lun, *oro);
                owner.luns_changed(&[lun], LunChange::Replaced);
            }
        };
        if let Err(e) = self.add_sysfs(&dev, lun, read_only) {
            restore(&old);
            return Err(crate::msg::MgmtError::new(e, format_args!("LUN {}: sysfs failed", lun)));
        }
        match self.table.store(lun, entry) {
            Ok(Some(replaced)) => {
                replaced.dev.exported.fetch_sub(1, Ordering::AcqRel);
                owner.device_left(&replaced.dev);
            }
            Ok(None) => {}
            Err(_) => {
                self.del_sysfs(lun);
                restore(&old);
                return Err(mgmt_err!(ENOMEM, "out of memory"));
            }
        }
        dev.exported.fetch_add(1, Ordering::AcqRel);
        owner.luns_changed(&[lun], if old.is_some() { LunChange::Replaced } else { LunChange::Added });
        pr_info!("LUN {} -> device {:?}{}\n", lun, dev.name, if read_only { " (read-only)" } else { "" });
        Ok(())
    }

    /// Removes `lun` from the table (telling `owner`'s sessions first, and
    /// again once it is gone); returns its entry once no command can find it
    /// any more. Cannot fail: without memory, only the unit attentions of
    /// the change are lost.
    fn take(&self, owner: Option<&dyn LunOwner>, lun: u64) -> Option<KBox<LunEntry>> {
        if let (true, Some(o)) = (self.contains(lun), owner) {
            o.luns_changed(&[lun], LunChange::Removed);
        }
        let e = self.table.remove(lun);
        if let Some(e) = &e {
            e.dev.exported.fetch_sub(1, Ordering::AcqRel);
            self.del_sysfs(lun);
            if let Some(o) = owner {
                o.device_left(&e.dev);
                o.luns_changed(&[lun], LunChange::Gone);
            }
        }
        e
    }

    fn del(&self, owner: &dyn LunOwner, lun: u64) -> MgmtResult {
        match self.take(Some(owner), lun) {
            Some(_) => Ok(()),
            None => Err(mgmt_err!(ENOENT, "LUN {} not found", lun)),
        }
    }

    /// Removes every LUN matching `pred`; returns how many. No failure can
    /// leave one behind: the only allocations are the unit attentions of
    /// the change, lost without memory. Batches of up to [`TAKE_BATCH`]
    /// LUNs share one RCU grace period.
    fn take_all(&self, owner: Option<&dyn LunOwner>, pred: impl Fn(&LunEntry) -> bool) -> usize {
        let mut n = 0;
        let mut from = 0u64;
        loop {
            // The next batch of matching LUNs, found with a cursor.
            let mut luns = [0u64; TAKE_BATCH];
            let mut found = 0;
            let mut end = false;
            while found < TAKE_BATCH {
                let Some((lun, hit)) = self.table.next_from(from, |e| e.map(|(l, e)| (l, pred(e)))) else {
                    end = true;
                    break;
                };
                if hit {
                    luns[found] = lun;
                    found += 1;
                }
                match lun.checked_add(1) {
                    Some(next) => from = next,
                    None => {
                        end = true;
                        break;
                    }
                }
            }
            let mut erased: [Option<Erased<LunEntry>>; TAKE_BATCH] = [const { None }; TAKE_BATCH];
            if let (Some(o), true) = (owner, found != 0) {
                o.luns_changed(&luns[..found], LunChange::Removed);
            }
            for (slot, lun) in erased.iter_mut().zip(luns[..found].iter()) {
                if let Some(e) = self.table.erase(*lun) {
                    e.get().dev.exported.fetch_sub(1, Ordering::AcqRel);
                    self.del_sysfs(*lun);
                    if let Some(o) = owner {
                        o.device_left(&e.get().dev);
                    }
                    *slot = Some(e);
                    n += 1;
                }
            }
            crate::sys::rcu::reclaim_all(&mut erased);
            if let (Some(o), true) = (owner, found != 0) {
                o.luns_changed(&luns[..found], LunChange::Gone);
            }
            if end {
                return n;
            }
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
        let mut oom = false;
        self.table.for_each(|lun, e| {
            if core::ptr::eq(&*e.dev, dev) {
                oom |= v.push(lun, GFP_ATOMIC).is_err();
            }
        });
        if oom {
            return Err(ENOMEM);
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

/// Removes `dev` from every target's LUN sets. It cannot stop halfway
/// (memory is needed only for the unit attentions of the change, which are
/// lost without it): afterwards no LUN anywhere maps `dev`.
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
