//! From word pieces to words: brace expansion, word splitting and the glob flag,
//! in the order of bash manual 3.5 ("Shell Expansions").
//!
//! The lowering pass turns a word's syntax into [`Piece`]s: characters that
//! were literal in the source (quoted or not), characters that came from a
//! known expansion, and unknown expansions. [`finish`] then applies brace
//! expansion (only to unquoted literal characters), word splitting (only to
//! unquoted characters that came from an expansion, on the default `$IFS`)
//! and marks words that contain unquoted pattern characters.

use crate::model::{Span, SubstId, Word};

/// Most words one brace expansion may produce before the word is treated as
/// dynamic instead (bash would produce them all; we refuse to guess).
pub const MAX_BRACE_WORDS: usize = 256;

/// One piece of a word before expansion steps that split it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A known character.
    Char {
        /// The character.
        c: char,
        /// Inside quotes (or escaped): not subject to brace expansion,
        /// splitting or globbing.
        quoted: bool,
        /// Produced by a parameter expansion or tilde (not brace-expandable;
        /// splittable when unquoted).
        expanded: bool,
    },
    /// An expansion whose value is unknown; `src` is how it was written.
    Unknown {
        /// Source text.
        src: String,
        /// Substitutions it contains.
        substs: Vec<SubstId>,
    },
    /// The boundary between two elements of `${a[@]}` or `$@`: each element
    /// is a separate word even inside double quotes (bash manual 3.4.2,
    /// 6.7). Unquoted, it separates like blank `$IFS` characters.
    Break {
        /// Inside double quotes: the words on both sides are kept even when empty.
        quoted: bool,
    },
    /// `"${a[@]}"` or `"$@"` with no elements: when nothing else is in the
    /// word, the word disappears instead of becoming one empty word.
    NoFields,
}

impl Piece {
    fn active(&self, ch: char) -> bool {
        matches!(self, Piece::Char { c, quoted: false, expanded: false } if *c == ch)
    }
}

/// Pushes every character of `s` as a [`Piece::Char`].
pub fn push_str(pieces: &mut Vec<Piece>, s: &str, quoted: bool, expanded: bool) {
    pieces.extend(s.chars().map(|c| Piece::Char {
        c,
        quoted,
        expanded,
    }));
}

/// Applies brace expansion, word splitting and glob marking to one word's
/// pieces, returning zero or more words (an unquoted expansion to the empty
/// string yields no word, as in bash).
///
/// `had_quotes` tells whether the word contained any quoting: `""` is one
/// empty word, while an unquoted `$x` that expands to nothing is no word.
///
/// `ifs` is the value of `$IFS` (`" \t\n"` when unset); `tilde` performs
/// tilde expansion on each word brace expansion produced.
pub fn finish(
    pieces: Vec<Piece>,
    span: Span,
    process_substitution: bool,
    had_quotes: bool,
    ifs: &str,
    tilde: &dyn Fn(&mut Vec<Piece>),
) -> Vec<Word> {
    let mut fields: Vec<Vec<Piece>> = Vec::new();
    match brace_expand(&pieces, 0) {
        Some(alts) => {
            for mut alt in alts {
                // Tilde expansion follows brace expansion (bash manual 3.5).
                tilde(&mut alt);
                fields.extend(split_fields(alt, had_quotes, ifs));
            }
        }
        None => {
            // Too many alternatives: one dynamic word.
            let mut w = to_word(&pieces, span, process_substitution);
            w.dynamic = true;
            return vec![w];
        }
    }
    fields
        .into_iter()
        .map(|f| to_word(&f, span, process_substitution))
        .collect()
}

fn to_word(pieces: &[Piece], span: Span, process_substitution: bool) -> Word {
    let mut w = Word {
        span,
        text: String::new(),
        dynamic: process_substitution,
        glob: false,
        substitutions: Vec::new(),
        process_substitution,
    };
    for p in pieces {
        match p {
            Piece::Char { c, quoted, .. } => {
                if !quoted && matches!(c, '*' | '?' | '[') {
                    w.glob = true;
                }
                w.text.push(*c);
            }
            Piece::Unknown { src, substs } => {
                w.dynamic = true;
                w.text.push_str(src);
                w.substitutions.extend(substs.iter().copied());
            }
            Piece::Break { .. } => w.text.push(' '),
            Piece::NoFields => {}
        }
    }
    w
}

