//! The `shellgate` library: what the command-line front end
//! (`src/main.rs`) shares with tests and the fuzz targets. It sets up a
//! decision from flags or a hook's input ([`Setup`]), judges a command,
//! applies session state and approvals ([`outcome`]), writes the audit
//! log ([`audit`]), and answers the harnesses' pre-tool hooks ([`hook`]).
//! Parsing, detection and the sandbox live in the `shellgate-parsers`,
//! `shellgate-rules` and `shellgate-sandbox` crates.

#![deny(missing_docs)]

pub mod audit;
pub mod hook;
pub mod outcome;
pub mod state;

use std::path::{Path, PathBuf};
use std::time::Instant;

use outcome::{Effects, Outcome, Source};
use shellgate_rules::policy::Discovery;
use shellgate_rules::{decide_bytes, Evaluation, Policy, PolicyError};

/// Everything a decision needs, set up from the command line's flags or a
/// hook's input ([`setup_with`]), or given explicitly (tests, fuzzing).
pub struct Setup {
    /// The policy, or why it does not load (then every command is denied).
    pub policy: Result<Policy, PolicyError>,
    /// The working directory the command runs in: absolute, lexically
    /// normal.
    pub cwd: String,
    /// `$HOME` (absolute), for `~` and the home-relative rules.
    pub home: Option<String>,
    /// Where the decision is recorded.
    pub audit: audit::AuditLog,
    /// The session the command belongs to ([`state::session_id`]).
    pub session: String,
    /// The state directory (approvals, ended sessions); None when there
    /// is none, which makes every allow an ask ([`outcome::finish`]).
    pub state_dir: Option<PathBuf>,
    /// The harness that asked (hooks only), for the audit record.
    pub harness: Option<&'static str>,
    /// The harness's id of this tool call (hooks only).
    pub tool_use_id: Option<String>,
    /// The harness's name of the tool (hooks only).
    pub tool: Option<String>,
}

impl Setup {
    /// A new audit record of `event` about `command`, with this setup's
    /// session, harness, tool, tool-use id and working directory.
    pub fn record(&self, event: audit::Event, mode: &str, command: &str) -> audit::Record {
        let mut r = audit::Record::new(event, mode);
        r.session = self.session.clone();
        r.harness = self.harness.map(str::to_string);
        r.tool = self.tool.clone();
        r.tool_use_id = self.tool_use_id.clone();
        r.cwd = self.cwd.clone();
        r.command = command.to_string();
        r
    }
}

/// Where a [`Setup`] comes from: command-line flags, or a hook's input.
#[derive(Default)]
pub struct SetupArgs<'a> {
    /// `--cwd`, or the hook input's working directory; None for the
    /// current directory.
    pub cwd: Option<&'a Path>,
    /// `--policy`: replaces the user and project layers.
    pub policy: Option<&'a Path>,
    /// `--audit-log`.
    pub audit_log: Option<&'a Path>,
    /// `--session`, or the hook input's session id.
    pub session: Option<String>,
    /// The harness that asked (hooks only).
    pub harness: Option<&'static str>,
    /// The harness's id of this tool call (hooks only).
    pub tool_use_id: Option<String>,
    /// The harness's name of the tool (hooks only).
    pub tool: Option<String>,
}

/// Environment variable naming the managed policy (for tests and
/// containers; default /etc/shellgate/policy.toml).
pub const MANAGED_ENV: &str = "SHELLGATE_MANAGED_POLICY";
/// Environment variable that requires the managed policy when `1`.
pub const REQUIRE_MANAGED_ENV: &str = "SHELLGATE_REQUIRE_MANAGED";

