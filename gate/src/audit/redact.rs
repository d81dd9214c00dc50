//! Redaction of secrets before a command reaches the audit log or
//! telemetry.
//!
//! The audit log keeps what was decided, not the credentials a command
//! carried. Every text field that can hold part of a command is passed
//! through [`redact`], which replaces the *value* of a secret with
//! [`MARK`] and keeps everything else, so the record still shows which
//! command, flag or variable was used. The rules (docs/audit.md repeats
//! them):
//!
//! 1. **Assignments** `NAME=VALUE` (prefix assignments, `export`, `env`,
//!    `declare`, config-style `key=value` arguments) whose name, split at
//!    `_`, `-` and `.`, has a part that names a secret: `TOKEN`, `SECRET`,
//!    `PASSWORD`, `PASSWD`, `PASS`, `PASSPHRASE`, `PW`, `APIKEY`,
//!    `CREDENTIAL(S)`, `AUTH`, `COOKIE`, `PAT`, `DSN`, or `KEY` after `API`,
//!    `ACCESS`, `PRIVATE`, `SECRET`, `SIGNING`, `ENCRYPTION`, `MASTER`,
//!    `ACCOUNT`, `LICENSE`, `CLIENT` or `SERVICE`.
//! 2. **Options** `--NAME VALUE` and `--NAME=VALUE` whose name has such a
//!    part (`--password`, `--token`, `--api-key`, `--client-secret` …),
//!    unless the value is a file (`--*-file`, `--*-path`, `--*-env`).
//! 3. **HTTP headers** `Authorization`, `Proxy-Authorization`, `Cookie`,
//!    `Set-Cookie`, `Private-Token` and any header whose name has a
//!    secret part (`X-Api-Key`, `X-Auth-Token` …): the value after the
//!    scheme word (`Bearer`, `Basic`, `token` …).
//! 4. **Credentials in URLs and `-u`**: the password of `user:pass@host`
//!    and of `curl -u/--user/--proxy-user user:pass`, and query
//!    parameters with a secret part or named `sig`/`signature`.
//! 5. **Token shapes** anywhere: GitHub (`ghp_` `gho_` `ghu_` `ghs_`
//!    `ghr_` `github_pat_`), GitLab `glpat-`, Slack `xox?-`, AWS access
//!    key ids (`AKIA`/`ASIA`), OpenAI/Anthropic `sk-`, Google `AIza`,
//!    npm `npm_`, PyPI `pypi-`, JSON Web Tokens, and PEM private-key
//!    blocks.
//!
//! A name is found after any character that cannot be part of it (an
//! operator, a quote, any space, Unicode ones included), so what is
//! hidden never depends on which blank precedes it. A value ends where the
//! shell word ends: at an unquoted blank (space, tab or newline: bash
//! splits words there and nowhere else) or operator, or at its closing
//! quote. Values of rules 1 and 2 that name a
//! place rather than hold a secret stay: paths (`/…`, `./…`, `~…`,
//! `@file`), file names with a key or config extension (`.pem`, `.key`,
//! `.json` …) and expansions (`$VAR`, `$(…)`). Otherwise redaction errs
//! towards hiding: a non-secret value under a secret-looking name is
//! hidden too.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex_lite::Regex;

/// What a redacted value is replaced with: a plain shell word, so a
/// redacted command still parses the same way for `audit replay`.
pub const MARK: &str = "__REDACTED__";

/// Parts of a variable, option or header name that mark its value secret.
const SECRET_PARTS: &[&str] = &[
    "TOKEN",
    "TOKENS",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASS",
    "PASSPHRASE",
    "PW",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "AUTH",
    "COOKIE",
    "PAT",
    "DSN",
];

/// Words that, right before `KEY`, make it a secret key.
const KEY_QUALIFIERS: &[&str] = &[
    "API",
    "ACCESS",
    "PRIVATE",
    "SECRET",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "ACCOUNT",
    "LICENSE",
    "CLIENT",
    "SERVICE",
];

