//! Prints the tree-sitter-bash syntax tree of a command: a debugging aid.
//! Usage: cargo run -p shellgate-parsers --example tree -- 'COMMAND'
fn main() {
    let src = std::env::args().nth(1).unwrap_or_default();
    let mut p = tree_sitter::Parser::new();
    p.set_language(&tree_sitter_bash::LANGUAGE.into())
        .expect("grammar");
    let Some(t) = p.parse(&src, None) else { return };
    fn walk(n: tree_sitter::Node, src: &str, d: usize) {
        let txt: String = src[n.byte_range()].chars().take(40).collect();
        println!(
            "{}{}{} {:?}",
            "  ".repeat(d),
            if n.is_named() { "" } else { "'" },
            n.kind(),
            txt
        );
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            walk(ch, src, d + 1);
        }
    }
    walk(t.root_node(), &src, 0);
}
