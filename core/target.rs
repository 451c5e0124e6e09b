// SPDX-License-Identifier: GPL-2.0
//! Targets: `targets/<driver>/<name>/` with `enabled`, `rel_tgt_id`, `luns/`,
//! `ini_groups/` and `sessions/`.

use crate::sys::compat::NameBytes;
use crate::fabric::Fabric;
use crate::lun::{LunOwner, LunSet};
use crate::msg::MgmtResult;
use crate::registry::{Graveyard, Registry, Teardown};
use crate::session::{LunChange, Session};
use crate::sys::ops::TgtPriv;
use crate::sys::sysfs::{Attr, AttrOps, Dir, TextBuf};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use crate::sys::compat::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex};
use crate::mgmt_err;

/// A target of some fabric.
#[pin_data]
pub struct Target {
    /// Target name (an IQN for iSCSI, free-form for scst_local).
    pub name: CString,
    /// Its fabric.
    pub fabric: Arc<Fabric>,
    /// The fabric's target context (0 until add_target returned), for the
    /// fabric callbacks that take it by value.
    pub tgt_priv: AtomicUsize,
    /// The fabric's target, until `del_target` consumes it.
    #[pin]
    fabric_target: Mutex<Option<TgtPriv>>,
    /// Accepting new sessions (fabrics without an `enable` op start enabled).
    pub enabled: AtomicBool,
    /// Set (under `Core::reg`) when deleted: stores refuse.
    pub dead: AtomicBool,
    /// Relative target port identifier (VPD 0x83).
    pub rel_tgt_id: u16,
    /// The default LUN set.
    #[pin]
    pub luns: LunSet,
    /// Live sessions; `None` marks a freed slot.
    #[pin]
    pub sessions: Mutex<KVec<Option<Arc<Session>>>>,
    /// Access groups (`ini_groups/`), in creation order.
    #[pin]
    pub groups: Mutex<KVec<Arc<crate::group::Group>>>,
    #[pin]
    sysfs: Mutex<TargetSysfs>,
}

struct TargetSysfs {
    attrs: KVec<Attr>,
    sessions_dir: Option<Dir>,
    ini_groups_dir: Option<Dir>,
    dir: Option<Dir>,
}

impl Target {
    /// Tells the fabric the target is gone (once: the token is taken).
    fn del_fabric_target(&self) {
        let tok = self.fabric_target.lock().take();
        if let Some(tok) = tok {
            self.fabric.ops.del_target(tok);
        }
    }

    /// The fabric's context.
    pub fn priv_(&self) -> usize {
        self.tgt_priv.load(Ordering::Acquire)
    }

    /// Runs `f` with the target's own directory.
    pub fn with_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.dir.as_ref())
    }

    /// Runs `f` with `ini_groups/`.
    pub fn with_groups_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.ini_groups_dir.as_ref())
    }

    /// Runs `f` with `sessions/`.
    pub fn with_sessions_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.sessions_dir.as_ref())
    }

    /// Calls `f` for every live session.
    pub fn for_each_session(&self, mut f: impl FnMut(&Arc<Session>)) {
        // One at a time, not under the lock (`f` calls into the fabric,
        // which may sleep), and without allocating, so none is skipped.
        let mut i = 0;
        loop {
            let next = self.sessions.lock().get(i).map(|s| s.clone());
            let Some(slot) = next else { break };
            if let Some(s) = slot {
                f(&s);
            }
            i += 1;
        }
    }
}

impl LunOwner for Target {
    fn luns_changed(&self, luns: &[u64], change: LunChange) {
        self.for_each_session(|s| {
            if s.is_bound_to(None) {
                s.luns_changed(luns, change);
            }
        });
    }
    fn lun_set(&self) -> &LunSet {
        &self.luns
    }
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }
    fn core(&self) -> crate::sys::abi::CoreRef {
        self.fabric.core
    }
    fn device_left(&self, dev: &crate::device::Device) {
        self.for_each_session(|s| {
            if s.is_bound_to(None) {
                s.device_left(dev);
            }
        });
    }
}

impl Teardown for Target {
    fn teardown(&self) {
        let groups = core::mem::take(&mut *self.groups.lock());
        for g in groups.iter() {
            g.teardown();
        }
        self.luns.teardown();
        let parts = {
            let mut s = self.sysfs.lock();
            (core::mem::take(&mut s.attrs), s.sessions_dir.take(), s.ini_groups_dir.take(), s.dir.take())
        };
        drop(parts);
    }
}

