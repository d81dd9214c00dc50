//! `tier.restrictive`: in the restrictive tier only reading and in-project
//! editing run without asking; every other program asks.

use super::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::policy::Tier;

/// Rule id.
pub const RULE: &str = "tier.restrictive";

/// Programs that read, search, compare or edit files (writes are judged
/// by the other rules: outside the project they ask or deny).
pub const READ_AND_EDIT: &[&str] = &[
    "ls",
    "cat",
    "head",
    "tail",
    "less",
    "more",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "find",
    "fd",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "diff",
    "cmp",
    "comm",
    "file",
    "stat",
    "du",
    "df",
    "tree",
    "pwd",
    "echo",
    "printf",
    "true",
    "false",
    "test",
    "[",
    "which",
    "type",
    "command",
    "whoami",
    "date",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "jq",
    "yq",
    "sed",
    "awk",
    "nl",
    "column",
    "xxd",
    "od",
    "hexdump",
    "md5sum",
    "sha256sum",
    "sha1sum",
    "cd",
    "pushd",
    "popd",
    "touch",
    "mkdir",
    "cp",
    "mv",
    "tee",
    "patch",
    "man",
    "help",
    "env",
    "printenv",
    "uname",
    "id",
    "sleep",
    "seq",
    "rev",
    "tac",
    "paste",
    "join",
    "fold",
    "fmt",
    "expand",
    "unexpand",
    "strings",
    "cal",
    "export",
    "set",
    "unset",
    "local",
    "read",
    "exit",
    "return",
    "shift",
    "wait",
    ":",
    "source",
    ".",
];

/// git subcommands that only read.
const GIT_READ: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "blame",
    "branch",
    "tag",
    "rev-parse",
    "ls-files",
    "grep",
    "describe",
    "shortlog",
    "reflog",
    "remote",
    "config",
    "stash",
    "add",
    "commit",
    "restore",
    "switch",
    "checkout",
];

/// Reports programs outside the read/edit set when the tier is restrictive.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    if cx.tier() != Tier::Restrictive {
        return;
    }
    for cmd in &cx.script.commands {
        let Some(prog) = cmd.program() else { continue };
        if READ_AND_EDIT.contains(&prog) {
            continue;
        }
        if prog == "git" {
            if let Some(sub) = super::git::split(cmd).and_then(|c| c.sub) {
                if GIT_READ.contains(&sub.text.as_str()) {
                    continue;
                }
            }
        }
        out.push(finding(
            RULE,
            Verdict::Ask,
            Section::TierDefault,
            cmd.argv[0].span,
            format!("`{prog}` is not a read or edit tool, and the tier is restrictive"),
        ));
    }
}
