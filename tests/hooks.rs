//! `shellgate hook HARNESS`: each adapter is fed its harness's own input
//! shapes (from each harness's hook documentation, cited in
//! gate/src/hook/*.rs) for an allowed, an asked and a denied command, a
//! tool that is not a shell, and malformed input; the exact output and exit
//! status are checked. The expected reasons come from `shellgate check
//! --json` on the same command, so these tests pin the protocol, not the
//! rules' wording.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{json, Value};

const ALLOW: &str = "ls -la";
const ASK: &str = "terraform apply";
const HARD: &str = "rm -rf ~";
const PROJECT: &str = "/home/dev/project";

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn audit(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    /// Runs `shellgate hook HARNESS EXTRA…` with `input` on stdin.
    fn hook(&self, harness: &str, extra: &[&str], input: &[u8]) -> (i32, String, String) {
        let mut args = vec!["hook", harness];
        args.extend_from_slice(extra);
        let out = common::run(&args, input, &self.audit());
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// `shellgate check --json` on `command`: (rules joined, the reason).
fn expected(command: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        &["check", "--json", "--cwd", PROJECT, "--", command],
        b"",
        &dir.path().join("a.jsonl"),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    // The decision's reason is its strictest finding's (without the
    // approval code `check` appends for itself).
    let reason = match v["findings"].get(0) {
        Some(f) => f["reason"].as_str().unwrap().to_string(),
        None => v["reason"].as_str().unwrap().to_string(),
    };
    (rules.join(", "), reason)
}

fn allowed_message() -> String {
    let (rules, reason) = expected(ALLOW);
    assert!(rules.is_empty());
    format!("shellgate allowed this command: {reason}")
}

fn denied_message(command: &str) -> String {
    let (rules, reason) = expected(command);
    format!("shellgate denied this command [{rules}]: {reason}")
}

fn ask_message() -> String {
    let (rules, reason) = expected(ASK);
    format!("shellgate asks for your approval [{rules}]: {reason}")
}

/// The message of an ask turned into a deny, with the code the audit log
/// recorded for it.
fn approval_message(w: &World) -> String {
    let rec = w.records().into_iter().last().unwrap();
    let code = rec["approval_code"].as_str().expect("an approval code");
    let (rules, reason) = expected(ASK);
    format!(
        "shellgate needs the user's approval for this command [{rules}]: {}. To run it once anyway, the user can run `shellgate approve {code}` in a terminal (valid 10 min); tell the user the command and the code, and run it again after they approve",
        reason.trim_end_matches('.')
    )
}

fn json_line(v: Value) -> String {
    format!("{v}\n")
}

fn parse(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

// ---- input shapes, as documented by each harness ----

/// Claude Code PreToolUse for the Bash tool (code.claude.com/docs/en/hooks,
/// "Common input fields" and "PreToolUse input").
fn claude(command: &str, session: &str) -> Value {
    json!({
        "session_id": session,
        "prompt_id": "550e8400-e29b-41d4-a716-446655440000",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-project/abc123.jsonl",
        "cwd": PROJECT,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {
            "command": command,
            "description": "Run it",
            "timeout": 120000,
            "run_in_background": false
        },
        "tool_use_id": "toolu_01ABC123"
    })
}

/// Codex PreToolUse (codex-rs/hooks/schema/generated/pre-tool-use.command.input.schema.json).
fn codex(command: &str) -> Value {
    json!({
        "session_id": "019a-thread",
        "turn_id": "turn-1",
        "transcript_path": null,
        "cwd": PROJECT,
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": { "command": command },
        "tool_use_id": "call-1"
    })
}

/// Cursor beforeShellExecution (cursor.com/docs/hooks).
fn cursor(command: &str) -> Value {
    json!({
        "conversation_id": "c0nv-1",
        "generation_id": "gen-1",
        "model": "claude-4.5-sonnet",
        "hook_event_name": "beforeShellExecution",
        "cursor_version": "2.1.0",
        "workspace_roots": [PROJECT],
        "user_email": null,
        "transcript_path": null,
        "command": command,
        "cwd": PROJECT,
        "sandbox": false
    })
}

/// Gemini CLI BeforeTool for run_shell_command (geminicli.com/docs/hooks/reference).
fn gemini(command: &str) -> Value {
    json!({
        "session_id": "gem-1",
        "transcript_path": "/home/dev/.gemini/tmp/chats/session.json",
        "cwd": PROJECT,
        "hook_event_name": "BeforeTool",
        "timestamp": "2025-12-01T10:30:00Z",
        "tool_name": "run_shell_command",
        "tool_input": { "command": command, "description": "Run it", "is_background": false }
    })
}

/// Copilot CLI preToolUse (docs.github.com/en/copilot/reference/hooks-reference):
/// `toolArgs` is a JSON-encoded string.
fn copilot(command: &str) -> Value {
    json!({
        "sessionId": "cop-1",
        "timestamp": 1704614600000u64,
        "cwd": PROJECT,
        "toolName": "bash",
        "toolArgs": json!({ "command": command, "description": "Run it" }).to_string()
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn claude_out(decision: &str, reason: &str) -> String {
    json_line(json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason
        }
    }))
}

// ---- Claude Code ----

#[test]
fn claude_code_allow_ask_deny() {
    let w = World::new();
    let (code, out, err) = w.hook("claude-code", &[], &bytes(&claude(ALLOW, "s-allow")));
    assert_eq!(
        (code, out, err),
        (0, claude_out("allow", &allowed_message()), String::new())
    );

    let (code, out, err) = w.hook("claude-code", &[], &bytes(&claude(ASK, "s-ask")));
    assert_eq!(
        (code, out, err),
        (0, claude_out("ask", &ask_message()), String::new())
    );
    assert!(
        w.records().last().unwrap().get("approval_code").is_none(),
        "Claude Code asks the user itself: no approval code"
    );

    let deny = denied_message(HARD);
    let (code, out, err) = w.hook("claude-code", &[], &bytes(&claude(HARD, "s-deny")));
    assert_eq!(
        (code, out, err),
        (2, claude_out("deny", &deny), format!("{deny}\n")),
        "a hard deny also blocks with exit 2 and the reason on stderr"
    );

    let rec = w.records();
    let last = rec.last().unwrap();
    assert_eq!(last["mode"], "hook");
    assert_eq!(last["harness"], "claude-code");
    assert_eq!(last["session"], "s-deny");
    assert_eq!(last["tool_use_id"], "toolu_01ABC123");
    assert_eq!(last["cwd"], PROJECT);
    assert_eq!(last["decision"], "deny");
}

#[test]
fn claude_code_soft_deny_layer_is_a_plain_deny() {
    // An ignore-file deny is not hard: JSON deny, exit 0.
    let w = World::new();
    let command = "cat .env";
    let (rules, reason) = expected(command);
    assert!(rules.contains("ignore"), "{rules}");
    let (code, out, err) = w.hook("claude-code", &[], &bytes(&claude(command, "s")));
    assert_eq!(
        (code, out, err),
        (
            0,
            claude_out(
                "deny",
                &format!("shellgate denied this command [{rules}]: {reason}")
            ),
            String::new()
        )
    );
}

#[test]
fn claude_code_passes_other_tools_through() {
    let w = World::new();
    let mut input = claude("", "s");
    input["tool_name"] = json!("Edit");
    input["tool_input"] =
        json!({ "file_path": "/home/dev/project/a.rs", "old_string": "a", "new_string": "b" });
    assert_eq!(
        w.hook("claude-code", &[], &bytes(&input)),
        (0, String::new(), String::new())
    );
    assert!(w.records().is_empty(), "nothing judged, nothing recorded");
}

#[test]
fn claude_code_session_id_feeds_session_state() {
    let w = World::new();
    // A hard deny ends autonomy for that session only.
    assert_eq!(w.hook("claude-code", &[], &bytes(&claude(HARD, "A"))).0, 2);
    let (code, out, _) = w.hook("claude-code", &[], &bytes(&claude(ALLOW, "A")));
    assert_eq!(code, 0);
    let v = parse(&out);
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "ask");
    assert!(v["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .contains("session.autonomy-ended"));
    assert_eq!(w.records().last().unwrap()["source"], "session_escalation");
    let (_, out, _) = w.hook("claude-code", &[], &bytes(&claude(ALLOW, "B")));
    assert_eq!(
        parse(&out)["hookSpecificOutput"]["permissionDecision"],
        "allow"
    );
}

#[test]
fn claude_code_no_ask_turns_asks_into_denies_with_a_code() {
    let w = World::new();
    let (code, out, err) = w.hook("claude-code", &["--no-ask"], &bytes(&claude(ASK, "s")));
    assert_eq!((code, err), (0, String::new()));
    assert_eq!(out, claude_out("deny", &approval_message(&w)));
}

// ---- Codex ----

fn codex_deny(reason: &str) -> String {
    claude_out("deny", reason)
}

#[test]
fn codex_allow_ask_deny() {
    let w = World::new();
    assert_eq!(
        w.hook("codex", &[], &bytes(&codex(ALLOW))),
        (0, String::new(), String::new()),
        "Codex rejects permissionDecision allow: no output"
    );
    let (code, out, err) = w.hook("codex", &[], &bytes(&codex(ASK)));
    assert_eq!((code, err), (0, String::new()));
    assert_eq!(
        out,
        codex_deny(&approval_message(&w)),
        "ask becomes a deny with a code"
    );
    let deny = denied_message(HARD);
    assert_eq!(
        w.hook("codex", &[], &bytes(&codex(HARD))),
        (2, codex_deny(&deny), format!("{deny}\n"))
    );
    let last = w.records().pop().unwrap();
    assert_eq!(
        (&last["harness"], &last["session"], &last["tool_use_id"]),
        (&json!("codex"), &json!("019a-thread"), &json!("call-1"))
    );
}

#[test]
fn codex_output_has_only_schema_fields() {
    // Codex's output schema refuses unknown fields (and then runs the command).
    let w = World::new();
    let (_, out, _) = w.hook("codex", &[], &bytes(&codex(ASK)));
    let v = parse(&out);
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["hookSpecificOutput"]
    );
    let mut keys: Vec<_> = v["hookSpecificOutput"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "hookEventName",
            "permissionDecision",
            "permissionDecisionReason"
        ]
    );
}

#[test]
fn codex_passes_apply_patch_through() {
    let w = World::new();
    let mut input = codex("");
    input["tool_name"] = json!("apply_patch");
    input["tool_input"] = json!({ "command": "*** Begin Patch\n*** End Patch" });
    assert_eq!(
        w.hook("codex", &[], &bytes(&input)),
        (0, String::new(), String::new())
    );
}

// ---- Cursor ----

#[test]
fn cursor_allow_ask_deny() {
    let w = World::new();
    assert_eq!(
        w.hook("cursor", &[], &bytes(&cursor(ALLOW))),
        (
            0,
            json_line(json!({ "permission": "allow" })),
            String::new()
        )
    );
    let ask = ask_message();
    assert_eq!(
        w.hook("cursor", &[], &bytes(&cursor(ASK))),
        (
            0,
            json_line(json!({ "permission": "ask", "user_message": ask, "agent_message": ask })),
            String::new()
        )
    );
    let deny = denied_message(HARD);
    assert_eq!(
        w.hook("cursor", &[], &bytes(&cursor(HARD))),
        (
            0,
            json_line(json!({ "permission": "deny", "user_message": deny, "agent_message": deny })),
            String::new()
        )
    );
    let last = w.records().pop().unwrap();
    assert_eq!(
        (&last["harness"], &last["session"]),
        (&json!("cursor"), &json!("c0nv-1"))
    );
}

#[test]
fn cursor_empty_cwd_uses_the_workspace_root_and_bom_is_skipped() {
    let w = World::new();
    let mut input = cursor(ALLOW);
    input["cwd"] = json!("");
    let mut raw = b"\xEF\xBB\xBF".to_vec();
    raw.extend(bytes(&input));
    let (code, out, _) = w.hook("cursor", &[], &raw);
    assert_eq!(
        (code, parse(&out)["permission"].clone()),
        (0, json!("allow"))
    );
    assert_eq!(w.records().pop().unwrap()["cwd"], PROJECT);
}

#[test]
fn cursor_refuses_other_events() {
    let w = World::new();
    let input = json!({
        "conversation_id": "c", "generation_id": "g", "hook_event_name": "beforeReadFile",
        "workspace_roots": [PROJECT], "file_path": "/home/dev/project/.env", "content": "X=1"
    });
    let (code, out, err) = w.hook("cursor", &[], &bytes(&input));
    assert_eq!(code, 2);
    assert_eq!(parse(&out)["permission"], "deny");
    assert!(
        err.contains("hook.invalid-input") && err.contains("beforeReadFile"),
        "{err}"
    );
}

// ---- Gemini CLI ----

#[test]
fn gemini_allow_ask_deny() {
    let w = World::new();
    assert_eq!(
        w.hook("gemini", &[], &bytes(&gemini(ALLOW))),
        (0, json_line(json!({ "decision": "allow" })), String::new())
    );
    let (code, out, err) = w.hook("gemini", &[], &bytes(&gemini(ASK)));
    let m = approval_message(&w);
    assert_eq!(
        (code, out, err),
        (
            0,
            json_line(json!({ "decision": "deny", "reason": m, "systemMessage": m })),
            String::new()
        ),
        "no ask in Gemini's protocol: a deny with a code"
    );
    let deny = denied_message(HARD);
    assert_eq!(
        w.hook("gemini", &[], &bytes(&gemini(HARD))),
        (
            2,
            json_line(json!({ "decision": "deny", "reason": deny, "systemMessage": deny })),
            format!("{deny}\n")
        )
    );
    assert_eq!(w.records().pop().unwrap()["session"], "gem-1");
}

#[test]
fn gemini_dir_path_sets_the_working_directory() {
    let w = World::new();
    let mut input = gemini("ls");
    input["tool_input"]["dir_path"] = json!("sub/dir");
    assert_eq!(w.hook("gemini", &[], &bytes(&input)).0, 0);
    assert_eq!(
        w.records().pop().unwrap()["cwd"],
        format!("{PROJECT}/sub/dir")
    );
    // Deleting the parent of that directory is judged from there.
    let mut input = gemini("rm -rf ../..");
    input["tool_input"]["dir_path"] = json!("sub/dir");
    let (_, out, _) = w.hook("gemini", &[], &bytes(&input));
    assert_eq!(parse(&out)["decision"], "deny");
}

#[test]
fn gemini_passes_other_tools_through() {
    let w = World::new();
    let mut input = gemini("");
    input["tool_name"] = json!("read_file");
    input["tool_input"] = json!({ "absolute_path": "/home/dev/project/README.md" });
    assert_eq!(
        w.hook("gemini", &[], &bytes(&input)),
        (0, String::new(), String::new())
    );
}

// ---- Copilot CLI ----

#[test]
fn copilot_allow_ask_deny() {
    let w = World::new();
    assert_eq!(
        w.hook("copilot", &[], &bytes(&copilot(ALLOW))),
        (0, String::new(), String::new()),
        "only deny is processed: allow is no output"
    );
    let (code, out, err) = w.hook("copilot", &[], &bytes(&copilot(ASK)));
    assert_eq!(
        (code, out, err),
        (
            0,
            json_line(
                json!({ "permissionDecision": "deny", "permissionDecisionReason": approval_message(&w) })
            ),
            String::new()
        )
    );
    let deny = denied_message(HARD);
    assert_eq!(
        w.hook("copilot", &[], &bytes(&copilot(HARD))),
        (
            0,
            json_line(json!({ "permissionDecision": "deny", "permissionDecisionReason": deny })),
            String::new()
        )
    );
    assert_eq!(w.records().pop().unwrap()["session"], "cop-1");
}

#[test]
fn copilot_write_bash_is_judged_on_what_it_types() {
    let w = World::new();
    let mut input = copilot("");
    input["toolName"] = json!("write_bash");
    input["toolArgs"] = json!(json!({ "sessionId": "1", "input": "y" }).to_string());
    assert_eq!(
        w.hook("copilot", &[], &bytes(&input)),
        (0, String::new(), String::new()),
        "an answer to a prompt passes"
    );
    input["toolArgs"] = json!(json!({ "sessionId": "1", "input": HARD }).to_string());
    let (_, out, _) = w.hook("copilot", &[], &bytes(&input));
    assert_eq!(parse(&out)["permissionDecision"], "deny");
    input["toolArgs"] = json!(json!({ "sessionId": "1", "keys": "rm -rf ~" }).to_string());
    let (_, out, _) = w.hook("copilot", &[], &bytes(&input));
    assert!(out.contains("hook.invalid-input"), "{out}");
}

#[test]
fn copilot_accepts_tool_args_as_an_object_and_passes_other_tools() {
    let w = World::new();
    let mut input = copilot("");
    input["toolArgs"] = json!({ "command": HARD });
    let (_, out, _) = w.hook("copilot", &[], &bytes(&input));
    assert_eq!(parse(&out)["permissionDecision"], "deny");
    let mut input = copilot("");
    input["toolName"] = json!("view");
    input["toolArgs"] = json!("{\"path\":\"README.md\"}");
    assert_eq!(
        w.hook("copilot", &[], &bytes(&input)),
        (0, String::new(), String::new())
    );
}

// ---- malformed input, every harness ----

/// The verdict a harness takes from a reply, or None for no decision.
fn verdict(harness: &str, code: i32, out: &str) -> Option<String> {
    if code == 2 {
        return Some("deny".into());
    }
    assert_eq!(
        code, 0,
        "{harness}: exit {code} is a hook failure (fail open)"
    );
    if out.is_empty() {
        return None;
    }
    let v = parse(out);
    let d = match harness {
        "claude-code" | "codex" => &v["hookSpecificOutput"]["permissionDecision"],
        "cursor" => &v["permission"],
        "gemini" => &v["decision"],
        _ => &v["permissionDecision"],
    };
    d.as_str().map(str::to_string)
}

/// A harness, its input shape, and JSON pointers to the command and the tool.
type Shape = (&'static str, fn(&str) -> Value, &'static str, &'static str);

#[test]
fn malformed_input_is_denied_by_every_adapter() {
    let w = World::new();
    let shapes: [Shape; 5] = [
        (
            "claude-code",
            |c| claude(c, "s"),
            "/tool_input/command",
            "/tool_name",
        ),
        ("codex", codex, "/tool_input/command", "/tool_name"),
        ("cursor", cursor, "/command", "/hook_event_name"),
        ("gemini", gemini, "/tool_input/command", "/tool_name"),
        ("copilot", copilot, "/toolArgs", "/toolName"),
    ];
    for (harness, shape, command_ptr, tool_ptr) in shapes {
        let mut cases: Vec<(String, Vec<u8>)> = vec![
            ("not JSON".into(), b"{\"tool_name\": \"Bash\", ".to_vec()),
            ("empty".into(), Vec::new()),
            ("a list".into(), b"[1, 2]".to_vec()),
            ("invalid UTF-8".into(), b"{\"a\": \"\xff\xfe\"}".to_vec()),
            ("huge".into(), {
                let mut v = b"{\"pad\": \"".to_vec();
                v.resize(17 << 20, b'a');
                v.extend_from_slice(b"\"}");
                v
            }),
        ];
        let mut v = shape(ALLOW);
        *v.pointer_mut(command_ptr).unwrap() = json!(42);
        cases.push(("command not a string".into(), bytes(&v)));
        let mut v = shape(ALLOW);
        *v.pointer_mut(tool_ptr).unwrap() = json!(null);
        if harness == "cursor" {
            // A missing event name is tolerated; a missing command is not.
            v.as_object_mut().unwrap().remove("command");
        }
        cases.push(("tool or command missing".into(), bytes(&v)));
        let mut v = shape(ALLOW);
        v["cwd"] = json!("relative/dir");
        cases.push(("relative cwd".into(), bytes(&v)));
        if harness != "copilot" {
            let mut v = shape(ALLOW);
            v["hook_event_name"] = json!("PostToolUse");
            cases.push(("wrong event".into(), bytes(&v)));
        } else {
            let mut v = shape(ALLOW);
            v["toolArgs"] = json!("{not json");
            cases.push(("toolArgs not JSON".into(), bytes(&v)));
        }
        for (what, input) in cases {
            let (code, out, err) = w.hook(harness, &[], &input);
            assert_eq!(
                verdict(harness, code, &out).as_deref(),
                Some("deny"),
                "{harness}, {what}: exit {code}, stdout {out:?}, stderr {err:?}"
            );
            let text = format!("{out}{err}");
            assert!(
                text.contains("hook.invalid-input"),
                "{harness}, {what}: {text}"
            );
        }
    }
}

#[test]
fn a_policy_that_does_not_load_denies_through_the_hook() {
    let w = World::new();
    let bad = w.dir.path().join("bad.toml");
    std::fs::write(&bad, "tier = 'lenient'\n").unwrap();
    for harness in ["claude-code", "codex", "gemini", "cursor", "copilot"] {
        let input = match harness {
            "claude-code" => claude(ALLOW, "s"),
            "codex" => codex(ALLOW),
            "gemini" => gemini(ALLOW),
            "cursor" => cursor(ALLOW),
            _ => copilot(ALLOW),
        };
        let (code, out, _) = w.hook(
            harness,
            &["--policy", bad.to_str().unwrap()],
            &bytes(&input),
        );
        assert_eq!(
            verdict(harness, code, &out).as_deref(),
            Some("deny"),
            "{harness}"
        );
        assert!(out.contains("policy.invalid"), "{harness}: {out}");
    }
}

#[test]
fn an_audit_log_that_cannot_be_written_denies() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let out = common::bin()
        .args(["hook", "codex", "--audit-log"])
        .arg(blocker.join("audit.jsonl"))
        .env("HOME", "/home/dev")
        .env("SHELLGATE_STATE_DIR", dir.path().join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&bytes(&codex(ALLOW)))?;
            c.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout.contains("hook.audit-failed"), "{stdout}");
}

// ---- install and doctor ----

fn home_world() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    (dir, home, project)
}

