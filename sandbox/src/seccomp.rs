//! seccomp-BPF filters, compiled in the parent before `fork`.
//!
//! Sources: `man 2 seccomp`, `Documentation/userspace-api/seccomp_filter.rst`.
//! The filters are allow-by-default deny lists, one per result because each
//! `seccompiler` filter has one on-match action. They are written as if
//! stacked (the kernel would run every one and apply the highest-precedence
//! result, `KILL_PROCESS` > `ERRNO` > `ALLOW`, the newest filter first among
//! equals) and installed as one program that computes the same result
//! ([`build_filter`]), since each installed filter costs a verification and
//! a JIT compilation. That program starts with a binary search over the
//! syscall numbers any filter lists: every other syscall is allowed after
//! about ten instructions instead of running through every list (see
//! [`fast_path`]).
//!
//! Every filter starts with `seccompiler`'s architecture check: a syscall made
//! through another ABI (e.g. 32-bit `int 0x80` on x86_64) kills the process
//! (`SECCOMP_RET_KILL_PROCESS`), because its numbers would not match the table.
//! On x86_64 an extra hand-written filter returns `EPERM` for x32-ABI
//! syscalls (number with bit `0x40000000` set), which the other filters would
//! otherwise allow.
//!
//! | Filter | Syscalls | Result |
//! |---|---|---|
//! | deny | [`DENY_ALWAYS`]; `clone` with any `CLONE_NEW*` flag; `ioctl(_, TIOCSTI/TIOCLINUX)`; `personality` other than query/`PER_LINUX`/`PER_LINUX32`; without a private root `socket(AF_UNIX, …)` and `socketpair(_, SOCK_DGRAM, …)`; with a network namespace `socket(_, SOCK_RAW or SOCK_PACKET, …)` and `socket(_, _, IPPROTO_MPTCP)` | `EPERM` |
//! | sockets | `socket` with a domain other than `AF_UNIX` (with a network namespace: other than `AF_UNIX`, `AF_INET`, `AF_INET6`); `socketpair` with a domain other than `AF_UNIX` | `EAFNOSUPPORT` |
//! | clone3 | `clone3` (its flags live in memory and cannot be inspected; glibc falls back to `clone`) | `ENOSYS` |
//! | x32 (x86_64) | syscall numbers with `__X32_SYSCALL_BIT` | `EPERM` |
//!
//! With a network namespace ([`Sockets::network`]), IPv4 and IPv6
//! stream and datagram sockets are allowed: the namespace holds only
//! loopback, so they reach the command's own servers and the proxy's
//! listener, nothing else (`netns.rs`). Raw and packet sockets, MPTCP and
//! every other family (netlink, vsock, packet, …) stay denied.
//!
//! Why `socket(AF_UNIX)` needs a private root ([`Sockets::unix`]):
//! Landlock (up to ABI 7) does not control `connect(2)` or `sendto(2)` to
//! a *pathname* Unix socket, and a path lookup needs no Landlock right, so
//! a confined process could reach any socket it can name: `ssh-agent`
//! (`$SSH_AUTH_SOCK`), `docker.sock` (root on the host), the session bus,
//! `gpg-agent`. seccomp cannot read the address. In the private root of
//! `root.rs` those paths do not exist; without one (no user namespaces) no
//! Unix socket can be created at all. `socketpair(2)` of type
//! `SOCK_STREAM` or `SOCK_SEQPACKET`, which reaches nothing outside, is
//! always allowed (asyncio's self-pipe, Node's IPC); a `SOCK_DGRAM` pair
//! only with the private root, since `sendto` on it can name any pathname
//! socket.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule,
};

use crate::SandboxError;

/// The socket type bits of `socket(2)`'s type argument (the rest are
/// `SOCK_NONBLOCK` and `SOCK_CLOEXEC`).
const SOCK_TYPE_MASK: u64 = 0xf;

#[cfg(target_arch = "x86_64")]
const TARGET: Option<seccompiler::TargetArch> = Some(seccompiler::TargetArch::x86_64);
#[cfg(target_arch = "aarch64")]
const TARGET: Option<seccompiler::TargetArch> = Some(seccompiler::TargetArch::aarch64);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const TARGET: Option<seccompiler::TargetArch> = None;

