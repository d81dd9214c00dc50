//! `shellgate audit suggest`: policy rules proposed from what users
//! answered, for a person to review (never applied by shellgate).
//!
//! Input: `approval` records (the user's yes or no to `shellgate
//! approve`), each joined through its approval code to the decision that
//! refused the command, which says which rule refused it. Commands are
//! grouped by [`super::report::pattern`]. A pattern approved at least
//! `min` times and never rejected becomes an `allow` rule proposal; one
//! rejected at least `min` times and never approved becomes a
//! `soft_deny` proposal with `decision = "deny"`. A pattern with both
//! answers is listed without a rule. Where a `soft_deny` or `hard_deny`
//! rule refused the approved commands, an `allow` rule would not override
//! it, and the proposal says so and names the rule to narrow instead.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::report::{pattern, pattern_source};
use super::{Event, Record};

/// One proposal.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// `allow`, `soft_deny`, or `none` (mixed answers).
    pub section: String,
    /// The command pattern.
    pub pattern: String,
    /// Times users approved it.
    pub approved: u64,
    /// Times users rejected it.
    pub rejected: u64,
    /// Rules that had refused these commands.
    pub refused_by: Vec<String>,
    /// Up to three commands (redacted).
    pub examples: Vec<String>,
    /// The rule as a TOML inline table, ready to review and paste into
    /// the section's `rules` list; empty when no rule is proposed.
    pub rule: String,
    /// What to look out for.
    pub note: String,
}

