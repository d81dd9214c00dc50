//! `shellgate audit replay --policy NEW.toml`: re-decides every logged
//! command under a candidate policy and reports what would change, so a
//! policy change is reviewed on real traffic before rollout.
//!
//! Only decisions the policy made alone (`source` `policy`) are replayed:
//! for a session escalation or a user's approval the log does not hold
//! the policy's own verdict, and a policy that failed to load has none.
//! Commands are replayed as logged, that is redacted ([`super::redact`]):
//! a rule that depends on a secret's value cannot be replayed.

use std::collections::HashMap;

use serde::Serialize;

use super::{Event, Record};

/// What the candidate policy says about one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `allow`, `ask` or `deny`.
    pub decision: String,
    /// The strictest rule that fired, if any.
    pub rule: String,
}

/// One kind of change, with how often it happened.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    /// The logged decision.
    pub from: String,
    /// The candidate's decision.
    pub to: String,
    /// The rule behind the change: the candidate's for a stricter
    /// decision, the logged one for a looser decision.
    pub rule: String,
    /// Logged decisions that change this way.
    pub count: u64,
    /// Up to three commands (redacted) that change this way.
    pub examples: Vec<String>,
}

/// What a replay found.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Decisions replayed.
    pub replayed: u64,
    /// Decisions skipped: not made by the policy alone.
    pub skipped: u64,
    /// Replayed decisions that stay the same.
    pub unchanged: u64,
    /// Replayed decisions that would become `deny`.
    pub newly_denied: u64,
    /// Replayed decisions that would become `ask` (from `allow`).
    pub newly_asked: u64,
    /// Replayed decisions that would become `allow`.
    pub newly_allowed: u64,
    /// Replayed decisions that would become `ask` (from `deny`).
    pub relaxed_to_ask: u64,
    /// Every change, most frequent first.
    pub changes: Vec<ChangeRow>,
}

fn rank(d: &str) -> u8 {
    match d {
        "allow" => 0,
        "ask" => 1,
        _ => 2,
    }
}

/// Replays `records` through `decide` (the candidate policy). `decide`
/// is called once per distinct (cwd, command).
pub fn replay<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    mut decide: impl FnMut(&str, &str) -> Verdict,
) -> Summary {
    let mut s = Summary::default();
    let mut cache: HashMap<(&str, &str), Verdict> = HashMap::new();
    let mut rows: HashMap<(String, String, String), ChangeRow> = HashMap::new();
    for r in records {
        if r.event != Event::Decision {
            continue;
        }
        if r.source != "policy" {
            s.skipped += 1;
            continue;
        }
        s.replayed += 1;
        let new = cache
            .entry((r.cwd.as_str(), r.command.as_str()))
            .or_insert_with(|| decide(&r.cwd, &r.command))
            .clone();
        if new.decision == r.decision {
            s.unchanged += 1;
            continue;
        }
        let stricter = rank(&new.decision) > rank(&r.decision);
        match (new.decision.as_str(), stricter) {
            ("deny", _) => s.newly_denied += 1,
            ("ask", true) => s.newly_asked += 1,
            ("allow", _) => s.newly_allowed += 1,
            _ => s.relaxed_to_ask += 1,
        }
        let rule = if stricter {
            new.rule.clone()
        } else {
            r.fired()
                .first()
                .map(|f| f.rule.clone())
                .unwrap_or_default()
        };
        let row = rows
            .entry((r.decision.clone(), new.decision.clone(), rule.clone()))
            .or_insert_with(|| ChangeRow {
                from: r.decision.clone(),
                to: new.decision.clone(),
                rule,
                count: 0,
                examples: Vec::new(),
            });
        row.count += 1;
        if row.examples.len() < 3 && !row.examples.contains(&r.command) {
            row.examples.push(r.command.clone());
        }
    }
    s.changes = rows.into_values().collect();
    s.changes.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.from, &a.to, &a.rule).cmp(&(&b.from, &b.to, &b.rule)))
    });
    s
}

/// The summary as text.
pub fn text(s: &Summary, policy: &str) -> String {
    let mut o = format!(
        "replayed {} logged decisions under {policy} ({} skipped: not decided by the policy alone)\n\
         unchanged {}; newly denied {}; newly asked {}; newly allowed {}; deny relaxed to ask {}\n",
        s.replayed, s.skipped, s.unchanged, s.newly_denied, s.newly_asked, s.newly_allowed, s.relaxed_to_ask
    );
    if s.changes.is_empty() {
        o += "\nno decision would change\n";
        return o;
    }
    o += "\nWhat would change\n";
    o += &super::report::table(
        &["from", "to", "rule", "count", "example"],
        &s.changes
            .iter()
            .map(|c| {
                vec![
                    c.from.clone(),
                    c.to.clone(),
                    if c.rule.is_empty() {
                        "-".into()
                    } else {
                        c.rule.clone()
                    },
                    c.count.to_string(),
                    c.examples
                        .first()
                        .cloned()
                        .unwrap_or_default()
                        .chars()
                        .take(70)
                        .collect(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Fired;

    fn rec(decision: &str, source: &str, cmd: &str, rule: &str) -> Record {
        let mut r = Record::new(Event::Decision, "check");
        r.decision = decision.into();
        r.source = source.into();
        r.command = cmd.into();
        r.cwd = "/p".into();
        if !rule.is_empty() {
            r.fired = vec![Fired {
                rule: rule.into(),
                section: "soft_deny".into(),
                matched: cmd.into(),
                command: cmd.into(),
            }];
        }
        r
    }

    #[test]
    fn changes_are_counted_by_direction_and_rule() {
        let recs = vec![
            rec("allow", "policy", "make", ""),
            rec("allow", "policy", "make", ""),
            rec("allow", "policy", "ls", ""),
            rec("ask", "policy", "npm publish", "pkg.publish"),
            rec("allow", "session_escalation", "make", ""),
        ];
        let mut calls = 0;
        let s = replay(&recs, |_, cmd| {
            calls += 1;
            match cmd {
                "make" => Verdict {
                    decision: "deny".into(),
                    rule: "no-make".into(),
                },
                "npm publish" => Verdict {
                    decision: "allow".into(),
                    rule: String::new(),
                },
                _ => Verdict {
                    decision: "allow".into(),
                    rule: String::new(),
                },
            }
        });
        assert_eq!(calls, 3, "one decision per distinct command");
        assert_eq!((s.replayed, s.skipped, s.unchanged), (4, 1, 1));
        assert_eq!((s.newly_denied, s.newly_allowed), (2, 1));
        assert_eq!(s.changes[0].rule, "no-make");
        assert_eq!(s.changes[0].count, 2);
        assert_eq!(s.changes[1].rule, "pkg.publish");
    }
}
