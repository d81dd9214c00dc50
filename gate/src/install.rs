//! `shellgate install HARNESS`: the settings that register shellgate's hook
//! with a harness, printed, or merged into the harness's settings file.
//!
//! Merging keeps every unrelated key and its order, replaces shellgate's
//! earlier entry for the same harness (so installing twice, or from a new
//! path, leaves one entry; its options such as `--policy` are kept), backs
//! the old file up beside it
//! (`FILE.shellgate-backup-UNIXTIME`) and replaces it atomically (a
//! temporary file in the same directory, then `rename(2)`), keeping its
//! mode; a symlinked file is updated at its target, and a read-only file is
//! left alone. A file that is not plain JSON (comments, trailing commas) is never
//! rewritten: the snippet is printed for the user to add by hand.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::hook::Harness;

/// Seconds a harness waits for the hook. A timeout lets the call through
/// in most harnesses, so this is generous; a decision takes milliseconds.
pub const TIMEOUT_SECS: u64 = 30;

/// Where the settings go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// The user's own settings (every project).
    User,
    /// The project's settings, shared through the repository.
    Project,
}

/// The settings file for `harness` at `scope`, given `$HOME` and the
/// project root. Sources: each harness's hook documentation (see
/// crate::hook).
pub fn settings_path(harness: Harness, scope: Scope, home: &Path, project: &Path) -> PathBuf {
    match (harness, scope) {
        (Harness::ClaudeCode, Scope::User) => home.join(".claude/settings.json"),
        (Harness::ClaudeCode, Scope::Project) => project.join(".claude/settings.json"),
        (Harness::Codex, Scope::User) => home.join(".codex/hooks.json"),
        (Harness::Codex, Scope::Project) => project.join(".codex/hooks.json"),
        (Harness::Cursor, Scope::User) => home.join(".cursor/hooks.json"),
        (Harness::Cursor, Scope::Project) => project.join(".cursor/hooks.json"),
        (Harness::Gemini, Scope::User) => home.join(".gemini/settings.json"),
        (Harness::Gemini, Scope::Project) => project.join(".gemini/settings.json"),
        (Harness::Copilot, Scope::User) => home.join(".copilot/hooks/shellgate.json"),
        (Harness::Copilot, Scope::Project) => project.join(".github/hooks/shellgate.json"),
    }
}

/// The shell command line a harness runs: `BINARY hook NAME`, the binary
/// quoted for `sh -c`.
pub fn hook_command(binary: &Path, harness: Harness) -> String {
    format!(
        "{} hook {}",
        shell_words::quote(&binary.to_string_lossy()),
        harness.name()
    )
}

/// The path, inside the settings document, of the list the hook entry
/// goes in, and the entry itself.
fn entry(harness: Harness, command: &str) -> (&'static [&'static str], Value) {
    match harness {
        Harness::ClaudeCode | Harness::Codex => (
            &["hooks", "PreToolUse"],
            json!({
                "matcher": "Bash",
                "hooks": [{ "type": "command", "command": command, "timeout": TIMEOUT_SECS }]
            }),
        ),
        Harness::Cursor => (
            &["hooks", "beforeShellExecution"],
            json!({ "command": command, "timeout": TIMEOUT_SECS, "failClosed": true }),
        ),
        Harness::Gemini => (
            &["hooks", "BeforeTool"],
            json!({
                "matcher": "run_shell_command",
                "hooks": [{
                    "name": "shellgate",
                    "type": "command",
                    "command": command,
                    "timeout": TIMEOUT_SECS * 1000
                }]
            }),
        ),
        Harness::Copilot => (
            &["hooks", "preToolUse"],
            json!({ "type": "command", "bash": command, "timeoutSec": TIMEOUT_SECS }),
        ),
    }
}

/// Top-level keys the settings need besides the hook list.
fn extras(harness: Harness) -> Vec<(&'static str, Value)> {
    match harness {
        Harness::Cursor | Harness::Copilot => vec![("version", json!(1))],
        // Gemini CLI runs hooks only when `hooksConfig.enabled` is true
        // (the default in current versions, not in older ones).
        Harness::Gemini => vec![("hooksConfig", json!({ "enabled": true }))],
        Harness::ClaudeCode | Harness::Codex => Vec::new(),
    }
}

