// SPDX-License-Identifier: GPL-2.0
//! A device's saved mode parameters: what MODE SELECT with SP set saves and
//! MODE SENSE reports for page control 3, kept where SCST's vdisk keeps
//! them, `/var/lib/scst/vdev_mode_pages/<device>` (format:
//! `scsi::mode_file`), and restored as the current values when the device
//! is added again (after a module reload, say).
//!
//! As in SCST, a device keeps saved values only if that directory exists
//! when it is added (rscst does not create it; the rscst-dkms package
//! does): otherwise MODE SELECT's SP gets INVALID FIELD IN CDB and page
//! control 3 SAVING PARAMETERS NOT SUPPORTED.
//!
//! A save writes two files, each whole and synced before the next: first
//! `<device>.1`, then `<device>`, each with its first line (the device's
//! name, which a reader checks) written and synced last. A crash while one
//! is written leaves the other whole, and the reader takes `<device>` when
//! it is whole, `<device>.1` otherwise. (SCST's own backup is `<device>1`;
//! with the dot no device's backup is another device's file.)

use crate::device::Device;
use crate::reservations::text_of;
use crate::scsi::mode::ModeValues;
use crate::scsi::mode_file::{ModeFileError, MAX_FILE_LEN};
use crate::sys::compat::{fmt, NameBytes};
use crate::sys::file::KernelFile;
use core::sync::atomic::{AtomicU8, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{lock::Guard, Mutex};

/// SCST's directory of saved mode parameters.
const DIR: &str = "/var/lib/scst/vdev_mode_pages";
/// `packed` while the device keeps no saved values.
const NOT_KEPT: u8 = 0xFF;

/// The saved values of one device, and what serializes changes of its mode
/// parameters.
#[pin_data]
pub struct SavedModes {
    /// `ModeValues::pack` of the saved values, or `NOT_KEPT` (read by
    /// MODE SENSE and MODE SELECT in any context).
    packed: AtomicU8,
    /// Held by MODE SELECT while it changes and saves (thread context), so
    /// that what is saved is what the last one set.
    #[pin]
    changes: Mutex<()>,
}

impl SavedModes {
    /// No saved values (until `restore`).
    pub fn new() -> impl PinInit<Self> {
        pin_init!(SavedModes {
            packed: AtomicU8::new(NOT_KEPT),
            changes <- new_mutex!((), "rscst_mode_changes"),
        })
    }

    /// The saved values; None when the device keeps none.
    pub fn get(&self) -> Option<ModeValues> {
        ModeValues::unpack(self.packed.load(Ordering::Acquire))
    }

    /// Serializes a change of the device's mode parameters (thread context).
    pub fn lock_changes(&self) -> Guard<'_, (), kernel::sync::lock::mutex::MutexBackend> {
        self.changes.lock()
    }
}

/// The device's file and its backup.
fn paths(dev: &Device) -> Result<(CString, CString)> {
    let name = text_of(&dev.name);
    Ok((CString::try_from_fmt(fmt!("{}/{}", DIR, name))?, CString::try_from_fmt(fmt!("{}/{}.1", DIR, name))?))
}

/// When the device is added (management context): if the directory exists,
/// the device keeps saved values, and those of its file become its current
/// ones too (WCE only where the core manages the write cache). A file that
/// cannot be read or is not whole restores nothing, and the log says why.
pub fn restore(dev: &Device) {
    let Ok(dir) = CString::try_from_fmt(fmt!("{}", DIR)) else { return };
    if !KernelFile::is_directory(&dir) {
        return;
    }
    let current = dev.mode_values();
    let mut saved = current;
    if let Ok((path, backup)) = paths(dev) {
        for file in [&path, &backup] {
            match read(dev, file, current) {
                Ok(None) => continue,
                Ok(Some(r)) => {
                    saved = r.values;
                    if !dev.handler.ops.manages_write_cache() {
                        saved.write_cache = current.write_cache;
                    }
                    if let Some(key) = r.ignored {
                        pr_warn!("device {}: {} in {} is not implemented: ignored\n", text_of(&dev.name), key, text_of(file));
                    }
                    pr_info!("device {}: mode parameters restored from {}\n", text_of(&dev.name), text_of(file));
                    break;
                }
                Err(why) => pr_warn!("device {}: saved mode parameters {}: {}\n", text_of(&dev.name), text_of(file), why),
            }
        }
    }
    dev.set_mode_values(saved);
    dev.saved_modes.packed.store(saved.pack(), Ordering::Release);
}

/// What `file` saved; None if there is no such file.
fn read(
    dev: &Device,
    file: &CString,
    base: ModeValues,
) -> core::result::Result<Option<crate::scsi::mode_file::Restored>, &'static str> {
    let f = match KernelFile::open_plain(file) {
        Ok(f) => f,
        Err(e) if e == ENOENT => return Ok(None),
        Err(e) if e == EINVAL => return Err("not a regular file"),
        Err(_) => return Err("cannot be opened"),
    };
    let text = f.read_all(MAX_FILE_LEN).map_err(|_| "cannot be read (or is over 4 KiB)")?;
    match crate::scsi::mode_file::parse(&text, dev.name.name_bytes(), base) {
        Ok(r) => Ok(Some(r)),
        Err(ModeFileError::NotThisDevice) => Err("not this device's, or not written to its end: ignored"),
        Err(ModeFileError::Entry(_)) => Err("malformed: ignored"),
    }
}

/// Saves `v` as the device's saved values (thread context, under
/// `lock_changes`). On failure nothing changes and the log says why.
pub fn save(dev: &Device, v: ModeValues) -> Result {
    let mut text = KVec::new();
    let mut oom = false;
    crate::scsi::mode_file::encode(dev.name.name_bytes(), &v, &mut |b| {
        oom |= text.extend_from_slice(b, GFP_KERNEL).is_err()
    });
    if oom {
        return Err(ENOMEM);
    }
    let (path, backup) = paths(dev)?;
    for file in [&backup, &path] {
        write_name_last(file, &text, dev.name.name_bytes().len() + 1).inspect_err(|e| {
            pr_warn!("device {}: mode parameters not saved in {}: error {}\n", text_of(&dev.name), text_of(file), e.to_errno());
        })?;
    }
    dev.saved_modes.packed.store(v.pack(), Ordering::Release);
    Ok(())
}

/// Writes `text` to `file`, its first `name_len` bytes (the name's line)
/// last, each part synced.
fn write_name_last(file: &CString, text: &[u8], name_len: usize) -> Result {
    let (name, rest) = text.split_at(name_len.min(text.len()));
    let f = KernelFile::create(file)?;
    f.write_all_at(name.len() as u64, rest)?;
    f.sync_range(0, u64::MAX, false)?;
    f.write_all_at(0, name)?;
    f.sync_range(0, u64::MAX, false)
}
