// SPDX-License-Identifier: GPL-2.0
//! A device's saved mode parameters: what MODE SELECT with SP set saves and
//! MODE SENSE reports for page control 3, kept where SCST's vdisk keeps
//! them, `/var/lib/scst/vdev_mode_pages/<device>` (format:
//! `scsi::mode_file`), and restored as the current values when the device
//! is added again (after a module reload, say).
//!
//! As in SCST, a device keeps saved values only if that directory exists
//! (rscst does not create it; the rscst-dkms package does): SCST looks once,
//! when its module loads, rscst each time a device is added. Without it
//! MODE SELECT's SP gets INVALID FIELD IN CDB and page control 3 SAVING
//! PARAMETERS NOT SUPPORTED.
//!
//! A logical unit reset returns the current values to the saved ones (the
//! defaults where none are kept), as SAM-5 6.3.3 says.
//!
//! Two files: `<device>` and its backup `<device>~` (SCST's backup is
//! `<device>1`, which for a device `disk01` is device `disk011`'s file; no
//! device name holds a `~`). Each is written whole with its first line (the
//! device's name, which a reader checks) written and synced last, so a
//! write cut short leaves a file that does not start with the name. The
//! reader takes `<device>`, or `<device>~` when `<device>` is missing or
//! does not start with the name. A save writes first the file the reader
//! would not take, then the other: a crash or an error at any point leaves
//! what the reader takes holding either the old values whole (the save
//! failed: MODE SELECT ends BUSY and nothing changes) or the new ones (it
//! succeeded).

use crate::device::Device;
use crate::reservations::{read_kept_file, text_of};
use crate::scsi::mode::ModeValues;
use crate::scsi::mode_file::{ModeFileError, MAX_FILE_LEN};
use crate::sys::compat::{fmt, NameBytes};
use crate::sys::file::KernelFile;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
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
    /// The reader takes `<device>` (it exists and starts with the name),
    /// not `<device>~`; changed under `changes`.
    main_whole: AtomicBool,
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
            main_whole: AtomicBool::new(true),
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
    Ok((CString::try_from_fmt(fmt!("{}/{}", DIR, name))?, CString::try_from_fmt(fmt!("{}/{}~", DIR, name))?))
}

