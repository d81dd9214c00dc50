//! Paths inside the project that the command may not change or may not
//! see, covered in a private mount namespace.
//!
//! Landlock grants the whole project root read-write, and a Landlock rule
//! cannot take a subtree back. Some paths inside a project are code that
//! runs later *outside* the sandbox (`.git/hooks/*`, `.git/config` with
//! `core.hooksPath` or `core.fsmonitor`), or credentials (`.env`, keys:
//! the ignore file's matches). Before Landlock, the child enters a new
//! user namespace (mapping only its own uid and gid), or, when the run has
//! a network, joins the one `netns.rs`'s helper made, then a new mount
//! namespace (user_namespaces(7), mount_namespaces(7)), makes every mount
//! private, and then:
//!
//! * a **read-only** path is bind-mounted onto itself and remounted
//!   read-only (writes fail with `EROFS`), keeping the flags the kernel
//!   locks on a mount seen from a less privileged namespace;
//! * a **hidden** file is covered by an empty read-only file, a hidden
//!   directory by an empty read-only tmpfs.
//!
//! With a private root (`root.rs`), the covers are made once it is `/`,
//! on the paths the command will see.
//!
//! Everything is computed here, before `fork`; the child only makes the
//! raw syscalls of [`MountPlan::apply`].

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One mount the child makes, its strings prepared before `fork`.
#[derive(Debug)]
enum Op {
    /// `path` bind-mounted onto itself, then remounted read-only with the
    /// flags it had (`flags`, as `MS_*`).
    ReadOnly { path: CString, flags: libc::c_ulong },
    /// `source` (an empty file) bind-mounted over `path`, read-only; `flags`
    /// are those of the source's mount, which the bind mount inherits.
    CoverFile {
        source: CString,
        path: CString,
        flags: libc::c_ulong,
    },
    /// An empty read-only tmpfs over the directory `path`.
    CoverDir { path: CString },
    /// `path` bind-mounted onto itself, writable as before: a mount point,
    /// which rename(2) and rmdir(2) refuse (`EBUSY`), so the directory
    /// stays where the covers inside it are.
    Pin { path: CString },
}

/// What the child does to enter its namespaces and cover the paths.
#[derive(Debug)]
pub(crate) struct MountPlan {
    ids: crate::sys::IdMaps,
    ops: Vec<Op>,
    /// The user and network namespaces to join (descriptors from
    /// `netns.rs`'s helper) instead of making a user namespace.
    join: Option<(RawFd, RawFd)>,
    /// The private root to build and enter (`root.rs`); the covers are
    /// then made inside it, before the pivot.
    root: Option<crate::root::Root>,
}

/// The `MS_*` flags a mount must keep when remounted from a user namespace
/// (the kernel locks them: mount_namespaces(7), "Restrictions on mount
/// namespaces"), read from `statvfs(3)`'s `f_flag`.
fn locked_flags(path: &Path) -> Option<libc::c_ulong> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills a zeroed struct from a NUL-terminated path.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        st
    };
    let pairs = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Some(
        pairs
            .iter()
            .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
            .fold(0, |acc, (_, ms)| acc | ms),
    )
}