/// Whether this build has a syscall table for seccomp (x86_64 / aarch64).
pub(crate) const ARCH_SUPPORTED: bool = TARGET.is_some();

/// Syscalls that always fail with `EPERM`: debugging other processes and
/// cross-process memory access, io_uring (its operations bypass seccomp
/// argument checks), kernel keyrings, eBPF and perf (kernel attack surface /
/// information leaks), userfaultfd (exploit primitive), mounting and
/// namespace changes, kernel modules and kexec, swap, reboot, process
/// accounting, and `open_by_handle_at` (opens files without a path walk).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) const DENY_ALWAYS: &[(&str, libc::c_long)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("keyctl", libc::SYS_keyctl),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("fsopen", libc::SYS_fsopen),
    ("fsmount", libc::SYS_fsmount),
    ("fsconfig", libc::SYS_fsconfig),
    ("fspick", libc::SYS_fspick),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("reboot", libc::SYS_reboot),
    ("acct", libc::SYS_acct),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
];

/// `clone(2)` flags that create namespaces (`<linux/sched.h>`); `clone` with
/// any of them fails like `unshare(2)` does. (`CLONE_NEWTIME` is only valid
/// for `clone3`/`unshare`, both denied outright.)
const CLONE_NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

/// `personality(2)` values still allowed: `0xffffffff` (query), `PER_LINUX`,
/// `PER_LINUX32`. Everything else (e.g. `ADDR_NO_RANDOMIZE`,
/// `READ_IMPLIES_EXEC`) fails with `EPERM`.
const PERSONALITY_ALLOWED: &[u64] = &[0xffff_ffff, 0x0000, 0x0008];

/// `ioctl` requests that push input into a terminal (`TIOCSTI`, fake
/// keystrokes) or drive the virtual console (`TIOCLINUX`, can also paste);
/// values from `<asm-generic/ioctls.h>`, shared by x86_64 and aarch64.
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;

/// `SOCK_PACKET` from `<linux/net.h>` (obsolete link-level sockets).
const SOCK_PACKET: u64 = 10;

/// `IPPROTO_MPTCP` from `<linux/in.h>` (multipath TCP: paths the
/// namespace does not model).
const IPPROTO_MPTCP: u64 = 262;

/// `__X32_SYSCALL_BIT` from `<asm/unistd.h>` (x86_64).
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SandboxError> {
    // Dword: compare the low 32 bits only. The kernel truncates `int` and
    // `unsigned int` arguments (socket domain, ioctl request, personality) to
    // 32 bits, so a 64-bit comparison could be bypassed by setting high bits
    // (CVE-2019-10063).
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(compile_err)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
    SeccompRule::new(conditions).map_err(compile_err)
}

fn compile_err(e: seccompiler::BackendError) -> SandboxError {
    SandboxError::SeccompCompile(e.to_string())
}

fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    on_match: SeccompAction,
    arch: seccompiler::TargetArch,
) -> Result<BpfProgram, SandboxError> {
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, on_match, arch).map_err(compile_err)?;
    BpfProgram::try_from(filter).map_err(compile_err)
}

/// Which sockets a run's command may create, besides stream and
/// seqpacket `socketpair(AF_UNIX)`, which it always may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sockets {
    /// IPv4/IPv6 stream and datagram sockets: only with a network
    /// namespace of its own (`netns.rs`).
    pub network: bool,
    /// `socket(AF_UNIX)` and datagram socket pairs: only in a private root
    /// (`root.rs`) that hides every outside socket, and where abstract
    /// sockets outside cannot be reached either (a network namespace of
    /// its own, or Landlock's abstract-socket scope, ABI >= 6).
    pub unix: bool,
}

impl Sockets {
    /// Every combination, for tests.
    #[cfg(test)]
    const ALL: [Sockets; 4] = [
        Sockets {
            network: false,
            unix: false,
        },
        Sockets {
            network: true,
            unix: false,
        },
        Sockets {
            network: false,
            unix: true,
        },
        Sockets {
            network: true,
            unix: true,
        },
    ];
}

