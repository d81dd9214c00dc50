//! Feeds arbitrary bytes to the parser and the decision. A panic, a hang
//! or an `allow` for input that is not valid UTF-8 is a bug.
//!
//! Run: `cargo +nightly fuzz run parse_and_decide` from the repository root
//! (or `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_and_decide` on stable;
//! seeds: `bash fuzz/seeds.sh`; docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shellgate_rules::{decide_bytes, Policy, Verdict};

fuzz_target!(|data: &[u8]| {
    let policy = Policy::default();
    let eval = decide_bytes(&policy, data, "/home/dev/project", Some("/home/dev"));
    if std::str::from_utf8(data).is_err() || data.contains(&0) {
        assert_eq!(eval.decision.decision, Verdict::Deny, "invalid input must be denied");
    }
    // Every finding's span lies inside the input.
    for f in &eval.decision.findings {
        assert!(f.span.start <= f.span.end && f.span.end <= data.len(), "span {:?} outside input of {} bytes", f.span, data.len());
    }
    let _ = shellgate_parsers::parse_bytes(data, &shellgate_parsers::Options::default());
});
