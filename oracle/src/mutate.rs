//! Rewrites of a command that bash runs the same way (or, for the random
//! ones, may not: the oracle, not this module, says what a variant did).
//!
//! Three kinds, composed at random by [`mutate`]:
//! * **nesting**: the whole command inside `bash -c`, `sh -c`, `eval`, a
//!   here-document or a pipe into a shell, a function, an alias, a
//!   subshell, a group, `if`/`for`/`&&`/`||`, `source <(…)`, `xargs`, a
//!   script file, base64 or hex;
//! * **word rewrites** of one word: quoting (`'rm'`, `r''m`, `\rm`,
//!   `"rm"`), ANSI-C (`$'\x72\x6d'`), a variable (also set by
//!   `printf -v` or `read`, or reached by `${!ref}`, a substring, case
//!   conversion, pattern substitution or `rev`), an array element,
//!   command substitution, brace expansion (`{rm,}`), `${IFS}` for a
//!   blank, and for the command name a wrapper (`env`, `command`, `nice`,
//!   `timeout`, `nohup`, `stdbuf`, `time`, `/usr/bin/env`, `exec` in a
//!   subshell, `xargs`, `find -exec`);
//! * **grammar** changes: a harmless command before, `|| true`, a
//!   redirection or a newline after, the background, or another corpus
//!   command joined with `;`, `&&` or `|`;
//! * **equivalent tools** for the first simple command: `rm -r` as `find
//!   -delete` or Python's `shutil.rmtree`, `sudo` as `doas`/`pkexec`/`su
//!   -c`, `curl URL` as `wget -qO- URL`, `cat FILE` as `dd`/`head`/`<FILE`.
//!
//! Sources: the bash manual, "Quoting", "Shell Expansions", "Aliases",
//! "Shell Functions", "Here Documents".

/// A random source (seeded for reproducible runs).
pub type Rng = fastrand::Rng;

