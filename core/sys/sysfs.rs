// SPDX-License-Identifier: GPL-2.0
//! Safe sysfs directories, attributes and links for the management tree.
//!
//! A [`Dir`] is a kobject directory; an [`Attr`] is a file whose show/store
//! are served by an [`AttrOps`] object; a [`Link`] is a symlink. Dropping any
//! of them removes it from sysfs; removal waits for running show/store calls
//! (kernfs drains them), so the `AttrOps` object may be freed afterwards.
//! Never drop an `Attr` from inside its own `store`: kernfs would deadlock.

use super::bindings;
use core::ffi::{c_char, CStr};
use core::fmt;
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::alloc::KVec;
use kernel::sync::Arc;

/// Size of the buffer sysfs hands to `show`.
const SHOW_BUF_LEN: usize = 4096;

extern "C" {
    /// `sysfs_attr_init()` (a macro) on a dynamically allocated attribute.
    fn rscst_sys_attr_init(attr: *mut bindings::attribute);
}

/// Text written by an attribute's `show`, truncated at the page size.
pub struct TextBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> TextBuf<'a> {
    /// Wraps a byte buffer.
    pub fn new(buf: &'a mut [u8]) -> Self {
        TextBuf { buf, len: 0 }
    }

    /// Appends raw bytes, truncating when full.
    pub fn push(&mut self, bytes: &[u8]) {
        let room = self.buf.len() - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Write for TextBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Something usable as a sysfs name.
pub trait AsName {
    /// The NUL-terminated name.
    fn as_name(&self) -> &CStr;
}

impl AsName for CStr {
    fn as_name(&self) -> &CStr {
        self
    }
}

// Linux 7 made `kernel::str::CStr` the same type as `core::ffi::CStr`.
#[cfg(not(rscst_kernel7))]
impl AsName for kernel::str::CStr {
    fn as_name(&self) -> &CStr {
        CStr::from_bytes_with_nul(self.as_bytes_with_nul()).unwrap_or(c"?")
    }
}

impl AsName for kernel::str::CString {
    fn as_name(&self) -> &CStr {
        (**self).as_name()
    }
}

/// A NUL-terminated copy of a name.
fn name_copy(name: &CStr) -> Result<KVec<u8>> {
    let mut v = KVec::new();
    v.extend_from_slice(name.to_bytes_with_nul(), GFP_KERNEL)?;
    Ok(v)
}

/// What serves one sysfs file.
pub trait AttrOps: Send + Sync {
    /// Writes the file's contents.
    fn show(&self, out: &mut TextBuf<'_>);
    /// Takes a write; the default refuses it.
    fn store(&self, _input: &[u8]) -> Result {
        Err(code::EPERM)
    }
}

/// A sysfs directory backed by a dynamically created kobject.
///
/// # Invariants
/// `kobj` is a live kobject this value holds one reference to.
pub struct Dir {
    kobj: NonNull<bindings::kobject>,
}

// SAFETY: kobjects are refcounted and may be used and released from any thread.
unsafe impl Send for Dir {}
// SAFETY: all operations on the kobject go through thread-safe kernel APIs.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `name` under `parent`, or under /sys/kernel when `parent` is None.
    pub fn new(parent: Option<&Dir>, name: &(impl AsName + ?Sized)) -> Result<Dir> {
        let name = name.as_name();
        let parent_ptr = match parent {
            Some(p) => p.kobj.as_ptr(),
            // SAFETY: kernel_kobj is set up at boot and never freed.
            None => unsafe { bindings::kernel_kobj },
        };
        // SAFETY: `name` is NUL-terminated; `parent_ptr` is a live kobject.
        let raw = unsafe { bindings::kobject_create_and_add(name.as_ptr(), parent_ptr) };
        // INVARIANT: kobject_create_and_add returns a kobject with one reference.
        NonNull::new(raw).map(|kobj| Dir { kobj }).ok_or(code::ENOMEM)
    }

    /// Adds a file `name` with permissions `mode`, served by `ops`.
    pub fn add_attr(&self, name: &(impl AsName + ?Sized), mode: u16, ops: Arc<dyn AttrOps>) -> Result<Attr> {
        let name = name_copy(name.as_name())?;
        let mut raw = KBox::new(
            RawAttr {
                kattr: bindings::kobj_attribute::default(),
                ops,
                name,
            },
            GFP_KERNEL,
        )?;
        raw.kattr.attr.name = raw.name.as_ptr().cast();
        raw.kattr.attr.mode = mode;
        raw.kattr.show = Some(attr_show);
        raw.kattr.store = Some(attr_store);
        // SAFETY: `raw.kattr.attr` is a valid attribute that lives as long as `raw`.
        unsafe { rscst_sys_attr_init(&mut raw.kattr.attr) };
        // SAFETY: the kobject is live (invariant) and the attribute stays valid
        // until `Attr::drop` removes it before freeing `raw`.
        let ret = unsafe {
            bindings::sysfs_create_file_ns(self.kobj.as_ptr(), &raw.kattr.attr, core::ptr::null())
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // SAFETY: the kobject is live; the reference is dropped in `Attr::drop`.
        unsafe { bindings::kobject_get(self.kobj.as_ptr()) };
        Ok(Attr { raw, kobj: self.kobj })
    }

    /// Adds read-only files `names`, each served by `make(kind)`, to `out`.
    pub fn add_attrs<K: Copy>(
        &self,
        names: &[(&CStr, K)],
        out: &mut KVec<Attr>,
        make: impl Fn(K) -> Result<Arc<dyn AttrOps>>,
    ) -> Result {
        for (name, kind) in names {
            out.push(self.add_attr(*name, 0o444, make(*kind)?)?, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Adds a symlink `name` pointing at `target`.
    pub fn add_link(&self, target: &Dir, name: &(impl AsName + ?Sized)) -> Result<Link> {
        let name = name_copy(name.as_name())?;
        // SAFETY: both kobjects are live; `name` is NUL-terminated.
        let ret = unsafe {
            bindings::sysfs_create_link(self.kobj.as_ptr(), target.kobj.as_ptr(), name.as_ptr().cast())
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // SAFETY: the kobject is live; released in `Link::drop`.
        unsafe { bindings::kobject_get(self.kobj.as_ptr()) };
        Ok(Link { kobj: self.kobj, name })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (invariant); this releases it, and the
        // directory disappears when the last holder lets go.
        unsafe { bindings::kobject_put(self.kobj.as_ptr()) };
    }
}

#[repr(C)]
struct RawAttr {
    // First: the show/store callbacks get a pointer to it and cast back.
    kattr: bindings::kobj_attribute,
    ops: Arc<dyn AttrOps>,
    name: KVec<u8>,
}

/// A sysfs file; removed when dropped.
///
/// # Invariants
/// `raw.kattr` is registered on `kobj`, of which this holds one reference.
pub struct Attr {
    raw: KBox<RawAttr>,
    kobj: NonNull<bindings::kobject>,
}

// SAFETY: see `Dir`; the attribute memory is only freed after removal.
unsafe impl Send for Attr {}
// SAFETY: see `Dir`.
unsafe impl Sync for Attr {}

impl Drop for Attr {
    fn drop(&mut self) {
        // SAFETY: registered on this live kobject (invariant). Removal waits for
        // running callbacks, so `raw` may be freed right after.
        unsafe {
            bindings::sysfs_remove_file_ns(self.kobj.as_ptr(), &self.raw.kattr.attr, core::ptr::null());
            bindings::kobject_put(self.kobj.as_ptr());
        }
    }
}

/// A sysfs symlink; removed when dropped.
///
/// # Invariants
/// The link `name` exists in `kobj`, of which this holds one reference.
pub struct Link {
    kobj: NonNull<bindings::kobject>,
    name: KVec<u8>,
}

// SAFETY: see `Dir`.
unsafe impl Send for Link {}
// SAFETY: see `Dir`.
unsafe impl Sync for Link {}

impl Drop for Link {
    fn drop(&mut self) {
        // SAFETY: the link exists in this live kobject (invariant).
        unsafe {
            bindings::sysfs_remove_link(self.kobj.as_ptr(), self.name.as_ptr().cast());
            bindings::kobject_put(self.kobj.as_ptr());
        }
    }
}

/// # Safety
/// Called by sysfs with `attr` registered by `Dir::add_attr` (inside a live
/// `RawAttr`) and `buf` a page-sized buffer.
unsafe extern "C" fn attr_show(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: `kattr` is the first field of the `#[repr(C)]` RawAttr, alive
    // until removal, which waits for this call.
    let raw = unsafe { &*(attr as *const RawAttr) };
    // SAFETY: sysfs passes a zeroed buffer of PAGE_SIZE bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), SHOW_BUF_LEN) };
    let mut out = TextBuf::new(page);
    raw.ops.show(&mut out);
    out.len() as isize
}

/// # Safety
/// As `attr_show`, with `buf` holding `count` bytes.
unsafe extern "C" fn attr_store(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: as in `attr_show`.
    let raw = unsafe { &*(attr as *const RawAttr) };
    // SAFETY: sysfs passes `count` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match raw.ops.store(input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}
