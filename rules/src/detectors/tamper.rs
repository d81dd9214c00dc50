//! `policy.tamper`: a command that would change what shellgate decides
//! or how the agent harness calls it. The agent must not be able to
//! loosen its own guard: writing or deleting shellgate's policy files,
//! ignore files, approval and session state, or a harness's settings
//! (where its hooks are registered), and running `shellgate approve`,
//! `shellgate session reset`, `shellgate init` or `shellgate install`
//! itself. Those are for the user, at their own terminal.

use super::{finding, parse_opts, writes::write_targets, Cx};
use crate::finding::{Finding, Section, Verdict};

/// Rule id.
pub const RULE: &str = "policy.tamper";

/// Files and directories under the project root.
const PROJECT_PATHS: &[&str] = &[
    ".shellgate",
    ".shellgateignore",
    ".claudeignore",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".cursor/hooks.json",
    ".codex/config.toml",
    ".gemini/settings.json",
    ".github/hooks",
];

/// Files and directories under `$HOME`.
const HOME_PATHS: &[&str] = &[
    ".config/shellgate",
    ".local/state/shellgate",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".cursor/hooks.json",
    ".codex/config.toml",
    ".gemini/settings.json",
    ".copilot/config.json",
];

/// System paths.
const SYSTEM_PATHS: &[&str] = &["/etc/shellgate", "/etc/claude-code", "/etc/codex"];

/// `shellgate` subcommands that only the user may run.
const USER_ONLY: &[&str] = &["approve", "session", "init", "install"];

/// Programs whose operands they delete or move away.
const REMOVERS: &[&str] = &["rm", "unlink", "shred", "rmdir", "mv", "truncate"];

/// Reports tampering with shellgate or harness configuration.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let prog = cmd.program().unwrap_or("");
        if prog == "shellgate" {
            if let Some(sub) = cmd.args().iter().find(|w| !w.text.starts_with('-')) {
                if USER_ONLY.contains(&sub.text.as_str()) {
                    out.push(finding(
                        RULE,
                        Verdict::Deny,
                        Section::HardDeny,
                        cmd.span,
                        format!("`shellgate {}` is for the user at their own terminal, not for the agent", sub.text),
                    ));
                }
            }
        }
        let mut words: Vec<&shellgate_parsers::Word> = write_targets(cmd);
        if REMOVERS.contains(&prog) {
            words.extend(parse_opts(cmd.args(), "", &[]).1);
        }
        for w in words {
            let (_, Some(abs)) = cx.place(cmd, w) else {
                continue;
            };
            if let Some(what) = protected(cx, &abs) {
                out.push(finding(
                    RULE,
                    Verdict::Deny,
                    Section::HardDeny,
                    w.span,
                    format!(
                        "`{}` changes {abs} ({what}); change it by hand if you mean to",
                        if prog.is_empty() { "redirection" } else { prog }
                    ),
                ));
            }
        }
    }
}

/// What `abs` is, when it is a protected path.
fn protected(cx: &Cx, abs: &str) -> Option<&'static str> {
    let under = |base: &str, p: &str| {
        abs.strip_prefix(base.trim_end_matches('/'))
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|r| r.strip_prefix(p))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let root = &cx.paths.project_root;
    if PROJECT_PATHS.iter().any(|p| under(root, p)) {
        return Some("shellgate's or the agent harness's configuration for this project");
    }
    if let Some(h) = &cx.paths.home {
        if HOME_PATHS.iter().any(|p| under(h, p)) {
            return Some("shellgate's or the agent harness's user configuration");
        }
    }
    if SYSTEM_PATHS.iter().any(|p| {
        abs.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }) {
        return Some("the managed configuration");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn agents_cannot_loosen_their_guard() {
        for c in [
            "echo 'tier = \"permissive\"' > .shellgate/policy.toml",
            "rm .shellgateignore",
            "sed -i 's/deny/allow/' .claude/settings.json",
            "cp evil.toml ~/.config/shellgate/policy.toml",
            "shellgate approve K7Q2-9XRM",
            "bash -c 'shellgate session reset'",
            "mv .shellgate /tmp/x",
            "tee ~/.local/state/shellgate/approvals.json < x",
        ] {
            assert_verdict(c, Deny, Some(RULE));
        }
        for c in [
            "cat .shellgate/policy.toml",
            "shellgate check -- ls",
            "shellgate policy show",
        ] {
            assert_verdict(c, Allow, None);
        }
    }
}