/// Option-name endings whose value names where a secret is, not the
/// secret itself.
const FILE_SUFFIXES: &[&str] = &["FILE", "PATH", "ENV", "DIR", "LENGTH", "PROMPT", "STDIN"];

/// True when `name` (a variable, option or header name) names a secret
/// (rule 1).
pub fn secret_name(name: &str) -> bool {
    let parts: Vec<String> = name
        .split(['_', '-', '.'])
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if parts.len() == 1 && parts[0] == "PWD" {
        return false;
    }
    parts.iter().enumerate().any(|(i, p)| {
        SECRET_PARTS.contains(&p.as_str())
            || (p == "KEY" && i > 0 && KEY_QUALIFIERS.contains(&parts[i - 1].as_str()))
            || (p.ends_with("APIKEY") || p.ends_with("PASSWORD") || p.ends_with("TOKEN"))
    })
}

/// Whether `text` could hold a name that [`secret_name`] accepts, or one
/// of the secret header and URL parameter names: such a name contains one
/// of [`SECRET_PARTS`], `KEY` (a qualified key, `…APIKEY`) or `SIG` (URL
/// signatures), in any case. A cheap test that lets the name patterns be
/// skipped (not even compiled) for text without any, such as most of a
/// process's environment.
fn may_name_secret(text: &str) -> bool {
    // Beyond the parts: what the header and URL parameter patterns hide
    // by name alone (`key`, `sig`, `signature`, `x-…-key`); the other
    // header names (`authorization`, `cookie`, `private-token`) contain a
    // part. The test below checks each of those names.
    const EXTRA: [&str; 2] = ["KEY", "SIG"];
    // Bytes a needle starts with, both cases: most positions of most text
    // are rejected by one table lookup (a process's whole environment is
    // checked before each run).
    const FIRST: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < SECRET_PARTS.len() + EXTRA.len() {
            let needle = if i < SECRET_PARTS.len() {
                SECRET_PARTS[i]
            } else {
                EXTRA[i - SECRET_PARTS.len()]
            };
            let c = needle.as_bytes()[0];
            table[c as usize] = true;
            table[c.to_ascii_lowercase() as usize] = true;
            i += 1;
        }
        table
    };
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| {
        FIRST[bytes[i] as usize]
            && SECRET_PARTS.iter().chain(&EXTRA).any(|needle| {
                bytes[i..]
                    .get(..needle.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
            })
    })
}

/// `NAME=` after any character a name cannot hold, except `?`, which
/// starts a URL query (left to [`URL_PARAM`]). After `&` it may be a shell
/// assignment (`make&&TOKEN='…' x`), so it is read as one: inside a URL
/// that hides the rest of the query too, which errs the safe way.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[^A-Za-z0-9_.?-])([A-Za-z_][A-Za-z0-9_.-]*)(?:\[[^\]\s]*\])?\+?="#)
        .expect("valid regex")
});
static OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[^A-Za-z0-9_.-])--?([A-Za-z][A-Za-z0-9_.-]*)(=|[ \t]+)"#)
        .expect("valid regex")
});
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[^A-Za-z0-9_-])((?:proxy-)?authorization|cookie|set-cookie|private-token|x-[a-z0-9-]+)[ \t]*:[ \t]*(?:(?:bearer|basic|token|digest|negotiate|bot|apikey)[ \t]+)?"#)
        .expect("valid regex")
});
static USER_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[^A-Za-z0-9_-])(?:-u|--user|--proxy-user|-U)(?:[ \t]+|=)?['"]?[^\s:'"@]*:"#)
        .expect("valid regex")
});
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'"]*:([^@\s/'"]+)@"#).expect("valid regex")
});
static URL_PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r##"[?&;]([A-Za-z0-9_.-]+)=([^&\s'"#;]+)"##).expect("valid regex"));
/// Known token shapes: the literals one of which every match contains
/// (checked first, so the pattern is compiled and run only when one is
/// there) and the pattern itself.
const TOKEN_SHAPES: &[(&[&str], &str)] = &[
    (
        &["-----BEGIN "],
        r"(?s:-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$))",
    ),
    (
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})",
    ),
    (&["glpat-"], r"\bglpat-[A-Za-z0-9_-]{20,}"),
    (&["xox"], r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}"),
    (&["AKIA", "ASIA"], r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    (&["sk-"], r"\bsk-[A-Za-z0-9_-]{20,}"),
    (&["AIza"], r"\bAIza[0-9A-Za-z_-]{35}"),
    (&["npm_"], r"\bnpm_[A-Za-z0-9]{36}"),
    (&["pypi-"], r"\bpypi-[A-Za-z0-9_-]{40,}"),
    (
        &["eyJ"],
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
];
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives: Vec<&str> = TOKEN_SHAPES.iter().map(|(_, re)| *re).collect();
    Regex::new(&alternatives.join("|")).expect("valid regex")
});