/// The key of a handler's command line: Copilot's `bash`, else `command`.
fn command_key(harness: Harness) -> &'static str {
    if harness == Harness::Copilot {
        "bash"
    } else {
        "command"
    }
}

/// The command strings of hook handlers inside one list entry (a matcher
/// group's `hooks`, or the entry itself).
fn entry_commands(harness: Harness, e: &Value) -> Vec<String> {
    let key = command_key(harness);
    let mut out = Vec::new();
    if let Some(c) = e.get(key).and_then(Value::as_str) {
        out.push(c.to_string());
    }
    if let Some(hs) = e.get("hooks").and_then(Value::as_array) {
        for h in hs {
            if let Some(c) = h.get(key).and_then(Value::as_str) {
                out.push(c.to_string());
            }
        }
    }
    out
}

/// A registered hook command in the only form shellgate writes and
/// recognises: `BINARY hook HARNESS [--no-ask] [--policy FILE]
/// [--audit-log FILE]`, with no shell syntax beyond quoting.
#[derive(Debug, PartialEq, Eq)]
pub struct HookCommand {
    /// The program (its file name is `shellgate`).
    pub binary: PathBuf,
    /// The options after `hook HARNESS`, in order.
    pub options: Vec<String>,
}

/// Characters that would make `sh -c` do more than run one program.
const SHELL_SYNTAX: &[char] = &[
    ';', '|', '&', '<', '>', '$', '`', '(', ')', '{', '}', '\n', '*', '?', '[', ']', '~', '!', '#',
    '\\',
];

/// Parses `command` as shellgate's hook for `harness`; None for anything
/// else, including a command with shell syntax around it.
pub fn parse_hook_command(harness: Harness, command: &str) -> Option<HookCommand> {
    if command.contains(SHELL_SYNTAX) {
        return None;
    }
    let words = shell_words::split(command).ok()?;
    let [binary, hook, name, rest @ ..] = words.as_slice() else {
        return None;
    };
    if Path::new(binary).file_name()? != "shellgate" || hook != "hook" || name != harness.name() {
        return None;
    }
    let mut options = Vec::new();
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "--no-ask" => options.push(w.clone()),
            "--policy" | "--audit-log" => {
                options.push(w.clone());
                options.push(it.next()?.clone());
            }
            _ if w.starts_with("--policy=") || w.starts_with("--audit-log=") => {
                options.push(w.clone())
            }
            _ => return None,
        }
    }
    Some(HookCommand {
        binary: PathBuf::from(binary),
        options,
    })
}

/// True when `command` runs shellgate's hook for `harness` (in the strict
/// form of [`parse_hook_command`]).
pub fn is_our_command(harness: Harness, command: &str) -> bool {
    parse_hook_command(harness, command).is_some()
}

/// Hook commands for `harness` that mention shellgate but are not in the
/// strict form: reported by `doctor`, never run.
pub fn unrecognised(harness: Harness, doc: &Value) -> Vec<String> {
    commands(harness, doc)
        .filter(|c| c.contains("shellgate") && !is_our_command(harness, c))
        .collect()
}

/// Every handler command in `harness`'s hook list of a settings document.
fn commands(harness: Harness, doc: &Value) -> impl Iterator<Item = String> + '_ {
    let (path, _) = entry(harness, "");
    list_at(doc, path)
        .into_iter()
        .flatten()
        .flat_map(move |e| entry_commands(harness, e))
}

/// The hook commands registered for `harness` in a settings document.
pub fn registered(harness: Harness, doc: &Value) -> Vec<String> {
    commands(harness, doc)
        .filter(|c| is_our_command(harness, c))
        .collect()
}

fn list_at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a Vec<Value>> {
    path.iter()
        .try_fold(doc, |v, k| v.get(k))
        .and_then(Value::as_array)
}

/// The settings snippet for `harness` running `command`.
pub fn snippet(harness: Harness, command: &str) -> Value {
    merge(harness, Value::Object(Map::new()), command).unwrap_or(Value::Null)
}

