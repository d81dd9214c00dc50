//! Lexical classification of paths against the project root and `$HOME`.
//! Paths need not exist: they are judged as written, after `..` resolution.

use shellgate_parsers::{join_path, Word};

/// Where a path lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// `/` itself.
    Root,
    /// `$HOME` itself, or a directory that contains it (`/home`).
    HomeOrAbove,
    /// A system directory or something under it (`/etc`, `/usr/lib`, `/boot` …).
    System,
    /// The project root itself.
    ProjectRoot,
    /// A directory that contains the project root (other than `/` and home).
    ProjectAncestor,
    /// Strictly inside the project root.
    InProject,
    /// Under `/tmp`, `/var/tmp` or `/dev/shm`.
    Temp,
    /// A device node under `/dev` that stores data (disks, memory).
    Device,
    /// A harmless special file (`/dev/null`, `/dev/stdout`, `/dev/fd/N` …).
    Harmless,
    /// Inside `$HOME` but outside the project.
    InHome,
    /// Anywhere else outside the project.
    Elsewhere,
    /// Not known statically (dynamic word, or relative with unknown cwd).
    Unknown,
}

impl Place {
    /// True for places outside the project (everything but project, temp, harmless).
    pub fn outside_project(&self) -> bool {
        !matches!(
            self,
            Place::InProject | Place::Temp | Place::Harmless | Place::Unknown
        )
    }
}

/// Top-level directories that belong to the operating system (FHS 3.0).
pub const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
    "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/usr", "/var", "/mnt", "/media", "/home",
];

/// Built-in secret locations; `~` is `$HOME`. A path matches when it equals
/// an entry or lies under it; entries without `/` match a file name anywhere.
pub const BUILTIN_SECRETS: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.azure",
    "~/.config/gcloud",
    "~/.kube",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.gnupg",
    "~/.npmrc",
    "~/.pypirc",
    "~/.cargo/credentials",
    "~/.cargo/credentials.toml",
    "~/.config/gh/hosts.yml",
    "~/.vault-token",
    "~/.password-store",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/ssh",
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "credentials",
    ".netrc",
    ".pgpass",
];

/// Context for judging paths.
#[derive(Clone, Debug)]
pub struct PathContext {
    /// Normalised project root.
    pub project_root: String,
    /// `$HOME`, when known.
    pub home: Option<String>,
    /// Extra secret patterns from the policy.
    pub extra_secrets: Vec<String>,
}

impl PathContext {
    /// Resolves a word to an absolute path. Globs resolve to the directory
    /// before the first pattern character (`src/*.rs` → `src`), `*` alone to
    /// the working directory. Returns `None` when unknown.
    pub fn resolve(&self, word: &Word, cwd: Option<&str>) -> Option<String> {
        if word.dynamic {
            // Known prefix before the first unknown part may still tell.
            return None;
        }
        self.resolve_text(&word.text, word.glob, cwd)
    }

    /// As [`PathContext::resolve`] for a plain string.
    pub fn resolve_text(&self, text: &str, glob: bool, cwd: Option<&str>) -> Option<String> {
        let t = if glob {
            let cut = text.find(['*', '?', '[']).unwrap_or(text.len());
            let prefix = &text[..cut];
            match prefix.rfind('/') {
                Some(0) => "/",
                Some(i) => &prefix[..i],
                None => ".",
            }
        } else {
            text
        };
        if t.is_empty() {
            return None;
        }
        if t.starts_with('/') {
            return Some(join_path("/", t));
        }
        cwd.map(|c| join_path(c, t))
    }

