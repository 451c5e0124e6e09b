// SPDX-License-Identifier: GPL-2.0
//! The pass-through handlers (SCST's `dev_disk`, `dev_tape`, ...): a real
//! SCSI device of this machine, named by `H:C:I:L`, exported as a LUN.
//! Every command goes to the device as it came, on the raw tier, except
//! those the core keeps for itself (REPORT LUNS, reservations and
//! persistent reservations, unit attentions, task management, access
//! control); status, sense data and residual come back as the device gave
//! them.

use crate::abi::{HandlerOps, MAX_TRANSFER_BYTES};
use crate::mgmt::parse_hctl;
use crate::sys::adapter::{handler_ops, DevHandler, Geometry, MsgOut};
use crate::sys::client::{Ops, RawCmd};
use crate::sys::scsi_pt::{Dispatch, Fixup, OnFailure, ScsiDevice};
use core::ffi::CStr;
use core::fmt::Write;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;

/// HARDWARE ERROR, LOGICAL UNIT FAILURE: the device was removed.
const LOGICAL_UNIT_FAILURE: (u8, u8, u8) = (0x04, 0x3E, 0x01);
/// ABORTED COMMAND, LOGICAL UNIT COMMUNICATION TIME-OUT.
const COMMUNICATION_TIME_OUT: (u8, u8, u8) = (0x0B, 0x08, 0x01);
/// ABORTED COMMAND, LOGICAL UNIT COMMUNICATION FAILURE.
const COMMUNICATION_FAILURE: (u8, u8, u8) = (0x0B, 0x08, 0x00);
/// HARDWARE ERROR, INTERNAL TARGET FAILURE.
const INTERNAL_TARGET_FAILURE: (u8, u8, u8) = (0x04, 0x44, 0x00);
/// ILLEGAL REQUEST, INVALID FIELD IN CDB.
const INVALID_FIELD_IN_CDB: (u8, u8, u8) = (0x05, 0x24, 0x00);

const FAILED: OnFailure = OnFailure {
    device_gone: LOGICAL_UNIT_FAILURE,
    timed_out: COMMUNICATION_TIME_OUT,
    transport: COMMUNICATION_FAILURE,
    internal: INTERNAL_TARGET_FAILURE,
};

/// One pass-through handler: the device type it takes and how its
/// commands are sent.
pub struct Passthrough {
    /// The handler's name (for messages).
    name: &'static str,
    /// The peripheral device type of the devices it attaches.
    device_type: u8,
    /// Time a command has to finish at the device.
    timeout_ms: u32,
    /// Resends by the midlayer after a transport error: none for devices
    /// whose commands must not run twice (a tape's WRITE, a changer's
    /// MOVE MEDIUM).
    retries: i32,
    /// SCST's `_perf` variant: READs and WRITEs complete GOOD at once,
    /// without reaching the device (to measure the path to it; read data
    /// is zeros).
    perf: bool,
}

/// A device attached to a pass-through handler.
pub struct PtDev {
    sdev: ScsiDevice,
    /// Its block size (a disk's, from READ CAPACITY; 512 for the others).
    block_size: u32,
    /// The most bytes one command moves (the host's maximum transfer, at
    /// most the core's).
    max_bytes: u64,
}

/// The peripheral device type of a direct-access block device.
const TYPE_DISK: u8 = 0;

impl DevHandler for Passthrough {
    type Dev = PtDev;
    const BLOCK_TIER: bool = false;
    const RAW_TIER: bool = true;

