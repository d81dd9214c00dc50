//! The policy: environment, deny layer, hard_deny / soft_deny / allow rule
//! lists with `$defaults`, tier, ignore file and approvals.
//!
//! A [`Policy`] is built from layers, most general first: the managed file
//! (`/etc/shellgate/policy.toml`), the user's
//! (`$XDG_CONFIG_HOME/shellgate/policy.toml`) and the project's
//! (`.shellgate/policy.toml`), or one file given with `--policy` in place
//! of user and project. The format is [`file::PolicyFile`]; docs/policy.md
//! documents it, with its JSON Schema.
//!
//! Merging (docs/policy.md, "Layers"):
//! * environment lists, the deny layer and custom rules are the union of
//!   all layers; `tier` and `project_root` come from the most specific
//!   layer that sets them;
//! * a section keeps the built-in rules when the most specific layer that
//!   has the section lists `"$defaults"` (or no layer has it); but when a
//!   managed file exists, its hard_deny built-ins stay whatever lower
//!   layers say, so the managed deny layer and hard_deny cannot be weakened;
//! * approvals are on only if every layer leaves them on; the shortest
//!   lifetime wins.
//!
//! Loading never falls back to a more permissive policy: any error is
//! returned, and callers deny.

pub mod defaults;
pub mod deny_layer;
pub mod file;
pub mod ignore;
pub mod lint;
pub mod matcher;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::finding::{Section, Verdict};
use crate::remote::TrustedRemote;
use file::{PolicyFile, RuleEntry, RuleSection, RuleSpec, SoftAction};
use matcher::Matcher;

pub use deny_layer::PrefixRule;
pub use ignore::IgnoreFile;

/// How much is allowed without asking. docs/policy.md "Tiers" gives the
/// decision for each category in each tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Most in-project work and network reads from any host are allowed;
    /// global configuration changes are allowed; uploads, deletions,
    /// writes outside the project and privilege changes are still checked.
    Permissive,
    /// Default: in-project work, builds and tests; network to untrusted
    /// hosts, writes outside the project, global configuration changes
    /// and unanalysable code ask.
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

/// Where a policy layer comes from, most general first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// `/etc/shellgate/policy.toml` (or `$SHELLGATE_MANAGED_POLICY`).
    Managed,
    /// `$XDG_CONFIG_HOME/shellgate/policy.toml`.
    User,
    /// `.shellgate/policy.toml` in the project.
    Project,
    /// A file given with `--policy`.
    Explicit,
}

impl LayerKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Managed => "managed",
            LayerKind::User => "user",
            LayerKind::Project => "project",
            LayerKind::Explicit => "explicit",
        }
    }
}

/// One loaded policy file.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Which layer.
    pub kind: LayerKind,
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Its parsed content.
    pub file: PolicyFile,
}

impl Layer {
    /// Parses `text` as a layer. Errors carry the line and column.
    pub fn parse(kind: LayerKind, path: &Path, text: &str) -> Result<Layer, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            path: path.into(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        if let Some(v) = file.version {
            if v != 1 {
                return Err(PolicyError::Invalid {
                    path: path.into(),
                    line: find_line(text, "version"),
                    message: format!(
                        "version {v} is not supported; this shellgate reads version 1"
                    ),
                });
            }
        }
        Ok(Layer {
            kind,
            path: path.into(),
            text: text.to_string(),
            file,
        })
    }

    /// Reads and parses a file.
    pub fn load(kind: LayerKind, path: &Path) -> Result<Layer, PolicyError> {
        let text =
            read_regular_file(path, MAX_POLICY_BYTES).map_err(|source| PolicyError::Read {
                path: path.into(),
                source,
            })?;
        Layer::parse(kind, path, &text)
    }
}

/// Largest policy or ignore file read, in bytes.
pub const MAX_POLICY_BYTES: u64 = 4 << 20;

/// Reads at most `max` bytes of the regular file `path` as UTF-8. Opens
/// without blocking, so a FIFO or device planted in its place gives an
/// error instead of a hang; larger files are an error, not truncated.
pub fn read_regular_file(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut text = String::new();
    file.take(max + 1).read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(text)
}

/// 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// 1-based line of the first occurrence of `needle`.
pub(crate) fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|at| line_of(text, at))
}

/// How a rule decides.
#[derive(Clone, Debug)]
pub enum RuleKind {
    /// A built-in detector (code under `rules/src/detectors/`): its
    /// findings carry this id and section.
    Detector,
    /// A matcher from a policy file (or the built-in default lists).
    Matcher(Box<Matcher>),
}

