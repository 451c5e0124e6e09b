// SPDX-License-Identifier: GPL-2.0
//! Access groups (SCST `ini_groups`): a named LUN set shown to the initiators
//! whose names match one of the group's patterns; every other initiator sees
//! the target's default LUNs.
//!
//! `ini_groups/mgmt`: `create NAME`, `del NAME`.
//! `ini_groups/NAME/initiators/mgmt`: `add PATTERN`, `del PATTERN`,
//! `move PATTERN GROUP`, `clear`. `ini_groups/NAME/luns/mgmt` as for targets.
//! Groups are matched in creation order; the first match wins.

use crate::sys::compat::NameBytes;
use crate::session::LunChange;
use crate::lun::{LunOwner, LunSet};
use crate::mgmt::commands::{parse_group_cmd, parse_initiator_cmd, GroupCmd, InitiatorCmd};
use crate::mgmt::wildcard::initiator_matches;
use crate::mgmt_err;
use crate::msg::MgmtResult;
use crate::registry::Teardown;
use crate::sys::sysfs::{Attr, AttrOps, Dir, TextBuf};
use crate::target::Target;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use crate::sys::compat::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

/// An access group of a target.
#[pin_data]
pub struct Group {
    /// Group name.
    pub name: CString,
    /// The target it belongs to.
    pub target: Arc<Target>,
    /// Its LUNs.
    #[pin]
    pub luns: LunSet,
    /// Set (under `Core::reg`) when deleted: stores refuse.
    pub dead: AtomicBool,
    #[pin]
    inner: Mutex<GroupInner>,
}

struct InitiatorEntry {
    pattern: CString,
    _file: Attr,
}

struct GroupInner {
    initiators: KVec<InitiatorEntry>,
    attrs: KVec<Attr>,
    initiators_dir: Option<Dir>,
    dir: Option<Dir>,
}

impl Group {
    fn matches(&self, name: &str) -> bool {
        self.inner.lock().initiators.iter().any(|e| initiator_matches(e.pattern.to_str().unwrap_or(""), name))
    }
}

impl LunOwner for Group {
    fn luns_changed(&self, luns: &[u64], change: LunChange) {
        let me = self.target.groups.lock().iter().find(|g| core::ptr::eq(&***g, self)).cloned();
        self.target.for_each_session(|s| {
            if s.is_bound_to(me.as_ref()) {
                s.luns_changed(luns, change);
            }
        });
    }
    fn lun_set(&self) -> &LunSet {
        &self.luns
    }
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire) || self.target.dead.load(Ordering::Acquire)
    }
    fn core(&self) -> crate::sys::abi::CoreRef {
        self.target.fabric.core
    }
    fn device_left(&self, dev: &crate::device::Device) {
        let me = self.target.groups.lock().iter().find(|g| core::ptr::eq(&***g, self)).cloned();
        self.target.for_each_session(|s| {
            if s.is_bound_to(me.as_ref()) {
                s.device_left(dev);
            }
        });
    }
}

impl Teardown for Group {
    fn teardown(&self) {
        self.luns.teardown();
        let parts = {
            let mut i = self.inner.lock();
            (core::mem::take(&mut i.initiators), core::mem::take(&mut i.attrs), i.initiators_dir.take(), i.dir.take())
        };
        drop(parts);
    }
}

/// The group an initiator's sessions bind to.
pub fn match_initiator(t: &Target, name: &str) -> Option<Arc<Group>> {
    t.groups.lock().iter().find(|g| g.matches(name)).cloned()
}

/// Re-evaluates every session's group (after group or initiator changes).
/// A session registered after the walk passed its slot chose its group
/// after the change (see `session::register`).
fn rebind_all(t: &Target) {
    t.for_each_session(|s| {
        let name = s.initiator.to_str().unwrap_or("");
        s.rebind(match_initiator(t, name));
    });
}

/// An initiator file: its name is the pattern; it has no content.
struct InitiatorFile;

