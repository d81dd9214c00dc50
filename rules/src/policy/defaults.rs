//! The built-in rule lists that `"$defaults"` stands for.
//!
//! Two kinds of built-in rule: detectors (code under
//! `rules/src/detectors/`, listed in [`DETECTOR_RULES`] with the section
//! their findings belong to) and matcher rules written in the policy
//! format itself (`defaults.toml`, the default soft_deny list for
//! databases, infrastructure, deploys, secrets and CI). `shellgate policy
//! defaults` prints both.

use std::sync::OnceLock;

use super::file::{PolicyFile, RuleEntry};
use super::{compile_rule, Layer, LayerKind, Rule, RuleKind};
use crate::finding::{Section, Verdict};

/// The origin recorded for built-in rules.
pub const BUILTIN: &str = "built-in";

/// A built-in detector rule: its id, the section its findings belong to
/// and what it protects.
#[derive(Clone, Copy, Debug)]
pub struct DetectorRule {
    /// Rule id carried by the findings.
    pub id: &'static str,
    /// hard_deny or soft_deny.
    pub section: Section,
    /// The strictest verdict its findings carry.
    pub verdict: Verdict,
    /// One line.
    pub description: &'static str,
}

const fn hard(id: &'static str, description: &'static str) -> DetectorRule {
    DetectorRule {
        id,
        section: Section::HardDeny,
        verdict: Verdict::Deny,
        description,
    }
}

const fn soft(id: &'static str, description: &'static str) -> DetectorRule {
    DetectorRule {
        id,
        section: Section::SoftDeny,
        verdict: Verdict::Ask,
        description,
    }
}

/// A soft_deny detector rule that refuses rather than asks (the user can
/// still approve the exact command once).
const fn soft_refuse(id: &'static str, description: &'static str) -> DetectorRule {
    DetectorRule {
        id,
        section: Section::SoftDeny,
        verdict: Verdict::Deny,
        description,
    }
}

/// Every built-in detector rule that belongs to a deny section. Findings
/// of a rule whose section drops `$defaults` fall back to the tier's
/// default (ask); see docs/policy.md.
pub const DETECTOR_RULES: &[DetectorRule] = &[
    hard("destructive.recursive-delete", "recursive deletion of /, home, system directories, the project's parents or anything outside the project"),
    hard("destructive.disk-overwrite", "writing raw block devices, formatting or wiping disks"),
    hard("destructive.recursive-chmod", "recursive permission or owner changes outside the project"),
    hard("exfil.upload", "sending local files, secrets or the environment to a destination that is not trusted"),
    hard("exfil.dynamic-destination", "sending local data to a destination only known when the command runs"),
    hard("exfil.publish", "publishing packages or artifacts to a destination that is not trusted"),
    hard("fs.persistence", "writing shell start-up files, SSH access, autostart, cron or git hooks and config that run later"),
    hard("fs.system-write", "writing system directories (/etc, /usr, /boot …)"),
    hard("remote-code.pipe-to-shell", "running code downloaded from a host that is not trusted"),
    hard("remote-code.untrusted-package", "installing or running packages from sources that are not trusted"),
    hard("privilege.setuid", "setting the setuid bit"),
    hard("policy.tamper", "changing shellgate's own policy, ignore files, approvals or session state, or an agent harness's hook settings"),
    soft("destructive.recursive-delete", "deleting the whole project or its .git directory"),
    soft_refuse("git.force-push", "overwriting remote history (force push, also to protected branches)"),
    soft_refuse("git.push-delete", "deleting remote branches or tags"),
    soft("git.config-exec", "git configuration that makes git run programs"),
    soft("git.runs-command", "git commands that run configured or given programs"),
    soft("fs.persistence", "changing files that run code later, where the change may be legitimate"),
    soft_refuse("privilege.escalation", "running commands as another user (sudo, su, doas, pkexec …)"),
    soft_refuse("privilege.container-host", "containers with host access (privileged, host mounts, host namespaces)"),
    soft("remote-code.pipe-to-shell", "running downloaded code from a trusted host without review"),
    soft("exfil.publish", "publishing packages, images or artifacts"),
    soft("sql.destructive", "destructive SQL and schema changes: DROP, TRUNCATE, ALTER, DELETE or UPDATE without WHERE"),
    soft("db.production-migration", "database migrations run against production"),
    soft("infra.kubectl", "changing Kubernetes resources on a cluster that is not local"),
    soft("net.state-change", "state-changing HTTP requests (POST, PUT, PATCH, DELETE) to hosts that are not trusted"),
];

