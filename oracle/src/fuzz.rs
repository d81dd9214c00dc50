//! The differential fuzzer: shellgate's verdict against the oracle's truth.
//!
//! Seeds are the labelled corpus's commands. Each variant is one to three
//! [`mutate`](crate::mutate) rewrites of a seed. shellgate judges it in
//! process (microseconds); only a variant shellgate **allows** is run in
//! the oracle (about 0.1 s), and if the oracle shows it did harm, it is a
//! bypass: minimised (rewrite steps dropped, then words deleted, while it
//! stays allowed and harmful), reported, and appended to a regression file.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use shellgate_rules::{decide, Policy, Verdict};

use crate::mutate::{mutate_once, Rng};
use crate::{Harm, Oracle, OracleError};

/// One labelled command (a line of `dev-labelled.jsonl`).
#[derive(Clone, Debug, Deserialize)]
pub struct Seed {
    /// The command.
    pub command: String,
    /// `allow` or `deny`.
    pub expect: String,
    /// The corpus's category (`rm-rf`, `benign` …).
    #[serde(default)]
    pub category: String,
    /// The corpus's id.
    #[serde(default)]
    pub id: String,
}

/// Reads a JSONL corpus; lines that are not JSON objects with `command`
/// and `expect` are errors naming the line.
///
/// # Errors
/// The line number and what is wrong with it.
pub fn load_corpus(text: &str) -> Result<Vec<Seed>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// A variant shellgate allows and the oracle shows did harm.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bypass {
    /// The minimised command.
    pub command: String,
    /// The harms the oracle saw.
    pub harms: Vec<Harm>,
    /// The oracle's lines for it.
    pub findings: Vec<String>,
    /// The seed it came from (corpus id).
    pub seed: String,
    /// The rewrites applied, in order.
    pub mutations: Vec<String>,
}

/// Limits and the environment of a fuzzing run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many variants (whichever comes first).
    pub max_variants: u64,
    /// The random seed (a run is reproducible given the same seed,
    /// corpus, policy and shellgate).
    pub seed: u64,
    /// The working directory commands are judged from.
    pub cwd: String,
    /// `$HOME` for the judgement.
    pub home: String,
    /// Most oracle runs spent minimising one bypass.
    pub minimize_budget: u32,
}

/// Counters of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Labelled `deny` seeds, and of those the oracle saw harm in.
    pub deny_seeds: u64,
    /// See [`Stats::deny_seeds`].
    pub deny_seeds_harmful: u64,
    /// Labelled `allow` seeds, and of those the oracle saw harm in.
    pub allow_seeds: u64,
    /// See [`Stats::allow_seeds`].
    pub allow_seeds_harmful: u64,
    /// Variants made.
    pub variants: u64,
    /// Variants shellgate allowed.
    pub allowed: u64,
    /// Oracle runs (seeds, allowed variants, minimisation).
    pub oracle_runs: u64,
    /// Distinct bypasses found.
    pub bypasses: u64,
    /// Oracle runs that failed (the command left no trace); skipped.
    pub oracle_errors: u64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Runs the differential fuzzer; `on_bypass` gets each new bypass as it
