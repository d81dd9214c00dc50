//! `shellgate run`: allowed commands run in the sandbox, inside a temp
//! project. Each denial is proven with a command shellgate allows (a script
//! in the project), so it is the sandbox, not the policy, that stops it.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Output, Stdio};

struct World {
    _dir: tempfile::TempDir,
    project: PathBuf,
    home: PathBuf,
    outside: PathBuf,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let home = dir.path().join("home");
    let outside = dir.path().join("outside");
    for d in [&project, &home, &outside] {
        std::fs::create_dir(d).unwrap();
    }
    World {
        _dir: dir,
        project,
        home,
        outside,
    }
}

/// `shellgate run` of `command` in the project, with the world's home and
/// an audit log outside the project.
fn shellgate_run(w: &World, command: &str) -> std::process::Command {
    let mut cmd = common::bin();
    cmd.args([
        "run",
        "--cwd",
        w.project.to_str().unwrap(),
        "--audit-log",
        w.outside.join("audit.jsonl").to_str().unwrap(),
        "--",
        command,
    ])
    .env("HOME", &w.home);
    cmd
}

fn run(w: &World, command: &str, stdin: &[u8]) -> Output {
    let mut child = shellgate_run(w, command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn script(w: &World, name: &str, body: &str) {
    std::fs::write(w.project.join(name), body).unwrap();
}

/// The run's audit log (written by `shellgate_run`) and its `exit` record.
fn exit_record(w: &World) -> (String, serde_json::Value) {
    let log = std::fs::read_to_string(w.outside.join("audit.jsonl")).unwrap();
    let exit = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["event"] == "exit")
        .expect("an exit record");
    (log, exit)
}

/// A repository in the world's project: `.git` with `hooks`, `HEAD` and
/// `config` holding `config`; returns the `.git` path.
fn repo(w: &World, config: &str) -> PathBuf {
    let g = w.project.join(".git");
    std::fs::create_dir_all(g.join("hooks")).unwrap();
    std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(g.join("config"), config).unwrap();
    g
}

/// The script ran to its last line, `echo done > out.txt`.
fn ran_to_the_end(w: &World) {
    assert_eq!(
        std::fs::read_to_string(w.project.join("out.txt")).unwrap(),
        "done\n"
    );
}

/// `echo ran > out.txt` is refused by the sandbox's setup (exit 125)
/// with `why` on stderr, and does not run.
fn refused_before_running(w: &World, why: &str) {
    let out = run(w, "echo ran > out.txt", b"");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "stderr: {stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(!w.project.join("out.txt").exists());
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn writing_in_the_project_succeeds_and_io_passes_through() {
    let w = world();
    let out = run(
        &w,
        "echo hello > out.txt && cat out.txt && cat",
        b"from stdin\n",
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello\nfrom stdin\n");
    assert_eq!(
        std::fs::read_to_string(w.project.join("out.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(run(&w, "exit 7", b"").status.code(), Some(7));
}

/// The path outside was refused by Landlock (`EACCES`) or is not in the
/// command's private root at all (`ENOENT`).
fn assert_unreachable(stderr: &str) {
    assert!(
        stderr.contains("Permission denied") || stderr.contains("No such file or directory"),
        "stderr: {stderr}"
    );
}

#[test]
fn writing_to_home_fails() {
    let w = world();
    script(&w, "w.sh", "echo x > \"$HOME/pwned\"\n");
    let out = run(&w, "bash ./w.sh", b"");
    assert_ne!(out.status.code(), Some(0));
    assert_unreachable(&text(&out.stderr));
    assert!(!w.home.join("pwned").exists());
}

#[test]
fn reading_outside_the_allowed_paths_fails() {
    let w = world();
    let secret = w.outside.join("secret.txt");
    std::fs::write(&secret, "TOPSECRET").unwrap();
    script(&w, "r.sh", "cat \"$1\"\n");
    let out = run(&w, &format!("bash ./r.sh {}", secret.display()), b"");
    assert_ne!(out.status.code(), Some(0));
    assert_unreachable(&text(&out.stderr));
    assert!(!text(&out.stdout).contains("TOPSECRET"));
}

/// Runs `command` like [`run`] with extra environment variables.
fn run_env(w: &World, command: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = shellgate_run(w, command);
    cmd.stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Credentials and agent sockets in the caller's environment do not reach
/// the command, unless the user's policy passes them; the audit log names
/// (never shows) what was withheld.
#[test]
fn credentials_are_withheld_from_the_environment() {
    let w = world();
    script(
        &w,
        "e.sh",
        "printf '%s|%s|%s|%s\\n' \"${GITHUB_TOKEN-unset}\" \"${SSH_AUTH_SOCK-unset}\" \"${AWS_SECRET_ACCESS_KEY-unset}\" \"${BUILD_MODE-unset}\"\n",
    );
    let vars = [
        ("GITHUB_TOKEN", "ghp_example"),
        ("SSH_AUTH_SOCK", "/tmp/agent.sock"),
        ("AWS_SECRET_ACCESS_KEY", "abc"),
        ("BUILD_MODE", "release"),
    ];
    let out = run_env(&w, "bash ./e.sh", &vars);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "unset|unset|unset|release\n");
    let (log, exit) = exit_record(&w);
    let withheld = exit["withheld_env"].as_array().unwrap();
    for name in ["GITHUB_TOKEN", "SSH_AUTH_SOCK", "AWS_SECRET_ACCESS_KEY"] {
        assert!(withheld.iter().any(|n| n == name), "{name}: {exit}");
    }
    assert!(!log.contains("ghp_example"));

    // The user's own policy passes some through.
    let config = w.home.join(".config/shellgate");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("policy.toml"),
        "[sandbox]\npass_env = [\"GITHUB_TOKEN\", \"AWS_*\"]\n",
    )
    .unwrap();
    let out = run_env(&w, "bash ./e.sh", &vars);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ghp_example|unset|abc|release\n");
}

/// A command that slips past the decision (here, a script) still cannot
/// plant a git hook or change `.git/config`, which git would run outside
/// the sandbox later, nor read the ignore file's matches (`.env`).
#[test]
fn git_hooks_and_ignored_files_are_protected() {
    let w = world();
    std::fs::create_dir_all(w.project.join(".git")).unwrap();
    std::fs::write(w.project.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(w.project.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(w.project.join(".env"), "TOKEN=abc\n").unwrap();
    script(
        &w,
        "p.sh",
        "echo evil > .git/hooks/post-checkout; echo '[core] fsmonitor = evil' >> .git/config; \
         printf 'env:%s\\n' \"$(cat .env)\"; echo done > out.txt\n",
    );
    let out = run(&w, "bash ./p.sh", b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "env:\n");
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    assert!(!w.project.join(".git/hooks/post-checkout").exists());
    assert_eq!(
        std::fs::read_to_string(w.project.join(".git/config")).unwrap(),
        "[core]\n"
    );
    ran_to_the_end(&w);
}

/// Paths git would run code from are protected even when they do not
/// exist yet: a repository's missing `.git/config`, a `.git` file
/// (`gitdir:`), and a `.git` the command would make in a project that has
/// none (a placeholder, covered, removed after the run).
#[test]
fn git_paths_that_do_not_exist_yet_are_protected() {
    // Move a repository away (with its covers) for a new one, or plant
    // in it directly.
    let plant = "mv .git moved; mkdir -p .git/hooks; echo evil > .git/hooks/post-checkout; \
                 printf '[core]\\n\\tfsmonitor = evil\\n' >> .git/config; \
                 printf 'gitdir: evil\\n' > .git; echo done > out.txt\n";

    // A repository without .git/config: an empty one is made, read-only.
    let w = world();
    std::fs::create_dir_all(w.project.join(".git/hooks")).unwrap();
    std::fs::write(w.project.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    script(&w, "p.sh", plant);
    let out = run(&w, "bash ./p.sh", b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(w.project.join(".git/config")).unwrap(),
        ""
    );
    assert!(!w.project.join(".git/hooks/post-checkout").exists());
    assert!(
        w.project.join(".git/HEAD").is_file(),
        "the repository was moved"
    );
    assert!(!w.project.join("moved").exists());

    // What the repository points git at: a core.hooksPath in the project
    // (made when missing), a submodule's git directory and its checkout's
    // .git file.
    let w = world();
    let g = w.project.join(".git");
    std::fs::create_dir_all(g.join("modules/lib")).unwrap();
    std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(g.join("config"), "[core]\n\thooksPath = \".githooks\"\n").unwrap();
    std::fs::write(g.join("modules/lib/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(
        w.project.join(".gitmodules"),
        "[submodule \"lib\"]\n\tpath = vendor/lib\n",
    )
    .unwrap();
    std::fs::create_dir_all(w.project.join("vendor/lib")).unwrap();
    std::fs::write(
        w.project.join("vendor/lib/.git"),
        "gitdir: ../../.git/modules/lib\n",
    )
    .unwrap();
    script(
        &w,
        "q.sh",
        "mkdir -p .githooks .git/modules/lib/hooks; echo evil > .githooks/post-checkout; \
         echo evil > .git/modules/lib/hooks/post-checkout; \
         echo '[core] fsmonitor = evil' >> .git/modules/lib/config; \
         echo 'gitdir: ../evil' > vendor/lib/.git; echo done > out.txt\n",
    );
    let out = run(&w, "bash ./q.sh", b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(w.project.join(".githooks").is_dir());
    assert!(!w.project.join(".githooks/post-checkout").exists());
    assert!(!g.join("modules/lib/hooks/post-checkout").exists());
    assert_eq!(
        std::fs::read_to_string(g.join("modules/lib/config")).unwrap(),
        ""
    );
    assert_eq!(
        std::fs::read_to_string(w.project.join("vendor/lib/.git")).unwrap(),
        "gitdir: ../../.git/modules/lib\n"
    );
    ran_to_the_end(&w);

    // A .git file pointing at the real git dir: read-only.
    let w = world();
    std::fs::write(w.project.join(".git"), "gitdir: ../outside/repo\n").unwrap();
    script(&w, "p.sh", plant);
    let out = run(&w, "bash ./p.sh", b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(w.project.join(".git")).unwrap(),
        "gitdir: ../outside/repo\n"
    );

    // No .git at all: none can be made, and none is left behind.
    let w = world();
    script(&w, "p.sh", plant);
    let out = run(&w, "bash ./p.sh; git init -q . && echo inited; true", b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("inited"),
        "{}",
        text(&out.stdout)
    );
    assert!(!w.project.join(".git").exists(), "a .git was left behind");
    ran_to_the_end(&w);

    // A .git directory that is not a repository: covered, unchanged.
    let w = world();
    std::fs::create_dir(w.project.join(".git")).unwrap();
    std::fs::write(w.project.join(".git/notes"), "mine\n").unwrap();
    script(&w, "p.sh", plant);
    let out = run(&w, "bash ./p.sh; ls -A .git", b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let left: Vec<_> = std::fs::read_dir(w.project.join(".git")).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // A symlink: what it points to could be swapped, so no run.
    let w = world();
    std::fs::create_dir(w.outside.join("repo")).unwrap();
    std::os::unix::fs::symlink(w.outside.join("repo"), w.project.join(".git")).unwrap();
    refused_before_running(&w, "is a symlink");
}

/// Files through which git reads another directory's configuration
/// (gitrepository-layout(5)): `commondir` and `config.worktree`, a linked
/// worktree's `commondir` and `gitdir`. Existing ones are read-only; ones
/// the command makes (no placeholder can cover them: git fails on an
/// empty `commondir`) are moved aside after the run, said on stderr and
/// in the exit record.
#[test]
fn git_redirects_are_read_only_or_moved_aside() {
    let w = world();
    let g = repo(&w, "[core]\n");
    std::fs::create_dir_all(g.join("worktrees/wt")).unwrap();
    std::fs::write(g.join("worktrees/wt/commondir"), "../..\n").unwrap();
    std::fs::write(g.join("worktrees/wt/gitdir"), "/src/wt/.git\n").unwrap();
    std::fs::create_dir_all(w.project.join("evil")).unwrap();
    script(
        &w,
        "p.sh",
        "printf '[core]\\n\\tfsmonitor = evil\\n' > evil/config; \
         echo \"$PWD/evil\" > .git/commondir; \
         printf '[core]\\n\\tfsmonitor = evil\\n' > .git/config.worktree; \
         echo ../../../evil > .git/worktrees/wt/commondir; \
         echo /evil/.git > .git/worktrees/wt/gitdir; echo done > out.txt\n",
    );
    let out = run(&w, "bash ./p.sh", b"");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    ran_to_the_end(&w);
    // Existing: unchanged.
    assert_eq!(
        std::fs::read_to_string(g.join("worktrees/wt/commondir")).unwrap(),
        "../..\n"
    );
    assert_eq!(
        std::fs::read_to_string(g.join("worktrees/wt/gitdir")).unwrap(),
        "/src/wt/.git\n"
    );
    // Made by the command: moved aside, and said so.
    for name in ["commondir", "config.worktree"] {
        assert!(!g.join(name).exists(), "{name} left in place");
        assert!(
            g.join(format!("{name}.shellgate-quarantine")).is_file(),
            "{name} not moved aside"
        );
        assert!(stderr.contains(&format!(".git/{name} ->")), "{stderr}");
    }
    let (_, exit) = exit_record(&w);
    assert_eq!(
        exit["quarantined"].as_array().map(Vec::len),
        Some(2),
        "{exit}"
    );
}

/// A config the repository includes from the project (`[include] path =
/// ../project.gitconfig`) is read-only like `.git/config`; one it names
/// that does not exist is moved aside if the command makes it.
#[test]
fn files_the_git_config_includes_are_protected() {
    let w = world();
    repo(
        &w,
        "[include]\n\tpath = ../project.gitconfig\n\tpath = ../local.gitconfig\n\
         \tpath = ../gen/made.gitconfig\n",
    );
    std::fs::write(w.project.join("project.gitconfig"), "[user]\n").unwrap();
    // The last include's directory does not exist: made as a link to a
    // directory holding the file, it is what is moved aside.
    script(
        &w,
        "p.sh",
        "printf '[core]\\n\\tfsmonitor = evil\\n' >> project.gitconfig; \
         printf '[core]\\n\\tfsmonitor = evil\\n' > local.gitconfig; \
         mkdir real; printf '[core]\\n\\tfsmonitor = evil\\n' > real/made.gitconfig; \
         ln -s real gen; echo done > out.txt\n",
    );
    let out = run(&w, "bash ./p.sh", b"");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(
        std::fs::read_to_string(w.project.join("project.gitconfig")).unwrap(),
        "[user]\n"
    );
    assert!(!w.project.join("local.gitconfig").exists(), "{stderr}");
    assert!(w
        .project
        .join("local.gitconfig.shellgate-quarantine")
        .is_file());
    assert!(!w.project.join("gen").exists(), "{stderr}");
    assert!(w
        .project
        .join("gen.shellgate-quarantine")
        .symlink_metadata()
        .unwrap()
        .is_symlink());
    ran_to_the_end(&w);
}

/// A cover moves with a renamed directory, so every directory between
/// the project and a protected path is pinned: renaming it fails, and no
/// new one takes its place (a hooks directory, a linked worktree's
/// administrative directory, an included config's directory).
#[test]
fn renaming_a_parent_does_not_move_a_cover_away() {
    let w = world();
    let g = w.project.join(".git");
    std::fs::create_dir_all(g.join("worktrees/wt")).unwrap();
    std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(
        g.join("config"),
        "[core]\n\thooksPath = .husky/_\n[include]\n\tpath = ../tools/shared.gitconfig\n",
    )
    .unwrap();
    std::fs::write(g.join("worktrees/wt/commondir"), "../..\n").unwrap();
    std::fs::create_dir_all(w.project.join("tools")).unwrap();
    std::fs::write(w.project.join("tools/shared.gitconfig"), "[user]\n").unwrap();
    script(
        &w,
        "p.sh",
        "mv .husky .husky.old; mkdir -p .husky/_; echo evil > .husky/_/pre-commit; \
         mv .git/worktrees/wt .git/worktrees/wt.old; mkdir -p .git/worktrees/wt; \
         echo /evil > .git/worktrees/wt/commondir; \
         mv tools tools.old; mkdir -p tools; echo '[core] fsmonitor = evil' > tools/shared.gitconfig; \
         echo done > out.txt\n",
    );
    let out = run(&w, "bash ./p.sh", b"");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!w.project.join(".husky/_/pre-commit").exists(), "{stderr}");
    assert!(!w.project.join(".husky.old").exists(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(g.join("worktrees/wt/commondir")).unwrap(),
        "../..\n"
    );
    assert_eq!(
        std::fs::read_to_string(w.project.join("tools/shared.gitconfig")).unwrap(),
        "[user]\n"
    );
    ran_to_the_end(&w);

    // A symlink on the way to what git reads (a directory of an included
    // config, the hooks directory) could be swapped: refused. So is a
    // hooks directory that is the project itself.
    for (config, link) in [
        ("[include]\n\tpath = ../cfg/shared.gitconfig\n", "cfg"),
        ("[core]\n\thooksPath = cfg/hooks\n", "cfg"),
    ] {
        let w = world();
        repo(&w, config);
        std::fs::create_dir_all(w.project.join("conf/hooks")).unwrap();
        std::fs::write(w.project.join("conf/shared.gitconfig"), "[user]\n").unwrap();
        std::os::unix::fs::symlink("conf", w.project.join(link)).unwrap();
        refused_before_running(&w, "is a symlink inside the project");
    }
    let w = world();
    repo(&w, "[core]\n\thooksPath = .\n");
    refused_before_running(&w, "is the project directory itself");

    // An included config that is a symlink in the project: refused.
    let w = world();
    repo(&w, "[include]\n\tpath = ../link.gitconfig\n");
    std::fs::write(w.project.join("real.gitconfig"), "[user]\n").unwrap();
    std::os::unix::fs::symlink("real.gitconfig", w.project.join("link.gitconfig")).unwrap();
    refused_before_running(&w, "is a symlink");
}

#[test]
fn opening_a_tcp_socket_fails() {
    let w = world();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    script(
        &w,
        "t.sh",
        "exec 3>/dev/tcp/127.0.0.1/$1 && echo connected\n",
    );
    let out = run(&w, &format!("bash ./t.sh {port}"), b"");
    assert_ne!(out.status.code(), Some(0));
    assert!(!text(&out.stdout).contains("connected"));
    let err = text(&out.stderr);
    assert!(
        err.contains("not permitted") || err.contains("not supported") || err.contains("denied"),
        "stderr: {err}"
    );
    assert!(
        listener.accept().is_err(),
        "the listener must not see a connection"
    );
}

#[test]
fn refused_commands_do_not_run() {
    let w = world();
    let marker = w.project.join("ran");
    let out = run(&w, &format!("touch {} && sudo id", marker.display()), b"");
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("privilege.escalation"),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(!marker.exists(), "nothing of a refused command runs");
    let log = std::fs::read_to_string(w.outside.join("audit.jsonl")).unwrap();
    assert!(log
        .lines()
        .any(|l| l.contains("\"mode\":\"run\"") && l.contains("\"deny\"")));
}

#[test]
fn project_root_must_not_contain_home() {
    let w = world();
    let out = common::bin()
        .args([
            "run",
            "--cwd",
            w.home.to_str().unwrap(),
            "--audit-log",
            w.outside.join("a.jsonl").to_str().unwrap(),
            "--",
            "true",
        ])
        .env("HOME", &w.home)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(125),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).is_empty());
}

/// With trusted remotes in the policy, the command's only way out is
/// shellgate's proxy: a trusted host is reached, an untrusted one is refused
/// and named in the audit record, and a direct connection finds nothing.
#[test]
fn network_reaches_only_trusted_remotes() {
    let have_curl = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("curl").is_file()));
    if !have_curl {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let w = world();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let served = std::thread::spawn(move || {
        let mut hits = 0;
        server.set_nonblocking(false).unwrap();
        // One request is expected; a second would be a leak, counted
        // after the run by connecting once more ourselves.
        while let Ok((mut s, _)) = server.accept() {
            let mut buf = [0u8; 4096];
            let n = std::io::Read::read(&mut s, &mut buf).unwrap_or(0);
            if n == 0 || buf.starts_with(b"QUIT") {
                break;
            }
            hits += 1;
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
        }
        hits
    });
    let config = w.home.join(".config/shellgate");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("policy.toml"),
        format!(
            "[environment]\ntrusted_remotes = [\"localhost\"]\n\
             [sandbox]\nnetwork_ports = [{port}]\nnetwork_addresses = [\"127.0.0.1\"]\n"
        ),
    )
    .unwrap();
    script(
        &w,
        "n.sh",
        "curl -sS --max-time 10 --noproxy '' http://localhost:$1/ok\n\
         curl -fsS --max-time 10 --noproxy '' http://evil.test:$1/no && echo LEAK\n\
         curl -sS --max-time 5 --noproxy '*' http://127.0.0.1:$1/direct && echo LEAK\n\
         echo end\n",
    );
    let out = run(&w, &format!("bash ./n.sh {port}"), b"");
    let stdout = text(&out.stdout);
    assert_eq!(stdout, "hello\nend\n", "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused evil.test"),
        "stderr: {}",
        text(&out.stderr)
    );
    std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap()
        .write_all(b"QUIT")
        .unwrap();
    assert_eq!(served.join().unwrap(), 1, "exactly the trusted request");
    let (_, exit) = exit_record(&w);
    let refused = exit["network_refused"].as_array().unwrap();
    assert!(
        refused.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.starts_with(&format!("evil.test:{port}")))),
        "{exit}"
    );
}
