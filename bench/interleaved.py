#!/usr/bin/env python3
"""Times whole commands interleaved, for A/B comparisons on a noisy machine.

    bench/interleaved.py [--rounds N] [--warmup N] [--json FILE] CMD [CMD ...]

Each CMD is one shell-quoted command line (split with shlex, run without a
shell). Every round runs each command once, in a fresh random order, and
times it from spawn to exit (`os.posix_spawn` and `waitpid`, wall clock,
nanoseconds). A machine whose speed drifts over minutes (a shared virtual
machine) shifts every command of a round alike, so the medians and above
all the per-round differences stay comparable where consecutive blocks of
runs (hyperfine's order) do not.

Prints, per command: the median and the 10th/90th percentiles in
milliseconds, and the median of its per-round difference to the first
command (the baseline), with the share of rounds in which it was faster.
A command that exits non-zero stops the bench (what it measured would be
an error path). With --json, writes every sample too.
"""

import argparse
import json
import os
import random
import shlex
import statistics
import sys
import time


def run_once(argv):
    """Spawns argv with stdin/stdout on /dev/null; returns (ns, status)."""
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=FILE_ACTIONS)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter_ns() - start, status


FILE_ACTIONS = [
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
]


def quantile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", help="write every sample (ns) to this file")
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()
    commands = [shlex.split(c) for c in args.commands]
    times = [[] for _ in commands]
    order = list(range(len(commands)))
    for n in range(args.warmup + args.rounds):
        random.shuffle(order)
        for i in order:
            ns, status = run_once(commands[i])
            if status != 0:
                sys.exit(f"interleaved.py: `{args.commands[i]}` exited with wait status {status}")
            if n >= args.warmup:
                times[i].append(ns)
    base = times[0]
    for cmd, samples in zip(args.commands, times):
        ms = [t / 1e6 for t in samples]
        diffs = [(t - b) / 1e6 for t, b in zip(samples, base)]
        faster = sum(d < 0 for d in diffs) / len(diffs)
        print(
            f"{statistics.median(ms):7.3f} ms  (p10 {quantile(ms, 0.1):6.3f}, p90 {quantile(ms, 0.9):6.3f})"
            f"  vs first {statistics.median(diffs):+6.3f} ms, faster in {faster:4.0%}  {cmd}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"commands": args.commands, "ns": times}, f)


if __name__ == "__main__":
    main()
