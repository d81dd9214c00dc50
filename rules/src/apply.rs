//! Applies the policy to the built-in detectors' findings, in precedence
//! order (docs/policy.md, "Precedence"): the deny layer, the ignore file,
//! hard_deny, soft_deny, allow, then the tier's default for what is left.
//! The strictest verdict across the command's simple commands wins
//! ([`crate::Decision::from_findings`]).

use shellgate_parsers::{Command, CommandId, Span};

use crate::detectors::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::policy::matcher::Reading;
use crate::policy::{Rule, RuleKind};

/// Longest command text quoted in a reason, in characters.
const SHOWN_CHARS: usize = 80;

/// The findings after the policy: deny-layer, ignore-file and matcher
/// rule findings added; built-in findings whose section drops
/// `$defaults` demoted to the tier's default (ask); tier-default findings
/// on commands an allow rule matches removed, and the allow rule named.
pub(crate) fn apply(cx: &Cx, detected: Vec<Finding>) -> Vec<Finding> {
    let policy = cx.policy;
    let commands = &cx.script.commands;
    let mut out = Vec::with_capacity(detected.len() + 2);
    for cmd in commands {
        for r in &policy.deny_layer {
            if r.matches(cmd) {
                out.push(finding(
                    r.id,
                    Verdict::Deny,
                    Section::DenyLayer,
                    cmd.span,
                    format!(
                        "`{}` matches the deny rule `{}` in {}; nothing overrides the deny layer",
                        shown(cmd),
                        r.text,
                        r.origin
                    ),
                ));
            }
        }
    }
    crate::policy::ignore::findings(cx, &mut out);
    // Built-in findings whose section drops `$defaults` fall back to the
    // tier's ask; they are kept apart so an allow rule cannot remove them
    // (an allow rule never overrides what a deny rule found).
    let mut demoted = Vec::new();
    for f in detected {
        if f.nested {
            // Decided by the nested evaluation's own pass.
            out.push(f);
            continue;
        }
        debug_assert!(
            !matches!(f.section, Section::HardDeny | Section::SoftDeny)
                || crate::policy::defaults::detector_rules()
                    .iter()
                    .any(|r| r.id == f.rule && r.section == f.section),
            "built-in finding {} in {} is missing from DETECTOR_RULES",
            f.rule,
            f.section.as_str()
        );
        if matches!(f.section, Section::HardDeny | Section::SoftDeny)
            && !policy.builtin_in_force(f.section, f.rule)
        {
            let reason = format!(
                "{} (the built-in {} rule `{}` is not in this policy, so the tier asks)",
                f.reason,
                f.section.as_str(),
                f.rule
            );
            demoted.push(Finding {
                verdict: Verdict::Ask,
                section: Section::TierDefault,
                reason,
                ..f
            });
        } else {
            out.push(f);
        }
    }
    for rule in policy.hard_deny.iter().chain(&policy.soft_deny) {
        for cmd in matching(cx, rule, Reading::Any) {
            out.push(finding(
                rule.id,
                rule.verdict,
                rule.section,
                cmd.span,
                format!(
                    "`{}` matches {} rule `{}` ({}): {}",
                    shown(cmd),
                    rule.section.as_str(),
                    rule.id,
                    rule.origin,
                    rule.description
                ),
            ));
        }
    }
    let mut allowed: Vec<CommandId> = Vec::new();
    for rule in &policy.allow {
        for cmd in matching(cx, rule, Reading::Strict) {
            allowed.push(cmd.id);
            out.push(finding(
                rule.id,
                Verdict::Allow,
                Section::Allow,
                cmd.span,
                format!(
                    "`{}` is allowed by rule `{}` ({}): {}",
                    shown(cmd),
                    rule.id,
                    rule.origin,
                    rule.description
                ),
            ));
        }
    }
    if !allowed.is_empty() {
        // Code shellgate cannot see (`code.*`: `eval "$x"`, `sed …/e`,
        // `python -c`) stays an ask: allowing a program is not allowing
        // whatever it is told to run.
        out.retain(|f| {
            f.nested
                || f.section != Section::TierDefault
                || f.rule.starts_with("code.")
                || !covered(commands, &allowed, f.span)
        });
    }
    out.extend(demoted);
    out
}

/// Commands of the script that `rule` (a matcher rule) matches.
fn matching<'a>(cx: &'a Cx, rule: &'a Rule, reading: Reading) -> impl Iterator<Item = &'a Command> {
    let m = match &rule.kind {
        RuleKind::Matcher(m) => Some(m),
        RuleKind::Detector => None,
    };
    cx.script
        .commands
        .iter()
        .filter(move |c| m.is_some_and(|m| m.matches(cx, c, reading)))
}

/// True when every innermost command containing `span` is allowed.
fn covered(commands: &[Command], allowed: &[CommandId], span: Span) -> bool {
    let containing = commands
        .iter()
        .filter(|c| c.span.start <= span.start && span.end <= c.span.end);
    let Some(min) = containing.clone().map(|c| c.span.end - c.span.start).min() else {
        return false;
    };
    containing
        .filter(|c| c.span.end - c.span.start == min)
        .all(|c| allowed.contains(&c.id))
}

/// The command's words, shortened for a reason line.
fn shown(cmd: &Command) -> String {
    let text = cmd
        .argv
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > SHOWN_CHARS {
        let cut: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}
