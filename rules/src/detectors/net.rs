//! What network tools talk to, and what they send. Shared by the
//! exfiltration, pipe-to-shell and git detectors. Option tables follow
//! curl(1), wget(1), nc(1)/ncat(1), ssh(1), scp(1), rsync(1).

use shellgate_parsers::{Command, Word};

use super::{opt_value, option_key, parse_opts};
use crate::remote::Destination;

/// Programs that fetch URLs.
pub const DOWNLOADERS: &[&str] = &[
    "curl", "wget", "fetch", "aria2c", "http", "https", "xh", "httpie", "lynx", "links", "w3m",
];

/// Programs that open raw connections to a host.
pub const SOCKET_TOOLS: &[&str] = &["nc", "ncat", "netcat", "socat", "telnet", "openssl"];

/// Programs that resolve or probe a host name.
pub const HOST_TOOLS: &[&str] = &[
    "dig",
    "nslookup",
    "host",
    "ping",
    "ping6",
    "traceroute",
    "tracepath",
    "whois",
    "drill",
    "mtr",
];

const CURL_VALUE_SHORT: &str = "dFHoTuXAebcxwmrKEUyYzQCtPa";
const CURL_VALUE_LONG: &[&str] = &[
    "--data",
    "--data-ascii",
    "--data-binary",
    "--data-raw",
    "--data-urlencode",
    "--json",
    "--form",
    "--form-string",
    "--header",
    "--output",
    "--upload-file",
    "--user",
    "--request",
    "--user-agent",
    "--referer",
    "--cookie",
    "--cookie-jar",
    "--proxy",
    "--write-out",
    "--max-time",
    "--connect-timeout",
    "--range",
    "--config",
    "--cert",
    "--key",
    "--cacert",
    "--capath",
    "--proxy-user",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "--time-cond",
    "--resolve",
    "--connect-to",
    "--url",
    "--quote",
    "--interface",
    "--limit-rate",
    "--max-filesize",
    "--continue-at",
    "--local-port",
    "--dns-servers",
    "--oauth2-bearer",
    "--output-dir",
    "--stderr",
    "--trace",
    "--trace-ascii",
    "--unix-socket",
    "--abstract-unix-socket",
    "--proto",
    "--proto-redir",
    "--variable",
    "--expand-url",
    "--create-file-mode",
    "--ftp-port",
    "--mail-from",
    "--mail-rcpt",
    "--noproxy",
    "--pinnedpubkey",
    "--aws-sigv4",
    "--cert-type",
    "--key-type",
    "--ciphers",
    "--dump-header",
    "--upload-flags",
    "--etag-save",
    "--etag-compare",
];
const WGET_VALUE_SHORT: &str = "OoaPUetTwQlADRiI";
const WGET_VALUE_LONG: &[&str] = &[
    "--output-document",
    "--output-file",
    "--append-output",
    "--directory-prefix",
    "--user-agent",
    "--execute",
    "--tries",
    "--timeout",
    "--wait",
    "--quota",
    "--level",
    "--accept",
    "--domains",
    "--reject",
    "--input-file",
    "--include-directories",
    "--post-data",
    "--post-file",
    "--header",
    "--user",
    "--password",
    "--referer",
    "--body-data",
    "--body-file",
    "--method",
    "--load-cookies",
    "--save-cookies",
    "--ca-certificate",
    "--certificate",
    "--private-key",
    "--bind-address",
    "--limit-rate",
];

/// What a downloader command does.
#[derive(Debug, Default)]
pub struct Transfer {
    /// URLs contacted (words as seen; may be dynamic).
    pub urls: Vec<Word>,
    /// Local data sent: files (`@file`, `-T file`, `--post-file`), `-` for stdin.
    pub uploads_files: Vec<Word>,
    /// Literal data sent in the request body.
    pub sends_literal: bool,
    /// Files the response is written to.
    pub outputs: Vec<String>,
    /// The response goes to standard output.
    pub to_stdout: bool,
    /// URLs are read from a file (`wget -i`, `curl -K`): unknown destinations.
    pub unknown_destinations: bool,
    /// The HTTP method given explicitly (`curl -X`, `wget --method`), upper-cased.
    pub method: Option<String>,
}

