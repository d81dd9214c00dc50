//! Output of commands whose result is known without running them: `echo`,
//! `printf`, `cat` of a known standard input, `base64 -d`, `rev`, `tac`.
//! Used to see what `echo … | base64 -d | sh` or `printf … | xargs rm`
//! really runs.

use base64::Engine;

/// Largest output computed (bytes); beyond it the output counts as unknown.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Standard output of `argv` given standard input `stdin` (when known), or
/// `None` when it cannot be computed statically.
pub fn stdout_of(argv: &[&str], stdin: Option<&str>) -> Option<String> {
    let (name, args) = argv.split_first()?;
    let out = match crate::model::basename(name) {
        "echo" => echo(args),
        "printf" => printf(args),
        "cat" if args.is_empty() || args == ["-"] => stdin.map(str::to_string),
        "base64" | "base32" if args.iter().any(|a| matches!(*a, "-d" | "--decode" | "-D")) => {
            let data: String = stdin?.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = if *name == "base32" {
                return None;
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(data.as_bytes())
                    .ok()?
            };
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        "rev" if args.is_empty() => Some(
            stdin?
                .lines()
                .map(|l| l.chars().rev().collect::<String>() + "\n")
                .collect(),
        ),
        "tac" if args.is_empty() => {
            let mut lines: Vec<&str> = stdin?.lines().collect();
            lines.reverse();
            Some(lines.iter().map(|l| format!("{l}\n")).collect())
        }
        _ => None,
    }?;
    (out.len() <= MAX_OUTPUT).then_some(out)
}

/// bash's builtin `echo` (bash manual 4.2): `-n`, `-e`, `-E` options.
fn echo(args: &[&str]) -> Option<String> {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| matches!(c, 'n' | 'e' | 'E'))
        {
            for c in a[1..].chars() {
                match c {
                    'n' => newline = false,
                    'e' => escapes = true,
                    _ => escapes = false,
                }
            }
            i += 1;
        } else {
            break;
        }
    }
    let body = args[i..].join(" ");
    let mut out = if escapes {
        crate::ansi_c::decode_echo(&body)
    } else {
        body
    };
    if newline {
        out.push('\n');
    }
    Some(out)
}

/// A piece of a `printf` format: decoded literal text or a conversion.
enum Part {
    Literal(String),
    Spec(char),
}

/// bash's builtin `printf` for `%s`, `%b`, `%c`, `%d`/`%i` of integers and
/// `%%`, with the format reused while arguments remain (bash manual 4.2).
fn printf(args: &[&str]) -> Option<String> {
    let mut args = args;
    if args.first() == Some(&"--") {
        args = &args[1..];
    }
    let (fmt, mut rest) = args.split_first()?;
    if fmt.starts_with("-v") {
        return None;
    }
    // Escapes in the format produce literal characters: a `%` made by
    // `\x25` starts no conversion (checked with bash 5.2:
    // `printf '\x25s' a` prints `%s`). So the format is split at its own
    // `%` characters and each literal run decoded on its own.
    let mut parts: Vec<Part> = Vec::new();
    let mut text = *fmt;
    while let Some(at) = text.find('%') {
        parts.push(Part::Literal(crate::ansi_c::decode_printf_format(
            &text[..at],
        )));
        let mut after = text[at + 1..].chars();
        // Flags and width are not supported: give up rather than guess.
        let spec = after.next()?;
        parts.push(Part::Spec(spec));
        text = after.as_str();
    }
    parts.push(Part::Literal(crate::ansi_c::decode_printf_format(text)));
    let mut out = String::new();
    loop {
        let mut consumed = false;
        for part in &parts {
            let spec = match part {
                Part::Literal(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Spec(c) => *c,
            };
            match spec {
                '%' => out.push('%'),
                's' | 'b' | 'c' | 'd' | 'i' => {
                    let arg = rest.first().copied().unwrap_or("");
                    if !rest.is_empty() {
                        rest = &rest[1..];
                        consumed = true;
                    }
                    match spec {
                        's' => out.push_str(arg),
                        'b' => {
                            let (text, stop) = crate::ansi_c::decode_printf_b(arg);
                            out.push_str(&text);
                            if stop {
                                // `\c` in a `%b` argument ends all output.
                                return Some(out);
                            }
                        }
                        'c' => out.extend(arg.chars().next()),
                        _ => out.push_str(
                            &if arg.is_empty() {
                                0
                            } else {
                                arg.parse::<i64>().ok()?
                            }
                            .to_string(),
                        ),
                    }
                }
                _ => return None,
            }
            if out.len() > MAX_OUTPUT {
                return None;
            }
        }
        if rest.is_empty() || !consumed {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected outputs checked with real bash 5.2.
    #[test]
    fn echo_forms() {
        assert_eq!(
            stdout_of(&["echo", "rm", "-rf", "~"], None).unwrap(),
            "rm -rf ~\n"
        );
        assert_eq!(stdout_of(&["echo", "-n", "x"], None).unwrap(), "x");
        assert_eq!(stdout_of(&["echo", "-e", "a\\nb"], None).unwrap(), "a\nb\n");
        assert_eq!(stdout_of(&["echo", "-x"], None).unwrap(), "-x\n");
    }

    #[test]
    fn printf_forms() {
        assert_eq!(
            stdout_of(&["printf", "%s\\n", "../..", "x"], None).unwrap(),
            "../..\nx\n"
        );
        assert_eq!(stdout_of(&["printf", "rm"], None).unwrap(), "rm");
        // An escaped `%` is literal, not a conversion (found by the
        // differential fuzzer: `eval "$(printf '\x25s…')"`).
        assert_eq!(stdout_of(&["printf", "\\x25s|", "a"], None).unwrap(), "%s|");
        assert_eq!(
            stdout_of(&["printf", "%s\\x25s\\x5c\\x30", "a"], None).unwrap(),
            "a%s\\0"
        );
        assert_eq!(stdout_of(&["printf", "%5s", "a"], None), None);
    }

    #[test]
    fn base64_decode() {
        assert_eq!(
            stdout_of(&["base64", "-d"], Some("cm0gLXJmIC92YXI=\n")).unwrap(),
            "rm -rf /var"
        );
        assert_eq!(stdout_of(&["base64", "-d"], None), None);
    }
}
