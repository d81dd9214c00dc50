//! Landlock ruleset: which trees the command may touch, and how.
//!
//! Source of the rules: `Documentation/userspace-api/landlock.rst` (Linux).
//! A ruleset *handles* a set of access rights; every handled right is denied
//! unless a rule (`PathBeneath`) grants it for a file hierarchy. We handle every
//! filesystem right of the kernel's ABI, so the rules below are the complete
//! list of what the command may do with files.
//!
//! The ruleset is only *created* here (in the parent, before `fork`); the
//! child enforces it with a raw `landlock_restrict_self(fd, 0)` (see `exec.rs`).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    make_bitflags, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope, ABI,
};

use crate::{SandboxConfig, SandboxError};

/// System trees readable and executable by the command (skipped when absent).
/// `/etc` is needed for ld.so.cache, nsswitch, locale and timezone data.
pub(crate) const SYSTEM_READ_EXEC: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/etc",
    "/nix/store",
];

/// Pseudo filesystems readable by the command (tools need `/proc/self`).
const SYSTEM_READ: &[&str] = &["/proc", "/sys"];

/// Devices the command may read and write.
const DEV_READ_WRITE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

/// Devices the command may only read.
const DEV_READ: &[&str] = &["/dev/urandom", "/dev/random"];

/// One Landlock rule: `access` on the hierarchy beneath `path`.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub path: PathBuf,
    pub access: BitFlags<AccessFs>,
    /// A required grant that cannot be added is an error; an optional one
    /// (system or extra trees) is skipped when the path does not exist.
    pub required: bool,
}

/// All rules for one run, for a kernel with Landlock ABI `abi`.
///
/// * all rights: `project_root`, `tmpdir` (the private per-run temp dir on
///   the host, when the run has no private `/tmp` of `root.rs`, whose
///   rule the child adds itself), `config.extra_read_write`;
/// * `ReadFile | ReadDir | Execute`: [`SYSTEM_READ_EXEC`], `config.extra_read_exec`;
/// * `ReadFile | ReadDir`: `/proc`, `/sys`;
/// * read + write (+ truncate, + device ioctl where the ABI has them):
///   `/dev/null`, `/dev/zero`, `/dev/full`, `/dev/tty`, `/dev/ptmx`, `/dev/pts`;
/// * `ReadFile`: `/dev/urandom`, `/dev/random`.
pub(crate) fn grants(
    abi: i32,
    project_root: &Path,
    tmpdir: Option<&Path>,
    config: &SandboxConfig,
) -> Vec<Grant> {
    let abi = ABI::from(abi);
    let all = AccessFs::from_all(abi);
    let read_exec = make_bitflags!(AccessFs::{ReadFile | ReadDir | Execute});
    let read = make_bitflags!(AccessFs::{ReadFile | ReadDir});
    // Truncate (ABI 3) is needed for `> /dev/null` (O_TRUNC); IoctlDev (ABI 5)
    // for terminal ioctls on freshly opened ttys. `& all` drops what the ABI lacks.
    let dev_rw =
        make_bitflags!(AccessFs::{ReadFile | WriteFile | ReadDir | Truncate | IoctlDev}) & all;

    let mut out = Vec::new();
    let mut push = |path: &Path, access: BitFlags<AccessFs>, required: bool| {
        out.push(Grant {
            path: path.to_path_buf(),
            access,
            required,
        })
    };
    push(project_root, all, true);
    if let Some(tmpdir) = tmpdir {
        push(tmpdir, all, true);
    }
    for p in &config.extra_read_write {
        push(p, all, false);
    }
    for p in SYSTEM_READ_EXEC {
        push(Path::new(p), read_exec, false);
    }
    for p in &config.extra_read_exec {
        push(p, read_exec, false);
    }
    for p in SYSTEM_READ {
        push(Path::new(p), read, false);
    }
    for p in DEV_READ_WRITE {
        push(Path::new(p), dev_rw, false);
    }
    for p in DEV_READ {
        push(Path::new(p), AccessFs::ReadFile.into(), false);
    }
    out
}

/// Every filesystem access right of Landlock ABI `abi`, as the bits of
/// `landlock_path_beneath_attr.allowed_access` (what the project gets).
pub(crate) fn all_access(abi: i32) -> u64 {
    AccessFs::from_all(ABI::from(abi)).bits()
}

/// True when `file` (already canonical) lies beneath a grant that includes
/// `Execute`, i.e. `execve(file)` can pass Landlock.
pub(crate) fn executable_under(grants: &[Grant], file: &Path) -> bool {
    grants.iter().any(|g| {
        g.access.contains(AccessFs::Execute)
            && std::fs::canonicalize(&g.path).is_ok_and(|root| file.starts_with(root))
    })
}

