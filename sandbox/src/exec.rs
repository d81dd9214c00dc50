//! fork/exec of `bash -c COMMAND` and the confinement steps of the child.
//!
//! Everything that allocates (ruleset, BPF programs, argv/envp, the command
//! process's stack) is prepared in the parent. Between `fork` and `execve`
//! the child runs only [`ChildSetup::apply`], which makes raw,
//! async-signal-safe syscalls on data prepared beforehand (the
//! `Command::pre_exec` contract).
//!
//! std's `Command` forks the child and sets its standard streams and
//! working directory; the child becomes the reaper (`reaper.rs`) and
//! starts the command process with `clone(CLONE_VM | CLONE_VFORK)`
//! (clone(2)): it runs on a stack of its own in the reaper's memory, which
//! is suspended until it has called `execve` (or exited), so no page table
//! of the shellgate-sized process is copied for a process that is about to
//! replace its memory anyway. It `execve`s bash itself with the prepared
//! argv and environment, and reports a failed `execve` on the report pipe
//! ([`SetupStep::Exec`]).

use std::ffi::{c_char, c_long, CString, OsString};
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus};

use seccompiler::BpfProgram;

use crate::{reaper, signals, ChildStdio, SandboxError};

/// A confinement step run in the child before `execve`, in this order.
/// Named in [`SandboxError::ChildSetup`] when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupStep {
    /// `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`: no fd above 2 survives `execve`
    /// (man 2 close_range; Linux >= 5.11, implied by Landlock's 5.13).
    CloseFds = 1,
    /// `setsid()`: new session without a controlling terminal, so `TIOCSTI`
    /// cannot inject keystrokes into the user's shell (man 2 setsid).
    Setsid = 2,
    /// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the command dies with its parent
    /// (man 2 prctl).
    ParentDeathSignal = 3,
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: `execve` can never grant privileges
    /// (set-uid, file capabilities); required by unprivileged Landlock and
    /// seccomp (man 2 prctl, `Documentation/userspace-api/no_new_privs.rst`).
    NoNewPrivs = 4,
    /// `landlock_restrict_self(ruleset_fd, 0)` (landlock.rst).
    Landlock = 5,
    /// `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)` with the one chained program (man 2 seccomp; see `seccomp.rs`).
    Seccomp = 6,
    /// `prctl(PR_SET_CHILD_SUBREAPER, 1)` and opening
    /// `/proc/thread-self/children`: the process that stays behind to kill
    /// what the command leaves running (see `reaper.rs`; man 2 prctl,
    /// proc(5)).
    Subreaper = 7,
    /// `clone(CLONE_VM | CLONE_VFORK)` of the process that becomes `bash`,
    /// which then runs `setsid` and the parent-death signal again for itself.
    Fork = 8,
    /// Every capability dropped: the bounding set emptied
    /// (`PR_CAPBSET_DROP`, when the caller holds `CAP_SETPCAP`, i.e. runs as
    /// root), the ambient set cleared, and `capset` to nothing, so a
    /// command run by root gains none on `execve` either (man 7
    /// capabilities).
    DropCapabilities = 9,
    /// New user and mount namespaces in which the private root is built
    /// and entered (`root.rs`: a tmpfs, bind mounts, `pivot_root`) and
    /// read-only and hidden paths of the project are covered (see
    /// `mounts.rs`; user_namespaces(7), mount_namespaces(7)); when the
    /// command may use the network, the user and network namespaces made
    /// by the helper of `netns.rs` are joined (`setns(2)`) instead of a
    /// new user namespace. Whenever user namespaces are available, and
    /// without them when the project has paths to cover (which then
    /// fails). Also the helper's own `unshare` and id maps.
    MountNamespace = 10,
    /// In the helper's new network namespace (`netns.rs`): `lo` up, the
    /// proxy listener on `127.0.0.1`, both namespaces and the listener
    /// handed to shellgate over `SCM_RIGHTS`.
    NetworkNamespace = 11,
    /// `fstat` of the standard streams (fds 0–2): none may be a
    /// directory, whose descriptor (through `/proc/self/fd/N`, which
    /// needs no Landlock right to enter) would lead out of the private
    /// root to every socket outside. Fails with `EISDIR`.
    StandardStreams = 12,
    /// `execve` of bash by the command process. Reported as
    /// [`SandboxError::Spawn`].
    Exec = 13,
}