/// Analyses a curl/wget-like command. `None` when `cmd` is not a downloader.
pub fn transfer(cmd: &Command) -> Option<Transfer> {
    let prog = cmd.program()?;
    let args = cmd.args();
    let mut t = Transfer::default();
    match prog {
        "curl" => {
            let (opts, operands) = parse_opts(args, CURL_VALUE_SHORT, CURL_VALUE_LONG);
            let mut remote_name = false;
            for (name, value) in &opts {
                let short = option_key(name);
                let v = opt_value(name, *value);
                match short {
                    "-d" | "--data" | "--data-ascii" | "--data-binary" | "--json" => {
                        match v.as_deref().and_then(|v| v.strip_prefix('@')) {
                            Some(f) => t.uploads_files.push(word_like(f.to_string(), *value)),
                            None => t.sends_literal = true,
                        }
                    }
                    // `name@file` or `@file` reads a file (curl(1), --data-urlencode).
                    "--data-urlencode" => match v
                        .as_deref()
                        .and_then(|v| v.split_once('@'))
                        .filter(|(pre, _)| !pre.contains('='))
                    {
                        Some((_, f)) => t.uploads_files.push(word_like(f.to_string(), *value)),
                        None => t.sends_literal = true,
                    },
                    "--data-raw" => t.sends_literal = true,
                    "-F" | "--form" => match v
                        .as_deref()
                        .and_then(|v| v.split_once('='))
                        .map(|(_, rhs)| rhs)
                    {
                        Some(rhs) if rhs.starts_with('@') || rhs.starts_with('<') => {
                            let f = rhs[1..].split(';').next().unwrap_or("").to_string();
                            t.uploads_files.push(word_like(f, *value));
                        }
                        _ => t.sends_literal = true,
                    },
                    "--form-string" => t.sends_literal = true,
                    "-T" | "--upload-file" => {
                        if let Some(f) = v {
                            t.uploads_files.push(word_like(f, *value));
                        }
                    }
                    "-o" | "--output" => {
                        if let Some(f) = v {
                            if f == "-" {
                                t.to_stdout = true;
                            } else {
                                t.outputs.push(f);
                            }
                        }
                    }
                    "-O" | "--remote-name" | "--remote-name-all" => remote_name = true,
                    "--url" => {
                        if let Some(w) = value {
                            t.urls.push((*w).clone());
                        }
                    }
                    "-K" | "--config" => t.unknown_destinations = true,
                    "-X" | "--request" => t.method = v.map(|m| m.to_ascii_uppercase()),
                    _ => {}
                }
            }
            t.urls.extend(operands.into_iter().cloned());
            if remote_name {
                t.outputs
                    .extend(t.urls.iter().filter_map(|u| url_basename(&u.text)));
            }
            if t.outputs.is_empty() && !remote_name {
                t.to_stdout = true;
            }
        }
        "wget" => {
            let (opts, operands) = parse_opts(args, WGET_VALUE_SHORT, WGET_VALUE_LONG);
            let mut explicit_output = false;
            let mut prefix: Option<String> = None;
            for (name, value) in &opts {
                let short = option_key(name);
                let v = opt_value(name, *value);
                match short {
                    "-O" | "--output-document" => {
                        explicit_output = true;
                        match v.as_deref() {
                            Some("-") => t.to_stdout = true,
                            Some(f) => t.outputs.push(f.to_string()),
                            None => {}
                        }
                    }
                    "-P" | "--directory-prefix" => prefix = v,
                    "--post-file" | "--body-file" => {
                        if let Some(f) = v {
                            t.uploads_files.push(word_like(f, *value));
                        }
                    }
                    "--post-data" | "--body-data" => t.sends_literal = true,
                    "-i" | "--input-file" => t.unknown_destinations = true,
                    "--method" => t.method = v.map(|m| m.to_ascii_uppercase()),
                    _ => {}
                }
            }
            t.urls.extend(operands.into_iter().cloned());
            if !explicit_output {
                for u in &t.urls {
                    if let Some(b) = url_basename(&u.text) {
                        t.outputs.push(match &prefix {
                            Some(p) => format!("{}/{b}", p.trim_end_matches('/')),
                            None => b,
                        });
                    }
                }
            }
        }
        p if DOWNLOADERS.contains(&p) => {
            let (_, operands) = parse_opts(args, "", &[]);
            t.urls.extend(
                operands
                    .into_iter()
                    .filter(|w| w.text.contains("://") || w.text.contains('.'))
                    .cloned(),
            );
            t.to_stdout = true;
        }
        _ => return None,
    }
    // A proxy receives the whole request, upload included: it is contacted
    // too. From `http_proxy`-style assignments on the command, curl's
    // `-x`/`--proxy`, and wget's `-e http_proxy=…` (wgetrc commands).
    let mut proxies: Vec<Word> = cmd
        .assignments
        .iter()
        .filter(|a| is_proxy_var(&a.name))
        .map(|a| a.value.clone())
        .collect();
    for (i, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        let value = match (prog, t) {
            ("curl", "-x" | "--proxy") => args.get(i + 1).map(|v| v.text.clone()),
            ("curl", _) if t.starts_with("--proxy=") => Some(t["--proxy=".len()..].to_string()),
            ("wget", "-e" | "--execute") => args.get(i + 1).map(|v| v.text.clone()),
            ("wget", _) if t.starts_with("--execute=") => Some(t["--execute=".len()..].to_string()),
            _ => None,
        };
        let Some(v) = value else { continue };
        let v = match prog {
            "wget" => match v.split_once('=') {
                Some((k, val)) if is_proxy_var(k.trim()) => val.trim().to_string(),
                _ => continue,
            },
            _ => v,
        };
        proxies.push(word_like(v, Some(w)));
    }
    for mut p in proxies {
        if !p.text.is_empty() {
            if !p.text.contains("://") {
                p.text = format!("http://{}", p.text);
            }
            t.urls.push(p);
        }
    }
    Some(t)
}

