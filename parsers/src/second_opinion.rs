//! A second parser for the structure of a command: brush-parser (the
//! parser of the brush shell, a PEG grammar written from the POSIX and
//! bash specifications) is asked where each simple command starts, and the
//! answer is compared with tree-sitter-bash's. tree-sitter recovers from
//! errors and has mis-read valid bash without reporting one (a line that
//! starts with an escaped word was joined to the line before, hiding its
//! command); when the two parsers disagree on which words start commands,
//! the input is not trusted.
//!
//! Only the positions of command words are compared, after normalising the
//! constructs the two grammars represent differently: `[ … ]` and `[[ … ]]`
//! tests, the `time` keyword, and function, `coproc` and `select`
//! constructs (inputs with the last two are not compared).

use brush_parser::ast::{
    AndOr, AndOrList, Command, CompoundCommand, CompoundList, CompoundListItem, Pipeline,
};
use tree_sitter::Node;

/// Deepest syntax tree compared. brush-parser gives up on deeper nesting
/// differently from bash; such inputs are bounded by the depth and nesting
/// limits instead, and real commands do not come near it.
pub(crate) const MAX_COMPARED_DEPTH: usize = 128;

/// Byte offsets where brush-parser sees simple commands start, or `None`
/// when it cannot parse the text (then there is no second opinion).
fn brush_starts(text: &str) -> Option<Vec<usize>> {
    let mut parser = brush_parser::Parser::builder().build(std::io::Cursor::new(text));
    let program = parser.parse_program().ok()?;
    Some(starts_of(&program, text))
}

fn starts_of(program: &brush_parser::ast::Program, text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for c in &program.complete_commands {
        list(c, text, &mut out);
    }
    // brush-parser counts characters; tree-sitter counts bytes.
    if !text.is_ascii() {
        let bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        for o in &mut out {
            *o = bytes.get(*o).copied().unwrap_or(text.len());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// brush-parser 0.4 panics on a descriptor number too large for an `i32`
/// before a redirection (`44444444444<f`); bash refuses those too.
fn has_huge_fd(text: &str) -> bool {
    let b = text.as_bytes();
    let mut run = 0;
    for (i, c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            run += 1;
        } else {
            if run >= 10 && matches!(b.get(i), Some(b'<' | b'>')) {
                return true;
            }
            run = 0;
        }
    }
    false
}

fn list(l: &CompoundList, text: &str, out: &mut Vec<usize>) {
    for CompoundListItem(ao, _) in &l.0 {
        and_or(ao, text, out);
    }
}

fn and_or(a: &AndOrList, text: &str, out: &mut Vec<usize>) {
    pipeline(&a.first, text, out);
    for x in &a.additional {
        match x {
            AndOr::And(p) | AndOr::Or(p) => pipeline(p, text, out),
        }
    }
}

fn pipeline(p: &Pipeline, text: &str, out: &mut Vec<usize>) {
    for c in &p.seq {
        command(c, text, out);
    }
}

fn command(c: &Command, text: &str, out: &mut Vec<usize>) {
    match c {
        Command::Simple(s) => {
            if let Some(w) = &s.word_or_name {
                if w.value.starts_with('[') {
                    return; // `[ … ]`: a test command in tree-sitter's grammar
                }
                if let Some(l) = &w.loc {
                    out.push(l.start.index);
                }
            }
        }
        Command::Compound(cc, _) => compound(cc, text, out),
        Command::Function(f) => compound(&f.body.0, text, out),
        Command::ExtendedTest(..) => {}
    }
}

fn compound(c: &CompoundCommand, text: &str, out: &mut Vec<usize>) {
    match c {
        CompoundCommand::BraceGroup(b) => list(&b.list, text, out),
        CompoundCommand::Subshell(s) => list(&s.list, text, out),
        CompoundCommand::ForClause(f) => list(&f.body.list, text, out),
        CompoundCommand::ArithmeticForClause(f) => list(&f.body.list, text, out),
        CompoundCommand::CaseClause(c) => {
            for i in &c.cases {
                if let Some(l) = &i.cmd {
                    list(l, text, out);
                }
            }
        }
        CompoundCommand::IfClause(i) => {
            list(&i.condition, text, out);
            list(&i.then, text, out);
            for e in i.elses.iter().flatten() {
                if let Some(c) = &e.condition {
                    list(c, text, out);
                }
                list(&e.body, text, out);
            }
        }
        CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
            list(&w.0, text, out);
            list(&w.1.list, text, out);
        }
        CompoundCommand::Coprocess(c) => command(&c.body, text, out),
        _ => {}
    }
}

/// Byte offsets where tree-sitter-bash sees simple commands start.
fn tree_starts(root: Node, text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    let mut cursor = root.walk();
    while let Some(n) = stack.pop() {
        match n.kind() {
            // Not parsed by brush: their text is expanded later.
            "command_substitution"
            | "process_substitution"
            | "heredoc_body"
            | "test_command"
            | "arithmetic_expansion"
            | "expansion"
            | "string" => continue,
            "command" => {
                if let Some(name) = n.child_by_field_name("name") {
                    let raw = text.get(name.byte_range()).unwrap_or("");
                    if raw == "time" {
                        // The `time` keyword: the command is the next word
                        // that is not an option of `time`.
                        let mut c2 = n.walk();
                        let next = n.named_children(&mut c2).skip(1).find(|k| {
                            let w = text.get(k.byte_range()).unwrap_or("");
                            !w.starts_with('-') && !crate::invocation::is_assignment(w)
                        });
                        out.extend(next.map(|k| k.start_byte()));
                    } else if !raw.starts_with('[') {
                        out.push(name.start_byte());
                    }
                }
            }
            "declaration_command" | "unset_command" => out.push(n.start_byte()),
            _ => {}
        }
        stack.extend(n.children(&mut cursor));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Compares where the two parsers see commands start. Returns the byte
/// offset of the first command word on which they disagree, or `None`
/// when they agree or brush-parser has no opinion (it cannot parse the
/// text, or the text uses `coproc`/`select`, which it models differently).
pub(crate) fn disagreement(root: Node, text: &str) -> Option<usize> {
    // Function bodies and `eval` text are parsed again at every call: the
    // answer for a text never changes, so short texts keep theirs (per
    // thread, at most 1,024 of up to 4 KiB each).
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, Option<usize>>> =
            Default::default();
    }
    if text.len() > 4096 {
        return compare(root, text);
    }
    if let Some(hit) = SEEN.with(|s| s.borrow().get(text).copied()) {
        return hit;
    }
    let answer = compare(root, text);
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= 1024 {
            s.clear();
        }
        s.insert(text.to_string(), answer);
    });
    answer
}

