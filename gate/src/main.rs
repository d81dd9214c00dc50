//! `shellgate`: the command-line front end. It owns the CLI, the audit log
//! and the wiring of parse → decide → run; parsing, detection and the
//! sandbox live in the `shellgate-parsers`, `shellgate-rules` and
//! `shellgate-sandbox` crates.
//!
//! Exit codes (stable; other tools depend on them):
//! * `check`, `explain`: 0 allow, 1 ask, 2 deny, 3 error (bad usage, policy
//!   that does not load, audit log that cannot be written).
//! * `run`: the command's own exit status when it ran (128+N for signal N);
//!   126 when shellgate refused it (ask or deny; the reason is on stderr);
//!   125 when shellgate failed (policy, audit log, or the sandbox cannot be
//!   enforced on this kernel).

mod audit;
mod render;

use std::ffi::OsString;
use std::io::{BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use shellgate_rules::{decide_bytes, Evaluation, Policy, Verdict};

/// Most bytes read from `--stdin`. Input over the parser's limit is denied
/// with its real size; this only bounds memory.
const MAX_STDIN_BYTES: u64 = 64 << 20;
/// Exit code for `check`/`explain` errors.
const EXIT_ERROR: u8 = 3;
/// Exit code for `run` when shellgate refused the command.
const EXIT_REFUSED: u8 = 126;
/// Exit code for `run` when shellgate itself failed.
const EXIT_RUN_ERROR: u8 = 125;

#[derive(Parser)]
#[command(
    name = "shellgate",
    version,
    about = "Decide whether a bash command an AI agent wants to run is allowed, and run it sandboxed."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the decision (allow / ask / deny) for a command. Exit 0 allow, 1 ask, 2 deny, 3 error.
    Check {
        #[command(flatten)]
        common: Common,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Judge every JSON line of FILE (each with a `command` field) and
        /// print one JSON line per input line, in order.
        #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["command", "stdin"])]
        batch: Option<PathBuf>,
    },
    /// Show the commands bash would run, what each rule saw, and the decision.
    Explain {
        #[command(flatten)]
        common: Common,
    },
    /// Decide, then run the command with `bash -c` in the sandbox if allowed.
    Run {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct Common {
    /// Policy file (TOML). Without it the built-in policy applies, with the
    /// working directory as project root.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Directory the command would run in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Audit log file (JSON Lines). Default: $SHELLGATE_AUDIT_LOG, else
    /// $XDG_STATE_HOME/shellgate/audit.jsonl, else ~/.local/state/shellgate/audit.jsonl.
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// Read the command from standard input (raw bytes) instead of arguments.
    #[arg(long)]
    stdin: bool,
    /// The command, after `--`. Several words are joined with spaces.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Everything a subcommand needs, set up from [`Common`].
struct Setup {
    policy: Policy,
    cwd: String,
    home: Option<String>,
    audit: audit::AuditLog,
}

fn setup(c: &Common) -> Result<Setup, String> {
    let policy = match &c.policy {
        Some(p) => Policy::load(p).map_err(|e| e.to_string())?,
        None => Policy::default(),
    };
    let here = std::env::current_dir()
        .map_err(|e| format!("cannot read the current directory: {e}; pass --cwd"))?;
    let cwd = match &c.cwd {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => here.join(d),
        None => here,
    };
    let cwd = cwd
        .to_str()
        .ok_or("the working directory is not valid UTF-8")?
        .to_string();
    let home = std::env::var("HOME").ok().filter(|h| h.starts_with('/'));
    let path = audit::default_path(c.audit_log.as_deref()).ok_or(format!(
        "no audit log location: set --audit-log or {}",
        audit::ENV_VAR
    ))?;
    let audit = audit::AuditLog::open(&path)?;
    Ok(Setup {
        policy,
        cwd,
        home,
        audit,
    })
}

fn command_bytes(c: &Common) -> Result<Vec<u8>, String> {
    if c.stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_STDIN_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the command from stdin: {e}"))?;
        return Ok(buf);
    }
    if c.command.is_empty() {
        return Err(
            "no command given: pass it after `--`, e.g. shellgate check -- 'ls -la'".into(),
        );
    }
    let parts: Vec<&[u8]> = c.command.iter().map(|a| a.as_bytes()).collect();
    Ok(parts.join(&b' '))
}

/// Parses and decides. A panic inside the decision is caught and turned
/// into a deny (`internal.error`): a bug must never let a command through.
fn judge(s: &Setup, command: &[u8]) -> (Evaluation, u128) {
    let start = Instant::now();
    let eval = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decide_bytes(&s.policy, command, &s.cwd, s.home.as_deref())
    }))
    .unwrap_or_else(|_| shellgate_rules::internal_error(&s.policy, &s.cwd, command.len()));
    (eval, start.elapsed().as_micros())
}

