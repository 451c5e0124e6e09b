// SPDX-License-Identifier: GPL-2.0
//! ALUA (SPC-4 5.16), managed as SCST manages it under `device_groups/`:
//!
//! - `device_groups/mgmt`: `create NAME` (or `add NAME`), `del NAME`;
//! - `device_groups/DG/devices/mgmt`: `add DEVICE`, `del DEVICE` (a device is
//!   in one device group at most; its entry is a link to the device);
//! - `device_groups/DG/target_groups/mgmt`: `create NAME` (or `add`), `del`;
//! - `device_groups/DG/target_groups/TG/`: `group_id` (1 to 65535),
//!   `preferred` (0 or 1), `state` (`active`, `nonoptimized`, `standby`,
//!   `unavailable`, `offline`, `transitioning`) and `mgmt`: `add TARGET`,
//!   `del TARGET` (a target is in one target group of a device group at
//!   most). A target rscst has becomes a link to it; any other name is a
//!   remote port, a directory whose `rel_tgt_id` says its identifier.
//!
//! The rules (what each state admits, REPORT TARGET PORT GROUPS data) are
//! `crate::scsi::alua`'s. A command through a port of a target in no target
//! group of its device's group, or to a device in no group, is not filtered.
//!
//! Locking: `Core::alua` holds every group; management takes it after
//! `Core::reg`, and SET TARGET PORT GROUPS (a command thread) takes it alone.
//! Under it nothing waits for a command. Each device's commands read an
//! `AluaView` of its group under RCU (`Device::alua`), published again after
//! every change. Sysfs files of removed groups go in the graveyard (removing
//! a file waits for its show and store calls, which take these locks); links
//! have no such calls and are removed in place.

use crate::device::Device;
use crate::mgmt::alua::{
    attr_value, parse_alua_group_cmd, parse_dg_device_cmd, parse_port_id, parse_preferred, parse_tg_target_cmd,
    MemberCmd,
};
use crate::mgmt::commands::GroupCmd;
use crate::mgmt_err;
use crate::msg::MgmtResult;
use crate::registry::{Graveyard, Registry, Teardown};
use crate::scsi::alua::{AccessState, PortGroup, StpgList};
use crate::scsi::sense::Sense;
use crate::scsi::ua::Ua;
use crate::session::Session;
use crate::sys::abi::CoreRef;
use crate::sys::compat::{fmt, NameBytes};
use crate::sys::sysfs::{Attr, AttrOps, Dir, Link, TextBuf};
use core::sync::atomic::Ordering;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};

/// One target port group as its device's commands see it.
pub struct GroupView {
    /// TARGET PORT GROUP (`group_id`; 0 until set).
    pub id: u16,
    /// Asymmetric access state.
    pub state: AccessState,
    /// PREF bit.
    pub preferred: bool,
    /// Relative target port identifiers of every member, in slot order.
    pub ports: KVec<u16>,
    /// Those of them that are rscst's own targets.
    pub local_ports: KVec<u16>,
}

/// A device group as the commands of its devices see it (under RCU).
pub struct AluaView {
    /// Explicit ALUA: SET TARGET PORT GROUPS is served.
    pub explicit: bool,
    /// Every target port group.
    pub groups: KVec<GroupView>,
}

/// What INQUIRY and the access check need to know of a device through one port.
#[derive(Clone, Copy, Default)]
pub struct PortAlua {
    /// TPGS field.
    pub tpgs: u8,
    /// The port's target port group (0: none).
    pub group_id: u16,
    /// The port's asymmetric access state.
    pub state: AccessState,
}

impl AluaView {
    fn group_of(&self, rel_tgt_id: u16) -> Option<&GroupView> {
        self.groups.iter().find(|g| g.local_ports.contains(&rel_tgt_id))
    }
}

/// The ALUA configuration of `dev` seen through the port `rel_tgt_id` (any
/// context).
pub fn port_alua(dev: &Device, rel_tgt_id: u16) -> PortAlua {
    dev.alua.read(|v| {
        let Some(v) = v else { return PortAlua::default() };
        let tpgs = crate::scsi::device::TPGS_IMPLICIT
            | if v.explicit { crate::scsi::device::TPGS_EXPLICIT } else { 0 };
        match v.group_of(rel_tgt_id) {
            Some(g) => PortAlua { tpgs, group_id: g.id, state: g.state },
            None => PortAlua { tpgs, ..PortAlua::default() },
        }
    })
}

