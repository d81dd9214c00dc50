//! `shellgate -c` as `$SHELL`: a small scripted session, the way a harness
//! or a tool that runs `$SHELL -c COMMAND` drives it, inside a temp project.

mod common;

use std::process::Stdio;

#[test]
fn a_scripted_session_through_dollar_shell() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("notes.txt"), "private\n").unwrap();
    // A project script reading the path it is given.
    std::fs::write(project.join("peek.sh"), "cat \"$1\"\n").unwrap();
    let audit = dir.path().join("audit.jsonl");
    // The driver is bash; each step is one `$SHELL -c` call, as a harness makes it.
    let script = r#"
set -u
"$SHELL" -c 'echo one > a.txt && echo two >> a.txt'; echo "write:$?"
"$SHELL" -lc 'wc -l < a.txt'; echo "login:$?"
"$SHELL" -c 'printf "%s|%s|%s\n" "$0" "$1" "$2"' name first 'second word'; echo "args:$?"
"$SHELL" -c 'exit 7'; echo "status:$?"
"$SHELL" -c - 'echo after-dash'; echo "dash:$?"
"$SHELL" -c 'kill -TERM $$'; echo "signal:$?"
"$SHELL" -c "cat $HOME/notes.txt" 2>/dev/null; echo "home-direct:$?"
"$SHELL" -c 'bash ./peek.sh "$1"' peek "$HOME/notes.txt" 2>/dev/null; echo "home-sandboxed:$?"
"$SHELL" -i 2>/dev/null; echo "interactive:$?"
"$SHELL" -c 'rm -rf ~' 2>/dev/null; echo "refused:$?"
"$SHELL" -c 'echo after' 2>/dev/null; echo "after-hard-deny:$?"
"#;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("SHELL", env!("CARGO_BIN_EXE_shellgate"))
        .env("HOME", &home)
        .env("SHELLGATE_AUDIT_LOG", &audit)
        .env("SHELLGATE_STATE_DIR", home.join("state"))
        .env(
            "SHELLGATE_MANAGED_POLICY",
            "/nonexistent/shellgate/managed.toml",
        )
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("SHELLGATE_SESSION")
        .current_dir(&project)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    // Reading a plain file in $HOME is not a policy matter, but the sandbox
    // cannot read $HOME: cat fails with status 1, directly or from a script.
    assert_eq!(
        lines,
        [
            "write:0",
            "2",
            "login:0",
            "name|first|second word",
            "args:0",
            "status:7",
            "after-dash",
            "dash:0",
            "signal:143",
            "home-direct:1",
            "home-sandboxed:1",
            "interactive:125",
            "refused:126",
            "after-hard-deny:126",
        ],
        "stderr: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(project.join("a.txt")).unwrap(),
        "one\ntwo\n"
    );
    let all: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (records, exits): (Vec<serde_json::Value>, Vec<serde_json::Value>) =
        all.into_iter().partition(|r| r["event"] == "decision");
    assert_eq!(records.len(), 10, "one record per judged command");
    // Each command that ran has an exit record naming its decision.
    assert_eq!(exits.len(), 8, "{exits:?}");
    for e in &exits {
        assert_eq!(e["event"], "exit");
        assert!(records.iter().any(|r| r["id"] == e["decision_id"]
            && r["decision"] == "allow"
            && r["command"] == e["command"]));
    }
    assert!(exits
        .iter()
        .any(|e| e["exit_status"] == 7 || e["signal"].is_number()));
    assert!(records.iter().all(|r| r["mode"] == "shell"));
    let refused = records.iter().find(|r| r["command"] == "rm -rf ~").unwrap();
    assert_eq!(refused["decision"], "deny");
    // Every call of the session has the same parent (the driver): one
    // session, whose autonomy the hard deny ended.
    assert!(records
        .iter()
        .all(|r| r["session"] == records[0]["session"]));
    assert_eq!(records[9]["source"], "session_escalation");
}
