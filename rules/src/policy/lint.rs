//! Checks behind `shellgate policy check`: rule examples, sections that
//! drop `$defaults`, rules that can never fire and rules shadowed by
//! others.

use std::path::PathBuf;

use serde::Serialize;

use super::{defaults, find_line, Policy, Rule, RuleKind};
use crate::finding::Section;
use crate::policy::matcher::Reading;

/// Working directory example commands are judged from when the policy
/// names no project root.
pub const EXAMPLE_CWD: &str = "/project";
/// `$HOME` for example commands.
pub const EXAMPLE_HOME: &str = "/home/user";

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The policy does not load.
    Error,
    /// The policy loads but probably does not do what its author meant.
    Warning,
}

/// One finding of the policy check.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// The file, when known.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The rule concerned, when there is one.
    pub rule: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: {level}: {}", p.display(), self.message),
            (Some(p), None) => write!(f, "{}: {level}: {}", p.display(), self.message),
            _ => write!(f, "{level}: {}", self.message),
        }
    }
}

/// True when `rule` (a matcher rule) matches some simple command of
/// `example`, judged with `policy`'s environment.
pub fn rule_matches(policy: &Policy, rule: &Rule, example: &str) -> Result<bool, String> {
    let RuleKind::Matcher(m) = &rule.kind else {
        return Ok(false);
    };
    let reading = if rule.section == Section::Allow {
        Reading::Strict
    } else {
        Reading::Any
    };
    let cwd = policy.project_root.as_deref().unwrap_or(EXAMPLE_CWD);
    crate::with_context(policy, example, cwd, Some(EXAMPLE_HOME), |cx| {
        cx.script.commands.iter().any(|c| m.matches(cx, c, reading))
    })
    .map_err(|e| format!("example `{example}` does not parse: {e}"))
}

/// Checks `rule`'s examples and counter-examples. The error names the
/// first one that fails.
pub fn check_examples(policy: &Policy, rule: &Rule) -> Result<(), String> {
    let Some(spec) = &rule.spec else {
        return Ok(());
    };
    let section = rule.section.as_str();
    for ex in &spec.examples {
        if !rule_matches(policy, rule, ex)? {
            return Err(format!(
                "{section}: rule `{}` does not match its example `{ex}`; fix the matcher or the example",
                rule.id
            ));
        }
    }
    for ex in &spec.counter_examples {
        if rule_matches(policy, rule, ex)? {
            return Err(format!(
                "{section}: rule `{}` matches its counter-example `{ex}`; fix the matcher or the example",
                rule.id
            ));
        }
    }
    Ok(())
}