/// One rule of the effective policy.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// What the rule protects, one line.
    pub description: String,
    /// hard_deny, soft_deny or allow.
    pub section: Section,
    /// What a match decides (deny for hard_deny, ask or deny for
    /// soft_deny, allow for allow).
    pub verdict: Verdict,
    /// `built-in` or the file it came from.
    pub origin: String,
    /// Detector or matcher.
    pub kind: RuleKind,
    /// The rule as written (for matcher rules), for `policy show`.
    pub spec: Option<RuleSpec>,
}

/// Approval settings (`[approvals]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Approvals {
    /// Whether refusals print a one-time approval code.
    pub enabled: bool,
    /// Lifetime of a code and of an approval, in seconds.
    pub ttl_seconds: u64,
}

/// Default lifetime of approval codes, in seconds.
pub const DEFAULT_APPROVAL_TTL: u64 = 600;
/// Longest allowed lifetime of approval codes, in seconds.
pub const MAX_APPROVAL_TTL: u64 = 86_400;

/// The effective policy.
#[derive(Debug)]
pub struct Policy {
    /// The permission tier.
    pub tier: Tier,
    /// Project root (absolute, lexically normalised). `None` means "the
    /// working directory of the command".
    pub project_root: Option<String>,
    /// Remotes that count as the team's own infrastructure.
    pub trusted_remotes: Vec<TrustedRemote>,
    /// Object-store bucket patterns (`s3://name`, `gs://name`, `name`).
    pub trusted_buckets: Vec<String>,
    /// Branch patterns (`*` wildcard) that must never be force-pushed or deleted.
    pub protected_branches: Vec<String>,
    /// Extra secret path patterns (see [`crate::paths::BUILTIN_SECRETS`]).
    pub secret_paths: Vec<String>,
    /// `sandbox.pass_env`: credential-like environment variables sandboxed
    /// commands keep (exact names, or prefixes ending in `*`), from the
    /// managed, user and explicit layers.
    pub sandbox_pass_env: Vec<String>,
    /// `sandbox.network`: `None` when any layer says so.
    pub sandbox_network: file::SandboxNetwork,
    /// `sandbox.network_ports` of the managed, user and explicit layers
    /// (empty: 443 and 80).
    pub sandbox_network_ports: Vec<u16>,
    /// `sandbox.network_addresses` of the managed, user and explicit
    /// layers, each an address or `address/prefix`, checked at load.
    pub sandbox_network_addresses: Vec<String>,
    /// The deny layer, checked first.
    pub deny_layer: Vec<PrefixRule>,
    /// hard_deny rules in order, `$defaults` expanded.
    pub hard_deny: Vec<Rule>,
    /// soft_deny rules in order, `$defaults` expanded.
    pub soft_deny: Vec<Rule>,
    /// allow rules in order, `$defaults` expanded.
    pub allow: Vec<Rule>,
    /// Paths no command may touch.
    pub ignore: IgnoreFile,
    /// One-time approvals.
    pub approvals: Approvals,
    /// Whether a managed policy is required.
    pub require_managed: bool,
    /// The files this policy was built from, most general first.
    pub layers: Vec<(LayerKind, PathBuf)>,
    /// SHA-256 of the layers' texts (hex, first 16 digits), for the audit log.
    pub digest: String,
    /// Sections that drop the built-in rules: (section, file).
    pub dropped_defaults: Vec<(Section, PathBuf)>,
    /// Built-in detector rules in force, by section.
    builtin_in_force: HashSet<(Section, &'static str)>,
}

impl Default for Policy {
    /// The built-in policy: balanced tier, the working directory as project
    /// root, no trusted remotes, `main` and `master` protected, every
    /// built-in rule, the default ignore patterns.
    fn default() -> Self {
        Policy::from_layers(Vec::new()).expect("the built-in policy loads")
    }
}

/// Why a policy could not be loaded. Callers must not fall back to a more
/// permissive policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {path}: {source}; check the path, or remove the file to use the other layers")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is invalid, has unknown keys, or a rule is wrong.
    #[error("invalid policy {}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// `require_managed` is set and the managed policy is missing.
    #[error("require_managed is set but the managed policy {path} is missing ({reason}); every command is denied until an administrator installs it")]
    ManagedMissing {
        /// Where it was expected.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
}

impl PolicyError {
    /// The rule id a refusal caused by this error carries.
    pub fn rule_id(&self) -> &'static str {
        match self {
            PolicyError::ManagedMissing { .. } => "policy.managed-required",
            _ => "policy.invalid",
        }
    }
}

/// Interns a rule id so findings can carry `&'static str`. Ids come from
/// policy files loaded once per process, so the set stays small.
pub fn intern(id: &str) -> &'static str {
    static IDS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = IDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(s) = set.get(id) {
        return s;
    }
    let s: &'static str = Box::leak(id.to_string().into_boxed_str());
    set.insert(s);
    s
}

