//! The command's private root: a tmpfs holding only the trees it is
//! granted, each bind-mounted at its own path, made the root with
//! `pivot_root(2)`.
//!
//! Landlock decides what the command may do with a file it reaches, but
//! not whether it may *reach* a pathname Unix socket: `connect(2)` and
//! `sendto(2)` to one need no Landlock right (up to ABI 7), and a path
//! lookup needs none either. In the private root the outside simply is not
//! there: `/run/docker.sock`, `$SSH_AUTH_SOCK` under `/tmp` or
//! `/run/user/UID`, the session bus and `$HOME` do not exist, so the
//! command may create Unix sockets of its own (`seccomp.rs` allows
//! `socket(AF_UNIX)` only with this root). What stays reachable is what
//! lies inside a granted tree: the project, the per-run temp dir, the
//! system trees (`/usr`, `/etc`, ...), `/proc` (whose links into other
//! processes Landlock's ptrace rule closes: a sandboxed process may not
//! inspect a process outside its domain) and `/sys`.
//!
//! Paths are mirrored exactly, symlinks included: a granted path reached
//! through a symlink (`/bin` → `usr/bin` on a merged-`/usr` system,
//! `/lib64`, a cache directory that is a link) gets the same symlink in
//! the new root, and every directory on the way a directory there, so a
//! path means in the new root what it meant outside. A tree inside
//! another granted tree is already visible through it and gets no mount
//! of its own. Besides the mirrored trees, the root has a private `/tmp`
//! (the command's `$TMPDIR`) and `/dev/shm` (POSIX shared memory and
//! semaphores, `shm_overview(7)`): fresh tmpfs mounts that die with the
//! run's mount namespace, which the command may use fully (the child adds
//! their Landlock rules itself, since they do not exist before `fork`).
//! Nothing of them is on the host's disk, and nothing needs removing.
//!
//! Everything is computed before `fork` ([`Root::new`]); the child only
//! makes raw syscalls ([`Root::build`], [`Root::enter`]) in its new mount
//! namespace (mount_namespaces(7)). Sources: `pivot_root(2)` (the
//! `pivot_root(".", ".")` idiom), `mount(2)` (`MS_BIND | MS_REC`: a
//! mount with locked submounts, such as `/proc` seen from a user
//! namespace, can only be bound with its submounts).

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one granted path may pass through (the kernel's own
/// limit, `MAXSYMLINKS` in path_resolution(7), is 40).
const MAX_SYMLINKS: u32 = 40;

/// What one path of the new root is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A directory of the tmpfs, on the way to a mounted tree.
    Dir,
    /// A symlink with this target, as it is outside.
    Symlink(PathBuf),
    /// The tree (or file) of the same path outside bind-mounted here
    /// (`dir`: a directory; else a file, such as a device node); `full`:
    /// the command has every right on it (the project, caches), not only
    /// reading and executing.
    Bind { dir: bool, full: bool },
    /// A fresh, empty tmpfs (mode 1777, like `/tmp`), all rights granted.
    Tmpfs,
}

