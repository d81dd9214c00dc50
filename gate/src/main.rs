//! `shellgate`: the command-line front end. It owns the CLI and the
//! wiring of parse → decide → run; the setup of a decision, the audit log
//! and the hook adapters are in the `shellgate` library (`src/lib.rs`);
//! parsing, detection and the sandbox live in the `shellgate-parsers`,
//! `shellgate-rules` and `shellgate-sandbox` crates.
//!
//! Exit codes (stable; other tools depend on them):
//! * `check`, `explain`: 0 allow, 1 ask, 2 deny, 3 error (bad usage, audit
//!   log that cannot be written). A policy that does not load is a deny
//!   (rule `policy.invalid`, or `policy.managed-required`), never an allow.
//! * `policy check`: 0 no findings, 1 warnings only, 3 errors.
//! * `approve`, `session`, `init`, `install`, `policy show|defaults|schema`:
//!   0 done, 3 error.
//! * `hook HARNESS`: 0, or 2 where the harness blocks on it (the answer is
//!   on stdout in the harness's protocol; see `hook`).
//! * `doctor`: 0 all ok, 1 warnings, 3 errors.
//! * `run` and `shellgate -c` (shell mode): the command's own exit status when it ran (128+N for signal N);
//!   126 when shellgate refused it (ask or deny; the reason is on stderr);
//!   125 when shellgate failed (policy, audit log, or the sandbox cannot be
//!   enforced on this kernel).

mod audit_cmd;
mod doctor;
mod git_config;
mod install;
mod oracle_cmd;
mod policy_cmd;
mod render;
mod run_env;
mod shell;

