//! `shellgate policy defaults|show|check|schema` and `shellgate init`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;
use shellgate_rules::policy::defaults::{self, BUILTIN};
use shellgate_rules::policy::lint::{self, Diagnostic, Level};
use shellgate_rules::policy::{file, Discovery, Layer, LayerKind, Policy, PolicyError, Rule};
use shellgate_rules::Section;

/// The three rule sections, in precedence order.
const SECTIONS: [Section; 3] = [Section::HardDeny, Section::SoftDeny, Section::Allow];

/// `policy defaults`: the built-in lists.
pub fn defaults_text() -> String {
    let mut out = String::new();
    out.push_str("# Built-in rules: what \"$defaults\" stands for in each section.\n");
    for section in SECTIONS {
        let rules = defaults::rules(section);
        let _ = writeln!(out, "\n[{}] ({} rules)", section.as_str(), rules.len());
        if rules.is_empty() {
            out.push_str("  (none)\n");
        }
        for r in rules {
            let kind = match r.kind {
                shellgate_rules::policy::RuleKind::Detector => "detector",
                shellgate_rules::policy::RuleKind::Matcher(_) => "matcher",
            };
            let _ = writeln!(
                out,
                "  {:<34} {:<8} {:<5} {}",
                r.id,
                kind,
                r.verdict.as_str(),
                r.description
            );
        }
    }
    out.push_str("\n[ignore file] built-in patterns\n");
    for p in shellgate_rules::policy::ignore::DEFAULT_PATTERNS {
        let _ = writeln!(out, "  {p}");
    }
    out.push_str("\n# The matcher rules above, in the policy format:\n");
    out.push_str(defaults::defaults_toml());
    out
}

fn rule_json(r: &Rule) -> serde_json::Value {
    json!({
        "id": r.id,
        "section": r.section.as_str(),
        "decision": r.verdict.as_str(),
        "origin": r.origin,
        "description": r.description,
        "kind": match r.kind {
            shellgate_rules::policy::RuleKind::Detector => "detector",
            shellgate_rules::policy::RuleKind::Matcher(_) => "matcher",
        },
        "rule": r.spec,
    })
}

/// `policy show --json`.
pub fn show_json(p: &Policy) -> serde_json::Value {
    json!({
        "layers": p.layers.iter().map(|(k, path)| json!({"kind": k.as_str(), "path": path})).collect::<Vec<_>>(),
        "tier": p.tier.as_str(),
        "require_managed": p.require_managed,
        "digest": p.digest,
        "environment": {
            "project_root": p.project_root,
            "trusted_remotes": p.trusted_remotes.iter().map(|r| format!("{}{}{}", if r.wildcard {"*."} else {""}, r.host, if r.path.is_empty() {String::new()} else {format!("/{}", r.path)})).collect::<Vec<_>>(),
            "trusted_buckets": p.trusted_buckets,
            "protected_branches": p.protected_branches,
            "secret_paths": p.secret_paths,
        },
        "deny_layer": p.deny_layer.iter().map(|d| json!({"rule": d.text, "id": d.id, "origin": d.origin})).collect::<Vec<_>>(),
        "hard_deny": p.hard_deny.iter().map(rule_json).collect::<Vec<_>>(),
        "soft_deny": p.soft_deny.iter().map(rule_json).collect::<Vec<_>>(),
        "allow": p.allow.iter().map(rule_json).collect::<Vec<_>>(),
        "ignore": p.ignore.patterns().map(|(l, o)| json!({"pattern": l, "origin": o})).collect::<Vec<_>>(),
        "approvals": p.approvals,
    })
}

