// SPDX-License-Identifier: GPL-2.0
//! Block devices opened for rscst's own I/O, and commands' data moved to and
//! from them by bios built straight on the command's scatter-gather pages
//! (no copy, no page cache). The command completes in the last bio's end_io,
//! whatever context that is: the submitting thread (a driver completing
//! inline), softirq or hard IRQ. The block layer splits each bio within the
//! device's queue limits.

use super::bindings;
use super::client::IoCmd;
use super::sg::SgList;
use core::ffi::{c_char, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::str::CStr;

// helpers.c. Only pointers to these kernel structs cross (bindgen makes some
// of their members empty structs, which the lint flags).
#[allow(improper_ctypes)]
extern "C" {
    fn rscst_sys_bdev_open(path: *const c_char, write: bool, holder: *mut c_void) -> *mut bindings::file;
    fn rscst_sys_bdev_logical_block_size(bdev: *mut bindings::block_device) -> u32;
    fn rscst_sys_bdev_nr_bytes(bdev: *mut bindings::block_device) -> u64;
    fn rscst_sys_bdev_zeroes_deallocate(bdev: *mut bindings::block_device) -> bool;
    fn rscst_sys_bdev_gone(bdev: *mut bindings::block_device) -> bool;
    fn rscst_sys_bdev_zero_out(bdev: *mut bindings::block_device, sector: u64, nr_sects: u64) -> i32;
    fn rscst_sys_bio_alloc(
        bdev: *mut bindings::block_device,
        nr_vecs: u16,
        kind: u32,
        sector: u64,
        end_io: unsafe extern "C" fn(*mut bindings::bio),
        private: *mut c_void,
    ) -> *mut bindings::bio;
    fn rscst_sys_bio_private(bio: *mut bindings::bio) -> *mut c_void;
    fn rscst_sys_bio_status(bio: *mut bindings::bio) -> u8;
}

/// The most pages one bio holds (the kernel's `BIO_MAX_VECS`).
const BIO_MAX_VECS: u32 = 256;
const SECTOR_SHIFT: u32 = 9;

/// What a command's bios do (helpers.c's kinds, in its order).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BioKind {
    /// Read into the command's buffer.
    Read = 0,
    /// Write the command's buffer.
    Write = 1,
    /// Write the command's buffer with force unit access.
    WriteFua = 2,
    /// Flush the device's volatile write cache (no data).
    Flush = 3,
}

/// Sense key, additional sense code and qualifier.
pub type Sense = (u8, u8, u8);

/// How a command whose I/O failed ends.
#[derive(Clone, Copy)]
pub struct OnFailure {
    /// The device returned an error.
    pub io_error: Sense,
    /// The device is gone (its disk was deleted underneath).
    pub device_gone: Sense,
    /// The target failed: no memory, or a buffer unfit for the transfer.
    pub internal: Sense,
}

/// A block device opened for one rscst device, exclusively: a mounted
/// filesystem, a device-mapper table or another exclusive user holding
/// it refuses the open, and none can claim it while rscst has it.
///
/// # Invariants
/// `file` was opened by `bdev_file_open_by_path` with the address of
/// `holder` as its holder, and is released (once) on drop; `bdev` is its
/// block device, valid while the file is open.
pub struct BlockDevice {
    file: NonNull<bindings::file>,
    bdev: NonNull<bindings::block_device>,
    _holder: KBox<u8>,
}

// SAFETY: an open block device may be used and released from any thread.
unsafe impl Send for BlockDevice {}
// SAFETY: bio submission and the size and limit queries are thread-safe.
unsafe impl Sync for BlockDevice {}

