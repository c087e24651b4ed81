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
    cold = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ner", "tag", str(model), SENTENCE], check=True,
                       capture_output=True)
        cold.append(time.perf_counter() - t0)
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
    print(f"warm Tagger.tag, one sentence: median {1000 * statistics.median(warm):.1f} ms, "
          f"p95 {1000 * warm[int(0.95 * len(warm)) - 1]:.1f} ms ({args.calls} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