/// Merges shellgate's hook into `doc`: drops earlier shellgate entries for
/// this harness and appends the new one, adding missing objects on the way.
///
/// # Errors
/// When a value on the path has another type than the format expects
/// (e.g. `hooks` is a list): the file is left to the user.
pub fn merge(harness: Harness, mut doc: Value, command: &str) -> Result<Value, String> {
    // Options of an earlier entry (`--policy`, `--no-ask` …) are kept.
    let kept: Vec<String> = registered(harness, &doc)
        .first()
        .and_then(|c| parse_hook_command(harness, c))
        .map(|h| h.options)
        .unwrap_or_default();
    let command = if kept.is_empty()
        || parse_hook_command(harness, command).is_some_and(|h| !h.options.is_empty())
    {
        command.to_string()
    } else {
        let quoted: Vec<String> = kept
            .iter()
            .map(|o| shell_words::quote(o).into_owned())
            .collect();
        format!("{command} {}", quoted.join(" "))
    };
    let (path, new) = entry(harness, &command);
    let root = doc
        .as_object_mut()
        .ok_or("the settings file is not a JSON object")?;
    for (k, v) in extras(harness) {
        match (root.get_mut(k), v) {
            (None, v) => {
                root.insert(k.to_string(), v);
            }
            (Some(Value::Object(have)), Value::Object(want)) => {
                for (wk, wv) in want {
                    have.insert(wk, wv);
                }
            }
            (Some(_), _) => {}
        }
    }
    let mut cur = root;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let slot = cur.entry(key.to_string()).or_insert_with(|| {
            if last {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        });
        if last {
            let list = slot
                .as_array_mut()
                .ok_or_else(|| format!("`{}` is not a list", path.join(".")))?;
            remove_ours(harness, list);
            list.push(new);
            return Ok(doc);
        }
        cur = slot
            .as_object_mut()
            .ok_or_else(|| format!("`{key}` is not an object"))?;
    }
    Ok(doc)
}

/// Removes shellgate's handlers for `harness` from a hook list; matcher
/// groups left with no handler are removed too.
fn remove_ours(harness: Harness, list: &mut Vec<Value>) {
    let key = command_key(harness);
    let ours = |v: &Value| {
        v.get(key)
            .and_then(Value::as_str)
            .is_some_and(|c| is_our_command(harness, c))
    };
    list.retain_mut(|e| {
        if ours(e) {
            return false;
        }
        if let Some(hs) = e.get_mut("hooks").and_then(Value::as_array_mut) {
            let before = hs.len();
            hs.retain(|h| !ours(h));
            if before > 0 && hs.is_empty() {
                return false;
            }
        }
        true
    });
}

/// What `install --write` did.
pub struct Written {
    /// The settings file.
    pub path: PathBuf,
    /// The backup of the previous file, when there was one.
    pub backup: Option<PathBuf>,
}

/// Merges the hook into the settings file at `path` (creating it and its
/// directory when missing).
///
/// # Errors
/// A file that cannot be read, is not plain JSON, or cannot be replaced;
/// the message says what to do. Nothing is changed then.
pub fn write(harness: Harness, path: &Path, command: &str) -> Result<Written, String> {
    // A symlinked settings file (dotfiles) is updated where it points.
    let resolved;
    let path = match std::fs::canonicalize(path) {
        Ok(p) => {
            resolved = p;
            resolved.as_path()
        }
        Err(_) => path,
    };
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().readonly() {
            return Err(format!(
                "{} is read-only; shellgate does not override that: make it writable or add the snippet below by hand",
                path.display()
            ));
        }
    }
    let existing = match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let doc = match &existing {
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => Value::Object(Map::new()),
        Some(b) => serde_json::from_slice(b).map_err(|e| {
            format!(
                "{} is not plain JSON ({e}); shellgate does not rewrite it: add the snippet below by hand",
                path.display()
            )
        })?,
        None => Value::Object(Map::new()),
    };
    let merged = merge(harness, doc, command).map_err(|e| {
        format!(
            "cannot merge into {}: {e}; add the snippet below by hand",
            path.display()
        )
    })?;
    let mut text = serde_json::to_string_pretty(&merged).map_err(|e| e.to_string())?;
    text.push('\n');
    let dir = path
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let backup = match &existing {
        Some(b) => {
            let bak = backup(path, dir, b, mode)?;
            Some(bak)
        }
        None => None,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .and_then(|_| std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("cannot write {}: {e}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot replace {}: {}", path.display(), e.error))?;
    Ok(Written {
        path: path.to_path_buf(),
        backup,
    })
}

