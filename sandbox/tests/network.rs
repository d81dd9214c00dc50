//! The network escape suite: a command with network gets a namespace of
//! its own whose only way out is shellgate's filtering proxy.
//!
//! Every test works inside its own temp dirs. The "trusted remote" is a
//! server this test starts on the host's loopback; the proxy finds it
//! through its resolver pins (`NetworkPolicy::resolve`: `git.test` and
//! friends are never looked up in real DNS) and may reach it because the
//! test lists `127.0.0.1/32` in `NetworkPolicy::addresses`. From inside
//! the namespace, the host's loopback is a different network: the server
//! is reachable through the proxy only.

use std::fs;
use std::io::{Read, Seek, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shellgate_sandbox::{run, ChildStdio, HostPattern, NetworkPolicy, Refusal, SandboxConfig};
use tempfile::TempDir;

/// A static HTTP/1.1 file server on the host's loopback, serving `root`
/// (`Connection: close`, query strings ignored), counting requests.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let root = root.clone();
                std::thread::spawn(move || serve_file(conn, &root));
            }
        });
        Server { addr, hits }
    }
}

fn serve_file(mut conn: TcpStream, root: &Path) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split(' ').nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let file = root.join(path.trim_start_matches('/'));
    let (status, body) = match fs::read(&file) {
        Ok(b) if !path.contains("..") => ("200 OK", b),
        _ => ("404 Not Found", b"not found\n".to_vec()),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(&body);
}

struct Net {
    project: TempDir,
    served: TempDir,
    server: Server,
}

impl Net {
    fn new() -> Net {
        let served = TempDir::new().unwrap();
        fs::write(served.path().join("hello"), "hello from git.test\n").unwrap();
        let server = Server::start(served.path().to_path_buf());
        Net {
            project: TempDir::new().unwrap(),
            served,
            server,
        }
    }

    /// `git.test` (and `*.pkg.test`) pinned to the server, its port
    /// allowed, its loopback address listed; `meta.test` pinned to the
    /// metadata address and `loop6.test` to `::1`, neither listed.
    fn policy(&self) -> NetworkPolicy {
        let ip = self.server.addr.ip();
        let mut p = NetworkPolicy::new(
            ["git.test", "*.pkg.test", "meta.test", "loop6.test"]
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect(),
        );
        p.ports = vec![self.server.addr.port(), 443];
        p.addresses = vec!["127.0.0.1/32".parse().unwrap()];
        p.resolve = vec![
            ("git.test".into(), vec![ip]),
            ("a.pkg.test".into(), vec![ip]),
            ("meta.test".into(), vec!["169.254.169.254".parse().unwrap()]),
            ("loop6.test".into(), vec!["::1".parse().unwrap()]),
        ];
        p
    }

    fn run(&self, command: &str) -> (i32, String, String, Vec<Refusal>) {
        let mut config = SandboxConfig::new(self.project.path());
        config.network = Some(self.policy());
        let mut out = tempfile::tempfile().unwrap();
        let mut err = tempfile::tempfile().unwrap();
        let stdio = ChildStdio {
            stdin: Stdio::null(),
            stdout: Stdio::from(out.try_clone().unwrap()),
            stderr: Stdio::from(err.try_clone().unwrap()),
        };
        let report = run(&config, command, &[], self.project.path(), stdio)
            .unwrap_or_else(|e| panic!("sandbox refused to run {command:?}: {e}"));
        let read = |f: &mut fs::File| {
            let mut s = String::new();
            f.rewind().unwrap();
            f.read_to_string(&mut s).unwrap();
            s
        };
        (
            shellgate_sandbox::exit_code(&report.status),
            read(&mut out),
            read(&mut err),
            report.refused,
        )
    }
}

fn have(tool: &str) -> bool {
    let found = ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).is_file());
    if !found {
        eprintln!("SKIPPED: no {tool} in /usr/bin, /bin or /usr/local/bin");
    }
    found
}

/// The first action is a network call, through each of the proxy's
/// protocols: plain HTTP (absolute-form), HTTP CONNECT, SOCKS5 with the
/// name resolved by the proxy.
#[test]
fn trusted_host_is_reached_through_the_proxy() {
    if !have("curl") {
        return;
    }
    let net = Net::new();
    let port = net.server.addr.port();
    for (how, flags) in [
        ("http", ""),
        ("connect", "--proxytunnel"),
        ("socks5", "--proxy \"$ALL_PROXY\""),
    ] {
        let (code, out, err, refused) = net.run(&format!(
            "curl -sS --max-time 20 {flags} http://git.test:{port}/hello"
        ));
        assert_eq!(code, 0, "{how}: {err}");
        assert_eq!(out, "hello from git.test\n", "{how}");
        assert!(refused.is_empty(), "{how}: {refused:?}");
    }
    let (code, out, err, _) = net.run(&format!(
        "curl -sS --max-time 20 http://a.pkg.test:{port}/hello"
    ));
    assert_eq!((code, out.as_str()), (0, "hello from git.test\n"), "{err}");
}

