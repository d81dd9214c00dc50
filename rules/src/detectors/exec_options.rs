//! `code.exec-option`: ordinary tools with options or scripts that run
//! commands — sed's `e` command and `s///e` flag (GNU sed manual, "Extended
//! Commands"), awk's `system()` and pipes (POSIX awk), tar's
//! `--to-command`, `--checkpoint-action=exec`, `-I`/`--use-compress-program`
//! and volume scripts (GNU tar manual), `zip -TT`, editors' `-c`/`+cmd`,
//! gdb's `-ex`, rsync/scp/ssh remote-shell and proxy commands, `make`'s
//! `SHELL=`. A command given as an option value is judged like any other
//! command; the option itself asks, since shellgate cannot see when or how
//! often it runs.

use shellgate_parsers::{Command, Span, Stdin, Word};

use super::{finding, Cx};
use crate::finding::{Finding, Section, Verdict};

/// Rule id.
pub const RULE: &str = "code.exec-option";

fn ask(span: Span, why: String, out: &mut Vec<Finding>) {
    out.push(finding(RULE, Verdict::Ask, Section::TierDefault, span, why));
}

/// Value of `--name=V`, `--name V`, `-x V` or `-xV` at position `i`.
fn value_at(args: &[Word], i: usize, names: &[&str]) -> Option<(String, Span)> {
    let t = args[i].text.as_str();
    for n in names {
        if t == *n {
            return args.get(i + 1).map(|w| (w.text.clone(), w.span));
        }
        if n.starts_with("--") {
            if let Some(v) = t.strip_prefix(&format!("{n}=")) {
                return Some((v.to_string(), args[i].span));
            }
        } else if n.len() == 2 && t.starts_with(n) && t.len() > 2 && !t.starts_with("--") {
            return Some((t[2..].to_string(), args[i].span));
        }
    }
    None
}

/// Judges `code` as a command and asks for the option that runs it.
fn command_value(cx: &Cx, prog: &str, opt: &str, code: &str, span: Span, out: &mut Vec<Finding>) {
    out.extend(crate::nested_findings(cx, code, span));
    ask(
        span,
        format!("`{prog} {opt}` runs the command `{code}`"),
        out,
    );
}

/// True when a sed script uses the `e` command or the `e` flag of `s`.
fn sed_executes(script: &str) -> bool {
    // `s` commands anywhere (their replacement may hold `;`): an `e` flag.
    if sed_s_flags(script).iter().any(|f| f.contains('e')) {
        return true;
    }
    // Commands start a line, or follow `;`, `{` or an address.
    for part in script.split(['\n', ';', '{', '}']) {
        let p = strip_sed_address(part);
        if p == "e" || p.starts_with("e ") || p.starts_with("e\t") {
            return true;
        }
        if let Some(rest) = p.strip_prefix('s') {
            if let Some(delim) = rest
                .chars()
                .next()
                .filter(|c| !c.is_alphanumeric() && *c != ' ')
            {
                let fields: Vec<&str> = rest[delim.len_utf8()..].split(delim).collect();
                if fields.len() >= 3
                    && fields[2]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .any(|c| c == 'e')
                {
                    return true;
                }
            }
        }
    }
    false
}

