//! # shellgate-sandbox
//!
//! Runs one approved command (`bash -c COMMAND`) confined by **Landlock** +
//! **seccomp** + **no_new_privs**, and refuses to run at all when the kernel
//! cannot enforce every part: shellgate fails closed and never runs a command
//! half-confined. Every error says what is missing and what the user can do.
//!
//! ## What the sandboxed command may do
//!
//! | Resource | Access | Enforced by |
//! |---|---|---|
//! | `project_root`, `extra_read_write` | read, write, create, delete, execute | Landlock |
//! | the run's own temp dir (`$TMPDIR`, `$TMP`, `$TEMP`): with the private root a fresh tmpfs at `/tmp` (unless a granted tree is, holds or lies below `/tmp` with fewer rights), else a per-run directory on the host; removed with the run | read, write, create, delete, execute | private root + Landlock |
//! | `/usr /bin /sbin /lib /lib32 /lib64 /libx32 /opt /etc /nix/store`, `extra_read_exec` | read, execute | Landlock |
//! | `/proc`, `/sys` | read | Landlock |
//! | `/dev/null /dev/zero /dev/full /dev/tty /dev/ptmx /dev/pts` | read, write | Landlock |
//! | `/dev/urandom /dev/random` | read | Landlock |
//! | everything else (notably `$HOME`, the host's `/tmp`, `/var`, `/run`) | nothing: with user namespaces not even there (a private root holding only the rows above, `root.rs`) | Landlock (+ private root) |
//! | `/dev/shm` | read, write (a fresh tmpfs; only with the private root) | private root + Landlock |
//! | `/dev/fd`, `/dev/stdin`, `/dev/stdout`, `/dev/stderr` | links to `/proc/self/fd` (process substitution) | private root |
//! | `read_only` paths inside the project (`.git/hooks`, `.git/config`) | read only (`EROFS`) | read-only bind mount in a private user + mount namespace |
//! | `hidden` paths inside the project (`.env`, ignore-file matches) | an empty read-only file or directory in their place | the same namespace |
//! | `pinned` directories inside the project (a repository's `.git`) | read, write, but not moved or removed (`EBUSY`: a mount point) | a bind mount onto itself in the same namespace |
//! | Unix sockets | with the private root (and Landlock ABI >= 6 or a network namespace): any, reaching only what lies in the granted trees (the project, the temp dir) and the run's own abstract names; without it, stream and seqpacket `socketpair(AF_UNIX)` only (a socket could reach `ssh-agent` or `docker.sock` by path, which Landlock does not control) | private root, Landlock scope, seccomp |
//! | network, no [`SandboxConfig::network`] | none: no IPv4/IPv6 socket at all; TCP bind/connect also denied by Landlock ABI >= 4 | seccomp (+ Landlock) |
//! | network, with [`SandboxConfig::network`] | IPv4/IPv6 TCP and UDP inside a private network namespace that has only loopback; out only through shellgate's proxy, to trusted hosts on allowed ports at public (or listed) addresses; no raw, packet or MPTCP socket | user + network namespace, proxy ([`NetworkPolicy`]), seccomp |
//! | ptrace, io_uring, bpf, keyrings, mounts, namespaces, modules, kexec, ... | `EPERM` | seccomp |
//! | signals / abstract unix sockets to processes outside the sandbox | denied on Landlock ABI >= 6 | Landlock scopes |
//! | set-uid/set-gid/file-capability privilege gain | never | `no_new_privs` |
//! | capabilities (when root runs shellgate) | none: effective, permitted, inheritable, ambient and bounding sets emptied | `capset`, `PR_CAPBSET_DROP` |
//! | controlling terminal (`TIOCSTI` injection) | none (`setsid`), `TIOCSTI`/`TIOCLINUX` `EPERM` | setsid + seccomp |
//!
//! ## Filesystem (Landlock)
//!
//! The Landlock ruleset handles *every* filesystem access right of the best
//! ABI the running kernel offers (at least ABI 1), so anything not granted by a
//! rule is denied. The ruleset is built with
//! [`CompatLevel::HardRequirement`](landlock::CompatLevel::HardRequirement):
//! if the kernel could only partially enforce what was requested, building it
//! fails and the command is not run. Source of the semantics:
//! `Documentation/userspace-api/landlock.rst` in the Linux tree.
//!
//! ## Syscalls (seccomp)
//!
//! Allow-by-default BPF filters, compiled before `fork` with `seccompiler`
//! for the build's architecture (x86_64 or aarch64) and installed as one
//! chained program (`seccomp.rs`), make these syscalls fail (sources:
//! `man 2 seccomp`, `Documentation/userspace-api/seccomp_filter.rst`):
//!
//! * `EPERM`: `ptrace`, `process_vm_readv`, `process_vm_writev`,
//!   `io_uring_setup`/`_enter`/`_register`, `add_key`, `request_key`, `keyctl`,
//!   `bpf`, `perf_event_open`, `userfaultfd`, `mount`, `umount2`, `pivot_root`,
//!   `move_mount`, `open_tree`, `fsopen`, `fsmount`, `fsconfig`, `fspick`,
//!   `mount_setattr`, `unshare`, `setns`, `kexec_load`, `kexec_file_load`,
//!   `init_module`, `finit_module`, `delete_module`, `swapon`, `swapoff`,
//!   `reboot`, `acct`, `open_by_handle_at`; `clone` with a `CLONE_NEW*` flag;
//!   `ioctl(fd, TIOCSTI | TIOCLINUX)`; `personality` other than query,
//!   `PER_LINUX`, `PER_LINUX32`; without the private root `socket(AF_UNIX, …)`
//!   and datagram socket pairs (see `seccomp.rs` for why); on x86_64 every
//!   x32-ABI syscall.
//! * `EAFNOSUPPORT`: `socket`/`socketpair` with a domain other than `AF_UNIX`.
//! * `ENOSYS`: `clone3` (flags unreadable by BPF; glibc falls back to `clone`).
//! * process killed: any syscall made through a foreign architecture ABI
//!   (e.g. `int 0x80` on x86_64).
//!
//! ## Network
//!
//! With [`SandboxConfig::network`] set, a helper process makes a user and
//! network namespace (loopback only, brought up by the helper), listens on
//! `127.0.0.1:PORT` there and hands the listening socket and both
//! namespaces to shellgate over a `socketpair` (`SCM_RIGHTS`, see
//! `netns.rs`); the child joins them (`setns`). shellgate, outside the
//! namespace, accepts on it and speaks HTTP `CONNECT`, absolute-form HTTP
//! and SOCKS5 (`proxy.rs`): it resolves the name itself (the command's DNS
//! cannot leave the namespace) and connects only to a host matching a
//! trusted pattern (case-folded, one trailing dot dropped, exact or
//! `*.suffix`), on an allowed port, at an address that is public or inside
//! [`NetworkPolicy::addresses`]; loopback, link-local (cloud metadata),
//! private, CGNAT, multicast and reserved ranges, and IPv4 embedded in IPv6,
//! are refused ([`non_public`]). The command finds the proxy through
//! `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` (`socks5h://`) in both cases,
//! which curl, git, cargo, pip and npm read. Every refusal is printed on
//! the command's stderr (`shellgate: network: refused HOST:PORT: REASON`)
//! and returned in [`RunReport::refused`]. Without user namespaces
//! ([`Capabilities::user_namespaces`]) there is no network namespace to
//! make and [`run`] refuses with [`SandboxError::UserNamespacesUnavailable`];
//! the caller may then run with no network at all.
//!
//! ## Process steps
//!
//! The ruleset and the BPF programs are prepared in the parent. In the forked
//! child, before `execve`, only raw async-signal-safe syscalls run, in this
//! order (see [`SetupStep`]): mark inherited fds > 2 close-on-exec, `setsid`,
//! `PR_SET_PDEATHSIG`; with user namespaces, a new user namespace (or,
//! when the run has a network, the user and network namespaces, with the
//! proxy listener, that a helper process made while shellgate was
//! deciding: `netns.rs`) and a mount namespace in which the private root
//! is built from bind mounts of the granted trees, the project's paths
//! are covered (`mounts.rs`) and the root entered with `pivot_root`
//! (`root.rs`);
//! `PR_SET_CHILD_SUBREAPER`, every capability dropped
//! (bounding set included when run as root), `PR_SET_NO_NEW_PRIVS`,
//! `landlock_restrict_self`, `seccomp(SECCOMP_SET_MODE_FILTER)`, then a
//! `clone(CLONE_VM | CLONE_VFORK)`: the confined child stays behind as the
//! command's *reaper* (not dumpable: its memory is shellgate's) and its own
//! child, on a stack of its own until it execs (`exec.rs`), after `setsid`,
//! `PR_SET_PDEATHSIG` and a nested Landlock domain (so that, with the signal
//! scope, the command can neither kill nor inspect the reaper), execs `bash`. Every
//! process the command leaves running (`cmd &`, `nohup`, `setsid`, a double
//! fork) is re-parented to the reaper, which kills them all when `bash`
//! exits and then exits with `bash`'s status. A failing step is reported to the parent
//! over a close-on-exec pipe and surfaces as [`SandboxError::ChildSetup`]
//! naming the step; the command is then never executed.
//!
//! ## Known limits (what Landlock/seccomp cannot express)
//!
//! * Landlock (ABI <= 7) does not restrict `chmod`, `chown`, `utimes`,
//!   `setxattr`, `stat`/`access` on paths outside the granted trees: a command
//!   can change metadata of (or probe for) files it can name, but cannot read
//!   or write their contents.
//! * On Landlock ABI < 6 the command can signal processes of the same user
//!   outside the sandbox, its reaper included: killing the reaper frees what
//!   the command left running (`shellgate doctor` warns about ABI < 6);
//!   ABI < 3 does not control truncation; ABI 1 forbids all cross-directory
//!   renames/links.
//! * Interactive programs that open `/dev/tty` fail (`ENXIO`): the command has
//!   no controlling terminal.
//! * Without user namespaces there is no private root: programs that
//!   create Unix sockets (servers in tests, `tmux`, Python's
//!   `multiprocessing.Manager`) fail with `EPERM`, and `/dev/shm` is out of
//!   reach. With it, a socket that a process *outside* made inside a
//!   granted tree (a daemon's socket in the project or in `/etc`) can be
//!   reached: the root hides only what is not granted.
//! * The proxy decides on host name and port only: it does not look inside
//!   TLS, so a trusted host is trusted whole (any path, any repository on
//!   it), and data sent to a trusted host is not inspected.
//! * Programs that ignore the proxy variables (`ssh`, `ping`, plain DNS
//!   queries, most raw TCP clients) reach nothing; the proxy does not chain
//!   to a proxy the caller itself must use (a corporate `HTTPS_PROXY`).
#![deny(missing_docs)]

