//! `privilege.escalation`, `privilege.setuid`, `privilege.container-host`:
//! running as another user, creating set-user-ID programs, and containers
//! that get the host's root file system or kernel.

use shellgate_parsers::invocation::PRIVILEGE_WRAPPERS;

use super::{finding, opt_value, parse_opts, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::paths::Place;

/// Rule id: `sudo`, `su`, `doas`, `pkexec`, `run0`, `chroot`.
pub const ESCALATION: &str = "privilege.escalation";
/// Rule id: set-user-ID / set-group-ID bits and file capabilities.
pub const SETUID: &str = "privilege.setuid";
/// Rule id: containers with host root, devices or namespaces.
pub const CONTAINER: &str = "privilege.container-host";

/// Programs that run commands as another user or with more privileges
/// than their caller, besides the wrappers the parser unwraps.
const PRIVILEGE_PROGRAMS: &[&str] = &[
    "please",
    "systemd-run",
    "machinectl",
    "ksu",
    "gksu",
    "gksudo",
    "kdesu",
    "kdesudo",
    "runuser",
    "setpriv",
    "nsenter",
    "capsh",
    "sg",
    "newgrp",
    "su",
    "calife",
    "super",
    "op",
];

/// Reports privilege escalation in every command.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        for w in &cmd.wrappers {
            if PRIVILEGE_WRAPPERS.contains(&w.name.as_str()) {
                let span = w.argv.first().map(|x| x.span).unwrap_or(cmd.span);
                let inner = cmd
                    .argv
                    .iter()
                    .map(|a| a.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push(finding(ESCALATION, Verdict::Deny, Section::SoftDeny, span, format!("`{}` runs `{inner}` with another user's privileges; run it without {} or ask the user to", w.name, w.name)));
            }
        }
        let Some(prog) = cmd.program() else { continue };
        if PRIVILEGE_WRAPPERS.contains(&prog) || PRIVILEGE_PROGRAMS.contains(&prog) {
            out.push(finding(
                ESCALATION,
                Verdict::Deny,
                Section::SoftDeny,
                cmd.argv[0].span,
                format!("`{prog}` changes privileges; ask the user to run it"),
            ));
        }
        match prog {
            "install" | "mkdir" => {
                // `-m MODE` / `--mode=MODE` (install(1), mkdir(1)).
                let args = cmd.args();
                for (i, w) in args.iter().enumerate() {
                    let mode = if w.text == "-m" || w.text == "--mode" {
                        args.get(i + 1).map(|m| (m.text.clone(), m.span))
                    } else {
                        w.text
                            .strip_prefix("--mode=")
                            .or_else(|| w.text.strip_prefix("-m").filter(|m| !m.is_empty()))
                            .map(|m| (m.to_string(), w.span))
                    };
                    if let Some((m, span)) = mode {
                        if id_bits(&m) == IdBits::SetUid {
                            out.push(finding(
                                SETUID,
                                Verdict::Deny,
                                Section::HardDeny,
                                span,
                                format!("`{prog} -m {m}` creates a set-user-ID file"),
                            ));
                        }
                    }
                }
            }
            "chmod" if cmd.args().iter().any(|w| w.text.starts_with("--reference")) => {
                out.push(finding(
                    SETUID,
                    Verdict::Ask,
                    Section::TierDefault,
                    cmd.span,
                    "`chmod --reference` copies another file's mode, which may include set-user-ID",
                ));
            }
            "chmod" => {
                let (_, operands) = parse_opts(cmd.args(), "", &["--reference"]);
                if let Some(mode) = operands.first() {
                    if mode.value().is_none() {
                        // Fail closed: `chmod $m f` may be `chmod +s f`.
                        out.push(finding(SETUID, Verdict::Ask, Section::TierDefault, mode.span, format!("`chmod {}`: the mode is only known when it runs and may set the set-user-ID bit; write it out", mode.text)));
                        continue;
                    }
                    match id_bits(&mode.text) {
                        IdBits::SetUid => out.push(finding(SETUID, Verdict::Deny, Section::HardDeny, mode.span, format!("`chmod {}` sets the set-user-ID bit, letting the file run with its owner's privileges", mode.text))),
                        // setgid is also how shared directories keep their group.
                        IdBits::SetGid => out.push(finding(SETUID, Verdict::Ask, Section::TierDefault, mode.span, format!("`chmod {}` sets the set-group-ID bit; on a program it runs with the file's group", mode.text))),
                        IdBits::None => {}
                    }
                }
            }
            "setcap" => out.push(finding(
                SETUID,
                Verdict::Deny,
                Section::HardDeny,
                cmd.argv[0].span,
                "`setcap` grants file capabilities (root powers) to a program",
            )),
            "docker" | "podman" | "nerdctl" => container(cx, cmd, out),
            _ => {}
        }
    }
}