#[derive(Clone, Copy)]
enum TgtAttrKind {
    Enabled,
    RelTgtId,
}

struct TgtAttr {
    tgt: Arc<Target>,
    kind: TgtAttrKind,
}

impl AttrOps for TgtAttr {
    fn show(&self, out: &mut TextBuf<'_>) {
        let _ = match self.kind {
            TgtAttrKind::Enabled => writeln!(out, "{}", u8::from(self.tgt.enabled.load(Ordering::Acquire))),
            TgtAttrKind::RelTgtId => writeln!(out, "{}", self.tgt.rel_tgt_id),
        };
    }

    fn store(&self, input: &[u8]) -> Result {
        let TgtAttrKind::Enabled = self.kind else { return Err(EPERM) };
        let t = &self.tgt;
        let core = t.fabric.core;
        core.run_mgmt(input, |_reg, _grave| {
            if t.dead.load(Ordering::Acquire) {
                return Err(mgmt_err!(ENOENT, "target is being deleted"));
            }
            let text = core::str::from_utf8(input).unwrap_or("").trim();
            let on = crate::mgmt::params::parse_bool(text)
                .map_err(|_| mgmt_err!(EINVAL, "enabled takes 0 or 1, not '{}'", text))?;
            t.fabric.ops.enable(t.priv_(), on).map_err(|e| {
                crate::msg::MgmtError::new(e, format_args!("target {:?}: driver refused enabled={}", t.name, u8::from(on)))
            })?;
            t.enabled.store(on, Ordering::Release);
            Ok(())
        })
    }
}

fn find<'a>(reg: &'a Registry, fabric: &Arc<Fabric>, name: &[u8]) -> Option<&'a Arc<Target>> {
    reg.targets.iter().flatten().find(|t| Arc::ptr_eq(&t.fabric, fabric) && t.name.name_bytes() == name)
}

fn build_sysfs(t: &Arc<Target>) -> Result {
    let dir = t.fabric.with_dir(|d| d.map(|d| Dir::new(Some(d), &t.name)).transpose())?.ok_or(ENODEV)?;
    let mut attrs = KVec::new();
    for (name, kind, mode) in [(c"enabled", TgtAttrKind::Enabled, 0o644), (c"rel_tgt_id", TgtAttrKind::RelTgtId, 0o444)] {
        attrs.push(dir.add_attr(name, mode, Arc::new(TgtAttr { tgt: t.clone(), kind }, GFP_KERNEL)?)?, GFP_KERNEL)?;
    }
    let owner: Arc<dyn LunOwner> = t.clone();
    t.luns.create_sysfs(&dir, owner)?;
    let sessions_dir = Dir::new(Some(&dir), c"sessions")?;
    let ini_groups_dir = Dir::new(Some(&dir), c"ini_groups")?;
    attrs.push(
        ini_groups_dir.add_attr(c"mgmt", 0o644, Arc::new(crate::group::GroupsMgmt { tgt: t.clone() }, GFP_KERNEL)?)?,
        GFP_KERNEL,
    )?;
    let mut s = t.sysfs.lock();
    s.attrs = attrs;
    s.sessions_dir = Some(sessions_dir);
    s.ini_groups_dir = Some(ini_groups_dir);
    s.dir = Some(dir);
    Ok(())
}

/// The lowest relative target port identifier (1..=65535, SPC: 0 is
/// reserved) that no live target holds: identifiers are reused once their
/// target is gone and never wrap into a live one.
fn free_rel_tgt_id(reg: &Registry) -> Option<u16> {
    (1..=u16::MAX).find(|id| !reg.targets.iter().flatten().any(|t| t.rel_tgt_id == *id))
}