mod exec;
mod fs;
mod mounts;
mod netns;
mod proxy;
mod reaper;
mod root;
mod seccomp;
mod signals;
mod stack;
mod sys;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

pub use exec::SetupStep;
pub use netns::PreparedNetwork;
pub use proxy::{non_public, HostPattern, NetworkPolicy, Refusal};

/// What the sandboxed command may access, besides the fixed system rules
/// described in the [crate documentation](crate).
///
/// Paths are canonicalised (symlinks resolved) when a command runs; Landlock
/// rules apply to the resolved directory, so a symlink inside the project that
/// points elsewhere grants nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Directory tree the command may read, write, create and delete in (the project root).
    pub project_root: PathBuf,
    /// Extra trees with full read-write access (e.g. policy-listed caches). Usually empty.
    /// Entries that do not exist are skipped (a missing grant only restricts more).
    pub extra_read_write: Vec<PathBuf>,
    /// Extra trees with read + execute access. Usually empty.
    /// Entries that do not exist are skipped.
    pub extra_read_exec: Vec<PathBuf>,
    /// Environment variables of the caller the command does not get
    /// (credentials, agent sockets: the caller decides which). Usually
    /// empty here; `shellgate run` fills it.
    pub env_remove: Vec<std::ffi::OsString>,
    /// Directories inside the project the command may change but not
    /// move or remove (a repository's `.git`, which holds read-only
    /// paths: moved away, a new `.git` could take its place): bind-mounted
    /// onto themselves, so rename(2) and rmdir(2) fail with `EBUSY`.
    /// Skipped like [`Self::read_only`].
    pub pinned: Vec<PathBuf>,
    /// Paths inside the project the command may read but not change
    /// (`.git/hooks`, `.git/config`): bind-mounted read-only in a private
    /// mount namespace. Paths that do not exist, or resolve outside the
    /// project (which Landlock already closes), are skipped.
    pub read_only: Vec<PathBuf>,
    /// Paths inside the project the command may not see (ignore-file
    /// matches such as `.env`): covered by an empty read-only file or
    /// directory. Skipped like [`Self::read_only`].
    pub hidden: Vec<PathBuf>,
    /// `None`: no network at all (sockets other than `socketpair(AF_UNIX)`
    /// fail). `Some`: a private network namespace with only loopback and
    /// the filtering proxy as the way out, letting through what the
    /// policy allows (see `proxy.rs`). Needs user namespaces
    /// ([`Capabilities::user_namespaces`]).
    pub network: Option<NetworkPolicy>,
}

