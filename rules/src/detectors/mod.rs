//! The built-in detectors. Each module owns one family of rules, with its
//! tests beside it; [`ALL`] lists them in evaluation order.

use shellgate_parsers::{Command, CommandId, Script, Span, Word};

use crate::finding::{Finding, Section, Verdict};
use crate::paths::PathContext;
use crate::policy::{Policy, Tier};
use crate::remote::{is_trusted, Destination};

pub mod api;
pub mod databases;
pub mod disk;
pub mod dynamic;
pub mod exec_options;
pub mod exfiltration;
pub mod git;
pub mod global_config;
pub mod inline_code;
pub mod kubernetes;
pub mod net;
pub mod packages;
pub mod pipe_to_shell;
pub mod privilege;
pub mod recursive_delete;
pub mod restrictive;
pub mod secrets;
pub mod tamper;
pub mod writes;

/// A detector: looks at the whole parsed script and reports findings.
pub type Detector = fn(&Cx, &mut Vec<Finding>);

/// Every built-in detector, in evaluation order.
pub const ALL: &[(&str, Detector)] = &[
    ("recursive_delete", recursive_delete::check),
    ("disk", disk::check),
    ("pipe_to_shell", pipe_to_shell::check),
    ("git", git::check),
    ("privilege", privilege::check),
    ("exfiltration", exfiltration::check),
    ("writes", writes::check),
    ("secrets", secrets::check),
    ("inline_code", inline_code::check),
    ("dynamic", dynamic::check),
    ("exec_options", exec_options::check),
    ("packages", packages::check),
    ("databases", databases::check),
    ("kubernetes", kubernetes::check),
    ("api", api::check),
    ("global_config", global_config::check),
    ("tamper", tamper::check),
    ("restrictive", restrictive::check),
];

/// What detectors see: the parsed script, the policy and path context.
pub struct Cx<'a> {
    /// The parsed command.
    pub script: &'a Script,
    /// The policy in force.
    pub policy: &'a Policy,
    /// Project root, home and secret patterns.
    pub paths: PathContext,
    /// How deep this evaluation is nested in command-valued options.
    pub nesting: usize,
    /// Symbolic links the script itself creates: (link path, target), absolute.
    pub links: Vec<(String, String)>,
    /// Directory entries glob operands may still read for this input
    /// ([`shellgate_parsers::pathglob::MAX_GLOB_ENTRIES`] to start with).
    pub glob_budget: std::cell::Cell<usize>,
}

impl<'a> Cx<'a> {
    /// The permission tier.
    pub fn tier(&self) -> Tier {
        self.policy.tier
    }

    /// The command with this id.
    pub fn command(&self, id: CommandId) -> &'a Command {
        &self.script.commands[id]
    }

    /// True when `dest` is a trusted remote, or this machine's loopback
    /// (local development servers are not exfiltration targets).
    pub fn trusted(&self, dest: &Destination) -> bool {
        is_trusted(&self.policy.trusted_remotes, dest) || is_loopback(&dest.host)
    }

    /// Classifies a word as a path for `cmd` (uses its working directory,
    /// and follows symbolic links the script itself creates).
    pub fn place(&self, cmd: &Command, w: &Word) -> (crate::paths::Place, Option<String>) {
        match self.paths.resolve(w, self.follow_cwd(cmd).as_deref()) {
            Some(abs) => {
                let abs = self.follow(&abs);
                (self.paths.place(&abs), Some(abs))
            }
            None => (crate::paths::Place::Unknown, None),
        }
    }

    /// `path` with a leading symbolic link made by this script replaced by
    /// its target (repeatedly, a bounded number of times).
    pub fn follow(&self, path: &str) -> String {
        let mut p = path.to_string();
        for _ in 0..8 {
            let hit = self
                .links
                .iter()
                .find(|(link, _)| p == *link || p.starts_with(&format!("{link}/")));
            match hit {
                Some((link, target)) => {
                    p = shellgate_parsers::join_path("/", &format!("{target}{}", &p[link.len()..]))
                }
                None => break,
            }
        }
        p
    }

    fn follow_cwd(&self, cmd: &Command) -> Option<String> {
        cmd.cwd.as_deref().map(|c| self.follow(c))
    }
}

/// True for `localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// Symbolic links created by `ln -s TARGET LINK` in the script, resolved
/// against each command's working directory.
pub fn symlinks(script: &Script) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for cmd in &script.commands {
        if cmd.program() != Some("ln") {
            continue;
        }
        // A hard link (no `-s`) is the same file under another name: writes
        // through it change the target too.
        let symbolic = cmd.args().iter().any(|w| {
            w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('s')
                || w.text == "--symbolic"
        });
        let (_, operands) = parse_opts(cmd.args(), "tS", &["--target-directory", "--suffix"]);
        let (Some(target), Some(link)) = (operands.first(), operands.get(1)) else {
            continue;
        };
        let (Some(t), Some(l), Some(cwd)) = (target.value(), link.value(), cmd.cwd.as_deref())
        else {
            continue;
        };
        let link_abs = shellgate_parsers::join_path(cwd, l);
        // A relative symlink target is relative to the link's directory; a
        // hard link's, to the working directory.
        let dir = if symbolic {
            link_abs
                .rsplit_once('/')
                .map(|(d, _)| if d.is_empty() { "/" } else { d })
                .unwrap_or("/")
        } else {
            cwd
        };
        out.push((link_abs.clone(), shellgate_parsers::join_path(dir, t)));
    }
    out
}

