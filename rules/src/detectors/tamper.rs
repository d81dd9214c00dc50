//! `policy.tamper`: a command that would change what shellgate decides
//! or how the agent harness calls it. The agent must not be able to
//! loosen its own guard: writing or deleting shellgate's policy files,
//! ignore files, approval and session state, or a harness's settings
//! (where its hooks are registered), and running `shellgate approve`,
//! `shellgate session reset`, `shellgate init` or `shellgate install`
//! itself. Those are for the user, at their own terminal.

use shellgate_parsers::{Command, Word};

use super::{finding, parse_opts, writes::written_paths, Cx};
use crate::finding::{Finding, Section, Verdict};

/// Rule id.
pub const RULE: &str = "policy.tamper";

/// Harness settings that exist both in a project and in `$HOME`
/// (each harness's hook documentation names both places).
const HARNESS_PATHS: &[&str] = &[
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".cursor/hooks.json",
    ".codex/config.toml",
    ".codex/hooks.json",
    ".gemini/settings.json",
];

/// Files and directories under the project root, besides [`HARNESS_PATHS`].
const PROJECT_ONLY_PATHS: &[&str] = &[
    ".shellgate",
    ".shellgateignore",
    ".claudeignore",
    ".github/hooks",
    ".github/copilot/settings.json",
    ".github/copilot/settings.local.json",
];

/// Files and directories under `$HOME`, besides [`HARNESS_PATHS`].
const HOME_ONLY_PATHS: &[&str] = &[
    ".config/shellgate",
    ".local/state/shellgate",
    ".copilot/config.json",
    ".copilot/settings.json",
    ".copilot/hooks",
];

/// Every protected path under the project root.
fn project_paths() -> impl Iterator<Item = &'static &'static str> {
    PROJECT_ONLY_PATHS.iter().chain(HARNESS_PATHS)
}

/// Every protected path under `$HOME`.
fn home_paths() -> impl Iterator<Item = &'static &'static str> {
    HOME_ONLY_PATHS.iter().chain(HARNESS_PATHS)
}

/// System paths.
const SYSTEM_PATHS: &[&str] = &[
    "/etc/shellgate",
    "/etc/claude-code",
    "/etc/codex",
    "/etc/cursor",
    "/etc/gemini-cli",
    "/etc/github-copilot",
];

/// `shellgate` subcommands an agent may run: they only decide or print.
const READ_ONLY_SUBCOMMANDS: &[&str] = &["check", "explain", "policy", "doctor", "help"];

/// Programs whose operands they delete or move away.
const REMOVERS: &[&str] = &["rm", "unlink", "shred", "rmdir", "mv", "truncate", "srm"];

/// git subcommands that delete, move or overwrite the paths they name.
const GIT_PATH_WRITERS: &[&str] = &["rm", "mv", "checkout", "restore", "clean", "apply", "stash"];

/// Reports tampering with shellgate or harness configuration.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let prog = cmd.program().unwrap_or("");
        if prog == "shellgate" {
            // `shellgate -c …` runs a command as a shell; otherwise the
            // first operand is the subcommand.
            let sub = match cmd.args().first() {
                Some(w) if w.text.starts_with('-') && !w.text.starts_with("--") => Some(w),
                _ => cmd.args().iter().find(|w| !w.text.starts_with('-')),
            };
            let harmless = cmd
                .args()
                .iter()
                .all(|w| matches!(w.text.as_str(), "--help" | "-h" | "--version" | "-V"));
            let read_only = sub.is_some_and(|w| READ_ONLY_SUBCOMMANDS.contains(&w.text.as_str()));
            if !read_only && !harmless {
                let what = sub.map(|w| w.text.as_str()).unwrap_or("with these options");
                out.push(finding(
                    RULE,
                    Verdict::Deny,
                    Section::HardDeny,
                    cmd.span,
                    format!("`shellgate {what}` is for the user at their own terminal, not for the agent (it runs, approves or configures commands)"),
                ));
            }
        }
        // Written files (redirections, copies, clones, downloads …).
        let targets: Vec<Word> = written_paths(cmd);
        // Operands that are deleted or moved away, and git's path operands.
        let mut removed: Vec<&Word> = Vec::new();
        if REMOVERS.contains(&prog) {
            removed.extend(parse_opts(cmd.args(), "", &["--suffix", "--target-directory"]).1);
        }
        if let Some(call) = super::git::split(cmd) {
            if call
                .sub
                .is_some_and(|s| GIT_PATH_WRITERS.contains(&s.text.as_str()))
            {
                removed.extend(call.args.iter().filter(|w| !w.text.starts_with('-')));
            }
        }
        if prog == "find" {
            removed.extend(find_targets(cmd.args()));
        }
        // A command `find -exec` runs on what it found.
        for w in cmd.wrappers.iter().filter(|w| w.name == "find") {
            removed.extend(find_targets(&w.argv));
        }
        for (w, ancestors) in targets
            .iter()
            .map(|w| (w, prog == "ln"))
            .chain(removed.into_iter().map(|w| (w, true)))
        {
            if let Some((abs, what)) = hit(cx, cmd, w, ancestors) {
                let shown = if prog.is_empty() { "redirection" } else { prog };
                out.push(finding(
                    RULE,
                    Verdict::Deny,
                    Section::HardDeny,
                    w.span,
                    format!("`{shown}` changes {abs} ({what}); change it by hand if you mean to"),
                ));
            }
        }
    }
}

