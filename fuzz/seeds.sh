#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into fuzz/corpus/TARGET/
# (gitignored) from the shared corpora beside the repository:
#
#   parse_and_decide  one file per command: every command of
#                     ../shared/corpora/dev-labelled.jsonl and a sample of
#                     the lines of ../shared/corpora/real/*.txt
#   hook_input        each dev command and 50 of the real sample as a
#                     hook input in every harness's JSON shape, plus
#                     inputs for other tools, wrong events, missing fields
#                     and a byte-order mark
#   policy_load       ../shared/eval-policy.toml, edited variants of it,
#                     and the TOML examples of docs/policy.md and README.md
#
# Usage: fuzz/seeds.sh [REAL]   REAL: how many lines of the real corpora to
# take, evenly spread (default 2000), or `all`.
#
# Files are named by the SHA-1 of their content, as libFuzzer names the
# inputs it adds, so running this again adds nothing twice. Inputs the
# fuzzer found in fuzz/corpus/ are kept. Needs python3.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz_dir")
shared=${SHELLGATE_SHARED:-$repo/../shared}
real=${1:-2000}
case $real in
  all) ;;
  '' | *[!0-9]*)
    echo "usage: fuzz/seeds.sh [REAL] (a number of lines, or all)" >&2
    exit 2
    ;;
esac

if [ ! -f "$shared/corpora/dev-labelled.jsonl" ]; then
  echo "seeds.sh: $shared/corpora/dev-labelled.jsonl not found (the shared corpora belong beside the repository as ../shared, or set SHELLGATE_SHARED)" >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "seeds.sh: python3 is needed to write the seed corpora" >&2
  exit 1
fi

python3 - "$repo" "$shared" "$real" <<'PY'
import glob
import hashlib
import json
import os
import re
import sys

repo, shared, real_arg = sys.argv[1:4]
corpus = os.path.join(repo, "fuzz", "corpus")
counts = {}  # target -> set of file names


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    counts.setdefault(target, set()).add(path)


# ---- commands ----
dev = []
with open(os.path.join(shared, "corpora", "dev-labelled.jsonl"), encoding="utf-8") as f:
    for line in f:
        if line.strip():
            dev.append(json.loads(line)["command"])

