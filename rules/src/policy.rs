//! The policy file: tier and environment (trusted infrastructure).
//!
//! Format (TOML):
//! ```toml
//! version = 1
//! tier = "balanced"            # permissive | balanced | restrictive
//! [environment]
//! project_root = "/home/dev/project"
//! trusted_remotes = ["github.com/acme", "*.acme.internal", "pypi.org"]
//! protected_branches = ["main", "release/*"]
//! secret_paths = ["~/.vault-token"]     # added to the built-in list
//! ```
//! Unknown keys are an error, so a misspelt section never silently drops a
//! protection. Sections this version does not implement yet (`allow`,
//! `soft_deny`, `hard_deny`, `permissions`) are refused with a message
//! rather than ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::remote::TrustedRemote;

/// How much is allowed without asking. See README "Tiers" for the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Most in-project work and network reads from any host are allowed;
    /// uploads, deletions and privilege changes are still checked.
    Permissive,
    /// Default: in-project work, builds and tests; network to untrusted hosts,
    /// writes outside the project and unanalysable code ask.
    #[default]
    Balanced,
    /// Reads and in-project edits only: any program not known to be a
    /// read-only or editing tool asks.
    Restrictive,
}

impl Tier {
    /// The tier's name as written in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Permissive => "permissive",
            Tier::Balanced => "balanced",
            Tier::Restrictive => "restrictive",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Option<u32>,
    tier: Option<Tier>,
    environment: Option<RawEnvironment>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    project_root: Option<String>,
    #[serde(default)]
    trusted_remotes: Vec<String>,
    #[serde(default)]
    protected_branches: Vec<String>,
    #[serde(default)]
    secret_paths: Vec<String>,
}

/// A loaded policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The permission tier.
    pub tier: Tier,
    /// Project root (absolute, lexically normalised). `None` means "the
    /// working directory of the command".
    pub project_root: Option<String>,
    /// Remotes that count as the team's own infrastructure.
    pub trusted_remotes: Vec<TrustedRemote>,
    /// Branch patterns (`*` wildcard) that must never be force-pushed or deleted.
    pub protected_branches: Vec<String>,
    /// Extra secret path patterns (see [`crate::paths::BUILTIN_SECRETS`]).
    pub secret_paths: Vec<String>,
    /// SHA-256-free fingerprint of the policy text (FNV-1a 64, hex), for the audit log.
    pub digest: String,
    /// Where it was loaded from (`None` for the built-in default).
    pub source: Option<PathBuf>,
}

impl Default for Policy {
    /// The built-in policy: balanced tier, the working directory as project
    /// root, no trusted remotes, `main` and `master` protected.
    fn default() -> Self {
        Policy {
            tier: Tier::Balanced,
            project_root: None,
            trusted_remotes: Vec::new(),
            protected_branches: vec!["main".into(), "master".into()],
            secret_paths: Vec::new(),
            digest: fnv1a(b"builtin"),
            source: None,
        }
    }
}

/// Why a policy could not be loaded. Callers must not fall back to a more
/// permissive policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {path}: {source}; check the path given to --policy")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is invalid or has unknown keys.
    #[error("invalid policy {path}: {message}")]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong, with its location.
        message: String,
    },
}

impl Policy {
    /// Loads a policy file. Errors name the file and the offending key.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.into(),
            source,
        })?;
        Policy::from_toml(&text, Some(path))
    }

    /// Parses policy text; `path` is used in messages and recorded as the source.
    pub fn from_toml(text: &str, path: Option<&Path>) -> Result<Policy, PolicyError> {
        let p = path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("<policy>"));
        let invalid = |message: String| PolicyError::Invalid {
            path: p.clone(),
            message,
        };
        // Sections planned but not implemented in this version: refuse them
        // rather than ignore rules the user believes are enforced.
        if let Ok(value) = text.parse::<toml::Table>() {
            for key in ["allow", "soft_deny", "hard_deny", "permissions"] {
                if value.contains_key(key) {
                    return Err(invalid(format!(
                        "section `{key}` is not supported by this version of shellgate; remove it or upgrade (its rules would not be enforced)"
                    )));
                }
            }
        }
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim().to_string()))?;
        if let Some(v) = raw.version {
            if v != 1 {
                return Err(invalid(format!(
                    "version {v} is not supported; this shellgate reads version 1"
                )));
            }
        }
        let env = raw.environment.unwrap_or_default();
        let project_root = match env.project_root {
            Some(r) if r.starts_with('/') => Some(shellgate_parsers::join_path("/", &r)),
            Some(r) => {
                return Err(invalid(format!(
                    "environment.project_root must be an absolute path, got `{r}`"
                )))
            }
            None => None,
        };
        let mut trusted = Vec::new();
        for r in &env.trusted_remotes {
            trusted.push(
                TrustedRemote::parse(r)
                    .map_err(|e| invalid(format!("environment.trusted_remotes: {e}")))?,
            );
        }
        Ok(Policy {
            tier: raw.tier.unwrap_or_default(),
            project_root,
            trusted_remotes: trusted,
            protected_branches: if env.protected_branches.is_empty() {
                Policy::default().protected_branches
            } else {
                env.protected_branches
            },
            secret_paths: env.secret_paths,
            digest: fnv1a(text.as_bytes()),
            source: path.map(Path::to_path_buf),
        })
    }

    /// True when `branch` matches a protected-branch pattern (`*` matches any
    /// run of characters, including `/`).
    pub fn is_protected_branch(&self, branch: &str) -> bool {
        let b = branch.trim_start_matches("refs/heads/");
        self.protected_branches.iter().any(|p| wildcard(p, b))
    }
}

/// Matches `*` wildcards (any run of characters).
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn fnv1a(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_eval_style_policy() {
        let p = Policy::from_toml(
            "version = 1\ntier = \"balanced\"\n[environment]\nproject_root = \"/home/dev/project\"\ntrusted_remotes = [\"github.com/acme\", \"*.acme.internal\"]\nprotected_branches = [\"main\", \"release/*\"]\n",
            None,
        )
        .unwrap();
        assert_eq!(p.project_root.as_deref(), Some("/home/dev/project"));
        assert!(p.is_protected_branch("release/1.0"));
        assert!(!p.is_protected_branch("feature"));
    }

    #[test]
    fn unknown_keys_and_unsupported_sections_fail() {
        assert!(Policy::from_toml("tier = \"balanced\"\nteir = 1\n", None).is_err());
        assert!(Policy::from_toml("[hard_deny]\nrules = []\n", None).is_err());
        assert!(Policy::from_toml("tier = \"lenient\"\n", None).is_err());
        assert!(Policy::from_toml("[environment]\nproject_root = \"rel\"\n", None).is_err());
    }
}
