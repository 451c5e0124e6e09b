// SPDX-License-Identifier: GPL-2.0
//! Devices: a handler's backing store plus the identity the core reports for
//! it (`devices/<name>/`).

use crate::sys::compat::NameBytes;
use crate::handler::Handler;
use crate::msg::MgmtResult;
use crate::registry::{Core, Graveyard, Registry, Teardown};
use crate::sys::ops::{DevContext, DevPriv};
use crate::sys::sysfs::{Attr, AttrOps, Dir, Link, TextBuf};
use crate::sys::work::{QueueKind, Workqueue};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use crate::scsi::ua::Ua;
use crate::scsi::mode::ModeValues;
use crate::scsi::task_set::{QErr, QueueAlgorithm};
use kernel::alloc::flags::GFP_KERNEL;
use crate::sys::compat::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex};
use crate::mgmt_err;

/// Longest wait for a device's commands to drain before detaching anyway
/// would free memory still in use; we keep waiting but complain.
const DRAIN_WARN_MS: u32 = 30_000;
/// Commands of one device that may run in threads at once (SCST's default
/// is a pool of 8 threads per device; file I/O benefits from more).
const DEVICE_THREADS: i32 = 32;

/// What the emulation reports about the device.
#[derive(Clone, Copy)]
pub struct Geometry {
    /// Block size in bytes.
    pub block_size: u32,
    /// log2(block_size).
    pub block_shift: u32,
    /// Capacity in blocks.
    pub num_blocks: u64,
    /// Refuses writes.
    pub read_only: bool,
    /// Volatile write cache present.
    pub write_cache: bool,
    /// Rotating medium.
    pub rotational: bool,
    /// `size` is configuration (shown with `[key]`).
    pub size_is_key: bool,
    /// The handler deallocates blocks (`io_op::DISCARD`, `LBA_STATUS`).
    pub thin_provisioned: bool,
}