impl AttrOps for InitiatorFile {
    fn show(&self, _out: &mut TextBuf<'_>) {}
}

struct InitiatorsMgmt {
    group: Arc<Group>,
}

const INITIATORS_HELP: &str = "Usage: echo \"add INITIATOR_NAME\" >mgmt\n       \
echo \"del INITIATOR_NAME\" >mgmt\n       \
echo \"move INITIATOR_NAME DEST_GROUP_NAME\" >mgmt\n       \
echo \"clear\" >mgmt\n";

impl InitiatorsMgmt {
    fn add(&self, g: &Arc<Group>, pattern: &str) -> MgmtResult {
        if pattern.contains('/') || pattern == "." || pattern == ".." {
            return Err(mgmt_err!(EINVAL, "initiator name '{}' cannot be a sysfs file name", pattern));
        }
        for other in g.target.groups.lock().iter() {
            if other.inner.lock().initiators.iter().any(|e| e.pattern.name_bytes() == pattern.as_bytes()) {
                return Err(mgmt_err!(EEXIST, "initiator {} already in group {:?}", pattern, other.name));
            }
        }
        let oom = |_| mgmt_err!(ENOMEM, "out of memory");
        let cpat = CString::try_from_fmt(fmt!("{}", pattern)).map_err(oom)?;
        let mut inner = g.inner.lock();
        let Some(dir) = inner.initiators_dir.as_ref() else {
            return Err(mgmt_err!(ENOENT, "group is being deleted"));
        };
        let file = dir
            .add_attr(&cpat, 0o444, Arc::new(InitiatorFile, GFP_KERNEL).map_err(|_| mgmt_err!(ENOMEM, "oom"))?)
            .map_err(|e| crate::msg::MgmtError::new(e, format_args!("cannot create file for {}", pattern)))?;
        inner.initiators.push(InitiatorEntry { pattern: cpat, _file: file }, GFP_KERNEL).map_err(|_| mgmt_err!(ENOMEM, "oom"))?;
        Ok(())
    }

    fn del(&self, g: &Arc<Group>, pattern: &str) -> MgmtResult {
        let gone = {
            let mut inner = g.inner.lock();
            crate::slots::take_where(&mut inner.initiators, |e| e.pattern.name_bytes() == pattern.as_bytes(), GFP_KERNEL)
                .map_err(|_| mgmt_err!(ENOMEM, "oom"))?
        };
        // The initiator files go after the group's mutex is released.
        let removed = !gone.is_empty();
        drop(gone);
        if removed {
            Ok(())
        } else {
            Err(mgmt_err!(ENOENT, "initiator {} not in group {:?}", pattern, g.name))
        }
    }
}

impl AttrOps for InitiatorsMgmt {
    fn show(&self, out: &mut TextBuf<'_>) {
        out.push(INITIATORS_HELP.as_bytes());
    }

    fn store(&self, input: &[u8]) -> Result {
        let g = &self.group;
        let core = g.target.fabric.core;
        core.run_mgmt(input, |_reg, _grave| {
            if g.is_dead() {
                return Err(mgmt_err!(ENOENT, "group is being deleted"));
            }
            match parse_initiator_cmd(input) {
                Ok(InitiatorCmd::Add { name }) => self.add(g, name)?,
                Ok(InitiatorCmd::Del { name }) => self.del(g, name)?,
                Ok(InitiatorCmd::Clear) => {
                    g.inner.lock().initiators = KVec::new();
                }
                Ok(InitiatorCmd::Move { name, group }) => {
                    let dest = g.target.groups.lock().iter().find(|x| x.name.name_bytes() == group.as_bytes()).cloned();
                    let Some(dest) = dest else {
                        return Err(mgmt_err!(ENOENT, "group {} not found", group));
                    };
                    if !g.inner.lock().initiators.iter().any(|e| e.pattern.name_bytes() == name.as_bytes()) {
                        return Err(mgmt_err!(ENOENT, "initiator {} not in group {:?}", name, g.name));
                    }
                    self.del(g, name)?;
                    if let Err(e) = self.add(&dest, name) {
                        // Put it back where it was: a refused command changes nothing.
                        let _ = self.add(g, name);
                        return Err(e);
                    }
                }
                Err(e) => return Err(mgmt_err!(EINVAL, "{}", e.message())),
            }
            rebind_all(&g.target);
            Ok(())
        })
    }
}

/// `ini_groups/mgmt`.
pub struct GroupsMgmt {
    /// The target.
    pub tgt: Arc<Target>,
}

impl GroupsMgmt {
    fn create(&self, name: &str, grave: &mut crate::registry::Graveyard) -> MgmtResult {
        let t = &self.tgt;
        if !crate::mgmt::commands::is_valid_device_name(name) || name == "mgmt" {
            return Err(mgmt_err!(EINVAL, "invalid group name '{}'", name));
        }
        if t.groups.lock().iter().any(|g| g.name.name_bytes() == name.as_bytes()) {
            return Err(mgmt_err!(EEXIST, "group {} already exists", name));
        }
        let oom = |_| mgmt_err!(ENOMEM, "out of memory");
        let cname = CString::try_from_fmt(fmt!("{}", name)).map_err(oom)?;
        let g = Arc::pin_init(
            try_pin_init!(Group {
                name: cname,
                target: t.clone(),
                luns <- LunSet::new(),
                dead: AtomicBool::new(false),
                inner <- new_mutex!(GroupInner { initiators: KVec::new(), attrs: KVec::new(), initiators_dir: None, dir: None }),
            }? Error),
            GFP_KERNEL,
        )
        .map_err(oom)?;
        // Room in the list first: once its files exist, the group must not
        // fail to be listed (it would be dropped without its teardown).
        t.groups.lock().reserve(1, GFP_KERNEL).map_err(|_| mgmt_err!(ENOMEM, "out of memory"))?;
        if let Err(e) = build_sysfs(t, &g) {
            // Removed after the registry lock is released (see registry.rs).
            g.dead.store(true, Ordering::Release);
            grave.bury(g)?;
            return Err(crate::msg::MgmtError::new(e, format_args!("group {}: sysfs failed", name)));
        }
        t.groups.lock().push(g, GFP_KERNEL).map_err(|_| mgmt_err!(ENOMEM, "out of memory"))?;
        Ok(())
    }

