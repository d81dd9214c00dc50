//! The ignore file: paths no command may touch, whatever the tier.
//!
//! Patterns use gitignore syntax (gitignore(5)), read from the built-in
//! defaults, then `.shellgateignore` and `.claudeignore` at the project
//! root, in that order, so a later `!pattern` can re-include a path. A
//! pattern that starts with `~/` is matched against paths under `$HOME`;
//! every other pattern against paths under the project root.
//!
//! A command touches a path when the path is one of its operands or option
//! values (`--file=PATH`, `@PATH`, `if=PATH`, `REV:PATH`), a redirection
//! target or its standard input file, after the parser's expansion and
//! relative to its working directory. A glob operand touches a path when
//! bash could expand it to one (bash manual 3.5.8: `*` does not match a
//! leading `.` unless the pattern starts with one). Programs that only
//! print their arguments (`echo`, `printf`) touch nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;
use shellgate_parsers::{Stdin, Word};

use super::PolicyError;
use crate::detectors::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};

/// Rule id of ignore-file matches.
pub const RULE: &str = "ignore-file";

/// The built-in patterns: environment files (not their examples), private
/// keys (not certificates: `cert.pem` is public),
/// credentials, cloud and GitHub CLI credentials, and git hooks.
pub const DEFAULT_PATTERNS: &[&str] = &[
    ".env",
    ".env.*",
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    "*.key",
    "*key*.pem",
    "*.p12",
    "*.pfx",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials.json",
    ".netrc",
    "~/.ssh",
    "~/.aws",
    "~/.config/gh",
    "~/.gnupg",
    "~/.docker/config.json",
    "~/.kube/config",
    ".git/hooks",
];

/// The project files read, in order.
pub const PROJECT_FILES: &[&str] = &[".shellgateignore", ".claudeignore"];

/// Programs that only print or test their arguments as text.
const NO_TOUCH: &[&str] = &["echo", "printf", "true", "false", ":"];

/// Most file-system matches of one glob operand examined.
const MAX_GLOB_MATCHES: usize = 10_000;

/// Where the built-in patterns come from, in messages.
const DEFAULTS_ORIGIN: &str = "the built-in ignore patterns";

/// The ignore patterns and a compiled matcher cache.
#[derive(Debug)]
pub struct IgnoreFile {
    /// (line, origin file or `None` for built-in).
    lines: Vec<(String, Option<PathBuf>)>,
    cache: Mutex<Option<Arc<Compiled>>>,
}

impl Clone for IgnoreFile {
    fn clone(&self) -> Self {
        IgnoreFile {
            lines: self.lines.clone(),
            cache: Mutex::new(None),
        }
    }
}

#[derive(Debug)]
struct Compiled {
    root: String,
    home: Option<String>,
    /// The pattern lines with their origins, for the matchers.
    lines: Vec<(String, Option<PathBuf>)>,
    /// The gitignore matchers, built the first time a path passes the
    /// prefilter (most commands name no path that could match).
    matchers: OnceLock<Matchers>,
    /// Example paths (absolute) instantiated from the patterns, for glob
    /// operands; [`Compiled::samples`] keeps those the patterns ignore.
    candidates: Vec<String>,
    /// The ignored candidates, worked out on first use (most commands
    /// have no glob operand).
    samples: OnceLock<Vec<String>>,
    /// Some pattern ends with `/` (matches directories only).
    dir_only: bool,
    /// A cheap necessary condition, checked before the gitignore matchers.
    prefilter: Prefilter,
}

/// The compiled gitignore rules: the project's (relative to the root) and
/// the `~/` ones (relative to `$HOME`).
#[derive(Debug)]
struct Matchers {
    project: Gitignore,
    home_rules: Option<Gitignore>,
}

