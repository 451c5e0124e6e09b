// SPDX-License-Identifier: GPL-2.0
//! `vdisk_blockio`: a disk backed by a block device, with bios built on the
//! command's own pages (no page cache, no copy), as SCST's vdisk_blockio.
//! `exec` runs in the core's threads (bio submission may wait); commands
//! complete from the bios' end_io context, which may be a hard IRQ.

use crate::abi::{handler_flags, io_op, provisioning, HandlerOps};
use crate::backing::{self, Backing, INTERNAL_TARGET_FAILURE, LOGICAL_UNIT_FAILURE, READ_ERROR, WRITE_ERROR};
use crate::fileio::{PARAMS, PARAMS_HELP};
use crate::sys::adapter::{handler_ops, DevHandler, Geometry, MsgOut};
use crate::sys::bio::{BioKind, BlockDevice, OnFailure};
use crate::sys::client::{IoCmd, Ops};
use core::fmt::Write;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;

const ENOTBLK: i32 = 15;
const EBUSY: i32 = 16;

/// A blockio device.
pub struct Blockio {
    bdev: BlockDevice,
    backing: Backing,
}

/// The handler.
pub struct BlockioHandler;

const READ_FAILED: OnFailure =
    OnFailure { io_error: READ_ERROR, device_gone: LOGICAL_UNIT_FAILURE, internal: INTERNAL_TARGET_FAILURE };
const WRITE_FAILED: OnFailure =
    OnFailure { io_error: WRITE_ERROR, device_gone: LOGICAL_UNIT_FAILURE, internal: INTERNAL_TARGET_FAILURE };
/// The largest block size a LUN may have.
const MAX_BLOCK_SIZE: u32 = 4096;

impl DevHandler for BlockioHandler {
    type Dev = Blockio;

    fn attach(&self, _name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<Blockio>, Geometry)> {
        let p = crate::params::parse(params, PARAMS, msg)?;
        let cname = backing::filename(p.filename, msg)?;
        let filename = backing::name(&cname);
        let bdev = BlockDevice::open(&cname, p.read_only).inspect_err(|e| {
            let _ = match e.to_errno() {
                e if e == -ENOTBLK => write!(msg, "{} is not a block device", filename),
                e if e == -EBUSY => write!(msg, "{} is in use (mounted, or claimed by another user)", filename),
                e => write!(msg, "cannot open {}: error {}", filename, e),
            };
        })?;
        // The LUN's blocks are whole device blocks: a smaller block could
        // not be read or written alone.
        let device_block = bdev.logical_block_size();
        if device_block > MAX_BLOCK_SIZE {
            let _ = write!(msg, "{}'s logical block size ({}) is above {}", filename, device_block, MAX_BLOCK_SIZE);
            return Err(EINVAL);
        }
        let bs = p.block_size.unwrap_or(device_block.max(512));
        if bs < device_block {
            let _ = write!(msg, "blocksize {} is smaller than {}'s logical block size ({})", bs, filename, device_block);
            return Err(EINVAL);
        }
        // Thin provisioned when not said otherwise if deallocated blocks
        // will read as zeros (LBPRZ) without writing them: the device takes
        // WRITE ZEROES. A plain discard promises no zeros; forced on without
        // WRITE ZEROES, each UNMAP writes zeros.
        let thin_provisioned = p.thin_provisioned.unwrap_or_else(|| bdev.zeroing_deallocates());
        let geo = Geometry {
            block_size: bs,
            num_blocks: backing::blocks(&cname, bdev.size(), bs, msg)?,
            read_only: p.read_only,
            write_cache: !p.write_through,
            rotational: p.rotational,
            size_is_key: false,
            thin_provisioned,
        };
        let backing = Backing {
            filename: cname,
            nv_cache: p.nv_cache,
            thin_provisioned,
            thin_given: p.thin_provisioned.is_some(),
        };
        Ok((KBox::new(Blockio { bdev, backing }, GFP_KERNEL)?, geo))
    }

    fn exec(&self, dev: &Blockio, cmd: IoCmd) {
        if cmd.is_aborted() {
            // Aborted while it waited for a thread: no I/O, the core answers
            // for it.
            return cmd.complete(None);
        }
        if dev.bdev.is_gone() {
            return cmd.complete(Some(LOGICAL_UNIT_FAILURE));
        }
        let shift = cmd.block_shift();
        let pos = cmd.lba() << shift;
        let len = (cmd.blocks() as usize) << shift;
        match cmd.op() {
            io_op::READ => dev.bdev.submit(cmd, BioKind::Read, pos, len, READ_FAILED),
            io_op::WRITE => {
                // With the write cache off (`write_through`), the core sets
                // FUA on every WRITE.
                let kind = if cmd.fua() { BioKind::WriteFua } else { BioKind::Write };
                dev.bdev.submit(cmd, kind, pos, len, WRITE_FAILED)
            }
            io_op::FLUSH if dev.backing.nv_cache => cmd.complete(None),
            // The whole device's cache: a block device flushes no less.
            io_op::FLUSH => dev.bdev.submit(cmd, BioKind::Flush, 0, 0, WRITE_FAILED),
            io_op::DISCARD => {
                let len = u64::from(cmd.blocks()) << shift;
                match dev.bdev.zero_out(pos, len) {
                    // With the write cache off (FUA), the zeros are made
                    // durable (as a WRITE is: FUA is honoured with nv_cache).
                    Ok(()) if cmd.fua() => {
                        dev.bdev.submit(cmd, BioKind::Flush, 0, 0, WRITE_FAILED)
                    }
                    Ok(()) => cmd.complete(None),
                    Err(_) if dev.bdev.is_gone() => cmd.complete(Some(LOGICAL_UNIT_FAILURE)),
                    Err(_) => cmd.complete(Some(WRITE_ERROR)),
                }
            }
            // A block device does not say which blocks it deallocated:
            // "mapped or unknown" for all of them (SBC-4 5.8.2).
            io_op::LBA_STATUS => {
                let blocks = cmd.blocks();
                cmd.complete_lba_status(blocks, provisioning::MAPPED)
            }
            _ => cmd.complete(Some(INTERNAL_TARGET_FAILURE)),
        }
    }

    const RESIZES: bool = true;

    /// The block device's size now, for `resync_size`.
    fn size(&self, dev: &Blockio) -> Result<u64> {
        Ok(dev.bdev.size())
    }

    fn show_attr(&self, dev: &Blockio, index: u32, out: &mut MsgOut<'_>) {
        dev.backing.show_attr(index, out)
    }
}

/// The ops table registered with the core (with a `BlockioHandler` as its context).
pub const OPS: Ops<HandlerOps, BlockioHandler> = handler_ops::<BlockioHandler>(
    c"vdisk_blockio",
    handler_flags::FILLS_READS | handler_flags::WRITE_CACHE,
    PARAMS_HELP,
    // `write_through` is the core's (it follows MODE SELECT).
    backing::ATTR_NAMES,
);