/// When the device is added (management context): if the directory exists,
/// the device keeps saved values, and those of its file become its current
/// ones too (WCE only where the core manages the write cache). A file that
/// cannot be read or is malformed restores nothing, and the log says why.
pub fn restore(dev: &Device) {
    let Ok(dir) = CString::try_from_fmt(fmt!("{}", DIR)) else { return };
    if !KernelFile::is_directory(&dir) {
        return;
    }
    let current = dev.mode_values();
    let mut saved = current;
    // Whether the reader takes `<device>` (see `save`).
    let mut main_whole = true;
    if let Ok((path, backup)) = paths(dev) {
        for (file, is_main) in [(&path, true), (&backup, false)] {
            match read(dev, file, current) {
                Found::Values(r) => {
                    main_whole = is_main;
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
                // The backup's turn.
                Found::Nothing => main_whole &= !is_main,
                Found::NotWhole(why) => {
                    pr_warn!("device {}: saved mode parameters {}: {}\n", text_of(&dev.name), text_of(file), why);
                    main_whole &= !is_main;
                }
                Found::Unusable(why) => {
                    pr_warn!("device {}: saved mode parameters {}: {}\n", text_of(&dev.name), text_of(file), why);
                    break;
                }
            }
        }
    }
    dev.set_mode_values(saved);
    dev.saved_modes.main_whole.store(main_whole, Ordering::Relaxed);
    dev.saved_modes.packed.store(saved.pack(), Ordering::Release);
}

/// A logical unit reset (SAM-5 6.3.3; thread context, once the reset's
/// commands are gone): the mode parameters return to their saved values, or
/// to their defaults where none are kept.
pub fn reset(dev: &Device) {
    let _changes = dev.saved_modes.lock_changes();
    dev.set_mode_values(dev.saved_modes.get().unwrap_or_else(|| dev.default_mode_values()));
}

/// What reading a file of saved values found.
enum Found {
    /// Its values.
    Values(crate::scsi::mode_file::Restored),
    /// No such file.
    Nothing,
    /// A file that does not start with the device's name: a write cut
    /// short, or another device's.
    NotWhole(&'static str),
    /// A file that cannot be read, or whose entries are malformed.
    Unusable(&'static str),
}

/// What `file` saved.
fn read(dev: &Device, file: &CString, base: ModeValues) -> Found {
    let text = match read_kept_file(file, MAX_FILE_LEN) {
        Ok(Some(text)) => text,
        Ok(None) => return Found::Nothing,
        Err(why) => return Found::Unusable(why),
    };
    match crate::scsi::mode_file::parse(&text, dev.name.name_bytes(), base) {
        Ok(r) => Found::Values(r),
        Err(ModeFileError::NotThisDevice) => Found::NotWhole("not this device's, or not written to its end: ignored"),
        Err(ModeFileError::Entry(_)) => Found::Unusable("malformed: ignored"),
    }
}

/// Saves `v` as the device's saved values (thread context, under
/// `lock_changes`). On failure the saved values are the old ones (and the
/// log says why).
pub fn save(dev: &Device, v: ModeValues) -> Result {
    let mut text = KVec::new();
    let mut oom = false;
    crate::scsi::mode_file::encode(dev.name.name_bytes(), &v, &mut |b| {
        oom |= text.extend_from_slice(b, GFP_KERNEL).is_err()
    });
    if oom {
        return Err(ENOMEM);
    }
    let name_len = dev.name.name_bytes().len() + 1;
    let (path, backup) = paths(dev)?;
    let failed = |file: &CString, e: Error| {
        pr_warn!("device {}: mode parameters not saved in {}: error {}\n", text_of(&dev.name), text_of(file), e.to_errno());
        e
    };
    let kept = &dev.saved_modes;
    if kept.main_whole.load(Ordering::Relaxed) {
        // The reader takes `<device>`: the backup first (if that fails,
        // `<device>` still holds the old values).
        write_name_last(&backup, &text, name_len).map_err(|(_, e)| failed(&backup, e))?;
        match write_name_last(&path, &text, name_len) {
            Ok(()) => {}
            // Not opened: `<device>` holds the old values still.
            Err((Written::Nothing, e)) => return Err(failed(&path, e)),
            // Emptied and cut short: the reader takes the backup, which
            // holds the new values.
            Err((Written::Part, e)) => {
                failed(&path, e);
                kept.main_whole.store(false, Ordering::Relaxed);
            }
            // Whole but perhaps not durable: the reader takes it, or after a
            // crash that cut it short the backup; both hold the new values.
            Err((Written::Whole, e)) => {
                failed(&path, e);
            }
        }
    } else {
        // The reader takes the backup: `<device>` first (if that fails, the
        // backup still holds the old values), then the backup, which is
        // then no longer needed.
        match write_name_last(&path, &text, name_len) {
            Ok(()) => {}
            // Whole, but perhaps not durable: the reader takes it now (and
            // after a crash that cut it short, the backup's old values; an
            // fsync error leaves no better choice).
            Err((Written::Whole, e)) => {
                failed(&path, e);
            }
            Err((_, e)) => return Err(failed(&path, e)),
        }
        kept.main_whole.store(true, Ordering::Relaxed);
        if let Err((_, e)) = write_name_last(&backup, &text, name_len) {
            failed(&backup, e);
        }
    }
    kept.packed.store(v.pack(), Ordering::Release);
    Ok(())
}

/// How much of a file a failed write changed.
enum Written {
    /// Nothing: it could not be opened.
    Nothing,
    /// It was emptied, and then not all written: it does not start with
    /// the name.
    Part,
    /// All written, the name too, but the last sync failed: a reader takes
    /// it until a crash perhaps cuts it short.
    Whole,
}

/// Writes `text` to `file`, its first `name_len` bytes (the name's line)
/// last, each part synced.
fn write_name_last(file: &CString, text: &[u8], name_len: usize) -> core::result::Result<(), (Written, Error)> {
    let (name, rest) = text.split_at(name_len.min(text.len()));
    let f = KernelFile::create(file).map_err(|e| (Written::Nothing, e))?;
    let part = |e| (Written::Part, e);
    f.write_all_at(name.len() as u64, rest).map_err(part)?;
    f.sync_range(0, u64::MAX, false).map_err(part)?;
    f.write_all_at(0, name).map_err(part)?;
    f.sync_range(0, u64::MAX, false).map_err(|e| (Written::Whole, e))
}
