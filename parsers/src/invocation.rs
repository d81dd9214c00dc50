//! What a command runs: wrappers that run another command (`env`, `sudo`,
//! `xargs`, `find -exec` …) and shells or interpreters that run code
//! (`bash -c`, `python -c`, a script read from standard input).
//!
//! Option syntax follows each tool's manual page (coreutils `env(1)`,
//! `nice(1)`, `timeout(1)`, `stdbuf(1)`, `nohup(1)`; util-linux `setsid(1)`,
//! `ionice(1)`, `chrt(1)`, `taskset(1)`, `flock(1)`; findutils `xargs(1)`,
//! `find(1)`; `sudo(8)`, `doas(1)`, `su(1)`, `pkexec(1)`, `watch(1)`,
//! `busybox(1)`) and bash's own builtins (bash manual 4.1, 4.2).

use crate::model::{basename, Span, Word, Wrapper};

/// What a wrapper does with the rest of its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unwrapped {
    /// Runs these words as a command.
    Command(Vec<Word>),
    /// Runs this word as a shell script (`su -c`, `flock -c`, `watch`).
    Script {
        /// How the script is run, for [`crate::model::Origin::NestedScript`].
        via: String,
        /// The script text.
        code: Word,
    },
    /// The wrapper was used without a command (e.g. `env` alone, `sudo -v`,
    /// `command -v x`). Nothing further runs.
    Nothing,
}

/// How a wrapper's options are written.
struct Spec {
    names: &'static [&'static str],
    /// Short options that take a value (`-u user`, `-uuser`).
    short_value: &'static str,
    /// Long options that take a value (`--user user`, `--user=user`).
    long_value: &'static [&'static str],
    /// Options that mean "no command follows" (e.g. `command -v`).
    no_command: &'static [&'static str],
    /// Positional words between the options and the command (`timeout DURATION`).
    positionals: usize,
    /// `NAME=value` words before the command are environment assignments (`env`).
    assignments: bool,
    /// Options like `-10` (`nice -10 cmd`) are flags.
    numeric_flags: bool,
}

