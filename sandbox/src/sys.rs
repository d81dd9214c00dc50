//! System calls that touch no thread-local state.
//!
//! glibc's wrappers, `syscall(2)` included, store a failure's error number
//! in `errno`, a thread-local variable. A child started with
//! `clone(CLONE_VM)` and no `CLONE_SETTLS` (the network helper of
//! `netns.rs`) runs on the thread-local storage of the thread that started
//! it, so through glibc it would write that thread's `errno` while that
//! thread goes on (Rust's `ReadDir` tells the end of a directory from an
//! error by `errno`). These make the call with the architecture's syscall
//! instruction and return the kernel's result as is: a non-negative value,
//! or `-errno` (syscall(2), "Architecture calling conventions").
//!
//! On top: the few file calls the children need ([`open`], [`write_file`],
//! [`close`]) and [`IdMaps`], entering a user namespace of one's own,
//! which both the network helper and the sandbox's own child (when it has
//! no helper's namespaces to join, `mounts.rs`) do. Errors come back by
//! value; a forked caller that reports through `errno` sets it itself.

use std::ffi::c_long;
use std::os::fd::RawFd;

/// The raw system call `nr` with up to six arguments (unused ones 0).
/// Returns the kernel's value: `>= 0` on success, `-errno` on failure.
///
/// # Safety
/// As the system call itself: pointer arguments must be valid for what
/// the call reads and writes.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn call(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // x86_64: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9; the
    // instruction clobbers rcx and r11.
    std::arch::asm!(
        "syscall",
        inlateout("rax") nr as isize => ret,
        in("rdi") args[0],
        in("rsi") args[1],
        in("rdx") args[2],
        in("r10") args[3],
        in("r8") args[4],
        in("r9") args[5],
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    ret
}

/// See the x86_64 version.
///
/// # Safety
/// As the system call itself.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn call(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // aarch64: number in x8, arguments in x0–x5, result in x0.
    std::arch::asm!(
        "svc 0",
        in("x8") nr,
        inlateout("x0") args[0] as isize => ret,
        in("x1") args[1],
        in("x2") args[2],
        in("x3") args[3],
        in("x4") args[4],
        in("x5") args[5],
        options(nostack),
    );
    ret
}

/// Other architectures: no raw call; every call fails with `ENOSYS` (the
/// sandbox refuses to run there anyway, `seccomp.rs`).
///
/// # Safety
/// None needed.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) unsafe fn call(_nr: c_long, _args: [usize; 6]) -> isize {
    -(libc::ENOSYS as isize)
}

/// The error number of a failed [`call`]'s result, `None` on success.
pub(crate) fn error(ret: isize) -> Option<i32> {
    (ret < 0).then(|| (-ret) as i32)
}

/// A raw call's result as a descriptor or count, or its errno.
pub(crate) fn check(ret: isize) -> Result<RawFd, i32> {
    match error(ret) {
        Some(errno) => Err(errno),
        None => Ok(ret as RawFd),
    }
}

/// `close(fd)`, its result ignored (the caller is about to exit or fail).
///
/// # Safety
/// `fd` is ours.
pub(crate) unsafe fn close(fd: RawFd) {
    call(libc::SYS_close, [fd as usize, 0, 0, 0, 0, 0]);
}

/// Opens `path` read-only, close-on-exec.
///
/// # Safety
/// Raw syscall; `path` is NUL-terminated.
pub(crate) unsafe fn open(path: &std::ffi::CStr) -> Result<RawFd, i32> {
    check(call(
        libc::SYS_openat,
        [
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            (libc::O_RDONLY | libc::O_CLOEXEC) as usize,
            0,
            0,
            0,
        ],
    ))
}

/// Writes `data` to the file at `path` in one `write` (what the id map
/// files of user_namespaces(7) require).
///
/// # Safety
/// Raw syscalls; `path` is NUL-terminated.
pub(crate) unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), i32> {
    let fd = check(call(
        libc::SYS_openat,
        [
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            (libc::O_WRONLY | libc::O_CLOEXEC) as usize,
            0,
            0,
            0,
        ],
    ))?;
    let written = check(call(
        libc::SYS_write,
        [fd as usize, data.as_ptr() as usize, data.len(), 0, 0, 0],
    ));
    close(fd);
    match written {
        Ok(n) if n as usize == data.len() => Ok(()),
        Ok(_) => Err(libc::EIO),
        Err(errno) => Err(errno),
    }
}

/// The id maps of a user namespace the caller makes for itself: its own
/// uid and gid mapped to themselves (user_namespaces(7), "User and group
/// ID mappings"), formatted before `fork`.
#[derive(Debug, Clone)]
pub(crate) struct IdMaps {
    uid: Vec<u8>,
    gid: Vec<u8>,
}

impl IdMaps {
    /// The maps for this process's effective uid and gid.
    pub(crate) fn own() -> IdMaps {
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        IdMaps {
            uid: format!("{uid} {uid} 1\n").into_bytes(),
            gid: format!("{gid} {gid} 1\n").into_bytes(),
        }
    }

    /// `unshare(CLONE_NEWUSER | flags)`, then `setgroups` denied (which an
    /// unprivileged gid map requires) and both maps written; the errno of
    /// the step that failed.
    ///
    /// # Safety
    /// Raw syscalls; call in a child that is about to confine itself.
    pub(crate) unsafe fn enter(&self, flags: libc::c_int) -> Result<(), i32> {
        let flags = (libc::CLONE_NEWUSER | flags) as usize;
        check(call(libc::SYS_unshare, [flags, 0, 0, 0, 0, 0]))?;
        write_file(c"/proc/self/setgroups", b"deny")?;
        write_file(c"/proc/self/uid_map", &self.uid)?;
        write_file(c"/proc/self/gid_map", &self.gid)
    }
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;

    #[test]
    fn a_raw_call_returns_the_result_and_leaves_errno_alone() {
        // SAFETY: getpid takes no argument.
        let pid = unsafe { call(libc::SYS_getpid, [0; 6]) };
        assert_eq!(pid, std::process::id() as isize);
        // SAFETY: setting and reading our own errno; openat of a
        // NUL-terminated constant path.
        unsafe {
            *libc::__errno_location() = 0;
            let ret = call(
                libc::SYS_openat,
                [
                    libc::AT_FDCWD as usize,
                    c"/nonexistent/shellgate".as_ptr() as usize,
                    libc::O_RDONLY as usize,
                    0,
                    0,
                    0,
                ],
            );
            assert_eq!(error(ret), Some(libc::ENOENT));
            assert_eq!(*libc::__errno_location(), 0, "errno was written");
        }
        assert_eq!(error(0), None);
    }
}
