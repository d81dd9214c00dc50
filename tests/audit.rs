//! The audit log end to end: concurrent writers, rotation, redaction,
//! OpenTelemetry export to a collector on loopback, refused hook input,
//! and `audit report|replay|suggest` on generated logs of 100,000 records.
//! Everything runs in temp dirs; the collector listens on 127.0.0.1.

#[path = "support/audit_gen.rs"]
mod audit_gen;
mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every line of a log and its rotated files, oldest first.
fn log_lines(path: &Path) -> Vec<String> {
    let mut files: Vec<std::path::PathBuf> = (1..)
        .map(|n| std::path::PathBuf::from(format!("{}.{n}", path.display())))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_path_buf());
    files
        .iter()
        .filter(|f| f.exists())
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn shellgate(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut c = common::bin();
    c.args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("SHELLGATE_STATE_DIR", dir.join("state"))
        .env("SHELLGATE_AUDIT_LOG", dir.join("audit.jsonl"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn concurrent_writers_lose_and_tear_nothing_while_rotating() {
    const PROCS: usize = 6;
    const EACH: usize = 2500;
    let dir = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    for p in 0..PROCS {
        let input = dir.path().join(format!("in{p}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for n in 0..EACH {
            writeln!(
                f,
                "{}",
                serde_json::json!({ "command": format!("echo p{p} n{n}") })
            )
            .unwrap();
        }
        f.flush().unwrap();
        drop(f);
        children.push(
            shellgate(
                dir.path(),
                &[
                    "check",
                    "--cwd",
                    "/home/dev/project",
                    "--batch",
                    input.to_str().unwrap(),
                ],
            )
            // Small files, so rotation happens many times under contention.
            .env("SHELLGATE_AUDIT_MAX_BYTES", "262144")
            .env("SHELLGATE_AUDIT_KEEP", "1000")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
        );
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let log = dir.path().join("audit.jsonl");
    let lines = log_lines(&log);
    assert!(
        std::path::PathBuf::from(format!("{}.5", log.display())).exists(),
        "the log rotated"
    );
    let mut seen = HashSet::new();
    let mut ids = HashSet::new();
    for l in &lines {
        let r: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}"));
        assert_eq!(r["event"], "decision");
        assert!(
            ids.insert(r["id"].as_str().unwrap().to_string()),
            "duplicate id"
        );
        assert!(
            seen.insert(r["command"].as_str().unwrap().to_string()),
            "duplicate record"
        );
    }
    assert_eq!(seen.len(), PROCS * EACH, "every record is there once");
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap();
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with("audit.jsonl") {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                f.metadata().unwrap().permissions().mode() & 0o777,
                0o600,
                "{name}"
            );
        }
    }
}

#[test]
fn secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!("ghp_{}", "Z9".repeat(18));
    let cmd = format!(
        "GITHUB_TOKEN={token} curl -H 'Authorization: Bearer hunter2hunter2' https://me:pa55word@api.github.com/user && mysql --password=sekrit -e 'select 1'"
    );
    let out = shellgate(
        dir.path(),
        &["check", "--cwd", "/home/dev/project", "--", &cmd],
    )
    .output()
    .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 3),
        "{}",
        text(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    for secret in [token.as_str(), "hunter2hunter2", "pa55word", "sekrit"] {
        assert!(!log.contains(secret), "{secret} leaked: {log}");
    }
    let r: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert!(r["command"]
        .as_str()
        .unwrap()
        .contains("GITHUB_TOKEN=__REDACTED__"));
    let judged = r["judged"].as_array().unwrap();
    assert!(
        judged
            .iter()
            .any(|j| j.as_str().unwrap().contains(" curl -H ")),
        "{judged:?}"
    );
}

#[test]
fn refused_hook_input_is_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = shellgate(dir.path(), &["hook", "claude-code"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{not json").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let r: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(r["source"], "hook");
    assert_eq!(r["decision"], "deny");
    assert_eq!(r["rules"][0], "hook.invalid-input");
    assert_eq!(r["fired"][0]["section"], "input");
    assert_eq!(r["harness"], "claude-code");
    assert_eq!(r["command"], "{not json");
}

/// What the collector received: the request head (lowercased) and body.
type Received = std::thread::JoinHandle<Option<(String, Vec<u8>)>>;

/// A one-request OTLP/HTTP collector on loopback.
fn collector() -> (u16, Received) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = s.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            got.extend_from_slice(&buf[..n]);
            if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..p]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if got.len() >= p + 4 + len {
                    s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                        .ok()?;
                    return Some((head, got[p + 4..p + 4 + len].to_vec()));
                }
            }
        }
    });
    (port, h)
}

fn attr(rec: &opentelemetry_proto::tonic::logs::v1::LogRecord, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    rec.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            V::StringValue(s) => Some(s.clone()),
            V::IntValue(i) => Some(i.to_string()),
            V::BoolValue(b) => Some(b.to_string()),
            _ => None,
        })
}