fn sg(home: &Path, cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::bin()
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("SHELLGATE_AUDIT_LOG", home.join("audit.jsonl"))
        .env("SHELLGATE_STATE_DIR", home.join("state"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn install_merges_without_touching_other_keys_and_doctor_self_tests() {
    let (_d, home, project) = home_world();
    let settings = home.join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let before = json!({
        "model": "opus",
        "permissions": { "allow": ["Bash(npm test)"] },
        "hooks": { "PreToolUse": [
            { "matcher": "Edit", "hooks": [{ "type": "command", "command": "lint.sh" }] },
            { "matcher": "Bash", "hooks": [
                { "type": "command", "command": "/old/path/shellgate hook claude-code" },
                { "type": "command", "command": "log-bash.sh" }
            ]}
        ]},
        "zeta": true
    });
    std::fs::write(&settings, serde_json::to_string_pretty(&before).unwrap()).unwrap();

    // Without --write nothing changes.
    let (code, out, _) = sg(&home, &project, &["install", "claude-code"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"PreToolUse\""), "{out}");
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(&settings).unwrap()).unwrap(),
        before
    );

    for _ in 0..2 {
        let (code, _, err) = sg(&home, &project, &["install", "claude-code", "--write"]);
        assert_eq!(code, 0, "{err}");
    }
    let text = std::fs::read_to_string(&settings).unwrap();
    let after: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<_> = after.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["model", "permissions", "hooks", "zeta"],
        "order kept"
    );
    assert_eq!(after["permissions"], before["permissions"]);
    let groups = after["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{text}");
    assert_eq!(groups[0], before["hooks"]["PreToolUse"][0]);
    assert_eq!(
        groups[1]["hooks"],
        json!([{ "type": "command", "command": "log-bash.sh" }]),
        "the old shellgate entry is removed, the neighbour kept"
    );
    assert_eq!(groups[2]["matcher"], "Bash");
    let cmd = groups[2]["hooks"][0]["command"].as_str().unwrap();
    assert!(cmd.ends_with("shellgate hook claude-code"), "{cmd}");
    let backups: Vec<_> = std::fs::read_dir(settings.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("shellgate-backup"))
        .collect();
    assert_eq!(backups.len(), 2, "one backup per write, none overwritten");
    let originals = backups
        .iter()
        .filter(|b| {
            serde_json::from_slice::<Value>(&std::fs::read(b.path()).unwrap()).unwrap() == before
        })
        .count();
    assert_eq!(originals, 1, "the original is kept");

    let (code, out, err) = sg(&home, &project, &["doctor"]);
    assert!(
        out.contains("claude-code (user)") && out.contains("answers the self-test"),
        "{out}{err}"
    );
    assert_ne!(code, 3, "{out}");
}