    fn attach(&self, name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<PtDev>, Geometry)> {
        if !params.trim().is_empty() {
            let _ = write!(msg, "{} takes no parameters", self.name);
            return Err(EINVAL);
        }
        let Ok(h) = parse_hctl(name) else {
            let _ = write!(msg, "{}: a {} device is named H:C:I:L, as in /sys/class/scsi_device", name, self.name);
            return Err(EINVAL);
        };
        let sdev = ScsiDevice::lookup(h.host, h.channel, h.id, h.lun).inspect_err(|_| {
            let _ = write!(msg, "no SCSI device {}", name);
        })?;
        let t = sdev.device_type();
        if t != self.device_type {
            let _ = write!(
                msg,
                "{} is of peripheral device type {:#x}: {} takes type {:#x}",
                name, t, self.name, self.device_type
            );
            return Err(EINVAL);
        }
        let mut geo = Geometry {
            block_size: 512,
            num_blocks: 0,
            read_only: false,
            write_cache: false,
            rotational: false,
            size_is_key: false,
            thin_provisioned: false,
        };
        // The core decodes a disk's READ and WRITE itself, in its blocks.
        if t == TYPE_DISK {
            let (blocks, block_size) = capacity(&sdev).inspect_err(|_| {
                let _ = write!(msg, "cannot read {}'s capacity (READ CAPACITY failed)", name);
            })?;
            if !(512..=4096).contains(&block_size) || !block_size.is_power_of_two() {
                let _ = write!(msg, "{}'s block size {} is not 512, 1024, 2048 or 4096", name, block_size);
                return Err(EINVAL);
            }
            geo.block_size = block_size;
            geo.num_blocks = blocks;
        }
        // No more than the core takes in one command either.
        let max_bytes = sdev.max_bytes().min(u64::from(MAX_TRANSFER_BYTES));
        Ok((KBox::new(PtDev { sdev, block_size: geo.block_size, max_bytes }, GFP_KERNEL)?, geo))
    }

    fn exec_scsi(&self, dev: &PtDev, cmd: RawCmd) -> Result<(), RawCmd> {
        if cmd.is_aborted() {
            // Aborted while it waited for a thread: not sent; the core
            // answers for it.
            cmd.complete_sense((0, 0, 0));
            return Ok(());
        }
        let op = cmd.cdb().first().copied().unwrap_or(0);
        if self.perf && is_read_or_write(op) {
            cmd.complete_sense((0, 0, 0));
            return Ok(());
        }
        // One request carries the command: what the device's host cannot
        // move at once is refused (the Block Limits page says the limit).
        if u64::from(cmd.data_len()) > dev.max_bytes {
            cmd.complete_sense(INVALID_FIELD_IN_CDB);
            return Ok(());
        }
        let fixup = if self.device_type == TYPE_DISK && is_block_limits_inquiry(cmd.cdb()) {
            let blocks = dev.max_bytes.checked_div(u64::from(dev.block_size)).unwrap_or(0).clamp(1, u64::from(u32::MAX)) as u32;
            Some(Fixup { len: 16, apply: cap_maximum_transfer_length, arg: blocks })
        } else {
            None
        };
        let how = Dispatch { timeout_ms: self.timeout_ms, retries: self.retries, at_head: false, fixup };
        dev.sdev.send(cmd, how, FAILED);
        Ok(())
    }
}

/// READ and WRITE (6, 10, 12, 16) and WRITE AND VERIFY (10, 12, 16):
/// what SCST's `_perf` handlers complete without the device.
fn is_read_or_write(op: u8) -> bool {
    matches!(op, 0x08 | 0x0A | 0x28 | 0x2A | 0x2E | 0xA8 | 0xAA | 0xAE | 0x88 | 0x8A | 0x8E)
}

/// INQUIRY of VPD page B0h (Block Limits).
fn is_block_limits_inquiry(cdb: &[u8]) -> bool {
    matches!(cdb, [0x12, evpd, 0xB0, ..] if evpd & 1 == 1)
}