impl SetupStep {
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => SetupStep::CloseFds,
            2 => SetupStep::Setsid,
            3 => SetupStep::ParentDeathSignal,
            4 => SetupStep::NoNewPrivs,
            5 => SetupStep::Landlock,
            6 => SetupStep::Seccomp,
            7 => SetupStep::Subreaper,
            8 => SetupStep::Fork,
            9 => SetupStep::DropCapabilities,
            10 => SetupStep::MountNamespace,
            11 => SetupStep::NetworkNamespace,
            12 => SetupStep::StandardStreams,
            13 => SetupStep::Exec,
            _ => return None,
        })
    }

    /// What the user can do when this step fails.
    pub fn hint(self) -> &'static str {
        match self {
            SetupStep::CloseFds => "use Linux >= 5.11 (close_range with CLOSE_RANGE_CLOEXEC)",
            SetupStep::Setsid => "report this as a shellgate bug (setsid failed in a fresh child)",
            SetupStep::ParentDeathSignal => {
                "shellgate's parent process exited during startup; retry"
            }
            SetupStep::NoNewPrivs => "use Linux >= 3.5; inside a container, allow prctl(2)",
            SetupStep::Landlock => {
                "make sure Landlock is enabled (lsm= boot parameter) and not blocked by a \
                 container's seccomp profile; run `shellgate doctor` if available"
            }
            SetupStep::Seccomp => {
                "make sure the kernel has CONFIG_SECCOMP_FILTER and that an outer seccomp policy \
                 (container runtime) allows seccomp(2)"
            }
            SetupStep::Subreaper => {
                "use Linux >= 3.17 with CONFIG_PROC_CHILDREN and /proc mounted: without them \
                 shellgate cannot stop what a command leaves running"
            }
            SetupStep::Fork => "the process limit was reached (RLIMIT_NPROC); retry later",
            SetupStep::DropCapabilities => {
                "report this as a shellgate bug (dropping capabilities cannot fail for a \
                 process that holds them)"
            }
            SetupStep::MountNamespace => {
                "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; \
                 on Ubuntu, kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor \
                 profile for shellgate): without them the project's .git/hooks, .git/config \
                 and ignored files cannot be protected, nor the network confined to the \
                 proxy, so the command is not run"
            }
            SetupStep::NetworkNamespace => {
                "report this as a shellgate bug (a fresh network namespace could not bring up \
                 lo or listen on 127.0.0.1); meanwhile set `network = \"none\"` in the \
                 policy's [sandbox] section"
            }
            SetupStep::StandardStreams => {
                "give the command a file, pipe or terminal as stdin, stdout and stderr, not a                  directory (`< /dev/null` instead of `< DIR`)"
            }
            SetupStep::Exec => {
                "make sure bash is installed and executable (shellgate runs the first bash on \
                 PATH, by its real path)"
            }
        }
    }
}

impl fmt::Display for SetupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetupStep::CloseFds => "close inherited fds (close_range)",
            SetupStep::Setsid => "setsid",
            SetupStep::ParentDeathSignal => "parent-death signal (prctl PR_SET_PDEATHSIG)",
            SetupStep::NoNewPrivs => "no_new_privs (prctl PR_SET_NO_NEW_PRIVS)",
            SetupStep::Landlock => "landlock (landlock_restrict_self)",
            SetupStep::Seccomp => "seccomp (SECCOMP_SET_MODE_FILTER)",
            SetupStep::Subreaper => "child subreaper (prctl PR_SET_CHILD_SUBREAPER)",
            SetupStep::Fork => "fork of the command process",
            SetupStep::DropCapabilities => "drop capabilities (PR_CAPBSET_DROP, capset)",
            SetupStep::MountNamespace => {
                "user, mount and network namespaces and the private root (unshare, setns, bind mounts, pivot_root)"
            }
            SetupStep::NetworkNamespace => "network namespace (lo up, proxy listener)",
            SetupStep::StandardStreams => "standard streams (fstat of fds 0-2)",
            SetupStep::Exec => "execve of bash",
        })
    }
}