#[test]
fn decisions_are_exported_to_an_otlp_collector_on_loopback() {
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let (port, got) = collector();
    let out = shellgate(
        dir.path(),
        &[
            "check",
            "--json",
            "--cwd",
            "/home/dev/project",
            "--",
            "rm -rf /",
        ],
    )
    .env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    )
    .env("OTEL_RESOURCE_ATTRIBUTES", "team=infra")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let decided: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (head, body) = got.join().unwrap().expect("the collector got a request");
    assert!(head.starts_with("post /v1/logs "), "{head}");
    assert!(
        head.contains("content-type: application/x-protobuf"),
        "{head}"
    );
    let req = opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest::decode(
        &body[..],
    )
    .unwrap();
    let rl = &req.resource_logs[0];
    let resource: Vec<(String, String)> = rl
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), format!("{:?}", kv.value)))
        .collect();
    assert!(
        resource
            .iter()
            .any(|(k, v)| k == "service.name" && v.contains("shellgate")),
        "{resource:?}"
    );
    assert!(
        resource
            .iter()
            .any(|(k, v)| k == "team" && v.contains("infra")),
        "{resource:?}"
    );
    let rec = &rl.scope_logs[0].log_records[0];
    assert_eq!(rec.event_name, "tool_decision");
    assert_eq!(attr(rec, "event.name").as_deref(), Some("tool_decision"));
    assert_eq!(attr(rec, "decision").as_deref(), Some("reject"));
    assert_eq!(attr(rec, "source").as_deref(), Some("config"));
    assert_eq!(attr(rec, "tool_name").as_deref(), Some("Bash"));
    assert_eq!(attr(rec, "shellgate.decision").as_deref(), Some("deny"));
    assert_eq!(attr(rec, "shellgate.section").as_deref(), Some("hard_deny"));
    assert_eq!(
        attr(rec, "shellgate.rule_id").as_deref(),
        decided["rules"][0].as_str()
    );
    assert!(attr(rec, "shellgate.duration_us").is_some());
    assert_eq!(
        attr(rec, "shellgate.command"),
        None,
        "commands only with OTEL_LOG_TOOL_DETAILS=1"
    );
}

#[test]
fn otlp_json_protocol_and_tool_details() {
    let dir = tempfile::tempdir().unwrap();
    let (port, got) = collector();
    let out = shellgate(
        dir.path(),
        &["check", "--cwd", "/home/dev/project", "--", "ls -la"],
    )
    .env(
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        format!("http://127.0.0.1:{port}/v1/logs"),
    )
    .env("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json")
    .env("OTEL_LOG_TOOL_DETAILS", "1")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (head, body) = got.join().unwrap().expect("the collector got a request");
    assert!(head.contains("content-type: application/json"), "{head}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    let rec = &v["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    let attrs = rec["attributes"].as_array().unwrap();
    let get = |k: &str| {
        attrs
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"]["stringValue"].clone())
    };
    assert_eq!(get("decision"), Some(Value::from("accept")));
    assert_eq!(get("shellgate.command"), Some(Value::from("ls -la")));
}

#[test]
fn a_collector_that_is_down_does_not_change_or_stall_a_decision() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = shellgate(
        dir.path(),
        &["check", "--cwd", "/home/dev/project", "--", "ls"],
    )
    .env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("OpenTelemetry export failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(log_lines(&dir.path().join("audit.jsonl")).len(), 1);
    // gRPC is named, not silently dropped.
    let out = shellgate(
        dir.path(),
        &["check", "--cwd", "/home/dev/project", "--", "ls"],
    )
    .env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    )
    .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("grpc"), "{}", text(&out.stderr));
}

#[test]
fn report_on_a_generated_log_of_100k_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.jsonl");
    let e = audit_gen::generate(&log, 100_000);
    let out = shellgate(
        dir.path(),
        &[
            "audit",
            "report",
            "--json",
            "--log",
            log.to_str().unwrap(),
            "--before",
            "2026-10-01..2026-10-16",
            "--after",
            "2026-10-16..",
        ],
    )
    .output()
    .unwrap();
    let r: Value = serde_json::from_str(&ok(out)).unwrap();
    let s = &r["stats"];
    assert!(r["bad_lines"].as_array().unwrap().is_empty());
    assert_eq!(s["decisions"], e.decisions);
    assert_eq!(
        (s["allow"].clone(), s["ask"].clone(), s["deny"].clone()),
        (e.allow.into(), e.ask.into(), e.deny.into())
    );
    assert_eq!(s["hard_deny_fires"], e.hard_deny_fires);
    assert_eq!(s["user_approved"], e.user_approved);
    assert_eq!(s["user_rejected"], e.user_rejected);
    let rate = s["approval_rate"].as_f64().unwrap();
    assert!((rate - e.allow as f64 / e.decisions as f64).abs() < 1e-9);
    let tools: u64 = s["by_tool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["decisions"].as_u64().unwrap())
        .sum();
    assert_eq!(tools, e.decisions);
    // Claude Code and Codex both call their shell tool `Bash`.
    assert_eq!(s["by_tool"].as_array().unwrap().len(), 3);
    assert!(s["top_refused"][0]["count"].as_u64().unwrap() > 0);
    assert_eq!(s["top_user_rejected"][0]["pattern"], "git push --force");
    let c = &r["comparison"];
    assert_eq!(c["before"]["decisions"], e.before);
    assert_eq!(c["after"]["decisions"], e.after);
    let change = c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["figure"] == "rule git.force-push")
        .expect("the force-push rule fired less after the change");
    assert!(change["change"].as_f64().unwrap() < 0.0);

    // Text and HTML over the same log.
    let out = shellgate(
        dir.path(),
        &[
            "audit",
            "report",
            "--log",
            log.to_str().unwrap(),
            "--since",
            "2026-10-16",
        ],
    )
    .output()
    .unwrap();
    let t = ok(out);
    assert!(t.contains(&format!("{} decisions", e.after)), "{t}");
    assert!(t.contains("Approval rate by tool"));
    let out = shellgate(
        dir.path(),
        &["audit", "report", "--html", "--log", log.to_str().unwrap()],
    )
    .output()
    .unwrap();
    let h = ok(out);
    assert!(h.starts_with("<!doctype html>") && h.contains("<svg") && !h.contains("<script"));
}

