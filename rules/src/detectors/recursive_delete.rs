//! `destructive.recursive-delete`: deleting trees that are not the project's.
//!
//! Fires on `rm -r` (any spelling: `-rf`, `-R`, `--recursive`, split flags),
//! `find … -delete` and `find … -exec rm …` (unwrapped by the parser), and
//! `rmdir`/`unlink`/`shred -u` of single paths. Targets are judged lexically
//! after `~`, `$HOME`, `..` and `cd` are resolved: `/`, `$HOME` or above,
//! system directories, and anything outside the project are denied; the
//! project root itself, temp directories and unknown targets ask.

use shellgate_parsers::{invocation::find_starting_points, Command, Word};

use super::{finding, parse_opts, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::paths::Place;

/// Rule id.
pub const RULE: &str = "destructive.recursive-delete";

/// Reports deletions by every command of the script.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        match cmd.program() {
            Some("rm") => {
                let (opts, targets) = parse_opts(cmd.args(), "", &[]);
                // A word only known at run time may be `-r` (or a target).
                let recursive = opts
                    .iter()
                    .any(|(o, _)| matches!(o.as_str(), "-r" | "-R" | "--recursive"))
                    || cmd.args().iter().any(|w| w.dynamic);
                for t in targets {
                    judge(cx, cmd, t, recursive, "rm", out);
                }
            }
            // Moving a tree away removes it from where it was (mv(1)).
            Some("mv") => {
                let (opts, operands) =
                    parse_opts(cmd.args(), "tS", &["--target-directory", "--suffix"]);
                let explicit_target = opts
                    .iter()
                    .any(|(o, _)| o == "-t" || o.starts_with("--target-directory"));
                let n = operands.len();
                let sources = if explicit_target {
                    n
                } else {
                    n.saturating_sub(1)
                };
                for t in operands.into_iter().take(sources) {
                    judge(cx, cmd, t, true, "mv", out);
                }
            }
            Some("trash" | "trash-put" | "gtrash" | "rmtrash") => {
                for t in parse_opts(cmd.args(), "", &[]).1 {
                    judge(cx, cmd, t, true, "trash", out);
                }
            }
            Some("gio")
                if cmd
                    .args()
                    .first()
                    .is_some_and(|w| w.text == "trash" || w.text == "remove") =>
            {
                for t in parse_opts(&cmd.args()[1..], "", &[]).1 {
                    judge(cx, cmd, t, true, "gio trash", out);
                }
            }
            Some("rmdir" | "unlink") => {
                for t in parse_opts(cmd.args(), "", &[]).1 {
                    judge(cx, cmd, t, false, cmd.program().unwrap_or("rm"), out);
                }
            }
            Some("shred")
                if cmd.args().iter().any(|w| {
                    w.text == "-u"
                        || w.text.starts_with("--remove")
                        || (w.text.starts_with('-')
                            && !w.text.starts_with("--")
                            && w.text.contains('u'))
                }) =>
            {
                for t in parse_opts(
                    cmd.args(),
                    "nsx",
                    &["--iterations", "--size", "--random-source"],
                )
                .1
                {
                    judge(cx, cmd, t, false, "shred -u", out);
                }
            }
            // Archivers and copiers that remove their sources (tar(1)
            // --remove-files, zip(1) -m, rsync(1) --remove-source-files).
            Some("tar" | "gtar" | "bsdtar")
                if cmd.args().iter().any(|w| w.text == "--remove-files") =>
            {
                let (_, operands) = parse_opts(
                    cmd.args(),
                    "fCbHKLMNTVXgI",
                    &[
                        "--file",
                        "--directory",
                        "--exclude",
                        "--transform",
                        "--owner",
                        "--group",
                        "--mode",
                        "--format",
                    ],
                );
                for t in operands.into_iter().filter(|w| {
                    !w.text.contains('.') || w.text.starts_with('/') || w.text.starts_with('~')
                }) {
                    judge(cx, cmd, t, true, "tar --remove-files", out);
                }
            }
            Some("zip")
                if cmd.args().iter().any(|w| {
                    w.text == "-m"
                        || w.text == "--move"
                        || (w.text.starts_with('-')
                            && !w.text.starts_with("--")
                            && w.text.contains('m'))
                }) =>
            {
                let (_, operands) = parse_opts(
                    cmd.args(),
                    "bnPtxiTD",
                    &[
                        "--temp-path",
                        "--suffixes",
                        "--password",
                        "--exclude",
                        "--include",
                    ],
                );
                for t in operands.into_iter().skip(1) {
                    judge(cx, cmd, t, true, "zip -m", out);
                }
            }
            Some("rsync") if cmd.args().iter().any(|w| w.text == "--remove-source-files") => {
                let (_, operands) = parse_opts(
                    cmd.args(),
                    "eBT",
                    &["--rsh", "--exclude", "--include", "--filter"],
                );
                let n = operands.len();
                for t in operands
                    .into_iter()
                    .take(n.saturating_sub(1))
                    .filter(|w| !w.text.contains(':'))
                {
                    judge(cx, cmd, t, true, "rsync --remove-source-files", out);
                }
            }
            Some("git") => {
                // `git clean -f…` deletes untracked files in the work tree.
                if let Some(call) = super::git::split(cmd) {
                    if call.sub.is_some_and(|s| s.text == "worktree")
                        && call.args.first().is_some_and(|w| w.text == "remove")
                    {
                        for t in parse_opts(&call.args[1..], "", &[]).1 {
                            judge(cx, cmd, t, true, "git worktree remove", out);
                        }
                    }
                    if call.sub.is_some_and(|s| s.text == "clean")
                        && call.args.iter().any(|w| {
                            w.text.starts_with('-')
                                && !w.text.starts_with("--")
                                && w.text.contains('f')
                                || w.text == "--force"
                        })
                    {
                        let mut dir = cmd.cwd.clone();
                        for d in &call.dirs {
                            dir = match (dir, d.value()) {
                                (_, Some(p)) if p.starts_with('/') => {
                                    Some(shellgate_parsers::join_path("/", p))
                                }
                                (Some(c), Some(p)) => Some(shellgate_parsers::join_path(&c, p)),
                                _ => None,
                            };
                        }
                        if let Some(wt) = &call.work_tree {
                            dir = dir.map(|c| shellgate_parsers::join_path(&c, wt));
                        }
                        let mut w = call.sub.cloned().unwrap_or_else(|| cmd.argv[0].clone());
                        w.text = format!("{}/*", dir.clone().unwrap_or_default());
                        w.glob = true;
                        w.dynamic = dir.is_none();
                        judge(cx, cmd, &w, true, "git clean", out);
                    }
                }
            }
            Some("find") if cmd.args().iter().any(|w| w.text == "-delete") => {
                for start in find_starting_points(&cmd.argv) {
                    // find -delete removes what lies under the starting point.
                    let mut w = start.clone();
                    w.text = format!("{}/*", start.text.trim_end_matches('/'));
                    w.glob = true;
                    judge(cx, cmd, &w, true, "find -delete", out);
                }
            }
            _ => {}
        }
    }
}

