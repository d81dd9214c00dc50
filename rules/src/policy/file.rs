//! The policy file format (TOML), as Rust types. These types are the one
//! source of truth: the loader deserializes them, and `shellgate policy
//! schema` generates the JSON Schema from them (see docs/policy.md).
//!
//! Unknown keys are errors everywhere, so a misspelt section or matcher
//! never silently drops a protection.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::Tier;

/// The token that keeps the built-in rules of a section at its position.
pub const DEFAULTS_TOKEN: &str = "$defaults";

/// One policy file (managed, user, project or `--policy`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "shellgate policy")]
pub struct PolicyFile {
    /// Format version. Only `1` exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Permission tier for what no rule decides (default `balanced`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Refuse to decide (deny every command) unless the managed policy
    /// (`/etc/shellgate/policy.toml`) exists and loads.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_managed: bool,
    /// The team's own infrastructure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentSection>,
    /// The deny layer: prefix rules checked before everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsSection>,
    /// Never run; a match ends autonomy for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_deny: Option<RuleSection>,
    /// Blocked unless the user approves this exact command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_deny: Option<RuleSection>,
    /// Exceptions to the tier's default (never to a deny rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<RuleSection>,
    /// One-time approvals of refused commands (`shellgate approve CODE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<ApprovalsSection>,
    /// What sandboxed commands (`shellgate run`, `shellgate -c`) get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxSection>,
}

/// `[sandbox]`: what a sandboxed command may see of the caller.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// Environment variables passed to sandboxed commands although they
    /// look like credentials (`GITHUB_TOKEN`, `SSH_AUTH_SOCK`): exact names,
    /// or a prefix ending in `*` (`NPM_CONFIG_*`). Not allowed in a project
    /// policy: a repository must not choose which of your secrets its
    /// commands see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// `"trusted"` (the default): the command runs in a network namespace
    /// of its own whose only way out is shellgate's proxy, which connects
    /// to `environment.trusted_remotes` hosts only. `"none"`: no network
    /// at all. Any layer saying `"none"` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<SandboxNetwork>,
    /// TCP ports the proxy connects to (default 443 and 80); a list
    /// replaces the default. Not allowed in a project policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_ports: Vec<u16>,
    /// Non-public addresses (`10.0.0.0/8`, `192.168.1.20`) a trusted host
    /// may resolve to; loopback, private, link-local (cloud metadata) and
    /// other internal ranges are refused otherwise. Not allowed in a
    /// project policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_addresses: Vec<String>,
}

/// `sandbox.network`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxNetwork {
    /// Only trusted remotes, through shellgate's proxy.
    #[default]
    Trusted,
    /// No network.
    None,
}

/// `[environment]`: trusted infrastructure and protected names.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSection {
    /// Absolute project root. Default: the directory holding
    /// `.shellgate/policy.toml`, else the command's working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_root: Option<String>,
    /// Hosts (`example.com`), subdomain wildcards (`*.example.com`) and
    /// host/path prefixes (`github.com/acme`); scp-style git remotes
    /// (`git@host:org/repo.git`) compare as `host/org/repo.git`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_remotes: Vec<String>,
    /// Object-store buckets that are the team's own (`s3://name`,
    /// `gs://name`, or a bare name matching any scheme; `*` wildcards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_buckets: Vec<String>,
    /// Branch patterns (`*` wildcard) that must never be force-pushed or deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_branches: Vec<String>,
    /// Extra secret paths, added to the built-in list (`~/` for home).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_paths: Vec<String>,
}

/// `[permissions]`: the deny layer.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsSection {
    /// Prefix rules on a simple command after unwrapping and quote
    /// removal, e.g. `git push --force*` or Claude Code's
    /// `Bash(git push --force:*)`. Nothing overrides a match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// `[approvals]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsSection {
    /// Whether refused commands print a one-time approval code (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Seconds a printed code stays usable, and an approval stays valid
    /// (default 600, at most 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// `[allow]`, `[soft_deny]` or `[hard_deny]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSection {
    /// Rules, and the `"$defaults"` token where the built-in rules go.
    /// A section without the token replaces the built-in rules.
    #[serde(default)]
    pub rules: Vec<RuleEntry>,
}

