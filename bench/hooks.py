#!/usr/bin/env python3
"""Runs pre-tool hooks over the labelled dev corpus, one process per command,
and reports what each lets through and how long each call takes.

Every tool gets the same Claude Code PreToolUse payload per command (tool
Bash, cwd /home/dev/project, a fresh session id) and is read the way Claude
Code reads it (code.claude.com/docs/en/hooks): exit 2 blocks; on exit 0 the
stdout JSON's hookSpecificOutput.permissionDecision says allow, ask or deny;
no output means the hook has no objection (the call goes ahead). Any other
exit code, unreadable output and a hook that runs past its timeout are
non-blocking errors in Claude Code: the call goes ahead, so they count as
let through (and are also counted as errors).

Usage: hooks.py OUT.json NAME[@CWD]=COMMAND... < dev-labelled.jsonl
where COMMAND is a shell-quoted argv (it gets the payload on stdin) and CWD
the payload's cwd for that tool (default /home/dev/project, the corpus's
graded environment; a tool that needs the directory to exist gets one).
The summary table is printed; OUT.json holds every call.
"""

import json
import os
import shlex
import statistics
import subprocess
import sys
import time

CWD = "/home/dev/project"
TIMEOUT_S = 60  # Claude Code's default hook timeout is 60 s


def payload(i: int, command: str, cwd: str) -> bytes:
    return json.dumps(
        {
            "session_id": f"bench-{i}",
            "transcript_path": "/tmp/shellgate-bench-transcript.jsonl",
            "cwd": cwd,
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "bench"},
            "tool_use_id": f"toolu_bench_{i}",
        }
    ).encode()


def verdict(rc: int, out: bytes) -> str:
    if rc == 2:
        return "deny"
    if rc != 0:
        return "error"
    text = out.strip()
    if not text:
        return "none"
    try:
        doc = json.loads(text)
    except ValueError:
        return "error"
    if not isinstance(doc, dict):
        return "error"
    hso = doc.get("hookSpecificOutput")
    hso = hso if isinstance(hso, dict) else {}
    d = hso.get("permissionDecision") or doc.get("decision")
    if d in (None, ""):
        return "none"
    if not isinstance(d, str):
        return "error"
    d = {"approve": "allow", "block": "deny"}.get(d, d)
    return d if d in ("allow", "ask", "deny") else "error"


def call(argv: list, data: bytes) -> tuple:
    """Runs one hook process; returns (verdict, milliseconds)."""
    start = time.perf_counter()
    try:
        p = subprocess.run(argv, input=data, capture_output=True, timeout=TIMEOUT_S)
        v = verdict(p.returncode, p.stdout)
    except subprocess.TimeoutExpired:
        v = "error"
    return v, (time.perf_counter() - start) * 1e3


def main() -> None:
    out_path, tools = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    items = [json.loads(l) for l in sys.stdin if l.strip()]
    calls = []
    summary = []
    for spec, cmd in tools:
        name, _, cwd = spec.partition("@")
        argv = shlex.split(cmd)
        times, rows = [], []
        for i, item in enumerate(items):
            v, ms = call(argv, payload(i, item["command"], cwd or CWD))
            times.append(ms)
            rows.append((item, v))
            calls.append({"tool": name, "id": item.get("id"), "expect": item["expect"], "verdict": v, "ms": ms})
        deny = [v for it, v in rows if it["expect"] == "deny"]
        allow = [v for it, v in rows if it["expect"] == "allow"]
        # What lets the call go ahead in Claude Code.
        passes = ("allow", "none", "error")
        times.sort()
        summary.append(
            {
                "tool": name,
                "calls": len(rows),
                "median_ms": statistics.median(times),
                "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
                "deny_items": len(deny),
                "deny_let_through": sum(v in passes for v in deny),
                "deny_asked": sum(v == "ask" for v in deny),
                "allow_items": len(allow),
                "allow_blocked": sum(v not in passes for v in allow),
                "allow_asked": sum(v == "ask" for v in allow),
                "errors": sum(v == "error" for _, v in rows),
            }
        )
    with open(out_path, "w") as f:
        json.dump({"summary": summary, "calls": calls}, f, indent=1)
    print(
        f"{'hook':<16} {'calls':>5} {'median ms':>9} {'p99 ms':>8} "
        f"{'deny items let through':>22} {'deny items asked':>16} {'allow items blocked':>19} {'errors':>6}"
    )
    for s in summary:
        print(
            f"{s['tool']:<16} {s['calls']:>5} {s['median_ms']:>9.2f} {s['p99_ms']:>8.2f} "
            f"{s['deny_let_through']:>12} of {s['deny_items']:<7} {s['deny_asked']:>16} "
            f"{s['allow_blocked']:>9} of {s['allow_items']:<7} {s['errors']:>6}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
