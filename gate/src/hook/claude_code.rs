//! Claude Code `PreToolUse` hook (code.claude.com/docs/en/hooks, "PreToolUse"
//! and "Exit code output").
//!
//! Input: `session_id`, `transcript_path`, `cwd`, `permission_mode`,
//! `hook_event_name` (`PreToolUse`), `tool_name`, `tool_input`
//! (`command` for the `Bash` tool), `tool_use_id`.
//!
//! Output: `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
//! "permissionDecision": "allow" | "ask" | "deny",
//! "permissionDecisionReason": …}}` with exit 0. The reason of an allow or
//! ask is shown to the user, that of a deny to Claude. A hard deny (and
//! input shellgate cannot use) also writes the reason on stderr and exits 2,
//! which blocks the call in every Claude Code version even if the JSON were
//! not read. Other tools get no answer (the normal permission flow).

use serde_json::{json, Value};
use shellgate_rules::Verdict;

use super::{opt_str, req_str, shell_tool_input, Answer, Call, Reply, ToolCall};

/// Claude Code's shell tool (`PowerShell` is Windows-only).
const SHELL_TOOLS: &[&str] = &["Bash"];

/// Reads a `PreToolUse` input.
pub fn parse(v: &Value) -> Result<Call, String> {
    let Some(input) = shell_tool_input(v, "PreToolUse", SHELL_TOOLS)? else {
        return Ok(Call::OtherTool);
    };
    Ok(Call::Shell(ToolCall {
        command: req_str(input, "command")?,
        cwd: opt_str(v, "cwd")?,
        session: opt_str(v, "session_id")?,
        tool_use_id: opt_str(v, "tool_use_id")?,
        tool: req_str(v, "tool_name")?,
    }))
}

/// The `hookSpecificOutput` answer.
pub fn reply(a: &Answer) -> Reply {
    let r = Reply::json(json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": a.verdict.as_str(),
            "permissionDecisionReason": a.message,
        }
    }));
    if a.verdict == Verdict::Deny && a.hard {
        r.blocking(&a.message)
    } else {
        r
    }
}
