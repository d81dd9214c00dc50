//! The parsed model of a bash command string: simple commands with their words,
//! redirections, pipeline position, substitution nesting and byte spans.
//!
//! Terms follow the bash manual (section 3, "Basic Shell Features"): a *simple
//! command* is a sequence of optional variable assignments followed by words and
//! redirections; a *pipeline* is commands joined by `|`; a *word* is a unit the
//! shell treats as one after quote removal.

use serde::Serialize;

/// A half-open byte range `[start, end)` into the top-level command string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Span {
    /// First byte (inclusive).
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// Builds a span from its bounds; `end` is clamped to be at least `start`.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Index of a [`Command`] in [`Script::commands`].
pub type CommandId = usize;

/// Index of a command or process substitution (bash manual 3.5.4 and 3.5.6).
pub type SubstId = usize;

/// One word as bash would see it after expansion and quote removal.
///
/// When every part of the word is statically known, [`Word::value`] returns it.
/// Otherwise `text` keeps known parts expanded and unknown parts as written
/// (for example `$(cat f).example.org`), so rules can still reason about
/// prefixes and display what was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Word {
    /// Where the word stands in the top-level input.
    pub span: Span,
    /// Expanded text; unknown expansions appear as their source text.
    pub text: String,
    /// True when the word contains an expansion whose value is not known
    /// statically (unknown variable, command substitution, arithmetic, `$@` …).
    pub dynamic: bool,
    /// True when the word contains unquoted pattern characters (`*`, `?`, `[`),
    /// so bash would perform filename expansion (bash manual 3.5.8).
    pub glob: bool,
    /// Command and process substitutions that this word contains.
    pub substitutions: Vec<SubstId>,
    /// True when the word is a process substitution `<(…)`/`>(…)` as a whole;
    /// bash replaces it with a `/dev/fd/N` path.
    pub process_substitution: bool,
}

impl Word {
    /// A statically known word with the given text.
    pub fn literal(text: impl Into<String>, span: Span) -> Word {
        Word {
            span,
            text: text.into(),
            dynamic: false,
            glob: false,
            substitutions: Vec::new(),
            process_substitution: false,
        }
    }

    /// The word's value when it is fully known (no unknown expansion, no glob).
    pub fn value(&self) -> Option<&str> {
        if self.dynamic || self.glob {
            None
        } else {
            Some(&self.text)
        }
    }

    /// True when the word is neither dynamic nor a glob.
    pub fn is_static(&self) -> bool {
        !self.dynamic && !self.glob
    }
}

/// A variable assignment preceding a simple command (`NAME=value cmd`) or
/// standing alone (`NAME=value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// Variable name.
    pub name: String,
    /// Assigned value after expansion.
    pub value: Word,
}

/// The redirection operator, as written (bash manual 3.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// Where the redirection stands.
    pub span: Span,
    /// Explicit file descriptor number, if written (`2>`).
    pub fd: Option<u32>,
    /// The operator: `<`, `>`, `>>`, `>|`, `<>`, `&>`, `&>>`, `<&`, `>&`, `<<`, `<<-`, `<<<`.
    pub op: String,
    /// The target word (file name or descriptor); for here-documents the body,
    /// for here-strings the string.
    pub target: Word,
}

impl Redirect {
    /// True when the redirection opens its target for writing.
    pub fn writes(&self) -> bool {
        matches!(self.op.as_str(), ">" | ">>" | ">|" | "<>" | "&>" | "&>>")
            || (self.op == ">&"
                && !self
                    .target
                    .text
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '-'))
    }

    /// True when the redirection opens its target for reading.
    pub fn reads(&self) -> bool {
        matches!(self.op.as_str(), "<" | "<>")
    }

    /// True for here-documents and here-strings, whose target is content, not a path.
    pub fn is_here(&self) -> bool {
        self.op.starts_with("<<")
    }
}

/// How a command came to be run, outermost first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Inside command substitution `$(…)` or `` `…` ``.
    CommandSubstitution {
        /// Which substitution.
        id: SubstId,
    },
    /// Inside process substitution `<(…)` or `>(…)`.
    ProcessSubstitution {
        /// Which substitution.
        id: SubstId,
    },
    /// A script given to another command: `bash -c`, `eval`, a here-document
    /// or pipe into a shell, `su -c`, `watch`, `flock -c`.
    NestedScript {
        /// The command that runs the script, e.g. `bash -c` or `eval`.
        via: String,
    },
    /// Body of a function defined in the script, expanded where it is called.
    Function {
        /// Function name.
        name: String,
    },
}

/// A program that runs the real command: `sudo`, `env`, `xargs`, `find -exec` …
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Wrapper {
    /// The wrapper's name (basename of its command word).
    pub name: String,
    /// The wrapper's own words, up to the wrapped command.
    pub argv: Vec<Word>,
}

/// Position of a command in a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// Which pipeline (index in [`Script::pipelines`]).
    pub pipeline: usize,
    /// 0-based position of the stage.
    pub index: usize,
}