/// A device exported (or exportable) as LUNs.
#[pin_data]
pub struct Device {
    /// Device name (unique).
    pub name: CString,
    /// Its handler.
    pub handler: Arc<Handler>,
    /// The handler's device context, as commands carry it.
    pub ctx: DevContext,
    /// The handler's device, until teardown detaches it.
    #[pin]
    backend: Mutex<Option<DevPriv>>,
    /// Size and flags as the handler gave them (the capacity since:
    /// [`Device::num_blocks`]).
    pub geo: Geometry,
    /// The capacity in blocks now: the handler's at first, read again by
    /// `resync_size`.
    capacity: AtomicU64,
    /// Unit serial number (VPD 0x80), 8 hex digits derived from the name.
    pub usn: [u8; 8],
    /// 64-bit identity for the NAA designator.
    pub naa_id: u64,
    /// The volatile write cache is on (the caching mode page's WCE): set
    /// from the handler's geometry, changed by MODE SELECT when the handler
    /// lets the core manage it (`handler_flags::WRITE_CACHE`).
    pub write_cache: AtomicBool,
    /// Sense data in descriptor format (the control mode page's D_SENSE,
    /// changed by MODE SELECT; off at first).
    pub descriptor_sense: AtomicBool,
    /// Commands aborted by another I_T nexus's task management end with
    /// TASK ABORTED status (the control mode page's TAS, changed by MODE
    /// SELECT; off at first).
    pub task_aborted_status: AtomicBool,
    /// LUNs that map this device.
    pub exported: AtomicU32,
    /// Commands holding the device (looked up and not yet freed).
    pub inflight: AtomicU32,
    /// Set when teardown starts waiting for `inflight`: no new holder.
    pub dying: AtomicBool,
    /// Calls into the handler's `exec` that have not returned yet (a
    /// command may be freed before its `exec` call returns).
    pub exec_active: AtomicU32,
    /// Where the device's commands run when their step may sleep: a queue
    /// per device, so that a hung backing store stalls only its own LUNs.
    /// Destroyed (after draining) when the device is freed, which happens
    /// in management context only (see `DeviceRef`).
    pub queue: Workqueue,
    /// Where a handler call of a command that found the device idle runs
    /// while the device has not seen a deep queue lately: on the CPU that
    /// queued it (`rscst_<name>.idle`, per-CPU), a local wake-up instead
    /// of a thread on another CPU, which is what a queue depth of one waits
    /// for (see `cmd::in_deep_regime`). At most about one command of
    /// the device is in it at a time, so a hung backing store still stalls
    /// only its own LUNs.
    pub idle_queue: Workqueue,
    /// Idle handler calls still to send to `queue` since the device last
    /// saw a deep queue.
    pub deep_credit: AtomicU32,
    /// Idle handler calls so far (every 16th probes `queue`).
    pub idle_calls: AtomicU32,
    /// What makes COMPARE AND WRITE atomic against the device's other
    /// writes (see `crate::gate`).
    #[pin]
    pub gate: crate::gate::Gate,
    /// The task set: what orders commands by their task attributes (see
    /// `crate::gate`).
    #[pin]
    pub order: crate::gate::Gate,
    /// Its ACA condition, if one is established (see `crate::aca`).
    #[pin]
    pub aca: crate::aca::Aca,
    /// The control mode page's QUEUE ALGORITHM MODIFIER (the field's
    /// value; changed by MODE SELECT, 1 at first).
    pub queue_algorithm: AtomicU8,
    /// The control mode page's QErr (the field's value; changed by MODE
    /// SELECT, 0 at first).
    pub qerr: AtomicU8,
    /// The saved values of the mode parameters above, if it keeps them
    /// (see `crate::saved_modes`).
    #[pin]
    pub saved_modes: crate::saved_modes::SavedModes,
    /// Its SPC-2 and persistent reservations.
    #[pin]
    pub reservations: crate::reservations::DeviceReservations,
    /// Its device group's ALUA configuration, as its commands read it
    /// (none while it is in no group; see `crate::alua`).
    pub alua: crate::sys::rcu::RcuArc<crate::alua::AluaView>,
    /// SET TARGET PORT GROUPS is served (explicit ALUA; SCST's `expl_alua`).
    pub expl_alua: AtomicBool,
    #[pin]
    sysfs: Mutex<DeviceSysfs>,
}

struct DeviceSysfs {
    handler_link: Option<Link>,
    attrs: KVec<Attr>,
    exported_dir: Option<Dir>,
    dir: Option<Dir>,
}

/// SCSI peripheral device type names, as SCST prints them.
pub fn type_name(t: u8) -> &'static str {
    match t {
        0 => "Direct-access device (e.g., magnetic disk)",
        1 => "Sequential-access device (e.g., magnetic tape)",
        3 => "Processor device",
        5 => "CD/DVD device",
        7 => "Optical memory device",
        8 => "Medium changer device",
        12 => "Storage array controller device",
        _ => "Unknown",
    }
}

/// FNV-1a: a stable identity from the device name (SCST also derives its
/// default serial from the name).
fn name_hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hex8(v: u32) -> [u8; 8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 8];
    for (i, o) in out.iter_mut().enumerate() {
        *o = HEX[((v >> (28 - 4 * i)) & 0xf) as usize];
    }
    out
}

#[derive(Clone, Copy)]
enum DevAttrKind {
    Type,
    BlockSize,
    Size,
    SizeMb,
    ReadOnly,
    WriteThrough,
    T10DevId,
    Usn,
    PrFileName,
    ExplAlua,
    ResyncSize,
    Handler(u32),
}

struct DevAttr {
    dev: Arc<Device>,
    kind: DevAttrKind,
}

/// Writes `value`, then SCST's `[key]` line when it differs from the
/// default, so configuration savers know to record it.
pub fn key_attr(out: &mut TextBuf<'_>, value: impl core::fmt::Display, non_default: bool) -> core::fmt::Result {
    writeln!(out, "{}", value)?;
    if non_default {
        writeln!(out, "[key]")?;
    }
    Ok(())
}

