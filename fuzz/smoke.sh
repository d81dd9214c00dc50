#!/usr/bin/env bash
# Bounded fuzz smoke run: writes the seed corpora (fuzz/seeds.sh), builds
# every fuzz target with cargo-fuzz's libFuzzer instrumentation, and runs
# each for SECONDS (default 20) over its corpus. Exits non-zero when a
# target crashes, panics, fails an assertion, runs out of memory (over
# 2048 MB) or spends over 1 s on one input; the input is saved under
# fuzz/artifacts/TARGET/ and its path printed.
#
# Usage: fuzz/smoke.sh [SECONDS_PER_TARGET]
#
# Needs only a Rust toolchain, a C++ compiler (libFuzzer) and python3
# (seeds). cargo-fuzz is not needed: the build sets the flags `cargo fuzz
# build --sanitizer none --debug-assertions` sets (cargo-fuzz 0.13,
# src/project.rs), with RUSTC_BOOTSTRAP=1 so a stable toolchain accepts
# them. Builds go to fuzz/target/, away from the workspace's target/.
# docs/fuzzing.md explains longer runs.
set -euo pipefail

secs=${1:-20}
case $secs in
  '' | *[!0-9]*)
    echo "usage: fuzz/smoke.sh [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz_dir"

# The targets: every [[bin]] of fuzz/Cargo.toml.
mapfile -t targets < <(awk '/^\[\[bin\]\]/ { b = 1; next } b && /^name *=/ { gsub(/.*= *"|".*/, ""); print; b = 0 }' Cargo.toml)

bash ./seeds.sh

triple=$(rustc -vV | sed -n 's/^host: //p')
flags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  --cfg fuzzing
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0
  -Cllvm-args=-sanitizer-coverage-stack-depth
  -Cdebug-assertions
  -Ccodegen-units=1
)
echo "== fuzz smoke: building ${targets[*]} ($triple, release, debug assertions)"
start=$(date +%s)
# --target keeps RUSTFLAGS off build scripts and proc macros, as cargo-fuzz does.
RUSTC_BOOTSTRAP=1 RUSTFLAGS="${flags[*]} ${RUSTFLAGS:-}" \
  cargo build --manifest-path Cargo.toml --locked --release \
  --config 'profile.release.debug="line-tables-only"' \
  --target "$triple" --bins
echo "== fuzz smoke: built in $(($(date +%s) - start)) s"

failed=()
for t in "${targets[@]}"; do
  bin=target/$triple/release/$t
  corpus=corpus/$t
  artifacts=artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  log=$(mktemp)
  echo "== fuzz smoke: $t for ${secs} s over $(find "$corpus" -type f | wc -l) inputs"
  status=0
  "$bin" -timeout=1 -rss_limit_mb=2048 -max_total_time="$secs" \
    -print_final_stats=1 -artifact_prefix="$fuzz_dir/$artifacts/" "$corpus" >"$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' "$log" || true
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "== fuzz smoke: $t FAILED (exit $status); the end of its output:" >&2
    tail -n 60 "$log" >&2
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$artifact" ]; then
      echo "== fuzz smoke: the failing input is $artifact" >&2
      echo "   reproduce: $fuzz_dir/$bin $artifact" >&2
    fi
  fi
  rm -f "$log"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== fuzz smoke: failed: ${failed[*]}" >&2
  exit 1
fi
echo "== fuzz smoke: ${#targets[@]} targets, no crash, panic or hang in ${secs} s each"
