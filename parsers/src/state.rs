//! Static knowledge about the shell while lowering: variable values, the
//! working directory and function definitions, with the merge used where
//! control flow joins (bash manual 3.2.5 "Compound Commands", 3.4 "Shell Parameters").

use std::collections::BTreeMap;
use std::rc::Rc;

/// A variable as far as it is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Var {
    /// `Some` when the value is known on every path reaching this point.
    pub value: Option<String>,
    /// Marked for export (visible to child shells).
    pub exported: bool,
}

/// A function defined in the script: its body is re-parsed where it is called.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FuncDef {
    /// Source text of the body (a compound command).
    pub body: String,
    /// How the body's offsets map to the top-level input.
    pub map: crate::lower::SpanMap,
}

/// Shell state at one point of the script.
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub vars: BTreeMap<String, Var>,
    pub cwd: Option<String>,
    pub home: Option<String>,
    pub functions: BTreeMap<String, Rc<FuncDef>>,
    /// `shopt -s cdable_vars` was seen: `cd NAME` may go to `$NAME`.
    pub cdable_vars: bool,
    /// Files this script wrote, by absolute path: their content when known.
    pub files: BTreeMap<String, Option<String>>,
}

/// Longest variable value tracked (bytes); longer values become unknown.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

impl State {
    /// Value of a variable: `None` when unknown. Variables never assigned in
    /// the script come from the environment and are unknown, except `HOME`
    /// and `PWD` which the caller supplied.
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return v.value.clone();
        }
        match name {
            "HOME" => self.home.clone(),
            "PWD" => self.cwd.clone(),
            _ => None,
        }
    }

    pub fn set(&mut self, name: &str, value: Option<String>) {
        let value = value.filter(|v| v.len() <= MAX_VALUE_BYTES);
        let exported = self.vars.get(name).is_some_and(|v| v.exported);
        self.vars.insert(name.to_string(), Var { value, exported });
    }

    pub fn export(&mut self, name: &str) {
        let value = self.get(name);
        self.vars.insert(
            name.to_string(),
            Var {
                value,
                exported: true,
            },
        );
    }

    /// State seen by a child shell (`bash -c`): exported variables only,
    /// plus whatever the environment holds (unknown).
    pub fn child_shell(&self) -> State {
        State {
            vars: self
                .vars
                .iter()
                .filter(|(_, v)| v.exported)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cwd: self.cwd.clone(),
            home: self.home.clone(),
            functions: BTreeMap::new(),
            cdable_vars: false,
            files: self.files.clone(),
        }
    }

    /// The state after control flow joins from several paths: values that
    /// differ between paths become unknown.
    pub fn merge(states: &[State]) -> State {
        let mut out = states[0].clone();
        for s in &states[1..] {
            let keys: Vec<String> = out.vars.keys().chain(s.vars.keys()).cloned().collect();
            for k in keys {
                let a = out.vars.get(&k).cloned();
                let b = s.vars.get(&k).cloned();
                if a != b {
                    let exported = a.as_ref().is_some_and(|v| v.exported)
                        || b.as_ref().is_some_and(|v| v.exported);
                    out.vars.insert(
                        k,
                        Var {
                            value: None,
                            exported,
                        },
                    );
                }
            }
            if out.cwd != s.cwd {
                out.cwd = None;
            }
            out.cdable_vars |= s.cdable_vars;
            for (k, v) in &s.files {
                let merged = if out.files.get(k) == Some(v) {
                    v.clone()
                } else {
                    None
                };
                out.files.insert(k.clone(), merged);
            }
            for (k, f) in &s.functions {
                out.functions.insert(k.clone(), f.clone());
            }
        }
        out
    }
}

/// Joins `path` onto `base` lexically, resolving `.` and `..` (never below `/`).
pub fn join_path(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    for comp in full.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_resolves_dots() {
        assert_eq!(join_path("/home/dev/project", "../.."), "/home");
        assert_eq!(join_path("/home/dev/project", "/var/./log/"), "/var/log");
        assert_eq!(join_path("/", "../../.."), "/");
        assert_eq!(join_path("/a", "b/../c"), "/a/c");
    }

    #[test]
    fn merge_forgets_differing_values() {
        let mut a = State::default();
        a.set("x", Some("rm".into()));
        a.set("y", Some("1".into()));
        let mut b = a.clone();
        b.set("x", Some("ls".into()));
        b.cwd = Some("/".into());
        let m = State::merge(&[a, b]);
        assert_eq!(m.get("x"), None);
        assert_eq!(m.get("y").as_deref(), Some("1"));
        assert_eq!(m.cwd, None);
    }
}
