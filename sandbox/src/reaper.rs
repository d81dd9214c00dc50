//! The reaper: the confined process that stays behind when the command
//! starts, so that nothing the command started outlives it.
//!
//! The process `std` forks applies every confinement step, becomes a child
//! subreaper (`PR_SET_CHILD_SUBREAPER`, man 2 prctl) and starts a second
//! process, which becomes `bash` (`exec.rs`). Every process the command leaves behind
//! (`cmd &`, a double fork, `setsid`, `nohup`) is re-parented to the reaper
//! rather than to init, because the reaper is the nearest living subreaper
//! among its ancestors. When `bash` exits, the reaper kills each child it
//! has (listed in `/proc/thread-self/children`, Linux >= 3.17 with
//! `CONFIG_PROC_CHILDREN`), reaps it, and repeats until it has none, then
//! exits with `bash`'s status (a signal death re-raised as the same signal).
//! The reaper is under the same seccomp filters as the command and in the
//! Landlock domain that the command's own domain is nested in: it can
//! signal the command under Landlock's signal scope, and the command
//! cannot signal or inspect it (ABI >= 6).
//!
//! While `bash` runs, the reaper forwards `SIGINT`, `SIGTERM`, `SIGHUP` and
//! `SIGQUIT` to `bash`'s process group (`bash` is a session leader of its
//! own, as before), so the caller's forwarding keeps working. Its
//! parent-death signal is the catchable [`PARENT_DIED`]: if shellgate is
//! killed, the reaper kills `bash` and sweeps as usual. During the sweep
//! those signals are ignored, so a second Ctrl-C cannot cut it short.
//!
//! Everything here runs between `fork` and `execve` of a multithreaded
//! parent: raw async-signal-safe syscalls only, no allocation, no panics.

use std::ffi::c_long;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::signals::FORWARDED;

/// Where the reaper lists its children (proc(5), `/proc/pid/task/tid/children`).
const CHILDREN: &std::ffi::CStr = c"/proc/thread-self/children";

/// `bash`'s pid, for the reaper's signal handler (0 before the fork).
static COMMAND: AtomicI32 = AtomicI32::new(0);

/// The reaper's parent-death signal (`PR_SET_PDEATHSIG`): when shellgate
/// dies, even by `SIGKILL`, the reaper kills `bash` and then everything
/// left, instead of dying at once and leaving them to init.
pub(crate) const PARENT_DIED: libc::c_int = libc::SIGUSR1;

/// Makes the calling process a child subreaper and checks that it will be
/// able to list its children. `-1` with errno set on failure, as the
/// confinement steps report it.
pub(crate) fn become_subreaper() -> c_long {
    // SAFETY: prctl, open and close with constant arguments.
    unsafe {
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) != 0 {
            return -1;
        }
        let fd = libc::open(CHILDREN.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return -1;
        }
        libc::close(fd);
    }
    0
}

/// Blocks (`how` = `SIG_BLOCK`) or unblocks (`SIG_UNBLOCK`) the forwarded
/// signals and [`PARENT_DIED`] in the calling thread.
pub(crate) fn mask_forwarded(how: libc::c_int) {
    // SAFETY: sigset operations on a stack value; sigprocmask with it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in FORWARDED.into_iter().chain([PARENT_DIED]) {
            libc::sigaddset(&mut set, sig);
        }
        libc::sigprocmask(how, &set, std::ptr::null_mut());
    }
}

/// Makes the reaper not dumpable, before it starts the command process.
/// The reaper never execs: its memory and `/proc/PID/environ` are
/// shellgate's, with the credentials withheld from the command. Not
/// dumpable, they are closed to the command even where its nested
/// Landlock domain is not enough (it holds no CAP_SYS_PTRACE; proc(5),
/// ptrace(2) "Ptrace access mode checking"). The flag belongs to the
/// memory, which the command process shares until its `execve` gives it
/// memory of its own, dumpable again (prctl(2), `PR_SET_DUMPABLE`).
pub(crate) fn make_undumpable() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
}

