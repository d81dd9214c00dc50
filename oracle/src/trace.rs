//! Reads an `strace -f -y` log into [`Event`]s.
//!
//! Each line is `PID SYSCALL(ARGS) = RESULT`; a call another process
//! interrupted is split into `... <unfinished ...>` and
//! `<... NAME resumed>...` lines, joined here per process. With `-y` a file
//! descriptor is printed with the path it refers to (`3</home/dev>`,
//! `AT_FDCWD</tmp>`), so relative paths resolve without tracking `chdir`.
//! Strings are C-escaped (`\n`, `\"`, octal `\NNN`, hex `\xNN`).
//! Source: strace(1), "-y", "-f", and the output format section.

use std::collections::HashMap;
use std::net::IpAddr;

use shellgate_parsers::join_path;

/// One system call of interest, with its paths resolved to absolute ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `execve`/`execveat`: the program path and argv; `ok` when it ran.
    Exec {
        /// Process id (in the jail's PID namespace).
        pid: u32,
        /// The path passed to `execve`, resolved against the caller's cwd.
        path: String,
        /// The argument vector.
        argv: Vec<String>,
        /// True when the call succeeded.
        ok: bool,
    },
    /// An `open`/`openat`/`creat` that succeeded or failed.
    Open {
        /// Process id of the caller (in the jail's PID namespace).
        pid: u32,
        /// The path as resolved from the call's arguments.
        path: String,
        /// The file the returned descriptor refers to (symlinks resolved);
        /// `None` when the call failed.
        opened: Option<String>,
        /// `O_WRONLY` or `O_RDWR` (or `creat`).
        write: bool,
        /// `O_TRUNC` (or `creat`).
        truncate: bool,
        /// `O_CREAT`.
        create: bool,
        /// `O_DIRECTORY`: a directory opened to list or walk it.
        directory: bool,
    },
    /// `unlink`, `unlinkat`, `rmdir`, or the source of a rename: `path` was
    /// (or would have been) removed from its directory.
    Remove {
        /// The absolute path removed.
        path: String,
        /// The errno name when it failed (`EROFS`, `ENOENT` …).
        error: Option<String>,
    },
    /// The target of a rename: a file was put at `path`.
    RenameTo {
        /// The absolute destination path.
        path: String,
    },
    /// `chmod`/`fchmodat`/`fchmod` with the mode bits requested.
    Chmod {
        /// The absolute path.
        path: String,
        /// The mode as passed (octal in the trace).
        mode: u32,
        /// The errno name when it failed.
        error: Option<String>,
    },
    /// `chown`/`fchownat`/`lchown`/`fchown`.
    Chown {
        /// The absolute path.
        path: String,
        /// The errno name when it failed.
        error: Option<String>,
    },
    /// `connect` to an IPv4 or IPv6 address.
    Connect {
        /// The address.
        ip: IpAddr,
        /// The port.
        port: u16,
    },
    /// A name looked up in DNS: a query sent to any address.
    DnsQuery {
        /// The queried name, lower-case, without the trailing dot.
        name: String,
    },
}

/// Parses a whole trace. Lines that are not system calls (signals, exits)
/// or are calls of no interest are skipped; a line that cannot be read is
/// skipped too (the trace is evidence, not input to trust).
pub fn parse(text: &str, start_cwd: &str) -> Vec<Event> {
    let mut pending: HashMap<u32, String> = HashMap::new();
    // Each process's working directory, for the calls that take a path
    // relative to it without a descriptor (`unlink`, `open`, `execve` …):
    // inherited at fork/clone, changed by `chdir`/`fchdir`.
    let mut cwds: HashMap<u32, String> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pid, rest)) = split_pid(line) else {
            continue;
        };
        let call = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid, head.to_string());
            continue;
        } else if let Some(after) = rest.strip_prefix("<... ") {
            let Some((_, tail)) = after.split_once(" resumed>") else {
                continue;
            };
            match pending.remove(&pid) {
                Some(head) => format!("{head}{tail}"),
                None => continue,
            }
        } else {
            rest.to_string()
        };
        let cwd = cwds
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| start_cwd.to_string());
        if let Some(c) = split_call(&call) {
            let ok = error(c.result).is_none();
            match c.name {
                "clone" | "clone3" | "fork" | "vfork" if ok => {
                    if let Ok(child) = c
                        .result
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .parse::<u32>()
                    {
                        cwds.insert(child, cwd.clone());
                    }
                }
                "chdir" if ok => {
                    if let Some(p) = c.args.first().and_then(|a| c_string(a)) {
                        cwds.insert(pid, join_path(&cwd, &p));
                    }
                }
                "fchdir" if ok => {
                    if let Some(p) = c.args.first().and_then(|a| fd_path(a)) {
                        cwds.insert(pid, p);
                    }
                }
                _ => {}
            }
        }
        if let Some(ev) = event(pid, &cwd, &call) {
            out.extend(ev);
        }
    }
    out
}

