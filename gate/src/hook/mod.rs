//! `shellgate hook HARNESS`: the pre-tool hooks of the agent harnesses.
//!
//! Every adapter follows the same steps: read the hook input (JSON on
//! stdin, bounded), turn it into a [`ToolCall`], judge a shell command like
//! `shellgate check` (with the harness's session id, working directory and
//! tool-use id, and an audit record), and write the answer in the harness's
//! own protocol ([`Reply`]). Each harness module documents its protocol
//! and cites its source; docs/harnesses/ has one page per harness.
//!
//! Fail closed: input that cannot be read, is not the expected event, or
//! has no command is answered with a deny (`hook.invalid-input`), as is a
//! decision that cannot be put in the audit log (`hook.audit-failed`).
//! Tools that are not shells pass through with no answer.
//!
//! [`run`] takes the policy, audit log and state from the process
//! environment; [`respond`] answers given bytes with [`Surroundings`] the
//! caller supplies (the `hook_input` fuzz target gives a fixed policy and
//! temporary state).

pub mod claude_code;
pub mod codex;
pub mod copilot;
pub mod cursor;
pub mod gemini;

use std::io::Read;
use std::path::Path;

use serde_json::Value;
use shellgate_rules::{Section, Verdict};

use crate::outcome::{Effects, Outcome};

/// Most bytes of hook input read. Larger input is denied.
pub const MAX_INPUT_BYTES: usize = 16 << 20;

/// Rule id of a refusal because the hook input could not be used.
pub const INVALID_INPUT: &str = "hook.invalid-input";
/// Rule id of a refusal because the audit record could not be written.
pub const AUDIT_FAILED: &str = "hook.audit-failed";

/// The harnesses shellgate has a hook adapter for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Harness {
    /// Claude Code `PreToolUse` (code.claude.com/docs/en/hooks).
    ClaudeCode,
    /// OpenAI Codex CLI `PreToolUse` (developers.openai.com/codex/hooks).
    Codex,
    /// Cursor `beforeShellExecution` (cursor.com/docs/hooks).
    Cursor,
    /// Gemini CLI `BeforeTool` (geminicli.com/docs/hooks/reference).
    Gemini,
    /// GitHub Copilot CLI `preToolUse` (docs.github.com/en/copilot/reference/hooks-reference).
    Copilot,
}

impl Harness {
    /// The name used on the command line and in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Harness::ClaudeCode => "claude-code",
            Harness::Codex => "codex",
            Harness::Cursor => "cursor",
            Harness::Gemini => "gemini",
            Harness::Copilot => "copilot",
        }
    }

    /// Every harness, in documentation order.
    pub const ALL: [Harness; 5] = [
        Harness::ClaudeCode,
        Harness::Codex,
        Harness::Cursor,
        Harness::Gemini,
        Harness::Copilot,
    ];

    /// True when the harness can ask the user itself; otherwise an ask is
    /// answered as a deny carrying a one-time approval code.
    pub fn can_ask(self) -> bool {
        matches!(self, Harness::ClaudeCode | Harness::Cursor)
    }

    fn parse(self, input: &Value) -> Result<Call, String> {
        match self {
            Harness::ClaudeCode => claude_code::parse(input),
            Harness::Codex => codex::parse(input),
            Harness::Cursor => cursor::parse(input),
            Harness::Gemini => gemini::parse(input),
            Harness::Copilot => copilot::parse(input),
        }
    }

    /// The answer to `answer` in this harness's protocol.
    pub fn reply(self, answer: &Answer) -> Reply {
        match self {
            Harness::ClaudeCode => claude_code::reply(answer),
            Harness::Codex => codex::reply(answer),
            Harness::Cursor => cursor::reply(answer),
            Harness::Gemini => gemini::reply(answer),
            Harness::Copilot => copilot::reply(answer),
        }
    }
}

/// What the hook input asks about.
#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    /// A shell command to judge.
    Shell(ToolCall),
    /// Another tool (file edits, MCP …): not shellgate's to judge.
    OtherTool,
}

/// A shell tool call as the harness described it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ToolCall {
    /// The command line the tool will run.
    pub command: String,
    /// The directory it runs in (absolute), when the harness says.
    pub cwd: Option<String>,
    /// The harness's session (conversation) id.
    pub session: Option<String>,
    /// The harness's id of this tool call.
    pub tool_use_id: Option<String>,
    /// The harness's name of the tool (`Bash`, `run_shell_command` …).
    pub tool: String,
}