/// Environment variables naming a proxy (curl(1) ENVIRONMENT, wget(1)
/// "Proxies").
fn is_proxy_var(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "http_proxy" | "https_proxy" | "all_proxy" | "ftp_proxy"
    )
}

fn word_like(text: String, base: Option<&Word>) -> Word {
    let mut w = base
        .cloned()
        .unwrap_or_else(|| Word::literal("", Default::default()));
    w.text = text;
    w
}

/// The file name `curl -O` / `wget` would save a URL as.
pub fn url_basename(url: &str) -> Option<String> {
    let d = Destination::from_url(url)?;
    let name = d.path.rsplit('/').next().unwrap_or("");
    Some(if name.is_empty() {
        "index.html".to_string()
    } else {
        name.to_string()
    })
}

/// The destination of a URL word (scheme optional for curl-style tools).
pub fn url_destination(w: &Word) -> Option<Destination> {
    Destination::from_host_or_url(&w.text)
}

/// Hosts a socket tool (`nc host port`, `telnet host`, `socat … TCP:host:port`) connects to.
pub fn socket_destinations(cmd: &Command) -> Vec<(Destination, &Word)> {
    let Some(prog) = cmd.program() else {
        return Vec::new();
    };
    let args = cmd.args();
    let mut out = Vec::new();
    match prog {
        "socat" => {
            for w in args {
                let t = w.text.to_ascii_lowercase();
                for pre in [
                    "tcp:",
                    "tcp4:",
                    "tcp6:",
                    "udp:",
                    "udp4:",
                    "udp6:",
                    "openssl:",
                    "tcp-connect:",
                    "udp-sendto:",
                ] {
                    if let Some(rest) = t.strip_prefix(pre) {
                        let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
                        if let Some(d) = Destination::from_host_or_url(host) {
                            out.push((d, w));
                        }
                    }
                }
            }
        }
        "openssl" => {
            let mut it = args.iter();
            while let Some(w) = it.next() {
                if w.text == "-connect" {
                    if let Some(h) = it.next() {
                        let host = h.text.rsplit_once(':').map_or(h.text.as_str(), |(h, _)| h);
                        if let Some(d) = Destination::from_host_or_url(host) {
                            out.push((d, h));
                        }
                    }
                }
            }
        }
        _ => {
            let (_, operands) = parse_opts(args, "pswiqWIOxXecPgGT", &[]);
            if let Some(h) = operands.first() {
                if let Some(d) = Destination::from_host_or_url(&h.text) {
                    out.push((d, *h));
                }
            }
        }
    }
    out
}