impl SandboxConfig {
    /// A configuration granting only `project_root` (plus the fixed system rules).
    pub fn new(project_root: impl Into<PathBuf>) -> Self {
        SandboxConfig {
            project_root: project_root.into(),
            extra_read_write: Vec::new(),
            extra_read_exec: Vec::new(),
            env_remove: Vec::new(),
            pinned: Vec::new(),
            read_only: Vec::new(),
            hidden: Vec::new(),
            network: None,
        }
    }
}

/// Why Landlock cannot be used on this system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockUnavailable {
    /// The kernel has no Landlock (`ENOSYS`: Linux < 5.13 or built without
    /// `CONFIG_SECURITY_LANDLOCK`).
    NotBuilt,
    /// Landlock is built in but not enabled at boot (`EOPNOTSUPP`: missing from
    /// the `lsm=` boot parameter / `CONFIG_LSM`).
    Disabled,
    /// The probe failed with another errno, typically `EPERM` because an outer
    /// seccomp policy (container runtime) blocks the Landlock syscalls.
    Blocked(i32),
}

/// What the running kernel supports, as far as this sandbox is concerned.
///
/// Filled by [`probe`]; used by `shellgate run` (through [`run_bash`], which
/// calls [`Capabilities::check`]) and by diagnostics such as a `doctor` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Landlock ABI version reported by
    /// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`
    /// (landlock.rst, "Landlock ABI versions"); `None` when Landlock is unusable.
    pub landlock_abi: Option<i32>,
    /// Why Landlock is unusable; `None` when [`Self::landlock_abi`] is `Some`.
    pub landlock_unavailable: Option<LandlockUnavailable>,
    /// seccomp filter mode is usable: `seccomp(SECCOMP_GET_ACTION_AVAIL)`
    /// confirms both `SECCOMP_RET_ERRNO` and `SECCOMP_RET_KILL_PROCESS`
    /// (man 2 seccomp; needs Linux >= 4.14 with `CONFIG_SECCOMP_FILTER`).
    pub seccomp: bool,
    /// `prctl(PR_GET_NO_NEW_PRIVS)` works (man 2 prctl; Linux >= 3.5).
    pub no_new_privs: bool,
    /// The build target has a seccomp syscall table here (x86_64 or aarch64).
    pub seccomp_arch_supported: bool,
    /// `/proc/thread-self/children` is readable (proc(5); Linux >= 3.17
    /// with `CONFIG_PROC_CHILDREN` and `/proc` mounted): the reaper lists
    /// what the command left running through it.
    pub process_children: bool,
    /// Unprivileged user namespaces look available: `user.max_user_namespaces`
    /// is not 0, and neither `kernel.unprivileged_userns_clone` (Debian)
    /// nor `kernel.apparmor_restrict_unprivileged_userns` (Ubuntu) forbids
    /// them to a non-root caller (user_namespaces(7)). Read from
    /// `/proc/sys`; a namespace that still cannot be made fails the run at
    /// [`SetupStep::MountNamespace`].
    pub user_namespaces: bool,
}

impl Capabilities {
    /// Landlock can deny TCP bind/connect (ABI >= 4). Informational: seccomp
    /// already denies non-`AF_UNIX` sockets.
    pub fn landlock_network(&self) -> bool {
        self.landlock_abi.is_some_and(|abi| abi >= 4)
    }

    /// Landlock can scope signals and abstract unix sockets (ABI >= 6).
    pub fn landlock_scopes(&self) -> bool {
        self.landlock_abi.is_some_and(|abi| abi >= 6)
    }

    /// Commands run in a private root holding only the trees they are
    /// granted (`root.rs`): everything else, `$HOME`, `/run`, `/tmp`,
    /// `/var`, is not there at all. Needs user namespaces.
    pub fn private_root(&self) -> bool {
        self.user_namespaces
    }

