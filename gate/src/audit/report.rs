//! `shellgate audit report`: what the audit log says about a policy in
//! use. Approval rate overall and per tool, decisions by source and by
//! rule, hard_deny fires, the command patterns refused most and rejected
//! most by users, and a before/after comparison of two windows. Rendered
//! as plain-text tables, JSON, or a self-contained HTML page with charts.
//!
//! Definitions (docs/audit.md): the *approval rate* is the share of
//! decisions that were `allow` (the command ran without a person); a
//! *refusal* is an `ask` or `deny`; a *user rejection* is an `approval`
//! record whose answer was no; a *pattern* is a command's name, its
//! subcommand and its options, with operands dropped ([`pattern`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Event, Record};

/// Rows kept in each "top" table.
pub const TOP: usize = 10;

/// Decisions for one group (a tool, a window).
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Decisions.
    pub decisions: u64,
    /// `allow` decisions.
    pub allow: u64,
    /// `ask` decisions.
    pub ask: u64,
    /// `deny` decisions.
    pub deny: u64,
    /// `allow` ÷ decisions (0 when there are none).
    pub approval_rate: f64,
}

impl Counts {
    fn add(&mut self, decision: &str) {
        self.decisions += 1;
        match decision {
            "allow" => self.allow += 1,
            "ask" => self.ask += 1,
            _ => self.deny += 1,
        }
    }

    fn finish(&mut self) {
        self.approval_rate = ratio(self.allow, self.decisions);
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// One tool's decisions.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ToolRow {
    /// The harness's tool name, or `shellgate MODE` outside hooks.
    pub tool: String,
    /// Its decisions.
    #[serde(flatten)]
    pub counts: Counts,
}

/// How often a rule fired.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RuleRow {
    /// Rule id.
    pub rule: String,
    /// Its section.
    pub section: String,
    /// Decisions it fired in.
    pub fired: u64,
}

/// A command pattern and how often it occurred.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PatternRow {
    /// The pattern ([`pattern`]).
    pub pattern: String,
    /// The strictest rule behind it (refusals only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// Occurrences.
    pub count: u64,
    /// One command it came from (redacted).
    pub example: String,
}

/// Every figure of a report over one set of records.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// First and last record time.
    pub first: String,
    /// Last record time.
    pub last: String,
    /// All decisions.
    #[serde(flatten)]
    pub counts: Counts,
    /// Per tool, most decisions first.
    pub by_tool: Vec<ToolRow>,
    /// Decisions by source, most first.
    pub by_source: Vec<(String, u64)>,
    /// Rules by how often they fired, most first.
    pub by_rule: Vec<RuleRow>,
    /// Decisions in which a hard_deny rule fired.
    pub hard_deny_fires: u64,
    /// Most refused command patterns.
    pub top_refused: Vec<PatternRow>,
    /// Approvals the user answered yes.
    pub user_approved: u64,
    /// Approvals the user answered no.
    pub user_rejected: u64,
    /// Most user-rejected command patterns.
    pub top_user_rejected: Vec<PatternRow>,
    /// Median time to decide, µs.
    pub median_us: u64,
    /// 99th percentile time to decide, µs.
    pub p99_us: u64,
    /// Commands that ran (`exit` records).
    pub runs: u64,
    /// Runs that exited non-zero or by a signal.
    pub runs_failed: u64,
}