/// `policy show`: the effective policy, `$defaults` expanded, each rule
/// with its origin.
pub fn show_text(p: &Policy) -> String {
    let mut out = String::new();
    out.push_str("layers (most general first):\n");
    if p.layers.is_empty() {
        out.push_str("  (none: the built-in policy)\n");
    }
    for (k, path) in &p.layers {
        let _ = writeln!(out, "  {:<8} {}", k.as_str(), path.display());
    }
    let _ = writeln!(out, "tier: {}", p.tier.as_str());
    let _ = writeln!(out, "require_managed: {}", p.require_managed);
    let _ = writeln!(
        out,
        "project_root: {}",
        p.project_root
            .as_deref()
            .unwrap_or("(the command's working directory)")
    );
    let v = show_json(p);
    for key in [
        "trusted_remotes",
        "trusted_buckets",
        "protected_branches",
        "secret_paths",
    ] {
        let list: Vec<String> = v["environment"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{key}: {}",
            if list.is_empty() {
                "(none)".into()
            } else {
                list.join(", ")
            }
        );
    }
    let _ = writeln!(out, "\n[deny layer] ({} rules)", p.deny_layer.len());
    for d in &p.deny_layer {
        let _ = writeln!(out, "  {:<40} from {}", d.text, d.origin);
    }
    for section in SECTIONS {
        let rules = p.rules(section);
        let _ = writeln!(out, "\n[{}] ({} rules)", section.as_str(), rules.len());
        for r in rules {
            let origin = if r.origin == BUILTIN {
                "built-in".to_string()
            } else {
                r.origin.clone()
            };
            let _ = writeln!(
                out,
                "  {:<34} {:<5} from {origin}: {}",
                r.id,
                r.verdict.as_str(),
                r.description
            );
        }
    }
    let _ = writeln!(out, "\n[ignore file]");
    for (l, o) in p.ignore.patterns() {
        let _ = writeln!(out, "  {l:<28} from {o}");
    }
    let _ = writeln!(
        out,
        "\n[approvals] enabled: {}, codes valid {} s",
        p.approvals.enabled, p.approvals.ttl_seconds
    );
    out
}

/// The diagnostic for a policy that does not load.
pub fn error_diagnostic(e: &PolicyError) -> Diagnostic {
    let (file, line, message) = match e {
        PolicyError::Invalid {
            path,
            line,
            message,
        } => (Some(path.clone()), *line, message.clone()),
        PolicyError::Read { path, source } => {
            (Some(path.clone()), None, format!("cannot read: {source}"))
        }
        PolicyError::ManagedMissing { path, .. } => (Some(path.clone()), None, e.to_string()),
    };
    Diagnostic {
        level: Level::Error,
        file,
        line,
        rule: None,
        message,
    }
}

/// `policy check [FILE]`: the diagnostics for FILE alone, or for the
/// discovered layers.
pub fn check(file: Option<&Path>, discovery: &Discovery) -> Vec<Diagnostic> {
    let loaded = match file {
        Some(f) => Layer::load(LayerKind::Explicit, f).and_then(|l| {
            let texts = vec![(l.path.clone(), l.text.clone())];
            Policy::from_layers(vec![l]).map(|p| (p, texts))
        }),
        None => Policy::discover(discovery).map(|p| {
            let texts = p
                .layers
                .iter()
                .filter_map(|(_, path)| {
                    std::fs::read_to_string(path)
                        .ok()
                        .map(|t| (path.clone(), t))
                })
                .collect();
            (p, texts)
        }),
    };
    match loaded {
        Ok((p, texts)) => lint::lint(&p, &texts),
        Err(e) => vec![error_diagnostic(&e)],
    }
}

/// `policy schema`.
pub fn schema() -> String {
    file::json_schema()
}