/// The last components of the positive patterns: a path can only match if
/// one of its components matches one of them (a gitignore pattern matches a
/// path or one of its parents, by its last component among others).
#[derive(Debug, Default)]
struct Prefilter {
    /// Literal names (`.env`, `id_rsa`, `hooks`); a short list, compared
    /// directly (cheaper here than hashing every component).
    names: Vec<String>,
    /// Names with wildcards, as their literal runs (`*key*.pem`: `key`,
    /// `.pem`): a component the name matches contains every run.
    fragments: Vec<Vec<String>>,
    /// Names with a bracket expression, as their literal runs. The matcher
    /// lets a class match `/` (`[!a]`, `[.-0]`), so the name may span
    /// components: a path it matches contains every run somewhere.
    spanning: Vec<Vec<String>>,
    /// A pattern whose last component is `**` or has no literal text, or
    /// one that could not be read: every path must be checked.
    any: bool,
}

/// The literal runs of a one-component glob (gitignore's wildcards: `*`,
/// `?`, `[…]`, `\` escapes), or `None` when a bracket is not closed or a
/// `\` ends the name.
fn literal_runs(name: &str) -> Option<Vec<String>> {
    let mut runs = vec![String::new()];
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => runs.push(String::new()),
            '[' => {
                // `[!]…]`, `[^]…]` and `[]…]` hold a literal `]` first.
                if matches!(chars.peek(), Some('!' | '^')) {
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                }
                chars.by_ref().find(|&c| c == ']')?;
                runs.push(String::new());
            }
            // A trailing `\\` escapes nothing: how a matcher reads it is
            // not ours to guess.
            '\\' => runs.last_mut()?.push(chars.next()?),
            c => runs.last_mut()?.push(c),
        }
    }
    runs.retain(|r| !r.is_empty());
    Some(runs)
}

impl Prefilter {
    fn new<'a>(patterns: impl Iterator<Item = &'a str>) -> Prefilter {
        let mut p = Prefilter::default();
        for pat in patterns {
            let body = pat.trim_end_matches('/');
            let last = body.rsplit('/').next().unwrap_or("");
            // Braces: whether gitignore treats them as alternation or as
            // literals, checking every path is right. A `/` inside a class
            // or after a `\\` would make the split above wrong.
            if last.is_empty()
                || last == "**"
                || last.contains(['{', '}'])
                || (body.contains('/') && body.contains(['[', '\\']))
            {
                p.any = true;
            } else if last.contains(['*', '?', '[', '\\']) {
                match literal_runs(last) {
                    Some(runs) if runs.is_empty() => p.any = true,
                    Some(runs) if last.contains('[') => p.spanning.push(runs),
                    Some(runs) => p.fragments.push(runs),
                    None => p.any = true,
                }
            } else {
                if !p.names.iter().any(|n| n == last) {
                    p.names.push(last.to_string());
                }
            }
        }
        p
    }

    fn may_match(&self, abs: &str) -> bool {
        self.any
            || self
                .spanning
                .iter()
                .any(|runs| runs.iter().all(|r| abs.contains(r.as_str())))
            || abs.split('/').any(|c| {
                self.names.iter().any(|n| n == c)
                    || self
                        .fragments
                        .iter()
                        .any(|runs| runs.iter().all(|r| c.contains(r.as_str())))
            })
    }
}

/// Directories [`IgnoreFile::scan`] does not enter: dependencies and build
/// output, large and regenerated, where a project keeps no credentials of
/// its own.
pub const SCAN_SKIPPED: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".gradle",
    ".cache",
    "vendor",
    "dist",
    "build",
];

impl IgnoreFile {
    /// The built-in patterns only.
    pub fn with_defaults() -> IgnoreFile {
        IgnoreFile {
            lines: DEFAULT_PATTERNS
                .iter()
                .map(|l| (l.to_string(), None))
                .collect(),
            cache: Mutex::new(None),
        }
    }

