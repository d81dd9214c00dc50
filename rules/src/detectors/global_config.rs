//! `config.global`: changes to user-wide or system-wide configuration
//! (`git config --global`, `npm config set`, `pip config set`,
//! `gh config set`, `defaults write`,
//! `gsettings set` …). Global installs are not configuration and are
//! judged by the package rules. Changes outlive the session and affect every project,
//! so the balanced and restrictive tiers ask; the permissive tier allows
//! them (docs/policy.md, "Tiers").

use shellgate_parsers::Command;

use super::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::policy::Tier;

/// Rule id.
pub const RULE: &str = "config.global";

/// Reports global configuration changes (not in the permissive tier).
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    if cx.tier() == Tier::Permissive {
        return;
    }
    for cmd in &cx.script.commands {
        if let Some(what) = global_change(cmd) {
            out.push(finding(
                RULE,
                Verdict::Ask,
                Section::TierDefault,
                cmd.span,
                format!("{what}, which changes configuration for every project on this machine"),
            ));
        }
    }
}

/// What global change `cmd` makes, if any.
fn global_change(cmd: &Command) -> Option<String> {
    let prog = cmd.program()?;
    let args: Vec<&str> = cmd.args().iter().map(|w| w.text.as_str()).collect();
    let operands: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let first = operands.first().copied().unwrap_or("");
    match prog {
        "git" => {
            let call = super::git::split(cmd)?;
            let sub = call.sub?.text.as_str();
            let rest: Vec<&str> = call.args.iter().map(|w| w.text.as_str()).collect();
            if sub == "lfs" {
                let local = rest.iter().any(|a| matches!(*a, "--local" | "--worktree"));
                return (rest.first() == Some(&"install") && !local)
                    .then(|| "`git lfs install` changes the global git configuration".to_string());
            }
            if sub != "config" {
                return None;
            }
            let scope = rest
                .iter()
                .find(|a| matches!(**a, "--global" | "--system"))?;
            let reads = rest.iter().any(|a| {
                matches!(
                    *a,
                    "--get"
                        | "--get-all"
                        | "--get-regexp"
                        | "--list"
                        | "-l"
                        | "--get-urlmatch"
                        | "get"
                        | "list"
                )
            });
            let ops = rest.iter().filter(|a| !a.starts_with('-')).count();
            let writes_opt = rest.iter().any(|a| {
                a.starts_with("--unset")
                    || matches!(
                        *a,
                        "--add"
                            | "--replace-all"
                            | "--edit"
                            | "-e"
                            | "--remove-section"
                            | "--rename-section"
                            | "set"
                            | "unset"
                    )
            });
            (!reads && (ops >= 2 || writes_opt))
                .then(|| format!("`git config {scope}` changes git settings"))
        }
        "npm" | "pnpm" | "yarn" => {
            if matches!(first, "config" | "set")
                && operands
                    .iter()
                    .any(|o| matches!(*o, "set" | "delete" | "edit" | "rm"))
                || first == "set"
            {
                if args.iter().any(|a| a.starts_with("--location=project")) {
                    return None;
                }
                return Some(format!(
                    "`{prog} config` changes the user's {prog} configuration"
                ));
            }
            None
        }
        "pip" | "pip3" => {
            if first == "config"
                && operands
                    .iter()
                    .any(|o| matches!(*o, "set" | "unset" | "edit"))
            {
                return Some("`pip config` changes the user's pip configuration".into());
            }
            None
        }
        "gh" => match (first, operands.get(1).copied()) {
            ("config", Some("set")) => {
                Some("`gh config set` changes the GitHub CLI configuration".into())
            }
            ("auth", Some("setup-git")) => {
                Some("`gh auth setup-git` changes the global git configuration".into())
            }
            _ => None,
        },
        "defaults" => matches!(first, "write" | "delete" | "import")
            .then(|| format!("`defaults {first}` changes system preferences")),
        "gsettings" | "dconf" => matches!(
            first,
            "set" | "reset" | "write" | "reset-recursively" | "load"
        )
        .then(|| format!("`{prog} {first}` changes desktop settings")),
        "rustup" => matches!(first, "default" | "set")
            .then(|| format!("`rustup {first}` changes the default toolchain")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn global_changes_ask_in_balanced() {
        for c in [
            "git config --global user.name Bot",
            "git config --global --unset core.editor",
            "npm config set registry https://registry.example.com",
            "pip config set global.index-url https://x",
            "gh config set editor vim",
            "git lfs install",
        ] {
            assert_verdict(c, Ask, Some(RULE));
        }
        for c in [
            "git config --global --get user.name",
            "git config user.name Bot",
            "git config --global -l",
            "npm install typescript",
            "npm config get registry",
            "git lfs install --local",
        ] {
            assert_verdict(c, Allow, None);
        }
    }
}
