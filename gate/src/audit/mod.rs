//! The JSON Lines audit log: one record per decision, per user answer to
//! an approval, and per finished `run`, and the tools that read it back
//! (`shellgate audit report|replay|suggest`).
//!
//! Writing: each record is serialised first (with secrets redacted, see
//! [`redact`]) and appended with a single `write(2)` on a file opened with
//! `O_APPEND`, so records from concurrent shellgate processes never
//! interleave (POSIX `write`: appends of one write are atomic with respect
//! to other appends on local file systems). When the log is a regular file,
//! every append holds an exclusive `flock(2)` on `LOG.lock`, under which it
//! also rotates the log once it would grow past its size limit
//! ([`Rotation`]): `LOG` → `LOG.1` → … → `LOG.N`, the oldest dropped. The
//! log is created with mode 0600 and its directory with 0700.
//!
//! The fields are documented on [`Record`] and in docs/audit.md.

#[cfg(feature = "otlp")]
pub mod otlp;
pub mod read;
pub mod redact;
pub mod replay;
pub mod report;
pub mod suggest;

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

/// Environment variable naming the audit log.
pub const ENV_VAR: &str = "SHELLGATE_AUDIT_LOG";
/// Environment variable: size in bytes past which the log is rotated
/// (`0` turns rotation off). Default [`DEFAULT_MAX_BYTES`].
pub const MAX_BYTES_VAR: &str = "SHELLGATE_AUDIT_MAX_BYTES";
/// Environment variable: how many rotated files to keep. Default
/// [`DEFAULT_KEEP`].
pub const KEEP_VAR: &str = "SHELLGATE_AUDIT_KEEP";
/// Default rotation size: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default number of rotated files kept beside the live log.
pub const DEFAULT_KEEP: u32 = 5;

/// What a record is about.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// shellgate decided on a command (every mode).
    #[default]
    Decision,
    /// The user answered `shellgate approve` for a refused command.
    Approval,
    /// A command `run` (or `shellgate -c`) started has finished.
    Exit,
}

/// A rule that fired, with the section of the policy it belongs to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    /// Rule id, e.g. `git.force-push`.
    pub rule: String,
    /// `deny_layer`, `ignore_file`, `input`, `hard_deny`, `soft_deny`,
    /// `allow` or `tier_default`.
    pub section: String,
    /// The part of the command the rule matched (at most
    /// [`MATCHED_CHARS`] characters), redacted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub matched: String,
    /// The simple command the rule fired on, after unwrapping, as a
    /// shell-quoted line (as in [`Record::judged`]), redacted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
}

/// Most characters of a matched span kept in [`Fired::matched`].
pub const MATCHED_CHARS: usize = 200;

/// One audit record. Serialised as one JSON object per line; fields that
/// do not apply to an [`Event`] are left out. Readers accept records
/// written by earlier versions (missing fields take their defaults).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct Record {
    /// RFC 3339 time in UTC, microsecond precision.
    pub time: String,
    /// Random id of this record (16 hex digits); `exit` records name the
    /// decision they finish in `decision_id`.
    pub id: String,
    /// What the record is about.
    pub event: Event,
    /// `check`, `batch`, `explain`, `run`, `hook`, `shell` (`shellgate -c`)
    /// or `approve`.
    pub mode: String,
    /// The session the decision belongs to.
    pub session: String,
    /// The harness whose hook asked (`claude-code`, `codex`, `cursor`,
    /// `gemini`, `copilot`); absent outside hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harness: Option<String>,
    /// The harness's name of the tool (`Bash`, `run_shell_command` …);
    /// absent outside hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The harness's id of the tool call, when it sends one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// Working directory the command was judged for.
    pub cwd: String,
    /// The command as received (lossily decoded if not UTF-8), redacted.
    pub command: String,
    /// The simple commands it was judged on, after unwrapping (wrappers
    /// removed, nested scripts expanded), each as a shell-quoted line;
    /// redacted. Empty when the command did not parse.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub judged: Vec<String>,
    /// `allow`, `ask` or `deny`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub decision: String,
    /// Where the decision came from: `policy`, `session_escalation`,
    /// `user_approval`, `policy_error`, `hook` (the hook input itself was
    /// refused) or `user` (an `approval` record).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Ids of the rules that fired, strictest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Every rule that fired with its section, strictest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<Fired>,
    /// Records of version 0.1 gave `fired` as `[rule, section]` pairs.
    #[serde(skip_serializing)]
    sections: Vec<(String, String)>,
    /// The one-line reason, redacted.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Permission tier (`none` when the policy did not load).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// Fingerprint of the policy text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_digest: String,
    /// The one-time approval code printed with a refusal, or answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    /// `approval` records: whether the user approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
    /// Time to parse and decide, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_us: Option<u64>,
    /// `exit` records: the `id` of the decision that let the command run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// `exit` records: the exit status, when the command exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// `exit` records: the signal that ended the command, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// `exit` records: wall-clock run time in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_ms: Option<u64>,
    /// `exit` records: names (never values) of the caller's environment
    /// variables the sandboxed command did not get (credentials, agent
    /// sockets; see `sandbox.pass_env`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld_env: Vec<String>,
    /// `exit` records: destinations the sandbox's proxy refused, each
    /// `host:port: reason` in the order the command tried them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_refused: Vec<String>,
    /// `exit` records: files the command made that git would follow out of
    /// the repository (`.git/commondir`, `config.worktree`, a config file
    /// that `.git/config` includes), each `PATH ->
    /// NEW PATH` as shellgate moved it aside after the run, or `PATH:
    /// ERROR` when it could not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<String>,
}