const SPECS: &[Spec] = &[
    Spec {
        names: &["env"],
        short_value: "uCS",
        long_value: &["--unset", "--chdir", "--split-string", "--argv0"],
        no_command: &[],
        positionals: 0,
        assignments: true,
        numeric_flags: false,
    },
    Spec {
        names: &["command"],
        short_value: "",
        long_value: &[],
        no_command: &["-v", "-V"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["builtin", "nohup", "unbuffer"],
        short_value: "",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["exec"],
        short_value: "a",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["nice"],
        short_value: "n",
        long_value: &["--adjustment"],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: true,
    },
    Spec {
        names: &["timeout"],
        short_value: "sk",
        long_value: &["--signal", "--kill-after"],
        no_command: &[],
        positionals: 1,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["time"],
        short_value: "fo",
        long_value: &["--format", "--output"],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["stdbuf"],
        short_value: "ioe",
        long_value: &["--input", "--output", "--error"],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["setsid"],
        short_value: "",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["ionice"],
        short_value: "cnpPu",
        long_value: &["--class", "--classdata", "--pid", "--pgid", "--uid"],
        no_command: &["-p", "-P", "-u", "--pid", "--pgid", "--uid"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["chrt"],
        short_value: "TPD",
        long_value: &["--sched-runtime", "--sched-period", "--sched-deadline"],
        no_command: &["-p", "--pid", "-m", "--max"],
        positionals: 1,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["taskset"],
        short_value: "",
        long_value: &[],
        no_command: &["-p", "--pid"],
        positionals: 1,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["sudo", "sudoedit"],
        short_value: "ugCDhprtTUR",
        long_value: &[
            "--user",
            "--group",
            "--close-from",
            "--chdir",
            "--host",
            "--prompt",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
            "--chroot",
        ],
        no_command: &[
            "-v",
            "--validate",
            "-k",
            "-K",
            "--reset-timestamp",
            "--remove-timestamp",
            "-l",
            "--list",
            "-V",
            "--version",
            "-h",
            "--help",
            "-e",
            "--edit",
        ],
        positionals: 0,
        assignments: true,
        numeric_flags: false,
    },
    Spec {
        names: &["doas"],
        short_value: "uC",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["pkexec"],
        short_value: "",
        long_value: &["--user"],
        no_command: &["--version", "--help"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["chroot"],
        short_value: "",
        long_value: &["--userspec", "--groups"],
        no_command: &[],
        positionals: 1,
        assignments: false,
        numeric_flags: false,
    },
    // Tools that run a command under a tracer, namespace, limit, fake
    // environment or supervisor (their manual pages' OPTIONS). Without a
    // command, `unshare` starts a shell.
    Spec {
        names: &["unshare"],
        short_value: "SGRw",
        long_value: &[
            "--propagation",
            "--setgroups",
            "--map-user",
            "--map-group",
            "--map-users",
            "--map-groups",
            "--setuid",
            "--setgid",
            "--root",
            "--wd",
            "--monotonic",
            "--boottime",
        ],
        no_command: &["--help", "--version"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["strace", "ltrace"],
        short_value: "aeoOpPsSuEIXUbn",
        long_value: &[
            "--output",
            "--trace",
            "--signal",
            "--attach",
            "--string-limit",
            "--user",
            "--env",
            "--summary-sort-by",
            "--columns",
            "--detach-on",
            "--inject",
            "--fault",
        ],
        no_command: &["-V", "-h", "--version", "--help"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &[
            "valgrind",
            "fakeroot",
            "eatmydata",
            "chronic",
            "catchsegv",
            "dbus-run-session",
            "firejail",
            "torsocks",
            "nocache",
            "dumb-init",
        ],
        short_value: "lsi",
        long_value: &[
            "--lib",
            "--faked",
            "--config-file",
            "--dbus-daemon",
            "--rewrite",
        ],
        no_command: &["--help", "--version"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["tini"],
        short_value: "pe",
        long_value: &[],
        no_command: &["-h", "--version"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["prlimit"],
        short_value: "po",
        long_value: &["--pid", "--output"],
        no_command: &["--help", "--version"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["proxychains", "proxychains4"],
        short_value: "f",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["numactl"],
        short_value: "CNmipPl",
        long_value: &[
            "--physcpubind",
            "--cpunodebind",
            "--membind",
            "--interleave",
            "--preferred",
            "--localalloc",
        ],
        no_command: &["--hardware", "--show", "-H", "-s"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["cgexec"],
        short_value: "g",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["runcon"],
        short_value: "turl",
        long_value: &["--type", "--user", "--role", "--range"],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["xvfb-run"],
        short_value: "neflps",
        long_value: &[
            "--server-num",
            "--error-file",
            "--auth-file",
            "--xauth-protocol",
            "--server-args",
        ],
        no_command: &["--help"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["chpst"],
        short_value: "ugeU/nlLmdosfcr",
        long_value: &[],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["sshpass"],
        short_value: "pfdP",
        long_value: &[],
        no_command: &["-h", "-V"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["trickle"],
        short_value: "udwtlLn",
        long_value: &[],
        no_command: &["-h", "-V"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["nsenter"],
        short_value: "tmuinpUCTSGrwa",
        long_value: &[
            "--target", "--setuid", "--setgid", "--root", "--wd", "--wdns",
        ],
        no_command: &["--help", "--version"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["setarch", "faketime"],
        short_value: "f",
        long_value: &[],
        no_command: &["--list", "--help", "--version"],
        positionals: 1,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["linux32", "linux64", "i386", "x86_64"],
        short_value: "",
        long_value: &[],
        no_command: &["--help", "--version"],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
    Spec {
        names: &["run0"],
        short_value: "uDg",
        long_value: &[
            "--user",
            "--chdir",
            "--group",
            "--unit",
            "--property",
            "--description",
            "--slice",
            "--nice",
            "--setenv",
            "--background",
            "--machine",
        ],
        no_command: &[],
        positionals: 0,
        assignments: false,
        numeric_flags: false,
    },
];

/// Privilege-raising wrappers: what they run, runs as another user.
pub const PRIVILEGE_WRAPPERS: &[&str] = &[
    "sudo", "sudoedit", "doas", "pkexec", "su", "run0", "chroot", "nsenter",
];

fn spec_for(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.names.contains(&name))
}

/// Where a wrapper's command starts.
enum Scan {
    /// At this index of the arguments.
    At(usize),
    /// No command follows.
    Nothing,
    /// A word not known before it runs stands among the options, at this
    /// index: it may be an option that takes the next word as its value, a
    /// positional, several words or none, so where the command starts is
    /// not known.
    Unknown(usize),
}

/// Scans options of `args` (words after the wrapper name) by `spec`.
fn scan(args: &[Word], spec: &Spec) -> Scan {
    match scan_known(args, spec) {
        Err(u) => Scan::Unknown(u),
        Ok(Some(i)) => Scan::At(i),
        Ok(None) => Scan::Nothing,
    }
}

/// [`scan`]: `Ok(Some(i))` for the command at `i`, `Ok(None)` for no
/// command, `Err(u)` for an unknown word at `u` that decides where the
/// command starts.
fn scan_known(args: &[Word], spec: &Spec) -> Result<Option<usize>, usize> {
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        // `env NAME=$x cmd`: the name and `=` are literal text even when the
        // value is not known (unknown parts keep their `$…` source).
        if spec.assignments && w.dynamic && !w.glob && is_assignment(&w.text) {
            i += 1;
            continue;
        }
        let Some(t) = w.value() else {
            // An unknown word: the command itself when the wrapper takes
            // nothing else (no valued option, no positional); otherwise it
            // decides where the command starts.
            if spec.positionals == 0
                && spec.short_value.is_empty()
                && spec.long_value.is_empty()
                && !spec.assignments
            {
                break;
            }
            return Err(i);
        };
        if t == "--" {
            i += 1;
            break;
        }
        if spec.no_command.contains(&t) {
            return Ok(None);
        }
        if t.starts_with("--") && t.len() > 2 {
            let name = t.split('=').next().unwrap_or(t);
            if spec.no_command.contains(&name) {
                return Ok(None);
            }
            i += if spec.long_value.contains(&name) && !t.contains('=') {
                2
            } else {
                1
            };
            continue;
        }
        if t.starts_with('-') && t.len() > 1 {
            if spec.numeric_flags && t[1..].chars().all(|c| c.is_ascii_digit()) {
                i += 1;
                continue;
            }
            // Combined short flags: the first flag that takes a value consumes
            // the rest of the word, or the next word.
            let mut consumed = 1;
            for (k, c) in t[1..].char_indices() {
                if spec
                    .no_command
                    .iter()
                    .any(|n| n.len() == 2 && n.ends_with(c))
                {
                    return Ok(None);
                }
                if spec.short_value.contains(c) {
                    if 1 + k + c.len_utf8() == t.len() {
                        consumed = 2;
                    }
                    break;
                }
            }
            i += consumed;
            continue;
        }
        // env(1) and sudo(8) take any NAME=VALUE before the command, even
        // names bash could not assign (`BASH_FUNC_f%%=…`).
        if spec.assignments && t.find('=').is_some_and(|i| i > 0) {
            i += 1;
            continue;
        }
        break;
    }
    // `env -- NAME=VALUE cmd`: assignments still follow the options.
    while spec.assignments
        && args.get(i).is_some_and(|w| {
            !w.glob
                && (is_assignment(&w.text)
                    || (!w.dynamic && w.text.find('=').is_some_and(|k| k > 0)))
        })
    {
        i += 1;
    }
    // A positional not known before it runs is still one positional only
    // when it is a single quoted word; unquoted it may be none or several.
    if let Some(u) =
        (i..i + spec.positionals).find(|&k| args.get(k).is_some_and(|w| w.value().is_none()))
    {
        return Err(u);
    }
    let i = i + spec.positionals;
    Ok((i < args.len()).then_some(i))
}

/// True for `NAME=value` with a valid shell name.
pub fn is_assignment(t: &str) -> bool {
    match t.split_once('=') {
        Some((name, _)) => is_name(name),
        None => false,
    }
}

/// True for a valid shell variable name (bash manual, Definitions: "name").
pub fn is_name(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && it.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The texts of `words` when all are statically known (`None` otherwise):
/// positional parameters, arguments handed on.
pub fn known_texts(words: &[Word]) -> Option<Vec<String>> {
    words
        .iter()
        .map(|w| w.value().map(str::to_string))
        .collect()
}

/// True for the paths that name standard input (`/dev/stdin`, `/dev/fd/0`,
/// `/proc/self/fd/0`): a script read from one of them is the input.
pub fn is_stdin_path(p: &str) -> bool {
    matches!(p, "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
}

/// Unwraps one wrapper from `argv` when its first word names one.
///
/// `stdin_items` are the lines of standard input when known (used by
/// `xargs`). Returns `None` when the command is not a wrapper.
pub fn unwrap(argv: &[Word], stdin_items: Option<&str>) -> Option<(Wrapper, Unwrapped)> {
    let name = basename(argv.first()?.value()?);
    let args = &argv[1..];
    let wrapper = |n: usize| Wrapper {
        name: name.to_string(),
        argv: argv[..n.min(argv.len())].to_vec(),
    };
    if let Some(spec) = spec_for(name) {
        // `env -S STRING` (also `-iS STRING`, `-SSTRING`, `--split-string=STRING`)
        // splits STRING into words; treat it as a script.
        if name == "env" {
            let mut idx = 0;
            while let Some(w) = args.get(idx) {
                let Some(t) = w.value() else { break };
                if !t.starts_with('-') {
                    break;
                }
                let script = if let Some(v) = t.strip_prefix("--split-string=") {
                    Some((v.to_string(), idx + 1))
                } else if t == "--split-string" {
                    args.get(idx + 1).map(|n| (n.text.clone(), idx + 2))
                } else if !t.starts_with("--") {
                    match t[1..].find('S') {
                        Some(k) if k + 2 < t.len() => Some((t[k + 2..].to_string(), idx + 1)),
                        Some(_) => args.get(idx + 1).map(|n| (n.text.clone(), idx + 2)),
                        None => None,
                    }
                } else {
                    None
                };
                if let Some((text, used)) = script {
                    let mut code = w.clone();
                    // env's own escapes: `\_` separates words outside quotes.
                    code.text = text.replace("\\_", " ");
                    // The rest of the words are appended to the split string.
                    let rest: Vec<&str> = args[used.min(args.len())..]
                        .iter()
                        .map(|x| x.text.as_str())
                        .collect();
                    if !rest.is_empty() {
                        code.text = format!("{} {}", code.text, rest.join(" "));
                    }
                    code.dynamic |= args[used.min(args.len())..].iter().any(|x| x.dynamic);
                    return Some((
                        wrapper(argv.len()),
                        Unwrapped::Script {
                            via: "env -S".into(),
                            code,
                        },
                    ));
                }
                // Options that take a value: skip it too.
                idx += if t == "-u" || t == "-C" || t == "--unset" || t == "--chdir" {
                    2
                } else {
                    1
                };
            }
        }
        let found = match scan(args, spec) {
            Scan::At(i) => Some(i),
            Scan::Nothing => None,
            // The unknown word is taken as the command name: a command
            // whose name is not known is never allowed, and the wrapper
            // (`sudo`) is still judged.
            Scan::Unknown(u) => Some(u),
        };
        if found.is_none()
            && name == "sudo"
            && args
                .iter()
                .any(|w| matches!(w.value(), Some("-i" | "-s" | "--login" | "--shell")))
        {
            // `sudo -i` / `sudo -s` with no command: an interactive root shell.
            return Some((
                wrapper(argv.len()),
                Unwrapped::Command(vec![Word::literal("sh", argv[0].span)]),
            ));
        }
        return Some(match found {
            Some(i) => (wrapper(i + 1), Unwrapped::Command(args[i..].to_vec())),
            None => (wrapper(argv.len()), Unwrapped::Nothing),
        });
    }
    match name {
        "busybox" | "toybox" => {
            let first = args.first()?;
            if first.value().is_some_and(|t| t.starts_with('-')) {
                return None;
            }
            Some((wrapper(1), Unwrapped::Command(args.to_vec())))
        }
        "su" => Some(unwrap_su(argv, wrapper(argv.len()))),
        "flock" => unwrap_flock(argv),
        "watch" => unwrap_watch(argv),
        "xargs" => Some(unwrap_xargs(argv, stdin_items)),
        "sem" => unwrap_parallel(argv, stdin_items),
        // util-linux script(1), not a program called `./script`.
        "script" if argv[0].text == "script" || argv[0].text.ends_with("/bin/script") => {
            unwrap_script(argv)
        }
        "hyperfine" => unwrap_hyperfine(argv),
        "perf" | "poetry" | "pipenv" | "uv" | "bundle" | "direnv" | "mise" | "rtx" | "pdm"
        | "hatch" | "rye" | "pixi" | "conda" | "micromamba" | "nix-shell" => {
            unwrap_subcommand_runner(argv)
        }
        "parallel" => unwrap_parallel(argv, stdin_items),
        "find" => unwrap_find(argv),
        "npx" | "npm" => unwrap_npm_call(argv),
        _ => None,
    }
}

/// `npx -c CMD`, `npx --call CMD`, `npm exec -c CMD`, `npm x --call=CMD`
/// (npm-exec(1), "--call, -c"): CMD runs in a shell. Other npx and npm
/// invocations are not wrappers.
fn unwrap_npm_call(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    let mut i = 1;
    if basename(argv[0].value()?) == "npm" {
        if !matches!(argv.get(1)?.value()?, "exec" | "x") {
            return None;
        }
        i = 2;
    }
    while i < argv.len() {
        let t = argv[i].value()?;
        let code = if t == "-c" || t == "--call" {
            Some(argv.get(i + 1)?.clone())
        } else {
            t.strip_prefix("--call=").map(|v| {
                let mut w = argv[i].clone();
                w.text = v.to_string();
                w
            })
        };
        if let Some(code) = code {
            let wrapper = Wrapper {
                name: basename(argv[0].value()?).to_string(),
                argv: argv[..i].to_vec(),
            };
            return Some((
                wrapper,
                Unwrapped::Script {
                    via: "npm exec --call".into(),
                    code,
                },
            ));
        }
        if t == "--" || !t.starts_with('-') {
            return None;
        }
        i += 1;
    }
    None
}

/// `script [options] [FILE]` (util-linux script(1)): `-c CMD` runs CMD
/// with `$SHELL -c`; without it, an interactive shell reading standard input.
fn unwrap_script(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    let wrapper = Wrapper {
        name: "script".into(),
        argv: argv.to_vec(),
    };
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].value()?;
        // `-c CMD`, also in a cluster (`-qc CMD`, `-qcCMD`).
        let short_c = (t.starts_with('-') && !t.starts_with("--"))
            .then(|| t[1..].find('c'))
            .flatten()
            .filter(|k| t[1..1 + k].chars().all(|c| "aeqfkQ".contains(c)));
        let attached = |text: &str| {
            let mut w = argv[i].clone();
            w.text = text.to_string();
            w
        };
        let code = match (short_c, t.strip_prefix("--command=")) {
            (Some(k), _) if t.len() > 2 + k => Some(attached(&t[2 + k..])),
            (Some(_), _) => Some(argv.get(i + 1)?.clone()),
            (None, Some(c)) => Some(attached(c)),
            (None, None) if t == "--command" => Some(argv.get(i + 1)?.clone()),
            _ => None,
        };
        if let Some(code) = code {
            return Some((
                wrapper,
                Unwrapped::Script {
                    via: "script -c".into(),
                    code,
                },
            ));
        }
        i += 1;
    }
    Some((
        wrapper,
        Unwrapped::Command(vec![Word::literal("sh", argv[0].span)]),
    ))
}

/// `hyperfine [options] CMD…` runs each command string with a shell.
fn unwrap_hyperfine(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    const VALUE: &[&str] = &[
        "-w",
        "-r",
        "-m",
        "-M",
        "-s",
        "-p",
        "-c",
        "-P",
        "-L",
        "-S",
        "-u",
        "-n",
        "--warmup",
        "--runs",
        "--min-runs",
        "--max-runs",
        "--setup",
        "--prepare",
        "--conclude",
        "--cleanup",
        "--parameter-scan",
        "--parameter-step-size",
        "--parameter-list",
        "--shell",
        "--time-unit",
        "--export-asciidoc",
        "--export-csv",
        "--export-json",
        "--export-markdown",
        "--export-orgmode",
        "--output",
        "--command-name",
        "--input",
        "--reference",
        "--style",
        "--sort",
    ];
    const CODE: &[&str] = &[
        "-s",
        "-p",
        "-c",
        "--setup",
        "--prepare",
        "--conclude",
        "--cleanup",
        "--reference",
    ];
    let mut scripts = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].text.as_str();
        if t.starts_with('-') {
            if CODE.contains(&t) {
                scripts.extend(argv.get(i + 1).cloned());
            }
            i += if VALUE.contains(&t) { 2 } else { 1 };
            continue;
        }
        scripts.push(argv[i].clone());
        i += 1;
    }
    if scripts.is_empty() {
        return None;
    }
    let mut code = join_words(&scripts);
    code.text = scripts
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Some((
        Wrapper {
            name: "hyperfine".into(),
            argv: argv.to_vec(),
        },
        Unwrapped::Script {
            via: "hyperfine".into(),
            code,
        },
    ))
}

/// Runners whose subcommand runs a command: `perf stat|record|trace CMD`,
/// `poetry run`, `pipenv run`, `uv run`, `pdm run`, `hatch run`, `rye run`,
/// `pixi run`, `conda run`, `micromamba run`, `bundle exec`, `direnv exec
/// DIR`, `mise exec … --`, `nix-shell --run CMD`. Options between the
/// subcommand and the command are skipped when they are flags; one whose
/// value may be the next word makes the command unknown.
fn unwrap_subcommand_runner(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    let name = basename(argv.first()?.value()?);
    let wrapper = |n: usize| Wrapper {
        name: name.to_string(),
        argv: argv[..n.min(argv.len())].to_vec(),
    };
    if name == "nix-shell" {
        let at = argv
            .iter()
            .position(|w| matches!(w.value(), Some("--run" | "--command")))?;
        let code = argv.get(at + 1)?.clone();
        return Some((
            wrapper(argv.len()),
            Unwrapped::Script {
                via: "nix-shell --run".into(),
                code,
            },
        ));
    }
    let sub = argv.get(1)?.value()?;
    let runs = match name {
        "perf" => matches!(sub, "stat" | "record" | "trace" | "sched" | "mem" | "c2c"),
        "bundle" | "direnv" | "mise" | "rtx" => sub == "exec" || sub == "x",
        _ => sub == "run",
    };
    if !runs {
        return None;
    }
    let mut i = 2;
    if name == "direnv" {
        i += 1; // the directory
    }
    // Options of each runner's `run`/`exec` (their `--help`): flags, and
    // options that take the next word.
    let (flags, values): (&[&str], &[&str]) = match name {
        "uv" => (
            &[
                "--isolated",
                "--no-sync",
                "--frozen",
                "--locked",
                "--no-project",
                "--all-packages",
                "--no-dev",
                "--active",
                "--exact",
                "-q",
                "-v",
                "--quiet",
                "--verbose",
                "--offline",
                "--no-cache",
            ],
            &[
                "--with",
                "-w",
                "--with-requirements",
                "--with-editable",
                "--python",
                "-p",
                "--package",
                "--env-file",
                "--directory",
                "--project",
                "--group",
                "--extra",
                "--index",
                "--default-index",
            ],
        ),
        "conda" | "micromamba" => (
            &["--no-capture-output", "--live-stream", "-v", "--verbose"],
            &["-n", "--name", "-p", "--prefix", "--cwd"],
        ),
        "poetry" | "pipenv" | "pdm" | "hatch" | "rye" | "pixi" => (
            &["-q", "--quiet", "-v", "--verbose", "--no-interaction", "-n"],
            &[
                "--directory",
                "-C",
                "--project",
                "-e",
                "--env",
                "--manifest-path",
                "--environment",
            ],
        ),
        _ => (&[], &[]),
    };
    if let Some(dd) = argv[i.min(argv.len())..]
        .iter()
        .position(|w| w.value() == Some("--"))
    {
        let start = i + dd + 1;
        return Some((
            wrapper(start),
            Unwrapped::Command(argv.get(start..)?.to_vec()),
        ));
    }
    while let Some(t) = argv.get(i).and_then(|w| w.value()) {
        if !t.starts_with('-') {
            break;
        }
        if flags.contains(&t) || t.contains('=') && t.starts_with("--") {
            i += 1;
            continue;
        }
        if values.contains(&t) {
            i += 2;
            continue;
        }
        if name == "uv" && t == "-m" {
            // `uv run -m MODULE`: python runs the module.
            let mut words = vec![Word::literal("python", argv[i].span)];
            words.extend(argv[i..].iter().cloned());
            return Some((wrapper(i), Unwrapped::Command(words)));
        }
        if !t.contains('=') && t.starts_with("--") || t.len() == 2 {
            // A value-taking option would hide the command: not known.
            let mut code = join_words(&argv[i..]);
            code.dynamic = true;
            return Some((
                wrapper(i),
                Unwrapped::Script {
                    via: format!("{name} {sub}"),
                    code,
                },
            ));
        }
        i += 1;
    }
    if i >= argv.len() {
        return Some((wrapper(argv.len()), Unwrapped::Nothing));
    }
    Some((wrapper(i), Unwrapped::Command(argv[i..].to_vec())))
}

/// `su [options] [-] [user [args]]`: `-c CMD` runs CMD with the user's shell;
/// without `-c` it starts that shell.
fn unwrap_su(argv: &[Word], wrapper: Wrapper) -> (Wrapper, Unwrapped) {
    let mut i = 1;
    while i < argv.len() {
        let Some(t) = argv[i].value() else { break };
        if t == "-c" || t == "--command" {
            if let Some(code) = argv.get(i + 1) {
                return (
                    wrapper,
                    Unwrapped::Script {
                        via: "su -c".into(),
                        code: code.clone(),
                    },
                );
            }
        } else if let Some(c) = t.strip_prefix("--command=") {
            let mut w = argv[i].clone();
            w.text = c.to_string();
            return (
                wrapper,
                Unwrapped::Script {
                    via: "su -c".into(),
                    code: w,
                },
            );
        }
        i += 1;
    }
    (
        wrapper,
        Unwrapped::Command(vec![Word::literal("sh", argv[0].span)]),
    )
}

/// `flock [options] FILE|FD [-c CMD | CMD args…]`.
fn unwrap_flock(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].value()?;
        if t.starts_with('-') {
            i += if matches!(t, "-w" | "--timeout" | "-E" | "--conflict-exit-code") {
                2
            } else {
                1
            };
            continue;
        }
        break;
    }
    // The lock file or descriptor.
    i += 1;
    let w = Wrapper {
        name: "flock".into(),
        argv: argv[..i.min(argv.len())].to_vec(),
    };
    match argv.get(i).and_then(|w| w.value()) {
        Some("-c") | Some("--command") => {
            let code = argv.get(i + 1)?.clone();
            Some((
                w,
                Unwrapped::Script {
                    via: "flock -c".into(),
                    code,
                },
            ))
        }
        Some(_) => Some((w, Unwrapped::Command(argv[i..].to_vec()))),
        None if i < argv.len() => Some((w, Unwrapped::Command(argv[i..].to_vec()))),
        None => Some((w, Unwrapped::Nothing)),
    }
}

/// `watch [options] COMMAND…`: the words are joined and run by `sh -c`
/// (unless `-x`, which execs them directly).
fn unwrap_watch(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    let mut i = 1;
    let mut exec = false;
    while i < argv.len() {
        let t = argv[i].value()?;
        if !t.starts_with('-') {
            break;
        }
        if t == "-x" || t == "--exec" {
            exec = true;
        }
        i += if matches!(t, "-n" | "--interval" | "-d" | "-q" | "--equexit") {
            2
        } else {
            1
        };
    }
    let w = Wrapper {
        name: "watch".into(),
        argv: argv[..i.min(argv.len())].to_vec(),
    };
    let rest = argv.get(i..)?;
    if rest.is_empty() {
        return Some((w, Unwrapped::Nothing));
    }
    if exec {
        return Some((w, Unwrapped::Command(rest.to_vec())));
    }
    Some((
        w,
        Unwrapped::Script {
            via: "watch".into(),
            code: join_words(rest),
        },
    ))
}

/// Joins words with spaces into one word (as `eval` and `watch` do).
pub fn join_words(words: &[Word]) -> Word {
    let mut out = words[0].clone();
    for w in &words[1..] {
        out.text.push(' ');
        out.text.push_str(&w.text);
        out.dynamic |= w.dynamic;
        out.glob |= w.glob;
        out.substitutions.extend(w.substitutions.iter().copied());
        out.span = out.span.cover(w.span);
    }
    out
}

/// `xargs [options] [command [initial-arguments]]`: runs the command with
/// items read from standard input appended (or substituted for `-I` text).
fn unwrap_xargs(argv: &[Word], stdin_items: Option<&str>) -> (Wrapper, Unwrapped) {
    let mut i = 1;
    let mut replace: Option<String> = None;
    let mut null_sep = false;
    let mut delim: Option<char> = None;
    while i < argv.len() {
        let Some(t) = argv[i].value() else { break };
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        match t {
            "-I" => {
                replace = argv.get(i + 1).and_then(|w| w.value()).map(str::to_string);
                i += 2;
            }
            "-i" => {
                replace = Some("{}".into());
                i += 1;
            }
            "-0" | "--null" => {
                null_sep = true;
                i += 1;
            }
            "-d" => {
                delim = argv
                    .get(i + 1)
                    .and_then(|w| w.value())
                    .and_then(|d| crate::ansi_c::decode(d).chars().next());
                i += 2;
            }
            // `-e[EOF]`, `-l[N]`: an optional value, attached only.
            "-e" | "-l" => i += 1,
            "-a" | "-E" | "-L" | "-n" | "-P" | "-s" | "--arg-file" | "--max-args"
            | "--max-procs" | "--max-chars" | "--max-lines" | "--eof" => {
                i += 2;
            }
            _ if t.starts_with("-I") => {
                replace = Some(t[2..].to_string());
                i += 1;
            }
            _ if t.starts_with("--replace") => {
                replace = Some(t.split_once('=').map(|x| x.1).unwrap_or("{}").to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    let wrapper = Wrapper {
        name: "xargs".into(),
        argv: argv[..i.min(argv.len())].to_vec(),
    };
    let span = argv[0].span;
    let mut cmd: Vec<Word> = argv.get(i..).map(|s| s.to_vec()).unwrap_or_default();
    if cmd.is_empty() {
        cmd.push(Word::literal("echo", span));
    }
    let items: Option<Vec<String>> = stdin_items.map(|data| {
        if null_sep {
            data.split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else if let Some(d) = delim {
            data.split(d)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else if replace.is_some() {
            // -I: one item per line; quotes and backslashes are still
            // removed, blanks kept (findutils xargs(1)).
            data.lines()
                .map(|l| shell_like_split_line(l.trim_start()))
                .filter(|s| !s.is_empty())
                .collect()
        } else {
            // Default: blank-separated, with quotes honoured (findutils xargs).
            shell_like_split(data)
        }
    });
    let unknown = || {
        let mut w = Word::literal("{stdin items}", span);
        w.dynamic = true;
        w
    };
    match replace {
        Some(r)
            if !r.is_empty()
                && cmd.iter().all(Word::is_static)
                && items
                    .as_ref()
                    .is_some_and(|i| i.len() > 1 && i.len() <= MAX_PARALLEL_JOBS) =>
        {
            // Several known items: one command per item, written as a
            // script of exactly quoted words (xargs itself uses no shell).
            let mut script = String::new();
            for item in items.iter().flatten() {
                let line: Vec<String> = cmd
                    .iter()
                    .map(|w| shell_words::quote(&w.text.replace(&r, item)).into_owned())
                    .collect();
                script.push_str(&line.join(" "));
                script.push('\n');
            }
            let mut code = join_words(&cmd);
            code.text = script;
            return (
                wrapper,
                Unwrapped::Script {
                    via: "xargs -I".into(),
                    code,
                },
            );
        }
        Some(r) if !r.is_empty() => {
            // Each item runs the command once with `r` replaced.
            let item = match items.as_deref() {
                Some([only]) => Word::literal(only.clone(), span),
                _ => unknown(),
            };
            for w in cmd.iter_mut().skip(1) {
                if w.text.contains(&r) {
                    w.text = w.text.replace(&r, &item.text);
                    w.dynamic |= item.dynamic;
                }
            }
        }
        _ => match items {
            Some(items) => cmd.extend(items.into_iter().map(|s| Word::literal(s, span))),
            None => cmd.push(unknown()),
        },
    }
    (wrapper, Unwrapped::Command(cmd))
}

/// Most argument combinations of a `parallel` command written out as
/// separate script lines; past it the script is treated as unknown.
const MAX_PARALLEL_JOBS: usize = 64;

/// GNU `parallel [options] COMMAND [::: ARGS…]…` (parallel(1)): the command
/// words are joined and, for each argument (or combination of arguments
/// from several `:::` groups), run by a shell with `{}`/`{N}` replaced by
/// the shell-quoted argument, or the arguments appended. Without `:::`,
/// arguments are lines of standard input. The result is one script with a
/// line per job; unknown arguments make it a dynamic script.
fn unwrap_parallel(argv: &[Word], stdin_items: Option<&str>) -> Option<(Wrapper, Unwrapped)> {
    // Options that take a value (parallel(1) OPTIONS).
    const VALUE_OPTS: &[&str] = &[
        "-j",
        "-P",
        "-S",
        "-a",
        "-d",
        "-E",
        "-I",
        "-n",
        "-N",
        "-L",
        "-l",
        "-s",
        "-C",
        "-J",
        "-W",
        "--jobs",
        "--max-procs",
        "--sshlogin",
        "--arg-file",
        "--arg-file-sep",
        "--arg-sep",
        "--delimiter",
        "--max-args",
        "--max-replace-args",
        "--max-lines",
        "--max-chars",
        "--results",
        "--res",
        "--joblog",
        "--tmpdir",
        "--workdir",
        "--wd",
        "--timeout",
        "--memfree",
        "--memsuspend",
        "--load",
        "--retries",
        "--delay",
        "--colsep",
        "--halt",
        "--halt-on-error",
        "--tag-string",
        "--tagstring",
        "--basefile",
        "--bf",
        "--env",
        "--sshloginfile",
        "--slf",
        "--termseq",
        "--nice",
        "--block",
        "--block-size",
        "--sshdelay",
        "--header",
        "--rpl",
        "--eof",
        "--compress-program",
        "--decompress-program",
        "--transferfile",
        "--tf",
        "--return",
        "--profile",
        "--ssh",
        "--id",
        "--semaphorename",
        "--semaphoretimeout",
        "--shard",
        "--group-by",
        "--limit",
        "--recstart",
        "--recend",
        "--sql",
        "--sqlmaster",
        "--sqlworker",
        "--trc",
        "--cleanup",
        "--ctag",
        "--ctagstring",
    ];
    // Options without a value that leave the command line as it is.
    const FLAGS: &[&str] = &[
        "-k",
        "-q",
        "-u",
        "-v",
        "-X",
        "-m",
        "-0",
        "-t",
        "-r",
        "-g",
        "--keep-order",
        "--quote",
        "--ungroup",
        "--verbose",
        "--xargs",
        "--null",
        "--dry-run",
        "--progress",
        "--eta",
        "--bar",
        "--line-buffer",
        "--linebuffer",
        "--lb",
        "--tag",
        "--no-notice",
        "--will-cite",
        "--silent",
        "--group",
        "--no-run-if-empty",
        "--fg",
        "--bg",
        "--shellquote",
        "--citation",
        "--joblog-append",
        "--resume",
        "--resume-failed",
        "--retry-failed",
        "--noswap",
        "--trim",
        "--csv",
        "--tmux",
        "--tmuxpane",
        "--onall",
        "--nonall",
        "--plain",
        "--record-env",
        "--sem",
        "--semaphore",
        "--total-jobs",
    ];
    let is_sep = |t: &str| matches!(t, ":::" | ":::+" | "::::" | "::::+");
    let mut i = 1;
    let mut replace = "{}".to_string();
    let mut delim: Option<char> = None;
    // Options that change how arguments or input reach the command in ways
    // not modelled: columns, user-defined and `--plus` replacement strings,
    // input split into blocks (`--pipe`), options shellgate does not know.
    let mut opaque = false;
    while i < argv.len() {
        let t = argv[i].value()?;
        if is_sep(t) || !t.starts_with('-') || t == "-" {
            break;
        }
        if t == "--" {
            i += 1;
            break;
        }
        let (name, inline) = match t.split_once('=') {
            Some((n, v)) if t.starts_with("--") => (n, Some(v.to_string())),
            _ if !t.starts_with("--")
                && t.get(..2)
                    .is_some_and(|o| t.len() > 2 && VALUE_OPTS.contains(&o)) =>
            {
                (&t[..2], Some(t[2..].to_string()))
            }
            _ => (t, None),
        };
        let value = || {
            inline
                .clone()
                .or_else(|| argv.get(i + 1).and_then(|w| w.value()).map(str::to_string))
        };
        match name {
            "-I" => replace = value()?,
            "-0" | "--null" => delim = Some('\0'),
            "-d" | "--delimiter" => {
                delim = value().map(|d| crate::ansi_c::decode(&d).chars().next().unwrap_or('\n'))
            }
            "-C" | "--colsep" | "--rpl" | "--plus" | "--pipe" | "--pipepart" | "--spreadstdin"
            | "--roundrobin" | "--round-robin" | "--shebang" | "--shebang-wrap" | "--fifo"
            | "--cat" => opaque = true,
            _ => {}
        }
        if matches!(name, "-a" | "--arg-file") {
            // Arguments from a file: not known.
            let wrapper = Wrapper {
                name: "parallel".into(),
                argv: argv.to_vec(),
            };
            return parallel_script(wrapper, dynamic_join(&argv[i..]));
        }
        if !VALUE_OPTS.contains(&name) && !FLAGS.contains(&name) && !opaque {
            // An option not known: it may take the next word as its value.
            opaque = true;
        }
        i += if VALUE_OPTS.contains(&name) && inline.is_none() {
            2
        } else {
            1
        };
    }
    let wrapper = Wrapper {
        name: "parallel".into(),
        argv: argv[..i.min(argv.len())].to_vec(),
    };
    let rest = argv.get(i..).unwrap_or(&[]);
    let cmd_end = rest
        .iter()
        .position(|w| w.value().is_some_and(is_sep))
        .unwrap_or(rest.len());
    let cmd = &rest[..cmd_end];
    // Argument groups.
    let mut groups: Vec<Option<Vec<String>>> = Vec::new();
    let mut j = cmd_end;
    while j < rest.len() {
        let sep = rest[j].value().unwrap_or(":::");
        let end = rest[j + 1..]
            .iter()
            .position(|w| w.value().is_some_and(is_sep))
            .map_or(rest.len(), |p| j + 1 + p);
        let words = &rest[j + 1..end];
        groups.push(if sep.starts_with("::::") {
            None // argument files
        } else {
            known_texts(words)
        });
        j = end;
    }
    if groups.is_empty() {
        groups.push(stdin_items.map(|d| {
            match delim {
                Some(c) => d
                    .split(c)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => d
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        }));
    }
    if opaque
        || cmd.is_empty()
        || cmd.iter().any(|w| !w.is_static() || w.text.contains("{="))
        || groups.iter().any(Option::is_none)
    {
        return parallel_script(
            wrapper,
            dynamic_join(if cmd.is_empty() { rest } else { cmd }),
        );
    }
    let groups: Vec<Vec<String>> = groups.into_iter().flatten().collect();
    // Combinations of one argument from each group.
    let mut jobs: Vec<Vec<String>> = vec![Vec::new()];
    for g in &groups {
        let mut next = Vec::new();
        for job in &jobs {
            for a in g {
                let mut j = job.clone();
                j.push(a.clone());
                next.push(j);
            }
        }
        jobs = next;
        if jobs.len() > MAX_PARALLEL_JOBS {
            return parallel_script(wrapper, dynamic_join(cmd));
        }
    }
    let template: Vec<&str> = cmd.iter().map(|w| w.text.as_str()).collect();
    let template = template.join(" ");
    let mut script = String::new();
    for (n, job) in jobs.iter().enumerate() {
        let (mut line, replaced) = parallel_replace(&template, &replace, job, n + 1);
        if !replaced {
            let quoted: Vec<String> = job
                .iter()
                .map(|a| shell_words::quote(a).into_owned())
                .collect();
            line = format!("{line} {}", quoted.join(" "));
        }
        script.push_str(&line);
        script.push('\n');
    }
    let mut code = join_words(cmd);
    code.text = script;
    parallel_script(wrapper, code)
}

/// What `parallel` unwraps to: a script run by a shell.
fn parallel_script(wrapper: Wrapper, code: Word) -> Option<(Wrapper, Unwrapped)> {
    Some((
        wrapper,
        Unwrapped::Script {
            via: "parallel".into(),
            code,
        },
    ))
}

/// Replaces GNU parallel's replacement strings in `template` for one job
/// (parallel(1) "Replacement strings"): `{}` (or the `-I` string), `{.}`
/// (no extension), `{/}` (basename), `{//}` (dirname), `{/.}`, `{#}` (job
/// number), `{%}` (slot), and `{N}` with the same modifiers for the N-th
/// argument group. Values are shell-quoted. Returns the line and whether
/// any replacement string occurred.
fn parallel_replace(
    template: &str,
    replace: &str,
    job: &[String],
    number: usize,
) -> (String, bool) {
    let whole = job.join(" ");
    let modify = |v: &str, m: &str| -> Option<String> {
        let base = v.rsplit('/').next().unwrap_or(v);
        let no_ext = |p: &str| -> String {
            let last = p.rsplit('/').next().unwrap_or(p);
            match last.rfind('.') {
                Some(d) if d > 0 => p[..p.len() - last.len() + d].to_string(),
                _ => p.to_string(),
            }
        };
        Some(match m {
            "" => v.to_string(),
            "." => no_ext(v),
            "/" => base.to_string(),
            "//" => match v.rfind('/') {
                Some(0) => "/".to_string(),
                Some(k) => v[..k].to_string(),
                None => ".".to_string(),
            },
            "/." => no_ext(base),
            _ => return None,
        })
    };
    let mut out = String::new();
    let mut replaced = false;
    let mut rest = template;
    while !rest.is_empty() {
        if !replace.is_empty() && replace != "{}" && rest.starts_with(replace) {
            out.push_str(&shell_words::quote(&whole));
            rest = &rest[replace.len()..];
            replaced = true;
            continue;
        }
        if rest.starts_with('{') {
            if let Some(end) = rest.find('}') {
                let inner = &rest[1..end];
                let digits = inner.chars().take_while(char::is_ascii_digit).count();
                let (group, m) = inner.split_at(digits);
                let value = match (group, m) {
                    ("", "#") => Some(number.to_string()),
                    ("", "%") => Some("1".to_string()),
                    ("", m) => modify(&whole, m),
                    (g, m) => g
                        .parse::<usize>()
                        .ok()
                        .and_then(|g| job.get(g.checked_sub(1)?))
                        .and_then(|v| modify(v, m)),
                };
                if let Some(v) = value {
                    out.push_str(&shell_words::quote(&v));
                    rest = &rest[end + 1..];
                    replaced = true;
                    continue;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, replaced)
}

/// [`join_words`] for possibly empty word lists, marked dynamic.
fn dynamic_join(words: &[Word]) -> Word {
    if words.is_empty() {
        let mut w = Word::literal("", Span::default());
        w.dynamic = true;
        return w;
    }
    let mut w = join_words(words);
    w.dynamic = true;
    w
}

/// Quote removal on one xargs input line, keeping blanks.
fn shell_like_split_line(line: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None => match c {
                '\'' | '"' => quote = Some(c),
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            },
        }
    }
    out
}

fn shell_like_split(data: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut quote: Option<char> = None;
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    has = true;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                        has = true;
                    }
                }
                c if c.is_whitespace() => {
                    if has {
                        out.push(std::mem::take(&mut cur));
                        has = false;
                    }
                }
                c => {
                    cur.push(c);
                    has = true;
                }
            },
        }
    }
    if has {
        out.push(cur);
    }
    out
}

/// `find PATH… EXPR -exec CMD {} ;` (also `-execdir`, `-ok`, `-okdir`, `+`).
/// The command runs on paths found under the starting points, so `{}` is
/// replaced by a word `START/…` marked as a pattern.
fn unwrap_find(argv: &[Word]) -> Option<(Wrapper, Unwrapped)> {
    let terminator = |w: &Word| w.value().is_some_and(|t| t == ";" || t == "+");
    let exec_at = argv
        .iter()
        .position(|w| {
            w.value()
                .is_some_and(|t| matches!(t, "-exec" | "-execdir" | "-ok" | "-okdir"))
        })
        .or_else(|| {
            // A word not known before it runs, later followed by `;` or
            // `+`, may be `-exec`: the words after it are judged as the
            // command it would run (`find ${!x} rm {} \;`).
            argv.iter()
                .enumerate()
                .skip(1)
                .position(|(k, w)| w.value().is_none() && argv[k + 1..].iter().any(terminator))
                .map(|p| p + 1)
        })?;
    let starts = find_starting_points(argv);
    let end = argv[exec_at + 1..]
        .iter()
        .position(|w| w.value().is_some_and(|t| t == ";" || t == "+"))
        .map(|p| exec_at + 1 + p)
        .unwrap_or(argv.len());
    let words = &argv[exec_at + 1..end];
    if words.is_empty() {
        return None;
    }
    // A word holding `{}` stands for paths under every starting point
    // (`find a /var -exec rm {} \;` removes under both), so it becomes one
    // word per starting point: the command is judged on all of them.
    let mut cmd: Vec<Word> = vec![words[0].clone()];
    for w in &words[1..] {
        if !w.text.contains("{}") {
            cmd.push(w.clone());
            continue;
        }
        for start in &starts {
            let base = start.text.trim_end_matches('/');
            let mut each = w.clone();
            each.text = w.text.replace("{}", &format!("{base}/*"));
            each.glob = true;
            each.dynamic |= start.dynamic;
            cmd.push(each);
        }
    }
    let wrapper = Wrapper {
        name: "find".into(),
        argv: argv[..exec_at + 1].to_vec(),
    };
    Some((wrapper, Unwrapped::Command(cmd)))
}

/// The starting points of a `find` command line: the words before the first
/// expression word (one starting with `-`, or `(`, `!`, `,`), after the
/// global options `-H`, `-L`, `-P`, `-D debugopts`, `-Olevel`.
pub fn find_starting_points(argv: &[Word]) -> Vec<Word> {
    let mut i = 1;
    while let Some(t) = argv.get(i).and_then(|w| w.value()) {
        match t {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            _ if t.starts_with("-O") => i += 1,
            _ => break,
        }
    }
    if argv.get(i).and_then(|w| w.value()) == Some("--") {
        i += 1;
    }
    let mut out = Vec::new();
    for w in argv.iter().skip(i) {
        match w.value() {
            Some(t) if t.starts_with('-') || t == "(" || t == "!" || t == "," => break,
            _ => out.push(w.clone()),
        }
    }
    if out.is_empty() {
        out.push(Word::literal(
            ".",
            argv.first().map(|w| w.span).unwrap_or_default(),
        ));
    }
    out
}

/// Reserved words (bash manual 3.1.2.1 / 4): never command names.
pub fn is_reserved_word(w: &str) -> bool {
    matches!(
        w,
        "if" | "then"
            | "elif"
            | "else"
            | "fi"
            | "do"
            | "done"
            | "case"
            | "esac"
            | "while"
            | "until"
            | "for"
            | "in"
            | "select"
            | "function"
            | "[["
            | "]]"
            | "{"
            | "}"
            | "!"
            | "coproc"
    )
}

/// Interpreters that run a script file given as their first operand.
pub fn is_interpreter(program: &str) -> bool {
    [
        "python", "perl", "ruby", "node", "nodejs", "php", "lua", "Rscript", "tclsh", "bun", "deno",
    ]
    .iter()
    .any(|n| {
        program == *n
            || (program.starts_with(n)
                && program[n.len()..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.'))
    })
}

/// True when a `#!` line names a POSIX-like shell.
pub fn shebang_is_shell(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("#!") else {
        return false;
    };
    let mut words = rest.split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    let prog = if basename(first) == "env" {
        words.find(|w| !w.starts_with('-')).unwrap_or("")
    } else {
        basename(first)
    };
    is_shell(prog)
}

/// Environment variables whose value is a command that programs run
/// (git(1) ENVIRONMENT VARIABLES, bash's `PROMPT_COMMAND`, editors and
/// pagers, askpass helpers). Their values are analysed as scripts.
pub fn is_command_env(name: &str) -> bool {
    matches!(
        name,
        "GIT_SSH"
            | "GIT_SSH_COMMAND"
            | "GIT_EXTERNAL_DIFF"
            | "GIT_EDITOR"
            | "GIT_SEQUENCE_EDITOR"
            | "GIT_PAGER"
            | "GIT_ASKPASS"
            | "GIT_PROXY_COMMAND"
            | "EDITOR"
            | "VISUAL"
            | "PAGER"
            | "MANPAGER"
            | "LESSOPEN"
            | "LESSCLOSE"
            | "PROMPT_COMMAND"
            | "SSH_ASKPASS"
            | "SUDO_ASKPASS"
    )
}

/// Environment variables that make programs load code from a path or
/// options shellgate does not follow: bash's `BASH_ENV`/`ENV`, exported
/// functions (`BASH_FUNC_name%%`), the dynamic loader's `LD_PRELOAD` and
/// `LD_AUDIT`, git configuration injection, language start-up options.
pub fn is_exec_env(name: &str) -> bool {
    name.starts_with("BASH_FUNC_")
        || name.starts_with("GIT_CONFIG")
        || matches!(
            name,
            "LD_PRELOAD"
                | "LD_AUDIT"
                | "GIT_EXEC_PATH"
                | "GIT_TEMPLATE_DIR"
                | "BASH_ENV"
                | "ENV"
                | "SHELLOPTS"
                | "BASHOPTS"
                | "PERL5OPT"
                | "RUBYOPT"
                | "NODE_OPTIONS"
                | "PYTHONSTARTUP"
        )
}

/// The directory a wrapper makes its command run in (`env -C DIR`,
/// `env --chdir=DIR`, `sudo -D DIR`).
pub fn wrapper_chdir(w: &Wrapper) -> Option<Word> {
    if w.name != "env" && w.name != "sudo" {
        return None;
    }
    let mut it = w.argv.iter().skip(1);
    while let Some(a) = it.next() {
        let t = a.text.as_str();
        if t == "-C" || t == "--chdir" || (w.name == "sudo" && t == "-D") {
            return it.next().cloned();
        }
        if let Some(d) = t.strip_prefix("--chdir=") {
            let mut x = a.clone();
            x.text = d.to_string();
            return Some(x);
        }
        if t.starts_with("-C") && t.len() > 2 && w.name == "env" {
            let mut x = a.clone();
            x.text = t[2..].to_string();
            return Some(x);
        }
    }
    None
}

/// How a shell was asked to run code (bash manual 6.1, "Invoking Bash").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellCode {
    /// `-c STRING [NAME [ARGS…]]`: the string is the script; `NAME` becomes
    /// `$0` and `ARGS` the positional parameters.
    String {
        /// The script.
        code: Word,
        /// The words after it (`$0`, `$1` …).
        args: Vec<Word>,
    },
    /// A script file argument.
    File(Word),
    /// No script argument: commands are read from standard input.
    Stdin,
    /// The shell does not run commands (`-n`, `--version`, `--help`).
    None,
}

/// Shells whose `-c`/stdin semantics are bash-compatible enough to analyse
/// their scripts as bash.
pub const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "rbash", "posh", "yash", "ksh93", "lksh",
    "pdksh", "fish", "tcsh", "csh",
];

/// True when `program` (a basename) is a POSIX-like shell.
pub fn is_shell(program: &str) -> bool {
    SHELLS.contains(&program)
}

/// Classifies a shell invocation: `argv[0]` must be a shell.
pub fn shell_code(argv: &[Word]) -> ShellCode {
    let mut i = 1;
    let mut want_c = false;
    while i < argv.len() {
        let Some(t) = argv[i].value() else {
            // Unknown option word: the script might be anything.
            return ShellCode::File(argv[i].clone());
        };
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            match long {
                "version" | "help" => return ShellCode::None,
                "rcfile" | "init-file" => i += 2,
                "command" => {
                    want_c = true;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            let flags = &t[1..];
            if flags.contains('c') && t.starts_with('-') {
                want_c = true;
            }
            if flags.contains('n') && t.starts_with('-') && !flags.contains('c') {
                return ShellCode::None;
            }
            if flags.contains('s') && t.starts_with('-') {
                // -s: read commands from stdin; the rest are positional args.
                return ShellCode::Stdin;
            }
            // -o option / -O shopt_option take a value.
            i += if flags.ends_with('o') || flags.ends_with('O') {
                2
            } else {
                1
            };
            continue;
        }
        break;
    }
    match argv.get(i) {
        Some(w) if want_c => ShellCode::String {
            code: w.clone(),
            args: argv[i + 1..].to_vec(),
        },
        Some(w) => ShellCode::File(w.clone()),
        None if want_c => ShellCode::None,
        None => ShellCode::Stdin,
    }
}

/// A span covering all words.
pub fn words_span(words: &[Word]) -> Span {
    match (words.first(), words.last()) {
        (Some(a), Some(b)) => a.span.cover(b.span),
        _ => Span::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Vec<Word> {
        ws.iter()
            .map(|w| Word::literal(*w, Span::default()))
            .collect()
    }

    fn script(argv: &[&str], stdin: Option<&str>) -> Option<(String, bool)> {
        match unwrap(&words(argv), stdin)?.1 {
            Unwrapped::Script { code, .. } => Some((code.text, code.dynamic)),
            _ => None,
        }
    }

    // Checked with GNU parallel 20221122 and stand-in commands that log
    // their argv (`parallel --dry-run` prints the same lines).
    #[test]
    fn parallel_jobs_are_written_out() {
        assert_eq!(
            script(&["parallel", "rm", "-rf", ":::", "a b", "c"], None).unwrap(),
            ("rm -rf 'a b'\nrm -rf c\n".to_string(), false)
        );
        assert_eq!(
            script(
                &["parallel", "rm {.} {/} {//} {/.}", ":::", "d/a.txt"],
                None
            )
            .unwrap()
            .0,
            "rm d/a a.txt d a\n"
        );
        assert_eq!(
            script(
                &["parallel", "{2}", "-f", "{1}", ":::", "x", ":::", "rm"],
                None
            )
            .unwrap()
            .0,
            "rm -f x\n"
        );
        assert_eq!(
            script(&["parallel", "-d", ",", "rm", "-rf"], Some("x,/"))
                .unwrap()
                .0,
            "rm -rf x\nrm -rf /\n"
        );
        assert_eq!(
            script(&["parallel", "-I@@", "rm", "@@/x", ":::", "d"], None)
                .unwrap()
                .0,
            "rm d/x\n"
        );
        // Not modelled: the script is dynamic.
        for argv in [
            &["parallel", "--colsep", ",", "{2}", ":::", "a,rm"][..],
            &["parallel", "--pipe", "bash"][..],
            &["parallel", "--some-new-option", "10", "rm", ":::", "x"][..],
            &["parallel", "{=s/x/rm/=}", ":::", "x"][..],
        ] {
            assert!(script(argv, Some("x\n")).unwrap().1, "{argv:?}");
        }
    }

    // Checked with GNU findutils xargs 4.9.
    #[test]
    fn xargs_replace_mode_removes_quotes_but_keeps_blanks() {
        assert_eq!(
            script(&["xargs", "-I{}", "rm", "{}"], Some("\"/\"\na b\n"))
                .unwrap()
                .0,
            "rm /\nrm 'a b'\n"
        );
    }
}
