// SPDX-License-Identifier: GPL-2.0
//! A slab cache of one type: objects of the data path (commands) come from
//! a cache of their own instead of the general kmalloc sizes, which wastes
//! less memory, reuses hot objects, and shows up in /proc/slabinfo. A cache
//! destroyed with objects still allocated is reported by the kernel, so a
//! leaked command fails a lab run.

use core::ffi::{c_char, c_uint, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code, Result};


extern "C" {
    fn rscst_sys_cache_create(name: *const c_char, size: c_uint, align: c_uint) -> *mut c_void;
    fn rscst_sys_cache_alloc(cache: *mut c_void) -> *mut c_void;
    fn rscst_sys_cache_free(cache: *mut c_void, obj: *mut c_void);
    fn rscst_sys_cache_destroy(cache: *mut c_void);
}

/// A `kmem_cache` for objects of type `T`.
///
/// # Invariants
/// `cache` is a live cache of objects of `T`'s size and alignment, owned by
/// this value.
pub struct Slab<T> {
    cache: NonNull<c_void>,
    _t: PhantomData<T>,
}

// SAFETY: kmem caches may be used from any thread and context.
unsafe impl<T: Send> Send for Slab<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Slab<T> {}

impl<T> Slab<T> {
    /// Creates the cache `name` (thread context).
    pub fn new(name: &'static CStr) -> Result<Self> {
        let (size, align) = (core::mem::size_of::<T>(), core::mem::align_of::<T>());
        // SAFETY: `name` is static and NUL-terminated; size and alignment are T's.
        let c = unsafe { rscst_sys_cache_create(name.as_ptr(), size as c_uint, align as c_uint) };
        // INVARIANT: a new cache for T, ours.
        NonNull::new(c).map(|cache| Slab { cache, _t: PhantomData }).ok_or(code::ENOMEM)
    }

    /// Moves `v` into a new object (any context); gives `v` back when the
    /// allocation fails.
    pub fn alloc(&self, v: T) -> core::result::Result<NonNull<T>, T> {
        // SAFETY: a live cache (invariant).
        let p = unsafe { rscst_sys_cache_alloc(self.cache.as_ptr()) };
        let Some(p) = NonNull::new(p.cast::<T>()) else { return Err(v) };
        // SAFETY: a fresh object of T's size and alignment.
        unsafe { p.as_ptr().write(v) };
        Ok(p)
    }

    /// Drops the object at `p` and gives its memory back (any context).
    ///
    /// # Safety
    /// `p` came from [`Slab::alloc`] of this cache and is not used again.
    pub unsafe fn free(&self, p: NonNull<T>) {
        // SAFETY: a live object from this cache, ours to end (caller).
        unsafe {
            core::ptr::drop_in_place(p.as_ptr());
            rscst_sys_cache_free(self.cache.as_ptr(), p.as_ptr().cast());
        }
    }
}

impl<T> Drop for Slab<T> {
    fn drop(&mut self) {
        // SAFETY: ours (invariant); destroyed once.
        unsafe { rscst_sys_cache_destroy(self.cache.as_ptr()) };
    }
}
