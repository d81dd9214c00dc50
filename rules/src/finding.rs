//! Findings (one rule firing on one part of a command) and decisions.

use serde::Serialize;
use shellgate_parsers::Span;

/// The outcome for a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Run it.
    Allow,
    /// Ask the user first.
    Ask,
    /// Do not run it.
    Deny,
}

impl Verdict {
    /// Lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Ask => "ask",
            Verdict::Deny => "deny",
        }
    }
}

/// The policy section a finding belongs to, in precedence order
/// (docs/policy.md, "Precedence").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// `[permissions] deny` prefix rules; nothing overrides them.
    DenyLayer,
    /// A path covered by the ignore file.
    IgnoreFile,
    /// Input shellgate cannot analyse (parse errors, invalid input, a
    /// policy that does not load).
    Input,
    /// Never allowed; ends autonomous mode.
    HardDeny,
    /// Blocked unless the user approves the exact command.
    SoftDeny,
    /// An allow rule: overrides the tier's default for its command.
    Allow,
    /// Not matched by any rule: the tier decides.
    TierDefault,
}

impl Section {
    /// The section's name as written in output and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::DenyLayer => "deny_layer",
            Section::IgnoreFile => "ignore_file",
            Section::Input => "input",
            Section::HardDeny => "hard_deny",
            Section::SoftDeny => "soft_deny",
            Section::Allow => "allow",
            Section::TierDefault => "tier_default",
        }
    }
}

/// One rule that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `git.force-push`.
    pub rule: &'static str,
    /// What the finding decides.
    pub verdict: Verdict,
    /// Which section the rule belongs to.
    pub section: Section,
    /// The part of the command that matched (byte span into the input).
    pub span: Span,
    /// One line a user can act on.
    pub reason: String,
    /// Found in a script another command runs (a git alias, a
    /// command-valued option), already decided under the policy there:
    /// an allow rule on the outer command does not remove it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nested: bool,
}

/// The decision for one command string.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    /// The strictest verdict among the findings; `allow` when none fired.
    pub decision: Verdict,
    /// Every finding, strictest first.
    pub findings: Vec<Finding>,
    /// The reason of the strictest finding, or why it was allowed.
    pub reason: String,
}

impl Decision {
    /// Builds a decision from findings: the strictest verdict wins, and
    /// duplicate findings (same rule and span) are folded.
    pub fn from_findings(mut findings: Vec<Finding>) -> Decision {
        findings.sort_by_key(|f| (std::cmp::Reverse(f.verdict), f.section));
        let mut seen = Vec::new();
        findings.retain(|f| {
            let key = (f.rule, f.span, f.reason.clone());
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        });
        match findings.first() {
            Some(f) => Decision {
                decision: f.verdict,
                reason: f.reason.clone(),
                findings,
            },
            None => Decision {
                decision: Verdict::Allow,
                findings,
                reason: "no rule matched; allowed by the tier".into(),
            },
        }
    }

    /// Ids of the rules that fired, in order, without repeats.
    pub fn rule_ids(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for f in &self.findings {
            if !out.contains(&f.rule) {
                out.push(f.rule);
            }
        }
        out
    }
}