/// What the command cannot reach: the host's loopback directly, any
/// address without the proxy, untrusted names and every disguise of one.
#[test]
fn only_trusted_names_get_out() {
    if !have("curl") {
        return;
    }
    let net = Net::new();
    let port = net.server.addr.port();
    let before = net.server.hits.load(Ordering::SeqCst);

    // Directly, the host's loopback is not this namespace's loopback.
    let (code, _, err, _) = net.run(&format!(
        "curl -sS --max-time 5 --noproxy '*' http://127.0.0.1:{port}/hello"
    ));
    assert_ne!(code, 0);
    assert!(
        err.contains("Couldn't connect") || err.contains("refused"),
        "{err}"
    );
    // Without the proxy a name does not even resolve, and no address routes.
    let (code, _, _, _) = net.run(&format!(
        "curl -sS --max-time 5 --noproxy '*' http://git.test:{port}/hello"
    ));
    assert_ne!(code, 0);
    for target in [
        "/dev/tcp/203.0.113.1/443",
        "/dev/udp/8.8.8.8/53",
        "/dev/tcp/2001:db8::1/443",
    ] {
        let (code, _, err, _) = net.run(&format!("echo x > {target} && echo sent"));
        assert_ne!(code, 0, "{target}");
        assert!(err.contains("unreachable"), "{target}: {err}");
    }

    for (host, why) in [
        ("evil.test", "not a trusted remote"),
        ("evil-git.test", "not a trusted remote"),
        ("git.test.evil.test", "not a trusted remote"),
        ("pkg.test", "not a trusted remote"),
        ("127.0.0.1", "not a trusted remote"),
        ("2130706433", "not a trusted remote"),
        ("0x7f000001", "not a trusted remote"),
        ("[::1]", "not a trusted remote"),
        ("meta.test", "link-local"),
        ("loop6.test", "loopback"),
    ] {
        for flags in ["", "--proxytunnel", "--proxy \"$ALL_PROXY\""] {
            let (code, out, _, refused) = net.run(&format!(
                "curl -fsS --max-time 10 --noproxy '' {flags} http://{host}:{port}/hello"
            ));
            assert_ne!(code, 0, "{host} {flags}: {out}");
            assert_eq!(refused.len(), 1, "{host} {flags}: {refused:?}");
            assert!(refused[0].reason.contains(why), "{host}: {refused:?}");
        }
    }
    // A trusted name on a port the policy does not list.
    let (code, _, _, refused) =
        net.run("curl -sS --max-time 10 --proxytunnel https://git.test:22/");
    assert_ne!(code, 0);
    assert!(refused[0].reason.contains("port 22"), "{refused:?}");
    // A trailing dot is the same host.
    let (code, out, err, _) = net.run(&format!(
        "curl -sS --max-time 10 http://git.test.:{port}/hello"
    ));
    assert_eq!((code, out.as_str()), (0, "hello from git.test\n"), "{err}");

    assert_eq!(
        net.server.hits.load(Ordering::SeqCst) - before,
        1,
        "only the trailing-dot request may reach the server"
    );
}

/// A test runner's own servers work inside the namespace, on IPv4 and
/// IPv6 loopback, on any port, and on a Unix socket in the project (the
/// run has a private root); raw, packet, netlink and MPTCP sockets stay
/// denied.
#[test]
fn loopback_servers_work_and_other_sockets_are_denied() {
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("SKIPPED: no system python3");
        return;
    };
    let net = Net::new();
    let script = "import errno, socket, sys\n\
        for fam, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):\n    \
            s = socket.socket(fam); s.bind((host, 0)); s.listen()\n    \
            c = socket.create_connection(s.getsockname()[:2]); a, _ = s.accept()\n    \
            c.sendall(b'ping'); assert a.recv(4) == b'ping'\n\
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 8053))\n\
        v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.sendto(b'q', ('127.0.0.1', 8053))\n\
        assert u.recv(1) == b'q'\n\
        w = socket.socket(socket.AF_UNIX); w.bind('w.sock'); w.listen()\n\
        socket.socket(socket.AF_UNIX).connect('w.sock'); w.accept()\n\
        for args, want in (((socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), errno.EPERM),\n\
                           ((socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6), errno.EPERM),\n\
                           ((socket.AF_INET, socket.SOCK_STREAM, 262), errno.EPERM),\n\
                           ((socket.AF_NETLINK, socket.SOCK_RAW, 0), errno.EAFNOSUPPORT),\n\
                           ((socket.AF_PACKET, socket.SOCK_RAW, 0), errno.EAFNOSUPPORT),\n\
                           ((40, socket.SOCK_STREAM, 0), errno.EAFNOSUPPORT)):\n    \
            try:\n        \
                socket.socket(*args); sys.exit(f'{args} allowed')\n    \
            except OSError as e:\n        \
                assert e.errno == want, (args, e)\n\
        print('ok')\n";
    fs::write(net.project.path().join("sockets.py"), script).unwrap();
    let (code, out, err, _) = net.run(&format!("{python} sockets.py"));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

/// `git clone` over HTTP from a trusted server, through the proxy
/// (git-http-fetch's "dumb" protocol over the static server).
#[test]
fn git_clone_from_a_trusted_server_works() {
    if !have("git") || !have("curl") {
        return;
    }
    let net = Net::new();
    let work = TempDir::new().unwrap();
    let git = |dir: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(work.path(), &["init", "-q", "-b", "main", "src"]);
    let src = work.path().join("src");
    fs::write(src.join("README"), "cloned through the proxy\n").unwrap();
    git(&src, &["add", "README"]);
    git(
        &src,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "one",
        ],
    );
    let bare = net.served.path().join("repo.git");
    git(
        work.path(),
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["update-server-info"]);

    let port = net.server.addr.port();
    let (code, out, err, refused) = net.run(&format!(
        "export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1; \
         git clone -q http://git.test:{port}/repo.git out && cat out/README"
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "cloned through the proxy\n");
    assert!(refused.is_empty(), "{refused:?}");
}
