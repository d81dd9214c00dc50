//! Rule matchers: does a policy rule match one simple command?
//!
//! A matcher is compiled once from a [`RuleSpec`] when the policy loads and
//! applied to every simple command of the parsed script (wrappers already
//! unwrapped by the parser, so `sudo terraform destroy` and
//! `bash -c 'terraform destroy'` are both `terraform destroy`).
//!
//! Matching differs by section where the parse is ambiguous: for a deny
//! section a word after an unknown option may be that option's value or
//! the subcommand, and the rule matches if either reading does; an allow
//! rule matches only the reading that skips nothing unknown.

use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobMatcher};
use shellgate_parsers::{Command, Word};

use super::file::{NetworkScope, PathScope, RuleSpec};
use crate::detectors::{net, Cx};
use crate::paths::Place;

/// A wildcard pattern (`*`, `?`, `[…]`, `{a,b}`, `\\` escapes; a `(?i)`
/// prefix ignores case), matched against a whole string.
///
/// A pattern from a policy file is parsed (and so validated) when it is
/// created; the matcher, a compiled regular expression, is built the first
/// time it is used, so loading a policy does not pay for the rules a
/// command never reaches. A built-in pattern ([`Pattern::builtin`]) is
/// parsed on first use too: the tests compile every one. A pattern
/// without wildcard characters or case folding is compared as plain text
/// and never compiled.
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    kind: PatternKind,
}

#[derive(Clone, Debug)]
enum PatternKind {
    /// Matches exactly this string.
    Literal(String),
    /// A glob, parsed when the pattern was created, compiled on first use.
    Glob(Box<Glob>, OnceLock<GlobMatcher>),
    /// A built-in glob, parsed and compiled on first use.
    Builtin(OnceLock<GlobMatcher>),
}

/// The glob of a pattern's body (after any `(?i)`).
fn glob(body: &str, fold: bool) -> Result<Glob, globset::Error> {
    GlobBuilder::new(body)
        .literal_separator(false)
        .backslash_escape(true)
        .case_insensitive(fold)
        .build()
}

/// Splits off a leading `(?i)`: the body and whether case is ignored.
fn split_fold(text: &str) -> (&str, bool) {
    match text.strip_prefix("(?i)") {
        Some(b) => (b, true),
        None => (text, false),
    }
}

impl Pattern {
    /// Parses `text`. Errors name the pattern.
    pub fn new(text: &str) -> Result<Pattern, String> {
        Pattern::with(text, false)
    }

    /// A built-in pattern (from `defaults.toml`), parsed on first use.
    /// Built-in patterns are known to be valid (a test compiles all of
    /// them); one that was not would make the decision that reaches it
    /// fail, which denies.
    pub fn builtin(text: &str) -> Pattern {
        Pattern::with(text, true).expect("built-in patterns are parsed on first use")
    }

    fn with(text: &str, builtin: bool) -> Result<Pattern, String> {
        let (body, fold) = split_fold(text);
        let kind = if !fold && !body.contains(['*', '?', '[', ']', '{', '}', '\\']) {
            PatternKind::Literal(body.to_string())
        } else if builtin {
            PatternKind::Builtin(OnceLock::new())
        } else {
            let g = glob(body, fold).map_err(|e| format!("invalid pattern `{text}`: {e}"))?;
            PatternKind::Glob(Box::new(g), OnceLock::new())
        };
        Ok(Pattern {
            text: text.to_string(),
            kind,
        })
    }

