#!/usr/bin/env bash
# Builds the example audit log shown in docs/audit.md: real shellgate
# hook decisions on a sample of the real-world corpora (../shared/corpora/real),
# half under ../shared/eval-policy.toml and half under a candidate that
# adds one soft_deny rule, then prints `audit report` with a before/after
# comparison and `audit replay` of the first half under the candidate.
# Everything is written to a temp dir. Usage: bench/audit-example.sh [STEP]
# (every STEP-th corpus line; default 40).
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:-40}
shared=../shared
cargo build --release -q -p shellgate
bin=$PWD/target/release/shellgate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=/home/dev SHELLGATE_AUDIT_LOG=$work/audit.jsonl SHELLGATE_STATE_DIR=$work/state \
       SHELLGATE_MANAGED_POLICY=/nonexistent
cp "$shared/eval-policy.toml" "$work/before.toml"
cp "$shared/eval-policy.toml" "$work/after.toml"
cat >> "$work/after.toml" <<'TOML'

[soft_deny]
rules = ["$defaults", { id = "no-kill-all", description = "stopping every process of a name needs a person", command = ["killall", "pkill"] }]
TOML
harnesses=(claude-code codex gemini cursor)
n=0
feed() { # policy file, lines
  local policy=$1
  while IFS= read -r cmd; do
    h=${harnesses[$((n % 4))]}
    case $h in
      claude-code|codex) tool=Bash; ev=PreToolUse ;;
      gemini) tool=run_shell_command; ev=BeforeTool ;;
      cursor) tool=""; ev=beforeShellExecution ;;
    esac
    if [ "$h" = cursor ]; then
      jq -cn --arg c "$cmd" --arg s "sess$((n / 25))" '{hook_event_name:"beforeShellExecution",command:$c,cwd:"/home/dev/project",conversation_id:$s,generation_id:"g"}'
    else
      jq -cn --arg c "$cmd" --arg t "$tool" --arg e "$ev" --arg s "sess$((n / 25))" --arg id "toolu_$n" \
        '{hook_event_name:$e,tool_name:$t,tool_input:{command:$c},cwd:"/home/dev/project",session_id:$s,tool_use_id:$id}'
    fi | "$bin" hook "$h" --policy "$policy" >/dev/null 2>&1 || true
    n=$((n + 1))
  done
}
sample() { cat "$shared"/corpora/real/*.txt | awk -v s="$step" -v o="$1" 'NR % s == o'; }
sample 0 | feed "$work/before.toml"
split=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
sample 1 | feed "$work/after.toml"
echo "\$ shellgate audit report --before ..$split --after $split.."
"$bin" audit report --before "..$split" --after "$split.."
echo
echo "\$ shellgate audit replay --policy after.toml --until $split"
"$bin" audit replay --policy "$work/after.toml" --until "$split"
