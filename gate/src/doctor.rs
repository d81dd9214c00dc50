//! `shellgate doctor`: what this machine enforces and whether the harness
//! hooks are in place and answering.
//!
//! Checks, in order: the policy in force here loads; the audit log and the
//! state directory can be opened; the sandbox's mandatory parts (Landlock,
//! seccomp, no_new_privs) are available and which optional layers are; and,
//! for every harness, each settings file that registers shellgate's hook,
//! with a self-test that runs the registered hook (only when it names this
//! very binary, and then directly, with no shell) on two tool calls — a
//! harmless one and `rm -rf /` — and compares its answers with the decision
//! made here, giving up after 10 s. The self-test writes its audit records
//! and session state to a temporary directory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shellgate_rules::{decide_bytes, Policy, Verdict};

use crate::hook::{self, Harness, Reply};
use crate::install::{self, Scope};
use crate::outcome::{Outcome, Source};

/// How long the self-test waits for a hook to answer.
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How serious a check's result is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Works.
    Ok,
    /// Works in part, or nothing to check; the line says what to do.
    Warn,
    /// Broken: commands are refused, or a hook lets commands through.
    Error,
}

/// One line of the report.
pub struct Check {
    /// How serious.
    pub level: Level,
    /// The subject, e.g. `sandbox` or `claude-code (user)`.
    pub subject: String,
    /// What was found and, if not ok, what to do.
    pub detail: String,
}

fn check(level: Level, subject: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        level,
        subject: subject.into(),
        detail: detail.into(),
    }
}

/// Runs every check for a project at `cwd`, with `$HOME` at `home`.
pub fn run(cwd: &str, home: Option<&Path>) -> Vec<Check> {
    let mut out = Vec::new();
    let policy = Policy::discover(&crate::discovery(cwd, None));
    match &policy {
        Ok(p) => out.push(check(
            Level::Ok,
            "policy",
            format!(
                "loads: {} layer(s), tier {}, digest {}",
                p.layers.len(),
                p.tier.as_str(),
                p.digest
            ),
        )),
        Err(e) => out.push(check(
            Level::Error,
            "policy",
            format!("{e}; every command is denied until it loads (`shellgate policy check`)"),
        )),
    }
    match crate::audit::default_path(None) {
        Some(p) => match crate::audit::AuditLog::open(&p) {
            Ok(_) => out.push(check(Level::Ok, "audit log", p.display().to_string())),
            Err(e) => out.push(check(Level::Error, "audit log", e)),
        },
        None => out.push(check(
            Level::Error,
            "audit log",
            format!("no location: set {} or HOME", crate::audit::ENV_VAR),
        )),
    }
    match crate::state::default_dir() {
        Some(d) => match crate::state::State::open(&d) {
            Ok(_) => out.push(check(Level::Ok, "state", d.display().to_string())),
            Err(e) => out.push(check(
                Level::Warn,
                "state",
                format!("{e}; approvals and session escalation do not work"),
            )),
        },
        None => out.push(check(
            Level::Warn,
            "state",
            format!("no state directory: set {} or HOME", crate::state::ENV_VAR),
        )),
    }
    out.extend(sandbox(policy.as_ref().ok()));
    out.extend(git_bare_repositories(home));
    out.extend(harnesses(cwd, home, policy.as_ref().ok()));
    out
}

/// Whether git would use a bare repository it finds in the working
/// directory (`safe.bareRepository`, git-config(1)): a sandboxed command
/// can turn the project root into one (`git init --bare .`), whose
/// config (`core.fsmonitor`, `core.pager`) git then runs outside the
/// sandbox. Read with `git config --get` from `/` (only the system and
/// global files can set it); `None` when git is not installed.
fn git_bare_repositories(home: Option<&Path>) -> Option<Check> {
    let mut git = std::process::Command::new("git");
    git.args(["config", "--get", "safe.bareRepository"])
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(home) = home {
        git.env("HOME", home);
    }
    let value = match git.output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .trim()
            .to_ascii_lowercase(),
        Err(_) => return None,
    };
    Some(if value == "explicit" {
        check(
            Level::Ok,
            "git bare repositories",
            "safe.bareRepository = explicit: git does not run a bare repository a sandboxed command makes in the project",
        )
    } else {
        check(
            Level::Warn,
            "git bare repositories",
            "git uses a bare repository it finds in the working directory, so a sandboxed command could make the project root one (git init --bare .) whose config git runs later, outside the sandbox; to close it: git config --global safe.bareRepository explicit",
        )
    })
}

