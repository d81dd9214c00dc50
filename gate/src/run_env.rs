//! What a sandboxed command gets of the caller's world beyond the sandbox's
//! fixed rules: the caller's environment minus credentials and the sockets
//! of agents that hold them, and the paths of the project it may read but
//! not change, or not see.
//!
//! A command that slips past the decision still must not find the user's
//! tokens in its environment, nor reach `ssh-agent` or `gpg-agent` through
//! them. Withheld are the variables whose names name a secret (the audit
//! redaction's rule 1: `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`,
//! `ANTHROPIC_API_KEY`, `SSH_AUTH_SOCK` …), those in [`AGENT_VARIABLES`],
//! those whose values the audit redaction would change (a password in a
//! URL, `DATABASE_URL=postgres://u:pw@h`, a token shape such as `ghp_…`),
//! and those whose names or values are not UTF-8 (they cannot be judged),
//! unless the policy's `sandbox.pass_env` names them.

use std::ffi::OsString;
use std::path::PathBuf;

use shellgate_rules::Policy;

use crate::audit::redact;
use crate::git_config::GitConfig;

/// Variables that lead to an agent, a session bus or a display server
/// holding credentials or keystrokes, whatever their names say:
/// `ssh-agent(1)`, `gpg-agent(1)`, D-Bus, Kerberos, Docker, X11, Wayland.
pub const AGENT_VARIABLES: &[&str] = &[
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "GNUPGHOME",
    "DBUS_SESSION_BUS_ADDRESS",
    "KRB5CCNAME",
    "DOCKER_HOST",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
];

/// Whether `pattern` from `sandbox.pass_env` (an exact name, or a prefix
/// ending in `*`) names `name`.
fn passes(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// The names of the variables among `vars` (the caller's environment, as
/// name and value) that a sandboxed command does not get, in the order
/// given; `pass` is the policy's `sandbox.pass_env`.
pub fn withheld(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    pass: &[String],
) -> Vec<OsString> {
    vars.into_iter()
        .filter(|(name, value)| match (name.to_str(), value.to_str()) {
            (Some(n), _) if pass.iter().any(|p| passes(p, n)) => false,
            (Some(n), Some(v)) => {
                AGENT_VARIABLES.contains(&n) || redact::secret_name(n) || redact::redact(v) != v
            }
            _ => true,
        })
        .map(|(name, _)| name)
        .collect()
}

/// Most directory entries read to find the project's ignored files for
/// one run (breadth-first, so the top levels, where `.env` files live, come
/// first). About 1 ms of system calls.
pub const MAX_SCAN_ENTRIES: usize = 1_000;

/// How many directories below the project root that walk goes.
pub const MAX_SCAN_DEPTH: usize = 3;

/// The project paths a sandboxed command may read but not change, those
/// it may not see, and the placeholders made for them.
#[derive(Debug, Default)]
pub struct Protected {
    /// Writable, but not to be moved or removed (a repository's `.git`).
    pub pinned: Vec<PathBuf>,
    /// Read-only in the sandbox.
    pub read_only: Vec<PathBuf>,
    /// Covered by an empty read-only file or directory.
    pub hidden: Vec<PathBuf>,
    /// Empty directories made for this run so that a path that did not
    /// exist can be covered; [`Placeholders`] removes them afterwards.
    pub placeholders: Placeholders,
    /// Files that did not exist before the run and must not exist after
    /// it, since git would follow them out of the repository or read them
    /// as config (an included file), but that no placeholder can cover
    /// (git fails on an empty `commondir`): moved aside by [`quarantine`]
    /// if the command made them.
    pub absent: Vec<Absent>,
    /// Paths as git opens them (included configs, `core.hooksPath`) that
    /// resolve elsewhere: no symlink inside the project may be on their
    /// way, and their directories are pinned ([`pin_parents`]).
    pub opened: Vec<PathBuf>,
}

/// A file git would read that does not exist ([`Protected::absent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    /// The path as git opens it.
    pub git_path: PathBuf,
    /// Its first missing component: the nearest existing directory
    /// (resolved, and pinned for the run) joined with the next name. What
    /// is moved aside when `git_path` exists after the run, whatever the
    /// command made there (a file, a directory, a symlink).
    pub first_missing: PathBuf,
}