/// `s` as one single-quoted bash word.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `s` as an ANSI-C quoted word with every byte in `\xHH` form.
fn ansi_c(s: &str) -> String {
    let mut out = String::from("$'");
    for b in s.bytes() {
        out.push_str(&format!("\\x{b:02x}"));
    }
    out.push('\'');
    out
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Wraps the whole command. Each keeps what bash executes.
fn nest(cmd: &str, rng: &mut Rng) -> (String, &'static str) {
    let q = quote(cmd);
    let tag = format!("EOF{}", rng.u32(100..999));
    match rng.usize(0..20) {
        0 => (format!("bash -c {q}"), "bash -c"),
        1 => (format!("sh -c {q}"), "sh -c"),
        2 => (format!("eval {q}"), "eval"),
        3 => (format!("bash <<'{tag}'\n{cmd}\n{tag}"), "here-document"),
        4 => (format!("echo {q} | bash"), "pipe to bash"),
        5 => (format!("printf '%s\\n' {q} | sh"), "pipe to sh"),
        6 => (
            format!("echo {} | base64 -d | bash", base64(cmd.as_bytes())),
            "base64",
        ),
        7 => (format!("f() {{\n{cmd}\n}}; f"), "function"),
        8 => (format!("shopt -s expand_aliases\nalias x={q}\nx"), "alias"),
        9 => (format!("( {cmd}\n)"), "subshell"),
        10 => (format!("{{ {cmd}\n}}"), "group"),
        11 => (format!("if true; then\n{cmd}\nfi"), "if"),
        12 => (format!("true && {{ {cmd}\n}}"), "&&"),
        13 => (format!("false || {{ {cmd}\n}}"), "||"),
        14 => (format!("for _ in 1; do\n{cmd}\ndone"), "for"),
        15 => (format!("source <(printf '%s\\n' {q})"), "source <()"),
        16 => (
            format!("printf '%s\\0' {q} | xargs -0 bash -c"),
            "xargs bash -c",
        ),
        17 => (
            format!("printf '%s\\n' {q} > .t.sh && bash .t.sh"),
            "script file",
        ),
        18 => (
            format!("eval \"$(echo {} | base64 -d)\"", base64(cmd.as_bytes())),
            "eval base64",
        ),
        _ => (
            format!(
                "eval \"$(printf '{}')\"",
                cmd.bytes()
                    .map(|b| format!("\\x{b:02x}"))
                    .collect::<String>()
            ),
            "eval printf hex",
        ),
    }
}

/// Bash's reserved words (manual, "Reserved Words"): quoting one makes it
/// an ordinary word, so they are never rewritten.
const RESERVED: &[&str] = &[
    "if", "then", "elif", "else", "fi", "time", "for", "in", "until", "while", "do", "done",
    "case", "esac", "coproc", "select", "function",
];

/// Byte ranges of the words of `cmd` made only of characters that mean
/// nothing special to bash (so rewriting them keeps the rest intact);
/// words inside quotes, here-documents or after `$` are never chosen.
fn plain_words(cmd: &str) -> Vec<(usize, usize)> {
    let b = cmd.as_bytes();
    let plain = |c: u8| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'/' | b'+' | b',' | b'@' | b'%' | b':'
            )
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    if cmd.contains("<<") {
        // A here-document body is not words; leave such commands alone.
        return out;
    }
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' && q == b'"' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' | b'`' => {
                quote = Some(c);
                i += 1;
            }
            b'\\' => i += 2,
            _ if plain(c) => {
                let start = i;
                while i < b.len() && plain(b[i]) {
                    i += 1;
                }
                // Whole words only: bounded by blanks or operators.
                let before_ok = start == 0
                    || matches!(
                        b[start - 1],
                        b' ' | b'\t' | b'\n' | b';' | b'|' | b'&' | b'('
                    );
                let after_ok = i == b.len()
                    || matches!(b[i], b' ' | b'\t' | b'\n' | b';' | b'|' | b'&' | b')');
                let word = &cmd[start..i];
                let after_for = cmd[..start].trim_end().ends_with("for");
                if before_ok && after_ok && !RESERVED.contains(&word) && !after_for {
                    out.push((start, i));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Rewrites one plain word of `cmd` (the first one with probability 1/2:
/// usually the command name).
fn rewrite_word(cmd: &str, rng: &mut Rng) -> Option<(String, &'static str)> {
    let words = plain_words(cmd);
    if words.is_empty() {
        return None;
    }
    let (s, e) = if rng.bool() {
        words[0]
    } else {
        words[rng.usize(0..words.len())]
    };
    let w = &cmd[s..e];
    let first = s == words[0].0;
    let var = format!("v{}", rng.u32(10..99));
    let rev: String = w.chars().rev().collect();
    let (new, prefix, name): (String, String, &'static str) = match rng.usize(0..20) {
        13 => (
            format!("${var}"),
            format!("printf -v {var} %s {}; ", quote(w)),
            "printf -v",
        ),
        14 => (
            format!("${var}"),
            format!("read -r {var} <<< {}; ", quote(w)),
            "read <<<",
        ),
        15 => (
            format!("${{{var}:1:{}}}", w.len()),
            format!("{var}={}; ", quote(&format!("x{w}x"))),
            "substring",
        ),
        16 if w.bytes().all(|b| b.is_ascii_lowercase()) => (
            format!("${{{var},,}}"),
            format!("{var}={}; ", w.to_ascii_uppercase()),
            "case conversion",
        ),
        17 => (format!("$(rev <<< {})", quote(&rev)), String::new(), "rev"),
        18 => (
            format!("${{{var}/#/{w}}}"),
            format!("{var}=; "),
            "pattern substitution",
        ),
        19 => (
            format!("${{!{var}}}"),
            format!("t{var}={}; {var}=t{var}; ", quote(w)),
            "indirection",
        ),
        0 => (quote(w), String::new(), "single quotes"),
        1 => (format!("\"{w}\""), String::new(), "double quotes"),
        2 if w.len() > 1 => (
            format!("{}''{}", &w[..1], &w[1..]),
            String::new(),
            "empty quotes inside",
        ),
        3 => (format!("\\{w}"), String::new(), "backslash"),
        4 => (ansi_c(w), String::new(), "ANSI-C hex"),
        5 => (
            format!("${var}"),
            format!("{var}={}; ", quote(w)),
            "variable",
        ),
        6 => (
            format!("\"${{{var}[0]}}\""),
            format!("{var}=({}); ", quote(w)),
            "array",
        ),
        7 => (
            format!("$(echo {w})"),
            String::new(),
            "command substitution",
        ),
        8 => (format!("{{{w},}}"), String::new(), "brace expansion"),
        9 => (
            format!("\"$(printf %s {})\"", quote(w)),
            String::new(),
            "printf substitution",
        ),
        10 if w.len() > 1 => (
            format!("{}\"{}\"", &w[..1], &w[1..]),
            String::new(),
            "partial quotes",
        ),
        11 if first => {
            let wrapper = [
                "env",
                "command",
                "nice",
                "timeout 60",
                "nohup",
                "stdbuf -o0",
                "time",
                "/usr/bin/env",
                "env -i PATH=/usr/bin:/bin",
                "nice -n 5 env",
            ][rng.usize(0..10)];
            (format!("{wrapper} {w}"), String::new(), "wrapper")
        }
        _ => (
            format!("${{{var}}}"),
            format!("{var}={w}; "),
            "braced variable",
        ),
    };
    Some((format!("{prefix}{}{new}{}", &cmd[..s], &cmd[e..]), name))
}

/// The first line's words, when it is one simple command of plain words.
fn simple_words(cmd: &str) -> Option<Vec<String>> {
    if cmd.contains(['\n', ';', '|', '&', '<', '>', '$', '`', '(', ')']) {
        return None;
    }
    shell_words::split(cmd).ok().filter(|w| !w.is_empty())
}

/// Replaces the command with another tool that has the same effect.
fn equivalent_tool(cmd: &str, rng: &mut Rng) -> Option<(String, &'static str)> {
    let words = simple_words(cmd)?;
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let operands: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let quoted: Vec<String> = operands.iter().map(|o| quote(o)).collect();
    match words[0].as_str() {
        "rm" if args.iter().any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R'])) && !operands.is_empty() => {
            Some(match rng.usize(0..3) {
                0 => (format!("find {} -delete", quoted.join(" ")), "find -delete"),
                1 => (
                    format!(
                        "python3 -c 'import shutil,sys,os\nfor p in sys.argv[1:]: shutil.rmtree(os.path.expanduser(p), ignore_errors=True)' {}",
                        quoted.join(" ")
                    ),
                    "python shutil.rmtree",
                ),
                _ => (format!("perl -MFile::Path=remove_tree -e 'remove_tree(@ARGV)' {}", quoted.join(" ")), "perl remove_tree"),
            })
        }
        "sudo" | "doas" if !args.is_empty() => {
            let rest = shell_words::join(&words[1..]);
            Some(match rng.usize(0..3) {
                0 => (format!("doas {rest}"), "doas"),
                1 => (format!("pkexec {rest}"), "pkexec"),
                _ => (format!("su -c {}", quote(&rest)), "su -c"),
            })
        }
        "curl" => {
            let url = operands.iter().find(|o| o.contains("://"))?;
            Some((format!("wget -qO- {}", quote(url)), "wget for curl"))
        }
        "cat" if operands.len() == 1 => Some(match rng.usize(0..3) {
            0 => (format!("dd if={} status=none", quoted[0]), "dd for cat"),
            1 => (format!("head -c 1000000 {}", quoted[0]), "head for cat"),
            _ => (format!("while IFS= read -r l; do echo \"$l\"; done < {}", quoted[0]), "read loop for cat"),
        }),
        _ => None,
    }
}

/// Joins a blank between two words as `${IFS}`.
fn ifs_blank(cmd: &str, rng: &mut Rng) -> Option<(String, &'static str)> {
    let words = plain_words(cmd);
    let gaps: Vec<usize> = words
        .windows(2)
        .filter(|w| cmd[w[0].1..w[1].0] == *" ")
        .map(|w| w[0].1)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let at = gaps[rng.usize(0..gaps.len())];
    Some((
        format!("{}${{IFS}}{}", &cmd[..at], &cmd[at + 1..]),
        "${IFS} for a blank",
    ))
}

/// Random grammar-level changes around the command: a harmless command
/// before it, an operator or redirection after it, running it in the
/// background, or joining another corpus command (`other`) to it.
fn grammar(cmd: &str, other: Option<&str>, rng: &mut Rng) -> Option<(String, &'static str)> {
    Some(match rng.usize(0..10) {
        0 => (format!("true; {cmd}"), "prefix true;"),
        1 => (format!("cd . && {cmd}"), "prefix cd . &&"),
        2 => (format!("export LC_ALL=C; {cmd}"), "prefix export"),
        3 => (format!("{cmd} 2>/dev/null"), "suffix 2>/dev/null"),
        4 => (
            format!(
                "{cmd}
: done"
            ),
            "suffix newline",
        ),
        5 => (
            format!(
                "{{ {cmd}
}} &
wait"
            ),
            "background",
        ),
        6 => (format!("{cmd} || true"), "suffix || true"),
        _ => {
            let other = other?;
            match rng.usize(0..4) {
                0 => (format!("{other}; {cmd}"), "after another command"),
                1 => (format!("{cmd}; {other}"), "before another command"),
                2 => (format!("{other} && {cmd}"), "&& another command"),
                _ => (format!("{other} | {cmd}"), "piped from another command"),
            }
        }
    })
}

