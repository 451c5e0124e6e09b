// SPDX-License-Identifier: GPL-2.0
//! `vdisk_fileio`: a disk backed by a regular file or a block device node,
//! through the page cache (SCST's vdisk_fileio). Runs in the core's threads.

use crate::abi::{handler_flags, io_op, provisioning, HandlerOps};
use crate::sys::adapter::{handler_ops, DevHandler, Geometry, MsgOut};
use crate::sys::client::{IoCmd, Ops};
use crate::sys::file::KernelFile;
use core::fmt::Write;
use kernel::alloc::flags::GFP_KERNEL;
use crate::sys::compat::fmt;
use kernel::prelude::*;
use kernel::str::CString;

// SBC sense for failed backend I/O.
const MEDIUM_ERROR: u8 = 0x03;
const UNRECOVERED_READ_ERROR: (u8, u8) = (0x11, 0x00);
const WRITE_ERROR: (u8, u8) = (0x0c, 0x00);
const HARDWARE_ERROR: u8 = 0x04;
const INTERNAL_TARGET_FAILURE: (u8, u8) = (0x44, 0x00);

/// A fileio device.
pub struct Fileio {
    file: KernelFile,
    filename: CString,
    nv_cache: bool,
    thin_provisioned: bool,
}

/// The handler.
pub struct FileioHandler;

const PARAMS: &[&str] =
    &["filename", "blocksize", "read_only", "write_through", "nv_cache", "rotational", "thin_provisioned"];

impl DevHandler for FileioHandler {
    type Dev = Fileio;

    fn attach(&self, _name: &str, params: &str, msg: &mut MsgOut<'_>) -> Result<(KBox<Fileio>, Geometry)> {
        let p = crate::params::parse(params, PARAMS, msg)?;
        let Some(filename) = p.filename else {
            let _ = write!(msg, "filename is required");
            return Err(EINVAL);
        };
        if !filename.starts_with('/') {
            let _ = write!(msg, "filename must be an absolute path");
            return Err(EINVAL);
        }
        let cname = CString::try_from_fmt(fmt!("{}", filename))?;
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
        if size < u64::from(bs) {
            let _ = write!(msg, "{} is smaller than one block ({} bytes)", filename, size);
            return Err(EINVAL);
        }
        let geo = Geometry {
            block_size: bs,
            num_blocks: size >> bs.trailing_zeros(),
            read_only: p.read_only,
            write_cache: !p.write_through,
            rotational: p.rotational,
            size_is_key: false,
            thin_provisioned: p.thin_provisioned,
        };
        let dev = Fileio {
            file,
            filename: cname,
            nv_cache: p.nv_cache,
            thin_provisioned: p.thin_provisioned,
        };
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
                _ => Some((MEDIUM_ERROR, UNRECOVERED_READ_ERROR.0, UNRECOVERED_READ_ERROR.1)),
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
                (!synced).then_some((MEDIUM_ERROR, WRITE_ERROR.0, WRITE_ERROR.1))
            }
            io_op::FLUSH => {
                let end = if cmd.blocks() == 0 { u64::MAX } else { pos + len as u64 - 1 };
                if dev.nv_cache || dev.file.sync_range(pos, end, false).is_ok() {
                    None
                } else {
                    Some((MEDIUM_ERROR, WRITE_ERROR.0, WRITE_ERROR.1))
                }
            }
            io_op::DISCARD => {
                let len = u64::from(cmd.blocks()) << shift;
                // With the write cache off (FUA), the hole is made durable.
                let durable = |()| if cmd.fua() { dev.file.sync_range(pos, pos + len - 1, false) } else { Ok(()) };
                match dev.file.punch_hole(pos, len).and_then(durable) {
                    Ok(()) => None,
                    Err(_) => Some((MEDIUM_ERROR, WRITE_ERROR.0, WRITE_ERROR.1)),
                }
            }
            io_op::LBA_STATUS => match dev.file.extent_at(pos, pos + (u64::from(cmd.blocks()) << shift)) {
                Ok((data, end)) => {
                    let (blocks, state) = block_run(end - pos, shift, data);
                    return cmd.complete_lba_status(blocks, state);
                }
                Err(_) => Some((MEDIUM_ERROR, UNRECOVERED_READ_ERROR.0, UNRECOVERED_READ_ERROR.1)),
            },
            _ => Some((HARDWARE_ERROR, INTERNAL_TARGET_FAILURE.0, INTERNAL_TARGET_FAILURE.1)),
        };
        cmd.complete(sense)
    }

    const RESIZES: bool = true;

    /// The file's (or block device's) size now, for `resync_size`.
    fn size(&self, dev: &Fileio) -> Result<u64> {
        dev.file.size()
    }

    fn show_attr(&self, dev: &Fileio, index: u32, out: &mut MsgOut<'_>) {
        let _ = match index {
            // Always given at add_device: a key attribute in SCST's sense.
            0 => write!(out, "{}\n[key]", dev.filename.to_str().unwrap_or("?")),
            1 => key_flag(out, dev.nv_cache),
            _ => key_flag(out, dev.thin_provisioned),
        };
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

/// A 0/1 attribute, marked `[key]` when set (not the default).
fn key_flag(out: &mut MsgOut<'_>, v: bool) -> core::fmt::Result {
    if v {
        write!(out, "1\n[key]")
    } else {
        write!(out, "0")
    }
}

/// The ops table registered with the core (with a `FileioHandler` as its context).
pub const OPS: Ops<HandlerOps, FileioHandler> = handler_ops::<FileioHandler>(
    c"vdisk_fileio",
    handler_flags::FILLS_READS | handler_flags::WRITE_CACHE,
    c"filename, blocksize, read_only, write_through, nv_cache, rotational, thin_provisioned",
    // `write_through` is the core's (it follows MODE SELECT).
    b"filename\0nv_cache\0thin_provisioned\0\0",
);