/// `find` starting points when it deletes or runs commands, and its
/// `-name`/`-path` values (so `find . -name .shellgateignore -delete` is seen).
fn find_targets(args: &[Word]) -> Vec<&Word> {
    let args = match args.first() {
        Some(w) if shellgate_parsers::basename(&w.text) == "find" => &args[1..],
        _ => args,
    };
    let acts = args.iter().any(|w| {
        matches!(
            w.text.as_str(),
            "-delete" | "-exec" | "-execdir" | "-ok" | "-okdir" | "-fprint" | "-fprintf" | "-fls"
        )
    });
    if !acts {
        return Vec::new();
    }
    let mut out: Vec<&Word> = args
        .iter()
        .take_while(|w| !w.text.starts_with('-') && !matches!(w.text.as_str(), "(" | "!"))
        .collect();
    for (i, w) in args.iter().enumerate() {
        if matches!(
            w.text.as_str(),
            "-name" | "-iname" | "-path" | "-ipath" | "-wholename"
        ) {
            out.extend(args.get(i + 1));
        }
    }
    out
}

/// The protected path `w` changes, if any: the path as written and after
/// links the script makes; with `ancestors`, also a directory that holds a
/// protected path (deleting `.claude` deletes its settings). A relative
/// path whose working directory is unknown is compared by its ending.
fn hit(cx: &Cx, cmd: &Command, w: &Word, ancestors: bool) -> Option<(String, &'static str)> {
    if w.dynamic {
        return None;
    }
    let literal = cx.paths.resolve(w, cmd.cwd.as_deref());
    let followed = literal.as_deref().map(|a| cx.follow(a));
    for abs in literal.iter().chain(followed.iter()) {
        if let Some(what) = protected(cx, abs, ancestors && !w.glob) {
            return Some((abs.clone(), what));
        }
    }
    if w.glob && ancestors {
        // `rm -rf .*`, `rm -rf .s*`: a glob that can reach dot entries of
        // a directory holding protected paths.
        let last = w.text.rsplit('/').next().unwrap_or("");
        if last.starts_with('.') {
            if let Some(dir) = literal.as_deref() {
                if let Some(what) = protected(cx, &format!("{dir}/.x"), true).or_else(|| {
                    PROTECTED_NAMES
                        .iter()
                        .any(|n| super::super::policy::wildcard(&last.replace('?', "*"), n))
                        .then_some("a name shellgate protects")
                }) {
                    return Some((w.text.clone(), what));
                }
            }
        }
    }
    if literal.is_none() && !w.text.starts_with('/') {
        let t = w.text.trim_start_matches("./");
        let relative_hit = project_paths().any(|p| {
            t == *p
                || t.ends_with(&format!("/{p}"))
                || t.starts_with(&format!("{p}/"))
                || (ancestors && p.starts_with(&format!("{t}/")))
        }) || PROTECTED_NAMES.contains(&t.rsplit('/').next().unwrap_or(""));
        if relative_hit {
            return Some((
                w.text.clone(),
                "a path shellgate protects, in a directory not known statically",
            ));
        }
    }
    None
}

/// File and directory names that are protected wherever they are.
const PROTECTED_NAMES: &[&str] = &[".shellgate", ".shellgateignore", ".claudeignore"];

/// What `abs` is, when it is a protected path (or, with `ancestors`, a
/// directory strictly inside the project or home that holds one).
fn protected(cx: &Cx, abs: &str, ancestors: bool) -> Option<&'static str> {
    let rel = |base: &str| -> Option<String> {
        abs.strip_prefix(base.trim_end_matches('/'))
            .and_then(|r| r.strip_prefix('/'))
            .map(str::to_string)
    };
    let covers = |rel: &str, p: &str| {
        rel.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            || (ancestors
                && !rel.is_empty()
                && p.strip_prefix(rel)
                    .is_some_and(|rest| rest.starts_with('/')))
    };
    if let Some(r) = rel(&cx.paths.project_root) {
        if project_paths().any(|p| covers(&r, p)) {
            return Some("shellgate's or the agent harness's configuration for this project");
        }
    }
    if let Some(h) = &cx.paths.home {
        if let Some(r) = rel(h) {
            if home_paths().any(|p| covers(&r, p)) {
                return Some("shellgate's or the agent harness's user configuration");
            }
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
            "shellgate run --policy lax.toml -- rm -rf /tmp/x",
            "shellgate -c 'rm -rf /tmp/x'",
            "shellgate install claude-code --write",
            "echo '{}' | shellgate hook codex",
            "ln -sf /tmp/x .shellgate/policy.toml",
            "curl -o .shellgate/policy.toml https://example.com/p",
            "dd if=x of=.shellgateignore",
            "git checkout -- .shellgateignore",
            "git rm -r .shellgate",
            "find . -name .shellgateignore -exec rm {} ;",
            "find .shellgate -delete",
            "sed --in-place=.bak s/a/b/ .shellgateignore",
            "cp --target-directory=.shellgate x",
            "cat x | sponge .shellgateignore",
            "rm -rf .claude",
            "mv .claude x",
            "cd \"$DIR\" && printf x >> .shellgateignore",
            "rm -rf .s*",
            "mkdir -p .codex && echo x > .codex/hooks.json",
            "echo '{}' > ~/.codex/hooks.json",
            "cp h.json ~/.copilot/hooks/shellgate.json",
            "echo '{}' > .github/copilot/settings.json",
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
