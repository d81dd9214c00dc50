//! Static knowledge about the shell while lowering: variable values, the
//! working directory and function definitions, with the merge used where
//! control flow joins (bash manual 3.2.5 "Compound Commands", 3.4 "Shell Parameters").

use std::collections::BTreeMap;
use std::rc::Rc;

/// A variable as far as it is known.
///
/// Every variable is an indexed array (bash manual 6.7 "Arrays": "referencing
/// an array variable without a subscript is equivalent to referencing with a
/// subscript of 0"); a scalar is a one-element array and an unset variable an
/// empty one. Only dense arrays are tracked: an assignment that would leave a
/// gap, and associative arrays, make the value unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Var {
    /// The elements, when known on every path reaching this point.
    pub value: Option<Vec<String>>,
    /// Marked for export (visible to child shells).
    pub exported: bool,
    /// Assigned as an array at some point: never exported (bash manual 6.7).
    pub array: bool,
}

impl Var {
    /// `$name`: element 0, or the empty string when unset.
    pub fn scalar(&self) -> Option<String> {
        self.value
            .as_ref()
            .map(|v| v.first().cloned().unwrap_or_default())
    }

    /// True when known to be unset (or an empty array), which `${x-…}`
    /// treats as unset.
    pub fn is_unset(&self) -> bool {
        self.value.as_ref().is_some_and(Vec::is_empty)
    }
}

/// Aliases defined in the script (bash manual 6.6 "Aliases").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Aliases {
    /// Name to replacement text. `None` when an alias was defined from a
    /// value shellgate could not know.
    pub defs: BTreeMap<String, Option<String>>,
    /// Whether `expand_aliases` is on: `Some(false)` in a non-interactive
    /// bash until `shopt -s expand_aliases`; `None` when unknown (the
    /// harness's shell may have set it), which is treated as on.
    pub expand: Option<bool>,
}

impl Aliases {
    /// Whether aliases are expanded at all, resolving "unknown" to "yes" so
    /// that an alias defined in the script is never ignored.
    pub fn active(&self) -> bool {
        self.expand != Some(false)
    }
}

/// A function defined in the script: its body is re-parsed where it is called.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FuncDef {
    /// Source text of the body (a compound command).
    pub body: String,
    /// How the body's offsets map to the top-level input.
    pub map: crate::lower::SpanMap,
    /// Aliases in effect where the function was defined: its body was
    /// parsed, and aliases expanded, then.
    pub aliases: Aliases,
}

/// Shell state at one point of the script.
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub vars: BTreeMap<String, Var>,
    pub cwd: Option<String>,
    pub home: Option<String>,
    pub functions: BTreeMap<String, Rc<FuncDef>>,
    /// Names whose definition differs between the paths reaching this
    /// point: each possibility (`None`: no function, the command runs)
    /// is analysed where the name is called.
    pub function_alts: BTreeMap<String, Vec<Option<Rc<FuncDef>>>>,
    /// Variables declared as namerefs (`declare -n`): writing one writes
    /// another variable, so any write forgets every value.
    pub namerefs: std::collections::BTreeSet<String>,
    /// The shell's `echo` interprets backslash escapes (dash and other
    /// POSIX shells), so output with backslashes is not known statically.
    pub xsi_echo: bool,
    /// `shopt -s lastpipe`: the last stage of a pipeline runs in this shell.
    pub lastpipe: bool,
    /// Standard input set for the rest of the script by `exec < …`.
    pub exec_stdin: Option<crate::model::Stdin>,
    /// `shopt -s cdable_vars` was seen: `cd NAME` may go to `$NAME`.
    pub cdable_vars: bool,
    /// Files this script wrote, by absolute path: their content when known.
    pub files: BTreeMap<String, Option<String>>,
    /// Positional parameters `$1`… (bash manual 3.4.1), when known: set by
    /// `set --`, a function call, or `bash -c CODE NAME ARGS…`.
    pub positional: Option<Vec<String>>,
    /// Aliases defined so far (they take effect when the next line is read).
    pub aliases: Aliases,
}

/// `$IFS` when unset (bash manual 3.5.7).
pub const DEFAULT_IFS: &str = " \t\n";

/// Longest variable value tracked (bytes, all elements of an array
/// together); longer values become unknown.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Most elements of an array tracked; larger arrays become unknown.
pub const MAX_ARRAY_ELEMENTS: usize = 4096;