impl AttrOps for DevAttr {
    fn show(&self, out: &mut TextBuf<'_>) {
        let d = &self.dev;
        let bytes = d.num_blocks() << d.geo.block_shift;
        let _ = match self.kind {
            DevAttrKind::Type => {
                let t = d.handler.ops.device_type();
                writeln!(out, "{} - {}", t, type_name(t))
            }
            DevAttrKind::BlockSize => key_attr(out, d.geo.block_size, d.geo.block_size != 512),
            DevAttrKind::Size => key_attr(out, bytes, d.geo.size_is_key),
            DevAttrKind::SizeMb => writeln!(out, "{}", bytes >> 20),
            DevAttrKind::ReadOnly => key_attr(out, u8::from(d.geo.read_only), d.geo.read_only),
            DevAttrKind::WriteThrough => {
                let wt = !d.write_cache.load(Ordering::Relaxed);
                key_attr(out, u8::from(wt), wt)
            }
            DevAttrKind::T10DevId => {
                out.push(d.name.name_bytes());
                writeln!(out)
            }
            DevAttrKind::Usn => {
                out.push(&d.usn);
                writeln!(out)
            }
            DevAttrKind::PrFileName => {
                d.reservations.show_file(out);
                Ok(())
            }
            DevAttrKind::ExplAlua => {
                let on = d.expl_alua.load(Ordering::Acquire);
                key_attr(out, u8::from(on), on)
            }
            // Write-only.
            DevAttrKind::ResyncSize => Ok(()),
            DevAttrKind::Handler(i) => {
                let mut buf = [0u8; 512];
                let n = d.backend.lock().as_ref().map_or(0, |b| d.handler.ops.show_attr(b, i, &mut buf));
                out.push(&buf[..n]);
                writeln!(out)
            }
        };
    }

    /// `pr_file_name`: where the device's persistent reservations are
    /// kept (an absolute path; empty: the default). Refused while LUNs
    /// export the device, as in SCST; the state is then read from there.
    fn store(&self, input: &[u8]) -> Result {
        let d = &self.dev;
        let core = d.handler.core;
        if let DevAttrKind::ResyncSize = self.kind {
            return core.run_mgmt(input, |_reg, _grave| d.resync_size(&core));
        }
        if let DevAttrKind::ExplAlua = self.kind {
            return core.run_mgmt(input, |_reg, _grave| {
                let text = core::str::from_utf8(input).map(str::trim).unwrap_or("");
                let on = crate::mgmt::parse_bool(text).map_err(|_| mgmt_err!(EINVAL, "expl_alua must be 0 or 1"))?;
                d.expl_alua.store(on, Ordering::Release);
                crate::alua::device_changed(&core, d)
            });
        }
        let DevAttrKind::PrFileName = self.kind else { return Err(EPERM) };
        core.run_mgmt(input, |_reg, _grave| {
            let Ok(text) = core::str::from_utf8(input).map(str::trim) else {
                return Err(mgmt_err!(EINVAL, "pr_file_name must be text"));
            };
            if d.exported.load(Ordering::Acquire) != 0 {
                return Err(mgmt_err!(EBUSY, "device {:?} is exported: pr_file_name cannot change", d.name));
            }
            if !text.is_empty() && !text.starts_with('/') {
                return Err(mgmt_err!(EINVAL, "pr_file_name must be an absolute path, not '{}'", text));
            }
            let path = if text.is_empty() { None } else { Some(text) };
            d.reservations
                .load(&d.name, path)
                .map_err(|e| crate::msg::MgmtError::new(e, format_args!("pr_file_name {}: error {}", text, e.to_errno())))
        })
    }
}

impl Device {
    /// The capacity in blocks now (data path: one load).
    pub fn num_blocks(&self) -> u64 {
        self.capacity.load(Ordering::Acquire)
    }