/// Empty placeholder directories that runs cover, each held with a
/// shared `flock(2)` for the run. When this is dropped, each is removed
/// if no other run holds it (the lock converts to exclusive without
/// waiting) and it is still empty (`rmdir(2)` removes nothing else):
/// removing a directory that another run's mount namespace covers would
/// detach that cover (mount_namespaces(7)) while its command runs.
#[derive(Debug, Default)]
pub struct Placeholders(Vec<(PathBuf, nix::fcntl::Flock<std::fs::File>)>);

impl Placeholders {
    /// Takes `dir` as a placeholder: made if missing, then locked shared.
    /// `None` when it is not (or no longer) an empty directory, or cannot
    /// be made or locked.
    fn take(dir: &std::path::Path) -> Option<(PathBuf, nix::fcntl::Flock<std::fs::File>)> {
        use nix::fcntl::{Flock, FlockArg};
        use std::os::unix::fs::MetadataExt;
        // A run that removes it between our steps makes us start again.
        for _ in 0..3 {
            match std::fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => return None,
            }
            let meta = std::fs::symlink_metadata(dir).ok()?;
            if !meta.is_dir() || std::fs::read_dir(dir).ok()?.next().is_some() {
                return None;
            }
            let file = std::fs::File::open(dir).ok()?;
            let lock = Flock::lock(file, FlockArg::LockShared).ok()?;
            // Still the directory at that path (a finishing run may have
            // removed it while we waited for the lock)?
            let held = lock.metadata().ok()?;
            match std::fs::symlink_metadata(dir) {
                Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                    return Some((dir.to_path_buf(), lock));
                }
                _ => continue,
            }
        }
        None
    }
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        for (dir, lock) in self.0.drain(..) {
            if lock
                .relock(nix::fcntl::FlockArg::LockExclusiveNonblock)
                .is_ok()
            {
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }
}

