//! Pathname expansion (bash manual 3.5.8) on this machine's file system,
//! with a budget on directory entries read, so that a pattern such as
//! `/*/*/*/x` can never turn one decision into a walk of the whole tree.

use std::path::PathBuf;

/// Most directory entries one input's globs read in all, in the parser (a
/// command word) and in the rules (operands): `/*/rm` reads `/` once;
/// `/*/*/*/x` would read a tree. Bounds the time one decision spends on the
/// file system.
pub const MAX_GLOB_ENTRIES: usize = 4_096;

/// A bash pattern (bash manual 3.5.8.1), `\\` escaping the next character,
/// in the `glob` crate's syntax, which has no escapes: an escaped or
/// otherwise literal pattern character becomes a one-member class (`[*]`),
/// `[^…]` becomes `[!…]`, and a `[` without its `]` is literal (`[[]`), as
/// in bash; runs of `*` are one. `None` for what the crate cannot express: POSIX classes
/// (`[[:alpha:]]`), equivalence classes and collating symbols, and an
/// escaped character inside a bracket expression.
pub fn bash_to_glob(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                match chars.get(i + 1) {
                    Some(&c @ ('*' | '?' | '[' | ']')) => {
                        out.push('[');
                        out.push(c);
                        out.push(']');
                    }
                    Some(&c) => out.push(c),
                    // A trailing backslash matches itself.
                    None => out.push('\\'),
                }
                i += 2;
            }
            '[' => match bracket_end(&chars, i) {
                Some(end) => {
                    let body = &chars[i + 1..end];
                    if body.contains(&'\\')
                        || body
                            .windows(2)
                            .any(|w| w[0] == '[' && matches!(w[1], ':' | '=' | '.'))
                    {
                        return None;
                    }
                    out.push('[');
                    let mut rest = body;
                    if let Some((&first, tail)) = rest.split_first() {
                        if matches!(first, '!' | '^') {
                            out.push('!');
                            rest = tail;
                        }
                    }
                    out.extend(rest);
                    out.push(']');
                    i = end + 1;
                }
                None => {
                    out.push_str("[[]");
                    i += 1;
                }
            },
            ']' => {
                out.push_str("[]]");
                i += 1;
            }
            // Without `globstar` (off in `bash -c`), `**` is two `*`; the
            // crate rejects a `**` that is not a whole component.
            '*' if out.ends_with('*') => i += 1,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `path` with bash's pattern characters (`*`, `?`, `[`, `]`) and `\\`
/// escaped by `\\`, so that it matches only itself as the prefix of a bash
/// pattern (a working directory before a relative glob).
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The absolute bash pattern for the glob operand `text` run in `cwd`.
/// `None` when `text` is relative and the working directory is unknown.
pub fn absolute(text: &str, cwd: Option<&str>) -> Option<String> {
    if text.starts_with('/') {
        return Some(text.to_string());
    }
    Some(format!("{}/{text}", escape(cwd?.trim_end_matches('/'))))
}

/// Index of the `]` that closes the bracket expression opening at
/// `open`: a `]` right after `[`, `[!` or `[^` is a member, not the end.
fn bracket_end(chars: &[char], open: usize) -> Option<usize> {
    let mut j = open + 1;
    if matches!(chars.get(j), Some('!' | '^')) {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() {
        match chars[j] {
            ']' => return Some(j),
            // `[:alpha:]` inside holds a `]` of its own.
            '[' if matches!(chars.get(j + 1), Some(':' | '=' | '.')) => {
                let kind = chars[j + 1];
                let close = (j + 2..chars.len().saturating_sub(1))
                    .find(|&k| chars[k] == kind && chars[k + 1] == ']')?;
                j = close + 2;
            }
            _ => j += 1,
        }
    }
    None
}

/// Options bash uses by default: case-sensitive, `/` only matched
/// literally, a leading `.` only matched explicitly (`dotglob` off).
const OPTS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// Why an expansion gave no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Unexpanded {
    /// More than the budget of directory entries would have to be read, or
    /// more matches than the caller takes.
    OverBudget,
    /// A component the `glob` crate cannot compile (an unclosed `[`), or a
    /// pattern ending in `/`.
    Unsupported,
}