/// The new root's entries by path (as seen from inside), before `fork`.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Layout {
    /// True when `path` lies inside a tree bound at its own path (strictly
    /// below it, or the tree itself when `or_self`): the path is then
    /// visible through that tree and must not be made or mounted again.
    fn inside_mirrored(&self, path: &Path, or_self: bool) -> bool {
        path.ancestors()
            .skip(usize::from(!or_self))
            .any(|a| matches!(self.entries.get(a), Some(Entry::Bind { .. })))
    }

    /// Records `path` as a directory of the tmpfs (a no-op for `/`, for a
    /// path already recorded and for one inside a mirrored tree).
    fn dir(&mut self, path: &Path) {
        if path == Path::new("/")
            || self.entries.contains_key(path)
            || self.inside_mirrored(path, true)
        {
            return;
        }
        self.entries.insert(path.to_path_buf(), Entry::Dir);
    }

    /// Records the symlink `path` → `target` (unless inside a mirrored tree).
    fn symlink(&mut self, path: &Path, target: &Path) {
        if self.inside_mirrored(path, false) {
            return;
        }
        self.entries
            .entry(path.to_path_buf())
            .or_insert_with(|| Entry::Symlink(target.to_path_buf()));
    }

    /// Walks `path` as the kernel would (path_resolution(7)), recording
    /// every directory it passes through and every symlink it follows, and
    /// returns where it ends (the canonical path). `None` when a component
    /// is missing, a non-directory is passed through, or there are more
    /// than `depth` symlinks.
    fn resolve(&mut self, path: &Path, depth: &mut u32) -> Option<PathBuf> {
        let mut cur = PathBuf::from("/");
        for component in path.components() {
            match component {
                Component::RootDir => cur = PathBuf::from("/"),
                Component::CurDir => {}
                // `cur` is always canonical, so `..` is its parent.
                Component::ParentDir => {
                    cur.pop();
                }
                Component::Prefix(_) => return None,
                Component::Normal(name) => {
                    let next = cur.join(name);
                    let meta = std::fs::symlink_metadata(&next).ok()?;
                    // `next` exists, so `cur` is a directory passed through.
                    self.dir(&cur);
                    if meta.file_type().is_symlink() {
                        *depth = depth.checked_sub(1)?;
                        let target = std::fs::read_link(&next).ok()?;
                        self.symlink(&next, &target);
                        cur = self.resolve(&cur.join(&target), depth)?;
                    } else {
                        cur = next;
                    }
                }
            }
        }
        Some(cur)
    }

    /// Makes `path` (absolute) mean in the new root what it means outside:
    /// the symlinks on its way, and the tree (or file) it ends at bound at
    /// its own place. Skipped when it does not resolve (a missing optional
    /// tree); `false` then.
    pub(crate) fn mirror(&mut self, path: &Path, full: bool) -> bool {
        let mut depth = MAX_SYMLINKS;
        let Some(real) = self.resolve(path, &mut depth) else {
            return false;
        };
        self.bind(&real, full)
    }

    /// True when a fresh tmpfs can be mounted at `at`: no granted tree
    /// is `at` or holds it (it would hide granted files), and none below
    /// it is granted less than every right (Landlock rights add up along
    /// a path: a read-only toolchain under a writable `/tmp` would become
    /// writable).
    pub(crate) fn can_cover(&self, at: &Path) -> bool {
        !self.inside_mirrored(at, true)
            && !self
                .entries
                .range(at.to_path_buf()..)
                .take_while(|(p, _)| p.starts_with(at))
                .any(|(_, e)| matches!(e, Entry::Bind { full: false, .. }))
    }

    /// A symlink `path` → `target` of the root's own (not mirrored from
    /// outside), such as `/dev/fd` → `/proc/self/fd`. Only where `path`'s
    /// parent is a directory of the root's tmpfs and `path` is free;
    /// `false` otherwise.
    pub(crate) fn link(&mut self, path: &Path, target: &Path) -> bool {
        let parent_is_ours = path
            .parent()
            .is_some_and(|p| self.entries.get(p) == Some(&Entry::Dir));
        if !parent_is_ours || self.entries.contains_key(path) {
            return false;
        }
        self.entries
            .insert(path.to_path_buf(), Entry::Symlink(target.to_path_buf()));
        true
    }

    /// A fresh tmpfs at `at` (absolute, no symlinks on its way are
    /// followed: its parents are made as directories). `false`, and
    /// nothing recorded, when [`Self::can_cover`] says no.
    pub(crate) fn tmpfs(&mut self, at: &Path) -> bool {
        if !self.can_cover(at)
            || at == Path::new("/")
            || !matches!(self.entries.get(at), Some(Entry::Dir) | None)
        {
            return false;
        }
        for dir in at.ancestors().skip(1) {
            if !matches!(
                self.entries.get(dir),
                Some(Entry::Dir | Entry::Tmpfs) | None
            ) && dir != Path::new("/")
            {
                return false;
            }
        }
        for dir in at.ancestors().skip(1) {
            self.dir(dir);
        }
        self.entries.insert(at.to_path_buf(), Entry::Tmpfs);
        true
    }

    /// `real` (canonical, a directory or file outside) bind-mounted at
    /// its own path, unless a tree holding it already is; what was
    /// recorded below it is then dropped (a tmpfs too: it would be
    /// mounted on the host's tree).
    fn bind(&mut self, real: &Path, full: bool) -> bool {
        let Ok(meta) = std::fs::metadata(real) else {
            return false;
        };
        if let Some(Entry::Bind { full: was, .. }) = self.entries.get_mut(real) {
            *was |= full;
            return true;
        }
        if self.inside_mirrored(real, false) {
            return true;
        }
        let below: Vec<PathBuf> = self
            .entries
            .range(real.to_path_buf()..)
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(real))
            .filter(|p| *p != real)
            .cloned()
            .collect();
        // A tmpfs below would be mounted on the host's tree: gone too.
        for p in below {
            self.entries.remove(&p);
        }
        self.entries.insert(
            real.to_path_buf(),
            Entry::Bind {
                dir: meta.is_dir(),
                full,
            },
        );
        true
    }
}

