"""Tagging a large input with ``ner tag --input FILE --output OUT``: sentences/s and peak memory per executor.

    python bench/tag_large.py MODEL [--sentences 200000] [--data ../shared/data/conll2003] [--runs local:1,local:2]
        [--shard-size 1000] [--out bench/results/tag-large-cpu.jsonl]

Generates the input (never committed) in a temporary folder: --sentences lines, each a training sentence of
--data drawn at random (seed 0) with its tokens joined by spaces. Then, per run (EXECUTOR:JOBS), runs ``ner tag``
as a subprocess with the numpy engine and JSON output, and prints: wall seconds, sentences/s, the peak RSS of the
process tree (the ``ner`` process and its workers, summed, sampled every 0.1 s from /proc) and of its largest
process, and whether the output equals the first run's. Nothing else should run meanwhile.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _provenance import line, provenance


def generate(data: str, n: int, path: Path) -> None:
    blocks = (Path(data) / "train.txt").read_text(encoding="utf-8").strip().split("\n\n")
    texts = [" ".join(row.split()[0] for row in b.splitlines()) for b in blocks if not b.startswith("-DOCSTART-")]
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            f.write(rng.choice(texts) + "\n")


def tree_rss(root: int) -> tuple[int, int]:
    """(sum, max) of the resident set sizes (bytes) of ``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)       # fields[1]: ppid
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")    # fields[21]: rss in pages
    total, largest, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        largest = max(largest, rss.get(pid, 0))
        stack += children.get(pid, [])
    return total, largest


def run(model: str, source: Path, out: Path, executor: str, jobs: int, shard_size: int) -> dict:
    command = [sys.executable, "-m", "ner", "tag", model, "--input", str(source), "--output", str(out), "--quiet",
               "--engine", "numpy", "--jobs", str(jobs), "--executor", executor, "--shard-size", str(shard_size)]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    peak_sum = peak_one = 0
    while process.poll() is None:
        total, largest = tree_rss(process.pid)
        peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"ner tag failed ({process.returncode}): {' '.join(command)}")
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak_sum / 2**20, 1),
            "largest_process_rss_mib": round(peak_one / 2**20, 1),
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--sentences", type=int, default=200_000)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/conll2003"))
    p.add_argument("--runs", default="local:1,local:2", help="EXECUTOR:JOBS, comma-separated")
    p.add_argument("--shard-size", type=int, default=1000)
    p.add_argument("--out", default="bench/results/tag-large-cpu.jsonl", help="rows are appended here")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "input.txt"
        generate(args.data, args.sentences, source)
        print(line())
        print(f"input: {args.sentences:,} sentences, {source.stat().st_size / 2**20:.1f} MiB")
        print("| executor | jobs | wall s | sentences/s | peak RSS, all processes (MiB) | largest process (MiB) | "
              "same output |\n|---|---|---|---|---|---|---|")
        for spec in args.runs.split(","):
            executor, jobs = spec.split(":")
            result = run(args.model, source, Path(tmp) / f"out-{executor}-{jobs}.jsonl", executor, int(jobs),
                         args.shard_size)
            same = not rows or result["sha256"] == rows[0]["sha256"]
            row = {"executor": executor, "jobs": int(jobs), "sentences": args.sentences, **result,
                   "sentences_per_second": round(args.sentences / result["seconds"], 1),
                   "same_output_as_first": same, "shard_size": args.shard_size, "model": args.model,
                   **provenance()}
            rows.append(row)
            print(f"| {executor} | {jobs} | {result['seconds']:.1f} | {row['sentences_per_second']:,.0f} | "
                  f"{result['peak_rss_mib']:.0f} | {result['largest_process_rss_mib']:.0f} | {same} |", flush=True)
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
