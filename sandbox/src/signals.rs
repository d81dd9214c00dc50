//! Forwarding of terminal signals to sandboxed commands.
//!
//! The command runs in its own session (`setsid`), so Ctrl-C/Ctrl-\ and a
//! terminal hangup reach only the caller's process group. While at least one
//! command runs, `SIGINT`, `SIGTERM`, `SIGHUP` and `SIGQUIT` are caught and
//! re-sent to the process group of every running command, like a shell does
//! for its foreground job; the previous dispositions are restored when the
//! last command finishes. Signals the caller ignores (`SIG_IGN`) stay ignored.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// The signals forwarded to a running command (by the caller, then by
/// the reaper to `bash`).
pub(crate) const FORWARDED: [libc::c_int; 4] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Process groups of the running commands (0 = free slot). Read by the handler.
static TARGETS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

struct Installed {
    users: usize,
    previous: [Option<libc::sigaction>; FORWARDED.len()],
}

static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
    users: 0,
    previous: [None; FORWARDED.len()],
});

extern "C" fn forward(sig: libc::c_int) {
    for target in &TARGETS {
        let pgid = target.load(Ordering::Relaxed);
        if pgid > 0 {
            // SAFETY: kill is async-signal-safe; a negative pid targets the group.
            unsafe { libc::kill(-pgid, sig) };
        }
    }
}

/// Keeps forwarding to one process group alive; undoes it on drop.
pub(crate) struct Forwarding {
    slot: Option<usize>,
}

/// Starts forwarding the signals above to process group `pgid`.
pub(crate) fn forward_to_group(pgid: libc::pid_t) -> Forwarding {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.users == 0 {
        for (i, &sig) in FORWARDED.iter().enumerate() {
            installed.previous[i] = install(sig);
        }
    }
    installed.users += 1;
    drop(installed);
    // With more than 64 concurrent commands the extra ones are not forwarded
    // to (they still die with the caller through PR_SET_PDEATHSIG).
    let slot = TARGETS.iter().position(|t| {
        t.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    Forwarding { slot }
}

/// Installs `forward` for `sig` unless the caller ignores it; returns the
/// previous action to restore.
fn install(sig: libc::c_int) -> Option<libc::sigaction> {
    // SAFETY: sigaction with valid pointers; a zeroed sigaction is a valid value.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
            || old.sa_sigaction == libc::SIG_IGN
        {
            return None;
        }
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = forward as *const () as libc::sighandler_t;
        new.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut new.sa_mask);
        if libc::sigaction(sig, &new, &mut old) != 0 {
            return None;
        }
        Some(old)
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            TARGETS[slot].store(0, Ordering::SeqCst);
        }
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        installed.users -= 1;
        if installed.users == 0 {
            for (i, &sig) in FORWARDED.iter().enumerate() {
                if let Some(old) = installed.previous[i].take() {
                    // SAFETY: restores an action previously returned by the kernel.
                    unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
                }
            }
        }
    }
}