/// The sandbox's mandatory and optional layers on this kernel, and the
/// network a sandboxed command gets under `policy` (when it loads).
fn sandbox(policy: Option<&Policy>) -> Vec<Check> {
    let caps = shellgate_sandbox::probe();
    let mut out = Vec::new();
    match caps.check() {
        Ok(()) => out.push(check(
            Level::Ok,
            "sandbox",
            format!(
                "Landlock ABI {}, seccomp filters, no_new_privs, a reaper for what commands leave running: `shellgate run` and `shellgate -c` can confine commands",
                caps.landlock_abi.unwrap_or(0)
            ),
        )),
        Err(e) => out.push(check(
            Level::Error,
            "sandbox",
            format!("{e}; `shellgate run` and `shellgate -c` refuse to run commands"),
        )),
    }
    out.push(match policy.map(crate::run_env::network) {
        None => check(
            Level::Warn,
            "sandbox network",
            "unknown until the policy loads (it names the trusted remotes)".to_string(),
        ),
        Some(Some(net)) if caps.user_namespaces => check(
            Level::Ok,
            "sandbox network",
            format!(
                "a private network namespace per run; out only through shellgate's proxy to {} trusted host pattern(s) on port(s) {}",
                net.hosts.len(),
                net.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
            ),
        ),
        Some(Some(_)) => check(
            Level::Warn,
            "sandbox network",
            format!(
                "{}; until then sandboxed commands run with no network at all, trusted remotes included",
                shellgate_sandbox::SandboxError::UserNamespacesUnavailable
            ),
        ),
        Some(None) => check(
            Level::Ok,
            "sandbox network",
            if caps.landlock_network() {
                "none: the policy trusts no remote or sets sandbox.network = \"none\"; no IP socket (seccomp) and no TCP bind/connect (Landlock ABI >= 4)"
            } else {
                "none: the policy trusts no remote or sets sandbox.network = \"none\"; no IP socket (seccomp; no Landlock TCP rules below ABI 4)"
            }
            .to_string(),
        ),
    });
    out.push(if !caps.private_root() {
        check(
            Level::Warn,
            "sandbox root",
            format!(
                "{}; until then sandboxed commands see the whole filesystem (Landlock still limits what they may open), cannot create Unix sockets or use /dev/shm, a project with protected paths (.git/hooks, ignored files) cannot run, and a .git a command makes in a project without one is not protected",
                shellgate_sandbox::SandboxError::UserNamespacesUnavailable
            ),
        )
    } else if caps.unix_sockets(false) {
        check(
            Level::Ok,
            "sandbox root",
            "a private root per run: only the project and the system trees exist for the command, with a fresh /tmp and /dev/shm ($HOME, /run, /var and the host's /tmp do not), so it may use Unix sockets of its own".to_string(),
        )
    } else {
        check(
            Level::Warn,
            "sandbox root",
            "a private root per run ($HOME, /run, /var and the host's /tmp do not exist for the command), but without Landlock scopes (ABI < 6) abstract Unix sockets outside could be reached: commands get Unix sockets only in runs with network (their own network namespace)".to_string(),
        )
    });
    if caps.landlock_abi.is_some() {
        out.push(check(
            if caps.landlock_scopes() {
                Level::Ok
            } else {
                Level::Warn
            },
            "sandbox scopes",
            if caps.landlock_scopes() {
                "signals and abstract Unix sockets are scoped to the sandbox (ABI >= 6)"
            } else {
                "no Landlock scopes (ABI < 6): a sandboxed command can signal your other processes, and kill its reaper to keep background processes running after the run"
            },
        ));
    }
    out
}

