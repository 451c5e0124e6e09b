// SPDX-License-Identifier: GPL-2.0
//! Kernel file I/O: on a backing file or block device node, straight from
//! and into a command's scatter-gather pages (no bounce buffer), for the
//! vdisk handlers; and small files read and written whole, for the core's
//! persistent reservations.

use super::bindings;
use super::sg::SgList;
use kernel::str::CStr;
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;

const O_RDONLY: i32 = 0;
const O_WRONLY: i32 = 1;
const O_RDWR: i32 = 2;
const O_CREAT: i32 = 0o100;
const O_TRUNC: i32 = 0o1000;
const O_NONBLOCK: i32 = 0o4000;
const O_LARGEFILE: i32 = 0o100000;
const O_PATH: i32 = 0o10000000;
const SEEK_END: i32 = 2;
const SEEK_DATA: i32 = 3;
const SEEK_HOLE: i32 = 4;
const FALLOC_FL_KEEP_SIZE: i32 = 0x01;
const FALLOC_FL_PUNCH_HOLE: i32 = 0x02;
const ENXIO: i32 = 6;
const ITER_DEST: u32 = 0;
const ITER_SOURCE: u32 = 1;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFBLK: u32 = 0o060000;
const S_IFDIR: u32 = 0o040000;
/// Kernel pseudo filesystems (include/uapi/linux/magic.h; configfs:
/// fs/configfs/mount.c): their files may be regular, but reading and
/// writing them does something else than storing data.
const PSEUDO_FS_MAGIC: [core::ffi::c_ulong; 20] = [
    0x9fa0,     // proc
    0x62656572, // sysfs
    0x64626720, // debugfs
    0x74726163, // tracefs
    0x62656570, // configfs
    0x73636673, // securityfs
    0x27e0eb,   // cgroup
    0x63677270, // cgroup2
    0xcafe4a11, // bpf
    0x6165676C, // pstore
    0xde5e81e4, // efivarfs
    0xf97cff8c, // selinuxfs
    0x43415d53, // smackfs
    0x42494e4d, // binfmt_misc
    0x07655821, // resctrl
    0x6e736673, // nsfs
    0x65735543, // fusectl
    0x6e667364, // nfsd
    0x67596969, // rpc_pipefs
    0x19800202, // mqueue
];

/// An open file.
///
/// # Invariants
/// `f` is a file opened by `filp_open`, closed on drop.
pub struct KernelFile {
    f: NonNull<bindings::file>,
}

// SAFETY: struct file is refcounted and usable from any thread.
unsafe impl Send for KernelFile {}
// SAFETY: read/write/fsync on a file are thread-safe (positions are explicit).
unsafe impl Sync for KernelFile {}

impl KernelFile {
    /// Opens `path` read-write, or read-only. Thread context.
    pub fn open(path: &CStr, read_only: bool) -> Result<Self> {
        Self::open_flags(path, O_LARGEFILE | if read_only { O_RDONLY } else { O_RDWR })
    }

    /// Whether `path` names something that can back a disk (see
    /// [`KernelFile::can_back_a_disk`]), looked up with `O_PATH`, which does
    /// not open it: opening a device node may act (arm a watchdog, rewind a
    /// tape). Thread context.
    pub fn path_can_back_a_disk(path: &CStr) -> Result<bool> {
        Ok(Self::open_flags(path, O_PATH)?.can_back_a_disk())
    }

    /// Creates `path` (or empties it), for writing, readable and writable
    /// by its owner only; it must be a plain file (`is_plain`: EINVAL
    /// otherwise). Non-blocking, so that a FIFO cannot hold the caller.
    /// Thread context.
    pub fn create(path: &CStr) -> Result<Self> {
        let f = Self::open_mode(path, O_LARGEFILE | O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, 0o600)?;
        if !f.is_plain() {
            return Err(code::EINVAL);
        }
        Ok(f)
    }

    /// Opens `path`, a plain file (`is_plain`: EINVAL otherwise), for
    /// reading, without blocking on a FIFO. Thread context.
    pub fn open_plain(path: &CStr) -> Result<Self> {
        let f = Self::open_flags(path, O_LARGEFILE | O_RDONLY | O_NONBLOCK)?;
        if !f.is_plain() {
            return Err(code::EINVAL);
        }
        Ok(f)
    }

    fn open_flags(path: &CStr, flags: i32) -> Result<Self> {
        Self::open_mode(path, flags, 0)
    }

