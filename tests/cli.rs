//! The `shellgate` command line: exit codes, JSON and batch output, the
//! audit log, and bad input (each must give a clear error or a deny).

mod common;

use serde_json::Value;

fn check(args: &[&str], stdin: &[u8]) -> (i32, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(args, stdin, &dir.path().join("audit.jsonl"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    )
}

#[test]
fn exit_codes_distinguish_allow_ask_deny_error() {
    assert_eq!(
        check(
            &["check", "--cwd", "/home/dev/project", "--", "ls -la"],
            b""
        )
        .0,
        0
    );
    assert_eq!(
        check(
            &[
                "check",
                "--cwd",
                "/home/dev/project",
                "--",
                "curl https://example.com"
            ],
            b""
        )
        .0,
        1
    );
    assert_eq!(
        check(
            &["check", "--cwd", "/home/dev/project", "--", "rm -rf /"],
            b""
        )
        .0,
        2
    );
    let (code, out, err, _d) = check(
        &["check", "--policy", "/nonexistent/policy.toml", "--", "ls"],
        b"",
    );
    assert_eq!(code, 2, "a policy that does not load denies");
    assert!(out.starts_with("deny: cannot read policy"), "{out}");
    assert!(err.contains("cannot read policy"), "{err}");
    let (code, _, err, _d) = check(&["check", "--bogus"], b"");
    assert_eq!(code, 3, "{err}");
}

#[test]
fn json_output_names_rule_span_and_reason() {
    let (code, out, _, _d) = check(
        &[
            "check",
            "--json",
            "--cwd",
            "/home/dev/project",
            "--",
            "git push --force origin main",
        ],
        b"",
    );
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["rules"][0], "git.force-push");
    let f = &v["findings"][0];
    assert_eq!(f["matched"], "--force");
    assert_eq!(f["span"]["start"], 9);
    assert!(v["reason"]
        .as_str()
        .unwrap()
        .contains("overwrites remote history"));
}

#[test]
fn a_policy_that_does_not_load_is_an_error_not_an_allow() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(
        &p,
        "tier = \"balanced\"\n[enviroment]\nproject_root = \"/x\"\n",
    )
    .unwrap();
    let (code, out, err, _d) = check(&["check", "--policy", p.to_str().unwrap(), "--", "ls"], b"");
    assert_eq!(code, 2);
    assert!(out.contains("policy.invalid"), "{out}");
    assert!(err.contains("enviroment"), "error names the bad key: {err}");
    assert!(err.contains("p.toml:2"), "error names the line: {err}");
}

#[test]
fn batch_keeps_order_copies_fields_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"command\": \"ls\", \"id\": 7}\nnot json\n{\"cmd\": \"ls\"}\n[1]\n{\"command\": \"sudo id\"}\n").unwrap();
    let lines = common::batch(&[], &input, &dir.path().join("audit.jsonl"));
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["rules"], serde_json::json!([]));
    assert!(lines[1]["error"].as_str().unwrap().contains("invalid JSON"));
    assert!(lines[2]["error"].as_str().unwrap().contains("command"));
    assert!(lines[3]["error"].as_str().unwrap().contains("object"));
    assert_eq!(lines[4]["decision"], "deny");
    assert_eq!(lines[4]["rules"][0], "privilege.escalation");
}

#[test]
fn every_decision_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sub/audit.jsonl");
    for cmd in ["ls", "rm -rf /"] {
        let out = common::bin()
            .args([
                "check",
                "--audit-log",
                log.to_str().unwrap(),
                "--cwd",
                "/home/dev/project",
                "--",
                cmd,
            ])
            .env("HOME", "/home/dev")
            .env("SHELLGATE_STATE_DIR", dir.path().join("state"))
            .output()
            .unwrap();
        assert!(out.status.code().is_some());
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2);
    for key in [
        "time",
        "cwd",
        "command",
        "decision",
        "rules",
        "tier",
        "duration_us",
    ] {
        assert!(recs[1].get(key).is_some(), "audit record lacks {key}");
    }
    assert_eq!(recs[1]["decision"], "deny");
    assert_eq!(recs[1]["rules"][0], "destructive.recursive-delete");
    assert!(recs[0]["time"].as_str().unwrap().ends_with('Z'));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn audit_log_that_cannot_be_written_is_an_error() {
    let (code, _, err, _d) = check(
        &["check", "--audit-log", "/proc/version/x.jsonl", "--", "ls"],
        b"",
    );
    assert_eq!(code, 3);
    assert!(err.contains("audit log"), "{err}");
}

#[test]
fn explain_lists_commands_rules_and_decision() {
    let (code, out, _, _d) = check(
        &[
            "explain",
            "--cwd",
            "/home/dev/project",
            "--",
            "R=rm; $R -rf ~",
        ],
        b"",
    );
    assert_eq!(code, 2);
    assert!(out.contains("rm -rf /home/dev"), "{out}");
    assert!(out.contains("destructive.recursive-delete"), "{out}");
    assert!(out.contains("decision: deny"), "{out}");
}

/// Bad input gets a deny (or an error) quickly, never a crash or a hang.
#[test]
fn bad_input_is_denied_without_crashing() {
    let deep = format!("{}ls{}", "(".repeat(10_000), ")".repeat(10_000));
    let big = format!("echo {}", "a".repeat(10 * 1024 * 1024));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("invalid UTF-8", b"ls \xff\xfe".to_vec(), "UTF-8"),
        ("NUL byte", b"ls\0rm -rf /".to_vec(), "NUL"),
        ("10 MB command", big.into_bytes(), "limit"),
        ("10,000 nested parentheses", deep.into_bytes(), "nests"),
    ];
    for (name, input, says) in cases {
        let start = std::time::Instant::now();
        let (code, out, err, _d) =
            check(&["check", "--stdin", "--cwd", "/home/dev/project"], &input);
        let took = start.elapsed();
        println!(
            "{name}: exit {code} in {took:?}: {}",
            out.lines().next().unwrap_or("")
        );
        assert_eq!(code, 2, "{name}: expected deny, got {code}: {out}{err}");
        assert!(
            out.contains(says),
            "{name}: reason should mention {says:?}: {out}"
        );
        // A hang guard, not a speed goal (see benches for timing).
        assert!(took.as_secs() < 30, "{name} took {took:?}");
    }
}

/// `shellgate oracle`: what the command really did, one line each, and the
/// harm; exit 1 for harm, 0 for none; `--json` for tools. Needs bubblewrap
/// and strace (see oracle/tests/oracle.rs).
#[test]
fn oracle_reports_what_bash_did() {
    if std::env::var_os("SHELLGATE_SKIP_ORACLE_TESTS").is_some() {
        return;
    }
    let policy = common::shared().join("eval-policy.toml");
    let run = |args: &[&str]| {
        common::bin()
            .arg("oracle")
            .arg("--policy")
            .arg(&policy)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--", "rm -r ~/notes; echo rm -rf /"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("deleted /home/dev/notes  [deleted-outside-project]"),
        "{text}"
    );
    assert!(text.ends_with("harm: deleted-outside-project\n"), "{text}");

    let out = run(&["--json", "--", "echo 'rm -rf /'"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["harms"], serde_json::json!([]));
    assert_eq!(v["stdout"], "rm -rf /\n");

    // A policy that does not load is an error, not a verdict.
    let bad = common::bin()
        .args(["oracle", "--policy", "/nonexistent/p.toml", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
}
