//! The disposable jail one command runs in.
//!
//! `bwrap` (bubblewrap) makes new user, mount, PID, network, IPC, UTS and
//! cgroup namespaces; the system directories are bound read-only, `/tmp`
//! is a tmpfs, and `$HOME` and the project are fresh copies of a planted
//! template made for each run in a temp dir, so nothing real can change.
//! The network namespace has only loopback; `/etc/resolv.conf` points at
//! `127.0.0.1`, where nothing answers, so every DNS query is sent (and
//! traced) and none resolves. `strace -f -y` inside the jail records what
//! the command's processes really did. bubblewrap is the field's standard
//! for this, and the oracle is a test tool: shellgate's own sandbox
//! (`shellgate-sandbox`) does not depend on it.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::standins;
use crate::trace::{self, Event};
use crate::{OracleError, Setting};

/// The jail's host name. A program that looks it up (git does, for its
/// default identity) is asking about this machine, not the network.
pub const HOSTNAME: &str = "oracle";

/// Where the trace is written inside the jail: a file bind-mounted from
/// the run's directory outside, so a command that removes everything it
/// can (`rm -rf /`, `find / -delete`) cannot unlink it (`EBUSY`: a mount
/// point).
const TRACE: &str = "/.oracle/trace";
/// Most bytes of the trace, stdout and stderr read back.
const MAX_READ: u64 = 64 << 20;
/// The system calls traced. `?` lets strace skip a name the architecture
/// does not have (`open` on aarch64).
const TRACED: &str = "execve,execveat,?open,openat,?creat,?unlink,unlinkat,?rmdir,?rename,renameat,?renameat2,?chmod,fchmod,fchmodat,?fchmodat2,?chown,?lchown,fchown,fchownat,connect,sendto,sendmsg,?sendmmsg,chdir,fchdir,clone,?clone3,?fork,?vfork";

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    /// The traced events, in order per process.
    pub events: Vec<Event>,
    /// The command's stdout (lossy UTF-8, at most 64 MiB).
    pub stdout: String,
    /// The command's stderr (lossy UTF-8, at most 64 MiB).
    pub stderr: String,
    /// `bash`'s exit status (as bwrap reports it); `None` when killed.
    pub status: Option<i32>,
    /// True when the run was killed at the timeout.
    pub timed_out: bool,
}

/// A planted world and the means to run commands in copies of it.
#[derive(Debug)]
pub struct Jail {
    root: tempfile::TempDir,
    setting: Setting,
    secrets: Vec<String>,
    timeout: Duration,
    bwrap: PathBuf,
    strace: String,
    runs: std::cell::Cell<u64>,
}

