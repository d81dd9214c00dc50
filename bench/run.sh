#!/usr/bin/env bash
# Benchmarks shellgate beside the tools users would pick instead, in one
# run on one machine, and writes the tables BENCHMARKS.md is made from.
#
#   bench/run.sh [OUT_DIR]     (default: a new temp dir, printed at the end)
#
# What it measures (issue 9):
#   1. in-process decision latency over ../shared/corpora: the criterion
#      bench `cargo bench -p shellgate-rules --bench decision`;
#   2. process cold start (hyperfine): `shellgate check`, and the Claude Code
#      PreToolUse hook of shellgate, destructive_command_guard (dcg) and
#      cc-safety-net on the same payload;
#   3. `shellgate run -- true` against `bash -c true` and bubblewrap;
#   4. the labelled dev corpus through each hook (bench/hooks.py): per-call
#      time and how many `deny` items each lets through.
#
# Environment:
#   SHARED        the shared corpora (default: ../shared beside the repository)
#   PEERS         where the peers are installed (default: OUT_DIR/peers; point
#                 it at an earlier run's to skip the ~10 min dcg build)
#   DCG_VERSION   destructive_command_guard version (default 0.16.0)
#   CCSN_VERSION  cc-safety-net version (default 2.4.5)
#   RUNS          hyperfine runs per command (default 300)
#
# Needs cargo, python3, node/npm, hyperfine, bubblewrap and jq; the Debian
# packages hyperfine, bubblewrap and jq are installed when missing and this
# runs as root. The peers are installed into PEERS only, never into the
# project.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$repo/../shared}
shared=$(cd "$shared" && pwd)
out=${1:-$(mktemp -d /tmp/shellgate-bench.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
peers=${PEERS:-$out/peers}
dcg_version=${DCG_VERSION:-0.16.0}
ccsn_version=${CCSN_VERSION:-2.4.5}
runs=${RUNS:-300}

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

[ -f "$shared/eval-policy.toml" ] || die "no shared corpora at $shared (set SHARED)"

# -- tools -------------------------------------------------------------------
missing=()
for t in hyperfine bwrap jq; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    pkgs=$(printf '%s\n' "${missing[@]}" | sed 's/^bwrap$/bubblewrap/' | tr '\n' ' ')
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing $pkgs"
        apt-get install -y $pkgs >"$out/apt.log" 2>&1 || die "apt-get install $pkgs failed (see $out/apt.log)"
    else
        die "missing $pkgs: install them (Debian: sudo apt-get install $pkgs)"
    fi
fi
for t in cargo python3 npm node curl tar; do command -v "$t" >/dev/null || die "missing $t"; done

# -- shellgate ------------------------------------------------------------------
say "building shellgate (release)"
(cd "$repo" && cargo build --release --locked -p shellgate) >&2
target=${CARGO_TARGET_DIR:-$repo/target}
sg=$target/release/shellgate

# -- peers -----------------------------------------------------------------------
mkdir -p "$peers"
dcg=$peers/dcg/bin/dcg
if [ ! -x "$dcg" ]; then
    say "installing destructive_command_guard $dcg_version into $peers/dcg"
    if ! cargo install --locked --root "$peers/dcg" "destructive_command_guard@$dcg_version" \
        >"$peers/dcg-install.log" 2>&1; then
        # The published crate pins a nightly toolchain and nightly rustflags,
        # and its lock file may name versions this registry does not serve:
        # build it from its source with the stable toolchain instead.
        src=$peers/dcg-src
        rm -rf "$src" && mkdir -p "$src"
        curl -sSfL "https://static.crates.io/crates/destructive_command_guard/destructive_command_guard-$dcg_version.crate" |
            tar xz -C "$src" --strip-components=1
        rm -f "$src/rust-toolchain.toml" "$src/rust-toolchain" && rm -rf "$src/.cargo"
        export RUSTUP_TOOLCHAIN=stable
        for _ in 1 2 3 4 5; do
            if (cd "$src" && cargo install --locked --ignore-rust-version --path . --root "$peers/dcg") \
                >"$peers/dcg-install.log" 2>&1; then
                break
            fi
            # "`NAME = ...` (locked to VERSION) ... candidate versions found
            # which didn't match: NEWEST, ...": step the lock back.
            pkg=$(sed -n 's/.*requirement `\([A-Za-z0-9_-]*\) = .*(locked to \([^)]*\)).*/\1@\2/p' "$peers/dcg-install.log" | head -1)
            alt=$(sed -n "s/.*candidate versions found which didn't match: \([^,]*\),.*/\1/p" "$peers/dcg-install.log" | head -1)
            [ -n "$pkg" ] && [ -n "$alt" ] || die "dcg build failed (see $peers/dcg-install.log)"
            (cd "$src" && cargo update -p "$pkg" --precise "$alt") >&2
        done
        unset RUSTUP_TOOLCHAIN
        [ -x "$dcg" ] || die "dcg build failed (see $peers/dcg-install.log)"
    fi
fi
ccsn=$peers/npm/node_modules/.bin/cc-safety-net
if [ ! -x "$ccsn" ]; then
    say "installing cc-safety-net $ccsn_version into $peers/npm"
    npm install --prefix "$peers/npm" --no-audit --no-fund "cc-safety-net@$ccsn_version" \
        >"$peers/npm-install.log" 2>&1 || die "npm install failed (see $peers/npm-install.log)"
fi

# -- a throwaway home, project and payload ---------------------------------------
work=$out/work
rm -rf "$work" && mkdir -p "$work/home/dev/project" "$work/state"
home=$work/home/dev
project=$home/project
export SHELLGATE_STATE_DIR=$work/state SHELLGATE_MANAGED_POLICY=/nonexistent SHELLGATE_SESSION=bench
policy=$shared/eval-policy.toml
payload=$work/payload.json
# A second payload makes a cold process use much more of the rule set
# (built-in globs compile on first use, the ignore file's matchers are
# built when a path passes the prefilter): a push, a download from an
# untrusted host, an archive and glob operands. It asks, and must not be
# a hard deny, which would end the bench session for every later call.
payload_heavy=$work/payload-heavy.json
python3 - "$project" "$payload" "cargo test --workspace 2>&1 | tail -20" \
    "$payload_heavy" "git push origin HEAD && curl -sSf https://example.org/x.tar.gz -o x.tgz && tar xzf x.tgz && cat src/*.rs config/*.json | grep -c TODO" <<'PY'
import json, sys
project, pairs = sys.argv[1], sys.argv[2:]
for path, command in zip(pairs[::2], pairs[1::2]):
    json.dump({"session_id": "bench", "transcript_path": "/tmp/shellgate-bench-transcript.jsonl",
               "cwd": project, "permission_mode": "default", "hook_event_name": "PreToolUse",
               "tool_name": "Bash", "tool_input": {"command": command, "description": "bench"},
               "tool_use_id": "toolu_bench"}, open(path, "w"))
PY

# -- 1. in-process decision latency -----------------------------------------------
say "decision latency (criterion)"
(cd "$repo" && SHARED="$shared" SHELLGATE_BENCH_JSON="$out/decision.json" cargo bench --locked -p shellgate-rules --bench decision) \
    >"$out/decision.txt" 2>&1 || die "decision bench failed (see $out/decision.txt)"
grep -E '^(corpus|dev|nl2bash|tldr|slowest) ' "$out/decision.txt" >&2 || true

# -- 2. cold start -------------------------------------------------------------------
# hyperfine runs these command lines through a shell: every path is quoted
# (single quotes, which sh, hyperfine -N and Python's shlex all read).
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
sgq=$(q "$sg") policyq=$(q "$policy") auditq=$(q "$work/audit.jsonl") payloadq=$(q "$payload")
say "cold start (hyperfine, $runs runs)"
cd "$project"
# -i: a verdict other than allow is an exit status, not a failed run.
HOME=$home hyperfine -i --warmup 20 --runs "$runs" --export-json "$out/cold.json" \
    -n 'process floor (/bin/true)' "/bin/true < $payloadq" \
    -n 'shellgate check' "$sgq check --policy $policyq --audit-log $auditq -- 'cargo test --workspace'" \
    -n 'shellgate hook claude-code' "$sgq hook claude-code --policy $policyq --audit-log $auditq < $payloadq" \
    -n 'shellgate hook claude-code (heavy payload)' "$sgq hook claude-code --policy $policyq --audit-log $auditq < $(q "$payload_heavy")" \
    -n "dcg $dcg_version (hook)" "$(q "$dcg") < $payloadq" \
    -n "cc-safety-net $ccsn_version (hook --claude-code)" "$(q "$ccsn") hook --claude-code < $payloadq" >&2

# -- 3. sandbox -----------------------------------------------------------------------
# `run` uses the default policy here: the eval policy's project root
# (/home/dev/project) does not exist on this machine, and the sandbox needs
# the real project directory to grant it.
say "sandbox overhead (hyperfine, $runs runs)"
bwrap_args=(--unshare-all --die-with-parent --new-session --cap-drop ALL
    --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
    --symlink usr/sbin /sbin --ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp
    --bind "$project" "$project" --chdir "$project")
# -N splits these command lines like a shell (without running one).
bwrap_line=$(for a in bwrap "${bwrap_args[@]}" bash -c true; do printf '%s ' "$(q "$a")"; done)
# With a trusted remote the run also gets a user + network namespace and
# the proxy (bubblewrap's --unshare-all makes a network namespace too).
printf '[environment]\ntrusted_remotes = ["example.org"]\n' >"$work/net-policy.toml"
HOME=$home hyperfine -N --warmup 20 --runs "$runs" --export-json "$out/sandbox.json" \
    -n 'bash -c true' 'bash -c true' \
    -n 'shellgate run -- true' "$sgq run --audit-log $auditq -- true" \
    -n 'shellgate run -- true (network)' "$sgq run --policy $(q "$work/net-policy.toml") --audit-log $auditq -- true" \
    -n 'bwrap ... bash -c true' "$bwrap_line" >&2
cd "$repo"

# -- 4. the dev corpus through each hook -----------------------------------------------
say "dev corpus through each hook"
# Each tool is a shell-quoted argv (hooks.py splits it with shlex).
# shellgate gets the graded environment's cwd and home (the eval policy's
# project root), which need not exist: it judges paths, it does not read
# them. The peers get a real directory.
python3 "$repo/bench/hooks.py" "$out/hooks.json" \
    "process floor (true)=true" \
    "shellgate=env HOME=/home/dev $sgq hook claude-code --policy $policyq --audit-log $auditq" \
    "dcg@$project=env HOME=$(q "$home") $(q "$dcg")" \
    "cc-safety-net@$project=env HOME=$(q "$home") $(q "$ccsn") hook --claude-code" \
    <"$shared/corpora/dev-labelled.jsonl" | tee "$out/hooks.txt" >&2

# -- summary ----------------------------------------------------------------------------
say "summary"
{
    echo "## Machine"
    echo
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "- Memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- Kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- shellgate $(cd "$repo" && git rev-parse --short HEAD)$(cd "$repo" && git diff --quiet || echo '+changes'), $(rustc --version)"
    echo "- dcg $("$dcg" --version 2>/dev/null | head -1), cc-safety-net $("$ccsn" --version 2>/dev/null | head -1) on node $(node --version)"
    echo "- $(hyperfine --version), $(bwrap --version)"
    echo
    echo "## Decision latency in process (per command: median of 7 runs)"
    echo
    echo "| corpus | length | commands | median µs | p99 µs | max µs | commands/s |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    jq -r '.[] | "| \(.corpus) | \(.length) | \(.commands) | \(.median_us*10|round/10) | \(.p99_us*10|round/10) | \(.max_us*10|round/10) | \(.commands_per_s|round) |"' "$out/decision.json"
    echo
    echo "## Throughput in process (criterion: each iteration decides the whole set once, in order)"
    echo
    echo "| set | median time per iteration | commands/s |"
    echo "|---|---:|---:|"
    for b in "$target"/criterion/decide/*/*/new; do
        [ -f "$b/estimates.json" ] || continue
        jq -r --slurpfile e "$b/estimates.json" \
            '"| \(.title) | \($e[0].median.point_estimate/1e6*100|round/100) ms | \(.throughput.Elements / ($e[0].median.point_estimate/1e9) | round) |"' \
            "$b/benchmark.json"
    done
    echo
    for f in cold sandbox; do
        [ $f = cold ] && echo "## Cold start (hyperfine, one process per call)" || echo "## Sandbox overhead (hyperfine -N)"
        echo
        echo "| command | median ms | mean ± σ ms | min ms |"
        echo "|---|---:|---:|---:|"
        jq -r '.results[] | "| \(.command) | \(.median*1000*100|round/100) | \(.mean*1000*100|round/100) ± \(.stddev*1000*100|round/100) | \(.min*1000*100|round/100) |"' "$out/$f.json"
        echo
    done
    echo "## Dev corpus through each hook (one process per command)"
    echo
    echo "| hook | calls | median ms | p99 ms | deny items let through | deny items asked | allow items blocked | of which asked | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    jq -r '.summary[] | "| \(.tool) | \(.calls) | \(.median_ms*100|round/100) | \(.p99_ms*100|round/100) | \(.deny_let_through) of \(.deny_items) | \(.deny_asked) | \(.allow_blocked) of \(.allow_items) | \(.allow_asked) | \(.errors) |"' "$out/hooks.json"
} >"$out/summary.md"
cat "$out/summary.md"
echo >&2
echo "results in $out (summary.md, decision.txt, *.json)" >&2