/// The environment variable `name` as a path; None when unset or empty.
pub fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The working directory: `flag` (made absolute against the current
/// directory), else the current directory; lexically normal.
///
/// # Errors
/// The current directory cannot be read, or the path is not UTF-8.
pub fn resolve_cwd(flag: Option<&Path>) -> Result<String, String> {
    let here = std::env::current_dir()
        .map_err(|e| format!("cannot read the current directory: {e}; pass --cwd"))?;
    let cwd = match flag {
        Some(d) if d.is_absolute() => d.to_path_buf(),
        Some(d) => here.join(d),
        None => here,
    };
    // Lexically normal (no `.`, `..` or doubled slashes), as bash's `cd`
    // leaves `$PWD`: the project root and every relative path start here.
    cwd.to_str()
        .map(|c| shellgate_parsers::join_path("/", c))
        .ok_or_else(|| "the working directory is not valid UTF-8".into())
}

/// Where to look for the policy layers of a command run in `cwd`, from
/// the environment (`$HOME`, `$XDG_CONFIG_HOME`, [`MANAGED_ENV`],
/// [`REQUIRE_MANAGED_ENV`]); `explicit` is `--policy`.
pub fn discovery(cwd: &str, explicit: Option<&Path>) -> Discovery {
    Discovery {
        cwd: PathBuf::from(cwd),
        home: env_path("HOME"),
        config_home: env_path("XDG_CONFIG_HOME"),
        managed: env_path(MANAGED_ENV),
        explicit: explicit.map(Path::to_path_buf),
        require_managed: std::env::var(REQUIRE_MANAGED_ENV).is_ok_and(|v| v == "1"),
    }
}

/// Sets up a decision from `a` and the process environment: the working
/// directory ([`resolve_cwd`]), the policy layers discovered from it
/// ([`discovery`]), `$HOME`, the audit log ([`audit::AuditLog::open_default`]),
/// the session (`a.session`, else `$SHELLGATE_SESSION`, else the parent
/// process) and the state directory. A policy that does not load is kept
/// as the error (every command is then denied).
///
/// # Errors
/// The working directory cannot be told, or the audit log cannot be
/// opened.
pub fn setup_with(a: SetupArgs) -> Result<Setup, String> {
    let cwd = resolve_cwd(a.cwd)?;
    let policy = Policy::discover(&discovery(&cwd, a.policy));
    let home = std::env::var("HOME").ok().filter(|h| h.starts_with('/'));
    let audit = audit::AuditLog::open_default(a.audit_log)?;
    let given = a
        .session
        .or_else(|| std::env::var("SHELLGATE_SESSION").ok());
    Ok(Setup {
        policy,
        cwd,
        home,
        audit,
        session: state::session_id(given.as_deref()),
        state_dir: state::default_dir(),
        harness: a.harness,
        tool_use_id: a.tool_use_id,
        tool: a.tool,
    })
}

/// Parses and decides `command` under the setup's policy, returning the
/// evaluation and the time taken in microseconds. A panic inside the decision is caught and turned
/// into a deny (`internal.error`): a bug must never let a command through.
/// A policy that did not load denies every command.
pub fn judge(s: &Setup, command: &[u8]) -> (Evaluation, u128) {
    let start = Instant::now();
    let eval = match &s.policy {
        Ok(policy) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decide_bytes(policy, command, &s.cwd, s.home.as_deref())
        }))
        .unwrap_or_else(|_| shellgate_rules::internal_error(policy, &s.cwd, command.len())),
        Err(e) => Evaluation {
            decision: shellgate_rules::policy_error(e, command.len()),
            script: None,
            project_root: s.cwd.clone(),
        },
    };
    (eval, start.elapsed().as_micros())
}

/// Judges ([`judge`]) and applies session state and approvals
/// ([`outcome::finish`]); warnings about the state directory go to
/// stderr. Returns the outcome and the time taken to judge, in
/// microseconds.
pub fn decide_command(s: &Setup, command: &[u8], effects: Effects) -> (Outcome, u128) {
    let (eval, us) = judge(s, command);
    let out = match &s.policy {
        Ok(policy) => outcome::finish(
            policy,
            s.state_dir.as_deref(),
            &s.session,
            &s.cwd,
            command,
            eval,
            effects,
        ),
        Err(_) => Outcome {
            eval,
            source: Source::PolicyError,
            code: None,
            warnings: Vec::new(),
        },
    };
    for w in &out.warnings {
        eprintln!("shellgate: warning: {w}");
    }
    (out, us)
}

