//! Stacks for children that share their parent's memory.
//!
//! A child made with `clone(CLONE_VM)` (clone(2)) runs in its parent's
//! address space, so the kernel copies no page tables for it: what a
//! `fork` of a large process spends most of its time on. It needs a stack
//! of its own, allocated before it starts and kept until it has exited or
//! exec'd. Two children use one: the network helper (`netns.rs`) and the
//! command process the reaper starts (`exec.rs`).

use std::io;
use std::ptr::NonNull;

/// An anonymous mapping used as a child's stack, with a guard page
/// (`PROT_NONE`) at its low end so that an overflow faults instead of
/// writing into other memory; unmapped when dropped.
#[derive(Debug)]
pub(crate) struct Stack {
    base: NonNull<libc::c_void>,
    len: usize,
}

// SAFETY: a plain memory mapping owned by this value alone; the children
// that run on it never outlive its owner's use of it (see the callers).
unsafe impl Send for Stack {}
// SAFETY: as above; `&Stack` only hands out the top address.
unsafe impl Sync for Stack {}

impl Stack {
    /// Size of the mapping in bytes: the children's frames need a few KiB,
    /// and pages never touched cost nothing.
    const LEN: usize = 256 * 1024;

    /// Maps a new stack.
    ///
    /// # Errors
    /// `mmap` or `mprotect` failed (out of memory or address space).
    pub(crate) fn new() -> io::Result<Stack> {
        // SAFETY: a fresh private anonymous mapping; mprotect on its first
        // page, which belongs to it.
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                Self::LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let stack = Stack {
                base: NonNull::new_unchecked(base),
                len: Self::LEN,
            };
            let page = libc::sysconf(libc::_SC_PAGESIZE).max(4096) as usize;
            if libc::mprotect(base, page, libc::PROT_NONE) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(stack)
        }
    }

    /// The stack's top, what `clone` takes (stacks grow down on x86_64
    /// and aarch64, the architectures shellgate builds its filters for).
    pub(crate) fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping, 16-byte aligned (the
        // mapping is page-aligned and its length a multiple of pages).
        unsafe { self.base.as_ptr().cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer used by anyone.
        unsafe { libc::munmap(self.base.as_ptr(), self.len) };
    }
}
