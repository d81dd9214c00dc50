//! Converts the built-in matcher rules (`src/policy/defaults.toml`) to JSON
//! at build time, so that a process reads them with `serde_json` (about
//! 0.05 ms) rather than with the TOML parser (about 0.3 ms, a measurable
//! part of each `shellgate run`). The TOML file stays the source: it is
//! what `shellgate policy defaults` prints and what a reader edits;
//! `defaults.rs` has the test that both forms deserialize to the same
//! rules.

use std::path::PathBuf;

fn main() {
    let source = "src/policy/defaults.toml";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("read src/policy/defaults.toml");
    let value: toml::Value = toml::from_str(&text)
        .unwrap_or_else(|e| panic!("src/policy/defaults.toml is not valid TOML: {e}"));
    let json = serde_json::to_string(&value).expect("TOML values convert to JSON");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("defaults.json"), json).expect("write OUT_DIR/defaults.json");
}
