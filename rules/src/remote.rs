//! Network destinations and the trusted-remote test.
//!
//! A trusted remote is `host[/path]`; `*.example.com` matches any subdomain
//! (not the apex). A destination is trusted when its host matches (case-folded,
//! trailing dot removed) and its path starts with the entry's path on a `/`
//! boundary. Git remotes in scp form (`git@host:org/repo.git`) compare as
//! `host/org/repo.git` (git-clone(1), "GIT URLS").

/// One entry of `environment.trusted_remotes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedRemote {
    /// Lower-case host, or suffix after `*.`.
    pub host: String,
    /// True for `*.domain` entries.
    pub wildcard: bool,
    /// Path prefix without leading/trailing `/` (empty: whole host).
    pub path: String,
}

/// A URL path with percent-encoded dots decoded and dot segments removed
/// (RFC 3986 section 5.2.4), so `/acme/../evil` is compared as `/evil`:
/// servers resolve them the same way. Query and fragment are dropped.
pub fn normalize_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let decoded = path
        .replace("%2e", ".")
        .replace("%2E", ".")
        .replace("%2f", "/")
        .replace("%2F", "/");
    let mut out: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

impl TrustedRemote {
    /// Parses `host[/path]` or `*.domain[/path]`; a scheme is tolerated.
    pub fn parse(entry: &str) -> Result<TrustedRemote, String> {
        let e = entry.trim();
        let e = e.split_once("://").map_or(e, |(_, rest)| rest);
        let (host, path) = e.split_once('/').unwrap_or((e, ""));
        let host = normalize_host(host);
        if host.is_empty() {
            return Err(format!("`{entry}` has no host"));
        }
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(h) => (h.to_string(), true),
            None => (host, false),
        };
        if host.contains('*') {
            return Err(format!("`{entry}`: `*` is only allowed as a leading `*.`"));
        }
        if wildcard && !host.contains('.') {
            return Err(format!(
                "`{entry}` would trust every host under a top-level domain; name the organisation's domain (`*.example.com`)"
            ));
        }
        Ok(TrustedRemote {
            host,
            wildcard,
            path: path.trim_matches('/').to_string(),
        })
    }

    /// True when `dest` is covered by this entry.
    pub fn covers(&self, dest: &Destination) -> bool {
        let host_ok = if self.wildcard {
            dest.host.ends_with(&format!(".{}", self.host))
        } else {
            dest.host == self.host
        };
        if !host_ok {
            return false;
        }
        if self.path.is_empty() {
            return true;
        }
        let p = normalize_path(&dest.path);
        let p = p.trim_start_matches('/');
        p == self.path || p.starts_with(&format!("{}/", self.path))
    }
}

/// A network destination named on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Lower-case host name or address.
    pub host: String,
    /// Port when written.
    pub port: Option<u16>,
    /// Path (for URLs and scp-style remotes), possibly empty.
    pub path: String,
}

fn normalize_host(h: &str) -> String {
    let h = h.rsplit_once('@').map_or(h, |(_, host)| host);
    let h = if h.starts_with('[') {
        h.split(']').next().unwrap_or(h).trim_start_matches('[')
    } else {
        h.split(':').next().unwrap_or(h)
    };
    h.trim_end_matches('.').to_ascii_lowercase()
}

impl Destination {
    /// Parses a URL (`scheme://[user@]host[:port]/path`).
    pub fn from_url(text: &str) -> Option<Destination> {
        let (_, rest) = text.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let path = &rest[end..];
        let host = normalize_host(authority);
        if host.is_empty() {
            return None;
        }
        let after_at = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let port = after_at
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .filter(|_| !after_at.starts_with('[') || after_at.contains("]:"));
        let path = path.split(['?', '#']).next().unwrap_or("").to_string();
        Some(Destination { host, port, path })
    }

    /// Parses an scp/rsync-style remote `[user@]host:path` (no `/` before
    /// the colon, as git and scp require).
    pub fn from_scp(text: &str) -> Option<Destination> {
        if text.contains("://") {
            return Destination::from_url(text);
        }
        let (hostpart, path) = text.split_once(':')?;
        if hostpart.is_empty() || hostpart.contains('/') || hostpart.starts_with('-') {
            return None;
        }
        let host = normalize_host(hostpart);
        if host.is_empty() || host.contains(['*', '?', '$']) {
            return None;
        }
        Some(Destination {
            host,
            port: None,
            path: path.to_string(),
        })
    }

    /// Parses a bare host name or a URL.
    pub fn from_host_or_url(text: &str) -> Option<Destination> {
        if text.contains("://") {
            return Destination::from_url(text);
        }
        let cut = text.find(['/', '?', '#']).unwrap_or(text.len());
        let host = normalize_host(&text[..cut]);
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        {
            return None;
        }
        Some(Destination {
            host,
            port: None,
            path: text[cut..].to_string(),
        })
    }

    /// `host/path` as shown to users.
    pub fn display(&self) -> String {
        format!(
            "{}{}",
            self.host,
            if self.path.is_empty() || self.path.starts_with('/') {
                self.path.clone()
            } else {
                format!("/{}", self.path)
            }
        )
    }
}

/// True when some entry of `trusted` covers `dest`.
pub fn is_trusted(trusted: &[TrustedRemote], dest: &Destination) -> bool {
    trusted.iter().any(|t| t.covers(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> Vec<TrustedRemote> {
        [
            "github.com/acme",
            "api.github.com",
            "*.acme.internal",
            "pypi.org",
        ]
        .iter()
        .map(|e| TrustedRemote::parse(e).unwrap())
        .collect()
    }

    #[test]
    fn urls_and_scp_forms() {
        let t = trusted();
        assert!(is_trusted(
            &t,
            &Destination::from_scp("git@github.com:acme/tools.git").unwrap()
        ));
        assert!(is_trusted(
            &t,
            &Destination::from_url("https://github.com/acme/app").unwrap()
        ));
        assert!(!is_trusted(
            &t,
            &Destination::from_url("https://github.com/acmex/app").unwrap()
        ));
        assert!(!is_trusted(
            &t,
            &Destination::from_url("https://github.com/evil/acme").unwrap()
        ));
        assert!(is_trusted(
            &t,
            &Destination::from_url("https://API.GitHub.com./repos/x").unwrap()
        ));
        assert!(is_trusted(
            &t,
            &Destination::from_url("http://ci.acme.internal:8080/x").unwrap()
        ));
        assert!(!is_trusted(
            &t,
            &Destination::from_url("http://acme.internal/x").unwrap()
        ));
        assert!(!is_trusted(
            &t,
            &Destination::from_url("https://pypi.org.evil.com/").unwrap()
        ));
    }

    #[test]
    fn userinfo_does_not_fool_host() {
        let d = Destination::from_url("https://pypi.org@evil.example/x").unwrap();
        assert_eq!(d.host, "evil.example");
    }

    #[test]
    fn dot_segments_do_not_escape_a_path_prefix() {
        let t = vec![TrustedRemote::parse("github.com/acme").unwrap()];
        for url in [
            "https://github.com/acme/../attacker/x",
            "https://github.com/acme/%2e%2e/attacker/x",
            "https://github.com/acme/./../attacker.git",
        ] {
            let d = Destination::from_url(url).unwrap();
            assert!(!is_trusted(&t, &d), "{url}");
        }
        let d = Destination::from_url("https://github.com/acme/./app/../app.git").unwrap();
        assert!(is_trusted(&t, &d));
    }
}