/// The BPF programs described in the module docs, in install order, and
/// what [`build_filter`] makes of them.
pub(crate) struct Programs {
    /// The filters as written: what the installed program must decide
    /// like, were they stacked (compiled for the tests only).
    #[cfg(test)]
    pub programs: Vec<BpfProgram>,
    /// The native syscall numbers they list (every other native syscall
    /// is allowed by all of them), each with the `SECCOMP_RET_*` value the
    /// stacked filters give it whatever its arguments (it is listed by one
    /// filter, without conditions), or `None` when its arguments decide.
    pub listed: BTreeMap<u32, Option<u32>>,
    /// The same filters with only the syscalls whose arguments decide:
    /// what [`fast_path`] leaves to be run.
    pub residual: Vec<BpfProgram>,
}

/// Builds the BPF programs described in the module docs, in install order.
///
/// # Errors
/// [`SandboxError::SeccompUnavailable`] on an architecture without a syscall
/// table; [`SandboxError::SeccompCompile`] if `seccompiler` rejects a rule.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) fn build_filters(sockets: Sockets) -> Result<Programs, SandboxError> {
    let Sockets { network, unix } = sockets;
    let Some(arch) = TARGET else {
        unreachable!("cfg guarantees a target arch")
    };
    let mut lists: Vec<(BTreeMap<i64, Vec<SeccompRule>>, SeccompAction)> = Vec::new();

    // 1. EPERM deny list.
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> = DENY_ALWAYS
        .iter()
        .map(|&(_, nr)| (nr, Vec::new())) // empty chain = match unconditionally
        .collect();
    let ioctl_rules = [TIOCSTI, TIOCLINUX]
        .iter()
        .map(|&req| rule(vec![cond(1, SeccompCmpOp::Eq, req)?]))
        .collect::<Result<Vec<_>, _>>()?;
    deny.insert(libc::SYS_ioctl, ioctl_rules);
    let clone_rules = CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|&flag| rule(vec![cond(0, SeccompCmpOp::MaskedEq(flag), flag)?]))
        .collect::<Result<Vec<_>, _>>()?;
    deny.insert(libc::SYS_clone, clone_rules);
    let personality_rule = rule(
        PERSONALITY_ALLOWED
            .iter()
            .map(|&v| cond(0, SeccompCmpOp::Ne, v))
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    deny.insert(libc::SYS_personality, vec![personality_rule]);
    let mut socket_rules = Vec::new();
    if !unix {
        socket_rules.push(rule(vec![cond(
            0,
            SeccompCmpOp::Eq,
            libc::AF_UNIX as u64,
        )?])?);
    }
    if network {
        for kind in [libc::SOCK_RAW as u64, SOCK_PACKET] {
            socket_rules.push(rule(vec![cond(
                1,
                SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK),
                kind,
            )?])?);
        }
        socket_rules.push(rule(vec![cond(2, SeccompCmpOp::Eq, IPPROTO_MPTCP)?])?);
    }
    // An empty rule list would match every call: insert only real rules.
    if !socket_rules.is_empty() {
        deny.insert(libc::SYS_socket, socket_rules);
    }
    if !unix {
        // A datagram pair could `sendto` any pathname socket (`/dev/log`,
        // journald, `NOTIFY_SOCKET`); stream and seqpacket pairs cannot.
        deny.insert(
            libc::SYS_socketpair,
            vec![rule(vec![cond(
                1,
                SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK),
                libc::SOCK_DGRAM as u64,
            )?])?],
        );
    }
    lists.push((deny, SeccompAction::Errno(libc::EPERM as u32)));

    // 2. Only AF_UNIX sockets (without a private root only socketpair, see
    //    filter 1), plus IPv4/IPv6 inside a network namespace.
    let mut sockets = BTreeMap::new();
    let mut domains = vec![libc::AF_UNIX];
    if network {
        domains.extend([libc::AF_INET, libc::AF_INET6]);
    }
    let other_domain = domains
        .iter()
        .map(|&d| cond(0, SeccompCmpOp::Ne, d as u64))
        .collect::<Result<Vec<_>, _>>()?;
    sockets.insert(libc::SYS_socket, vec![rule(other_domain)?]);
    let not_unix = rule(vec![cond(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?])?;
    sockets.insert(libc::SYS_socketpair, vec![not_unix]);
    lists.push((sockets, SeccompAction::Errno(libc::EAFNOSUPPORT as u32)));

    // 3. clone3 -> ENOSYS.
    let clone3 = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    lists.push((clone3, SeccompAction::Errno(libc::ENOSYS as u32)));

    let mut listed = BTreeMap::new();
    for (rules, on_match) in &lists {
        for (&nr, conditions) in rules {
            let unconditional = conditions.is_empty().then(|| u32::from(on_match.clone()));
            listed
                .entry(nr as u32)
                .and_modify(|ret| *ret = None)
                .or_insert(unconditional);
        }
    }
    #[cfg(test)]
    let mut programs = Vec::new();
    let mut residual = Vec::new();
    for (rules, on_match) in lists {
        let left: BTreeMap<_, _> = rules
            .iter()
            .filter(|(nr, _)| listed[&(**nr as u32)].is_none())
            .map(|(nr, conditions)| (*nr, conditions.clone()))
            .collect();
        if !left.is_empty() {
            residual.push(compile(left, on_match.clone(), arch)?);
        }
        #[cfg(test)]
        programs.push(compile(rules, on_match, arch)?);
    }

    // 4. x32 ABI (x86_64 only).
    if cfg!(target_arch = "x86_64") {
        #[cfg(test)]
        programs.push(x32_filter());
        residual.push(x32_filter());
    }
    Ok(Programs {
        #[cfg(test)]
        programs,
        listed,
        residual,
    })
}