    /// True when `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.kind {
            PatternKind::Literal(l) => l == s,
            PatternKind::Glob(g, m) => m.get_or_init(|| g.compile_matcher()).is_match(s),
            PatternKind::Builtin(m) => m
                .get_or_init(|| {
                    let (body, fold) = split_fold(&self.text);
                    glob(body, fold)
                        .unwrap_or_else(|e| panic!("built-in pattern `{}`: {e}", self.text))
                        .compile_matcher()
                })
                .is_match(s),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An option to look for: `-f` (also inside `-rf`) or `--force` (also `--force=…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flag {
    /// A one-letter option.
    Short(char),
    /// A long option, with its leading dashes (`--force`, or `-name` for find-style).
    Long(String),
}

impl Flag {
    fn parse(text: &str) -> Result<Flag, String> {
        let mut chars = text.chars();
        match (chars.next(), chars.next(), chars.next()) {
            (Some('-'), Some(c), None) if c != '-' => Ok(Flag::Short(c)),
            (Some('-'), Some(_), Some(_)) => Ok(Flag::Long(text.to_string())),
            _ => Err(format!(
                "invalid flag `{text}`: write `-x` for a short option or `--name` for a long one"
            )),
        }
    }

    /// True when argument `a` gives this option.
    fn given_by(&self, a: &str) -> bool {
        match self {
            Flag::Short(c) => {
                a.len() > 1
                    && a.starts_with('-')
                    && !a.starts_with("--")
                    && a[1..].chars().all(|x| x.is_ascii_alphanumeric())
                    && a[1..].contains(*c)
            }
            Flag::Long(l) => {
                a == l
                    || a.strip_prefix(l.as_str())
                        .is_some_and(|r| r.starts_with('='))
            }
        }
    }
}

/// A compiled matcher. Empty fields match anything.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    commands: Vec<Pattern>,
    subcommand: Vec<Pattern>,
    args: Vec<Pattern>,
    any_args: Vec<Pattern>,
    not_args: Vec<Pattern>,
    flags: Vec<Flag>,
    not_flags: Vec<Flag>,
    env: Vec<(String, Option<Pattern>)>,
    paths: Option<PathScope>,
    network: Option<NetworkScope>,
}

/// How ambiguous words are read (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Match if any reading matches (deny layer, hard_deny, soft_deny).
    Any,
    /// Match only the plain reading (allow).
    Strict,
}

/// Global options that take a value in the next word, per program, so that
/// `git -C dir push` is found as `git push`.
const VALUE_OPTIONS: &[(&str, &[&str])] = &[
    (
        "git",
        &[
            "-C",
            "-c",
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--exec-path",
            "--config-env",
        ],
    ),
    ("kubectl", crate::detectors::kubernetes::VALUE_OPTIONS),
    (
        "helm",
        &[
            "-n",
            "--namespace",
            "--kube-context",
            "--kubeconfig",
            "-f",
            "--values",
        ],
    ),
    (
        "docker",
        &[
            "-H",
            "--host",
            "--context",
            "-c",
            "--config",
            "-l",
            "--log-level",
        ],
    ),
    (
        "aws",
        &[
            "--profile",
            "--region",
            "--output",
            "--endpoint-url",
            "--query",
            "--cli-input-json",
        ],
    ),
    (
        "gcloud",
        &[
            "--project",
            "--account",
            "--configuration",
            "--format",
            "--region",
        ],
    ),
    ("gh", &["-R", "--repo", "--hostname"]),
    ("glab", &["-R", "--repo"]),
    ("terraform", &[]),
    ("npm", &["--prefix", "-w", "--workspace"]),
    ("cargo", &["--manifest-path", "-Z", "--config", "--color"]),
];

impl Matcher {
    /// Compiles the matcher fields of `spec`; `builtin` when it comes
    /// from `defaults.toml` (its patterns are parsed on first use, see
    /// [`Pattern::builtin`]). Errors name the field.
    pub fn compile(spec: &RuleSpec, builtin: bool) -> Result<Matcher, String> {
        let pattern = |p: &str| match builtin {
            true => Ok(Pattern::builtin(p)),
            false => Pattern::new(p),
        };
        let pats = |field: &str, v: &[String]| -> Result<Vec<Pattern>, String> {
            v.iter()
                .map(|p| pattern(p).map_err(|e| format!("{field}: {e}")))
                .collect()
        };
        let flags = |field: &str, v: &[String]| -> Result<Vec<Flag>, String> {
            v.iter()
                .map(|f| Flag::parse(f).map_err(|e| format!("{field}: {e}")))
                .collect()
        };
        let commands = match &spec.command {
            Some(c) => {
                let list = c.to_vec();
                if list.is_empty() {
                    return Err("command: the list is empty, so the rule could never match".into());
                }
                for name in &list {
                    if name.contains('/') {
                        return Err(format!(
                            "command: `{name}` contains `/`, but programs are compared by basename; write `{}`",
                            shellgate_parsers::basename(name)
                        ));
                    }
                }
                pats("command", &list)?
            }
            None => Vec::new(),
        };
        let env = spec
            .env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((n, p)) => pattern(p)
                    .map(|p| (n.to_string(), Some(p)))
                    .map_err(|err| format!("env: {err}")),
                None => Ok((e.clone(), None)),
            })
            .collect::<Result<Vec<_>, String>>()?;
        for (name, _) in &env {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("env: `{name}` is not a variable name"));
            }
        }
        let m = Matcher {
            commands,
            subcommand: pats("subcommand", &spec.subcommand)?,
            args: pats("args", &spec.args)?,
            any_args: pats("any_args", &spec.any_args)?,
            not_args: pats("not_args", &spec.not_args)?,
            flags: flags("flags", &spec.flags)?,
            not_flags: flags("not_flags", &spec.not_flags)?,
            env,
            paths: spec.paths,
            network: spec.network,
        };
        if m.is_empty() {
            return Err("the rule has no matcher (command, subcommand, args, any_args, flags, env, paths or network), so it would match every command".into());
        }
        Ok(m)
    }

    /// True when no positive matcher field is set.
    fn is_empty(&self) -> bool {
        self.commands.is_empty()
            && self.subcommand.is_empty()
            && self.args.is_empty()
            && self.any_args.is_empty()
            && self.flags.is_empty()
            && self.env.is_empty()
            && self.paths.is_none()
            && self.network.is_none()
    }

    /// The command patterns, for shadowing checks.
    pub fn command_patterns(&self) -> impl Iterator<Item = &str> {
        self.commands.iter().map(Pattern::as_str)
    }

    /// True when the rule matches `cmd` of the script in `cx`.
    pub fn matches(&self, cx: &Cx, cmd: &Command, reading: Reading) -> bool {
        let Some(prog) = cmd.program() else {
            // A command whose name is not known statically can be anything:
            // deny rules that name a program match it only through the
            // deny-side reading (other rules report it as dynamic).
            return false;
        };
        if !self.commands.is_empty() && !self.commands.iter().any(|p| p.is_match(prog)) {
            return false;
        }
        let args = cmd.args();
        let texts: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
        if !self.subcommand.is_empty() && !self.subcommand_matches(prog, &texts, reading) {
            return false;
        }
        if !self
            .args
            .iter()
            .all(|p| texts.iter().any(|t| p.is_match(t)))
        {
            return false;
        }
        if !self.any_args.is_empty()
            && !self
                .any_args
                .iter()
                .any(|p| texts.iter().any(|t| p.is_match(t)))
        {
            return false;
        }
        if self
            .not_args
            .iter()
            .any(|p| texts.iter().any(|t| p.is_match(t)))
        {
            return false;
        }
        let options = options_of(&texts);
        if !self.flags.is_empty()
            && !self
                .flags
                .iter()
                .any(|f| options.iter().any(|a| f.given_by(a)))
        {
            return false;
        }
        if self
            .not_flags
            .iter()
            .any(|f| options.iter().any(|a| f.given_by(a)))
        {
            return false;
        }
        if !self.env.is_empty() {
            let env = environment(cmd);
            let ok = self.env.iter().all(|(name, pat)| {
                env.iter().any(|(n, v)| {
                    n == name
                        && pat
                            .as_ref()
                            .is_none_or(|p| v.is_some_and(|v| p.is_match(v)))
                })
            });
            if !ok {
                return false;
            }
        }
        if let Some(scope) = self.paths {
            if !paths_match(cx, cmd, scope, reading) {
                return false;
            }
        }
        if let Some(scope) = self.network {
            if !network_matches(cx, cmd, scope, reading) {
                return false;
            }
        }
        true
    }

    fn subcommand_matches(&self, prog: &str, args: &[&str], reading: Reading) -> bool {
        let known: &[&str] = VALUE_OPTIONS
            .iter()
            .find(|(p, _)| *p == prog)
            .map(|(_, o)| *o)
            .unwrap_or(&[]);
        // Operands in order, each marked with whether it directly follows an
        // unknown option (and so might be that option's value).
        let mut operands: Vec<(&str, bool)> = Vec::new();
        let mut i = 0;
        let mut after_unknown = false;
        let mut saw_unknown = false;
        let mut unknown_before_first = false;
        while i < args.len() {
            let a = args[i];
            if a == "--" {
                operands.extend(args[i + 1..].iter().map(|a| (*a, false)));
                break;
            }
            if a.starts_with('-') && a.len() > 1 {
                if known.contains(&a) {
                    i += 2;
                    after_unknown = false;
                    continue;
                }
                after_unknown = !a.contains('=');
                saw_unknown = true;
                i += 1;
                continue;
            }
            if operands.is_empty() && saw_unknown {
                unknown_before_first = true;
            }
            operands.push((a, after_unknown));
            after_unknown = false;
            i += 1;
        }
        let n = self.subcommand.len();
        let fits = |start: usize| {
            operands.len() >= start + n
                && self
                    .subcommand
                    .iter()
                    .zip(&operands[start..start + n])
                    .all(|(p, (o, _))| p.is_match(o))
        };
        match reading {
            // The plain reading only: nothing unknown before the subcommand.
            Reading::Strict => {
                fits(0)
                    && operands
                        .first()
                        .is_some_and(|(_, maybe_value)| !maybe_value)
                    && !unknown_before_first
            }
            Reading::Any => (0..operands.len())
                .take_while(|&s| {
                    s == 0 || operands[..s].iter().all(|(_, maybe_value)| *maybe_value)
                })
                .any(fits),
        }
    }
}

/// Option words of an argument list (before `--`).
fn options_of<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter()
        .take_while(|a| **a != "--")
        .filter(|a| a.starts_with('-') && a.len() > 1)
        .copied()
        .collect()
}

/// The environment `cmd` runs with, as far as the script shows it:
/// variables the script exported earlier, `env NAME=VALUE` wrappers and
/// assignment prefixes, later entries overriding earlier ones when read
/// from the end (values `None` when not known statically).
pub fn environment<'s>(cmd: &'s Command) -> Vec<(&'s str, Option<&'s str>)> {
    let mut out: Vec<(&'s str, Option<&'s str>)> = cmd
        .exported
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_deref()))
        .collect();
    let pair = |w: &'s Word| -> Option<(&'s str, Option<&'s str>)> {
        let (n, v) = w.text.split_once('=')?;
        let valid = !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit());
        valid.then_some((n, (!w.dynamic).then_some(v)))
    };
    for w in &cmd.wrappers {
        if w.name == "env" {
            out.extend(w.argv.iter().skip(1).filter_map(pair));
        }
    }
    out.extend(
        cmd.assignments
            .iter()
            .map(|a| (a.name.as_str(), a.value.value())),
    );
    out
}

/// Deny-side rules match when some named path lies in `scope`; allow
/// rules only when every path the command names does (and there is one),
/// so `cat src/a.rs ~/.netrc` is not allowed by an `inside_project` rule.
fn paths_match(cx: &Cx, cmd: &Command, scope: PathScope, reading: Reading) -> bool {
    let words = cmd
        .args()
        .iter()
        .filter(|w| !w.text.starts_with('-'))
        .chain(
            cmd.redirects
                .iter()
                .filter(|r| !r.is_here())
                .map(|r| &r.target),
        );
    let mut seen = false;
    for w in words {
        let (place, abs) = cx.place(cmd, w);
        let hit = match scope {
            PathScope::InsideProject => matches!(place, Place::InProject | Place::ProjectRoot),
            PathScope::OutsideProject => place.outside_project(),
            PathScope::Secret => abs.is_some_and(|a| cx.paths.is_secret(&a)),
        };
        match reading {
            Reading::Any if hit => return true,
            Reading::Strict if !hit => return false,
            _ => seen = true,
        }
    }
    reading == Reading::Strict && seen
}

/// As [`paths_match`], for the destinations the command contacts
/// (downloaders, socket tools, ssh/scp/rsync and git's remote commands).
fn network_matches(cx: &Cx, cmd: &Command, scope: NetworkScope, reading: Reading) -> bool {
    let dests = net::fetches(cmd);
    let fits = |d: &crate::remote::Destination| match scope {
        NetworkScope::Any => true,
        NetworkScope::Trusted => cx.trusted(d),
        NetworkScope::Untrusted => !cx.trusted(d),
    };
    match reading {
        Reading::Any => dests.iter().any(fits),
        Reading::Strict => !dests.is_empty() && dests.iter().all(fits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_understand_combined_short_options() {
        let f = Flag::parse("-f").unwrap();
        assert!(f.given_by("-rf"));
        assert!(f.given_by("-f"));
        assert!(!f.given_by("--force"));
        assert!(!f.given_by("-"));
        let l = Flag::parse("--force").unwrap();
        assert!(l.given_by("--force"));
        assert!(l.given_by("--force=yes"));
        assert!(!l.given_by("--force-with-lease"));
        assert!(Flag::parse("f").is_err());
        assert!(Flag::parse("--").is_err());
    }

    #[test]
    fn patterns_are_wildcards() {
        assert!(Pattern::new("python3*").unwrap().is_match("python3.12"));
        assert!(Pattern::new("(?i)drop").unwrap().is_match("DROP"));
        assert!(!Pattern::new("drop").unwrap().is_match("DROP"));
        assert!(Pattern::new("[").is_err());
        // Plain text is compared as is; escapes and braces are still globs.
        assert!(Pattern::new("--force").unwrap().is_match("--force"));
        assert!(!Pattern::new("--force").unwrap().is_match("--forc"));
        assert!(Pattern::new(r"a\*").unwrap().is_match("a*"));
        assert!(!Pattern::new(r"a\*").unwrap().is_match("ab"));
        assert!(Pattern::new("{push,fetch}").unwrap().is_match("fetch"));
    }
}
