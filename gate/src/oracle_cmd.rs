//! `shellgate oracle` and `shellgate fuzz`: the execution oracle and the
//! differential fuzzer of `shellgate-oracle`, against the policy in force
//! (or `--policy`). docs/oracle.md is the guide for security teams.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use shellgate_oracle::{fuzz, Oracle, Setting};
use shellgate_rules::Policy;

/// Options shared by `oracle` and `fuzz`.
#[derive(Args)]
pub struct OracleCommon {
    /// Policy file: its trusted remotes and project root are the judged
    /// environment (default: the policy in force in the current directory).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// `$HOME` inside the jail (default: /home/dev).
    #[arg(long, value_name = "DIR", default_value = "/home/dev")]
    home: String,
    /// Seconds one run may take before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    timeout: f64,
}

/// `shellgate oracle` arguments.
#[derive(Args)]
pub struct OracleArgs {
    #[command(flatten)]
    common: OracleCommon,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    json: bool,
    /// The command, after `--`. Several words are joined with spaces.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// `shellgate fuzz` arguments.
#[derive(Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    common: OracleCommon,
    /// Labelled corpus (JSON Lines with `command` and `expect`).
    #[arg(long, value_name = "FILE.jsonl")]
    corpus: PathBuf,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    seconds: u64,
    /// Stop after this many variants.
    #[arg(long, value_name = "N", default_value_t = u64::MAX)]
    max_variants: u64,
    /// Random seed (default: from the clock; printed, so a run can be
    /// repeated).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Append each bypass found as a JSON line to FILE (a regression file).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Use only N commands of the corpus, picked with the random seed
    /// (a quicker run; the whole corpus by default).
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// Oracle runs spent minimising one bypass.
    #[arg(long, value_name = "N", default_value_t = 40)]
    minimize_budget: u32,
}

fn load(common: &OracleCommon) -> Result<(Policy, Setting, Duration), String> {
    let policy = match &common.policy {
        Some(p) => Policy::load(p),
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| format!("cannot read the current directory: {e}"))?;
            Policy::discover(&crate::discovery(&cwd.to_string_lossy(), None))
        }
    }
    .map_err(|e| format!("{e}; the oracle needs the policy's trusted remotes"))?;
    if !common.home.starts_with('/') || common.home.len() < 2 {
        return Err(format!(
            "--home {} must be an absolute directory other than /",
            common.home
        ));
    }
    if !(common.timeout > 0.0 && common.timeout <= 600.0) {
        return Err("--timeout must be between 0 and 600 seconds".into());
    }
    let setting = Setting::from_policy(&policy, &common.home);
    Ok((policy, setting, Duration::from_secs_f64(common.timeout)))
}

/// Runs `shellgate oracle`: exit 0 when the command did no harm, 1 when it
/// did, 3 on an error.
pub fn oracle(args: &OracleArgs) -> ExitCode {
    let (_, setting, timeout) = match load(&args.common) {
        Ok(x) => x,
        Err(e) => return crate::fail(&e, crate::EXIT_ERROR),
    };
    let command = args.command.join(" ");
    let obs = match Oracle::new(setting, timeout).and_then(|o| o.observe(&command)) {
        Ok(o) => o,
        Err(e) => return crate::fail(&e.to_string(), crate::EXIT_ERROR),
    };
    let mut out = std::io::stdout().lock();
    let _ = if args.json {
        writeln!(out, "{}", serde_json::to_string(&obs).unwrap_or_default())
    } else {
        let mut text = String::new();
        for f in &obs.verdict.findings {
            text.push_str(&f.what);
            if let Some(h) = f.harm {
                text.push_str(&format!("  [{}]", h.name()));
            }
            text.push('\n');
        }
        if obs.timed_out {
            text.push_str("timed out: killed; what it did until then is above\n");
        }
        let names: Vec<&str> = obs.verdict.harms.iter().map(|h| h.name()).collect();
        text.push_str(&format!(
            "harm: {}\n",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
        write!(out, "{text}")
    };
    ExitCode::from(u8::from(obs.verdict.dangerous()))
}

/// Runs `shellgate fuzz`: exit 0 when no bypass was found, 1 when some
/// were, 3 on an error.
pub fn fuzz(args: &FuzzArgs) -> ExitCode {
    match fuzz_inner(args) {
        Ok(found) => ExitCode::from(u8::from(found)),
        Err(e) => crate::fail(&e, crate::EXIT_ERROR),
    }
}

fn fuzz_inner(args: &FuzzArgs) -> Result<bool, String> {
    let (policy, setting, timeout) = load(&args.common)?;
    let text = std::fs::read_to_string(&args.corpus)
        .map_err(|e| format!("cannot read {}: {e}", args.corpus.display()))?;
    let mut seeds =
        fuzz::load_corpus(&text).map_err(|e| format!("{}: {e}", args.corpus.display()))?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    if let Some(n) = args.sample {
        fastrand::Rng::with_seed(seed).shuffle(&mut seeds);
        seeds.truncate(n);
    }
    let opts = fuzz::Options {
        duration: Duration::from_secs(args.seconds),
        max_variants: args.max_variants,
        seed,
        cwd: setting.project_root.clone(),
        home: setting.home.clone(),
        minimize_budget: args.minimize_budget,
    };
    eprintln!(
        "shellgate fuzz: seed {seed}, {} commands from {}, project {}, {} s",
        seeds.len(),
        args.corpus.display(),
        setting.project_root,
        args.seconds
    );
    let oracle = Oracle::new(setting, timeout).map_err(|e| e.to_string())?;
    let mut save = match &args.save {
        Some(p) => Some(open_append(p)?),
        None => None,
    };
    let mut save_error = None;
    let stats = fuzz::run(
        &oracle,
        &policy,
        &seeds,
        &opts,
        |b| {
            println!("{}", serde_json::to_string(b).unwrap_or_default());
            if let Some(f) = save.as_mut() {
                if let Err(e) = writeln!(f, "{}", serde_json::to_string(b).unwrap_or_default()) {
                    save_error.get_or_insert(e.to_string());
                }
            }
        },
        |s, harms| {
            let names: Vec<&str> = harms.iter().map(|h| h.name()).collect();
            eprintln!(
                "label mismatch: {} `{}` is labelled {}, the oracle saw {}",
                s.id,
                s.command.escape_debug(),
                s.expect,
                if names.is_empty() {
                    "no harm".to_string()
                } else {
                    names.join(", ")
                }
            );
        },
        |stats| {
            eprintln!(
                "progress: {}",
                serde_json::to_string(stats).unwrap_or_default()
            )
        },
    )
    .map_err(|e| e.to_string())?;
    eprintln!("{}", serde_json::to_string(&stats).unwrap_or_default());
    if let Some(e) = save_error {
        return Err(format!("could not append to the regression file: {e}"));
    }
    Ok(stats.bypasses > 0)
}

fn open_append(p: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| format!("cannot open {}: {e}", p.display()))
}
