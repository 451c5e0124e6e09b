// SPDX-License-Identifier: GPL-2.0
//! Scatter-gather lists handed across the C ABI: copying small buffers in and
//! out, and walking the entries as (page, offset, length) segments for I/O.

use super::bindings;

/// A borrowed scatter-gather list (`struct scatterlist *` plus entry count).
///
/// # Invariants
/// `sg` is null (and `nents` 0) or points to a valid chain of at least `nents`
/// entries that stays valid and unmodified by others for `'a`.
pub struct SgList<'a> {
    sg: *mut bindings::scatterlist,
    nents: u32,
    _life: core::marker::PhantomData<&'a mut ()>,
}

impl<'a> SgList<'a> {
    /// Wraps a raw list.
    ///
    /// # Safety
    /// The caller guarantees the invariants of [`SgList`] for `'a`.
    pub unsafe fn from_raw(sg: *mut core::ffi::c_void, nents: u32) -> Self {
        let nents = if sg.is_null() { 0 } else { nents };
        // INVARIANT: guaranteed by the caller.
        SgList { sg: sg.cast(), nents, _life: core::marker::PhantomData }
    }

    /// The raw list, for kernel calls in the sys layers.
    pub fn raw(&self) -> (*mut bindings::scatterlist, u32) {
        (self.sg, self.nents)
    }

    /// Number of entries.
    pub fn nents(&self) -> u32 {
        self.nents
    }

    /// Copies `src` into the start of the list; returns bytes copied.
    pub fn copy_from(&mut self, src: &[u8]) -> usize {
        if self.nents == 0 || src.is_empty() {
            return 0;
        }
        // SAFETY: the list is valid for `nents` entries (type invariant) and
        // `src` is a valid slice; sg_copy_from_buffer bounds the copy by both.
        unsafe {
            bindings::sg_copy_from_buffer(self.sg, self.nents, src.as_ptr().cast(), src.len())
        }
    }

    /// Copies the start of the list into `dst`; returns bytes copied.
    pub fn copy_to(&self, dst: &mut [u8]) -> usize {
        if self.nents == 0 || dst.is_empty() {
            return 0;
        }
        // SAFETY: as in `copy_from`; `dst` is a valid mutable slice.
        unsafe {
            bindings::sg_copy_to_buffer(self.sg, self.nents, dst.as_mut_ptr().cast(), dst.len())
        }
    }

    /// Calls `f(page, offset, len)` for each entry, in order, until it returns
    /// false. `page` is a `struct page *` for building bio_vecs.
    pub fn for_each_segment(&self, mut f: impl FnMut(*mut bindings::page, u32, u32) -> bool) {
        for (page, off, len) in self.segments() {
            if !f(page, off, len) {
                break;
            }
        }
    }

    /// The entries as `(page, offset, len)`, in order.
    pub fn segments(&self) -> Segments<'_> {
        Segments { sg: self.sg, left: self.nents, _list: core::marker::PhantomData }
    }
}

/// The entries of an [`SgList`], from [`SgList::segments`].
///
/// # Invariants
/// `sg` is null or one of the list's entries with `left` entries from it
/// on, all valid while the list is borrowed.
pub struct Segments<'a> {
    sg: *mut bindings::scatterlist,
    left: u32,
    _list: core::marker::PhantomData<&'a ()>,
}

impl Iterator for Segments<'_> {
    type Item = (*mut bindings::page, u32, u32);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.sg.is_null() {
            return None;
        }
        // SAFETY: `sg` is a valid entry of the list (type invariant).
        let e = unsafe { &*self.sg };
        // sg_page(): the low two bits of page_link mark chain/end.
        let item = ((e.page_link & !0x3) as usize as *mut bindings::page, e.offset, e.length);
        self.left -= 1;
        // SAFETY: `sg` is an entry of a well-formed list; sg_next follows
        // chain links and returns NULL after the last entry.
        // INVARIANT: the next entry, one fewer left.
        self.sg = unsafe { sg_next(self.sg) };
        Some(item)
    }
}

impl SgList<'_> {
    /// Zeroes the first `len` bytes of the list.
    pub fn zero(&mut self, len: usize) {
        if self.nents == 0 {
            return;
        }
        // SAFETY: valid list (type invariant); sg_zero_buffer bounds itself by
        // the list's length.
        unsafe { bindings::sg_zero_buffer(self.sg, self.nents, len, 0) };
    }
}

/// The entry after `sg`, following a chain link; null after the last one
/// (the kernel's `sg_next`, which Linux 7 made an inline function, so no
/// module can call it). `page_link`'s low bits: 0x1 marks a chain link
/// (its other bits point to the next array), 0x2 the end. The step to the
/// next entry uses `size_of::<scatterlist>()` of the bindings generated for
/// the kernel being built against.
///
/// # Safety
/// `sg` points to an entry of a well-formed scatterlist.
unsafe fn sg_next(sg: *mut bindings::scatterlist) -> *mut bindings::scatterlist {
    const SG_CHAIN: core::ffi::c_ulong = 0x1;
    const SG_END: core::ffi::c_ulong = 0x2;
    // SAFETY: `sg` is a valid entry (this function's contract); one that
    // is not the last is followed by another entry or a chain link.
    unsafe {
        if (*sg).page_link & SG_END != 0 {
            return core::ptr::null_mut();
        }
        let next = sg.add(1);
        let link = (*next).page_link;
        if link & SG_CHAIN != 0 {
            (link & !(SG_CHAIN | SG_END)) as usize as *mut bindings::scatterlist
        } else {
            next
        }
    }
}