/// REPORT TARGET PORT GROUPS data of `dev` into `out` (any context; nothing
/// allocates): every target port group of its device group, none when it is
/// in none.
pub fn report_target_port_groups(dev: &Device, extended: bool, alloc_len: u32, out: &mut [u8]) -> usize {
    dev.alua.read(|v| {
        let groups = v.map_or(&[][..], |v| &v.groups[..]);
        let each = groups.iter().map(|g| PortGroup { id: g.id, state: g.state, preferred: g.preferred, ports: &g.ports });
        crate::scsi::alua::encode_report_target_port_groups(each, extended, alloc_len, out)
    })
}

/// The length of `dev`'s whole REPORT TARGET PORT GROUPS data (any context).
pub fn report_target_port_groups_len(dev: &Device, extended: bool) -> usize {
    let groups: usize = dev.alua.read(|v| {
        v.map_or(0, |v| v.groups.iter().map(|g| 8 + 4 * g.ports.len().min(usize::from(u8::MAX))).sum())
    });
    groups + if extended { 8 } else { 4 }
}

/// Whether a command to `dev` through `rel_tgt_id` may run in the port's
/// asymmetric access state (any context).
pub fn check_access(dev: &Device, rel_tgt_id: u16, cdb: &[u8]) -> Result<(), Sense> {
    if !dev.alua.read(|v| v.is_some()) {
        return Ok(());
    }
    crate::scsi::alua::check_access(port_alua(dev, rel_tgt_id).state, cdb)
}

/// A directory of `device_groups/` and its files, removed by its teardown
/// after the locks are released.
#[pin_data]
struct Node {
    name: CString,
    #[pin]
    sysfs: Mutex<NodeSysfs>,
}

#[derive(Default)]
struct NodeSysfs {
    attrs: KVec<Attr>,
    /// Its directory first, then its subdirectories.
    dirs: KVec<Dir>,
}

impl Teardown for Node {
    fn teardown(&self) {
        let (attrs, dirs) = {
            let mut s = self.sysfs.lock();
            (core::mem::take(&mut s.attrs), core::mem::take(&mut s.dirs))
        };
        // The files, then the directories (a child directory holds its
        // parent until it goes).
        drop(attrs);
        drop(dirs);
    }
}

fn new_node(name: &str) -> Result<Arc<Node>, crate::msg::MgmtError> {
    let cname = CString::try_from_fmt(fmt!("{}", name)).map_err(|_| mgmt_err!(ENOMEM, "out of memory"))?;
    Arc::pin_init(pin_init!(Node { name: cname, sysfs <- new_mutex!(NodeSysfs::default()) }), GFP_KERNEL)
        .map_err(|_| mgmt_err!(ENOMEM, "out of memory"))
}

struct DgDevice {
    dev: Arc<Device>,
    _link: Link,
}

enum MemberPort {
    /// One of rscst's targets.
    Local { rel_tgt_id: u16, _link: Link },
    /// A port rscst does not have: `rel_tgt_id` as management set it.
    Remote { rel_tgt_id: u16, node: Arc<Node> },
}

struct Member {
    name: CString,
    port: MemberPort,
}

impl Member {
    fn rel_tgt_id(&self) -> u16 {
        match self.port {
            MemberPort::Local { rel_tgt_id, .. } | MemberPort::Remote { rel_tgt_id, .. } => rel_tgt_id,
        }
    }
}

struct Tg {
    node: Arc<Node>,
    id: u16,
    state: AccessState,
    preferred: bool,
    members: KVec<Option<Member>>,
}

impl Tg {
    fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().flatten()
    }
}

struct Dg {
    node: Arc<Node>,
    devices: KVec<Option<DgDevice>>,
    tgs: KVec<Option<Tg>>,
}

impl Dg {
    fn tgs(&self) -> impl Iterator<Item = &Tg> {
        self.tgs.iter().flatten()
    }
    fn tgs_mut(&mut self) -> impl Iterator<Item = &mut Tg> {
        self.tgs.iter_mut().flatten()
    }
    fn devices(&self) -> impl Iterator<Item = &Arc<Device>> {
        self.devices.iter().flatten().map(|d| &d.dev)
    }
}

/// Every device group (`Core::alua`).
#[derive(Default)]
pub struct Alua {
    mgmt: Option<Attr>,
    dgs: KVec<Option<Dg>>,
}