impl Record {
    /// A new record of `event` stamped with the current time and a fresh id.
    pub fn new(event: Event, mode: &str) -> Record {
        Record {
            time: now(),
            id: new_id(),
            event,
            mode: mode.to_string(),
            ..Record::default()
        }
    }

    /// The rules that fired with their sections, also from records of
    /// version 0.1.
    pub fn fired(&self) -> Vec<Fired> {
        if !self.fired.is_empty() || self.sections.is_empty() {
            return self.fired.clone();
        }
        self.sections
            .iter()
            .map(|(rule, section)| Fired {
                rule: rule.clone(),
                section: section.clone(),
                matched: String::new(),
                command: String::new(),
            })
            .collect()
    }

    /// Redacts every free-text field that can carry a secret: the
    /// command, the judged commands and the reason ([`redact::redact`]).
    pub fn redact(&mut self) {
        for s in std::iter::once(&mut self.command)
            .chain(self.judged.iter_mut())
            .chain(std::iter::once(&mut self.reason))
            .chain(
                self.fired
                    .iter_mut()
                    .flat_map(|f| [&mut f.matched, &mut f.command]),
            )
        {
            if let std::borrow::Cow::Owned(r) = redact::redact(s) {
                *s = r;
            }
        }
    }
}

/// When the log is rotated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a write would take the log past this many bytes;
    /// 0 never rotates.
    pub max_bytes: u64,
    /// Rotated files kept (`LOG.1` newest … `LOG.keep` oldest).
    pub keep: u32,
}

impl Rotation {
    /// From `$SHELLGATE_AUDIT_MAX_BYTES` and `$SHELLGATE_AUDIT_KEEP`.
    ///
    /// # Errors
    /// A value that is not a whole number, or a `keep` of 0 with rotation
    /// on (which would delete the log), is an error naming the variable.
    pub fn from_env() -> Result<Rotation, String> {
        Rotation::from_vars(|k| std::env::var(k).ok())
    }

    /// As [`Rotation::from_env`], with the variables looked up by `get`.
    ///
    /// # Errors
    /// As [`Rotation::from_env`].
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Rotation, String> {
        let num = |var: &str, default: u64| -> Result<u64, String> {
            match get(var) {
                Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
                    format!("{var}={v:?} is not a whole number; unset it or give a number")
                }),
                _ => Ok(default),
            }
        };
        let max_bytes = num(MAX_BYTES_VAR, DEFAULT_MAX_BYTES)?;
        let keep = num(KEEP_VAR, u64::from(DEFAULT_KEEP))?;
        if max_bytes > 0 && keep == 0 {
            return Err(format!(
                "{KEEP_VAR}=0 would delete the audit log at each rotation; keep at least 1 file, or set {MAX_BYTES_VAR}=0 to turn rotation off"
            ));
        }
        Ok(Rotation {
            max_bytes,
            keep: u32::try_from(keep.min(1000)).unwrap_or(1000),
        })
    }
}

/// An open audit log.
pub struct AuditLog {
    file: File,
    path: PathBuf,
    /// Locked for every append when the log is a regular file.
    lock: Option<File>,
    rotation: Rotation,
    /// OpenTelemetry export of decisions, when configured.
    #[cfg(feature = "otlp")]
    otlp: Option<otlp::Exporter>,
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

/// `LOG.N`: the N-th rotated file (1 is the newest).
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

impl AuditLog {
    /// Opens (creating if needed) the log for appending, with rotation
    /// from the environment and OpenTelemetry export when
    /// `OTEL_EXPORTER_OTLP_*` configures it ([`otlp`]).
    ///
    /// # Errors
    /// A directory or file that cannot be created or opened, or a bad
    /// rotation setting; the message says which setting to change.
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        let rotation = Rotation::from_env()?;
        #[cfg_attr(not(feature = "otlp"), allow(unused_mut))]
        let mut log = AuditLog::open_with(path, rotation)?;
        #[cfg(feature = "otlp")]
        {
            log.otlp = otlp::Exporter::from_env();
        }
        #[cfg(not(feature = "otlp"))]
        if [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
        {
            eprintln!("shellgate: warning: OpenTelemetry export is off: this shellgate was built without the `otlp` feature; rebuild with default features to export decisions");
        }
        Ok(log)
    }

