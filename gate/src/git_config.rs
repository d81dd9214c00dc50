//! Git config files read the way git reads them, for the sandbox's git
//! protections (`run_env.rs`): the files a repository's config includes,
//! and its `core.hooksPath`.
//!
//! The parser follows git's own (`config.c`: `git_parse_source`,
//! `get_base_var`, `get_value`, `parse_value`; git-config(1), "Syntax"),
//! byte for byte where it matters to an attacker who wrote the file
//! before: a UTF-8 byte-order mark is skipped; a key may follow a section
//! header on the same line (`[core]hooksPath=x`); `[section.sub]` (old
//! syntax) and `[section "sub"]` have a subsection; a value's quotes may
//! open and close anywhere, `\` escapes `\`, `"`, `t`, `b`, `n` and a
//! newline (a continuation line), `#` and `;` start a comment outside
//! quotes, whitespace (git's: space, tab, CR, LF only) inside a value is
//! kept and trailing unquoted whitespace dropped, a value or subsection
//! ends at a NUL byte (git's strings are C strings), and a key before any
//! section belongs to the empty section. The text is bytes, not UTF-8.
//! Where git would stop with a syntax error, so does this, keeping what
//! it read before: git then refuses every command in the repository, so
//! nothing after it runs.

use std::path::{Path, PathBuf};

/// One `key = value` of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The section name, lowercased.
    pub section: String,
    /// The subsection (`[section "sub"]` as written, `[section.sub]`
    /// lowercased), if any.
    pub subsection: Option<Vec<u8>>,
    /// The key, lowercased.
    pub key: String,
    /// The value; `None` for a key without `=` (a boolean true).
    pub value: Option<Vec<u8>>,
}

/// Whitespace as git's `isspace` has it (`sane_ctype`: space, `\t`,
/// `\n`, `\r`; not `\v` or `\f`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// `bytes` up to its first NUL, as C code reads it.
fn until_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(i);
    }
    bytes
}