fn cstring(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

impl MountPlan {
    /// The plan for `pinned`, `read_only` and `hidden` paths (canonical,
    /// inside the project), with `empty_file` an empty read-only file to cover hidden
    /// files with (with a root, its own empty file is used instead); `join` holds descriptors of a user and a network
    /// namespace to enter first (`/proc/PID/ns/user`, `/proc/PID/ns/net`
    /// of `netns.rs`'s helper); `root` is the private root to enter, the
    /// covers made in it (the project is mirrored there at its own path).
    /// `None` when there is nothing to cover, to join or to enter (no
    /// namespace is then made). Paths that vanished since they were
    /// listed are skipped.
    pub(crate) fn new(
        pinned: &[PathBuf],
        read_only: &[PathBuf],
        hidden: &[PathBuf],
        empty_file: Option<&Path>,
        join: Option<(RawFd, RawFd)>,
        root: Option<crate::root::Root>,
    ) -> Option<MountPlan> {
        // With a root the covers are made after the pivot, where the
        // project is at the same path (and symlinks lead where they lead
        // for the command).
        let target = |p: &Path| cstring(p);
        // Pins first: the covers inside them are then made on the pinned
        // mount.
        let mut ops: Vec<Op> = pinned
            .iter()
            .filter(|p| p.is_dir())
            .filter_map(|p| target(p))
            .map(|path| Op::Pin { path })
            .collect();
        for p in read_only {
            if let (Some(path), Some(flags)) = (target(p), locked_flags(p)) {
                ops.push(Op::ReadOnly { path, flags });
            }
        }
        for p in hidden {
            let Ok(meta) = std::fs::symlink_metadata(p) else {
                continue;
            };
            let Some(path) = target(p) else { continue };
            // The root's tmpfs was made in the run's own user namespace:
            // no flag of it is locked beyond those it was mounted with.
            let source = match (&root, empty_file) {
                (Some(_), _) => Some((
                    crate::root::Root::empty_file().to_owned(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                )),
                (None, Some(file)) => cstring(file).zip(locked_flags(file)),
                (None, None) => None,
            };
            if meta.is_dir() {
                ops.push(Op::CoverDir { path });
            } else if let Some((source, flags)) = source {
                ops.push(Op::CoverFile {
                    source,
                    path,
                    flags,
                });
            }
        }
        if ops.is_empty() && join.is_none() && root.is_none() {
            return None;
        }
        Some(MountPlan {
            ids: crate::sys::IdMaps::own(),
            ops,
            join,
            root,
        })
    }

    /// In the child before Landlock: a new user namespace with the maps,
    /// or the planned user and network namespaces joined (`setns(2)`; the
    /// caller's uid owns them, so it holds `CAP_SYS_ADMIN` in them), then,
    /// when there is a root to enter or something to cover, a new mount
    /// namespace, every mount private, the root built and entered, the
    /// covers made in it, and the root settled (`root.rs`; its fresh tmpfs
    /// mounts get their rules in the Landlock ruleset `ruleset_fd`). Raw
    /// syscalls on data prepared before `fork`. `-1` with errno set on the
    /// first failure.
    pub(crate) fn apply(&self, ruleset_fd: RawFd) -> libc::c_long {
        // SAFETY: setns, unshare, open/write/close and mount with
        // NUL-terminated strings, buffers owned by `self` and descriptors
        // the parent keeps open until the child has exec'd.
        unsafe {
            match self.join {
                Some((user, net)) => {
                    if libc::setns(user, libc::CLONE_NEWUSER) != 0
                        || libc::setns(net, libc::CLONE_NEWNET) != 0
                    {
                        return -1;
                    }
                    if self.ops.is_empty() && self.root.is_none() {
                        // Nothing to cover: no mount namespace to make (and
                        // none to tear down when the run ends).
                        return 0;
                    }
                    if libc::unshare(libc::CLONE_NEWNS) != 0 {
                        return -1;
                    }
                }
                None => {
                    // This process was forked: the errno it sets is its own.
                    if let Err(errno) = self.ids.enter(libc::CLONE_NEWNS) {
                        *libc::__errno_location() = errno;
                        return -1;
                    }
                }
            }
            let none = std::ptr::null();
            if libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return -1;
            }
            if let Some(root) = &self.root {
                if !root.build() || !root.enter() {
                    return -1;
                }
            }
            for op in &self.ops {
                let ok = match op {
                    Op::ReadOnly { path, flags } => {
                        bind_onto_itself(path) && remount_read_only(path, *flags)
                    }
                    Op::CoverFile {
                        source,
                        path,
                        flags,
                    } => {
                        libc::mount(
                            source.as_ptr(),
                            path.as_ptr(),
                            none,
                            libc::MS_BIND,
                            std::ptr::null(),
                        ) == 0
                            && remount_read_only(path, *flags)
                    }
                    Op::CoverDir { path } => {
                        libc::mount(
                            c"tmpfs".as_ptr(),
                            path.as_ptr(),
                            c"tmpfs".as_ptr(),
                            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                            c"size=4k,mode=555".as_ptr().cast(),
                        ) == 0
                    }
                    Op::Pin { path } => bind_onto_itself(path),
                };
                if !ok {
                    return -1;
                }
            }
            if let Some(root) = &self.root {
                if !root.settle(ruleset_fd) {
                    return -1;
                }
            }
        }
        0
    }
}

/// `mount(source, target, NULL, MS_BIND|MS_REC)`: the tree at `source`,
/// with what is mounted below it (a mount with locked submounts, as
/// `/proc` seen from a user namespace, can only be bound whole).
///
/// # Safety
/// Raw syscall; both strings are NUL-terminated.
pub(crate) unsafe fn bind_mount(source: &std::ffi::CStr, target: &std::ffi::CStr) -> bool {
    libc::mount(
        source.as_ptr(),
        target.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND | libc::MS_REC,
        std::ptr::null(),
    ) == 0
}

/// `path` bound onto itself: a mount point of its own.
///
/// # Safety
/// Raw syscall; `path` is NUL-terminated.
unsafe fn bind_onto_itself(path: &CString) -> bool {
    bind_mount(path, path)
}

/// `mount(NULL, path, NULL, MS_BIND|MS_REMOUNT|MS_RDONLY|flags)`.
///
/// # Safety
/// Raw syscall; `path` is NUL-terminated.
unsafe fn remount_read_only(path: &CString, flags: libc::c_ulong) -> bool {
    libc::mount(
        std::ptr::null(),
        path.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | flags,
        std::ptr::null(),
    ) == 0
}