/// `add_target NAME [params]`.
pub fn add(reg: &mut Registry, grave: &mut Graveyard, fabric: &Arc<Fabric>, name: &str, params: &str) -> MgmtResult {
    if !crate::mgmt::commands::is_valid_target_name(name) {
        return Err(mgmt_err!(EINVAL, "invalid target name '{}'", name));
    }
    if find(reg, fabric, name.as_bytes()).is_some() {
        return Err(mgmt_err!(EEXIST, "target {} already exists", name));
    }
    let Some(rel_tgt_id) = free_rel_tgt_id(reg) else {
        return Err(mgmt_err!(ENOSPC, "all 65535 relative target port identifiers are in use"));
    };
    let oom = |_| mgmt_err!(ENOMEM, "out of memory");
    let cname = CString::try_from_fmt(fmt!("{}", name)).map_err(oom)?;
    let t = Arc::pin_init(
        try_pin_init!(Target {
            name: cname,
            fabric: fabric.clone(),
            tgt_priv: AtomicUsize::new(0),
            fabric_target <- new_mutex!(None),
            enabled: AtomicBool::new(!fabric.ops.has_enable()),
            dead: AtomicBool::new(false),
            rel_tgt_id,
            luns <- LunSet::new(),
            sessions <- new_mutex!(KVec::new()),
            groups <- new_mutex!(KVec::new()),
            sysfs <- new_mutex!(TargetSysfs { attrs: KVec::new(), sessions_dir: None, ini_groups_dir: None, dir: None }),
        }? Error),
        GFP_KERNEL,
    )
    .map_err(oom)?;
    // On failure the half-built target is torn down after the registry lock
    // is released (removing its files waits for their stores, which may be
    // waiting for that lock).
    if let Err(e) = build_sysfs(&t) {
        t.dead.store(true, Ordering::Release);
        grave.bury(t)?;
        return Err(crate::msg::MgmtError::new(e, format_args!("target {}: sysfs failed", name)));
    }
    let handle = crate::sys::abi::target_handle(&t);
    match fabric.ops.add_target(handle, name.as_bytes(), params.as_bytes()) {
        Ok(p) => {
            t.tgt_priv.store(p.raw(), Ordering::Release);
            *t.fabric_target.lock() = Some(p);
        }
        Err(e) => {
            t.dead.store(true, Ordering::Release);
            grave.bury(t)?;
            return Err(crate::msg::MgmtError::new(e, format_args!("target {}: driver refused it", name)));
        }
    }
    let res = KBox::new(t.clone(), GFP_KERNEL)
        .map_err(Error::from)
        .and_then(|b| fabric.core.live_targets.store(u64::from(rel_tgt_id), b))
        .and_then(|_| crate::slots::insert(&mut reg.targets, t.clone(), GFP_KERNEL).map_err(Error::from));
    if res.is_err() {
        drop(fabric.core.live_targets.remove(u64::from(rel_tgt_id)));
        t.del_fabric_target();
        t.dead.store(true, Ordering::Release);
        grave.bury(t)?;
        return Err(mgmt_err!(ENOMEM, "out of memory"));
    }
    pr_info!("target {} added to {:?}\n", name, fabric.ops.name());
    Ok(())
}

fn remove(reg: &mut Registry, grave: &mut Graveyard, t: &Arc<Target>) -> MgmtResult {
    // The fabric drops its sessions (they unregister synchronously).
    t.enabled.store(false, Ordering::Release);
    t.dead.store(true, Ordering::Release);
    t.del_fabric_target();
    drop(t.fabric.core.live_targets.remove(u64::from(t.rel_tgt_id)));
    crate::alua::forget_target(&t.fabric.core, t);
    for slot in reg.targets.iter_mut() {
        if slot.as_ref().is_some_and(|x| Arc::ptr_eq(x, t)) {
            *slot = None;
        }
    }
    grave.bury(t.clone())
}

/// `del_target NAME`.
pub fn del(reg: &mut Registry, grave: &mut Graveyard, fabric: &Arc<Fabric>, name: &[u8]) -> MgmtResult {
    let Some(t) = find(reg, fabric, name).cloned() else {
        return Err(mgmt_err!(ENOENT, "target {} not found", core::str::from_utf8(name).unwrap_or("?")));
    };
    remove(reg, grave, &t)
}

/// Deletes every target of `fabric` (fabric unregistration).
/// Allocates nothing: the caller reserved the graveyard's room.
pub fn del_all(reg: &mut Registry, grave: &mut Graveyard, fabric: &Arc<Fabric>) -> MgmtResult {
    loop {
        let next = reg.targets.iter().flatten().find(|t| Arc::ptr_eq(&t.fabric, fabric)).cloned();
        let Some(t) = next else { return Ok(()) };
        remove(reg, grave, &t)?;
    }
}
