//! `shellgate -c COMMAND [NAME [ARGS…]]`: shellgate as a drop-in for
//! `bash -c`, for harnesses and tools that run `$SHELL -c` (docs/harnesses/shell.md).
//!
//! The options follow bash's invocation syntax (bash manual, "Invoking
//! Bash"): single-letter options may be grouped (`-lc`), `-c` makes the
//! first operand the command string, the next operand `$0` and the rest the
//! positional parameters. Only the options a harness uses are accepted:
//! `-c`, `-l`/`--login`, `--noprofile`, `--norc`. Login and startup files
//! are never read: the command runs in the sandbox with the caller's
//! environment, which cannot read `$HOME`'s profiles anyway.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// A parsed `$SHELL -c` invocation.
#[derive(Debug, PartialEq, Eq)]
pub struct ShellArgs {
    /// The command string (bash's `-c` operand).
    pub command: OsString,
    /// `$0` and the positional parameters, in order.
    pub args: Vec<OsString>,
}

/// True when shellgate was invoked as a shell: the first argument is an
/// option that is not one of shellgate's own (`-h`, `--help`, `-V`,
/// `--version`). Subcommands never start with `-`.
pub fn invoked_as_shell(args: &[OsString]) -> bool {
    match args.first().map(|a| a.as_bytes()) {
        Some(first) => {
            first.starts_with(b"-")
                && !matches!(first, b"-h" | b"--help" | b"-V" | b"--version" | b"--")
        }
        None => false,
    }
}

/// Parses the arguments after the program name.
///
/// # Errors
/// A message naming the unsupported option, or saying `-c` is missing:
/// shellgate does not run interactive shells or script files.
pub fn parse(args: &[OsString]) -> Result<ShellArgs, String> {
    let mut saw_c = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        match a {
            // A lone `-` ends the options like `--` (bash manual,
            // "Invoking Bash").
            b"--" | b"-" => {
                i += 1;
                break;
            }
            b"--login" | b"--noprofile" | b"--norc" => {}
            _ if a.starts_with(b"--") => return Err(unsupported(&args[i])),
            // `+x`-style options turn a setting off: bash would take them
            // as options, never as the command string.
            _ if a.len() > 1 && a[0] == b'+' => return Err(unsupported(&args[i])),
            _ if a.len() > 1 && a[0] == b'-' => {
                for &flag in &a[1..] {
                    match flag {
                        b'c' => saw_c = true,
                        b'l' => {}
                        _ => return Err(unsupported(OsStr::from_bytes(&[b'-', flag]))),
                    }
                }
            }
            _ => break,
        }
        i += 1;
    }
    if !saw_c {
        return Err(
            "shellgate runs only `-c COMMAND` as a shell: interactive shells and script files are not supported"
                .into(),
        );
    }
    let Some(command) = args.get(i) else {
        return Err("-c: option requires an argument (the command string)".into());
    };
    Ok(ShellArgs {
        command: command.clone(),
        args: args[i + 1..].to_vec(),
    })
}

impl ShellArgs {
    /// The script shellgate judges and runs: the command string, preceded
    /// by `set -- ARGS…` when positional parameters were given, so that
    /// what `$1`, `$@` … expand to is part of the decision (and of the
    /// approval hash). Run as `bash -c SCRIPT NAME`, it behaves as
    /// `bash -c COMMAND NAME ARGS…`.
    ///
    /// # Errors
    /// When the command or an argument is not UTF-8.
    pub fn script(&self) -> Result<(String, Vec<OsString>), String> {
        let text = |o: &OsString| {
            o.to_str()
                .map(str::to_string)
                .ok_or("the command and its arguments must be valid UTF-8")
        };
        let command = text(&self.command)?;
        let (name, rest) = match self.args.split_first() {
            Some((n, r)) => (vec![n.clone()], r),
            None => (Vec::new(), &[][..]),
        };
        if rest.is_empty() {
            return Ok((command, name));
        }
        let quoted = rest
            .iter()
            .map(|a| text(a).map(|t| shell_words::quote(&t).into_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((format!("set -- {}\n{command}", quoted.join(" ")), name))
    }
}

fn unsupported(opt: &OsStr) -> String {
    format!(
        "unsupported shell option `{}`: as a shell, shellgate accepts -c, -l/--login, --noprofile and --norc",
        opt.to_string_lossy()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn accepts_the_invocations_harnesses_use() {
        for argv in [
            &["-c", "ls"][..],
            &["-lc", "ls"],
            &["-cl", "ls"],
            &["-l", "-c", "ls"],
            &["-c", "-l", "ls"],
            &["--login", "-c", "ls"],
            &["--noprofile", "--norc", "-c", "ls"],
            &["-c", "--", "ls"],
            &["-c", "-", "ls"],
        ] {
            let p = parse(&os(argv)).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(p.command, "ls", "{argv:?}");
            assert!(p.args.is_empty());
        }
    }

    #[test]
    fn words_after_the_command_are_dollar_zero_and_positionals() {
        let p = parse(&os(&["-c", "echo $0 $1", "name", "one", "-x"])).unwrap();
        assert_eq!(p.args, os(&["name", "one", "-x"]));
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        assert!(parse(&os(&["-i"])).unwrap_err().contains("`-i`"));
        assert!(parse(&os(&["-c"])).unwrap_err().contains("requires"));
        assert!(parse(&os(&["-l"])).unwrap_err().contains("only `-c"));
        assert!(parse(&os(&["--rcfile", "x", "-c", "ls"]))
            .unwrap_err()
            .contains("--rcfile"));
        assert!(parse(&os(&["-ce", "ls"])).unwrap_err().contains("`-e`"));
        assert!(parse(&os(&["-c", "+x", "ls"]))
            .unwrap_err()
            .contains("`+x`"));
    }

    #[test]
    fn positional_parameters_are_part_of_the_judged_script() {
        let p = parse(&os(&["-c", "cat \"$1\"", "name", "~/.ssh/id_rsa", "a b"])).unwrap();
        let (script, args) = p.script().unwrap();
        assert_eq!(script, "set -- '~/.ssh/id_rsa' 'a b'\ncat \"$1\"");
        assert_eq!(args, os(&["name"]));
        let p = parse(&os(&["-c", "ls"])).unwrap();
        assert_eq!(p.script().unwrap(), ("ls".to_string(), vec![]));
    }

    #[test]
    fn shellgate_own_flags_are_not_a_shell() {
        assert!(invoked_as_shell(&os(&["-c", "ls"])));
        assert!(invoked_as_shell(&os(&["--login"])));
        assert!(!invoked_as_shell(&os(&["--help"])));
        assert!(!invoked_as_shell(&os(&["-V"])));
        assert!(!invoked_as_shell(&os(&["check"])));
        assert!(!invoked_as_shell(&[]));
    }
}