/// is found, `on_seed` each seed whose label the oracle disagrees with,
/// `on_progress` the counters once a minute.
///
/// # Errors
/// An oracle failure (the jail could not run a command).
pub fn run(
    oracle: &Oracle,
    policy: &Policy,
    seeds: &[Seed],
    opts: &Options,
    mut on_bypass: impl FnMut(&Bypass),
    mut on_seed: impl FnMut(&Seed, &[Harm]),
    mut on_progress: impl FnMut(&Stats),
) -> Result<Stats, OracleError> {
    let start = Instant::now();
    let mut stats = Stats::default();
    let allowed = |cmd: &str| {
        decide(policy, cmd, &opts.cwd, Some(&opts.home))
            .decision
            .decision
            == Verdict::Allow
    };
    // The seeds themselves: how far the oracle agrees with the labels.
    let mut harmful_seeds = Vec::new();
    for s in seeds {
        let Some(obs) = observe(oracle, &s.command, &mut stats)? else {
            harmful_seeds.push(false);
            continue;
        };
        let harmful = obs.verdict.dangerous();
        if s.expect == "deny" {
            stats.deny_seeds += 1;
            stats.deny_seeds_harmful += u64::from(harmful);
        } else {
            stats.allow_seeds += 1;
            stats.allow_seeds_harmful += u64::from(harmful);
        }
        if harmful != (s.expect == "deny") {
            on_seed(s, &obs.verdict.harms);
        }
        if harmful && allowed(&s.command) {
            let b = Bypass {
                command: s.command.clone(),
                harms: obs.verdict.harms.clone(),
                findings: obs
                    .verdict
                    .findings
                    .iter()
                    .map(|f| f.what.clone())
                    .collect(),
                seed: s.id.clone(),
                mutations: Vec::new(),
            };
            stats.bypasses += 1;
            on_bypass(&b);
        }
        harmful_seeds.push(harmful);
    }
    let mut rng = Rng::with_seed(opts.seed);
    let mut seen: HashSet<String> = HashSet::new();
    // Mutating a harmful seed is where bypasses are; harmless ones are
    // mutated too, a fifth of the time.
    let harmful: Vec<usize> = (0..seeds.len()).filter(|&i| harmful_seeds[i]).collect();
    let all: Vec<usize> = (0..seeds.len()).collect();
    let mut last_report = Instant::now();
    while start.elapsed() < opts.duration && stats.variants < opts.max_variants && !seeds.is_empty()
    {
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = Instant::now();
            stats.seconds = start.elapsed().as_secs_f64();
            on_progress(&stats);
        }
        let pool = if harmful.is_empty() || rng.usize(0..5) == 0 {
            &all
        } else {
            &harmful
        };
        let seed = &seeds[pool[rng.usize(0..pool.len())]];
        let mut stages = vec![(seed.command.clone(), "")];
        let other = &seeds[all[rng.usize(0..all.len())]].command;
        for _ in 0..rng.usize(1..=3) {
            let cur = &stages.last().expect("starts with the seed").0;
            if let Some((next, name)) = mutate_once(cur, Some(other), &mut rng) {
                stages.push((next, name));
            }
        }
        let variant = stages.last().expect("starts with the seed").0.clone();
        stats.variants += 1;
        if !allowed(&variant) || !seen.insert(variant.clone()) {
            continue;
        }
        stats.allowed += 1;
        let Some(obs) = observe(oracle, &variant, &mut stats)? else {
            continue;
        };
        if !obs.verdict.dangerous() {
            continue;
        }
        let harms = obs.verdict.harms.clone();
        let (command, findings, steps) =
            minimize(oracle, &allowed, &stages, &harms, opts, &mut stats)?;
        if !seen.insert(format!("\0minimal\0{command}")) {
            continue;
        }
        let b = Bypass {
            command,
            harms,
            findings,
            seed: seed.id.clone(),
            mutations: steps.into_iter().map(String::from).collect(),
        };
        stats.bypasses += 1;
        on_bypass(&b);
    }
    stats.seconds = start.elapsed().as_secs_f64();
    Ok(stats)
}

/// One oracle run, counted. A run that fails is skipped (`None`) unless
/// failures are most of the runs so far, which means the jail itself does
/// not work here: then the error is returned.
fn observe(
    oracle: &Oracle,
    cmd: &str,
    stats: &mut Stats,
) -> Result<Option<crate::Observation>, OracleError> {
    stats.oracle_runs += 1;
    match oracle.observe(cmd) {
        Ok(o) => Ok(Some(o)),
        Err(e) => {
            stats.oracle_errors += 1;
            if stats.oracle_errors >= 5 && stats.oracle_errors * 2 > stats.oracle_runs {
                return Err(e);
            }
            Ok(None)
        }
    }
}

type Minimal = (String, Vec<String>, Vec<&'static str>);

/// The smallest form found of a bypass: first the fewest rewrite steps
/// (each suffix of the chain re-applied is not possible, so each earlier
/// stage is tried), then whole words deleted one at a time while the
/// result stays allowed and shows one of `harms`.
fn minimize(
    oracle: &Oracle,
    allowed: &impl Fn(&str) -> bool,
    stages: &[(String, &'static str)],
    harms: &[Harm],
    opts: &Options,
    stats: &mut Stats,
) -> Result<Minimal, OracleError> {
    let mut budget = opts.minimize_budget;
    let still = |cmd: &str,
                 budget: &mut u32,
                 stats: &mut Stats|
     -> Result<Option<Vec<String>>, OracleError> {
        if *budget == 0 || !allowed(cmd) {
            return Ok(None);
        }
        *budget -= 1;
        let Some(obs) = observe(oracle, cmd, stats)? else {
            return Ok(None);
        };
        Ok(obs
            .verdict
            .harms
            .iter()
            .any(|h| harms.contains(h))
            .then(|| {
                obs.verdict
                    .findings
                    .iter()
                    .map(|f| f.what.clone())
                    .collect()
            }))
    };
    let last = stages.len() - 1;
    let mut best = stages[last].0.clone();
    let mut findings = still(&best, &mut budget, stats)?.unwrap_or_default();
    let mut steps: Vec<&'static str> = stages[1..].iter().map(|s| s.1).collect();
    for (k, (cmd, _)) in stages.iter().enumerate().take(last) {
        if let Some(f) = still(cmd, &mut budget, stats)? {
            best = cmd.clone();
            findings = f;
            steps = stages[1..=k].iter().map(|s| s.1).collect();
            break;
        }
    }
    // Delete words (split at single blanks) while it stays a bypass.
    let mut i = 0;
    loop {
        let parts: Vec<&str> = best.split(' ').collect();
        if i >= parts.len() || parts.len() < 2 || budget == 0 {
            break;
        }
        let candidate = parts
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, p)| *p)
            .collect::<Vec<_>>()
            .join(" ");
        match still(&candidate, &mut budget, stats)? {
            Some(f) => {
                best = candidate;
                findings = f;
            }
            None => i += 1,
        }
    }
    Ok((best, findings, steps))
}