/// The filters of [`build_filters`] as one program, which is what the
/// child installs: each `SECCOMP_SET_MODE_FILTER` costs the kernel a
/// verification and a JIT compilation, so one program of the same length
/// is cheaper to install than four.
///
/// The programs are laid end to end, the last-installed first, and every
/// `ret SECCOMP_RET_ALLOW` of all but the last becomes a jump to the start
/// of the next. That gives the result the kernel computes for the stacked
/// filters (`seccomp_run_filters`: every filter runs, newest first, and the
/// first of the highest-precedence actions wins): each program either
/// allows, in which case the next one decides, or returns the one action
/// that the stacked filters would have produced, since a foreign
/// architecture is killed by every program and the others' matches are
/// disjoint or equal in precedence (then the newest, which runs first
/// here too, wins).
///
/// What is installed is [`fast_path`], which decides every syscall whose
/// arguments do not matter, followed by the residual programs
/// ([`Programs::residual`]) chained this way.
///
/// # Errors
/// As [`build_filters`]; [`SandboxError::SeccompCompile`] when the
/// program would exceed the kernel's `BPF_MAXINSNS` (4096) instructions.
pub(crate) fn build_filter(sockets: Sockets) -> Result<BpfProgram, SandboxError> {
    let Programs {
        listed,
        mut residual,
        ..
    } = build_filters(sockets)?;
    residual.reverse();
    let listed: Vec<(u32, Option<u32>)> = listed.into_iter().collect();
    let mut program = fast_path(&listed);
    program.extend(chain(residual)?);
    if program.len() > BPF_MAXINSNS {
        return Err(too_long(program.len()));
    }
    Ok(program)
}