/// Where to look for policy layers (see [`Policy::discover`]).
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// The command's working directory (absolute).
    pub cwd: PathBuf,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`.
    pub config_home: Option<PathBuf>,
    /// The managed policy path (default `/etc/shellgate/policy.toml`).
    pub managed: Option<PathBuf>,
    /// A file given with `--policy`: replaces the user and project layers.
    pub explicit: Option<PathBuf>,
    /// Require the managed layer whatever the files say.
    pub require_managed: bool,
}

/// The default managed policy path.
pub const MANAGED_POLICY: &str = "/etc/shellgate/policy.toml";
/// The project policy path, relative to the project root.
pub const PROJECT_POLICY: &str = ".shellgate/policy.toml";

impl Discovery {
    /// The managed path in force.
    pub fn managed_path(&self) -> PathBuf {
        self.managed
            .clone()
            .unwrap_or_else(|| PathBuf::from(MANAGED_POLICY))
    }

    /// The user policy path, if `$XDG_CONFIG_HOME` or `$HOME` is known.
    pub fn user_path(&self) -> Option<PathBuf> {
        self.config_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))
            .map(|c| c.join("shellgate/policy.toml"))
    }

    /// The nearest `.shellgate/policy.toml` at or above the working
    /// directory. Anything at that path counts (a dangling symlink, a
    /// directory), so that it fails to load rather than being skipped.
    pub fn project_path(&self) -> Option<PathBuf> {
        self.cwd
            .ancestors()
            .map(|d| d.join(PROJECT_POLICY))
            .find(|p| std::fs::symlink_metadata(p).is_ok())
    }
}

impl Policy {
    /// Loads one policy file (no other layers). Errors name the file and line.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        Policy::from_layers(vec![Layer::load(LayerKind::Explicit, path)?])
    }

    /// Parses policy text as the only layer; `path` is used in messages.
    pub fn from_toml(text: &str, path: Option<&Path>) -> Result<Policy, PolicyError> {
        let p = path.unwrap_or(Path::new("<policy>"));
        Policy::from_layers(vec![Layer::parse(LayerKind::Explicit, p, text)?])
    }

    /// Finds and loads the layers: managed, then `--policy` or user and
    /// project; reads `.shellgateignore` and `.claudeignore` at the project
    /// root. A managed file that exists but does not load is an error;
    /// a missing one is an error only when required.
    pub fn discover(d: &Discovery) -> Result<Policy, PolicyError> {
        let mut layers = Vec::new();
        let managed = d.managed_path();
        let managed_layer = match Layer::load(LayerKind::Managed, &managed) {
            Ok(l) => Some(l),
            Err(PolicyError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        let mut project_dir = None;
        let mut rest = Vec::new();
        match &d.explicit {
            Some(p) => rest.push(Layer::load(LayerKind::Explicit, p)?),
            None => {
                if let Some(u) = d
                    .user_path()
                    .filter(|p| std::fs::symlink_metadata(p).is_ok())
                {
                    rest.push(Layer::load(LayerKind::User, &u)?);
                }
                if let Some(p) = d.project_path() {
                    project_dir = p.parent().and_then(Path::parent).map(Path::to_path_buf);
                    rest.push(Layer::load(LayerKind::Project, &p)?);
                }
            }
        }
        let required = d.require_managed
            || managed_layer
                .as_ref()
                .is_some_and(|l| l.file.require_managed)
            || rest.iter().any(|l| l.file.require_managed);
        if required && managed_layer.is_none() {
            return Err(PolicyError::ManagedMissing {
                path: managed,
                reason: "no such file".into(),
            });
        }
        layers.extend(managed_layer);
        layers.extend(rest);
        // A project layer ships with the repository: it may narrow the
        // project root to a directory inside itself, never widen it.
        let project_root_set = layers
            .iter()
            .find(|l| l.kind == LayerKind::Project)
            .and_then(|l| {
                let root = l.file.environment.as_ref()?.project_root.clone()?;
                Some((l.path.clone(), find_line(&l.text, "project_root"), root))
            });
        let mut policy = Policy::from_layers(layers)?;
        if let (Some((path, line, root)), Some(dir)) = (
            project_root_set,
            project_dir.as_ref().and_then(|d| d.to_str()),
        ) {
            let root = shellgate_parsers::join_path("/", &root);
            let dir = shellgate_parsers::join_path("/", dir);
            let inside =
                root == dir || root.starts_with(&format!("{}/", dir.trim_end_matches('/')));
            if !inside {
                return Err(PolicyError::Invalid {
                    path,
                    line,
                    message: format!("environment.project_root `{root}` is outside {dir}; a project policy may only name a directory inside its own project"),
                });
            }
        }
        policy.require_managed = required;
        if policy.project_root.is_none() {
            if let Some(dir) = project_dir.as_ref().and_then(|p| p.to_str()) {
                policy.project_root = Some(shellgate_parsers::join_path("/", dir));
            }
        }
        let root = policy
            .project_root
            .clone()
            .or_else(|| d.cwd.to_str().map(str::to_string));
        if let Some(root) = root {
            policy.ignore.read_project_files(Path::new(&root))?;
        }
        Ok(policy)
    }

    /// Builds the effective policy from layers, most general first.
    pub fn from_layers(layers: Vec<Layer>) -> Result<Policy, PolicyError> {
        let mut tier = Tier::default();
        let mut project_root = None;
        let mut trusted_remotes = Vec::new();
        let mut trusted_buckets = Vec::new();
        let mut protected_branches: Vec<String> = Vec::new();
        let mut secret_paths = Vec::new();
        let mut sandbox_pass_env: Vec<String> = Vec::new();
        let mut sandbox_network = file::SandboxNetwork::Trusted;
        let mut sandbox_network_ports: Vec<u16> = Vec::new();
        let mut sandbox_network_addresses: Vec<String> = Vec::new();
        let mut deny_layer = Vec::new();
        let mut approvals = Approvals {
            enabled: true,
            ttl_seconds: DEFAULT_APPROVAL_TTL,
        };
        let mut require_managed = false;
        for layer in &layers {
            let f = &layer.file;
            let invalid = |needle: &str, message: String| PolicyError::Invalid {
                path: layer.path.clone(),
                line: find_line(&layer.text, needle),
                message,
            };
            if let Some(t) = f.tier {
                tier = t;
            }
            require_managed |= f.require_managed;
            if let Some(env) = &f.environment {
                match &env.project_root {
                    Some(r) if r.starts_with('/') && shellgate_parsers::join_path("/", r) == "/" => {
                        return Err(invalid(
                            "project_root",
                            "environment.project_root cannot be `/`: every path would be inside the project".into(),
                        ))
                    }
                    Some(r) if r.starts_with('/') => {
                        project_root = Some(shellgate_parsers::join_path("/", r))
                    }
                    Some(r) => {
                        return Err(invalid(
                            "project_root",
                            format!("environment.project_root must be an absolute path, got `{r}`"),
                        ))
                    }
                    None => {}
                }
                for r in &env.trusted_remotes {
                    trusted_remotes
                        .push(TrustedRemote::parse(r).map_err(|e| {
                            invalid(r, format!("environment.trusted_remotes: {e}"))
                        })?);
                }
                for b in &env.trusted_buckets {
                    if b.trim().is_empty() {
                        return Err(invalid(
                            "trusted_buckets",
                            "environment.trusted_buckets: an entry is empty".into(),
                        ));
                    }
                    trusted_buckets.push(b.trim().to_string());
                }
                protected_branches.extend(env.protected_branches.iter().cloned());
                if env.secret_paths.iter().any(|p| p.trim().is_empty()) {
                    return Err(invalid(
                        "secret_paths",
                        "environment.secret_paths: an entry is empty".into(),
                    ));
                }
                secret_paths.extend(env.secret_paths.iter().cloned());
            }
            if let Some(sb) = &f.sandbox {
                if sb.network == Some(file::SandboxNetwork::None) {
                    sandbox_network = file::SandboxNetwork::None;
                }
                if layer.kind == LayerKind::Project
                    && !(sb.network_ports.is_empty() && sb.network_addresses.is_empty())
                {
                    let key = if sb.network_ports.is_empty() {
                        "network_addresses"
                    } else {
                        "network_ports"
                    };
                    return Err(invalid(
                        key,
                        format!("sandbox.{key} is not allowed in a project policy: a repository must not open the sandbox's network wider; put it in your user policy (~/.config/shellgate/policy.toml)"),
                    ));
                }
                if sb.network_ports.contains(&0) {
                    return Err(invalid(
                        "network_ports",
                        "sandbox.network_ports: port 0 is not a destination port".into(),
                    ));
                }
                for port in &sb.network_ports {
                    if !sandbox_network_ports.contains(port) {
                        sandbox_network_ports.push(*port);
                    }
                }
                for a in &sb.network_addresses {
                    if !is_address_range(a) {
                        return Err(invalid(
                            a,
                            format!("sandbox.network_addresses: `{a}` is not an IP address or address/prefix (`10.0.0.0/8`, `fd00::/8`)"),
                        ));
                    }
                    sandbox_network_addresses.push(a.trim().to_string());
                }
                if layer.kind == LayerKind::Project && !sb.pass_env.is_empty() {
                    return Err(invalid(
                        "pass_env",
                        "sandbox.pass_env is not allowed in a project policy: a repository must not choose which of your credentials its commands see; put it in your user policy (~/.config/shellgate/policy.toml)".into(),
                    ));
                }
                for name in &sb.pass_env {
                    let body = name.strip_suffix('*').unwrap_or(name);
                    let valid = body
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !valid {
                        return Err(invalid(
                            "pass_env",
                            format!("sandbox.pass_env: `{name}` is not a variable name (letters, digits and `_`, optionally ending in `*`)"),
                        ));
                    }
                    if !sandbox_pass_env.contains(name) {
                        sandbox_pass_env.push(name.clone());
                    }
                }
            }
            if let Some(p) = &f.permissions {
                for text in &p.deny {
                    deny_layer.push(
                        PrefixRule::parse(text, &layer.path.display().to_string())
                            .map_err(|e| invalid(text, format!("permissions.deny: {e}")))?,
                    );
                }
            }
            if let Some(a) = &f.approvals {
                if let Some(e) = a.enabled {
                    approvals.enabled &= e;
                }
                if let Some(t) = a.ttl_seconds {
                    if t == 0 || t > MAX_APPROVAL_TTL {
                        return Err(invalid(
                            "ttl_seconds",
                            format!(
                                "approvals.ttl_seconds must be between 1 and {MAX_APPROVAL_TTL}"
                            ),
                        ));
                    }
                    approvals.ttl_seconds = approvals.ttl_seconds.min(t);
                }
            }
        }
        if protected_branches.is_empty() {
            protected_branches = vec!["main".into(), "master".into()];
        }
        let mut dropped_defaults = Vec::new();
        let mut seen_ids: HashSet<&'static str> = HashSet::new();
        let mut sections = Vec::new();
        for section in [Section::HardDeny, Section::SoftDeny, Section::Allow] {
            let rules = build_section(&layers, section, &mut dropped_defaults, &mut seen_ids)?;
            sections.push(rules);
        }
        let allow = sections.pop().unwrap_or_default();
        let soft_deny = sections.pop().unwrap_or_default();
        let hard_deny = sections.pop().unwrap_or_default();
        let builtin_in_force = hard_deny
            .iter()
            .chain(&soft_deny)
            .chain(&allow)
            .filter(|r| matches!(r.kind, RuleKind::Detector))
            .map(|r| (r.section, r.id))
            .collect();
        let digest = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            if layers.is_empty() {
                h.update(b"builtin");
            }
            for l in &layers {
                h.update(l.kind.as_str().as_bytes());
                h.update([0]);
                h.update(l.text.as_bytes());
                h.update([0]);
            }
            h.finalize()
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let policy = Policy {
            tier,
            project_root,
            trusted_remotes,
            trusted_buckets,
            protected_branches,
            secret_paths,
            sandbox_pass_env,
            sandbox_network,
            sandbox_network_ports,
            sandbox_network_addresses,
            deny_layer,
            hard_deny,
            soft_deny,
            allow,
            ignore: IgnoreFile::with_defaults(),
            approvals,
            require_managed,
            layers: layers.iter().map(|l| (l.kind, l.path.clone())).collect(),
            digest,
            dropped_defaults,
            builtin_in_force,
        };
        // Examples are checked once everything they depend on is known.
        for rule in policy
            .hard_deny
            .iter()
            .chain(&policy.soft_deny)
            .chain(&policy.allow)
        {
            if rule.origin == defaults::BUILTIN {
                continue;
            }
            let layer = layers
                .iter()
                .find(|l| l.path.display().to_string() == rule.origin);
            if let Err(message) = lint::check_examples(&policy, rule) {
                return Err(PolicyError::Invalid {
                    path: PathBuf::from(&rule.origin),
                    line: layer.and_then(|l| find_line(&l.text, &format!("\"{}\"", rule.id))),
                    message,
                });
            }
        }
        policy.ignore.compile_cache_reset();
        Ok(policy)
    }

    /// True when `branch` matches a protected-branch pattern (`*` matches any
    /// run of characters, including `/`).
    pub fn is_protected_branch(&self, branch: &str) -> bool {
        let b = branch.trim_start_matches("refs/heads/");
        self.protected_branches.iter().any(|p| wildcard(p, b))
    }

    /// True when the built-in detector rule `id` is in force in `section`.
    /// Ids unknown to the built-in lists count as in force (fail closed).
    pub fn builtin_in_force(&self, section: Section, id: &'static str) -> bool {
        self.builtin_in_force.contains(&(section, id))
            || !defaults::detector_rules()
                .iter()
                .any(|r| r.id == id && r.section == section)
    }

    /// True when `bucket` (the name after `s3://`, `gs://` …, with its
    /// scheme as written) is a trusted bucket.
    pub fn is_trusted_bucket(&self, url: &str) -> bool {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let name = rest.split('/').next().unwrap_or("");
        if name.is_empty() {
            return false;
        }
        self.trusted_buckets
            .iter()
            .any(|b| match b.split_once("://") {
                Some((s, n)) => {
                    s.eq_ignore_ascii_case(scheme) && wildcard(n.trim_end_matches('/'), name)
                }
                None => wildcard(b.trim_end_matches('/'), name),
            })
    }

    /// The rules of `section`, in order.
    pub fn rules(&self, section: Section) -> &[Rule] {
        match section {
            Section::HardDeny => &self.hard_deny,
            Section::SoftDeny => &self.soft_deny,
            Section::Allow => &self.allow,
            _ => &[],
        }
    }
}

