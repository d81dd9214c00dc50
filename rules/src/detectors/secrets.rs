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
            let Some(abs) = cx.paths.resolve_text(text, w.glob, cmd.cwd.as_deref()) else {
                continue;
            };
            if !w.dynamic && cx.paths.is_secret(&abs) {
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
}
