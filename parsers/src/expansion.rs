//! The string operations of parameter expansion with static operands
//! (bash manual 3.5.3 "Shell Parameter Expansion"): pattern removal
//! (`#`, `##`, `%`, `%%`), pattern substitution (`/`, `//`, `/#`, `/%`),
//! case modification (`^`, `^^`, `,`, `,,`, `~`, `~~`), substrings
//! (`:offset:length`) and the `@` transformations that produce plain text.
//!
//! Patterns follow bash manual 3.5.8.1 "Pattern Matching": `*`, `?` and
//! bracket expressions, with quoted characters matching themselves. They are
//! compiled with `globset` with `*` allowed to match `/`, as in bash.
//! Anything outside that subset (POSIX character classes, extglob) makes the
//! caller treat the expansion as unknown.

use globset::{GlobBuilder, GlobMatcher};

use crate::word::Piece;

/// Longest value (in characters) a non-literal pattern is matched against;
/// longer values make the expansion unknown. Matching every substring is
/// cubic in the length, so this bounds the work per expansion; the caller
/// also charges [`Pattern::cost`] to its expansion budget.
pub const MAX_PATTERN_SUBJECT: usize = 128;

/// A compiled pattern.
pub(crate) enum Pattern {
    /// No unquoted pattern characters: matches exactly this text.
    Literal(String),
    /// A glob.
    Glob(GlobMatcher),
}

impl Pattern {
    /// Compiles a pattern from word pieces. Returns `None` when a piece is
    /// unknown or the pattern uses syntax outside the supported subset.
    pub(crate) fn new(pieces: &[Piece]) -> Option<Pattern> {
        let mut glob = String::new();
        let mut literal = String::new();
        let mut special = false;
        let mut in_bracket = false;
        // An unquoted backslash can only come from an expansion (quote
        // removal took the others); in a pattern it quotes the next character.
        let mut escape_next = false;
        for p in pieces {
            let Piece::Char { c, quoted, .. } = p else {
                return None;
            };
            if !*quoted && !escape_next && *c == '\\' && !in_bracket {
                escape_next = true;
                continue;
            }
            let quoted = &(*quoted || std::mem::take(&mut escape_next));
            literal.push(*c);
            if *quoted {
                if in_bracket {
                    // Quoted text inside a bracket expression: too subtle.
                    return None;
                }
                glob.push('\\');
                glob.push(*c);
                continue;
            }
            match c {
                // `**` is two stars (globstar does not apply to patterns);
                // globset would read it as "any directories".
                '*' if glob.ends_with('*') && !glob.ends_with("\\*") => {}
                '*' | '?' => {
                    special = true;
                    glob.push(*c);
                }
                '[' => {
                    special = true;
                    in_bracket = true;
                    glob.push('[');
                }
                ']' if in_bracket => {
                    in_bracket = false;
                    glob.push(']');
                }
                ':' if in_bracket && glob.ends_with('[') => return None,
                // An extglob operator (`+(a)`, `!(x)` …) when `shopt -s
                // extglob` may be on: not modelled.
                '(' if matches!(
                    literal.chars().rev().nth(1),
                    Some('?' | '*' | '+' | '@' | '!')
                ) =>
                {
                    return None
                }
                '{' | '}' | ',' | '\\' => {
                    glob.push('\\');
                    glob.push(*c);
                }
                _ => glob.push(*c),
            }
        }
        if in_bracket || escape_next {
            return None;
        }
        if !special {
            return Some(Pattern::Literal(literal));
        }
        let g = GlobBuilder::new(&glob)
            .literal_separator(false)
            .backslash_escape(true)
            .empty_alternates(false)
            .build()
            .ok()?;
        Some(Pattern::Glob(g.compile_matcher()))
    }

    /// Work units for matching against `value` (charged to the lowering's
    /// expansion budget): a literal pattern is linear, a glob cubic.
    pub(crate) fn cost(&self, value: &str) -> usize {
        let n = value.len() + 1;
        match self {
            Pattern::Literal(_) => n,
            Pattern::Glob(_) => n * n * n / 16,
        }
    }

    fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Literal(l) => l == s,
            Pattern::Glob(g) => g.is_match(s),
        }
    }

    fn is_literal(&self) -> bool {
        matches!(self, Pattern::Literal(_))
    }
}

/// Character boundaries of `s` (byte offsets, including 0 and `s.len()`).
fn bounds(s: &str) -> Vec<usize> {
    s.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .collect()
}

/// `${x#p}` / `${x##p}`: removes the shortest (or longest) prefix matching
/// `p`. `None` when the value is too long to match a glob against.
pub(crate) fn remove_prefix(value: &str, pat: &Pattern, longest: bool) -> Option<String> {
    if let Pattern::Literal(l) = pat {
        return Some(value.strip_prefix(l.as_str()).unwrap_or(value).to_string());
    }
    let b = bounds(value);
    if b.len() > MAX_PATTERN_SUBJECT {
        return None;
    }
    let ends: Box<dyn Iterator<Item = &usize>> = if longest {
        Box::new(b.iter().rev())
    } else {
        Box::new(b.iter())
    };
    for &e in ends {
        if pat.matches(&value[..e]) {
            return Some(value[e..].to_string());
        }
    }
    Some(value.to_string())
}