/// Most judged commands kept in an audit record, and most characters of
/// each: a megabyte-long command must not make a megabyte-long record.
const JUDGED_KEPT: usize = 64;
/// Most characters of each judged command kept.
const JUDGED_CHARS: usize = 500;

/// A simple command as one shell-quoted line: its assignments, the words
/// of the wrappers that run it (`sudo -u x`, `env`, `xargs` …), then its
/// own words, all after expansion; at most [`JUDGED_CHARS`] characters.
fn command_line(c: &shellgate_parsers::Command) -> String {
    let words = c
        .assignments
        .iter()
        .map(|a| format!("{}={}", a.name, a.value.text))
        .chain(
            c.wrappers
                .iter()
                .flat_map(|w| w.argv.iter().map(|x| x.text.clone())),
        )
        .chain(c.argv.iter().map(|w| w.text.clone()));
    audit::truncate_chars(&shell_words::join(words), JUDGED_CHARS)
}

/// The simple command a finding was made on: the one with the smallest
/// span that holds the finding's span (an unwrapped or nested command
/// lies inside the command that carries it).
fn finding_command(eval: &Evaluation, span: shellgate_parsers::Span) -> String {
    let Some(script) = &eval.script else {
        return String::new();
    };
    script
        .commands
        .iter()
        .filter(|c| c.span.start <= span.start && span.end <= c.span.end)
        .min_by_key(|c| c.span.end - c.span.start)
        .map(command_line)
        .unwrap_or_default()
}

/// The simple commands a decision was judged on, each as one
/// [`command_line`].
fn judged_lines(eval: &Evaluation) -> Vec<String> {
    let Some(script) = &eval.script else {
        return Vec::new();
    };
    let mut out: Vec<String> = script
        .commands
        .iter()
        .take(JUDGED_KEPT)
        .map(command_line)
        .collect();
    if script.commands.len() > JUDGED_KEPT {
        out.push(format!("… {} more", script.commands.len() - JUDGED_KEPT));
    }
    out
}

/// Appends the audit record of one decision on `command` (mode `mode`:
/// `check`, `hook`, `run` …, and `us` microseconds to judge) to the
/// setup's audit log; returns the record's id.
///
/// # Errors
/// The record could not be written ([`audit::AuditLog::append`]).
pub fn record(
    s: &mut Setup,
    mode: &str,
    command: &str,
    out: &Outcome,
    us: u128,
) -> Result<String, String> {
    let d = &out.eval.decision;
    let (tier, digest) = match &s.policy {
        Ok(p) => (p.tier.as_str(), p.digest.clone()),
        Err(_) => ("none", "none".to_string()),
    };
    let mut r = s.record(audit::Event::Decision, mode, command);
    r.judged = judged_lines(&out.eval);
    r.decision = d.decision.as_str().to_string();
    r.source = out.source.as_str().to_string();
    r.rules = d.rule_ids().into_iter().map(str::to_string).collect();
    r.fired = d
        .findings
        .iter()
        .map(|f| audit::Fired {
            rule: f.rule.to_string(),
            section: f.section.as_str().to_string(),
            matched: command
                .get(f.span.start..f.span.end)
                .map(|m| audit::truncate_chars(m, audit::MATCHED_CHARS))
                .unwrap_or_default(),
            command: finding_command(&out.eval, f.span),
        })
        .collect();
    r.reason = d.reason.clone();
    r.tier = tier.to_string();
    r.policy_digest = digest;
    r.approval_code = out.code.clone();
    r.duration_us = Some(u64::try_from(us).unwrap_or(u64::MAX));
    s.audit.append(&mut r)?;
    Ok(r.id)
}