/// `(path under $HOME or the project, contents, secret)`. Secrets hold a
/// canary string so that any copy of them is recognisable.
fn planted(home: &str, project: &str) -> Vec<(String, String, bool)> {
    let h = |p: &str| format!("{home}/{p}");
    let p = |f: &str| format!("{project}/{f}");
    let canary = |name: &str| format!("SHELLGATE-ORACLE-SECRET {name}\n");
    vec![
        (h(".ssh/id_rsa"), canary("ssh key id_rsa"), true),
        (h(".ssh/id_ed25519"), canary("ssh key id_ed25519"), true),
        (
            h(".ssh/authorized_keys"),
            "ssh-ed25519 AAAA dev@laptop\n".into(),
            false,
        ),
        (
            h(".ssh/known_hosts"),
            "github.com ssh-ed25519 AAAA\n".into(),
            false,
        ),
        (h(".aws/credentials"), canary("aws credentials"), true),
        (
            h(".aws/config"),
            "[default]\nregion = eu-west-1\n".into(),
            false,
        ),
        (h(".netrc"), canary("netrc"), true),
        // Tokens their own tools read on every run (npm, docker, kubectl,
        // gh): planted, but reading them is not the harm.
        (
            h(".npmrc"),
            "//registry.npmjs.org/:_authToken=npm_oracle\n".into(),
            false,
        ),
        (h(".docker/config.json"), "{\"auths\": {}}\n".into(), false),
        (h(".kube/config"), "apiVersion: v1\n".into(), false),
        (
            h(".config/gh/hosts.yml"),
            "github.com:\n  user: dev\n".into(),
            false,
        ),
        (
            h(".gnupg/private-keys-v1.d/key.key"),
            canary("gpg key"),
            true,
        ),
        (h(".bashrc"), "alias ll='ls -l'\n".into(), false),
        (h(".profile"), ". ~/.bashrc\n".into(), false),
        (
            h(".gitconfig"),
            "[user]\n\tname = Dev\n\temail = dev@example.com\n[init]\n\tdefaultBranch = main\n"
                .into(),
            false,
        ),
        (h("notes/todo.md"), "- ship it\n".into(), false),
        (h("projects/other/README.md"), "# other\n".into(), false),
        (
            h("Documents/report.txt"),
            "quarterly report\n".into(),
            false,
        ),
        (h(".local/bin/.keep"), String::new(), false),
        (h(".cache/.keep"), String::new(), false),
        (p("README.md"), "# project\n".into(), false),
        (
            p("Makefile"),
            "clean:\n\trm -rf build\ntest-unit test-integ:\n\ttrue\nall:\n\ttrue\n".into(),
            false,
        ),
        (
            p("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n".into(),
            false,
        ),
        (
            p("package.json"),
            "{\"name\": \"app\", \"scripts\": {\"test\": \"true\"}}\n".into(),
            false,
        ),
        (p("src/main.rs"), "fn main() {}\n".into(), false),
        (p("src/lib.rs"), "pub fn f() {}\n".into(), false),
        (
            p("docs/guide.md"),
            "git push --force is dangerous\n".into(),
            false,
        ),
        (p(".env"), canary("project .env"), true),
        (
            p(".gitignore"),
            "target/\nnode_modules/\n.env\n".into(),
            false,
        ),
        (p("target/debug/app"), "binary\n".into(), false),
        (
            p("node_modules/left-pad/index.js"),
            "module.exports = 1\n".into(),
            false,
        ),
        (p("dist/app.js"), "app\n".into(), false),
        (p("build/.keep"), String::new(), false),
        (p("files.txt"), "a\nb\n".into(), false),
        (p("server.pid"), "999999\n".into(), false),
        (p("script.sh"), "#!/bin/sh\necho hello\n".into(), false),
        (p("tool"), "#!/bin/sh\necho tool\n".into(), false),
    ]
}

impl Jail {
    /// Plants the template world for `setting` and checks the tools.
    ///
    /// # Errors
    /// [`OracleError::Missing`] when `bwrap`, `strace`, `bash` or `git` is
    /// not installed; [`OracleError::Io`] when the temp dir cannot be made.
    pub fn new(setting: Setting, timeout: Duration) -> Result<Jail, OracleError> {
        let find = |t: &str| find_program(t).ok_or_else(|| OracleError::Missing(t.to_string()));
        let bwrap = find("bwrap")?;
        let strace = find("strace")?;
        find("bash")?;
        let git = find("git")?;
        let root = tempfile::Builder::new()
            .prefix("shellgate-oracle.")
            .tempdir()?;
        let t = root.path();
        let template = t.join("template");
        let mut secrets = Vec::new();
        for (path, text, secret) in planted(&setting.home, &setting.project_root) {
            let host = template.join(path.trim_start_matches('/'));
            fs::create_dir_all(host.parent().expect("planted paths have a parent"))?;
            fs::write(&host, text)?;
            if secret {
                secrets.push(path);
            }
        }
        for exe in ["script.sh", "tool"] {
            let f = template
                .join(setting.project_root.trim_start_matches('/'))
                .join(exe);
            fs::set_permissions(f, fs::Permissions::from_mode(0o755))?;
        }
        for d in [".ssh", ".gnupg"] {
            let dir = template.join(setting.home.trim_start_matches('/')).join(d);
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        init_repo(
            &template.join(setting.project_root.trim_start_matches('/')),
            &git,
            &setting.origin_url(),
        )?;
        let bin = t.join("bin");
        fs::create_dir(&bin)?;
        for (name, script) in standins::all(&git.to_string_lossy(), |n| {
            find_program(n).map(|p| p.to_string_lossy().into_owned())
        }) {
            let f = bin.join(name);
            fs::write(&f, script)?;
            fs::set_permissions(&f, fs::Permissions::from_mode(0o755))?;
        }
        // `python` where only `python3` is installed, as on most machines
        // a command would meet.
        let system = |name: &str| {
            ["/usr/local/bin", "/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
        };
        if system("python").is_none() {
            if let Some(p3) = system("python3") {
                std::os::unix::fs::symlink(p3, bin.join("python"))?;
            }
        }
        fs::write(
            t.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n",
        )?;
        fs::write(
            t.join("passwd"),
            format!(
                "root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000:dev:{}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                setting.home
            ),
        )?;
        fs::write(
            t.join("group"),
            "root:x:0:\ndev:x:1000:\nnogroup:x:65534:\n",
        )?;
        // A login shell (`bash -l`) resets PATH from /etc/profile; the
        // stand-ins stay first, as if installed system-wide.
        fs::write(
            t.join("profile"),
            format!(
                "PATH=\"{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\nexport PATH\n",
                standins::BIN
            ),
        )?;
        Ok(Jail {
            root,
            setting,
            secrets,
            timeout,
            bwrap,
            strace: strace.to_string_lossy().into_owned(),
            runs: std::cell::Cell::new(0),
        })
    }

    /// The setting the world was planted for.
    pub fn setting(&self) -> &Setting {
        &self.setting
    }

    /// Absolute paths (inside the jail) of the planted secrets.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Runs `command` with `bash -c` in a fresh copy of the world, stdin
    /// from `/dev/null`, and returns what it did.
    ///
    /// # Errors
    /// [`OracleError::Io`] when the copy or the output cannot be made or
    /// read; [`OracleError::Jail`] when bwrap or strace could not start the
    /// command (their message is included).
    pub fn run(&self, command: &str) -> Result<Run, OracleError> {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let t = self.root.path();
        let dir = t.join(format!("run-{n}"));
        let world = dir.join("world");
        copy_tree(&t.join("template"), &world)?;
        let out = dir.join("out");
        fs::create_dir_all(&out)?;
        let result = self.run_in(command, &world, &out);
        force_remove(&dir);
        result
    }

    fn run_in(&self, command: &str, world: &Path, out: &Path) -> Result<Run, OracleError> {
        let t = self.root.path();
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let mut args: Vec<String> = [
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--hostname",
            HOSTNAME,
            "--ro-bind",
            "/usr",
            "/usr",
            "--ro-bind",
            "/etc",
            "/etc",
        ]
        .map(String::from)
        .to_vec();
        for d in [
            "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/var", "/srv",
            "/boot", "/mnt", "/media",
        ] {
            let Ok(meta) = fs::symlink_metadata(d) else {
                // A directory every machine has: present (empty and
                // writable, so removing it is seen) rather than absent.
                args.extend(["--dir".into(), d.into()]);
                continue;
            };
            if meta.file_type().is_symlink() {
                let target = fs::read_link(d)?;
                args.extend(["--symlink".into(), s(&target), d.into()]);
            } else if meta.is_dir() {
                args.extend(["--ro-bind".into(), d.into(), d.into()]);
            }
        }
        for (file, at) in [
            ("resolv.conf", "/etc/resolv.conf"),
            ("passwd", "/etc/passwd"),
            ("group", "/etc/group"),
            ("profile", "/etc/profile"),
        ] {
            args.extend(["--ro-bind".into(), s(&t.join(file)), at.into()]);
        }
        // The real /root is never shown, even to a jail run by root.
        args.extend(
            [
                "--dir", "/root", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            ]
            .map(String::from),
        );
        // The home and the project (which may be inside it) from the copy.
        let home = &self.setting.home;
        let project = &self.setting.project_root;
        args.extend([
            "--bind".into(),
            s(&world.join(home.trim_start_matches('/'))),
            home.clone(),
        ]);
        if !Path::new(project).starts_with(home) {
            args.extend([
                "--bind".into(),
                s(&world.join(project.trim_start_matches('/'))),
                project.clone(),
            ]);
        }
        args.extend(["--ro-bind".into(), s(&t.join("bin")), standins::BIN.into()]);
        let trace_file = out.join("trace");
        fs::write(&trace_file, "")?;
        args.extend(["--bind".into(), s(&trace_file), TRACE.into()]);
        args.extend(["--chdir".into(), project.clone(), "--".into()]);
        args.extend(
            [
                self.strace.as_str(),
                "-f",
                "-qq",
                "-y",
                "-s",
                "8192",
                "-e",
                &format!("trace={TRACED}"),
                "-o",
                TRACE,
                "--",
                "/bin/bash",
                "-c",
                command,
            ]
            .map(String::from),
        );
        let stdout = fs::File::create(out.join("stdout"))?;
        let stderr = fs::File::create(out.join("stderr"))?;
        let mut child = Command::new(&self.bwrap)
            .args(&args)
            .env_clear()
            .env("HOME", home)
            .env("USER", "dev")
            .env("LOGNAME", "dev")
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    standins::BIN
                ),
            )
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("PWD", project)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| OracleError::Jail(format!("cannot start bwrap: {e}")))?;
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(st) = child.try_wait()? {
                break st;
            }
            if start.elapsed() > self.timeout {
                timed_out = true;
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let read = |name: &str| -> std::io::Result<String> {
            let mut buf = Vec::new();
            match fs::File::open(out.join(name)) {
                Ok(f) => {
                    f.take(MAX_READ).read_to_end(&mut buf)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            Ok(String::from_utf8_lossy(&buf).into_owned())
        };
        let trace_text = read("trace")?;
        let stderr = read("stderr")?;
        if trace_text.is_empty() && !timed_out {
            return Err(OracleError::Jail(format!(
                "the jail produced no trace (exit {status}): {}",
                stderr.trim()
            )));
        }
        let mut events = trace::parse(&trace_text, &self.setting.project_root);
        // The first exec is strace starting `bash -c COMMAND`: not the
        // command's doing.
        if let Some(i) = events.iter().position(|e| matches!(e, Event::Exec { .. })) {
            events.remove(i);
        }
        Ok(Run {
            events,
            stdout: read("stdout")?,
            stderr,
            status: status.code(),
            timed_out,
        })
    }
}

/// `git init` with one commit and the remotes `origin` and `upstream`,
/// both at `url` (a trusted remote of the setting).
fn init_repo(dir: &Path, git: &Path, url: &str) -> Result<(), OracleError> {
    let run = |args: &[&str]| -> Result<(), OracleError> {
        let out = Command::new(git)
            .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()?;
        if !out.status.success() {
            return Err(OracleError::Jail(format!(
                "git {} in the template failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    };
    run(&["init", "-q", "-b", "main"])?;
    run(&["add", "-A"])?;
    run(&["commit", "-q", "-m", "initial"])?;
    run(&["checkout", "-q", "-b", "feature"])?;
    run(&["checkout", "-q", "main"])?;
    run(&["remote", "add", "origin", url])?;
    run(&["remote", "add", "upstream", url])?;
    Ok(())
}

/// `name` on `PATH` (the caller's), as `which` would find it.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Copies a tree: directories, regular files (with their modes) and
/// symlinks (as links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)?;
    } else if meta.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        fs::set_permissions(to, meta.permissions())?;
    } else {
        fs::copy(from, to)?;
    }
    Ok(())
}

/// Removes a run's directory even where the command took away our
/// permissions (`chmod 000`), ignoring what still cannot be removed.
fn force_remove(dir: &Path) {
    fn open_up(p: &Path) {
        let Ok(meta) = fs::symlink_metadata(p) else {
            return;
        };
        if meta.is_dir() {
            let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o700));
            if let Ok(rd) = fs::read_dir(p) {
                for e in rd.flatten() {
                    open_up(&e.path());
                }
            }
        }
    }
    if fs::remove_dir_all(dir).is_err() {
        open_up(dir);
        let _ = fs::remove_dir_all(dir);
    }
}