fn split_pid(line: &str) -> Option<(u32, &str)> {
    let (pid, rest) = line.split_once(' ')?;
    Some((pid.parse().ok()?, rest.trim_start()))
}

/// A call split into its name, top-level arguments and result.
struct Call<'a> {
    name: &'a str,
    args: Vec<&'a str>,
    /// The text after ` = `: `0`, `3</path>`, `-1 ENOENT (No such file …)`.
    result: &'a str,
}

fn split_call(text: &str) -> Option<Call<'_>> {
    let open = text.find('(')?;
    let name = &text[..open];
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let body = &text[open + 1..];
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    let mut args = Vec::new();
    let mut start = 0;
    let mut end = None;
    for (i, c) in body.char_indices() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ')' if depth == 0 => {
                args.push(body[start..i].trim());
                end = Some(i);
                break;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let end = end?;
    let result = body[end + 1..].trim_start().strip_prefix('=')?.trim();
    if args.len() == 1 && args[0].is_empty() {
        args.clear();
    }
    Some(Call { name, args, result })
}

/// The errno name of a failed call, `None` on success.
fn error(result: &str) -> Option<String> {
    let rest = result.strip_prefix('-')?;
    let mut parts = rest.split_whitespace();
    parts.next()?;
    Some(parts.next().unwrap_or("error").to_string())
}

/// Unescapes one C string as strace prints it (`"…"`, maybe followed by
/// `...` when truncated). `None` if `text` is not a string.
pub fn c_string(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.strip_suffix("...").unwrap_or(text);
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(String::from_utf8_lossy(&unescape(inner)).into_owned())
}

