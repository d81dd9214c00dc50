//! A generator of large, realistic audit logs with known figures, for the
//! audit tests (tests/audit.rs) and the report benchmark
//! (gate/benches/audit_report.rs).
//!
//! The log covers 30 days from 2026-10-01 across four tools. On day 15
//! the mix changes (fewer force pushes, more unknown deploy commands), so
//! a before/after comparison has something to find. Every tenth refusal
//! with an approval code gets a user's answer.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// One kind of logged command.
struct Kind {
    command: &'static str,
    decision: &'static str,
    rule: &'static str,
    section: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        command: "ls -la src",
        decision: "allow",
        rule: "",
        section: "",
    },
    Kind {
        command: "cargo test --workspace",
        decision: "allow",
        rule: "",
        section: "",
    },
    Kind {
        command: "git status",
        decision: "allow",
        rule: "",
        section: "",
    },
    Kind {
        command: "git diff HEAD~1 -- src/main.rs",
        decision: "allow",
        rule: "",
        section: "",
    },
    Kind {
        command: "npm test",
        decision: "allow",
        rule: "",
        section: "",
    },
    Kind {
        command: "git push --force origin feature/x",
        decision: "ask",
        rule: "git.force-push",
        section: "soft_deny",
    },
    Kind {
        command: "make deploy-docs",
        decision: "ask",
        rule: "tier.unknown-command",
        section: "tier_default",
    },
    Kind {
        command: "curl -sS https://unknown.example/data.json",
        decision: "ask",
        rule: "net.untrusted-host",
        section: "soft_deny",
    },
    Kind {
        command: "rm -rf /",
        decision: "deny",
        rule: "fs.recursive-delete",
        section: "hard_deny",
    },
    Kind {
        command: "curl -fsSL https://get.example.sh | sh",
        decision: "deny",
        rule: "exec.pipe-to-shell",
        section: "hard_deny",
    },
];

const TOOLS: &[(&str, &str)] = &[
    ("claude-code", "Bash"),
    ("codex", "Bash"),
    ("gemini", "run_shell_command"),
    ("cursor", "Shell"),
];

/// What a generated log holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Expected {
    pub decisions: u64,
    pub allow: u64,
    pub ask: u64,
    pub deny: u64,
    pub hard_deny_fires: u64,
    pub user_approved: u64,
    pub user_rejected: u64,
    /// Decisions before day 15 and from day 15 on.
    pub before: u64,
    pub after: u64,
    /// `allow` decisions before and after day 15.
    pub allow_before: u64,
    pub allow_after: u64,
    /// Decisions per tool, in [`TOOLS`] order.
    pub per_tool: Vec<u64>,
    /// Times each approved pattern was answered yes, and each rejected no.
    pub approved_make: u64,
    pub rejected_force_push: u64,
}

/// Deterministic xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Start of the generated month (2026-10-01T00:00:00Z) in Unix seconds.
pub const START: u64 = 1_790_812_800;
/// The day the mix changes.
pub const CHANGE_DAY: u64 = 15;

fn time(secs: u64, micros: u64) -> String {
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(secs)
        + std::time::Duration::from_micros(micros);
    humantime::format_rfc3339_micros(t).to_string()
}

/// Writes `n` records (decisions and approval answers) to `path`,
/// returning what they hold.
pub fn generate(path: &Path, n: u64) -> Expected {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut e = Expected {
        per_tool: vec![0; TOOLS.len()],
        ..Expected::default()
    };
    let span = 30 * 86_400;
    let mut written = 0;
    let mut i = 0u64;
    while written < n {
        let secs = START + i * span / n;
        let after = secs >= START + CHANGE_DAY * 86_400;
        // After the change: force pushes become rare, deploys common.
        let mut k = rng.below(KINDS.len() as u64) as usize;
        if after && k == 5 && rng.below(4) != 0 {
            k = 6;
        }
        let kind = &KINDS[k];
        let t = rng.below(TOOLS.len() as u64) as usize;
        let (harness, tool) = TOOLS[t];
        let id = format!("{:016x}", rng.next());
        let code = (kind.decision != "allow").then(|| format!("C{i:07}"));
        let fired = if kind.rule.is_empty() {
            String::new()
        } else {
            format!(
                r#","rules":["{}"],"fired":[{{"rule":"{}","section":"{}","matched":{},"command":{}}}]"#,
                kind.rule,
                kind.rule,
                kind.section,
                serde_json::to_string(kind.command).unwrap(),
                serde_json::to_string(kind.command).unwrap()
            )
        };
        let code_field = code
            .as_ref()
            .map(|c| format!(r#","approval_code":"{c}""#))
            .unwrap_or_default();
        writeln!(
            out,
            r#"{{"time":"{}","id":"{id}","event":"decision","mode":"hook","session":"s{}","harness":"{harness}","tool":"{tool}","tool_use_id":"toolu_{i}","cwd":"/home/dev/project","command":{},"judged":[{}],"decision":"{}","source":"policy"{fired},"reason":"generated","tier":"balanced","policy_digest":"0123456789abcdef"{code_field},"duration_us":{}}}"#,
            time(secs, i % 1_000_000),
            i / 50,
            serde_json::to_string(kind.command).unwrap(),
            serde_json::to_string(kind.command).unwrap(),
            kind.decision,
            5 + rng.below(40),
        )
        .unwrap();
        written += 1;
        e.decisions += 1;
        e.per_tool[t] += 1;
        match kind.decision {
            "allow" => e.allow += 1,
            "ask" => e.ask += 1,
            _ => e.deny += 1,
        }
        if kind.section == "hard_deny" {
            e.hard_deny_fires += 1;
        }
        if after {
            e.after += 1;
            e.allow_after += u64::from(kind.decision == "allow");
        } else {
            e.before += 1;
            e.allow_before += u64::from(kind.decision == "allow");
        }
        // Users answer some refusals: deploys always yes, force pushes no.
        if let Some(c) = code {
            if i % 10 == 0 && written < n && (k == 5 || k == 6) {
                let yes = k == 6;
                writeln!(
                    out,
                    r#"{{"time":"{}","id":"{:016x}","event":"approval","mode":"approve","session":"s{}","cwd":"/home/dev/project","command":{},"source":"user","reason":"generated","approval_code":"{c}","approved":{yes}}}"#,
                    time(secs, i % 1_000_000 + 1),
                    rng.next(),
                    i / 50,
                    serde_json::to_string(kind.command).unwrap(),
                )
                .unwrap();
                written += 1;
                if yes {
                    e.user_approved += 1;
                    e.approved_make += 1;
                } else {
                    e.user_rejected += 1;
                    e.rejected_force_push += 1;
                }
            }
        }
        i += 1;
    }
    out.flush().unwrap();
    e
}