    /// Classifies an absolute, normalised path.
    pub fn place(&self, abs: &str) -> Place {
        let under = |p: &str, dir: &str| {
            p == dir
                || p.strip_prefix(dir.trim_end_matches('/'))
                    .is_some_and(|tail| tail.starts_with('/'))
        };
        if abs == "/" {
            return Place::Root;
        }
        if matches!(
            abs,
            "/dev/null"
                | "/dev/zero"
                | "/dev/full"
                | "/dev/stdin"
                | "/dev/stdout"
                | "/dev/stderr"
                | "/dev/tty"
                | "/dev/random"
                | "/dev/urandom"
        ) || under(abs, "/dev/fd")
            || under(abs, "/proc/self/fd")
            || under(abs, "/dev/pts")
        {
            return Place::Harmless;
        }
        // POSIX shared memory is a tmpfs of scratch files (shm_overview(7)),
        // not a device: its entries are temporary like `/tmp`'s.
        if under(abs, "/dev/shm") && abs != "/dev/shm" {
            return Place::Temp;
        }
        if abs == "/dev/shm" {
            return Place::System;
        }
        if under(abs, "/dev") {
            return Place::Device;
        }
        let root = &self.project_root;
        // A "project" at `/`, a top-level system directory, `$HOME` or an
        // ancestor of `$HOME` would put the user's files or the system
        // inside it (an agent started there, or a hook told so): then
        // nothing is in the project.
        let usable = root != "/"
            && !SYSTEM_DIRS.contains(&root.as_str())
            && !self.home.as_ref().is_some_and(|h| under(h, root));
        if usable && abs == root {
            return Place::ProjectRoot;
        }
        if usable && under(abs, root) {
            return Place::InProject;
        }
        if let Some(h) = &self.home {
            if abs == h || under(h, abs) {
                return Place::HomeOrAbove;
            }
            if under(abs, h) {
                return Place::InHome;
            }
        }
        if under(root, abs) {
            return Place::ProjectAncestor;
        }
        if under(abs, "/tmp") && abs != "/tmp" || under(abs, "/var/tmp") && abs != "/var/tmp" {
            return Place::Temp;
        }
        if SYSTEM_DIRS.iter().any(|d| under(abs, d)) {
            return Place::System;
        }
        Place::Elsewhere
    }

    /// Resolves and classifies in one step.
    pub fn classify(&self, word: &Word, cwd: Option<&str>) -> (Place, Option<String>) {
        match self.resolve(word, cwd) {
            Some(abs) => (self.place(&abs), Some(abs)),
            None => (Place::Unknown, None),
        }
    }

    /// True when the absolute path is a secret (built-in list plus policy).
    pub fn is_secret(&self, abs: &str) -> bool {
        let name = abs.rsplit('/').next().unwrap_or(abs);
        // Templates that document secrets without holding them.
        if [".example", ".sample", ".template", ".dist", ".tmpl"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            return false;
        }
        let under = |base: &str, rest: &str| {
            abs.strip_prefix(base)
                .and_then(|r| r.strip_prefix('/'))
                .and_then(|r| r.strip_prefix(rest))
                .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'))
        };
        let components: Vec<&str> = abs.split('/').collect();
        BUILTIN_SECRETS
            .iter()
            .copied()
            .chain(self.extra_secrets.iter().map(String::as_str))
            .any(|pat| {
                if pat.as_bytes().contains(&b'/') {
                    match (pat.strip_prefix("~/"), &self.home) {
                        (Some(rest), Some(h)) => under(h.trim_end_matches('/'), rest),
                        (Some(_), None) => false,
                        _ => abs
                            .strip_prefix(pat)
                            .is_some_and(|tail| tail.is_empty() || tail.starts_with('/')),
                    }
                } else {
                    crate::policy::wildcard(pat, name) || components.contains(&pat)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PathContext {
        PathContext {
            project_root: "/home/dev/project".into(),
            home: Some("/home/dev".into()),
            extra_secrets: vec![],
        }
    }

    #[test]
    fn places() {
        let c = ctx();
        let cwd = Some("/home/dev/project");
        let p = |t: &str| c.place(&c.resolve_text(t, false, cwd).unwrap());
        assert_eq!(p("/"), Place::Root);
        assert_eq!(p("../.."), Place::HomeOrAbove);
        assert_eq!(p(".."), Place::HomeOrAbove);
        assert_eq!(p("/home/dev/projects"), Place::InHome);
        assert_eq!(p("/boot"), Place::System);
        assert_eq!(p("target/debug"), Place::InProject);
        assert_eq!(p("."), Place::ProjectRoot);
        assert_eq!(p("/tmp/x"), Place::Temp);
        assert_eq!(p("/dev/sda"), Place::Device);
        assert_eq!(p("/dev/null"), Place::Harmless);
        assert_eq!(p("/dev/shm/sem.lock"), Place::Temp);
        assert_eq!(p("/dev/shm"), Place::System);
        assert_eq!(p("/dev/shmx"), Place::Device);
        assert_eq!(
            c.place(&c.resolve_text("*", true, Some("/home/dev")).unwrap()),
            Place::HomeOrAbove
        );
        assert_eq!(
            c.place(&c.resolve_text("*.o", true, cwd).unwrap()),
            Place::ProjectRoot
        );
    }

    #[test]
    fn secrets() {
        let c = ctx();
        assert!(c.is_secret("/home/dev/.ssh/id_ed25519"));
        assert!(c.is_secret("/home/dev/project/.env"));
        assert!(c.is_secret("/home/dev/.aws/credentials"));
        assert!(!c.is_secret("/home/dev/project/src/main.rs"));
        assert!(!c.is_secret("/home/dev/project/.envrc.example"));
    }
}