    /// A command may create Unix sockets (`socket(AF_UNIX)`): it has a
    /// private root, so no pathname socket outside can be named, and no
    /// abstract socket outside can be reached either, thanks to a network
    /// namespace of its own (`network`: the run has network) or to
    /// Landlock's abstract-socket scope (ABI >= 6).
    pub fn unix_sockets(&self, network: bool) -> bool {
        self.private_root() && (network || self.landlock_scopes())
    }

    /// `Ok(())` when every mandatory part of the sandbox (Landlock filesystem
    /// rules, seccomp, no_new_privs) can be enforced.
    ///
    /// # Errors
    /// The first missing part, as [`SandboxError::LandlockUnavailable`],
    /// [`SandboxError::SeccompUnavailable`],
    /// [`SandboxError::NoNewPrivsUnavailable`] or
    /// [`SandboxError::ReaperUnavailable`]; each message says how to fix it.
    pub fn check(&self) -> Result<(), SandboxError> {
        match (self.landlock_abi, self.landlock_unavailable) {
            (Some(abi), _) if abi >= 1 => {}
            (_, reason) => {
                let (reason, hint) = match reason {
                    Some(LandlockUnavailable::Disabled) => (
                        "Landlock is built into this kernel but not enabled".to_string(),
                        "add \"landlock\" to the lsm= kernel boot parameter (or CONFIG_LSM), e.g. \
                         lsm=landlock,lockdown,yama,integrity,apparmor,bpf, and reboot",
                    ),
                    Some(LandlockUnavailable::Blocked(errno)) => (
                        format!(
                            "the Landlock probe failed: {}",
                            io::Error::from_raw_os_error(errno)
                        ),
                        "if shellgate runs inside a container, allow the landlock_* syscalls in \
                         the container's seccomp profile, or run shellgate on the host",
                    ),
                    _ => (
                        "this kernel has no Landlock support".to_string(),
                        "use Linux >= 5.13 built with CONFIG_SECURITY_LANDLOCK=y (most current \
                         distribution kernels are) and enable it with lsm=landlock,...",
                    ),
                };
                return Err(SandboxError::LandlockUnavailable { reason, hint });
            }
        }
        if !self.seccomp_arch_supported {
            return Err(SandboxError::SeccompUnavailable {
                reason: format!(
                    "shellgate has no seccomp syscall table for the {} architecture",
                    std::env::consts::ARCH
                ),
                hint: "run shellgate on x86_64 or aarch64",
            });
        }
        if !self.seccomp {
            return Err(SandboxError::SeccompUnavailable {
                reason: "seccomp filter mode with SECCOMP_RET_ERRNO is not available".into(),
                hint: "use Linux >= 4.14 built with CONFIG_SECCOMP_FILTER=y; inside a container, \
                       allow the seccomp(2) syscall",
            });
        }
        if !self.no_new_privs {
            return Err(SandboxError::NoNewPrivsUnavailable);
        }
        if !self.process_children {
            return Err(SandboxError::ReaperUnavailable);
        }
        Ok(())
    }
}

/// Asks the running kernel which sandboxing features it has. Never fails and
/// has no side effect on the calling process (only query syscalls are made).
///
/// * Landlock: `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`
///   returns the ABI version, or fails with `ENOSYS` (not built) /
///   `EOPNOTSUPP` (disabled at boot) (landlock.rst).
/// * seccomp: `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)` for
///   `SECCOMP_RET_ERRNO` and `SECCOMP_RET_KILL_PROCESS` (man 2 seccomp).
/// * no_new_privs: `prctl(PR_GET_NO_NEW_PRIVS)` (man 2 prctl).
/// * the reaper's child list: `/proc/thread-self/children` can be read.
///
/// The kernel is asked once per process; later calls return the same
/// answer (a `shellgate run` checks before deciding and again before the
/// fork).
pub fn probe() -> Capabilities {
    static CAPS: std::sync::OnceLock<Capabilities> = std::sync::OnceLock::new();
    CAPS.get_or_init(probe_kernel).clone()
}

/// The queries behind [`probe`].
fn probe_kernel() -> Capabilities {
    // SAFETY: the VERSION query takes no attribute pointer (NULL, size 0) and
    // only returns an integer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    let (landlock_abi, landlock_unavailable) = if ret >= 1 {
        (Some(ret as i32), None)
    } else {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let reason = match errno {
            libc::ENOSYS => LandlockUnavailable::NotBuilt,
            libc::EOPNOTSUPP => LandlockUnavailable::Disabled,
            other => LandlockUnavailable::Blocked(other),
        };
        (None, Some(reason))
    };

    let action_avail = |action: u32| {
        // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32 from the pointer and
        // changes nothing.
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_GET_ACTION_AVAIL,
                0u32,
                &action as *const u32,
            ) == 0
        }
    };
    let seccomp =
        action_avail(libc::SECCOMP_RET_ERRNO) && action_avail(libc::SECCOMP_RET_KILL_PROCESS);
    // SAFETY: PR_GET_NO_NEW_PRIVS only returns the current value.
    let no_new_privs = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } >= 0;

    Capabilities {
        landlock_abi,
        landlock_unavailable,
        seccomp,
        no_new_privs,
        seccomp_arch_supported: seccomp::ARCH_SUPPORTED,
        process_children: std::fs::File::open("/proc/thread-self/children").is_ok(),
        user_namespaces: user_namespaces_allowed(),
    }
}

/// See [`Capabilities::user_namespaces`].
fn user_namespaces_allowed() -> bool {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/{name}"))
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    read("user/max_user_namespaces") != Some(0)
        && (root
            || (read("kernel/unprivileged_userns_clone") != Some(0)
                && read("kernel/apparmor_restrict_unprivileged_userns") != Some(1)))
}

/// `LANDLOCK_CREATE_RULESET_VERSION` from `<linux/landlock.h>`.
const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1 << 0;

