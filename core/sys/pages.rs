// SPDX-License-Identifier: GPL-2.0
//! Page buffers for the SGV cache: single pages and the scatterlist that
//! describes them, reshaped for each command's length. Usable for DMA
//! mapping (ordinary pages) and zero-copy socket sends (refcounted pages).

use super::bindings;
use super::sg::SgList;
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_ATOMIC;
use kernel::error::{code, Result};
use kernel::prelude::*;

const PAGE_SIZE: u32 = 4096;
const SG_END: u64 = 0x02;

// `struct page` is only passed by pointer; its zero-sized members do not matter.
#[allow(improper_ctypes)]
extern "C" {
    fn rscst_sys_alloc_page(atomic: bool) -> *mut bindings::page;
    fn rscst_sys_page_address(page: *mut bindings::page) -> *mut core::ffi::c_void;
}

/// A buffer of whole pages with its scatterlist.
///
/// # Invariants
/// `pages` are pages this buffer owns (freed on drop); `sg` has one entry per
/// page, initialised by sg_init_table, pointing at them.
pub struct PageBuf {
    pages: KVec<NonNull<bindings::page>>,
    sg: KVec<bindings::scatterlist>,
    used: u32,
}

// SAFETY: pages and their scatterlist may be used and freed from any thread.
unsafe impl Send for PageBuf {}

impl PageBuf {
    /// Allocates `n` pages (`atomic`: the caller cannot sleep).
    pub fn alloc(n: u32, atomic: bool) -> Result<Self> {
        let flags = if atomic { GFP_ATOMIC } else { kernel::alloc::flags::GFP_KERNEL };
        let mut pages = KVec::with_capacity(n as usize, flags)?;
        let mut sg = KVec::with_capacity(n as usize, flags)?;
        for _ in 0..n {
            // SAFETY: no preconditions; NULL on failure.
            let p = NonNull::new(unsafe { rscst_sys_alloc_page(atomic) });
            let Some(p) = p else {
                // INVARIANT: `pages` holds only what we allocated; drop frees it.
                drop(PageBuf { pages, sg, used: 0 });
                return Err(code::ENOMEM);
            };
            // Capacity reserved above: cannot fail.
            pages.push(p, flags)?;
            sg.push(bindings::scatterlist::default(), flags)?;
        }
        // SAFETY: `sg` holds `n` entries.
        unsafe { bindings::sg_init_table(sg.as_mut_ptr(), n) };
        for (e, p) in sg.iter_mut().zip(pages.iter()) {
            // sg_set_page(): keep the chain/end bits, set the page.
            e.page_link = (p.as_ptr() as u64) | (e.page_link & SG_END);
            e.offset = 0;
            e.length = PAGE_SIZE;
        }
        // INVARIANT: every entry points at one of our pages.
        Ok(PageBuf { pages, sg, used: n })
    }

    /// Pages in the buffer.
    pub fn pages(&self) -> u32 {
        self.pages.len() as u32
    }

    /// Makes the list describe exactly `len` bytes (<= capacity); returns the
    /// scatterlist pointer and entry count for the command.
    pub fn shape(&mut self, len: u64) -> (*mut core::ffi::c_void, u32) {
        let cap = u64::from(self.pages()) * u64::from(PAGE_SIZE);
        let len = len.min(cap).max(1);
        let used = len.div_ceil(u64::from(PAGE_SIZE)) as u32;
        let last = used as usize - 1;
        for (i, e) in self.sg.iter_mut().enumerate() {
            e.page_link &= !SG_END;
            e.length = PAGE_SIZE;
            if i == last {
                e.page_link |= SG_END;
                e.length = (len - last as u64 * u64::from(PAGE_SIZE)) as u32;
            }
        }
        self.used = used;
        (self.sg.as_mut_ptr().cast(), used)
    }
}

impl Drop for PageBuf {
    fn drop(&mut self) {
        for p in self.pages.iter() {
            // SAFETY: allocated by rscst_sys_alloc_page (order 0), freed once.
            unsafe { bindings::__free_pages(p.as_ptr(), 0) };
        }
    }
}

/// The bytes of `list` from offset `skip` on, as slices of its pages, in
/// order (a segment whose page has no kernel address ends the walk).
pub fn bytes<'a>(list: &'a SgList<'_>, skip: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut skip = skip;
    list.segments().map_while(move |(page, off, len)| {
        // SAFETY: `page` is a page of the list, valid while it is borrowed;
        // x86-64 maps every page, so page_address() is its kernel address.
        let va = unsafe { rscst_sys_page_address(page) };
        if va.is_null() {
            return None;
        }
        let from = skip.min(len as usize);
        skip -= from;
        // SAFETY: the segment's `len` bytes at `va + off` belong to the list
        // (a scatterlist entry stays within its pages) and nobody writes
        // them while the list is borrowed (SgList invariant).
        let seg = unsafe { core::slice::from_raw_parts(va.cast::<u8>().add(off as usize), len as usize) };
        Some(&seg[from..])
    })
}

/// Copies `len` bytes of `src`, from its offset `src_off`, to the start of
/// `dst`; returns bytes copied.
pub fn sg_copy(dst: &mut SgList<'_>, src: &SgList<'_>, src_off: usize, len: usize) -> usize {
    let (dst_sg, dst_n) = dst.raw();
    let mut done = 0usize;
    for piece in bytes(src, src_off) {
        if done >= len {
            break;
        }
        let n = piece.len().min(len - done);
        if n == 0 {
            continue;
        }
        // SAFETY: `piece` holds `n` readable bytes; the destination list is
        // valid (SgList invariant) and the copy is bounded by its length.
        let c = unsafe { bindings::sg_pcopy_from_buffer(dst_sg, dst_n, piece.as_ptr().cast(), n, done as _) };
        done += c;
        if c != n {
            break;
        }
    }
    done
}

/// Compares `len` bytes of `a` from offset `a_off` with `len` bytes of `b`
/// from `b_off`: the offset (from the start of the compared bytes) of the
/// first that differs, or None if all are equal. Bytes missing from either
/// list count as differing where they start.
pub fn sg_compare(a: &SgList<'_>, a_off: usize, b: &SgList<'_>, b_off: usize, len: usize) -> Option<usize> {
    let mut left = bytes(a, a_off).filter(|s| !s.is_empty());
    let mut right = bytes(b, b_off).filter(|s| !s.is_empty());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    let mut at = 0usize;
    while at < len {
        if x.is_empty() {
            match left.next() {
                Some(s) => x = s,
                None => return Some(at),
            }
        }
        if y.is_empty() {
            match right.next() {
                Some(s) => y = s,
                None => return Some(at),
            }
        }
        let n = x.len().min(y.len()).min(len - at);
        if let Some(i) = crate::scsi::readback::first_difference(&x[..n], &y[..n]) {
            return Some(at + i);
        }
        at += n;
        x = &x[n..];
        y = &y[n..];
    }
    None
}