/// The project's protected paths for one run.
///
/// Git runs code from a repository's `.git` later, outside the sandbox
/// (hooks, `core.hooksPath`, `core.fsmonitor`, `gitdir:` of a `.git`
/// file; gitrepository-layout(5), githooks(5), git-config(1)), so what the
/// command could plant there is protected, including paths that do not
/// exist yet:
///
/// * `.git` a repository (a directory with `HEAD`): `.git/hooks` and
///   `.git/config` read-only, each made first when missing (an empty
///   directory, an empty file), so that nothing can be added either, and
///   `.git` itself pinned (it cannot be moved away for a new one);
/// * `.git` a file (`gitdir:`): read-only;
/// * no `.git`, or an empty `.git` directory: when `placeholder` (the
///   sandbox can cover paths: it has user namespaces), it is made if
///   missing and covered as an empty placeholder (git treats an empty
///   `.git` as no repository), so the command cannot make a repository
///   there for git to run later; it is removed after the last run that
///   covers it ([`Placeholders`]). Without, the run is not refused for it
///   (`shellgate doctor` says a `.git` made there is unprotected);
/// * `.git` a non-empty directory that is not a repository: covered,
///   empty.
///
/// Hidden: the ignore file's matches under `project_root`, from a walk of
/// at most [`MAX_SCAN_ENTRIES`] entries and [`MAX_SCAN_DEPTH`] levels that
/// skips dependencies and build output (see `IgnoreFile::scan`). What
/// cannot be made is left: the command, with the same permissions, could
/// not make it either.
///
/// Also read-only in a repository: its submodules' git directories'
/// `hooks` and `config` (`.git/modules/…`), their checkouts' `.git`
/// files (from `.gitmodules`), a `core.hooksPath` inside the project
/// (made first when missing), the files its config includes from the
/// project ([`GitConfig`]), and the files through which git reads
/// another directory's config (`commondir`, `config.worktree`, linked
/// worktrees' `commondir` and `gitdir`: [`redirects`]); such files that
/// do not exist are [`Protected::absent`]. Every directory between the
/// project and a read-only or absent path is pinned ([`pin_parents`]).
///
/// Not covered: a bare repository the command makes at the project root
/// itself (`git init --bare .`), which git uses when no `.git` is there
/// unless `safe.bareRepository` is `explicit` (`shellgate doctor` checks
/// it); a repository the command makes in a subdirectory; what the
/// configs of submodules include; a rebase's todo list (`exec` lines run
/// by `git rebase --continue`).
///
/// # Errors
/// A message for the user when `.git` is a symlink (what it points to
/// could be replaced), or a placeholder is needed but cannot be held, or
/// an included config is a symlink in the project or the config includes
/// more files than shellgate follows.
pub fn protected_paths(
    policy: &Policy,
    project_root: &str,
    home: Option<&str>,
    placeholder: bool,
) -> Result<Protected, String> {
    // Canonical, like every path the sandbox covers (and what included
    // files are compared with).
    let root = std::fs::canonicalize(project_root).unwrap_or_else(|_| PathBuf::from(project_root));
    let git = root.join(".git");
    let mut out = Protected::default();
    let meta = std::fs::symlink_metadata(&git);
    let empty_or_missing = match &meta {
        Ok(m) => m.is_dir() && std::fs::read_dir(&git).is_ok_and(|mut d| d.next().is_none()),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    match meta {
        _ if placeholder && empty_or_missing => {
            let taken = Placeholders::take(&git).ok_or_else(|| {
                format!(
                    "cannot hold {} as an empty placeholder for the run (another run keeps \
                     changing it, or it cannot be made or locked), so a repository the command \
                     made there would not be protected; retry",
                    git.display()
                )
            })?;
            out.placeholders.0.push(taken);
            out.hidden.push(git);
        }
        Ok(meta) if meta.is_symlink() => {
            return Err(format!(
                "{} is a symlink: shellgate cannot keep the command from replacing it with a \
                 repository of its own; replace it with a `gitdir: PATH` file",
                git.display()
            ))
        }
        Ok(meta) if meta.is_dir() && git.join("HEAD").exists() => {
            protect_git_dir(&git, MODULE_DEPTH, &mut out);
            // `config.worktree` is read with `extensions.worktreeConfig`.
            let config = GitConfig::read(&[git.join("config"), git.join("config.worktree")], home)?;
            // Files the config includes (`[include] path = ../.gitconfig`,
            // a shared project config): inside the project, read-only, or
            // moved aside after the run if the command made one.
            for file in &config.included {
                protect_included(file, &root, &mut out)?;
            }
            // A hooks directory the repository names (`core.hooksPath`,
            // as husky sets it) inside the project: read-only, made first.
            if let Some(hooks) = config.hooks_path(&root, home) {
                let lexically_inside = hooks.starts_with(&root)
                    && !hooks
                        .components()
                        .any(|c| c == std::path::Component::ParentDir);
                if lexically_inside && !hooks.exists() {
                    let _ = std::fs::create_dir_all(&hooks);
                }
                if std::fs::canonicalize(&hooks).is_ok_and(|h| h == root) {
                    return Err(format!(
                        "the repository's core.hooksPath is the project directory itself \
                         ({}): every file the command writes there would be a hook. Point it at \
                         a directory of its own",
                        root.display()
                    ));
                }
                out.read_only.push(hooks);
            }
            // Submodules' checkouts: their `.git` files name their git
            // directories (under `.git/modules`, protected above).
            for path in submodule_paths(&root.join(".gitmodules")) {
                let dot_git = root.join(path).join(".git");
                if dot_git.is_file() {
                    out.read_only.push(dot_git);
                }
            }
            // Pinned, so that it cannot be moved away (with its covers)
            // for a new `.git` to take its place.
            out.pinned.push(git);
        }
        Ok(meta) if meta.is_dir() => out.hidden.push(git),
        Ok(_) => out.read_only.push(git),
        Err(_) => {}
    }
    pin_parents(&root, &mut out)?;
    let (hidden, _) = policy
        .ignore
        .scan(project_root, home, MAX_SCAN_ENTRIES, MAX_SCAN_DEPTH);
    out.hidden.extend(hidden.into_iter().map(PathBuf::from));
    Ok(out)
}

/// An included config file `file` (as git opens it), when it lies in the
/// project `root` (canonical): read-only if it exists, [`Protected::absent`]
/// if not. A symlink is followed (at most 40 links, as the kernel does) to
/// what it names; [`pin_parents`] refuses symlinks inside the project.
///
/// # Errors
/// A path through `..` after a missing directory (where it leads depends
/// on what the command makes there), or a chain of more than 40 links.
fn protect_included(
    file: &std::path::Path,
    root: &std::path::Path,
    out: &mut Protected,
) -> Result<(), String> {
    let mut file = file.to_path_buf();
    for _ in 0..40 {
        let meta = match std::fs::symlink_metadata(&file) {
            Ok(meta) => meta,
            Err(_) => return absent_include(&file, root, out),
        };
        match std::fs::canonicalize(&file) {
            Ok(real) => {
                if real != file {
                    // The way git gets there, where the command could
                    // replace a link.
                    out.opened.push(file.clone());
                }
                if real.starts_with(root) {
                    out.read_only.push(real);
                }
                return Ok(());
            }
            // A dangling link: what it names, which the command could make.
            Err(_) if meta.is_symlink() => {
                let target = std::fs::read_link(&file).map_err(|e| e.to_string())?;
                let dir = file.parent().unwrap_or(std::path::Path::new("/"));
                file = dir.join(target);
            }
            Err(_) => return Ok(()),
        }
    }
    Err(format!(
        "{} (included by the repository's git config) is a chain of more than 40 symlinks",
        file.display()
    ))
}

/// [`protect_included`] for a path that does not exist: listed by its
/// nearest existing directory (resolved) and the names after it.
fn absent_include(
    file: &std::path::Path,
    root: &std::path::Path,
    out: &mut Protected,
) -> Result<(), String> {
    let mut rest = Vec::new();
    let mut dir = file;
    while let Some(parent) = dir.parent() {
        // `missing/..`: where it leads depends on what the command makes
        // `missing`; not guessed.
        let Some(name) = dir.file_name() else {
            return Err(format!(
                "{} (included by the repository's git config) goes through `..` after a \
                 directory that does not exist; shellgate cannot tell which file git would \
                 read",
                file.display()
            ));
        };
        rest.push(name.to_owned());
        if let Ok(base) = std::fs::canonicalize(parent) {
            if base.starts_with(root) {
                let first_missing = base.join(rest.last().expect("pushed above"));
                let mut git_path = base;
                for name in rest.iter().rev() {
                    git_path.push(name);
                }
                out.absent.push(Absent {
                    git_path,
                    first_missing,
                });
            }
            return Ok(());
        }
        dir = parent;
    }
    Ok(())
}

/// Pins every directory between the project `root` and a read-only or
/// absent path (bound onto itself, so that it cannot be renamed): a cover
/// moves with a directory that is renamed, and a new directory at the old
/// name would hold what git reads (`mv .husky x; mkdir -p .husky/_`).
/// Parents come before children.
///
/// # Errors
/// A symlink inside the project on the way to such a path (or the path
/// itself, for a read-only path that is a link): the command could
/// replace the link, and a cover can only be put on what it points to.
fn pin_parents(root: &std::path::Path, out: &mut Protected) -> Result<(), String> {
    let mut pins: std::collections::BTreeSet<PathBuf> = out.pinned.drain(..).collect();
    let paths = out
        .read_only
        .iter()
        .chain(&out.opened)
        .chain(out.absent.iter().map(|a| &a.first_missing));
    for path in paths {
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let mut prefix = root.to_path_buf();
        for component in rel.components() {
            prefix.push(component);
            match std::fs::symlink_metadata(&prefix) {
                Ok(meta) if meta.is_symlink() => {
                    return Err(format!(
                        "{} is a symlink inside the project, on the way to {}, which git reads: \
                         the command could replace it. Replace the link with what it points to \
                         (for a hooks directory, set core.hooksPath to it instead)",
                        prefix.display(),
                        path.display()
                    ))
                }
                Ok(meta) if meta.is_dir() && prefix != *path => {
                    pins.insert(prefix.clone());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    out.pinned = pins.into_iter().collect();
    Ok(())
}

/// How deep `.git/modules` is followed for submodules of submodules.
const MODULE_DEPTH: usize = 3;

/// Most submodule git directories protected per level.
const MAX_MODULES: usize = 100;

/// A git directory's `hooks` and `config` read-only, each made first when
/// missing (an empty directory, an empty file), and the same for its
/// submodules' git directories (`modules/NAME`, gitrepository-layout(5);
/// a name with `/` is a nested directory), `depth` levels down.
fn protect_git_dir(dir: &std::path::Path, depth: usize, out: &mut Protected) {
    let hooks = dir.join("hooks");
    if !hooks.exists() {
        let _ = std::fs::create_dir(&hooks);
    }
    let config = dir.join("config");
    if !config.exists() {
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&config);
    }
    out.read_only.push(hooks);
    out.read_only.push(config);
    redirects(dir, &["commondir", "config.worktree"], out);
    // Linked worktrees' administrative directories (`git worktree add`):
    // git run in such a worktree reads these.
    if let Ok(entries) = std::fs::read_dir(dir.join("worktrees")) {
        for entry in entries.flatten().take(MAX_MODULES) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                redirects(
                    &entry.path(),
                    &["commondir", "gitdir", "config.worktree"],
                    out,
                );
            }
        }
    }
    if depth == 0 {
        return;
    }
    let mut found = 0;
    let mut pending = vec![(dir.join("modules"), 0)];
    while let Some((modules, level)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&modules) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) || found >= MAX_MODULES {
                continue;
            }
            if path.join("HEAD").is_file() {
                found += 1;
                protect_git_dir(&path, depth - 1, out);
            } else if level < 2 {
                // `modules/lib/foo` for a submodule named `lib/foo`.
                pending.push((path, level + 1));
            }
        }
    }
}