impl RuleSection {
    /// True when the section keeps the built-in rules.
    pub fn has_defaults(&self) -> bool {
        self.rules.iter().any(|e| matches!(e, RuleEntry::Defaults))
    }
}

/// An entry of a section's `rules` array.
#[derive(Clone, Debug)]
pub enum RuleEntry {
    /// `"$defaults"`: the built-in rules of this section, here.
    Defaults,
    /// A rule.
    Rule(Box<RuleSpec>),
}

impl Serialize for RuleEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RuleEntry::Defaults => s.serialize_str(DEFAULTS_TOKEN),
            RuleEntry::Rule(r) => r.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RuleEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RuleEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "the string \"{DEFAULTS_TOKEN}\" or a rule table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RuleEntry, E> {
                if v == DEFAULTS_TOKEN {
                    Ok(RuleEntry::Defaults)
                } else {
                    Err(E::custom(format!(
                        "unknown token `{v}`: the only string allowed in `rules` is \"{DEFAULTS_TOKEN}\""
                    )))
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<RuleEntry, A::Error> {
                RuleSpec::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(|r| RuleEntry::Rule(Box::new(r)))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RuleEntry {
    fn schema_name() -> Cow<'static, str> {
        "RuleEntry".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let rule = g.subschema_for::<RuleSpec>();
        json_schema!({
            "description": "The token \"$defaults\" (the built-in rules of this section, at this position) or a rule.",
            "anyOf": [ { "const": DEFAULTS_TOKEN }, rule ]
        })
    }
}

/// One string or a list of strings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Any of several values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a slice-like list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Where the paths a command names must lie for a rule to match.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PathScope {
    /// Some path operand or redirection target is inside the project.
    InsideProject,
    /// Some path operand or redirection target is outside the project.
    OutsideProject,
    /// Some path operand or redirection target is a secret path.
    Secret,
}

/// Which network destinations a command must contact for a rule to match.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NetworkScope {
    /// Any destination.
    Any,
    /// A destination that is a trusted remote (or loopback).
    Trusted,
    /// A destination that is not a trusted remote, or one not known statically.
    Untrusted,
}

/// What a soft_deny rule decides.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SoftAction {
    /// Ask the user (default).
    Ask,
    /// Refuse; the user can still approve the exact command once.
    Deny,
}

/// A rule: an id, a description, a matcher and examples. Every matcher
/// field that is present must match the same simple command (after
/// wrappers such as `sudo`, `env`, `xargs` or `bash -c` are unwrapped).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id (letters, digits, `.`, `-`, `_`), unique in the policy.
    pub id: String,
    /// One line saying what the rule protects; shown with every refusal.
    pub description: String,
    /// Program name(s) after unwrapping, compared by basename; `*` and `?`
    /// wildcards (`python3*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<OneOrMany>,
    /// Leading operands after global options, e.g. `["push"]` for
    /// `git push` or `["state", "rm"]`; each a wildcard pattern.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcommand: Vec<String>,
    /// Every pattern must match some argument (wildcards; a pattern that
    /// starts with `(?i)` ignores case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// At least one pattern must match some argument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_args: Vec<String>,
    /// No argument may match any of these patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_args: Vec<String>,
    /// At least one of these options must be given: `-f` also matches
    /// inside combined short flags (`-rf`), `--force` also matches
    /// `--force=VALUE` and unambiguous abbreviations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// None of these options may be given (same matching as `flags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_flags: Vec<String>,
    /// Environment the command runs with: `NAME=PATTERN` (assignment
    /// prefixes and `env NAME=…`), or `NAME` for any value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Where a named path must lie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<PathScope>,
    /// Which network destinations the command must contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkScope>,
    /// soft_deny only: `ask` (default) or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<SoftAction>,
    /// Commands the rule must match; checked when the policy loads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Commands the rule must not match; checked when the policy loads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counter_examples: Vec<String>,
}

/// The JSON Schema of [`PolicyFile`], pretty-printed with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PolicyFile);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