/// The three standard streams of the sandboxed command.
///
/// The sandbox never replaces them: whatever is given here becomes fds 0, 1
/// and 2 of `bash`. Already-open streams are not subject to Landlock (Landlock
/// checks at `open` time), so an inherited terminal or pipe keeps working.
#[derive(Debug)]
pub struct ChildStdio {
    /// fd 0 of the command.
    pub stdin: Stdio,
    /// fd 1 of the command.
    pub stdout: Stdio,
    /// fd 2 of the command.
    pub stderr: Stdio,
}

impl ChildStdio {
    /// All three streams inherited from the calling process (pass-through).
    pub fn inherit() -> Self {
        ChildStdio {
            stdin: Stdio::inherit(),
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
        }
    }
}

/// Runs `bash -c command` with working directory `cwd` inside the sandbox,
/// with stdin/stdout/stderr inherited (passed through), and waits for it.
///
/// * `config`: what the command may access (see [`SandboxConfig`]).
/// * `command`: the approved command line, passed verbatim as `bash -c command`.
/// * `cwd`: must exist and lie inside `config.project_root` (after resolving symlinks).
///
/// Returns the exit status of `bash` (use [`exit_code`] for a shell-style code).
/// The environment is inherited except `TMPDIR`, `TMP` and `TEMP`, which point
/// to a private temp dir created for this run and removed afterwards. While
/// waiting, `SIGINT`, `SIGTERM`, `SIGHUP` and `SIGQUIT` received by the caller
/// are forwarded to the command's process group (the command runs in its own
/// session, so the terminal does not deliver them); previous handlers are
/// restored afterwards. If the caller dies, `bash` gets `SIGKILL`
/// (`PR_SET_PDEATHSIG`). When `bash` exits, every process it left running,
/// however detached, is killed before this returns (see the crate doc).
///
/// # Errors
/// Fails closed — the command is not run — when the kernel lacks a mandatory
/// feature ([`SandboxError::LandlockUnavailable`],
/// [`SandboxError::SeccompUnavailable`], [`SandboxError::NoNewPrivsUnavailable`],
/// [`SandboxError::ReaperUnavailable`]),
/// when a path is unusable ([`SandboxError::ProjectRoot`],
/// [`SandboxError::ProjectRootTooBroad`], [`SandboxError::CwdOutsideProject`],
/// [`SandboxError::Cwd`], [`SandboxError::BashNotFound`],
/// [`SandboxError::BashOutsideSandbox`], [`SandboxError::TempDir`]), when the
/// ruleset or filter cannot be built, or when a confinement step fails in the
/// child ([`SandboxError::ChildSetup`]).
pub fn run_bash(
    config: &SandboxConfig,
    command: &str,
    cwd: &Path,
) -> Result<ExitStatus, SandboxError> {
    run_bash_with(config, command, cwd, ChildStdio::inherit())
}

/// Like [`run_bash`], but with explicit standard streams (e.g. files or pipes
/// to capture output). Same inputs, outputs and errors otherwise.
pub fn run_bash_with(
    config: &SandboxConfig,
    command: &str,
    cwd: &Path,
    stdio: ChildStdio,
) -> Result<ExitStatus, SandboxError> {
    run_bash_args(config, command, &[], cwd, stdio)
}

/// Like [`run_bash_with`], with the words that follow the command string
/// in `bash -c COMMAND NAME ARGS…`: `args[0]` becomes `$0` and the rest
/// the positional parameters `$1`… (bash manual, "Invoking Bash", `-c`).
/// Same outputs and errors as [`run_bash`].
pub fn run_bash_args(
    config: &SandboxConfig,
    command: &str,
    args: &[std::ffi::OsString],
    cwd: &Path,
    stdio: ChildStdio,
) -> Result<ExitStatus, SandboxError> {
    run(config, command, args, cwd, stdio).map(|r| r.status)
}

/// What a sandboxed run ended with.
#[derive(Debug)]
pub struct RunReport {
    /// The exit status of `bash` (see [`exit_code`]).
    pub status: ExitStatus,
    /// Destinations the proxy refused, in order (empty without a network
    /// namespace). Each was also printed to stderr as it happened.
    pub refused: Vec<Refusal>,
}

/// Runs like [`run_bash_args`] and also reports what the proxy refused.
///
/// With [`SandboxConfig::network`] set, the command runs in a network
/// namespace of its own, whose only way out is shellgate's filtering
/// proxy; it finds the proxy through `HTTP_PROXY`, `HTTPS_PROXY`,
/// `ALL_PROXY` (SOCKS5) and their lower-case forms, all pointing at
/// `127.0.0.1` in its namespace, and `NO_PROXY` keeps loopback direct.
///
/// # Errors
/// As [`run_bash`]; with a network policy, also
/// [`SandboxError::UserNamespacesUnavailable`] when the kernel does not
/// allow the namespace (the caller may then run without network).
pub fn run(
    config: &SandboxConfig,
    command: &str,
    args: &[std::ffi::OsString],
    cwd: &Path,
    stdio: ChildStdio,
) -> Result<RunReport, SandboxError> {
    run_prepared(config, None, command, args, cwd, stdio)
}