real_lines = []
for p in sorted(glob.glob(os.path.join(shared, "corpora", "real", "*.txt"))):
    with open(p, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.strip() and not line.startswith(b"#"):
                real_lines.append(line)
if real_arg == "all" or int(real_arg) >= len(real_lines):
    sample = real_lines
else:
    n = int(real_arg)
    sample = [real_lines[i * len(real_lines) // n] for i in range(n)] if n > 0 else []

for c in dev:
    put("parse_and_decide", c)
for c in sample:
    put("parse_and_decide", c)

# ---- hook inputs, in the shapes tests/hooks.rs documents per harness ----
PROJECT = "/home/dev/project"


def claude(cmd):
    return {
        "session_id": "abc123",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-project/abc123.jsonl",
        "cwd": PROJECT,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": cmd, "description": "Run it", "timeout": 120000},
        "tool_use_id": "toolu_01ABC123",
    }


def codex(cmd):
    return {
        "session_id": "019a-thread",
        "turn_id": "turn-1",
        "transcript_path": None,
        "cwd": PROJECT,
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": {"command": cmd},
        "tool_use_id": "call-1",
    }


def cursor(cmd):
    return {
        "conversation_id": "c0nv-1",
        "generation_id": "gen-1",
        "hook_event_name": "beforeShellExecution",
        "workspace_roots": [PROJECT],
        "command": cmd,
        "cwd": PROJECT,
    }


def gemini(cmd):
    return {
        "session_id": "gem-1",
        "transcript_path": "/home/dev/.gemini/tmp/chats/session.json",
        "cwd": PROJECT,
        "hook_event_name": "BeforeTool",
        "timestamp": "2025-12-01T10:30:00Z",
        "tool_name": "run_shell_command",
        "tool_input": {"command": cmd, "description": "Run it", "dir_path": "src"},
    }


def copilot(cmd):
    return {
        "sessionId": "cop-1",
        "timestamp": 1704614600000,
        "cwd": PROJECT,
        "toolName": "bash",
        "toolArgs": json.dumps({"command": cmd, "description": "Run it"}),
    }


SHAPES = [claude, codex, cursor, gemini, copilot]


def hook(v):
    put("hook_input", json.dumps(v, ensure_ascii=False))


for c in dev + [l.decode("utf-8", "replace") for l in sample[:50]]:
    for shape in SHAPES:
        hook(shape(c))

# Other tools, other events, missing or mistyped fields, odd encodings.
edit = claude("x")
edit["tool_name"] = "Edit"
edit["tool_input"] = {"file_path": PROJECT + "/a.rs", "old_string": "a", "new_string": "b"}
hook(edit)
for shape in (claude, codex, gemini):
    v = shape("ls")
    v["hook_event_name"] = "PostToolUse"
    hook(v)
    v = shape("ls")
    del v["tool_input"]
    hook(v)
    v = shape("ls")
    v["tool_input"]["command"] = 7
    hook(v)
    v = shape("ls")
    v["cwd"] = "relative/dir"
    hook(v)
v = gemini("ls")
v["tool_input"]["dir_path"] = "/abs/dir"
hook(v)
v = gemini("ls")
del v["cwd"]
hook(v)
v = gemini("ls")
del v["tool_input"]["dir_path"]
v["tool_input"]["directory"] = "../up"
hook(v)
v = cursor("ls")
v["cwd"] = ""
hook(v)
v = cursor("ls")
v["hook_event_name"] = "beforeReadFile"
hook(v)
v = copilot("ls")
v["toolArgs"] = {"command": "rm -rf /"}
hook(v)
v = copilot("ls")
v["toolArgs"] = "{not json"
hook(v)
v = copilot("ls")
v["toolName"] = "write_bash"
v["toolArgs"] = json.dumps({"sessionId": "1", "input": "rm -rf ~"})
hook(v)
v = copilot("ls")
v["toolName"] = "view"
v["toolArgs"] = json.dumps({"path": "README.md"})
hook(v)
put("hook_input", b"\xef\xbb\xbf" + json.dumps(cursor("rm -rf /")).encode())
put("hook_input", json.dumps(claude("rm -rf /")))
put("hook_input", json.dumps(claude("echo \u00e9\u0000 ok")))
for raw in ["", "null", "[]", "{}", '"PreToolUse"', "{\"tool_name\": \"Bash\"}"]:
    put("hook_input", raw)

# ---- policies ----
with open(os.path.join(shared, "eval-policy.toml"), encoding="utf-8") as f:
    base = f.read()
put("policy_load", base)
docs = ""
for name in ("docs/policy.md", "README.md"):
    with open(os.path.join(repo, name), encoding="utf-8") as f:
        docs += f.read()
blocks = re.findall(r"```toml\n(.*?)```", docs, re.S)
for b in blocks:
    put("policy_load", b)
sections = [b for b in blocks if not b.lstrip().startswith("version")]
for tier in ("permissive", "restrictive"):
    put("policy_load", base.replace('tier = "balanced"', f'tier = "{tier}"'))
put("policy_load", base + "\n" + "\n".join(sections))
put("policy_load", base + '\n[hard_deny]\nrules = []\n')
put("policy_load", base + '\n[soft_deny]\nrules = ["$defaults", { id = "x", description = "y", command = "git", subcommand = ["push"], decision = "ask" }]\n')
put("policy_load", base + '\n[allow]\nrules = [{ id = "all-curl", description = "any curl", command = "curl" }]\n')
put("policy_load", base + '\n[permissions]\ndeny = ["Bash(rm:*)", "git push --force*"]\n')
put("policy_load", base + '\n[approvals]\nenabled = false\nttl_seconds = 0\n')
put("policy_load", base.replace("version = 1", "version = 2"))
put("policy_load", base + "\nunknown_key = true\n")

for t in sorted(counts):
    print(f"seeds: {len(counts[t]):6d} for {t} in {os.path.join(corpus, t)}")
PY
