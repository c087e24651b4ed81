"""Tagging latency: cold start of ``ner tag MODEL "one sentence"`` and warm ``Tagger.tag`` per sentence.

    python bench/latency.py [--model models/NAME] [--repeats 5] [--calls 200] [--bulk CONLL]

Without --model, a default-size bilstm-cnn + CRF bundle is trained on data/sample (3 epochs) into
bench/runs/latency-model first. Cold start: wall time of the whole ``ner tag`` process (Python start,
imports, bundle load, tagging one sentence), median of --repeats runs, for the numpy engine (default) and
the Keras engine (with ner's fast exit, and with Python's normal teardown). Warm: median and 95th
percentile of ``Tagger.tag`` on one 12-token sentence over --calls calls after 10 warm-up calls, in this
process, for both engines. The first line printed gives the commit, command line, machine and library
versions (``bench/_provenance.py``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _provenance import line

SENTENCE = "Angela Merkel visited Paris on Tuesday to meet officials of the European Commission."


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="bundle to use (default: train one on data/sample)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--bulk", metavar="CONLL",
                   help="also time Tagger.tag_sentences on every sentence of this CoNLL file with both engines "
                        "(e.g. ../shared/data/conll2003/test.txt)")
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
    # Cold starts, alternately: the default numpy engine, and the Keras engine (TensorFlow import, model
    # load, tracing) exiting through ner.cli.run, and the same with Python's normal interpreter teardown.
    commands = {"numpy": [sys.executable, "-m", "ner", "tag", str(model), SENTENCE],
                "keras": [sys.executable, "-m", "ner", "tag", str(model), SENTENCE, "--engine", "keras"],
                "keras, normal teardown": [sys.executable, "-c",
                                           "import sys; from ner.cli import main; sys.exit(main())",
                                           "tag", str(model), SENTENCE, "--engine", "keras"]}
    cold: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            t0 = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cold[name].append(time.perf_counter() - t0)
    taggers = {engine: ner.Tagger.load(model, engine=engine) for engine in ("numpy", "keras")}
    warm: dict[str, list[float]] = {}
    for engine, tagger in taggers.items():
        for _ in range(10):
            tagger.tag(SENTENCE)
        times = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            tagger.tag(SENTENCE)
            times.append(time.perf_counter() - t0)
        warm[engine] = sorted(times)
    bulk = {}
    if args.bulk:
        from ner.data.conll import read_conll

        sentences = [s.tokens for s in read_conll(args.bulk, tag_col=None) if s.tokens]
        for engine, tagger in taggers.items():
            tagger.tag_sentences(sentences[:300])             # warm-up (Keras traces its shapes)
            t0 = time.perf_counter()
            tagger.tag_sentences(sentences)
            bulk[engine] = time.perf_counter() - t0
    print(line(keras.backend.backend()))
    print(f"model {model}")
    for name, times in cold.items():
        print(f"cold start `ner tag MODEL \"one sentence\"`, {name}: median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}, {args.repeats} runs)")
    for name, times in warm.items():
        print(f"warm Tagger.tag, one sentence, {name}: median {1000 * statistics.median(times):.1f} ms, "
              f"p95 {1000 * times[int(0.95 * len(times)) - 1]:.1f} ms ({args.calls} calls)")
    for name, seconds in bulk.items():
        print(f"bulk Tagger.tag_sentences of {args.bulk}, {name}: {seconds:.2f} s "
              f"({len(sentences) / seconds:,.0f} sentences/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