/// Shorthand constructor.
pub fn finding(
    rule: &'static str,
    verdict: Verdict,
    section: Section,
    span: Span,
    reason: impl Into<String>,
) -> Finding {
    Finding {
        rule,
        verdict,
        section,
        span,
        reason: reason.into(),
        nested: false,
    }
}

/// Splits an argument list into option words and operands, given the short
/// options that take a value (`short_value`) and long ones (`long_value`).
/// Combined short flags are understood (`-sLo FILE`: `o` takes `FILE`).
/// Returns (options as (name, value) pairs, operands).
pub fn parse_opts<'w>(
    args: &'w [Word],
    short_value: &str,
    long_value: &[&str],
) -> (Vec<(String, Option<&'w Word>)>, Vec<&'w Word>) {
    let mut opts = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let w = &args[i];
        let t = w.text.as_str();
        if only_operands || w.dynamic && !t.starts_with('-') || !t.starts_with('-') || t == "-" {
            operands.push(w);
            i += 1;
            continue;
        }
        if t == "--" {
            only_operands = true;
            i += 1;
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let name = format!("--{name}");
            if long_value.contains(&name.as_str()) && !inline {
                opts.push((name, args.get(i + 1)));
                i += 2;
            } else {
                opts.push((if inline { t.to_string() } else { name }, None));
                i += 1;
            }
            continue;
        }
        let mut consumed = 1;
        for (k, c) in t[1..].char_indices() {
            if short_value.contains(c) {
                if 1 + k + c.len_utf8() == t.len() {
                    opts.push((format!("-{c}"), args.get(i + 1)));
                    consumed = 2;
                } else {
                    opts.push((format!("-{c}{}", &t[1 + k + c.len_utf8()..]), None));
                }
                break;
            }
            opts.push((format!("-{c}"), None));
        }
        i += consumed;
    }
    (opts, operands)
}

/// Value of an option in either `-oVALUE` / `--name=VALUE` form or as the
/// next word, from the output of [`parse_opts`].
pub fn opt_value(name: &str, value: Option<&Word>) -> Option<String> {
    if let Some(v) = value {
        return Some(v.text.clone());
    }
    if let Some((_, v)) = name.split_once('=') {
        return Some(v.to_string());
    }
    if !name.starts_with("--") {
        // `-oVALUE`: everything after the option letter.
        let rest = name
            .strip_prefix('-')?
            .char_indices()
            .nth(1)
            .map(|(i, _)| &name[1 + i..]);
        return rest.filter(|r| !r.is_empty()).map(str::to_string);
    }
    None
}

/// The option itself, without a value: `--name` for `--name=VALUE`, `-o`
/// for `-oVALUE` (by characters, so any UTF-8 is safe).
pub fn option_key(name: &str) -> &str {
    if name.starts_with("--") {
        return name.split('=').next().unwrap_or(name);
    }
    match name.char_indices().nth(2) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;

    #[test]
    fn option_names_and_values_are_char_safe() {
        assert_eq!(option_key("-oout.txt"), "-o");
        assert_eq!(option_key("--output=x"), "--output");
        assert_eq!(option_key("-\u{48f}x"), "-\u{48f}");
        assert_eq!(opt_value("-\u{48f}", None), None);
        assert_eq!(opt_value("-\u{48f}ab", None).as_deref(), Some("ab"));
        assert_eq!(opt_value("-oout.txt", None).as_deref(), Some("out.txt"));
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Runs the engine on a command under the eval-style environment.
    use crate::{decide, Policy, Verdict};

    pub fn policy() -> Policy {
        Policy::from_toml(
            r#"
tier = "balanced"
[environment]
project_root = "/home/dev/project"
trusted_remotes = ["github.com/acme", "api.github.com", "*.acme.internal", "pypi.org", "files.pythonhosted.org", "registry.npmjs.org"]
protected_branches = ["main", "master", "release/*"]
"#,
            None,
        )
        .unwrap()
    }

    /// Decision and rule ids for `cmd` run from the project root.
    pub fn judge(cmd: &str) -> (Verdict, Vec<&'static str>) {
        let d = decide(&policy(), cmd, "/home/dev/project", Some("/home/dev")).decision;
        let ids = d.rule_ids();
        (d.decision, ids)
    }

    #[track_caller]
    pub fn assert_verdict(cmd: &str, want: Verdict, rule: Option<&str>) {
        let (v, ids) = judge(cmd);
        assert_eq!(v, want, "{cmd:?} gave {v:?} with rules {ids:?}");
        if let Some(r) = rule {
            assert!(ids.contains(&r), "{cmd:?}: expected rule {r}, got {ids:?}");
        }
    }
}
