//! What happens to a decision after the policy: session escalation (a
//! hard_deny ends autonomy for the session) and one-time user approvals
//! (docs/policy.md, "Approvals" and "Sessions").

use shellgate_rules::{Decision, Evaluation, Finding, Policy, Section, Verdict};

use crate::state::{self, Approval, EndedSession, State};

/// Rule id of the escalation of an allow to ask in an ended session.
pub const SESSION_RULE: &str = "session.autonomy-ended";

/// Where a final decision came from (the audit log's `source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The policy decided.
    Policy,
    /// An allow became ask because the session's autonomy ended.
    SessionEscalation,
    /// The user approved this exact command with `shellgate approve`.
    UserApproval,
    /// The policy did not load.
    PolicyError,
}

impl Source {
    /// Name as recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Policy => "policy",
            Source::SessionEscalation => "session_escalation",
            Source::UserApproval => "user_approval",
            Source::PolicyError => "policy_error",
        }
    }
}

/// A decision after session state and approvals.
pub struct Outcome {
    /// The evaluation, with its decision possibly changed.
    pub eval: Evaluation,
    /// Where the decision came from.
    pub source: Source,
    /// The approval code printed with a refusal, if one was issued.
    pub code: Option<String>,
    /// Problems with the state directory, for stderr.
    pub warnings: Vec<String>,
}

/// What the caller lets this step do.
#[derive(Clone, Copy)]
pub struct Effects {
    /// Record hard_deny fires and consume approvals (false for `explain`).
    pub write: bool,
    /// Issue a one-time approval code with an approvable refusal. False
    /// for hooks whose harness asks the user itself (Claude Code, Cursor).
    pub approval_codes: bool,
}

/// True when a refusal may be approved by the user: nothing in it comes
/// from the deny layer, the ignore file, hard_deny or invalid input.
pub fn approvable(d: &Decision) -> bool {
    d.decision != Verdict::Allow
        && d.findings.iter().all(|f| {
            f.verdict == Verdict::Allow
                || matches!(f.section, Section::SoftDeny | Section::TierDefault)
                || (f.section == Section::Input && f.verdict == Verdict::Ask)
        })
}

/// Applies session state and approvals to `eval` for `command` run in
/// `cwd`, in session `session`, with state under `dir`.
pub fn finish(
    policy: &Policy,
    dir: Option<&std::path::Path>,
    session: &str,
    cwd: &str,
    command: &[u8],
    mut eval: Evaluation,
    effects: Effects,
) -> Outcome {
    let mut out_source = Source::Policy;
    let mut code = None;
    let mut warnings = Vec::new();
    let st = match dir {
        Some(d) => State::open(d),
        None => Err("no state directory: set SHELLGATE_STATE_DIR or HOME".to_string()),
    };
    let shown = String::from_utf8_lossy(command);
    let d = &eval.decision;
    let hard = d
        .findings
        .iter()
        .find(|f| f.section == Section::HardDeny && f.verdict == Verdict::Deny);
    match (&st, hard) {
        (Ok(st), Some(f)) if effects.write => {
            let ended = EndedSession {
                at: state::now_secs(),
                rule: f.rule.to_string(),
                command: shown.chars().take(200).collect(),
            };
            if let Err(e) = st.end_session(session, ended) {
                warnings.push(format!("could not record the end of autonomy: {e}"));
            }
        }
        (Err(e), Some(_)) if effects.write => {
            warnings.push(format!("could not record the end of autonomy: {e}"))
        }
        _ => {}
    }
    if eval.decision.decision == Verdict::Allow {
        let why = match &st {
            Ok(st) => match st.ended(session) {
                Ok(Some(e)) => Some(format!(
                    "autonomy ended for this session when hard_deny rule `{}` fired on `{}`; every command needs a person until the user runs `shellgate session reset`",
                    e.rule, e.command
                )),
                Ok(None) => None,
                Err(e) => Some(format!("the session state cannot be read ({e}), so shellgate cannot tell whether autonomy ended")),
            },
            Err(e) => Some(format!("the session state cannot be opened ({e}), so shellgate cannot tell whether autonomy ended")),
        };
        if let Some(reason) = why {
            let len = command.len();
            let mut findings = std::mem::take(&mut eval.decision.findings);
            findings.push(Finding {
                rule: SESSION_RULE,
                verdict: Verdict::Ask,
                section: Section::TierDefault,
                span: shellgate_parsers::Span::new(0, len),
                reason,
                nested: false,
            });
            eval.decision = Decision::from_findings(findings);
            out_source = Source::SessionEscalation;
        }
    }
    if policy.approvals.enabled && approvable(&eval.decision) {
        if let Ok(st) = &st {
            let hash = state::command_hash(cwd, command);
            let consumed = if effects.write {
                st.consume(&hash).unwrap_or_else(|e| {
                    warnings.push(e);
                    false
                })
            } else {
                false
            };
            if consumed {
                eval.decision.decision = Verdict::Allow;
                eval.decision.reason = format!(
                    "approved once by the user with `shellgate approve` (was: {})",
                    eval.decision.reason
                );
                out_source = Source::UserApproval;
            } else if effects.write && effects.approval_codes {
                let a = Approval {
                    code: String::new(),
                    hash,
                    command: shown.into_owned(),
                    cwd: cwd.to_string(),
                    session: session.to_string(),
                    reason: eval.decision.reason.clone(),
                    expires: state::now_secs() + policy.approvals.ttl_seconds,
                    approved_at: None,
                    ttl: policy.approvals.ttl_seconds,
                };
                match st.issue(a) {
                    Ok(c) => {
                        eval.decision.reason = format!(
                            "{}. To run it once anyway, the user can run `shellgate approve {c}` in a terminal (valid {} min)",
                            eval.decision.reason.trim_end_matches('.'),
                            policy.approvals.ttl_seconds.div_ceil(60)
                        );
                        code = Some(c);
                    }
                    Err(e) => warnings.push(format!("no approval code: {e}")),
                }
            }
        }
    }
    Outcome {
        eval,
        source: out_source,
        code,
        warnings,
    }
}
