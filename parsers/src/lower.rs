//! Lowering: from the tree-sitter-bash syntax tree to [`Script`], following
//! what bash does when it runs the text (bash manual 3.2 "Shell Commands",
//! 3.5 "Shell Expansions", 3.6 "Redirections", 3.7 "Executing Commands").
//!
//! The pass walks statements in order while keeping a [`State`] of what is
//! statically known (variables, working directory, functions). Where control
//! flow joins, differing knowledge is forgotten ([`State::merge`]); loops are
//! lowered after their body's effect on the state is known, so a value
//! assigned in a later iteration is never trusted in an earlier one.

use std::rc::Rc;

use tree_sitter::{Node, Parser};

use crate::expansion;
use crate::invocation::{self, is_stdin_path, ShellCode, Unwrapped};
use crate::model::*;
use crate::state::{join_path, FuncDef, State, DEFAULT_IFS};
use crate::static_output;
use crate::word::{finish, push_str, Piece};
use crate::{Options, ParseError};

/// Most commands one input may expand to (functions called in loops,
/// nested scripts); beyond it the rest is reported as unanalysed.
pub const MAX_COMMANDS: usize = 10_000;

/// Most stages one pipeline may have. Every stage records the commands
/// upstream of it (their output can reach its stdin), which grows with the
/// square of the length; a longer pipeline is reported as unanalysed.
pub const MAX_PIPELINE_STAGES: usize = 1_000;

/// Loops nested deeper than this are lowered once with every variable
/// unknown, instead of iterating to a fixed point.
const MAX_ITERATED_LOOP_DEPTH: usize = 3;

/// Most nested scripts (function calls, `eval`, `bash -c`, aliases …)
/// lowered for one input; past it the rest is reported as unanalysed.
pub const MAX_NESTED_SCRIPTS: usize = 2_000;

/// Most file names a pattern in a command word is resolved to.
const MAX_GLOB_MATCHES: usize = 64;

use crate::pathglob::MAX_GLOB_ENTRIES;

/// Most bytes of statically known expansion text used for one input; past
/// it, expansions are treated as unknown. Bounds time and memory for inputs
/// such as `x=$x$x` repeated.
pub const MAX_EXPANDED_BYTES: usize = 4 << 20;

/// How byte offsets of a (possibly nested) source map to the top-level input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanMap {
    /// Local offset plus this value.
    Offset(usize),
    /// Everything maps to this span (text that went through unquoting).
    Fixed(Span),
}

impl SpanMap {
    fn map(self, start: usize, end: usize) -> Span {
        match self {
            SpanMap::Offset(o) => Span::new(start + o, end + o),
            SpanMap::Fixed(s) => s,
        }
    }
}

/// A source being lowered: top-level input or nested script text.
#[derive(Clone, Copy)]
struct Src<'s> {
    text: &'s str,
    map: SpanMap,
}

impl Src<'_> {
    fn span(&self, n: Node) -> Span {
        self.map.map(n.start_byte(), n.end_byte())
    }
    fn raw(&self, n: Node) -> &str {
        self.text.get(n.byte_range()).unwrap_or("")
    }
}

/// Context inherited from enclosing constructs.
#[derive(Clone, Default)]
struct Ctx {
    origin: Vec<Origin>,
    stages: Vec<Stage>,
    substs: Vec<SubstId>,
    wrappers: Vec<Wrapper>,
    redirects: Vec<Redirect>,
    /// Standard input set by an enclosing pipeline or redirection.
    stdin: Option<Stdin>,
    /// Nesting depth of scripts, functions and substitutions.
    depth: usize,
    /// The standard input came from an enclosing group (`{ read a; read
    /// b; } <<< …`), so earlier commands may have consumed part of it.
    stdin_shared: bool,
    /// Under `command NAME`: functions are not looked up (bash manual 4.2).
    skip_functions: bool,
    /// The text being lowered was parsed as part of an enclosing line (a
    /// function body, an alias's text): the aliases in effect stay those
    /// of that line.
    aliases_fixed: bool,
}

pub(crate) struct Lowerer<'o> {
    top: &'o str,
    out: &'o mut Script,
    opts: &'o Options,
    next_subst: SubstId,
    called: std::collections::BTreeSet<String>,
    aborted: bool,
    /// Sum of the syntax-tree depths of the scripts being lowered; bounds
    /// recursion (and so stack use) across nested scripts.
    active_depth: usize,
    /// Bytes of known expansions used so far (see [`MAX_EXPANDED_BYTES`]).
    expanded: usize,
    /// Nested scripts lowered so far (see [`MAX_NESTED_SCRIPTS`]).
    nested_count: usize,
    /// Directory entries command-word globs may still read for this input
    /// (see [`MAX_GLOB_ENTRIES`]).
    glob_entries: usize,
    /// Known output of process substitutions, by id (`source <(echo …)`).
    ps_output: std::collections::HashMap<SubstId, String>,
    /// Aliases in effect for the command being lowered: those defined
    /// before the current line was read (bash manual 6.6).
    aliases: crate::state::Aliases,
    /// Aliases being expanded (an alias is not expanded inside itself).
    alias_stack: Vec<String>,
    /// For each function call being lowered, the outer values of the
    /// variables it made local.
    local_frames: Vec<std::collections::BTreeMap<String, Option<crate::state::Var>>>,
    /// For each function call and loop being lowered, the states in which
    /// `return`, `break` or `continue` leave it: the state after it may be
    /// any of these.
    jump_frames: Vec<Vec<State>>,
    /// Loops being lowered inside one another.
    loop_depth: usize,
    /// Syntax nodes (by id) that belong to something else than where the
    /// grammar put them (the descriptor of `cmd 0< f`).
    skip_nodes: std::collections::HashSet<usize>,
    /// Lowering an assignment's value, where `${a[*]}` and `$*` are joined
    /// by the first `$IFS` character as in double quotes (bash manual 3.4.2).
    assigning: bool,
}

/// tree-sitter-bash takes a `{` at the start of a command for the group
/// reserved word, but bash treats `{` as reserved only when it is a word of
/// its own (bash manual 3.2.5.3): `{r,}m -rf x` is a brace expansion
/// forming the command word. Returns `text` with each such `{` (at a
/// command start and followed by a non-blank) replaced by a same-length
/// word character, so the grammar parses it as a word. Only the tree comes
/// from the repaired text; words are still read from the original, so the
/// brace is expanded as bash would. `None` when there is nothing to repair.
///
/// Also, tree-sitter-bash reads a newline followed by an escaped word
/// (`true⏎\rm -rf /`) as one word, hiding the second line's command inside
/// the first. A backslash that starts a line and escapes a word character
/// is replaced the same way (bash reads `\rm` as the word `rm`), which is
/// harmless inside quotes and here-documents, where such a backslash is
/// plain text either way.
fn repaired_for_grammar(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut changed = false;
    for i in 0..b.len() {
        if b[i] == b'\\' {
            let line_start = b[..i]
                .iter()
                .rev()
                .find(|c| !matches!(c, b' ' | b'\t'))
                .is_some_and(|c| *c == b'\n');
            let escapes_word_char = b.get(i + 1).is_some_and(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
            });
            if line_start && escapes_word_char {
                out[i] = b'_';
                changed = true;
            }
            continue;
        }
        if b[i] != b'{' {
            continue;
        }
        let next = b.get(i + 1).copied();
        if matches!(
            next,
            None | Some(b' ' | b'\t' | b'\n' | b'}' | b';' | b'&' | b'|')
        ) {
            continue;
        }
        // Only at a command start: after the start of text or a control
        // operator, past blanks.
        let before = b[..i].iter().rev().find(|c| !matches!(c, b' ' | b'\t'));
        if matches!(
            before,
            None | Some(b';' | b'&' | b'|' | b'(' | b'\n' | b'{')
        ) {
            out[i] = b'_';
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Longest one tree-sitter parse may take. tree-sitter's error recovery
/// is super-linear on some adversarial inputs (a megabyte of `a|a|…|`
/// takes minutes and tens of gigabytes); a harness whose hook times out
/// lets the command through, so shellgate gives up first and denies
/// ([`ParseError::TooComplex`]). Ordinary commands parse in microseconds,
/// a megabyte of ordinary script in well under this.
pub const PARSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Inputs up to this many bytes are parsed on the calling thread: the
/// worst case found at this size takes tens of milliseconds, and a thread
/// per parse would double the cost of an ordinary decision.
const INLINE_PARSE_BYTES: usize = 4096;

/// Parses `text` once on a worker thread and waits at most
/// [`PARSE_DEADLINE`]; None when the parse did not finish in time. The
/// slow phase of tree-sitter's error recovery does not call the progress
/// callback, so the caller does not wait for it: on time-out the worker is
/// told to stop (at its next progress callback) and left to finish alone.
fn parse_bounded(text: &str) -> Option<tree_sitter::Tree> {
    use std::sync::atomic::{AtomicBool, Ordering};
    if text.len() <= INLINE_PARSE_BYTES {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_bash::LANGUAGE.into())
            .ok()?;
        return parser.parse(text, None);
    }
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = text.to_string();
    let flag = Arc::clone(&stop);
    let worker = std::thread::Builder::new()
        .name("shellgate-parse".into())
        .spawn(move || {
            let mut parser = Parser::new();
            if parser
                .set_language(&tree_sitter_bash::LANGUAGE.into())
                .is_err()
            {
                let _ = tx.send(None);
                return;
            }
            let mut progress = |_: &tree_sitter::ParseState| flag.load(Ordering::Relaxed);
            let bytes = owned.as_bytes();
            let tree = parser.parse_with_options(
                &mut |i, _| bytes.get(i..).unwrap_or_default(),
                None,
                Some(tree_sitter::ParseOptions::new().progress_callback(&mut progress)),
            );
            let _ = tx.send(tree);
        });
    if worker.is_err() {
        return None;
    }
    match rx.recv_timeout(PARSE_DEADLINE) {
        Ok(tree) => tree,
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            None
        }
    }
}

/// Parses `text` with tree-sitter-bash. Returns the tree, or the span and
/// description of the first ERROR or MISSING node.
pub(crate) fn parse_tree(text: &str) -> Result<tree_sitter::Tree, ParseError> {
    let mut tree = parse_bounded(text).ok_or(ParseError::TooComplex)?;
    let mut across = word_across_lines(tree.root_node(), text).map(|n| n.byte_range());
    if tree.root_node().has_error() || across.is_some() {
        if let Some(repaired) = repaired_for_grammar(text) {
            if let Some(t) = parse_bounded(&repaired) {
                if !t.root_node().has_error() && word_across_lines(t.root_node(), text).is_none() {
                    tree = t;
                    across = None;
                }
            }
        }
    }
    if let Some(bad) = across.filter(|_| !tree.root_node().has_error()) {
        // An unquoted, unescaped newline ends a command in bash; a word
        // holding one means the grammar misread the text.
        return Err(ParseError::Syntax {
            span: Span::new(bad.start, bad.end),
            message: "a line starts with text the parser joined to the line before".into(),
        });
    }
    if !tree.root_node().has_error()
        && tree_depth(tree.root_node()) <= crate::second_opinion::MAX_COMPARED_DEPTH
    {
        if let Some(at) = crate::second_opinion::disagreement(tree.root_node(), text) {
            let rest = text.get(at..).unwrap_or("");
            let end = rest
                .find(|c: char| c.is_whitespace())
                .map_or(text.len(), |e| at + e);
            return Err(ParseError::Syntax {
                span: Span::new(at, end.max(at + 1).min(text.len())),
                message: format!(
                    "tree-sitter-bash and brush-parser disagree on whether `{}` starts a command",
                    text.get(at..end)
                        .unwrap_or("")
                        .chars()
                        .take(40)
                        .collect::<String>()
                ),
            });
        }
    }

    let root = tree.root_node();
    if root.has_error() {
        let bad = first_error(root).unwrap_or(root);
        let what = if bad.is_missing() {
            format!("missing `{}`", bad.kind())
        } else {
            "unexpected text".to_string()
        };
        let snippet: String = text
            .get(bad.byte_range())
            .unwrap_or("")
            .chars()
            .take(40)
            .collect();
        return Err(ParseError::Syntax {
            span: Span::new(bad.start_byte(), bad.end_byte()),
            message: if snippet.is_empty() {
                what
            } else {
                format!("{what} near `{snippet}`")
            },
        });
    }
    Ok(tree)
}

/// The first `word` node whose text holds a newline that no backslash
/// escapes: bash never reads such a word.
fn word_across_lines<'t>(root: Node<'t>, text: &str) -> Option<Node<'t>> {
    if !text.contains('\n') {
        return None;
    }
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.kind() == "word" {
            let raw = text.get(n.byte_range()).unwrap_or("").as_bytes();
            if raw
                .iter()
                .enumerate()
                .any(|(i, c)| *c == b'\n' && (i == 0 || raw[i - 1] != b'\\'))
            {
                return Some(n);
            }
            continue;
        }
        stack.extend(n.children(&mut cursor));
    }
    None
}

fn first_error(root: Node) -> Option<Node> {
    let mut cursor = root.walk();
    loop {
        let n = cursor.node();
        if n.is_error() || n.is_missing() {
            return Some(n);
        }
        if n.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return None;
            }
        }
    }
}

/// Depth of the deepest node, computed without recursion.
pub(crate) fn tree_depth(root: Node) -> usize {
    let mut cursor = root.walk();
    let mut depth = 0usize;
    let mut max = 0usize;
    loop {
        max = max.max(depth);
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return max;
            }
            depth -= 1;
        }
    }
}

impl<'o> Lowerer<'o> {
    pub(crate) fn new(top: &'o str, out: &'o mut Script, opts: &'o Options) -> Self {
        Lowerer {
            top,
            out,
            opts,
            next_subst: 0,
            called: Default::default(),
            aborted: false,
            active_depth: 0,
            expanded: 0,
            glob_entries: MAX_GLOB_ENTRIES,
            nested_count: 0,
            ps_output: Default::default(),
            aliases: Default::default(),
            alias_stack: Vec::new(),
            local_frames: Vec::new(),
            assigning: false,
            jump_frames: Vec::new(),
            loop_depth: 0,
            skip_nodes: Default::default(),
        }
    }

    /// Lowers a whole top-level program.
    pub(crate) fn program(&mut self, text: &str, root: Node) {
        let src = Src {
            text,
            map: SpanMap::Offset(0),
        };
        let mut st = State {
            cwd: self.opts.cwd.clone(),
            home: self.opts.home.clone(),
            ..Default::default()
        };
        let ctx = Ctx::default();
        self.active_depth = tree_depth(root);
        self.stmts(root, &src, &mut st, &ctx);
        self.uncalled_functions(&mut st, &ctx);
    }

    /// Functions defined but never called are still analysed, as if called
    /// once at the end: a definition is code the agent meant to run.
    fn uncalled_functions(&mut self, st: &mut State, ctx: &Ctx) {
        let defs: Vec<(String, Rc<FuncDef>)> = st
            .functions
            .iter()
            .filter(|(k, _)| !self.called.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, def) in defs {
            self.called.insert(name.clone());
            let mut c = ctx.clone();
            c.origin.push(Origin::Function { name: name.clone() });
            c.aliases_fixed = true;
            let mut s = st.clone();
            s.positional = None; // called with unknown arguments
            let outer = std::mem::replace(&mut self.aliases, def.aliases.clone());
            self.local_frames.push(Default::default());
            self.nested(&def.body, def.map, &mut s, &c, &format!("function {name}"));
            self.local_frames.pop();
            self.aliases = outer;
        }
    }

    fn emit_opaque(&mut self, o: Opaque) {
        if !self.out.opaque.contains(&o) {
            self.out.opaque.push(o);
        }
    }

    fn budget_ok(&mut self, span: Span) -> bool {
        if self.aborted {
            return false;
        }
        if self.out.commands.len() >= MAX_COMMANDS {
            self.aborted = true;
            self.emit_opaque(Opaque::UnanalysedScript {
                span,
                via: "script".into(),
                reason: format!("expands to more than {MAX_COMMANDS} commands"),
            });
            return false;
        }
        true
    }

