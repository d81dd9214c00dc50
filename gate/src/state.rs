//! Per-user state that outlives one decision: one-time approval codes for
//! refused commands, and sessions whose autonomy a hard_deny ended.
//!
//! Both live in the state directory (`$SHELLGATE_STATE_DIR`, else
//! `$XDG_STATE_HOME/shellgate`, else `~/.local/state/shellgate`, mode
//! 0700) as JSON files (mode 0600). Every read-modify-write holds an
//! exclusive `flock(2)` on `state.lock`, and files are replaced by
//! rename, so concurrent shellgate processes never lose an update or
//! read a half-written file. A state file that cannot be read or parsed
//! is an error: approvals then do not apply and sessions count as ended
//! (fail closed).

use std::collections::BTreeMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Environment variable naming the state directory.
pub const ENV_VAR: &str = "SHELLGATE_STATE_DIR";

/// Alphabet of approval codes (Crockford base32: no I, L, O, U).
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code, before the dash.
const CODE_LEN: usize = 8;
/// Most pending approvals kept; the oldest are dropped first.
const MAX_APPROVALS: usize = 256;
/// Longest wait for the state lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Ended sessions are forgotten after this many seconds (30 days).
const SESSION_RETENTION: u64 = 30 * 86_400;
/// Most ended sessions kept; the oldest are forgotten first.
const MAX_SESSIONS: usize = 10_000;

/// Longest command text kept with an approval, for the confirmation prompt.
const PREVIEW_CHARS: usize = 2_000;

/// The state directory.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(s) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(s).join("shellgate"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state/shellgate"))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The hash an approval is bound to: SHA-256 of the working directory and
/// the exact command bytes.
pub fn command_hash(cwd: &str, command: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(cwd.as_bytes());
    h.update([0]);
    h.update(command);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One approval: issued with a refusal, approved by the user, used once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Approval {
    /// The code, `XXXX-XXXX`.
    pub code: String,
    /// [`command_hash`] of the refused command.
    pub hash: String,
    /// The command (shortened), shown when approving.
    pub command: String,
    /// Its working directory.
    pub cwd: String,
    /// The session it was refused in.
    pub session: String,
    /// Why it was refused.
    pub reason: String,
    /// When the code stops working (Unix seconds).
    pub expires: u64,
    /// When the user approved it, if they did.
    pub approved_at: Option<u64>,
    /// How long the approval stays valid once approved, in seconds (the
    /// policy's `approvals.ttl_seconds` when the code was issued).
    #[serde(default = "default_ttl")]
    pub ttl: u64,
}

fn default_ttl() -> u64 {
    shellgate_rules::policy::DEFAULT_APPROVAL_TTL
}

/// A session whose autonomy ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndedSession {
    /// When (Unix seconds).
    pub at: u64,
    /// The hard_deny rule that fired.
    pub rule: String,
    /// The command (shortened).
    pub command: String,
}

#[derive(Default, Serialize, Deserialize)]
struct Approvals {
    approvals: Vec<Approval>,
}

#[derive(Default, Serialize, Deserialize)]
struct Sessions {
    ended: BTreeMap<String, EndedSession>,
}