    /// Opens the log at [`default_path`]`(flag)` as [`AuditLog::open`].
    ///
    /// # Errors
    /// No location can be told (no flag, variable or `$HOME`), or
    /// [`AuditLog::open`] fails.
    pub fn open_default(flag: Option<&Path>) -> Result<AuditLog, String> {
        let path = default_path(flag)
            .ok_or_else(|| format!("no audit log location: set --audit-log or {ENV_VAR}"))?;
        AuditLog::open(&path)
    }

    /// Opens the log with an explicit rotation and no telemetry.
    ///
    /// # Errors
    /// As [`AuditLog::open`].
    pub fn open_with(path: &Path, rotation: Rotation) -> Result<AuditLog, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| format!("cannot create audit log directory {}: {e}; set --audit-log or {ENV_VAR}", dir.display()))?;
            }
        }
        let file = open_append(path).map_err(|e| {
            format!(
                "cannot open audit log {}: {e}; set --audit-log or {ENV_VAR} to a writable file",
                path.display()
            )
        })?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        // Devices and pipes (`/dev/stderr`, a FIFO to a collector) are
        // neither locked nor rotated; without rotation no lock is needed
        // (each append is one atomic write), so a log in a directory
        // shellgate cannot write to works with rotation off.
        let lock = if regular && rotation.max_bytes > 0 {
            Some(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .open(lock_path(path))
                    .map_err(|e| {
                        format!(
                            "cannot open the audit log's lock file {}: {e}; make its directory writable or set {MAX_BYTES_VAR}=0",
                            lock_path(path).display()
                        )
                    })?,
            )
        } else {
            None
        };
        Ok(AuditLog {
            file,
            path: path.to_path_buf(),
            lock,
            rotation,
            #[cfg(feature = "otlp")]
            otlp: None,
        })
    }

    /// Redacts `record`, appends it as one line with one write (rotating
    /// first when due), then exports it over OTLP when configured.
    ///
    /// # Errors
    /// The record could not be written in full; telemetry failures are
    /// warnings on stderr, never errors (the log is the record of truth).
    pub fn append(&mut self, record: &mut Record) -> Result<(), String> {
        record.redact();
        let mut line =
            serde_json::to_vec(record).map_err(|e| format!("cannot encode audit record: {e}"))?;
        line.push(b'\n');
        match self.lock.take() {
            Some(lock) => match lock_bounded(lock) {
                Ok(held) => {
                    let result = self
                        .follow_rotation()
                        .and_then(|()| self.rotate_if_due(line.len() as u64))
                        .and_then(|()| self.write_line(&line));
                    self.lock = held.unlock().ok();
                    result?;
                }
                Err(file) => {
                    // The record matters more than rotation: write it
                    // without the lock (still one atomic append).
                    self.lock = Some(file);
                    eprintln!(
                        "shellgate: warning: {} is held by another process; appending without rotating",
                        lock_path(&self.path).display()
                    );
                    self.write_line(&line)?;
                }
            },
            None => self.write_line(&line)?,
        }
        #[cfg(feature = "otlp")]
        if let Some(exporter) = &self.otlp {
            if let Err(e) = exporter.export(record) {
                eprintln!("shellgate: warning: OpenTelemetry export failed: {e}");
            }
        }
        Ok(())
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), String> {
        let n = self
            .file
            .write(line)
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

    /// Another process may have rotated the log since it was opened: the
    /// open file is then `LOG.1`, and appends must go to the new `LOG`.
    fn follow_rotation(&mut self) -> Result<(), String> {
        let open = self.file.metadata().map(|m| (m.dev(), m.ino())).ok();
        let named = std::fs::metadata(&self.path)
            .map(|m| (m.dev(), m.ino()))
            .ok();
        if open.is_none() || open != named {
            self.file = open_append(&self.path)
                .map_err(|e| format!("cannot reopen audit log {}: {e}", self.path.display()))?;
        }
        Ok(())
    }

    /// Rotates when appending `incoming` bytes would pass the limit. The
    /// caller holds the lock.
    fn rotate_if_due(&mut self, incoming: u64) -> Result<(), String> {
        let Rotation { max_bytes, keep } = self.rotation;
        if max_bytes == 0 {
            return Ok(());
        }
        let size = self
            .file
            .metadata()
            .map_err(|e| format!("cannot stat audit log {}: {e}", self.path.display()))?
            .len();
        if size == 0 || size + incoming <= max_bytes {
            return Ok(());
        }
        let err = |e: std::io::Error| {
            format!(
                "cannot rotate audit log {}: {e}; free space or set {MAX_BYTES_VAR}=0",
                self.path.display()
            )
        };
        match std::fs::remove_file(rotated_path(&self.path, keep)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        for n in (1..keep).rev() {
            match std::fs::rename(rotated_path(&self.path, n), rotated_path(&self.path, n + 1)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(e)),
            }
        }
        std::fs::rename(&self.path, rotated_path(&self.path, 1)).map_err(err)?;
        self.file = open_append(&self.path).map_err(err)?;
        Ok(())
    }
}