/// Warnings for a policy that loaded: dropped `$defaults`, rules that can
/// never fire, shadowed rules, and ignore patterns that do not compile.
/// `texts` are the layers' file texts, for line numbers.
pub fn lint(policy: &Policy, texts: &[(PathBuf, String)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let line_in = |origin: &str, needle: &str| {
        texts
            .iter()
            .find(|(p, _)| p.display().to_string() == origin)
            .and_then(|(_, t)| find_line(t, needle))
    };
    for (section, file) in &policy.dropped_defaults {
        let dropped: Vec<String> = defaults::rules(*section)
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        let still = policy
            .rules(*section)
            .iter()
            .any(|r| r.origin == defaults::BUILTIN);
        let name = section.as_str();
        let message = if dropped.is_empty() {
            format!("[{name}] has no \"$defaults\"; there are no built-in {name} rules today, but any added later will not apply")
        } else if still {
            format!("[{name}] has no \"$defaults\", but another layer keeps the built-in {name} rules, so this omission has no effect")
        } else {
            format!(
                "[{name}] has no \"$defaults\", so these built-in rules no longer apply: {}. Their matches fall back to the tier (ask). Add \"$defaults\" to the section's rules to keep them",
                dropped.join(", ")
            )
        };
        out.push(Diagnostic {
            level: Level::Warning,
            file: Some(file.clone()),
            line: line_in(&file.display().to_string(), &format!("[{name}]")),
            rule: None,
            message,
        });
    }
    let ordered: Vec<&Rule> = policy
        .hard_deny
        .iter()
        .chain(&policy.soft_deny)
        .chain(&policy.allow)
        .collect();
    for (i, rule) in ordered.iter().enumerate() {
        if rule.origin == defaults::BUILTIN {
            continue;
        }
        let Some(spec) = &rule.spec else { continue };
        let warn = |message: String| Diagnostic {
            level: Level::Warning,
            file: Some(PathBuf::from(&rule.origin)),
            line: line_in(&rule.origin, &format!("\"{}\"", rule.id)),
            rule: Some(rule.id.to_string()),
            message,
        };
        // Contradictions: the rule can never match anything.
        if let Some(p) = spec.args.iter().find(|a| spec.not_args.contains(a)) {
            out.push(warn(format!(
                "rule `{}` can never fire: `{p}` is in both args and not_args",
                rule.id
            )));
        }
        if !spec.flags.is_empty() && spec.flags.iter().all(|f| spec.not_flags.contains(f)) {
            out.push(warn(format!(
                "rule `{}` can never fire: every flag in flags is also in not_flags",
                rule.id
            )));
        }
        // Shadowing, judged on the rule's examples: every example is
        // already decided by a rule that takes precedence.
        if spec.examples.is_empty() {
            if let Some(other) = ordered[..i]
                .iter()
                .find(|o| o.spec.as_ref().is_some_and(|s| same_matcher(s, spec)))
            {
                out.push(warn(format!(
                    "rule `{}` is shadowed by `{}` ({}), which has the same matcher and takes precedence",
                    rule.id,
                    other.id,
                    other.section.as_str()
                )));
            }
            continue;
        }
        let all_hit = |pred: &dyn Fn(&str) -> bool| spec.examples.iter().all(|e| pred(e));
        if let Some(d) = policy.deny_layer.iter().find(|d| {
            all_hit(&|e| {
                crate::with_context(policy, e, EXAMPLE_CWD, Some(EXAMPLE_HOME), |cx| {
                    cx.script.commands.iter().any(|c| d.matches(c))
                })
                .unwrap_or(false)
            })
        }) {
            out.push(warn(format!(
                "rule `{}` is shadowed by the deny layer rule `{}`: every example is denied before {} is consulted",
                rule.id,
                d.text,
                rule.section.as_str()
            )));
            continue;
        }
        if let Some(other) = ordered[..i].iter().find(|o| {
            matches!(o.kind, RuleKind::Matcher(_))
                && (o.section != Section::Allow || rule.section == Section::Allow)
                && all_hit(&|e| rule_matches(policy, o, e).unwrap_or(false))
        }) {
            let what = if rule.section == Section::Allow && other.section != Section::Allow {
                "allow never overrides a deny rule".to_string()
            } else {
                format!("`{}` comes first", other.id)
            };
            out.push(warn(format!(
                "rule `{}` is shadowed by `{}` ({}): every example matches it, and {what}",
                rule.id,
                other.id,
                other.section.as_str()
            )));
        }
    }
    for (pattern, origin) in policy.ignore.patterns() {
        let body = pattern.trim_start_matches('!');
        let body = body
            .strip_prefix("~/")
            .map_or(body.to_string(), |r| format!("/{r}"));
        if ignore::gitignore::GitignoreBuilder::new("/")
            .add_line(None, &body)
            .is_err()
        {
            out.push(Diagnostic {
                level: Level::Warning,
                file: Some(PathBuf::from(&origin)),
                line: line_in(&origin, pattern),
                rule: None,
                message: format!(
                    "ignore pattern `{pattern}` is not valid gitignore syntax and is skipped"
                ),
            });
        }
    }
    out
}

fn same_matcher(a: &super::file::RuleSpec, b: &super::file::RuleSpec) -> bool {
    a.command == b.command
        && a.subcommand == b.subcommand
        && a.args == b.args
        && a.any_args == b.any_args
        && a.not_args == b.not_args
        && a.flags == b.flags
        && a.not_flags == b.not_flags
        && a.env == b.env
        && a.paths == b.paths
        && a.network == b.network
}