/// Which set-ID bits a chmod(1) mode adds.
#[derive(PartialEq, Eq, Debug)]
enum IdBits {
    None,
    SetGid,
    SetUid,
}

/// Reads a mode: symbolic `+s`/`u+s`/`a=rws` (who `u`, `a` or none means
/// set-user-ID), `g+s` (set-group-ID), or octal whose fourth digit from the
/// right has 4 (set-user-ID) or 2 (set-group-ID).
fn id_bits(mode: &str) -> IdBits {
    let digits = mode.trim_start_matches(['=', '+']);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        let mode = digits;
        let d = if mode.len() >= 4 {
            mode.chars()
                .rev()
                .nth(3)
                .and_then(|c| c.to_digit(8))
                .unwrap_or(0)
        } else {
            0
        };
        return if d & 0o4 != 0 {
            IdBits::SetUid
        } else if d & 0o2 != 0 {
            IdBits::SetGid
        } else {
            IdBits::None
        };
    }
    let mut out = IdBits::None;
    for clause in mode.split(',') {
        let Some(op) = clause.find(['+', '=']) else {
            continue;
        };
        if !clause[op + 1..].contains('s') {
            continue;
        }
        let who = &clause[..op];
        if who.is_empty() || who.contains('u') || who.contains('a') {
            return IdBits::SetUid;
        }
        out = IdBits::SetGid;
    }
    out
}