/// End (byte offset) of the shell word that starts at `start`: unquoted
/// white space or an operator ends it; quotes (`'…'`, `"…"`, `$'…'`) and
/// backslash escapes are skipped over.
fn word_end(s: &str, start: usize) -> usize {
    let b = s.as_bytes();
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'`' => break,
            b'\\' => i += 2,
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    i.min(b.len())
}

/// Replaces the byte ranges in `cuts` (in any order, possibly
/// overlapping) with [`MARK`], one mark per run of overlapping ranges.
fn apply(s: &str, mut cuts: Vec<(usize, usize)>) -> Cow<'_, str> {
    cuts.retain(|(a, b)| a < b);
    if cuts.is_empty() {
        return Cow::Borrowed(s);
    }
    cuts.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(cuts.len());
    for (a, b) in cuts {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (a, b) in merged {
        out.push_str(&s[at..a]);
        out.push_str(MARK);
        at = b;
    }
    out.push_str(&s[at..]);
    Cow::Owned(out)
}

/// The quote each byte of `s` stands inside (`'`, `"`, or 0 outside
/// quotes), following bash's quoting (backslash escapes outside single
/// quotes; bash manual 3.1.2).
fn quote_states(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut states = vec![0u8; b.len() + 1];
    let mut q = 0u8;
    let mut i = 0;
    while i < b.len() {
        states[i] = q;
        match (q, b[i]) {
            (0 | b'"', b'\\') if i + 1 < b.len() => {
                states[i + 1] = q;
                i += 2;
                continue;
            }
            (0, c @ (b'\'' | b'"')) => q = c,
            (b'\'', b'\'') | (b'"', b'"') => q = 0,
            _ => {}
        }
        i += 1;
    }
    states[b.len()] = q;
    states
}

/// File extensions that mark a value as a file name.
const FILE_EXTENSIONS: &[&str] = &[
    "pem", "key", "crt", "cer", "der", "p12", "pfx", "jks", "asc", "gpg", "pub", "json", "yaml",
    "yml", "toml", "ini", "cfg", "conf", "env", "txt",
];

/// True when a value names where a secret is rather than being one: a
/// path (`/…`, `./…`, `../…`, `~…`, `@file`), a file name with a known
/// extension, or an expansion (`$VAR`, `$(…)`). Such values stay, since
/// they say which file or variable a command used (and decide rules such
/// as secret reads when the log is replayed).
fn names_a_place(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '\'' || c == '"');
    if v.is_empty() {
        return false;
    }
    // `$'…'` is a quoted literal, not an expansion.
    let prefixed = ["/", "./", "../", "~", "$", "@"]
        .iter()
        .any(|p| v.starts_with(p))
        && !v.starts_with("$'");
    let extension = v.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    });
    prefixed || extension
}

/// End of a value starting at `start`: inside a quoted string, at its
/// closing quote; outside, at the end of the shell word.
fn value_end_at(s: &str, start: usize, states: &[u8]) -> usize {
    match states.get(start).copied().unwrap_or(0) {
        0 => word_end(s, start),
        q => s[start..]
            .find(|c: char| c as u32 == u32::from(q) || c == '\n')
            .map_or(s.len(), |n| start + n),
    }
}