/// What to run and with which prepared confinement.
pub(crate) struct Plan<'a> {
    pub bash: &'a Path,
    pub command: &'a str,
    /// `$0` and the positional parameters after the command string.
    pub args: &'a [std::ffi::OsString],
    pub cwd: &'a Path,
    pub tmpdir: &'a Path,
    /// Variables of the caller's environment the command does not get.
    pub env_remove: &'a [std::ffi::OsString],
    pub ruleset: &'a OwnedFd,
    pub filters: Vec<BpfProgram>,
    /// Paths of the project to cover, if any.
    pub mounts: Option<crate::mounts::MountPlan>,
    /// Variables set for the command (the proxy's address).
    pub env_set: Vec<(String, String)>,
    /// The proxy listener in the command's network namespace, what the
    /// proxy lets through, and the namespaces' descriptors (the child
    /// joins them; closed here once it has).
    pub proxy: Option<(
        std::net::TcpListener,
        crate::proxy::NetworkPolicy,
        (OwnedFd, OwnedFd),
    )>,
    pub stdio: ChildStdio,
}

/// Spawns `bash -c command` with the child steps, serves the proxy and
/// forwards terminal signals while waiting, and returns the exit status
/// with the destinations the proxy refused.
pub(crate) fn spawn_and_wait(
    plan: Plan<'_>,
) -> Result<(ExitStatus, Vec<crate::proxy::Refusal>), SandboxError> {
    let (report_read, report_write) = cloexec_pipe().map_err(SandboxError::Internal)?;
    let exec = ExecArgs::new(&plan)?;
    let stack = crate::stack::Stack::new().map_err(SandboxError::Internal)?;
    let setup = ChildSetup {
        ruleset_fd: plan.ruleset.as_raw_fd(),
        report_fd: report_write.as_raw_fd(),
        // SAFETY: getpid has no preconditions.
        parent_pid: unsafe { libc::getpid() },
        filters: plan.filters,
        mounts: plan.mounts,
        exec,
        stack_top: stack.top() as usize,
    };

    // std forks the child and gives it its streams and working directory;
    // the child never returns to std (it becomes the reaper, and the
    // command process it starts execs bash itself with `exec`'s argv and
    // environment).
    let mut cmd = Command::new(plan.bash);
    cmd.current_dir(plan.cwd)
        .stdin(plan.stdio.stdin)
        .stdout(plan.stdio.stdout)
        .stderr(plan.stdio.stderr);
    // SAFETY: `apply` only makes raw syscalls on integers and on memory
    // (`filters`, `exec`, the stack) allocated before fork; it does not
    // allocate, lock or touch thread-local state, as required of a
    // pre_exec closure.
    unsafe {
        cmd.pre_exec(move || setup.apply());
    }
    let spawned = cmd.spawn();
    drop(cmd);
    // Our copy of the write end must go, so that reading sees EOF once the
    // child has exec'd (CLOEXEC) or exited.
    drop(report_write);

    let mut child = match spawned {
        Ok(child) => child,
        Err(source) => {
            return Err(match read_report(report_read) {
                Some((step, errno)) => SandboxError::ChildSetup {
                    step,
                    source: io::Error::from_raw_os_error(errno),
                },
                None => SandboxError::Spawn {
                    path: plan.bash.to_path_buf(),
                    source,
                },
            })
        }
    };
    // `spawn` returned once std's own exec-error pipe was closed by every
    // process holding it: the reaper (which closes all its descriptors)
    // and the command process (at `execve`, or when it exits). They hold
    // the report pipe alike, so this read does not wait.
    if let Some((step, errno)) = read_report(report_read) {
        let _ = child.wait();
        let source = io::Error::from_raw_os_error(errno);
        return Err(match step {
            SetupStep::Exec => SandboxError::Spawn {
                path: plan.bash.to_path_buf(),
                source,
            },
            step => SandboxError::ChildSetup { step, source },
        });
    }
    // The stack was used by the command process only until its `execve`.
    drop(stack);
    // The child has joined the namespaces (spawn returns once it is past
    // its setup); the listener keeps the network namespace.
    let proxy = plan
        .proxy
        .map(|(listener, policy, _namespaces)| crate::proxy::Proxy::start(listener, policy));

    // The child is a session and process-group leader (setsid): pgid == pid.
    let _forwarding = signals::forward_to_group(child.id() as libc::pid_t);
    let status = child.wait().map_err(SandboxError::Wait)?;
    Ok((status, proxy.map(|p| p.stop()).unwrap_or_default()))
}