    fn del(&self, name: &str, grave: &mut crate::registry::Graveyard) -> MgmtResult {
        let t = &self.tgt;
        let gone = {
            let mut groups = t.groups.lock();
            let gone = crate::slots::take_where(&mut groups, |g| g.name.name_bytes() == name.as_bytes(), GFP_KERNEL)
                .map_err(|_| mgmt_err!(ENOMEM, "oom"))?;
            if gone.is_empty() {
                return Err(mgmt_err!(ENOENT, "group {} not found", name));
            }
            gone.into_iter().next()
        };
        // Sessions that saw this group go back to the default LUNs.
        rebind_all(t);
        match gone {
            Some(g) => {
                g.dead.store(true, Ordering::Release);
                grave.bury(g)
            }
            None => Ok(()),
        }
    }
}

const GROUPS_HELP: &str = "Usage: echo \"create GROUP_NAME\" >mgmt\n       echo \"del GROUP_NAME\" >mgmt\n";

impl AttrOps for GroupsMgmt {
    fn show(&self, out: &mut TextBuf<'_>) {
        out.push(GROUPS_HELP.as_bytes());
    }

    fn store(&self, input: &[u8]) -> Result {
        let core = self.tgt.fabric.core;
        core.run_mgmt(input, |_reg, grave| match parse_group_cmd(input) {
            _ if self.tgt.dead.load(Ordering::Acquire) => Err(mgmt_err!(ENOENT, "target is being deleted")),
            Ok(GroupCmd::Create { name }) => self.create(name, grave),
            Ok(GroupCmd::Del { name }) => self.del(name, grave),
            Err(e) => Err(mgmt_err!(EINVAL, "{}", e.message())),
        })
    }
}

fn build_sysfs(t: &Arc<Target>, g: &Arc<Group>) -> Result {
    let dir = t.with_groups_dir(|d| d.map(|d| Dir::new(Some(d), &g.name)).transpose())?.ok_or(ENODEV)?;
    let owner: Arc<dyn LunOwner> = g.clone();
    g.luns.create_sysfs(&dir, owner)?;
    let initiators_dir = Dir::new(Some(&dir), c"initiators")?;
    let mgmt = initiators_dir.add_attr(c"mgmt", 0o644, Arc::new(InitiatorsMgmt { group: g.clone() }, GFP_KERNEL)?)?;
    let mut inner = g.inner.lock();
    inner.attrs.push(mgmt, GFP_KERNEL)?;
    inner.initiators_dir = Some(initiators_dir);
    inner.dir = Some(dir);
    Ok(())
}