/// The directory `shellgate-root-UID` in `base` (made if missing, mode
/// 0700), where every run of this user mounts its root's tmpfs, each in
/// its own mount namespace, so that no run has to remove a fresh mount
/// point. `None` unless it is a real directory (not a symlink) owned by
/// the caller and closed to others: then the caller uses one of its own.
pub(crate) fn kept_mountpoint(base: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let path = base.join(format!("shellgate-root-{uid}"));
    // Made once: later runs only look.
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(_) => {
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => return None,
            }
            std::fs::symlink_metadata(&path).ok()?
        }
    };
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(path)
}

/// `mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options)`.
///
/// # Safety
/// Raw syscall on NUL-terminated strings.
unsafe fn mount_tmpfs(path: &CStr, options: &CStr) -> bool {
    libc::mount(
        c"tmpfs".as_ptr(),
        path.as_ptr(),
        c"tmpfs".as_ptr(),
        libc::MS_NOSUID | libc::MS_NODEV,
        options.as_ptr().cast(),
    ) == 0
}

/// `mkdir(path, 0755)`; a directory already there is fine.
///
/// # Safety
/// Raw syscall on a NUL-terminated string.
unsafe fn mkdir_or_exists(path: &CStr) -> bool {
    libc::mkdir(path.as_ptr(), 0o755) == 0 || *libc::__errno_location() == libc::EEXIST
}

/// A new empty file at `path` with `mode` (`O_CREAT | O_EXCL`); `false`
/// with errno set (`EEXIST` when something is there).
///
/// # Safety
/// Raw syscalls on a NUL-terminated string.
unsafe fn create_file(path: &CStr, mode: libc::mode_t) -> bool {
    let fd = libc::open(
        path.as_ptr(),
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
        mode,
    );
    if fd < 0 {
        return false;
    }
    libc::close(fd);
    true
}

/// One step of building the new root, its strings prepared before `fork`.
#[derive(Debug)]
enum Op {
    /// `mkdir(path, 0755)`; an existing directory is fine.
    Mkdir(CString),
    /// `symlink(target, path)`.
    Symlink { target: CString, path: CString },
    /// An empty file made at `path` (unless one is there) as the mount
    /// point of a file.
    Touch(CString),
    /// `mount(source, path, NULL, MS_BIND | MS_REC)`.
    Bind { source: CString, path: CString },
    /// A tmpfs of mode 1777 mounted at `path` (made first).
    Tmpfs(CString),
}

/// `struct landlock_path_beneath_attr` of `<linux/landlock.h>` (packed).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `LANDLOCK_RULE_PATH_BENEATH` of `<linux/landlock.h>`.
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

/// Where hidden files are covered from: an empty read-only file on the
/// root's tmpfs (not readable by the command: `/` has no Landlock rule).
const EMPTY_FILE: &std::ffi::CStr = c"/.shellgate-empty";

/// The private root of one run, ready for the child.
#[derive(Debug)]
pub(crate) struct Root {
    /// The empty directory (outside every granted tree) the new root's
    /// tmpfs is mounted on.
    mountpoint: CString,
    /// The steps, parents before children, with `mountpoint` prefixed.
    ops: Vec<Op>,
    /// The working directory the command starts in (a path inside).
    cwd: CString,
    /// The fresh tmpfs mounts (paths inside), granted every right of
    /// `access` by rules the child adds to the ruleset after the pivot.
    tmpfs: Vec<CString>,
    /// Every filesystem right of the ruleset (`allowed_access` bits).
    access: u64,
    /// [`EMPTY_FILE`] as named before the pivot.
    empty: CString,
}