/// The entries of the config text `text`, in order, up to the first
/// syntax error git would stop at.
pub fn parse(text: &[u8]) -> Vec<Entry> {
    let mut p = Parser {
        text: text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text),
        at: 0,
        eof: false,
    };
    let mut out = Vec::new();
    // Before any header, keys belong to the empty section (git reads
    // `k = v` on the first line as the variable `k`).
    let mut stem: (String, Option<Vec<u8>>) = (String::new(), None);
    let mut comment = false;
    loop {
        let c = p.next();
        if c == b'\n' {
            if p.eof {
                return out;
            }
            comment = false;
            continue;
        }
        if comment || is_space(c) {
            continue;
        }
        if c == b'#' || c == b';' {
            comment = true;
            continue;
        }
        if c == b'[' {
            match p.section() {
                Some(s) => stem = s,
                None => return out,
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            return out;
        }
        let (section, subsection) = stem.clone();
        match p.entry(c) {
            Some((key, value)) => out.push(Entry {
                section,
                subsection,
                key,
                value,
            }),
            None => return out,
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    eof: bool,
}

impl Parser<'_> {
    /// The next byte, `\r\n` read as `\n`, and `\n` at the end (git's
    /// `get_next_char`).
    fn next(&mut self) -> u8 {
        let Some(&c) = self.text.get(self.at) else {
            self.eof = true;
            return b'\n';
        };
        self.at += 1;
        if c == b'\r' && self.text.get(self.at) == Some(&b'\n') {
            self.at += 1;
            return b'\n';
        }
        c
    }

    /// After `[`: the section and subsection, through `]`.
    fn section(&mut self) -> Option<(String, Option<Vec<u8>>)> {
        let mut name = Vec::new();
        loop {
            let c = self.next();
            if self.eof {
                return None;
            }
            if c == b']' {
                break;
            }
            if is_space(c) {
                return self.extended(name);
            }
            if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
                return None;
            }
            name.push(c.to_ascii_lowercase());
        }
        if name.is_empty() {
            return None;
        }
        // `[section.sub]`: the old syntax of a subsection.
        let name = String::from_utf8(name).ok()?;
        Some(match name.split_once('.') {
            Some((section, sub)) => (section.to_string(), Some(sub.as_bytes().to_vec())),
            None => (name, None),
        })
    }

    /// `[name "sub"]`, after the whitespace following `name`.
    fn extended(&mut self, name: Vec<u8>) -> Option<(String, Option<Vec<u8>>)> {
        let mut c;
        loop {
            c = self.next();
            if c == b'\n' {
                return None;
            }
            if !is_space(c) {
                break;
            }
        }
        if c != b'"' {
            return None;
        }
        let mut sub = Vec::new();
        loop {
            let mut c = self.next();
            if c == b'\n' {
                return None;
            }
            if c == b'"' {
                break;
            }
            if c == b'\\' {
                c = self.next();
                if c == b'\n' {
                    return None;
                }
            }
            sub.push(c);
        }
        if self.next() != b']' {
            return None;
        }
        // `[ "x"]` is accepted: the empty section with a subsection.
        Some((String::from_utf8(name).ok()?, Some(until_nul(sub))))
    }

    /// A key starting with `first`, and its value (git's `get_value`).
    fn entry(&mut self, first: u8) -> Option<(String, Option<Vec<u8>>)> {
        let mut key = String::from(first.to_ascii_lowercase() as char);
        let mut c;
        loop {
            c = self.next();
            if self.eof || !(c.is_ascii_alphanumeric() || c == b'-') {
                break;
            }
            key.push(c.to_ascii_lowercase() as char);
        }
        while c == b' ' || c == b'\t' {
            c = self.next();
        }
        if c == b'\n' {
            return Some((key, None));
        }
        if c != b'=' {
            return None;
        }
        Some((key, Some(self.value()?)))
    }

    /// A value after `=` (git's `parse_value`: leading whitespace
    /// skipped, inner whitespace kept as written, trailing unquoted
    /// whitespace dropped).
    fn value(&mut self) -> Option<Vec<u8>> {
        let (mut quote, mut comment) = (false, false);
        // The length before a run of unquoted whitespace, 0 when none.
        let mut trim = 0;
        let mut out = Vec::new();
        loop {
            let mut c = self.next();
            if c == b'\n' {
                if quote {
                    return None;
                }
                if trim > 0 {
                    out.truncate(trim);
                }
                return Some(until_nul(out));
            }
            if comment {
                continue;
            }
            if is_space(c) && !quote {
                if trim == 0 {
                    trim = out.len();
                }
                if !out.is_empty() {
                    out.push(c);
                }
                continue;
            }
            if !quote && (c == b';' || c == b'#') {
                comment = true;
                continue;
            }
            trim = 0;
            if c == b'\\' {
                c = match self.next() {
                    b'\n' => continue,
                    b't' => b'\t',
                    b'b' => b'\x08',
                    b'n' => b'\n',
                    c @ (b'\\' | b'"') => c,
                    _ => return None,
                };
                out.push(c);
                continue;
            }
            if c == b'"' {
                quote = !quote;
                continue;
            }
            out.push(c);
        }
    }
}

/// Largest config file read, in bytes (a larger one refuses the run:
/// [`GitConfig::read`]).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// The bytes of the regular file at `path`; `Ok(None)` when there is
/// none (missing, unreadable, or not a regular file). Opened non-blocking
/// and checked after opening, so that a FIFO or a device put in a
/// config's place (by an earlier command) cannot hang shellgate.
///
/// # Errors
/// The file is larger than [`MAX_CONFIG_BYTES`].
pub fn read_file(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
    else {
        return Ok(None);
    };
    let Ok(meta) = file.metadata() else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "{} is larger than {MAX_CONFIG_BYTES} bytes; shellgate cannot check what it \
             includes",
            path.display()
        ));
    }
    let mut text = Vec::new();
    if file.take(MAX_CONFIG_BYTES).read_to_end(&mut text).is_err() {
        return Ok(None);
    }
    Ok(Some(text))
}