/// Like [`run`], with the network namespace already being made: a caller
/// that knows early that the command will have network (its policy trusts
/// a remote) calls [`PreparedNetwork::start`] first, so the kernel's work
/// of making the namespace overlaps the caller's own (deciding, writing
/// the audit record). `network` is used only when
/// [`SandboxConfig::network`] is set; when it is `None` there, one is
/// started here. Same outputs and errors as [`run`].
pub fn run_prepared(
    config: &SandboxConfig,
    network: Option<PreparedNetwork>,
    command: &str,
    args: &[std::ffi::OsString],
    cwd: &Path,
    stdio: ChildStdio,
) -> Result<RunReport, SandboxError> {
    let caps = probe();
    caps.check()?;
    let abi = caps.landlock_abi.unwrap_or(0);
    let prepared = match (&config.network, network) {
        (None, _) => None,
        (Some(_), Some(prepared)) => Some(prepared),
        (Some(_), None) => Some(PreparedNetwork::start()?),
    };
    let network = prepared.is_some();

    let project_root = canonical_project_root(&config.project_root)?;
    let cwd = std::fs::canonicalize(cwd).map_err(|source| SandboxError::Cwd {
        path: cwd.to_path_buf(),
        source,
    })?;
    if !cwd.starts_with(&project_root) {
        return Err(SandboxError::CwdOutsideProject { cwd, project_root });
    }

    let inside = |paths: &[PathBuf]| -> Vec<PathBuf> {
        paths
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .filter(|p| p.starts_with(&project_root) && *p != project_root)
            .collect()
    };
    let (pinned, read_only, hidden) = (
        inside(&config.pinned),
        inside(&config.read_only),
        inside(&config.hidden),
    );

    // Without user namespaces there is no private root (and no Unix
    // socket, see `seccomp.rs`).
    let private_root = caps.private_root();
    let mut grants = fs::grants(abi, &project_root, None, config);
    // The private root holds exactly the granted trees, at their paths,
    // and a fresh tmpfs at `/tmp` (the command's `$TMPDIR`) and at
    // `/dev/shm`, where no granted tree is or holds them.
    let all = fs::all_access(abi);
    let mut layout = private_root.then(|| {
        let mut layout = root::Layout::default();
        for grant in &grants {
            layout.mirror(&grant.path, grant.access.bits() == all);
        }
        layout
    });
    let private_tmp = layout.as_mut().is_some_and(|l| l.tmpfs(Path::new("/tmp")));
    if let Some(layout) = layout.as_mut() {
        layout.tmpfs(Path::new("/dev/shm"));
        // As in a real /dev (and bubblewrap's): what bash opens for
        // process substitution `<(…)` and `> /dev/stderr`.
        for (path, target) in DEV_LINKS {
            layout.link(Path::new(path), Path::new(target));
        }
    }

    // Not inside the project (a harness may point TMPDIR there, or the
    // project is /tmp itself): the root's mount point must lie outside
    // every tree the command sees.
    let temp_base = [
        std::env::temp_dir(),
        "/tmp".into(),
        "/var/tmp".into(),
        "/dev/shm".into(),
    ]
    .into_iter()
    .filter_map(|base| std::fs::canonicalize(base).ok())
    .find(|base| !base.starts_with(&project_root))
    .unwrap_or_else(std::env::temp_dir);
    // The root's mount point: one kept directory per user, so that a run
    // makes and removes nothing on the host's disk (each directory made
    // and removed on ext4 costs 0.1-0.3 ms).
    let kept_mountpoint = if private_root {
        root::kept_mountpoint(&temp_base)
    } else {
        None
    };
    // The run's own directory (0700), only when needed: `tmp`, the
    // command's `$TMPDIR` when it has no private `/tmp`; `root`, the
    // mount point when the kept one is not ours alone; `empty`, what
    // hidden files are covered with when there is no private root.
    let run_dir = if !private_tmp || kept_mountpoint.is_none() {
        Some(
            tempfile::Builder::new()
                .prefix("shellgate-sandbox-")
                .tempdir_in(&temp_base)
                .map_err(SandboxError::TempDir)?,
        )
    } else {
        None
    };
    let run_path = match &run_dir {
        Some(dir) => Some(std::fs::canonicalize(dir.path()).map_err(SandboxError::TempDir)?),
        None => None,
    };
    let in_run_dir = |name: &str| -> Result<PathBuf, SandboxError> {
        let path = run_path
            .as_ref()
            .map(|p| p.join(name))
            .ok_or_else(|| SandboxError::Internal(io::Error::other("no run directory")))?;
        std::fs::create_dir(&path).map_err(SandboxError::TempDir)?;
        Ok(path)
    };
    let tmpdir = if private_tmp {
        PathBuf::from("/tmp")
    } else {
        let tmp = in_run_dir("tmp")?;
        grants = fs::grants(abi, &project_root, Some(&tmp), config);
        if let Some(layout) = layout.as_mut() {
            layout.mirror(&tmp, true);
        }
        tmp
    };

    let bash = resolve_bash()?;
    let bash_real = std::fs::canonicalize(&bash).unwrap_or_else(|_| bash.clone());
    if !fs::executable_under(&grants, &bash_real) {
        return Err(SandboxError::BashOutsideSandbox { path: bash_real });
    }

    let ruleset = fs::build_ruleset(abi, &grants, network)?;
    let root = match &layout {
        Some(layout) => {
            let mountpoint = match kept_mountpoint {
                Some(kept) => kept,
                None => in_run_dir("root")?,
            };
            let root = root::Root::new(layout, &mountpoint, &cwd, all);
            Some(root.map_err(|e| {
                SandboxError::TempDir(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{e}: set TMPDIR to a directory outside every tree the policy grants"),
                ))
            })?)
        }
        None => None,
    };
    let sockets = seccomp::Sockets {
        network,
        unix: root.is_some() && caps.unix_sockets(network),
    };
    let filters = vec![seccomp::build_filter(sockets)?];
    // What hidden files are covered with without a private root: empty,
    // read-only (the root has its own).
    let empty = match (&run_path, &root) {
        (Some(run_path), None) if !hidden.is_empty() => {
            let empty = run_path.join("empty");
            std::fs::write(&empty, b"")
                .and_then(|()| {
                    std::fs::set_permissions(
                        &empty,
                        std::os::unix::fs::PermissionsExt::from_mode(0o444),
                    )
                })
                .map_err(SandboxError::TempDir)?;
            Some(empty)
        }
        _ => None,
    };
    // As late as possible: the helper has had all of the above to make
    // the namespaces.
    let joined = prepared.map(PreparedNetwork::finish).transpose()?;
    let join = joined.as_ref().map(|j| {
        use std::os::fd::AsRawFd;
        (j.user.as_raw_fd(), j.net.as_raw_fd())
    });
    let mounts = mounts::MountPlan::new(&pinned, &read_only, &hidden, empty.as_deref(), join, root);
    // `_helper` is reaped when this function returns, after the run.
    let (proxy, env_set, _helper) = match (joined, &config.network) {
        (Some(joined), Some(policy)) => {
            let env = proxy_env(joined.port);
            // The namespace descriptors stay open until the child has
            // joined: `spawn_and_wait` closes them once the spawn returned.
            let namespaces = (joined.user, joined.net);
            (
                Some((joined.listener, policy.clone(), namespaces)),
                env,
                Some(joined.zombie),
            )
        }
        _ => (None, Vec::new(), None),
    };

    let result = exec::spawn_and_wait(exec::Plan {
        // By its real path: the one the root has (NixOS's
        // /run/current-system/sw/bin/bash is not in it, its target is).
        bash: &bash_real,
        command,
        args,
        cwd: &cwd,
        tmpdir: &tmpdir,
        env_remove: &config.env_remove,
        ruleset: &ruleset,
        filters,
        mounts,
        env_set,
        proxy,
        stdio,
    });
    drop(ruleset);
    // Remove the run's directory (std's remove_dir_all does not follow
    // symlinks, nor cross into a mount: the root's tmpfs lived only in
    // the command's mount namespace).
    if let Some(run_dir) = run_dir {
        let _ = run_dir.close();
    }
    result.map(|(status, refused)| RunReport { status, refused })
}