    /// Adds the lines of `.shellgateignore` and `.claudeignore` under `root`.
    pub fn read_project_files(&mut self, root: &Path) -> Result<(), PolicyError> {
        for name in PROJECT_FILES {
            let path = root.join(name);
            match super::read_regular_file(&path, super::MAX_POLICY_BYTES) {
                Ok(text) => self.add_text(&text, Some(&path)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(PolicyError::Read { path, source }),
            }
        }
        self.compile_cache_reset();
        Ok(())
    }

    /// Adds gitignore lines (comments and blank lines are skipped).
    pub fn add_text(&mut self, text: &str, origin: Option<&Path>) {
        for line in text.lines() {
            let l = line.trim_end();
            if l.trim().is_empty() || l.starts_with('#') {
                continue;
            }
            self.lines
                .push((l.to_string(), origin.map(Path::to_path_buf)));
        }
        self.compile_cache_reset();
    }

    /// Every pattern with its origin, in order.
    pub fn patterns(&self) -> impl Iterator<Item = (&str, String)> {
        self.lines.iter().map(|(l, o)| {
            (
                l.as_str(),
                o.as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| DEFAULTS_ORIGIN.into()),
            )
        })
    }

    pub(crate) fn compile_cache_reset(&self) {
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn compiled(&self, root: &str, home: Option<&str>) -> Arc<Compiled> {
        let mut slot = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = slot.as_ref() {
            if c.root == root && c.home.as_deref() == home {
                return c.clone();
            }
        }
        let c = Arc::new(self.compile(root, home));
        *slot = Some(c.clone());
        c
    }

    fn compile(&self, root: &str, home: Option<&str>) -> Compiled {
        let mut samples = Vec::new();
        for (line, _) in &self.lines {
            if line.starts_with('!') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("~/") {
                if let Some(h) = home {
                    samples.push(format!("{h}/{}", instantiate(rest)));
                }
            } else {
                let inst = instantiate(line.trim_start_matches('/'));
                samples.push(format!("{root}/{inst}"));
                if !line.trim_end_matches('/').contains('/') {
                    samples.push(format!("{root}/x/{inst}"));
                }
            }
        }
        Compiled {
            root: root.to_string(),
            home: home.map(str::to_string),
            lines: self.lines.clone(),
            matchers: OnceLock::new(),
            candidates: samples,
            samples: OnceLock::new(),
            dir_only: self.lines.iter().any(|(l, _)| l.trim_end().ends_with('/')),
            prefilter: Prefilter::new(
                self.lines
                    .iter()
                    .map(|(l, _)| l.as_str())
                    .filter(|l| !l.starts_with('!')),
            ),
        }
    }

    /// The pattern (and its origin) that makes `abs` untouchable, if any.
    pub fn matched(&self, root: &str, home: Option<&str>, abs: &str) -> Option<(String, String)> {
        self.compiled(root, home).matched(abs)
    }

    /// The paths under the directory `root` that the patterns match, for
    /// the sandbox to hide: a breadth-first walk that reads at most
    /// `max_entries` directory entries, goes at most `max_depth`
    /// directories down, follows no symbolic link, and enters neither
    /// `.git`, nor a directory named in [`SCAN_SKIPPED`], nor a matched
    /// directory. The flag is true when the walk saw every entry it would
    /// enter.
    pub fn scan(
        &self,
        root: &str,
        home: Option<&str>,
        max_entries: usize,
        max_depth: usize,
    ) -> (Vec<String>, bool) {
        let compiled = self.compiled(root, home);
        let mut found = Vec::new();
        let mut queue =
            std::collections::VecDeque::from([(root.trim_end_matches('/').to_string(), 0)]);
        let mut budget = max_entries;
        while let Some((dir, depth)) = queue.pop_front() {
            let Ok(entries) = std::fs::read_dir(if dir.is_empty() { "/" } else { &dir }) else {
                continue;
            };
            for entry in entries.flatten() {
                if budget == 0 {
                    return (found, false);
                }
                budget -= 1;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let path = format!("{dir}/{name}");
                if compiled.matched(&path).is_some() {
                    found.push(path);
                } else if depth < max_depth
                    && name != ".git"
                    && !SCAN_SKIPPED.contains(&name)
                    && entry.file_type().is_ok_and(|t| t.is_dir())
                {
                    queue.push_back((path, depth + 1));
                }
            }
        }
        (found, true)
    }
}

impl Compiled {
    /// The gitignore matchers, built on first use.
    fn matchers(&self) -> &Matchers {
        self.matchers.get_or_init(|| {
            let mut project = GitignoreBuilder::new(&self.root);
            let mut home_b = self.home.as_deref().map(GitignoreBuilder::new);
            for (line, origin) in &self.lines {
                let (neg, body) = match line.strip_prefix('!') {
                    Some(b) => ("!", b),
                    None => ("", line.as_str()),
                };
                // Lines that do not compile are skipped by the builder;
                // the lint reports them.
                if let Some(rest) = body.strip_prefix("~/") {
                    if let Some(b) = home_b.as_mut() {
                        let _ = b.add_line(origin.clone(), &format!("{neg}/{rest}"));
                    }
                } else {
                    let _ = project.add_line(origin.clone(), line);
                }
            }
            Matchers {
                project: project.build().unwrap_or_else(|_| Gitignore::empty()),
                home_rules: home_b.and_then(|b| b.build().ok()),
            }
        })
    }

