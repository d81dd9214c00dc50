//! Detection, policy and decision for parsed bash commands.
//!
//! This crate owns steps 2 and 3 of shellgate: given the parsed model of a
//! command (from `shellgate-parsers`) and a [`Policy`], it runs the
//! built-in detectors (one module per rule family under [`detectors`]) and
//! folds their findings into one [`Decision`]: the strictest verdict wins,
//! and every finding carries its rule id, the byte span it matched and a
//! one-line reason.
//!
//! Fail closed: input that cannot be parsed is never allowed. Syntax errors
//! ask (`parse.syntax-error`); input that bash could not receive or that is
//! too large or deep is denied (`input.invalid`).

mod apply;
pub mod detectors;
pub mod finding;
pub mod long_options;
pub mod paths;
pub mod policy;
pub mod remote;

pub use finding::{Decision, Finding, Section, Verdict};
pub use policy::{Policy, PolicyError, Tier};

/// The verdict for a policy that does not load: deny with its message.
pub fn policy_error(err: &PolicyError, len: usize) -> Decision {
    Decision::from_findings(vec![Finding {
        rule: err.rule_id(),
        verdict: Verdict::Deny,
        section: Section::Input,
        span: Span::new(0, len),
        reason: format!("{err}"),
        nested: false,
    }])
}

use shellgate_parsers::{Options, ParseError, Script, Span};

/// Rule id for commands with bash syntax errors.
pub const SYNTAX_ERROR: &str = "parse.syntax-error";
/// Rule id for input that cannot be a bash command (NUL, not UTF-8, too large, too deep).
pub const INVALID_INPUT: &str = "input.invalid";

/// Rule id for a failure inside shellgate itself (a bug): always deny.
pub const INTERNAL_ERROR: &str = "internal.error";

/// The evaluation to use when deciding failed unexpectedly (for example a
/// caught panic): deny, with a reason that asks for a bug report.
pub fn internal_error(policy: &Policy, cwd: &str, len: usize) -> Evaluation {
    let f = Finding {
        rule: INTERNAL_ERROR,
        verdict: Verdict::Deny,
        section: Section::Input,
        span: Span::new(0, len),
        reason: "shellgate failed while analysing this command (a bug); it is denied. Please report the command".into(),
        nested: false,
    };
    unanalysed(policy, cwd, f)
}

/// An evaluation of a command that could not be analysed, decided by one finding.
fn unanalysed(policy: &Policy, cwd: &str, f: Finding) -> Evaluation {
    Evaluation {
        decision: Decision::from_findings(vec![f]),
        script: None,
        project_root: policy
            .project_root
            .clone()
            .unwrap_or_else(|| cwd.to_string()),
    }
}

/// The result of judging one command.
#[derive(Debug)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// The parsed script, when parsing succeeded.
    pub script: Option<Script>,
    /// The project root the command was judged against.
    pub project_root: String,
}

/// Judges `command` (bytes as received) run from `cwd` with `$HOME` = `home`.
///
/// `cwd` must be absolute; the project root is the policy's, or `cwd` when
/// the policy names none.
pub fn decide_bytes(policy: &Policy, command: &[u8], cwd: &str, home: Option<&str>) -> Evaluation {
    match std::str::from_utf8(command) {
        Ok(text) => decide(policy, text, cwd, home),
        Err(e) => {
            let err = ParseError::InvalidUtf8 {
                offset: e.valid_up_to(),
            };
            failed(policy, cwd, &err, command.len())
        }
    }
}

/// Judges a command string. See [`decide_bytes`].
pub fn decide(policy: &Policy, command: &str, cwd: &str, home: Option<&str>) -> Evaluation {
    decide_inner(policy, command, cwd, home, 0)
}

fn decide_inner(
    policy: &Policy,
    command: &str,
    cwd: &str,
    home: Option<&str>,
    nesting: usize,
) -> Evaluation {
    let cwd = shellgate_parsers::join_path("/", cwd);
    let result = with_context_at(policy, command, &cwd, home, nesting, |cx| {
        let mut findings = Vec::new();
        for (_, detector) in detectors::ALL {
            detector(cx, &mut findings);
        }
        // Every evaluation applies the policy, nested ones (git aliases,
        // command-valued options) included: their findings come back
        // decided and marked `nested`.
        findings = apply::apply(cx, findings);
        (
            Decision::from_findings(findings),
            cx.paths.project_root.clone(),
        )
    });
    match result {
        Ok(((decision, project_root), script)) => Evaluation {
            decision,
            script: Some(script),
            project_root,
        },
        Err(e) => failed(policy, &cwd, &e, command.len()),
    }
}