impl Alua {
    fn dgs(&self) -> impl Iterator<Item = &Dg> {
        self.dgs.iter().flatten()
    }
    fn dg_of_node(&mut self, node: &Arc<Node>) -> Option<&mut Dg> {
        self.dgs.iter_mut().flatten().find(|d| Arc::ptr_eq(&d.node, node))
    }
    fn tg_of_node(&mut self, node: &Arc<Node>) -> Option<(&mut Dg, usize)> {
        for dg in self.dgs.iter_mut().flatten() {
            if let Some(i) = dg.tgs.iter().position(|t| t.as_ref().is_some_and(|t| Arc::ptr_eq(&t.node, node))) {
                return Some((dg, i));
            }
        }
        None
    }
}

/// Creates `device_groups/mgmt` (module load, once the core is installed).
pub fn install(core: CoreRef) -> Result {
    let attr = core.device_groups_dir.add_attr(c"mgmt", 0o644, Arc::new(AluaAttr { core, node: None, kind: Kind::Groups }, GFP_KERNEL)?)?;
    core.alua.lock().mgmt = Some(attr);
    Ok(())
}

/// Removes `device_groups/mgmt` and every group's files (module unload:
/// no store runs any more).
pub fn uninstall(core: &crate::registry::Core) {
    let (mgmt, dgs) = {
        let mut a = core.alua.lock();
        (a.mgmt.take(), core::mem::take(&mut a.dgs))
    };
    drop(mgmt);
    for dg in dgs.into_iter().flatten() {
        for tg in dg.tgs.into_iter().flatten() {
            for m in tg.members.into_iter().flatten() {
                if let MemberPort::Remote { node, .. } = m.port {
                    node.teardown();
                }
            }
            tg.node.teardown();
        }
        drop(dg.devices);
        dg.node.teardown();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Groups,
    Devices,
    TargetGroups,
    Targets,
    GroupId,
    Preferred,
    State,
    RemoteRelTgtId,
}

/// Every file of `device_groups/`; `node` is its device group, target group
/// or remote port (none for `device_groups/mgmt`).
struct AluaAttr {
    core: CoreRef,
    node: Option<Arc<Node>>,
    kind: Kind,
}

const GROUPS_HELP: &str = "Usage: echo \"create group_name\" >mgmt\n       echo \"del group_name\" >mgmt\n";
const MEMBERS_HELP_DEVICES: &str = "Usage: echo \"add device\" >mgmt\n       echo \"del device\" >mgmt\n";
const MEMBERS_HELP_TARGETS: &str = "Usage: echo \"add target\" >mgmt\n       echo \"del target\" >mgmt\n";

impl AttrOps for AluaAttr {
    fn show(&self, out: &mut TextBuf<'_>) {
        let help = match self.kind {
            Kind::Groups | Kind::TargetGroups => Some(GROUPS_HELP),
            Kind::Devices => Some(MEMBERS_HELP_DEVICES),
            Kind::Targets => Some(MEMBERS_HELP_TARGETS),
            _ => None,
        };
        if let Some(h) = help {
            out.push(h.as_bytes());
            return;
        }
        let Some(node) = self.node.as_ref() else { return };
        let mut a = self.core.alua.lock();
        let _ = match self.kind {
            Kind::RemoteRelTgtId => {
                let id = a.dgs().flat_map(|d| d.tgs()).flat_map(|t| t.members()).find_map(|m| match &m.port {
                    MemberPort::Remote { rel_tgt_id, node: n } if Arc::ptr_eq(n, node) => Some(*rel_tgt_id),
                    _ => None,
                });
                id.map(|id| crate::device::key_attr(out, id, true))
            }
            _ => a.tg_of_node(node).and_then(|(dg, i)| dg.tgs[i].as_ref()).map(|tg| match self.kind {
                Kind::GroupId => crate::device::key_attr(out, tg.id, true),
                Kind::Preferred => crate::device::key_attr(out, u8::from(tg.preferred), tg.preferred),
                _ => crate::device::key_attr(out, tg.state.name(), true),
            }),
        };
    }

    fn store(&self, input: &[u8]) -> Result {
        let core = self.core;
        core.run_mgmt(input, |reg, grave| {
            let mut a = core.alua.lock();
            match (self.kind, self.node.as_ref()) {
                (Kind::Groups, _) => groups_cmd(core, &mut a, grave, input),
                (kind, Some(node)) => {
                    if kind == Kind::RemoteRelTgtId {
                        return set_remote_rel_tgt_id(&mut a, node, input);
                    }
                    if kind == Kind::Devices {
                        return devices_cmd(&mut a, node, reg, input);
                    }
                    if kind == Kind::TargetGroups {
                        return target_groups_cmd(core, &mut a, node, grave, input);
                    }
                    let Some((dg, i)) = a.tg_of_node(node) else {
                        return Err(mgmt_err!(ENOENT, "target group is being deleted"));
                    };
                    match kind {
                        Kind::Targets => targets_cmd(core, dg, i, reg, grave, input),
                        Kind::GroupId => {
                            let id = parse_port_id(input).map_err(|_| mgmt_err!(EINVAL, "group_id must be 1 to 65535"))?;
                            let Some(tg) = dg.tgs[i].as_mut() else { return Ok(()) };
                            let before = core::mem::replace(&mut tg.id, id);
                            publish(dg).inspect_err(|_| {
                                if let Some(tg) = dg.tgs[i].as_mut() {
                                    tg.id = before;
                                }
                            })
                        }
                        Kind::Preferred => {
                            let p = parse_preferred(input).map_err(|_| mgmt_err!(EINVAL, "preferred must be 0 or 1"))?;
                            change_tg(core, dg, i, None, Some(p), None)
                        }
                        _ => {
                            let name = attr_value(input).unwrap_or("");
                            let Some(state) = AccessState::from_name(name) else {
                                return Err(mgmt_err!(EINVAL, "unknown state '{}' (active, nonoptimized, standby, unavailable, offline, transitioning)", name));
                            };
                            change_tg(core, dg, i, Some(state), None, None)
                        }
                    }
                }
                (_, None) => Err(mgmt_err!(EINVAL, "no group")),
            }
        })
    }
}

fn oom<T>(_: T) -> crate::msg::MgmtError {
    mgmt_err!(ENOMEM, "out of memory")
}

// A node's directories and files are made one step at a time, each step
// under its own node's lock only (every node's lock is one lock class, so
// never two at once), and kept in the node even when a later step fails:
// its teardown, after the locks, removes them.

/// Gives `node` its directory: under directory `i` of `parent`, or under
/// `device_groups/`.
fn node_dir(core: CoreRef, node: &Node, parent: Option<(&Node, usize)>) -> Result {
    let dir = match parent {
        None => Dir::new(Some(&core.device_groups_dir), &node.name)?,
        Some((p, i)) => with_node_dir(p, i, |d| d.map(|d| Dir::new(Some(d), &node.name))).unwrap_or(Err(ENODEV))?,
    };
    node.sysfs.lock().dirs.push(dir, GFP_KERNEL)?;
    Ok(())
}

/// Adds `name` under the node's own directory.
fn node_subdir(node: &Node, name: &core::ffi::CStr) -> Result {
    let mut s = node.sysfs.lock();
    let dir = Dir::new(Some(s.dirs.first().ok_or(ENODEV)?), name)?;
    s.dirs.push(dir, GFP_KERNEL)?;
    Ok(())
}

/// Adds file `name` to directory `i` of the node.
fn node_file(core: CoreRef, node: &Arc<Node>, i: usize, name: &core::ffi::CStr, kind: Kind) -> Result {
    let ops = Arc::new(AluaAttr { core, node: Some(node.clone()), kind }, GFP_KERNEL)?;
    let mut s = node.sysfs.lock();
    s.attrs.reserve(1, GFP_KERNEL)?;
    let attr = s.dirs.get(i).ok_or(ENODEV)?.add_attr(name, 0o644, ops)?;
    // Within the room reserved: cannot fail.
    s.attrs.push(attr, GFP_KERNEL)?;
    Ok(())
}

/// The `Dir` the node keeps at position `i` (outermost first).
fn with_node_dir<R>(node: &Node, i: usize, f: impl FnOnce(Option<&Dir>) -> R) -> R {
    let s = node.sysfs.lock();
    f(s.dirs.get(i))
}

/// `device_groups/mgmt`.
fn groups_cmd(core: CoreRef, a: &mut Alua, grave: &mut Graveyard, input: &[u8]) -> MgmtResult {
    match parse_alua_group_cmd(input) {
        Err(e) => Err(mgmt_err!(EINVAL, "{}", e.message())),
        Ok(GroupCmd::Create { name }) => {
            if name == "mgmt" {
                return Err(mgmt_err!(EINVAL, "a device group cannot be called mgmt"));
            }
            if a.dgs().any(|d| d.node.name.name_bytes() == name.as_bytes()) {
                return Err(mgmt_err!(EEXIST, "device group {} already exists", name));
            }
            a.dgs.reserve(1, GFP_KERNEL).map_err(oom)?;
            let node = new_node(name)?;
            let built = node_dir(core, &node, None)
                .and_then(|()| node_subdir(&node, c"devices"))
                .and_then(|()| node_subdir(&node, c"target_groups"))
                .and_then(|()| node_file(core, &node, 1, c"mgmt", Kind::Devices))
                .and_then(|()| node_file(core, &node, 2, c"mgmt", Kind::TargetGroups));
            if let Err(e) = built {
                grave.bury(node)?;
                return Err(crate::msg::MgmtError::new(e, format_args!("device group {}: sysfs failed", name)));
            }
            crate::slots::insert(&mut a.dgs, Dg { node, devices: KVec::new(), tgs: KVec::new() }, GFP_KERNEL).map_err(oom)
        }
        Ok(GroupCmd::Del { name }) => {
            let Some(slot) = a.dgs.iter_mut().find(|d| d.as_ref().is_some_and(|d| d.node.name.name_bytes() == name.as_bytes())) else {
                return Err(mgmt_err!(ENOENT, "device group {} not found", name));
            };
            let Some(dg) = slot.as_mut() else { return Ok(()) };
            let nodes = 1 + dg.tgs().map(|t| 1 + t.members().filter(|m| matches!(m.port, MemberPort::Remote { .. })).count()).sum::<usize>();
            grave.reserve(nodes)?;
            // As SCST: every group active first (with its unit attentions),
            // then the devices leave the group.
            for i in 0..dg.tgs.len() {
                if dg.tgs[i].is_some() {
                    change_tg(core, dg, i, Some(AccessState::ActiveOptimized), None, None)?;
                }
            }
            let Some(dg) = slot.take() else { return Ok(()) };
            for d in dg.devices() {
                drop(d.alua.replace(None));
            }
            bury_dg(dg, grave)
        }
    }
}

fn bury_tg(tg: Tg, grave: &mut Graveyard) -> MgmtResult {
    for m in tg.members.into_iter().flatten() {
        if let MemberPort::Remote { node, .. } = m.port {
            grave.bury(node)?;
        }
    }
    grave.bury(tg.node)
}

fn bury_dg(dg: Dg, grave: &mut Graveyard) -> MgmtResult {
    drop(dg.devices);
    for tg in dg.tgs.into_iter().flatten() {
        bury_tg(tg, grave)?;
    }
    grave.bury(dg.node)
}

/// `device_groups/DG/devices/mgmt`.
fn devices_cmd(a: &mut Alua, node: &Arc<Node>, reg: &mut Registry, input: &[u8]) -> MgmtResult {
    let cmd = parse_dg_device_cmd(input).map_err(|e| mgmt_err!(EINVAL, "{}", e.message()))?;
    match cmd {
        MemberCmd::Add { name } => {
            if name == "mgmt" {
                return Err(mgmt_err!(EINVAL, "a device called mgmt cannot join a device group"));
            }
            let Some(dev) = reg.device(name.as_bytes()).cloned() else {
                return Err(mgmt_err!(ENOENT, "device {} not found", name));
            };
            if let Some(other) = a.dgs().find(|d| d.devices().any(|x| Arc::ptr_eq(x, &dev))) {
                return Err(mgmt_err!(EEXIST, "device {} is already in device group {:?}", name, other.node.name));
            }
            let Some(dg) = a.dg_of_node(node) else { return Err(mgmt_err!(ENOENT, "device group is being deleted")) };
            dg.devices.reserve(1, GFP_KERNEL).map_err(oom)?;
            let link = dev
                .with_dir(|d| d.map(|d| with_node_dir(node, 1, |devs| devs.map(|devs| devs.add_link(d, &dev.name)))))
                .flatten()
                .ok_or_else(|| mgmt_err!(ENODEV, "device {} has no directory", name))?
                .map_err(|e| crate::msg::MgmtError::new(e, format_args!("device {}: link failed", name)))?;
            let added: *const Device = &*dev;
            crate::slots::insert(&mut dg.devices, DgDevice { dev, _link: link }, GFP_KERNEL).map_err(oom)?;
            publish(dg).inspect_err(|_| {
                for slot in dg.devices.iter_mut() {
                    if slot.as_ref().is_some_and(|d| core::ptr::eq(&*d.dev, added)) {
                        *slot = None;
                    }
                }
            })
        }
        MemberCmd::Del { name } => {
            let Some(dg) = a.dg_of_node(node) else { return Err(mgmt_err!(ENOENT, "device group is being deleted")) };
            let Some(slot) = dg.devices.iter_mut().find(|d| d.as_ref().is_some_and(|d| d.dev.name.name_bytes() == name.as_bytes())) else {
                return Err(mgmt_err!(ENOENT, "device {} is not in device group {:?}", name, dg.node.name));
            };
            if let Some(d) = slot.take() {
                drop(d.dev.alua.replace(None));
            }
            Ok(())
        }
    }
}

/// `device_groups/DG/target_groups/mgmt`.
fn target_groups_cmd(core: CoreRef, a: &mut Alua, node: &Arc<Node>, grave: &mut Graveyard, input: &[u8]) -> MgmtResult {
    let Some(dg) = a.dg_of_node(node) else { return Err(mgmt_err!(ENOENT, "device group is being deleted")) };
    match parse_alua_group_cmd(input) {
        Err(e) => Err(mgmt_err!(EINVAL, "{}", e.message())),
        Ok(GroupCmd::Create { name }) => {
            if name == "mgmt" {
                return Err(mgmt_err!(EINVAL, "a target group cannot be called mgmt"));
            }
            if dg.tgs().any(|t| t.node.name.name_bytes() == name.as_bytes()) {
                return Err(mgmt_err!(EEXIST, "target group {} already exists", name));
            }
            dg.tgs.reserve(1, GFP_KERNEL).map_err(oom)?;
            let tg_node = new_node(name)?;
            let built = node_dir(core, &tg_node, Some((node, 2))).and_then(|()| {
                [(c"mgmt", Kind::Targets), (c"group_id", Kind::GroupId), (c"preferred", Kind::Preferred), (c"state", Kind::State)]
                    .into_iter()
                    .try_for_each(|(file, kind)| node_file(core, &tg_node, 0, file, kind))
            });
            if let Err(e) = built {
                grave.bury(tg_node)?;
                return Err(crate::msg::MgmtError::new(e, format_args!("target group {}: sysfs failed", name)));
            }
            let tg = Tg { node: tg_node.clone(), id: 0, state: AccessState::ActiveOptimized, preferred: false, members: KVec::new() };
            crate::slots::insert(&mut dg.tgs, tg, GFP_KERNEL).map_err(oom)?;
            if let Err(e) = publish(dg) {
                let slot = dg.tgs.iter_mut().find(|t| t.as_ref().is_some_and(|t| Arc::ptr_eq(&t.node, &tg_node)));
                if let Some(tg) = slot.and_then(|s| s.take()) {
                    bury_tg(tg, grave)?;
                }
                return Err(e);
            }
            Ok(())
        }
        Ok(GroupCmd::Del { name }) => {
            let Some(slot) = dg.tgs.iter_mut().find(|t| t.as_ref().is_some_and(|t| t.node.name.name_bytes() == name.as_bytes())) else {
                return Err(mgmt_err!(ENOENT, "target group {} not found", name));
            };
            let remote = slot.as_ref().map_or(0, |t| t.members().filter(|m| matches!(m.port, MemberPort::Remote { .. })).count());
            grave.reserve(remote + 1)?;
            if let Some(tg) = slot.take() {
                bury_tg(tg, grave)?;
            }
            publish(dg)
        }
    }
}

/// `device_groups/DG/target_groups/TG/mgmt`.
fn targets_cmd(core: CoreRef, dg: &mut Dg, i: usize, reg: &mut Registry, grave: &mut Graveyard, input: &[u8]) -> MgmtResult {
    let cmd = parse_tg_target_cmd(input).map_err(|e| mgmt_err!(EINVAL, "{}", e.message()))?;
    match cmd {
        MemberCmd::Add { name } => {
            if matches!(name, "mgmt" | "group_id" | "preferred" | "state") {
                return Err(mgmt_err!(EINVAL, "a target called {} cannot join a target group (its file has that name)", name));
            }
            if let Some(t) = dg.tgs().find(|t| t.members().any(|m| m.name.name_bytes() == name.as_bytes())) {
                return Err(mgmt_err!(EEXIST, "target {} is already in target group {:?}", name, t.node.name));
            }
            let Some(tg) = dg.tgs[i].as_mut() else { return Err(mgmt_err!(ENOENT, "target group is being deleted")) };
            tg.members.reserve(1, GFP_KERNEL).map_err(oom)?;
            let cname = CString::try_from_fmt(fmt!("{}", name)).map_err(oom)?;
            let local = reg.targets.iter().flatten().find(|t| t.name.name_bytes() == name.as_bytes()).cloned();
            let port = match local {
                Some(t) => {
                    let link = t
                        .with_dir(|d| d.map(|d| with_node_dir(&tg.node, 0, |tgd| tgd.map(|tgd| tgd.add_link(d, &cname)))))
                        .flatten()
                        .ok_or_else(|| mgmt_err!(ENODEV, "target {} has no directory", name))?
                        .map_err(|e| crate::msg::MgmtError::new(e, format_args!("target {}: link failed", name)))?;
                    MemberPort::Local { rel_tgt_id: t.rel_tgt_id, _link: link }
                }
                None => {
                    let node = new_node(name)?;
                    let built = node_dir(core, &node, Some((&tg.node, 0)))
                        .and_then(|()| node_file(core, &node, 0, c"rel_tgt_id", Kind::RemoteRelTgtId));
                    if let Err(e) = built {
                        grave.bury(node)?;
                        return Err(crate::msg::MgmtError::new(e, format_args!("target {}: sysfs failed", name)));
                    }
                    MemberPort::Remote { rel_tgt_id: 0, node }
                }
            };
            crate::slots::insert(&mut tg.members, Member { name: cname, port }, GFP_KERNEL).map_err(oom)?;
            if let Err(e) = publish(dg) {
                let slot = dg.tgs.get_mut(i).and_then(|t| t.as_mut()).and_then(|t| {
                    t.members.iter_mut().find(|m| m.as_ref().is_some_and(|m| m.name.name_bytes() == name.as_bytes()))
                });
                if let Some(Member { port: MemberPort::Remote { node, .. }, .. }) = slot.and_then(|s| s.take()) {
                    grave.bury(node)?;
                }
                return Err(e);
            }
            Ok(())
        }
        MemberCmd::Del { name } => {
            // As SCST: the target is looked for in every target group of
            // the device group.
            grave.reserve(1)?;
            let found = dg.tgs_mut().find_map(|t| {
                t.members.iter_mut().find(|m| m.as_ref().is_some_and(|m| m.name.name_bytes() == name.as_bytes()))
            });
            let Some(slot) = found else {
                return Err(mgmt_err!(ENOENT, "target {} is in no target group of this device group", name));
            };
            if let Some(Member { port: MemberPort::Remote { node, .. }, .. }) = slot.take() {
                grave.bury(node)?;
            }
            publish(dg)
        }
    }
}

fn set_remote_rel_tgt_id(a: &mut Alua, node: &Arc<Node>, input: &[u8]) -> MgmtResult {
    let id = parse_port_id(input).map_err(|_| mgmt_err!(EINVAL, "rel_tgt_id must be 1 to 65535"))?;
    for dg in a.dgs.iter_mut().flatten() {
        let mut found = false;
        for m in dg.tgs.iter_mut().flatten().flat_map(|t| t.members.iter_mut().flatten()) {
            if let MemberPort::Remote { rel_tgt_id, node: n } = &mut m.port {
                if Arc::ptr_eq(n, node) {
                    *rel_tgt_id = id;
                    found = true;
                }
            }
        }
        if found {
            return publish(dg);
        }
    }
    Err(mgmt_err!(ENOENT, "target is being deleted"))
}

/// Sets target group `i`'s state and preference; a change (but to
/// transitioning) raises ASYMMETRIC ACCESS STATE CHANGED on every I_T nexus
/// through its targets to the group's devices, but `by` (the nexus whose SET
/// TARGET PORT GROUPS made it).
fn change_tg(core: CoreRef, dg: &mut Dg, i: usize, state: Option<AccessState>, preferred: Option<bool>, by: Option<&Session>) -> MgmtResult {
    let Some(tg) = dg.tgs[i].as_mut() else { return Ok(()) };
    let before = (tg.state, tg.preferred);
    tg.state = state.unwrap_or(tg.state);
    tg.preferred = preferred.unwrap_or(tg.preferred);
    if (tg.state, tg.preferred) == before {
        return Ok(());
    }
    let raise = tg.state != AccessState::Transitioning;
    if let Err(e) = publish(dg) {
        // Nothing changed for the commands: nor for management.
        if let Some(tg) = dg.tgs[i].as_mut() {
            (tg.state, tg.preferred) = before;
        }
        return Err(e);
    }
    let Some(tg) = dg.tgs[i].as_ref() else { return Ok(()) };
    if raise {
        let mut ports = KVec::new();
        for m in tg.members() {
            if let MemberPort::Local { rel_tgt_id, .. } = m.port {
                ports.push(rel_tgt_id, GFP_KERNEL).map_err(oom)?;
            }
        }
        for dev in dg.devices() {
            crate::ua::raise_on_device_where(&core, dev, Ua::AsymmetricAccessChanged, &|s| {
                ports.contains(&s.target.rel_tgt_id) && !by.is_some_and(|b| core::ptr::eq(b, s))
            });
        }
    }
    Ok(())
}

/// Publishes `dg`'s configuration to the commands of each of its devices:
/// every view is built first, so that on failure (out of memory) none
/// changed.
fn publish(dg: &Dg) -> MgmtResult {
    let mut views = KVec::new();
    for dev in dg.devices() {
        let mut groups = KVec::new();
        for tg in dg.tgs() {
            let mut ports = KVec::new();
            let mut local_ports = KVec::new();
            for m in tg.members() {
                ports.push(m.rel_tgt_id(), GFP_KERNEL).map_err(oom)?;
                if matches!(m.port, MemberPort::Local { .. }) {
                    local_ports.push(m.rel_tgt_id(), GFP_KERNEL).map_err(oom)?;
                }
            }
            groups.push(GroupView { id: tg.id, state: tg.state, preferred: tg.preferred, ports, local_ports }, GFP_KERNEL).map_err(oom)?;
        }
        let explicit = dev.expl_alua.load(Ordering::Acquire);
        let view = Arc::new(AluaView { explicit, groups }, GFP_KERNEL).map_err(oom)?;
        views.push(view, GFP_KERNEL).map_err(oom)?;
    }
    for (dev, view) in dg.devices().zip(views) {
        drop(dev.alua.replace(Some(view)));
    }
    Ok(())
}

/// Publishes again the group of `dev` (its `expl_alua` changed).
pub fn device_changed(core: &crate::registry::Core, dev: &Device) -> MgmtResult {
    let a = core.alua.lock();
    let res = match a.dgs().find(|d| d.devices().any(|x| core::ptr::eq(&**x, dev))) {
        Some(dg) => publish(dg),
        None => Ok(()),
    };
    res
}

/// A device goes away: it leaves its device group (management, under
/// `Core::reg`).
pub fn forget_device(core: &crate::registry::Core, dev: &Device) {
    let mut a = core.alua.lock();
    for dg in a.dgs.iter_mut().flatten() {
        for slot in dg.devices.iter_mut() {
            if slot.as_ref().is_some_and(|d| core::ptr::eq(&*d.dev, dev)) {
                if let Some(d) = slot.take() {
                    drop(d.dev.alua.replace(None));
                }
            }
        }
    }
}

/// A target goes away: its entries leave every target group, as in SCST
/// (management, under `Core::reg`; its entries are links, removed in place).
pub fn forget_target(core: &crate::registry::Core, t: &crate::target::Target) {
    let mut a = core.alua.lock();
    for dg in a.dgs.iter_mut().flatten() {
        let mut changed = false;
        for tg in dg.tgs.iter_mut().flatten() {
            for slot in tg.members.iter_mut() {
                let gone = slot.as_ref().is_some_and(|m| {
                    matches!(m.port, MemberPort::Local { rel_tgt_id, .. } if rel_tgt_id == t.rel_tgt_id)
                        && m.name.name_bytes() == t.name.name_bytes()
                });
                if gone {
                    *slot = None;
                    changed = true;
                }
            }
        }
        if changed && publish(dg).is_err() {
            pr_warn!("out of memory: ALUA view of device group {:?} not updated\n", dg.node.name);
        }
    }
}

/// SET TARGET PORT GROUPS from `by` to `dev` with parameter list `list`
/// (thread context): every change is checked against the device group
/// first, then made.
pub fn set_target_port_groups(core: CoreRef, dev: &Device, by: &Session, list: &[u8]) -> Result<(), Sense> {
    crate::sys::context::assert_may_sleep();
    let stpg = StpgList::parse(list)?;
    let mut a = core.alua.lock();
    let Some(dg) = a.dgs.iter_mut().flatten().find(|d| d.devices().any(|x| core::ptr::eq(&**x, dev))) else {
        return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(4, None));
    };
    let mut targets = KVec::new();
    for c in stpg.changes() {
        let Some(i) = dg.tgs.iter().position(|t| t.as_ref().is_some_and(|t| t.id == c.group && t.id != 0)) else {
            return Err(Sense::INVALID_FIELD_IN_PARAMETER_LIST.in_param(c.offset + 2, None));
        };
        targets.push((i, c.state), GFP_KERNEL).map_err(|_| Sense::INSUFFICIENT_RESOURCES)?;
    }
    for (i, state) in targets {
        if change_tg(core, dg, i, Some(state), None, Some(by)).is_err() {
            return Err(Sense::new(crate::scsi::sense::key::HARDWARE_ERROR, 0x67, 0x0A));
        }
    }
    Ok(())
}

/// `expl_alua` of a device as its sysfs file shows it.
pub fn show_expl_alua(out: &mut TextBuf<'_>, on: bool) {
    let _ = crate::device::key_attr(out, u8::from(on), on);
}