impl State {
    /// Value of a variable: `None` when unknown. Variables never assigned in
    /// the script come from the environment and are unknown, except `HOME`
    /// and `PWD` which the caller supplied.
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return v.scalar();
        }
        if let Some(n) = name.parse::<usize>().ok().filter(|n| *n > 0) {
            return self
                .positional
                .as_ref()
                .map(|p| p.get(n - 1).cloned().unwrap_or_default());
        }
        match name {
            "#" => self.positional.as_ref().map(|p| p.len().to_string()),
            "HOME" => self.home.clone(),
            "PWD" => self.cwd.clone(),
            // bash sets IFS at startup and never imports it from the
            // environment (bash manual 5.2, "IFS"; checked with
            // `IFS=x bash -c 'printf %q "$IFS"'`).
            "IFS" => Some(DEFAULT_IFS.into()),
            _ => None,
        }
    }

    /// `name=value`: sets element 0, keeping the other elements of an
    /// array (`None` makes the variable unknown).
    pub fn set(&mut self, name: &str, value: Option<String>) {
        if self.namerefs.contains(name) {
            self.forget_all();
            return;
        }
        let value = value.filter(|v| v.len() <= MAX_VALUE_BYTES);
        let old = self.vars.get(name);
        let exported = old.is_some_and(|v| v.exported);
        let array = old.is_some_and(|v| v.array);
        let elems = match (value, old) {
            (None, _) => None,
            (Some(v), None) => Some(vec![v]),
            // An unknown scalar: the assignment determines it.
            (Some(v), Some(o)) if o.value.is_none() && !o.array => Some(vec![v]),
            (Some(v), Some(o)) => o.value.as_ref().map(|els| {
                let mut els = els.clone();
                match els.first_mut() {
                    Some(first) => *first = v,
                    None => els.push(v),
                }
                els
            }),
        };
        self.vars.insert(
            name.to_string(),
            Var {
                value: elems,
                exported,
                array,
            },
        );
    }

    /// `name=(…)` or `unset name` (an empty list): replaces all elements.
    pub fn set_array(&mut self, name: &str, value: Option<Vec<String>>) {
        if self.namerefs.contains(name) {
            self.forget_all();
            return;
        }
        let value = value.filter(|v| {
            v.len() <= MAX_ARRAY_ELEMENTS
                && v.iter().map(String::len).sum::<usize>() <= MAX_VALUE_BYTES
        });
        let exported = self.vars.get(name).is_some_and(|v| v.exported);
        let array = self.vars.get(name).is_some_and(|v| v.array);
        self.vars.insert(
            name.to_string(),
            Var {
                value,
                exported,
                array,
            },
        );
    }

    /// Records that `name` was assigned as an array.
    pub fn mark_array(&mut self, name: &str) {
        if let Some(v) = self.vars.get_mut(name) {
            v.array = true;
        }
    }

    /// `$IFS` for word splitting: `None` when unknown (bash manual 3.5.7;
    /// unset means the default).
    pub fn ifs(&self) -> Option<String> {
        match self.vars.get("IFS") {
            Some(v) if !v.is_unset() => v.scalar(),
            _ => Some(DEFAULT_IFS.into()),
        }
    }

    /// The elements of `name` (`${name[@]}`): `None` when unknown.
    /// Variables never assigned in the script come from the environment,
    /// where they are scalars: known only for `HOME` and `PWD`.
    pub fn elements(&self, name: &str) -> Option<Vec<String>> {
        match self.vars.get(name) {
            Some(v) => v.value.clone(),
            None => self.get(name).map(|v| vec![v]),
        }
    }

    /// What calling `name` may run: the function definitions it may have
    /// (`None` for "no function").
    pub fn function_options(&self, name: &str) -> Vec<Option<Rc<FuncDef>>> {
        match self.function_alts.get(name) {
            Some(alts) => alts.clone(),
            None => vec![self.functions.get(name).cloned()],
        }
    }

    /// Defines (`Some`) or removes (`None`) function `name` on this path.
    pub fn define_function(&mut self, name: &str, def: Option<Rc<FuncDef>>) {
        self.function_alts.remove(name);
        match def {
            Some(d) => {
                self.functions.insert(name.to_string(), d);
            }
            None => {
                self.functions.remove(name);
            }
        }
    }

    /// Takes in the files a subshell (pipeline stage, `( … )`, `$( … )`,
    /// `&`) wrote: its variables are gone with it, its files are on disk.
    /// The subshell started from this state, so its view of each file is
    /// the latest.
    pub fn absorb_files(&mut self, sub: State) {
        self.files.extend(sub.files);
    }

    /// As [`State::absorb_files`] for a job still running (`cmd &`): a file
    /// it changed may hold either content when later commands run.
    pub fn absorb_files_concurrent(&mut self, sub: State) {
        for (path, content) in sub.files {
            let merged = match self.files.get(&path) {
                Some(old) if *old != content => None,
                _ => content,
            };
            self.files.insert(path, merged);
        }
    }

    /// Forgets every variable's value (after `source FILE`, a dynamic
    /// `declare`, or anything else that may assign any variable).
    pub fn forget_all(&mut self) {
        self.vars.values_mut().for_each(|v| v.value = None);
        self.positional = None;
    }

    pub fn export(&mut self, name: &str) {
        let value = self.elements(name);
        let array = self.vars.get(name).is_some_and(|v| v.array);
        self.vars.insert(
            name.to_string(),
            Var {
                value,
                exported: true,
                array,
            },
        );
    }

    /// Exported scalar variables the script set, with known values.
    pub fn exported_env(&self) -> Vec<(String, Option<String>)> {
        self.vars
            .iter()
            .filter(|(_, v)| v.exported && !v.array)
            .map(|(k, v)| (k.clone(), v.scalar()))
            .collect()
    }

    /// State seen by a child shell (`bash -c`): exported variables only,
    /// plus whatever the environment holds (unknown).
    pub fn child_shell(&self) -> State {
        State {
            vars: self
                .vars
                .iter()
                .filter(|(_, v)| v.exported)
                .map(|(k, v)| {
                    // Arrays are not exported (bash manual 6.7): the child
                    // sees whatever its environment holds.
                    let mut v = v.clone();
                    if v.array {
                        v.value = None;
                    }
                    (k.clone(), v)
                })
                .collect(),
            cwd: self.cwd.clone(),
            home: self.home.clone(),
            functions: BTreeMap::new(),
            function_alts: BTreeMap::new(),
            namerefs: Default::default(),
            xsi_echo: false,
            lastpipe: false,
            exec_stdin: self.exec_stdin.clone(),
            cdable_vars: false,
            files: self.files.clone(),
            // Set by the caller where the arguments are known (`bash -c`).
            positional: None,
            aliases: Aliases {
                defs: BTreeMap::new(),
                expand: Some(false),
            },
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
                    let array =
                        a.as_ref().is_some_and(|v| v.array) || b.as_ref().is_some_and(|v| v.array);
                    out.vars.insert(
                        k,
                        Var {
                            value: None,
                            exported,
                            array,
                        },
                    );
                }
            }
            if out.cwd != s.cwd {
                out.cwd = None;
            }
            out.cdable_vars |= s.cdable_vars;
            if out.positional != s.positional {
                out.positional = None;
            }
            let names: Vec<String> = out
                .aliases
                .defs
                .keys()
                .chain(s.aliases.defs.keys())
                .cloned()
                .collect();
            for k in names {
                let (a, b) = (out.aliases.defs.get(&k), s.aliases.defs.get(&k));
                if a != b {
                    // Defined differently (or only) on one path: unknown.
                    out.aliases.defs.insert(k, None);
                }
            }
            if out.aliases.expand != s.aliases.expand {
                out.aliases.expand = None;
            }
            // A file written on only one path may or may not exist.
            let paths: Vec<String> = out.files.keys().chain(s.files.keys()).cloned().collect();
            for k in paths {
                let (a, b) = (out.files.get(&k), s.files.get(&k));
                let merged = if a == b { a.cloned().flatten() } else { None };
                out.files.insert(k, merged);
            }
            let names: std::collections::BTreeSet<String> = out
                .functions
                .keys()
                .chain(out.function_alts.keys())
                .chain(s.functions.keys())
                .chain(s.function_alts.keys())
                .cloned()
                .collect();
            for name in names {
                let (a, b) = (out.function_options(&name), s.function_options(&name));
                // `Rc`'s `==` compares the pointers first.
                if a == b {
                    continue;
                }
                let mut all = a;
                for o in b {
                    if !all.contains(&o) {
                        all.push(o);
                    }
                }
                out.functions.remove(&name);
                out.function_alts.insert(name, all);
            }
            out.namerefs.extend(s.namerefs.iter().cloned());
            out.xsi_echo |= s.xsi_echo;
            out.lastpipe |= s.lastpipe;
            if out.exec_stdin != s.exec_stdin {
                // Set on one path only: what the input is, is not known.
                out.exec_stdin = Some(crate::model::Stdin::Pipe {
                    data: None,
                    producers: Vec::new(),
                });
            }
        }
        out
    }
}

/// Joins `path` onto `base` lexically, resolving `.` and `..` (never below `/`).
pub fn join_path(base: &str, path: &str) -> String {
    let mut out = String::with_capacity(base.len() + path.len() + 1);
    let mut push = |comp: &str| match comp {
        "" | "." => {}
        ".." => {
            let parent = out.rfind('/').unwrap_or(0);
            out.truncate(parent);
        }
        c => {
            out.push('/');
            out.push_str(c);
        }
    };
    if !path.starts_with('/') {
        base.split('/').for_each(&mut push);
    }
    path.split('/').for_each(&mut push);
    if out.is_empty() {
        out.push('/');
    }
    out
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
        assert_eq!(join_path("/a/../b", "c"), "/b/c");
        assert_eq!(join_path("relative", "x"), "/relative/x");
        assert_eq!(join_path("/a", ""), "/a");
        assert_eq!(join_path("", ""), "/");
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