use std::ffi::OsString;
use std::io::{BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use outcome::{Effects, Outcome, Source};
use shellgate::{
    audit, decide_command, discovery, env_path, hook, judge, outcome, record, resolve_cwd,
    setup_with, state, Setup, SetupArgs,
};
use shellgate_rules::{Policy, Verdict};

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
        /// print one JSON line per input line, in order. Batch decisions
        /// are the policy's alone: no session state, no approvals.
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
    /// Answer a harness's pre-tool hook: reads its JSON on stdin, writes
    /// its answer (docs/harnesses/). Non-shell tools pass through.
    Hook {
        /// The harness whose protocol to speak.
        #[arg(value_enum)]
        harness: hook::Harness,
        /// Policy file: replaces the user and project layers.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Audit log file (default as for `check`).
        #[arg(long, value_name = "PATH")]
        audit_log: Option<PathBuf>,
        /// Answer asks as denies carrying a one-time approval code, even
        /// where the harness could ask the user itself.
        #[arg(long)]
        no_ask: bool,
    },
    /// Print the settings that register shellgate's hook with a harness;
    /// with --write, merge them into its settings file (after a backup).
    Install {
        /// The harness.
        #[arg(value_enum)]
        harness: hook::Harness,
        /// The user's settings (every project) or this project's.
        #[arg(long, value_enum, default_value = "user")]
        scope: install::Scope,
        /// Merge into the settings file instead of printing.
        #[arg(long)]
        write: bool,
        /// The shellgate binary the harness runs (default: this one).
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Project root for --scope project (default: the git top level, else the current directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Report what this machine enforces (policy, audit log, sandbox) and
    /// self-test every registered harness hook. Exit 0 ok, 1 warnings, 3 errors.
    Doctor {
        /// Project directory to check (default: the current directory).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
    },
    /// Inspect and check policies.
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// Write a commented starter policy (.shellgate/policy.toml) for the
    /// current project, trusting its git remotes.
    Init {
        /// Project root (default: the git top level, else the current directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Replace an existing policy.
        #[arg(long)]
        force: bool,
    },
    /// Approve, once, a command shellgate refused (the code printed with the
    /// refusal). Asks for confirmation on the terminal.
    Approve {
        /// The code, e.g. K7Q2-9XRM.
        #[arg(required_unless_present = "list")]
        code: Option<String>,
        /// List pending and approved codes instead.
        #[arg(long)]
        list: bool,
    },
    /// Show or reset sessions whose autonomy a hard_deny ended.
    Session {
        #[command(subcommand)]
        cmd: SessionCmd,
    },
    /// Read the audit log: reports, policy replay, rule suggestions.
    Audit {
        #[command(subcommand)]
        cmd: audit_cmd::AuditCmd,
    },
    /// Run a command with real bash in a disposable jail and print what it
    /// really did (deleted, executed, connected, read) and the harm.
    /// Exit 0 harmless, 1 harmful, 3 error. Needs bwrap and strace.
    Oracle(oracle_cmd::OracleArgs),
    /// Differential fuzzer: mutate a labelled corpus, and report every
    /// variant shellgate allows that the oracle shows did harm.
    /// Exit 0 none found, 1 bypasses found, 3 error.
    Fuzz(oracle_cmd::FuzzArgs),
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Print the built-in rule lists ("$defaults") and ignore patterns.
    Defaults,
    /// Print the effective policy: layers, `$defaults` expanded, each rule's origin.
    Show {
        #[command(flatten)]
        locate: Locate,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a policy file (or the discovered layers): errors with line
    /// numbers, dropped `$defaults`, failing examples, dead and shadowed rules.
    Check {
        /// The file to check (default: the layers in force here).
        file: Option<PathBuf>,
        #[command(flatten)]
        locate: Locate,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the policy file format.
    Schema,
}

#[derive(Subcommand)]
enum SessionCmd {
    /// List sessions whose autonomy ended.
    Show,
    /// Give a session its autonomy back (asks for confirmation on the terminal).
    Reset {
        /// The session id (as shown by `session show`); default: every session.
        #[arg(long)]
        session: Option<String>,
    },
}

/// Where to find policies, for commands that only read them.
#[derive(Args)]
struct Locate {
    /// Policy file: replaces the user and project layers (the managed layer still applies).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Directory to discover the project policy from (default: the current directory).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
}

#[derive(Args)]
struct Common {
    /// Policy file (TOML): replaces the user and project layers; the
    /// managed layer (/etc/shellgate/policy.toml) still applies.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Directory the command would run in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Audit log file (JSON Lines). Default: $SHELLGATE_AUDIT_LOG, else
    /// $XDG_STATE_HOME/shellgate/audit.jsonl, else ~/.local/state/shellgate/audit.jsonl.
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// The session the command belongs to (the harness's session id).
    /// Default: $SHELLGATE_SESSION, else the parent process.
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Read the command from standard input (raw bytes) instead of arguments.
    #[arg(long)]
    stdin: bool,
    /// The command, after `--`. Several words are joined with spaces.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

fn setup(c: &Common) -> Result<Setup, String> {
    setup_with(SetupArgs {
        cwd: c.cwd.as_deref(),
        policy: c.policy.as_deref(),
        audit_log: c.audit_log.as_deref(),
        session: c.session.clone(),
        ..SetupArgs::default()
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

fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Ask => 1,
        Verdict::Deny => 2,
    }
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    if shell::invoked_as_shell(&argv) {
        return shell_mode(&argv);
    }
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
        Cmd::Hook {
            harness,
            policy,
            audit_log,
            no_ask,
        } => {
            // A panic anywhere (setup, state, audit) must still answer
            // with a deny: most harnesses let the call through when the
            // hook crashes.
            let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                hook::run(
                    harness,
                    &hook::Options {
                        policy: policy.as_deref(),
                        audit_log: audit_log.as_deref(),
                        no_ask,
                    },
                    &mut std::io::stdin().lock(),
                )
            }))
            .unwrap_or_else(|_| hook::internal_error(harness));
            let _ = std::io::stdout().write_all(reply.stdout.as_bytes());
            let _ = std::io::stderr().write_all(reply.stderr.as_bytes());
            ExitCode::from(reply.exit)
        }
        Cmd::Install {
            harness,
            scope,
            write,
            binary,
            dir,
        } => install_command(harness, scope, write, binary, dir),
        Cmd::Doctor { cwd } => doctor_command(cwd.as_deref()),
        Cmd::Policy { cmd } => policy_command(cmd),
        Cmd::Init { dir, force } => init(dir, force),
        Cmd::Approve { code, list } => approve(code.as_deref(), list),
        Cmd::Session { cmd } => session(cmd),
        Cmd::Audit { cmd } => audit_cmd::run(cmd),
        Cmd::Oracle(args) => oracle_cmd::oracle(&args),
        Cmd::Fuzz(args) => oracle_cmd::fuzz(&args),
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
    if let Err(e) = &s.policy {
        eprintln!("shellgate: error: {e}; every command is denied until the policy loads");
    }
    let (out, us) = decide_command(
        &s,
        &bytes,
        Effects {
            write: !explain,
            approval_codes: true,
        },
    );
    let shown = String::from_utf8_lossy(&bytes);
    let eval = &out.eval;
    let text = match (&s.policy, explain, json) {
        (Ok(p), true, _) => render::explain(eval, p, &shown),
        (Ok(p), false, true) => format!(
            "{}\n",
            render::json(
                eval,
                p,
                &shown,
                us,
                out.source.as_str(),
                out.code.as_deref()
            )
        ),
        (Err(_), _, true) => format!(
            "{}\n",
            serde_json::json!({
                "decision": eval.decision.decision.as_str(),
                "rules": eval.decision.rule_ids(),
                "reason": eval.decision.reason,
                "source": out.source.as_str(),
            })
        ),
        _ => render::text(eval, &shown),
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if let Err(e) = record(
        &mut s,
        if explain { "explain" } else { "check" },
        &shown,
        &out,
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
                    let out = Outcome {
                        eval,
                        source: if s.policy.is_ok() {
                            Source::Policy
                        } else {
                            Source::PolicyError
                        },
                        code: None,
                        warnings: Vec::new(),
                    };
                    if let Err(e) = record(&mut s, "batch", &cmd, &out, us) {
                        return fail(&e, EXIT_ERROR);
                    }
                    let eval = out.eval;
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
    execute(&mut s, &bytes, &[], "run")
}

/// Decides `bytes` and, only on allow, runs `bash -c COMMAND ARGS…` in the
/// sandbox, recording the decision first. Returns the command's exit
/// status, [`EXIT_REFUSED`] with the reason on stderr, or
/// [`EXIT_RUN_ERROR`] when shellgate or the sandbox failed.
fn execute(s: &mut Setup, bytes: &[u8], args: &[OsString], mode: &str) -> ExitCode {
    if let Err(e) = &s.policy {
        eprintln!("shellgate: error: {e}; every command is denied until the policy loads");
    }
    // A command that may be run with network gets its network namespace
    // made now, by a helper process, while it is decided (netns.rs in the
    // sandbox crate); a decision other than allow drops it unused. When it
    // cannot start (no user namespaces, which `start` checks itself), the
    // sandbox tries again or the run goes without network, as below.
    let prepared = match &s.policy {
        Ok(policy) if run_env::network(policy).is_some() => {
            shellgate_sandbox::PreparedNetwork::start().ok()
        }
        _ => None,
    };
    let (out, us) = decide_command(
        s,
        bytes,
        Effects {
            write: true,
            approval_codes: true,
        },
    );
    let shown = String::from_utf8_lossy(bytes).into_owned();
    if out.eval.decision.decision != Verdict::Allow {
        let _ = record(s, mode, &shown, &out, us);
        eprint!(
            "shellgate: refused ({}): {}",
            out.eval.decision.decision.as_str(),
            render::text(&out.eval, &shown)
                .split_once(": ")
                .map(|x| x.1)
                .unwrap_or("")
        );
        return ExitCode::from(EXIT_REFUSED);
    }
    // What runs is exactly what was judged: never a lossy decoding.
    let Ok(command) = std::str::from_utf8(bytes) else {
        let _ = record(s, mode, &shown, &out, us);
        return fail(
            "the command is not valid UTF-8; shellgate runs only commands it can pass to bash unchanged",
            EXIT_RUN_ERROR,
        );
    };
    // The decision is on record before the command can do anything.
    let decision_id = match record(s, mode, &shown, &out, us) {
        Ok(id) => id,
        Err(e) => {
            return fail(
                &format!("{e}; not running the command without an audit record"),
                EXIT_RUN_ERROR,
            )
        }
    };
    let eval = out.eval;
    let caps = shellgate_sandbox::probe();
    if let Err(e) = caps.check() {
        return fail(&format!("{e}"), EXIT_RUN_ERROR);
    }
    let mut config = shellgate_sandbox::SandboxConfig::new(&eval.project_root);
    let pass: &[String] = match &s.policy {
        Ok(p) => &p.sandbox_pass_env,
        Err(_) => &[],
    };
    config.env_remove = run_env::withheld(std::env::vars_os(), pass);
    // Removed (when still empty) when this function returns, after the run.
    let mut _placeholders = run_env::Placeholders::default();
    let mut absent = Vec::new();
    if let Ok(policy) = &s.policy {
        let protected = match run_env::protected_paths(
            policy,
            &eval.project_root,
            s.home.as_deref(),
            caps.private_root(),
        ) {
            Ok(protected) => protected,
            Err(e) => return fail(&format!("{e}. The command was not run"), EXIT_RUN_ERROR),
        };
        config.pinned = protected.pinned;
        config.read_only = protected.read_only;
        config.hidden = protected.hidden;
        _placeholders = protected.placeholders;
        absent = protected.absent;
        config.network = run_env::network(policy);
    }
    if config.network.is_some() && !caps.user_namespaces {
        eprintln!(
            "shellgate: warning: {}. Running the command without network.",
            shellgate_sandbox::SandboxError::UserNamespacesUnavailable
        );
        config.network = None;
    }
    let withheld: Vec<String> = config
        .env_remove
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let started = Instant::now();
    let result = shellgate_sandbox::run_prepared(
        &config,
        prepared,
        command,
        args,
        Path::new(&s.cwd),
        shellgate_sandbox::ChildStdio::inherit(),
    );
    // Everything the command started has ended (the reaper): what it left
    // for git to follow out of the repository is moved aside now.
    let quarantined: Vec<String> = run_env::quarantine(&absent)
        .into_iter()
        .map(|(line, moved)| {
            if moved {
                eprintln!(
                    "shellgate: warning: the command made a file git would follow out of the \
                     repository (to configuration and hooks it controls); moved aside: {line}"
                );
            } else {
                eprintln!(
                    "shellgate: error: the command made a file git would follow out of the \
                     repository (to configuration and hooks it controls), and it could not be \
                     moved aside ({line}); remove it before running git here"
                );
            }
            line
        })
        .collect();
    match result {
        Ok(report) => {
            let status = report.status;
            let refused = report
                .refused
                .into_iter()
                .map(|r| format!("{}: {}", r.destination, r.reason))
                .collect();
            record_exit(
                s,
                mode,
                &shown,
                decision_id,
                &status,
                started,
                (withheld, refused, quarantined),
            );
            let code = shellgate_sandbox::exit_code(&status);
            ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
        }
        Err(e) => fail(&format!("{e}"), EXIT_RUN_ERROR),
    }
}

/// Appends the `exit` record of a command that ran. The command has
/// already run, so a failure to record is a warning, not a change of its
/// exit status.
fn record_exit(
    s: &mut Setup,
    mode: &str,
    command: &str,
    decision_id: String,
    status: &std::process::ExitStatus,
    started: Instant,
    (withheld_env, network_refused, quarantined): (Vec<String>, Vec<String>, Vec<String>),
) {
    use std::os::unix::process::ExitStatusExt;
    let mut r = s.record(audit::Event::Exit, mode, command);
    r.decision_id = Some(decision_id);
    r.exit_status = status.code();
    r.signal = status.signal();
    r.run_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    r.withheld_env = withheld_env;
    r.network_refused = network_refused;
    r.quarantined = quarantined;
    if let Err(e) = s.audit.append(&mut r) {
        eprintln!("shellgate: warning: the command ran, but its exit was not recorded: {e}");
    }
}

/// `shellgate -c COMMAND [NAME [ARGS…]]`: decide, then run sandboxed like
/// `shellgate run`, in the current directory; same exit statuses.
fn shell_mode(argv: &[OsString]) -> ExitCode {
    let parsed = match shell::parse(argv) {
        Ok(p) => p,
        Err(e) => return fail(&e, EXIT_RUN_ERROR),
    };
    let (script, args) = match parsed.script() {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_RUN_ERROR),
    };
    let mut s = match setup_with(SetupArgs::default()) {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_RUN_ERROR),
    };
    execute(&mut s, script.as_bytes(), &args, "shell")
}

fn policy_command(cmd: PolicyCmd) -> ExitCode {
    match cmd {
        PolicyCmd::Defaults => {
            print!("{}", policy_cmd::defaults_text());
            ExitCode::SUCCESS
        }
        PolicyCmd::Schema => {
            print!("{}", policy_cmd::schema());
            ExitCode::SUCCESS
        }
        PolicyCmd::Show { locate, json } => {
            let cwd = match resolve_cwd(locate.cwd.as_deref()) {
                Ok(c) => c,
                Err(e) => return fail(&e, EXIT_ERROR),
            };
            match Policy::discover(&discovery(&cwd, locate.policy.as_deref())) {
                Ok(p) if json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&policy_cmd::show_json(&p))
                            .unwrap_or_default()
                    );
                    ExitCode::SUCCESS
                }
                Ok(p) => {
                    print!("{}", policy_cmd::show_text(&p));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string(), EXIT_ERROR),
            }
        }
        PolicyCmd::Check { file, locate, json } => {
            let cwd = match resolve_cwd(locate.cwd.as_deref()) {
                Ok(c) => c,
                Err(e) => return fail(&e, EXIT_ERROR),
            };
            let diags =
                policy_cmd::check(file.as_deref(), &discovery(&cwd, locate.policy.as_deref()));
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&diags).unwrap_or_default()
                );
            } else if diags.is_empty() {
                println!("policy ok: no errors or warnings");
            } else {
                for d in &diags {
                    println!("{d}");
                }
            }
            use shellgate_rules::policy::lint::Level;
            if diags.iter().any(|d| d.level == Level::Error) {
                ExitCode::from(EXIT_ERROR)
            } else if diags.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The project root: `dir`, else the git top level, else the current