/// The starter policy `shellgate init` writes.
pub fn starter(root: &Path, remotes: &[String]) -> String {
    let remotes_toml = if remotes.is_empty() {
        "  # \"github.com/your-org\",\n".to_string()
    } else {
        remotes.iter().map(|r| format!("  \"{r}\",\n")).collect()
    };
    format!(
        r#"# shellgate policy for this project (docs/policy.md; schema: docs/policy.schema.json).
# Check it with `shellgate policy check`; see what is in force with `shellgate policy show`.
version = 1

# permissive | balanced | restrictive (docs/policy.md, "Tiers").
tier = "balanced"

[environment]
project_root = "{root}"
# Your own infrastructure: hosts, "*.domain", or host/path prefixes for git orgs.
# Detected from this repository's git remotes:
trusted_remotes = [
{remotes_toml}]
# Object-store buckets you own, e.g. "s3://your-bucket".
trusted_buckets = []
protected_branches = ["main", "master", "release/*"]

# The deny layer: prefix rules checked before everything else.
[permissions]
deny = [
  # "git push --force*",
]

# Never run; a match also ends autonomy for the session.
# Keep "$defaults", or every built-in hard_deny rule is dropped.
[hard_deny]
rules = [
  "$defaults",
  # {{ id = "no-terraform-destroy", description = "never destroy infrastructure", command = "terraform", subcommand = ["destroy"], examples = ["terraform destroy -auto-approve"] }},
]

# Blocked unless the user approves the exact command (`shellgate approve CODE`).
[soft_deny]
rules = [
  "$defaults",
]

# Exceptions to the tier's default; they never override a deny rule.
[allow]
rules = [
  "$defaults",
  # {{ id = "staging-api", description = "our staging API", command = "curl", network = "untrusted", args = ["https://staging.example.com/*"] }},
]
"#,
        root = root.display()
    )
}

/// Trusted-remote entries for the git remotes of the repository at `root`:
/// `host/org` for URL and scp forms.
pub fn detect_remotes(root: &Path) -> Vec<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["config", "--get-regexp", r"^remote\..*\.url$"])
        .output();
    let Ok(out) = out else { return Vec::new() };
    let mut entries: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((_, url)) = line.split_once(' ') else {
            continue;
        };
        if let Some(e) = remote_entry(url.trim()) {
            if !entries.contains(&e) {
                entries.push(e);
            }
        }
    }
    entries
}

/// `host/org` for a git URL (`https://host/org/repo.git`,
/// `ssh://git@host/org/repo`, `git@host:org/repo.git`); `host` when the URL has no path.
pub fn remote_entry(url: &str) -> Option<String> {
    use shellgate_rules::remote::Destination;
    let d = Destination::from_url(url).or_else(|| Destination::from_scp(url))?;
    if d.host.is_empty() || d.host.starts_with('/') {
        return None;
    }
    let org = d
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    Some(if org.is_empty() {
        d.host
    } else {
        format!("{}/{org}", d.host)
    })
}

/// `shellgate init`: writes `.shellgate/policy.toml` under `root`.
pub fn init(root: &Path, force: bool) -> Result<PathBuf, String> {
    let path = root.join(shellgate_rules::policy::PROJECT_POLICY);
    if path.exists() && !force {
        return Err(format!(
            "{} already exists; pass --force to replace it",
            path.display()
        ));
    }
    let text = starter(root, &detect_remotes(root));
    // What we write must load: check before touching the disk.
    Policy::from_toml(&text, Some(&path))
        .map_err(|e| format!("internal error: the starter policy does not load: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_entries_from_url_forms() {
        assert_eq!(
            remote_entry("git@github.com:acme/app.git").as_deref(),
            Some("github.com/acme")
        );
        assert_eq!(
            remote_entry("https://gitlab.example.com/team/app").as_deref(),
            Some("gitlab.example.com/team")
        );
        assert_eq!(
            remote_entry("ssh://git@git.acme.internal:2222/x/y.git").as_deref(),
            Some("git.acme.internal/x")
        );
        assert_eq!(remote_entry("/srv/git/app.git"), None);
    }

    #[test]
    fn starter_policy_loads_and_keeps_defaults() {
        let text = starter(Path::new("/p"), &["github.com/acme".into()]);
        let p = Policy::from_toml(&text, None).unwrap();
        assert!(p.dropped_defaults.is_empty());
        assert_eq!(p.trusted_remotes.len(), 1);
    }
}