/// `${x%p}` / `${x%%p}`: removes the shortest (or longest) suffix matching `p`.
pub(crate) fn remove_suffix(value: &str, pat: &Pattern, longest: bool) -> Option<String> {
    if let Pattern::Literal(l) = pat {
        return Some(value.strip_suffix(l.as_str()).unwrap_or(value).to_string());
    }
    let b = bounds(value);
    if b.len() > MAX_PATTERN_SUBJECT {
        return None;
    }
    let starts: Box<dyn Iterator<Item = &usize>> = if longest {
        Box::new(b.iter())
    } else {
        Box::new(b.iter().rev())
    };
    for &s in starts {
        if pat.matches(&value[s..]) {
            return Some(value[..s].to_string());
        }
    }
    Some(value.to_string())
}

/// Where `${x/…}` substitutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// `/`: the first (longest) match.
    First,
    /// `//`: every match.
    All,
    /// `/#`: a match at the start.
    Start,
    /// `/%`: a match at the end.
    End,
}

/// `${x/p/r}` and its variants: the longest match of `p` is replaced by `r`
/// (bash manual 3.5.3). An empty pattern leaves the value unchanged.
pub(crate) fn substitute(value: &str, pat: &Pattern, rep: &str, anchor: Anchor) -> Option<String> {
    if matches!(pat, Pattern::Literal(l) if l.is_empty()) {
        // An empty pattern matches nothing, except at an anchor.
        return Some(match anchor {
            Anchor::Start => format!("{rep}{value}"),
            Anchor::End => format!("{value}{rep}"),
            _ => value.to_string(),
        });
    }
    if value.is_empty() {
        return Some(if pat.matches("") {
            rep.to_string()
        } else {
            String::new()
        });
    }
    if let (Pattern::Literal(l), Anchor::First | Anchor::All) = (pat, anchor) {
        return Some(if anchor == Anchor::All {
            value.replace(l.as_str(), rep)
        } else {
            value.replacen(l.as_str(), rep, 1)
        });
    }
    let b = bounds(value);
    if b.len() > MAX_PATTERN_SUBJECT && !pat.is_literal() {
        return None;
    }
    match anchor {
        Anchor::Start => {
            for &e in b.iter().rev() {
                if pat.matches(&value[..e]) {
                    return Some(format!("{rep}{}", &value[e..]));
                }
            }
            Some(value.to_string())
        }
        Anchor::End => {
            for &s in &b {
                if pat.matches(&value[s..]) {
                    return Some(format!("{}{rep}", &value[..s]));
                }
            }
            Some(value.to_string())
        }
        Anchor::First | Anchor::All => {
            let mut out = String::new();
            let mut i = 0; // index into b
            while i < b.len() {
                let start = b[i];
                let found = b[i..]
                    .iter()
                    .rev()
                    .find(|&&e| e > start && pat.matches(&value[start..e]));
                match found {
                    Some(&e) => {
                        out.push_str(rep);
                        if anchor == Anchor::First {
                            out.push_str(&value[e..]);
                            return Some(out);
                        }
                        i = b.iter().position(|&x| x == e).unwrap_or(b.len());
                    }
                    None => {
                        if let Some(&next) = b.get(i + 1) {
                            out.push_str(&value[start..next]);
                        }
                        i += 1;
                    }
                }
            }
            Some(out)
        }
    }
}

/// Case modification operators (`^`, `^^`, `,`, `,,`, `~`, `~~`); `op` is
/// the operator as written. With a pattern, only characters matching it
/// change.
/// Case mapping depends on the locale for characters outside ASCII (in the
/// C locale bash changes none of them): `None` for such values.
pub(crate) fn modify_case(value: &str, op: &str, pat: Option<&Pattern>) -> Option<String> {
    if !value.is_ascii() {
        return None;
    }
    let all = op.len() == 2;
    let mut out = String::new();
    for (n, c) in value.chars().enumerate() {
        let applies = (all || n == 0) && pat.is_none_or(|p| p.matches(c.encode_utf8(&mut [0; 4])));
        if !applies {
            out.push(c);
            continue;
        }
        match op.chars().next() {
            Some('^') => out.extend(c.to_uppercase()),
            Some(',') => out.extend(c.to_lowercase()),
            _ => {
                if c.is_uppercase() {
                    out.extend(c.to_lowercase())
                } else {
                    out.extend(c.to_uppercase())
                }
            }
        }
    }
    Some(out)
}

/// `${x:offset}` / `${x:offset:length}` on characters (negative offset
/// counts from the end; a negative length is an end offset). `None` for
/// a negative length that ends before the start, which bash reports as an
/// error.
pub(crate) fn substring(value: &str, offset: i64, length: Option<i64>) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len() as i64;
    let start = if offset < 0 { n + offset } else { offset };
    if start < 0 || start > n {
        return Some(String::new());
    }
    let end = match length {
        None => n,
        Some(l) if l < 0 => n + l,
        Some(l) => start.saturating_add(l).min(n),
    };
    if end < start {
        return if length.is_some_and(|l| l < 0) {
            None
        } else {
            Some(String::new())
        };
    }
    Some(chars[start as usize..end as usize].iter().collect())
}