    /// `resync_size` (SCST's attribute): asks the handler for the backing
    /// store's size again; a new capacity is reported to every I_T nexus
    /// that sees the device (CAPACITY DATA HAS CHANGED). Management context.
    fn resync_size(&self, core: &Core) -> MgmtResult {
        let bytes = {
            let backend = self.backend.lock();
            let Some(b) = backend.as_ref() else { return Err(mgmt_err!(ENODEV, "device {:?} is going away", self.name)) };
            match self.handler.ops.size(b) {
                None => return Err(mgmt_err!(EINVAL, "the handler of {:?} cannot resync its size", self.name)),
                Some(r) => r.map_err(|e| crate::msg::MgmtError::new(e, format_args!("device {:?}: reading the size failed: error {}", self.name, e.to_errno())))?,
            }
        };
        let blocks = bytes >> self.geo.block_shift;
        if blocks == 0 {
            return Err(mgmt_err!(EINVAL, "device {:?}: the backing store is smaller than one block", self.name));
        }
        if self.capacity.swap(blocks, Ordering::AcqRel) != blocks {
            pr_info!("device {:?}: capacity now {} blocks\n", self.name, blocks);
            crate::ua::raise_on_device(core, self, Ua::CapacityChanged, None);
        }
        Ok(())
    }

    /// The control mode page's QUEUE ALGORITHM MODIFIER now.
    pub fn queue_algorithm(&self) -> QueueAlgorithm {
        QueueAlgorithm::from_field(self.queue_algorithm.load(Ordering::Relaxed)).unwrap_or(QueueAlgorithm::Unrestricted)
    }

    /// The control mode page's QErr now.
    pub fn qerr(&self) -> QErr {
        QErr::from_field(self.qerr.load(Ordering::Relaxed)).unwrap_or(QErr::Continue)
    }

    /// The current values of the changeable mode parameters.
    pub fn mode_values(&self) -> ModeValues {
        ModeValues {
            write_cache: self.write_cache.load(Ordering::Acquire),
            descriptor_sense: self.descriptor_sense.load(Ordering::Acquire),
            task_aborted_status: self.task_aborted_status.load(Ordering::Acquire),
            queue_algorithm: self.queue_algorithm(),
            qerr: self.qerr(),
        }
    }

    /// The default values of the changeable mode parameters (see
    /// `mode_defaults`).
    pub fn default_mode_values(&self) -> ModeValues {
        mode_defaults(&self.geo)
    }

    /// Makes `v` the current values of the changeable mode parameters;
    /// returns whether any changed.
    pub fn set_mode_values(&self, v: ModeValues) -> bool {
        let mut changed = self.write_cache.swap(v.write_cache, Ordering::AcqRel) != v.write_cache;
        changed |= self.descriptor_sense.swap(v.descriptor_sense, Ordering::AcqRel) != v.descriptor_sense;
        changed |= self.task_aborted_status.swap(v.task_aborted_status, Ordering::AcqRel) != v.task_aborted_status;
        changed |= self.queue_algorithm.swap(v.queue_algorithm.field(), Ordering::AcqRel) != v.queue_algorithm.field();
        changed |= self.qerr.swap(v.qerr.field(), Ordering::AcqRel) != v.qerr.field();
        changed
    }

    /// Whether every READ of this device fills the buffer it reads into:
    /// its block tier promises it (`FILLS_READS`) and no raw tier may
    /// answer the READ instead. Otherwise a buffer that held other data is
    /// zeroed first.
    pub fn fills_reads(&self) -> bool {
        self.handler.ops.fills_reads() && !self.handler.ops.has_exec_scsi()
    }