/// The built-in matcher rules, in the policy format.
const DEFAULTS_TOML: &str = include_str!("defaults.toml");

/// [`DEFAULTS_TOML`] converted to JSON by `rules/build.rs`: the same
/// values, read several times faster at start-up.
const DEFAULTS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/defaults.json"));

/// The parsed `defaults.toml` (read from its JSON form, see `build.rs`).
pub fn defaults_file() -> &'static PolicyFile {
    static FILE: OnceLock<PolicyFile> = OnceLock::new();
    FILE.get_or_init(|| {
        serde_json::from_str(DEFAULTS_JSON).expect("rules/src/policy/defaults.toml is valid")
    })
}

/// The text of `defaults.toml`.
pub fn defaults_toml() -> &'static str {
    DEFAULTS_TOML
}

/// The built-in detector rules (see [`DETECTOR_RULES`]).
pub fn detector_rules() -> &'static [DetectorRule] {
    DETECTOR_RULES
}

/// True when `id` is the id of any built-in rule.
pub fn is_builtin_id(id: &str) -> bool {
    DETECTOR_RULES.iter().any(|r| r.id == id) || all_rules().iter().any(|r| r.id == id)
}

/// Every built-in rule, compiled once.
fn all_rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut out: Vec<Rule> = DETECTOR_RULES
            .iter()
            .map(|d| Rule {
                id: d.id,
                description: d.description.to_string(),
                section: d.section,
                verdict: d.verdict,
                origin: BUILTIN.into(),
                kind: RuleKind::Detector,
                spec: None,
            })
            .collect();
        let layer = Layer {
            kind: LayerKind::Managed,
            path: BUILTIN.into(),
            text: DEFAULTS_TOML.into(),
            file: defaults_file().clone(),
        };
        let mut ids = std::collections::HashSet::new();
        for (section, sec) in [
            (Section::HardDeny, &layer.file.hard_deny),
            (Section::SoftDeny, &layer.file.soft_deny),
            (Section::Allow, &layer.file.allow),
        ] {
            for entry in sec.iter().flat_map(|s| &s.rules) {
                if let RuleEntry::Rule(spec) = entry {
                    let rule = compile_rule(&layer, section, spec, &mut ids, true)
                        .unwrap_or_else(|e| panic!("built-in rule {}: {e}", spec.id));
                    out.push(rule);
                }
            }
        }
        out
    })
}

/// The built-in rules of `section`, in order.
pub fn rules(section: Section) -> Vec<Rule> {
    all_rules()
        .iter()
        .filter(|r| r.section == section)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::lint::check_examples;
    use crate::Policy;

    #[test]
    fn builtin_matcher_rules_pass_their_examples() {
        let p = Policy::default();
        for r in all_rules() {
            if matches!(r.kind, RuleKind::Matcher(_)) {
                let spec = r.spec.as_ref().unwrap();
                assert!(!spec.examples.is_empty(), "{} has no examples", r.id);
                check_examples(&p, r).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    /// Built-in patterns are parsed on first use ([`Pattern::builtin`]):
    /// here every one is parsed as a policy file's would be.
    #[test]
    fn builtin_patterns_are_valid() {
        for r in all_rules() {
            if let Some(spec) = &r.spec {
                crate::policy::matcher::Matcher::compile(spec, false)
                    .unwrap_or_else(|e| panic!("built-in rule {}: {e}", r.id));
            }
        }
    }

    /// The JSON that `build.rs` makes from `defaults.toml` holds the same
    /// rules as the TOML itself.
    #[test]
    fn the_json_form_of_the_defaults_is_the_toml() {
        let from_toml: PolicyFile = toml::from_str(DEFAULTS_TOML).unwrap();
        let as_json = |f: &PolicyFile| serde_json::to_value(f).unwrap();
        assert_eq!(as_json(defaults_file()), as_json(&from_toml));
        assert!(from_toml.soft_deny.is_some_and(|s| !s.rules.is_empty()));
    }

    #[test]
    fn builtin_ids_are_unique_per_section() {
        let mut seen = std::collections::HashSet::new();
        for r in all_rules() {
            assert!(seen.insert((r.section, r.id)), "{} twice", r.id);
        }
    }
}