    fn open_mode(path: &CStr, flags: i32, mode: u16) -> Result<Self> {
        // SAFETY: `path` is NUL-terminated; filp_open returns a file or ERR_PTR.
        let f = unsafe { bindings::filp_open(path.as_char_ptr().cast(), flags, mode.into()) };
        let v = f as isize;
        if (-4095..0).contains(&v) {
            return Err(Error::from_errno(v as i32));
        }
        // INVARIANT: a valid file from filp_open.
        NonNull::new(f).map(|f| KernelFile { f }).ok_or(code::EINVAL)
    }

    /// Whether `path` names a directory (false when it cannot be looked up).
    pub fn is_directory(path: &CStr) -> bool {
        Self::open_flags(path, O_PATH).is_ok_and(|f| f.mode_and_fs().0 & S_IFMT == S_IFDIR)
    }

    /// Whether the file can back a disk: a regular file or a block device
    /// node, and not on a kernel pseudo filesystem. Their files are regular
    /// too (/proc/self/mem, sysfs attributes, rscst's own `mgmt` files), but
    /// reading and writing them does something else than storing blocks.
    pub fn can_back_a_disk(&self) -> bool {
        let (mode, magic) = self.mode_and_fs();
        matches!(mode & S_IFMT, S_IFREG | S_IFBLK) && !PSEUDO_FS_MAGIC.contains(&magic)
    }

    /// Whether the file is a regular file on a filesystem that stores what
    /// is written (not a device node, FIFO or kernel pseudo file).
    pub fn is_plain(&self) -> bool {
        let (mode, magic) = self.mode_and_fs();
        mode & S_IFMT == S_IFREG && !PSEUDO_FS_MAGIC.contains(&magic)
    }

    /// The inode's mode and its filesystem's magic number.
    fn mode_and_fs(&self) -> (u32, core::ffi::c_ulong) {
        // SAFETY: the file is open (invariant), so its f_inode is set and
        // stays valid until filp_close, and an inode's i_sb is always set.
        unsafe {
            let inode = (*self.f.as_ptr()).f_inode;
            (u32::from((*inode).i_mode), (*(*inode).i_sb).s_magic)
        }
    }

    /// Size in bytes (regular files and block devices alike).
    pub fn size(&self) -> Result<u64> {
        // SAFETY: valid file (invariant); vfs_llseek with SEEK_END does not
        // change shared state we rely on (all I/O uses explicit positions).
        let r = unsafe { bindings::vfs_llseek(self.f.as_ptr(), 0, SEEK_END) };
        if r < 0 {
            return Err(Error::from_errno(r as i32));
        }
        Ok(r as u64)
    }

    fn bvecs(sg: &SgList<'_>, len: usize) -> Result<KVec<bindings::bio_vec>> {
        let mut v = KVec::with_capacity(sg.nents() as usize, GFP_KERNEL)?;
        let mut left = len;
        let mut err = None;
        sg.for_each_segment(|page, off, seg_len| {
            if left == 0 {
                return false;
            }
            let n = (seg_len as usize).min(left);
            let bv = bindings::bio_vec { bv_page: page, bv_len: n as u32, bv_offset: off };
            if let Err(e) = v.push(bv, GFP_KERNEL) {
                err = Some(e);
                return false;
            }
            left -= n;
            true
        });
        if let Some(e) = err {
            return Err(e.into());
        }
        if left != 0 {
            return Err(code::EINVAL);
        }
        Ok(v)
    }

    fn rw(&self, sg: &SgList<'_>, pos: u64, len: usize, write: bool) -> Result<usize> {
        let bv = Self::bvecs(sg, len)?;
        let mut iter = bindings::iov_iter::default();
        let mut off = pos as bindings::loff_t;
        let dir = if write { ITER_SOURCE } else { ITER_DEST };
        // SAFETY: `bv` describes `len` bytes of pages owned by the command for
        // the duration of this call; `iter` and `off` are valid locals.
        let r = unsafe {
            bindings::iov_iter_bvec(&mut iter, dir, bv.as_ptr(), bv.len() as u64, len);
            if write {
                bindings::vfs_iter_write(self.f.as_ptr(), &mut iter, &mut off, 0)
            } else {
                bindings::vfs_iter_read(self.f.as_ptr(), &mut iter, &mut off, 0)
            }
        };
        if r < 0 {
            return Err(Error::from_errno(r as i32));
        }
        Ok(r as usize)
    }

    /// Reads `len` bytes at `pos` into `sg`; returns bytes read. Thread context.
    pub fn read_sg(&self, sg: &SgList<'_>, pos: u64, len: usize) -> Result<usize> {
        self.rw(sg, pos, len, false)
    }

    /// Writes `len` bytes at `pos` from `sg`; returns bytes written. Thread context.
    pub fn write_sg(&self, sg: &SgList<'_>, pos: u64, len: usize) -> Result<usize> {
        self.rw(sg, pos, len, true)
    }