extern "C" fn forward(sig: libc::c_int) {
    let pid = COMMAND.load(Ordering::Relaxed);
    if pid > 0 {
        // Shellgate is gone: end the command; the reaper then sweeps.
        let sig = if sig == PARENT_DIED {
            libc::SIGKILL
        } else {
            sig
        };
        // SAFETY: kill is async-signal-safe. To the group once bash has
        // made it (setsid), else to bash alone.
        unsafe {
            if libc::kill(-pid, sig) != 0 {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Sets `disposition` (a handler, `SIG_IGN` or `SIG_DFL`) for the
/// forwarded signals and [`PARENT_DIED`].
fn handle_all(disposition: libc::sighandler_t) {
    for sig in FORWARDED.into_iter().chain([PARENT_DIED]) {
        // SAFETY: sigaction with a zeroed struct on the stack.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = disposition;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// The reaper's life after forking `command` (bash's pid): forward
/// signals, wait for `command` (reaping orphans meanwhile), kill and reap
/// whatever is left, and exit as `command` did. Never returns.
pub(crate) fn run(command: libc::pid_t) -> ! {
    COMMAND.store(command, Ordering::Relaxed);
    // SAFETY: raw syscalls on stack data only (see the module doc).
    unsafe {
        // Only bash keeps the descriptors: std's exec-error pipe and the
        // report pipe must see EOF when bash execs.
        libc::syscall(
            libc::SYS_close_range,
            0 as libc::c_uint,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        );
    }
    handle_all(forward as extern "C" fn(libc::c_int) as libc::sighandler_t);
    mask_forwarded(libc::SIG_UNBLOCK);

    let mut status: libc::c_int = 0;
    let mut known = false;
    loop {
        // SAFETY: waitpid into a stack integer.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == command {
            known = true;
            break;
        }
        if r == -1 && errno() != libc::EINTR {
            break;
        }
    }
    // Nothing to forward to now, and a second Ctrl-C must not stop the
    // sweep half-way.
    handle_all(libc::SIG_IGN);
    kill_all_children();
    if !known {
        exit(1)
    }
    if libc::WIFEXITED(status) {
        exit(libc::WEXITSTATUS(status))
    }
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        // SAFETY: die by the same signal (no core file of the reaper);
        // if it does not kill us, exit as a shell reports it.
        unsafe {
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            libc::signal(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
        }
        exit(128 + sig)
    }
    exit(1)
}

/// Kills every child, reaps it, and repeats until there is none: the
/// children of a killed child are re-parented here and listed next time.
fn kill_all_children() {
    loop {
        let killed = kill_listed_children();
        let mut status = 0;
        if killed < 0 {
            // Cannot list (checked before the fork, so not expected): do not
            // hang on a child that will never exit.
            return;
        }
        let flags = if killed > 0 { 0 } else { libc::WNOHANG };
        // SAFETY: waitpid into a stack integer.
        let r = unsafe { libc::waitpid(-1, &mut status, flags) };
        match r {
            -1 if errno() == libc::EINTR => {}
            -1 => return, // ECHILD: none left
            // A child is being re-parented here right now: list again.
            0 => unsafe {
                libc::sched_yield();
            },
            _ => {}
        }
    }
}

/// Sends `SIGKILL` to each pid in the children file; returns how many, or
/// `-1` when the file cannot be read.
fn kill_listed_children() -> i32 {
    // SAFETY: open/read/close/kill on stack buffers.
    unsafe {
        let fd = libc::open(CHILDREN.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return -1;
        }
        let mut buf = [0u8; 512];
        let mut pid: libc::pid_t = 0;
        let mut killed = 0;
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
            for &b in &buf[..n as usize] {
                if b.is_ascii_digit() {
                    pid = pid
                        .wrapping_mul(10)
                        .wrapping_add(libc::pid_t::from(b - b'0'));
                } else {
                    if pid > 0 {
                        libc::kill(pid, libc::SIGKILL);
                        killed += 1;
                    }
                    pid = 0;
                }
            }
        }
        if pid > 0 {
            libc::kill(pid, libc::SIGKILL);
            killed += 1;
        }
        libc::close(fd);
        killed
    }
}

fn errno() -> libc::c_int {
    // SAFETY: reads the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

fn exit(code: libc::c_int) -> ! {
    // SAFETY: _exit skips atexit handlers and stdio, as a forked child must.
    unsafe { libc::_exit(code) }
}