/// Most files one config may include, with their includes; a config
/// that includes more is refused ([`GitConfig::read`]).
pub const MAX_INCLUDES: usize = 50;

/// How deep includes are followed: git's `MAX_INCLUDE_DEPTH`, past which
/// git itself refuses to run.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// A repository's config with its includes expanded where they stand.
#[derive(Debug, Default)]
pub struct GitConfig {
    /// The entries of every file read, in git's order.
    pub entries: Vec<Entry>,
    /// The files included (`include.path`, `includeIf.COND.path`: every
    /// condition taken as true, so that no file git might read is
    /// missed), as git opens them: relative to the directory of the file
    /// that includes them, `~/` and `~user/` expanded (git-config(1),
    /// "Includes"), whether they exist or not.
    pub included: Vec<PathBuf>,
}

impl GitConfig {
    /// Reads `files` in order (a repository's `config`, then its
    /// `config.worktree`), following includes. `home` expands `~/`.
    ///
    /// # Errors
    /// More than [`MAX_INCLUDES`] included files, or a file larger than
    /// [`MAX_CONFIG_BYTES`]: shellgate cannot say which files to protect.
    pub fn read(files: &[PathBuf], home: Option<&str>) -> Result<GitConfig, String> {
        let mut out = GitConfig::default();
        for file in files {
            out.add(file, home, 0)?;
        }
        Ok(out)
    }

    fn add(&mut self, file: &Path, home: Option<&str>, depth: usize) -> Result<(), String> {
        let Some(text) = read_file(file)? else {
            return Ok(());
        };
        for entry in parse(&text) {
            let include = entry.key == "path"
                && match (entry.section.as_str(), &entry.subsection) {
                    ("include", None) => true,
                    ("includeif", Some(condition)) => !condition.is_empty(),
                    _ => false,
                };
            let value = entry.value.clone();
            self.entries.push(entry);
            let Some(value) = value.filter(|v| include && !v.is_empty()) else {
                continue;
            };
            let Some(target) = include_target(file, &value, home) else {
                continue;
            };
            if self.included.len() >= MAX_INCLUDES {
                return Err(format!(
                    "{} includes more than {MAX_INCLUDES} git config files; shellgate cannot \
                     protect them all",
                    file.display()
                ));
            }
            self.included.push(target.clone());
            if depth < MAX_INCLUDE_DEPTH {
                self.add(&target, home, depth + 1)?;
            }
        }
        Ok(())
    }

    /// `core.hooksPath` (the last value in `[core]`), resolved as git
    /// does: `~/` from `home`, relative to the working tree (`worktree`)
    /// otherwise (git-config(1), `core.hooksPath`).
    pub fn hooks_path(&self, worktree: &Path, home: Option<&str>) -> Option<PathBuf> {
        use std::os::unix::ffi::OsStrExt;
        let value = self
            .entries
            .iter()
            .rev()
            .find(|e| e.section == "core" && e.subsection.is_none() && e.key == "hookspath")?
            .value
            .as_ref()
            .filter(|v| !v.is_empty())?;
        Some(match tilde(value, home) {
            Some(expanded) => expanded?,
            None => worktree.join(std::ffi::OsStr::from_bytes(value)),
        })
    }
}

/// `~/…` and `~user/…` expanded as git's `expand_user_path` does: `None`
/// when `value` does not start with `~`, `Some(None)` when it cannot be
/// expanded (no home, no such user).
fn tilde(value: &[u8], home: Option<&str>) -> Option<Option<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let rest = value.strip_prefix(b"~")?;
    let (user, path) = match rest.iter().position(|&b| b == b'/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let path = std::ffi::OsStr::from_bytes(path);
    Some(if user.is_empty() {
        home.map(|h| PathBuf::from(h).join(path))
    } else {
        std::str::from_utf8(user)
            .ok()
            .and_then(|name| nix::unistd::User::from_name(name).ok().flatten())
            .map(|u| u.dir.join(path))
    })
}