/// The flags of every `s/RE/REPL/FLAGS` command in a sed script, found
/// with escapes honoured, whatever separates the commands.
fn sed_s_flags(script: &str) -> Vec<String> {
    let c: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < c.len() {
        let starts_command = i == 0
            || matches!(c[i - 1], ';' | '\n' | '{' | '}' | ' ' | '/' | '!' | '$')
            || c[i - 1].is_ascii_digit();
        if c[i] == 's'
            && starts_command
            && !c[i + 1].is_alphanumeric()
            && !c[i + 1].is_whitespace()
            && c[i + 1] != '\\'
        {
            let delim = c[i + 1];
            let mut j = i + 2;
            let mut fields = 0;
            while j < c.len() && fields < 2 {
                if c[j] == '\\' {
                    j += 2;
                    continue;
                }
                if c[j] == delim {
                    fields += 1;
                }
                j += 1;
            }
            if fields == 2 {
                // Only valid flags (GNU sed manual 3.3): `g p i I m M e w N`.
                let flags: String = c[j.min(c.len())..]
                    .iter()
                    .take_while(|ch| ch.is_ascii_digit() || "gpiImMew".contains(**ch))
                    .collect();
                out.push(flags);
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// A sed command with its address removed: line numbers, `$`, `/RE/`
/// (escapes honoured), ranges, `!`.
fn strip_sed_address(part: &str) -> &str {
    let mut p = part.trim_start();
    loop {
        let before = p;
        p = p.trim_start_matches(|c: char| {
            c.is_ascii_digit() || matches!(c, ',' | '$' | ' ' | '!' | '~' | '+')
        });
        if let Some(rest) = p.strip_prefix('/') {
            let mut end = None;
            let mut esc = false;
            for (k, ch) in rest.char_indices() {
                if esc {
                    esc = false;
                } else if ch == '\\' {
                    esc = true;
                } else if ch == '/' {
                    end = Some(k);
                    break;
                }
            }
            match end {
                Some(k) => p = &rest[k + 1..],
                None => return p,
            }
            p = p.trim_start_matches(['I', 'M']);
        }
        if p == before {
            return p;
        }
    }
}

/// True when a sed script writes files with the `w`/`W` command or the
/// `w` flag of `s` (GNU sed manual, "Commands").
fn sed_writes(script: &str) -> bool {
    script.split(['\n', ';', '{', '}']).any(|part| {
        let p = part.trim_start_matches(|c: char| {
            c.is_ascii_digit() || matches!(c, ',' | '$' | ' ' | '!' | '~' | '/')
        });
        p.starts_with("w ") || p.starts_with("W ")
    }) || script.contains("/w ")
}

/// True when an awk program can run commands: `system(`, or output piped to
/// / input read from a command (`print | "cmd"`, `"cmd" | getline`).
fn awk_executes(prog: &str) -> bool {
    if prog.contains("system(") || prog.contains("system (") {
        return true;
    }
    let b = prog.as_bytes();
    (0..b.len())
        .any(|i| b[i] == b'|' && b.get(i + 1) != Some(&b'|') && (i == 0 || b[i - 1] != b'|'))
}

/// An awk command line (POSIX awk; gawk(1) long options): the program is
/// the first operand unless `-f FILE`, `-e TEXT` or `-E FILE` give it;
/// `-F`, `-v`, `-i`, `-l` take a value (attached or next). A program that
/// runs commands asks, and the shell commands in its string literals,
/// `-v` values and `var=value` operands are judged as bash.
fn awk(cx: &Cx, cmd: &Command, prog: &str, out: &mut Vec<Finding>) {
    let args = cmd.args();
    let mut texts: Vec<&Word> = Vec::new();
    let mut values: Vec<&Word> = Vec::new();
    let mut from_file = false;
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            operands.extend(&args[i + 1..]);
            break;
        }
        if !t.starts_with('-') || t == "-" {
            operands.push(&args[i]);
            i += 1;
            continue;
        }
        let (name, inline) = match t.strip_prefix("--") {
            Some(long) => match long.split_once('=') {
                Some((n, _)) => (format!("--{n}"), true),
                None => (t.to_string(), false),
            },
            None => {
                let first: String = t.chars().take(2).collect();
                let inline = t.len() > first.len();
                (first, inline)
            }
        };
        let takes_value = matches!(
            name.as_str(),
            "-F" | "-v"
                | "-f"
                | "-e"
                | "-E"
                | "-i"
                | "-l"
                | "--field-separator"
                | "--assign"
                | "--file"
                | "--source"
                | "--exec"
                | "--include"
                | "--load"
        );
        if !takes_value {
            i += 1;
            continue;
        }
        let value = if inline {
            Some(&args[i])
        } else {
            args.get(i + 1)
        };
        match name.as_str() {
            "-f" | "--file" | "-E" | "--exec" | "-i" | "--include" => from_file = true,
            "-e" | "--source" => texts.extend(value),
            "-v" | "--assign" => values.extend(value),
            _ => {}
        }
        i += if inline { 1 } else { 2 };
    }
    let mut operands = operands.into_iter();
    if texts.is_empty() && !from_file {
        texts.extend(operands.next());
    }
    values.extend(operands.filter(|w| w.text.contains('=')));
    for p in texts {
        if !awk_executes(&p.text) {
            continue;
        }
        let mut spawned = super::inline_code::spawned_commands(cx, &p.text, p.span);
        for v in &values {
            let text = v.text.split_once('=').map_or(v.text.as_str(), |x| x.1);
            spawned.extend(super::inline_code::spawned_commands(
                cx,
                &format!("\"{}\"", text.replace('"', "")),
                v.span,
            ));
        }
        if spawned.is_empty() {
            ask(p.span, format!("the {prog} program runs commands (`system()` or a pipe); shellgate cannot see which"), out);
        }
        out.extend(spawned);
    }
    if from_file {
        ask(
            cmd.span,
            format!("`{prog} -f` runs an awk program from a file, which can run commands"),
            out,
        );
    }
}

/// Reports command-running options of ordinary tools.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let Some(prog) = cmd.program() else { continue };
        let args = cmd.args();
        match prog {
            "sed" | "gsed" => sed(cmd, out),
            "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => awk(cx, cmd, prog, out),
            "tar" | "gtar" | "bsdtar" => {
                for i in 0..args.len() {
                    for names in [
                        &["--to-command"][..],
                        &["--use-compress-program", "-I"][..],
                        &["--rsh-command"][..],
                        &["--info-script", "--new-volume-script", "-F"][..],
                    ] {
                        if let Some((code, span)) = value_at(args, i, names) {
                            command_value(cx, prog, names[0], &code, span, out);
                        }
                    }
                    if let Some((action, span)) = value_at(args, i, &["--checkpoint-action"]) {
                        if let Some(code) = action.strip_prefix("exec=") {
                            command_value(cx, prog, "--checkpoint-action=exec", code, span, out);
                        }
                    }
                }
            }
            "zip" => {
                for i in 0..args.len() {
                    if let Some((code, span)) = value_at(args, i, &["-TT", "--unzip-command"]) {
                        command_value(cx, prog, "-TT", &code, span, out);
                    }
                }
            }
            "vim" | "vi" | "nvim" | "ex" | "view" | "gvim" | "vimdiff" => {
                // Ex mode (`ex`, `-e`, `-es`) reads commands from standard
                // input; `vim -` reads text.
                let ex_mode = prog == "ex"
                    || args.iter().any(|w| {
                        w.text.starts_with('-')
                            && !w.text.starts_with("--")
                            && w.text.len() > 1
                            && w.text[1..]
                                .chars()
                                .all(|c| matches!(c, 'e' | 'E' | 's' | 'n' | 'N' | 'X'))
                            && w.text[1..].contains(['e', 'E'])
                    });
                if ex_mode && !args.iter().any(|w| w.text == "-") {
                    shell_escapes_in_input(cx, cmd, prog, &[":!", "!"], out);
                }
                for (i, w) in args.iter().enumerate() {
                    // `+cmd`, `-c cmd`, `--cmd`, `-S file`, `-s script`,
                    // `-u vimrc`, and clusters holding them (`-sc`, `-es`).
                    let cluster = w.text.starts_with('-')
                        && !w.text.starts_with("--")
                        && w.text[1..]
                            .chars()
                            .any(|c| matches!(c, 'c' | 'S' | 's' | 'u' | 'e' | 'E'));
                    if (w.text.starts_with('+') && !w.text[1..].chars().all(|c| c.is_ascii_digit()))
                        || cluster
                        || w.text == "--cmd"
                    {
                        let span = args
                            .get(i + 1)
                            .filter(|_| !w.text.starts_with('+'))
                            .map(|n| n.span)
                            .unwrap_or(w.span);
                        ask(
                            span,
                            format!(
                                "`{prog} {}` runs editor commands, which can run shell commands",
                                w.text
                            ),
                            out,
                        );
                    }
                }
            }
            "emacs" | "emacsclient"
                if args.iter().any(|w| {
                    matches!(
                        w.text.as_str(),
                        "--eval" | "-l" | "--load" | "-f" | "--funcall" | "--batch" | "-batch"
                    )
                }) =>
            {
                ask(
                    cmd.span,
                    format!("`{prog}` evaluates Lisp, which can run shell commands"),
                    out,
                );
            }
            "sqlite3" | "sqlite" => {
                // `.shell CMD` / `.system CMD` dot-commands, as arguments
                // (SQL text or `-cmd`) or on standard input.
                const DOT: &[&str] = &[".shell ", ".system "];
                for w in args {
                    escaped_commands(cx, prog, &w.text, DOT, w.span, out);
                }
                shell_escapes_in_input(cx, cmd, prog, DOT, out);
            }
            "ed" | "red" => shell_escapes_in_input(cx, cmd, prog, &["!"], out),
            "gdb" | "lldb" if matches!(cmd.stdin, Stdin::Pipe { .. } | Stdin::Here { .. }) => {
                shell_escapes_in_input(cx, cmd, prog, &["shell ", "!"], out);
            }
            "gdb" | "lldb"
                if args.iter().any(|w| {
                    matches!(
                        w.text.as_str(),
                        "-ex"
                            | "-iex"
                            | "-x"
                            | "-ix"
                            | "--eval-command"
                            | "--command"
                            | "-o"
                            | "-s"
                            | "--batch"
                    ) || w.text.starts_with("--eval-command=")
                }) =>
            {
                ask(
                    cmd.span,
                    format!("`{prog}` runs debugger commands, which can run shell commands"),
                    out,
                );
            }
            "rsync" | "scp" | "sftp" | "ssh" => {
                for i in 0..args.len() {
                    if let Some((code, span)) = value_at(
                        args,
                        i,
                        if prog == "rsync" {
                            &["-e", "--rsh", "--rsync-path"][..]
                        } else if prog == "ssh" {
                            &[][..]
                        } else {
                            &["-S"][..]
                        },
                    ) {
                        command_value(cx, prog, "-e", &code, span, out);
                    }
                    if let Some((opt, span)) = value_at(args, i, &["-o"]) {
                        let (k, v) = opt.split_once(['=', ' ']).unwrap_or((opt.as_str(), ""));
                        if matches!(
                            k.to_ascii_lowercase().as_str(),
                            "proxycommand"
                                | "localcommand"
                                | "knownhostscommand"
                                | "remotecommand"
                                | "permitlocalcommand"
                        ) {
                            command_value(cx, prog, &format!("-o {k}"), v, span, out);
                        }
                    }
                }
            }
            "make" | "gmake" => {
                for w in args {
                    if w.text.starts_with("SHELL=") || w.text.starts_with(".SHELLFLAGS=") {
                        ask(
                            w.span,
                            format!(
                                "`make {}` replaces the shell make runs recipes with",
                                w.text
                            ),
                            out,
                        );
                    }
                }
                if args
                    .iter()
                    .any(|w| w.text == "-E" || w.text.starts_with("--eval"))
                {
                    ask(
                        cmd.span,
                        "`make --eval` adds make rules whose recipes run commands".to_string(),
                        out,
                    );
                }
                if args.windows(2).any(|p| {
                    matches!(p[0].text.as_str(), "-f" | "--file" | "--makefile") && p[1].text == "-"
                }) {
                    ask(
                        cmd.span,
                        "`make -f -` runs recipes read from standard input".to_string(),
                        out,
                    );
                }
            }
            "systemctl"
                if args.iter().any(|w| {
                    matches!(
                        w.text.as_str(),
                        "enable"
                            | "link"
                            | "edit"
                            | "set-environment"
                            | "import-environment"
                            | "preset"
                    )
                }) =>
            {
                out.push(finding(
                    super::writes::PERSISTENCE,
                    Verdict::Ask,
                    Section::SoftDeny,
                    cmd.span,
                    "`systemctl` changes which services run at start-up",
                ));
            }
            "git"
                if args.iter().any(|w| w.text.starts_with("--exec-path="))
                    || args.windows(2).any(|p| p[0].text == "--exec-path") =>
            {
                ask(
                    cmd.span,
                    "`git --exec-path` makes git run its helpers from another directory"
                        .to_string(),
                    out,
                );
            }
            "crontab"
                if !args
                    .iter()
                    .any(|w| matches!(w.text.as_str(), "-l" | "-r" | "-e")) =>
            {
                out.push(finding(
                    super::writes::PERSISTENCE,
                    Verdict::Deny,
                    Section::HardDeny,
                    cmd.span,
                    "`crontab` installs commands that run on a schedule; change cron jobs by hand",
                ));
            }
            _ => {}
        }
    }
}