/// The symlinks of a private root's `/dev` to the process's own
/// descriptors (proc(5), `/proc/self/fd`; bash manual, "Redirections").
const DEV_LINKS: [(&str, &str); 4] = [
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
];

/// The proxy's port in the command's namespace: a port below the usual
/// ephemeral range (32768–60999), different from run to run so that a
/// program cannot count on it. The namespace is new, so any port is free.
pub(crate) fn proxy_port() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    20000 + ((nanos ^ std::process::id().rotate_left(16)) % 12000) as u16
}

/// The variables that point HTTP clients (curl, git, pip, npm, cargo) at
/// the proxy: `HTTP(S)_PROXY` for HTTP `CONNECT`, `ALL_PROXY` for SOCKS5
/// with names resolved by the proxy (`socks5h`), upper- and lower-case as
/// the tools differ; `NO_PROXY` keeps loopback (the command's own servers)
/// direct.
fn proxy_env(port: u16) -> Vec<(String, String)> {
    let http = format!("http://127.0.0.1:{port}");
    let socks = format!("socks5h://127.0.0.1:{port}");
    let no_proxy = "localhost,127.0.0.1,::1".to_string();
    let mut env = Vec::new();
    for (name, value) in [
        ("HTTP_PROXY", &http),
        ("HTTPS_PROXY", &http),
        ("ALL_PROXY", &socks),
        ("NO_PROXY", &no_proxy),
    ] {
        env.push((name.to_string(), value.clone()));
        env.push((name.to_ascii_lowercase(), value.clone()));
    }
    env
}

/// Maps an [`ExitStatus`] to a shell-style exit code: the exit code, or
/// `128 + signal` when the process was killed by a signal (as bash reports
/// `$?`). Returns 1 for a status that is neither (not produced by `wait`).
pub fn exit_code(status: &ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    }
}