/// A command's pattern: the basename of its command name, then its
/// subcommand (the first operand when it looks like one: lowercase
/// letters, digits and `-`), then up to four options it used, sorted
/// (`-rf` split into `-f -r` up to three letters, `--opt=value` cut to
/// `--opt`); operands and longer single-dash words (`-name`) are dropped.
/// Leading assignments are skipped. `rm -rf /tmp/x` → `rm -f -r`,
/// `git push --force origin main` → `git push --force`.
pub fn pattern(command: &str) -> String {
    let words = shell_words::split(command)
        .unwrap_or_else(|_| command.split_whitespace().map(str::to_string).collect());
    let mut it = words
        .iter()
        .skip_while(|w| {
            w.split_once('=').is_some_and(|(n, _)| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
        .take_while(|w| !matches!(w.as_str(), "|" | "||" | "&&" | ";" | "&"));
    let Some(name) = it.next() else {
        return String::new();
    };
    let name = name.rsplit('/').next().unwrap_or(name);
    let rest: Vec<&String> = it.collect();
    let mut out = vec![name.to_string()];
    if let Some(sub) = rest.first() {
        if !sub.is_empty()
            && sub.len() <= 24
            && sub
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !sub.starts_with('-')
        {
            out.push(sub.to_string());
        }
    }
    let mut flags: Vec<String> = Vec::new();
    for w in &rest {
        if let Some(long) = w.strip_prefix("--") {
            if !long.is_empty() {
                flags.push(format!("--{}", long.split('=').next().unwrap_or(long)));
            }
        } else if let Some(short) = w.strip_prefix('-') {
            // Up to three letters: combined short options (`-rf`, `-xvf`).
            // Longer single-dash words (`find -name`, `-auto-approve`) are
            // predicates and arguments more than switches: left out, so
            // that one program's uses group together.
            if short.len() <= 3 && short.chars().all(|c| c.is_ascii_alphabetic()) {
                flags.extend(short.chars().map(|c| format!("-{c}")));
            }
        }
    }
    flags.sort();
    flags.dedup();
    out.extend(flags.into_iter().take(4));
    out.join(" ")
}

/// The text a record's pattern comes from: the simple command its
/// strictest rule fired on, else its first judged command, else the
/// command as received.
pub fn pattern_source(r: &Record) -> &str {
    r.fired
        .first()
        .map(|f| f.command.as_str())
        .filter(|m| !m.is_empty())
        .or_else(|| r.judged.first().map(String::as_str))
        .unwrap_or(&r.command)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn top(map: HashMap<(String, String), (u64, String)>) -> Vec<PatternRow> {
    let mut rows: Vec<PatternRow> = map
        .into_iter()
        .map(|((pattern, rule), (count, example))| PatternRow {
            pattern,
            rule,
            count,
            example,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.pattern.cmp(&b.pattern))
    });
    rows.truncate(TOP);
    rows
}

/// Computes every figure over `records`.
pub fn stats<'a>(records: impl IntoIterator<Item = &'a Record>) -> Stats {
    let mut s = Stats::default();
    let mut tools: HashMap<String, Counts> = HashMap::new();
    let mut sources: HashMap<String, u64> = HashMap::new();
    let mut rules: HashMap<(String, String), u64> = HashMap::new();
    let mut refused: HashMap<(String, String), (u64, String)> = HashMap::new();
    let mut rejected: HashMap<(String, String), (u64, String)> = HashMap::new();
    let mut durations: Vec<u64> = Vec::new();
    for r in records {
        if s.first.is_empty() || r.time < s.first {
            s.first = r.time.clone();
        }
        if r.time > s.last {
            s.last = r.time.clone();
        }
        match r.event {
            Event::Decision => {
                s.counts.add(&r.decision);
                let tool = r
                    .tool
                    .clone()
                    .unwrap_or_else(|| format!("shellgate {}", r.mode));
                tools.entry(tool).or_default().add(&r.decision);
                *sources.entry(r.source.clone()).or_default() += 1;
                let fired = r.fired();
                let mut hard = false;
                for f in &fired {
                    hard |= f.section == "hard_deny";
                    *rules
                        .entry((f.rule.clone(), f.section.clone()))
                        .or_default() += 1;
                }
                s.hard_deny_fires += u64::from(hard);
                if r.decision != "allow" {
                    let rule = fired.first().map(|f| f.rule.clone()).unwrap_or_default();
                    let e = refused
                        .entry((pattern(pattern_source(r)), rule))
                        .or_insert_with(|| (0, r.command.clone()));
                    e.0 += 1;
                }
                if let Some(us) = r.duration_us {
                    durations.push(us);
                }
            }
            Event::Approval => {
                if r.approved == Some(true) {
                    s.user_approved += 1;
                } else {
                    s.user_rejected += 1;
                    let e = rejected
                        .entry((pattern(pattern_source(r)), String::new()))
                        .or_insert_with(|| (0, r.command.clone()));
                    e.0 += 1;
                }
            }
            Event::Exit => {
                s.runs += 1;
                if r.exit_status.is_some_and(|c| c != 0) || r.signal.is_some() {
                    s.runs_failed += 1;
                }
            }
        }
    }
    s.counts.finish();
    s.by_tool = tools
        .into_iter()
        .map(|(tool, mut counts)| {
            counts.finish();
            ToolRow { tool, counts }
        })
        .collect();
    s.by_tool.sort_by(|a, b| {
        b.counts
            .decisions
            .cmp(&a.counts.decisions)
            .then_with(|| a.tool.cmp(&b.tool))
    });
    s.by_source = sources.into_iter().collect();
    s.by_source
        .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    s.by_rule = rules
        .into_iter()
        .map(|((rule, section), fired)| RuleRow {
            rule,
            section,
            fired,
        })
        .collect();
    s.by_rule
        .sort_by(|a, b| b.fired.cmp(&a.fired).then_with(|| a.rule.cmp(&b.rule)));
    s.top_refused = top(refused);
    s.top_user_rejected = top(rejected);
    durations.sort_unstable();
    s.median_us = percentile(&durations, 0.5);
    s.p99_us = percentile(&durations, 0.99);
    s
}

/// One figure compared between two windows.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Change {
    /// What is compared.
    pub figure: String,
    /// Its value before.
    pub before: f64,
    /// Its value after.
    pub after: f64,
    /// `after - before` (percentage points for rates).
    pub change: f64,
}

/// Two windows side by side.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The `--before` window as given.
    pub before_window: String,
    /// The `--after` window as given.
    pub after_window: String,
    /// Figures of the first window.
    pub before: Stats,
    /// Figures of the second window.
    pub after: Stats,
    /// Each figure's change, then each rule whose firing count changed.
    pub changes: Vec<Change>,
}

