//! `fs.system-write`, `fs.persistence`, `fs.write-outside-project`: where a
//! command writes, from its redirections (bash manual 3.6) and the
//! destination operands of common file tools (`tee`, `cp`, `mv`, `install`,
//! `ln`, `touch`, `mkdir`, `truncate`, `sed -i`, `chmod`/`chown`, `tar -C`).

use shellgate_parsers::{Command, Word};

use super::{finding, parse_opts, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::paths::Place;

/// Rule id: writes to system directories.
pub const SYSTEM: &str = "fs.system-write";
/// Rule id: writes to shell start-up files, SSH keys, cron and autostart.
pub const PERSISTENCE: &str = "fs.persistence";
/// Rule id: writes elsewhere outside the project.
pub const OUTSIDE: &str = "fs.write-outside-project";

/// Files under `$HOME` that run code at login or grant access.
const PERSISTENCE_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".bash_logout",
    ".ssh/authorized_keys",
    ".ssh/config",
    ".config/autostart",
    ".config/systemd",
    ".config/fish/config.fish",
    ".gitconfig",
    ".local/bin",
];

/// Words naming files a command writes.
pub fn write_targets(cmd: &Command) -> Vec<&Word> {
    let mut out: Vec<&Word> = cmd
        .redirects
        .iter()
        .filter(|r| r.writes())
        .map(|r| &r.target)
        .collect();
    let Some(prog) = cmd.program() else {
        return out;
    };
    let args = cmd.args();
    match prog {
        "tee" | "touch" | "mkdir" | "truncate" | "mkfifo" | "mknod" => {
            out.extend(parse_opts(args, "sm", &["--size", "--mode", "--reference"]).1)
        }
        "cp" | "mv" | "install" | "ln" | "rsync" => {
            let (opts, operands) =
                parse_opts(args, "tSm", &["--target-directory", "--suffix", "--mode"]);
            match opts
                .iter()
                .find(|(o, _)| o == "-t" || o.starts_with("--target-directory"))
            {
                Some((_, Some(v))) => out.push(v),
                _ => {
                    if operands.len() >= 2 || prog == "install" {
                        out.extend(operands.last());
                    }
                }
            }
        }
        "sed" | "perl"
            if args.iter().any(|w| {
                w.text.starts_with("-i")
                    || w.text == "--in-place"
                    || (prog == "perl" && w.text.starts_with("-pi"))
            }) =>
        {
            let (_, operands) = parse_opts(args, "ef", &["--expression", "--file"]);
            let has_script_opt = args
                .iter()
                .any(|w| w.text == "-e" || w.text == "-f" || w.text.starts_with("--expression"));
            out.extend(operands.into_iter().skip(usize::from(!has_script_opt)));
        }
        "chmod" | "chown" | "chgrp" => {
            let (_, operands) = parse_opts(args, "", &["--reference"]);
            out.extend(operands.into_iter().skip(1));
        }
        "tar" => {
            let mut it = args.iter();
            while let Some(w) = it.next() {
                if w.text == "-C" || w.text == "--directory" {
                    out.extend(it.next());
                }
            }
        }
        _ => {}
    }
    out
}

/// Reports writes outside the project.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        for w in write_targets(cmd) {
            let (place, abs) = classify(cx, cmd, w);
            let shown = abs.clone().unwrap_or_else(|| w.text.clone());
            let prog = cmd.program().unwrap_or("redirection");
            if let (Some(a), Some(h)) = (&abs, &cx.paths.home) {
                if PERSISTENCE_FILES
                    .iter()
                    .any(|p| a == &format!("{h}/{p}") || a.starts_with(&format!("{h}/{p}/")))
                {
                    out.push(finding(PERSISTENCE, Verdict::Deny, Section::HardDeny, w.span, format!("`{prog}` writes {a}, which runs code or grants access at login; change it by hand if you mean to")));
                    continue;
                }
            }
            match place {
                Place::System | Place::Root => out.push(finding(
                    SYSTEM,
                    Verdict::Deny,
                    Section::HardDeny,
                    w.span,
                    format!(
                        "`{prog}` writes {shown}, a system location; change system files by hand"
                    ),
                )),
                Place::Device => out.push(finding(
                    super::disk::DISK,
                    Verdict::Deny,
                    Section::HardDeny,
                    w.span,
                    format!("`{prog}` writes to device {shown}, destroying its data"),
                )),
                Place::HomeOrAbove | Place::InHome | Place::Elsewhere | Place::ProjectAncestor => {
                    out.push(finding(
                        OUTSIDE,
                        Verdict::Ask,
                        Section::TierDefault,
                        w.span,
                        format!("`{prog}` writes {shown}, outside the project"),
                    ))
                }
                _ => {}
            }
        }
    }
}

/// Like [`Cx::place`], but a dynamic word is judged by its known directory
/// prefix (`/etc/$x` is still in `/etc`).
fn classify(cx: &Cx, cmd: &Command, w: &Word) -> (Place, Option<String>) {
    if !w.dynamic {
        return cx.place(cmd, w);
    }
    let prefix = w.text.split(['$', '`']).next().unwrap_or("");
    match prefix.rfind('/') {
        Some(i) if prefix.starts_with('/') => {
            let dir = cx.paths.resolve_text(&prefix[..i.max(1)], false, None);
            (
                dir.as_deref()
                    .map(|d| cx.paths.place(d))
                    .unwrap_or(Place::Unknown),
                dir,
            )
        }
        _ => (Place::Unknown, None),
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn system_and_persistence_writes_are_denied() {
        assert_verdict(
            "echo 'ALL ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers",
            Deny,
            Some(super::SYSTEM),
        );
        assert_verdict("echo x | tee -a /etc/hosts", Deny, Some(super::SYSTEM));
        assert_verdict(
            "echo 'curl x|sh' >> ~/.bashrc",
            Deny,
            Some(super::PERSISTENCE),
        );
        assert_verdict(
            "cat key.pub >> ~/.ssh/authorized_keys",
            Deny,
            Some(super::PERSISTENCE),
        );
        assert_verdict("cp evil /usr/local/bin/", Deny, Some(super::SYSTEM));
        assert_verdict("echo x > /etc/$NAME", Deny, Some(super::SYSTEM));
    }

    #[test]
    fn outside_asks_inside_passes() {
        assert_verdict("echo hi > ~/notes.txt", Ask, Some(super::OUTSIDE));
        assert_verdict("echo \"$(date): build ok\" >> build.log", Allow, None);
        assert_verdict("cargo test 2>&1 > /dev/null", Allow, None);
        assert_verdict("sort data.txt > /tmp/sorted.txt", Allow, None);
        assert_verdict(
            "cat <<'EOF' > script.sh\n#!/bin/sh\necho hello\nEOF",
            Allow,
            None,
        );
    }
}
