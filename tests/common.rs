//! Helpers shared by the integration tests: the binary, the shared corpora.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The `shellgate` binary built by cargo for these tests, isolated from
/// this machine's policies: no managed policy (unless a test sets
/// `SHELLGATE_MANAGED_POLICY`), no user configuration or state from the
/// environment.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shellgate"));
    c.env(
        "SHELLGATE_MANAGED_POLICY",
        "/nonexistent/shellgate/managed.toml",
    )
    .env_remove("XDG_CONFIG_HOME")
    .env_remove("XDG_STATE_HOME")
    .env_remove("SHELLGATE_STATE_DIR")
    .env_remove("SHELLGATE_SESSION")
    .env_remove("SHELLGATE_REQUIRE_MANAGED")
    .env_remove("SHELLGATE_AUDIT_MAX_BYTES")
    .env_remove("SHELLGATE_AUDIT_KEEP");
    // No telemetry from the machine running the tests.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OTEL_") {
            c.env_remove(k);
        }
    }
    c
}

/// `../shared` beside the repository (CI places it there).
pub fn shared() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    assert!(
        p.join("eval-policy.toml").exists(),
        "expected the shared corpora at {} (CI puts ../shared beside the repository)",
        p.display()
    );
    p
}

/// Runs the binary with `args`, feeding `stdin`, with an audit log in a temp dir.
pub fn run(args: &[&str], stdin: &[u8], audit: &std::path::Path) -> Output {
    use std::io::Write;
    let mut child = bin()
        .args(args)
        .env("SHELLGATE_AUDIT_LOG", audit)
        .env(
            "SHELLGATE_STATE_DIR",
            audit
                .parent()
                .expect("audit log in a directory")
                .join("state"),
        )
        .env("HOME", "/home/dev")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shellgate");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for shellgate");
    writer.join().unwrap();
    out
}

/// Runs `shellgate check --cwd /home/dev/project --batch FILE` with the
/// extra arguments `args`, asserts it exits 0, and parses its JSON lines.
pub fn batch(
    args: &[&str],
    file: &std::path::Path,
    audit: &std::path::Path,
) -> Vec<serde_json::Value> {
    let mut all = vec![
        "check",
        "--cwd",
        "/home/dev/project",
        "--batch",
        file.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = run(&all, b"", audit);
    assert!(
        out.status.success(),
        "batch over {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