#[test]
fn suggest_on_a_generated_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.jsonl");
    let e = audit_gen::generate(&log, 100_000);
    let out = shellgate(
        dir.path(),
        &["audit", "suggest", "--json", "--log", log.to_str().unwrap()],
    )
    .output()
    .unwrap();
    let s: Value = serde_json::from_str(&ok(out)).unwrap();
    let find = |section: &str| {
        s.as_array()
            .unwrap()
            .iter()
            .find(|x| x["section"] == section)
            .unwrap_or_else(|| panic!("no {section} proposal in {s}"))
            .clone()
    };
    let allow = find("allow");
    assert_eq!(allow["pattern"], "make deploy-docs");
    assert_eq!(allow["approved"], e.approved_make);
    let deny = find("soft_deny");
    assert_eq!(deny["pattern"], "git push --force");
    assert_eq!(deny["rejected"], e.rejected_force_push);
    assert_eq!(deny["refused_by"][0], "git.force-push (soft_deny)");
    // The proposed rules load into a policy as they are.
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[allow]\nrules = [\"$defaults\", {}]\n[soft_deny]\nrules = [\"$defaults\", {}]\n",
            allow["rule"].as_str().unwrap(),
            deny["rule"].as_str().unwrap()
        ),
    )
    .unwrap();
    let out = shellgate(dir.path(), &["policy", "check", policy.to_str().unwrap()])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(3), "{}", text(&out.stdout));
}

#[test]
fn replay_agrees_with_deciding_under_the_new_policy() {
    let shared = common::shared();
    let dir = tempfile::tempdir().unwrap();
    let old = shared.join("eval-policy.toml");
    let new = dir.path().join("new.toml");
    std::fs::write(
        &new,
        std::fs::read_to_string(&old).unwrap()
            + "\n[hard_deny]\nrules = [\"$defaults\", { id = \"no-git-pull\", description = \"test rule\", command = \"git\", subcommand = [\"pull\"] }]\n\
               [soft_deny]\nrules = []\n",
    )
    .unwrap();
    let corpus = shared.join("corpora/dev-labelled.jsonl");
    // The log: the dev corpus decided under the old policy.
    let audit = dir.path().join("audit.jsonl");
    let before = common::batch(&["--policy", old.to_str().unwrap()], &corpus, &audit);
    let after = common::batch(
        &["--policy", new.to_str().unwrap()],
        &corpus,
        &dir.path().join("other.jsonl"),
    );
    let (mut denied, mut allowed, mut relaxed) = (0u64, 0u64, 0u64);
    for (b, a) in before.iter().zip(&after) {
        denied += u64::from(a["decision"] == "deny" && b["decision"] != "deny");
        allowed += u64::from(a["decision"] == "allow" && b["decision"] != "allow");
        relaxed += u64::from(a["decision"] == "ask" && b["decision"] == "deny");
    }
    assert!(
        denied > 0 && relaxed > 0,
        "the candidate changes something both ways"
    );
    let out = shellgate(
        dir.path(),
        &[
            "audit",
            "replay",
            "--json",
            "--policy",
            new.to_str().unwrap(),
            "--log",
            audit.to_str().unwrap(),
        ],
    )
    .env("HOME", "/home/dev")
    .output()
    .unwrap();
    let s: Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(s["replayed"], before.len() as u64);
    assert_eq!(s["newly_denied"], denied);
    assert_eq!(s["newly_allowed"], allowed);
    assert_eq!(s["relaxed_to_ask"], relaxed);
    assert!(s["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["rule"] == "no-git-pull" && c["to"] == "deny"));
    // A candidate that does not load is an error, not a replay.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "tier = 7\n").unwrap();
    let out = shellgate(
        dir.path(),
        &[
            "audit",
            "replay",
            "--policy",
            broken.to_str().unwrap(),
            "--log",
            audit.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("does not load"),
        "{}",
        text(&out.stderr)
    );
}
