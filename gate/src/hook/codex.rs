//! OpenAI Codex CLI `PreToolUse` hook (developers.openai.com/codex/hooks;
//! schema `codex-rs/hooks/schema/generated/pre-tool-use.command.*.schema.json`).
//!
//! Input: as Claude Code's (`session_id`, `turn_id`, `cwd`,
//! `hook_event_name`, `model`, `permission_mode`, `tool_name` — `Bash` for
//! shell calls —, `tool_input.command` as one string, `tool_use_id`).
//!
//! Output: Codex honours only a deny. `permissionDecision: "allow"` or
//! `"ask"` is rejected as unsupported and the command runs, and the output
//! schema refuses unknown fields. So: allow is no output; ask becomes a
//! deny whose reason carries the one-time approval code; a deny is
//! `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
//! "permissionDecision": "deny", "permissionDecisionReason": …}}` (the
//! reason must not be empty). A hard deny or unusable input also writes
//! the reason on stderr and exits 2, which Codex treats as a block.

use serde_json::{json, Value};
use shellgate_rules::Verdict;

use super::{Answer, Call, Reply};

/// Reads a `PreToolUse` input (the same fields as Claude Code's).
pub fn parse(v: &Value) -> Result<Call, String> {
    super::claude_code::parse(v)
}

/// No output on allow; a deny otherwise.
pub fn reply(a: &Answer) -> Reply {
    if a.verdict == Verdict::Allow {
        return Reply::none();
    }
    let r = Reply::json(json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": a.message,
        }
    }));
    if a.hard {
        r.blocking(&a.message)
    } else {
        r
    }
}