fn sed(cmd: &Command, out: &mut Vec<Finding>) {
    let args = cmd.args();
    let mut scripts: Vec<&Word> = Vec::new();
    let mut explicit = false;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "-e" || t == "--expression" {
            scripts.extend(args.get(i + 1));
            explicit = true;
            i += 2;
            continue;
        }
        if t.starts_with("--expression=") {
            scripts.push(&args[i]);
            explicit = true;
        } else if t == "-f" || t == "--file" {
            out.push(finding(
                RULE,
                Verdict::Ask,
                Section::TierDefault,
                args[i].span,
                "`sed -f` runs a sed script from a file, which can run commands",
            ));
            explicit = true;
            i += 1;
        } else if !t.starts_with('-') && !explicit && scripts.is_empty() {
            scripts.push(&args[i]);
        }
        i += 1;
    }
    for s in scripts {
        let text = s.text.strip_prefix("--expression=").unwrap_or(&s.text);
        if sed_writes(text) {
            out.push(finding(
                RULE,
                Verdict::Ask,
                Section::TierDefault,
                s.span,
                format!("the sed script `{text}` writes files (`w`)"),
            ));
        }
        if sed_executes(text) || s.dynamic {
            out.push(finding(
                RULE,
                Verdict::Ask,
                Section::TierDefault,
                s.span,
                format!("the sed script `{text}` runs shell commands (`e`)"),
            ));
        }
    }
}