/// Reads the `(step, errno)` record a failing child wrote, if any.
fn read_report(read_end: OwnedFd) -> Option<(SetupStep, i32)> {
    let mut file = std::fs::File::from(read_end);
    let mut buf = [0u8; 5];
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if got != buf.len() {
        return None;
    }
    let step = SetupStep::from_code(buf[0])?;
    Some((step, i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]])))
}

fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Data the child needs; all of it prepared before `fork`.
struct ChildSetup {
    ruleset_fd: RawFd,
    report_fd: RawFd,
    parent_pid: libc::pid_t,
    filters: Vec<BpfProgram>,
    mounts: Option<crate::mounts::MountPlan>,
    exec: ExecArgs,
    /// Top of the command process's stack ([`crate::stack::Stack`]), as an
    /// address: the mapping is the parent's, inherited by the fork.
    stack_top: usize,
}

/// `execve`'s arguments for bash: its path, `bash -c -- COMMAND ARGS…`,
/// and the command's environment, as NUL-terminated strings and
/// null-terminated pointer arrays into them, made before `fork`.
struct ExecArgs {
    path: CString,
    _strings: Vec<CString>,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
}

// SAFETY: the pointers point into `_strings` and `path`, owned by the same
// value and never changed after `new`.
unsafe impl Send for ExecArgs {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for ExecArgs {}

impl ExecArgs {
    /// Builds argv and the environment of `plan`'s command from this
    /// process's environment.
    ///
    /// # Errors
    /// [`SandboxError::Spawn`] when the command, an argument or a variable
    /// holds a NUL byte (which `execve` cannot pass).
    fn new(plan: &Plan<'_>) -> Result<ExecArgs, SandboxError> {
        let nul = |_| SandboxError::Spawn {
            path: plan.bash.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "the command, an argument or an environment variable contains a NUL byte",
            ),
        };
        let path = CString::new(plan.bash.as_os_str().as_bytes()).map_err(nul)?;
        let mut args: Vec<OsString> = vec![
            plan.bash.as_os_str().to_owned(),
            "-c".into(),
            // `--` so a command string starting with `-` or `+` is never
            // read as options (bash manual, "Invoking Bash").
            "--".into(),
            plan.command.into(),
        ];
        args.extend(plan.args.iter().cloned());
        let argc = args.len();
        let mut strings = Vec::with_capacity(argc + 64);
        for arg in args {
            strings.push(CString::new(arg.into_vec()).map_err(nul)?);
        }
        for (name, value) in command_env(std::env::vars_os(), plan) {
            let mut entry = name.into_vec();
            entry.push(b'=');
            entry.extend(value.into_vec());
            strings.push(CString::new(entry).map_err(nul)?);
        }
        let pointers = |list: &[CString]| {
            list.iter()
                .map(|s| s.as_ptr())
                .chain([std::ptr::null()])
                .collect::<Vec<_>>()
        };
        let argv = pointers(&strings[..argc]);
        let envp = pointers(&strings[argc..]);
        Ok(ExecArgs {
            path,
            _strings: strings,
            argv,
            envp,
        })
    }
}

/// Variables that make bash run or redefine code the decision did not
/// see: a startup file (`BASH_ENV`, `ENV`), options (`SHELLOPTS`,
/// `BASHOPTS`) and path lookups (`CDPATH`, `GLOBIGNORE`) (bash manual,
/// "Bash Startup Files" and "Bash Variables"); exported functions
/// (`BASH_FUNC_name%%`) are dropped by prefix.
const BASH_CODE_VARIABLES: [&str; 6] = [
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "CDPATH",
    "GLOBIGNORE",
];

/// The command's environment: `inherited` without the variables of
/// [`BASH_CODE_VARIABLES`], exported functions and the plan's withheld
/// names, with `TMPDIR`, `TMP` and `TEMP` set to the run's temporary
/// directory and the plan's own variables (the proxy's address) set last.
fn command_env(
    inherited: impl Iterator<Item = (OsString, OsString)>,
    plan: &Plan<'_>,
) -> Vec<(OsString, OsString)> {
    let mut env: std::collections::BTreeMap<OsString, OsString> = inherited
        .filter(|(name, _)| {
            !name.as_bytes().starts_with(b"BASH_FUNC_")
                && !BASH_CODE_VARIABLES.iter().any(|v| name == v)
                && !plan.env_remove.contains(name)
        })
        .collect();
    for name in ["TMPDIR", "TMP", "TEMP"] {
        env.insert(name.into(), plan.tmpdir.as_os_str().to_owned());
    }
    for (name, value) in &plan.env_set {
        env.insert(name.into(), value.into());
    }
    env.into_iter().collect()
}

