//! The deny layer (`[permissions] deny`): plain prefix rules checked
//! before everything else, as Claude Code's `permissions.deny` Bash rules
//! (<https://docs.claude.com/en/docs/claude-code/iam>, "Tool-specific
//! permission rules").
//!
//! A rule is a list of words (split as the shell would, quotes allowed):
//! * `git push --force` matches exactly those words;
//! * `git push --force*` (a `*` at the end of the last word) matches any
//!   command whose words start with `git push` followed by a word that
//!   starts with `--force`, then anything;
//! * `git push *` or Claude's `Bash(git push:*)` matches `git push` and
//!   anything after it.
//!
//! Words are compared after the parser's quote removal and expansion, on
//! every simple command bash would run, with and without the wrappers
//! that run it (so `sudo rm …` matches both `sudo *` and `rm *`). The first
//! word is compared by basename (`/usr/bin/git` is `git`). A prefix rule
//! does not reorder options: `git push origin main --force` does not match
//! `git push --force*`; use a hard_deny rule with `flags` for that.

use shellgate_parsers::{basename, Command};

/// One deny-layer rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixRule {
    /// The rule as written.
    pub text: String,
    /// The file it came from.
    pub origin: String,
    /// Rule id used in findings: `deny:` followed by the rule text.
    pub id: &'static str,
    words: Vec<String>,
    /// The last word is a prefix (`--force*`).
    last_is_prefix: bool,
    /// Any further words are allowed (`:*`, ` *`, or a prefix last word).
    open: bool,
}

impl PrefixRule {
    /// Parses a rule. Errors say what is wrong.
    pub fn parse(text: &str, origin: &str) -> Result<PrefixRule, String> {
        let mut body = text.trim();
        if let Some(inner) = body.strip_prefix("Bash(").and_then(|b| b.strip_suffix(')')) {
            body = inner.trim();
        }
        let mut open = false;
        if let Some(b) = body.strip_suffix(":*") {
            body = b;
            open = true;
        }
        let mut words = shell_words::split(body)
            .map_err(|e| format!("`{text}` cannot be split into words: {e}"))?;
        if words.last().is_some_and(|w| w == "*") {
            words.pop();
            open = true;
        }
        let mut last_is_prefix = false;
        if let Some(last) = words.last_mut() {
            if let Some(p) = last.strip_suffix('*') {
                *last = p.to_string();
                last_is_prefix = true;
                open = true;
            }
        }
        if words.is_empty() || words[0].is_empty() {
            return Err(format!("`{text}` names no command"));
        }
        if words.iter().any(|w| w.contains('*')) {
            return Err(format!(
                "`{text}`: `*` is only allowed at the end; use a hard_deny rule for other patterns"
            ));
        }
        Ok(PrefixRule {
            text: text.to_string(),
            origin: origin.to_string(),
            id: super::intern(&format!("deny:{}", text.trim())),
            words,
            last_is_prefix,
            open,
        })
    }

    /// True when the rule matches `cmd` with or without its wrappers.
    pub fn matches(&self, cmd: &Command) -> bool {
        let inner: Vec<&str> = cmd.argv.iter().map(|w| w.text.as_str()).collect();
        if self.matches_words(&inner) {
            return true;
        }
        let mut full: Vec<&str> = Vec::new();
        for w in cmd.wrappers.iter().rev() {
            let mut candidate: Vec<&str> = w.argv.iter().map(|x| x.text.as_str()).collect();
            candidate.extend(full.iter());
            full = candidate;
            let mut with_cmd = full.clone();
            with_cmd.extend(inner.iter());
            if self.matches_words(&with_cmd) {
                return true;
            }
        }
        false
    }

    /// True when `words` (first word compared by basename) match.
    pub fn matches_words(&self, words: &[&str]) -> bool {
        let n = self.words.len();
        if words.len() < n || (!self.open && words.len() != n) {
            return false;
        }
        for (i, (want, got)) in self.words.iter().zip(words).enumerate() {
            let got = if i == 0 { basename(got) } else { got };
            let want = if i == 0 {
                basename(want)
            } else {
                want.as_str()
            };
            let last = i + 1 == n;
            let ok = if last && self.last_is_prefix {
                got.starts_with(want)
            } else {
                got == want
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rule: &str, cmd: &str) -> bool {
        let r = PrefixRule::parse(rule, "t").unwrap();
        let words: Vec<&str> = cmd.split(' ').collect();
        r.matches_words(&words)
    }

    #[test]
    fn prefix_forms() {
        assert!(m("git push --force*", "git push --force origin"));
        assert!(m("git push --force*", "git push --force-with-lease"));
        assert!(!m("git push --force*", "git push origin --force"));
        assert!(m("Bash(git push:*)", "git push"));
        assert!(m("Bash(git push:*)", "git push origin main"));
        assert!(!m("Bash(git push:*)", "git pushx"));
        assert!(m("rm -rf *", "/bin/rm -rf x"));
        assert!(m("npm publish", "npm publish"));
        assert!(!m("npm publish", "npm publish --tag x"));
        assert!(PrefixRule::parse("git * --force", "t").is_err());
        assert!(PrefixRule::parse("  ", "t").is_err());
        assert!(PrefixRule::parse("'unterminated", "t").is_err());
    }
}
