// SPDX-License-Identifier: GPL-2.0
//! `vdisk_fileio`: a disk backed by a regular file or a block device node,
//! through the page cache (SCST's vdisk_fileio). Runs in the core's threads.

use crate::abi::{handler_flags, io_op, provisioning, HandlerOps};
use crate::backing::{self, Backing, INTERNAL_TARGET_FAILURE, READ_ERROR, WRITE_ERROR};
use crate::sys::adapter::{handler_ops, DevHandler, Geometry, MsgOut};
use crate::sys::client::{IoCmd, Ops};
use crate::sys::file::KernelFile;
use core::fmt::Write;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;

/// A fileio device.
pub struct Fileio {
    file: KernelFile,
    backing: Backing,
}

/// The handler.
pub struct FileioHandler;

/// The `add_device` parameters of `vdisk_fileio` and `vdisk_blockio`.
pub const PARAMS: &[&str] =
    &["filename", "blocksize", "read_only", "write_through", "nv_cache", "rotational", "thin_provisioned"];

/// The parameters of `vdisk_fileio` and `vdisk_blockio`, for `mgmt`'s help.
pub const PARAMS_HELP: &core::ffi::CStr =
    c"filename, blocksize, read_only, write_through, nv_cache, rotational, thin_provisioned";

impl DevHandler for FileioHandler {
    type Dev = Fileio;

    fn attach(&self, _name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<Fileio>, Geometry)> {
        let p = crate::params::parse(params, PARAMS, msg)?;
        let cname = backing::filename(p.filename, msg)?;
        let filename = backing::name(&cname);
        let not_a_disk = |msg: &mut MsgOut<'_>| {
            let _ = write!(msg, "{} cannot back a disk: not a regular file or block device on a storage filesystem", filename);
            EINVAL
        };
        // Checked before opening (opening a device node may act) and again
        // after (the path may have changed in between).
        let usable = KernelFile::path_can_back_a_disk(&cname).inspect_err(|e| {
            let _ = write!(msg, "cannot open {}: error {}", filename, e.to_errno());
        })?;
        if !usable {
            return Err(not_a_disk(msg));
        }
        let file = KernelFile::open(&cname, p.read_only).inspect_err(|e| {
            let _ = write!(msg, "cannot open {}: error {}", filename, e.to_errno());
        })?;
        if !file.can_back_a_disk() {
            return Err(not_a_disk(msg));
        }
        let bs = p.block_size.unwrap_or(512);
        let size = file.size().inspect_err(|e| {
            let _ = write!(msg, "cannot find the size of {}: error {}", filename, e.to_errno());
        })?;
        let thin_provisioned = p.thin_provisioned.unwrap_or(false);
        let geo = Geometry {
            block_size: bs,
            num_blocks: backing::blocks(&cname, size, bs, msg)?,
            read_only: p.read_only,
            write_cache: !p.write_through,
            rotational: p.rotational,
            size_is_key: false,
            thin_provisioned,
        };
        let backing =
            Backing { filename: cname, nv_cache: p.nv_cache, thin_provisioned, thin_given: thin_provisioned };
        let dev = Fileio { file, backing };
        Ok((KBox::new(dev, GFP_KERNEL)?, geo))
    }

    fn exec(&self, dev: &Fileio, mut cmd: IoCmd) {
        if cmd.is_aborted() {
            // Aborted while it waited for a thread: no I/O, the core answers
            // for it.
            return cmd.complete(None);
        }
        let shift = cmd.block_shift();
        let pos = cmd.lba() << shift;
        let len = (cmd.blocks() as usize) << shift;
        let sense = match cmd.op() {
            io_op::READ => match dev.file.read_sg(&cmd.sg(), pos, len) {
                Ok(n) if n == len => None,
                _ => Some(READ_ERROR),
            },
            io_op::WRITE => {
                let wrote = dev.file.write_sg(&cmd.sg(), pos, len);
                let synced = match wrote {
                    Ok(n) if n == len => {
                        // With the write cache off (`write_through`), the
                        // core sets FUA on every WRITE.
                        if cmd.fua() {
                            dev.file.sync_range(pos, pos + len as u64 - 1, true).is_ok()
                        } else {
                            true
                        }
                    }
                    _ => false,
                };
                (!synced).then_some(WRITE_ERROR)
            }
            io_op::FLUSH => {
                let end = if cmd.blocks() == 0 { u64::MAX } else { pos + len as u64 - 1 };
                if dev.backing.nv_cache || dev.file.sync_range(pos, end, false).is_ok() {
                    None
                } else {
                    Some(WRITE_ERROR)
                }
            }
            io_op::DISCARD => {
                let len = u64::from(cmd.blocks()) << shift;
                // With the write cache off (FUA), the hole is made durable.
                let durable = |()| if cmd.fua() { dev.file.sync_range(pos, pos + len - 1, false) } else { Ok(()) };
                match dev.file.punch_hole(pos, len).and_then(durable) {
                    Ok(()) => None,
                    Err(_) => Some(WRITE_ERROR),
                }
            }
            io_op::LBA_STATUS => match dev.file.extent_at(pos, pos + (u64::from(cmd.blocks()) << shift)) {
                Ok((data, end)) => {
                    let (blocks, state) = block_run(end - pos, shift, data);
                    return cmd.complete_lba_status(blocks, state);
                }
                Err(_) => Some(READ_ERROR),
            },
            _ => Some(INTERNAL_TARGET_FAILURE),
        };
        cmd.complete(sense)
    }

    const RESIZES: bool = true;

    /// The file's (or block device's) size now, for `resync_size`.
    fn size(&self, dev: &Fileio) -> Result<u64> {
        dev.file.size()
    }

    fn show_attr(&self, dev: &Fileio, index: u32, out: &mut MsgOut<'_>) {
        dev.backing.show_attr(index, out)
    }
}

/// The blocks of an extent of `bytes` from a block boundary, and their
/// state: a partly filled last block holds data, so a data extent covers it
/// and a hole stops before it (a hole smaller than a block is no hole).
fn block_run(bytes: u64, shift: u32, data: bool) -> (u32, u8) {
    let whole = bytes >> shift;
    let (blocks, state) = if data {
        ((bytes + (1 << shift) - 1) >> shift, provisioning::MAPPED)
    } else if whole == 0 {
        (1, provisioning::MAPPED)
    } else {
        (whole, provisioning::DEALLOCATED)
    };
    (u32::try_from(blocks).unwrap_or(u32::MAX).max(1), state)
}

/// The ops table registered with the core (with a `FileioHandler` as its context).
pub const OPS: Ops<HandlerOps, FileioHandler> = handler_ops::<FileioHandler>(
    c"vdisk_fileio",
    handler_flags::FILLS_READS | handler_flags::WRITE_CACHE,
    PARAMS_HELP,
    // `write_through` is the core's (it follows MODE SELECT).
    backing::ATTR_NAMES,
);