/// Files of the git directory `dir` through which git reads another
/// directory's configuration, hooks and refs (gitrepository-layout(5)):
/// `commondir` ("If this file exists, $GIT_COMMON_DIR will be set to the
/// path specified in this file"), a linked worktree's `gitdir`, and
/// `config.worktree` (read with `extensions.worktreeConfig`). A command
/// that wrote one could point the user's next git command at a config
/// with `core.fsmonitor` or `core.hooksPath` of its own. Read-only where
/// they exist; where they do not, [`Protected::absent`].
fn redirects(dir: &std::path::Path, names: &[&str], out: &mut Protected) {
    for name in names {
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok() {
            out.read_only.push(path);
        } else {
            out.absent.push(Absent {
                git_path: path.clone(),
                first_missing: path,
            });
        }
    }
}

/// After a run: for each entry of `absent` whose file git would now
/// open (the command made it, or a path to one), its first missing
/// component is renamed to `NAME.shellgate-quarantine` (or
/// `…-quarantine-N`), before any git outside the sandbox could follow it.
/// Returns one line per entry found, `PATH -> NEW` or, when the rename
/// failed, `PATH: ERROR` (the caller tells the user to remove it), with
/// whether it was moved.
pub fn quarantine(absent: &[Absent]) -> Vec<(String, bool)> {
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

/// The `path = …` entries of a `.gitmodules` file (gitmodules(5)).
fn submodule_paths(gitmodules: &std::path::Path) -> Vec<String> {
    // Larger than a config is read: skipped, as before.
    let Ok(Some(text)) = crate::git_config::read_file(gitmodules) else {
        return Vec::new();
    };
    crate::git_config::parse(&text)
        .into_iter()
        .filter(|e| e.section == "submodule" && e.key == "path")
        .filter_map(|e| String::from_utf8(e.value?).ok())
        .filter(|v| !v.is_empty() && !v.split('/').any(|c| c == ".."))
        .take(MAX_MODULES)
        .collect()
}

/// What the sandboxed command may reach through shellgate's proxy, or
/// `None` for no network (`sandbox.network = "none"`, or no trusted
/// remote at all).
///
/// Hosts: every `environment.trusted_remotes` entry's host (`*.x` stays a
/// subdomain wildcard). The proxy sees the host and port of a connection,
/// not its path, so `github.com/acme` opens all of `github.com` to the
/// sandbox; the command-line rules still judge each URL with its path.
/// Ports: `sandbox.network_ports`, else 443 and 80. Addresses:
/// `sandbox.network_addresses` (checked when the policy loaded).
pub fn network(policy: &Policy) -> Option<shellgate_sandbox::NetworkPolicy> {
    use shellgate_rules::policy::file::SandboxNetwork;
    if policy.sandbox_network == SandboxNetwork::None {
        return None;
    }
    let mut hosts: Vec<shellgate_sandbox::HostPattern> = Vec::new();
    for remote in &policy.trusted_remotes {
        let entry = if remote.wildcard {
            format!("*.{}", remote.host)
        } else {
            remote.host.clone()
        };
        if let Some(p) = shellgate_sandbox::HostPattern::parse(&entry) {
            if !hosts.contains(&p) {
                hosts.push(p);
            }
        }
    }
    if hosts.is_empty() {
        return None;
    }
    let mut net = shellgate_sandbox::NetworkPolicy::new(hosts);
    if !policy.sandbox_network_ports.is_empty() {
        net.ports = policy.sandbox_network_ports.clone();
    }
    for range in &policy.sandbox_network_addresses {
        // Checked at load; an entry the proxy cannot read only allows less.
        let _ = net.allow_range(range);
    }
    Some(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    /// A made file is moved to a free `.shellgate-quarantine[-N]` name; a
    /// path still absent is not reported; existing redirects are
    /// read-only, missing ones to be checked.
    #[test]
    fn redirects_made_by_a_run_are_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let git = std::fs::canonicalize(dir.path()).unwrap().join(".git");
        std::fs::create_dir_all(git.join("worktrees/wt")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(git.join("worktrees/wt/commondir"), "../..\n").unwrap();
        let mut out = Protected::default();
        protect_git_dir(&git, 0, &mut out);
        assert!(out.read_only.contains(&git.join("worktrees/wt/commondir")));
        for missing in ["commondir", "config.worktree", "worktrees/wt/gitdir"] {
            let path = git.join(missing);
            assert!(
                out.absent.contains(&Absent {
                    git_path: path.clone(),
                    first_missing: path
                }),
                "{missing}"
            );
        }
        assert!(quarantine(&out.absent).is_empty());

        std::fs::write(git.join("commondir"), "/evil\n").unwrap();
        std::fs::write(git.join("commondir.shellgate-quarantine"), "older\n").unwrap();
        let found = quarantine(&out.absent);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1, "{found:?}");
        assert!(!git.join("commondir").exists());
        assert_eq!(
            std::fs::read_to_string(git.join("commondir.shellgate-quarantine-1")).unwrap(),
            "/evil\n"
        );
    }

    #[test]
    fn hooks_path_and_submodule_paths_are_read_like_git() {
        let t = tempfile::tempdir().unwrap();
        let config = t.path().join("config");
        let wt = std::path::Path::new("/w");
        let read = |text: &str| {
            std::fs::write(&config, text).unwrap();
            GitConfig::read(std::slice::from_ref(&config), Some("/home/u"))
                .unwrap()
                .hooks_path(wt, Some("/home/u"))
        };
        assert_eq!(
            read("[core]\n\tbare = false\n\thooksPath = .husky/_\n"),
            Some(PathBuf::from("/w/.husky/_"))
        );
        assert_eq!(
            read("[Core]\nHOOKSPATH = \"hooks dir\" # why\n"),
            Some(PathBuf::from("/w/hooks dir"))
        );
        assert_eq!(
            read("[core]\nhooksPath = ~/hooks\n"),
            Some(PathBuf::from("/home/u/hooks"))
        );
        assert_eq!(
            read("[core]\nhooksPath = /abs\n"),
            Some(PathBuf::from("/abs"))
        );
        // Another section, a subsection, or none at all.
        assert_eq!(read("[alias]\nhooksPath = x\n"), None);
        assert_eq!(read("[core \"x\"]\nhooksPath = x\n"), None);
        assert_eq!(read("[core]\nbare = false\n"), None);

        let gm = t.path().join(".gitmodules");
        std::fs::write(
            &gm,
            "[submodule \"a\"]\n\tpath = vendor/a\n\turl = x\n[submodule \"b\"]\n\tpath = ../out\n",
        )
        .unwrap();
        assert_eq!(submodule_paths(&gm), vec!["vendor/a".to_string()]);
        // One reader for both: comments and quotes as git reads them.
        assert_eq!(
            read("[core]\nhooksPath = \"a#b\"\n"),
            Some(PathBuf::from("/w/a#b"))
        );
        std::fs::write(&gm, "[submodule \"a\"]\n\tpath = vendor/a ; pinned\n").unwrap();
        assert_eq!(submodule_paths(&gm), vec!["vendor/a".to_string()]);
    }

    /// A placeholder is removed only by the last run that covers it, and
    /// never when something was put in it or it was not empty.
    #[test]
    fn placeholders_are_removed_by_their_last_holder_only() {
        let t = tempfile::tempdir().unwrap();
        let git = t.path().join(".git");
        let first = Placeholders(vec![Placeholders::take(&git).unwrap()]);
        assert!(git.is_dir());
        // A second run takes the same (empty) directory.
        let second = Placeholders(vec![Placeholders::take(&git).unwrap()]);
        drop(first);
        assert!(git.is_dir(), "removed while another run covers it");
        drop(second);
        assert!(!git.exists(), "the last holder did not remove it");

        // Not empty: not a placeholder, and left alone.
        std::fs::create_dir(&git).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        assert!(Placeholders::take(&git).is_none());
        // Filled during the run: kept.
        let dir = t.path().join("other");
        let held = Placeholders(vec![Placeholders::take(&dir).unwrap()]);
        std::fs::write(dir.join("f"), "").unwrap();
        drop(held);
        assert!(dir.join("f").exists());
        // A file is not taken.
        assert!(Placeholders::take(&dir.join("f")).is_none());
    }

    fn names(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    /// `list` as variables with a harmless value.
    fn vars(list: &[&str]) -> Vec<(OsString, OsString)> {
        list.iter()
            .map(|n| (OsString::from(n), OsString::from("1")))
            .collect()
    }

    #[test]
    fn credentials_and_agents_are_withheld() {
        let env = vars(&[
            "PATH",
            "HOME",
            "PWD",
            "LANG",
            "CARGO_HOME",
            "GIT_AUTHOR_NAME",
            "GITHUB_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "ANTHROPIC_API_KEY",
            "NPM_CONFIG__AUTH",
            "DB_PASSWORD",
            "SSH_AUTH_SOCK",
            "DISPLAY",
        ]);
        let got = withheld(env, &[]);
        assert_eq!(
            got,
            names(&[
                "GITHUB_TOKEN",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "ANTHROPIC_API_KEY",
                "NPM_CONFIG__AUTH",
                "DB_PASSWORD",
                "SSH_AUTH_SOCK",
                "DISPLAY",
            ])
        );
    }

    #[test]
    fn pass_env_keeps_names_and_prefixes() {
        let env = vars(&["GITHUB_TOKEN", "NPM_TOKEN", "NPM_AUTH", "SSH_AUTH_SOCK"]);
        let pass = ["GITHUB_TOKEN".to_string(), "NPM_*".to_string()];
        assert_eq!(withheld(env, &pass), names(&["SSH_AUTH_SOCK"]));
    }

    #[test]
    fn names_that_are_not_utf8_are_withheld() {
        let odd = OsString::from_vec(b"X\xffY".to_vec());
        assert_eq!(withheld([(odd.clone(), "1".into())], &[]), [odd]);
        let odd_value = OsString::from_vec(b"\xff".to_vec());
        assert_eq!(withheld([("X".into(), odd_value)], &[]), names(&["X"]));
    }

    /// A credential under an innocent name is withheld by its value.
    #[test]
    fn credential_values_are_withheld() {
        let env = [
            ("DATABASE_URL", "postgres://app:hunter2@db/app"),
            ("MY_GH", "ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
            ("PIP_INDEX_URL", "https://pypi.org/simple"),
            ("LS_COLORS", "rs=0:di=01;34:ln=01;36"),
            ("EDITOR", "vim"),
        ]
        .map(|(n, v)| (OsString::from(n), OsString::from(v)));
        assert_eq!(withheld(env, &[]), names(&["DATABASE_URL", "MY_GH"]));
    }

    /// The sandbox's network policy comes from every trusted remote (a
    /// path-restricted entry opens its whole host), the user's ports and
    /// address ranges, and is absent when the policy says `none` or
    /// trusts no host.
    #[test]
    fn network_follows_trusted_remotes() {
        let policy = |text: &str| Policy::from_toml(text, None).unwrap();
        let p = policy(
            "[environment]\ntrusted_remotes = [\"github.com/acme\", \"*.corp.test\", \"GitHub.com\"]\n\
             [sandbox]\nnetwork_ports = [8443]\nnetwork_addresses = [\"10.1.0.0/16\"]\n",
        );
        let mut net = network(&p).expect("trusted remotes give a network");
        assert_eq!(net.hosts.len(), 2, "duplicates fold: {:?}", net.hosts);
        assert_eq!(net.ports, [8443]);
        net.resolve
            .push(("pkg.corp.test".into(), vec!["10.1.2.3".parse().unwrap()]));
        net.resolve
            .push(("other.corp.test".into(), vec!["10.2.0.1".parse().unwrap()]));
        assert_eq!(
            net.check("pkg.corp.test", 8443).unwrap(),
            ["10.1.2.3:8443".parse().unwrap()]
        );
        let why = net.check("other.corp.test", 8443).unwrap_err();
        assert!(why.contains("sandbox.network_addresses"), "{why}");
        let why = net.check("pkg.corp.test", 443).unwrap_err();
        assert!(why.contains("sandbox.network_ports"), "{why}");
        let why = net.check("corp.test", 8443).unwrap_err();
        assert!(why.contains("trusted_remotes"), "{why}");

        let none =
            "[environment]\ntrusted_remotes = [\"github.com\"]\n[sandbox]\nnetwork = \"none\"\n";
        assert!(network(&policy(none)).is_none());
        assert!(network(&policy("")).is_none());
    }
}
