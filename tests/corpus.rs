//! Grades shellgate on the shared corpora:
//! * `corpora/dev-labelled.jsonl` under `eval-policy.toml` (HOME=/home/dev,
//!   cwd /home/dev/project): no `deny` item may be allowed, and at least
//!   90% of `allow` items must be allowed. The score table is printed.
//! * every line of `corpora/real/*.txt` is judged without a crash; the
//!   number of unparseable lines is printed.

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

#[test]
fn real_world_commands_parse_without_crashing() {
    let shared = common::shared();
    let dir = tempfile::tempdir().unwrap();
    for name in ["nl2bash.txt", "tldr.txt"] {
        let text = std::fs::read_to_string(shared.join("corpora/real").join(name)).unwrap();
        let mut batch = String::new();
        let mut count = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            batch.push_str(&serde_json::json!({ "command": line }).to_string());
            batch.push('\n');
            count += 1;
        }
        let input = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&input, batch).unwrap();
        let results = common::batch(&[], &input, &dir.path().join("audit.jsonl"));
        assert_eq!(results.len(), count, "{name}: one result per line");
        let mut by_decision: BTreeMap<String, usize> = BTreeMap::new();
        let mut unparseable = 0;
        for r in &results {
            *by_decision
                .entry(r["decision"].as_str().unwrap_or("error").to_string())
                .or_default() += 1;
            let rules: Vec<&str> = r["rules"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            if rules
                .iter()
                .any(|x| *x == "parse.syntax-error" || *x == "input.invalid")
            {
                unparseable += 1;
            }
        }
        report!("{name}: {count} commands, {unparseable} unparseable ({:.2}%), decisions {by_decision:?}", unparseable as f64 * 100.0 / count as f64);
    }
}
