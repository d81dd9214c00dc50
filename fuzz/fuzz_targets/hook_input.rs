//! Feeds arbitrary bytes as the hook input (the JSON a harness writes on
//! stdin) to every harness's adapter, in process, through
//! `shellgate::hook::respond`: the built-in policy (`Policy::default()`),
//! `$HOME` `/home/dev`, the audit log at `/dev/null` and an empty state
//! directory (under `/dev/shm`, else the temporary directory) for every
//! judged call.
//!
//! A bug is: a panic or a hang; a reply that is not one JSON object in the
//! harness's protocol; input the adapter cannot read (`parse_input`
//! fails) answered with anything but a blocking deny; a non-shell tool
//! answered at all; a shell command answered differently from what the
//! policy decides for it (an ask may become a deny where the harness
//! cannot ask, nothing else); `rm -rf /` answered with anything but a
//! deny.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run hook_input` from the repository
//! root (seeds: `bash fuzz/seeds.sh`; docs/fuzzing.md).
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shellgate::audit::{AuditLog, Rotation};
use shellgate::hook::{self, Call, Harness, Reply, Surroundings};
use shellgate::{Setup, SetupArgs};
use shellgate_rules::{decide_bytes, Policy, Verdict};

const HOME: &str = "/home/dev";
/// The working directory of a call whose input names none.
const DEFAULT_CWD: &str = "/home/dev/project";

/// Fixed surroundings: nothing is read from the environment, and nothing
/// is written outside the state directory.
struct Fixed {
    state: PathBuf,
}

impl Surroundings for Fixed {
    fn setup(&mut self, a: SetupArgs) -> Result<Setup, String> {
        // A fresh state directory per call, so no input depends on the
        // ones before it (a hard_deny ends the session's autonomy).
        let _ = std::fs::remove_dir_all(&self.state);
        Ok(Setup {
            policy: Ok(Policy::default()),
            cwd: call_cwd(a.cwd),
            home: Some(HOME.into()),
            audit: null_log()?,
            session: a
                .session
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "fuzz".into()),
            state_dir: Some(self.state.clone()),
            harness: a.harness,
            tool_use_id: a.tool_use_id,
            tool: a.tool,
        })
    }

    fn refusal_log(&mut self) -> Result<AuditLog, String> {
        null_log()
    }
}

/// The audit log at `/dev/null`: records are redacted and encoded, then
/// dropped. No rotation (no lock file), no telemetry.
fn null_log() -> Result<AuditLog, String> {
    AuditLog::open_with(
        Path::new("/dev/null"),
        Rotation {
            max_bytes: 0,
            keep: 1,
        },
    )
}

/// The working directory as `shellgate hook` sets it up: the input's
/// (already checked to be absolute), lexically normal.
fn call_cwd(cwd: Option<&Path>) -> String {
    match cwd.and_then(Path::to_str) {
        Some(c) => shellgate_parsers::join_path("/", c),
        None => DEFAULT_CWD.into(),
    }
}

/// The verdict a reply gives in `h`'s protocol; None for no answer.
/// Panics on output that is not one JSON object with a known verdict.
fn reply_verdict(h: Harness, r: &Reply) -> Option<Verdict> {
    if r.stdout.is_empty() {
        assert_eq!(r.exit, 0, "{h:?}: exit {} without an answer", r.exit);
        return None;
    }
    let line = r
        .stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{h:?}: answer without a newline: {:?}", r.stdout));
    assert!(!line.contains('\n'), "{h:?}: answer on several lines");
    let v: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{h:?}: answer is not JSON ({e}): {line}"));
    let field = match h {
        Harness::ClaudeCode | Harness::Codex => {
            let out = &v["hookSpecificOutput"];
            assert_eq!(out["hookEventName"], "PreToolUse", "{h:?}: {line}");
            &out["permissionDecision"]
        }
        Harness::Cursor => &v["permission"],
        Harness::Gemini => &v["decision"],
        Harness::Copilot => &v["permissionDecision"],
    };
    let verdict = match field.as_str() {
        Some("allow") => Verdict::Allow,
        Some("ask") => Verdict::Ask,
        Some("deny") => Verdict::Deny,
        _ => panic!("{h:?}: no verdict in {line}"),
    };
    if verdict != Verdict::Allow {
        let reason = match h {
            Harness::ClaudeCode | Harness::Codex => {
                &v["hookSpecificOutput"]["permissionDecisionReason"]
            }
            Harness::Cursor => &v["agent_message"],
            Harness::Gemini => &v["reason"],
            Harness::Copilot => &v["permissionDecisionReason"],
        };
        assert!(
            reason.as_str().is_some_and(|s| !s.is_empty()),
            "{h:?}: a refusal without a reason: {line}"
        );
    }
    if r.exit == 2 {
        assert_eq!(verdict, Verdict::Deny, "{h:?}: exit 2 with {line}");
        assert!(
            !r.stderr.is_empty(),
            "{h:?}: exit 2 without a reason on stderr"
        );
    } else {
        assert_eq!(r.exit, 0, "{h:?}: exit {}", r.exit);
    }
    Some(verdict)
}

/// What the harness does with a reply to a shell call: codex and copilot
/// run the command when there is no answer.
fn effective(h: Harness, r: &Reply) -> Verdict {
    match reply_verdict(h, r) {
        Some(v) => v,
        None if matches!(h, Harness::Codex | Harness::Copilot) => Verdict::Allow,
        None => panic!("{h:?}: no answer to a shell call"),
    }
}

/// The state directory: on tmpfs (`/dev/shm`) when there is one, as it is
/// made and removed for every judged call; else in the temporary directory.
fn state_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("shellgate-fuzz-hook-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let mut fixed = Fixed { state: state_dir() };
    for h in Harness::ALL {
        let parsed = hook::parse_input(h, data);
        let asks: &[bool] = if h.can_ask() {
            &[true, false]
        } else {
            &[false]
        };
        for &can_ask in asks {
            let reply = hook::respond(h, data, !can_ask, &mut fixed);
            match &parsed {
                Err(why) => {
                    let v = reply_verdict(h, &reply);
                    assert_eq!(
                        v,
                        Some(Verdict::Deny),
                        "{h:?}: unreadable input ({why}) not denied"
                    );
                    if h != Harness::Copilot {
                        assert_eq!(reply.exit, 2, "{h:?}: unreadable input not blocked");
                    }
                }
                Ok(Call::OtherTool) => {
                    assert_eq!(
                        reply,
                        Reply::none(),
                        "{h:?}: answered a tool that is not a shell"
                    );
                }
                Ok(Call::Shell(call)) => {
                    let got = effective(h, &reply);
                    let cwd = call_cwd(call.cwd.as_deref().map(Path::new));
                    let policy = Policy::default();
                    let want = decide_bytes(&policy, call.command.as_bytes(), &cwd, Some(HOME))
                        .decision
                        .decision;
                    let want = match want {
                        Verdict::Ask if !can_ask => Verdict::Deny,
                        v => v,
                    };
                    assert_eq!(
                        got, want,
                        "{h:?}: answered {got:?} where the policy decides {want:?} for {:?} in {cwd}",
                        call.command
                    );
                    if call.command.trim() == "rm -rf /" {
                        assert_eq!(got, Verdict::Deny, "{h:?}: `rm -rf /` not denied");
                    }
                }
            }
        }
    }
});