/// `prctl(PR_SET_PDEATHSIG, signal)`, failing with `ESRCH` when `parent`
/// is already gone (nobody would wait for us). `-1` with errno on failure.
fn death_signal(parent: libc::pid_t, signal: libc::c_int) -> c_long {
    // SAFETY: prctl and getppid with constant arguments; errno is ours.
    unsafe {
        let ret = libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0);
        if ret == 0 && libc::getppid() != parent {
            *libc::__errno_location() = libc::ESRCH;
            return -1;
        }
        ret as c_long
    }
}

/// `landlock_restrict_self(ruleset_fd, 0)`: the calling thread enters a new
/// Landlock domain (landlock.rst). `-1` with errno set on failure.
fn landlock_restrict_self(ruleset_fd: RawFd) -> c_long {
    // SAFETY: the syscall takes an fd and a flags integer.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_restrict_self,
            ruleset_fd,
            0 as libc::c_uint,
        )
    }
}

/// `struct __user_cap_header_struct` of `<linux/capability.h>`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct` of `<linux/capability.h>`.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two [`CapData`] words.
const CAP_VERSION_3: u32 = 0x2008_0522;
/// `CAP_SETPCAP`, needed to shrink the bounding set.
const CAP_SETPCAP: u32 = 8;

/// Drops every capability for good (see [`SetupStep::DropCapabilities`]).
/// `-1` with errno set on failure.
fn drop_capabilities() -> c_long {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let empty = CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    };
    let mut data = [empty; 2];
    // SAFETY: capget/capset with a version-3 header and room for two data
    // words; prctl with integer arguments.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
            return -1;
        }
        if data[0].effective & (1 << CAP_SETPCAP) != 0 {
            for cap in 0..64 as libc::c_ulong {
                if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                    if *libc::__errno_location() == libc::EINVAL {
                        break; // past the kernel's last capability
                    }
                    return -1;
                }
            }
        }
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
            && *libc::__errno_location() != libc::EINVAL
        {
            return -1;
        }
        header.version = CAP_VERSION_3;
        header.pid = 0;
        let none = [empty; 2];
        libc::syscall(libc::SYS_capset, &mut header, none.as_ptr())
    }
}

/// `0`, or `-1` with errno `EISDIR` when fd 0, 1 or 2 is a directory (see
/// [`SetupStep::StandardStreams`]); a closed stream is fine.
fn standard_streams_not_directories() -> c_long {
    for fd in 0..3 {
        // SAFETY: fstat fills a zeroed struct on the stack; errno is ours.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                *libc::__errno_location() = libc::EISDIR;
                return -1;
            }
        }
    }
    0
}

/// What the command process starts from: the prepared data and the
/// reaper's pid.
struct CommandStart<'a> {
    setup: &'a ChildSetup,
    reaper: libc::pid_t,
}

