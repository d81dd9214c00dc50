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

use crate::invocation::{self, ShellCode, Unwrapped};
use crate::model::*;
use crate::state::{join_path, FuncDef, State};
use crate::static_output;
use crate::word::{finish, push_str, Piece};
use crate::{Options, ParseError};

/// Most commands one input may expand to (functions called in loops,
/// nested scripts); beyond it the rest is reported as unanalysed.
pub const MAX_COMMANDS: usize = 10_000;

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
}

/// Parses `text` with tree-sitter-bash. Returns the tree, or the span and
/// description of the first ERROR or MISSING node.
pub(crate) fn parse_tree(text: &str) -> Result<tree_sitter::Tree, ParseError> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .map_err(|e| ParseError::Internal(format!("tree-sitter-bash grammar: {e}")))?;
    let tree = parser
        .parse(text, None)
        .ok_or_else(|| ParseError::Internal("tree-sitter gave no tree".into()))?;
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
            let mut s = st.clone();
            self.nested(&def.body, def.map, &mut s, &c, &format!("function {name}"));
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
        for k in &kids {
            last = self.stmt(*k, src, st, ctx);
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
                self.stmts(node, src, &mut inner, ctx)
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
                let mut cursor = node.walk();
                for a in node.named_children(&mut cursor) {
                    let words = self.words(a, src, st, ctx);
                    for w in words {
                        if let Some(v) = w.value() {
                            if !v.starts_with('-') {
                                st.set(v, Some(String::new()));
                                st.functions.remove(v);
                            }
                        }
                    }
                }
                None
            }
            "function_definition" => {
                self.function_definition(node, src, st);
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
                self.loop_fixpoint(st, |me, st| {
                    me.stmts(node, src, st, ctx);
                });
                None
            }
            "for_statement" => {
                self.for_statement(node, src, st, ctx);
                None
            }
            _ => {
                // test commands, arithmetic commands and anything else: their
                // words may hold substitutions, which run.
                self.walk_for_substitutions(node, src, st, ctx);
                None
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
    fn list(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        let mut elems = Vec::new();
        flatten_list(node, &mut elems);
        let mut snapshots = Vec::new();
        for e in elems {
            self.stmt(e, src, st, ctx);
            snapshots.push(st.clone());
        }
        if !snapshots.is_empty() {
            *st = State::merge(&snapshots);
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
        let pid = self.out.pipelines.len();
        self.out.pipelines.push(stages.len());
        let mut data: Option<String> = None;
        let first_cmd = self.out.commands.len();
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
                c.stdin = Some(Stdin::Pipe {
                    producers,
                    data: data.take(),
                });
            }
            // Each stage runs in a subshell: its state changes do not persist.
            let mut inner = st.clone();
            data = match stage {
                StageSrc::Node(n) => self.stmt(n, src, &mut inner, &c),
                StageSrc::Redirected {
                    node,
                    redirects,
                    extra,
                } => self.with_redirects(node, redirects, extra, src, &mut inner, &c),
            };
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
        for k in kids {
            match k.kind() {
                "file_redirect" | "heredoc_redirect" | "herestring_redirect" => {
                    let (r, more) = self.redirect(k, src, st, ctx);
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
        let Some(body) = body else {
            // Redirections alone (`> file`): bash still opens and truncates.
            let mut c = ctx.clone();
            for r in reds {
                apply_stdin(&mut c, &r, self.out);
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
            apply_stdin(&mut c, &r, self.out);
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
                    let (p, _) = self.word_pieces(k, src, st, ctx, false);
                    target_pieces.extend(p);
                    target_span = Some(target_span.map_or(src.span(k), |s| s.cover(src.span(k))));
                    target_end = Some(k.end_byte());
                }
            }
        }
        let tspan = target_span.unwrap_or(span);
        // Here-strings undergo tilde expansion; here-documents do not.
        if op != "<<" && op != "<<-" {
            tilde_expand(&mut target_pieces, st, false);
        }
        if op == "<<<" {
            target_pieces.push(Piece::Char {
                c: '\n',
                quoted: true,
                expanded: false,
            });
        }
        // Redirection targets undergo no word splitting; a here-doc body none
        // of the other expansions either.
        let target = collapse(target_pieces, tspan);
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
            self.exec_env(&a.name, &a.value, st, ctx);
            let append = src.raw(node).contains("+=")
                && src.raw(node).find("+=") < src.raw(node).find('=').map(|x| x + 1);
            let v = a.value.value().map(str::to_string);
            let v = if append {
                v.and_then(|v| st.get(&a.name).map(|old| old + &v))
            } else {
                v
            };
            st.set(&a.name, v);
        }
    }

    /// Lowers `NAME=value` (or `NAME+=value`, `NAME=(…)`). Arrays are not
    /// tracked yet: their value is unknown.
    fn assignment(
        &mut self,
        node: Node,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<Assignment> {
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        let name_node = kids.first()?;
        let name = match name_node.kind() {
            "variable_name" => src.raw(*name_node).to_string(),
            "subscript" => {
                // a[i]=v: element assignment; the array becomes unknown.
                let n = name_node
                    .named_child(0)
                    .map(|c| src.raw(c).to_string())
                    .unwrap_or_default();
                // The index is expanded too (`a[$(cmd)]=1` runs cmd).
                self.walk_for_substitutions(*name_node, src, st, ctx);
                for k in &kids[1..] {
                    self.word_pieces(*k, src, st, ctx, false);
                }
                st.set(&n, None);
                return None;
            }
            _ => return None,
        };
        let span = src.span(node);
        let value = match kids.get(1) {
            None => Word::literal("", span),
            Some(v) if v.kind() == "array" => {
                let mut cursor = v.walk();
                let elems: Vec<Node> = v.named_children(&mut cursor).collect();
                for e in elems {
                    self.word_pieces(e, src, st, ctx, false);
                }
                let mut w = Word::literal(src.raw(*v), src.span(*v));
                w.dynamic = true;
                w
            }
            Some(_) => {
                let mut pieces = Vec::new();
                for k in &kids[1..] {
                    let (p, _) = self.word_pieces(*k, src, st, ctx, false);
                    pieces.extend(p);
                }
                tilde_expand(&mut pieces, st, true);
                collapse(pieces, span)
            }
        };
        Some(Assignment { name, value })
    }

    /// `export`, `declare`, `typeset`, `local`, `readonly` (bash manual 4.2).
    fn declaration(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) {
        let keyword = node
            .child(0)
            .map(|k| src.raw(k).to_string())
            .unwrap_or_default();
        let mut export = keyword == "export";
        let mut opaque_opts = false;
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        for k in kids {
            match k.kind() {
                "variable_assignment" => {
                    if let Some(a) = self.assignment(k, src, st, ctx) {
                        self.exec_env(&a.name, &a.value, st, ctx);
                        let v = if opaque_opts {
                            None
                        } else {
                            a.value.value().map(str::to_string)
                        };
                        st.set(&a.name, v);
                        if export {
                            st.export(&a.name);
                        }
                    }
                }
                "variable_name" => {
                    let n = src.raw(k).to_string();
                    if opaque_opts {
                        st.set(&n, None);
                    }
                    if export {
                        st.export(&n);
                    }
                }
                _ => {
                    for w in self.words(k, src, st, ctx) {
                        match w.value() {
                            Some(o) if o.starts_with('-') || o.starts_with('+') => {
                                if o.starts_with('-') && o.contains('x') {
                                    export = true;
                                }
                                if o[1..]
                                    .chars()
                                    .any(|c| !matches!(c, 'x' | 'r' | 'g' | 'p' | 'f' | 'F'))
                                {
                                    // -a, -A, -i, -l, -u, -n change what the value means.
                                    opaque_opts = true;
                                }
                            }
                            Some(n) if invocation::is_name(n) => {
                                if export {
                                    st.export(n);
                                }
                            }
                            _ => {
                                // A dynamic word may assign any variable.
                                if w.dynamic {
                                    st.vars.values_mut().for_each(|v| v.value = None);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn function_definition(&mut self, node: Node, src: &Src, st: &mut State) {
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
        st.functions.insert(
            name.clone(),
            Rc::new(FuncDef {
                body: src.raw(body).to_string(),
                map,
            }),
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
        for item in items {
            let mut s = st.clone();
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
            ends.push(s);
        }
        *st = State::merge(&ends);
    }

    /// Lowers a loop whose body may run any number of times: the body is
    /// first lowered into scratch space until the state it leaves is stable,
    /// then lowered for real from that state.
    fn loop_fixpoint(&mut self, st: &mut State, body: impl Fn(&mut Self, &mut State)) {
        let mut entry = st.clone();
        for _ in 0..4 {
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
            if merged.vars == entry.vars && merged.cwd == entry.cwd {
                break;
            }
            entry = merged;
        }
        let mut s = entry.clone();
        body(self, &mut s);
        *st = State::merge(&[entry, s]);
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
                    apply_stdin(&mut c, &r, self.out);
                    redirects.push(r);
                }
                "comment" => {}
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
            for n in &g {
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
            tilde_expand(&mut pieces, st, false);
            argv.extend(finish(pieces, gspan.unwrap_or(span), ps, had_quotes));
        }
        let stdin = c.stdin.clone().unwrap_or(Stdin::Inherited);
        c.redirects.extend(redirects);
        if argv.is_empty() {
            // Only assignments (and redirections): they set shell variables.
            for a in &assigns {
                st.set(&a.name, a.value.value().map(str::to_string));
            }
            if !c.redirects.is_empty() {
                self.emit(span, Vec::new(), assigns, &c, st, stdin);
            }
            return None;
        }
        // Checked once here, where the assignments are written; `run`
        // recurses through wrappers with the same list.
        for a in &assigns {
            self.exec_env(&a.name, &a.value, st, &c);
        }
        self.run(argv, assigns, span, src, st, &c, stdin, true)
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
        self.run_written_file(&name, &argv, st, ctx);
        // Functions (bash manual 3.3) and builtins are found only for plain names.
        if shell_lookup && !name.contains('/') {
            if let Some(def) = st.functions.get(&name).cloned() {
                return self.call_function(&name, &def, span, st, ctx);
            }
            if let Some(r) = self.builtin(&name, &argv, &assigns, span, src, st, ctx, &stdin) {
                return r;
            }
        }
        let stdin_data = stdin_data(&stdin);
        if let Some((wrapper, inner)) = invocation::unwrap(&argv, stdin_data.as_deref()) {
            let mut c = ctx.clone();
            c.wrappers.push(wrapper.clone());
            let env_assigns: Vec<Assignment> = wrapper
                .argv
                .iter()
                .filter_map(|w| {
                    w.value()
                        .and_then(|t| t.split_once('='))
                        .filter(|(n, _)| !n.is_empty() && !n.starts_with('-'))
                        .map(|(n, v)| Assignment {
                            name: n.into(),
                            value: Word::literal(v, span),
                        })
                })
                .collect();
            match inner {
                Unwrapped::Command(words) => {
                    // `command`, `builtin` and the `time` keyword still reach
                    // builtins and functions; the others exec a program.
                    let lookup = matches!(wrapper.name.as_str(), "command" | "builtin" | "time");
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
                    self.run_code(&code, &via, st.child_shell(), &c, span);
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
                ShellCode::String(code) => {
                    self.run_code(&code, &format!("{program} -c"), st.child_shell(), ctx, span)
                }
                ShellCode::Stdin => self.run_stdin(&program, &stdin, st.child_shell(), ctx, span),
                ShellCode::File(w) if is_stdin_path(&w.text) => {
                    self.run_stdin(&program, &stdin, st.child_shell(), ctx, span)
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
        if invocation::is_command_env(name) {
            if !value.text.is_empty() {
                self.run_code(
                    value,
                    &format!("{name}="),
                    st.child_shell(),
                    ctx,
                    value.span,
                );
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
            if let Some(dest) = argv.iter().skip(1).rfind(|w| !w.text.starts_with('-')) {
                if let Some(path) = abs(st, dest) {
                    st.files.insert(path, None);
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
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<()> {
        if st.files.is_empty() {
            return None;
        }
        let program = basename(name);
        let (file, same_shell, shell) = if name.contains('/') {
            (argv[0].clone(), false, true)
        } else if matches!(program, "source" | ".") {
            (argv.get(1)?.clone(), true, true)
        } else if invocation::is_shell(program) {
            match invocation::shell_code(argv) {
                ShellCode::File(w) => (w, false, true),
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
                if same_shell {
                    self.nested(&text, SpanMap::Fixed(file.span), st, &c, &via);
                } else {
                    let mut child = st.child_shell();
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
    fn run_code(&mut self, code: &Word, via: &str, mut state: State, ctx: &Ctx, _span: Span) {
        match code.value() {
            Some(text) => {
                let mut c = ctx.clone();
                c.stdin = None;
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
        let src = Src { text, map };
        self.active_depth += depth;
        self.stmts(tree.root_node(), &src, st, &c);
        self.active_depth -= depth;
    }

    fn opts_source_slice(&self, s: Span) -> Option<&str> {
        self.top.get(s.start..s.end)
    }

    fn call_function(
        &mut self,
        name: &str,
        def: &FuncDef,
        _span: Span,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<String> {
        self.called.insert(name.to_string());
        let mut c = ctx.clone();
        c.origin.push(Origin::Function {
            name: name.to_string(),
        });
        let body = def.body.clone();
        self.nested(&body, def.map, st, &c, &format!("function {name}"));
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
                        Some("-") => None,
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
                st.cwd = new;
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
                        let mut c = ctx.clone();
                        c.stdin = None;
                        self.nested(&text, SpanMap::Fixed(code.span), st, &c, "eval");
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
                self.run_stdin(name, stdin, st.clone(), ctx, span);
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
                st.vars.values_mut().for_each(|v| v.value = None);
                st.cwd = None;
                Some(out)
            }
            "read" | "mapfile" | "readarray" | "getopts" => {
                for w in argv.iter().skip(1) {
                    if let Some(n) = w.value().filter(|t| invocation::is_name(t)) {
                        st.set(n, None);
                    }
                }
                if name == "read" && argv.len() == 1 {
                    st.set("REPLY", None);
                }
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "printf"
                if argv
                    .get(1)
                    .is_some_and(|w| w.value().is_some_and(|t| t.starts_with("-v"))) =>
            {
                let var = match argv[1].value() {
                    Some("-v") => argv.get(2).and_then(|w| w.value()).map(str::to_string),
                    Some(t) => Some(t[2..].to_string()),
                    None => None,
                };
                if let Some(v) = var {
                    st.set(&v, None);
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
                self.run_code(&action, "trap", st.clone(), ctx, span);
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
            "shopt" if argv.iter().any(|w| w.value() == Some("cdable_vars")) => {
                st.cdable_vars = true;
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "alias" if argv.len() > 1 => {
                self.emit_opaque(Opaque::Aliases { span });
                Some(self.emit_builtin(span, argv, assigns, ctx, st, stdin))
            }
            "shopt" if argv.iter().any(|w| w.value() == Some("expand_aliases")) => {
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
                        st.vars.values_mut().for_each(|v| v.value = None);
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
        let output =
            static_argv.and_then(|a| static_output::stdout_of(&a, stdin_data(&stdin).as_deref()));
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
        });
        output
    }

    /// Lowers one syntax node (possibly a concatenation) into words.
    fn words(&mut self, node: Node, src: &Src, st: &mut State, ctx: &Ctx) -> Vec<Word> {
        let ps = node.kind() == "process_substitution";
        let (mut pieces, q) = self.word_pieces(node, src, st, ctx, false);
        tilde_expand(&mut pieces, st, false);
        finish(pieces, src.span(node), ps, q)
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
                let value = self.expansion_value(node, src, st, ctx);
                if value.is_none() && self.out.commands.len() == mark {
                    // Operators shellgate does not evaluate still run the
                    // substitutions inside them (`${x/$(cmd)/}`).
                    self.walk_for_substitutions(node, src, st, ctx);
                }
                match value {
                    Some(v) if self.expansion_ok(&v, st, in_dq) => {
                        push_str(&mut pieces, &v, in_dq, true)
                    }
                    _ => pieces.push(Piece::Unknown {
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
                c.stdin = None;
                c.stages.clear();
                c.depth += 1;
                let mut inner = st.clone();
                if c.depth <= self.opts.max_depth {
                    self.stmts(node, src, &mut inner, &c);
                }
                pieces.push(Piece::Unknown {
                    src: raw.to_string(),
                    substs: vec![id],
                });
                (pieces, false)
            }
            "arithmetic_expansion" => {
                self.walk_for_substitutions(node, src, st, ctx);
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
    /// and not subject to word splitting on a changed `$IFS`.
    fn expansion_ok(&mut self, value: &str, st: &State, in_dq: bool) -> bool {
        self.expanded += value.len();
        if self.expanded > MAX_EXPANDED_BYTES {
            return false;
        }
        in_dq
            || st
                .vars
                .get("IFS")
                .is_none_or(|v| v.value.as_deref() == Some(" \t\n"))
    }

    /// Value of `$name` or `${…}` when statically known (bash manual 3.5.3).
    fn expansion_value(
        &mut self,
        node: Node,
        src: &Src,
        st: &mut State,
        ctx: &Ctx,
    ) -> Option<String> {
        if node.kind() == "simple_expansion" {
            let name = node.named_child(0)?;
            if name.kind() != "variable_name" {
                return None;
            }
            return st.get(src.raw(name));
        }
        // ${…}
        let raw = src.raw(node);
        let inner = raw.strip_prefix("${")?.strip_suffix('}')?;
        if let Some(n) = inner.strip_prefix('#') {
            if invocation::is_name(n) {
                return st.get(n).map(|v| v.chars().count().to_string());
            }
            return None;
        }
        let name_len = inner
            .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
            .unwrap_or(inner.len());
        let name = &inner[..name_len];
        if !invocation::is_name(name) {
            return None;
        }
        let rest = &inner[name_len..];
        if rest.is_empty() {
            return st.get(name);
        }
        let ops = [":-", ":=", ":+", ":?", "-", "=", "+", "?"];
        let op = ops.iter().find(|o| rest.starts_with(**o))?;
        // The operand: pieces of the named children after the operator.
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.children(&mut cursor).collect();
        let op_end = kids
            .iter()
            .find(|k| !k.is_named() && src.raw(**k) == *op)
            .map(|k| k.end_byte())?;
        let mut operand = Vec::new();
        let mut pos = op_end;
        let close = node.end_byte() - 1;
        for k in kids
            .iter()
            .filter(|k| k.start_byte() >= op_end && k.end_byte() <= close)
        {
            if k.start_byte() > pos {
                push_unquoted(
                    &mut operand,
                    src.text.get(pos..k.start_byte()).unwrap_or(""),
                );
            }
            if k.is_named() {
                let (p, _) = self.word_pieces(*k, src, st, ctx, true);
                operand.extend(p);
            } else {
                push_unquoted(&mut operand, src.raw(*k));
            }
            pos = k.end_byte();
        }
        if close > pos {
            push_unquoted(&mut operand, src.text.get(pos..close).unwrap_or(""));
        }
        let operand_value = || -> Option<String> {
            let mut s = String::new();
            for p in &operand {
                match p {
                    Piece::Char { c, .. } => s.push(*c),
                    Piece::Unknown { .. } => return None,
                }
            }
            Some(s)
        };
        let colon = op.starts_with(':');
        let current = st.vars.get(name).map(|v| v.value.clone());
        // Unknown (from the environment or forgotten): can't choose a branch.
        let value = match current {
            Some(Some(v)) => Some(v),
            Some(None) => return None,
            None => match name {
                "HOME" | "PWD" => st.get(name),
                _ => return None,
            },
        };
        let set = value.is_some();
        let empty = value.as_deref().is_none_or(str::is_empty);
        let use_operand = |cond_set: bool| if colon { cond_set && !empty } else { cond_set };
        match op.trim_start_matches(':') {
            "-" | "=" => {
                if use_operand(set) {
                    value
                } else {
                    let v = operand_value();
                    if *op == ":=" || *op == "=" {
                        st.set(name, v.clone());
                    }
                    v
                }
            }
            "+" => {
                if use_operand(set) {
                    operand_value()
                } else {
                    Some(String::new())
                }
            }
            _ => value.filter(|_| use_operand(set)),
        }
    }
}

/// Pushes an unquoted source fragment: backslash quotes the next character
/// and backslash-newline disappears (bash manual 3.1.2.1).
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
        if let Some(Piece::Char { quoted: true, .. } | Piece::Unknown { .. }) = pieces.get(end) {
            continue; // `~"x"` is not a tilde-prefix.
        }
        let value = match user.as_str() {
            "" => st.get("HOME"),
            "+" => st.cwd.clone(),
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

fn flatten_list<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    let mut cursor = node.walk();
    for k in node.named_children(&mut cursor) {
        if k.kind() == "comment" {
            continue;
        }
        if k.kind() == "list" {
            flatten_list(k, out);
        } else {
            out.push(k);
        }
    }
}

/// Standard input set by a redirection (`<`, here-document, here-string).
fn apply_stdin(ctx: &mut Ctx, r: &Redirect, script: &Script) {
    if r.fd.is_some_and(|f| f != 0) {
        return;
    }
    if r.is_here() {
        let producers = script.substitution_commands(&r.target.substitutions);
        ctx.stdin = Some(Stdin::Here {
            data: r
                .target
                .value()
                .map(str::to_string)
                .or_else(|| (!r.target.dynamic).then(|| r.target.text.clone())),
            producers,
        });
    } else if r.op == "<" {
        ctx.stdin = Some(Stdin::File {
            path: r.target.clone(),
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
fn is_stdin_path(p: &str) -> bool {
    matches!(p, "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
}

fn stdin_data(stdin: &Stdin) -> Option<String> {
    match stdin {
        Stdin::Pipe { data, .. } | Stdin::Here { data, .. } => data.clone(),
        _ => None,
    }
}