/// Creates the Landlock ruleset for `grants` and returns its fd (O_CLOEXEC).
///
/// Handles all filesystem rights of `abi`; when the kernel has them and the
/// command has no network namespace (`network` false), also all network
/// rights (ABI >= 4: TCP bind/connect; ABI >= 10 also UDP) with **no**
/// rule, so every such operation is denied, and the scopes (ABI >= 6:
/// abstract unix sockets and signals may not reach processes outside the
/// sandbox). With a network namespace the TCP rights stay unhandled: the
/// namespace holds nothing but loopback, where the command may run and
/// reach its own servers and the proxy's listener on any port (Landlock
/// rules name ports, not addresses).
///
/// Every step runs with `CompatLevel::HardRequirement`: if the kernel could
/// only partially enforce a requested right, this fails instead of silently
/// degrading, so a successfully created ruleset is fully enforced once
/// `landlock_restrict_self` succeeds (landlock.rst, "Backward and forward
/// compatibility").
///
/// # Errors
/// [`SandboxError::LandlockUnavailable`] for ABI < 1,
/// [`SandboxError::LandlockRuleset`] when creating the ruleset or adding a
/// required rule fails.
pub(crate) fn build_ruleset(
    abi: i32,
    grants: &[Grant],
    network: bool,
) -> Result<OwnedFd, SandboxError> {
    let abi_v = ABI::from(abi);
    if abi_v == ABI::Unsupported {
        return Err(SandboxError::LandlockUnavailable {
            reason: format!("the kernel reports Landlock ABI {abi}"),
            hint: "use Linux >= 5.13 with Landlock enabled",
        });
    }
    let err = |context: &str| {
        let context = context.to_string();
        move |e: landlock::RulesetError| SandboxError::LandlockRuleset {
            context,
            detail: e.to_string(),
        }
    };

    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi_v))
        .map_err(err("handle filesystem access rights"))?;
    let net = AccessNet::from_all(abi_v);
    if !net.is_empty() && !network {
        ruleset = ruleset
            .handle_access(net)
            .map_err(err("handle network access rights"))?;
    }
    let scopes = Scope::from_all(abi_v);
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes).map_err(err("set scopes"))?;
    }
    let mut created = ruleset.create().map_err(err("create ruleset"))?;

    let file_rights = AccessFs::from_file(abi_v);
    for grant in grants {
        let meta = match std::fs::metadata(&grant.path) {
            Ok(m) => m,
            Err(_) if !grant.required => continue,
            Err(e) => {
                return Err(SandboxError::LandlockRuleset {
                    context: format!("rule for {}", grant.path.display()),
                    detail: e.to_string(),
                })
            }
        };
        // Directory-only rights (ReadDir, Make*, Remove*, Refer) are invalid
        // on a file rule (the kernel returns EINVAL).
        let access = if meta.is_dir() {
            grant.access
        } else {
            grant.access & file_rights
        };
        if access.is_empty() {
            continue;
        }
        let fd = match PathFd::new(&grant.path) {
            Ok(fd) => fd,
            Err(_) if !grant.required => continue,
            Err(e) => {
                return Err(SandboxError::LandlockRuleset {
                    context: format!("rule for {}", grant.path.display()),
                    detail: e.to_string(),
                })
            }
        };
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err(&format!("rule for {}", grant.path.display())))?;
    }

    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| SandboxError::LandlockRuleset {
        context: "create ruleset".into(),
        detail: "the Landlock library returned no ruleset fd (Landlock unsupported?)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi1_has_no_truncate_for_devices() {
        let cfg = SandboxConfig::new("/nonexistent");
        let g = grants(1, Path::new("/p"), Some(Path::new("/t")), &cfg);
        let null = g.iter().find(|g| g.path == Path::new("/dev/null")).unwrap();
        assert!(!null.access.contains(AccessFs::Truncate));
        let g = grants(5, Path::new("/p"), Some(Path::new("/t")), &cfg);
        let null = g.iter().find(|g| g.path == Path::new("/dev/null")).unwrap();
        assert!(null
            .access
            .contains(AccessFs::Truncate | AccessFs::IoctlDev));
    }

    #[test]
    fn system_trees_are_read_only() {
        let cfg = SandboxConfig::new("/nonexistent");
        for g in grants(7, Path::new("/p"), Some(Path::new("/t")), &cfg) {
            if g.path.starts_with("/usr")
                || g.path.starts_with("/etc")
                || g.path == Path::new("/proc")
            {
                assert!(
                    !g.access.contains(AccessFs::WriteFile),
                    "{}",
                    g.path.display()
                );
                assert!(
                    !g.access.contains(AccessFs::MakeReg),
                    "{}",
                    g.path.display()
                );
            }
        }
    }
}