impl BlockDevice {
    /// Opens the block device node `path`, read-only or read-write.
    /// ENOTBLK when it names something else, EBUSY when another exclusive
    /// user has it. Thread context.
    pub fn open(path: &CStr, read_only: bool) -> Result<Self> {
        // A heap address of our own as the holder: unique among holders.
        let holder = KBox::new(0u8, GFP_KERNEL)?;
        let hp = (&*holder as *const u8).cast_mut().cast::<c_void>();
        // SAFETY: `path` is NUL-terminated; `hp` is a unique address while
        // the file holds it: the claim is given up in drop, before `holder`
        // is freed (an open that fails may give it up later, but the kernel
        // only compares holders, never dereferences them: no holder ops).
        let f = unsafe { rscst_sys_bdev_open(path.as_char_ptr().cast(), !read_only, hp) };
        let v = f as isize;
        if (-4095..0).contains(&v) {
            return Err(Error::from_errno(v as i32));
        }
        let file = NonNull::new(f).ok_or(code::EINVAL)?;
        // SAFETY: `file` is an open block device file.
        let bdev = NonNull::new(unsafe { bindings::file_bdev(file.as_ptr()) }).ok_or(code::EINVAL)?;
        // INVARIANT: opened just now with `holder`'s address.
        Ok(BlockDevice { file, bdev, _holder: holder })
    }

    /// The device's size in bytes now.
    pub fn size(&self) -> u64 {
        // SAFETY: the device is open (invariant).
        unsafe { rscst_sys_bdev_nr_bytes(self.bdev.as_ptr()) }
    }

    /// The device's logical block size: the smallest unit it transfers.
    pub fn logical_block_size(&self) -> u32 {
        // SAFETY: the device is open (invariant).
        unsafe { rscst_sys_bdev_logical_block_size(self.bdev.as_ptr()) }
    }

    /// Whether [`BlockDevice::zero_out`] may deallocate: the device takes
    /// WRITE ZEROES (that may unmap, where the kernel tells them apart).
    /// Otherwise zeroing writes zeros.
    pub fn zeroing_deallocates(&self) -> bool {
        // SAFETY: the device is open (invariant).
        unsafe { rscst_sys_bdev_zeroes_deallocate(self.bdev.as_ptr()) }
    }

    /// Whether the device's disk was deleted: nothing it is sent succeeds.
    pub fn is_gone(&self) -> bool {
        // SAFETY: the device is open (invariant), so its disk stays allocated.
        unsafe { rscst_sys_bdev_gone(self.bdev.as_ptr()) }
    }