/// Returns `text` with every secret value replaced by [`MARK`] (rules in
/// the module docs); borrows when nothing was redacted.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut cuts = Vec::new();
    let states = std::cell::OnceCell::new();
    let states = || states.get_or_init(|| quote_states(text));
    // Each pattern runs only when text it needs is there (its literal
    // characters); most commands need none of them compiled.
    let has = |needle: &str| text.contains(needle);
    // The name patterns (assignments, options, headers, URL parameters)
    // hide a value only after a name that names a secret.
    let named = may_name_secret(text);
    for c in (named && has("="))
        .then(|| ASSIGNMENT.captures_iter(text))
        .into_iter()
        .flatten()
    {
        let (name, whole) = (c.get(1).expect("group"), c.get(0).expect("match"));
        if secret_name(name.as_str()) {
            let end = value_end_at(text, whole.end(), states());
            if !names_a_place(&text[whole.end()..end]) {
                cuts.push((whole.end(), end));
            }
        }
    }
    for c in (named && has("-"))
        .then(|| OPTION.captures_iter(text))
        .into_iter()
        .flatten()
    {
        let (name, sep, whole) = (
            c.get(1).expect("group"),
            c.get(2).expect("group"),
            c.get(0).expect("match"),
        );
        let upper = name.as_str().to_ascii_uppercase();
        let names_file = FILE_SUFFIXES
            .iter()
            .any(|s| upper.ends_with(&format!("-{s}")) || upper.ends_with(&format!("_{s}")));
        if !secret_name(name.as_str()) || names_file {
            continue;
        }
        let start = whole.end();
        // `--token --other`: the option takes no value here.
        if sep.as_str() != "=" && text[start..].starts_with('-') {
            continue;
        }
        let end = value_end_at(text, start, states());
        if !names_a_place(&text[start..end]) {
            cuts.push((start, end));
        }
    }
    for c in (named && has(":"))
        .then(|| HEADER.captures_iter(text))
        .into_iter()
        .flatten()
    {
        let (name, whole) = (c.get(1).expect("group"), c.get(0).expect("match"));
        let n = name.as_str().to_ascii_lowercase();
        let secret = !n.starts_with("x-") || secret_name(&n[2..]) || n.ends_with("-key");
        if secret {
            // The whole header value (`Cookie: a=1; sid=…`), to its closing
            // quote or, unquoted, the end of the word.
            cuts.push((whole.end(), value_end_at(text, whole.end(), states())));
        }
    }
    let user_option = has("-u") || has("-U");
    for m in user_option
        .then(|| USER_OPTION.find_iter(text))
        .into_iter()
        .flatten()
    {
        cuts.push((m.end(), value_end_at(text, m.end(), states())));
    }
    let userinfo = has("://") && has("@");
    for c in userinfo
        .then(|| URL_USERINFO.captures_iter(text))
        .into_iter()
        .flatten()
    {
        let pass = c.get(1).expect("group");
        cuts.push((pass.start(), pass.end()));
    }
    for c in (named && has("="))
        .then(|| URL_PARAM.captures_iter(text))
        .into_iter()
        .flatten()
    {
        let (name, value) = (c.get(1).expect("group"), c.get(2).expect("group"));
        let n = name.as_str().to_ascii_lowercase();
        if secret_name(&n) || n == "sig" || n == "signature" || n == "key" || n == "x-amz-signature"
        {
            cuts.push((value.start(), value.end()));
        }
    }
    let token = TOKEN_SHAPES
        .iter()
        .any(|(lits, _)| lits.iter().any(|l| has(l)));
    for m in token.then(|| TOKENS.find_iter(text)).into_iter().flatten() {
        cuts.push((m.start(), m.end()));
    }
    apply(text, cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact(s).into_owned()
    }

    #[test]
    fn assignments_with_secret_names_lose_their_values() {
        assert_eq!(
            r("GITHUB_TOKEN=abc123 gh pr list"),
            "GITHUB_TOKEN=__REDACTED__ gh pr list"
        );
        assert_eq!(
            r("export AWS_SECRET_ACCESS_KEY='a b c'; aws s3 ls"),
            "export AWS_SECRET_ACCESS_KEY=__REDACTED__; aws s3 ls"
        );
        assert_eq!(
            r(r#"env DB_PASSWORD="p\"w d" psql"#),
            "env DB_PASSWORD=__REDACTED__ psql"
        );
        assert_eq!(
            r("OPENAI_API_KEY=x make"),
            "OPENAI_API_KEY=__REDACTED__ make"
        );
        assert_eq!(
            r("npm config set //r/:_authToken=zz"),
            "npm config set //r/:_authToken=__REDACTED__"
        );
    }

    #[test]
    fn ordinary_assignments_stay() {
        for s in [
            "PWD=/tmp ls",
            "GIT_AUTHOR_NAME=me git commit",
            "KEY=1 ./run",
            "MONKEY=1 x",
            "PATH=/bin:$PATH make",
            "RUST_LOG=debug cargo test",
            "ls --color=auto",
            "git log --format=%H",
        ] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn secret_options_lose_their_values() {
        assert_eq!(
            r("mysql --password=hunter2 -h db"),
            "mysql --password=__REDACTED__ -h db"
        );
        assert_eq!(
            r("gh auth login --with-token tok && vault login -token=s.abc"),
            "gh auth login --with-token __REDACTED__ && vault login -token=__REDACTED__"
        );
        assert_eq!(
            r("docker login --password-stdin -u me"),
            "docker login --password-stdin -u me"
        );
        assert_eq!(
            r("tool --api-key 'k e y' --verbose"),
            "tool --api-key __REDACTED__ --verbose"
        );
        assert_eq!(r("ssh-add --token-file ./t"), "ssh-add --token-file ./t");
    }

    #[test]
    fn paths_and_expansions_are_not_secrets() {
        for s in [
            "ukify build --secureboot-private-key path/to/private_key.pem",
            "gh auth login --with-token \"$GH_TOKEN\"",
            "GITHUB_TOKEN=$(cat ~/.gh-token) gh pr list",
            "tool --api-key @keyfile",
            "openssl req --passphrase ~/.secret",
        ] {
            assert_eq!(r(s), s);
        }
        assert_eq!(r("TOKEN=$'abc\\x41' x"), "TOKEN=__REDACTED__ x");
        // A base64 secret with slashes is still a secret.
        assert_eq!(
            r("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCY aws s3 ls"),
            "AWS_SECRET_ACCESS_KEY=__REDACTED__ aws s3 ls"
        );
    }

    #[test]
    fn headers_urls_and_user_options() {
        assert_eq!(
            r(r#"curl -H "Authorization: Bearer abc.def" https://api.example.com"#),
            r#"curl -H "Authorization: Bearer __REDACTED__" https://api.example.com"#
        );
        assert_eq!(
            r("curl -H 'X-Api-Key: 123' -H 'Accept: json' u"),
            "curl -H 'X-Api-Key: __REDACTED__' -H 'Accept: json' u"
        );
        assert_eq!(
            r("curl -u admin:s3cret https://x"),
            "curl -u admin:__REDACTED__ https://x"
        );
        assert_eq!(
            r("git clone https://me:tok@github.com/o/r.git"),
            "git clone https://me:__REDACTED__@github.com/o/r.git"
        );
        assert_eq!(
            r("curl 'https://x.test/a?access_token=zzz&x=1'"),
            "curl 'https://x.test/a?access_token=__REDACTED__&x=1'"
        );
        // After `&` the name may be a shell assignment: the value is read
        // as a shell word, which here hides the rest of the query too.
        let got = r("curl 'https://x.test/a?id=3&access_token=zzz&x=1'");
        assert!(
            got.contains("access_token=__REDACTED__") && !got.contains("zzz"),
            "{got}"
        );
    }

    /// One example per token shape: the cheap literal check lets it
    /// through to the pattern, and it is redacted.
    #[test]
    fn every_token_shape_passes_its_literal_check() {
        let examples = [
            "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----".to_string(),
            format!("ghp_{}", "a".repeat(36)),
            format!("gho_{}", "b".repeat(36)),
            format!("github_pat_{}", "c".repeat(40)),
            format!("glpat-{}", "d".repeat(20)),
            "xoxb-1234567890-abcdef".to_string(),
            "AKIAIOSFODNN7EXAMPLE".to_string(),
            "ASIAIOSFODNN7EXAMPLE".to_string(),
            format!("sk-{}", "e".repeat(40)),
            format!("AIza{}", "f".repeat(35)),
            format!("npm_{}", "g".repeat(36)),
            format!("pypi-{}", "h".repeat(50)),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk".to_string(),
        ];
        for (i, (lits, re)) in TOKEN_SHAPES.iter().enumerate() {
            let one = Regex::new(re).expect("shape compiles");
            let hits: Vec<&String> = examples.iter().filter(|e| one.is_match(e)).collect();
            assert!(!hits.is_empty(), "token shape {i} has no example");
            for e in hits {
                assert!(
                    lits.iter().any(|l| e.contains(l)),
                    "{e}: no literal of shape {i}"
                );
                assert_eq!(r(&format!("echo '{e}'")), "echo '__REDACTED__'");
            }
        }
    }

    #[test]
    fn token_shapes_anywhere() {
        let gh = format!("ghp_{}", "a".repeat(36));
        assert_eq!(
            r(&format!("echo {gh} | gh auth login")),
            "echo __REDACTED__ | gh auth login"
        );
        let aws = "AKIAIOSFODNN7EXAMPLE";
        assert_eq!(r(&format!("echo {aws}")), "echo __REDACTED__");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk";
        assert_eq!(r(&format!("x {jwt} y")), "x __REDACTED__ y");
        assert_eq!(
            r("printf '-----BEGIN OPENSSH PRIVATE KEY-----\nAAA\n-----END OPENSSH PRIVATE KEY-----' > k"),
            "printf '__REDACTED__' > k"
        );
    }

    #[test]
    fn values_inside_quoted_words_end_at_the_quote() {
        // How `judged` lines are quoted: one word per argument.
        assert_eq!(
            r("mysql '--password=sekrit' -e 'select 1'"),
            "mysql '--password=__REDACTED__' -e 'select 1'"
        );
        assert_eq!(
            r("'GITHUB_TOKEN=abc' curl -H 'Authorization: Bearer x' u"),
            "'GITHUB_TOKEN=__REDACTED__' curl -H 'Authorization: Bearer __REDACTED__' u"
        );
        let gh = format!("ghp_{}", "a".repeat(36));
        assert_eq!(
            r(&format!("GITHUB_TOKEN={gh} x")),
            "GITHUB_TOKEN=__REDACTED__ x"
        );
    }

    /// bash splits words only at space, tab and newline: a secret after
    /// another blank (NO-BREAK SPACE, EM SPACE, IDEOGRAPHIC SPACE) or an
    /// operator is hidden all the same, and a value runs on past one.
    #[test]
    fn unicode_blanks_and_operators_do_not_hide_a_secret() {
        for blank in ["\u{a0}", "\u{2003}", "\u{3000}", "&&", "&", ">", "$"] {
            let cases = [
                (
                    format!("x{blank}GITHUB_TOKEN=abc"),
                    "GITHUB_TOKEN=__REDACTED__",
                ),
                (format!("x{blank}--password=abc"), "--password=__REDACTED__"),
                (
                    format!("curl -H 'x{blank}Authorization: Bearer abc'"),
                    "Authorization: Bearer __REDACTED__",
                ),
                (format!("curl{blank}-u me:abc x"), "-u me:__REDACTED__ x"),
            ];
            for (cmd, want) in cases {
                let got = r(&cmd);
                assert!(
                    got.contains(want) && !got.contains("abc"),
                    "{cmd:?} -> {got:?}"
                );
            }
        }
        assert_eq!(
            r("curl -H 'Authorization: Bearer ab\u{a0}cd' x"),
            "curl -H 'Authorization: Bearer __REDACTED__' x"
        );
        assert_eq!(
            r("mysql --password=ab\u{3000}cd -h db"),
            "mysql --password=__REDACTED__ -h db"
        );
        for (cmd, want) in [
            (
                "true&&GITHUB_TOKEN='s3cret' gh",
                "true&&GITHUB_TOKEN=__REDACTED__ gh",
            ),
            (
                "make&GITHUB_TOKEN=\"a b\" x",
                "make&GITHUB_TOKEN=__REDACTED__ x",
            ),
            ("a&&DB_PASSWORD=$'abc' b", "a&&DB_PASSWORD=__REDACTED__ b"),
            ("a&&DB_PASSWORD=ab#cd b", "a&&DB_PASSWORD=__REDACTED__ b"),
        ] {
            assert_eq!(r(cmd), want);
        }
    }

    /// A header value or `-u` password runs to its closing quote, spaces
    /// included; unquoted, to the end of the shell word.
    #[test]
    fn quoted_values_with_spaces_are_hidden_whole() {
        assert_eq!(
            r("curl -H 'Cookie: theme=dark; sessionid=SECRET' u"),
            "curl -H 'Cookie: __REDACTED__' u"
        );
        assert_eq!(r("curl -u 'me:pa ss' u"), "curl -u 'me:__REDACTED__' u");
        assert_eq!(r("curl -u me:pass u"), "curl -u me:__REDACTED__ u");
        assert_eq!(
            r("curl -H Authorization:\\ Bearer\\ abc u"),
            "curl -H Authorization:__REDACTED__ u"
        );
    }

    /// The prefilter never hides a secret name from the name patterns:
    /// every name `secret_name` accepts, in any case and with any
    /// neighbours, passes it; text with no such name does not.
    #[test]
    fn the_secret_name_prefilter_passes_every_secret_name() {
        let mut names: Vec<String> = Vec::new();
        for part in SECRET_PARTS {
            for name in [
                part.to_string(),
                format!("MY_{part}"),
                format!("{part}_VALUE"),
                format!("x-{part}-id"),
                format!("GITHUB{part}"),
            ] {
                names.push(name.clone());
                names.push(name.to_ascii_lowercase());
            }
        }
        for q in KEY_QUALIFIERS {
            names.push(format!("{q}_KEY"));
            names.push(format!("app.{}-key", q.to_ascii_lowercase()));
        }
        names.extend(["stripeApiKey", "dbPassword", "x-amz-signature", "sig"].map(String::from));
        let mut accepted = 0;
        for name in &names {
            if secret_name(name) {
                accepted += 1;
                assert!(may_name_secret(&format!("cmd --{name}=v")), "{name}");
            }
        }
        assert!(accepted > 50, "{accepted}");
        // Names the header and URL parameter patterns hide without asking
        // `secret_name`: each must pass the prefilter too.
        for literal in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "set-cookie",
            "Private-Token",
            "x-api-key",
            "sig",
            "signature",
            "key",
            "X-Amz-Signature",
        ] {
            assert!(may_name_secret(literal), "{literal}");
        }
        for plain in [
            "/usr/local/bin:/usr/bin:/bin",
            "rs=0:di=01;34:ln=01;36",
            "uid-bckqsw-dqrvtx-gxxhkt",
            "C.UTF-8",
        ] {
            assert!(!may_name_secret(plain), "{plain}");
            assert!(matches!(redact(plain), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn nothing_to_hide_borrows() {
        assert!(matches!(redact("git status"), Cow::Borrowed(_)));
    }
}