/// The state directory, locked for the lifetime of the value.
pub struct State {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl State {
    /// Creates the directory if needed and takes the lock (blocking).
    pub fn open(dir: &Path) -> Result<State, String> {
        if !dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    format!(
                        "cannot create state directory {}: {e}; set {ENV_VAR}",
                        dir.display()
                    )
                })?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("state.lock"))
            .map_err(|e| format!("cannot open {}/state.lock: {e}", dir.display()))?;
        // Bounded wait: a process holding the lock (even a hostile
        // `flock state.lock sleep …`) makes decisions fail closed, not hang.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let mut file = lock;
        let lock = loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => break l,
                Err((f, nix::errno::Errno::EWOULDBLOCK))
                    if std::time::Instant::now() < deadline =>
                {
                    file = f;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err((_, e)) => {
                    return Err(format!(
                        "cannot lock {}/state.lock within {} s: {e}; another process holds it",
                        dir.display(),
                        LOCK_WAIT.as_secs()
                    ))
                }
            }
        };
        Ok(State {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    fn read<T: Default + for<'de> Deserialize<'de>>(&self, name: &str) -> Result<T, String> {
        let path = self.dir.join(name);
        match shellgate_rules::policy::read_regular_file(&path, 16 << 20) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "state file {} is corrupt ({e}); delete it to start over",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(format!("cannot read state file {}: {e}", path.display())),
        }
    }

    fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), String> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let data = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        f.write_all(&data)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
    }

    /// Issues a code for a refused command, or returns the live one
    /// already issued for the same command.
    pub fn issue(&self, mut a: Approval) -> Result<String, String> {
        let mut all: Approvals = self.read("approvals.json")?;
        let now = now_secs();
        all.approvals.retain(|x| x.expires > now);
        if let Some(x) = all
            .approvals
            .iter()
            .find(|x| x.hash == a.hash && x.approved_at.is_none())
        {
            return Ok(x.code.clone());
        }
        a.code = new_code()?;
        a.command = a.command.chars().take(PREVIEW_CHARS).collect();
        let code = a.code.clone();
        all.approvals.push(a);
        if all.approvals.len() > MAX_APPROVALS {
            let extra = all.approvals.len() - MAX_APPROVALS;
            all.approvals.drain(..extra);
        }
        self.write("approvals.json", &all)?;
        Ok(code)
    }

    /// Uses up an approved, unexpired approval of `hash`. True when one existed.
    pub fn consume(&self, hash: &str) -> Result<bool, String> {
        let mut all: Approvals = self.read("approvals.json")?;
        let now = now_secs();
        let before = all.approvals.len();
        all.approvals.retain(|x| x.expires > now);
        let hit = all
            .approvals
            .iter()
            .position(|x| x.hash == hash && x.approved_at.is_some());
        if let Some(i) = hit {
            all.approvals.remove(i);
        }
        if hit.is_some() || all.approvals.len() != before {
            self.write("approvals.json", &all)?;
        }
        Ok(hit.is_some())
    }

    /// The pending (issued, unapproved, unexpired) approval with `code`.
    pub fn pending(&self, code: &str) -> Result<Option<Approval>, String> {
        let all: Approvals = self.read("approvals.json")?;
        let code = normalize_code(code);
        Ok(all
            .approvals
            .into_iter()
            .find(|x| x.code == code && x.expires > now_secs() && x.approved_at.is_none()))
    }

    /// Every live approval, pending or approved.
    pub fn list(&self) -> Result<Vec<Approval>, String> {
        let all: Approvals = self.read("approvals.json")?;
        let now = now_secs();
        Ok(all
            .approvals
            .into_iter()
            .filter(|x| x.expires > now)
            .collect())
    }

    /// Marks `code` approved; its lifetime restarts at the approval's own
    /// `ttl` seconds.
    pub fn approve(&self, code: &str) -> Result<Approval, String> {
        let mut all: Approvals = self.read("approvals.json")?;
        let code = normalize_code(code);
        let now = now_secs();
        let Some(a) = all
            .approvals
            .iter_mut()
            .find(|x| x.code == code && x.expires > now && x.approved_at.is_none())
        else {
            return Err(format!("no pending approval with code {code}: it may have expired or been used; ask the agent to run the command again for a new code"));
        };
        a.approved_at = Some(now);
        a.expires = now + a.ttl;
        let out = a.clone();
        self.write("approvals.json", &all)?;
        Ok(out)
    }

    /// Records that `session` lost its autonomy (the first record is kept).
    pub fn end_session(&self, session: &str, ended: EndedSession) -> Result<(), String> {
        let mut s: Sessions = self.read("sessions.json")?;
        let cutoff = now_secs().saturating_sub(SESSION_RETENTION);
        s.ended.retain(|_, e| e.at >= cutoff);
        if s.ended.len() >= MAX_SESSIONS {
            let mut by_age: Vec<(u64, String)> =
                s.ended.iter().map(|(k, e)| (e.at, k.clone())).collect();
            by_age.sort();
            for (_, k) in by_age.iter().take(s.ended.len() + 1 - MAX_SESSIONS) {
                s.ended.remove(k);
            }
        }
        s.ended.entry(session.to_string()).or_insert(ended);
        self.write("sessions.json", &s)
    }

    /// Why `session` lost its autonomy, if it did.
    pub fn ended(&self, session: &str) -> Result<Option<EndedSession>, String> {
        let s: Sessions = self.read("sessions.json")?;
        Ok(s.ended.get(session).cloned())
    }

    /// Every session that lost its autonomy.
    pub fn ended_sessions(&self) -> Result<BTreeMap<String, EndedSession>, String> {
        Ok(self.read::<Sessions>("sessions.json")?.ended)
    }

    /// Gives `session` (or every session, for `None`) its autonomy back.
    /// Returns how many were reset.
    pub fn reset(&self, session: Option<&str>) -> Result<usize, String> {
        let mut s: Sessions = self.read("sessions.json")?;
        let n = match session {
            Some(id) => usize::from(s.ended.remove(id).is_some()),
            None => std::mem::take(&mut s.ended).len(),
        };
        self.write("sessions.json", &s)?;
        Ok(n)
    }
}

