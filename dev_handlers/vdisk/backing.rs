// SPDX-License-Identifier: GPL-2.0
//! What `vdisk_fileio` and `vdisk_blockio` share: the backing store's name
//! as given at `add_device`, the attributes they both show, and the sense
//! data of failed backend I/O.

use crate::sys::adapter::MsgOut;
use crate::sys::compat::fmt;
use core::fmt::Write;
use kernel::prelude::*;
use kernel::str::CString;

/// MEDIUM ERROR, UNRECOVERED READ ERROR.
pub const READ_ERROR: (u8, u8, u8) = (0x03, 0x11, 0x00);
/// MEDIUM ERROR, WRITE ERROR.
pub const WRITE_ERROR: (u8, u8, u8) = (0x03, 0x0c, 0x00);
/// HARDWARE ERROR, INTERNAL TARGET FAILURE.
pub const INTERNAL_TARGET_FAILURE: (u8, u8, u8) = (0x04, 0x44, 0x00);
/// HARDWARE ERROR, LOGICAL UNIT FAILURE: the backing store is gone.
pub const LOGICAL_UNIT_FAILURE: (u8, u8, u8) = (0x04, 0x3e, 0x01);

/// The attributes both handlers add, in the order of their `attr_names`.
pub const ATTR_NAMES: &[u8] = b"filename\0nv_cache\0thin_provisioned\0\0";

/// The `filename` parameter, which must be given as an absolute path.
pub fn filename(given: Option<&str>, msg: &mut MsgOut<'_>) -> Result<CString> {
    let Some(filename) = given else {
        let _ = write!(msg, "filename is required");
        return Err(EINVAL);
    };
    if !filename.starts_with('/') {
        let _ = write!(msg, "filename must be an absolute path");
        return Err(EINVAL);
    }
    Ok(CString::try_from_fmt(fmt!("{}", filename))?)
}

/// The device's size in blocks of `block_size`, refused when under one block.
pub fn blocks(filename: &CString, size: u64, block_size: u32, msg: &mut MsgOut<'_>) -> Result<u64> {
    if size < u64::from(block_size) {
        let _ = write!(msg, "{} is smaller than one block ({} bytes)", name(filename), size);
        return Err(EINVAL);
    }
    Ok(size >> block_size.trailing_zeros())
}

/// The backing store's name for messages.
pub fn name(filename: &CString) -> &str {
    filename.to_str().unwrap_or("?")
}

/// The backing store and the settings both handlers show.
pub struct Backing {
    /// `filename`.
    pub filename: CString,
    /// `nv_cache`: the write cache is non-volatile (SYNCHRONIZE CACHE does
    /// nothing).
    pub nv_cache: bool,
    /// `thin_provisioned`: deallocation (UNMAP, WRITE SAME with UNMAP).
    pub thin_provisioned: bool,
    /// `thin_provisioned` was given, not found from the backing store.
    pub thin_given: bool,
}

impl Backing {
    /// Formats attribute `index` of [`ATTR_NAMES`]: `[key]` marks what a
    /// saved configuration must give again at `add_device`.
    pub fn show_attr(&self, index: u32, out: &mut MsgOut<'_>) {
        let _ = match index {
            0 => write!(out, "{}\n[key]", name(&self.filename)),
            1 => key_flag(out, self.nv_cache, self.nv_cache),
            _ => key_flag(out, self.thin_provisioned, self.thin_given),
        };
    }
}

/// A 0/1 attribute, marked `[key]` when `key`.
fn key_flag(out: &mut MsgOut<'_>, v: bool, key: bool) -> core::fmt::Result {
    write!(out, "{}{}", u8::from(v), if key { "\n[key]" } else { "" })
}
