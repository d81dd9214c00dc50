//! `net.state-change`: HTTP requests that change state (POST, PUT,
//! PATCH, DELETE, or any request with a body) sent to a host that is not
//! a trusted remote. Reads from untrusted hosts are the tier's business
//! (`net.untrusted-host`); sending local files or secrets is
//! `exfil.upload`. Methods: RFC 9110 section 9.2.1 (safe methods).

use shellgate_parsers::Command;

use super::{finding, net, parse_opts, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::remote::Destination;

/// Rule id.
pub const RULE: &str = "net.state-change";

/// Methods that do not change state on the server (RFC 9110 9.2.1).
const SAFE_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS", "TRACE"];

/// Request methods HTTPie accepts as its first operand (RFC 9110 9.3, RFC 5789).
const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// HTTPie's short options that take a value (http(1)).
const HTTPIE_VALUE_SHORT: &str = "pPaAo";
/// HTTPie's long options that take a value.
const HTTPIE_VALUE_LONG: &[&str] = &[
    "--print",
    "--auth",
    "--auth-type",
    "--output",
    "--session",
    "--session-read-only",
    "--verify",
    "--cert",
    "--cert-key",
    "--proxy",
    "--timeout",
    "--pretty",
    "--style",
    "--format-options",
    "--max-redirects",
    "--default-scheme",
    "--response-charset",
    "--response-mime",
    "--ssl",
    "--ciphers",
    "--boundary",
    "--history-print",
    "--max-headers",
];

/// HTTPie-style clients: `http [METHOD] URL [ITEMS]`.
const HTTPIE: &[&str] = &["http", "https", "xh", "xhs"];

/// Reports state-changing requests to untrusted hosts.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let Some((method, urls)) = request(cmd) else {
            continue;
        };
        for (dest, span) in urls {
            let untrusted = match &dest {
                Some(d) => !cx.trusted(d),
                None => true,
            };
            if untrusted {
                let host = dest
                    .map(|d| d.display())
                    .unwrap_or_else(|| "a host not known before it runs".into());
                out.push(finding(
                    RULE,
                    Verdict::Ask,
                    Section::SoftDeny,
                    span,
                    format!("`{}` sends a {method} request to {host}, which is not a trusted remote; it can change state there", cmd.program().unwrap_or("client")),
                ));
                break;
            }
        }
    }
}

type Urls = Vec<(Option<Destination>, shellgate_parsers::Span)>;

/// The method and destinations of a state-changing request, if `cmd` is one.
fn request(cmd: &Command) -> Option<(String, Urls)> {
    let prog = cmd.program()?;
    if HTTPIE.contains(&prog) {
        return httpie_request(cmd);
    }
    if let Some(t) = net::transfer(cmd) {
        if !matches!(prog, "curl" | "wget") {
            return None;
        }
        let has_body = t.sends_literal || !t.uploads_files.is_empty();
        let method = match &t.method {
            Some(m) if !SAFE_METHODS.contains(&m.as_str()) => m.clone(),
            Some(_) => return None,
            None if has_body => {
                let put = prog == "curl"
                    && cmd
                        .args()
                        .iter()
                        .any(|w| w.text == "-T" || w.text.starts_with("--upload-file"));
                if put {
                    "PUT".into()
                } else {
                    "POST".into()
                }
            }
            None => return None,
        };
        let urls = t
            .urls
            .iter()
            .map(|w| {
                (
                    if w.dynamic {
                        None
                    } else {
                        net::url_destination(w)
                    },
                    w.span,
                )
            })
            .collect();
        return Some((method, urls));
    }
    None
}

/// HTTPie's `http [METHOD] URL [ITEMS]` form.
fn httpie_request(cmd: &Command) -> Option<(String, Urls)> {
    {
        let (_, args) = parse_opts(cmd.args(), HTTPIE_VALUE_SHORT, HTTPIE_VALUE_LONG);
        let (method, rest) = match args.first() {
            Some(m) if HTTP_METHODS.contains(&m.text.to_ascii_uppercase().as_str()) => {
                (Some(m.text.to_ascii_uppercase()), &args[1..])
            }
            _ => (None, &args[..]),
        };
        let url = rest.first()?;
        // Request items `k=v`, `k:=json`, `k@file` imply a body, so POST.
        let body = rest[1..]
            .iter()
            .any(|w| w.text.contains('=') || w.text.contains('@'));
        let method = match method {
            Some(m) if SAFE_METHODS.contains(&m.as_str()) => return None,
            Some(m) => m,
            None if body => "POST".into(),
            None => return None,
        };
        let text = if url.text.contains("://") {
            url.text.clone()
        } else {
            format!("https://{}", url.text)
        };
        let dest = if url.dynamic {
            None
        } else {
            Destination::from_url(&text)
        };
        Some((method, vec![(dest, url.span)]))
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn state_changes_to_untrusted_hosts_ask() {
        assert_verdict(
            "curl -X DELETE https://api.example.com/users/1",
            Ask,
            Some(super::RULE),
        );
        assert_verdict(
            "curl --request=PUT https://api.example.com/x",
            Ask,
            Some(super::RULE),
        );
        assert_verdict(
            "curl -d '{\"a\":1}' https://api.example.com/x",
            Ask,
            Some(super::RULE),
        );
        assert_verdict(
            "wget --method=PATCH https://api.example.com/x",
            Ask,
            Some(super::RULE),
        );
        assert_verdict("http POST api.example.com/x a=1", Ask, Some(super::RULE));
        assert_verdict("http api.example.com/x a=1", Ask, Some(super::RULE));
        let (_, ids) = crate::detectors::testutil::judge("http -p H https://example.com");
        assert!(
            !ids.contains(&super::RULE),
            "`-p H` is an option and its value"
        );
        // Trusted hosts and safe methods are not state changes.
        assert_verdict(
            "curl -X POST https://api.github.com/repos/acme/x/issues -d '{}'",
            Allow,
            None,
        );
        assert_verdict(
            "curl -X POST http://localhost:8080/api -d '{}'",
            Allow,
            None,
        );
        let (_, ids) = crate::detectors::testutil::judge("curl -X GET https://example.com/");
        assert!(!ids.contains(&super::RULE));
    }
}
