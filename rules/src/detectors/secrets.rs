//! `secrets.read`: reading credential files (SSH keys, cloud credentials,
//! `.env` …, see [`crate::paths::BUILTIN_SECRETS`] and the policy's
//! `environment.secret_paths`). Reading alone asks; sending them off the
//! machine is `exfil.upload`.

use shellgate_parsers::Stdin;

use super::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};

/// Rule id.
pub const RULE: &str = "secrets.read";

/// Programs that only test or list paths without reading content.
const NO_READ: &[&str] = &[
    "ls",
    "stat",
    "test",
    "[",
    "touch",
    "mkdir",
    "chmod",
    "chown",
    "rm",
    "file",
    "du",
    "realpath",
    "readlink",
    "basename",
    "dirname",
    "echo",
    "printf",
    "ssh-keygen",
    "ssh-add",
    "which",
    "type",
];

/// Reports commands that read secret files.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let prog = cmd.program().unwrap_or("command");
        let mut words: Vec<&shellgate_parsers::Word> = Vec::new();
        if !NO_READ.contains(&prog) {
            words.extend(cmd.args().iter());
            // The destination of a copy is written, not read.
            if matches!(prog, "cp" | "mv" | "install" | "ln") {
                words.pop();
            }
        }
        if let Stdin::File { path } = &cmd.stdin {
            words.push(path);
        }
        for w in words {
            // `@file`, `k=@file`, `if=file` forms name files too.
            let text = w
                .text
                .rsplit_once('@')
                .map(|(_, f)| f)
                .or_else(|| w.text.strip_prefix("if="))
                .unwrap_or(&w.text);
            if w.dynamic {
                continue;
            }
            let Some(abs) = cx.paths.resolve_text(text, w.glob, cmd.cwd.as_deref()) else {
                continue;
            };
            // A glob operand is what bash expands it to on this machine
            // (`cat ~/.ss?/id_rsa`); the directory before its first
            // wildcard is checked as well.
            let abs = std::iter::once(abs)
                .chain(
                    w.glob
                        .then(|| glob_matches(cx, text, cmd.cwd.as_deref()))
                        .into_iter()
                        .flatten(),
                )
                .find(|p| cx.paths.is_secret(p));
            if let Some(abs) = abs {
                out.push(finding(
                    RULE,
                    Verdict::Ask,
                    Section::TierDefault,
                    w.span,
                    format!(
                        "`{prog}` reads {abs}, a secret; ask the user before exposing credentials"
                    ),
                ));
            }
        }
    }
}

/// The files the glob operand `text` (relative to `cwd`) matches now, read
/// within the input's budget of directory entries; none when the pattern
/// cannot be expanded.
fn glob_matches(cx: &Cx, text: &str, cwd: Option<&str>) -> Vec<String> {
    use shellgate_parsers::pathglob;
    let Some(glob) = pathglob::absolute(text, cwd).and_then(|p| pathglob::bash_to_glob(&p)) else {
        return Vec::new();
    };
    let mut budget = cx.glob_budget.get();
    let found = pathglob::expand(&glob, &mut budget, 64).unwrap_or_default();
    cx.glob_budget.set(budget);
    // `..` and `.` components resolved, as the secret patterns expect.
    found
        .iter()
        .map(|p| shellgate_parsers::join_path("/", p))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn secret_reads_ask() {
        assert_verdict("cat ~/.azure/credentials", Ask, Some(super::RULE));
        assert_verdict("cat ~/.netrc", Ask, Some(super::RULE));
        assert_verdict(
            "grep TOKEN < ~/.config/gcloud/credentials.db",
            Ask,
            Some(super::RULE),
        );
        assert_verdict("ls ~/.azure", Allow, None);
        assert_verdict("cat Cargo.toml", Allow, None);
        // Paths the ignore file covers are denied outright.
        assert_verdict("cat .env", Deny, Some(crate::policy::ignore::RULE));
        assert_verdict(
            "cat ~/.aws/credentials",
            Deny,
            Some(crate::policy::ignore::RULE),
        );
        assert_verdict(
            "cp .env.example .env",
            Deny,
            Some(crate::policy::ignore::RULE),
        );
    }

    /// Glob operands are judged by what they match on this machine, with
    /// wildcards in any component, dotfiles matched by an explicit `.`, and
    /// bash's `[^…]` negation.
    #[test]
    fn glob_operands_expand_to_the_secrets_they_read() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::create_dir_all(project.join("src/app")).unwrap();
        std::fs::write(home.join(".ssh/id_rsa"), "k").unwrap();
        std::fs::write(project.join("src/app/.env"), "X=1").unwrap();
        let (home, project) = (home.to_str().unwrap(), project.to_str().unwrap());
        let policy = crate::Policy::default();
        let judge = |cmd: &str| {
            let d = crate::decide(&policy, cmd, project, Some(home)).decision;
            (d.decision, d.rule_ids())
        };
        for cmd in [
            "cat ~/.ss?/id_rsa",
            "cat ~/.*/id_rsa",
            "cat ~/.ssh/id_rs[^x]",
        ] {
            let (v, ids) = judge(cmd);
            assert_ne!(v, crate::Verdict::Allow, "{cmd}: {ids:?}");
        }
        for cmd in [
            "cat src/*/.env",
            "cat */*/.env",
            "cat s*/a*/.en?",
            "cat src/app/.e*",
            "cat src/app/../app/.e*",
        ] {
            let (v, ids) = judge(cmd);
            assert_eq!(v, crate::Verdict::Deny, "{cmd}: {ids:?}");
        }
        // A pattern matching nothing secret stays allowed.
        let (v, ids) = judge("cat src/*/*.rs");
        assert_eq!(v, crate::Verdict::Allow, "{ids:?}");
    }
}