/// Caps the Block Limits page's MAXIMUM TRANSFER LENGTH (bytes 8 to 11, in
/// blocks; 0 = no limit) at `blocks`: the device's own limit does not count
/// its host's, which one request cannot exceed. The OPTIMAL TRANSFER LENGTH
/// (bytes 12 to 15) is kept at most that too.
fn cap_maximum_transfer_length(page: &mut [u8], blocks: u32) {
    if let Some(field) = page.get_mut(8..12).and_then(|f| <&mut [u8; 4]>::try_from(f).ok()) {
        let device = u32::from_be_bytes(*field);
        if device == 0 || device > blocks {
            *field = blocks.to_be_bytes();
        }
    }
    if let Some(field) = page.get_mut(12..16).and_then(|f| <&mut [u8; 4]>::try_from(f).ok()) {
        if u32::from_be_bytes(*field) > blocks {
            *field = blocks.to_be_bytes();
        }
    }
}

/// Times READ CAPACITY is tried: a device may answer the first with a unit
/// attention.
const CAPACITY_TRIES: u32 = 3;
/// SAM status GOOD.
const GOOD: u8 = 0;

/// A disk's capacity in blocks and its block size, from READ CAPACITY(10),
/// or (16) when (10) cannot say it.
fn capacity(sdev: &ScsiDevice) -> Result<(u64, u32)> {
    let mut buf = KVec::from_elem(0u8, 32, GFP_KERNEL)?;
    let rc10 = [0x25u8, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    query_good(sdev, &rc10, &mut buf)?;
    let last = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let size = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if last != u32::MAX {
        return Ok((u64::from(last) + 1, size));
    }
    // READ CAPACITY(16): SERVICE ACTION IN(16), allocation length 32.
    let rc16 = [0x9Eu8, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];
    buf.iter_mut().for_each(|b| *b = 0);
    query_good(sdev, &rc16, &mut buf)?;
    let last = u64::from_be_bytes([buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]]);
    let size = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    Ok((last.saturating_add(1), size))
}

/// Sends `cdb` until it ends GOOD, [`CAPACITY_TRIES`] times at most.
fn query_good(sdev: &ScsiDevice, cdb: &[u8], buf: &mut KVec<u8>) -> Result {
    for _ in 0..CAPACITY_TRIES {
        if sdev.query(cdb, buf, 30_000)? == GOOD {
            return Ok(());
        }
    }
    Err(EIO)
}

/// A pass-through handler's ops table.
const fn ops(name: &'static CStr, device_type: u8) -> Ops<HandlerOps, Passthrough> {
    handler_ops::<Passthrough>(name, 0, c"(none: the device name is its H:C:I:L)", b"\0").with_device_type(device_type)
}

/// The handlers, SCST's names: each with its table and its context.
pub fn handlers() -> [(Ops<HandlerOps, Passthrough>, Passthrough); 10] {
    const DISK_MS: u32 = 30_000;
    const LONG_MS: u32 = 600_000;
    let h = |name, device_type, timeout_ms, retries, perf| Passthrough { name, device_type, timeout_ms, retries, perf };
    [
        (ops(c"dev_disk", 0x00), h("dev_disk", 0x00, DISK_MS, 3, false)),
        (ops(c"dev_disk_perf", 0x00), h("dev_disk_perf", 0x00, DISK_MS, 3, true)),
        (ops(c"dev_tape", 0x01), h("dev_tape", 0x01, LONG_MS, 0, false)),
        (ops(c"dev_tape_perf", 0x01), h("dev_tape_perf", 0x01, LONG_MS, 0, true)),
        (ops(c"dev_processor", 0x03), h("dev_processor", 0x03, DISK_MS, 0, false)),
        (ops(c"dev_cdrom", 0x05), h("dev_cdrom", 0x05, DISK_MS, 3, false)),
        (ops(c"dev_modisk", 0x07), h("dev_modisk", 0x07, DISK_MS, 3, false)),
        (ops(c"dev_modisk_perf", 0x07), h("dev_modisk_perf", 0x07, DISK_MS, 3, true)),
        (ops(c"dev_changer", 0x08), h("dev_changer", 0x08, LONG_MS, 0, false)),
        (ops(c"dev_raid", 0x0C), h("dev_raid", 0x0C, DISK_MS, 3, false)),
    ]
}