/// The bytes of a C-escaped string body.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' => {
                let hex: String = s[i + 1..].chars().take(2).collect();
                if let Ok(v) = u8::from_str_radix(&hex, 16) {
                    out.push(v);
                    i += hex.len();
                }
            }
            b'0'..=b'7' => {
                let mut v: u32 = 0;
                let mut n = 0;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
                continue;
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// The path inside `3</path>` or `AT_FDCWD</path>`.
fn fd_path(arg: &str) -> Option<String> {
    let start = arg.find("</")?;
    let inner = arg[start + 1..].strip_suffix('>')?;
    Some(String::from_utf8_lossy(&unescape(inner)).into_owned())
}

/// `path` made absolute against the directory `dirfd` names, with `.` and
/// `..` removed lexically (symlinks are not resolved).
fn resolve(dirfd: Option<&str>, path: &str) -> String {
    let base = dirfd.and_then(fd_path).unwrap_or_else(|| "/".into());
    join_path(&base, path)
}

/// The `[ "a", "b" ]` array of an `execve` argv.
fn string_array(arg: &str) -> Vec<String> {
    let inner = arg
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches("...");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut esc = false;
    for c in inner.chars() {
        if in_str {
            cur.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => {
                    in_str = false;
                    if let Some(s) = c_string(&cur) {
                        out.push(s);
                    }
                    cur.clear();
                }
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
            cur.push(c);
        }
    }
    out
}

fn mode(arg: &str) -> Option<u32> {
    let a = arg.trim();
    if let Some(oct) = a.strip_prefix('0') {
        if oct.is_empty() {
            return Some(0);
        }
        return u32::from_str_radix(oct, 8).ok();
    }
    a.parse().ok()
}

fn event(pid: u32, cwd: &str, text: &str) -> Option<Vec<Event>> {
    let call = split_call(text)?;
    let a = &call.args;
    let err = error(call.result);
    let ok = err.is_none();
    let arg = |i: usize| a.get(i).copied();
    let one = |e| Some(vec![e]);
    match call.name {
        "execve" => one(Event::Exec {
            pid,
            path: join_path(cwd, &c_string(arg(0)?)?),
            argv: string_array(arg(1)?),
            ok,
        }),
        "execveat" => one(Event::Exec {
            pid,
            path: resolve(arg(0), &c_string(arg(1)?)?),
            argv: string_array(arg(2)?),
            ok,
        }),
        "open" | "openat" | "creat" => {
            let (path, flags) = match call.name {
                "openat" => (resolve(arg(0), &c_string(arg(1)?)?), arg(2)?),
                "open" => (join_path(cwd, &c_string(arg(0)?)?), arg(1)?),
                _ => (
                    join_path(cwd, &c_string(arg(0)?)?),
                    "O_WRONLY|O_CREAT|O_TRUNC",
                ),
            };
            let has = |f: &str| flags.split('|').any(|x| x.trim() == f);
            one(Event::Open {
                pid,
                path,
                opened: if ok { fd_path(call.result) } else { None },
                write: has("O_WRONLY") || has("O_RDWR"),
                truncate: has("O_TRUNC"),
                create: has("O_CREAT"),
                directory: has("O_DIRECTORY"),
            })
        }
        "unlink" | "rmdir" => one(Event::Remove {
            path: join_path(cwd, &c_string(arg(0)?)?),
            error: err,
        }),
        "unlinkat" => one(Event::Remove {
            path: resolve(arg(0), &c_string(arg(1)?)?),
            error: err,
        }),
        "rename" | "renameat" | "renameat2" => {
            let (from, to) = if call.name == "rename" {
                (
                    join_path(cwd, &c_string(arg(0)?)?),
                    join_path(cwd, &c_string(arg(1)?)?),
                )
            } else {
                (
                    resolve(arg(0), &c_string(arg(1)?)?),
                    resolve(arg(2), &c_string(arg(3)?)?),
                )
            };
            let mut v = vec![Event::Remove {
                path: from,
                error: err.clone(),
            }];
            if ok {
                v.push(Event::RenameTo { path: to });
            }
            Some(v)
        }
        "chmod" => one(Event::Chmod {
            path: join_path(cwd, &c_string(arg(0)?)?),
            mode: mode(arg(1)?)?,
            error: err,
        }),
        "fchmodat" | "fchmodat2" => one(Event::Chmod {
            path: resolve(arg(0), &c_string(arg(1)?)?),
            mode: mode(arg(2)?)?,
            error: err,
        }),
        "fchmod" => one(Event::Chmod {
            path: fd_path(arg(0)?)?,
            mode: mode(arg(1)?)?,
            error: err,
        }),
        "chown" | "lchown" => one(Event::Chown {
            path: join_path(cwd, &c_string(arg(0)?)?),
            error: err,
        }),
        "fchownat" => one(Event::Chown {
            path: resolve(arg(0), &c_string(arg(1)?)?),
            error: err,
        }),
        "fchown" => one(Event::Chown {
            path: fd_path(arg(0)?)?,
            error: err,
        }),
        "connect" => {
            let (ip, port) = sockaddr(arg(1)?)?;
            one(Event::Connect { ip, port })
        }
        "sendto" | "sendmsg" | "sendmmsg" | "write" => {
            let names: Vec<Event> = quoted_strings(text)
                .into_iter()
                .filter_map(|bytes| dns_question(&bytes))
                .map(|name| Event::DnsQuery { name })
                .collect();
            (!names.is_empty()).then_some(names)
        }
        _ => None,
    }
}

/// An IPv4/IPv6 `sockaddr` as strace prints it.
fn sockaddr(arg: &str) -> Option<(IpAddr, u16)> {
    let port_at = arg.find("port=htons(")? + "port=htons(".len();
    let port: u16 = arg[port_at..].split(')').next()?.parse().ok()?;
    let ip_text = if let Some(at) = arg.find("inet_addr(\"") {
        arg[at + 11..].split('"').next()?
    } else {
        let at = arg.find("inet_pton(AF_INET6, \"")? + "inet_pton(AF_INET6, \"".len();
        arg[at..].split('"').next()?
    };
    Some((ip_text.parse().ok()?, port))
}

/// Every `"…"` string in a line, unescaped to bytes.
fn quoted_strings(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let body = &rest[start + 1..];
        let mut esc = false;
        let mut end = None;
        for (i, c) in body.char_indices() {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        out.push(unescape(&body[..end]));
        rest = &body[end + 1..];
    }
    out
}

/// The question name of a DNS query message (RFC 1035, 4.1): a 12-byte
/// header with QR = 0 and one question, then length-prefixed labels.
pub fn dns_question(msg: &[u8]) -> Option<String> {
    if msg.len() < 17 || msg[2] & 0x80 != 0 || msg[4..6] != [0, 1] {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(i)? as usize;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = msg.get(i + 1..i + 1 + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        i += 1 + len;
    }
    // QTYPE and QCLASS follow the name.
    msg.get(i + 1..i + 5)?;
    (!labels.is_empty()).then(|| labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_calls_of_interest() {
        let log = r#"6     execve("/usr/bin/rm", ["rm", "-rf", "/home/dev/.netrc"], 0x558b /* 35 vars */) = 0
6     unlinkat(AT_FDCWD</tmp>, "/home/dev/.netrc", 0) = 0
6     unlinkat(4</usr/lib>, "x\"y", AT_REMOVEDIR) = -1 EROFS (Read-only file system)
7     openat(AT_FDCWD</home/dev/project>, "../.ssh/id_rsa", O_RDONLY) = 3</home/dev/.ssh/id_rsa>
7     openat(AT_FDCWD</tmp>, ".bashrc", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EACCES (Permission denied)
5     connect(3<socket:[633903]>, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("198.51.100.3")}, 16) = -1 ENETUNREACH (Network is unreachable)
11    execve("/usr/bin/sh", ["sh"], 0x558b /* 35 vars */ <unfinished ...>
12    fchmodat(AT_FDCWD</p>, "./tool", 06755) = 0
11    <... execve resumed>)             = 0
13    renameat2(AT_FDCWD</p>, "a", AT_FDCWD</q>, "b", RENAME_NOREPLACE) = 0
14    connect(3<socket:[1]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH
15    --- SIGCHLD {si_signo=SIGCHLD} ---
15    +++ exited with 0 +++
"#;
        let ev = parse(log, "/start");
        assert_eq!(
            ev,
            vec![
                Event::Exec {
                    pid: 6,
                    path: "/usr/bin/rm".into(),
                    argv: vec!["rm".into(), "-rf".into(), "/home/dev/.netrc".into()],
                    ok: true
                },
                Event::Remove {
                    path: "/home/dev/.netrc".into(),
                    error: None
                },
                Event::Remove {
                    path: "/usr/lib/x\"y".into(),
                    error: Some("EROFS".into())
                },
                Event::Open {
                    pid: 7,
                    path: "/home/dev/.ssh/id_rsa".into(),
                    opened: Some("/home/dev/.ssh/id_rsa".into()),
                    write: false,
                    truncate: false,
                    create: false,
                    directory: false
                },
                Event::Open {
                    pid: 7,
                    path: "/tmp/.bashrc".into(),
                    opened: None,
                    write: true,
                    truncate: true,
                    create: true,
                    directory: false
                },
                Event::Connect {
                    ip: "198.51.100.3".parse().unwrap(),
                    port: 80
                },
                Event::Chmod {
                    path: "/p/tool".into(),
                    mode: 0o6755,
                    error: None
                },
                Event::Exec {
                    pid: 11,
                    path: "/usr/bin/sh".into(),
                    argv: vec!["sh".into()],
                    ok: true
                },
                Event::Remove {
                    path: "/p/a".into(),
                    error: None
                },
                Event::RenameTo {
                    path: "/q/b".into()
                },
                Event::Connect {
                    ip: "2001:db8::1".parse().unwrap(),
                    port: 443
                },
            ]
        );
    }

    #[test]
    fn dns_queries_are_read_from_what_is_sent() {
        // A query for evil.example, type A, as glibc sends it.
        let line = r#"9 sendmmsg(3<socket:[1]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\x12\x34\1\0\0\1\0\0\0\0\0\0\4evil\7example\0\0\1\0\1", iov_len=30}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=30}], 1, MSG_NOSIGNAL) = 1"#;
        assert_eq!(
            parse(line, "/"),
            vec![Event::DnsQuery {
                name: "evil.example".into()
            }]
        );
        // Ordinary output is not a query.
        assert!(parse(r#"9 write(1</dev/pts/0>, "hello\n", 6) = 6"#, "/").is_empty());
    }

    /// Paths relative to the working directory follow `chdir` and are
    /// inherited by children.
    #[test]
    fn working_directories() {
        let log = r#"5 chdir("sub") = 0
5 clone(child_stack=NULL, flags=SIGCHLD) = 6
6 unlink("a") = 0
5 fchdir(3</etc>) = 0
5 rmdir("b") = -1 EROFS (Read-only file system)
7 unlink("c") = 0
"#;
        assert_eq!(
            parse(log, "/p"),
            vec![
                Event::Remove {
                    path: "/p/sub/a".into(),
                    error: None
                },
                Event::Remove {
                    path: "/etc/b".into(),
                    error: Some("EROFS".into())
                },
                Event::Remove {
                    path: "/p/c".into(),
                    error: None
                },
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(c_string(r#""a\tb\\c\"d\x41\101""#).unwrap(), "a\tb\\c\"dAA");
        assert_eq!(c_string(r#""long"..."#).unwrap(), "long");
        assert_eq!(join_path("/", "/a/./b/../../c//d"), "/c/d");
    }
}