/// Word splitting (bash manual 3.5.7): unquoted characters that came from
/// an expansion and appear in `ifs` delimit fields. IFS whitespace (space,
/// tab, newline when in `ifs`) is trimmed and collapses; every other IFS
/// character delimits one field, so `a,,b` with `IFS=,` gives `a`, ``, `b`.
/// A word that was entirely an unquoted empty expansion disappears.
fn split_fields(pieces: Vec<Piece>, had_quotes: bool, ifs: &str) -> Vec<Vec<Piece>> {
    #[derive(PartialEq)]
    enum Sep {
        No,
        White,
        Other,
    }
    let sep = |p: &Piece| match p {
        Piece::Char {
            c,
            quoted: false,
            expanded: true,
        } if ifs.contains(*c) => {
            if matches!(c, ' ' | '\t' | '\n') {
                Sep::White
            } else {
                Sep::Other
            }
        }
        Piece::Break { quoted: false } => Sep::White,
        _ => Sep::No,
    };
    let removable = |p: &Piece| {
        matches!(
            p,
            Piece::Char {
                quoted: false,
                expanded: true,
                ..
            } | Piece::Break { quoted: false }
                | Piece::NoFields
        )
    };
    if pieces.len() == 1 && pieces[0] == Piece::NoFields {
        return Vec::new();
    }
    let all_unquoted_expanded = !had_quotes && pieces.iter().all(removable);
    let mut out = Vec::new();
    let mut cur: Vec<Piece> = Vec::new();
    // The current field exists (has content, or follows a quoted element break).
    let mut open = false;
    let mut after_white = false;
    for p in pieces {
        if p == Piece::NoFields {
            continue;
        }
        if let Piece::Break { quoted: true } = p {
            out.push(std::mem::take(&mut cur));
            open = true;
            after_white = false;
            continue;
        }
        match sep(&p) {
            Sep::White => {
                if open {
                    out.push(std::mem::take(&mut cur));
                    open = false;
                    after_white = true;
                }
            }
            Sep::Other => {
                if open {
                    out.push(std::mem::take(&mut cur));
                    open = false;
                } else if !after_white {
                    out.push(Vec::new());
                }
                after_white = false;
            }
            Sep::No => {
                cur.push(p);
                open = true;
                after_white = false;
            }
        }
    }
    if open {
        out.push(cur);
    }
    if out.is_empty() && !all_unquoted_expanded {
        out.push(Vec::new());
    }
    out
}

/// Brace expansion (bash manual 3.5.1). Returns `None` when the number of
/// results would exceed [`MAX_BRACE_WORDS`].
fn brace_expand(pieces: &[Piece], depth: usize) -> Option<Vec<Vec<Piece>>> {
    if depth > 16 {
        return None;
    }
    // Find the first `{` that has a matching `}` with a top-level `,` or a
    // valid sequence between them.
    let n = pieces.len();
    let mut i = 0;
    while i < n {
        if pieces[i].active('{') {
            if let Some((close, commas)) = match_brace(pieces, i) {
                let inner = &pieces[i + 1..close];
                let alternatives: Vec<Vec<Piece>> = if !commas.is_empty() {
                    let mut alts = Vec::new();
                    let mut start = i + 1;
                    for &c in commas.iter().chain(std::iter::once(&close)) {
                        alts.push(pieces[start..c].to_vec());
                        start = c + 1;
                    }
                    alts
                } else if let Some(seq) = sequence(inner) {
                    seq
                } else {
                    i += 1;
                    continue;
                };
                if alternatives.len() > MAX_BRACE_WORDS {
                    return None;
                }
                let prefix = &pieces[..i];
                let suffix = &pieces[close + 1..];
                let mut out = Vec::new();
                for alt in alternatives {
                    let mut combined = prefix.to_vec();
                    combined.extend(alt);
                    combined.extend_from_slice(suffix);
                    for w in brace_expand(&combined, depth + 1)? {
                        out.push(w);
                        if out.len() > MAX_BRACE_WORDS {
                            return None;
                        }
                    }
                }
                return Some(out);
            }
        }
        i += 1;
    }
    Some(vec![pieces.to_vec()])
}

