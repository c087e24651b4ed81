"""Tagging latency: cold start of ``ner tag MODEL "one sentence"`` and warm ``Tagger.tag`` per sentence.

    python bench/latency.py [--model models/NAME] [--repeats 5] [--calls 200]

Without --model, a default-size bilstm-cnn + CRF bundle is trained on data/sample (3 epochs) into
bench/runs/latency-model first. Cold start: wall time of the whole ``ner tag`` process (Python start,
imports, bundle load, tagging one sentence), median of --repeats runs. Warm: median and 95th percentile
of ``Tagger.tag`` on one 12-token sentence over --calls calls after 10 warm-up calls, in this process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SENTENCE = "Angela Merkel visited Paris on Tuesday to meet officials of the European Commission."


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="bundle to use (default: train one on data/sample)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--calls", type=int, default=200)
    args = p.parse_args()

    import keras

    import ner
    from ner.bundle import read_meta
    from ner.errors import NerError

    model = Path(args.model or "bench/runs/latency-model")
    if not args.model:
        try:
            read_meta(model)
        except NerError:
            ner.train(data="data/sample", encoder="bilstm-cnn", epochs=3, out=str(model), verbose=0)
    # `python -m ner` exits through ner.cli.run (no interpreter teardown); the second command runs the same
    # main() and then lets Python tear down normally, as `ner` did before: both measured alternately.
    commands = {"cold": [sys.executable, "-m", "ner", "tag", str(model), SENTENCE],
                "teardown": [sys.executable, "-c", "import sys; from ner.cli import main; sys.exit(main())",
                             "tag", str(model), SENTENCE]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            t0 = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t0)
    cold, teardown = times["cold"], times["teardown"]
    tagger = ner.Tagger.load(model)
    for _ in range(10):
        tagger.tag(SENTENCE)
    warm = []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        tagger.tag(SENTENCE)
        warm.append(time.perf_counter() - t0)
    warm.sort()
    print(f"backend {keras.backend.backend()}; model {model}")
    print(f"cold start `ner tag MODEL \"one sentence\"`: median {statistics.median(cold):.2f} s "
          f"(min {min(cold):.2f}, max {max(cold):.2f}, {args.repeats} runs)")
    print(f"the same with Python's normal interpreter teardown: median {statistics.median(teardown):.2f} s "
          f"(min {min(teardown):.2f}, max {max(teardown):.2f})")
    print(f"warm Tagger.tag, one sentence: median {1000 * statistics.median(warm):.1f} ms, "
          f"p95 {1000 * warm[int(0.95 * len(warm)) - 1]:.1f} ms ({args.calls} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
