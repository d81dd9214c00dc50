//! The JSON Lines audit log: one record per decision.
//!
//! Each record is serialised first and appended with a single `write(2)` on
//! a file opened with `O_APPEND`, so records from concurrent shellgate
//! processes never interleave (POSIX: appends of one write are atomic with
//! respect to other appends on local file systems). The file is created
//! with mode 0600 and its directory with 0700.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Environment variable naming the audit log.
pub const ENV_VAR: &str = "SHELLGATE_AUDIT_LOG";

/// An open audit log.
pub struct AuditLog {
    file: File,
    path: PathBuf,
}

/// One decision as recorded.
#[derive(Serialize)]
pub struct Record<'a> {
    /// RFC 3339 time in UTC, microsecond precision.
    pub time: String,
    /// `check`, `batch`, `explain`, `run`, `hook` or `shell` (`shellgate -c`).
    pub mode: &'a str,
    /// The session the decision belongs to.
    pub session: &'a str,
    /// Working directory the command was judged for.
    pub cwd: &'a str,
    /// The command as received (lossily decoded if not UTF-8).
    pub command: &'a str,
    /// `allow`, `ask` or `deny`.
    pub decision: &'a str,
    /// Where the decision came from: `policy`, `session_escalation`,
    /// `user_approval` or `policy_error`.
    pub source: &'a str,
    /// Ids of the rules that fired.
    pub rules: Vec<&'a str>,
    /// Every rule that fired with its section, strictest first.
    pub sections: Vec<(&'a str, &'a str)>,
    /// The one-line reason.
    pub reason: &'a str,
    /// Permission tier.
    pub tier: &'a str,
    /// Fingerprint of the policy text.
    pub policy_digest: &'a str,
    /// The one-time approval code printed with a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<&'a str>,
    /// The harness whose hook asked (`claude-code`, `codex`, `cursor`,
    /// `gemini`, `copilot`); absent outside hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harness: Option<&'a str>,
    /// The harness's id of the tool call, when it sends one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<&'a str>,
    /// Time to parse and decide, in microseconds.
    pub duration_us: u128,
}

/// Where the audit log goes: `--audit-log`, else `$SHELLGATE_AUDIT_LOG`,
/// else `$XDG_STATE_HOME/shellgate/audit.jsonl`, else
/// `$HOME/.local/state/shellgate/audit.jsonl`.
pub fn default_path(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(s) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(s).join("shellgate/audit.jsonl"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state/shellgate/audit.jsonl"))
}

impl AuditLog {
    /// Opens (creating if needed) the log for appending.
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| format!("cannot create audit log directory {}: {e}; set --audit-log or {ENV_VAR}", dir.display()))?;
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot open audit log {}: {e}; set --audit-log or {ENV_VAR} to a writable file", path.display()))?;
        Ok(AuditLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one record as one line with one write.
    pub fn append(&mut self, record: &Record) -> Result<(), String> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| format!("cannot encode audit record: {e}"))?;
        line.push(b'\n');
        let n = self
            .file
            .write(&line)
            .map_err(|e| format!("cannot write audit log {}: {e}", self.path.display()))?;
        if n != line.len() {
            return Err(format!(
                "short write to audit log {} ({n} of {} bytes); the disk may be full",
                self.path.display(),
                line.len()
            ));
        }
        Ok(())
    }
}

/// Current time as RFC 3339 UTC with microseconds.
pub fn now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}