/// Judges the shell commands in `text`: its lines that start with one of
/// `prefixes` (`!cmd`, `shell cmd`, `.shell cmd`).
fn escaped_commands(
    cx: &Cx,
    prog: &str,
    text: &str,
    prefixes: &[&str],
    span: Span,
    out: &mut Vec<Finding>,
) {
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(code) = prefixes.iter().find_map(|p| t.strip_prefix(p)) {
            command_value(cx, prog, prefixes[0].trim(), code, span, out);
        }
    }
}

/// Tools that read commands from standard input and run shell commands for
/// lines with a prefix (`!cmd` in ed and ex, `shell cmd` in gdb, `.shell`
/// in sqlite3): known input is judged line by line; input shellgate cannot
/// see asks.
fn shell_escapes_in_input(
    cx: &Cx,
    cmd: &Command,
    prog: &str,
    prefixes: &[&str],
    out: &mut Vec<Finding>,
) {
    match &cmd.stdin {
        Stdin::Pipe { data: Some(d), .. } | Stdin::Here { data: Some(d), .. } => {
            escaped_commands(cx, prog, d, prefixes, cmd.span, out)
        }
        Stdin::Pipe { data: None, .. } | Stdin::Here { data: None, .. } | Stdin::File { .. } => ask(
            cmd.span,
            format!("`{prog}` reads commands from its input, which can run shell commands; shellgate cannot see them"),
            out,
        ),
        Stdin::Inherited => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    // sed and awk forms checked with GNU sed 4.9 and gawk 5.2 in a temp dir.
    #[test]
    fn tools_that_run_commands() {
        assert_verdict("sed '1e rm -rf ~' f", Ask, Some(super::RULE));
        assert_verdict("sed 's/.*/id/e' f", Ask, Some(super::RULE));
        assert_verdict("awk 'BEGIN{system(\"id\")}'", Ask, Some(super::RULE));
        assert_verdict("awk '{print | \"sh\"}' f", Ask, Some(super::RULE));
        assert_verdict("awk 'BEGIN{system(\"rm -rf ~\")}'", Deny, None);
        assert_verdict("gawk 'BEGIN{print \"x\" | \"rm -rf /home\"}'", Deny, None);
        // GNU sed 4.9: the `e` flag after other flags, `e` after a regex address.
        assert_verdict("sed -n 's/^/rm -rf ~;/ep' f", Ask, Some(super::RULE));
        assert_verdict("sed '/x/e rm -rf ~' f", Ask, Some(super::RULE));
        assert_verdict(
            "tar --checkpoint=1 --checkpoint-action=exec='rm -rf ~' -cf x.tar .",
            Deny,
            Some("destructive.recursive-delete"),
        );
        assert_verdict(
            "tar -cf x.tar --to-command='sh -c id' .",
            Ask,
            Some(super::RULE),
        );
        assert_verdict(
            "zip -T -TT 'sudo id' x.zip f",
            Deny,
            Some("privilege.escalation"),
        );
        assert_verdict("rsync -e 'sh -c \"rm -rf ~\"' a b:", Deny, None);
        assert_verdict("echo x | crontab -", Deny, Some("fs.persistence"));
        assert_verdict("vim -c '!id' f", Ask, Some(super::RULE));
        assert_verdict("vim +'!id' f", Ask, Some(super::RULE));
    }

    #[test]
    fn ordinary_uses_pass() {
        for c in [
            "sed -n '1,40p' src/lib.rs",
            "sed -i 's/foo/bar/g' src/x.rs",
            "sed -e 's/a/b/' -e 's/c/d/' f",
            "awk '{print $1}' f",
            "awk -F, 'NR>1 || $2 {print $2}' f.csv",
            "tar -xzf vendor.tgz -C vendor/",
            "crontab -l",
            "make test",
            "sed 's/e/E/' f",
        ] {
            assert_verdict(c, Allow, None);
        }
    }
}

#[cfg(test)]
mod editor_tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn line_numbers_are_not_commands() {
        assert_verdict("vim +12 src/lib.rs", Allow, None);
        assert_verdict("systemctl daemon-reload", Allow, None);
    }
}
