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

use std::ffi::c_long;

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