/// One random rewrite of `cmd` and its name; `None` when the chosen kind
/// does not apply (no plain word, no equivalent tool). `other` is another
/// corpus command the grammar rewrites may join to it.
pub fn mutate_once(
    cmd: &str,
    other: Option<&str>,
    rng: &mut Rng,
) -> Option<(String, &'static str)> {
    let step = match rng.usize(0..12) {
        0..=3 => rewrite_word(cmd, rng),
        4 => ifs_blank(cmd, rng),
        5 => equivalent_tool(cmd, rng),
        6 | 7 => grammar(cmd, other, rng),
        _ => Some(nest(cmd, rng)),
    };
    step.filter(|(next, _)| next.len() <= 64 * 1024)
}

/// One to three random rewrites of `cmd`, with their names.
pub fn mutate(cmd: &str, rng: &mut Rng) -> (String, Vec<&'static str>) {
    let mut cur = cmd.to_string();
    let mut names = Vec::new();
    for _ in 0..rng.usize(1..=3) {
        if let Some((next, name)) = mutate_once(&cur, None, rng) {
            cur = next;
            names.push(name);
        }
    }
    (cur, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What bash prints for `cmd` (a harmless `echo`/`printf` command).
    fn bash(cmd: &str) -> String {
        let out = Command::new("bash")
            .args(["-c", cmd])
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Nesting and word rewrites keep what bash runs: checked against real
    /// bash on a harmless command.
    #[test]
    fn rewrites_keep_behaviour() {
        let cmd = "echo alpha beta-1 /x/y";
        let want = bash(cmd);
        let mut rng = Rng::with_seed(7);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let (variant, names) = mutate(cmd, &mut rng);
            // `time` writes to stderr; quoting an alias's name stops its
            // expansion; dash (`sh`) has no brace expansion, ANSI-C
            // quoting or arrays. The oracle judges such variants as run.
            let posix_sh = names.iter().any(|n| matches!(*n, "sh -c" | "pipe to sh"));
            if names.iter().any(|n| matches!(*n, "alias" | "wrapper"))
                || (posix_sh && names.len() > 1)
            {
                continue;
            }
            assert_eq!(bash(&variant), want, "{names:?}: {variant}");
            kinds.extend(names);
        }
        assert!(kinds.len() >= 20, "{kinds:?}");
        assert_eq!(bash(&nest(cmd, &mut Rng::with_seed(1)).0), want);
        for seed in 0..40 {
            let (v, name) = nest(cmd, &mut Rng::with_seed(seed));
            assert_eq!(bash(&v), want, "{name}: {v}");
        }
    }

    #[test]
    fn base64_is_standard() {
        assert_eq!(base64(b"rm -rf ~"), "cm0gLXJmIH4=");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn plain_words_skip_quotes_and_expansions() {
        let cmd = "rm -rf \"$HOME/x\" 'a b' ~/y z";
        let words: Vec<&str> = plain_words(cmd).iter().map(|&(s, e)| &cmd[s..e]).collect();
        assert_eq!(words, ["rm", "-rf", "z"]);
    }
}
