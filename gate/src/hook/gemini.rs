//! Gemini CLI `BeforeTool` hook (geminicli.com/docs/hooks/reference;
//! `packages/core/src/hooks/types.ts` in google-gemini/gemini-cli).
//!
//! Input: `session_id`, `transcript_path`, `cwd`, `hook_event_name`
//! (`BeforeTool`), `timestamp`, `tool_name` (`run_shell_command` for the
//! shell), `tool_input` (`command`, and `dir_path` — `directory` in older
//! versions — relative to `cwd`).
//!
//! Output: `{"decision": "allow"}`, or `{"decision": "deny", "reason": …,
//! "systemMessage": …}` (the reason goes to the model, the system message
//! to the user). The documented protocol has no ask (newer versions accept
//! one, older ones would not block on it), so an ask becomes a deny with a
//! one-time approval code. A hard deny or unusable input also writes the
//! reason on stderr and exits 2 (Gemini: "blocking error"; stderr is the
//! reason). Other tools get no answer.

use serde_json::{json, Value};
use shellgate_rules::Verdict;

use super::{opt_str, req_str, shell_tool_input, Answer, Call, Reply, ToolCall};

/// Gemini CLI's shell tool.
const SHELL_TOOLS: &[&str] = &["run_shell_command"];

/// Reads a `BeforeTool` input.
pub fn parse(v: &Value) -> Result<Call, String> {
    let Some(input) = shell_tool_input(v, "BeforeTool", SHELL_TOOLS)? else {
        return Ok(Call::OtherTool);
    };
    let base = opt_str(v, "cwd")?;
    let dir = match opt_str(input, "dir_path")? {
        Some(d) => Some(d),
        None => opt_str(input, "directory")?,
    };
    let cwd = match (base, dir.filter(|d| !d.is_empty())) {
        (_, Some(d)) if d.starts_with('/') => Some(d),
        (Some(b), Some(d)) => Some(format!("{}/{d}", b.trim_end_matches('/'))),
        (b, None) => b,
        (None, Some(d)) => {
            return Err(format!(
                "`tool_input.dir_path` {d:?} is relative and the input has no `cwd`"
            ))
        }
    };
    Ok(Call::Shell(ToolCall {
        command: req_str(input, "command")?,
        cwd,
        session: opt_str(v, "session_id")?,
        tool_use_id: None,
        tool: req_str(v, "tool_name")?,
    }))
}

/// The `decision` answer.
pub fn reply(a: &Answer) -> Reply {
    if a.verdict == Verdict::Allow {
        return Reply::json(json!({ "decision": "allow" }));
    }
    let r = Reply::json(json!({
        "decision": "deny",
        "reason": a.message,
        "systemMessage": a.message,
    }));
    if a.hard {
        r.blocking(&a.message)
    } else {
        r
    }
}