/// Canonicalises the project root and refuses roots so broad that the
/// sandbox would stop protecting the user's files (`/`, `$HOME` or an
/// ancestor of `$HOME`).
fn canonical_project_root(root: &Path) -> Result<PathBuf, SandboxError> {
    let canonical = std::fs::canonicalize(root).map_err(|source| SandboxError::ProjectRoot {
        path: root.to_path_buf(),
        source,
    })?;
    if !canonical.is_dir() {
        return Err(SandboxError::ProjectRoot {
            path: root.to_path_buf(),
            source: io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    if canonical == Path::new("/") {
        return Err(SandboxError::ProjectRootTooBroad {
            path: canonical,
            reason: "it is the filesystem root",
        });
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        if let Ok(home) = std::fs::canonicalize(home) {
            if home.starts_with(&canonical) {
                return Err(SandboxError::ProjectRootTooBroad {
                    path: canonical,
                    reason: "it is the home directory or contains it (~/.ssh, ~/.bashrc, ...)",
                });
            }
        }
    }
    Ok(canonical)
}

/// Absolute path of `bash`: `/usr/bin/bash`, `/bin/bash`, then the absolute
/// entries of `$PATH`, first executable regular file wins.
fn resolve_bash() -> Result<PathBuf, SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let fixed = [PathBuf::from("/usr/bin/bash"), PathBuf::from("/bin/bash")];
    let from_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("bash"));
    fixed
        .into_iter()
        .chain(from_path)
        .find(|p| is_exec(p))
        .ok_or(SandboxError::BashNotFound)
}

/// Everything that can prevent a sandboxed run. Each message says what failed
/// and what the user can do; in every case the command was **not** run
/// (except [`SandboxError::Wait`], where it was started).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// Landlock is missing, disabled or blocked; shellgate will not run commands
    /// without filesystem confinement.
    #[error(
        "cannot sandbox the command: {reason}. shellgate refuses to run commands without \
         Landlock filesystem confinement. To fix: {hint}"
    )]
    LandlockUnavailable {
        /// What the probe found.
        reason: String,
        /// What the user can do.
        hint: &'static str,
    },
    /// seccomp filter mode is unusable.
    #[error(
        "cannot sandbox the command: {reason}. shellgate refuses to run commands without a \
         seccomp filter. To fix: {hint}"
    )]
    SeccompUnavailable {
        /// What is missing.
        reason: String,
        /// What the user can do.
        hint: &'static str,
    },
    /// `prctl(PR_SET_NO_NEW_PRIVS)` is unsupported (Linux < 3.5).
    #[error(
        "cannot sandbox the command: prctl(PR_SET_NO_NEW_PRIVS) is not supported by this kernel. \
         To fix: use Linux >= 5.13 (needed for Landlock anyway)"
    )]
    NoNewPrivsUnavailable,
    /// `/proc/thread-self/children` cannot be read, so processes the command
    /// leaves running could not be found and stopped.
    #[error(
        "cannot sandbox the command: /proc/thread-self/children cannot be read, so processes \
         the command leaves running could not be stopped. To fix: mount /proc and use a kernel \
         built with CONFIG_PROC_CHILDREN=y (Linux >= 3.17; most distribution kernels are)"
    )]
    ReaperUnavailable,
    /// The project root does not exist, is not a directory or cannot be resolved.
    #[error(
        "the project root {path} cannot be used: {source}. Check that it exists, is a directory \
         and is accessible"
    )]
    ProjectRoot {
        /// The configured project root.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: io::Error,
    },
    /// The project root would expose too much (e.g. `/` or `$HOME`).
    #[error(
        "the project root {path} is too broad to sandbox ({reason}). To fix: run shellgate with \
         the project's own directory as project root"
    )]
    ProjectRootTooBroad {
        /// The canonical project root.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The working directory does not exist or cannot be resolved.
    #[error("the working directory {path} cannot be used: {source}. Check that it exists")]
    Cwd {
        /// The requested working directory.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: io::Error,
    },
    /// The working directory lies outside the project root.
    #[error(
        "the working directory {cwd} is outside the project root {project_root}. To fix: cd into \
         the project, or configure a project root that contains this directory"
    )]
    CwdOutsideProject {
        /// The canonical working directory.
        cwd: PathBuf,
        /// The canonical project root.
        project_root: PathBuf,
    },
    /// No `bash` binary was found.
    #[error(
        "bash was not found (searched /usr/bin/bash, /bin/bash and $PATH). To fix: install bash"
    )]
    BashNotFound,
    /// `bash` lives outside every read+execute tree, so it could not start.
    #[error(
        "bash resolves to {path}, which is outside the trees the sandbox may execute from. To fix: \
         install bash under /usr or /bin, or add its directory to the sandbox's extra \
         read+execute paths"
    )]
    BashOutsideSandbox {
        /// The resolved bash binary.
        path: PathBuf,
    },
    /// The private temp dir could not be created.
    #[error(
        "cannot create the sandbox's private temp dir: {0}. To fix: make sure $TMPDIR (or /tmp) \
         exists and is writable"
    )]
    TempDir(#[source] io::Error),
    /// Building the Landlock ruleset failed (including partial kernel support).
    #[error(
        "cannot build the Landlock ruleset ({context}): {detail}. The command was not run. To fix: \
         check that the path exists and is readable; if the kernel only partially supports \
         Landlock, upgrade it"
    )]
    LandlockRuleset {
        /// The step or path concerned.
        context: String,
        /// The Landlock library's error.
        detail: String,
    },
    /// Compiling the seccomp filter failed (a bug in shellgate).
    #[error("cannot compile the seccomp filter: {0}. This is a shellgate bug; please report it")]
    SeccompCompile(String),
    /// A confinement step failed in the child, before `bash` was executed.
    #[error(
        "sandbox setup failed at step `{step}`: {source}. The command was NOT run. To fix: {hint}",
        hint = step.hint()
    )]
    ChildSetup {
        /// The step that failed.
        step: SetupStep,
        /// The errno it failed with.
        #[source]
        source: io::Error,
    },
    /// Creating the child failed (`fork`/`execve` of bash).
    #[error("cannot start {path}: {source}. The command was not run")]
    Spawn {
        /// The bash binary.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Internal plumbing (the setup-status pipe) failed before the fork.
    #[error("cannot prepare the sandbox: {0}. The command was not run")]
    Internal(#[source] io::Error),
    /// The command may use the network, which needs a network namespace of
    /// its own, but user namespaces are not allowed here.
    #[error(
        "cannot give the command a private network: unprivileged user namespaces are not \
         allowed on this machine. To fix: allow them (sysctl user.max_user_namespaces > 0, \
         kernel.unprivileged_userns_clone=1; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0 \
         or an AppArmor profile for shellgate), or set `network = \"none\"` in the policy's \
         [sandbox] section to run without network"
    )]
    UserNamespacesUnavailable,
    /// Waiting for the command failed; it may still be running.
    #[error("waiting for the sandboxed command failed: {0}")]
    Wait(#[source] io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix sockets need the private root, and abstract sockets outside
    /// kept out of reach: by a network namespace of the run's own, or by
    /// Landlock's scope (ABI >= 6).
    #[test]
    fn unix_sockets_need_a_private_root_and_a_scope_or_a_network_namespace() {
        let caps = |abi: i32, user_namespaces: bool| Capabilities {
            landlock_abi: Some(abi),
            landlock_unavailable: None,
            seccomp: true,
            no_new_privs: true,
            seccomp_arch_supported: true,
            process_children: true,
            user_namespaces,
        };
        assert!(caps(6, true).unix_sockets(false));
        assert!(caps(5, true).unix_sockets(true));
        assert!(!caps(5, true).unix_sockets(false));
        assert!(!caps(7, false).unix_sockets(false));
        assert!(!caps(7, false).unix_sockets(true));
    }
}