/// `AUDIT_ARCH_*` of the native syscall ABI (`<linux/audit.h>`), the value
/// of `seccomp_data.arch` for its syscalls.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_NATIVE: u32 = 62 | 0x8000_0000 | 0x4000_0000;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_NATIVE: u32 = 183 | 0x8000_0000 | 0x4000_0000;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH_NATIVE: u32 = 0;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The program's first part, a binary search over `listed` (sorted by
/// number, as [`Programs::listed`]): a foreign architecture is killed; a
/// native syscall not listed is allowed, one listed without conditions
/// gets its result; an x32 number or a syscall whose arguments decide
/// jumps to the end, where [`build_filter`] puts the residual programs.
///
/// Deciding those here is exact, not an approximation: every filter kills
/// a foreign architecture, the deny lists allow every native syscall they
/// do not list, the x32 filter every number without the x32 bit, and an
/// unconditional entry's result is what the stacked filters give
/// ([`Programs::listed`]). It matters twice. Every syscall of the command
/// runs about twenty instructions, not the ~300 of the lists laid end to
/// end. And installing the filter is cheaper: the kernel runs the program
/// once per syscall number to find the numbers it allows whatever their
/// arguments (`seccomp_cache_prepare`, kernel/seccomp.c), and then
/// JIT-compiles it; with the lists alone that took about 0.25 ms of each
/// run. The search uses only instructions that pre-computation follows
/// (loads of `nr` and `arch`, `jeq`/`jge`/`jset`/`ja`, `ret`).
///
/// Layout: the architecture and x32 checks, then for each range of
/// `listed` either a leaf (`jeq v, 0, 1; ret RESULT or ja END; ret ALLOW`)
/// or a node (`jge pivot, 0, 1; ja over-the-lower-half; lower half; upper
/// half`), so every conditional jump is 0 or 1 and any number of syscalls
/// fits.
fn fast_path(listed: &[(u32, Option<u32>)]) -> BpfProgram {
    // `ja` to the end, patched once the length is known.
    const TO_END: u32 = u32::MAX;
    fn search(out: &mut BpfProgram, values: &[(u32, Option<u32>)]) {
        match values {
            [] => out.push(insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW)),
            [(nr, result)] => {
                out.push(insn(JEQ_K, 0, 1, *nr));
                out.push(match result {
                    Some(ret) => insn(RET_K, 0, 0, *ret),
                    None => insn(JA, 0, 0, TO_END),
                });
                out.push(insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
            }
            _ => {
                let mid = values.len() / 2;
                out.push(insn(JGE_K, 0, 1, values[mid].0));
                let jump = out.len();
                out.push(insn(JA, 0, 0, 0));
                let lower = out.len();
                search(out, &values[..mid]);
                out[jump].k = (out.len() - lower) as u32;
                search(out, &values[mid..]);
            }
        }
    }
    let mut out = vec![
        insn(LD_W_ABS, 0, 0, 4),
        insn(JEQ_K, 1, 0, AUDIT_ARCH_NATIVE),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        insn(LD_W_ABS, 0, 0, 0),
        insn(JSET_K, 0, 1, X32_SYSCALL_BIT),
        insn(JA, 0, 0, TO_END),
    ];
    search(&mut out, listed);
    let len = out.len();
    for (i, op) in out.iter_mut().enumerate() {
        if op.code == JA && op.k == TO_END {
            op.k = (len - i - 1) as u32;
        }
    }
    out
}

/// Lays `programs` end to end, turning each `ret SECCOMP_RET_ALLOW` of all
/// but the last into `ja` to the start of the next (see [`build_filter`]).
fn chain(programs: Vec<BpfProgram>) -> Result<BpfProgram, SandboxError> {
    let count = programs.len();
    let mut out = BpfProgram::new();
    for (n, program) in programs.into_iter().enumerate() {
        let len = program.len();
        for (i, mut insn) in program.into_iter().enumerate() {
            if n + 1 < count && insn.code == RET_K && insn.k == libc::SECCOMP_RET_ALLOW {
                // `ja k` continues at the instruction after it plus k: the
                // first instruction after this program.
                insn = sock_filter {
                    code: JA,
                    jt: 0,
                    jf: 0,
                    k: (len - i - 1) as u32,
                };
            }
            out.push(insn);
        }
    }
    if out.len() > BPF_MAXINSNS {
        return Err(too_long(out.len()));
    }
    Ok(out)
}

fn too_long(len: usize) -> SandboxError {
    SandboxError::SeccompCompile(format!(
        "the chained filter has {len} instructions, more than the kernel's {BPF_MAXINSNS}"
    ))
}