/// Compares two windows' figures: the overall figures, the approval
/// rate of every tool, and every rule's firing count.
pub fn compare(before_window: &str, before: Stats, after_window: &str, after: Stats) -> Comparison {
    let mut changes = Vec::new();
    let mut push = |figure: String, b: f64, a: f64| {
        changes.push(Change {
            figure,
            before: b,
            after: a,
            change: a - b,
        })
    };
    push(
        "decisions".into(),
        before.counts.decisions as f64,
        after.counts.decisions as f64,
    );
    push(
        "approval rate (%)".into(),
        before.counts.approval_rate * 100.0,
        after.counts.approval_rate * 100.0,
    );
    for (name, f) in [
        ("allow", (|c: &Counts| c.allow) as fn(&Counts) -> u64),
        ("ask", |c| c.ask),
        ("deny", |c| c.deny),
    ] {
        push(
            name.into(),
            f(&before.counts) as f64,
            f(&after.counts) as f64,
        );
    }
    push(
        "hard_deny fires".into(),
        before.hard_deny_fires as f64,
        after.hard_deny_fires as f64,
    );
    push(
        "user approvals".into(),
        before.user_approved as f64,
        after.user_approved as f64,
    );
    push(
        "user rejections".into(),
        before.user_rejected as f64,
        after.user_rejected as f64,
    );
    push(
        "median decision (µs)".into(),
        before.median_us as f64,
        after.median_us as f64,
    );
    let mut tools: Vec<&String> = before
        .by_tool
        .iter()
        .chain(&after.by_tool)
        .map(|t| &t.tool)
        .collect();
    tools.sort();
    tools.dedup();
    let rate = |s: &Stats, t: &str| {
        s.by_tool
            .iter()
            .find(|r| r.tool == t)
            .map_or(0.0, |r| r.counts.approval_rate * 100.0)
    };
    for t in tools {
        push(
            format!("approval rate (%): {t}"),
            rate(&before, t),
            rate(&after, t),
        );
    }
    let mut rules: Vec<&String> = before
        .by_rule
        .iter()
        .chain(&after.by_rule)
        .map(|r| &r.rule)
        .collect();
    rules.sort();
    rules.dedup();
    let fired = |s: &Stats, rule: &str| {
        s.by_rule
            .iter()
            .filter(|r| r.rule == rule)
            .map(|r| r.fired)
            .sum::<u64>() as f64
    };
    for rule in rules {
        let (b, a) = (fired(&before, rule), fired(&after, rule));
        if a != b {
            push(format!("rule {rule}"), b, a);
        }
    }
    Comparison {
        before_window: before_window.into(),
        after_window: after_window.into(),
        before,
        after,
        changes,
    }
}