/// `${a[@]:offset:length}`: a slice of the elements (bash manual 3.5.3).
pub(crate) fn slice<T: Clone>(elems: &[T], offset: i64, length: Option<i64>) -> Option<Vec<T>> {
    let n = elems.len() as i64;
    let start = if offset < 0 { n + offset } else { offset };
    if start < 0 || start > n {
        return Some(Vec::new());
    }
    let end = match length {
        None => n,
        Some(l) if l < 0 => return None,
        Some(l) => start.saturating_add(l).min(n),
    };
    Some(elems[start as usize..end.max(start) as usize].to_vec())
}

/// `${x@OP}` for the transformations whose result is plain text: `U`, `u`,
/// `L` (case) and `E` (backslash escapes as in `$'…'`). Others (`Q`, `P`,
/// `A`, `K`, `a`, `k`) give `None`.
pub(crate) fn transform(value: &str, op: &str) -> Option<String> {
    match op {
        "U" if value.is_ascii() => Some(value.to_uppercase()),
        "L" if value.is_ascii() => Some(value.to_lowercase()),
        "u" => modify_case(value, "^", None),
        "E" => Some(crate::ansi_c::decode(value)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::word::push_str;

    fn pat(s: &str) -> Pattern {
        let mut p = Vec::new();
        push_str(&mut p, s, false, false);
        Pattern::new(&p).unwrap()
    }

    // Expected values checked with bash 5.2: `x=…; echo "${x…}"`.
    #[test]
    fn removal() {
        assert_eq!(remove_prefix("a/b/c", &pat("*/"), false).unwrap(), "b/c");
        assert_eq!(remove_prefix("a/b/c", &pat("*/"), true).unwrap(), "c");
        assert_eq!(remove_suffix("rmdir", &pat("dir"), false).unwrap(), "rm");
        assert_eq!(
            remove_suffix("a.tar.gz", &pat(".*"), false).unwrap(),
            "a.tar"
        );
        assert_eq!(remove_suffix("a.tar.gz", &pat(".*"), true).unwrap(), "a");
        assert_eq!(remove_prefix("xrm", &pat("?"), false).unwrap(), "rm");
    }

    #[test]
    fn substitution() {
        let s = |v, p, r, a| substitute(v, &pat(p), r, a).unwrap();
        assert_eq!(s("xm", "x", "r", Anchor::First), "rm");
        assert_eq!(s("aXbXc", "X", "", Anchor::All), "abc");
        assert_eq!(s("aXbXc", "X*", "-", Anchor::First), "a-");
        assert_eq!(s("abab", "a?", "r", Anchor::All), "rr");
        assert_eq!(s("rmx", "x", "", Anchor::End), "rm");
        assert_eq!(s("xrm", "x", "", Anchor::Start), "rm");
        assert_eq!(s("xrm", "m", "", Anchor::Start), "xrm");
        assert_eq!(s("r-m", "[-]", "", Anchor::All), "rm");
        assert_eq!(s("", "*", "rm", Anchor::First), "rm");
        assert_eq!(s("x", "**/x", "", Anchor::First), "x");
        assert_eq!(
            substitute("rm", &pat(""), "X", Anchor::Start).unwrap(),
            "Xrm"
        );
    }

    #[test]
    fn case_and_substrings() {
        assert_eq!(modify_case("RM", ",,", None).unwrap(), "rm");
        assert_eq!(modify_case("rM", "^", None).unwrap(), "RM");
        assert_eq!(modify_case("Rm", "~~", None).unwrap(), "rM");
        assert_eq!(modify_case("RXM", ",,", Some(&pat("[RM]"))).unwrap(), "rXm");
        assert!(modify_case("K\u{130}LL", ",,", None).is_none());
        assert_eq!(substring("abc", 1, Some(i64::MAX)).unwrap(), "bc");
        assert_eq!(substring("xxrmxx", 2, Some(2)).unwrap(), "rm");
        assert_eq!(substring("xxrm", -2, None).unwrap(), "rm");
        assert_eq!(substring("xrmx", 1, Some(-1)).unwrap(), "rm");
        assert_eq!(slice(&[1, 2, 3], 1, None).unwrap(), [2, 3]);
        assert_eq!(transform("rm", "U").unwrap(), "RM");
        assert_eq!(transform("\\x72m", "E").unwrap(), "rm");
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        let mut p = Vec::new();
        push_str(&mut p, "[[:alpha:]]", false, false);
        assert!(Pattern::new(&p).is_none());
        let mut e = Vec::new();
        push_str(&mut e, "+(a)", false, false);
        assert!(Pattern::new(&e).is_none());
        assert!(Pattern::new(&[Piece::Unknown {
            src: "$x".into(),
            substs: vec![]
        }])
        .is_none());
    }
}