    /// The `exported/` directory, for LUN back-links.
    pub fn with_exported_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.exported_dir.as_ref())
    }

    /// Runs `f` with the device's own directory.
    pub fn with_dir<R>(&self, f: impl FnOnce(Option<&Dir>) -> R) -> R {
        let s = self.sysfs.lock();
        f(s.dir.as_ref())
    }

    fn build_sysfs(self: &Arc<Self>, core: &Core) -> Result {
        let dir = Dir::new(Some(&core.devices_dir), &self.name)?;
        let mut attrs = KVec::new();
        let core_attrs: [(&core::ffi::CStr, DevAttrKind); 7] = [
            (c"type", DevAttrKind::Type),
            (c"blocksize", DevAttrKind::BlockSize),
            (c"size", DevAttrKind::Size),
            (c"size_mb", DevAttrKind::SizeMb),
            (c"read_only", DevAttrKind::ReadOnly),
            (c"t10_dev_id", DevAttrKind::T10DevId),
            (c"usn", DevAttrKind::Usn),
        ];
        let new_attr = |kind| -> Result<Arc<dyn AttrOps>> { Ok(Arc::new(DevAttr { dev: self.clone(), kind }, GFP_KERNEL)?) };
        dir.add_attrs(&core_attrs, &mut attrs, new_attr)?;
        if self.handler.ops.manages_write_cache() {
            dir.add_attrs(&[(c"write_through", DevAttrKind::WriteThrough)], &mut attrs, new_attr)?;
        }
        attrs.push(dir.add_attr(c"pr_file_name", 0o644, new_attr(DevAttrKind::PrFileName)?)?, GFP_KERNEL)?;
        attrs.push(dir.add_attr(c"expl_alua", 0o644, new_attr(DevAttrKind::ExplAlua)?)?, GFP_KERNEL)?;
        if self.handler.ops.resizes() {
            attrs.push(dir.add_attr(c"resync_size", 0o200, new_attr(DevAttrKind::ResyncSize)?)?, GFP_KERNEL)?;
        }
        for (i, name) in self.handler.ops.attr_names().enumerate() {
            let ops = Arc::new(DevAttr { dev: self.clone(), kind: DevAttrKind::Handler(i as u32) }, GFP_KERNEL)?;
            attrs.push(dir.add_attr(name, 0o444, ops)?, GFP_KERNEL)?;
        }
        let exported_dir = Dir::new(Some(&dir), c"exported")?;
        let handler_dir_link = self.handler_link(&dir)?;
        self.handler.link_device(&dir, &self.name)?;
        let mut s = self.sysfs.lock();
        s.handler_link = handler_dir_link;
        s.attrs = attrs;
        s.exported_dir = Some(exported_dir);
        s.dir = Some(dir);
        Ok(())
    }

    fn handler_link(&self, dir: &Dir) -> Result<Option<Link>> {
        // devices/<d>/handler -> handlers/<h>
        self.handler.with_dir(|hdir| hdir.map(|h| dir.add_link(h, c"handler")).transpose())
    }
}

impl Teardown for Device {
    fn teardown(&self) {
        self.handler.unlink_device(self.name.name_bytes());
        let parts = {
            let mut s = self.sysfs.lock();
            (core::mem::take(&mut s.attrs), s.handler_link.take(), s.exported_dir.take(), s.dir.take())
        };
        drop(parts);
        // No LUN maps the device any more; wait for commands that found it
        // before that, then release the backend.
        let mut waited = 0u64;
        self.dying.store(true, Ordering::SeqCst);
        let idle = || self.inflight.load(Ordering::SeqCst) == 0 && self.exec_active.load(Ordering::SeqCst) == 0;
        while !crate::sys::time::wait_until(DRAIN_WARN_MS, 5, idle) {
            waited += u64::from(DRAIN_WARN_MS);
            pr_warn!("device {:?}: still {} commands after {} ms\n",
                self.name, self.inflight.load(Ordering::Relaxed), waited);
        }
        let backend = self.backend.lock().take();
        if let Some(b) = backend {
            self.handler.ops.detach(b);
        }
        pr_info!("device {:?} deleted\n", self.name);
    }
}