/// shellgate's answer, before it is put in a harness's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The verdict. For a harness that cannot ask, an ask arrives here
    /// already turned into a deny whose message carries the approval code.
    pub verdict: Verdict,
    /// The refusal comes from a rule nothing overrides (hard_deny, the
    /// deny layer, input that cannot be analysed): harnesses that support
    /// it also get a blocking exit status.
    pub hard: bool,
    /// The hook input could not be used (not a decision about a command).
    pub invalid_input: bool,
    /// One line for the agent and the user: rule ids and the reason.
    pub message: String,
}

/// Bytes to write and the exit status, in a harness's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Written to stdout (usually one JSON object and a newline).
    pub stdout: String,
    /// Written to stderr.
    pub stderr: String,
    /// The exit status.
    pub exit: u8,
}

impl Reply {
    /// No answer: the harness goes on as if no hook had run.
    pub fn none() -> Reply {
        Reply {
            stdout: String::new(),
            stderr: String::new(),
            exit: 0,
        }
    }

    /// One JSON object on stdout, exit 0.
    pub fn json(v: Value) -> Reply {
        Reply {
            stdout: format!("{v}\n"),
            stderr: String::new(),
            exit: 0,
        }
    }

    /// Adds the blocking form: `message` on stderr and exit 2.
    pub fn blocking(mut self, message: &str) -> Reply {
        self.stderr = format!("{message}\n");
        self.exit = 2;
        self
    }
}

/// Options of `shellgate hook`.
pub struct Options<'a> {
    /// `--policy`: replaces the user and project layers.
    pub policy: Option<&'a Path>,
    /// `--audit-log`.
    pub audit_log: Option<&'a Path>,
    /// `--no-ask`: answer asks as denies with an approval code even where
    /// the harness could ask.
    pub no_ask: bool,
}

/// Runs one hook (`shellgate hook HARNESS`): reads stdin and answers it
/// with [`respond`]; the policy, audit log, state directory and session
/// come from `opts` and the process environment ([`crate::setup_with`]).
/// Returns the reply to write.
pub fn run(harness: Harness, opts: &Options, stdin: &mut dyn Read) -> Reply {
    let mut buf = Vec::new();
    if let Err(e) = stdin.take(MAX_INPUT_BYTES as u64 + 1).read_to_end(&mut buf) {
        return refuse_input(
            harness,
            &mut Process(opts),
            &buf,
            &format!("cannot read the hook input: {e}"),
        );
    }
    respond(harness, &buf, opts.no_ask, &mut Process(opts))
}

/// What answering a hook needs besides its input: the setup of a decision
/// and the audit log for refused input. `shellgate hook` takes both from
/// its options and the process environment; tests and the fuzz target
/// give fixed ones, so nothing outside them is read or written.
pub trait Surroundings {
    /// The setup for judging one shell call. `args` carries what the hook
    /// input says: working directory (absolute; None when the input has
    /// none), session id, harness, tool and tool-use id.
    ///
    /// # Errors
    /// A message saying what could not be set up (usually the audit log);
    /// the call is then denied with rule [`AUDIT_FAILED`].
    fn setup(&mut self, args: crate::SetupArgs) -> Result<crate::Setup, String>;

    /// The audit log that records hook input shellgate refused.
    ///
    /// # Errors
    /// A message saying why the log cannot be opened; the refusal stands
    /// and a warning goes to stderr.
    fn refusal_log(&mut self) -> Result<crate::audit::AuditLog, String>;
}

/// `shellgate hook`'s surroundings: [`crate::setup_with`] with the
/// options' `--policy` and `--audit-log`, and the audit log they name.
struct Process<'a, 'b>(&'a Options<'b>);

impl Surroundings for Process<'_, '_> {
    fn setup(&mut self, args: crate::SetupArgs) -> Result<crate::Setup, String> {
        crate::setup_with(crate::SetupArgs {
            policy: self.0.policy,
            audit_log: self.0.audit_log,
            ..args
        })
    }

    fn refusal_log(&mut self) -> Result<crate::audit::AuditLog, String> {
        crate::audit::AuditLog::open_default(self.0.audit_log)
    }
}