#[derive(Default)]
struct Group {
    approved: u64,
    rejected: u64,
    refused_by: Vec<(String, String)>,
    examples: Vec<String>,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn rule_id(section: &str, pattern: &str) -> String {
    let words: String = pattern
        .split_whitespace()
        .map(|w| {
            w.trim_start_matches('-')
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("suggested-{section}-{words}").replace("_", "-")
}

/// The TOML inline table of a proposed rule.
fn rule_toml(section: &str, pattern: &str, count: u64, examples: &[String]) -> String {
    let mut words = pattern.split_whitespace();
    let name = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let sub: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    let flags: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|w| w.starts_with('-'))
        .collect();
    let list = |xs: &[&str]| xs.iter().map(|x| quote(x)).collect::<Vec<_>>().join(", ");
    let what = if section == "allow" {
        "approved"
    } else {
        "rejected"
    };
    let mut t = format!(
        "{{ id = {}, description = {}, command = {}",
        quote(&rule_id(section, pattern)),
        quote(&format!(
            "users {what} `{pattern}` {count} times (shellgate audit suggest)"
        )),
        quote(name)
    );
    if !sub.is_empty() {
        t += &format!(", subcommand = [{}]", list(&sub));
    }
    // A rejection proposal catches any of the options seen; an allow
    // proposal does not widen to other options, so it names none.
    if section == "soft_deny" && !flags.is_empty() {
        t += &format!(", flags = [{}]", list(&flags));
    }
    if section == "soft_deny" {
        t += ", decision = \"deny\"";
    }
    if !examples.is_empty() {
        t += &format!(
            ", examples = [{}]",
            examples
                .iter()
                .map(|e| quote(e))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    t + " }"
}

/// Proposals from `records`, strongest first; `min` is the number of
/// answers a pattern needs.
pub fn suggest<'a>(
    records: impl IntoIterator<Item = &'a Record> + Clone,
    min: u64,
) -> Vec<Suggestion> {
    let mut refusals: HashMap<&str, &Record> = HashMap::new();
    for r in records.clone() {
        if r.event == Event::Decision {
            if let Some(code) = &r.approval_code {
                refusals.insert(code.as_str(), r);
            }
        }
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for r in records {
        if r.event != Event::Approval {
            continue;
        }
        let refusal = r.approval_code.as_deref().and_then(|c| refusals.get(c));
        let source = refusal.map_or_else(|| pattern_source(r), |d| pattern_source(d));
        let p = pattern(source);
        if p.is_empty() {
            continue;
        }
        let g = groups.entry(p).or_default();
        if r.approved == Some(true) {
            g.approved += 1;
        } else {
            g.rejected += 1;
        }
        if let Some(f) = refusal.and_then(|d| d.fired().into_iter().next()) {
            if !g.refused_by.iter().any(|(rule, _)| *rule == f.rule) {
                g.refused_by.push((f.rule, f.section));
            }
        }
        if g.examples.len() < 3 && !g.examples.contains(&r.command) {
            g.examples.push(r.command.clone());
        }
    }
    let mut out = Vec::new();
    for (p, g) in groups {
        let refused_by: Vec<String> = g
            .refused_by
            .iter()
            .map(|(r, s)| format!("{r} ({s})"))
            .collect();
        let (section, rule, note) = if g.approved >= min && g.rejected == 0 {
            let blocking: Vec<&str> = g
                .refused_by
                .iter()
                .filter(|(_, s)| s != "tier_default" && s != "allow")
                .map(|(r, _)| r.as_str())
                .collect();
            let note = if blocking.is_empty() {
                "check the examples are all routine before adding the rule".to_string()
            } else {
                format!(
                    "refused by {}: an allow rule does not override it; narrow that rule instead (not_args / not_flags) if these commands are routine",
                    blocking.join(", ")
                )
            };
            (
                "allow",
                rule_toml("allow", &p, g.approved, &g.examples),
                note,
            )
        } else if g.rejected >= min && g.approved == 0 {
            (
                "soft_deny",
                rule_toml("soft_deny", &p, g.rejected, &g.examples),
                "users always said no: refuse without asking".to_string(),
            )
        } else if g.approved + g.rejected >= min && g.approved > 0 && g.rejected > 0 {
            (
                "none",
                String::new(),
                "users answered both ways: keep asking".to_string(),
            )
        } else {
            continue;
        };
        out.push(Suggestion {
            section: section.into(),
            pattern: p,
            approved: g.approved,
            rejected: g.rejected,
            refused_by,
            examples: g.examples,
            rule,
            note,
        });
    }
    out.sort_by(|a, b| {
        (b.approved + b.rejected)
            .cmp(&(a.approved + a.rejected))
            .then_with(|| a.pattern.cmp(&b.pattern))
    });
    out
}

/// The proposals as text with TOML to paste.
pub fn text(s: &[Suggestion], min: u64) -> String {
    if s.is_empty() {
        return format!(
            "no proposals: no command pattern was approved or rejected {min} times or more (see --min)\n"
        );
    }
    let mut o = String::new();
    for x in s {
        o += &format!(
            "# `{}`: approved {}, rejected {}{}\n#   {}\n",
            x.pattern,
            x.approved,
            x.rejected,
            if x.refused_by.is_empty() {
                String::new()
            } else {
                format!("; refused by {}", x.refused_by.join(", "))
            },
            x.note
        );
        for e in &x.examples {
            o += &format!("#   e.g. {}\n", e.replace('\n', " "));
        }
        if !x.rule.is_empty() {
            o += &format!("[{}] rules += {}\n", x.section, x.rule);
        }
        o += "\n";
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Fired;

    fn refusal(code: &str, cmd: &str, rule: &str, section: &str) -> Record {
        let mut r = Record::new(Event::Decision, "hook");
        r.decision = "ask".into();
        r.command = cmd.into();
        r.approval_code = Some(code.into());
        r.fired = vec![Fired {
            rule: rule.into(),
            section: section.into(),
            matched: cmd.into(),
            command: cmd.into(),
        }];
        r
    }

    fn answer(code: &str, cmd: &str, yes: bool) -> Record {
        let mut r = Record::new(Event::Approval, "approve");
        r.command = cmd.into();
        r.approval_code = Some(code.into());
        r.approved = Some(yes);
        r
    }

    #[test]
    fn repeated_answers_become_proposals() {
        let mut recs = Vec::new();
        for i in 0..3 {
            let c = format!("A{i}");
            recs.push(refusal(
                &c,
                "make deploy-docs",
                "tier.unknown",
                "tier_default",
            ));
            recs.push(answer(&c, "make deploy-docs", true));
            let c = format!("B{i}");
            recs.push(refusal(
                &c,
                "git push --force origin x",
                "git.force-push",
                "soft_deny",
            ));
            recs.push(answer(&c, "git push --force origin x", false));
        }
        let s = suggest(&recs, 3);
        assert_eq!(s.len(), 2);
        let allow = s.iter().find(|x| x.section == "allow").unwrap();
        assert_eq!(allow.pattern, "make deploy-docs");
        assert!(allow.rule.contains("command = \"make\""), "{}", allow.rule);
        assert!(allow.rule.contains("subcommand = [\"deploy-docs\"]"));
        let deny = s.iter().find(|x| x.section == "soft_deny").unwrap();
        assert!(deny.rule.contains("flags = [\"--force\"]"), "{}", deny.rule);
        assert_eq!(deny.refused_by, vec!["git.force-push (soft_deny)"]);
        // The TOML parses.
        let v: toml::Value = toml::from_str(&format!("r = {}", deny.rule)).unwrap();
        assert_eq!(v["r"]["decision"].as_str(), Some("deny"));
    }

    #[test]
    fn too_few_or_mixed_answers() {
        let recs = vec![
            answer("a", "npm publish", true),
            answer("b", "npm publish", false),
        ];
        assert!(suggest(&recs, 3).is_empty());
        let s = suggest(&recs, 2);
        assert_eq!(s[0].section, "none");
        assert!(s[0].rule.is_empty());
    }
}