fn cstring(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

impl Root {
    /// The root made of `layout`, on the tmpfs to be mounted at
    /// `mountpoint` (an empty directory), entered with `cwd` as the
    /// working directory; `access` is every filesystem right the ruleset
    /// handles, which the tmpfs mounts of the layout get.
    ///
    /// # Errors
    /// A message when `mountpoint` lies inside a mirrored tree (the
    /// command would see the root's tmpfs there, writable), or a path
    /// holds a NUL byte (never for paths read from the kernel).
    pub(crate) fn new(
        layout: &Layout,
        mountpoint: &Path,
        cwd: &Path,
        access: u64,
    ) -> Result<Root, String> {
        if layout.inside_mirrored(mountpoint, true) {
            return Err(format!(
                "the private root's mount point {} lies inside a tree the command is granted",
                mountpoint.display()
            ));
        }
        let nul = || "a granted path holds a NUL byte".to_string();
        let inside = |p: &Path| -> Result<CString, String> {
            let rel = p.strip_prefix("/").map_err(|_| nul())?;
            cstring(&mountpoint.join(rel)).ok_or_else(nul)
        };
        let cstring = |p: &Path| cstring(p).ok_or_else(nul);
        let mut ops = Vec::new();
        let mut tmpfs = Vec::new();
        for (path, entry) in &layout.entries {
            match entry {
                Entry::Dir => ops.push(Op::Mkdir(inside(path)?)),
                Entry::Tmpfs => {
                    ops.push(Op::Tmpfs(inside(path)?));
                    tmpfs.push(cstring(path)?);
                }
                Entry::Symlink(target) => ops.push(Op::Symlink {
                    target: cstring(target)?,
                    path: inside(path)?,
                }),
                Entry::Bind { dir, .. } => {
                    // Inside a mirrored tree the mount point exists already.
                    if !layout.inside_mirrored(path, false) {
                        ops.push(if *dir {
                            Op::Mkdir(inside(path)?)
                        } else {
                            Op::Touch(inside(path)?)
                        });
                    }
                    ops.push(Op::Bind {
                        source: cstring(path)?,
                        path: inside(path)?,
                    });
                }
            }
        }
        Ok(Root {
            mountpoint: cstring(mountpoint)?,
            ops,
            cwd: cstring(cwd)?,
            tmpfs,
            access,
            empty: inside(Path::new(std::ffi::OsStr::from_bytes(
                EMPTY_FILE.to_bytes(),
            )))?,
        })
    }

    /// The empty read-only file hidden files are covered with, as named
    /// inside the root once entered (made by [`Self::build`]).
    pub(crate) fn empty_file() -> &'static std::ffi::CStr {
        EMPTY_FILE
    }

    /// In the child, in its new mount namespace (every mount private):
    /// the tmpfs on the mount point and the steps. `false` with errno set
    /// on the first failure.
    ///
    /// # Safety
    /// Raw syscalls on strings owned by `self`; call only in the child.
    pub(crate) unsafe fn build(&self) -> bool {
        if !mount_tmpfs(&self.mountpoint, c"mode=0755") || !create_file(&self.empty, 0o444) {
            return false;
        }
        for op in &self.ops {
            let ok = match op {
                Op::Tmpfs(path) => mkdir_or_exists(path) && mount_tmpfs(path, c"mode=1777"),
                Op::Mkdir(path) => mkdir_or_exists(path),
                Op::Symlink { target, path } => libc::symlink(target.as_ptr(), path.as_ptr()) == 0,
                Op::Touch(path) => {
                    create_file(path, 0o644) || *libc::__errno_location() == libc::EEXIST
                }
                Op::Bind { source, path } => crate::mounts::bind_mount(source, path),
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// In the child, after [`Self::build`]: the tmpfs becomes `/`
    /// (`pivot_root(".", ".")`, then the old root, stacked on it, is
    /// detached). From here on every path is resolved in the new root, as
    /// the command will resolve it: the covers are made now, so that a
    /// symlink on their way leads where it leads for the command. `false`
    /// with errno set on the first failure.
    ///
    /// # Safety
    /// Raw syscalls on strings owned by `self`; call only in the child.
    pub(crate) unsafe fn enter(&self) -> bool {
        libc::chdir(self.mountpoint.as_ptr()) == 0
            && libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) == 0
            && libc::umount2(c".".as_ptr(), libc::MNT_DETACH) == 0
    }

    /// In the child, after [`Self::enter`] and the covers: `/` is made
    /// read-only, the working directory is entered again by its path (the
    /// old one would still point into the detached tree), and each fresh
    /// tmpfs gets its Landlock rule in `ruleset_fd`
    /// (`landlock_add_rule(2)`, `LANDLOCK_RULE_PATH_BENEATH` on an
    /// `O_PATH` descriptor of it). The ruleset is the one the parent
    /// built for this run alone (the child and the parent share it; the
    /// parent only closes it). `false` with errno set on the first
    /// failure.
    ///
    /// # Safety
    /// Raw syscalls on strings owned by `self`; call only in the child.
    pub(crate) unsafe fn settle(&self, ruleset_fd: libc::c_int) -> bool {
        let none = std::ptr::null();
        let entered = libc::mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            std::ptr::null(),
        ) == 0
            && libc::chdir(self.cwd.as_ptr()) == 0;
        if !entered {
            return false;
        }
        for path in &self.tmpfs {
            let fd = libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_CLOEXEC | libc::O_DIRECTORY,
            );
            if fd < 0 {
                return false;
            }
            let attr = PathBeneathAttr {
                allowed_access: self.access,
                parent_fd: fd,
            };
            let ret = libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset_fd,
                LANDLOCK_RULE_PATH_BENEATH,
                std::ptr::addr_of!(attr),
                0 as libc::c_uint,
            );
            libc::close(fd);
            if ret != 0 {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn entries(layout: &Layout) -> Vec<(String, String)> {
        layout
            .entries
            .iter()
            .map(|(p, e)| {
                let what = match e {
                    Entry::Dir => "dir".to_string(),
                    Entry::Symlink(t) => format!("-> {}", t.display()),
                    Entry::Bind { dir, full } => format!(
                        "bind {}{}",
                        if *dir { "dir" } else { "file" },
                        if *full { " full" } else { "" }
                    ),
                    Entry::Tmpfs => "tmpfs".to_string(),
                };
                (p.display().to_string(), what)
            })
            .collect()
    }

    #[test]
    fn symlinks_on_the_way_are_mirrored_and_trees_bound_once() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(base.join("real/lib/sub")).unwrap();
        std::fs::create_dir_all(base.join("d/c")).unwrap();
        symlink("real/lib", base.join("lib")).unwrap();
        // A symlink whose target passes through another symlink.
        symlink(base.join("d"), base.join("b")).unwrap();
        symlink(base.join("b/c"), base.join("a")).unwrap();
        std::fs::write(base.join("f"), b"").unwrap();

        let mut layout = Layout::default();
        assert!(layout.mirror(&base.join("lib/sub"), true));
        assert!(layout.mirror(&base.join("lib"), false));
        assert!(layout.mirror(&base.join("a"), false));
        assert!(layout.mirror(&base.join("f"), false));
        assert!(layout.mirror(&base.join("f"), true));
        assert!(!layout.mirror(&base.join("missing"), false));
        assert!(layout.tmpfs(Path::new("/dev/shm")));
        assert!(layout.link(Path::new("/dev/fd"), Path::new("/proc/self/fd")));
        assert!(!layout.link(Path::new("/dev/fd"), Path::new("/elsewhere")));
        // Not inside a mirrored tree (it would be the host's).
        assert!(!layout.link(&base.join("d/c/x"), Path::new("/x")));
        // Not over a granted tree, nor over what holds one.
        assert!(!layout.tmpfs(&base.join("d/c")));
        assert!(!layout.tmpfs(&base.join("d/c/x")));

        let b = base.display().to_string();
        let got = entries(&layout);
        let has = |p: &str, what: &str| got.contains(&(p.to_string(), what.to_string()));
        assert!(has(&format!("{b}/lib"), "-> real/lib"), "{got:?}");
        assert!(has(&format!("{b}/real"), "dir"), "{got:?}");
        // lib/sub was bound first, then swallowed by lib's tree.
        assert!(has(&format!("{b}/real/lib"), "bind dir"), "{got:?}");
        assert!(
            !got.iter().any(|(p, _)| p.ends_with("/real/lib/sub")),
            "{got:?}"
        );
        assert!(has(&format!("{b}/a"), &format!("-> {b}/b/c")), "{got:?}");
        assert!(has(&format!("{b}/b"), &format!("-> {b}/d")), "{got:?}");
        assert!(has(&format!("{b}/d/c"), "bind dir"), "{got:?}");
        // Granted read-only and in full: in full.
        assert!(has(&format!("{b}/f"), "bind file full"), "{got:?}");
        // A tmpfs may not hold a tree granted less than every right.
        assert!(!layout.tmpfs(&base.join("real")));
        assert!(!layout.tmpfs(&base));
        assert!(has("/dev", "dir"), "{got:?}");
        assert!(has("/dev/shm", "tmpfs"), "{got:?}");
        assert!(has("/dev/fd", "-> /proc/self/fd"), "{got:?}");
        // Every parent of an entry is an entry (or `/`): made before it.
        for (p, _) in &got {
            let parent = Path::new(p).parent().unwrap();
            assert!(
                parent == Path::new("/") || got.iter().any(|(q, _)| Path::new(q) == parent),
                "{p} has no parent entry in {got:?}"
            );
        }
    }

    #[test]
    fn a_symlink_loop_is_skipped() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        symlink(base.join("y"), base.join("x")).unwrap();
        symlink(base.join("x"), base.join("y")).unwrap();
        let mut layout = Layout::default();
        assert!(!layout.mirror(&base.join("x/z"), false));
    }

    #[test]
    fn the_kept_mount_point_is_ours_alone() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let got = kept_mountpoint(t.path()).unwrap();
        assert!(got.is_dir());
        assert_eq!(kept_mountpoint(t.path()), Some(got.clone()));
        // Opened to others, or replaced by a symlink: not used.
        std::fs::set_permissions(&got, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(kept_mountpoint(t.path()), None);
        std::fs::remove_dir(&got).unwrap();
        symlink(t.path(), &got).unwrap();
        assert_eq!(kept_mountpoint(t.path()), None);
    }

    #[test]
    fn a_mount_point_inside_a_granted_tree_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(base.join("project/run/root")).unwrap();
        let mut layout = Layout::default();
        layout.mirror(&base.join("project"), true);
        let err = Root::new(&layout, &base.join("project/run/root"), &base, 0).unwrap_err();
        assert!(
            err.contains("inside a tree the command is granted"),
            "{err}"
        );
        assert!(Root::new(&layout, &base.join("elsewhere"), &base, 0).is_ok());
    }

    #[test]
    fn ops_put_parents_first_and_prefix_the_mount_point() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(base.join("p/q")).unwrap();
        let mut layout = Layout::default();
        layout.mirror(&base.join("p"), true);
        let root = Root::new(&layout, Path::new("/mnt/r"), &base.join("p/q"), 7).unwrap();
        assert!(root.tmpfs.is_empty());
        assert_eq!(root.access, 7);
        let top = base
            .components()
            .nth(1)
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        match &root.ops[0] {
            Op::Mkdir(p) => assert_eq!(p.to_str().unwrap(), format!("/mnt/r/{top}")),
            other => panic!("{other:?}"),
        }
        match root.ops.last().unwrap() {
            Op::Bind { source, path } => {
                assert_eq!(source.to_str().unwrap(), base.join("p").to_str().unwrap());
                assert_eq!(
                    path.to_str().unwrap(),
                    format!("/mnt/r{}", base.join("p").display())
                );
            }
            other => panic!("{other:?}"),
        }
        // A private /dev/shm: a tmpfs op, and a rule the child adds.
        assert!(layout.tmpfs(Path::new("/dev/shm")));
        let root = Root::new(&layout, Path::new("/mnt/r"), &base.join("p/q"), 7).unwrap();
        assert_eq!(root.tmpfs, vec![CString::new("/dev/shm").unwrap()]);
        assert!(matches!(&root.ops[0], Op::Mkdir(p) if p.to_bytes() == b"/mnt/r/dev"));
        assert!(matches!(&root.ops[1], Op::Tmpfs(p) if p.to_bytes() == b"/mnt/r/dev/shm"));
    }
}