/// Answers the hook input `input` (the bytes the harness wrote on stdin)
/// in `harness`'s protocol: input over [`MAX_INPUT_BYTES`], not JSON, not
/// the expected event or without a command is denied with rule
/// [`INVALID_INPUT`] (and recorded in [`Surroundings::refusal_log`]); a
/// tool that is not a shell gets no answer ([`Reply::none`]); a shell
/// command is judged like `shellgate check` with the setup from
/// `surroundings`, recorded, and answered. `no_ask` turns asks into denies
/// even where the harness could ask. Protocols: the harness modules and
/// docs/harnesses/.
pub fn respond(
    harness: Harness,
    input: &[u8],
    no_ask: bool,
    surroundings: &mut dyn Surroundings,
) -> Reply {
    if input.len() > MAX_INPUT_BYTES {
        return refuse_input(
            harness,
            surroundings,
            input,
            &format!("the hook input is over {} MiB", MAX_INPUT_BYTES >> 20),
        );
    }
    let call = match parse_input(harness, input) {
        Ok(Call::Shell(c)) => c,
        Ok(Call::OtherTool) => return Reply::none(),
        Err(e) => return refuse_input(harness, surroundings, input, &e),
    };
    harness.reply(&judge(harness, no_ask, surroundings, call))
}

/// Parses raw hook input: JSON (a UTF-8 byte-order mark is skipped, as
/// Cursor on Windows sends one), then the harness's fields.
pub fn parse_input(harness: Harness, bytes: &[u8]) -> Result<Call, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the hook input is not valid JSON ({e})"))?;
    if !v.is_object() {
        return Err("the hook input is not a JSON object".into());
    }
    let call = harness.parse(&v)?;
    if let Call::Shell(c) = &call {
        if let Some(cwd) = &c.cwd {
            if cwd.contains('\0') || !cwd.starts_with('/') {
                return Err(format!(
                    "the working directory {cwd:?} is not an absolute path"
                ));
            }
        }
    }
    Ok(call)
}

/// The deny written when shellgate itself failed (a panic) while
/// answering: blocking wherever the harness allows.
pub fn internal_error(harness: Harness) -> Reply {
    harness.reply(&Answer {
        verdict: Verdict::Deny,
        hard: true,
        invalid_input: true,
        message: "shellgate denied this tool call [internal.error]: shellgate failed while answering (a bug; please report it with the hook input)".into(),
    })
}

/// Most bytes of unusable hook input kept in its audit record.
const INPUT_KEPT: usize = 2048;

/// Denies input shellgate could not use, and records the refusal (source
/// `hook`, rule [`INVALID_INPUT`]) with the start of the input, so a
/// harness sending malformed calls shows in `audit report`. The deny
/// stands even when the record cannot be written.
fn refuse_input(
    harness: Harness,
    surroundings: &mut dyn Surroundings,
    input: &[u8],
    why: &str,
) -> Reply {
    let logged = surroundings.refusal_log().and_then(|mut log| {
        let mut r = crate::audit::Record::new(crate::audit::Event::Decision, "hook");
        r.harness = Some(harness.name().into());
        r.command = String::from_utf8_lossy(&input[..input.len().min(INPUT_KEPT)]).into_owned();
        r.decision = Verdict::Deny.as_str().into();
        r.source = "hook".into();
        r.rules = vec![INVALID_INPUT.into()];
        r.fired = vec![crate::audit::Fired {
            rule: INVALID_INPUT.into(),
            section: Section::Input.as_str().into(),
            matched: String::new(),
            command: String::new(),
        }];
        r.reason = why.to_string();
        log.append(&mut r)
    });
    if let Err(e) = logged {
        eprintln!("shellgate: warning: the refusal of unusable hook input was not recorded: {e}");
    }
    invalid(harness, why)
}

/// A deny for input shellgate could not use.
fn invalid(harness: Harness, why: &str) -> Reply {
    harness.reply(&Answer {
        verdict: Verdict::Deny,
        hard: true,
        invalid_input: true,
        message: format!(
            "shellgate denied this tool call [{INVALID_INPUT}]: {why}; the hook is registered for a {} tool-call event and expects its input (see `shellgate install {}`)",
            harness.name(),
            harness.name()
        ),
    })
}