/// Appends the audit record of one decision.
fn record(
    s: &mut Setup,
    mode: &str,
    command: &str,
    eval: &Evaluation,
    us: u128,
) -> Result<(), String> {
    let d = &eval.decision;
    s.audit.append(&audit::Record {
        time: audit::now(),
        mode,
        cwd: &s.cwd,
        command,
        decision: d.decision.as_str(),
        rules: d.rule_ids(),
        reason: &d.reason,
        tier: s.policy.tier.as_str(),
        policy_digest: &s.policy.digest,
        duration_us: us,
    })
}

fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Ask => 1,
        Verdict::Deny => 2,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    match cli.cmd {
        Cmd::Check {
            common,
            json,
            batch,
        } => match batch {
            Some(file) => check_batch(&common, &file),
            None => check(&common, json, false),
        },
        Cmd::Explain { common } => check(&common, false, true),
        Cmd::Run { common } => run(&common),
    }
}

fn fail(msg: &str, code: u8) -> ExitCode {
    eprintln!("shellgate: error: {msg}");
    ExitCode::from(code)
}

fn check(common: &Common, json: bool, explain: bool) -> ExitCode {
    let mut s = match setup(common) {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    let bytes = match command_bytes(common) {
        Ok(b) => b,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    let (eval, us) = judge(&s, &bytes);
    let shown = String::from_utf8_lossy(&bytes);
    let out = if explain {
        render::explain(&eval, &s.policy, &shown)
    } else if json {
        format!("{}\n", render::json(&eval, &s.policy, &shown, us))
    } else {
        render::text(&eval, &shown)
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    if let Err(e) = record(
        &mut s,
        if explain { "explain" } else { "check" },
        &shown,
        &eval,
        us,
    ) {
        return fail(&e, EXIT_ERROR);
    }
    ExitCode::from(verdict_code(eval.decision.decision))
}

/// `check --batch`: one output line per input line, in order. Lines that
/// are not JSON objects with a string `command` give an error line.
fn check_batch(common: &Common, file: &Path) -> ExitCode {
    let mut s = match setup(common) {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => return fail(&format!("cannot read {}: {e}", file.display()), EXIT_ERROR),
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => return fail(&format!("cannot read {}: {e}", file.display()), EXIT_ERROR),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(serde_json::Value::Object(mut obj)) => match obj
                .get("command")
                .and_then(|c| c.as_str())
                .map(str::to_string)
            {
                Some(cmd) => {
                    let (eval, us) = judge(&s, cmd.as_bytes());
                    if let Err(e) = record(&mut s, "batch", &cmd, &eval, us) {
                        return fail(&e, EXIT_ERROR);
                    }
                    obj.insert("decision".into(), eval.decision.decision.as_str().into());
                    obj.insert("rules".into(), eval.decision.rule_ids().into());
                    obj.insert("reason".into(), eval.decision.reason.clone().into());
                    serde_json::Value::Object(obj)
                }
                None => {
                    serde_json::json!({ "line": n + 1, "error": "the line has no string field `command`" })
                }
            },
            Ok(_) => serde_json::json!({ "line": n + 1, "error": "the line is not a JSON object" }),
            Err(e) => serde_json::json!({ "line": n + 1, "error": format!("invalid JSON: {e}") }),
        };
        if writeln!(out, "{result}").is_err() {
            return ExitCode::from(EXIT_ERROR);
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::SUCCESS
}

/// `run`: decide, and only on allow run `bash -c COMMAND` in the sandbox.
fn run(common: &Common) -> ExitCode {
    let mut s = match setup(common) {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_RUN_ERROR),
    };
    let bytes = match command_bytes(common) {
        Ok(b) => b,
        Err(e) => return fail(&e, EXIT_RUN_ERROR),
    };
    let (eval, us) = judge(&s, &bytes);
    let shown = String::from_utf8_lossy(&bytes).into_owned();
    if eval.decision.decision != Verdict::Allow {
        let _ = record(&mut s, "run", &shown, &eval, us);
        eprint!(
            "shellgate: refused ({}): {}",
            eval.decision.decision.as_str(),
            render::text(&eval, &shown)
                .split_once(": ")
                .map(|x| x.1)
                .unwrap_or("")
        );
        return ExitCode::from(EXIT_REFUSED);
    }
    // The decision is on record before the command can do anything.
    if let Err(e) = record(&mut s, "run", &shown, &eval, us) {
        return fail(
            &format!("{e}; not running the command without an audit record"),
            EXIT_RUN_ERROR,
        );
    }
    let caps = shellgate_sandbox::probe();
    if let Err(e) = caps.check() {
        return fail(&format!("{e}"), EXIT_RUN_ERROR);
    }
    let config = shellgate_sandbox::SandboxConfig::new(&eval.project_root);
    match shellgate_sandbox::run_bash(&config, &shown, Path::new(&s.cwd)) {
        Ok(status) => {
            let code = shellgate_sandbox::exit_code(&status);
            ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
        }
        Err(e) => fail(&format!("{e}"), EXIT_RUN_ERROR),
    }
}
