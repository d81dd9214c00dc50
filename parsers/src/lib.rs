//! Parses a bash command string into a model of what bash will execute.
//!
//! This crate owns the first step of shellgate: from the text an agent wants
//! to run to the list of simple commands bash would run, each with its words
//! after expansion and quote removal, its redirections, its pipeline
//! position, its working directory and its byte span in the input.
//!
//! It uses tree-sitter-bash for syntax and then follows bash's own rules
//! (the GNU bash manual, chapter 3 "Basic Shell Features") for what the
//! syntax means: quoting (3.1.2), brace, tilde and parameter expansion of
//! statically known values (3.5), command and process substitution, word
//! splitting, functions (3.3) and the builtins that change state (`cd`,
//! `export`, `eval`, `source`). Wrappers that run another command (`env`,
//! `sudo`, `xargs`, `find -exec` …) are unwrapped, and scripts given to
//! another shell (`bash -c`, here-documents or pipes into `sh`, `eval`) are
//! parsed recursively.
//!
//! What cannot be known statically is never guessed: such words are marked
//! dynamic ([`Word::dynamic`]), and constructs that run unknown code are
//! listed in [`Script::opaque`] for the rules to judge.
//!
//! Entry points: [`parse`] for text, [`parse_bytes`] for raw input.

mod ansi_c;
mod expansion;
pub mod invocation;
mod lower;
pub mod model;
pub mod pathglob;
mod second_opinion;
mod state;
pub mod static_output;
mod word;

pub use ansi_c::{decode as decode_ansi_c, decode_echo};
pub use lower::{MAX_COMMANDS, MAX_PIPELINE_STAGES, PARSE_DEADLINE};
pub use model::*;
pub use state::join_path;

/// Largest command accepted, in bytes (1 MiB). Longer input is refused with
/// [`ParseError::TooLarge`]: no agent needs a longer single command, and it
/// bounds parse time.
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// Deepest syntax tree accepted (nodes from the root). Deeper input (for
/// example thousands of nested parentheses) is refused with
/// [`ParseError::TooDeep`].
pub const MAX_TREE_DEPTH: usize = 400;

/// Default limit on nested scripts, substitutions and function calls.
pub const DEFAULT_MAX_NESTING: usize = 16;

/// Facts about the environment the command will run in.
#[derive(Clone, Debug)]
pub struct Options {
    /// `$HOME` (used for `~` and `$HOME`); `None` leaves them unknown.
    pub home: Option<String>,
    /// Working directory the command starts in (absolute).
    pub cwd: Option<String>,
    /// Limit on nested scripts, substitutions and function calls.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            home: None,
            cwd: None,
            max_depth: DEFAULT_MAX_NESTING,
        }
    }
}

