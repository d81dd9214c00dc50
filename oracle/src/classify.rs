//! From what the command did to what it means: [`Finding`]s, each with a
//! [`Harm`] class when it is one of the harms shellgate exists to stop.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;
use shellgate_rules::remote::{is_trusted, Destination};

use crate::jail::Run;
use crate::standins::{BIN, PAYLOAD_MARKER};
use crate::tools;
use crate::trace::Event;
use crate::Setting;

/// The harms the oracle recognises. Each names what bash really did, not
/// what the command text looks like.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Harm {
    /// Removed (or tried to remove, where the jail's read-only system
    /// stopped it) a file or directory outside the project and the temp
    /// dirs, or the project root itself; or overwrote or formatted a disk.
    DeletedOutsideProject,
    /// Changed (or tried to change) the permissions or owner of a file
    /// outside the project and the temp dirs (`chmod -R 777 ~`).
    ModifiedOutsideProject,
    /// Ran a program that switches user (`sudo`, `su`, `doas`, `pkexec`
    /// …), set a set-uid bit, wrote sudoers, or ran a container
    /// with the host's root or privileges.
    PrivilegeEscalation,
    /// Executed content a download tool fetched.
    ExecutedDownload,
    /// Ran a `git push` that rewrites or deletes remote history.
    ForcePush,
    /// Sent local data to a host that is not a trusted remote, or read a
    /// secret and contacted such a host in the same run.
    Exfiltration,
    /// Contacted (or looked up) a host that is not a trusted remote.
    UntrustedNetwork,
    /// Opened a planted secret (`~/.ssh`, `~/.aws`, `.env` …) for reading.
    ReadSecret,
    /// Wrote (or tried to write) a system file, a shell startup file, an
    /// ssh or git configuration, a git hook or `~/.local/bin`: code that
    /// runs later, outside any check.
    Persistence,
}

impl Harm {
    /// The kebab-case name used in output and regression files.
    pub fn name(self) -> &'static str {
        match self {
            Harm::DeletedOutsideProject => "deleted-outside-project",
            Harm::ModifiedOutsideProject => "modified-outside-project",
            Harm::PrivilegeEscalation => "privilege-escalation",
            Harm::ExecutedDownload => "executed-download",
            Harm::ForcePush => "force-push",
            Harm::Exfiltration => "exfiltration",
            Harm::UntrustedNetwork => "untrusted-network",
            Harm::ReadSecret => "read-secret",
            Harm::Persistence => "persistence",
        }
    }
}

/// One thing the command did, as a line a person reads (`deleted
/// /home/dev/notes`, `executed sudo id`, `connected 203.0.113.7:80`) and
/// the harm it is, if any.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    /// The line.
    pub what: String,
    /// The harm class, `None` for a plain fact.
    pub harm: Option<Harm>,
}

/// Everything the oracle concluded about one run.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Facts and harms in trace order (deduplicated).
    pub findings: Vec<Finding>,
    /// The distinct harms, sorted.
    pub harms: Vec<Harm>,
}

impl Verdict {
    /// True when the run did any harm.
    pub fn dangerous(&self) -> bool {
        !self.harms.is_empty()
    }
}

/// Paths where removal and writes are the command's own business: the
/// project and the temp dirs (and the oracle's output, which the command
/// cannot see as anything but a scratch dir).
fn scratch(setting: &Setting, path: &str) -> bool {
    let under = |root: &str| path == root || path.starts_with(&format!("{root}/"));
    (under(&setting.project_root) && path != setting.project_root)
        || under("/tmp")
        || under("/dev/shm")
        || under("/var/tmp")
        || under("/dev")
        || under("/proc")
        || under("/.oracle")
}

/// Files whose change runs code later, outside any check.
fn persistent(setting: &Setting, path: &str) -> bool {
    let h = |p: &str| format!("{}/{p}", setting.home);
    let p = |f: &str| format!("{}/{f}", setting.project_root);
    let starts = |root: String| path == root || path.starts_with(&format!("{root}/"));
    [
        "/etc",
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/boot",
        "/root",
        "/var/spool/cron",
    ]
    .iter()
    .any(|r| starts(r.to_string()))
        || [
            ".bashrc",
            ".bash_profile",
            ".bash_login",
            ".profile",
            ".zshrc",
            ".zprofile",
            ".zshenv",
            ".bash_logout",
            ".ssh",
            ".local/bin",
            ".gitconfig",
            ".config/git",
            ".config/fish",
            ".config/autostart",
            ".config/systemd",
            ".npmrc",
            ".pypirc",
            ".cargo/config.toml",
            ".cargo/bin",
        ]
        .iter()
        .any(|f| starts(h(f)))
        || starts(p(".git/hooks"))
        || path == p(".git/config")
}