    /// The candidate sample paths that the patterns do ignore.
    fn samples(&self) -> &[String] {
        self.samples.get_or_init(|| {
            self.candidates
                .iter()
                .filter(|s| self.matched(s).is_some())
                .cloned()
                .collect()
        })
    }

    fn matched(&self, abs: &str) -> Option<(String, String)> {
        if !self.prefilter.may_match(abs) {
            return None;
        }
        let check = |gi: &Gitignore, base: &str| -> Option<(String, String)> {
            let rel = abs.strip_prefix(base)?.strip_prefix('/')?;
            if rel.is_empty() {
                return None;
            }
            // The path may be a file or a directory: either counts. Only
            // directory-only patterns (`dir/`) tell the two apart.
            let kinds: &[bool] = if self.dir_only {
                &[false, true]
            } else {
                &[false]
            };
            for &is_dir in kinds {
                if let Match::Ignore(g) = gi.matched_path_or_any_parents(rel, is_dir) {
                    let origin = g
                        .from()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| DEFAULTS_ORIGIN.into());
                    return Some((g.original().to_string(), origin));
                }
            }
            None
        };
        let matchers = self.matchers();
        if let Some(m) = check(&matchers.project, &self.root) {
            return Some(m);
        }
        match (&matchers.home_rules, &self.home) {
            (Some(gi), Some(h)) => check(gi, h),
            _ => None,
        }
    }

    /// An ignored path that the glob `abs_glob` (a bash pattern, `\\`
    /// escaping) expands to: on the file system when files match (every
    /// component expanded, at most `budget` directory entries read, taken
    /// from it), else one of the patterns' sample paths. A last component
    /// made only of wildcards (`*`) is judged on the file system alone,
    /// since it names no file in particular.
    fn glob_hits(&self, abs_glob: &str, budget: &mut usize) -> Option<String> {
        // (Without `globstar`, bash's `**` is `*`.)
        let expanded = shellgate_parsers::pathglob::bash_to_glob(abs_glob)
            .and_then(|p| shellgate_parsers::pathglob::expand(&p, budget, MAX_GLOB_MATCHES).ok());
        for path in expanded.iter().flatten() {
            // `..` and `.` components resolved, as the matcher expects.
            let path = shellgate_parsers::join_path("/", path);
            if self.matched(&path).is_some() {
                return Some(path);
            }
        }
        let want: Vec<&str> = abs_glob.split('/').collect();
        let last = want.last().copied().unwrap_or("");
        if last.chars().all(|c| matches!(c, '*' | '?')) {
            return None;
        }
        // Each component of the operand compiled once.
        let want: Vec<ComponentGlob> = want.iter().map(|w| ComponentGlob::new(w)).collect();
        self.samples()
            .iter()
            .find(|s| {
                let got: Vec<&str> = s.split('/').collect();
                got.len() == want.len() && want.iter().zip(&got).all(|(w, g)| w.matches(g))
            })
            .cloned()
    }
}

