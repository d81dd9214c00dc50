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

/// A word whose text is the value part of `w` (`--opt=VALUE`, `-tVALUE`).
fn value_word(w: &Word, value: &str) -> Word {
    let mut v = w.clone();
    v.text = value.to_string();
    v
}

/// Words naming files a command writes: redirection targets, destination
/// operands and option values (`--target-directory=DIR`, `of=FILE`).
pub fn write_targets(cmd: &Command) -> Vec<Word> {
    let mut out: Vec<&Word> = cmd
        .redirects
        .iter()
        .filter(|r| r.writes())
        .map(|r| &r.target)
        .collect();
    let mut owned: Vec<Word> = Vec::new();
    let Some(prog) = cmd.program() else {
        return out.into_iter().cloned().collect();
    };
    let args = cmd.args();
    match prog {
        "tee" | "touch" | "mkdir" | "truncate" | "mkfifo" | "mknod" | "sponge" => {
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
                Some((o, None)) => {
                    let inline = o
                        .strip_prefix("--target-directory=")
                        .or_else(|| o.strip_prefix("-t"))
                        .filter(|v| !v.is_empty());
                    let src = args.iter().find(|w| w.text == *o);
                    if let (Some(v), Some(src)) = (inline, src) {
                        owned.push(value_word(src, v));
                    }
                }
                None => {
                    if operands.len() >= 2 || prog == "install" {
                        out.extend(operands.last());
                    }
                }
            }
        }
        "sed" | "perl"
            if args.iter().any(|w| {
                w.text.starts_with("-i")
                    || w.text.starts_with("--in-place")
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
        "dd" => owned.extend(
            args.iter()
                .filter_map(|w| w.text.strip_prefix("of=").map(|v| value_word(w, v))),
        ),
        "unzip" => {
            let mut it = args.iter();
            while let Some(w) = it.next() {
                if w.text == "-d" {
                    out.extend(it.next());
                }
            }
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
    let mut all: Vec<Word> = out.into_iter().cloned().collect();
    all.extend(owned);
    all
}

/// Every word naming something `cmd` writes: [`write_targets`], the
/// destination directory of `git clone`, and the output files of
/// downloads (`curl -o`, `wget -O`).
pub fn written_paths(cmd: &Command) -> Vec<Word> {
    let mut targets = write_targets(cmd);
    if let Some(call) = super::git::split(cmd) {
        if call.sub.is_some_and(|s| s.text == "clone") {
            let ops: Vec<&Word> = call
                .args
                .iter()
                .filter(|w| !w.text.starts_with('-'))
                .collect();
            if let Some(dir) = ops.get(1) {
                targets.push((*dir).clone());
            }
        }
    }
    if let Some(t) = super::net::transfer(cmd) {
        for o in t.outputs {
            targets.push(Word::literal(o, cmd.span));
        }
    }
    targets
}

/// Reports writes outside the project.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let targets = written_paths(cmd);
        for w in &targets {
            let (place, abs) = classify(cx, cmd, w);
            // The path as written too: `ln -sf X ~/.bashrc` replaces ~/.bashrc itself.
            let literal = cx.paths.resolve(w, cmd.cwd.as_deref());
            let prog = cmd.program().unwrap_or("redirection");
            let root = &cx.paths.project_root;
            // Hooks, the repository config (its `core.fsmonitor`,
            // `core.pager` … run commands), or `.git` itself as the
            // destination of a copy or move, which can bring hooks along.
            let git_dir = format!("{root}/.git");
            if let Some(a) = literal.iter().chain(abs.iter()).find(|a| {
                a.starts_with(&format!("{git_dir}/hooks/"))
                    || **a == format!("{git_dir}/hooks")
                    || **a == format!("{git_dir}/config")
                    || (**a == git_dir && matches!(prog, "cp" | "mv" | "rsync" | "install" | "ln"))
            }) {
                out.push(finding(PERSISTENCE, Verdict::Deny, Section::HardDeny, w.span, format!("`{prog}` writes {a}, from which later git commands run hooks or configured programs; change it by hand")));
                continue;
            }
            if literal
                .iter()
                .chain(abs.iter())
                .any(|a| *a == format!("{root}/.git/config"))
            {
                out.push(finding(
                    super::git::CONFIG_EXEC,
                    Verdict::Ask,
                    Section::SoftDeny,
                    w.span,
                    format!("`{prog}` writes .git/config, which can make git run commands"),
                ));
                continue;
            }
            let (place, abs) = match literal.as_ref().map(|l| (cx.paths.place(l), l.clone())) {
                // `ln` writes the link itself, wherever it will point.
                Some((p, l))
                    if prog == "ln"
                        || persistence(cx, &l)
                        || matches!(p, Place::System | Place::Root) =>
                {
                    (p, Some(l))
                }
                _ => (place, abs),
            };
            let shown = abs.clone().unwrap_or_else(|| w.text.clone());
            let prog = cmd.program().unwrap_or("redirection");
            if let (Some(a), Some(_)) = (&abs, &cx.paths.home) {
                if persistence(cx, a) {
                    out.push(finding(PERSISTENCE, Verdict::Deny, Section::HardDeny, w.span, format!("`{prog}` writes {a}, which runs code or grants access at login; change it by hand if you mean to")));
                    continue;
                }
            }
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
                // Found by `shellgate fuzz`: `>> ${v/#//etc/sudoers}` with
                // `v` unknown writes /etc/sudoers. A target only known when
                // it runs may be anywhere.
                Place::Unknown => out.push(finding(
                    OUTSIDE,
                    Verdict::Ask,
                    Section::TierDefault,
                    w.span,
                    format!(
                        "`{prog}` writes {shown}, a path only known when it runs; write the path literally"
                    ),
                )),
                _ => {}
            }
        }
    }
}