/// True when the command listens instead of connecting: `nc -l` (also in
/// combined short flags such as `-lvnp`) or socat's `*-LISTEN:` addresses.
pub fn listens(cmd: &Command) -> bool {
    match cmd.program() {
        Some("nc" | "ncat" | "netcat") => cmd.args().iter().any(|w| {
            let t = w.text.as_str();
            t == "--listen"
                || (t.starts_with('-')
                    && !t.starts_with("--")
                    && t.len() <= 6
                    && t[1..].chars().all(|c| c.is_ascii_alphabetic())
                    && t.contains('l'))
        }),
        Some("socat") => cmd
            .args()
            .iter()
            .any(|w| w.text.to_ascii_uppercase().contains("-LISTEN:")),
        _ => false,
    }
}

/// True when the command fetches something from the network (a downloader
/// with a URL, a socket tool, ssh) and so may produce remote content.
pub fn fetches(cmd: &Command) -> Vec<Destination> {
    let Some(prog) = cmd.program() else {
        return Vec::new();
    };
    if let Some(t) = transfer(cmd) {
        return t
            .urls
            .iter()
            .filter_map(url_destination)
            .collect::<Vec<_>>()
            .into_iter()
            .chain(t.unknown_destinations.then(unknown_destination))
            .collect();
    }
    if SOCKET_TOOLS.contains(&prog) {
        return socket_destinations(cmd)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
    }
    if matches!(prog, "ssh" | "scp" | "sftp" | "rsync") {
        return remote_hosts(cmd).into_iter().map(|(d, _)| d).collect();
    }
    if prog == "git"
        && cmd
            .args()
            .iter()
            .any(|w| matches!(w.text.as_str(), "clone" | "fetch" | "pull" | "archive"))
    {
        return cmd
            .args()
            .iter()
            .filter_map(|w| Destination::from_scp(&w.text))
            .collect();
    }
    Vec::new()
}

/// A placeholder for "some host we cannot name"; never trusted.
pub fn unknown_destination() -> Destination {
    Destination {
        host: "(unknown host)".into(),
        port: None,
        path: String::new(),
    }
}

/// Remote endpoints of ssh/scp/sftp/rsync: `[user@]host:path` operands, or
/// the host operand of ssh.
pub fn remote_hosts(cmd: &Command) -> Vec<(Destination, &Word)> {
    let Some(prog) = cmd.program() else {
        return Vec::new();
    };
    let args = cmd.args();
    match prog {
        "ssh" => {
            let (_, operands) = parse_opts(args, "bcDEeFIiJLlmOoPpQRSWw", &[]);
            operands
                .first()
                .and_then(|h| {
                    Destination::from_host_or_url(
                        h.text.rsplit_once('@').map_or(&h.text, |(_, x)| x),
                    )
                    .map(|d| (d, *h))
                })
                .into_iter()
                .collect()
        }
        _ => {
            let (_, operands) = parse_opts(
                args,
                "cFiJloPSeB",
                &[
                    "--rsh",
                    "--rsync-path",
                    "--exclude",
                    "--include",
                    "--filter",
                    "--files-from",
                    "--password-file",
                    "--port",
                    "--log-file",
                    "--timeout",
                    "--bwlimit",
                    "--chmod",
                    "--chown",
                    "--backup-dir",
                    "--suffix",
                    "--temp-dir",
                    "--compare-dest",
                    "--copy-dest",
                    "--link-dest",
                ],
            );
            operands
                .into_iter()
                .filter_map(|w| Destination::from_scp(&w.text).map(|d| (d, w)))
                .collect()
        }
    }
}
