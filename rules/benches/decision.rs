//! Decision latency in process: parse + detect + decide ([`decide`]) for
//! every command of the shared corpora, under `../shared/eval-policy.toml`
//! (cwd `/home/dev/project`, `HOME=/home/dev`, as the corpora are graded).
//!
//! Two parts, one run:
//! 1. **Per-command distribution.** Each command is decided once to warm
//!    up, then timed [`REPEATS`] times; its latency is the median of those.
//!    Printed per corpus and per command-length bucket: commands, median,
//!    p99 and max (µs), and commands per second (commands / sum of their
//!    latencies). With `SHELLGATE_BENCH_JSON=FILE` the same table is also
//!    written as JSON (bench/run.sh reads it for BENCHMARKS.md).
//!    `SHELLGATE_BENCH_CORPORA=nl2bash,dev` limits the run to those
//!    corpora (for profiling one of them).
//! 2. **criterion throughput.** One iteration decides a whole corpus (or a
//!    length bucket of it); criterion reports its time and elements/s.
//!
//! Targets (issue 9): median under 20 µs and p99 under 200 µs per command.
//!
//! Run: `cargo bench -p shellgate-rules --bench decision`
//! (criterion's filter works as usual, e.g. `-- dev`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use shellgate_rules::{decide, Policy};

/// Timed runs per command; its latency is their median.
const REPEATS: usize = 7;
/// The graded environment of the corpora (eval-policy.toml's comment).
const CWD: &str = "/home/dev/project";
const HOME: &str = "/home/dev";
/// Upper bounds (exclusive, bytes) of the command-length buckets.
const BUCKETS: [(usize, &str); 4] = [
    (32, "< 32 B"),
    (64, "32-63 B"),
    (128, "64-127 B"),
    (usize::MAX, ">= 128 B"),
];

struct Corpus {
    name: &'static str,
    commands: Vec<String>,
}

/// The shared corpora: `$SHARED` (as `bench/run.sh` takes it), else
/// `../shared` beside the repository.
fn shared() -> PathBuf {
    let p = std::env::var_os("SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    if !p.join("eval-policy.toml").exists() {
        eprintln!(
            "decision bench: expected the shared corpora at {} (set SHARED, or put them at ../shared beside the repository)",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("decision bench: cannot read {}: {e}", path.display());
        std::process::exit(2)
    })
}