/// Expands `pattern`, an absolute path in the `glob` crate's syntax (a
/// quoted pattern character written as a one-member class such as `[*]`),
/// the way bash's pathname expansion does with `globstar`, `dotglob`,
/// `nullglob` and `nocaseglob` off: component by component, each component
/// with a wildcard matched against the names of a directory.
///
/// Reads at most `budget` directory entries, taking those read from it, and
/// returns at
/// most `max_matches` paths, sorted by bytes as bash sorts them in the C
/// locale. Returns `Ok(vec![])` when nothing matches; an unreadable
/// directory or a non-UTF-8 name contributes nothing, as in bash (which
/// skips what it cannot read).
pub fn expand(
    pattern: &str,
    budget: &mut usize,
    max_matches: usize,
) -> Result<Vec<String>, Unexpanded> {
    if !pattern.starts_with('/') || pattern.ends_with('/') {
        return Err(Unexpanded::Unsupported);
    }
    let mut found = vec![PathBuf::from("/")];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        if !component.contains(['*', '?', '[']) {
            for p in &mut found {
                p.push(component);
            }
            continue;
        }
        let glob = glob::Pattern::new(component).map_err(|_| Unexpanded::Unsupported)?;
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries {
                *budget = budget.checked_sub(1).ok_or(Unexpanded::OverBudget)?;
                let Ok(entry) = entry else { continue };
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if glob.matches_with(name, OPTS) {
                    next.push(dir.join(name));
                    if next.len() > max_matches {
                        return Err(Unexpanded::OverBudget);
                    }
                }
            }
        }
        found = next;
    }
    let mut out: Vec<String> = found
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .filter_map(|p| p.into_os_string().into_string().ok())
        .collect();
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        for d in ["a", "a-b", "b", ".h"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
            std::fs::write(dir.path().join(d).join("x"), "").unwrap();
        }
        std::fs::write(dir.path().join("b/y"), "").unwrap();
        let root = dir.path().to_str().unwrap().to_string();
        (dir, root)
    }

    #[test]
    fn expands_directory_components_in_bash_order() {
        let (_d, root) = tree();
        let got = expand(&format!("{root}/*/x"), &mut 100, 10).unwrap();
        // Sorted as whole strings: `a-b/x` before `a/x`, as `echo */x`
        // prints under LC_ALL=C. `.h` needs an explicit dot.
        let want: Vec<String> = ["a-b", "a", "b"]
            .iter()
            .map(|d| format!("{root}/{d}/x"))
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            expand(&format!("{root}/.?/x"), &mut 100, 10).unwrap(),
            [format!("{root}/.h/x")]
        );
        assert_eq!(
            expand(&format!("{root}/?/[y]"), &mut 100, 10).unwrap(),
            [format!("{root}/b/y")]
        );
        assert!(expand(&format!("{root}/*/z"), &mut 100, 10)
            .unwrap()
            .is_empty());
        // A quoted `*` is matched literally.
        assert!(expand(&format!("{root}/[*]/x"), &mut 100, 10)
            .unwrap()
            .is_empty());
    }

    /// Each translation checked against what bash matches (`[[ x == p ]]`
    /// and `echo p` in a scratch directory).
    #[test]
    fn bash_patterns_in_glob_syntax() {
        let t = |p: &str| bash_to_glob(p);
        assert_eq!(t("*.key").as_deref(), Some("*.key"));
        assert_eq!(t("x**.e***v").as_deref(), Some("x*.e*v"));
        assert_eq!(t(r"\*.key").as_deref(), Some("[*].key"));
        assert_eq!(t("[^n]m").as_deref(), Some("[!n]m"));
        assert_eq!(t("[!n]m").as_deref(), Some("[!n]m"));
        assert_eq!(t("[]x]").as_deref(), Some("[]x]"));
        assert_eq!(t("[!]x]y").as_deref(), Some("[!]x]y"));
        assert_eq!(t("notes[").as_deref(), Some("notes[[]"));
        assert_eq!(t("a]b").as_deref(), Some("a[]]b"));
        assert_eq!(t("x[[:lower:]]"), None);
        assert_eq!(t(r"[\!v]"), None);
        let m = |p: &str, name: &str| {
            glob::Pattern::new(&t(p).unwrap())
                .unwrap()
                .matches_with(name, OPTS)
        };
        assert!(m("[^n]m", "rm") && !m("[^n]m", "nm"));
        assert!(m("notes[", "notes[") && !m("notes[", "notes"));
        assert!(m(r"\*.key", "*.key") && !m(r"\*.key", "a.key"));
        assert!(m(".en?", ".env"));
    }

    #[test]
    fn a_working_directory_with_pattern_characters_matches_itself() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a[1]*");
        std::fs::create_dir(&odd).unwrap();
        std::fs::write(odd.join(".env"), "").unwrap();
        let cwd = odd.to_str().unwrap();
        let pattern = absolute(".e*", Some(cwd)).unwrap();
        let glob = bash_to_glob(&pattern).unwrap();
        assert_eq!(
            expand(&glob, &mut 100, 10).unwrap(),
            [format!("{cwd}/.env")]
        );
        assert_eq!(absolute("/x/*", None).as_deref(), Some("/x/*"));
        assert_eq!(absolute("*", None), None);
    }

    #[test]
    fn stops_at_the_budget() {
        let (_d, root) = tree();
        // The temp dir has 4 entries, each subdirectory 1 or 2.
        assert_eq!(
            expand(&format!("{root}/*/*"), &mut 5, 10),
            Err(Unexpanded::OverBudget)
        );
        let mut budget = 9;
        assert!(expand(&format!("{root}/*/*"), &mut budget, 10).is_ok());
        assert_eq!(budget, 1, "each entry read is taken from the budget");
        assert_eq!(
            expand(&format!("{root}/*/x"), &mut 100, 2),
            Err(Unexpanded::OverBudget)
        );
        assert_eq!(
            expand(&format!("{root}/a[/x"), &mut 100, 10),
            Err(Unexpanded::Unsupported)
        );
    }
}
