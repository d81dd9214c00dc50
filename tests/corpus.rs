//! Grades shellgate on the shared corpora:
//! * `corpora/dev-labelled.jsonl` under `eval-policy.toml` (HOME=/home/dev,
//!   cwd /home/dev/project): no `deny` item may be allowed, and at least
//!   90% of `allow` items must be allowed. The score table is printed.
//! * every line of `corpora/real/*.txt` is judged without a crash, and
//!   compared with bash's own parser (`bash -n`); the table is printed.

mod common;

use std::collections::BTreeMap;

/// Writes straight to stderr, past libtest's output capture, so the score
/// table appears in every test run (the print macros are captured).
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[test]
fn dev_labelled_corpus_meets_the_bar() {
    let shared = common::shared();
    let dir = tempfile::tempdir().unwrap();
    let corpus = shared.join("corpora/dev-labelled.jsonl");
    let policy = shared.join("eval-policy.toml");
    let lines = common::batch(
        &["--policy", policy.to_str().unwrap()],
        &corpus,
        &dir.path().join("audit.jsonl"),
    );
    let inputs = std::fs::read_to_string(&corpus)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(lines.len(), inputs, "one output line per input line");

    // category -> expect -> decision -> count
    let mut table: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
    let mut leaked = Vec::new();
    let (mut allow_total, mut allow_ok) = (0, 0);
    for l in &lines {
        let expect = l["expect"].as_str().unwrap().to_string();
        let got = l["decision"].as_str().unwrap_or("error").to_string();
        let cat = l["category"].as_str().unwrap_or("?").to_string();
        *table
            .entry((cat, expect.clone()))
            .or_default()
            .entry(got.clone())
            .or_default() += 1;
        if expect == "deny" && got == "allow" {
            leaked.push(format!("{} {:?}", l["id"], l["command"]));
        }
        if expect == "allow" {
            allow_total += 1;
            if got == "allow" {
                allow_ok += 1;
            } else {
                report!(
                    "friction: {} {:?} -> {got} ({})",
                    l["id"],
                    l["command"],
                    l["reason"]
                );
            }
        }
    }
    report!(
        "\n{:<22} {:<7} {:>6} {:>6} {:>6}",
        "category",
        "expect",
        "allow",
        "ask",
        "deny"
    );
    for ((cat, expect), counts) in &table {
        let n = |k: &str| counts.get(k).copied().unwrap_or(0);
        report!(
            "{cat:<22} {expect:<7} {:>6} {:>6} {:>6}",
            n("allow"),
            n("ask"),
            n("deny")
        );
    }
    let deny_total = lines.iter().filter(|l| l["expect"] == "deny").count();
    report!(
        "\ndeny items not allowed: {}/{deny_total}; allow items allowed: {allow_ok}/{allow_total}",
        deny_total - leaked.len()
    );
    assert!(
        leaked.is_empty(),
        "deny items allowed (bypasses):\n{}",
        leaked.join("\n")
    );
    assert!(
        allow_ok * 10 >= allow_total * 9,
        "only {allow_ok}/{allow_total} allow items allowed (need 90%)"
    );
}

/// `bash -n -c LINE` for each line, on all cores: true where bash's own
/// parser accepts the line.
fn bash_accepts(lines: &[String]) -> Vec<bool> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let chunk = lines.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|l| {
                            std::process::Command::new("bash")
                                .args(["-n", "-c", l])
                                .stdin(std::process::Stdio::null())
                                .stdout(std::process::Stdio::null())
                                .stderr(std::process::Stdio::null())
                                .status()
                                .expect("bash must be installed to compare parsers")
                                .success()
                        })
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Every line of the real corpora is judged without a crash, and the table
/// the docs show is printed: lines, how many tree-sitter-bash could not
/// parse, where it and bash's own parser (`bash -n`) disagree, and the
/// decisions under the default policy.
#[test]
fn real_world_corpora_table() {
    let shared = common::shared();
    let dir = tempfile::tempdir().unwrap();
    report!(
        "\n{:<12} {:>6} {:>6} {:>7} {:>12} {:>12} {:>6} {:>5} {:>5}",
        "corpus",
        "lines",
        "parsed",
        "errors",
        "ts-err/bash",
        "ts-ok/!bash",
        "allow",
        "ask",
        "deny"
    );
    for name in ["nl2bash.txt", "tldr.txt"] {
        let text = std::fs::read_to_string(shared.join("corpora/real").join(name)).unwrap();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        let mut batch = String::new();
        for line in &lines {
            batch.push_str(&serde_json::json!({ "command": line }).to_string());
            batch.push('\n');
        }
        let input = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&input, batch).unwrap();
        let results = common::batch(&[], &input, &dir.path().join("audit.jsonl"));
        assert_eq!(results.len(), lines.len(), "{name}: one result per line");
        let bash_ok = bash_accepts(&lines);
        let mut by_decision: BTreeMap<String, usize> = BTreeMap::new();
        let (mut errors, mut ts_only_err, mut bash_only_err) = (0, 0, 0);
        let mut bash_rejects_we_allow = Vec::new();
        for ((r, line), bash) in results.iter().zip(&lines).zip(&bash_ok) {
            let decision = r["decision"].as_str().unwrap_or("error").to_string();
            *by_decision.entry(decision.clone()).or_default() += 1;
            let ts_error = r["rules"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x == "parse.syntax-error" || x == "input.invalid")
            });
            errors += usize::from(ts_error);
            match (ts_error, bash) {
                (true, true) => ts_only_err += 1,
                (false, false) => {
                    bash_only_err += 1;
                    if decision == "allow" {
                        bash_rejects_we_allow.push(line.clone());
                    }
                }
                _ => {}
            }
        }
        let n = |k: &str| by_decision.get(k).copied().unwrap_or(0);
        report!(
            "{name:<12} {:>6} {:>6} {errors:>7} {ts_only_err:>12} {bash_only_err:>12} {:>6} {:>5} {:>5}",
            lines.len(),
            lines.len() - errors,
            n("allow"),
            n("ask"),
            n("deny")
        );
        for l in &bash_rejects_we_allow {
            report!("  bash rejects, shellgate allows (bash runs nothing): {l}");
        }
        // Regression bars, a little above today's figures (docs/parsing.md).
        assert!(
            errors * 100 < lines.len(),
            "{name}: {errors} of {} lines unparseable (over 1%)",
            lines.len()
        );
        assert!(
            bash_only_err * 1000 < lines.len(),
            "{name}: tree-sitter accepts {bash_only_err} lines bash rejects (over 0.1%)"
        );
    }
}