/// True for shell start-up files, SSH keys and autostart entries in `$HOME`.
fn persistence(cx: &Cx, abs: &str) -> bool {
    let Some(h) = &cx.paths.home else {
        return false;
    };
    let Some(rel) = abs
        .strip_prefix(h.as_str())
        .and_then(|r| r.strip_prefix('/'))
    else {
        return false;
    };
    PERSISTENCE_FILES.iter().any(|p| {
        rel.strip_prefix(p)
            .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'))
    })
}

/// Like [`Cx::place`], but a dynamic word is judged by its known directory
/// prefix (`/etc/$x` is still in `/etc`).
fn classify(cx: &Cx, cmd: &Command, w: &Word) -> (Place, Option<String>) {
    if !w.dynamic {
        let (place, abs) = cx.place(cmd, w);
        // `dd of=PATH`
        if let Some(p) = w.text.strip_prefix("of=") {
            let mut x = w.clone();
            x.text = p.to_string();
            return cx.place(cmd, &x);
        }
        return (place, abs);
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
        assert_verdict(
            "echo x | dd of=/home/dev/.bashrc",
            Deny,
            Some(super::PERSISTENCE),
        );
        assert_verdict(
            "curl -o ~/.bashrc https://pypi.org/x",
            Deny,
            Some(super::PERSISTENCE),
        );
        assert_verdict("> /etc/passwd", Deny, Some(super::SYSTEM));
        assert_verdict("unzip x.zip -d ~", Ask, Some(super::OUTSIDE));
        assert_verdict("ln -s ../shared/config config", Allow, None);
        assert_verdict("ln -sf /tmp/x ~/.bashrc", Deny, Some(super::PERSISTENCE));
        // Copies into `.git` can bring hooks; the repository config runs
        // commands too (git-config(1) core.fsmonitor).
        for c in [
            "cp -r hooks .git/",
            "mv myhooks/hooks .git",
            "printf '[core]\\n\\tfsmonitor = ./x\\n' >> .git/config",
        ] {
            assert_verdict(c, Deny, Some(super::PERSISTENCE));
        }
        assert_verdict(
            "echo x > .git/hooks/pre-commit",
            Deny,
            Some(super::PERSISTENCE),
        );
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