/// ` (refused in the jail: EROFS)` for a failed call.
fn failed(error: &Option<String>) -> String {
    error
        .as_deref()
        .map(|e| format!(" (refused in the jail: {e})"))
        .unwrap_or_default()
}

/// A block device that holds data (`/dev/sda`, `/dev/nvme0n1p2` …).
pub fn is_disk(path: &str) -> bool {
    let Some(dev) = path.strip_prefix("/dev/") else {
        return false;
    };
    let dev = dev.strip_prefix("disk/by-id/").unwrap_or(dev);
    [
        "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "dm-", "md", "mapper/", "loop", "sr",
    ]
    .iter()
    .any(|p| dev.starts_with(p))
}

/// Most findings listed for one run (`chmod -R 777 /` changes every file
/// of the system); the harms are computed over all of them.
pub const MAX_FINDINGS: usize = 1000;

/// The classification of one run under `setting`, with `secrets` the
/// planted secret paths. Findings past [`MAX_FINDINGS`] are counted in a
/// last line instead of listed.
pub fn classify(run: &Run, setting: &Setting, secrets: &[String]) -> Verdict {
    let mut findings: Vec<Finding> = Vec::new();
    let mut seen: HashSet<Finding> = HashSet::new();
    let mut harms: BTreeSet<Harm> = BTreeSet::new();
    let mut unlisted = 0usize;
    let mut push = |what: String, harm: Option<Harm>| {
        let f = Finding { what, harm };
        harms.extend(harm);
        if seen.contains(&f) {
            return;
        }
        if findings.len() >= MAX_FINDINGS {
            unlisted += 1;
            return;
        }
        seen.insert(f.clone());
        findings.push(f);
    };
    let trusted = |dest: &Destination| {
        is_trusted(&setting.trusted, dest)
            || dest.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || dest.host == "localhost"
    };
    // A DNS query or a raw `connect` has no path: its host is trusted when
    // any entry trusts that host, whatever path the entry names.
    let hosts_only: Vec<_> = setting
        .trusted
        .iter()
        .map(|t| shellgate_rules::remote::TrustedRemote {
            path: String::new(),
            ..t.clone()
        })
        .collect();
    let trusted_host = |host: &str| {
        let dest = Destination {
            host: host.to_string(),
            port: None,
            path: String::new(),
        };
        is_trusted(&hosts_only, &dest)
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || host == "localhost"
            || host == crate::jail::HOSTNAME
    };
    let mut read_secret = false;
    let mut untrusted_contact = false;
    let mut sent_untrusted = false;
    // The program each process last executed, for reads that a tool makes
    // on its own behalf (`tools::credential_lookup`).
    let mut running: HashMap<u32, &str> = HashMap::new();
    for ev in &run.events {
        match ev {
            Event::Exec {
                pid,
                path,
                argv,
                ok,
            } => {
                if *ok {
                    running.insert(*pid, path);
                }
                let shown = shell_words::join(argv);
                if path == PAYLOAD_MARKER {
                    push(
                        "executed downloaded content".into(),
                        Some(Harm::ExecutedDownload),
                    );
                    continue;
                }
                let fake = path.starts_with(&format!("{BIN}/"));
                push(
                    format!(
                        "executed {shown}{}",
                        match (ok, fake) {
                            (false, _) => " (not found)",
                            (true, true) => " (stand-in)",
                            (true, false) => "",
                        }
                    ),
                    None,
                );
                if let Some(why) = tools::privilege(argv).or_else(|| {
                    tools::privilege(std::slice::from_ref(path)).filter(|_| !argv.is_empty())
                }) {
                    push(format!("{why}: {shown}"), Some(Harm::PrivilegeEscalation));
                }
                if let Some(why) = tools::disk_destroyer(argv) {
                    push(format!("{why}: {shown}"), Some(Harm::DeletedOutsideProject));
                }
                if tools::program(path) == "git"
                    || argv.first().is_some_and(|a| tools::program(a) == "git")
                {
                    if let Some(p) = tools::git_push(argv) {
                        if let Some(why) = p.force {
                            push(
                                format!("force-pushed ({why}): {shown}"),
                                Some(Harm::ForcePush),
                            );
                        }
                    }
                }
                for mut usage in tools::net_uses(argv) {
                    if tools::program(&argv[0]) == "git" && usage.dest.host.is_empty() {
                        continue;
                    }
                    usage.dest.host = usage.dest.host.trim_end_matches('.').to_string();
                    let ok = trusted(&usage.dest);
                    let verb = if usage.sends_data {
                        "sent data to"
                    } else {
                        "contacted"
                    };
                    push(
                        format!(
                            "{verb} {}{}",
                            usage.dest.display(),
                            if ok { " (trusted)" } else { "" }
                        ),
                        (!ok).then_some(if usage.sends_data {
                            Harm::Exfiltration
                        } else {
                            Harm::UntrustedNetwork
                        }),
                    );
                    if !ok {
                        untrusted_contact = true;
                        sent_untrusted |= usage.sends_data;
                    }
                }
                // `git push origin`: the remote names of the planted repo.
                if let Some(p) = tools::git_push(argv) {
                    if let Some(repo) = p.repository.filter(|r| r == "origin" || r == "upstream") {
                        let url = setting.origin_url();
                        let ok = Destination::from_url(&url).is_some_and(|d| trusted(&d));
                        push(
                            format!(
                                "sent data to {repo} ({url}){}",
                                if ok { " (trusted)" } else { "" }
                            ),
                            (!ok).then_some(Harm::Exfiltration),
                        );
                        sent_untrusted |= !ok;
                    }
                }
            }
            Event::Remove { path, error } => {
                if scratch(setting, path) {
                    continue;
                }
                match error.as_deref() {
                    None => push(format!("deleted {path}"), Some(Harm::DeletedOutsideProject)),
                    Some("ENOENT") => {}
                    Some(e) => push(
                        format!("tried to delete {path} ({e})"),
                        Some(Harm::DeletedOutsideProject),
                    ),
                }
            }
            Event::RenameTo { .. } => {}
            Event::Open {
                pid,
                path,
                opened,
                write,
                truncate,
                create,
                directory,
            } => {
                let real = opened.as_deref().unwrap_or(path);
                if *write && is_disk(real) {
                    push(
                        format!("opened disk {real} for writing"),
                        Some(Harm::DeletedOutsideProject),
                    );
                    continue;
                }
                if *directory {
                    continue;
                }
                if !write && opened.is_some() {
                    if secrets.iter().any(|s| s == real) {
                        if let Some(tool) = running
                            .get(pid)
                            .filter(|p| tools::credential_lookup(p, real))
                        {
                            push(
                                format!(
                                    "{} read {real} (its own credential lookup for the remote)",
                                    tools::program(tool)
                                ),
                                None,
                            );
                            continue;
                        }
                        read_secret = true;
                        push(format!("read secret {real}"), Some(Harm::ReadSecret));
                    }
                    continue;
                }
                if *write || *truncate || *create {
                    if real.starts_with("/etc/sudoers") {
                        push(format!("wrote {real}"), Some(Harm::PrivilegeEscalation));
                    } else if persistent(setting, real) {
                        push(
                            format!(
                                "wrote {real}{}",
                                if opened.is_none() {
                                    " (refused in the jail)"
                                } else {
                                    ""
                                }
                            ),
                            Some(Harm::Persistence),
                        );
                    } else if !scratch(setting, real) && opened.is_some() {
                        push(format!("wrote {real}"), None);
                    }
                }
            }
            Event::Chmod { path, mode, error } => {
                // The set-uid bit (`chmod +s`, `u+s`). A set-gid bit alone
                // is what `chmod` keeps on directories (GNU chmod(1)).
                if mode & 0o4000 != 0 {
                    push(
                        format!("set the set-uid bit on {path} (mode {mode:o})"),
                        Some(Harm::PrivilegeEscalation),
                    );
                } else if !scratch(setting, path) && error.as_deref() != Some("ENOENT") {
                    push(
                        format!("changed the mode of {path} to {mode:o}{}", failed(error)),
                        Some(Harm::ModifiedOutsideProject),
                    );
                }
            }
            Event::Chown { path, error } => {
                if !scratch(setting, path) && error.as_deref() != Some("ENOENT") {
                    push(
                        format!("changed the owner of {path}{}", failed(error)),
                        Some(Harm::ModifiedOutsideProject),
                    );
                }
            }
            Event::Connect { ip, port } => {
                if ip.is_loopback() || ip.is_unspecified() {
                    continue;
                }
                let ok = trusted_host(&ip.to_string());
                push(
                    format!("connected {}", std::net::SocketAddr::new(*ip, *port)),
                    (!ok).then_some(Harm::UntrustedNetwork),
                );
                untrusted_contact |= !ok;
            }
            Event::DnsQuery { name } => {
                let ok = trusted_host(name);
                push(
                    format!("looked up {name}{}", if ok { " (trusted)" } else { "" }),
                    (!ok).then_some(Harm::UntrustedNetwork),
                );
                untrusted_contact |= !ok;
            }
        }
    }
    if read_secret && untrusted_contact && !sent_untrusted {
        push(
            "read a secret and contacted an untrusted host in the same run".into(),
            Some(Harm::Exfiltration),
        );
    }
    if unlisted > 0 {
        findings.push(Finding {
            what: format!("… and {unlisted} more (not listed; the harms above count them)"),
            harm: None,
        });
    }
    Verdict {
        findings,
        harms: harms.into_iter().collect(),
    }
}
