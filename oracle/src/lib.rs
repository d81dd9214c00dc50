//! # shellgate-oracle
//!
//! The truth about a command is what bash does when it runs it. This crate
//! runs a command with real `bash -c` in a disposable jail ([`jail`]:
//! bubblewrap namespaces, a planted fake `$HOME` and project with secrets,
//! no network but loopback), records every `execve`, open, removal,
//! `chmod`, `connect` and DNS query with `strace` ([`trace`]), and
//! classifies what happened into the harms shellgate exists to stop
//! ([`classify::Harm`]). Download tools, `git push`, network clients and
//! privilege tools are replaced by stand-ins ([`standins`]) that do nothing
//! real but let a pipeline go on.
//!
//! [`fuzz`] uses the oracle as the judge of a differential fuzzer: commands
//! from a labelled corpus are rewritten ([`mutate`]) and every variant that
//! shellgate allows but the oracle shows did harm is a bypass.
//!
//! Needs `bwrap` (Debian package `bubblewrap`), `strace`, `bash` and `git`
//! on `PATH`, and unprivileged user namespaces.

pub mod classify;
pub mod fuzz;
pub mod jail;
pub mod mutate;
pub mod standins;
pub mod tools;
pub mod trace;

use std::time::Duration;

use shellgate_rules::remote::TrustedRemote;
use shellgate_rules::Policy;

pub use classify::{Finding, Harm, Verdict};

/// Errors of the oracle. Each says what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// A program the jail needs is not installed.
    #[error("`{0}` is not installed; the oracle needs bubblewrap (bwrap), strace, bash and git (Debian: apt-get install bubblewrap strace)")]
    Missing(String),
    /// bwrap or strace could not start the command.
    #[error("the oracle's jail failed: {0} (are unprivileged user namespaces allowed? `shellgate doctor` tells)")]
    Jail(String),
    /// File system work for the jail failed.
    #[error("oracle I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The environment a command is judged in: where the project and `$HOME`
/// are, and which remotes are trusted (from the policy).
#[derive(Clone, Debug)]
pub struct Setting {
    /// The project root (absolute, no trailing `/`).
    pub project_root: String,
    /// `$HOME` (absolute).
    pub home: String,
    /// The policy's `environment.trusted_remotes`.
    pub trusted: Vec<TrustedRemote>,
}

impl Setting {
    /// The setting of `policy` with `$HOME` = `home`: its project root, or
    /// `home/project` when the policy names none.
    pub fn from_policy(policy: &Policy, home: &str) -> Setting {
        let home = home.trim_end_matches('/').to_string();
        let project_root = policy
            .project_root
            .clone()
            .map(|p| p.trim_end_matches('/').to_string())
            .filter(|p| p.starts_with('/') && p.len() > 1)
            .unwrap_or_else(|| format!("{home}/project"));
        Setting {
            project_root,
            home,
            trusted: policy.trusted_remotes.clone(),
        }
    }

    /// The URL of the planted repository's `origin` and `upstream`: the
    /// first trusted remote that names a host, as
    /// `https://HOST/PATH/project.git`, or an untrusted placeholder when
    /// the policy trusts none.
    pub fn origin_url(&self) -> String {
        self.trusted
            .iter()
            .find(|t| !t.wildcard)
            .map(|t| {
                let path = if t.path.is_empty() {
                    "org".to_string()
                } else {
                    t.path.clone()
                };
                format!("https://{}/{}/project.git", t.host, path)
            })
            .unwrap_or_else(|| "https://git.example.invalid/org/project.git".into())
    }
}

/// What the oracle saw one command do.
#[derive(Debug, serde::Serialize)]
pub struct Observation {
    /// The command as run.
    pub command: String,
    /// The classification.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// `bash`'s exit status; `None` when it was killed.
    pub status: Option<i32>,
    /// True when the run hit the timeout (what it did until then counts).
    pub timed_out: bool,
    /// The command's stdout (lossy UTF-8).
    pub stdout: String,
    /// The command's stderr (lossy UTF-8).
    pub stderr: String,
}

/// A jail planted once, in which commands run one after another.
#[derive(Debug)]
pub struct Oracle {
    jail: jail::Jail,
}

impl Oracle {
    /// Plants the world for `setting`; each run is killed after `timeout`.
    ///
    /// # Errors
    /// As [`jail::Jail::new`].
    pub fn new(setting: Setting, timeout: Duration) -> Result<Oracle, OracleError> {
        Ok(Oracle {
            jail: jail::Jail::new(setting, timeout)?,
        })
    }

    /// The setting commands are judged in.
    pub fn setting(&self) -> &Setting {
        self.jail.setting()
    }

    /// Runs `command` in a fresh copy of the world and classifies it.
    ///
    /// # Errors
    /// As [`jail::Jail::run`].
    pub fn observe(&self, command: &str) -> Result<Observation, OracleError> {
        let run = self.jail.run(command)?;
        let verdict = classify::classify(&run, self.jail.setting(), self.jail.secrets());
        Ok(Observation {
            command: command.to_string(),
            verdict,
            status: run.status,
            timed_out: run.timed_out,
            stdout: run.stdout,
            stderr: run.stderr,
        })
    }
}

/// The default time one oracle run may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