/// Where a command's standard input comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stdin {
    /// Inherited from the surrounding shell.
    Inherited,
    /// A pipe from earlier pipeline stages.
    Pipe {
        /// Commands whose output can reach this stdin.
        producers: Vec<CommandId>,
        /// The data, when every producer is a command whose output is known
        /// statically (`echo`, `printf`, `base64 -d` of known data …).
        data: Option<String>,
    },
    /// A here-document or here-string.
    Here {
        /// The content when known.
        data: Option<String>,
        /// Commands (substitutions) whose output is part of the content.
        producers: Vec<CommandId>,
    },
    /// A file (`< path`).
    File {
        /// The path word.
        path: Word,
    },
}

/// One simple command as bash will execute it, after unwrapping wrappers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    /// Index in [`Script::commands`].
    pub id: CommandId,
    /// Span in the top-level input (for nested scripts, the span of the
    /// nested text or of the word that carried it).
    pub span: Span,
    /// Words: the command name first, then the arguments. Wrappers removed.
    pub argv: Vec<Word>,
    /// Assignments in front of the command.
    pub assignments: Vec<Assignment>,
    /// Redirections of the command and of enclosing compound commands.
    pub redirects: Vec<Redirect>,
    /// Wrappers that run this command, outermost first (also inherited from
    /// an enclosing `sudo bash -c …`).
    pub wrappers: Vec<Wrapper>,
    /// How the command was reached, outermost first.
    pub origin: Vec<Origin>,
    /// Pipelines the command is part of, outermost first.
    pub stages: Vec<Stage>,
    /// Substitutions the command is inside, outermost first.
    pub in_substitutions: Vec<SubstId>,
    /// Working directory when the command runs, tracked through `cd`; `None`
    /// when it cannot be known statically.
    pub cwd: Option<String>,
    /// Where standard input comes from.
    pub stdin: Stdin,
    /// Variables the script exported before this command ran (bash manual
    /// 3.7.4 "Environment"), with their values when known. Assignment
    /// prefixes of the command itself are in `assignments`.
    pub exported: Vec<(String, Option<String>)>,
}

impl Command {
    /// The command name (first word) when static.
    pub fn name(&self) -> Option<&str> {
        self.argv.first().and_then(|w| w.value())
    }

    /// The basename of the command name, which is what detection matches on
    /// (`/usr/bin/rm` and `./rm` are judged as `rm`).
    pub fn program(&self) -> Option<&str> {
        self.name().map(basename)
    }

    /// Arguments after the command name.
    pub fn args(&self) -> &[Word] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// True when a wrapper of this name runs the command.
    pub fn wrapped_by(&self, name: &str) -> bool {
        self.wrappers.iter().any(|w| w.name == name)
    }
}

/// Returns the last `/`-separated component of a command name.
pub fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Something the parser could not resolve statically and that rules must judge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Opaque {
    /// The command name is not a static string (`$x`, `$(…)`, a glob).
    DynamicCommandName {
        /// Where.
        span: Span,
        /// The word as seen.
        text: String,
        /// Commands whose output forms the name.
        producers: Vec<CommandId>,
    },
    /// Code is run whose text is not known statically: `eval "$x"`,
    /// `bash -c "$(…)"`, `source <(…)`, `… | sh` with unknown input.
    DynamicCode {
        /// Where.
        span: Span,
        /// What runs the code (`eval`, `bash -c`, `sh (stdin)`, `source`).
        via: String,
        /// Commands whose output becomes the code.
        producers: Vec<CommandId>,
    },
    /// A nested script that could not be analysed: syntax error or too deep.
    UnanalysedScript {
        /// Where.
        span: Span,
        /// What runs it.
        via: String,
        /// Why it could not be analysed.
        reason: String,
    },
    /// An environment variable that makes programs run a command or load
    /// code (`GIT_SSH_COMMAND`, `BASH_ENV`, `LD_PRELOAD`, `BASH_FUNC_*` …).
    ExecEnvironment {
        /// Where.
        span: Span,
        /// The variable.
        name: String,
    },
    /// What a name runs was changed in a way the parser cannot follow: an
    /// alias whose name or text is not known, `enable -n`/`-f`, `hash -p`.
    /// (Aliases with known text are expanded where bash expands them.)
    Aliases {
        /// Where.
        span: Span,
    },
}

/// Everything bash would run for one command string.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Script {
    /// Every simple command, in execution order as written (nested scripts
    /// and substitutions appear before the command that uses them).
    pub commands: Vec<Command>,
    /// Number of stages of each pipeline.
    pub pipelines: Vec<usize>,
    /// Constructs the parser could not resolve statically.
    pub opaque: Vec<Opaque>,
}

impl Script {
    /// Commands that run inside any of the given substitutions.
    pub fn substitution_commands(&self, substs: &[SubstId]) -> Vec<CommandId> {
        self.commands
            .iter()
            .filter(|c| c.in_substitutions.iter().any(|s| substs.contains(s)))
            .map(|c| c.id)
            .collect()
    }
}
