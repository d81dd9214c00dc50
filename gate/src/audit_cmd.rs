//! `shellgate audit report|replay|suggest`: the command line over
//! [`crate::audit`]'s readers. Exit status 0, or 3 ([`crate::EXIT_ERROR`])
//! when the log or policy cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use shellgate_rules::{decide_bytes, Policy};

use crate::audit::{self, read, replay, report, suggest};
use crate::{discovery, fail, EXIT_ERROR};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Approval rate overall and per tool, decisions by source and rule,
    /// hard_deny fires, top refused and user-rejected patterns; with
    /// --before/--after, the change between two windows.
    Report {
        #[command(flatten)]
        log: LogArgs,
        /// First window to compare, START..END (either end may be left out).
        #[arg(long, value_name = "A..B", requires = "after")]
        before: Option<String>,
        /// Second window to compare, START..END.
        #[arg(long, value_name = "C..D", requires = "before")]
        after: Option<String>,
        /// Print JSON.
        #[arg(long, conflicts_with = "html")]
        json: bool,
        /// Print a self-contained HTML page with charts.
        #[arg(long)]
        html: bool,
    },
    /// Re-decide every logged command under a candidate policy and show
    /// what would change.
    Replay {
        /// The candidate policy (replaces the user and project layers; the
        /// managed layer still applies, as for `check --policy`).
        #[arg(long, value_name = "NEW.toml")]
        policy: PathBuf,
        #[command(flatten)]
        log: LogArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Propose allow / soft_deny rules from commands users repeatedly
    /// approved or rejected, for a person to review.
    Suggest {
        #[command(flatten)]
        log: LogArgs,
        /// Answers a command pattern needs before a rule is proposed.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
        min: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which log and which part of it.
#[derive(Args)]
pub struct LogArgs {
    /// The audit log (its rotated files LOG.1 … are read too). Default as
    /// for `check`: $SHELLGATE_AUDIT_LOG, else $XDG_STATE_HOME/shellgate/audit.jsonl,
    /// else ~/.local/state/shellgate/audit.jsonl.
    #[arg(long, value_name = "PATH")]
    log: Option<PathBuf>,
    /// Only records from this time on: RFC 3339, a date (UTC) or an age (7d, 24h).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only records before this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

impl LogArgs {
    fn path(&self) -> Result<PathBuf, String> {
        audit::default_path(self.log.as_deref()).ok_or_else(|| {
            format!(
                "no audit log location: pass --log or set {}",
                audit::ENV_VAR
            )
        })
    }

    fn window(&self) -> Result<read::Window, String> {
        let now = read::now();
        let t = |x: &Option<String>| x.as_deref().map(|t| read::parse_time(t, now)).transpose();
        Ok(read::Window {
            since: t(&self.since)?,
            until: t(&self.until)?,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}..{}",
            self.since.as_deref().unwrap_or(""),
            self.until.as_deref().unwrap_or("")
        )
    }
}

fn print(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::SUCCESS
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Runs one `audit` subcommand.
pub fn run(cmd: AuditCmd) -> ExitCode {
    match run_inner(cmd) {
        Ok(text) => print(&text),
        Err(e) => fail(&e, EXIT_ERROR),
    }
}

fn run_inner(cmd: AuditCmd) -> Result<String, String> {
    match cmd {
        AuditCmd::Report {
            log,
            before,
            after,
            json: as_json,
            html,
        } => {
            let window = log.window()?;
            let now = read::now();
            let path = log.path()?;
            let compare = match (&before, &after) {
                (Some(b), Some(a)) => Some((
                    read::Window::parse_range(b, now)?,
                    read::Window::parse_range(a, now)?,
                )),
                _ => None,
            };
            let loaded = read::load(&path, &[])?;
            // Each record's time is parsed once, for all three windows.
            let timed: Vec<(Option<SystemTime>, &audit::Record)> = loaded
                .records
                .iter()
                .map(|r| (read::record_time(r), r))
                .collect();
            let stats = report::stats(within(&timed, window));
            let comparison = compare.map(|(bw, aw)| {
                report::compare(
                    before.as_deref().unwrap_or_default(),
                    report::stats(within(&timed, bw)),
                    after.as_deref().unwrap_or_default(),
                    report::stats(within(&timed, aw)),
                )
            });
            let r = report::Report {
                files: loaded
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect(),
                window: log.describe(),
                bad_lines: loaded.bad_lines,
                stats,
                comparison,
            };
            Ok(if as_json {
                json(&r)
            } else if html {
                report::html(&r)
            } else {
                report::text(&r)
            })
        }
        AuditCmd::Replay {
            policy,
            log,
            json: as_json,
        } => {
            let path = log.path()?;
            let loaded = read::load(&path, &[log.window()?])?;
            let summary = replay_under(&policy, &loaded.records)?;
            Ok(if as_json {
                json(&summary)
            } else {
                replay::text(&summary, &policy.display().to_string())
            })
        }
        AuditCmd::Suggest {
            log,
            min,
            json: as_json,
        } => {
            let path = log.path()?;
            let loaded = read::load(&path, &[log.window()?])?;
            let s = suggest::suggest(&loaded.records, min);
            Ok(if as_json {
                json(&s)
            } else {
                suggest::text(&s, min)
            })
        }
    }
}

/// The records whose time lies in `w`.
fn within<'a>(
    timed: &'a [(Option<SystemTime>, &'a audit::Record)],
    w: read::Window,
) -> impl Iterator<Item = &'a audit::Record> + 'a {
    timed
        .iter()
        .filter(move |(t, _)| t.is_some_and(|t| w.contains(t)))
        .map(|(_, r)| *r)
}

/// Replays `records` under the policy file `candidate`, discovered per
/// logged working directory as `check --policy` would (the managed layer
/// still applies). A policy that does not load is an error, not a
/// replay full of denials.
fn replay_under(candidate: &Path, records: &[audit::Record]) -> Result<replay::Summary, String> {
    let home = std::env::var("HOME").ok().filter(|h| h.starts_with('/'));
    let mut policies: std::collections::HashMap<String, Policy> = std::collections::HashMap::new();
    let mut error: Option<String> = None;
    // Load once up front, from the current directory, so a broken file is
    // reported before any replay.
    let here = crate::resolve_cwd(None)?;
    Policy::discover(&discovery(&here, Some(candidate))).map_err(|e| {
        format!(
            "the candidate policy does not load: {e}; check it with `shellgate policy check {}`",
            candidate.display()
        )
    })?;
    let summary = replay::replay(records, |cwd, command| {
        let cwd = if cwd.starts_with('/') { cwd } else { "/" };
        if !policies.contains_key(cwd) {
            match Policy::discover(&discovery(cwd, Some(candidate))) {
                Ok(p) => {
                    policies.insert(cwd.to_string(), p);
                }
                Err(e) => {
                    error.get_or_insert_with(|| {
                        format!("the candidate policy does not load for {cwd}: {e}")
                    });
                    return replay::Verdict {
                        decision: "deny".into(),
                        rule: "policy.invalid".into(),
                    };
                }
            }
        }
        let policy = &policies[cwd];
        let eval = decide_bytes(policy, command.as_bytes(), cwd, home.as_deref());
        replay::Verdict {
            decision: eval.decision.decision.as_str().into(),
            rule: eval
                .decision
                .findings
                .first()
                .map(|f| f.rule.to_string())
                .unwrap_or_default(),
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}