fn corpora(shared: &Path) -> Vec<Corpus> {
    let dev = read(&shared.join("corpora/dev-labelled.jsonl"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("dev corpus line is JSON");
            v["command"].as_str().expect("command field").to_string()
        })
        .collect();
    let lines = |file: &str| {
        read(&shared.join("corpora/real").join(file))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    vec![
        Corpus {
            name: "dev",
            commands: dev,
        },
        Corpus {
            name: "nl2bash",
            commands: lines("nl2bash.txt"),
        },
        Corpus {
            name: "tldr",
            commands: lines("tldr.txt"),
        },
    ]
}

fn bucket_of(len: usize) -> usize {
    BUCKETS
        .iter()
        .position(|(end, _)| len < *end)
        .expect("last bucket is unbounded")
}

/// The latency of one command: the median of [`REPEATS`] timed decisions
/// after one untimed one.
fn latency(policy: &Policy, command: &str) -> Duration {
    black_box(decide(policy, command, CWD, Some(HOME)));
    let mut runs = [Duration::ZERO; REPEATS];
    for r in &mut runs {
        let start = Instant::now();
        black_box(decide(policy, black_box(command), CWD, Some(HOME)));
        *r = start.elapsed();
    }
    runs.sort_unstable();
    runs[REPEATS / 2]
}

/// One row of the distribution table.
#[derive(serde::Serialize)]
struct Row {
    corpus: &'static str,
    length: &'static str,
    commands: usize,
    median_us: f64,
    p99_us: f64,
    max_us: f64,
    commands_per_s: f64,
}

fn row(corpus: &'static str, length: &'static str, mut lat: Vec<Duration>) -> Option<Row> {
    if lat.is_empty() {
        return None;
    }
    lat.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    // Nearest-rank percentile.
    let rank = |p: f64| lat[((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1];
    let total: Duration = lat.iter().sum();
    Some(Row {
        corpus,
        length,
        commands: lat.len(),
        median_us: us(rank(0.5)),
        p99_us: us(rank(0.99)),
        max_us: us(*lat.last().expect("not empty")),
        commands_per_s: lat.len() as f64 / total.as_secs_f64(),
    })
}

/// Commands listed per corpus as the slowest, to show where time goes.
const SLOWEST: usize = 3;

fn distribution(policy: &Policy, corpora: &[Corpus]) -> Vec<Row> {
    let mut rows = Vec::new();
    for c in corpora {
        let mut all = Vec::with_capacity(c.commands.len());
        let mut by_len: Vec<Vec<Duration>> = vec![Vec::new(); BUCKETS.len()];
        for cmd in &c.commands {
            let l = latency(policy, cmd);
            all.push(l);
            by_len[bucket_of(cmd.len())].push(l);
        }
        let mut slow: Vec<(Duration, &str)> = all
            .iter()
            .copied()
            .zip(c.commands.iter().map(String::as_str))
            .collect();
        slow.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
        for (d, cmd) in slow.iter().take(SLOWEST) {
            let shown: String = cmd.chars().take(100).collect();
            println!(
                "slowest in {}: {:>9.1} µs  {shown}",
                c.name,
                d.as_secs_f64() * 1e6
            );
        }
        rows.extend(row(c.name, "all", all));
        for (i, lat) in by_len.into_iter().enumerate() {
            rows.extend(row(c.name, BUCKETS[i].1, lat));
        }
    }
    rows
}

fn print_rows(rows: &[Row]) {
    println!(
        "\nper-command decision latency (median of {REPEATS} runs each)\n{:<8} {:<9} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "corpus", "length", "commands", "median µs", "p99 µs", "max µs", "commands/s"
    );
    for r in rows {
        println!(
            "{:<8} {:<9} {:>8} {:>10.1} {:>10.1} {:>10.1} {:>12.0}",
            r.corpus, r.length, r.commands, r.median_us, r.p99_us, r.max_us, r.commands_per_s
        );
    }
    println!();
}

fn throughput(c: &mut Criterion, policy: &Policy, corpora: &[Corpus]) {
    let mut g = c.benchmark_group("decide");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for corpus in corpora {
        g.throughput(Throughput::Elements(corpus.commands.len() as u64));
        g.bench_function(BenchmarkId::new("corpus", corpus.name), |b| {
            b.iter(|| {
                for cmd in &corpus.commands {
                    black_box(decide(policy, cmd, CWD, Some(HOME)));
                }
            })
        });
    }
    // The real corpora together, split by command length.
    let real: Vec<&str> = corpora
        .iter()
        .filter(|c| c.name != "dev")
        .flat_map(|c| c.commands.iter().map(String::as_str))
        .collect();
    for (i, (_, label)) in BUCKETS.iter().enumerate() {
        let bucket: Vec<&str> = real
            .iter()
            .copied()
            .filter(|c| bucket_of(c.len()) == i)
            .collect();
        g.throughput(Throughput::Elements(bucket.len() as u64));
        g.bench_function(BenchmarkId::new("length", label), |b| {
            b.iter(|| {
                for cmd in &bucket {
                    black_box(decide(policy, cmd, CWD, Some(HOME)));
                }
            })
        });
    }
    g.finish();
}

fn main() {
    let shared = shared();
    let policy = Policy::load(&shared.join("eval-policy.toml")).unwrap_or_else(|e| {
        eprintln!("decision bench: eval-policy.toml does not load: {e}");
        std::process::exit(2)
    });
    let mut corpora = corpora(&shared);
    if let Ok(only) = std::env::var("SHELLGATE_BENCH_CORPORA") {
        corpora.retain(|c| only.split(',').any(|n| n.trim() == c.name));
    }
    let mut c = Criterion::default().configure_from_args();
    // Run as a test (`cargo test --bench decision`, which does not pass
    // `--bench`, or `cargo bench -- --test`), criterion runs each bench
    // once by itself; the distribution is skipped.
    let smoke =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    if !smoke {
        let rows = distribution(&policy, &corpora);
        print_rows(&rows);
        if let Some(path) = std::env::var_os("SHELLGATE_BENCH_JSON") {
            let json = serde_json::to_string_pretty(&rows).expect("rows serialize");
            if let Err(e) = std::fs::write(&path, json) {
                eprintln!("decision bench: cannot write {path:?}: {e}");
                std::process::exit(2);
            }
        }
    }
    throughput(&mut c, &policy, &corpora);
    c.final_summary();
}