/// The command process's entry point (`clone`'s `fn`).
extern "C" fn command_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `CommandStart` on the suspended reaper's stack.
    let start = unsafe { &*(arg as *const CommandStart<'_>) };
    start.run()
}

impl CommandStart<'_> {
    /// The command process: its own session (so `$$` is the session and
    /// group leader, as a shell's job), death with the reaper, the
    /// forwarded signals unblocked, a Landlock domain of its own, then
    /// `execve` of bash. Never returns: on a failed step it reports it and
    /// exits with 127 (the shell's "command not found").
    fn run(&self) -> ! {
        let setup = self.setup;
        reaper::mask_forwarded(libc::SIG_UNBLOCK);
        let ok = setup
            .step(SetupStep::Setsid, || unsafe { libc::setsid() as c_long })
            .and_then(|()| {
                setup.step(SetupStep::ParentDeathSignal, || {
                    death_signal(self.reaper, libc::SIGKILL)
                })
            })
            // A Landlock domain of its own, nested in the reaper's: with
            // the signal scope (ABI >= 6) the command cannot kill the
            // reaper to free what it left running, and ptrace access
            // (`/proc/PID/mem`, `environ`) stops at the domain too
            // (landlock.rst, "Ptrace restrictions", "Scoped access").
            .and_then(|()| {
                setup.step(SetupStep::Landlock, || {
                    landlock_restrict_self(setup.ruleset_fd)
                })
            });
        if ok.is_ok() {
            let exec = &setup.exec;
            // SAFETY: NUL-terminated path and null-terminated arrays of
            // NUL-terminated strings, all owned by `setup`.
            let _ = setup.step(SetupStep::Exec, || unsafe {
                libc::execve(exec.path.as_ptr(), exec.argv.as_ptr(), exec.envp.as_ptr()) as c_long
            });
        }
        // SAFETY: ends this process only (it is its own thread group).
        unsafe {
            libc::syscall(libc::SYS_exit_group, 127);
        }
        unreachable!("exit_group returned")
    }
}

/// `CLOSE_RANGE_CLOEXEC` from `<linux/close_range.h>`.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