/// `text` with control characters shown as escapes, so a command cannot
/// rewrite the terminal it is shown on (`\r`, ANSI sequences).
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Upper-cases and inserts the dash, so `k7q29xrm` and `K7Q2-9XRM` are one code.
pub fn normalize_code(code: &str) -> String {
    let c: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c.len() == CODE_LEN {
        format!("{}-{}", &c[..4], &c[4..])
    } else {
        c
    }
}

fn new_code() -> Result<String, String> {
    let mut bytes = [0u8; CODE_LEN];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for an approval code: {e}"))?;
    let s: String = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect();
    Ok(normalize_code(&s))
}

/// The session a decision belongs to: the harness's id when given, else
/// the parent process (pid and start time, so a reused pid is a new
/// session).
pub fn session_id(given: Option<&str>) -> String {
    if let Some(s) = given.filter(|s| !s.is_empty()) {
        return s.to_string();
    }
    let ppid = nix::unistd::getppid().as_raw();
    let start = std::fs::read_to_string(format!("/proc/{ppid}/stat"))
        .ok()
        .and_then(|s| {
            // Field 22 (starttime), counted after the `(comm)` field, which
            // may contain spaces (proc_pid_stat(5)).
            let after = s.rsplit_once(')')?.1;
            after.split_whitespace().nth(19).map(str::to_string)
        })
        .unwrap_or_else(|| "0".into());
    format!("ppid:{ppid}:{start}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(hash: &str) -> Approval {
        Approval {
            code: String::new(),
            hash: hash.into(),
            command: "terraform apply".into(),
            cwd: "/p".into(),
            session: "s".into(),
            reason: "r".into(),
            expires: now_secs() + 60,
            approved_at: None,
            ttl: 60,
        }
    }

    #[test]
    fn approvals_are_one_time_and_bound_to_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let code = st.issue(approval("h1")).unwrap();
        assert_eq!(code.len(), 9);
        assert_eq!(
            st.issue(approval("h1")).unwrap(),
            code,
            "one live code per command"
        );
        assert!(!st.consume("h1").unwrap(), "not approved yet");
        st.approve(&code.to_lowercase().replace('-', "")).unwrap();
        assert!(!st.consume("h2").unwrap(), "another command");
        assert!(st.consume("h1").unwrap());
        assert!(!st.consume("h1").unwrap(), "used once");
        assert!(
            st.approve(&code).is_err(),
            "a used code cannot be approved again"
        );
    }

    #[test]
    fn expired_codes_do_not_work() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let mut a = approval("h");
        a.expires = now_secs() - 1;
        // Issue writes a fresh code with the given expiry; it is already past.
        let code = st.issue(a).unwrap();
        assert!(st.approve(&code).is_err());
        assert!(!st.consume("h").unwrap());
    }

    #[test]
    fn sessions_end_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        assert!(st.ended("a").unwrap().is_none());
        let e = EndedSession {
            at: now_secs(),
            rule: "destructive.recursive-delete".into(),
            command: "rm -rf ~".into(),
        };
        st.end_session("a", e.clone()).unwrap();
        st.end_session("b", e).unwrap();
        assert_eq!(
            st.ended("a").unwrap().unwrap().rule,
            "destructive.recursive-delete"
        );
        assert_eq!(st.reset(Some("a")).unwrap(), 1);
        assert!(st.ended("a").unwrap().is_none());
        assert!(st.ended("b").unwrap().is_some());
        assert_eq!(st.reset(None).unwrap(), 1);
    }

    #[test]
    fn a_held_lock_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let _held = State::open(dir.path()).unwrap();
        let start = std::time::Instant::now();
        assert!(State::open(dir.path()).is_err());
        assert!(start.elapsed() < LOCK_WAIT * 3);
    }

    #[test]
    fn a_corrupt_state_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sessions.json"), "{not json").unwrap();
        let st = State::open(dir.path()).unwrap();
        assert!(st.ended("a").is_err());
    }
}