fn compare(root: Node, text: &str) -> Option<usize> {
    if text.contains("coproc") || text.contains("select") {
        return None;
    }
    if has_huge_fd(text) {
        return Some(0);
    }
    // A panic inside the second parser is a disagreement, not a crash.
    let brush = match std::panic::catch_unwind(|| brush_starts(text)) {
        Ok(b) => b?,
        Err(_) => return Some(0),
    };
    let tree = tree_starts(root, text);
    if brush == tree {
        return None;
    }
    // The first offset present in one list but not the other.
    let only_one = brush
        .iter()
        .filter(|b| !tree.contains(b))
        .chain(tree.iter().filter(|t| !brush.contains(t)))
        .min()
        .copied();
    only_one
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> tree_sitter::Tree {
        crate::lower::parse_tree(text).expect("parses")
    }

    #[test]
    fn the_parsers_agree_on_ordinary_commands() {
        for cmd in [
            "ls -la && cd src || echo no; (make) | tee log",
            "for f in *.c; do gcc -c \"$f\"; done",
            "if [ -f x ]; then rm x; elif [[ -d y ]]; then :; fi",
            "time make -j4; x=1 y=2 cmd; declare -a a=(1 2); unset a",
            "f() { echo \"$(date)\"; }; f <<EOF\nhello $(whoami)\nEOF",
            "echo “smart quotes” ¤ ñ; ls",
        ] {
            let t = tree(cmd);
            assert_eq!(disagreement(t.root_node(), cmd), None, "{cmd:?}");
        }
    }

    /// The tree-sitter-bash misreading this module guards against: a line
    /// starting with an escaped word read as part of the line before. The
    /// tree of a same-length text that joins the lines stands in for it.
    #[test]
    fn inputs_that_crash_brush_are_disagreements() {
        // Found by fuzzing: brush-parser 0.4 panics on this descriptor.
        let text = "sh 44444444444<<EOF\nrm -r\nEOF";
        assert!(matches!(
            crate::lower::parse_tree(text),
            Err(crate::ParseError::Syntax { .. })
        ));
    }

    #[test]
    fn a_hidden_command_is_a_disagreement() {
        let misread = tree("true  rm -rf /");
        assert_eq!(
            disagreement(misread.root_node(), "true\n\\rm -rf /"),
            Some(5)
        );
    }
}