/// Why a command could not be parsed. Callers must never treat a parse error
/// as permission to run the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The input is not valid UTF-8; `offset` is the first bad byte.
    InvalidUtf8 {
        /// Byte offset.
        offset: usize,
    },
    /// The input contains a NUL byte, which bash cannot receive in a
    /// command string (argv entries are C strings).
    NulByte {
        /// Byte offset.
        offset: usize,
    },
    /// The input is longer than [`MAX_INPUT_BYTES`].
    TooLarge {
        /// Input length in bytes.
        len: usize,
    },
    /// The syntax tree is deeper than [`MAX_TREE_DEPTH`].
    TooDeep {
        /// Measured depth.
        depth: usize,
    },
    /// tree-sitter-bash did not finish within `PARSE_DEADLINE` (its error
    /// recovery is super-linear on some adversarial inputs).
    TooComplex,
    /// tree-sitter-bash found an ERROR or MISSING node.
    Syntax {
        /// Where.
        span: Span,
        /// What was wrong.
        message: String,
    },
    /// The parser library failed.
    Internal(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::InvalidUtf8 { offset } => write!(f, "command is not valid UTF-8 (first bad byte at offset {offset}); send it as UTF-8 text"),
            ParseError::NulByte { offset } => write!(f, "command contains a NUL byte at offset {offset}; bash cannot run it as written"),
            ParseError::TooLarge { len } => write!(f, "command is {len} bytes, over the {MAX_INPUT_BYTES}-byte limit; put long scripts in a file and run that"),
            ParseError::TooDeep { depth } => write!(f, "command nests {depth} levels deep, over the limit of {MAX_TREE_DEPTH}"),
            ParseError::TooComplex => write!(f, "command is too complex to parse within shellgate's time limit; split it into shorter commands or put it in a script file"),
            ParseError::Syntax { span, message } => write!(f, "bash syntax error at bytes {}..{}: {message}", span.start, span.end),
            ParseError::Internal(m) => write!(f, "parser failure: {m}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses raw bytes: checks UTF-8 first, then calls [`parse`].
pub fn parse_bytes(input: &[u8], opts: &Options) -> Result<Script, ParseError> {
    let text = std::str::from_utf8(input).map_err(|e| ParseError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    parse(text, opts)
}

/// Parses a command string into the commands bash would run.
///
/// Errors: [`ParseError::NulByte`], [`ParseError::TooLarge`],
/// [`ParseError::TooDeep`], [`ParseError::TooComplex`], [`ParseError::Syntax`] (any ERROR or MISSING
/// node). Nested scripts that fail to parse do not fail the whole input;
/// they are reported in [`Script::opaque`].
pub fn parse(text: &str, opts: &Options) -> Result<Script, ParseError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ParseError::TooLarge { len: text.len() });
    }
    if let Some(offset) = text.bytes().position(|b| b == 0) {
        return Err(ParseError::NulByte { offset });
    }
    let tree = lower::parse_tree(text)?;
    let depth = lower::tree_depth(tree.root_node());
    if depth > MAX_TREE_DEPTH {
        return Err(ParseError::TooDeep { depth });
    }
    let mut script = Script::default();
    lower::Lowerer::new(text, &mut script, opts).program(text, tree.root_node());
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            home: Some("/home/dev".into()),
            cwd: Some("/home/dev/project".into()),
            ..Default::default()
        }
    }

    /// Nested scripts share one depth budget, so recursion stays bounded.
    #[test]
    fn nested_depth_is_bounded_across_scripts() {
        let mut cmd = format!("{}ls{}", "( ".repeat(300), " )".repeat(300));
        for _ in 0..3 {
            cmd = format!(
                "{}bash -c {}{}",
                "( ".repeat(300),
                shell_quote(&cmd),
                " )".repeat(300)
            );
        }
        let s = parse(&cmd, &opts()).expect("outer parses");
        assert!(s
            .opaque
            .iter()
            .any(|o| matches!(o, Opaque::UnanalysedScript { .. })));
    }

    fn shell_quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', "'\\''"))
    }

    #[test]
    fn spans_point_into_nested_text() {
        let src = "bash -c 'rm -rf /'";
        let s = parse(src, &opts()).unwrap();
        let rm = s
            .commands
            .iter()
            .find(|c| c.program() == Some("rm"))
            .unwrap();
        assert_eq!(&src[rm.argv[2].span.start..rm.argv[2].span.end], "/");
    }

    #[test]
    fn state_is_not_trusted_across_branches() {
        // Checked with bash: `x=rm; if false; then x=ls; fi; echo $x` prints rm.
        let s = parse("x=rm; if false; then x=ls; fi; $x -rf /", &opts()).unwrap();
        assert!(s
            .opaque
            .iter()
            .any(|o| matches!(o, Opaque::DynamicCommandName { .. })));
        let s = parse("x=ls; (x=rm); $x", &opts()).unwrap();
        assert_eq!(s.commands.last().unwrap().program(), Some("ls"));
    }

    /// `cmd 2>/dev/null -x` passes `-x` to cmd (checked with bash).
    #[test]
    fn words_after_redirection_targets_are_arguments() {
        let s = parse("find / 2>/dev/null -print0 x > f y", &opts()).unwrap();
        let c = &s.commands[0];
        let argv: Vec<&str> = c.argv.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(argv, ["find", "/", "-print0", "x", "y"]);
        let targets: Vec<&str> = c.redirects.iter().map(|r| r.target.text.as_str()).collect();
        assert_eq!(targets, ["/dev/null", "f"]);
    }

    /// A glob command word is expanded on the file system, directory
    /// components included, as bash would run it now; the word is still
    /// reported dynamic. Past the budget of directory entries it stays
    /// unexpanded.
    #[test]
    fn command_glob_expands_within_a_budget() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/rmx"), "").unwrap();
        std::fs::create_dir(dir.path().join("big")).unwrap();
        for i in 0..4_200 {
            std::fs::write(dir.path().join(format!("big/f{i}")), "").unwrap();
        }
        let cwd = dir.path().to_str().unwrap().to_string();
        let o = Options {
            cwd: Some(cwd.clone()),
            ..opts()
        };
        let program = |cmd: &str| {
            let s = parse(cmd, &o).unwrap();
            let dynamic = s
                .opaque
                .iter()
                .any(|o| matches!(o, Opaque::DynamicCommandName { .. }));
            (s.commands[0].argv[0].text.clone(), dynamic)
        };
        assert_eq!(program("sub/rm? -x"), ("sub/rmx".to_string(), true));
        assert_eq!(
            program(&format!("{cwd}/sub/rm? -x")).0,
            format!("{cwd}/sub/rmx")
        );
        assert_eq!(program("s*/rmx -x"), ("sub/rmx".to_string(), true));
        assert_eq!(program("?u?/rm? -x"), ("sub/rmx".to_string(), true));
        assert_eq!(program("'s*'/rm? -x").0, "s*/rm?");
        // `*/rm?` would read `big/` too: over the budget, left as written.
        assert_eq!(program("*/rm? -x"), ("*/rm?".to_string(), true));
        // The budget is per input: a second glob after a costly one is
        // left unexpanded too.
        let s = parse("b*/f1 -x; s*/rm? -x", &o).unwrap();
        assert_eq!(s.commands[0].argv[0].text, "big/f1");
        let s = parse("b*/none* -x; s*/rm? -x", &o).unwrap();
        assert_eq!(s.commands[1].argv[0].text, "s*/rm?");
    }

    #[test]
    fn quoting_and_expansions() {
        let s = parse(
            r#"a=r b=m; "$a$b" -rf ${HOME:-/x}/ "$'x'" $"tr" e\c\h\o"#,
            &opts(),
        )
        .unwrap();
        let argv: Vec<&str> = s.commands[0].argv.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(argv, ["rm", "-rf", "/home/dev/", "$'x'", "tr", "echo"]);
    }
}