/// `BPF_MAXINSNS` from `<linux/bpf_common.h>`: the longest classic BPF
/// program the kernel accepts.
const BPF_MAXINSNS: usize = 4096;

/// Unsupported architecture: no syscall table, refuse.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) fn build_filters(_sockets: Sockets) -> Result<Programs, SandboxError> {
    Err(SandboxError::SeccompUnavailable {
        reason: format!("no seccomp syscall table for {}", std::env::consts::ARCH),
        hint: "run shellgate on x86_64 or aarch64",
    })
}

/// Hand-written x86_64 filter (`seccomp_filter.rst`: check `arch`, then `nr`):
///
/// ```text
/// 0: ld  [4]                      ; seccomp_data.arch
/// 1: jeq #AUDIT_ARCH_X86_64, 0, 4 ; other arch -> 6
/// 2: ld  [0]                      ; seccomp_data.nr
/// 3: jset #0x40000000, 1, 0       ; x32 bit -> 5
/// 4: ret #SECCOMP_RET_ALLOW
/// 5: ret #SECCOMP_RET_ERRNO|EPERM
/// 6: ret #SECCOMP_RET_KILL_PROCESS
/// ```
fn x32_filter() -> BpfProgram {
    vec![
        insn(LD_W_ABS, 0, 0, 4),
        insn(JEQ_K, 0, 4, AUDIT_ARCH_NATIVE),
        insn(LD_W_ABS, 0, 0, 0),
        insn(JSET_K, 1, 0, X32_SYSCALL_BIT),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `struct seccomp_data` as the filters read it: nr, arch, args.
    struct Data {
        nr: u32,
        arch: u32,
        args: [u64; 6],
    }

    impl Data {
        /// The 32-bit word at byte `offset` of `struct seccomp_data`
        /// (nr @0, arch @4, instruction_pointer @8, args @16, little-endian).
        fn word(&self, offset: u32) -> u32 {
            match offset {
                0 => self.nr,
                4 => self.arch,
                8 | 12 => 0,
                o if (16..64).contains(&o) && o % 4 == 0 => {
                    let arg = self.args[((o - 16) / 8) as usize];
                    if (o - 16) % 8 == 0 {
                        arg as u32
                    } else {
                        (arg >> 32) as u32
                    }
                }
                o => panic!("load from offset {o}"),
            }
        }
    }

    /// A classic-BPF interpreter for the instructions seccompiler and
    /// `x32_filter` emit (`Documentation/networking/filter.rst`).
    fn run(program: &[sock_filter], data: &Data) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = &program[pc];
            pc += 1;
            let op = u32::from(i.code);
            match (op & 0x07, op & 0xf8) {
                // BPF_LD | BPF_W | BPF_ABS
                (0x00, 0x20) => acc = data.word(i.k),
                // BPF_ALU | BPF_AND | BPF_K
                (0x04, 0x50) => acc &= i.k,
                (0x05, kind) => {
                    let taken = match kind {
                        0x00 => {
                            pc += i.k as usize;
                            continue;
                        }
                        0x10 => acc == i.k,
                        0x20 => acc > i.k,
                        0x30 => acc >= i.k,
                        0x40 => acc & i.k != 0,
                        other => panic!("jump kind {other:#x}"),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                // BPF_RET | BPF_K
                (0x06, 0x00) => return i.k,
                other => panic!("instruction {other:?}"),
            }
        }
    }

    /// What the kernel returns for filters installed in `programs`' order:
    /// all run, newest first, and the first action of the highest
    /// precedence wins (`seccomp_run_filters`, kernel/seccomp.c).
    fn stacked(programs: &[BpfProgram], data: &Data) -> u32 {
        let precedence = |ret: u32| match ret & libc::SECCOMP_RET_ACTION_FULL {
            libc::SECCOMP_RET_KILL_PROCESS => 0,
            libc::SECCOMP_RET_ERRNO => 3,
            libc::SECCOMP_RET_ALLOW => 7,
            other => panic!("action {other:#x}"),
        };
        let mut best = libc::SECCOMP_RET_ALLOW;
        for p in programs.iter().rev() {
            let ret = run(p, data);
            if precedence(ret) < precedence(best) {
                best = ret;
            }
        }
        best
    }

    #[test]
    fn the_chained_filter_decides_as_the_stacked_filters_would() {
        let arch = if cfg!(target_arch = "x86_64") {
            62 | 0x8000_0000 | 0x4000_0000
        } else {
            183 | 0x8000_0000 | 0x4000_0000
        };
        let values: Vec<u64> = [
            0u64,
            1,
            2,
            3,
            5,
            8,
            10,
            libc::AF_UNIX as u64,
            libc::AF_INET as u64,
            libc::AF_INET6 as u64,
            libc::AF_NETLINK as u64,
            libc::AF_PACKET as u64,
            libc::AF_VSOCK as u64,
            IPPROTO_MPTCP,
            TIOCSTI,
            TIOCLINUX,
            0xffff_ffff,
            0x0040_0000,
            libc::SOCK_RAW as u64 | libc::SOCK_CLOEXEC as u64,
            libc::SOCK_DGRAM as u64 | libc::SOCK_NONBLOCK as u64,
            1 << 32,
        ]
        .into_iter()
        .chain(
            CLONE_NAMESPACE_FLAGS
                .iter()
                .map(|f| f | libc::SIGCHLD as u64),
        )
        .collect();
        for sockets in Sockets::ALL {
            let Programs {
                programs,
                listed,
                residual,
            } = build_filters(sockets).unwrap();
            let chained = build_filter(sockets).unwrap();
            let listed: Vec<(u32, Option<u32>)> = listed.into_iter().collect();
            assert_eq!(
                chained.len(),
                fast_path(&listed).len() + residual.iter().map(Vec::len).sum::<usize>()
            );
            // The residual programs are less than half the full ones.
            let full: usize = programs.iter().map(Vec::len).sum();
            assert!(residual.iter().map(Vec::len).sum::<usize>() * 2 < full);
            let mut checked = 0;
            // Arguments matter only to the syscalls the filters inspect.
            let inspected = [
                libc::SYS_socket,
                libc::SYS_socketpair,
                libc::SYS_ioctl,
                libc::SYS_clone,
                libc::SYS_personality,
            ]
            .map(|n| n as u32);
            let all_args: Vec<(u64, u64, u64)> = values
                .iter()
                .flat_map(|&a| {
                    values
                        .iter()
                        .flat_map(move |&b| [0, IPPROTO_MPTCP].map(|c| (a, b, c)))
                })
                .collect();
            // Every number of the table and past it, with and without the
            // x32 bit, and the edges of the 32-bit range.
            let numbers = (0..1024u32)
                .chain((0..1024).map(|n| n | X32_SYSCALL_BIT))
                .chain([0x7fff_ffff, 0x8000_0000, u32::MAX - 1, u32::MAX]);
            for nr in numbers {
                let args = if inspected.contains(&(nr & !X32_SYSCALL_BIT)) {
                    &all_args[..]
                } else {
                    &all_args[..3]
                };
                for &(a0, a1, a2) in args {
                    for arch in [arch, 3 | 0x4000_0000] {
                        let data = Data {
                            nr,
                            arch,
                            args: [a0, a1, a2, 0, 0, 0],
                        };
                        assert_eq!(
                            run(&chained, &data),
                            stacked(&programs, &data),
                            "nr {nr:#x} arch {arch:#x} args {a0:#x} {a1:#x} {a2:#x}"
                        );
                        checked += 1;
                    }
                }
            }
            assert!(checked > 10_000);
            // And it does deny: a socket family other than the allowed
            // ones, ptrace, clone3.
            let socket = |domain: u64| Data {
                nr: libc::SYS_socket as u32,
                arch,
                args: [domain, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
            };
            assert_eq!(
                run(&chained, &socket(libc::AF_NETLINK as u64)),
                libc::SECCOMP_RET_ERRNO | libc::EAFNOSUPPORT as u32
            );
            let nr = |n: libc::c_long| Data {
                nr: n as u32,
                arch,
                args: [0; 6],
            };
            assert_eq!(
                run(&chained, &nr(libc::SYS_ptrace)),
                libc::SECCOMP_RET_ERRNO | libc::EPERM as u32
            );
            assert_eq!(
                run(&chained, &nr(libc::SYS_clone3)),
                libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32
            );
            assert_eq!(
                run(&chained, &nr(libc::SYS_getpid)),
                libc::SECCOMP_RET_ALLOW
            );
        }
    }

    /// A syscall that no list names is allowed by the binary search alone,
    /// in a few instructions, one listed without conditions gets its
    /// result there too; one whose arguments decide goes on to the full
    /// programs.
    #[test]
    fn the_fast_path_decides_syscalls_without_conditions_early() {
        let Programs { listed, .. } = build_filters(Sockets::ALL[0]).unwrap();
        let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        assert_eq!(listed[&(libc::SYS_ptrace as u32)], Some(eperm));
        assert_eq!(listed[&(libc::SYS_clone3 as u32)], Some(enosys));
        // Listed by two programs, or with conditions: the arguments decide.
        assert_eq!(listed[&(libc::SYS_socket as u32)], None);
        assert_eq!(listed[&(libc::SYS_ioctl as u32)], None);
        let listed: Vec<(u32, Option<u32>)> = listed.into_iter().collect();
        let prefix = fast_path(&listed);
        // The result and the instructions executed up to the `ret`, or
        // None when it ends by jumping past the prefix (to the full
        // programs).
        let steps = |nr: u32, arch: u32| -> Option<(u32, usize)> {
            let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0);
            while pc < prefix.len() {
                let i = &prefix[pc];
                steps += 1;
                pc += 1;
                match i.code {
                    LD_W_ABS => acc = if i.k == 0 { nr } else { arch },
                    JA => pc += i.k as usize,
                    JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                    JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
                    JSET_K => pc += usize::from(if acc & i.k != 0 { i.jt } else { i.jf }),
                    RET_K => return Some((i.k, steps)),
                    other => panic!("instruction {other:#x}"),
                }
            }
            None
        };
        for nr in 0..1024u32 {
            let taken = steps(nr, AUDIT_ARCH_NATIVE);
            match listed.iter().find(|(n, _)| *n == nr) {
                Some((_, None)) => {
                    assert_eq!(taken, None, "{nr} must reach the full programs")
                }
                found => {
                    let (ret, n) = taken.unwrap_or_else(|| panic!("{nr} not decided early"));
                    let want = found.and_then(|f| f.1).unwrap_or(libc::SECCOMP_RET_ALLOW);
                    assert_eq!(ret, want, "{nr}");
                    assert!(n <= 6 + 2 * 8 + 3, "{nr}: {n} instructions");
                }
            }
            assert_eq!(steps(nr | X32_SYSCALL_BIT, AUDIT_ARCH_NATIVE), None);
            assert_eq!(
                steps(nr, 3 | 0x4000_0000),
                Some((libc::SECCOMP_RET_KILL_PROCESS, 3))
            );
        }
        // Degenerate lists still lay out a valid search.
        for values in [&[][..], &[5][..], &[1, 2][..], &[1, 2, 3][..]] {
            let values: Vec<(u32, Option<u32>)> = values.iter().map(|&v| (v, None)).collect();
            let prefix = fast_path(&values);
            assert!(prefix.iter().all(|i| i.jt <= 1 && i.jf <= 1));
        }
    }

    #[test]
    fn filters_compile() {
        for sockets in Sockets::ALL {
            let Programs { programs, .. } = build_filters(sockets).unwrap();
            assert_eq!(
                programs.len(),
                if cfg!(target_arch = "x86_64") { 4 } else { 3 }
            );
            for p in &programs {
                assert!(!p.is_empty() && p.len() < 4096);
                // Every program starts with the arch check (load seccomp_data.arch)
                // and kills the process on a foreign arch.
                assert_eq!((p[0].code, p[0].k), (0x20, 4));
                assert!(p
                    .iter()
                    .any(|i| i.code == 0x06 && i.k == libc::SECCOMP_RET_KILL_PROCESS));
            }
        }
    }
}