/// Every harness's settings files that register shellgate, each self-tested.
fn harnesses(cwd: &str, home: Option<&Path>, policy: Option<&Policy>) -> Vec<Check> {
    let mut out = Vec::new();
    let home_str = home.and_then(Path::to_str);
    let project = policy
        .map(|p| PathBuf::from(decide_bytes(p, b"true", cwd, home_str).project_root))
        .unwrap_or_else(|| PathBuf::from(cwd));
    let home = home.map(Path::to_path_buf).unwrap_or_default();
    let mut any = false;
    for h in Harness::ALL {
        for scope in [Scope::User, Scope::Project] {
            let path = install::settings_path(h, scope, &home, &project);
            let subject = format!(
                "{} ({})",
                h.name(),
                if scope == Scope::User {
                    "user"
                } else {
                    "project"
                }
            );
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let doc: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    out.push(check(
                        Level::Warn,
                        subject,
                        format!("cannot check {}: not plain JSON ({e})", path.display()),
                    ));
                    continue;
                }
            };
            let commands = install::registered(h, &doc);
            let odd = install::unrecognised(h, &doc);
            if commands.is_empty() && odd.is_empty() {
                continue;
            }
            any = true;
            if h == Harness::ClaudeCode && doc.get("disableAllHooks") == Some(&json!(true)) {
                out.push(check(
                    Level::Error,
                    subject.clone(),
                    format!(
                        "{} sets disableAllHooks: the hook never runs",
                        path.display()
                    ),
                ));
            }
            if h == Harness::Gemini
                && doc
                    .pointer("/hooksConfig/disabled")
                    .and_then(Value::as_array)
                    .is_some_and(|d| d.iter().any(|n| n == "shellgate"))
            {
                out.push(check(
                    Level::Error,
                    subject.clone(),
                    format!(
                        "{} lists shellgate in hooksConfig.disabled: the hook never runs",
                        path.display()
                    ),
                ));
            }
            for c in odd {
                out.push(check(
                    Level::Warn,
                    subject.clone(),
                    format!(
                        "`{c}` in {} is not in the form `shellgate hook {} [--no-ask] [--policy F] [--audit-log F]`; not run (reinstall with `shellgate install {}`)",
                        path.display(),
                        h.name(),
                        h.name()
                    ),
                ));
            }
            for c in commands {
                out.push(match self_test(h, &c, cwd, policy) {
                    Ok(()) => check(
                        Level::Ok,
                        subject.clone(),
                        format!("`{c}` in {} answers the self-test", path.display()),
                    ),
                    Err((level, e)) => check(
                        level,
                        subject.clone(),
                        format!("`{c}` in {}: {e}", path.display()),
                    ),
                });
            }
        }
    }
    if !any {
        out.push(check(
            Level::Warn,
            "hooks",
            "no harness registers shellgate's hook here: run `shellgate install claude-code` (or codex, cursor, gemini, copilot)",
        ));
    }
    out
}

/// A tool call in `harness`'s input format (the shapes of each harness's
/// hook documentation).
pub fn sample_input(harness: Harness, command: &str, cwd: &str) -> Value {
    match harness {
        Harness::ClaudeCode | Harness::Codex => json!({
            "session_id": "shellgate-doctor",
            "transcript_path": null,
            "cwd": cwd,
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": { "command": command },
            "tool_use_id": "shellgate-doctor"
        }),
        Harness::Cursor => json!({
            "conversation_id": "shellgate-doctor",
            "generation_id": "shellgate-doctor",
            "hook_event_name": "beforeShellExecution",
            "workspace_roots": [cwd],
            "command": command,
            "cwd": cwd
        }),
        Harness::Gemini => json!({
            "session_id": "shellgate-doctor",
            "cwd": cwd,
            "hook_event_name": "BeforeTool",
            "tool_name": "run_shell_command",
            "tool_input": { "command": command }
        }),
        Harness::Copilot => json!({
            "timestamp": 0,
            "cwd": cwd,
            "toolName": "bash",
            "toolArgs": json!({ "command": command }).to_string()
        }),
    }
}

/// What a harness makes of a hook's reply: `Ok(Some(verdict))`, `Ok(None)`
/// for no decision (the harness's own flow), or why the harness would not
/// take it as a decision (and, for most, let the call through).
pub fn reply_verdict(harness: Harness, reply: &Reply) -> Result<Option<Verdict>, String> {
    match reply.exit {
        0 => {}
        2 => return Ok(Some(Verdict::Deny)),
        n => {
            return Err(format!(
                "exit status {n}: the harness treats it as a hook failure"
            ))
        }
    }
    let text = reply.stdout.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("output is not JSON ({e})"))?;
    let field = match harness {
        Harness::ClaudeCode | Harness::Codex => v
            .get("hookSpecificOutput")
            .and_then(|o| o.get("permissionDecision")),
        Harness::Cursor => v.get("permission"),
        Harness::Gemini => v.get("decision"),
        Harness::Copilot => v.get("permissionDecision"),
    };
    match field.and_then(Value::as_str) {
        Some("allow") => Ok(Some(Verdict::Allow)),
        Some("ask") => Ok(Some(Verdict::Ask)),
        Some("deny") => Ok(Some(Verdict::Deny)),
        Some(other) => Err(format!("unknown decision `{other}`")),
        None => Err("output has no decision field".into()),
    }
}