/// The section of `layer` for `section`.
fn section_of(file: &PolicyFile, section: Section) -> Option<&RuleSection> {
    match section {
        Section::HardDeny => file.hard_deny.as_ref(),
        Section::SoftDeny => file.soft_deny.as_ref(),
        Section::Allow => file.allow.as_ref(),
        _ => None,
    }
}

/// Expands one section across layers (see the module doc for the rules).
fn build_section(
    layers: &[Layer],
    section: Section,
    dropped: &mut Vec<(Section, PathBuf)>,
    seen_ids: &mut HashSet<&'static str>,
) -> Result<Vec<Rule>, PolicyError> {
    let defining: Vec<&Layer> = layers
        .iter()
        .filter(|l| section_of(&l.file, section).is_some())
        .collect();
    let mut keep_defaults = match defining.last() {
        None => true,
        Some(l) => section_of(&l.file, section).is_some_and(RuleSection::has_defaults),
    };
    for l in &defining {
        if !section_of(&l.file, section).is_some_and(RuleSection::has_defaults) {
            dropped.push((section, l.path.clone()));
        }
    }
    // The managed layer's hard_deny built-ins cannot be removed below it.
    if section == Section::HardDeny {
        if let Some(m) = layers.iter().find(|l| l.kind == LayerKind::Managed) {
            if section_of(&m.file, section).is_none_or(RuleSection::has_defaults) {
                keep_defaults = true;
            }
        }
    }
    let mut out = Vec::new();
    let mut defaults_placed = false;
    let place_defaults = |out: &mut Vec<Rule>, placed: &mut bool| {
        if keep_defaults && !*placed {
            out.extend(defaults::rules(section));
            *placed = true;
        }
    };
    for layer in layers {
        let Some(sec) = section_of(&layer.file, section) else {
            continue;
        };
        for entry in &sec.rules {
            match entry {
                RuleEntry::Defaults => place_defaults(&mut out, &mut defaults_placed),
                RuleEntry::Rule(spec) => {
                    out.push(compile_rule(layer, section, spec, seen_ids, false)?);
                }
            }
        }
    }
    place_defaults(&mut out, &mut defaults_placed);
    Ok(out)
}