/// The file an include directive of `file` with `value` names, as git
/// opens it (`handle_path_include`: `~` expanded, a relative path
/// appended to `file`'s directory as written, so the kernel resolves
/// `..` after any symlink). `None` for `~/` without a home or an unknown
/// `~user`.
fn include_target(file: &Path, value: &[u8], home: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if let Some(expanded) = tilde(value, home) {
        return expanded;
    }
    let value = Path::new(std::ffi::OsStr::from_bytes(value));
    Some(match value.is_absolute() {
        true => value.to_path_buf(),
        false => file.parent().unwrap_or(Path::new("/")).join(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &[u8]) -> Vec<String> {
        parse(text)
            .into_iter()
            .map(|e| {
                let mut name = e.section.clone();
                if let Some(sub) = &e.subsection {
                    name.push('.');
                    name.push_str(&String::from_utf8_lossy(sub));
                }
                // git names a key before any section by the key alone.
                let var = match name.is_empty() {
                    true => e.key.clone(),
                    false => format!("{name}.{}", e.key),
                };
                match e.value {
                    Some(v) => format!("{var}={}", String::from_utf8_lossy(&v)),
                    None => var,
                }
            })
            .collect()
    }

    /// Texts git and a naive line reader disagree on, read as git 2.47
    /// reads them (`git config --file F --list`; checked against git
    /// itself by `parsing_agrees_with_git` when git is installed).
    const CASES: &[(&[u8], &[&str])] = &[
        (
            b"[include]path=../inc.gitconfig\n",
            &["include.path=../inc.gitconfig"],
        ),
        (b"[core]hooksPath=.evil\n", &["core.hookspath=.evil"]),
        (
            b"[core]\n\tx = a\\\n[alias]\n\thooksPath = .evil\n",
            &["core.x=a[alias]", "core.hookspath=.evil"],
        ),
        (
            b"[include]\n\tpath = ../inc.\\\ngitconfig\n",
            &["include.path=../inc.gitconfig"],
        ),
        (
            b"[include]\n\tpath = ../inc\".gitconfig\"\n",
            &["include.path=../inc.gitconfig"],
        ),
        (
            b"[include]\n\tpath = \"../inc\\\"q.gitconfig\"\n",
            &["include.path=../inc\"q.gitconfig"],
        ),
        (
            b"[core]\n\thooksPath = .real\n[core.x]\n\thooksPath = decoy\n",
            &["core.hookspath=.real", "core.x.hookspath=decoy"],
        ),
        (
            b"[user]\n\tname = Jos\xe9\n[core]\n\thooksPath = .h\n",
            &["user.name=Jos\u{fffd}", "core.hookspath=.h"],
        ),
        (
            b"\xef\xbb\xbf[core]\n\thooksPath = .h\n",
            &["core.hookspath=.h"],
        ),
        (
            b"[CORE]\n\tHOOKSPATH = a  b # c\n",
            &["core.hookspath=a  b"],
        ),
        (b"[core]\r\n\thooksPath = .h\r\n", &["core.hookspath=.h"]),
        (
            b"[include \"x\"]\n\tpath = a\n[includeIf]\n\tpath = b\n",
            &["include.x.path=a", "includeif.path=b"],
        ),
        (
            b"[core]\n\tbare\n\thooksPath = \"a;b\" ; c\n",
            &["core.bare", "core.hookspath=a;b"],
        ),
        (
            b"[include]\n\tpath = ../in\tc.cfg \t\n",
            &["include.path=../in\tc.cfg"],
        ),
        (
            b"[include]\n\tpath = ../inc\x0b\n",
            &["include.path=../inc\x0b"],
        ),
        (
            b"[include]\n\tpath = ../inc.cfg\x00junk\n",
            &["include.path=../inc.cfg"],
        ),
        (
            b"k = v\n[include]\n\tpath = ../inc.cfg\n",
            &["k=v", "include.path=../inc.cfg"],
        ),
        (
            b"[ \"x\"]\n\tk = v\n[core]\n\thooksPath = .h\n",
            &[".x.k=v", "core.hookspath=.h"],
        ),
        // A syntax error: git stops (and refuses every command).
        (
            b"[core]\n\ta = 1\n\t?b = 2\n\thooksPath = x\n",
            &["core.a=1"],
        ),
    ];

    #[test]
    fn parsing_follows_git() {
        for (text, want) in CASES {
            assert_eq!(entries(text), *want, "{}", String::from_utf8_lossy(text));
        }
    }

    /// The same cases through git itself, when it is installed.
    #[test]
    fn parsing_agrees_with_git() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        for (text, want) in CASES {
            std::fs::write(&file, text).unwrap();
            let Ok(out) = std::process::Command::new("git")
                .args(["config", "--file"])
                .arg(&file)
                .args(["--no-includes", "--list"])
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
            else {
                return; // no git here
            };
            if !out.status.success() {
                // git refuses the file: the cases with a syntax error.
                assert!(want.len() < 2 || text.contains(&b'?'), "{out:?}");
                continue;
            }
            let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            assert_eq!(got, entries(text), "{}", String::from_utf8_lossy(text));
        }
    }

    /// A FIFO where a config should be is skipped, not waited on.
    #[test]
    fn a_fifo_is_not_read() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("config");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read_file(&fifo), Ok(None));
        std::fs::write(t.path().join("file"), "[core]\n").unwrap();
        assert_eq!(
            read_file(&t.path().join("file")),
            Ok(Some(b"[core]\n".to_vec()))
        );
    }

    #[test]
    fn includes_are_followed_where_they_stand() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("p");
        let git = root.join(".git");
        std::fs::create_dir_all(&git).unwrap();
        std::fs::write(
            git.join("config"),
            "[core]\n\thooksPath = first\n[include]\n\tpath = ../shared.gitconfig\n\
             [includeIf \"gitdir:/never/\"]\n\tpath = ~/cond.gitconfig\n",
        )
        .unwrap();
        std::fs::write(
            root.join("shared.gitconfig"),
            "[core]\n\thooksPath = .hooks\n[include]\n\tpath = more/deep.gitconfig\n",
        )
        .unwrap();
        let home = t.path().join("home");
        let config = GitConfig::read(&[git.join("config")], home.to_str()).unwrap();
        assert_eq!(
            config.included,
            [
                git.join("../shared.gitconfig"),
                git.join("../more/deep.gitconfig"),
                home.join("cond.gitconfig"),
            ]
        );
        // The included value comes later than the one before the include.
        assert_eq!(config.hooks_path(&root, None), Some(root.join(".hooks")));
        // `~user/` is that user's home (root's, which every system has).
        let root_home = nix::unistd::User::from_uid(0.into()).unwrap().unwrap().dir;
        assert_eq!(tilde(b"~root/h", None), Some(Some(root_home.join("h"))));
        assert_eq!(
            tilde(b"~/h", Some("/home/u")),
            Some(Some(PathBuf::from("/home/u/h")))
        );
        assert_eq!(tilde(b"~/h", None), Some(None));
        assert_eq!(tilde(b"h", None), None);

        // A loop stops at git's depth (where git itself refuses to run).
        std::fs::write(git.join("config"), "[include]\n\tpath = config\n").unwrap();
        let config = GitConfig::read(&[git.join("config")], None).unwrap();
        assert_eq!(config.included.len(), MAX_INCLUDE_DEPTH + 1);
        // Too many files: refused.
        let many: String = (0..=MAX_INCLUDES)
            .map(|n| format!("[include]\n\tpath = f{n}\n"))
            .collect();
        std::fs::write(git.join("config"), many).unwrap();
        assert!(GitConfig::read(&[git.join("config")], None).is_err());
    }
}
