//! `shellgate audit report` over a generated log of 100,000 records
//! (tests/support/audit_gen.rs), measured as whole processes: reading,
//! parsing and reporting, as a user runs it. Target (issue 7): under 2 s.
//!
//! Run: `cargo bench -p shellgate --bench audit_report` (BENCHMARKS.md
//! and docs/audit.md give the last results).

#[path = "../../tests/support/audit_gen.rs"]
mod audit_gen;

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn report(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("audit.jsonl");
    let expected = audit_gen::generate(&log, 100_000);
    assert_eq!(
        expected.decisions + expected.user_approved + expected.user_rejected,
        100_000
    );
    let run = |args: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_shellgate"))
            .args(["audit", "report", "--log"])
            .arg(&log)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("run shellgate");
        assert!(status.success());
    };
    let mut g = c.benchmark_group("audit report, 100k records");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function("text", |b| b.iter(|| run(&[])));
    g.bench_function("json with before/after", |b| {
        b.iter(|| {
            run(&[
                "--json",
                "--before",
                "2026-10-01..2026-10-16",
                "--after",
                "2026-10-16..",
            ])
        })
    });
    g.bench_function("html", |b| b.iter(|| run(&["--html"])));
    g.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