/// Compiles one rule of `layer`; `builtin` for the rules of
/// `defaults.toml` (see [`Matcher::compile`]).
fn compile_rule(
    layer: &Layer,
    section: Section,
    spec: &RuleSpec,
    seen_ids: &mut HashSet<&'static str>,
    builtin: bool,
) -> Result<Rule, PolicyError> {
    let invalid = |message: String| PolicyError::Invalid {
        path: layer.path.clone(),
        line: find_line(&layer.text, &format!("\"{}\"", spec.id)),
        message,
    };
    let name = section.as_str();
    let id_ok = !spec.id.is_empty()
        && spec
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !id_ok {
        return Err(invalid(format!(
            "{name}: rule id `{}` must be non-empty letters, digits, `.`, `-` or `_`",
            spec.id
        )));
    }
    if spec.description.trim().is_empty() {
        return Err(invalid(format!(
            "{name}: rule `{}` needs a description (it is shown with every refusal)",
            spec.id
        )));
    }
    let id = intern(&spec.id);
    if !seen_ids.insert(id)
        || (layer.path != Path::new(defaults::BUILTIN) && defaults::is_builtin_id(id))
    {
        return Err(invalid(format!(
            "{name}: rule id `{id}` is used twice (or is a built-in rule id); ids must be unique"
        )));
    }
    let verdict = match (section, spec.decision) {
        (Section::SoftDeny, Some(SoftAction::Deny)) => Verdict::Deny,
        (Section::SoftDeny, _) => Verdict::Ask,
        (_, Some(_)) => {
            return Err(invalid(format!(
                "{name}: rule `{id}` sets `decision`, which only soft_deny rules take"
            )))
        }
        (Section::HardDeny, None) => Verdict::Deny,
        _ => Verdict::Allow,
    };
    let m = Matcher::compile(spec, builtin)
        .map_err(|e| invalid(format!("{name}: rule `{id}`: {e}")))?;
    Ok(Rule {
        id,
        description: spec.description.trim().to_string(),
        section,
        verdict,
        origin: layer.path.display().to_string(),
        kind: RuleKind::Matcher(Box::new(m)),
        spec: Some(spec.clone()),
    })
}

