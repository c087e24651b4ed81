"""Training speed with and without the non-finite check (``ner.training.fit.finite_guard``).

    python bench/nan_check.py [--data data/sample] [--encoder bilstm-cnn] [--epochs 4] [--repeats 3] [--json FILE]

Trains the same tagger (same seed) with the check and with it replaced by a plain Keras callback, in
alternating pairs, --repeats pairs. Speed of one run: training sentences × epochs after the first (which
includes tracing and compilation) / their fit seconds (history.json ``seconds``: dev scoring excluded).
Prints each run, the medians and their ratio, and where the figures came from (commit, command line,
machine, library versions: ``bench/_provenance.py``); --json appends one JSON line per run, each with
those. The backend is $KERAS_BACKEND (tensorflow by default). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

from _provenance import ROOT, provenance


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT / "data" / "sample"))
    p.add_argument("--encoder", default="bilstm-cnn")
    p.add_argument("--epochs", type=int, default=4, help="epochs per run, at least 2 (the first is not timed)")
    p.add_argument("--repeats", type=int, default=3, help="pairs of runs (with, without the check)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--word-dim", type=int, default=100)
    p.add_argument("--json", default="", help="append one JSON line per run to this file")
    args = p.parse_args()
    if args.epochs < 2 or args.repeats < 1:
        p.error("--epochs must be at least 2 and --repeats at least 1")

    import keras

    import ner.training.fit
    from ner.bundle import load_bundle

    guard = ner.training.fit.finite_guard
    settings = dict(data=args.data, encoder=args.encoder, epochs=args.epochs, batch_size=args.batch_size,
                    hidden=args.hidden, word_dim=args.word_dim, patience=0, verbose=0, seed=1)
    info = {**provenance(keras.backend.backend()), "settings": settings}
    print(json.dumps(info))
    speeds: dict[str, list[float]] = {"with": [], "without": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for check in ("with", "without"):
                ner.training.fit.finite_guard = guard if check == "with" else keras.callbacks.Callback
                keras.backend.clear_session()
                bundle = load_bundle(ner.training.fit.train(**settings, out=f"{tmp}/{check}{repeat}"), model=False)
                timed = bundle.history[1:]
                sentences = bundle.meta["data"]["sentences"]["train"] * len(timed)
                speed = sentences / sum(h["seconds"] for h in timed)
                speeds[check].append(speed)
                row = {"check": check, "repeat": repeat + 1, "sentences_per_second": round(speed, 1),
                       "epoch_seconds": [h["seconds"] for h in timed], **info}
                print(f"{check:>7} check, run {repeat + 1}: {speed:9.1f} train sentences/s", flush=True)
                if args.json:
                    with open(args.json, "a", encoding="utf-8") as f:
                        f.write(json.dumps(row) + "\n")
    with_, without = statistics.median(speeds["with"]), statistics.median(speeds["without"])
    print(f"median: with {with_:.1f}, without {without:.1f} sentences/s; the check costs "
          f"{100 * (1 - with_ / without):+.1f}% of the speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