impl ChildSetup {
    /// Runs in the child between fork and exec. Async-signal-safe: raw
    /// syscalls only, no allocation. On failure it writes `(step, errno)` to the
    /// report pipe and returns the errno, so `Command::spawn` fails and the
    /// command is never executed.
    fn apply(&self) -> io::Result<()> {
        self.step(SetupStep::StandardStreams, standard_streams_not_directories)?;
        // Marking (not closing) keeps std's own exec-error pipe working; it and
        // our report pipe then close at execve.
        self.step(SetupStep::CloseFds, || unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        })?;
        self.step(SetupStep::Setsid, || unsafe { libc::setsid() as c_long })?;
        self.step(SetupStep::ParentDeathSignal, || {
            // Catchable, so that the reaper still kills what the command
            // left running when shellgate itself is killed.
            death_signal(self.parent_pid, reaper::PARENT_DIED)
        })?;
        if let Some(mounts) = &self.mounts {
            self.step(SetupStep::MountNamespace, || mounts.apply(self.ruleset_fd))?;
        }
        self.step(SetupStep::Subreaper, reaper::become_subreaper)?;
        self.step(SetupStep::DropCapabilities, drop_capabilities)?;
        self.step(SetupStep::NoNewPrivs, || unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) as c_long
        })?;
        self.step(SetupStep::Landlock, || {
            landlock_restrict_self(self.ruleset_fd)
        })?;
        for filter in &self.filters {
            self.step(SetupStep::Seccomp, || {
                let prog = libc::sock_fprog {
                    len: filter.len() as libc::c_ushort,
                    // seccompiler's sock_filter is #[repr(C)] with the same
                    // fields as the kernel's struct sock_filter.
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                // SAFETY: `prog` points to a valid program that outlives the
                // call; the kernel copies it.
                unsafe {
                    libc::syscall(
                        libc::SYS_seccomp,
                        libc::SECCOMP_SET_MODE_FILTER,
                        0 as libc::c_uint,
                        &prog as *const libc::sock_fprog,
                    )
                }
            })?;
        }
        // SAFETY: getpid has no preconditions.
        let reaper_pid = unsafe { libc::getpid() };
        reaper::mask_forwarded(libc::SIG_BLOCK);
        // Before the command process exists, not after its `execve` (when
        // this process resumes): bash never runs beside a dumpable reaper.
        reaper::make_undumpable();
        let start = CommandStart {
            setup: self,
            reaper: reaper_pid,
        };
        // SAFETY: the command process runs `CommandStart::run` on the
        // prepared stack; CLONE_VFORK keeps this process (and `start`, on
        // its stack) suspended until that process has exec'd or exited,
        // after which it touches none of this memory.
        let pid = unsafe {
            libc::clone(
                command_entry,
                self.stack_top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&start as *const CommandStart<'_>).cast_mut().cast(),
            )
        };
        if pid < 0 {
            return self.step(SetupStep::Fork, || -1);
        }
        reaper::run(pid as libc::pid_t)
    }

    /// Runs one step; `-1` means failure with errno set.
    fn step(&self, step: SetupStep, f: impl FnOnce() -> c_long) -> io::Result<()> {
        if f() != -1 {
            return Ok(());
        }
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL);
        let e = errno.to_ne_bytes();
        let record = [step as u8, e[0], e[1], e[2], e[3]];
        // SAFETY: writes 5 bytes from a stack buffer; a pipe write of less than
        // PIPE_BUF bytes is atomic. It cannot fail while the parent holds the
        // read end; if it did, a step of the reaper would still reach the
        // parent through std's own pipe (the closure returns the error), and
        // one of the command process would show as its exit status 127.
        unsafe {
            libc::write(self.report_fd, record.as_ptr().cast(), record.len());
        }
        Err(io::Error::from_raw_os_error(errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan<'a>(command: &'a str, dir: &'a Path, bash: &'a Path, ruleset: &'a OwnedFd) -> Plan<'a> {
        Plan {
            bash,
            command,
            args: &[],
            cwd: dir,
            tmpdir: dir,
            env_remove: &[],
            ruleset,
            filters: Vec::new(),
            mounts: None,
            env_set: Vec::new(),
            proxy: None,
            stdio: ChildStdio::inherit(),
        }
    }

    #[test]
    fn failing_step_is_named_and_command_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let bash = crate::resolve_bash().unwrap();
        // An fd that is not a Landlock ruleset: landlock_restrict_self fails.
        let not_a_ruleset: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let marker = dir.path().join("ran");
        let command = format!("touch '{}'", marker.display());
        let err = spawn_and_wait(plan(&command, dir.path(), &bash, &not_a_ruleset)).unwrap_err();
        assert!(
            matches!(
                err,
                SandboxError::ChildSetup {
                    step: SetupStep::Landlock,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("landlock_restrict_self"), "{err}");
        assert!(!marker.exists(), "the command ran despite the failed step");
    }

    /// What bash must not inherit is dropped, the run's temp dir and the
    /// plan's variables are set over whatever was inherited.
    #[test]
    fn the_command_environment_drops_code_and_withheld_variables() {
        let dir = Path::new("/run-tmp");
        let ruleset: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        // TMPDIR withheld too (a value that is not UTF-8 is): the run's
        // temporary directory is set whatever was inherited or withheld.
        let withheld = [OsString::from("GITHUB_TOKEN"), OsString::from("TMPDIR")];
        let mut p = plan("true", dir, dir, &ruleset);
        p.env_remove = &withheld;
        p.env_set = vec![("HTTPS_PROXY".into(), "http://127.0.0.1:1".into())];
        let inherited = [
            ("PATH", "/usr/bin"),
            ("BASH_ENV", "/tmp/evil"),
            ("ENV", "/tmp/evil"),
            ("SHELLOPTS", "xtrace"),
            ("BASHOPTS", "extglob"),
            ("CDPATH", "/"),
            ("GLOBIGNORE", "*"),
            ("BASH_FUNC_ls%%", "() { evil; }"),
            ("GITHUB_TOKEN", "secret"),
            ("TMPDIR", "/host/tmp"),
            ("HTTPS_PROXY", "http://corp:3128"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = command_env(inherited.into_iter(), &p);
        let got: Vec<(&str, &str)> = env
            .iter()
            .map(|(k, v)| (k.to_str().unwrap(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("HTTPS_PROXY", "http://127.0.0.1:1"),
                ("PATH", "/usr/bin"),
                ("TEMP", "/run-tmp"),
                ("TMP", "/run-tmp"),
                ("TMPDIR", "/run-tmp"),
            ]
        );
    }

    #[test]
    fn exec_failure_is_a_spawn_error() {
        let dir = tempfile::tempdir().unwrap();
        let abi = crate::probe().landlock_abi.unwrap();
        let config = crate::SandboxConfig::new(dir.path());
        let grants = crate::fs::grants(abi, dir.path(), Some(dir.path()), &config);
        let ruleset = crate::fs::build_ruleset(abi, &grants, false).unwrap();
        let missing = dir.path().join("no-such-bash");
        let err = spawn_and_wait(plan("true", dir.path(), &missing, &ruleset)).unwrap_err();
        match err {
            SandboxError::Spawn { source, .. } => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOENT))
            }
            other => panic!("expected a spawn error, got {other:?}"),
        }
    }
}