/// directory; canonicalised when it exists.
fn project_dir(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    let root = match dir {
        Some(d) => d,
        None => {
            let top = std::process::Command::new("git")
                .args(["rev-parse", "--show-toplevel"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
            top.or_else(|| std::env::current_dir().ok())
                .ok_or("cannot tell the project root; pass --dir")?
        }
    };
    Ok(root.canonicalize().unwrap_or(root))
}

fn init(dir: Option<PathBuf>, force: bool) -> ExitCode {
    let root = match project_dir(dir) {
        Ok(r) => r,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    match policy_cmd::init(&root, force) {
        Ok(path) => {
            println!(
                "wrote {}; review it, then run `shellgate policy check`",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, EXIT_ERROR),
    }
}

fn install_command(
    harness: hook::Harness,
    scope: install::Scope,
    write: bool,
    binary: Option<PathBuf>,
    dir: Option<PathBuf>,
) -> ExitCode {
    let binary = match binary.map(Ok).unwrap_or_else(std::env::current_exe) {
        Ok(b) => b.canonicalize().unwrap_or(b),
        Err(e) => {
            return fail(
                &format!("cannot tell where shellgate is ({e}); pass --binary"),
                EXIT_ERROR,
            )
        }
    };
    let home = match env_path("HOME") {
        Some(h) => h,
        None if scope == install::Scope::User => {
            return fail(
                "HOME is not set; pass --scope project or set HOME",
                EXIT_ERROR,
            )
        }
        None => PathBuf::new(),
    };
    let project = match scope {
        install::Scope::Project => match project_dir(dir) {
            Ok(p) => p,
            Err(e) => return fail(&e, EXIT_ERROR),
        },
        install::Scope::User => PathBuf::new(),
    };
    let path = install::settings_path(harness, scope, &home, &project);
    let command = install::hook_command(&binary, harness);
    let snippet =
        serde_json::to_string_pretty(&install::snippet(harness, &command)).unwrap_or_default();
    if !write {
        println!("# {}: add to {}", harness.name(), path.display());
        println!("{snippet}");
        println!(
            "# or run: shellgate install {} --scope {} --write",
            harness.name(),
            if scope == install::Scope::User {
                "user"
            } else {
                "project"
            }
        );
        println!("# {}", install::next_steps(harness));
        return ExitCode::SUCCESS;
    }
    match install::write(harness, &path, &command) {
        Ok(w) => {
            match &w.backup {
                Some(b) => println!(
                    "updated {} (previous version in {})",
                    w.path.display(),
                    b.display()
                ),
                None => println!("created {}", w.path.display()),
            }
            println!("{}", install::next_steps(harness));
            println!("Check it with `shellgate doctor`.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("shellgate: error: {e}");
            println!("{snippet}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn doctor_command(cwd: Option<&Path>) -> ExitCode {
    let cwd = match resolve_cwd(cwd) {
        Ok(c) => c,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    let checks = doctor::run(&cwd, env_path("HOME").as_deref());
    for c in &checks {
        let tag = match c.level {
            doctor::Level::Ok => "ok  ",
            doctor::Level::Warn => "warn",
            doctor::Level::Error => "FAIL",
        };
        println!("{tag}  {}: {}", c.subject, c.detail);
    }
    match checks.iter().map(|c| c.level).max() {
        Some(doctor::Level::Error) => ExitCode::from(EXIT_ERROR),
        Some(doctor::Level::Warn) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// Asks `question` on the controlling terminal; true on `y`/`yes`. Fails
/// without a terminal: approvals are for a person, not for the agent.
fn confirm_on_tty(question: &str) -> Result<bool, String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("no terminal to confirm on ({e}); run this yourself in a terminal"))?;
    let mut w = &tty;
    write!(w, "{question} [y/N] ").map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn open_state() -> Result<state::State, String> {
    let dir = state::default_dir()
        .ok_or_else(|| format!("no state directory: set {} or HOME", state::ENV_VAR))?;
    state::State::open(&dir)
}

fn approve(code: Option<&str>, list: bool) -> ExitCode {
    let st = match open_state() {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    if list {
        match st.list() {
            Ok(all) => {
                if all.is_empty() {
                    println!("no pending approvals");
                }
                for a in all {
                    let left = a.expires.saturating_sub(state::now_secs());
                    println!(
                        "{}  {}  {left}s left  in {}  `{}`",
                        a.code,
                        if a.approved_at.is_some() {
                            "approved"
                        } else {
                            "pending "
                        },
                        state::printable(&a.cwd),
                        state::printable(&a.command)
                    );
                }
                return ExitCode::SUCCESS;
            }
            Err(e) => return fail(&e, EXIT_ERROR),
        }
    }
    let code = code.unwrap_or_default();
    let pending = match st.pending(code) {
        Ok(Some(a)) => a,
        Ok(None) => {
            return fail(
                &format!("no pending approval with code {}: it may have expired or been used; ask the agent to run the command again for a new code", state::normalize_code(code)),
                EXIT_ERROR,
            )
        }
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    // No lock is held while the user reads the prompt.
    drop(st);
    let question = format!(
        "Run this command once, in {}?\n\n  {}\n\nRefused because: {}\nApprove",
        state::printable(&pending.cwd),
        state::printable(&pending.command),
        state::printable(&pending.reason)
    );
    match confirm_on_tty(&question) {
        Ok(true) => match open_state().and_then(|st| st.approve(&pending.code)) {
            Ok(a) => {
                record_answer(&pending, true);
                println!(
                    "approved {} once (valid {} s); the agent can run it now",
                    a.code, a.ttl
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, EXIT_ERROR),
        },
        Ok(false) => {
            record_answer(&pending, false);
            fail("not approved", EXIT_ERROR)
        }
        Err(e) => fail(&e, EXIT_ERROR),
    }
}

/// Appends the `approval` record of the user's answer to a refusal. The
/// answer already took effect, so a failure is a warning.
fn record_answer(pending: &state::Approval, approved: bool) {
    let result = audit::AuditLog::open_default(None).and_then(|mut log| {
        let mut r = audit::Record::new(audit::Event::Approval, "approve");
        r.session = pending.session.clone();
        r.cwd = pending.cwd.clone();
        r.command = pending.command.clone();
        r.reason = pending.reason.clone();
        r.source = "user".into();
        r.approval_code = Some(pending.code.clone());
        r.approved = Some(approved);
        log.append(&mut r)
    });
    if let Err(e) = result {
        eprintln!("shellgate: warning: your answer was not recorded in the audit log: {e}");
    }
}

fn session(cmd: SessionCmd) -> ExitCode {
    let st = match open_state() {
        Ok(s) => s,
        Err(e) => return fail(&e, EXIT_ERROR),
    };
    match cmd {
        SessionCmd::Show => match st.ended_sessions() {
            Ok(all) => {
                if all.is_empty() {
                    println!("no session has lost its autonomy");
                }
                for (id, e) in all {
                    println!(
                        "{}: ended by `{}` on `{}` at {}",
                        state::printable(&id),
                        e.rule,
                        state::printable(&e.command),
                        e.at
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, EXIT_ERROR),
        },
        SessionCmd::Reset { session } => {
            let what = session
                .as_deref()
                .map(|s| format!("session {s}"))
                .unwrap_or_else(|| "every session".into());
            drop(st);
            match confirm_on_tty(&format!(
                "Give {} its autonomy back?",
                state::printable(&what)
            )) {
                Ok(true) => match open_state().and_then(|st| st.reset(session.as_deref())) {
                    Ok(n) => {
                        println!("reset {n} session(s)");
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(&e, EXIT_ERROR),
                },
                Ok(false) => fail("not reset", EXIT_ERROR),
                Err(e) => fail(&e, EXIT_ERROR),
            }
        }
    }
}