fn container(cx: &Cx, cmd: &shellgate_parsers::Command, out: &mut Vec<Finding>) {
    let args = cmd.args();
    // Skip global options, some of which take a value (`-H HOST`, `--context X`).
    let mut sub_at = None;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if matches!(
            t,
            "-H" | "--host"
                | "-c"
                | "--context"
                | "--config"
                | "-l"
                | "--log-level"
                | "--tlscacert"
                | "--tlscert"
                | "--tlskey"
                | "--url"
                | "--connection"
                | "--identity"
        ) {
            i += 2;
            continue;
        }
        if !t.starts_with('-') {
            sub_at = Some(i);
            break;
        }
        i += 1;
    }
    let Some(sub_at) = sub_at else { return };
    let sub = args[sub_at].text.as_str();
    // `docker container run`, `docker compose run` (compose options first).
    let nested = matches!(sub, "container" | "compose");
    let sub_args = if nested {
        args.get(sub_at + 2..).unwrap_or(&[])
    } else {
        &args[sub_at + 1..]
    };
    let sub = if nested {
        args.get(sub_at + 1).map(|w| w.text.as_str()).unwrap_or("")
    } else {
        sub
    };
    if !matches!(sub, "run" | "create" | "exec") {
        return;
    }
    let (opts, rest) = parse_opts(
        sub_args,
        "vepuwlh",
        &[
            "--volume",
            "--mount",
            "--env",
            "--pid",
            "--ipc",
            "--uts",
            "--userns",
            "--network",
            "--net",
            "--cap-add",
            "--device",
            "--security-opt",
            "--name",
            "--user",
            "--workdir",
            "--entrypoint",
            "--label",
            "--publish",
            "--env-file",
        ],
    );
    // A word only known when it runs where the image name would be may be
    // an option (`"${a[0]}" /:/mnt` with `a=(-v)`): the word after it is
    // judged as its value, and any other case asks.
    let mut guessed: Vec<(String, Option<&shellgate_parsers::Word>)> = Vec::new();
    if let Some(first) = rest.first().filter(|w| w.value().is_none()) {
        match rest.get(1) {
            Some(next) if next.text.contains(':') => guessed.push(("-v".into(), Some(next))),
            _ => out.push(finding(
                CONTAINER,
                Verdict::Ask,
                Section::SoftDeny,
                first.span,
                format!(
                    "`{} {sub}` has an argument only known when it runs (`{}`), which may be an option such as --privileged; write it literally",
                    cmd.program().unwrap_or("docker"),
                    first.text
                ),
            )),
        }
    }
    for (name, value) in opts.iter().map(|(n, v)| (n.to_string(), *v)).chain(guessed) {
        let name = name.as_str();
        let value = &value;
        let base = name.split('=').next().unwrap_or(name);
        let v = opt_value(name, *value).unwrap_or_default();
        let span = value.map(|w| w.span).unwrap_or(cmd.span);
        let danger = match base {
            "--privileged" => Some(
                "runs a privileged container (full access to the host kernel and devices)"
                    .to_string(),
            ),
            "--pid" | "--ipc" | "--uts" | "--userns" | "--network" | "--net" | "--cgroupns"
                if v == "host" =>
            {
                Some(format!("shares the host's {} namespace", &base[2..]))
            }
            "--cap-add" => Some(format!("adds the {v} capability")),
            "--device" => Some(format!("exposes host device {v}")),
            "--security-opt" if v.contains("unconfined") => {
                Some(format!("disables confinement ({v})"))
            }
            "-v" | "--volume" | "--mount" => {
                let src = if base == "--mount" {
                    v.split(',')
                        .find_map(|kv| {
                            kv.strip_prefix("source=")
                                .or_else(|| kv.strip_prefix("src="))
                        })
                        .unwrap_or("")
                        .to_string()
                } else {
                    v.split(':').next().unwrap_or("").to_string()
                };
                let abs = if src.starts_with('/') {
                    cx.paths.resolve_text(&src, false, None)
                } else {
                    None
                };
                match abs.as_deref().map(|a| (a, cx.paths.place(a))) {
                    Some((a, Place::Root | Place::HomeOrAbove | Place::System | Place::Device | Place::InHome | Place::ProjectAncestor)) => {
                        Some(format!("mounts host path {a} into the container (it can read and change it as root)"))
                    }
                    _ if src.ends_with("docker.sock") => Some("mounts the Docker socket (root on the host)".to_string()),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(d) = danger {
            out.push(finding(
                CONTAINER,
                Verdict::Deny,
                Section::SoftDeny,
                span,
                format!(
                    "`{} {sub}` {d}; mount only the project",
                    cmd.program().unwrap_or("docker")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn escalation_forms() {
        for c in [
            "sudo systemctl restart nginx",
            "sudo bash -c 'id'",
            "su - root -c whoami",
            "doas -u root id",
            "pkexec /bin/sh",
            "/usr/bin/sudo ls /root",
            "env PATH=/usr/bin sudo id",
            "bash -lc 'sudo -n true'",
            "sudo -i",
            "sudo -v",
        ] {
            assert_verdict(c, Deny, Some(super::ESCALATION));
        }
    }

    #[test]
    fn setuid_and_containers() {
        assert_verdict("chmod +s ./tool", Deny, Some(super::SETUID));
        assert_verdict("chmod 4755 ./tool", Deny, Some(super::SETUID));
        assert_verdict("chmod u+x,g+s ./tool", Ask, Some(super::SETUID));
        assert_verdict(
            "find . -type d | xargs chmod 2775",
            Ask,
            Some(super::SETUID),
        );
        assert_verdict("chmod 6755 ./tool", Deny, Some(super::SETUID));
        // A mode only known when it runs may be `+s`.
        assert_verdict("chmod \"$m\" ./tool", Ask, Some(super::SETUID));
        assert_verdict("cd . && m=+s; chmod $m ./tool", Ask, Some(super::SETUID));
        assert_verdict("chmod 755 script.sh", Allow, None);
        assert_verdict("chmod =4755 x", Deny, Some(super::SETUID));
        assert_verdict("install -m 4755 /bin/bash ./x", Deny, Some(super::SETUID));
        assert_verdict(
            "chmod --reference=/usr/bin/passwd x",
            Ask,
            Some(super::SETUID),
        );
        assert_verdict(
            "docker -H unix:///var/run/docker.sock run -v /:/h alpine",
            Deny,
            Some(super::CONTAINER),
        );
        assert_verdict(
            "systemd-run --uid=0 --pty bash",
            Deny,
            Some(super::ESCALATION),
        );
        assert_verdict("runuser -u root -- id", Deny, Some(super::ESCALATION));
        assert_verdict(
            "docker run --rm -v /:/mnt ubuntu cat /mnt/etc/shadow",
            Deny,
            Some(super::CONTAINER),
        );
        assert_verdict(
            "docker run --privileged ubuntu",
            Deny,
            Some(super::CONTAINER),
        );
        assert_verdict(
            "docker run --rm -v /home/dev/project:/src -w /src rust cargo test",
            Allow,
            None,
        );
        assert_verdict("docker compose ps", Allow, None);
    }
}