/// Returns the index of the matching `}` and the top-level commas.
fn match_brace(pieces: &[Piece], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    for (j, p) in pieces.iter().enumerate().skip(open + 1) {
        if p.active('{') {
            depth += 1;
        } else if p.active('}') {
            if depth == 0 {
                return Some((j, commas));
            }
            depth -= 1;
        } else if depth == 0 && p.active(',') {
            commas.push(j);
        }
    }
    None
}

/// `{x..y[..incr]}` for integers or single letters.
fn sequence(inner: &[Piece]) -> Option<Vec<Vec<Piece>>> {
    let mut s = String::new();
    for p in inner {
        match p {
            Piece::Char {
                c,
                quoted: false,
                expanded: false,
            } => s.push(*c),
            _ => return None,
        }
    }
    let parts: Vec<&str> = s.split("..").collect();
    if parts.len() != 2 && parts.len() != 3 {
        return None;
    }
    let incr: i64 = match parts.get(2) {
        Some(x) => x.parse::<i64>().ok()?.checked_abs()?.max(1),
        None => 1,
    };
    let lit = |v: String| -> Vec<Piece> {
        v.chars()
            .map(|c| Piece::Char {
                c,
                quoted: false,
                expanded: false,
            })
            .collect()
    };
    if let (Ok(a), Ok(b)) = (parts[0].parse::<i64>(), parts[1].parse::<i64>()) {
        let count = (i128::from(a) - i128::from(b)).unsigned_abs() / incr as u128 + 1;
        if count > MAX_BRACE_WORDS as u128 + 1 {
            // Let the caller see "too many".
            return Some(vec![Vec::new(); MAX_BRACE_WORDS + 1]);
        }
        let width = if (parts[0].starts_with('0') && parts[0].len() > 1)
            || (parts[1].starts_with('0') && parts[1].len() > 1)
        {
            parts[0].len().max(parts[1].len())
        } else {
            0
        };
        return Some(
            steps(a, b, incr)
                .into_iter()
                .map(|v| lit(format!("{v:0width$}")))
                .collect(),
        );
    }
    let (ca, cb) = (single_char(parts[0])?, single_char(parts[1])?);
    if !ca.is_ascii_alphabetic() || !cb.is_ascii_alphabetic() {
        return None;
    }
    Some(
        steps(ca as i64, cb as i64, incr)
            .into_iter()
            .map(|v| lit((v as u8 as char).to_string()))
            .collect(),
    )
}

/// The values from `a` towards `b` in steps of `incr`, `b` included when
/// reached; stops at the integer limits instead of overflowing.
fn steps(a: i64, b: i64, incr: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut v = a;
    loop {
        out.push(v);
        if v == b || out.len() > MAX_BRACE_WORDS {
            break;
        }
        v = match if a < b {
            v.checked_add(incr)
        } else {
            v.checked_sub(incr)
        } {
            Some(n) => n,
            None => break,
        };
        if (a < b && v > b) || (a > b && v < b) {
            break;
        }
    }
    out
}

