//! `destructive.disk-overwrite` and `destructive.recursive-chmod`: commands
//! that destroy file systems or reset permissions of whole system trees.

use super::{finding, parse_opts, Cx};
use crate::finding::{Finding, Section, Verdict};
use crate::paths::Place;

/// Rule id for raw device writes and file-system creation.
pub const DISK: &str = "destructive.disk-overwrite";
/// Rule id for recursive ownership/permission changes outside the project.
pub const CHMOD: &str = "destructive.recursive-chmod";

/// Programs that format or repartition block devices.
const FORMATTERS: &[&str] = &[
    "mkfs",
    "mke2fs",
    "mkswap",
    "wipefs",
    "fdisk",
    "sfdisk",
    "cfdisk",
    "parted",
    "sgdisk",
    "gdisk",
    "blkdiscard",
    "cryptsetup",
    "zpool",
    "pvcreate",
];

/// Partitioning tools used only to list or verify (fdisk(8) `-l`,
/// sfdisk(8) `-l`/`-d`, parted(8) `print`, sgdisk(8) `-p`/`-v`/`-i`).
fn read_only(base: &str, cmd: &shellgate_parsers::Command) -> bool {
    let has = |flags: &[&str]| cmd.args().iter().any(|w| flags.contains(&w.text.as_str()));
    match base {
        "fdisk" => has(&["-l", "--list"]),
        "sfdisk" => has(&[
            "-l",
            "--list",
            "-d",
            "--dump",
            "-s",
            "--show-size",
            "-V",
            "--verify",
        ]),
        "parted" => has(&["-l", "--list", "print"]),
        "sgdisk" | "gdisk" => {
            has(&["-p", "--print", "-v", "--verify", "-i", "--info"])
                && !has(&[
                    "-o",
                    "--clear",
                    "-Z",
                    "--zap-all",
                    "-z",
                    "--zap",
                    "-n",
                    "--new",
                    "-d",
                    "--delete",
                    "-l",
                    "--load-backup",
                ])
        }
        "wipefs" => !cmd.args().iter().any(|w| {
            w.text.starts_with("-a")
                || w.text == "--all"
                || w.text.starts_with("-o")
                || w.text.starts_with("--offset")
        }),
        _ => false,
    }
}

/// Reports device overwrites and recursive chmod/chown of system trees.
pub fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for cmd in &cx.script.commands {
        let Some(prog) = cmd.program() else { continue };
        if prog == "dd" {
            for w in cmd.args() {
                if let Some(target) = w.text.strip_prefix("of=") {
                    let place = cx
                        .paths
                        .resolve_text(target, w.glob, cmd.cwd.as_deref())
                        .map(|a| cx.paths.place(&a));
                    if matches!(place, Some(Place::Device | Place::System | Place::Root)) {
                        out.push(finding(
                            DISK,
                            Verdict::Deny,
                            Section::HardDeny,
                            w.span,
                            format!("`dd` writes raw data to {target}, destroying what it holds"),
                        ));
                    }
                }
            }
        }
        let base = prog.split('.').next().unwrap_or(prog);
        if FORMATTERS.contains(&base) && !read_only(base, cmd) {
            let devices: Vec<_> = cmd
                .args()
                .iter()
                .filter(|w| matches!(cx.place(cmd, w).0, Place::Device))
                .collect();
            if let Some(d) = devices.first() {
                out.push(finding(
                    DISK,
                    Verdict::Deny,
                    Section::HardDeny,
                    d.span,
                    format!(
                        "`{prog}` formats or repartitions {}, destroying its data",
                        d.text
                    ),
                ));
            } else if cmd.args().iter().any(|w| w.dynamic) {
                out.push(finding(
                    DISK,
                    Verdict::Ask,
                    Section::TierDefault,
                    cmd.span,
                    format!("`{prog}` on a target that is not known before it runs"),
                ));
            }
        }
        if matches!(prog, "chmod" | "chown" | "chgrp" | "setfacl") {
            let (opts, operands) = parse_opts(cmd.args(), "", &["--reference"]);
            let recursive = opts.iter().any(|(o, _)| {
                matches!(o.as_str(), "-R" | "--recursive") || (prog == "setfacl" && o == "-R")
            });
            if !recursive {
                continue;
            }
            // The first operand is the mode/owner (unless --reference).
            let skip = usize::from(!opts.iter().any(|(o, _)| o.starts_with("--reference")));
            for t in operands.into_iter().skip(skip) {
                let (place, abs) = cx.place(cmd, t);
                if matches!(
                    place,
                    Place::Root
                        | Place::HomeOrAbove
                        | Place::System
                        | Place::ProjectAncestor
                        | Place::Device
                ) {
                    out.push(finding(
                        CHMOD,
                        Verdict::Deny,
                        Section::HardDeny,
                        t.span,
                        format!(
                            "`{prog} -R` changes {} recursively, outside the project",
                            abs.unwrap_or_else(|| t.text.clone())
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detectors::testutil::assert_verdict;
    use crate::Verdict::*;

    #[test]
    fn devices_and_system_trees() {
        assert_verdict("dd if=/dev/urandom of=/dev/sda", Deny, Some(super::DISK));
        assert_verdict("mkfs -t xfs /dev/nvme0n1", Deny, Some(super::DISK));
        assert_verdict("mkfs.ext4 /dev/sdb1", Deny, Some(super::DISK));
        assert_verdict("chmod -R 777 /", Deny, Some(super::CHMOD));
        assert_verdict("sudo chown -R me ~", Deny, Some(super::CHMOD));
    }

    #[test]
    fn project_local_is_fine() {
        assert_verdict("dd if=/dev/zero of=disk.img bs=1M count=10", Allow, None);
        assert_verdict("chmod -R u+w build", Allow, None);
        assert_verdict("mkfs.ext4 disk.img", Allow, None);
        assert_verdict("fdisk -l /dev/sda", Allow, None);
        assert_verdict("wipefs /dev/sdb", Allow, None);
        assert_verdict("wipefs -a /dev/sdb", Deny, Some(super::DISK));
    }
}
