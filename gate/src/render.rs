//! Human-readable and JSON renderings of an evaluation.

use serde_json::{json, Value};
use shellgate_parsers::{Command, Opaque, Origin, Stdin};
use shellgate_rules::{Evaluation, Policy};

/// The text a span covers, shortened for display.
fn snippet(command: &str, start: usize, end: usize) -> String {
    let s = command.get(start..end.min(command.len())).unwrap_or("");
    let s: String = s.chars().take(80).collect();
    s.replace('\n', "⏎")
}

/// JSON object for `check --json`.
pub fn json(
    eval: &Evaluation,
    policy: &Policy,
    command: &str,
    duration_us: u128,
    source: &str,
    approval_code: Option<&str>,
) -> Value {
    let d = &eval.decision;
    json!({
        "decision": d.decision.as_str(),
        "rules": d.rule_ids(),
        "reason": d.reason,
        "findings": d.findings.iter().map(|f| json!({
            "rule": f.rule,
            "verdict": f.verdict.as_str(),
            "section": f.section,
            "span": { "start": f.span.start, "end": f.span.end },
            "matched": snippet(command, f.span.start, f.span.end),
            "reason": f.reason,
        })).collect::<Vec<_>>(),
        "tier": policy.tier.as_str(),
        "source": source,
        "approval_code": approval_code,
        "project_root": eval.project_root,
        "duration_us": duration_us,
    })
}

/// Plain text for `check`: the decision and reason, then one line per finding.
pub fn text(eval: &Evaluation, command: &str) -> String {
    let d = &eval.decision;
    let mut out = format!("{}: {}\n", d.decision.as_str(), d.reason);
    for f in &d.findings {
        out.push_str(&format!(
            "  {} [{} / {}] at {}..{} `{}`: {}\n",
            f.rule,
            f.verdict.as_str(),
            f.section.as_str(),
            f.span.start,
            f.span.end,
            snippet(command, f.span.start, f.span.end),
            f.reason
        ));
    }
    out
}

fn describe(c: &Command) -> String {
    let argv: Vec<String> = c
        .argv
        .iter()
        .map(|w| {
            let mut s = shell_words::quote(&w.text).into_owned();
            if w.dynamic {
                s.push_str("⟨dynamic⟩");
            } else if w.glob {
                s.push_str("⟨glob⟩");
            }
            s
        })
        .collect();
    let mut line = argv.join(" ");
    if !c.wrappers.is_empty() {
        line.push_str(&format!(
            "   via {}",
            c.wrappers
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(" → ")
        ));
    }
    for o in &c.origin {
        line.push_str(&match o {
            Origin::CommandSubstitution { id } => format!("   in $(…)#{id}"),
            Origin::ProcessSubstitution { id } => format!("   in <(…)#{id}"),
            Origin::NestedScript { via } => format!("   in script run by `{via}`"),
            Origin::Function { name } => format!("   in function {name}"),
        });
    }
    match &c.stdin {
        Stdin::Inherited => {}
        Stdin::Pipe { data: Some(_), .. } => line.push_str("   stdin: pipe (known)"),
        Stdin::Pipe { producers, .. } => {
            line.push_str(&format!("   stdin: pipe from #{producers:?}"))
        }
        Stdin::Here { .. } => line.push_str("   stdin: here-document"),
        Stdin::File { path } => line.push_str(&format!("   stdin: < {}", path.text)),
    }
    for r in &c.redirects {
        if !r.is_here() {
            line.push_str(&format!(
                "   {}{}{}",
                r.fd.map(|f| f.to_string()).unwrap_or_default(),
                r.op,
                r.target.text
            ));
        }
    }
    if let Some(cwd) = &c.cwd {
        line.push_str(&format!("   (cwd {cwd})"));
    } else {
        line.push_str("   (cwd unknown)");
    }
    line
}

/// Plain text for `explain`: the parsed commands, what could not be
/// resolved, each finding, and the decision.
pub fn explain(eval: &Evaluation, policy: &Policy, command: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "policy: tier {}, project root {}\n",
        policy.tier.as_str(),
        eval.project_root
    ));
    match &eval.script {
        Some(s) => {
            out.push_str(&format!(
                "commands bash would run ({}):\n",
                s.commands.len()
            ));
            for c in &s.commands {
                out.push_str(&format!(
                    "  #{} [{}..{}] {}\n",
                    c.id,
                    c.span.start,
                    c.span.end,
                    describe(c)
                ));
            }
            if !s.opaque.is_empty() {
                out.push_str("not statically known:\n");
                for o in &s.opaque {
                    out.push_str(&format!(
                        "  {}\n",
                        match o {
                            Opaque::DynamicCommandName {
                                text, producers, ..
                            } => format!("command name {text} (made by #{producers:?})"),
                            Opaque::DynamicCode { via, producers, .. } =>
                                format!("code run by `{via}` (made by #{producers:?})"),
                            Opaque::UnanalysedScript { via, reason, .. } =>
                                format!("script run by `{via}`: {reason}"),
                            Opaque::Aliases { .. } => "aliases or command hashing".to_string(),
                            Opaque::ExecEnvironment { name, .. } =>
                                format!("environment variable {name} (makes programs load code)"),
                        }
                    ));
                }
            }
        }
        None => out.push_str("the command could not be parsed\n"),
    }
    if eval.decision.findings.is_empty() {
        out.push_str("rules: none fired\n");
    } else {
        out.push_str("rules that fired:\n");
        for line in text(eval, command).lines().skip(1) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "decision: {} — {}\n",
        eval.decision.decision.as_str(),
        eval.decision.reason
    ));
    out
}