    /// Lowers the statement children of `node` in sequence; returns the
    /// static output when the node holds exactly one statement with known output.
    fn stmts(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Option<String> {
        let mut cursor = node.walk();
        let kids: Vec<Node> = node
            .named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .collect();
        let mut last = None;
        // Several commands reading one input: what each reads depends on
        // what the ones before consumed.
        let shared;
        let ctx = if kids.len() > 1 && ctx.stdin.is_some() && !ctx.stdin_shared {
            shared = Ctx {
                stdin_shared: true,
                ..ctx.clone()
            };
            &shared
        } else {
            ctx
        };
        // bash reads a script a line at a time: aliases defined on a line
        // take effect from the next line on (bash manual 6.6).
        let by_line = node.kind() == "program" && !ctx.aliases_fixed;
        let outer = by_line.then(|| self.aliases.clone());
        let mut line_end = 0;
        for k in &kids {
            if by_line
                && (line_end == 0
                    || src
                        .text
                        .get(line_end..k.start_byte())
                        .is_some_and(ends_a_line))
            {
                self.aliases = st.aliases.clone();
            }
            let background = k
                .next_sibling()
                .is_some_and(|n| !n.is_named() && src.raw(n) == "&");
            if background {
                // `cmd &` runs in a subshell: its assignments, `cd` and
                // functions do not reach the commands after it (bash
                // manual 3.2.4). Files it writes may exist afterwards.
                let mut sub = st.clone();
                self.stmt(*k, src, &mut sub, ctx);
                st.absorb_files_concurrent(sub);
                last = None;
            } else {
                last = self.stmt(*k, src, st, ctx);
            }
            line_end = k.end_byte().max(1);
        }
        if let Some(o) = outer {
            self.aliases = o;
        }
        if kids.len() == 1 {
            last
        } else {
            None
        }
    }

    /// Lowers one statement. Returns its standard output when statically known.
    fn stmt(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Option<String> {
        if !self.budget_ok(src.span(node)) {
            return None;
        }
        match node.kind() {
            "command" => self.command(node, &[], src, st, ctx),
            "redirected_statement" => self.redirected(node, src, st, ctx),
            "pipeline" => self.pipeline(node, src, st, ctx, Vec::new(), Vec::new()),
            "list" => {
                self.list(node, src, st, ctx);
                None
            }
            "subshell" => {
                let mut inner = st.clone();
                let out = self.stmts(node, src, &mut inner, ctx);
                st.absorb_files(inner);
                out
            }
            "compound_statement" if node.child(0).is_some_and(|k| src.raw(k) == "((") => {
                // `(( expr ))`: substitutions in it run, and so does code in
                // the values of the variables it names (bash manual 6.5).
                self.walk_for_substitutions(node, src, st, ctx);
                self.arith_eval_text(src.raw(node), false, src.span(node), st, ctx);
                None
            }
            "compound_statement" | "do_group" | "program" => self.stmts(node, src, st, ctx),
            "negated_command" => {
                self.stmts(node, src, st, ctx);
                None
            }
            "variable_assignment" => {
                self.assignment_stmt(node, src, st, ctx);
                None
            }
            "variable_assignments" => {
                let mut cursor = node.walk();
                for a in node.named_children(&mut cursor) {
                    self.assignment_stmt(a, src, st, ctx);
                }
                None
            }
            "declaration_command" => {
                self.declaration(node, src, st, ctx);
                None
            }
            "unset_command" => {
                let span = src.span(node);
                let mut argv = vec![Word::literal("unset", span)];
                let mut cursor = node.walk();
                let kids: Vec<Node> = node.named_children(&mut cursor).collect();
                for a in kids {
                    argv.extend(self.words(a, src, st, ctx));
                }
                let stdin = ctx.stdin.clone().unwrap_or(Stdin::Inherited);
                self.builtin("unset", &argv, &[], span, src, st, ctx, &stdin)
                    .flatten()
            }
            "function_definition" => {
                self.function_definition(node, None, src, st);
                None
            }
            "if_statement" => {
                self.if_statement(node, src, st, ctx);
                None
            }
            "case_statement" => {
                self.case_statement(node, src, st, ctx);
                None
            }
            "while_statement" | "until_statement" | "c_style_for_statement" => {
                self.jump_frames.push(Vec::new());
                self.loop_fixpoint(st, |me, st| {
                    me.stmts(node, src, st, ctx);
                });
                self.merge_jumps(st);
                None
            }
            "for_statement" => {
                self.jump_frames.push(Vec::new());
                self.for_statement(node, src, st, ctx);
                self.merge_jumps(st);
                None
            }
            _ => {
                // test commands, arithmetic commands and anything else: their
                // words may hold substitutions, which run.
                self.walk_for_substitutions(node, src, st, ctx);
                if node.kind() == "test_command" {
                    self.test_arithmetic(node, src, st, ctx);
                }
                None
            }
        }
    }

    /// `[[ A -eq B ]]` evaluates both operands, after expansion, as
    /// arithmetic expressions (bash manual 3.2.5.2): a value such as
    /// `a[$(cmd)]` runs `cmd`.
    fn test_arithmetic(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        let mut stack = vec![node];
        let mut cursor = node.walk();
        while let Some(n) = stack.pop() {
            let kids: Vec<Node> = n.children(&mut cursor).collect();
            let arithmetic = n.kind() == "binary_expression"
                && kids
                    .iter()
                    .any(|k| matches!(src.raw(*k), "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"));
            if arithmetic {
                for k in kids.iter().filter(|k| k.kind() != "test_operator") {
                    let words = self.words(*k, src, st, ctx);
                    for w in words {
                        if !w.dynamic {
                            self.arith_eval_text(&w.text, true, w.span, st, ctx);
                        }
                    }
                }
            } else {
                stack.extend(kids);
            }
        }
    }

    /// Arithmetic evaluation of `text` (bash manual 6.5): each variable it
    /// names is evaluated in turn, so code hidden in a value (`x='a[$(cmd)]'`
    /// then `(( x ))`) runs. Such code is lowered as a nested script; each
    /// variable is followed once.
    ///
    /// `is_value`: `text` is a value (an expanded word), whose own
    /// substitutions run; otherwise it is source text, whose substitutions
    /// the caller lowers.
    fn arith_eval_text(
        &mut self,
        text: &str,
        is_value: bool,
        span: Span,
        st: &mut State,
        ctx: &Ctx,
    ) {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![(text.to_string(), is_value)];
        while let Some((t, value)) = todo.pop() {
            if assigns_in_arithmetic(&t) {
                // `i++`, `i=1`, `i+=2` …: the names it may assign are unknown.
                for name in identifiers(&t) {
                    if st.vars.contains_key(name) {
                        st.set(name, None);
                    }
                }
            }
            if value && (t.contains("$(") || t.contains('`')) {
                self.expand_text(&t, span, st, ctx, "arithmetic evaluation");
            }
            for name in identifiers(&t) {
                if seen.len() > 64 || !seen.insert(name.to_string()) {
                    continue;
                }
                if let Some(vals) = st.elements(name) {
                    todo.extend(vals.into_iter().map(|v| (v, true)));
                }
            }
        }
    }

    /// tree-sitter-bash leaves some text that bash expands as a plain leaf
    /// (the pattern in `${x#$(cmd)}`, the word in `${x:=`cmd`}`). When a leaf
    /// holds an unescaped `$(`, `` ` ``, `<(` or `>(`, its text is lowered as
    /// a word so that the substitutions in it are seen. Returns true then.
    fn leaf_substitutions(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> bool {
        let raw = src.raw(node);
        let b = raw.as_bytes();
        let hit = (0..b.len()).any(|i| {
            let escaped = i > 0 && b[i - 1] == b'\\';
            !escaped
                && (b[i] == b'`'
                    || (b[i..].starts_with(b"$("))
                    || ((b[i] == b'<' || b[i] == b'>') && b.get(i + 1) == Some(&b'(')))
        });
        if !hit {
            return false;
        }
        let mut inner = st.clone();
        self.nested(
            &format!(": {raw}"),
            SpanMap::Fixed(src.span(node)),
            &mut inner,
            ctx,
            "expansion",
        );
        true
    }

    /// The pieces of an unquoted leaf word whose `$NAME` / `${NAME}`
    /// expansions the grammar did not parse, with known values expanded
    /// (subject to word splitting, bash manual 3.5.7). `None` for another
    /// form of `$` or an unknown value.
    fn leaf_parameters(&mut self, raw: &str, st: &State) -> Option<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut rest = raw;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('\\') {
                let n = after.chars().next().map_or(0, char::len_utf8);
                push_unquoted(&mut pieces, &rest[..1 + n]);
                rest = &after[n..];
                continue;
            }
            let Some(after) = rest.strip_prefix('$') else {
                let n = rest.chars().next().map_or(1, char::len_utf8);
                push_unquoted(&mut pieces, &rest[..n]);
                rest = &rest[n..];
                continue;
            };
            let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
                let end = inner.find('}')?;
                (&inner[..end], &inner[end + 1..])
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return None;
            }
            let value = st.get(name)?;
            if !self.expansion_ok(&value, st, false) {
                return None;
            }
            push_str(&mut pieces, &value, false, true);
            rest = tail;
        }
        Some(pieces)
    }

    /// Runs substitutions found anywhere below `node` (for constructs whose
    /// own meaning is harmless, such as `[[ … ]]` and `(( … ))`).
    fn walk_for_substitutions(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        if node.named_child_count() == 0 {
            self.leaf_substitutions(node, src, st, ctx);
            return;
        }
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        for k in kids {
            match k.kind() {
                "command_substitution" | "process_substitution" => {
                    self.word_pieces(k, src, st, ctx, false);
                }
                "command"
                | "pipeline"
                | "list"
                | "redirected_statement"
                | "subshell"
                | "compound_statement" => {
                    self.stmt(k, src, st, ctx);
                }
                _ => self.walk_for_substitutions(k, src, st, ctx),
            }
        }
    }

    /// `a && b || c`: each element runs in the state left by the previous
    /// ones; after the list, any prefix may have been the last to run.
    /// An AND/OR list (bash manual 3.2.4): every command is lowered, each
    /// from the state it can start in (`b` in `a && b` after `a`
    /// succeeded, `c` in `a && b || c` after `a` or `b` failed), and the
    /// result is what holds on any path.
    fn list(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        let (ok, fail) = self.list_paths(node, src, st.clone(), ctx);
        *st = State::merge(&[ok, fail]);
    }

    /// The states after `node` when its last command succeeded and failed.
    fn list_paths(&mut self, node: Node, src: &Src, st: State, ctx: &Ctx) -> (State, State) {
        let mut cursor = node.walk();
        let kids: Vec<Node> = node
            .children(&mut cursor)
            .filter(|k| k.kind() != "comment")
            .collect();
        let op = kids
            .iter()
            .position(|k| !k.is_named() && matches!(src.raw(*k), "&&" | "||"));
        let run = |me: &mut Self, n: Node, s: State| -> (State, State) {
            if n.kind() == "list" {
                me.list_paths(n, src, s, ctx)
            } else {
                let mut s = s;
                me.stmt(n, src, &mut s, ctx);
                (s.clone(), s)
            }
        };
        let Some(oi) = op else {
            let mut s = st;
            for k in kids.iter().filter(|k| k.is_named()) {
                let (a, b) = run(self, *k, s);
                s = State::merge(&[a, b]);
            }
            return (s.clone(), s);
        };
        let (Some(left), Some(right)) = (
            kids[..oi].iter().rev().find(|k| k.is_named()),
            kids[oi + 1..].iter().find(|k| k.is_named()),
        ) else {
            return (st.clone(), st);
        };
        let (ok, fail) = run(self, *left, st);
        if src.raw(kids[oi]) == "&&" {
            let (ok2, fail2) = run(self, *right, ok);
            (ok2, State::merge(&[fail, fail2]))
        } else {
            let (ok2, fail2) = run(self, *right, fail);
            (State::merge(&[ok, ok2]), fail2)
        }
    }

    fn pipeline(
        &mut self,
        node: Node,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
        last: Vec<Redirect>,
        extra: Vec<Node>,
    ) -> Option<String> {
        let mut cursor = node.walk();
        let mut stages: Vec<StageSrc> = node
            .named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .map(StageSrc::Node)
            .collect();
        // Redirections written after a pipeline belong to its last stage.
        if !last.is_empty() || !extra.is_empty() {
            if let Some(StageSrc::Node(n)) = stages.pop() {
                stages.push(StageSrc::Redirected {
                    node: n,
                    redirects: last,
                    extra,
                });
            }
        }
        self.stages(stages, src, st, ctx)
    }