/// Judges a shell call with the harness's session, records it, and
/// returns the answer.
fn judge(
    harness: Harness,
    no_ask: bool,
    surroundings: &mut dyn Surroundings,
    call: ToolCall,
) -> Answer {
    let asks = harness.can_ask() && !no_ask;
    let setup = surroundings.setup(crate::SetupArgs {
        cwd: call.cwd.as_deref().map(Path::new),
        session: call.session.clone(),
        harness: Some(harness.name()),
        tool_use_id: call.tool_use_id.clone(),
        tool: Some(call.tool.clone()),
        ..crate::SetupArgs::default()
    });
    let mut s = match setup {
        Ok(s) => s,
        Err(e) => {
            return Answer {
                verdict: Verdict::Deny,
                hard: true,
                invalid_input: false,
                message: format!("shellgate denied this command [{AUDIT_FAILED}]: {e}"),
            }
        }
    };
    let (out, us) = crate::decide_command(
        &s,
        call.command.as_bytes(),
        Effects {
            write: true,
            approval_codes: !asks,
        },
    );
    if let Err(e) = crate::record(&mut s, "hook", &call.command, &out, us).map(drop) {
        return Answer {
            verdict: Verdict::Deny,
            hard: true,
            invalid_input: false,
            message: format!(
                "shellgate denied this command [{AUDIT_FAILED}]: {e}; no command runs without an audit record"
            ),
        };
    }
    answer(&out, asks)
}

/// The answer for an outcome; `asks` is false when an ask must become a
/// deny.
pub fn answer(out: &Outcome, asks: bool) -> Answer {
    let d = &out.eval.decision;
    let rules = d.rule_ids().join(", ");
    let hard = d.decision == Verdict::Deny
        && d.findings.iter().any(|f| {
            f.verdict == Verdict::Deny
                && matches!(
                    f.section,
                    Section::HardDeny | Section::DenyLayer | Section::Input
                )
        });
    match d.decision {
        Verdict::Allow => Answer {
            verdict: Verdict::Allow,
            hard: false,
            invalid_input: false,
            message: if rules.is_empty() {
                format!("shellgate allowed this command: {}", d.reason)
            } else {
                format!("shellgate allowed this command [{rules}]: {}", d.reason)
            },
        },
        Verdict::Ask if asks => Answer {
            verdict: Verdict::Ask,
            hard: false,
            invalid_input: false,
            message: format!("shellgate asks for your approval [{rules}]: {}", d.reason),
        },
        Verdict::Ask => Answer {
            verdict: Verdict::Deny,
            hard: false,
            invalid_input: false,
            message: match &out.code {
                Some(_) => format!(
                    "shellgate needs the user's approval for this command [{rules}]: {}; tell the user the command and the code, and run it again after they approve",
                    d.reason.trim_end_matches('.')
                ),
                None => format!(
                    "shellgate needs the user's approval for this command [{rules}]: {}; this harness cannot ask, so the user has to run it themselves or change the policy",
                    d.reason.trim_end_matches('.')
                ),
            },
        },
        Verdict::Deny => Answer {
            verdict: Verdict::Deny,
            hard,
            invalid_input: false,
            message: format!("shellgate denied this command [{rules}]: {}", d.reason),
        },
    }
}

/// A string field of `v`, or None when absent or null.
///
/// # Errors
/// When the field is present with another type.
pub(crate) fn opt_str(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("the field `{key}` is not a string")),
    }
}

/// A required string field of `v`.
pub(crate) fn req_str(v: &Value, key: &str) -> Result<String, String> {
    opt_str(v, key)?.ok_or_else(|| format!("the field `{key}` is missing"))
}

/// The `tool_input` of a `hook_event_name`/`tool_name`/`tool_input` hook
/// input (Claude Code, Codex, Gemini CLI) when `tool_name` is one of
/// `shell_tools`; None for other tools.
///
/// # Errors
/// The wrong event, or a missing `tool_name` or `tool_input`.
pub(crate) fn shell_tool_input<'a>(
    v: &'a Value,
    event: &str,
    shell_tools: &[&str],
) -> Result<Option<&'a Value>, String> {
    expect_event(v, "hook_event_name", event)?;
    let tool = req_str(v, "tool_name")?;
    if !shell_tools.contains(&tool.as_str()) {
        return Ok(None);
    }
    v.get("tool_input")
        .map(Some)
        .ok_or_else(|| "the field `tool_input` is missing".into())
}

