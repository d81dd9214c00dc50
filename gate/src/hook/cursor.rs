//! Cursor `beforeShellExecution` hook (cursor.com/docs/hooks).
//!
//! Input: the common fields (`conversation_id`, `generation_id`,
//! `hook_event_name`, `workspace_roots`, …) and `command`, `cwd`.
//!
//! Output: always one JSON object, `{"permission": "allow" | "ask" |
//! "deny", "user_message": …, "agent_message": …}`: Cursor treats a crash,
//! a timeout or invalid output as an allow unless the hook entry has
//! `"failClosed": true` (which `shellgate install cursor` sets). Input
//! shellgate cannot use is also answered with exit 2 (Cursor: "block the
//! action"). Cursor may not show `ask` in every mode (forum reports: an
//! allowlist entry or auto-review overrides it); `--no-ask` turns asks into
//! denies with an approval code.

use serde_json::{json, Value};
use shellgate_rules::Verdict;

use super::{expect_event, opt_str, req_str, Answer, Call, Reply, ToolCall};

/// Reads a `beforeShellExecution` input. An empty `cwd` falls back to the
/// first workspace root.
pub fn parse(v: &Value) -> Result<Call, String> {
    expect_event(v, "hook_event_name", "beforeShellExecution")?;
    let cwd = match opt_str(v, "cwd")?.filter(|c| !c.is_empty()) {
        Some(c) => Some(c),
        None => v
            .get("workspace_roots")
            .and_then(|r| r.get(0))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    Ok(Call::Shell(ToolCall {
        command: req_str(v, "command")?,
        cwd,
        session: opt_str(v, "conversation_id")?,
        tool_use_id: opt_str(v, "generation_id")?,
        // Cursor's hook is per event, not per tool: its shell tool.
        tool: "Shell".into(),
    }))
}

/// The `permission` answer.
pub fn reply(a: &Answer) -> Reply {
    let r = Reply::json(match a.verdict {
        Verdict::Allow => json!({ "permission": "allow" }),
        v => json!({
            "permission": v.as_str(),
            "user_message": a.message,
            "agent_message": a.message,
        }),
    });
    if a.invalid_input {
        r.blocking(&a.message)
    } else {
        r
    }
}
