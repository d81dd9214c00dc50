//! Every bypass the differential fuzzer found (`tests/bypasses.jsonl`, in
//! `shellgate fuzz --save` format): shellgate under the graded policy must
//! no longer allow it, and the oracle must still see the harm (so that the
//! entry stays a real bypass, not noise). Needs `../shared` beside the
//! repository, bubblewrap and strace, like the other oracle tests.

use shellgate_oracle::fuzz::Bypass;
use shellgate_oracle::{Oracle, Setting, DEFAULT_TIMEOUT};
use shellgate_rules::{decide, Policy, Verdict};

fn bypasses() -> Vec<Bypass> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bypasses.jsonl");
    std::fs::read_to_string(path)
        .expect("tests/bypasses.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn policy() -> Policy {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/eval-policy.toml");
    Policy::load(std::path::Path::new(p))
        .expect("../shared/eval-policy.toml beside the repository (CI puts it there)")
}

#[test]
fn found_bypasses_are_no_longer_allowed() {
    let policy = policy();
    let all = bypasses();
    assert!(!all.is_empty());
    let leaks: Vec<&str> = all
        .iter()
        .filter(|b| {
            decide(&policy, &b.command, "/home/dev/project", Some("/home/dev"))
                .decision
                .decision
                == Verdict::Allow
        })
        .map(|b| b.command.as_str())
        .collect();
    assert!(leaks.is_empty(), "allowed again: {leaks:#?}");
}

#[test]
fn found_bypasses_still_do_harm() {
    if std::env::var_os("SHELLGATE_SKIP_ORACLE_TESTS").is_some() {
        eprintln!("skipped: SHELLGATE_SKIP_ORACLE_TESTS is set");
        return;
    }
    let oracle = Oracle::new(
        Setting::from_policy(&policy(), "/home/dev"),
        DEFAULT_TIMEOUT,
    )
    .expect("the oracle's jail (install bubblewrap and strace)");
    let mut noise = Vec::new();
    for b in bypasses() {
        let obs = oracle.observe(&b.command).unwrap();
        if !obs.verdict.harms.iter().any(|h| b.harms.contains(h)) {
            noise.push(format!(
                "{}: expected {:?}, saw {:?}",
                b.command, b.harms, obs.verdict.findings
            ));
        }
    }
    assert!(noise.is_empty(), "{noise:#?}");
}