fn judge(
    cx: &Cx,
    cmd: &Command,
    target: &Word,
    recursive: bool,
    tool: &str,
    out: &mut Vec<Finding>,
) {
    let (place, abs) = cx.place(cmd, target);
    let shown = abs.clone().unwrap_or_else(|| target.text.clone());
    let (verdict, section, why) = match (&place, recursive) {
        (Place::Root, _) => (
            Verdict::Deny,
            Section::HardDeny,
            "the root of the file system".to_string(),
        ),
        (Place::HomeOrAbove, _) => (
            Verdict::Deny,
            Section::HardDeny,
            "your home directory".to_string(),
        ),
        (Place::System, _) | (Place::Device, _) => (
            Verdict::Deny,
            Section::HardDeny,
            "a system directory".to_string(),
        ),
        (Place::ProjectAncestor, _) => (
            Verdict::Deny,
            Section::HardDeny,
            "a directory that contains the project".to_string(),
        ),
        (Place::InHome | Place::Elsewhere, true) => (
            Verdict::Deny,
            Section::HardDeny,
            "outside the project root".to_string(),
        ),
        (Place::InHome | Place::Elsewhere, false) => (
            Verdict::Ask,
            Section::TierDefault,
            "outside the project root".to_string(),
        ),
        (Place::ProjectRoot, true) if !target.glob => (
            Verdict::Ask,
            Section::SoftDeny,
            "the whole project".to_string(),
        ),
        (Place::Temp, true) => (
            Verdict::Ask,
            Section::TierDefault,
            "a temporary directory outside the project".to_string(),
        ),
        (Place::Unknown, true) => (
            Verdict::Ask,
            Section::TierDefault,
            "a path that is not known before it runs".to_string(),
        ),
        (Place::InProject, true)
            if abs
                .as_deref()
                .is_some_and(|a| a == format!("{}/.git", cx.paths.project_root)) =>
        {
            (
                Verdict::Ask,
                Section::SoftDeny,
                "the project's git history".to_string(),
            )
        }
        _ => return,
    };
    let what = if recursive {
        "recursively deletes"
    } else {
        "deletes"
    };
    out.push(finding(
        RULE,
        verdict,
        section,
        target.span,
        format!("`{tool}` {what} {shown}: {why}; delete inside the project only"),
    ));
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn denies_home_root_system_and_outside() {
        for c in [
            "rm -rf /",
            "rm -rf $HOME/",
            "rm -Rf ~",
            "rm -f -r /var",
            "rm -f -r ../..",
            "rm --force --recursive /home/dev/projects",
            "/bin/rm -fr ~/.config",
            "\"rm\" -rf /",
            "\\rm -rf ~",
            "$'\\x72m' -rf /var",
            "R=rm; $R -rf ~",
            "env -i rm -rf /var",
            "sudo rm -rf /boot",
            "printf '%s\\n' / | xargs rm -rf",
            "bash -c \"rm -rf ~\"",
            "eval rm -rf /",
            "echo rm -rf ~ | bash",
            "cd ~ && rm -rf *",
            "find ~ -mindepth 1 -delete",
            "find /var -exec rm -rf {} \\;",
            "cleanup() { rm -rf /; }\ncleanup",
            "x=ls; for i in 1 2; do $x -rf /; x=rm; done",
            "rm -r /etc",
            "rm -rf ~/*",
        ] {
            assert_verdict(c, Deny, Some(super::RULE));
        }
    }

    #[test]
    fn allows_project_cleanup() {
        for c in [
            "rm -rf target/debug",
            "rm -rf ./node_modules ./dist",
            "rm -f *.o",
            "find . -name '*.tmp' -delete",
            "rm -rf build && mkdir build",
        ] {
            assert_verdict(c, Allow, None);
        }
    }

    #[test]
    fn asks_when_unsure() {
        assert_verdict("rm -rf \"$DIR\"", Ask, Some(super::RULE));
        assert_verdict("rm -rf /tmp/scratch", Ask, Some(super::RULE));
        assert_verdict("rm -rf .", Ask, Some(super::RULE));
        assert_verdict("rm -rf .git", Ask, Some(super::RULE));
    }
}

#[cfg(test)]
mod more_tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn other_deleters_and_symlinks() {
        for c in [
            "tar --remove-files -cf /dev/null ~",
            "zip -rm /tmp/x.zip ~",
            "rsync --remove-source-files -a ~/ /tmp/x",
            "git -C ~ clean -fdx",
            "git --work-tree=/home/dev clean -ffdx",
            "cd ~ && git clean -fdx",
            "ln -s /home/dev h && rm -rf h/",
            "ln -s / r; cd r; rm -rf *",
            "set -- -rf ~; rm \"$@\"",
        ] {
            assert_verdict(c, Deny, Some(super::RULE));
        }
        for c in ["git clean -fdx", "tar --remove-files -czf logs.tgz logs"] {
            assert_verdict(c, Allow, None);
        }
    }
}