/// One component of a glob operand, with bash's rule that a leading `.`
/// must be matched explicitly. Braces are not pattern characters in bash
/// globs (bash manual 3.5.8.1).
struct ComponentGlob {
    leading_dot: bool,
    glob: Option<glob::Pattern>,
}

impl ComponentGlob {
    /// `component` as the operand spells it, `\\` escaping the next
    /// character, translated by [`shellgate_parsers::pathglob::bash_to_glob`].
    fn new(component: &str) -> ComponentGlob {
        let glob = shellgate_parsers::pathglob::bash_to_glob(component)
            .and_then(|p| glob::Pattern::new(&p).ok());
        ComponentGlob {
            // An escaped dot is matched explicitly too (checked with bash).
            leading_dot: component.starts_with('.') || component.starts_with("\\."),
            glob,
        }
    }

    /// Whether bash's glob would match `name`. A component the `glob`
    /// crate cannot compile is taken to match every name (fail closed).
    fn matches(&self, name: &str) -> bool {
        if name.starts_with('.') && !self.leading_dot {
            return false;
        }
        self.glob.as_ref().is_none_or(|g| g.matches(name))
    }
}

/// A concrete name a gitignore pattern matches: wildcards replaced by `x`,
/// classes by their first member.
fn instantiate(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.trim_end_matches('/').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push('x');
            }
            '?' => out.push('x'),
            '[' => {
                let mut first = None;
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    if first.is_none() && d != '!' && d != '^' {
                        first = Some(d);
                    }
                }
                out.push(first.unwrap_or('x'));
            }
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Paths a word names: the word itself, an option's value (`--opt=PATH`,
/// `-fPATH`), `@file`, `if=`/`of=` and `REV:PATH` forms.
fn candidates(text: &str) -> Vec<&str> {
    let mut out = vec![text];
    if !text.starts_with("--") {
        if let Some(rest) = text.strip_prefix('-') {
            // After the option letter (by characters, so any UTF-8 is safe).
            if let Some((i, _)) = rest.char_indices().nth(1) {
                out.push(&rest[i..]);
            }
        }
    }
    if let Some((opt, v)) = text.split_once('=') {
        if opt.starts_with('-') || matches!(opt, "if" | "of") {
            out.push(v);
        }
    }
    if let Some((_, f)) = text.rsplit_once('@') {
        out.push(f);
    }
    if !text.contains("://") {
        if let Some((_, p)) = text.rsplit_once(':') {
            out.push(p);
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// Indices of arguments that are not paths: the pattern or program of
/// `grep`-like tools, `sed`, `awk`, `jq` (when not given by `-e`/`-f`),
/// message and title option values, and the script of `bash -c`.
fn not_paths(prog: &str, args: &[Word]) -> Vec<usize> {
    let mut out = Vec::new();
    let script_opt = |w: &Word| {
        let t = w.text.as_str();
        matches!(
            t,
            "-e" | "-f" | "--regexp" | "--file" | "--expression" | "--from-file"
        ) || t.starts_with("--regexp=")
            || t.starts_with("--file=")
            || t.starts_with("--expression=")
    };
    let first_operand = args.iter().position(|w| !w.text.starts_with('-'));
    let program_first = matches!(
        prog,
        "grep"
            | "egrep"
            | "fgrep"
            | "rg"
            | "ag"
            | "ack"
            | "sed"
            | "awk"
            | "gawk"
            | "mawk"
            | "jq"
            | "yq"
            | "perl"
    );
    if program_first && !args.iter().any(script_opt) {
        out.extend(first_operand);
    }
    for (i, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        let message = matches!(
            t,
            "-m" | "--message" | "--title" | "--body" | "--subject" | "--description" | "--notes"
        ) || (prog == "gh" && matches!(t, "-t" | "-b"));
        let shell_script = matches!(prog, "bash" | "sh" | "zsh" | "dash" | "ksh") && t == "-c";
        if message || shell_script {
            out.push(i + 1);
        }
    }
    out
}

/// Findings for every path the script touches that the ignore file covers.
pub fn findings(cx: &Cx, out: &mut Vec<Finding>) {
    let root = cx.paths.project_root.as_str();
    let home = cx.paths.home.as_deref();
    let compiled = cx.policy.ignore.compiled(root, home);
    for cmd in &cx.script.commands {
        let prog = cmd.program().unwrap_or("command");
        let mut words: Vec<&Word> = Vec::new();
        if !NO_TOUCH.contains(&prog) {
            let skip = not_paths(prog, cmd.args());
            words.extend(
                cmd.args()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !skip.contains(i))
                    .map(|(_, w)| w),
            );
        }
        words.extend(
            cmd.redirects
                .iter()
                .filter(|r| !r.is_here())
                .map(|r| &r.target),
        );
        if let Stdin::File { path } = &cmd.stdin {
            words.push(path);
        }
        for w in words {
            if w.dynamic {
                continue;
            }
            for text in candidates(&w.text) {
                let hit = if w.glob {
                    let Some(abs) = shellgate_parsers::pathglob::absolute(text, cmd.cwd.as_deref())
                    else {
                        continue;
                    };
                    let mut budget = cx.glob_budget.get();
                    let hits = compiled.glob_hits(&abs, &mut budget);
                    cx.glob_budget.set(budget);
                    hits.and_then(|s| compiled.matched(&s).map(|m| (s, m)))
                } else {
                    // With the working directory unknown, a relative path
                    // is judged as if from the project root: unanchored
                    // patterns (`.env`) match at any depth anyway.
                    let cwd = cmd.cwd.as_deref().or(Some(root));
                    let Some(abs) = cx.paths.resolve_text(text, false, cwd) else {
                        continue;
                    };
                    let abs = cx.follow(&abs);
                    compiled.matched(&abs).map(|m| (abs, m))
                };
                if let Some((path, (pattern, origin))) = hit {
                    out.push(finding(
                        RULE,
                        Verdict::Deny,
                        Section::IgnoreFile,
                        w.span,
                        format!("`{prog}` touches {path}, which matches `{pattern}` in {origin}; no command may touch it (edit the ignore file if this is wrong)"),
                    ));
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_runs_of_wildcard_names() {
        let runs = |n: &str| literal_runs(n);
        assert_eq!(runs("*key*.pem"), Some(vec!["key".into(), ".pem".into()]));
        assert_eq!(runs(".env.*"), Some(vec![".env.".into()]));
        assert_eq!(
            runs("a[0-9]b?c"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(runs("x[!]]y"), Some(vec!["x".into(), "y".into()]));
        assert_eq!(runs(r"\*.txt"), Some(vec!["*.txt".into()]));
        assert_eq!(runs("*"), Some(vec![]));
        assert_eq!(runs("a[bc"), None);
        assert_eq!(runs("a\\"), None);
    }

    /// The prefilter is a necessary condition of the gitignore matcher:
    /// for random patterns over the glob metacharacters and random paths,
    /// whenever `Gitignore` (the ground truth) ignores a path, the
    /// prefilter lets it through.
    #[test]
    fn prefilter_never_hides_a_gitignore_match() {
        const PAT: &[&str] = &[
            "a",
            "b",
            ".",
            "*",
            "?",
            "[",
            "]",
            "!",
            "^",
            "-",
            "\\",
            "/",
            "**",
            ":",
            "[[:alpha:]]",
            // Whole classes: negated ones and those naming `/` may match
            // the separator.
            "[!a]",
            "[^b]",
            "[/]",
            "[a/]",
            "[!/]",
        ];
        const PATH: &[&str] = &["a", "b", ".", "]", "[", "!", "^", "-", "\\", ":", "ab", "x"];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut checked = 0;
        let rounds = std::env::var("SHELLGATE_PREFILTER_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(4000);
        for _ in 0..rounds {
            let pattern: String = (0..1 + next(6)).map(|_| PAT[next(PAT.len())]).collect();
            let mut b = GitignoreBuilder::new("/p");
            if b.add_line(None, &pattern).is_err() {
                continue;
            }
            let Ok(gi) = b.build() else { continue };
            let prefilter = Prefilter::new(std::iter::once(pattern.as_str()));
            for _ in 0..20 {
                let comps: Vec<String> = (0..1 + next(3))
                    .map(|_| (0..1 + next(3)).map(|_| PATH[next(PATH.len())]).collect())
                    .collect();
                let rel = comps.join("/");
                for is_dir in [false, true] {
                    if gi.matched_path_or_any_parents(&rel, is_dir).is_ignore() {
                        checked += 1;
                        assert!(
                            prefilter.may_match(&format!("/p/{rel}")),
                            "pattern {pattern:?} ignores {rel:?} but the prefilter rules it out"
                        );
                    }
                }
            }
        }
        assert!(checked > 500, "only {checked} matches exercised");
    }

    /// The prefilter never rules out a path a pattern matches: every
    /// wildcard pattern here is checked through it against paths it matches.
    #[test]
    fn prefilter_keeps_every_match() {
        let mut f = IgnoreFile::with_defaults();
        f.add_text(
            "secret[0-9].txt\n*.sqlite?\n[Tt]oken*\nback\\*up\nvault[!x]db\nsecrets\\/\n",
            Some(Path::new("/p/.shellgateignore")),
        );
        let m = |p: &str| f.matched("/p", Some("/h"), p).map(|x| x.0);
        assert_eq!(m("/p/a/secret7.txt").as_deref(), Some("secret[0-9].txt"));
        assert_eq!(m("/p/db.sqlite3").as_deref(), Some("*.sqlite?"));
        assert_eq!(m("/p/Tokens/x").as_deref(), Some("[Tt]oken*"));
        assert_eq!(m("/p/back*up").as_deref(), Some("back\\*up"));
        assert_eq!(m("/p/mykey-prod.pem").as_deref(), Some("*key*.pem"));
        // The matcher lets a negated class match `/`; the prefilter must
        // not rule out what the matcher would match.
        assert_eq!(m("/p/vault/db").as_deref(), Some("vault[!x]db"));
        // A `\\` before the trailing `/`.
        assert_eq!(m("/p/secrets/db.txt").as_deref(), Some("secrets\\/"));
        assert_eq!(m("/p/backup"), None);
        assert_eq!(m("/p/secret.txt"), None);
    }

    #[test]
    fn defaults_and_negation() {
        let f = IgnoreFile::with_defaults();
        let m = |p: &str| f.matched("/p", Some("/h"), p).map(|x| x.0);
        assert_eq!(m("/p/.env").as_deref(), Some(".env"));
        assert_eq!(m("/p/sub/.env.local").as_deref(), Some(".env.*"));
        assert_eq!(m("/p/.env.example"), None);
        assert_eq!(m("/h/.ssh/id_rsa").as_deref(), Some("/.ssh"));
        assert_eq!(m("/h/.ssh").as_deref(), Some("/.ssh"));
        assert_eq!(m("/p/.git/hooks/pre-commit").as_deref(), Some(".git/hooks"));
        assert_eq!(m("/p/src/main.rs"), None);
        assert_eq!(m("/elsewhere/.ssh"), None);
    }

    #[test]
    fn project_lines_can_add_and_reinclude() {
        let mut f = IgnoreFile::with_defaults();
        f.add_text(
            "# comment\nsecrets/\n!.env\n",
            Some(Path::new("/p/.shellgateignore")),
        );
        let m = |p: &str| f.matched("/p", None, p).map(|x| x.1);
        assert_eq!(m("/p/secrets/a").as_deref(), Some("/p/.shellgateignore"));
        assert_eq!(m("/p/.env"), None);
    }

    #[test]
    fn touching_is_judged_by_what_a_word_is() {
        use crate::detectors::testutil::assert_verdict;
        use crate::Verdict::*;
        for c in [
            "cd \"$DIR\" && cat .env",
            "psql -f.env",
            "grep -f .env src",
            "cat < ./config/.env.production",
            "cat */.env",
        ] {
            assert_verdict(c, Deny, Some(RULE));
        }
        for c in [
            "grep -rn \".env\" src",
            "jq .env package.json",
            "sed -i 's/\\.env/.env.local/' README.md",
            "git commit -m \"fix: see src/.env\"",
            "gh pr create --title \"Read config/.env\"",
            "cat cert.pem",
            "cat ./*",
        ] {
            let (_, ids) = crate::detectors::testutil::judge(c);
            assert!(!ids.contains(&RULE), "{c:?}: {ids:?}");
        }
        // The script of `bash -c` is judged as commands, not as a path.
        assert_verdict("bash -c \"cat ~/.netrc\"", Ask, Some("secrets.read"));
    }

    #[test]
    fn scan_finds_matches_without_entering_git_or_matched_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["src/app", ".git/hooks", "certs"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            ".env",
            "src/app/.env.local",
            "src/app/main.rs",
            "certs/server.key",
            ".env.example",
        ] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let f = IgnoreFile::with_defaults();
        let r = root.to_str().unwrap();
        let (mut found, complete) = f.scan(r, None, 1000, 8);
        found.sort();
        let want: Vec<String> = [".env", "certs/server.key", "src/app/.env.local"]
            .iter()
            .map(|p| format!("{r}/{p}"))
            .collect();
        assert_eq!(found, want);
        assert!(complete);
        let (_, complete) = f.scan(r, None, 3, 8);
        assert!(!complete);
        // Depth 1: `src/app/.env.local` is two directories down.
        let (found, _) = f.scan(r, None, 1000, 1);
        assert!(!found.iter().any(|p| p.ends_with(".env.local")));
        // Build output is not entered.
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join("target/debug/x.key"), "").unwrap();
        let (found, _) = f.scan(r, None, 1000, 8);
        assert!(!found.iter().any(|p| p.contains("/target/")));
    }

    #[test]
    fn globs_follow_bash_dot_rule() {
        let f = IgnoreFile::with_defaults();
        let c = f.compiled("/p", Some("/h"));
        assert!(c.glob_hits("/p/.e*", &mut 4096).is_some());
        assert!(c.glob_hits("/p/*", &mut 4096).is_none());
        assert!(c.glob_hits("/p/*.key", &mut 4096).is_some());
        assert!(c.glob_hits("/p/{*}", &mut 4096).is_none());
        assert!(c.glob_hits("/h/.ss?", &mut 4096).is_some());
        // Escapes and both class negations, as bash reads them.
        assert!(c.glob_hits("/p/.en[v]", &mut 4096).is_some());
        assert!(c.glob_hits("/p/.en[^x]", &mut 4096).is_some());
        assert!(c.glob_hits("/p/.en[!v]", &mut 4096).is_none());
        assert!(c.glob_hits(r"/p/\.en?", &mut 4096).is_some());
        assert!(c.glob_hits(r"/p/\*.key", &mut 4096).is_none());
        // `**` inside a component is two `*` (no globstar).
        assert!(c.glob_hits("/p/.e**v", &mut 4096).is_some());
        assert!(c.glob_hits("/p/x**.key", &mut 4096).is_some());
        assert!(c.glob_hits("/p/***", &mut 4096).is_none());
    }

    #[test]
    fn uncompilable_component_matches_everything() {
        // A POSIX class the matcher cannot express: whatever bash would
        // match, the check must not go quiet.
        let g = ComponentGlob::new("id_rs[[:alpha:]]");
        assert!(g.matches("anything"));
        assert!(!g.matches(".hidden"));
        // An unclosed `[` is literal, as in bash.
        let g = ComponentGlob::new("notes[");
        assert!(g.matches("notes[") && !g.matches("notes"));
        assert!(ComponentGlob::new("a**b").matches("a-b"));
    }
}
