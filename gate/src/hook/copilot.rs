//! GitHub Copilot CLI `preToolUse` hook
//! (docs.github.com/en/copilot/reference/hooks-reference).
//!
//! Input: `sessionId` (newer versions), `timestamp` (ms), `cwd`,
//! `toolName` (`bash` for the shell), `toolArgs` — the tool's arguments as
//! a JSON-encoded string (an object is accepted too). `write_bash`, which
//! types text into a running `bash` session, is judged on that text
//! (`input`) as a command line; without it, it is denied.
//!
//! Output: only a deny is processed: `{"permissionDecision": "deny",
//! "permissionDecisionReason": …}` with exit 0, which every Copilot CLI
//! version honours (exit 2 is a block only in newer ones). Allow is no
//! output; an ask becomes a deny with a one-time approval code. Other
//! tools get no answer.

use serde_json::{json, Value};
use shellgate_rules::Verdict;

use super::{opt_str, req_str, Answer, Call, Reply, ToolCall};

/// Copilot CLI's shell tool (`powershell` is Windows-only).
const SHELL_TOOLS: &[&str] = &["bash"];

/// Copilot CLI's tool that types into a running `bash` session: its text
/// is a command line to the shell reading it.
const SHELL_INPUT_TOOLS: &[&str] = &["write_bash"];

/// Reads a `preToolUse` input.
pub fn parse(v: &Value) -> Result<Call, String> {
    let tool = req_str(v, "toolName")?;
    let typed = SHELL_INPUT_TOOLS.contains(&tool.as_str());
    if !SHELL_TOOLS.contains(&tool.as_str()) && !typed {
        return Ok(Call::OtherTool);
    }
    let args = match v.get("toolArgs") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| format!("`toolArgs` is not a JSON-encoded object ({e})"))?,
        Some(o @ Value::Object(_)) => o.clone(),
        Some(_) => return Err("`toolArgs` is neither a JSON string nor an object".into()),
        None => return Err("the field `toolArgs` is missing".into()),
    };
    let command = if typed {
        req_str(&args, "input").map_err(|e| {
            format!(
                "{e}: `write_bash` types into a running shell, and shellgate judges what it types"
            )
        })?
    } else {
        req_str(&args, "command")?
    };
    Ok(Call::Shell(ToolCall {
        command,
        cwd: opt_str(v, "cwd")?,
        session: opt_str(v, "sessionId")?,
        tool_use_id: None,
        tool,
    }))
}

/// No output on allow; a deny otherwise.
pub fn reply(a: &Answer) -> Reply {
    if a.verdict == Verdict::Allow {
        return Reply::none();
    }
    Reply::json(json!({
        "permissionDecision": "deny",
        "permissionDecisionReason": a.message,
    }))
}