/// Allocates the workqueue `rscst_<device><suffix>` of kind `kind`.
fn device_queue(device: &str, suffix: &str, kind: QueueKind) -> Result<Workqueue> {
    let qname = CString::try_from_fmt(fmt!("rscst_{}{}", device, suffix))?;
    let qname = core::ffi::CStr::from_bytes_with_nul(qname.name_bytes_with_nul()).map_err(|_| EINVAL)?;
    Workqueue::new(qname, kind)
}

/// The default values of the changeable mode parameters, those a device
/// starts with: the write cache as the handler set it up, the control
/// page's fields at SPC-4's defaults.
fn mode_defaults(geo: &Geometry) -> ModeValues {
    ModeValues {
        write_cache: geo.write_cache,
        descriptor_sense: false,
        task_aborted_status: false,
        queue_algorithm: QueueAlgorithm::Unrestricted,
        qerr: QErr::Continue,
    }
}

fn check_setup(s: &crate::abi::DeviceSetup) -> Result<Geometry, &'static str> {
    let bs = s.block_size;
    if !(512..=4096).contains(&bs) || !bs.is_power_of_two() {
        return Err("block size must be 512, 1024, 2048 or 4096");
    }
    Ok(Geometry {
        block_size: bs,
        block_shift: bs.trailing_zeros(),
        num_blocks: s.num_blocks,
        read_only: s.read_only != 0,
        write_cache: s.write_cache != 0,
        rotational: s.rotational != 0,
        size_is_key: s.size_is_key != 0,
        thin_provisioned: s.thin_provisioned != 0,
    })
}

