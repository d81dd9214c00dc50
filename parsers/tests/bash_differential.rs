//! Checks the parser's model against what real bash runs.
//!
//! Each case is run with `bash -c` in a throwaway directory whose `PATH`
//! starts with stand-in programs (`rm`, `git`, `curl`, `chmod`, `dd`) that
//! only log their argv. The commands the parser says would run with those
//! names must be exactly the logged ones, in order, with every word
//! statically known. So each expectation below is bash's own behaviour, not
//! an opinion written into the test; cases name the bash manual section of
//! the rule they exercise.

use std::path::Path;
use std::process::{Command, Stdio};

use shellgate_parsers::{basename, parse, Opaque, Options};

/// Programs replaced by loggers.
const STUBS: &[&str] = &["rm", "git", "curl", "chmod", "dd"];

/// (bash manual section, command). `$W` in a command is the work directory,
/// `$B` the stand-ins' directory (both replaced before running).
const CASES: &[(&str, &str)] = &[
    (
        "5.2 IFS is set at startup, never imported",
        "rm${IFS}-f${IFS}x; git push${IFS}-fq; chmod 777${IFS}y",
    ),
    (
        "3.5.3 a parameter after another in one word",
        "rm$IFS-f$IFS/x; x=-f; rm a$x-b$x/c; rm$IFS$x$IFS$x",
    ),
    // 3.1.2 Quoting
    ("3.1.2.1 escape character", r"r\m -rf x"),
    (
        "3.1.2.2-3 single and double quotes",
        r#"'r'"m" -rf 'a b' "c d""#,
    ),
    ("3.1.2.4 ANSI-C hex", r"$'\x72\x6d' -rf x"),
    ("3.1.2.4 ANSI-C octal", r"$'\162\155' -rf x"),
    ("3.1.2.4 ANSI-C unicode", r"$'\u0072\U0000006d' -rf x"),
    ("3.1.2.4 ANSI-C control", r"rm $'a\cAb' $'\e' $'\'q\''"),
    ("3.1.2.5 locale translation", r#"$"rm" -rf x"#),
    ("3.1.2 adjacent quoted pieces", r#"r'm' -"r"f ./"x y"z"#),
    // 3.5.1 Brace expansion
    ("3.5.1 brace list", "rm -rf {a,b}.txt"),
    ("3.5.1 brace sequence", "rm x{1..3} y{a..c..2} z{03..1}"),
    ("3.5.1 brace forming the command", "{r,}m -f x"),
    ("3.5.1 nested braces", "rm a{b,c{d,e}}f"),
    ("3.5.1 quoted braces stay", r#"rm "{a,b}" '{1..2}'"#),
    // 3.5.2 Tilde expansion
    ("3.5.2 tilde prefix", "rm -rf ~ ~/x ~+/y"),
    ("3.5.2 tilde after assignment colon", "P=~/a:~/b; rm $P"),
    ("3.5.2 quoted tilde is literal", r#"rm "~" '~/x' \~"#),
    ("3.5.2 ~user", "rm ~root/x ~nosuchuser4242/y"),
    (
        "3.5.1 then 3.5.2: tilde after brace expansion",
        "rm {a,~}/x ~{a,b}",
    ),
    // 3.4 Shell parameters and 3.5.3 parameter expansion
    ("3.4 assignment then use", "x=rm; $x -rf y"),
    ("3.4 concatenated values", "a=r b=m; $a$b -rf y"),
    (
        "4.2 declare, local-like builtins",
        "declare x=rm; typeset y=-rf; $x $y z",
    ),
    ("4.2 export", "export X=rm; $X -f y"),
    (
        "3.5.3 default value",
        "unset u; ${u:-rm} -rf y; ${u-chmod} 600 y",
    ),
    ("3.5.3 assign default", "unset u; ${u:=rm} -f y; $u -f z"),
    ("3.5.3 alternate value", "x=1; rm ${x:+-rf} y"),
    (
        "3.5.3 remove prefix",
        "x=/usr/bin/rm; ${x##*/} -f a; y=xxrm; ${y#x} b",
    ),
    (
        "3.5.3 remove suffix",
        "x=rm.sh.bak; ${x%%.*} -f a; y=rmdir; ${y%dir} b",
    ),
    (
        "3.5.3 substitution",
        "x=xm; ${x/x/r} -f a; y=r-m; ${y//-/} b",
    ),
    (
        "3.5.3 anchored substitution",
        "x=xrm; ${x/#x/} a; y=rmx; ${y/%x} b",
    ),
    (
        "3.5.3 glob substitution",
        "x=aXbXc; rm ${x/X*/-} ${x//[X]/_}",
    ),
    (
        "3.5.3 case modification",
        "x=RM; ${x,,} a; y=Rm; ${y,} b; z=rM; rm ${z^^} ${z^}",
    ),
    (
        "3.5.3 substring",
        "x=xxrmxx; ${x:2:2} a; y=abrm; ${y: -2} b; z=xrmx; ${z:1:-1} c",
    ),
    ("3.5.3 indirection", "x=y; y=rm; ${!x} -f a"),
    ("3.5.3 length", "x=abcd; rm ${#x}"),
    (
        "3.5.3 transformations",
        r"x=rm; y='\x72m'; ${x@L} a; ${y@E} b; rm ${x@U}",
    ),
    (
        "3.5.3 operand with quotes",
        r#"unset u; rm "${u:-a b}" ${u:-c d}"#,
    ),
    // 6.7 Arrays
    (
        "6.7 array expanded as words",
        "a=(rm -rf 'x y'); \"${a[@]}\"",
    ),
    (
        "6.7 array elements",
        "a=(git rm -f); ${a[1]} ${a[2]} ${a[-1]}",
    ),
    (
        "6.7 array append and element set",
        "a=(x); a+=(-rf); a[0]=rm; a[2]=z; \"${a[@]}\"",
    ),
    (
        "6.7 element index from a variable",
        "a=(x rm); i=1; ${a[i]} a; ${a[$i]} b",
    ),
    (
        "6.7 star joins with IFS",
        "a=(r m); IFS=; rm \"${a[*]}\"; unset IFS; rm \"${a[*]}\"",
    ),
    (
        "6.7 slices and counts",
        "a=(rm -f x y); \"${a[@]:0:3}\"; rm ${#a[@]}",
    ),
    (
        "6.7 empty array in quotes vanishes",
        "a=(); rm \"${a[@]}\" x",
    ),
    ("6.7 per-element operators", "a=(xrm x-f); \"${a[@]#x}\" y"),
    ("4.2 declare -a", "declare -a a=(rm -f); \"${a[@]}\" x"),
    (
        "3.4 scalar assignment keeps other elements",
        "a=(x -f); a=rm; \"${a[@]}\" y",
    ),
    // 3.5.7 Word splitting
    ("3.5.7 unquoted expansion splits", "x='rm -rf'; $x y"),
    ("3.5.7 quoted expansion does not", "x='a b'; rm \"$x\" $x"),
    ("3.5.7 custom IFS", "IFS=,; x=rm,-rf,y; $x"),
    (
        "3.5.7 IFS non-whitespace gives empty fields",
        "IFS=,; x=a,,b; rm $x",
    ),
    (
        "3.5.7 IFS mixed whitespace and delimiter",
        "IFS=' ,'; x=' a , b '; rm $x",
    ),
    ("3.5.7 empty IFS: no splitting", "IFS=; x='a b'; rm $x"),
    (
        "3.5.7 empty unquoted expansion disappears",
        "e=; rm $e x \"$e\"",
    ),
    // 4.2 read, printf -v
    ("4.2 read from a here-string", "read x <<< 'rm'; $x -f a"),
    (
        "4.2 read splits into names",
        "read -r x y z <<< 'rm -rf a  b  '; $x $y $z",
    ),
    (
        "4.2 read with IFS prefix",
        "IFS=, read x y <<< 'rm,-f'; $x $y a",
    ),
    ("4.2 read -a", "read -a a <<< 'rm -f b'; \"${a[@]}\""),
    (
        "4.2 read processes backslashes",
        r"read x <<< 'r\m'; $x a; read -r y <<< 'a\b'; rm $y",
    ),
    (
        "4.2 mapfile",
        "mapfile -t a <<< $'rm\\n-f\\nx'; \"${a[@]}\"; readarray -s 1 b < <(printf 'y\\nrm\\n'); $b z",
    ),
    ("4.2 mapfile callback", "mapfile -C 'rm -f' -c 1 a <<< $'x'"),
    (
        "4.2 printf -v",
        r"printf -v c '%s' rm; $c a; printf -v d '\x72\x6d'; $d b",
    ),
    // 3.4.1 Positional parameters
    ("4.3.1 set --", "set -- rm -rf x; \"$@\""),
    ("4.1 shift", "set -- a b rm; shift 2; $1 -f x"),
    (
        "3.3 function arguments",
        "f() { rm -rf \"$@\"; }; f a 'b c'",
    ),
    (
        "3.3 function positional",
        "f() { rm \"$2\" \"$1\"; }; f a b",
    ),
    ("3.4.2 $# and $*", "set -- a b c; rm $# \"$*\""),
    ("6.1 sh -s arguments", "echo 'rm -f \"$2\" \"$1\"' | sh -s -- a b"),
    (
        "6.1 script arguments",
        "echo 'rm -f \"$1\"' > s.sh; bash s.sh a; . ./s.sh b",
    ),
    (
        "6.1 bash -c arguments",
        "bash -c 'rm -f \"$1\" \"$2\"' name a b",
    ),
    // 6.6 Aliases
    (
        "6.6 alias on a later line",
        "shopt -s expand_aliases\nalias del='rm -f'\ndel x",
    ),
    (
        "6.6 alias with trailing blank",
        "shopt -s expand_aliases\nalias e='env ' d='rm -f'\ne d y",
    ),
    (
        "6.6 function body uses aliases of its definition",
        "shopt -s expand_aliases\nalias d='rm -f'\nf() { d a; }\nf",
    ),
    ("6.6 aliases in sh are on", "sh -c \"alias d='rm -f'\nd x\""),
    // 3.7.2 Command search
    (
        "3.7.2 path-qualified command",
        "$B/rm -f a; \"$B\"/../bin/rm b",
    ),
    ("3.5.8 glob as command name", "$B/r? -f a"),
    // Wrappers (coreutils, findutils)
    ("env(1)", "env -i SG_LOG=$SG_LOG PATH=$PATH rm -f a"),
    ("env -S", "env -S 'rm -f a'"),
    ("command builtin", "command rm -f a; command -- chmod 600 b"),
    (
        "nice, nohup, timeout, stdbuf",
        "nice -n 5 rm a; timeout 5 rm b; stdbuf -o0 rm c",
    ),
    ("xargs", "echo a b | xargs rm -f"),
    ("xargs -I", "printf '%s\\n' a b | xargs -I{} rm -f {}.bak"),
    ("exec", "exec rm -f a"),
    // Nested scripts
    ("eval", "eval 'rm -f a'; x='rm -f b'; eval \"$x\""),
    ("bash -c", "bash -c 'rm -f a'"),
    ("here-document into a shell", "bash <<'EOF'\nrm -f a\nEOF"),
    ("here-string into a shell", "sh <<< 'rm -f a'"),
    ("pipe into a shell", "echo 'rm -f a' | bash"),
    ("base64 into a shell", "echo cm0gLWYgYQo= | base64 -d | sh"),
    ("source a process substitution", "source <(echo 'rm -f a')"),
    ("command substitution as command", "$(echo rm) -f a"),
    ("backquotes", "`echo rm` -f a"),
    ("loop over a static list", "for p in a b; do rm -f $p; done"),
    // 3.2 control flow and scope
    ("3.3 local variables", "x=rm; f() { local x=git; }; f; $x -f a"),
    ("3.2.4 background job is a subshell", "x=rm; x=git & wait; $x -f a"),
    ("3.2.2 time keyword with assignment", "time x=rm; $x -f a"),
    ("4.1 unset removes a function", "rm() { :; }; unset rm; rm -f a"),
    ("4.1 eval with an IFS prefix", "x=rm:-f:a; IFS=: eval '$x'"),
    ("4.1 cd sets OLDPWD", "cd /; cd \"$OLDPWD\"; rm -f ./a"),
    ("4.3.1 set - keeps the parameters", "set -- rm -f a; set -; \"$@\""),
    ("6.5 octal array index", "a=(0 1 2 3 4 5 6 7 rm); ${a[010]} -f a"),
    ("6.7 array indices", "a=(x y); rm \"${!a[@]}\""),
    ("4.2 printf octal escapes", r"printf -v c 'r\155'; $c -f a"),
    ("xargs -I quote removal", r#"printf '%s\n' '"a b"' | xargs -I{} rm -f {}"#),
    ("4.3.2 lastpipe", "shopt -s lastpipe; x=git; echo rm | read x; $x -f a"),
    ("git global options", "git -C . -c core.pager=cat log"),
];

fn sh_write(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    let mut perm = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(path, perm).unwrap();
}

/// Runs `cmd` with bash; returns the logged argv of each stand-in call.
fn bash_runs(root: &Path, cmd: &str) -> Vec<Vec<String>> {
    let log = root.join("log");
    let _ = std::fs::remove_file(&log);
    let work = root.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let path = format!("{}:/usr/bin:/bin", root.join("bin").display());
    let status = Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(&work)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", root.join("home"))
        .env("SG_LOG", &log)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("bash must be installed to check the parser against it");
    let _ = status;
    let text = std::fs::read(&log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    text.split('\u{1d}')
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split('\u{1e}')
                .filter(|w| !w.is_empty())
                .map(|w| w.strip_prefix('=').unwrap_or(w).to_string())
                .collect()
        })
        .collect()
}

/// What the parser says the stand-ins receive.
fn model_runs(root: &Path, cmd: &str) -> Result<Vec<Vec<String>>, String> {
    let opts = Options {
        home: Some(root.join("home").display().to_string()),
        cwd: Some(root.join("work").display().to_string()),
        ..Default::default()
    };
    let script = parse(cmd, &opts).map_err(|e| e.to_string())?;
    // A resolved glob in a command name stays a finding of its own; the
    // words it resolved to are compared below like any others.
    if let Some(o) = script
        .opaque
        .iter()
        .find(|o| !matches!(o, Opaque::DynamicCommandName { .. }))
    {
        return Err(format!("not fully analysed: {o:?}"));
    }
    let mut out = Vec::new();
    for c in &script.commands {
        let Some(name) = c.argv.first() else { continue };
        if !STUBS.contains(&basename(&name.text)) {
            continue;
        }
        let mut argv = vec![basename(&name.text).to_string()];
        for w in c.args() {
            if !w.is_static() {
                return Err(format!("word `{}` not statically known", w.text));
            }
            argv.push(w.text.clone());
        }
        out.push(argv);
    }
    Ok(out)
}

#[test]
fn the_model_matches_what_bash_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    for s in STUBS {
        // Each word prefixed with `=` so that empty words survive, words
        // separated by RS (0x1e) and calls by GS (0x1d).
        sh_write(
            &root.join("bin").join(s),
            "#!/bin/sh\nprintf '=%s\\036' \"${0##*/}\" \"$@\" >> \"$SG_LOG\"\nprintf '\\035' >> \"$SG_LOG\"\n",
        );
    }
    let bin = root.join("bin").display().to_string();
    let mut failures = Vec::new();
    for (rule, case) in CASES {
        let cmd = case.replace("$B", &bin);
        let truth = bash_runs(&root, &cmd);
        if truth.is_empty() {
            failures.push(format!("[{rule}] {cmd:?}: bash ran no stand-in (bad case)"));
            continue;
        }
        match model_runs(&root, &cmd) {
            Ok(model) if model == truth => {}
            Ok(model) => failures.push(format!(
                "[{rule}] {cmd:?}\n    bash ran:  {truth:?}\n    model has: {model:?}"
            )),
            Err(e) => failures.push(format!("[{rule}] {cmd:?}: {e}; bash ran {truth:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from bash:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