    /// Deallocates `len` bytes at `pos` (a hole punched, the size kept):
    /// they read as zeros afterwards. Thread context.
    pub fn punch_hole(&self, pos: u64, len: u64) -> Result {
        let (pos, len) = (i64::try_from(pos).map_err(|_| code::EINVAL)?, i64::try_from(len).map_err(|_| code::EINVAL)?);
        // SAFETY: valid file (invariant); vfs_fallocate checks the mode,
        // the range and the file's permissions itself.
        let r = unsafe { bindings::vfs_fallocate(self.f.as_ptr(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos, len) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(())
    }

    /// Where the next data (`SEEK_DATA`) or hole (`SEEK_HOLE`) at or after
    /// `pos` starts; `None` when no data follows `pos`. Filesystems without
    /// holes report all of the file as data (and block devices do).
    fn seek(&self, pos: u64, whence: i32) -> Result<Option<u64>> {
        // SAFETY: valid file (invariant); the position it sets is not used
        // (all I/O passes explicit positions).
        let r = unsafe { bindings::vfs_llseek(self.f.as_ptr(), pos as bindings::loff_t, whence) };
        if r == -i64::from(ENXIO) {
            return Ok(None);
        }
        if r < 0 {
            return Err(Error::from_errno(r as i32));
        }
        Ok(Some(r as u64))
    }

    /// The extent at `pos`: whether it holds data, and where it ends (at
    /// most `end`). Thread context.
    pub fn extent_at(&self, pos: u64, end: u64) -> Result<(bool, u64)> {
        match self.seek(pos, SEEK_DATA)? {
            // A hole up to the end of the file.
            None => Ok((false, end)),
            Some(data) if data > pos => Ok((false, data.min(end))),
            Some(_) => Ok((true, self.seek(pos, SEEK_HOLE)?.unwrap_or(end).min(end))),
        }
    }

    /// Makes `[start, end]` durable (`end == u64::MAX`: to the end of file).
    pub fn sync_range(&self, start: u64, end: u64, datasync: bool) -> Result {
        let end = end.min(i64::MAX as u64);
        // SAFETY: valid file (invariant).
        let r = unsafe {
            bindings::vfs_fsync_range(self.f.as_ptr(), start as i64, end as i64, i32::from(datasync))
        };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(())
    }

    /// Reads the whole file, refusing one longer than `max` bytes (EFBIG).
    /// Thread context.
    pub fn read_all(&self, max: usize) -> Result<KVec<u8>> {
        let mut buf = KVec::new();
        let mut chunk = [0u8; 512];
        let mut pos: bindings::loff_t = 0;
        loop {
            // SAFETY: valid file (invariant); `chunk` is writable for its
            // length; `pos` is a valid position for kernel_read to advance.
            let n = unsafe {
                bindings::kernel_read(self.f.as_ptr(), chunk.as_mut_ptr().cast(), chunk.len(), &mut pos)
            };
            if n < 0 {
                return Err(Error::from_errno(n as i32));
            }
            let n = n as usize;
            if n == 0 {
                return Ok(buf);
            }
            if buf.len() + n > max {
                return Err(code::EFBIG);
            }
            buf.extend_from_slice(&chunk[..n.min(chunk.len())], GFP_KERNEL)?;
        }
    }

    /// Writes all of `data` from the start of the file and makes it durable
    /// (fsync). Thread context.
    pub fn write_all_synced(&self, data: &[u8]) -> Result {
        self.write_all_at(0, data)?;
        self.sync_range(0, u64::MAX, false)
    }

    /// Writes all of `data` at byte `at` of the file (not synced). Thread
    /// context.
    pub fn write_all_at(&self, at: u64, data: &[u8]) -> Result {
        let mut pos = bindings::loff_t::try_from(at).map_err(|_| code::EFBIG)?;
        let mut done = 0usize;
        while done < data.len() {
            let rest = &data[done..];
            // SAFETY: valid file (invariant); `rest` is readable for its
            // length; `pos` is a valid position for kernel_write to advance.
            let n = unsafe { bindings::kernel_write(self.f.as_ptr(), rest.as_ptr().cast(), rest.len(), &mut pos) };
            if n < 0 {
                return Err(Error::from_errno(n as i32));
            }
            if n == 0 {
                return Err(code::EIO);
            }
            done += n as usize;
        }
        Ok(())
    }
}

impl Drop for KernelFile {
    fn drop(&mut self) {
        // SAFETY: opened by filp_open (invariant), closed once.
        unsafe { bindings::filp_close(self.f.as_ptr(), core::ptr::null_mut()) };
    }
}