/// Runs the registered `command` on a harmless call and on `rm -rf /` and
/// compares with the answers computed here. Only a command naming this
/// very binary is run, directly (no shell), with its own options: doctor
/// never runs a program a settings file names.
fn self_test(
    harness: Harness,
    command: &str,
    cwd: &str,
    policy: Option<&Policy>,
) -> Result<(), (Level, String)> {
    let err = |e: String| (Level::Error, e);
    let hook = install::parse_hook_command(harness, command)
        .ok_or_else(|| err("not a shellgate hook command".into()))?;
    match std::fs::metadata(&hook.binary) {
        Ok(m) if m.is_file() => {}
        _ => {
            return Err(err(format!(
                "{} does not exist: the harness cannot run the hook and lets commands through; reinstall with `shellgate install {}`",
                hook.binary.display(),
                harness.name()
            )))
        }
    }
    let me = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| err(format!("cannot tell where this shellgate is: {e}")))?;
    if std::fs::canonicalize(&hook.binary).ok().as_deref() != Some(me.as_path()) {
        return Err((
            Level::Warn,
            format!(
                "it runs {}, not this shellgate ({}): not self-tested; run that binary's `doctor`, or reinstall",
                hook.binary.display(),
                me.display()
            ),
        ));
    }
    let policy = policy.ok_or_else(|| {
        err("the policy does not load, so the expected answers are unknown".into())
    })?;
    let tmp = tempfile::tempdir().map_err(|e| err(format!("no temporary directory: {e}")))?;
    for probe in ["true", "rm -rf /"] {
        let eval = decide_bytes(
            policy,
            probe.as_bytes(),
            cwd,
            std::env::var("HOME").ok().as_deref(),
        );
        let asks = harness.can_ask() && !hook.options.iter().any(|o| o == "--no-ask");
        let expected_answer = hook::answer(
            &Outcome {
                eval,
                source: Source::Policy,
                code: None,
                warnings: Vec::new(),
            },
            asks,
        );
        let expected = reply_verdict(harness, &harness.reply(&expected_answer)).map_err(err)?;
        let input = sample_input(harness, probe, cwd).to_string();
        let mut args = vec!["hook".to_string(), harness.name().to_string()];
        args.extend(hook.options.iter().cloned());
        let reply = spawn(&me, &args, &input, cwd, tmp.path()).map_err(err)?;
        let got = reply_verdict(harness, &reply).map_err(err)?;
        if probe != "true" && got != Some(Verdict::Deny) {
            return Err(err(format!(
                "`{probe}` was not denied (answer: {}); the hook does not protect this project",
                got.map(Verdict::as_str).unwrap_or("none")
            )));
        }
        if got != expected {
            return Err(err(format!(
                "`{probe}` got {} where the policy here gives {} (does the command pass another --policy?)",
                got.map(Verdict::as_str).unwrap_or("no answer"),
                expected.map(Verdict::as_str).unwrap_or("no answer"),
            )));
        }
    }
    Ok(())
}

/// Runs `binary ARGS` with `input` on stdin and state in `tmp`; gives up
/// after [`SELF_TEST_TIMEOUT`]. Output is read on threads, so a full pipe
/// cannot stall the wait.
fn spawn(
    binary: &Path,
    args: &[String],
    input: &str,
    cwd: &str,
    tmp: &Path,
) -> Result<Reply, String> {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .env(crate::audit::ENV_VAR, tmp.join("audit.jsonl"))
        .env(crate::state::ENV_VAR, tmp.join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(r) = r {
                let _ = r.take(1 << 20).read_to_string(&mut s);
            }
            s
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>),
    );
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > SELF_TEST_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "no answer in {} s: the harness would time out and let the command through",
                    SELF_TEST_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let exit = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(255);
    Ok(Reply {
        stdout,
        stderr,
        exit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(verdict: Verdict, hard: bool) -> hook::Answer {
        hook::Answer {
            verdict,
            hard,
            invalid_input: false,
            message: "m".into(),
        }
    }

    #[test]
    fn every_reply_reads_back_as_the_harness_would_take_it() {
        for h in Harness::ALL {
            let deny = reply_verdict(h, &h.reply(&answer(Verdict::Deny, false))).unwrap();
            assert_eq!(deny, Some(Verdict::Deny), "{h:?}");
            let hard = reply_verdict(h, &h.reply(&answer(Verdict::Deny, true))).unwrap();
            assert_eq!(hard, Some(Verdict::Deny), "{h:?}");
            let allow = reply_verdict(h, &h.reply(&answer(Verdict::Allow, false))).unwrap();
            assert_ne!(allow, Some(Verdict::Deny), "{h:?}");
            assert_ne!(allow, Some(Verdict::Ask), "{h:?}");
        }
        for h in Harness::ALL {
            let crash = reply_verdict(h, &hook::internal_error(h)).unwrap();
            assert_eq!(crash, Some(Verdict::Deny), "{h:?}: a panic must still deny");
        }
        for h in [Harness::ClaudeCode, Harness::Cursor] {
            let ask = reply_verdict(h, &h.reply(&answer(Verdict::Ask, false))).unwrap();
            assert_eq!(ask, Some(Verdict::Ask), "{h:?}");
        }
    }

    #[test]
    fn failures_are_not_decisions() {
        let r = Reply {
            stdout: String::new(),
            stderr: "boom".into(),
            exit: 1,
        };
        assert!(reply_verdict(Harness::ClaudeCode, &r).is_err());
        let r = Reply {
            stdout: "not json".into(),
            stderr: String::new(),
            exit: 0,
        };
        assert!(reply_verdict(Harness::Cursor, &r).is_err());
    }
}