#[test]
fn install_refuses_to_rewrite_a_file_that_is_not_plain_json() {
    let (_d, home, project) = home_world();
    let settings = home.join(".gemini/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let text = "{\n  // my settings\n  \"theme\": \"dark\",\n}\n";
    std::fs::write(&settings, text).unwrap();
    let (code, out, err) = sg(&home, &project, &["install", "gemini", "--write"]);
    assert_eq!(code, 3);
    assert!(err.contains("not plain JSON"), "{err}");
    assert!(out.contains("BeforeTool"), "the snippet is printed: {out}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), text);
}

#[test]
fn install_writes_each_harness_in_its_own_format() {
    let (_d, home, project) = home_world();
    for (harness, scope, path, list) in [
        (
            "codex",
            "user",
            home.join(".codex/hooks.json"),
            "/hooks/PreToolUse",
        ),
        (
            "cursor",
            "project",
            project.join(".cursor/hooks.json"),
            "/hooks/beforeShellExecution",
        ),
        (
            "gemini",
            "user",
            home.join(".gemini/settings.json"),
            "/hooks/BeforeTool",
        ),
        (
            "copilot",
            "project",
            project.join(".github/hooks/shellgate.json"),
            "/hooks/preToolUse",
        ),
    ] {
        let (code, _, err) = sg(
            &home,
            &project,
            &[
                "install",
                harness,
                "--scope",
                scope,
                "--dir",
                project.to_str().unwrap(),
                "--write",
            ],
        );
        assert_eq!(code, 0, "{harness}: {err}");
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let entry = &v.pointer(list).unwrap()[0];
        match harness {
            "cursor" => {
                assert_eq!(v["version"], 1);
                assert_eq!(entry["failClosed"], true);
            }
            "copilot" => {
                assert_eq!(v["version"], 1);
                assert!(entry["bash"].as_str().unwrap().ends_with("hook copilot"));
                assert_eq!(entry["timeoutSec"], 30);
            }
            "gemini" => {
                assert_eq!(v["hooksConfig"]["enabled"], true);
                assert_eq!(entry["matcher"], "run_shell_command");
                assert_eq!(entry["hooks"][0]["timeout"], 30000, "milliseconds");
            }
            _ => assert_eq!(entry["matcher"], "Bash"),
        }
    }
    let (code, out, _) = sg(&home, &project, &["doctor"]);
    for h in [
        "codex (user)",
        "cursor (project)",
        "gemini (user)",
        "copilot (project)",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("ok") && l.contains(h) && l.contains("self-test")),
            "{h}: {out}"
        );
    }
    assert_ne!(code, 3, "{out}");
}

#[test]
fn doctor_fails_a_hook_that_would_let_commands_through() {
    let (_d, home, project) = home_world();
    let settings = home.join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        json!({ "hooks": { "PreToolUse": [{ "matcher": "Bash", "hooks": [
            { "type": "command", "command": "/nonexistent/bin/shellgate hook claude-code" }
        ]}]}})
        .to_string(),
    )
    .unwrap();
    let (code, out, _) = sg(&home, &project, &["doctor"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("claude-code (user)")),
        "{out}"
    );
}