/// Checks `hook_event_name` (or another event field) when present: a hook
/// registered under the wrong event is refused rather than guessed at.
pub(crate) fn expect_event(v: &Value, key: &str, expected: &str) -> Result<(), String> {
    match opt_str(v, key)? {
        Some(e) if e != expected => Err(format!(
            "shellgate answers `{expected}` events, not `{e}`: register it under {expected} only"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use shellgate_rules::Policy;

    use super::*;
    use crate::audit::{AuditLog, Rotation};
    use crate::{Setup, SetupArgs};

    /// The built-in policy, an audit log and a state directory in a
    /// temporary directory, nothing from the environment.
    struct Fixed {
        dir: tempfile::TempDir,
    }

    impl Fixed {
        fn new() -> Fixed {
            Fixed {
                dir: tempfile::tempdir().expect("temp dir"),
            }
        }

        fn log_path(&self) -> PathBuf {
            self.dir.path().join("audit.jsonl")
        }

        fn records(&self) -> Vec<serde_json::Value> {
            std::fs::read_to_string(self.log_path())
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON record"))
                .collect()
        }
    }

    impl Surroundings for Fixed {
        fn setup(&mut self, a: SetupArgs) -> Result<Setup, String> {
            Ok(Setup {
                policy: Ok(Policy::default()),
                cwd: a
                    .cwd
                    .and_then(Path::to_str)
                    .unwrap_or("/home/dev/project")
                    .to_string(),
                home: Some("/home/dev".into()),
                audit: self.refusal_log()?,
                session: a.session.unwrap_or_else(|| "test".into()),
                state_dir: Some(self.dir.path().join("state")),
                harness: a.harness,
                tool_use_id: a.tool_use_id,
                tool: a.tool,
            })
        }

        fn refusal_log(&mut self) -> Result<AuditLog, String> {
            AuditLog::open_with(
                &self.log_path(),
                Rotation {
                    max_bytes: 0,
                    keep: 1,
                },
            )
        }
    }

    fn claude(command: &str) -> Vec<u8> {
        serde_json::json!({
            "session_id": "s1",
            "cwd": "/home/dev/project",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": { "command": command },
            "tool_use_id": "toolu_1"
        })
        .to_string()
        .into_bytes()
    }

    fn decision(r: &Reply) -> String {
        let v: Value = serde_json::from_str(&r.stdout).expect("a JSON answer");
        v["hookSpecificOutput"]["permissionDecision"]
            .as_str()
            .expect("a decision")
            .to_string()
    }

    #[test]
    fn respond_judges_and_records_with_the_given_surroundings() {
        let mut fixed = Fixed::new();
        let allowed = respond(Harness::ClaudeCode, &claude("ls -la"), false, &mut fixed);
        assert_eq!(decision(&allowed), "allow");
        assert_eq!(allowed.exit, 0);
        let denied = respond(Harness::ClaudeCode, &claude("rm -rf /"), false, &mut fixed);
        assert_eq!(decision(&denied), "deny");
        assert_eq!(denied.exit, 2, "a hard deny blocks");
        let records = fixed.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0]["command"], "ls -la");
        assert_eq!(records[0]["decision"], "allow");
        assert_eq!(records[0]["session"], "s1");
        assert_eq!(records[0]["tool_use_id"], "toolu_1");
        assert_eq!(records[1]["decision"], "deny");
        // The hard deny ended the session's autonomy in the given state
        // directory: the next allow there becomes an ask.
        let after = respond(Harness::ClaudeCode, &claude("ls -la"), false, &mut fixed);
        assert_eq!(decision(&after), "ask");
    }

    #[test]
    fn respond_denies_unusable_input_and_passes_other_tools() {
        let mut fixed = Fixed::new();
        for h in Harness::ALL {
            let r = respond(h, b"{not json", false, &mut fixed);
            assert!(r.stdout.contains("deny"), "{h:?}: {r:?}");
            assert!(r.stdout.contains(INVALID_INPUT), "{h:?}: {r:?}");
        }
        assert_eq!(fixed.records().len(), Harness::ALL.len());
        assert!(fixed
            .records()
            .iter()
            .all(|r| r["rules"][0] == INVALID_INPUT && r["source"] == "hook"));
        let edit = serde_json::json!({
            "hook_event_name": "PreToolUse",
            "tool_name": "Edit",
            "tool_input": { "file_path": "/home/dev/project/a.rs" }
        })
        .to_string();
        let r = respond(Harness::ClaudeCode, edit.as_bytes(), false, &mut fixed);
        assert_eq!(r, Reply::none());
    }
}