    /// Lowers pipeline stages: each runs in a subshell with the output of
    /// the earlier stages on its standard input (bash manual 3.2.3).
    fn stages(
        &mut self,
        stages: Vec<StageSrc>,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<String> {
        if stages.len() > MAX_PIPELINE_STAGES {
            let span = match (stages.first(), stages.last()) {
                (Some(a), Some(b)) => {
                    let (a, b) = (src.span(a.node()), src.span(b.node()));
                    Span::new(a.start, b.end)
                }
                _ => Span::new(0, 0),
            };
            self.aborted = true;
            self.emit_opaque(Opaque::UnanalysedScript {
                span,
                via: "pipeline".into(),
                reason: format!("has more than {MAX_PIPELINE_STAGES} stages"),
            });
            return None;
        }
        let pid = self.out.pipelines.len();
        self.out.pipelines.push(stages.len());
        let mut data: Option<String> = None;
        let first_cmd = self.out.commands.len();
        let total = stages.len();
        for (i, stage) in stages.into_iter().enumerate() {
            let mut c = ctx.clone();
            c.stages.push(Stage {
                pipeline: pid,
                index: i,
            });
            if i > 0 {
                let producers: Vec<CommandId> = self.out.commands[first_cmd..]
                    .iter()
                    .filter(|cmd| cmd.stages.iter().any(|s| s.pipeline == pid && s.index < i))
                    .map(|cmd| cmd.id)
                    .collect();
                c.stdin_shared = false;
                c.stdin = Some(Stdin::Pipe {
                    producers,
                    data: data.take(),
                });
            }
            // Each stage runs in a subshell: its state changes do not
            // persist, except the last one's under `shopt -s lastpipe`.
            let last = i + 1 == total;
            if last && st.lastpipe && total > 1 {
                data = match stage {
                    StageSrc::Node(n) => self.stmt(n, src, st, &c),
                    StageSrc::Redirected {
                        node,
                        redirects,
                        extra,
                    } => self.with_redirects(node, redirects, extra, src, st, &c),
                };
                continue;
            }
            let mut inner = st.clone();
            data = match stage {
                StageSrc::Node(n) => self.stmt(n, src, &mut inner, &c),
                StageSrc::Redirected {
                    node,
                    redirects,
                    extra,
                } => self.with_redirects(node, redirects, extra, src, &mut inner, &c),
            };
            // Files it writes are on disk for the commands after it.
            st.absorb_files(inner);
        }
        data
    }

    fn redirected(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Option<String> {
        let mut body = None;
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        let mut extra = Vec::new();
        let mut cont = Vec::new();
        let mut reds = Vec::new();
        // tree-sitter-bash reads the `0` of `cmd 0< f` (and `1> f`) as a
        // word of the command; bash reads a number right before `<`/`>` as
        // the descriptor (bash manual 3.6).
        let mut glued_fd: std::collections::HashMap<usize, u32> = Default::default();
        for pair in kids.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let last = a.named_child(a.named_child_count().saturating_sub(1));
            if let Some(l) = last {
                if l.kind() == "number"
                    && l.end_byte() == b.start_byte()
                    && b.kind() == "file_redirect"
                    && b.child(0).is_some_and(|c| c.kind() != "file_descriptor")
                {
                    if let Ok(fd) = src.raw(l).parse::<u32>() {
                        glued_fd.insert(b.id(), fd);
                        self.skip_nodes.insert(l.id());
                    }
                }
            }
        }
        for k in kids {
            match k.kind() {
                "file_redirect" | "heredoc_redirect" | "herestring_redirect" => {
                    let (mut r, more) = self.redirect(k, src, st, ctx);
                    if let Some(fd) = glued_fd.get(&k.id()) {
                        r.fd = Some(*fd);
                    }
                    let more: Vec<Node> = more
                        .into_iter()
                        .filter(|m| !self.skip_nodes.contains(&m.id()))
                        .collect();
                    for m in more {
                        if is_statement(m.kind()) {
                            cont.push(m);
                        } else {
                            extra.push(m);
                        }
                    }
                    reds.push(r);
                }
                _ if body.is_none() => body = Some(k),
                _ => {}
            }
        }
        if let Some(f) = body.filter(|b| b.kind() == "function_definition") {
            self.function_definition(f, Some(node.end_byte()), src, st);
            return None;
        }
        let Some(body) = body else {
            // Redirections alone (`> file`): bash still opens and truncates.
            let mut c = ctx.clone();
            for r in reds {
                apply_stdin(&mut c, &r, self.out, &self.ps_output);
                c.redirects.push(r);
            }
            let stdin = c.stdin.clone().unwrap_or(Stdin::Inherited);
            self.emit(src.span(node), Vec::new(), Vec::new(), &c, st, stdin);
            return None;
        };
        // tree-sitter-bash puts the rest of a here-document's line inside the
        // here-document node: `cat <<EOF | sh` pipes cat (with the here-doc)
        // into sh; `cat <<EOF && x` runs x after it.
        if let Some(first) = cont.first().copied() {
            if first.kind() == "pipeline" && src.raw(first).trim_start().starts_with('|') {
                let mut stages = vec![StageSrc::Redirected {
                    node: body,
                    redirects: reds,
                    extra,
                }];
                let mut c2 = first.walk();
                stages.extend(
                    first
                        .named_children(&mut c2)
                        .filter(|n| n.kind() != "comment")
                        .map(StageSrc::Node),
                );
                let out = self.stages(stages, src, st, ctx);
                for other in &cont[1..] {
                    self.stmt(*other, src, st, ctx);
                }
                return out;
            }
        }
        let out = if body.kind() == "pipeline" {
            self.pipeline(body, src, st, ctx, reds, extra)
        } else {
            self.with_redirects(body, reds, extra, src, st, ctx)
        };
        for k in cont {
            if matches!(k.kind(), "list" | "pipeline")
                && !src
                    .raw(k)
                    .trim_start()
                    .starts_with(|c: char| c.is_alphanumeric())
            {
                self.stmts(k, src, st, ctx);
            } else {
                self.stmt(k, src, st, ctx);
            }
        }
        out
    }

    /// Lowers `body` with `reds` applied (and `extra` words as arguments).
    fn with_redirects(
        &mut self,
        body: Node,
        reds: Vec<Redirect>,
        extra: Vec<Node>,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<String> {
        let mut c = ctx.clone();
        for r in reds {
            apply_stdin(&mut c, &r, self.out, &self.ps_output);
            c.redirects.push(r);
        }
        let out = if body.kind() == "command" {
            self.command(body, &extra, src, st, &c)
        } else {
            for e in extra {
                self.walk_for_substitutions(e, src, st, &c);
            }
            self.stmt(body, src, st, &c)
        };
        // A redirection of stdout means the output does not reach a pipe.
        if c.redirects
            .iter()
            .any(|r| r.writes() && r.fd.is_none_or(|f| f == 1))
        {
            None
        } else {
            out
        }
    }

    /// Lowers a redirection. tree-sitter-bash puts words that follow the
    /// target (`cmd 2>/dev/null -x`) inside the redirection node; bash
    /// treats them as arguments of the command, so they are returned apart.
    fn redirect<'t>(
        &mut self,
        node: Node<'t>,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
    ) -> (Redirect, Vec<Node<'t>>) {
        let span = src.span(node);
        let mut fd = None;
        let mut op = String::new();
        let mut target_pieces = Vec::new();
        let mut target_span: Option<Span> = None;
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        let mut quoted_delim = false;
        let mut extra = Vec::new();
        let mut target_end: Option<usize> = None;
        let mut target_ps = false;
        let mut target_quoted = false;
        for k in kids {
            match k.kind() {
                "file_descriptor" => fd = src.raw(k).parse().ok(),
                "heredoc_start" => {
                    let d = src.raw(k);
                    quoted_delim = d.contains(['\'', '"', '\\']);
                }
                "heredoc_body" => {
                    target_pieces = self.heredoc_pieces(k, src, st, ctx, quoted_delim);
                    target_span = Some(src.span(k));
                }
                "heredoc_end" => {}
                _ if !k.is_named() => {
                    if op.is_empty() {
                        op = src.raw(k).to_string();
                    }
                }
                _ if is_statement(k.kind())
                    || target_end.is_some_and(|e| e < k.start_byte())
                    || !extra.is_empty() =>
                {
                    extra.push(k)
                }
                _ => {
                    let (p, q) = self.word_pieces(k, src, st, ctx, false);
                    target_quoted |= q;
                    target_pieces.extend(p);
                    target_ps = target_span.is_none() && k.kind() == "process_substitution";
                    target_span = Some(target_span.map_or(src.span(k), |s| s.cover(src.span(k))));
                    target_end = Some(k.end_byte());
                }
            }
        }
        let tspan = target_span.unwrap_or(span);
        let mut target = if matches!(op.as_str(), "<<" | "<<-" | "<<<") || target_ps {
            // Here-strings undergo tilde expansion but no brace expansion
            // or word splitting; a here-doc body none of these (bash
            // manual 3.6.6, 3.6.7).
            if op == "<<<" {
                tilde_expand(&mut target_pieces, st, false);
                target_pieces.push(Piece::Char {
                    c: '\n',
                    quoted: true,
                    expanded: false,
                });
            }
            collapse(target_pieces, tspan)
        } else {
            // A file name undergoes brace expansion, tilde expansion and
            // word splitting like an argument; anything but exactly one
            // resulting word is an "ambiguous redirect" (bash manual 3.6:
            // `> {a,}` writes `a`). The conservative reading of an
            // ambiguous target is an unknown one.
            let ifs = st.ifs().unwrap_or_else(|| DEFAULT_IFS.into());
            let tilde = |p: &mut Vec<Piece>| tilde_expand(p, st, false);
            let mut words = finish(
                target_pieces.clone(),
                tspan,
                false,
                target_quoted,
                &ifs,
                &tilde,
            );
            if words.len() == 1 {
                words.remove(0)
            } else {
                tilde_expand(&mut target_pieces, st, false);
                let mut w = collapse(target_pieces, tspan);
                w.dynamic = true;
                w
            }
        };
        // `< <(…)`: the target is a `/dev/fd/N` path to the substitution.
        target.process_substitution = target_ps;
        (
            Redirect {
                span,
                fd,
                op,
                target,
            },
            extra,
        )
    }

    /// The body of a here-document (bash manual 3.6.6): literal when the
    /// delimiter is quoted; otherwise parameter, command and arithmetic
    /// expansion apply and `\` escapes only `$`, `` ` ``, `\` and newline.
    fn heredoc_pieces(
        &mut self,
        body: Node,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
        literal: bool,
    ) -> Vec<Piece> {
        let mut pieces = Vec::new();
        if literal {
            push_str(&mut pieces, src.raw(body), true, false);
            return pieces;
        }
        let mut pos = body.start_byte();
        let mut cursor = body.walk();
        let kids: Vec<Node> = body.named_children(&mut cursor).collect();
        for k in kids {
            if matches!(
                k.kind(),
                "simple_expansion" | "expansion" | "command_substitution" | "arithmetic_expansion"
            ) {
                push_escaped(
                    &mut pieces,
                    src.text.get(pos..k.start_byte()).unwrap_or(""),
                    "$`\\\n",
                );
                let (p, _) = self.word_pieces(k, src, st, ctx, true);
                pieces.extend(p);
                pos = k.end_byte();
            }
        }
        push_escaped(
            &mut pieces,
            src.text.get(pos..body.end_byte()).unwrap_or(""),
            "$`\\\n",
        );
        pieces
    }

    fn assignment_stmt(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        if let Some(a) = self.assignment(node, src, st, ctx) {
            self.exec_env(&a.assignment.name, &a.assignment.value, st, ctx);
            a.apply(st, false);
        }
    }

    /// Lowers `NAME=value`, `NAME+=value`, `NAME=(…)`, `NAME+=(…)` and
    /// `NAME[i]=value` (bash manual 3.4 "Shell Parameters", 6.7 "Arrays").
    fn assignment(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Option<Assigned> {
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        let name_node = kids.first()?;
        let append = kids
            .get(1)
            .is_some_and(|k| !k.is_named() && src.raw(*k) == "+=");
        let values: Vec<Node> = kids.iter().skip(2).copied().collect();
        let (name, index) = match name_node.kind() {
            "variable_name" => (src.raw(*name_node).to_string(), None),
            "subscript" => {
                let n = name_node
                    .named_child(0)
                    .map(|c| src.raw(c).to_string())
                    .unwrap_or_default();
                // The index is expanded too (`a[$(cmd)]=1` runs cmd).
                let i = match name_node.named_child(1) {
                    Some(ix) => self.arith_value(ix, src, st, ctx),
                    None => None,
                };
                (n, Some(i))
            }
            _ => return None,
        };
        let span = src.span(node);
        let mut array = None;
        let value = match values.first() {
            None => Word::literal("", span),
            Some(v) if v.kind() == "array" => {
                let mut cursor = v.walk();
                let elems: Vec<Node> = v.named_children(&mut cursor).collect();
                let mut known = Some(Vec::new());
                for e in elems {
                    if e.kind() == "comment" {
                        continue;
                    }
                    // `[i]=v` elements set explicit indices: not tracked.
                    let explicit = src.raw(e).starts_with('[');
                    let words = self.words(e, src, st, ctx);
                    if explicit || words.iter().any(|w| !w.is_static()) {
                        known = None;
                    }
                    if let Some(k) = known.as_mut() {
                        k.extend(words.into_iter().map(|w| w.text));
                    }
                }
                array = Some(known);
                let mut w = Word::literal(src.raw(*v), src.span(*v));
                w.dynamic = true;
                w
            }
            Some(_) => {
                let mut pieces = Vec::new();
                let outer = std::mem::replace(&mut self.assigning, true);
                for k in &values {
                    let (p, _) = self.word_pieces(*k, src, st, ctx, false);
                    pieces.extend(p);
                }
                self.assigning = outer;
                tilde_expand(&mut pieces, st, true);
                collapse(pieces, span)
            }
        };
        Some(Assigned {
            assignment: Assignment { name, value },
            append,
            index,
            array,
        })
    }

    /// `export`, `declare`, `typeset`, `local`, `readonly` (bash manual 4.2).
    /// Inside a function, `local`, `declare` and `typeset` (without `-g`)
    /// make the variable local: its outer value comes back on return.
    fn declaration(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        let keyword = node
            .child(0)
            .map(|k| src.raw(k).to_string())
            .unwrap_or_default();
        let mut export = keyword == "export";
        let mut opaque_opts = false;
        let mut nameref = false;
        let mut global = false;
        let scoping = matches!(keyword.as_str(), "local" | "declare" | "typeset");
        // `local` outside a function fails after expanding its words.
        let fails = keyword == "local" && self.local_frames.is_empty();
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        for k in kids {
            if fails {
                self.walk_for_substitutions(k, src, st, ctx);
                continue;
            }
            match k.kind() {
                "variable_assignment" => {
                    if let Some(a) = self.assignment(k, src, st, ctx) {
                        if scoping && !global {
                            self.make_local(&a.assignment.name, st);
                        }
                        self.exec_env(&a.assignment.name, &a.assignment.value, st, ctx);
                        a.apply(st, opaque_opts);
                        if export {
                            st.export(&a.assignment.name);
                        }
                        if nameref {
                            st.namerefs.insert(a.assignment.name.clone());
                        }
                    }
                }
                "variable_name" => {
                    let n = src.raw(k).to_string();
                    self.declare_name(&n, scoping && !global, opaque_opts, export, nameref, st);
                }
                _ => {
                    for w in self.words(k, src, st, ctx) {
                        match w.value() {
                            Some(o) if o.starts_with('-') || o.starts_with('+') => {
                                let on = o.starts_with('-');
                                if on && o.contains('x') {
                                    export = true;
                                }
                                if on && o.contains('g') {
                                    global = true;
                                }
                                if on && o.contains('n') {
                                    nameref = true;
                                }
                                if o[1..]
                                    .chars()
                                    .any(|c| !matches!(c, 'x' | 'r' | 'g' | 'p' | 'f' | 'F' | 'a'))
                                {
                                    // -A, -i, -l, -u, -n change what the value means.
                                    opaque_opts = true;
                                }
                            }
                            Some(n) if invocation::is_name(n) => {
                                self.declare_name(
                                    n,
                                    scoping && !global,
                                    opaque_opts,
                                    export,
                                    nameref,
                                    st,
                                );
                            }
                            Some(t) if t.contains('=') => {
                                // A quoted assignment word: `declare 'a[0]=v'`.
                                let (lhs, v) = t.split_once('=').unwrap_or((t, ""));
                                let base = lhs.split('[').next().unwrap_or(lhs);
                                if invocation::is_name(base) {
                                    if scoping && !global {
                                        self.make_local(base, st);
                                    }
                                    if lhs == base && !opaque_opts {
                                        st.set(base, Some(v.to_string()));
                                    } else {
                                        st.set_array(base, None);
                                    }
                                    if export {
                                        st.export(base);
                                    }
                                } else {
                                    st.forget_all();
                                }
                            }
                            _ => {
                                // A dynamic word may assign any variable.
                                if w.dynamic {
                                    st.forget_all();
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A name declared without a value (`local x`, `declare -n r`).
    fn declare_name(
        &mut self,
        n: &str,
        local: bool,
        opaque: bool,
        export: bool,
        nameref: bool,
        st: &mut State,
    ) {
        if local && !self.local_frames.is_empty() {
            self.make_local(n, st);
            // A new local starts unset.
            st.set_array(n, Some(Vec::new()));
        }
        if opaque {
            st.set_array(n, None);
        }
        if export {
            st.export(n);
        }
        if nameref {
            st.namerefs.insert(n.to_string());
        }
    }

    /// Inside a function, remembers `name`'s outer value so that it comes
    /// back when the function returns (bash manual 3.3, `local`).
    fn make_local(&mut self, name: &str, st: &State) {
        if let Some(frame) = self.local_frames.last_mut() {
            frame
                .entry(name.to_string())
                .or_insert_with(|| st.vars.get(name).cloned());
        }
    }

    /// Defines a function (bash manual 3.3). `until` extends the body to
    /// that byte: redirections written after the definition
    /// (`f() { …; } <<< text`) apply each time it runs.
    fn function_definition(&mut self, node: Node, until: Option<usize>, src: &Src, st: &mut State) {
        let Some(name) = node
            .child_by_field_name("name")
            .map(|n| src.raw(n).to_string())
        else {
            return;
        };
        let Some(body) = node.child_by_field_name("body") else {
            return;
        };
        let map = match src.map {
            SpanMap::Offset(o) => SpanMap::Offset(o + body.start_byte()),
            f => f,
        };
        st.define_function(
            &name,
            Some(Rc::new(FuncDef {
                body: src
                    .text
                    .get(body.start_byte()..until.unwrap_or(node.end_byte()).max(body.end_byte()))
                    .unwrap_or("")
                    .to_string(),
                map,
                aliases: self.aliases.clone(),
            })),
        );
        self.called.remove(&name);
    }

    fn if_statement(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        // Children: `if` cond… `then` body… (elif_clause | else_clause)* `fi`.
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        let mut in_body = false;
        let mut branch: Option<State> = None;
        let mut ends = Vec::new();
        let mut has_else = false;
        for k in kids {
            match k.kind() {
                "then" => {
                    in_body = true;
                    branch = Some(st.clone());
                }
                "elif_clause" | "else_clause" => {
                    if let Some(b) = branch.take() {
                        ends.push(b);
                    }
                    has_else |= k.kind() == "else_clause";
                    let mut s = st.clone();
                    if k.kind() == "elif_clause" {
                        self.if_statement(k, src, &mut s, ctx);
                    } else {
                        self.stmts(k, src, &mut s, ctx);
                    }
                    ends.push(s);
                }
                _ if k.is_named() && k.kind() != "comment" => {
                    if in_body {
                        if let Some(b) = branch.as_mut() {
                            self.stmt(k, src, b, ctx);
                        }
                    } else {
                        self.stmt(k, src, st, ctx);
                    }
                }
                _ => {}
            }
        }
        if let Some(b) = branch.take() {
            ends.push(b);
        }
        if !has_else {
            ends.push(st.clone());
        }
        *st = State::merge(&ends);
    }

    fn case_statement(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        if let Some(v) = node.child_by_field_name("value") {
            self.word_pieces(v, src, st, ctx, false);
        }
        let mut ends = vec![st.clone()];
        let mut cursor = node.walk();
        let items: Vec<Node> = node
            .named_children(&mut cursor)
            .filter(|n| n.kind() == "case_item")
            .collect();
        // The state a `;&` or `;;&` item leaves flows into the next item
        // (bash manual 3.2.5.2).
        let mut carried: Option<State> = None;
        for item in items {
            let mut s = match carried.take() {
                Some(prev) => State::merge(&[st.clone(), prev]),
                None => st.clone(),
            };
            let mut c2 = item.walk();
            let kids: Vec<Node> = item.named_children(&mut c2).collect();
            let value_ids: Vec<usize> = {
                let mut c3 = item.walk();
                item.children_by_field_name("value", &mut c3)
                    .map(|n| n.id())
                    .collect()
            };
            for k in kids {
                if value_ids.contains(&k.id()) {
                    self.word_pieces(k, src, &mut s, ctx, false);
                } else if k.kind() != "comment" {
                    self.stmt(k, src, &mut s, ctx);
                }
            }
            let falls_through = {
                let mut c4 = item.walk();
                let through = item
                    .children(&mut c4)
                    .any(|k| !k.is_named() && matches!(src.raw(k), ";&" | ";;&"));
                through
            };
            if falls_through {
                carried = Some(s.clone());
            }
            ends.push(s);
        }
        *st = State::merge(&ends);
    }

    /// Lowers a loop whose body may run any number of times: the body is
    /// first lowered into scratch space until the state it leaves is stable,
    /// then lowered for real from that state.
    fn loop_fixpoint(&mut self, st: &mut State, body: impl Fn(&mut Self, &mut State)) {
        let mut entry = st.clone();
        // Each level of nested loops multiplies the scratch passes: deeper
        // than a few levels, forget what is known instead of iterating.
        self.loop_depth += 1;
        let passes = if self.loop_depth > MAX_ITERATED_LOOP_DEPTH {
            entry.forget_all();
            entry.cwd = None;
            0
        } else {
            4
        };
        for _ in 0..passes {
            let mark = (
                self.out.commands.len(),
                self.out.pipelines.len(),
                self.out.opaque.len(),
                self.aborted,
            );
            let mut s = entry.clone();
            body(self, &mut s);
            self.out.commands.truncate(mark.0);
            self.out.pipelines.truncate(mark.1);
            self.out.opaque.truncate(mark.2);
            self.aborted = mark.3;
            let merged = State::merge(&[entry.clone(), s]);
            if merged.vars == entry.vars
                && merged.cwd == entry.cwd
                && merged.positional == entry.positional
                && merged.files == entry.files
                && merged.function_alts.len() == entry.function_alts.len()
            {
                break;
            }
            entry = merged;
        }
        let mut s = entry.clone();
        body(self, &mut s);
        *st = State::merge(&[entry, s]);
        self.loop_depth -= 1;
    }

    fn for_statement(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        let var = node
            .child_by_field_name("variable")
            .map(|n| src.raw(n).to_string())
            .unwrap_or_default();
        let body = node.child_by_field_name("body");
        let mut values: Vec<Word> = Vec::new();
        let mut has_in = false;
        let mut cursor = node.walk();
        let value_nodes: Vec<Node> = node.children_by_field_name("value", &mut cursor).collect();
        for v in value_nodes {
            has_in = true;
            values.extend(self.words(v, src, st, ctx));
        }
        let Some(body) = body else { return };
        let all_static = has_in && values.len() <= 32 && values.iter().all(|w| w.is_static());
        if all_static {
            // Unrolled: each iteration sees the value it gets in bash.
            let before = st.clone();
            for v in &values {
                st.set(&var, Some(v.text.clone()));
                self.stmt(body, src, st, ctx);
            }
            if values.is_empty() {
                *st = before;
            }
        } else {
            st.set(&var, None);
            self.loop_fixpoint(st, |me, s| {
                s.set(&var, None);
                me.stmt(body, src, s, ctx);
            });
        }
    }

    /// Lowers a `command` node: prefix assignments, words, redirections.
    /// `extra` are argument words tree-sitter-bash placed inside a following
    /// redirection (see [`Lowerer::redirect`]).
    fn command(
        &mut self,
        node: Node,
        extra: &[Node],
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<String> {
        let span = src.span(node);
        if let Some((name, text)) = self.alias_expansion(node, extra, src) {
            // The command as bash reads it after alias substitution.
            let mut c = ctx.clone();
            c.aliases_fixed = true;
            self.alias_stack.push(name.clone());
            if self.aliases.expand.is_some() {
                self.nested(
                    &text,
                    SpanMap::Fixed(span),
                    st,
                    &c,
                    &format!("alias {name}"),
                );
                self.alias_stack.pop();
                return None;
            }
            // Whether the shell expands aliases is not known (the harness's
            // shell, or `bash -c`, where they are off): both readings count.
            let mut expanded = st.clone();
            self.nested(
                &text,
                SpanMap::Fixed(span),
                &mut expanded,
                &c,
                &format!("alias {name}"),
            );
            let out = self.command(node, extra, src, st, ctx);
            self.alias_stack.pop();
            *st = State::merge(&[st.clone(), expanded]);
            return out;
        }
        let mut assigns = Vec::new();
        let mut redirects = Vec::new();
        let mut groups: Vec<Vec<Node>> = Vec::new();
        let mut c = ctx.clone();
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        let mut last_end = None;
        let mut moved: Vec<Node> = Vec::new();
        for k in kids {
            match k.kind() {
                "variable_assignment" => {
                    if let Some(a) = self.assignment(k, src, st, ctx) {
                        assigns.push(a);
                    }
                }
                "file_redirect" | "heredoc_redirect" | "herestring_redirect" => {
                    let (r, more) = self.redirect(k, src, st, ctx);
                    moved.extend(more);
                    apply_stdin(&mut c, &r, self.out, &self.ps_output);
                    redirects.push(r);
                }
                "comment" => {}
                _ if self.skip_nodes.contains(&k.id()) => {}
                "command_name" => {
                    groups.push(vec![k]);
                    last_end = Some(k.end_byte());
                }
                _ => {
                    // Adjacent nodes with no blank between them form one word
                    // (e.g. `$` followed by a string in `$"…"`).
                    if last_end == Some(k.start_byte()) && !groups.is_empty() {
                        if let Some(g) = groups.last_mut() {
                            g.push(k);
                        }
                    } else {
                        groups.push(vec![k]);
                    }
                    last_end = Some(k.end_byte());
                }
            }
        }
        // Words after redirection targets are arguments, in source order.
        groups.extend(
            moved
                .into_iter()
                .chain(extra.iter().copied())
                .map(|n| vec![n]),
        );
        let mut argv = Vec::new();
        for g in groups {
            let mut pieces = Vec::new();
            let mut had_quotes = false;
            let mut gspan: Option<Span> = None;
            let mut ps = false;
            let g = split_dollar_word(g);
            let mut skip_next = false;
            for (i, n) in g.iter().enumerate() {
                if std::mem::take(&mut skip_next) {
                    continue;
                }
                // tree-sitter-bash ends a concatenation at a bare `$` and
                // puts the name after it in the next word (`a$X-b$X/c`):
                // bash reads `$X` there as a parameter expansion.
                if !n.is_named() && n.kind() == "$" {
                    if let Some(next) = g
                        .get(i + 1)
                        .filter(|k| k.kind() == "word" && k.start_byte() == n.end_byte())
                    {
                        let text = format!("${}", src.raw(*next));
                        let p = self.leaf_parameters(&text, st).unwrap_or_else(|| {
                            vec![Piece::Unknown {
                                src: text.clone(),
                                substs: Vec::new(),
                            }]
                        });
                        pieces.extend(p);
                        gspan = Some(gspan.map_or(src.span(*n), |s| s.cover(src.span(*next))));
                        skip_next = true;
                        continue;
                    }
                }
                let target = if n.kind() == "command_name" {
                    n.named_child(0).unwrap_or(*n)
                } else {
                    *n
                };
                if target.kind() == "process_substitution" && g.len() == 1 {
                    ps = true;
                }
                if !target.is_named() && target.kind() == "$" {
                    // `$"…"`: the `$` only marks a translatable string.
                    gspan = Some(src.span(*n));
                    continue;
                }
                let (p, q) = self.word_pieces(target, src, st, &c, false);
                pieces.extend(p);
                had_quotes |= q;
                gspan = Some(gspan.map_or(src.span(*n), |s| s.cover(src.span(*n))));
            }
            let ifs = st.ifs().unwrap_or_else(|| DEFAULT_IFS.into());
            let first = argv.is_empty();
            let tilde = |p: &mut Vec<Piece>| tilde_expand(p, st, false);
            // The command word's pieces are kept for resolving a glob in it.
            let kept = first.then(|| pieces.clone());
            let words = finish(pieces, gspan.unwrap_or(span), ps, had_quotes, &ifs, &tilde);
            if let Some(mut pieces) =
                kept.filter(|_| words.len() == 1 && words[0].glob && !words[0].dynamic)
            {
                tilde_expand(&mut pieces, st, false);
                argv.extend(self.command_glob(&pieces, &words[0], st));
            } else {
                argv.extend(words);
            }
        }
        let stdin = c
            .stdin
            .clone()
            .or_else(|| st.exec_stdin.clone())
            .unwrap_or(Stdin::Inherited);
        c.redirects.extend(redirects);
        if argv.is_empty() {
            // Only assignments (and redirections): they set shell variables.
            for a in &assigns {
                a.apply(st, false);
            }
            let assigns = assigns.into_iter().map(|a| a.assignment).collect();
            if !c.redirects.is_empty() {
                self.emit(span, Vec::new(), assigns, &c, st, stdin);
            }
            return None;
        }
        let assigns: Vec<Assignment> = assigns.into_iter().map(|a| a.assignment).collect();
        // Checked once here, where the assignments are written; `run`
        // recurses through wrappers with the same list.
        for a in &assigns {
            self.exec_env(&a.name, &a.value, st, &c);
        }
        self.run(argv, assigns, span, src, st, &c, stdin, true)
    }

    /// A command word with pattern characters (`/bin/r?`): bash replaces
    /// it by the matching file names (bash manual 3.5.8), the first of which
    /// is run. The matches on this machine are returned, so the command is
    /// analysed as what it would run now; the word stays a
    /// [`Opaque::DynamicCommandName`] finding either way, since the script
    /// may create other matching files first.
    ///
    /// The globs of one input read at most [`MAX_GLOB_ENTRIES`] directory
    /// entries in all (a pattern such as `/*/*/*/x` would otherwise walk a
    /// tree, and a script may repeat it); beyond
    /// that, or with more than [`MAX_GLOB_MATCHES`] matches, the word is left
    /// dynamic, as when nothing matches.
    fn command_glob(&mut self, pieces: &[Piece], word: &Word, st: &State) -> Vec<Word> {
        let Some(full) = bash_pattern(pieces)
            .and_then(|p| crate::pathglob::absolute(&p, st.cwd.as_deref()))
            .and_then(|p| crate::pathglob::bash_to_glob(&p))
        else {
            return vec![word.clone()];
        };
        let Ok(paths) = crate::pathglob::expand(&full, &mut self.glob_entries, MAX_GLOB_MATCHES)
        else {
            return vec![word.clone()];
        };
        let mut out = Vec::new();
        let prefix_len = if word.text.starts_with('/') {
            0
        } else {
            // The cwd and its `/` (just `/` when the cwd is the root).
            st.cwd
                .as_ref()
                .map_or(0, |c| c.trim_end_matches('/').len() + 1)
        };
        for t in &paths {
            out.push(Word::literal(t.get(prefix_len..).unwrap_or(t), word.span));
        }
        if out.is_empty() {
            // Left as a dynamic word: `run` reports it.
            return vec![word.clone()];
        }
        self.emit_opaque(Opaque::DynamicCommandName {
            span: word.span,
            text: word.text.clone(),
            producers: Vec::new(),
        });
        out
    }

    /// Alias substitution (bash manual 6.6): when the command word is an
    /// unquoted alias name in effect, returns the alias and the command's
    /// text with the alias's value in its place. A value ending in a blank
    /// makes the next word subject to alias substitution too.
    fn alias_expansion(
        &mut self,
        node: Node,
        extra: &[Node],
        src: &Src,
    ) -> Option<(String, String)> {
        if !self.aliases.active() || self.aliases.defs.is_empty() {
            return None;
        }
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        let at = kids.iter().position(|k| k.kind() == "command_name")?;
        let plain = |n: Node| -> Option<String> {
            let n = if n.kind() == "command_name" {
                n.named_child(0)?
            } else {
                n
            };
            let raw = src.raw(n);
            (n.kind() == "word"
                && !raw.is_empty()
                && !raw.contains(|c: char| "\\'\"$`=/".contains(c) || c.is_whitespace()))
            .then(|| raw.to_string())
        };
        let mut text = src
            .text
            .get(node.start_byte()..kids[at].start_byte())?
            .to_string();
        let mut first = None;
        let mut i = at;
        let mut pos = kids[at].start_byte();
        while let Some(name) = plain(kids[i]) {
            if self.alias_stack.contains(&name) {
                break;
            }
            let value = match self.aliases.defs.get(&name) {
                None => break,
                Some(None) => {
                    self.emit_opaque(Opaque::Aliases {
                        span: src.span(kids[i]),
                    });
                    break;
                }
                Some(Some(v)) => v.clone(),
            };
            text.push_str(src.text.get(pos..kids[i].start_byte())?);
            text.push_str(&value);
            pos = kids[i].end_byte();
            first.get_or_insert(name);
            if !value.ends_with([' ', '\t']) {
                break;
            }
            i += 1;
            if i >= kids.len() || !kids[i].is_named() {
                break;
            }
        }
        let first = first?;
        text.push_str(src.text.get(pos..node.end_byte())?);
        for e in extra {
            text.push(' ');
            text.push_str(src.raw(*e));
        }
        Some((first, text))
    }

    /// Decides what `argv` runs: functions, builtins that change state or run
    /// code, wrappers and shells; then emits the command. Returns its static
    /// output when known.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        argv: Vec<Word>,
        assigns: Vec<Assignment>,
        span: Span,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
        stdin: Stdin,
        shell_lookup: bool,
    ) -> Option<String> {
        let first = argv.first()?;
        let Some(name) = first.value().map(str::to_string) else {
            let producers = self.out.substitution_commands(&first.substitutions);
            self.emit_opaque(Opaque::DynamicCommandName {
                span: first.span,
                text: first.text.clone(),
                producers,
            });
            self.emit(span, argv, assigns, ctx, st, stdin);
            return None;
        };
        // Reserved words tree-sitter-bash left as a command name
        // (`time { …; }`, `coproc cmd`, `! cmd` after a wrapper).
        if shell_lookup && argv.len() > 1 && matches!(name.as_str(), "{" | "!" | "coproc") {
            let skip = if name == "coproc" && argv.len() > 2 && argv[2].value() == Some("{") {
                3
            } else {
                1
            };
            let rest = argv[skip.min(argv.len() - 1)..].to_vec();
            // A coprocess reads what the shell later writes to it.
            let stdin = if name == "coproc" {
                Stdin::Pipe {
                    data: None,
                    producers: Vec::new(),
                }
            } else {
                stdin
            };
            return self.run(rest, assigns, span, src, st, ctx, stdin, true);
        }
        if shell_lookup && name == "}" {
            return None;
        }
        if shell_lookup && invocation::is_reserved_word(&name) {
            self.emit_opaque(Opaque::UnanalysedScript {
                span: first.span,
                via: name.clone(),
                reason: format!("`{name}` stands where bash expects a command; this compound command could not be modelled"),
            });
            self.emit(span, argv, assigns, ctx, st, stdin);
            return None;
        }
        // A file this same script wrote is being run.
        // (The command itself is still recorded below.)
        let path_changed = st.vars.contains_key("PATH") || assigns.iter().any(|a| a.name == "PATH");
        self.run_written_file(&name, &argv, path_changed, st, ctx);
        self.run_written_recipes(&argv, &stdin, st, ctx);
        // Functions (bash manual 3.3) and builtins are found only for plain names.
        if shell_lookup && !name.contains('/') {
            if st.function_alts.contains_key(&name) && !ctx.skip_functions {
                // Defined differently on different paths: follow each.
                let mut states = Vec::new();
                for alt in st.function_options(&name) {
                    let mut s2 = st.clone();
                    s2.define_function(&name, alt.clone());
                    match alt {
                        Some(def) => {
                            self.call_function(&name, &def, &argv, &assigns, &mut s2, ctx);
                        }
                        None => {
                            self.run(
                                argv.clone(),
                                assigns.clone(),
                                span,
                                src,
                                &mut s2,
                                ctx,
                                stdin.clone(),
                                true,
                            );
                        }
                    }
                    states.push(s2);
                }
                *st = State::merge(&states);
                return None;
            }
            if let Some(def) = st
                .functions
                .get(&name)
                .cloned()
                .filter(|_| !ctx.skip_functions)
            {
                return self.call_function(&name, &def, &argv, &assigns, st, ctx);
            }
            if is_special_builtin(&name) && !assigns.is_empty() {
                // In POSIX mode (sh, `set -o posix`) prefix assignments to
                // special builtins stay set after them (bash manual 6.11):
                // the value afterwards is either.
                for a in &assigns {
                    let new = a.value.value().map(str::to_string);
                    if st.get(&a.name) != new || new.is_none() {
                        st.set(&a.name, None);
                    }
                }
            }
            if let Some(r) = self.builtin(&name, &argv, &assigns, span, src, st, ctx, &stdin) {
                return r;
            }
        }
        if shell_lookup && name == "exec" && argv.len() == 1 {
            // `exec < FILE` with no command: the shell's own standard input
            // is FILE for every command after it (bash manual 4.1, `exec`).
            if stdin != Stdin::Inherited {
                st.exec_stdin = Some(stdin.clone());
            }
        }
        let stdin_data = stdin_data(&stdin);
        if let Some((wrapper, inner)) = invocation::unwrap(&argv, stdin_data.as_deref()) {
            let mut c = ctx.clone();
            c.wrappers.push(wrapper.clone());
            let env_assigns: Vec<Assignment> = wrapper
                .argv
                .iter()
                .filter(|w| {
                    // env(1) takes any NAME=VALUE, even names bash cannot
                    // assign (`BASH_FUNC_f%%=…`); a dynamic word only when
                    // its name part is literal.
                    !w.glob
                        && if w.dynamic {
                            invocation::is_assignment(&w.text)
                        } else {
                            w.text.find('=').is_some_and(|k| k > 0) && !w.text.starts_with('-')
                        }
                })
                .filter_map(|w| {
                    w.text.split_once('=').map(|(n, v)| {
                        let mut value = Word::literal(v, span);
                        value.dynamic = w.dynamic;
                        value.substitutions = w.substitutions.clone();
                        Assignment {
                            name: n.into(),
                            value,
                        }
                    })
                })
                .collect();
            match inner {
                Unwrapped::Command(mut words) => {
                    // `command`, `builtin` and the `time` keyword still reach
                    // builtins and functions; the others exec a program.
                    let lookup = matches!(wrapper.name.as_str(), "command" | "builtin" | "time");
                    c.skip_functions = matches!(wrapper.name.as_str(), "command" | "builtin");
                    if wrapper.name == "time" && shell_lookup && wrapper.argv.len() == 1 {
                        // The `time` keyword times a pipeline whose simple
                        // command may start with assignments (`time x=1`).
                        let mut prefix = Vec::new();
                        while let Some((n, v)) = words
                            .first()
                            .filter(|w| !w.glob && invocation::is_assignment(&w.text))
                            .and_then(|w| w.text.split_once('='))
                        {
                            let mut value = Word::literal(v, words[0].span);
                            value.dynamic = words[0].dynamic;
                            prefix.push(Assignment {
                                name: n.to_string(),
                                value,
                            });
                            words.remove(0);
                        }
                        if words.is_empty() {
                            for a in &prefix {
                                self.exec_env(&a.name, &a.value, st, &c);
                                st.set(&a.name, a.value.value().map(str::to_string));
                            }
                            return None;
                        }
                        let mut all = assigns.clone();
                        all.extend(prefix);
                        return self.run(words, all, span, src, st, &c, stdin, true);
                    }
                    for a in &env_assigns {
                        self.exec_env(&a.name, &a.value, st, &c);
                    }
                    let mut assigns = assigns;
                    assigns.extend(env_assigns);
                    if let Some(dir) = invocation::wrapper_chdir(&wrapper) {
                        // `env -C DIR cmd`: cmd runs in DIR.
                        let mut inner = st.clone();
                        inner.cwd = match dir.value() {
                            Some(d) if d.starts_with('/') => Some(join_path("/", d)),
                            Some(d) => st.cwd.as_ref().map(|c| join_path(c, d)),
                            None => None,
                        };
                        return self.run(words, assigns, span, src, &mut inner, &c, stdin, lookup);
                    }
                    return self.run(words, assigns, span, src, st, &c, stdin, lookup);
                }
                Unwrapped::Script { via, code } => {
                    // `su -c`, `flock -c` and `env -S` pass their standard
                    // input on to the script.
                    let passes_stdin = matches!(wrapper.name.as_str(), "su" | "flock" | "env");
                    let input = passes_stdin.then(|| stdin.clone());
                    self.run_code(&code, &via, st.child_shell(), &c, input);
                    return None;
                }
                Unwrapped::Nothing => {}
            }
        }
        let program = basename(&name).to_string();
        if matches!(program.as_str(), "at" | "batch")
            && !argv
                .iter()
                .skip(1)
                .any(|w| matches!(w.value(), Some("-l" | "-r" | "-d" | "-c" | "-f" | "-V")))
        {
            // at(1) runs the commands on its standard input later, with sh.
            self.run_stdin(&program, &stdin, st.child_shell(), ctx, span);
        }
        if invocation::is_shell(&program) {
            match invocation::shell_code(&argv) {
                ShellCode::String { code, args } => {
                    let mut child = child_shell_for(st, &program, &argv);
                    // `bash -c CODE NAME ARGS…`: ARGS are `$1`… (bash manual 6.1).
                    child.positional = invocation::known_texts(args.get(1..).unwrap_or(&[]));
                    // The script reads the shell's standard input
                    // (`bash -c '. /dev/stdin' <<< …`).
                    self.run_code(
                        &code,
                        &format!("{program} -c"),
                        child,
                        ctx,
                        Some(stdin.clone()),
                    )
                }
                ShellCode::Stdin => {
                    let mut child = child_shell_for(st, &program, &argv);
                    // `sh -s ARGS…`: the words after `-s` are `$1`….
                    let s_flag = argv.iter().skip(1).position(|w| {
                        w.value().is_some_and(|t| {
                            t.starts_with('-') && !t.starts_with("--") && t.contains('s')
                        })
                    });
                    child.positional = match s_flag {
                        Some(p) => {
                            // Options may follow `-s` (`bash -s -e ARGS`).
                            let mut rest = &argv[p + 2..];
                            while let Some(t) = rest.first().and_then(|w| w.value()) {
                                if t == "--" {
                                    rest = &rest[1..];
                                    break;
                                }
                                if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
                                    let skip = if t.ends_with('o') || t.ends_with('O') {
                                        2
                                    } else {
                                        1
                                    };
                                    rest = rest.get(skip..).unwrap_or(&[]);
                                    continue;
                                }
                                break;
                            }
                            invocation::known_texts(rest)
                        }
                        None if argv.len() == 1 => Some(Vec::new()),
                        None => None,
                    };
                    self.run_stdin(&program, &stdin, child, ctx, span)
                }
                ShellCode::File(w) if is_stdin_path(&w.text) => {
                    let child = child_shell_for(st, &program, &argv);
                    self.run_stdin(&program, &stdin, child, ctx, span)
                }
                ShellCode::File(w)
                    if w.process_substitution
                        && self.ps_output.contains_key(&w.substitutions[0]) =>
                {
                    // `bash <(echo …)`: the script is the substitution's known output.
                    let text = self.ps_output[&w.substitutions[0]].clone();
                    let mut child = child_shell_for(st, &program, &argv);
                    let mut c = ctx.clone();
                    c.stdin = None;
                    self.nested(
                        &text,
                        SpanMap::Fixed(w.span),
                        &mut child,
                        &c,
                        &format!("{program} <(…)"),
                    );
                }
                ShellCode::File(w) if w.process_substitution || w.dynamic => {
                    let producers = self.out.substitution_commands(&w.substitutions);
                    self.emit_opaque(Opaque::DynamicCode {
                        span: w.span,
                        via: format!("{program} {}", w.text),
                        producers,
                    });
                }
                _ => {}
            }
        }
        self.emit(span, argv, assigns, ctx, st, stdin)
    }

    /// Checks an assignment to a variable that makes programs run code: a
    /// command-valued one (`GIT_SSH_COMMAND`, `PAGER` …) is analysed as a
    /// script; a path- or option-valued one (`LD_PRELOAD`, `BASH_ENV` …) is
    /// reported as not statically known.
    fn exec_env(&mut self, name: &str, value: &Word, st: &State, ctx: &Ctx) {
        if name == "PS4" && (value.text.contains("$(") || value.text.contains('`')) {
            // PS4 is expanded before each command traced by `set -x`,
            // running the substitutions in it (bash manual 6.9). (PS0-PS2
            // are only shown by interactive shells.)
            match value.value() {
                Some(v) => self.expand_text(v, value.span, st, ctx, "PS4"),
                None => self.run_code(value, "PS4=", st.clone(), ctx, None),
            }
            return;
        }
        if invocation::is_command_env(name) {
            if !value.text.is_empty() {
                self.run_code(value, &format!("{name}="), st.child_shell(), ctx, None);
            }
        } else if invocation::is_exec_env(name) {
            self.emit_opaque(Opaque::ExecEnvironment {
                span: value.span,
                name: name.to_string(),
            });
        }
    }

    /// Remembers files the command writes through `>`/`>>` redirections and
    /// `tee`, with their content when it is known, so that running them later
    /// in the same script is analysed (`echo 'rm -rf ~' > x.sh; sh x.sh`).
    fn record_writes(
        &mut self,
        argv: &[Word],
        ctx: &Ctx,
        st: &mut State,
        stdin: &Stdin,
        output: Option<&str>,
    ) {
        let abs = |st: &State, w: &Word| -> Option<String> {
            let t = w.value()?;
            if t.starts_with('/') {
                Some(join_path("/", t))
            } else {
                st.cwd.as_ref().map(|c| join_path(c, t))
            }
        };
        for r in &ctx.redirects {
            if !r.writes() || r.fd.is_some_and(|f| f != 1) {
                continue;
            }
            let Some(path) = abs(st, &r.target) else {
                continue;
            };
            let content = match r.op.as_str() {
                ">>" | "&>>" => match (st.files.get(&path).cloned().flatten(), output) {
                    (Some(old), Some(new)) => Some(old + new),
                    _ => None,
                },
                _ => output.map(str::to_string),
            };
            st.files.insert(path, content);
        }
        if let Some("cp" | "mv" | "install" | "ln") =
            argv.first().and_then(|w| w.value()).map(basename)
        {
            let operands: Vec<&Word> = argv
                .iter()
                .skip(1)
                .filter(|w| !w.text.starts_with('-'))
                .collect();
            if let Some((dest, sources)) = operands.split_last() {
                if let Some(path) = abs(st, dest) {
                    // A single known source copied or moved to a file keeps
                    // its content; into a directory it keeps its name too.
                    let content = match sources {
                        [one] => abs(st, one)
                            .and_then(|p| st.files.get(&p).cloned())
                            .flatten(),
                        _ => None,
                    };
                    for src in sources {
                        if let Some(name) = src.value().map(basename) {
                            st.files.insert(join_path(&path, name), content.clone());
                        }
                    }
                    st.files.insert(path, content);
                }
            }
        }
        if argv.first().and_then(|w| w.value()).map(basename) == Some("dd") {
            // `dd if=A of=B` copies A to B.
            let arg = |k: &str| {
                argv.iter()
                    .filter_map(|w| w.value())
                    .find_map(|t| t.strip_prefix(k).map(str::to_string))
            };
            if let Some(of) = arg("of=") {
                let of = Word::literal(of, argv[0].span);
                if let Some(path) = abs(st, &of) {
                    let content = match arg("if=") {
                        Some(i) => abs(st, &Word::literal(i, argv[0].span))
                            .and_then(|p| st.files.get(&p).cloned())
                            .flatten(),
                        None => stdin_data(stdin),
                    };
                    st.files.insert(path, content);
                }
            }
        }
        if argv.first().and_then(|w| w.value()).map(basename) == Some("tee") {
            let data = stdin_data(stdin);
            let append = argv
                .iter()
                .any(|w| matches!(w.value(), Some("-a" | "--append")));
            for w in argv.iter().skip(1).filter(|w| !w.text.starts_with('-')) {
                if let Some(path) = abs(st, w) {
                    let content = if append { None } else { data.clone() };
                    st.files.insert(path, content);
                }
            }
        }
    }

    /// When `argv` runs a file written earlier by this script (`sh x.sh`,
    /// `./x.sh`, `source x.sh`, `python x.py`), analyses its content if known,
    /// or reports it as code not known statically. `None` when `argv` runs no
    /// file this script wrote.
    fn run_written_file(
        &mut self,
        name: &str,
        argv: &[Word],
        path_changed: bool,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<()> {
        if st.files.is_empty() {
            return None;
        }
        let program = basename(name);
        // With `$PATH` changed in the script (`PATH=.:$PATH x`), a plain
        // name may find a file the script wrote.
        let on_path = (path_changed && !name.contains('/'))
            .then(|| st.files.keys().find(|k| basename(k) == name).cloned())
            .flatten();
        let (file, same_shell, shell) = if let Some(p) = on_path {
            (Word::literal(p, argv[0].span), false, true)
        } else if name.contains('/') {
            (argv[0].clone(), false, true)
        } else if matches!(program, "source" | ".") {
            (argv.get(1)?.clone(), true, true)
        } else if invocation::is_shell(program) {
            // `bash --rcfile FILE -i` runs FILE first.
            let rc = argv
                .windows(2)
                .find(|p| matches!(p[0].value(), Some("--rcfile" | "--init-file")))
                .map(|p| p[1].clone());
            match (rc, invocation::shell_code(argv)) {
                (Some(f), _) => (f, false, true),
                (None, ShellCode::File(w)) => (w, false, true),
                _ => return None,
            }
        } else if invocation::is_interpreter(program) {
            (
                argv.iter()
                    .skip(1)
                    .find(|w| !w.text.starts_with('-'))?
                    .clone(),
                false,
                false,
            )
        } else {
            return None;
        };
        let path = match file.value() {
            Some(t) if t.starts_with('/') => join_path("/", t),
            Some(t) => join_path(st.cwd.as_ref()?, t),
            // `bash x.s?`: the pattern may match a file written earlier,
            // which did not exist yet when the command was checked.
            None if file.glob && !file.dynamic => {
                let full = if file.text.starts_with('/') {
                    join_path("/", &file.text)
                } else {
                    // `join_path` only folds `.` and `..` components.
                    join_path(&glob::Pattern::escape(st.cwd.as_ref()?), &file.text)
                };
                let pat = glob::Pattern::new(&full).ok()?;
                st.files.keys().find(|k| pat.matches(k))?.clone()
            }
            None => return None,
        };
        let content = st.files.get(&path)?.clone();
        let via = format!("{} {}", program, file.text);
        match content {
            // A shell runs the text itself unless a `#!` line names another program.
            Some(text)
                if shell
                    && (!text.starts_with("#!")
                        || text
                            .lines()
                            .next()
                            .is_some_and(invocation::shebang_is_shell)) =>
            {
                let mut c = ctx.clone();
                c.stdin = None;
                // The words after the script are its positional parameters
                // (bash manual 6.1; `source FILE ARGS` sets them while it runs).
                let args: Option<Vec<String>> = argv
                    .iter()
                    .position(|w| *w == file)
                    .map(|p| &argv[p + 1..])
                    .and_then(invocation::known_texts);
                if same_shell {
                    let given = argv.len() > 2;
                    let saved = st.positional.clone();
                    if given {
                        st.positional = args;
                    }
                    self.nested(&text, SpanMap::Fixed(file.span), st, &c, &via);
                    if given {
                        st.positional = saved;
                    }
                } else {
                    let mut child = st.child_shell();
                    child.positional = args;
                    self.nested(&text, SpanMap::Fixed(file.span), &mut child, &c, &via);
                }
            }
            _ => self.emit_opaque(Opaque::DynamicCode {
                span: file.span,
                via: format!("{via} (a file this command wrote)"),
                producers: Vec::new(),
            }),
        }
        Some(())
    }

    /// Build tools run commands from files in the project: when this same
    /// script wrote (or pipes in) that file, its commands are analysed.
    /// `make` runs the recipe lines of its makefile (GNU make manual 5.1;
    /// `-f FILE`, `-C DIR`, default `GNUmakefile`/`makefile`/`Makefile`);
    /// `npm`/`yarn`/`pnpm` run `package.json` scripts with their `pre`/`post`
    /// hooks (npm docs "scripts"). A file written with unknown content is
    /// reported as code not known statically.
    fn run_written_recipes(&mut self, argv: &[Word], stdin: &Stdin, st: &mut State, ctx: &Ctx) {
        let Some(prog) = argv
            .first()
            .and_then(|w| w.value())
            .map(basename)
            .filter(|p| matches!(*p, "make" | "gmake" | "npm" | "yarn" | "pnpm"))
        else {
            return;
        };
        if st.files.is_empty() && !matches!(stdin, Stdin::Pipe { .. } | Stdin::Here { .. }) {
            return;
        }
        let mut dir = st.cwd.clone();
        let text_of =
            |st: &State, path: &str| -> Option<Option<String>> { st.files.get(path).cloned() };
        let mut c = ctx.clone();
        c.stdin = None;
        match prog {
            "make" | "gmake" => {
                let mut file: Option<String> = None;
                let mut i = 1;
                while i < argv.len() {
                    let t = argv[i].text.as_str();
                    match t {
                        "-f" | "--file" | "--makefile" => {
                            file = argv.get(i + 1).map(|w| w.text.clone())
                        }
                        "-C" | "--directory" => {
                            dir = argv
                                .get(i + 1)
                                .and_then(|w| dir.as_ref().map(|d| join_path(d, &w.text)))
                        }
                        _ => {
                            if let Some(v) = t
                                .strip_prefix("--file=")
                                .or_else(|| t.strip_prefix("--makefile="))
                                .or_else(|| t.strip_prefix("-f").filter(|v| !v.is_empty()))
                            {
                                file = Some(v.to_string());
                            }
                        }
                    }
                    i += 1;
                }
                let content = match file.as_deref() {
                    Some("-" | "/dev/stdin") => Some(stdin_data(stdin)),
                    Some(f) => dir
                        .as_ref()
                        .map(|d| join_path(d, f))
                        .and_then(|p| text_of(st, &p)),
                    None => ["GNUmakefile", "makefile", "Makefile"]
                        .iter()
                        .find_map(|n| dir.as_ref().and_then(|d| text_of(st, &join_path(d, n)))),
                };
                match content {
                    Some(Some(text)) => {
                        let recipes: String = text
                            .lines()
                            .filter_map(|l| l.strip_prefix('\t'))
                            .map(|l| l.trim_start_matches(['@', '-', '+']).replace("$$", "$"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        let mut inner = st.child_shell();
                        self.nested(
                            &recipes,
                            SpanMap::Fixed(argv[0].span),
                            &mut inner,
                            &c,
                            "make recipe",
                        );
                    }
                    Some(None) => self.emit_opaque(Opaque::DynamicCode {
                        span: argv[0].span,
                        via: format!("{prog} (a makefile this command wrote)"),
                        producers: Vec::new(),
                    }),
                    None => {}
                }
            }
            "npm" | "yarn" | "pnpm" => {
                let Some(path) = dir.as_ref().map(|d| join_path(d, "package.json")) else {
                    return;
                };
                let Some(content) = text_of(st, &path) else {
                    return;
                };
                let sub = argv.get(1).map(|w| w.text.as_str()).unwrap_or("install");
                let target = argv.get(2).map(|w| w.text.as_str());
                let names: Vec<String> = match (prog, sub) {
                    (_, "install" | "i" | "add" | "ci") => {
                        ["preinstall", "install", "postinstall", "prepare"]
                            .iter()
                            .map(|s| s.to_string())
                            .collect()
                    }
                    (_, "run" | "run-script" | "exec") => match target {
                        Some(t) => vec![format!("pre{t}"), t.to_string(), format!("post{t}")],
                        None => Vec::new(),
                    },
                    (_, s) => vec![format!("pre{s}"), s.to_string(), format!("post{s}")],
                };
                let scripts: Option<Vec<String>> = content.and_then(|json| {
                    let v: serde_json::Value = serde_json::from_str(&json).ok()?;
                    let obj = v.get("scripts")?.as_object()?;
                    Some(
                        names
                            .iter()
                            .filter_map(|n| obj.get(n).and_then(|x| x.as_str()).map(str::to_string))
                            .collect(),
                    )
                });
                match scripts {
                    Some(list) => {
                        for code in list {
                            let mut inner = st.child_shell();
                            self.nested(
                                &code,
                                SpanMap::Fixed(argv[0].span),
                                &mut inner,
                                &c,
                                &format!("{prog} script"),
                            );
                        }
                    }
                    None => self.emit_opaque(Opaque::DynamicCode {
                        span: argv[0].span,
                        via: format!("{prog} (a package.json this command wrote)"),
                        producers: Vec::new(),
                    }),
                }
            }
            _ => {}
        }
    }

    /// Runs a shell reading its script from standard input.
    fn run_stdin(&mut self, program: &str, stdin: &Stdin, child: State, ctx: &Ctx, span: Span) {
        let via = format!("{program} (stdin)");
        match stdin {
            Stdin::Pipe { data: Some(d), .. } | Stdin::Here { data: Some(d), .. } => {
                let mut c = ctx.clone();
                c.stdin = None;
                let mut s = child;
                self.nested(d, SpanMap::Fixed(span), &mut s, &c, &via);
            }
            Stdin::Pipe {
                producers,
                data: None,
            }
            | Stdin::Here {
                producers,
                data: None,
            } => {
                self.emit_opaque(Opaque::DynamicCode {
                    span,
                    via,
                    producers: producers.clone(),
                });
            }
            Stdin::File { path } => {
                self.emit_opaque(Opaque::DynamicCode {
                    span: path.span,
                    via: format!("{program} < {}", path.text),
                    producers: Vec::new(),
                });
            }
            Stdin::Inherited => {}
        }
    }

    /// Runs a script given as a word (`bash -c WORD`, `eval WORDS`, `su -c`).
    /// `stdin` is the standard input the script reads, when the command
    /// running it passes its own on.
    fn run_code(
        &mut self,
        code: &Word,
        via: &str,
        mut state: State,
        ctx: &Ctx,
        stdin: Option<Stdin>,
    ) {
        match code.value() {
            Some(text) => {
                let mut c = ctx.clone();
                c.stdin = stdin.filter(|s| *s != Stdin::Inherited);
                self.nested(text, SpanMap::Fixed(code.span), &mut state, &c, via);
            }
            None => {
                let producers = self.out.substitution_commands(&code.substitutions);
                self.emit_opaque(Opaque::DynamicCode {
                    span: code.span,
                    via: via.to_string(),
                    producers,
                });
            }
        }
    }

    /// Parses and lowers a nested script in `st`.
    fn nested(&mut self, text: &str, map: SpanMap, st: &mut State, ctx: &Ctx, via: &str) {
        let span = map.map(0, text.len());
        // Every function call, eval and nested shell parses text again:
        // bound the total, or calls that fan out (`f1(){ f2; f2; }` …)
        // would take exponential time.
        self.nested_count += 1;
        if self.nested_count > MAX_NESTED_SCRIPTS {
            if !self.aborted {
                self.aborted = true;
                self.emit_opaque(Opaque::UnanalysedScript {
                    span,
                    via: via.into(),
                    reason: format!(
                        "runs more than {MAX_NESTED_SCRIPTS} nested scripts and function calls"
                    ),
                });
            }
            return;
        }
        if ctx.depth >= self.opts.max_depth {
            self.emit_opaque(Opaque::UnanalysedScript {
                span,
                via: via.into(),
                reason: format!("nested deeper than {} levels", self.opts.max_depth),
            });
            return;
        }
        let tree = match parse_tree(text) {
            Ok(t) => t,
            Err(e) => {
                self.emit_opaque(Opaque::UnanalysedScript {
                    span,
                    via: via.into(),
                    reason: e.to_string(),
                });
                return;
            }
        };
        let depth = tree_depth(tree.root_node());
        if self.active_depth + depth > crate::MAX_TREE_DEPTH {
            self.emit_opaque(Opaque::UnanalysedScript {
                span,
                via: via.into(),
                reason: "syntax nested too deeply".into(),
            });
            return;
        }
        // Keep exact offsets when the nested text is the word's source verbatim.
        let map = match map {
            SpanMap::Fixed(s) if s.end - s.start >= text.len() => {
                let local = self.opts_source_slice(s);
                match local.and_then(|l| l.find(text)) {
                    Some(off) if !text.is_empty() => SpanMap::Offset(s.start + off),
                    _ => map,
                }
            }
            m => m,
        };
        let mut c = ctx.clone();
        c.depth += 1;
        // Here-documents fed to the outer command are its script, not the inner commands' input.
        c.redirects.retain(|r| !r.is_here());
        if !via.starts_with("function ") {
            c.origin.push(Origin::NestedScript { via: via.into() });
        }
        if !via.starts_with("function ") && !via.starts_with("alias ") {
            c.aliases_fixed = false;
        }
        c.skip_functions = false;
        let src = Src { text, map };
        // An alias is not expanded inside its own text, but that guard is
        // lexical: text parsed later (`eval`, `sh`, a function's body) may
        // use the alias again, or a new one of the same name.
        let guard = if via.starts_with("alias ") {
            None
        } else {
            Some(std::mem::take(&mut self.alias_stack))
        };
        self.active_depth += depth;
        self.stmts(tree.root_node(), &src, st, &c);
        self.active_depth -= depth;
        if let Some(g) = guard {
            self.alias_stack = g;
        }
    }

    fn opts_source_slice(&self, s: Span) -> Option<&str> {
        self.top.get(s.start..s.end)
    }

    /// Runs a function defined in the script: its body with the call's
    /// words as positional parameters (bash manual 3.3), and the aliases
    /// that were in effect where it was defined.
    fn call_function(
        &mut self,
        name: &str,
        def: &FuncDef,
        argv: &[Word],
        assigns: &[Assignment],
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<String> {
        self.called.insert(name.to_string());
        let mut c = ctx.clone();
        c.origin.push(Origin::Function {
            name: name.to_string(),
        });
        c.aliases_fixed = true;
        let saved = st.positional.take();
        st.positional = invocation::known_texts(&argv[1..]);
        let outer = std::mem::replace(&mut self.aliases, def.aliases.clone());
        let body = def.body.clone();
        self.local_frames.push(Default::default());
        // `IFS=: f`: prefix assignments hold while the function runs.
        let prefix = with_prefix(assigns, st);
        self.jump_frames.push(Vec::new());
        self.nested(&body, def.map, st, &c, &format!("function {name}"));
        self.merge_jumps(st);
        restore_prefix(prefix, st);
        if let Some(frame) = self.local_frames.pop() {
            restore_prefix(frame.into_iter().collect(), st);
        }
        self.aliases = outer;
        st.positional = saved;
        None
    }

    /// Builtins that change the shell's state or run code (bash manual 4.1, 4.2).
    /// Returns `Some(output)` when handled completely.
    #[allow(clippy::too_many_arguments)]
    fn builtin(
        &mut self,
        name: &str,
        argv: &[Word],
        assigns: &[Assignment],
        span: Span,
        _src: &Src,
        st: &mut State,
        ctx: &Ctx,
        stdin: &Stdin,
    ) -> Option<Option<String>> {
        match name {
            "cd" | "pushd" => {
                let mut rest = argv.iter().skip(1).skip_while(|w| {
                    w.value()
                        .is_some_and(|t| t.starts_with('-') && t.len() > 1 && t != "--")
                });
                let mut target = rest.next();
                if target.and_then(|w| w.value()) == Some("--") {
                    target = rest.next();
                }
                // CDPATH and `shopt -s cdable_vars` make a relative name
                // resolve elsewhere (bash manual 4.1, `cd`).
                let relative_uncertain = st.vars.contains_key("CDPATH")
                    || st.cdable_vars
                    || assigns.iter().any(|a| a.name == "CDPATH");
                let new = match target {
                    None if name == "cd" => st.get("HOME"),
                    Some(w) => match w.value() {
                        Some("-") => st.get("OLDPWD"),
                        // `pushd +N` / `-N` rotate the directory stack.
                        Some(t)
                            if name == "pushd"
                                && (t.starts_with('+') || t.starts_with('-'))
                                && t.len() > 1 =>
                        {
                            None
                        }
                        Some(t) if t.starts_with('/') => Some(join_path("/", t)),
                        Some(t)
                            if relative_uncertain
                                && !t.starts_with("./")
                                && !t.starts_with("../")
                                && t != "."
                                && t != ".." =>
                        {
                            None
                        }
                        Some(t) => st.cwd.as_ref().map(|c| join_path(c, t)),
                        None => None,
                    },
                    None => None,
                };
                // cd sets OLDPWD to the old and PWD to the new directory.
                let old = st.get("PWD");
                st.cwd = new.clone();
                st.set("OLDPWD", old);
                if st.vars.contains_key("PWD") {
                    st.set("PWD", new);
                }
                self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                Some(None)
            }
            "popd" => {
                st.cwd = None;
                self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                Some(None)
            }
            "eval" => {
                self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                if argv.len() > 1 {
                    let code = invocation::join_words(&argv[1..]);
                    if let Some(text) = code.value().map(str::to_string) {
                        // The evaluated code reads eval's own standard input,
                        // with eval's prefix assignments (`IFS=: eval …`) in force.
                        let prefix = with_prefix(assigns, st);
                        self.nested(&text, SpanMap::Fixed(code.span), st, ctx, "eval");
                        restore_prefix(prefix, st);
                    } else {
                        let producers = self.out.substitution_commands(&code.substitutions);
                        self.emit_opaque(Opaque::DynamicCode {
                            span: code.span,
                            via: "eval".into(),
                            producers,
                        });
                    }
                }
                Some(None)
            }
            "source" | "." if argv.get(1).is_some_and(|w| is_stdin_path(&w.text)) => {
                let out = self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                let mut inner = st.clone();
                with_prefix(assigns, &mut inner);
                self.run_stdin(name, stdin, inner, ctx, span);
                Some(out)
            }
            "source" | "."
                if argv.get(1).is_some_and(|w| {
                    w.process_substitution
                        && w.substitutions
                            .first()
                            .is_some_and(|id| self.ps_output.contains_key(id))
                }) =>
            {
                // `source <(echo …)`: the script is the substitution's known output.
                let w = &argv[1];
                let text = self.ps_output[&w.substitutions[0]].clone();
                let out = self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                let prefix = with_prefix(assigns, st);
                // `source FILE ARGS` sets the positional parameters while it runs.
                let saved = st.positional.clone();
                if argv.len() > 2 {
                    st.positional = invocation::known_texts(&argv[2..]);
                }
                self.nested(
                    &text,
                    SpanMap::Fixed(w.span),
                    st,
                    ctx,
                    &format!("{name} <(…)"),
                );
                if argv.len() > 2 {
                    st.positional = saved;
                }
                restore_prefix(prefix, st);
                Some(out)
            }
            "source" | "." => {
                if let Some(w) = argv.get(1) {
                    if w.process_substitution || w.dynamic {
                        let producers = self.out.substitution_commands(&w.substitutions);
                        self.emit_opaque(Opaque::DynamicCode {
                            span: w.span,
                            via: format!("{name} {}", w.text),
                            producers,
                        });
                    }
                }
                let out = self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                // The sourced file may set anything.
                st.forget_all();
                st.cwd = None;
                Some(out)
            }
            "read" => {
                // `IFS=, read …`: the prefix assignment applies to read itself.
                let stdin = &if ctx.stdin_shared {
                    Stdin::Inherited
                } else {
                    stdin.clone()
                };
                let ifs = match assigns.iter().rev().find(|a| a.name == "IFS") {
                    Some(a) => a.value.value().map(str::to_string),
                    None => st.ifs(),
                };
                let data = stdin_data(stdin);
                match read_builtin(argv, data.as_deref(), ifs.as_deref()) {
                    Ok(assigned) => {
                        for (n, v) in assigned {
                            match v {
                                ReadValue::Scalar(v) => st.set(&n, v),
                                ReadValue::Array(v) => {
                                    st.set_array(&n, v);
                                    st.mark_array(&n);
                                }
                            }
                        }
                    }
                    Err(()) => st.forget_all(),
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "mapfile" | "readarray" => {
                let data = if ctx.stdin_shared {
                    None
                } else {
                    stdin_data(stdin)
                };
                let m = mapfile_builtin(argv, data.as_deref());
                if let Some(cb) = &m.callback {
                    // `-C CODE` evaluates `CODE INDEX LINE` every `-c`
                    // lines (bash manual 4.2).
                    let out = self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                    let via = format!("{name} -C");
                    match (&m.lines, cb.value()) {
                        (Some(lines), Some(code)) => {
                            let mut script = String::new();
                            for (i, l) in lines.iter().enumerate() {
                                if (i + 1) % m.quantum.max(1) == 0 {
                                    script.push_str(&format!(
                                        "{code} {i} {}\n",
                                        shell_words::quote(l)
                                    ));
                                }
                            }
                            let mut w = cb.clone();
                            w.text = script;
                            self.run_code(&w, &via, st.clone(), ctx, None);
                        }
                        _ => {
                            self.run_code(cb, &via, st.clone(), ctx, None);
                            self.emit_opaque(Opaque::DynamicCode {
                                span: cb.span,
                                via,
                                producers: Vec::new(),
                            });
                        }
                    }
                    st.forget_all();
                    return Some(out);
                }
                match m.name {
                    Some(n) => {
                        st.set_array(&n, m.lines);
                        st.mark_array(&n);
                    }
                    None => st.forget_all(),
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "getopts" => {
                for w in argv.iter().skip(1) {
                    if let Some(n) = w.value().filter(|t| invocation::is_name(t)) {
                        st.set(n, None);
                    }
                }
                st.set("OPTARG", None);
                st.set("OPTIND", None);
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "printf"
                if argv
                    .get(1)
                    .is_some_and(|w| w.value().is_some_and(|t| t.starts_with("-v"))) =>
            {
                // `printf -v VAR FORMAT ARGS…` assigns what printf would print.
                let (var, rest) = match argv[1].value() {
                    Some("-v") => (
                        argv.get(2).and_then(|w| w.value()).map(str::to_string),
                        argv.get(3..).unwrap_or(&[]),
                    ),
                    Some(t) => (Some(t[2..].to_string()), argv.get(2..).unwrap_or(&[])),
                    None => (None, &[][..]),
                };
                let value = rest
                    .iter()
                    .map(|w| w.value())
                    .collect::<Option<Vec<&str>>>()
                    .and_then(|a| {
                        let mut full = vec!["printf"];
                        full.extend(a);
                        static_output::stdout_of(&full, None)
                    });
                match var {
                    Some(v) if invocation::is_name(&v) => st.set(&v, value),
                    _ => st.forget_all(),
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "return" | "break" | "continue" => {
                // The function or loop may be left here, in this state.
                let here = st.clone();
                if let Some(frame) = self.jump_frames.last_mut() {
                    frame.push(here);
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "let" => {
                // Each argument is an arithmetic expression (bash manual 4.2).
                for w in argv.iter().skip(1) {
                    if !w.dynamic {
                        self.arith_eval_text(&w.text, true, w.span, st, ctx);
                    }
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "set" => {
                st.positional = set_positional(argv, st.positional.take());
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "shift" => {
                let n = match argv.get(1) {
                    None => Some(1),
                    Some(w) => w.value().and_then(|t| t.parse::<usize>().ok()),
                };
                st.positional = match (st.positional.take(), n) {
                    // bash leaves the parameters alone when n is too large.
                    (Some(p), Some(n)) if n <= p.len() => Some(p[n..].to_vec()),
                    (Some(p), Some(_)) => Some(p),
                    _ => None,
                };
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "unset" => {
                let mut functions = false;
                let mut variables_only = false;
                for w in argv.iter().skip(1) {
                    match w.value() {
                        Some("-f") => functions = true,
                        Some("-v") | Some("-n") => {
                            functions = false;
                            variables_only = true;
                        }
                        Some(n) if functions => st.define_function(n, None),
                        Some(n) if invocation::is_name(n) => {
                            // Without -v, a name that is not a variable
                            // unsets the function of that name (bash manual
                            // 4.1). The environment may hold such a
                            // variable, so the function is taken as gone:
                            // the command of that name then runs.
                            if !variables_only && !st.vars.contains_key(n) {
                                st.define_function(n, None);
                            }
                            st.set_array(n, Some(Vec::new()));
                        }
                        // `unset 'a[1]'` leaves a gap; anything dynamic may unset anything.
                        Some(n) => {
                            let base = n.split('[').next().unwrap_or(n);
                            st.set_array(base, None);
                        }
                        None => st.forget_all(),
                    }
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "alias" | "unalias" => {
                let mut known = true;
                for w in argv.iter().skip(1) {
                    match w.value() {
                        Some("-a") if name == "unalias" => st.aliases.defs.clear(),
                        Some(t) if t.starts_with('-') => {}
                        Some(t) if name == "unalias" => {
                            st.aliases.defs.remove(t);
                        }
                        Some(t) => {
                            if let Some((n, v)) = t.split_once('=') {
                                st.aliases.defs.insert(n.to_string(), Some(v.to_string()));
                            }
                        }
                        None => known = false,
                    }
                }
                if !known {
                    // An alias whose name or text is not known: anything may run.
                    self.emit_opaque(Opaque::Aliases { span });
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "shopt" => {
                let mut set = None;
                for w in argv.iter().skip(1) {
                    match w.value() {
                        Some("-s") => set = Some(true),
                        Some("-u") => set = Some(false),
                        Some("cdable_vars") if set == Some(true) => st.cdable_vars = true,
                        Some("expand_aliases") if set.is_some() => st.aliases.expand = set,
                        Some("lastpipe") if set.is_some() => st.lastpipe = set == Some(true),
                        Some(_) => {}
                        None => {
                            st.cdable_vars = true;
                            st.aliases.expand = None;
                            st.lastpipe = true;
                        }
                    }
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "trap"
                if argv.len() > 2
                    && argv[1]
                        .value()
                        .is_none_or(|t| !t.starts_with('-') || t == "--") =>
            {
                // `trap [--] ACTION SIGNAL…`: ACTION is a script run later in this shell.
                let action = if argv[1].value() == Some("--") {
                    argv[2].clone()
                } else {
                    argv[1].clone()
                };
                let out = self.emit_builtin(span, argv, assigns, ctx, st, stdin);
                self.run_code(&action, "trap", st.clone(), ctx, None);
                Some(out)
            }
            "enable" if argv.len() > 1 => {
                // `enable -n NAME` / `enable -f FILE NAME` changes what NAME runs.
                self.emit_opaque(Opaque::Aliases { span });
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "hash"
                if argv.iter().any(|w| {
                    w.value().is_some_and(|t| {
                        t.starts_with("-p") || t.starts_with('-') && t.contains('p')
                    })
                }) =>
            {
                // `hash -p PATH NAME` makes NAME run PATH.
                self.emit_opaque(Opaque::Aliases { span });
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                // Reached through a wrapper (`command export x=1`) or with a
                // dynamic word: treat the named variables as unknown.
                for w in argv.iter().skip(1) {
                    if let Some((n, v)) = w.value().and_then(|t| t.split_once('=')) {
                        st.set(n, Some(v.to_string()));
                    } else if let Some(n) = w.value() {
                        if name == "export" && invocation::is_name(n) {
                            st.export(n);
                        }
                    } else {
                        st.forget_all();
                    }
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            _ => None,
        }
    }

    /// [`Lowerer::emit`] for a builtin, which keeps its words as written.
    fn emit_builtin(
        &mut self,
        span: Span,
        argv: &[Word],
        assigns: &[Assignment],
        ctx: &Ctx,
        st: &mut State,
        stdin: &Stdin,
    ) -> Option<String> {
        self.emit(
            span,
            argv.to_vec(),
            assigns.to_vec(),
            ctx,
            st,
            stdin.clone(),
        )
    }

    /// Records a command and returns its static output.
    fn emit(
        &mut self,
        span: Span,
        argv: Vec<Word>,
        assignments: Vec<Assignment>,
        ctx: &Ctx,
        st: &mut State,
        stdin: Stdin,
    ) -> Option<String> {
        if !self.budget_ok(span) {
            return None;
        }
        let static_argv: Option<Vec<&str>> = argv.iter().map(|w| w.value()).collect();
        let output = static_argv.and_then(|a| {
            // dash's `echo` (and other POSIX shells') interprets
            // backslash escapes; bash's does not without -e.
            if st.xsi_echo
                && a.first().is_some_and(|n| basename(n) == "echo")
                && a.iter().any(|x| x.contains('\\'))
            {
                return None;
            }
            static_output::stdout_of(&a, stdin_data(&stdin).as_deref())
        });
        self.record_writes(&argv, ctx, st, &stdin, output.as_deref());
        let id = self.out.commands.len();
        self.out.commands.push(Command {
            id,
            span,
            argv,
            assignments,
            redirects: ctx.redirects.clone(),
            wrappers: ctx.wrappers.clone(),
            origin: ctx.origin.clone(),
            stages: ctx.stages.clone(),
            in_substitutions: ctx.substs.clone(),
            cwd: st.cwd.clone(),
            stdin,
            exported: st.exported_env(),
        });
        output
    }

    /// Lowers one syntax node (possibly a concatenation) into words.
    fn words(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Vec<Word> {
        let ps = node.kind() == "process_substitution";
        let (pieces, q) = self.word_pieces(node, src, st, ctx, false);
        let ifs = st.ifs().unwrap_or_else(|| DEFAULT_IFS.into());
        let tilde = |p: &mut Vec<Piece>| tilde_expand(p, st, false);
        finish(pieces, src.span(node), ps, q, &ifs, &tilde)
    }

    /// The pieces of one word-like node. `in_dq` is true inside double quotes
    /// or a here-document body. Returns the pieces and whether any quoting occurred.
    fn word_pieces(
        &mut self,
        node: Node,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
        in_dq: bool,
    ) -> (Vec<Piece>, bool) {
        let raw = src.raw(node);
        let mut pieces = Vec::new();
        match node.kind() {
            "word"
            | "number"
            | "extglob_pattern"
            | "regex"
            | "special_variable_name"
            | "variable_name"
            | "test_operator" => {
                if self.leaf_substitutions(node, src, st, ctx) {
                    pieces.push(Piece::Unknown {
                        src: raw.to_string(),
                        substs: Vec::new(),
                    });
                    return (pieces, false);
                }
                if node.kind() == "word" && has_unescaped_dollar(raw) {
                    // tree-sitter-bash leaves some parameter expansions
                    // inside a plain word (`a$X-b$X/c`: the second `$X`).
                    // Expand `$NAME` and `${NAME}` as bash does; anything
                    // else, or an unknown value, makes the word unknown.
                    return match self.leaf_parameters(raw, st) {
                        Some(p) => (p, raw.contains('\\')),
                        None => (
                            vec![Piece::Unknown {
                                src: raw.to_string(),
                                substs: Vec::new(),
                            }],
                            false,
                        ),
                    };
                }
                push_unquoted(&mut pieces, raw);
                (pieces, raw.contains('\\'))
            }
            "brace_expression" => {
                push_str(&mut pieces, raw, false, false);
                (pieces, false)
            }
            "raw_string" => {
                let inner = raw
                    .strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .unwrap_or(raw);
                push_str(&mut pieces, inner, true, false);
                (pieces, true)
            }
            "ansi_c_string" => {
                let inner = raw
                    .strip_prefix("$'")
                    .and_then(|r| r.strip_suffix('\''))
                    .unwrap_or(raw);
                push_str(&mut pieces, &crate::ansi_c::decode(inner), true, false);
                (pieces, true)
            }
            "string" | "translated_string" => {
                let node = if node.kind() == "translated_string" {
                    node.named_child(0).unwrap_or(node)
                } else {
                    node
                };
                let start = node.start_byte() + 1;
                let end = node.end_byte().saturating_sub(1).max(start);
                let mut pos = start;
                let mut cursor = node.walk();
                let kids: Vec<Node> = node.named_children(&mut cursor).collect();
                for k in kids {
                    if k.kind() == "string_content" {
                        continue;
                    }
                    push_escaped(
                        &mut pieces,
                        src.text.get(pos..k.start_byte()).unwrap_or(""),
                        "$`\"\\\n",
                    );
                    let (p, _) = self.word_pieces(k, src, st, ctx, true);
                    pieces.extend(p);
                    pos = k.end_byte();
                }
                push_escaped(
                    &mut pieces,
                    src.text.get(pos..end).unwrap_or(""),
                    "$`\"\\\n",
                );
                (pieces, true)
            }
            "simple_expansion" | "expansion" => {
                let mark = self.out.commands.len();
                let joined = in_dq || self.assigning;
                let value = self.expansion_value(node, src, st, ctx, joined);
                if value.is_none() && self.out.commands.len() == mark {
                    // Operators shellgate does not evaluate still run the
                    // substitutions inside them (`${x/$(cmd)/}`).
                    self.walk_for_substitutions(node, src, st, ctx);
                }
                match value.and_then(|v| self.expanded_pieces(v, st, in_dq)) {
                    Some(p) => pieces.extend(p),
                    None => pieces.push(Piece::Unknown {
                        src: raw.to_string(),
                        substs: Vec::new(),
                    }),
                }
                (pieces, in_dq)
            }
            "command_substitution" => {
                let id = self.next_subst;
                self.next_subst += 1;
                let mut c = ctx.clone();
                c.origin.push(Origin::CommandSubstitution { id });
                c.substs.push(id);
                c.stdin = None;
                c.stages.clear();
                c.depth += 1;
                let mut inner = st.clone();
                // Words inside the substitution are ordinary words again.
                let outer_assigning = std::mem::replace(&mut self.assigning, false);
                let out = if c.depth > self.opts.max_depth {
                    self.emit_opaque(Opaque::UnanalysedScript {
                        span: src.span(node),
                        via: "$(…)".into(),
                        reason: "nested too deeply".into(),
                    });
                    None
                } else if let Some(text) = backtick_unescape(raw) {
                    // Inside backquotes, `\``, `\$` and `\\` are unescaped
                    // before the text is parsed (bash manual 3.5.4).
                    self.nested(&text, SpanMap::Fixed(src.span(node)), &mut inner, &c, "`…`");
                    None
                } else {
                    self.stmts(node, src, &mut inner, &c)
                };
                st.absorb_files(inner);
                self.assigning = outer_assigning;
                match out {
                    // bash removes trailing newlines from the output.
                    Some(o) if self.expansion_ok(&o, st, in_dq) => {
                        push_str(&mut pieces, o.trim_end_matches('\n'), in_dq, true)
                    }
                    _ => pieces.push(Piece::Unknown {
                        src: raw.to_string(),
                        substs: vec![id],
                    }),
                }
                (pieces, in_dq)
            }
            "process_substitution" => {
                let id = self.next_subst;
                self.next_subst += 1;
                let mut c = ctx.clone();
                c.origin.push(Origin::ProcessSubstitution { id });
                c.substs.push(id);
                // `>(cmd)` reads what the outer command writes to it, which
                // is not known; `<(cmd)` inherits the shell's input.
                c.stdin = raw.starts_with(">(").then(|| Stdin::Pipe {
                    data: None,
                    producers: Vec::new(),
                });
                c.stdin_shared = false;
                c.stages.clear();
                c.depth += 1;
                let mut inner = st.clone();
                let outer_assigning = std::mem::replace(&mut self.assigning, false);
                if c.depth <= self.opts.max_depth {
                    if let Some(out) = self.stmts(node, src, &mut inner, &c) {
                        self.ps_output.insert(id, out);
                    }
                }
                st.absorb_files(inner);
                self.assigning = outer_assigning;
                pieces.push(Piece::Unknown {
                    src: raw.to_string(),
                    substs: vec![id],
                });
                (pieces, false)
            }
            "arithmetic_expansion" => {
                self.walk_for_substitutions(node, src, st, ctx);
                self.arith_eval_text(raw, false, src.span(node), st, ctx);
                pieces.push(Piece::Unknown {
                    src: raw.to_string(),
                    substs: Vec::new(),
                });
                (pieces, in_dq)
            }
            "concatenation" => {
                let mut cursor = node.walk();
                let kids: Vec<Node> = node.children(&mut cursor).collect();
                let mut q = false;
                let mut pos = node.start_byte();
                for k in kids {
                    // Text between children (e.g. a bare `$`) is literal.
                    if k.start_byte() > pos {
                        push_unquoted(&mut pieces, src.text.get(pos..k.start_byte()).unwrap_or(""));
                    }
                    let (p, kq) = self.word_pieces(k, src, st, ctx, in_dq);
                    pieces.extend(p);
                    q |= kq;
                    pos = k.end_byte();
                }
                (pieces, q)
            }
            _ => {
                // Unknown construct: run anything inside it, and do not guess its value.
                self.walk_for_substitutions(node, src, st, ctx);
                if raw.contains(['$', '`']) || node.named_child_count() > 0 {
                    pieces.push(Piece::Unknown {
                        src: raw.to_string(),
                        substs: Vec::new(),
                    });
                } else {
                    push_unquoted(&mut pieces, raw);
                }
                (pieces, false)
            }
        }
    }

    /// True when a known expansion may be used as text: within the budget,
    /// and, unquoted, split on a known `$IFS`.
    fn expansion_ok(&mut self, value: &str, st: &State, in_dq: bool) -> bool {
        self.charge(value.len()) && (in_dq || st.ifs().is_some())
    }

    /// Lowers the expansions in `text` as bash performs them on a
    /// here-document body (parameter and arithmetic expansion, command
    /// substitution; no word splitting, no quote removal): used for text
    /// that bash expands again, such as prompt strings and the values of
    /// variables in arithmetic.
    fn expand_text(&mut self, text: &str, span: Span, st: &State, ctx: &Ctx, via: &str) {
        let mut delim = String::from("SHELLGATE_EOF");
        while text.contains(&delim) {
            delim.push('_');
        }
        let script = format!(": <<{delim}\n{text}\n{delim}\n");
        let mut inner = st.clone();
        self.nested(&script, SpanMap::Fixed(span), &mut inner, ctx, via);
    }

    /// Ends a function call or loop: the state after it is what holds at
    /// its end or at any `return`/`break`/`continue` in it.
    fn merge_jumps(&mut self, st: &mut State) {
        if let Some(mut exits) = self.jump_frames.pop() {
            if !exits.is_empty() {
                exits.push(st.clone());
                *st = State::merge(&exits);
            }
        }
    }

    /// Charges `units` of work to the expansion budget
    /// ([`MAX_EXPANDED_BYTES`]); false once it is spent.
    fn charge(&mut self, units: usize) -> bool {
        self.expanded = self.expanded.saturating_add(units);
        self.expanded <= MAX_EXPANDED_BYTES
    }

    /// The pieces of a known parameter expansion.
    fn expanded_pieces(&mut self, value: Expanded, st: &State, in_dq: bool) -> Option<Vec<Piece>> {
        let mut pieces = Vec::new();
        match value {
            Expanded::Text(v) => {
                if !self.expansion_ok(&v, st, in_dq) {
                    return None;
                }
                push_str(&mut pieces, &v, in_dq, true);
            }
            Expanded::Fields(vs) => {
                let total: usize = vs.iter().map(|v| v.len() + 1).sum();
                if !(self.charge(total) && (in_dq || st.ifs().is_some())) {
                    return None;
                }
                if vs.is_empty() && in_dq {
                    pieces.push(Piece::NoFields);
                }
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        pieces.push(Piece::Break { quoted: in_dq });
                    }
                    push_str(&mut pieces, v, in_dq, true);
                }
            }
        }
        Some(pieces)
    }

    /// Value of `$name` or `${…}` when statically known (bash manual 3.5.3
    /// "Shell Parameter Expansion", 3.4.2 "Special Parameters", 6.7 "Arrays").
    fn expansion_value(
        &mut self,
        node: Node,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
        in_dq: bool,
    ) -> Option<Expanded> {
        if node.kind() == "simple_expansion" {
            let name = node.named_child(0)?;
            let param = Param::from_name(src.raw(name))?;
            return param.expand(st, in_dq);
        }
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        if kids.len() < 2 || src.raw(kids[0]) != "${" || src.raw(kids[kids.len() - 1]) != "}" {
            return None;
        }
        let close = kids.len() - 1;
        let mut i = 1;
        // `${#x}` (length) and `${!x}` (indirection) prefixes.
        let mut prefix = None;
        if !kids[i].is_named() && matches!(src.raw(kids[i]), "#" | "!") && i + 1 < close {
            prefix = Some(src.raw(kids[i]).to_string());
            i += 1;
        }
        if prefix.is_none() && i + 1 == close && !kids[i].is_named() && src.raw(kids[i]) == "#" {
            return Param::Count.expand(st, in_dq); // `${#}`
        }
        let pnode = kids[i];
        let param = match pnode.kind() {
            "variable_name" | "special_variable_name" => Param::from_name(src.raw(pnode))?,
            "subscript" => {
                let name = pnode.named_child(0)?;
                let index = pnode.named_child(1)?;
                let name = src.raw(name).to_string();
                match src.raw(index) {
                    "@" => Param::All {
                        array: Some(name),
                        star: false,
                    },
                    "*" => Param::All {
                        array: Some(name),
                        star: true,
                    },
                    _ => Param::Elem(name, self.arith_value(index, src, st, ctx)?),
                }
            }
            _ => return None,
        };
        i += 1;
        let param = match prefix.as_deref() {
            Some("!") => {
                if i != close {
                    return None;
                }
                if let Param::All { array: Some(_), .. } = param {
                    // `${!a[@]}`: the indices of the (dense) array.
                    let (vals, _) = param.values(st)?;
                    let idx: Vec<String> = (0..vals.len()).map(|n| n.to_string()).collect();
                    return param.finish(idx, true, st, in_dq);
                }
                // `${!x}`: the value of the parameter named by `$x`.
                let Expanded::Text(target) = param.expand(st, true)? else {
                    return None;
                };
                return Param::from_name(&target)
                    .filter(|p| matches!(p, Param::Var(_) | Param::Positional(_)))?
                    .expand(st, in_dq);
            }
            Some(_) => {
                if i != close {
                    return None;
                }
                let (vals, all) = param.values(st)?;
                let n = if all {
                    vals.len()
                } else {
                    vals.first().map_or(0, |v| v.chars().count())
                };
                return Some(Expanded::Text(n.to_string()));
            }
            None => param,
        };
        if i == close {
            return param.expand(st, in_dq);
        }
        let op_node = kids[i];
        if op_node.is_named() {
            return None;
        }
        let op = src.raw(op_node).to_string();
        let operand = &kids[i + 1..close];
        let body_end = kids[close].start_byte();
        match op.as_str() {
            ":-" | ":=" | ":+" | ":?" | "-" | "=" | "+" | "?" => {
                let pieces =
                    self.operand_pieces(operand, op_node.end_byte(), body_end, src, st, ctx, true);
                let operand_value = pieces_text(&pieces);
                self.default_value(&param, &op, operand_value, st, in_dq)
            }
            "#" | "##" | "%" | "%%" | "^" | "^^" | "," | ",," => {
                let pieces =
                    self.operand_pieces(operand, op_node.end_byte(), body_end, src, st, ctx, false);
                let pat = if pieces.is_empty() {
                    None
                } else {
                    Some(expansion::Pattern::new(&pieces)?)
                };
                let (vals, all) = param.values(st)?;
                let cost: usize = match &pat {
                    Some(p) => vals.iter().map(|v| p.cost(v)).sum(),
                    None => 0,
                };
                if !self.charge(cost) {
                    return None;
                }
                let mut out = Vec::new();
                for v in &vals {
                    out.push(match (op.as_str(), &pat) {
                        ("#", Some(p)) => expansion::remove_prefix(v, p, false)?,
                        ("##", Some(p)) => expansion::remove_prefix(v, p, true)?,
                        ("%", Some(p)) => expansion::remove_suffix(v, p, false)?,
                        ("%%", Some(p)) => expansion::remove_suffix(v, p, true)?,
                        ("#" | "##" | "%" | "%%", None) => v.clone(),
                        _ => expansion::modify_case(v, &op, pat.as_ref())?,
                    });
                }
                param.finish(out, all, st, in_dq)
            }
            "/" | "//" | "/#" | "/%" => {
                // tree-sitter-bash can split `${x/\//y}` at the wrong
                // slash: trust its split only where a scan of the raw text
                // (quotes, escapes and nested expansions skipped) agrees.
                let slash = operand
                    .iter()
                    .find(|k| !k.is_named() && src.raw(**k) == "/")
                    .map(|k| k.start_byte());
                let raw = src.text.get(op_node.end_byte()..body_end)?;
                let scanned = first_unquoted_slash(raw).map(|o| o + op_node.end_byte());
                if slash != scanned {
                    return None;
                }
                let pat_end = slash.unwrap_or(body_end);
                let pat_kids: Vec<Node> = operand
                    .iter()
                    .copied()
                    .filter(|k| k.end_byte() <= pat_end)
                    .collect();
                let rep_kids: Vec<Node> = operand
                    .iter()
                    .copied()
                    .filter(|k| k.start_byte() > pat_end)
                    .collect();
                let pat_pieces = self.operand_pieces(
                    &pat_kids,
                    op_node.end_byte(),
                    pat_end,
                    src,
                    st,
                    ctx,
                    false,
                );
                let rep = match slash {
                    Some(sl) => {
                        let p =
                            self.operand_pieces(&rep_kids, sl + 1, body_end, src, st, ctx, false);
                        pieces_text(&p)?
                    }
                    None => String::new(),
                };
                // bash 5.2's patsub_replacement: an unquoted `&` in the
                // replacement stands for the matched text; not modelled.
                if rep.contains('&') {
                    return None;
                }
                let pat = expansion::Pattern::new(&pat_pieces)?;
                let anchor = match op.as_str() {
                    "/" => expansion::Anchor::First,
                    "//" => expansion::Anchor::All,
                    "/#" => expansion::Anchor::Start,
                    _ => expansion::Anchor::End,
                };
                let (vals, all) = param.values(st)?;
                if !self.charge(vals.iter().map(|v| pat.cost(v)).sum()) {
                    return None;
                }
                let mut out = Vec::new();
                for v in &vals {
                    out.push(expansion::substitute(v, &pat, &rep, anchor)?);
                }
                param.finish(out, all, st, in_dq)
            }
            ":" => {
                let pieces =
                    self.operand_pieces(operand, op_node.end_byte(), body_end, src, st, ctx, true);
                let text = pieces_text(&pieces)?;
                let (off, len) = match text.split_once(':') {
                    Some((o, l)) => (o, Some(l)),
                    None => (text.as_str(), None),
                };
                let num = |t: &str| -> Option<i64> {
                    let t = t.trim();
                    if t.is_empty() {
                        return Some(0);
                    }
                    arith_int(t).or_else(|| {
                        invocation::is_name(t)
                            .then(|| st.get(t))
                            .flatten()
                            .and_then(|v| arith_int(v.trim()))
                    })
                };
                let off = num(off)?;
                let len = match len {
                    Some(l) => Some(num(l)?),
                    None => None,
                };
                let (vals, all) = param.values(st)?;
                if all {
                    // `${a[@]:1}` slices elements; `${@:1}` counts from `$1`.
                    let vals = if matches!(param, Param::All { array: None, .. }) {
                        let mut with0 = vec![String::new()];
                        with0.extend(vals);
                        let start = if off < 0 {
                            with0.len() as i64 + off
                        } else {
                            off
                        };
                        if start == 0 {
                            // The slice starts at `$0`, which is not known.
                            return None;
                        }
                        with0
                    } else {
                        vals
                    };
                    let out = expansion::slice(&vals, off, len)?;
                    param.finish(out, true, st, in_dq)
                } else {
                    let v = vals.first().cloned().unwrap_or_default();
                    Some(Expanded::Text(expansion::substring(&v, off, len)?))
                }
            }
            "@" => {
                let letter = operand.first().map(|k| src.raw(*k))?;
                if operand.len() != 1 {
                    return None;
                }
                let (vals, all) = param.values(st)?;
                if letter == "P" {
                    // Prompt expansion runs the substitutions in the value.
                    for v in &vals {
                        if v.contains("$(") || v.contains('`') {
                            self.expand_text(v, src.span(node), st, ctx, "${…@P}");
                        }
                    }
                    return None;
                }
                let mut out = Vec::new();
                for v in &vals {
                    out.push(expansion::transform(v, letter)?);
                }
                param.finish(out, all, st, in_dq)
            }
            _ => None,
        }
    }

    /// `${x-w}`, `${x:-w}`, `${x=w}`, `${x+w}`, `${x?w}` and their `:` forms.
    fn default_value(
        &mut self,
        param: &Param,
        op: &str,
        operand: Option<String>,
        st: &mut State,
        in_dq: bool,
    ) -> Option<Expanded> {
        let colon = op.starts_with(':');
        // Whether the parameter is set, and whether it is null.
        let (set, empty) = match param {
            Param::Var(name) => match st.vars.get(name) {
                Some(v) if v.value.is_none() => return None,
                Some(v) if v.is_unset() => (false, true),
                Some(v) => {
                    let s = v.scalar().unwrap_or_default();
                    (true, s.is_empty())
                }
                None => match st.get(name) {
                    // HOME and PWD: known and set.
                    Some(v) => (true, v.is_empty()),
                    // From the environment: could be anything.
                    None => return None,
                },
            },
            Param::Positional(k) => {
                let p = st.positional.as_ref()?;
                match p.get(k - 1) {
                    Some(v) => (true, v.is_empty()),
                    None => (false, true),
                }
            }
            Param::Elem(n, i) => {
                let els = st.elements(n)?;
                let idx = if *i < 0 { els.len() as i64 + i } else { *i };
                match usize::try_from(idx).ok().and_then(|i| els.get(i)) {
                    Some(v) => (true, v.is_empty()),
                    None => (false, true),
                }
            }
            _ => {
                let (vals, all) = param.values(st)?;
                let set = !vals.is_empty();
                let empty = if all {
                    vals.iter().all(String::is_empty)
                } else {
                    vals.first().is_none_or(|v| v.is_empty())
                };
                (set, empty)
            }
        };
        let present = if colon { set && !empty } else { set };
        match op.trim_start_matches(':') {
            "-" | "=" => {
                if present {
                    param.expand(st, in_dq)
                } else {
                    let v = operand?;
                    if op.ends_with('=') {
                        match param {
                            Param::Var(name) => st.set(name, Some(v.clone())),
                            _ => return None,
                        }
                    }
                    Some(Expanded::Text(v))
                }
            }
            "+" => {
                if present {
                    operand.map(Expanded::Text)
                } else {
                    Some(Expanded::Text(String::new()))
                }
            }
            // `?`: an error when absent; otherwise the value.
            _ => {
                if present {
                    param.expand(st, in_dq)
                } else {
                    None
                }
            }
        }
    }

    /// The pieces of an operand: the children between `from` and `to`
    /// (bytes), with any text between them taken as unquoted source.
    #[allow(clippy::too_many_arguments)]
    fn operand_pieces(
        &mut self,
        kids: &[Node],
        from: usize,
        to: usize,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
        in_dq: bool,
    ) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut pos = from;
        for k in kids
            .iter()
            .filter(|k| k.start_byte() >= from && k.end_byte() <= to)
        {
            if k.start_byte() > pos {
                push_unquoted(&mut out, src.text.get(pos..k.start_byte()).unwrap_or(""));
            }
            if k.is_named() {
                let (p, _) = self.word_pieces(*k, src, st, ctx, in_dq);
                out.extend(p);
            } else {
                push_unquoted(&mut out, src.raw(*k));
            }
            pos = k.end_byte();
        }
        if to > pos {
            push_unquoted(&mut out, src.text.get(pos..to).unwrap_or(""));
        }
        out
    }

    /// An array index (arithmetic context, bash manual 6.5): an integer,
    /// possibly negative, or a variable holding one.
    fn arith_value(&mut self, index: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Option<i64> {
        let raw = src.raw(index).trim();
        if let Some(n) = arith_int(raw) {
            return Some(n);
        }
        let name = raw.strip_prefix('$').unwrap_or(raw);
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        if invocation::is_name(name) {
            let v = st.get(name);
            if let Some(n) = v.as_deref().and_then(|v| arith_int(v.trim())) {
                return Some(n);
            }
            // The value is itself evaluated as an expression.
            self.arith_eval_text(raw, false, src.span(index), st, ctx);
            return None;
        }
        // Anything else is unknown, but still runs its substitutions.
        self.walk_for_substitutions(index, src, st, ctx);
        self.arith_eval_text(raw, false, src.span(index), st, ctx);
        None
    }
}

/// A lowered assignment with what it does to arrays.
struct Assigned {
    assignment: Assignment,
    /// `+=`.
    append: bool,
    /// `NAME[i]=`: the index when known.
    index: Option<Option<i64>>,
    /// `NAME=(…)`: the elements when all are known.
    array: Option<Option<Vec<String>>>,
}

impl Assigned {
    /// Records the assignment in `st`; `unknown` forces an unknown value
    /// (declaration options such as `-i` or `-A` change its meaning).
    fn apply(&self, st: &mut State, unknown: bool) {
        let name = &self.assignment.name;
        if unknown {
            st.set_array(name, None);
            return;
        }
        let old = || st.elements(name);
        if let Some(elems) = &self.array {
            let new = match (elems, self.append) {
                (Some(e), true) => old().map(|mut o| {
                    o.extend(e.iter().cloned());
                    o
                }),
                (e, _) => e.clone(),
            };
            st.set_array(name, new);
            st.mark_array(name);
            return;
        }
        let value = self.assignment.value.value().map(str::to_string);
        if let Some(index) = self.index {
            let new = match (old(), index, value) {
                (Some(mut els), Some(i), Some(v)) => {
                    let len = els.len() as i64;
                    let i = if i < 0 { len + i } else { i };
                    if self.append && (0..len).contains(&i) {
                        els[i as usize].push_str(&v);
                        Some(els)
                    } else if (0..len).contains(&i) {
                        els[i as usize] = v;
                        Some(els)
                    } else if i == len {
                        els.push(v);
                        Some(els)
                    } else {
                        None // a gap: sparse arrays are not tracked
                    }
                }
                _ => None,
            };
            st.set_array(name, new);
            return;
        }
        let v = if self.append {
            value.and_then(|v| st.get(name).map(|old| old + &v))
        } else {
            value
        };
        st.set(name, v);
    }
}

/// The value of a parameter expansion.
enum Expanded {
    /// One string.
    Text(String),
    /// `${a[@]}`, `$@` and (unquoted) `$*`: separate words, even in quotes.
    Fields(Vec<String>),
}

/// The parameter an expansion names (bash manual 3.4).
enum Param {
    /// A variable (element 0 of an array).
    Var(String),
    /// `${a[i]}`.
    Elem(String, i64),
    /// `${a[@]}`/`${a[*]}`, or with `array: None`, `$@`/`$*`.
    All { array: Option<String>, star: bool },
    /// `$1` …
    Positional(usize),
    /// `$#`.
    Count,
}

impl Param {
    /// A parameter from its name as written after `$`; `None` for the
    /// special parameters whose value is never known (`$?`, `$$`, `$!`, `$-`, `$0`).
    fn from_name(name: &str) -> Option<Param> {
        match name {
            "@" => Some(Param::All {
                array: None,
                star: false,
            }),
            "*" => Some(Param::All {
                array: None,
                star: true,
            }),
            "#" => Some(Param::Count),
            n if n.chars().all(|c| c.is_ascii_digit()) => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .map(Param::Positional),
            n if invocation::is_name(n) => Some(Param::Var(n.to_string())),
            _ => None,
        }
    }

    /// The values the parameter holds, and whether it stands for all
    /// elements (so operators apply to each).
    fn values(&self, st: &State) -> Option<(Vec<String>, bool)> {
        match self {
            Param::Var(n) => Some((vec![st.get(n)?], false)),
            Param::Positional(k) => Some((vec![st.get(&k.to_string())?], false)),
            Param::Count => Some((vec![st.positional.as_ref()?.len().to_string()], false)),
            Param::Elem(n, i) => {
                let els = st.elements(n)?;
                let idx = if *i < 0 { els.len() as i64 + i } else { *i };
                if idx < 0 {
                    return None; // bash: "bad array subscript"
                }
                Some((
                    vec![els.get(idx as usize).cloned().unwrap_or_default()],
                    false,
                ))
            }
            Param::All { array: Some(n), .. } => Some((st.elements(n)?, true)),
            Param::All { array: None, .. } => Some((st.positional.clone()?, true)),
        }
    }

    /// The expansion of the parameter itself.
    fn expand(&self, st: &State, in_dq: bool) -> Option<Expanded> {
        let (vals, all) = self.values(st)?;
        self.finish(vals, all, st, in_dq)
    }

    /// Turns (possibly transformed) values into an expansion: `[*]` in
    /// double quotes joins with the first character of `$IFS`.
    fn finish(&self, vals: Vec<String>, all: bool, st: &State, in_dq: bool) -> Option<Expanded> {
        if !all {
            return Some(Expanded::Text(vals.into_iter().next().unwrap_or_default()));
        }
        match self {
            Param::All { star: true, .. } if in_dq => {
                let sep: String = st.ifs()?.chars().take(1).collect();
                Some(Expanded::Text(vals.join(&sep)))
            }
            _ => Some(Expanded::Fields(vals)),
        }
    }
}

/// The bash pattern a word's pieces form, each quoted character escaped
/// with `\\` (as [`crate::pathglob`] reads patterns). `None` when a piece is
/// unknown.
fn bash_pattern(pieces: &[Piece]) -> Option<String> {
    let mut bash = String::new();
    for p in pieces {
        match p {
            Piece::Char { c, quoted, .. } => {
                if *quoted {
                    bash.push('\\');
                }
                bash.push(*c);
            }
            _ => return None,
        }
    }
    Some(bash)
}

/// An integer constant as bash arithmetic reads it (bash manual 6.5): a
/// leading `0` means octal, `0x` hexadecimal, `BASE#N` any base from 2 to
/// 64; an optional sign. `None` for anything else.
fn arith_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if body.is_empty() {
        return None;
    }
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some((base, digits)) = body.split_once('#') {
        let base: u32 = base.parse().ok()?;
        if !(2..=36).contains(&base) {
            return None; // bases 37-64 use letters and `@`/`_`: not modelled
        }
        i64::from_str_radix(digits, base).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { v.checked_neg()? } else { v })
}

/// POSIX special builtins (bash manual 4.1 and 6.11, "Bash POSIX Mode").
fn is_special_builtin(name: &str) -> bool {
    matches!(
        name,
        ":" | "."
            | "break"
            | "continue"
            | "eval"
            | "exec"
            | "exit"
            | "export"
            | "readonly"
            | "return"
            | "set"
            | "shift"
            | "source"
            | "times"
            | "trap"
            | "unset"
    )
}

/// True when `gap` (text between two statements) holds a newline that
/// ends a line: one not escaped by a backslash (a line continuation).
fn ends_a_line(gap: &str) -> bool {
    let b = gap.as_bytes();
    (0..b.len()).any(|i| b[i] == b'\n' && (i == 0 || b[i - 1] != b'\\'))
}

/// True when an arithmetic expression may assign: `=` that is not part of
/// `==`, `!=`, `<=`, `>=`, or `++`/`--`.
fn assigns_in_arithmetic(t: &str) -> bool {
    let b = t.as_bytes();
    if t.contains("++") || t.contains("--") {
        return true;
    }
    (0..b.len()).any(|i| {
        b[i] == b'='
            && b.get(i + 1) != Some(&b'=')
            && !(i > 0 && matches!(b[i - 1], b'=' | b'!' | b'<' | b'>'))
    })
}

/// The shell names (identifiers) in an arithmetic expression's text.
fn identifiers(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'_' || b[i].is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            // Not the tail of a number such as `0x1f` or `16#ff`.
            if start == 0 || !b[start - 1].is_ascii_alphanumeric() && b[start - 1] != b'#' {
                out.push(&text[start..i]);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The text of pieces when all are known.
fn pieces_text(pieces: &[Piece]) -> Option<String> {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Char { c, .. } => s.push(*c),
            Piece::Break { .. } => s.push(' '),
            Piece::NoFields => {}
            Piece::Unknown { .. } => return None,
        }
    }
    Some(s)
}

/// Offset of the first `/` in `raw` outside quotes, escapes and nested
/// `${…}`, `$(…)` and backquotes: where `${x/PATTERN/STRING}` splits.
fn first_unquoted_slash(raw: &str) -> Option<usize> {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'\'') => {
                if c == b'\'' {
                    quote = None;
                }
            }
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\\' => i += 1,
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'$' if matches!(b.get(i + 1), Some(b'{' | b'(')) => {
                    depth += 1;
                    i += 1;
                }
                b'(' | b'{' if depth > 0 => depth += 1,
                b')' | b'}' if depth > 0 => depth -= 1,
                b'/' if depth == 0 => return Some(i),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Pushes an unquoted source fragment: backslash quotes the next character
/// and backslash-newline disappears (bash manual 3.1.2.1).
/// A word group with each concatenation that ends in a bare `$` node
/// opened into its children, so the `$` meets the word after it.
fn split_dollar_word<'t>(group: Vec<Node<'t>>) -> Vec<Node<'t>> {
    let ends_in_dollar = |n: &Node| {
        n.kind() == "concatenation"
            && n.child(n.child_count().saturating_sub(1))
                .is_some_and(|last| !last.is_named() && last.kind() == "$")
    };
    let unwrap = |n: Node<'t>| -> Node<'t> {
        if n.kind() == "command_name" {
            n.named_child(0).unwrap_or(n)
        } else {
            n
        }
    };
    if !group.iter().any(|n| ends_in_dollar(&unwrap(*n))) {
        return group;
    }
    let mut out = Vec::new();
    for n in group {
        let n = if ends_in_dollar(&unwrap(n)) {
            unwrap(n)
        } else {
            n
        };
        if ends_in_dollar(&n) {
            let mut cursor = n.walk();
            // Children cover the concatenation without gaps when it ends
            // in `$`; a gap would be literal text, so keep the node whole.
            let kids: Vec<Node> = n.children(&mut cursor).collect();
            let contiguous = kids
                .windows(2)
                .all(|w| w[0].end_byte() == w[1].start_byte())
                && kids
                    .first()
                    .is_some_and(|k| k.start_byte() == n.start_byte());
            if contiguous {
                out.extend(kids);
                continue;
            }
        }
        out.push(n);
    }
    out
}

/// True when `raw` has a `$` not escaped by a backslash.
fn has_unescaped_dollar(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'$' => return true,
            _ => i += 1,
        }
    }
    false
}

fn push_unquoted(pieces: &mut Vec<Piece>, raw: &str) {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') => {}
                Some(n) => pieces.push(Piece::Char {
                    c: n,
                    quoted: true,
                    expanded: false,
                }),
                None => pieces.push(Piece::Char {
                    c: '\\',
                    quoted: true,
                    expanded: false,
                }),
            }
        } else {
            pieces.push(Piece::Char {
                c,
                quoted: false,
                expanded: false,
            });
        }
    }
}

/// Pushes a fragment inside double quotes or a here-document, where a
/// backslash escapes only the characters in `special` (bash manual 3.1.2.3).
fn push_escaped(pieces: &mut Vec<Piece>, raw: &str, special: &str) {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\n') if special.contains('\n') => {
                    chars.next();
                }
                Some(n) if special.contains(*n) => {
                    let n = *n;
                    chars.next();
                    pieces.push(Piece::Char {
                        c: n,
                        quoted: true,
                        expanded: false,
                    });
                }
                _ => pieces.push(Piece::Char {
                    c: '\\',
                    quoted: true,
                    expanded: false,
                }),
            }
        } else {
            pieces.push(Piece::Char {
                c,
                quoted: true,
                expanded: false,
            });
        }
    }
}

/// Tilde expansion (bash manual 3.5.2) at the start of a word, and after
/// `=` / `:` in assignments when `assignment` is set.
fn tilde_expand(pieces: &mut Vec<Piece>, st: &State, assignment: bool) {
    let mut starts = vec![0];
    if assignment {
        for (i, p) in pieces.iter().enumerate() {
            if matches!(
                p,
                Piece::Char {
                    c: ':',
                    quoted: false,
                    expanded: false
                }
            ) {
                starts.push(i + 1);
            }
        }
    }
    for &s in starts.iter().rev() {
        if !matches!(
            pieces.get(s),
            Some(Piece::Char {
                c: '~',
                quoted: false,
                expanded: false
            })
        ) {
            continue;
        }
        let mut end = s + 1;
        let mut user = String::new();
        while let Some(Piece::Char {
            c,
            quoted: false,
            expanded: false,
        }) = pieces.get(end)
        {
            if *c == '/' || (assignment && *c == ':') {
                break;
            }
            user.push(*c);
            end += 1;
        }
        if let Some(
            Piece::Char { quoted: true, .. }
            | Piece::Char { expanded: true, .. }
            | Piece::Unknown { .. },
        ) = pieces.get(end)
        {
            continue; // `~"x"` and `~$x` are not tilde-prefixes.
        }
        let value = match user.as_str() {
            "" => st.get("HOME"),
            "+" => st.cwd.clone(),
            "-" => st.get("OLDPWD"),
            u if u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
            {
                match user_home(u) {
                    Some(Some(h)) => Some(h),
                    // No such user: bash leaves the word unchanged.
                    Some(None) => continue,
                    None => None,
                }
            }
            _ => None,
        };
        let repl = match value {
            Some(v) => v
                .chars()
                .map(|c| Piece::Char {
                    c,
                    quoted: true,
                    expanded: true,
                })
                .collect(),
            None => vec![Piece::Unknown {
                src: format!("~{user}"),
                substs: Vec::new(),
            }],
        };
        pieces.splice(s..end, repl);
    }
}

/// The home directory of login name `user` on this machine (`~user`,
/// bash manual 3.5.2), from the password database: `Some(None)` when there
/// is no such user, `None` when the lookup failed.
fn user_home(user: &str) -> Option<Option<String>> {
    match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Some(u.dir.to_str().map(str::to_string)),
        Ok(None) => Some(None),
        Err(_) => None,
    }
}

/// A word from pieces without word splitting or brace expansion (assignment
/// values and redirection targets).
fn collapse(pieces: Vec<Piece>, span: Span) -> Word {
    let mut w = Word::literal("", span);
    for p in pieces {
        match p {
            Piece::Char { c, quoted, .. } => {
                if !quoted && matches!(c, '*' | '?' | '[') {
                    w.glob = true;
                }
                w.text.push(c);
            }
            Piece::Unknown { src, substs } => {
                w.dynamic = true;
                w.text.push_str(&src);
                w.substitutions.extend(substs);
            }
            // `x="${a[@]}"` joins the elements with spaces.
            Piece::Break { .. } => w.text.push(' '),
            Piece::NoFields => {}
        }
    }
    w
}

/// A pipeline stage: a syntax node, or a node with redirections that the
/// grammar attached elsewhere.
enum StageSrc<'t> {
    Node(Node<'t>),
    Redirected {
        node: Node<'t>,
        redirects: Vec<Redirect>,
        extra: Vec<Node<'t>>,
    },
}

impl<'t> StageSrc<'t> {
    /// The stage's statement node.
    fn node(&self) -> Node<'t> {
        match self {
            StageSrc::Node(n) | StageSrc::Redirected { node: n, .. } => *n,
        }
    }
}

/// Node kinds that are statements rather than words.
fn is_statement(kind: &str) -> bool {
    matches!(
        kind,
        "pipeline"
            | "list"
            | "command"
            | "redirected_statement"
            | "subshell"
            | "compound_statement"
            | "negated_command"
            | "if_statement"
            | "while_statement"
            | "for_statement"
            | "case_statement"
            | "function_definition"
            | "variable_assignment"
            | "declaration_command"
    )
}

/// Sets the standard input a redirection gives: a here-document or
/// here-string's text, a process substitution's known output (`< <(…)`),
/// or a file.
fn apply_stdin(
    ctx: &mut Ctx,
    r: &Redirect,
    script: &Script,
    ps_output: &std::collections::HashMap<SubstId, String>,
) {
    if r.fd.is_some_and(|f| f != 0) {
        return;
    }
    if r.is_here() {
        let producers = script.substitution_commands(&r.target.substitutions);
        ctx.stdin_shared = false;
        ctx.stdin = Some(Stdin::Here {
            data: r
                .target
                .value()
                .map(str::to_string)
                .or_else(|| (!r.target.dynamic).then(|| r.target.text.clone())),
            producers,
        });
    } else if matches!(r.op.as_str(), "<&" | "<>") {
        // A duplicated or read-write descriptor: what it holds is not known.
        ctx.stdin_shared = false;
        ctx.stdin = Some(Stdin::File {
            path: r.target.clone(),
        });
    } else if r.op == "<" {
        let known = r
            .target
            .process_substitution
            .then(|| r.target.substitutions.first())
            .flatten()
            .and_then(|id| ps_output.get(id));
        ctx.stdin_shared = false;
        ctx.stdin = Some(match known {
            Some(out) => Stdin::Pipe {
                data: Some(out.clone()),
                producers: script.substitution_commands(&r.target.substitutions),
            },
            None => Stdin::File {
                path: r.target.clone(),
            },
        });
    }
}

/// The text of a backquoted command substitution after bash's backslash
/// processing, when it contains escapes (`None` otherwise).
fn backtick_unescape(raw: &str) -> Option<String> {
    let inner = raw.strip_prefix('`')?.strip_suffix('`')?;
    if !inner.contains('\\') {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('`' | '$' | '\\')) {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Paths that name the process's own standard input.
/// What `read` assigns to one name.
enum ReadValue {
    Scalar(Option<String>),
    Array(Option<Vec<String>>),
}

/// The `read` builtin (bash manual 4.2): one line of `data` (up to the `-d`
/// delimiter), backslash escapes removed unless `-r`, split on `$IFS` with
/// the last name taking the rest of the line. Returns the assignments, with
/// unknown values when the input or `$IFS` is not known; `Err` when the
/// names themselves are not known.
fn read_builtin(
    argv: &[Word],
    data: Option<&str>,
    ifs: Option<&str>,
) -> Result<Vec<(String, ReadValue)>, ()> {
    let mut raw = false;
    let mut array: Option<String> = None;
    let mut delim = '\n';
    let mut exact = true;
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].value().ok_or(())?;
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        for (k, c) in t[1..].char_indices() {
            let mut value = || -> Result<String, ()> {
                let rest = &t[1 + k + c.len_utf8()..];
                if !rest.is_empty() {
                    Ok(rest.to_string())
                } else {
                    i += 1;
                    argv.get(i)
                        .and_then(|w| w.value())
                        .map(str::to_string)
                        .ok_or(())
                }
            };
            match c {
                'r' => raw = true,
                's' | 'e' => {}
                'a' => {
                    array = Some(value()?);
                    break;
                }
                'd' => {
                    delim = value()?.chars().next().unwrap_or('\0');
                    break;
                }
                'p' | 't' | 'i' => {
                    value()?;
                    break;
                }
                // -n/-N count characters, -u reads another descriptor.
                'n' | 'N' | 'u' => {
                    value()?;
                    exact = false;
                    break;
                }
                _ => return Err(()),
            }
        }
        i += 1;
    }
    let mut names: Vec<String> = Vec::new();
    for w in &argv[i.min(argv.len())..] {
        let n = w.value().ok_or(())?;
        if !invocation::is_name(n) {
            return Err(());
        }
        names.push(n.to_string());
    }
    if names.is_empty() && array.is_none() {
        names.push("REPLY".into());
    }
    let fields = match (data, ifs, exact) {
        (Some(d), Some(ifs), true) => {
            let line = read_line(d, delim, raw);
            let ifs = if names.len() == 1 && array.is_none() && names[0] == "REPLY" {
                "" // `read` with no names keeps the line whole
            } else {
                ifs
            };
            Some(read_split(
                &line,
                ifs,
                if array.is_some() {
                    usize::MAX
                } else {
                    names.len()
                },
            ))
        }
        _ => None,
    };
    if let Some(a) = array {
        return Ok(vec![(a, ReadValue::Array(fields))]);
    }
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(k, n)| {
            let v = fields
                .as_ref()
                .map(|f| f.get(k).cloned().unwrap_or_default());
            (n, ReadValue::Scalar(v))
        })
        .collect())
}

/// One line for `read`: up to `delim`; without `-r`, backslash-newline
/// joins lines and a backslash quotes the next character.
fn read_line(data: &str, delim: char, raw: bool) -> String {
    let mut out = String::new();
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        if c == delim {
            break;
        }
        if c == '\\' && !raw {
            match chars.next() {
                Some('\n') | None => continue,
                Some(n) => {
                    out.push('\u{1}'); // marks a quoted character for splitting
                    out.push(n);
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Splits a `read` line into at most `n` fields on `ifs`, the last taking
/// the rest of the line with trailing IFS whitespace removed.
fn read_split(line: &str, ifs: &str, n: usize) -> Vec<String> {
    let white = |c: char| matches!(c, ' ' | '\t' | '\n') && ifs.contains(c);
    let other = |c: char| !matches!(c, ' ' | '\t' | '\n') && ifs.contains(c);
    let unmark = |s: &str| s.replace('\u{1}', "");
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() && white(chars[i]) {
        i += 1;
    }
    let mut out = Vec::new();
    while i < chars.len() {
        if out.len() + 1 == n {
            // The last name: the rest of the line, trailing IFS whitespace removed.
            let mut rest: String = chars[i..].iter().collect();
            while rest.ends_with(|c: char| white(c)) && !rest.ends_with("\u{1} ") {
                rest.pop();
            }
            // A single trailing delimiter after the last field is dropped.
            let body = rest.trim_end_matches(|c: char| other(c));
            if rest.len() - body.len() == 1 && !body.chars().any(|c| other(c) || white(c)) {
                rest = body.to_string();
            }
            out.push(unmark(&rest));
            return out;
        }
        let mut field = String::new();
        while i < chars.len() && !white(chars[i]) && !other(chars[i]) {
            if chars[i] == '\u{1}' && i + 1 < chars.len() {
                field.push(chars[i + 1]);
                i += 2;
                continue;
            }
            field.push(chars[i]);
            i += 1;
        }
        out.push(field);
        while i < chars.len() && white(chars[i]) {
            i += 1;
        }
        if i < chars.len() && other(chars[i]) {
            i += 1;
            while i < chars.len() && white(chars[i]) {
                i += 1;
            }
        }
    }
    out.into_iter().map(|f| unmark(&f)).collect()
}

/// What `mapfile`/`readarray` does.
struct Mapfile {
    /// The array assigned (`None` when not known).
    name: Option<String>,
    /// Its elements, when the input is known.
    lines: Option<Vec<String>>,
    /// `-C CODE`: code evaluated as lines are read.
    callback: Option<Word>,
    /// `-c N`: lines between callback calls (5000 by default).
    quantum: usize,
}

/// The `mapfile` builtin (bash manual 4.2): lines of standard input (split
/// at `-d DELIM`, newline by default; kept unless `-t`), skipping `-s N`,
/// at most `-n N`, into the named array (`MAPFILE` by default).
fn mapfile_builtin(argv: &[Word], data: Option<&str>) -> Mapfile {
    let mut strip = false;
    let mut delim = '\n';
    let (mut skip, mut count) = (0usize, 0usize);
    let mut known = data.is_some();
    let mut callback = None;
    let mut quantum = 5000;
    let mut name = Some("MAPFILE".to_string());
    let mut i = 1;
    let mut only_names = false;
    while i < argv.len() {
        let Some(t) = argv[i].value() else {
            return Mapfile {
                name: None,
                lines: None,
                callback: argv[i..].first().cloned(),
                quantum: 1,
            };
        };
        if t == "--" && !only_names {
            only_names = true;
            i += 1;
            continue;
        }
        if only_names || !t.starts_with('-') || t == "-" {
            name = invocation::is_name(t).then(|| t.to_string());
            i += 1;
            continue;
        }
        // A cluster of flags (`-tC code`, `-c1`): a letter that takes a
        // value takes the rest of the word, or the next word.
        let mut consumed = 1;
        for (k, c) in t[1..].char_indices() {
            if c == 't' {
                strip = true;
                continue;
            }
            if !"dnOsuCc".contains(c) {
                known = false; // an option not modelled
                continue;
            }
            let rest = &t[1 + k + c.len_utf8()..];
            let value = if rest.is_empty() {
                consumed = 2;
                argv.get(i + 1).cloned()
            } else {
                let mut w = argv[i].clone();
                w.text = rest.to_string();
                Some(w)
            };
            let text = value.as_ref().and_then(|w| w.value()).map(str::to_string);
            let num = text.as_deref().and_then(|v| v.parse::<usize>().ok());
            match c {
                'd' => delim = text.and_then(|d| d.chars().next()).unwrap_or('\0'),
                's' => match num {
                    Some(n) => skip = n,
                    None => known = false,
                },
                'n' => match num {
                    Some(n) => count = n,
                    None => known = false,
                },
                'C' => callback = value,
                'c' => quantum = num.unwrap_or(1),
                // Another origin or descriptor.
                _ => known = false,
            }
            break;
        }
        i += consumed;
    }
    let lines = data.filter(|_| known).map(|d| {
        let mut out = Vec::new();
        let mut cur = String::new();
        for c in d.chars() {
            if c == delim {
                if !strip {
                    cur.push(c);
                }
                out.push(std::mem::take(&mut cur));
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        let out = out.into_iter().skip(skip);
        if count > 0 {
            out.take(count).collect()
        } else {
            out.collect()
        }
    });
    Mapfile {
        name,
        lines,
        callback,
        quantum,
    }
}

/// `set [options] [--] [args…]` (bash manual 4.3.1): the new positional
/// parameters, or `old` when the command does not set them.
fn set_positional(argv: &[Word], old: Option<Vec<String>>) -> Option<Vec<String>> {
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].value()?;
        if t == "--" {
            i += 1;
            // `set --` with nothing after it clears them.
            return invocation::known_texts(&argv[i..]);
        }
        if t == "-" {
            i += 1;
            break;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            // An option bash does not know makes `set` fail and change nothing.
            if !t[1..].chars().all(|c| "abefhkmnptuvxBCEHPTo".contains(c)) {
                return old;
            }
            // `-o NAME` / `+o NAME` take an option name.
            i += if t.ends_with('o') { 2 } else { 1 };
            continue;
        }
        break;
    }
    if i >= argv.len() {
        // `set -` or options alone: the parameters stay as they were.
        return old;
    }
    invocation::known_texts(&argv[i..])
}

/// Applies prefix assignments (`IFS=: eval …`) for the duration of a
/// builtin or function, returning the values to restore.
fn with_prefix(assigns: &[Assignment], st: &mut State) -> Vec<(String, Option<crate::state::Var>)> {
    let mut saved = Vec::new();
    for a in assigns {
        saved.push((a.name.clone(), st.vars.get(&a.name).cloned()));
        st.set(&a.name, a.value.value().map(str::to_string));
    }
    saved
}

/// Undoes [`with_prefix`].
fn restore_prefix(saved: Vec<(String, Option<crate::state::Var>)>, st: &mut State) {
    for (n, old) in saved.into_iter().rev() {
        match old {
            Some(v) => {
                st.vars.insert(n, v);
            }
            None => {
                st.vars.remove(&n);
            }
        }
    }
}

/// The state a child shell starts with. bash runs non-interactive shells
/// with `expand_aliases` off; POSIX shells (`sh`, `dash`, `ksh`, `zsh` …),
/// `bash -i` and `bash -O expand_aliases` expand them (bash manual 6.6).
fn child_shell_for(st: &State, program: &str, argv: &[Word]) -> State {
    let mut child = st.child_shell();
    let interactive = argv.iter().skip(1).any(|w| {
        w.value().is_some_and(|t| {
            t == "expand_aliases" || (t.starts_with('-') && !t.starts_with("--") && t.contains('i'))
        })
    });
    if !matches!(program, "bash" | "rbash") || interactive {
        child.aliases.expand = Some(true);
    }
    child.xsi_echo = !matches!(program, "bash" | "rbash");
    child
}

fn stdin_data(stdin: &Stdin) -> Option<String> {
    match stdin {
        Stdin::Pipe { data, .. } | Stdin::Here { data, .. } => data.clone(),
        _ => None,
    }
}