#[test]
fn agents_may_not_install_or_drive_hooks() {
    let w = World::new();
    for command in [
        "shellgate install claude-code --write",
        "echo '{}' | shellgate hook codex",
        "shellgate -c 'rm -rf build'",
    ] {
        let (code, out, _) = w.hook("claude-code", &[], &bytes(&claude(command, "t")));
        assert_eq!(code, 2, "{command}: {out}");
        assert!(out.contains("policy.tamper"), "{command}: {out}");
    }
}

#[test]
fn doctor_never_runs_what_a_settings_file_names() {
    let (_d, home, project) = home_world();
    let marker = project.join("pwned");
    let planted = format!(
        "touch {}; {} hook codex",
        marker.display(),
        env!("CARGO_BIN_EXE_shellgate")
    );
    let other_binary = project.join("shellgate");
    std::fs::write(
        &other_binary,
        format!("#!/bin/sh\ntouch {}\n", marker.display()),
    )
    .unwrap();
    std::fs::create_dir_all(project.join(".codex")).unwrap();
    std::fs::write(
        project.join(".codex/hooks.json"),
        json!({ "hooks": { "PreToolUse": [{ "matcher": "Bash", "hooks": [
            { "type": "command", "command": planted },
            { "type": "command", "command": format!("{} hook codex", other_binary.display()) }
        ]}]}})
        .to_string(),
    )
    .unwrap();
    let (_, out, _) = sg(
        &home,
        &project,
        &["doctor", "--cwd", project.to_str().unwrap()],
    );
    assert!(
        !marker.exists(),
        "doctor ran a command from the settings file:\n{out}"
    );
    assert!(out.contains("not in the form"), "{out}");
    assert!(out.contains("not this shellgate"), "{out}");
}
