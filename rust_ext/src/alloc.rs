//! The extension's global allocator: small blocks (parse trees, row texts: many, short-lived)
//! come from mimalloc, which is much faster at them than the system allocator; large blocks
//! (line buffers, huge texts) come from the system allocator, which gives them back to the OS
//! as soon as they are freed (mimalloc would keep them cached, so one oversized line would
//! leave the process tens of MiB bigger).

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes go to the system allocator.
const LARGE: usize = 256 << 10;

pub struct Split;

// SAFETY: every block is freed/reallocated by the allocator that made it: the choice depends
// only on the block's size, which `GlobalAlloc` callers pass back unchanged (`realloc` moves a
// block across the threshold by allocate-copy-free).
unsafe impl GlobalAlloc for Split {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            unsafe { System.alloc(layout) }
        } else {
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            unsafe { System.alloc_zeroed(layout) }
        } else {
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= LARGE {
            unsafe { System.dealloc(ptr, layout) }
        } else {
            unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_large, new_large) = (layout.size() >= LARGE, new_size >= LARGE);
        if old_large == new_large {
            return if old_large {
                unsafe { System.realloc(ptr, layout, new_size) }
            } else {
                unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
            };
        }
        // SAFETY: the caller guarantees new_size, rounded up to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}