/// Writes `bytes` to a new file `FILE.shellgate-backup-UNIXTIME[-N]` beside
/// `path` (never over an earlier backup) with `mode`.
fn backup(path: &Path, dir: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let base = format!(
        "{}.shellgate-backup-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        crate::state::now_secs()
    );
    for n in 0..100 {
        let bak = dir.join(if n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&bak)
        {
            Ok(mut f) => {
                return f
                    .write_all(bytes)
                    .and_then(|_| f.sync_all())
                    .map(|_| bak.clone())
                    .map_err(|e| {
                        format!(
                            "cannot back up {} to {}: {e}",
                            path.display(),
                            bak.display()
                        )
                    });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "cannot back up {} to {}: {e}",
                    path.display(),
                    bak.display()
                ))
            }
        }
    }
    Err(format!(
        "cannot back up {}: too many backups in {}",
        path.display(),
        dir.display()
    ))
}

/// What the user still has to do after the settings are in place.
pub fn next_steps(harness: Harness) -> &'static str {
    match harness {
        Harness::ClaudeCode => "Claude Code reads hooks at start: restart it (or review them in /hooks). A hook that times out or cannot start lets the command through; run `shellgate doctor` after upgrades.",
        Harness::Codex => "Codex runs a new or changed hook only after you trust it: open /hooks in Codex and approve it. A hook that fails or times out lets the command through; run `shellgate doctor` after upgrades.",
        Harness::Cursor => "Cursor reloads hooks.json on save. `failClosed: true` makes a crash or timeout of the hook block the command.",
        Harness::Gemini => "Restart Gemini CLI. Project hooks run only in trusted folders. A hook that fails or times out lets the command through.",
        Harness::Copilot => "Copilot CLI reads hooks at start. A hook that times out lets the command through.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_our_command_in_any_quoting() {
        let h = Harness::ClaudeCode;
        assert!(is_our_command(
            h,
            "/usr/local/bin/shellgate hook claude-code"
        ));
        assert!(is_our_command(
            h,
            "'/opt/my tools/shellgate' hook claude-code --no-ask"
        ));
        assert!(!is_our_command(h, "/usr/local/bin/shellgate hook codex"));
        assert!(!is_our_command(h, "echo shellgate hook claude-code-ish"));
        assert!(!is_our_command(h, "lint.sh"));
    }

    #[test]
    fn merge_refuses_unexpected_shapes_and_creates_missing_ones() {
        let err = merge(Harness::Codex, json!({ "hooks": [] }), "x").unwrap_err();
        assert!(err.contains("hooks"), "{err}");
        let err = merge(
            Harness::Codex,
            json!({ "hooks": { "PreToolUse": {} } }),
            "x",
        )
        .unwrap_err();
        assert!(err.contains("PreToolUse"), "{err}");
        assert!(merge(Harness::Codex, json!([]), "x").is_err());
        let v = merge(Harness::Cursor, json!({ "version": 1 }), "sg hook cursor").unwrap();
        assert_eq!(
            v["hooks"]["beforeShellExecution"][0]["command"],
            "sg hook cursor"
        );
    }

    #[test]
    fn registered_finds_only_our_entries() {
        let cmd = hook_command(Path::new("/bin/shellgate"), Harness::Gemini);
        let doc = merge(
            Harness::Gemini,
            json!({ "hooks": { "BeforeTool": [{ "matcher": "*", "hooks": [{ "type": "command", "command": "audit.sh" }] }] } }),
            &cmd,
        )
        .unwrap();
        assert_eq!(registered(Harness::Gemini, &doc), vec![cmd]);
        assert!(registered(Harness::ClaudeCode, &doc).is_empty());
    }
}
