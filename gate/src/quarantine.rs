//! What a sandboxed command makes for git to follow out of the
//! repository (`run_env::Absent`: a `.git/commondir`, a missing included
//! config) is moved aside: as soon as it appears in a directory being
//! watched (inotify(7)), and once more after the run, when everything the
//! command started has ended. Moving it at once keeps a git run outside
//! the sandbox meanwhile (an editor's, a prompt's) from following it,
//! except in the moment between the command's write and the move; a file
//! made in a directory the command made too (a missing include's
//! directory) is caught by the sweep after the run only.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::run_env::Absent;

/// A thread that sweeps `absent` whenever an entry appears in one of its
/// directories. Dropping it without [`Watcher::finish`] stops it too.
pub struct Watcher {
    /// Closed to stop the thread (its end sees POLLHUP).
    stop: Option<OwnedFd>,
    thread: Option<std::thread::JoinHandle<Vec<(String, bool)>>>,
}

impl Watcher {
    /// Watches the directories of `absent`'s first missing components
    /// (they exist, and are pinned for the run). `None` when there is
    /// nothing to watch or inotify is not available (the sweep after the
    /// run still happens).
    pub fn start(absent: &[Absent]) -> Option<Watcher> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()?;
        let mut dirs: Vec<PathBuf> = absent
            .iter()
            .filter_map(|a| a.first_missing.parent().map(PathBuf::from))
            .collect();
        dirs.sort();
        dirs.dedup();
        let flags =
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_ONLYDIR;
        let watched = dirs
            .iter()
            .filter(|dir| inotify.add_watch(dir.as_path(), flags).is_ok())
            .count();
        if watched == 0 {
            return None;
        }
        let (stop_read, stop) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
        let absent = absent.to_vec();
        let thread = std::thread::Builder::new()
            .name("shellgate-quarantine".into())
            .spawn(move || watch(&inotify, &stop_read, &absent))
            .ok()?;
        Some(Watcher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the thread; what it moved aside.
    pub fn finish(mut self) -> Vec<(String, bool)> {
        self.stop.take();
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: waits for events or the stop pipe, sweeping on each batch
/// of events (also on an overflow of the event queue).
fn watch(inotify: &Inotify, stop: &OwnedFd, absent: &[Absent]) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    loop {
        let mut fds = [
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return found,
        }
        if fds[1].any().unwrap_or(true) {
            return found;
        }
        // Drained before the sweep: what the sweep itself moves (a rename
        // in a watched directory) is then one more batch, found empty.
        while inotify.read_events().is_ok_and(|events| !events.is_empty()) {}
        found.extend(sweep(absent));
    }
}

/// For each entry of `absent` whose file git would now open (the
/// command made it, or a path to one), its first missing
/// component is renamed to `NAME.shellgate-quarantine` (or
/// `…-quarantine-N`), before any git outside the sandbox could follow it.
/// Returns one line per entry found, `PATH -> NEW` or, when the rename
/// failed, `PATH: ERROR` (the caller tells the user to remove it), with
/// whether it was moved.
pub fn sweep(absent: &[Absent]) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for Absent {
        git_path,
        first_missing: path,
    } in absent
    {
        if std::fs::symlink_metadata(git_path).is_err() {
            continue;
        }
        // Its directory is pinned (and was resolved when listed): if it
        // no longer resolves to itself, rename nothing through it.
        let parent = path.parent().unwrap_or(std::path::Path::new("/"));
        if std::fs::canonicalize(parent).ok().as_deref() != Some(parent) {
            found.push((
                format!("{}: its directory was replaced", path.display()),
                false,
            ));
            continue;
        }
        let mut moved = None;
        let mut error = None;
        for n in 0..100 {
            let mut name = path.as_os_str().to_owned();
            name.push(".shellgate-quarantine");
            if n > 0 {
                name.push(format!("-{n}"));
            }
            let target = PathBuf::from(name);
            if std::fs::symlink_metadata(&target).is_ok() {
                continue;
            }
            match std::fs::rename(path, &target) {
                Ok(()) => moved = Some(target),
                Err(e) => error = Some(e),
            }
            break;
        }
        found.push(match (moved, error) {
            (Some(target), _) => (format!("{} -> {}", path.display(), target.display()), true),
            (None, Some(e)) => (format!("{}: {e}", path.display()), false),
            (None, None) => (
                format!("{}: no free name to move it to", path.display()),
                false,
            ),
        });
    }
    found
}