/// Matches `*` wildcards (any run of characters).
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let Some((first, pattern)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts = pattern.split('*').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(pos) => rest = &rest[pos + part.len()..],
            None => return false,
        }
    }
    true
}

/// `address` or `address/prefix` with a prefix no longer than the
/// address (IPv4 32 bits, IPv6 128).
fn is_address_range(text: &str) -> bool {
    let (addr, prefix) = match text.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text.trim(), None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u8>().is_ok_and(|n| n <= max)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_whole_text() {
        for (pat, text, want) in [
            ("id_rsa", "id_rsa", true),
            ("id_rsa", "id_rsa.pub", false),
            ("id_rsa*", "id_rsa.pub", true),
            ("*", "", true),
            ("*.pem", "x.pem", true),
            ("*.pem", "x.pem.bak", false),
            ("a*b*c", "axbyc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("ab*ab", "ab", false),
            (".env.*", ".env.local", true),
            (".env.*", ".env", false),
        ] {
            assert_eq!(wildcard(pat, text), want, "{pat} vs {text}");
        }
    }

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
        assert!(p.dropped_defaults.is_empty());
        assert!(p.builtin_in_force(Section::HardDeny, "destructive.recursive-delete"));
    }

    #[test]
    fn invalid_files_fail_with_line_numbers() {
        let err = Policy::from_toml("tier = \"balanced\"\nteir = 1\n", None).unwrap_err();
        assert!(
            matches!(err, PolicyError::Invalid { line: Some(2), .. }),
            "{err}"
        );
        assert!(Policy::from_toml("tier = \"lenient\"\n", None).is_err());
        assert!(Policy::from_toml("[environment]\nproject_root = \"rel\"\n", None).is_err());
        assert!(Policy::from_toml("version = 2\n", None).is_err());
        assert!(Policy::from_toml("[environment]\ntrusted_remotes = [\"*.com\"]\n", None).is_err());
        assert!(Policy::from_toml("[environment]\nproject_root = \"/\"\n", None).is_err());
        let err = Policy::from_toml("[hard_deny]\nrules = [\"$default\"]\n", None).unwrap_err();
        assert!(err.to_string().contains("$defaults"), "{err}");
        let err = Policy::from_toml(
            "[hard_deny]\nrules = [\n  \"$defaults\",\n  { id = \"x\", description = \"d\" },\n]\n",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, PolicyError::Invalid { line: Some(4), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("no matcher"), "{err}");
    }

    #[test]
    fn rule_ids_are_unique_and_decision_only_in_soft_deny() {
        let dup = "[hard_deny]\nrules = [\"$defaults\", { id = \"a\", description = \"d\", command = \"x\" }]\n[soft_deny]\nrules = [\"$defaults\", { id = \"a\", description = \"d\", command = \"y\" }]\n";
        assert!(Policy::from_toml(dup, None).is_err());
        let builtin = "[soft_deny]\nrules = [\"$defaults\", { id = \"git.force-push\", description = \"d\", command = \"x\" }]\n";
        assert!(Policy::from_toml(builtin, None).is_err());
        let bad = "[allow]\nrules = [{ id = \"a\", description = \"d\", command = \"x\", decision = \"deny\" }]\n";
        assert!(Policy::from_toml(bad, None).is_err());
    }

    #[test]
    fn defaults_token_keeps_or_drops_builtins() {
        let keep = Policy::from_toml(
            "[hard_deny]\nrules = [\"$defaults\", { id = \"no-tf-destroy\", description = \"never destroy infrastructure\", command = \"terraform\", args = [\"destroy\"] }]\n",
            None,
        )
        .unwrap();
        assert!(keep
            .hard_deny
            .iter()
            .any(|r| r.id == "destructive.recursive-delete"));
        assert_eq!(keep.hard_deny.last().unwrap().id, "no-tf-destroy");
        let drop = Policy::from_toml(
            "[hard_deny]\nrules = [{ id = \"no-tf-destroy\", description = \"never destroy infrastructure\", command = \"terraform\", args = [\"destroy\"] }]\n",
            None,
        )
        .unwrap();
        assert_eq!(drop.hard_deny.len(), 1);
        assert!(!drop.builtin_in_force(Section::HardDeny, "destructive.recursive-delete"));
        assert_eq!(drop.dropped_defaults.len(), 1);
    }

    #[test]
    fn managed_hard_deny_cannot_be_weakened() {
        let managed = Layer::parse(
            LayerKind::Managed,
            Path::new("/etc/shellgate/policy.toml"),
            "[permissions]\ndeny = [\"terraform destroy*\"]\n",
        )
        .unwrap();
        let project = Layer::parse(
            LayerKind::Project,
            Path::new("/p/.shellgate/policy.toml"),
            "tier = \"permissive\"\n[hard_deny]\nrules = []\n",
        )
        .unwrap();
        let p = Policy::from_layers(vec![managed, project]).unwrap();
        assert!(p.builtin_in_force(Section::HardDeny, "destructive.recursive-delete"));
        assert_eq!(p.deny_layer.len(), 1);
        assert_eq!(p.tier, Tier::Permissive);
    }

    /// `sandbox.network`: any layer can turn it off; ports and addresses
    /// come from the user's own layers and are checked.
    #[test]
    fn sandbox_network_settings() {
        let layer = |kind, text: &str| {
            Layer::parse(kind, Path::new("/p/.shellgate/policy.toml"), text).unwrap()
        };
        let p = Policy::from_layers(vec![layer(LayerKind::User, "")]).unwrap();
        assert_eq!(p.sandbox_network, file::SandboxNetwork::Trusted);
        assert!(p.sandbox_network_ports.is_empty());
        let p = Policy::from_layers(vec![
            layer(
                LayerKind::User,
                "[sandbox]\nnetwork_ports = [443, 8443]\nnetwork_addresses = [\"10.0.0.0/8\", \"fd00::1\"]\n",
            ),
            layer(LayerKind::Project, "[sandbox]\nnetwork = \"none\"\n"),
        ])
        .unwrap();
        assert_eq!(p.sandbox_network, file::SandboxNetwork::None);
        assert_eq!(p.sandbox_network_ports, [443, 8443]);
        assert_eq!(p.sandbox_network_addresses, ["10.0.0.0/8", "fd00::1"]);
        for (kind, text, want) in [
            (
                LayerKind::Project,
                "[sandbox]\nnetwork_ports = [22]\n",
                "not allowed in a project",
            ),
            (
                LayerKind::Project,
                "[sandbox]\nnetwork_addresses = [\"127.0.0.1\"]\n",
                "not allowed in a project",
            ),
            (
                LayerKind::User,
                "[sandbox]\nnetwork_addresses = [\"10.0.0.0/33\"]\n",
                "not an IP",
            ),
            (
                LayerKind::User,
                "[sandbox]\nnetwork_addresses = [\"intranet\"]\n",
                "not an IP",
            ),
            (
                LayerKind::User,
                "[sandbox]\nnetwork_ports = [0]\n",
                "port 0",
            ),
        ] {
            let err = Policy::from_layers(vec![layer(kind, text)])
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        assert!(Layer::parse(
            LayerKind::User,
            Path::new("/p"),
            "[sandbox]\nnetwork = \"all\"\n"
        )
        .is_err());
    }

    /// `sandbox.pass_env` comes from the user's own layers; a project
    /// policy (part of the repository) may not pass credentials through.
    #[test]
    fn sandbox_pass_env_only_from_user_layers() {
        let user = |text: &str| {
            Layer::parse(
                LayerKind::User,
                Path::new("/h/.config/shellgate/policy.toml"),
                text,
            )
            .unwrap()
        };
        let p = Policy::from_layers(vec![
            user("[sandbox]\npass_env = [\"GITHUB_TOKEN\", \"NPM_*\"]\n"),
            user("[sandbox]\npass_env = [\"GITHUB_TOKEN\"]\n"),
        ])
        .unwrap();
        assert_eq!(p.sandbox_pass_env, ["GITHUB_TOKEN", "NPM_*"]);
        let project = Layer::parse(
            LayerKind::Project,
            Path::new("/p/.shellgate/policy.toml"),
            "[sandbox]\npass_env = [\"AWS_SECRET_ACCESS_KEY\"]\n",
        )
        .unwrap();
        let err = Policy::from_layers(vec![project]).unwrap_err().to_string();
        assert!(err.contains("not allowed in a project policy"), "{err}");
        for bad in ["\"\"", "\"A B\"", "\"*\"", "\"1X\"", "\"A*B\""] {
            let layer = user(&format!("[sandbox]\npass_env = [{bad}]\n"));
            let err = Policy::from_layers(vec![layer]).unwrap_err().to_string();
            assert!(err.contains("not a variable name"), "{bad}: {err}");
        }
    }

    #[test]
    fn trusted_buckets_match_by_scheme_and_wildcard() {
        let p = Policy::from_toml(
            "[environment]\ntrusted_buckets = [\"s3://acme-*\", \"shared-artifacts\"]\n",
            None,
        )
        .unwrap();
        assert!(p.is_trusted_bucket("s3://acme-builds/x"));
        assert!(!p.is_trusted_bucket("gs://acme-builds/x"));
        assert!(p.is_trusted_bucket("gs://shared-artifacts"));
        assert!(!p.is_trusted_bucket("s3://evil"));
    }
}