/// Parses `command` and runs `f` with the detectors' context for it.
/// Used for rule examples (`policy check`) as well as decisions.
pub(crate) fn with_context<R>(
    policy: &Policy,
    command: &str,
    cwd: &str,
    home: Option<&str>,
    f: impl FnOnce(&detectors::Cx) -> R,
) -> Result<R, ParseError> {
    with_context_at(policy, command, cwd, home, 0, f).map(|(r, _)| r)
}

fn with_context_at<R>(
    policy: &Policy,
    command: &str,
    cwd: &str,
    home: Option<&str>,
    nesting: usize,
    f: impl FnOnce(&detectors::Cx) -> R,
) -> Result<(R, Script), ParseError> {
    let opts = Options {
        home: home.map(str::to_string),
        cwd: Some(shellgate_parsers::join_path("/", cwd)),
        ..Default::default()
    };
    let mut script = shellgate_parsers::parse(command, &opts)?;
    long_options::expand_abbreviations(&mut script);
    let project_root = policy
        .project_root
        .clone()
        .unwrap_or_else(|| shellgate_parsers::join_path("/", cwd));
    let cx = detectors::Cx {
        script: &script,
        policy,
        nesting,
        links: detectors::symlinks(&script),
        glob_budget: std::cell::Cell::new(shellgate_parsers::pathglob::MAX_GLOB_ENTRIES),
        paths: paths::PathContext {
            project_root,
            home: home.map(|h| shellgate_parsers::join_path("/", h)),
            extra_secrets: policy.secret_paths.clone(),
        },
    };
    let r = f(&cx);
    Ok((r, script))
}

/// Findings for `text`, a script that a command runs (a git alias, a
/// command-valued option): parsed and judged like a command of its own,
/// from the same working directory, with every span mapped to `span`.
/// Input that cannot be parsed gives an ask, as at top level.
pub(crate) fn nested_findings(cx: &detectors::Cx, text: &str, span: Span) -> Vec<Finding> {
    if cx.nesting >= shellgate_parsers::DEFAULT_MAX_NESTING {
        return vec![Finding {
            rule: detectors::dynamic::UNANALYSED,
            verdict: Verdict::Ask,
            section: Section::TierDefault,
            span,
            reason: "a command run by another command is nested too deeply to analyse".into(),
            nested: false,
        }];
    }
    let cwd = cx
        .script
        .commands
        .first()
        .and_then(|c| c.cwd.clone())
        .unwrap_or_else(|| cx.paths.project_root.clone());
    let eval = decide_inner(
        cx.policy,
        text,
        &cwd,
        cx.paths.home.as_deref(),
        cx.nesting + 1,
    );
    eval.decision
        .findings
        .into_iter()
        .map(|mut f| {
            f.span = span;
            f.nested = true;
            f
        })
        .collect()
}

fn failed(policy: &Policy, cwd: &str, err: &ParseError, len: usize) -> Evaluation {
    let (rule, verdict, span) = match err {
        ParseError::Syntax { span, .. } => (SYNTAX_ERROR, Verdict::Ask, *span),
        _ => (INVALID_INPUT, Verdict::Deny, Span::new(0, len)),
    };
    let reason = match err {
        ParseError::Syntax { .. } => {
            format!("{err}; shellgate cannot tell what it would run, so a person must look")
        }
        _ => err.to_string(),
    };
    let f = Finding {
        rule,
        verdict,
        section: Section::Input,
        span,
        reason,
        nested: false,
    };
    unanalysed(policy, cwd, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_never_allows() {
        let p = Policy::default();
        assert_eq!(
            decide_bytes(&p, b"ls \xff", "/p", None).decision.decision,
            Verdict::Deny
        );
        assert_eq!(
            decide(&p, "ls\0rm -rf /", "/p", None).decision.decision,
            Verdict::Deny
        );
        assert_eq!(
            decide(&p, "echo (", "/p", None).decision.decision,
            Verdict::Ask
        );
        let deep = format!("{}ls{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(
            decide(&p, &deep, "/p", None).decision.decision,
            Verdict::Deny
        );
        let big = "echo a; ".repeat(2_000_000);
        assert_eq!(
            decide(&p, &big, "/p", None).decision.decision,
            Verdict::Deny
        );
    }
}