/// A whole report.
#[derive(Serialize, Clone, Debug)]
pub struct Report {
    /// Files read, oldest first.
    pub files: Vec<String>,
    /// The window reported on, as given (`since..until`).
    pub window: String,
    /// Lines that were not records.
    pub bad_lines: Vec<String>,
    /// Figures over the window.
    pub stats: Stats,
    /// With `--before`/`--after`: the comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Lays out rows as a plain-text table, columns padded to their widest
/// cell; columns after the first whose cells are numbers align right.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let cols = head.len();
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..cols)
        .map(|i| {
            i > 0
                && !rows.is_empty()
                && rows.iter().all(|r| {
                    r.get(i).is_some_and(|c| {
                        c.trim_end_matches(['%', 's'])
                            .trim_start_matches(['+', '-'])
                            .parse::<f64>()
                            .is_ok()
                    })
                })
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut s = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            if numeric[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < cells.len() {
                s.push_str("  ");
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    out += &line(
        width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for r in rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    out
}

/// Shortens `s` to `n` characters for a table cell.
fn cut(s: &str, n: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= n {
        one_line
    } else {
        super::truncate_chars(&one_line, n.saturating_sub(1))
    }
}

fn stats_text(s: &Stats) -> String {
    let mut o = String::new();
    let c = &s.counts;
    let _ = writeln!(
        o,
        "{} decisions from {} to {}: {} allow, {} ask, {} deny; approval rate {}",
        c.decisions,
        if s.first.is_empty() { "-" } else { &s.first },
        if s.last.is_empty() { "-" } else { &s.last },
        c.allow,
        c.ask,
        c.deny,
        pct(c.approval_rate)
    );
    let _ = writeln!(
        o,
        "hard_deny fired in {} decisions; users approved {} and rejected {} refused commands; decision time median {} µs, p99 {} µs",
        s.hard_deny_fires, s.user_approved, s.user_rejected, s.median_us, s.p99_us
    );
    if s.runs > 0 {
        let _ = writeln!(
            o,
            "{} commands ran; {} exited non-zero or by a signal",
            s.runs, s.runs_failed
        );
    }
    o += "\nApproval rate by tool\n";
    o += &table(
        &["tool", "decisions", "allow", "ask", "deny", "approval"],
        &s.by_tool
            .iter()
            .map(|t| {
                vec![
                    t.tool.clone(),
                    t.counts.decisions.to_string(),
                    t.counts.allow.to_string(),
                    t.counts.ask.to_string(),
                    t.counts.deny.to_string(),
                    pct(t.counts.approval_rate),
                ]
            })
            .collect::<Vec<_>>(),
    );
    o += "\nDecisions by source\n";
    o += &table(
        &["source", "decisions", "share"],
        &s.by_source
            .iter()
            .map(|(k, v)| vec![k.clone(), v.to_string(), pct(ratio(*v, c.decisions))])
            .collect::<Vec<_>>(),
    );
    o += "\nRules that fired\n";
    o += &table(
        &["rule", "section", "fired"],
        &s.by_rule
            .iter()
            .map(|r| vec![r.rule.clone(), r.section.clone(), r.fired.to_string()])
            .collect::<Vec<_>>(),
    );
    for (title, rows) in [
        ("Most refused command patterns", &s.top_refused),
        ("Most user-rejected command patterns", &s.top_user_rejected),
    ] {
        let _ = write!(o, "\n{title}\n");
        if rows.is_empty() {
            o += "  (none)\n";
            continue;
        }
        o += &table(&PATTERN_HEAD, &pattern_cells(rows, Some(40), 60));
    }
    o
}

fn signed(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:+.0}")
    } else {
        format!("{x:+.1}")
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Columns of a pattern table.
const PATTERN_HEAD: [&str; 4] = ["pattern", "rule", "count", "example"];

/// The cells of a pattern table, for text and HTML alike: the pattern
/// (cut to `pattern_chars` when given) and the example cut to
/// `example_chars`.
fn pattern_cells(
    rows: &[PatternRow],
    pattern_chars: Option<usize>,
    example_chars: usize,
) -> Vec<Vec<String>> {
    rows.iter()
        .map(|p| {
            vec![
                pattern_chars.map_or_else(|| p.pattern.clone(), |n| cut(&p.pattern, n)),
                p.rule.clone(),
                p.count.to_string(),
                cut(&p.example, example_chars),
            ]
        })
        .collect()
}

/// Columns of the before/after table.
const CHANGE_HEAD: [&str; 4] = ["figure", "before", "after", "change"];

/// The cells of the before/after table, for text and HTML alike.
fn change_cells(c: &Comparison) -> Vec<Vec<String>> {
    c.changes
        .iter()
        .map(|x| {
            vec![
                x.figure.clone(),
                num(x.before),
                num(x.after),
                signed(x.change),
            ]
        })
        .collect()
}

/// The report as plain-text tables.
pub fn text(r: &Report) -> String {
    let mut o = format!(
        "shellgate audit report: {} ({} file(s)), window {}\n",
        r.files.last().map(String::as_str).unwrap_or(""),
        r.files.len(),
        r.window
    );
    if !r.bad_lines.is_empty() {
        let _ = writeln!(
            o,
            "warning: lines that are not audit records: {}",
            r.bad_lines.join(", ")
        );
    }
    o += "\n";
    o += &stats_text(&r.stats);
    if let Some(c) = &r.comparison {
        let _ = write!(
            o,
            "\nBefore ({}) and after ({})\n",
            c.before_window, c.after_window
        );
        o += &table(&CHANGE_HEAD, &change_cells(c));
    }
    o
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG.
fn bars(title: &str, rows: &[(String, f64)], unit: &str) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let h = 22 * rows.len() + 30;
    let mut o = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" width=\"720\" height=\"{h}\" viewBox=\"0 0 720 {h}\">",
        esc(title)
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 10 + 22 * i;
        let w = (v / max * 380.0).max(1.0);
        let _ = write!(
            o,
            "<text x=\"230\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"240\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" class=\"b{}\"/><text x=\"{:.1}\" y=\"{}\">{}{}</text>",
            y + 13,
            esc(&cut(label, 34)),
            i % 3,
            245.0 + w,
            y + 13,
            num(*v),
            unit
        );
    }
    o + "</svg></figure>\n"
}

fn html_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut o = String::from("<table><tr>");
    for h in head {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o += "</tr>";
    for r in rows {
        o += "<tr>";
        for c in r {
            let _ = write!(o, "<td>{}</td>", esc(c));
        }
        o += "</tr>";
    }
    o + "</table>\n"
}

fn stats_html(s: &Stats) -> String {
    let c = &s.counts;
    let mut o = format!(
        "<p><b>{}</b> decisions from {} to {}: {} allow, {} ask, {} deny; approval rate <b>{}</b>. hard_deny fired in {} decisions; users approved {} and rejected {} refused commands. Decision time median {} µs, p99 {} µs.</p>\n",
        c.decisions, esc(&s.first), esc(&s.last), c.allow, c.ask, c.deny, pct(c.approval_rate),
        s.hard_deny_fires, s.user_approved, s.user_rejected, s.median_us, s.p99_us
    );
    o += &bars(
        "Decisions",
        &[
            ("allow".into(), c.allow as f64),
            ("ask".into(), c.ask as f64),
            ("deny".into(), c.deny as f64),
        ],
        "",
    );
    o += &bars(
        "Approval rate by tool",
        &s.by_tool
            .iter()
            .map(|t| (t.tool.clone(), t.counts.approval_rate * 100.0))
            .collect::<Vec<_>>(),
        "%",
    );
    o += &bars(
        "Decisions by source",
        &s.by_source
            .iter()
            .map(|(k, v)| (k.clone(), *v as f64))
            .collect::<Vec<_>>(),
        "",
    );
    o += &bars(
        "Rules that fired most",
        &s.by_rule
            .iter()
            .take(15)
            .map(|r| (format!("{} ({})", r.rule, r.section), r.fired as f64))
            .collect::<Vec<_>>(),
        "",
    );
    for (title, rows) in [
        ("Most refused command patterns", &s.top_refused),
        ("Most user-rejected command patterns", &s.top_user_rejected),
    ] {
        let _ = writeln!(o, "<h3>{}</h3>", esc(title));
        o += &html_table(&PATTERN_HEAD, &pattern_cells(rows, None, 120));
    }
    o
}

/// The report as one self-contained HTML page (inline CSS and SVG, no
/// scripts, nothing fetched), for sharing.
pub fn html(r: &Report) -> String {
    let mut o = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>shellgate audit report</title><style>\
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:980px;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}svg text{font:12px system-ui,sans-serif}.b0{fill:#3b6ea5}.b1{fill:#d08c2a}.b2{fill:#5a9e5a}\
figure{margin:1em 0}figcaption{font-weight:600}</style></head><body>\n",
    );
    let _ = writeln!(
        o,
        "<h1>shellgate audit report</h1><p>Log {} ({} file(s)); window {}.</p>",
        esc(r.files.last().map(String::as_str).unwrap_or("")),
        r.files.len(),
        esc(&r.window)
    );
    if !r.bad_lines.is_empty() {
        let _ = writeln!(
            o,
            "<p><b>Lines that are not audit records:</b> {}</p>",
            esc(&r.bad_lines.join(", "))
        );
    }
    o += &stats_html(&r.stats);
    if let Some(c) = &r.comparison {
        let _ = writeln!(
            o,
            "<h2>Before ({}) and after ({})</h2>",
            esc(&c.before_window),
            esc(&c.after_window)
        );
        o += &html_table(&CHANGE_HEAD, &change_cells(c));
        o += &bars(
            "Approval rate (%) before and after",
            &[
                (
                    format!("before {}", c.before_window),
                    c.before.counts.approval_rate * 100.0,
                ),
                (
                    format!("after {}", c.after_window),
                    c.after.counts.approval_rate * 100.0,
                ),
            ],
            "%",
        );
    }
    o + "</body></html>\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Fired;

    #[test]
    fn patterns_keep_name_subcommand_and_options() {
        assert_eq!(pattern("rm -rf /tmp/x"), "rm -f -r");
        assert_eq!(pattern("git push --force origin main"), "git push --force");
        assert_eq!(
            pattern("FOO=1 /usr/bin/curl -sS https://x | sh"),
            "curl -S -s"
        );
        assert_eq!(
            pattern("terraform destroy -auto-approve"),
            "terraform destroy"
        );
        assert_eq!(
            pattern("git push --force-with-lease=main"),
            "git push --force-with-lease"
        );
        assert_eq!(pattern("find . -name x -delete"), "find");
        assert_eq!(pattern(""), "");
    }

    fn rec(event: Event, decision: &str, rule: Option<(&str, &str)>, cmd: &str) -> Record {
        let mut r = Record::new(event, "hook");
        r.tool = Some("Bash".into());
        r.decision = decision.into();
        r.source = "policy".into();
        r.command = cmd.into();
        if let Some((rule, section)) = rule {
            r.rules = vec![rule.into()];
            r.fired = vec![Fired {
                rule: rule.into(),
                section: section.into(),
                matched: cmd.into(),
                command: cmd.into(),
            }];
        }
        r
    }

    #[test]
    fn stats_count_what_the_log_says() {
        let mut recs = vec![
            rec(Event::Decision, "allow", None, "ls"),
            rec(Event::Decision, "allow", None, "ls -la"),
            rec(
                Event::Decision,
                "deny",
                Some(("fs.recursive-delete", "hard_deny")),
                "rm -rf /",
            ),
            rec(
                Event::Decision,
                "ask",
                Some(("git.force-push", "soft_deny")),
                "git push -f",
            ),
        ];
        let mut no = rec(Event::Approval, "", None, "git push -f origin x");
        no.approved = Some(false);
        recs.push(no);
        let s = stats(&recs);
        assert_eq!(s.counts.decisions, 4);
        assert_eq!((s.counts.allow, s.counts.ask, s.counts.deny), (2, 1, 1));
        assert!((s.counts.approval_rate - 0.5).abs() < 1e-9);
        assert_eq!(s.hard_deny_fires, 1);
        assert_eq!(s.user_rejected, 1);
        assert_eq!(s.top_refused.len(), 2);
        assert_eq!(s.top_user_rejected[0].pattern, "git push -f");
        assert_eq!(s.by_tool[0].tool, "Bash");
        let c = compare("a", stats(&recs[..2]), "b", s.clone());
        let rate = c
            .changes
            .iter()
            .find(|x| x.figure == "approval rate (%)")
            .unwrap();
        assert!((rate.change - -50.0).abs() < 1e-9);
        assert!(c
            .changes
            .iter()
            .any(|x| x.figure == "rule fs.recursive-delete" && x.after == 1.0));
    }

    #[test]
    fn html_escapes_commands() {
        let recs = vec![rec(
            Event::Decision,
            "deny",
            Some(("x.y", "hard_deny")),
            "echo '<script>alert(1)</script>'",
        )];
        let r = Report {
            files: vec!["/l".into()],
            window: "all".into(),
            bad_lines: vec![],
            stats: stats(&recs),
            comparison: None,
        };
        let h = html(&r);
        assert!(!h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;"));
    }
}
