"""Accuracy benchmark: a tagger trained on CoNLL-2003 with the default recipe, over several seeds.

    python bench/accuracy.py --data ../shared/data/conll2003 --encoder bilstm-cnn --seeds 1,2,3 \
        --out bench/runs/conll-bilstm-cnn-crf

Each seed is a normal ``ner.train`` run (random-init embeddings; vocabularies from train and dev only;
epoch chosen by dev F1 with early stopping) whose bundle lands in OUT/seed-N; a rerun skips seeds whose
bundle is complete, so the benchmark can be run in pieces. Afterwards it prints, per seed, the best
epoch, epochs run, wall time and dev/test entity F1, and the mean and standard deviation of test F1,
and writes them to OUT/summary.json with the commit, command line, machine and library versions of this
invocation (``bench/_provenance.py``; each run's bundle also records the versions it trained with).
Extra ``ner train`` settings go after ``--`` as KEY=VALUE (e.g. ``-- lr=0.001 casing_dim=0``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from _provenance import line, provenance


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/conll2003"))
    p.add_argument("--encoder", default="bilstm-cnn")
    p.add_argument("--no-crf", dest="crf", action="store_false")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--out", default="bench/runs/conll-bilstm-cnn-crf")
    p.add_argument("settings", nargs="*", help="extra training settings KEY=VALUE")
    args = p.parse_args()

    import ner
    from ner.bundle import load_bundle, read_meta
    from ner.errors import NerError

    extra = {k: _value(v) for k, v in (s.split("=", 1) for s in args.settings)}
    out = Path(args.out)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        path = out / f"seed-{seed}"
        try:
            done = read_meta(path)["status"] == "complete"
        except NerError:
            done = False
        if not done:
            t0 = time.perf_counter()
            ner.train(data=args.data, encoder=args.encoder, crf=args.crf, seed=seed, out=str(path), verbose=2,
                      **extra)
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        bundle = load_bundle(path)
        rows.append({"seed": seed, "best_epoch": bundle.meta["best_epoch"], "epochs_run": bundle.meta["epochs_run"],
                     "train_seconds": bundle.meta["train_seconds"], "dev_f1": bundle.metrics["dev"]["f1"],
                     "test_f1": bundle.metrics["test"]["f1"], "backend": bundle.meta["versions"]["backend"]})
    f1s = [r["test_f1"] for r in rows]
    summary = {"data": args.data, "encoder": args.encoder, "crf": args.crf, "settings": extra, "runs": rows,
               "test_f1_mean": statistics.mean(f1s), "test_f1_std": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
               **provenance()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(line())
    print("| seed | best epoch | epochs run | wall s | dev F1 | test F1 |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['best_epoch']} | {r['epochs_run']} | {r['train_seconds']:.0f} | "
              f"{r['dev_f1']:.4f} | {r['test_f1']:.4f} |")
    print(f"\nmean test F1 {summary['test_f1_mean']:.4f} ± {summary['test_f1_std']:.4f} over {len(rows)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
