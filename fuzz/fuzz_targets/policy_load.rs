//! Feeds arbitrary text to the policy loader as a project-layer file and
//! as an explicit `--policy` file. It must load or return a
//! `PolicyError`; a panic or a hang is a bug. A policy that loads must
//! still decide a fixed command without panicking and, unless it has a
//! `[hard_deny]` section (which may drop the built-in rules), deny
//! `rm -rf /`.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run policy_load` from the repository
//! root (seeds: `bash fuzz/seeds.sh`; docs/fuzzing.md).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use shellgate_rules::policy::{Layer, LayerKind};
use shellgate_rules::{decide, Policy, Verdict};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [LayerKind::Project, LayerKind::Explicit] {
        let Ok(layer) = Layer::parse(kind, Path::new("/p/.shellgate/policy.toml"), text) else {
            continue;
        };
        let dropped_hard_deny = layer.file.hard_deny.is_some();
        let Ok(policy) = Policy::from_layers(vec![layer]) else {
            continue;
        };
        let eval = decide(&policy, "rm -rf /", "/home/dev/project", Some("/home/dev"));
        if !dropped_hard_deny {
            assert_eq!(
                eval.decision.decision,
                Verdict::Deny,
                "a policy without [hard_deny] let `rm -rf /` through"
            );
        }
    }
});