    /// Makes `len` bytes at `pos` read as zeros, letting the device
    /// deallocate them where it can (WRITE ZEROES with unmap, else zeros
    /// written). Thread context: it waits for the I/O. A range beyond the
    /// device fails.
    pub fn zero_out(&self, pos: u64, len: u64) -> Result {
        // SAFETY: the device is open (invariant); the call waits for its own
        // bios (one beyond the device's end fails).
        let r = unsafe { rscst_sys_bdev_zero_out(self.bdev.as_ptr(), pos >> SECTOR_SHIFT, len >> SECTOR_SHIFT) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(())
    }

    /// Starts `cmd`'s I/O: `len` bytes of its buffer at byte `pos` (a
    /// multiple of the device's logical block size) for [`BioKind::Read`]
    /// and the writes, or a cache flush ([`BioKind::Flush`], no data). The
    /// command completes when its last bio ends: GOOD, or as `failed`
    /// says when a bio failed. A buffer shorter than `len`, or with entries
    /// not in whole 512-byte sectors, gets `failed.internal` before any
    /// I/O. Thread context (bio allocation and submission may wait).
    pub fn submit(&self, mut cmd: IoCmd, kind: BioKind, pos: u64, len: usize, failed: OnFailure) {
        let (sg, nents) = cmd.sg().raw();
        if kind != BioKind::Flush && !covers(&cmd.sg(), len) {
            return cmd.complete(Some(failed.internal));
        }
        let Ok(io) = KBox::new_uninit(GFP_KERNEL) else {
            return cmd.complete(Some(failed.internal));
        };
        // One count for each bio, and one held until every bio is submitted,
        // so that bios ending meanwhile (even inside submit_bio) cannot
        // complete the command early.
        let io = KBox::into_raw(KBox::write(
            io,
            InFlight { cmd, bdev: self.bdev, pending: AtomicU32::new(1), status: AtomicU8::new(0), failed },
        ));
        if kind == BioKind::Flush {
            self.submit_bio(io, kind, pos >> SECTOR_SHIFT, 0, |_| true);
        } else {
            // SAFETY: the buffer belongs to the command until it completes,
            // which is after `finish` below drops the last count.
            let sg = unsafe { SgList::from_raw(sg.cast(), nents) };
            self.submit_data(io, &sg, kind, pos, len);
        }
        // SAFETY: the submission count taken above, dropped once.
        unsafe { finish(io) };
    }

    /// Submits bios covering `len` bytes of `sg` (which [`covers`] them)
    /// from `pos`. Each bio ends on a logical block boundary (the block
    /// layer refuses one that does not): in a bio's last few slots a page
    /// is cut at a boundary, and the rest of a cut entry starts the next.
    fn submit_data(&self, io: *mut InFlight, sg: &SgList<'_>, kind: BioKind, pos: u64, len: usize) {
        let block = self.logical_block_size().max(1 << SECTOR_SHIFT) as usize;
        // Entries are whole sectors, so a bio reaches a block boundary
        // within `to_align - 1` more pages (each at least a sector), which
        // its last `to_align - 1` slots keep for that.
        let to_align = (block >> SECTOR_SHIFT) as u32;
        let mut left = len;
        let mut entries_left = sg.nents();
        let mut sector = pos >> SECTOR_SHIFT;
        let mut segments = sg.segments();
        // The part of the current entry not in a bio yet.
        let mut piece: Option<(*mut bindings::page, u32, u32)> = None;
        while left > 0 {
            let needed = entries_left + u32::from(piece.is_some());
            let nr_vecs = (needed + to_align).min(BIO_MAX_VECS);
            let mut added = 0usize;
            self.submit_bio(io, kind, sector, nr_vecs as u16, |bio| {
                let mut vecs = 0u32;
                while left > 0 {
                    let Some((page, off, seg_len)) = piece.take().or_else(|| {
                        entries_left = entries_left.saturating_sub(1);
                        segments.next()
                    }) else {
                        break;
                    };
                    let mut n = (seg_len as usize).min(left) as u32;
                    if n == 0 {
                        continue; // an empty entry: nothing to add
                    }
                    // (Merged pages use no slot of their own, so `vecs` may
                    // pass `nr_vecs`.)
                    if nr_vecs.saturating_sub(vecs) < to_align {
                        // The last slots: whole blocks past the next block
                        // boundary at most.
                        let short = (block - added % block) % block;
                        if n as usize > short {
                            n = (short + (n as usize - short) / block * block) as u32;
                        }
                        if n == 0 {
                            piece = Some((page, off, seg_len));
                            break;
                        }
                    }
                    // SAFETY: `bio` is ours until submitted; the page range is
                    // part of the command's buffer, live until it completes.
                    if unsafe { bindings::bio_add_page(bio, page, n, off) } as u32 != n {
                        piece = Some((page, off, seg_len));
                        break; // full sooner than counted: the next bio takes it
                    }
                    vecs += 1;
                    if n < seg_len {
                        piece = Some((page, off + n, seg_len - n));
                    }
                    left -= n as usize;
                    added += n as usize;
                }
                added > 0
            });
            if added == 0 {
                // No bio took a page (allocation failed, or the device
                // refuses them): the rest is not transferred.
                // SAFETY: `io` is live: the caller holds its submission count.
                return unsafe { (*io).fail(u8::MAX) };
            }
            sector += (added >> SECTOR_SHIFT) as u64;
        }
    }

    /// Allocates a bio for `io` at `sector`, lets `fill` add its pages, and
    /// submits it when `fill` says it holds something (else frees it).
    fn submit_bio(
        &self,
        io: *mut InFlight,
        kind: BioKind,
        sector: u64,
        nr_vecs: u16,
        fill: impl FnOnce(*mut bindings::bio) -> bool,
    ) {
        // SAFETY: the device is open (invariant); `end_io` matches the
        // `InFlight` that `io` points to, live while it has counts.
        let bio = unsafe { rscst_sys_bio_alloc(self.bdev.as_ptr(), nr_vecs, kind as u32, sector, end_io, io.cast()) };
        if bio.is_null() {
            // SAFETY: `io` is live: the caller holds its submission count.
            return unsafe { (*io).fail(u8::MAX) };
        }
        if !fill(bio) {
            // SAFETY: allocated above, never submitted.
            return unsafe { bindings::bio_put(bio) };
        }
        // SAFETY: `io` is live (submission count held); one more count for
        // this bio, dropped by its end_io.
        unsafe { (*io).pending.fetch_add(1, Ordering::Relaxed) };
        // SAFETY: a bio of ours with its pages, sector and end_io set; the
        // block layer owns it until end_io.
        unsafe { bindings::submit_bio(bio) };
    }
}

impl Drop for BlockDevice {
    fn drop(&mut self) {
        // SAFETY: opened by bdev_file_open_by_path (invariant), released
        // once, before `holder` is freed.
        unsafe { bindings::bdev_fput(self.file.as_ptr()) };
    }
}

/// A command whose bios are in flight.
struct InFlight {
    cmd: IoCmd,
    /// The device, open until the command completes (a device is closed
    /// only once none of its commands is left).
    bdev: NonNull<bindings::block_device>,
    /// Bios not ended yet, plus one while bios are still being submitted.
    pending: AtomicU32,
    /// The first failure's block status (0: none; `u8::MAX`: the buffer
    /// or a bio was missing).
    status: AtomicU8,
    failed: OnFailure,
}

impl InFlight {
    fn fail(&self, status: u8) {
        let _ = self.status.compare_exchange(0, status, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// Drops one count of `io`; the last completes the command and frees it.
///
/// # Safety
/// `io` came from `KBox::into_raw` in [`BlockDevice::submit`] and the
/// caller holds one of its counts, given up here.
unsafe fn finish(io: *mut InFlight) {
    // SAFETY: live while the caller's count is held.
    if unsafe { (*io).pending.fetch_sub(1, Ordering::AcqRel) } != 1 {
        return;
    }
    // SAFETY: the last count: no bio and no submitter refers to it any more.
    let InFlight { cmd, bdev, status, failed, .. } = KBox::into_inner(unsafe { KBox::from_raw(io) });
    let sense = match status.into_inner() {
        0 => None,
        u8::MAX => Some(failed.internal),
        // SAFETY: the device is open until `cmd` completes (field doc).
        _ if unsafe { rscst_sys_bdev_gone(bdev.as_ptr()) } => Some(failed.device_gone),
        _ => Some(failed.io_error),
    };
    cmd.complete(sense);
}

/// Whether `sg` holds `len` bytes in whole 512-byte sectors.
fn covers(sg: &SgList<'_>, len: usize) -> bool {
    let mut left = len;
    for (_, _, seg_len) in sg.segments() {
        if left == 0 {
            break;
        }
        let n = (seg_len as usize).min(left);
        if n % (1 << SECTOR_SHIFT) != 0 {
            return false;
        }
        left -= n;
    }
    left == 0
}

/// A bio of [`BlockDevice::submit`] ended (any context).
///
/// # Safety
/// Called by the block layer once per bio submitted there, with its
/// private data set to the `InFlight` that counts it.
unsafe extern "C" fn end_io(bio: *mut bindings::bio) {
    // SAFETY: a bio that ended and that we allocated: its fields are ours
    // to read, and it is put once, here.
    let (io, status) = unsafe {
        let io = rscst_sys_bio_private(bio).cast::<InFlight>();
        let status = rscst_sys_bio_status(bio);
        bindings::bio_put(bio);
        (io, status)
    };
    if status != 0 {
        // SAFETY: live: this bio's count is not dropped yet.
        unsafe { (*io).fail(status) };
    }
    // SAFETY: this bio's count, dropped once.
    unsafe { finish(io) };
}
