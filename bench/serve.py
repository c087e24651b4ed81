"""Load on ``ner serve``: N concurrent clients on localhost for a fixed time, single-sentence and batch requests.

    python bench/serve.py MODEL [--connections 32] [--seconds 20] [--batch 8] [--batch-wait-ms 5]
        [--max-batch 64] [--data ../shared/data/conll2003] [--out bench/results/serve-cpu.jsonl]

Starts ``ner serve MODEL`` on a free loopback port, then runs Debian's ``wrk`` (C, one thread: a cheap client that
leaves the server the machine's cores; ``apt-get install wrk``) with a Lua script that POSTs /tag bodies made of
test-split sentences of --data: one sentence per request, then --batch sentences per request (``texts``). Prints
per run: requests/s, sentences/s, p50/p95/p99 latency (ms), errors (socket errors and non-2xx answers), the
client's CPU seconds (user + system, from ``wrk``'s rusage) and the server's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _provenance import line, provenance

LUA = """
local bodies = {}
for body in io.lines("%s") do bodies[#bodies + 1] = body end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, "/tag", nil, bodies[i])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    + summary.errors.status
  io.write(string.format("RESULT %%d %%f %%f %%f %%f %%d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, errors))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sentences(data: str, n: int) -> list[str]:
    blocks = (Path(data) / "test.txt").read_text(encoding="utf-8").strip().split("\n\n")
    texts = [" ".join(row.split()[0] for row in b.splitlines()) for b in blocks if not b.startswith("-DOCSTART-")]
    return texts[:n]


def run_wrk(port: int, bodies: list[str], connections: int, seconds: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        lines, script = Path(folder) / "bodies.jsonl", Path(folder) / "post.lua"
        lines.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        script.write_text(LUA % lines, encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
                               str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields = next(row for row in done.stdout.splitlines() if row.startswith("RESULT")).split()[1:]
    requests, duration, p50, p95, p99, errors = int(fields[0]), *map(float, fields[1:5]), int(fields[5])
    return {"requests": requests, "seconds": duration, "requests_per_s": requests / duration, "p50_ms": p50,
            "p95_ms": p95, "p99_ms": p99, "errors": errors,
            "client_cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--data", default="../shared/data/conll2003")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--batch", type=int, default=8, help="sentences per request in the batch run")
    p.add_argument("--batch-wait-ms", type=float, default=5.0)
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--out", help="append one JSON row per run here")
    args = p.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ner", "serve", args.model, "--port", str(port),
                               "--batch-wait-ms", str(args.batch_wait_ms), "--max-batch", str(args.max_batch)])
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        texts = sentences(args.data, 2000)
        runs = {"single": ([json.dumps({"text": t}) for t in texts], 1),
                "batch": ([json.dumps({"texts": texts[i:i + args.batch]})
                           for i in range(0, len(texts) - args.batch + 1, args.batch)], args.batch)}
        print(line())
        print("| run | connections | requests/s | sentences/s | p50 ms | p95 ms | p99 ms | errors | client CPU s "
              "| server peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|")
        for name, (bodies, per_request) in runs.items():
            row = run_wrk(port, bodies, args.connections, args.seconds)
            status = Path(f"/proc/{server.pid}/status").read_text()
            row.update(run=name, connections=args.connections, sentences_per_request=per_request,
                       sentences_per_s=row["requests_per_s"] * per_request,
                       server_peak_rss_mib=int(status.split("VmHWM:")[1].split()[0]) / 1024,
                       batch_wait_ms=args.batch_wait_ms, max_batch=args.max_batch, model=args.model)
            print(f"| {name} ({per_request} sentence{'s' * (per_request > 1)}) | {args.connections} | "
                  f"{row['requests_per_s']:.0f} | {row['sentences_per_s']:.0f} | {row['p50_ms']:.1f} | "
                  f"{row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} | {row['client_cpu_s']:.1f} | "
                  f"{row['server_peak_rss_mib']:.0f} |", flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps({**provenance(), **row}) + "\n")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