fn single_char(s: &str) -> Option<char> {
    let mut it = s.chars();
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Vec<Piece> {
        let mut v = Vec::new();
        push_str(&mut v, s, false, false);
        v
    }

    fn finish_d(p: Vec<Piece>, span: Span, ps: bool, q: bool) -> Vec<Word> {
        finish(p, span, ps, q, " \t\n", &|_| {})
    }

    fn texts(ws: Vec<Word>) -> Vec<String> {
        ws.into_iter().map(|w| w.text).collect()
    }

    // Expected values checked with `bash -c 'printf "%s\n" …'`.
    #[test]
    fn brace_lists_and_sequences() {
        assert_eq!(
            texts(finish_d(lit("a{b,c}d"), Span::default(), false, false)),
            ["abd", "acd"]
        );
        assert_eq!(
            texts(finish_d(lit("{1..3}"), Span::default(), false, false)),
            ["1", "2", "3"]
        );
        assert_eq!(
            texts(finish_d(lit("{01..3}"), Span::default(), false, false)),
            ["01", "02", "03"]
        );
        assert_eq!(
            texts(finish_d(lit("{a..c..2}"), Span::default(), false, false)),
            ["a", "c"]
        );
        assert_eq!(
            texts(finish_d(lit("{r,}m"), Span::default(), false, false)),
            ["rm", "m"]
        );
        assert_eq!(
            texts(finish_d(lit("x{a,{b,c}}"), Span::default(), false, false)),
            ["xa", "xb", "xc"]
        );
        // Not brace expansions.
        assert_eq!(
            texts(finish_d(lit("{}"), Span::default(), false, false)),
            ["{}"]
        );
        assert_eq!(
            texts(finish_d(lit("{a}"), Span::default(), false, false)),
            ["{a}"]
        );
    }

    #[test]
    fn quoted_braces_are_literal() {
        let mut p = Vec::new();
        push_str(&mut p, "{a,b}", true, false);
        assert_eq!(texts(finish_d(p, Span::default(), false, false)), ["{a,b}"]);
    }

    #[test]
    fn huge_sequence_is_dynamic() {
        let w = finish_d(lit("{1..100000}"), Span::default(), false, false);
        assert_eq!(w.len(), 1);
        assert!(w[0].dynamic);
        // Near the integer limits: no overflow, no endless loop.
        let w = finish_d(
            lit("{9223372036854775806..9223372036854775807..5}"),
            Span::default(),
            false,
            false,
        );
        assert_eq!(texts(w), ["9223372036854775806"]);
    }

    #[test]
    fn splitting_applies_to_unquoted_expansions_only() {
        let mut p = Vec::new();
        push_str(&mut p, "rm -rf", false, true);
        assert_eq!(
            texts(finish_d(p, Span::default(), false, false)),
            ["rm", "-rf"]
        );
        let mut q = Vec::new();
        push_str(&mut q, "rm -rf", true, true);
        assert_eq!(
            texts(finish_d(q, Span::default(), false, false)),
            ["rm -rf"]
        );
        let mut e = Vec::new();
        push_str(&mut e, "", false, true);
        assert!(finish_d(e, Span::default(), false, false).is_empty());
    }

    #[test]
    fn glob_marking() {
        let w = finish_d(lit("*.o"), Span::default(), false, false);
        assert!(w[0].glob && w[0].value().is_none());
        let mut q = Vec::new();
        push_str(&mut q, "*.o", true, false);
        assert!(!finish_d(q, Span::default(), false, false)[0].glob);
    }

    // Checked with bash 5.2: `IFS=…; x=…; printf '[%s]' $x`.
    #[test]
    fn splitting_on_a_custom_ifs() {
        let split = |v: &str, ifs: &str| {
            let mut p = Vec::new();
            push_str(&mut p, v, false, true);
            texts(finish(p, Span::default(), false, false, ifs, &|_| {}))
        };
        assert_eq!(split("rm,-rf,/", ","), ["rm", "-rf", "/"]);
        assert_eq!(split("a,,b", ","), ["a", "", "b"]);
        assert_eq!(split(",a,", ","), ["", "a"]);
        assert_eq!(split(" a , b ", " ,"), ["a", "b"]);
        assert_eq!(split("a b", ""), ["a b"]);
        assert_eq!(split("rmX-rf", "X"), ["rm", "-rf"]);
    }

    #[test]
    fn array_element_breaks() {
        let mut p = Vec::new();
        push_str(&mut p, "rm", true, true);
        p.push(Piece::Break { quoted: true });
        p.push(Piece::Break { quoted: true });
        push_str(&mut p, "a b", true, true);
        // "${a[@]}" with a=(rm "" "a b")
        assert_eq!(
            texts(finish_d(p, Span::default(), false, true)),
            ["rm", "", "a b"]
        );
        assert!(finish_d(vec![Piece::NoFields], Span::default(), false, true).is_empty());
    }
}