/// `add_device NAME params` on `handler`.
pub fn add(
    core: &Core,
    reg: &mut Registry,
    grave: &mut Graveyard,
    handler: &Arc<Handler>,
    name: &str,
    params: &str,
) -> MgmtResult {
    if !crate::mgmt::commands::is_valid_device_name(name) {
        return Err(mgmt_err!(EINVAL, "invalid device name '{}'", name));
    }
    if reg.device(name.as_bytes()).is_some() {
        return Err(mgmt_err!(EEXIST, "device {} already exists", name));
    }
    let mut msg = [0u8; 160];
    let (backend, setup) = handler.ops.attach(name.as_bytes(), params.as_bytes(), &mut msg).map_err(|e| {
        let end = msg.iter().position(|b| *b == 0).unwrap_or(msg.len());
        let text = core::str::from_utf8(&msg[..end]).unwrap_or("?");
        if text.is_empty() {
            // Every refusal says why, even when the handler did not.
            crate::msg::MgmtError::new(e, format_args!("add_device {}: refused by the handler (error {})", name, e.to_errno()))
        } else {
            crate::msg::MgmtError::new(e, format_args!("add_device {}: {}", name, text))
        }
    })?;
    let geo = match check_setup(&setup) {
        Ok(g) => g,
        Err(why) => {
            handler.ops.detach(backend);
            return Err(mgmt_err!(EINVAL, "add_device {}: handler reported a bad geometry: {}", name, why));
        }
    };
    let hash = name_hash(name.as_bytes());
    let defaults = mode_defaults(&geo);
    let ctx = backend.context();
    let queues = device_queue(name, "", QueueKind::Blocking { max_active: DEVICE_THREADS })
        .and_then(|q| Ok((q, device_queue(name, ".idle", QueueKind::PerCpu)?)));
    let (queue, idle_queue) = match queues {
        Ok(q) => q,
        Err(e) => {
            handler.ops.detach(backend);
            return Err(crate::msg::MgmtError::new(e, format_args!("add_device {}: no workqueue", name)));
        }
    };
    let dev = CString::try_from_fmt(fmt!("{}", name))
        .and_then(|cname| {
            Arc::pin_init(
                pin_init!(Device {
                    name: cname,
                    handler: handler.clone(),
                    ctx,
                    backend <- new_mutex!(None),
                    capacity: AtomicU64::new(geo.num_blocks),
                    geo,
                    usn: hex8((hash >> 32) as u32 ^ hash as u32),
                    naa_id: hash,
                    write_cache: AtomicBool::new(defaults.write_cache),
                    descriptor_sense: AtomicBool::new(defaults.descriptor_sense),
                    task_aborted_status: AtomicBool::new(defaults.task_aborted_status),
                    alua: crate::sys::rcu::RcuArc::new(None),
                    expl_alua: AtomicBool::new(false),
                    exported: AtomicU32::new(0),
                    inflight: AtomicU32::new(0),
                    dying: AtomicBool::new(false),
                    exec_active: AtomicU32::new(0),
                    queue,
                    idle_queue,
                    deep_credit: AtomicU32::new(0),
                    idle_calls: AtomicU32::new(0),
                    gate <- crate::gate::Gate::new(crate::cmd::write_place, None),
                    order <- crate::gate::Gate::new(crate::cmd::order_place, Some(crate::cmd::is_aborted)),
                    aca <- crate::aca::Aca::new(),
                    queue_algorithm: AtomicU8::new(defaults.queue_algorithm.field()),
                    qerr: AtomicU8::new(defaults.qerr.field()),
                    saved_modes <- crate::saved_modes::SavedModes::new(),
                    reservations <- crate::reservations::DeviceReservations::new(),
                    sysfs <- new_mutex!(DeviceSysfs {
                        handler_link: None,
                        attrs: KVec::new(),
                        exported_dir: None,
                        dir: None,
                    }),
                }),
                GFP_KERNEL,
            )
        });
    let dev = match dev {
        Ok(d) => d,
        Err(e) => {
            handler.ops.detach(backend);
            return Err(crate::msg::MgmtError::new(e, format_args!("add_device {}: out of memory", name)));
        }
    };
    *dev.backend.lock() = Some(backend);
    if let Err(e) = dev.build_sysfs(core).and_then(|_| reg.add_device(dev.clone())) {
        // Teardown (after the registry lock) removes what was created and detaches.
        grave.bury(dev)?;
        return Err(crate::msg::MgmtError::new(e, format_args!("add_device {}: sysfs failed", name)));
    }
    // Its saved mode parameters come back (see `crate::saved_modes`).
    crate::saved_modes::restore(&dev);
    // What was kept of its persistent reservations (APTPL) comes back.
    if let Err(e) = dev.reservations.load(&dev.name, None) {
        pr_warn!("device {}: persistent reservations not restored (error {})\n", name, e.to_errno());
    }
    pr_info!("device {} added ({} blocks of {} bytes)\n", name, geo.num_blocks, geo.block_size);
    Ok(())
}

/// `del_device NAME`: refused while LUNs export it.
pub fn del(reg: &mut Registry, grave: &mut Graveyard, name: &[u8]) -> MgmtResult {
    let Some(d) = reg.device(name) else {
        return Err(mgmt_err!(ENOENT, "device {} not found", core::str::from_utf8(name).unwrap_or("?")));
    };
    let n = d.exported.load(Ordering::Acquire);
    if n != 0 {
        return Err(mgmt_err!(EBUSY, "device {:?} is exported as {} LUN(s): delete them first", d.name, n));
    }
    force_del(reg, grave, name)
}

/// Deletes a device whatever maps it (handler unregistration: targets drop
/// their LUNs of it first).
pub fn force_del(reg: &mut Registry, grave: &mut Graveyard, name: &[u8]) -> MgmtResult {
    if let Some(d) = reg.device(name) {
        if d.exported.load(Ordering::Acquire) != 0 {
            let d = d.clone();
            crate::lun::drop_device_everywhere(reg, &d, grave)?;
        }
    }
    match reg.take_device(name) {
        Some(d) => {
            crate::alua::forget_device(&d.handler.core, &d);
            grave.bury(d)
        }
        None => Ok(()),
    }
}