/// Longest wait for the log's lock. A process that holds it longer (even
/// a hostile `flock LOG.lock sleep …`) cannot stall a decision: the record
/// is then appended without the lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Takes the exclusive lock on `file`, waiting at most [`LOCK_WAIT`];
/// gives the file back when it cannot.
fn lock_bounded(mut file: File) -> Result<Flock<File>, File> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_micros(50);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Ok(held),
            Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(5));
            }
            Err((f, _)) => return Err(f),
        }
    }
}

/// The first `n` characters of `s`, followed by `…` when anything was
/// cut.
pub fn truncate_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Current time as RFC 3339 UTC with microseconds.
pub fn now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// A random record id: 16 lowercase hex digits (64 bits from the OS).
pub fn new_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // Unique enough to pair an exit with its decision in one process.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        b = (t ^ u64::from(std::process::id()).rotate_left(40)).to_be_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(cmd: &str) -> Record {
        let mut r = Record::new(Event::Decision, "check");
        r.command = cmd.into();
        r.decision = "allow".into();
        r
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn rotation_keeps_every_record_and_drops_only_the_oldest_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut log = AuditLog::open_with(
            &path,
            Rotation {
                max_bytes: 600,
                keep: 3,
            },
        )
        .unwrap();
        for i in 0..12 {
            log.append(&mut decision(&format!("echo {i}"))).unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 600);
        let mut all = Vec::new();
        for n in (1..=3).rev() {
            let p = rotated_path(&path, n);
            assert!(std::fs::metadata(&p).unwrap().len() <= 600, "{p:?}");
            all.extend(lines(&p));
        }
        all.extend(lines(&path));
        assert!(!rotated_path(&path, 4).exists());
        // The newest records survive, in order, with nothing torn.
        let cmds: Vec<String> = all
            .iter()
            .map(|l| serde_json::from_str::<Record>(l).unwrap().command)
            .collect();
        let last = cmds.last().unwrap().clone();
        assert_eq!(last, "echo 11");
        let first: usize = cmds[0].trim_start_matches("echo ").parse().unwrap();
        let want: Vec<String> = (first..12).map(|i| format!("echo {i}")).collect();
        assert_eq!(cmds, want);
    }

    #[test]
    fn a_writer_follows_a_rotation_made_by_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let rot = Rotation {
            max_bytes: 400,
            keep: 2,
        };
        let mut a = AuditLog::open_with(&path, rot).unwrap();
        let mut b = AuditLog::open_with(&path, rot).unwrap();
        a.append(&mut decision("one")).unwrap();
        a.append(&mut decision("two")).unwrap();
        a.append(&mut decision("three")).unwrap(); // rotates
        b.append(&mut decision("four")).unwrap();
        let live = lines(&path);
        assert!(live.iter().any(|l| l.contains("\"four\"")), "{live:?}");
    }

    #[test]
    fn rotation_settings_fail_with_the_variable_named() {
        let e = Rotation::from_vars(|k| (k == KEEP_VAR).then(|| "many".into())).unwrap_err();
        assert!(e.contains(KEEP_VAR), "{e}");
        let e = Rotation::from_vars(|k| (k == KEEP_VAR).then(|| "0".into())).unwrap_err();
        assert!(e.contains(MAX_BYTES_VAR), "{e}");
        let off = Rotation::from_vars(|k| {
            [(MAX_BYTES_VAR, "0"), (KEEP_VAR, "0")]
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        assert_eq!(off.max_bytes, 0);
    }

    #[test]
    fn old_records_read_their_sections() {
        let r: Record = serde_json::from_str(
            r#"{"time":"2026-01-01T00:00:00Z","mode":"check","session":"s","cwd":"/p","command":"x","decision":"deny","source":"policy","rules":["a.b"],"sections":[["a.b","hard_deny"]],"reason":"r","tier":"balanced","policy_digest":"d","duration_us":3}"#,
        )
        .unwrap();
        assert_eq!(r.event, Event::Decision);
        assert_eq!(
            r.fired(),
            vec![Fired {
                rule: "a.b".into(),
                section: "hard_deny".into(),
                matched: String::new(),
                command: String::new(),
            }]
        );
    }
}
