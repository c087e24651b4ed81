"""Seed ensembles on CoNLL-2003: test F1 with N members, how to combine them (chosen on dev), decoding speed.

    python bench/ensemble.py --data ../shared/data/conll2003 --members bench/runs/conll-members \
        [--sizes 3,5] [--out bench/results/ensemble-cpu.json]

--members is a folder of trained bundles ``seed-N`` (bench/accuracy.py writes them; their seeds disjoint from the
single-model seeds of the accuracy table). For each size N, the first N members (in seed order) are combined with
``ner.ensemble`` into bench/runs/ensemble-N (kept and reused). Printed and saved:

- per size: dev and test F1 of the ensemble, and the members' single-model test F1 (mean ± std) beside it;
- dev F1 of the two ways to combine CRF members: averaged emission and transition scores, then one Viterbi
  (what ``ner ensemble`` does), against averaged per-token marginals, then the most probable tag per token
  (numpy runtime, forward-backward per member);
- decoding speed on the test split, sentences/s (best of --repeats passes), numpy and Keras engines, one member
  against each ensemble.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _provenance import line, provenance


def marginal_tags(members: list, tagger, tokens: list[list[str]], documents: list[int]) -> list[list[str]]:
    """Tags from the members' mean CRF marginals (numpy runtime), most probable tag per token; members with
    document context read ``documents`` whole."""
    from ner.data.arrays import encode_sentence, pack_documents, packed_length, pad_inputs

    gap = max(m.char_gap for m in members)
    reads = any(m.reads_documents for m in members)
    out: list[list[str]] = [[] for _ in tokens]
    for rows in pack_documents(documents if reads else range(len(tokens)), 128):
        encoded = [encode_sentence(tokens[i], tagger.vocabs) for i in rows]
        inputs = pad_inputs(encoded, max(len(e.words) for e in encoded),
                            max(packed_length(e, gap) for e in encoded), gap,
                            [documents[i] for i in rows] if reads else None)
        lengths = np.array([len(e.words) for e in encoded])
        total = 0.0
        for m in members:
            emissions = m.emissions(inputs)
            alpha, beta, log_z = m.forward_backward(emissions, lengths)
            total = total + np.exp(alpha + beta - log_z[:, None, None])          # (B, T, K)
        best = total.argmax(axis=-1)
        for row, i in enumerate(rows):
            out[i] = tagger.vocabs.labels.decode(best[row, :lengths[row]])
    return out


def speed(fn, repeats: int, *args) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/conll2003")
    p.add_argument("--members", default="bench/runs/conll-members")
    p.add_argument("--sizes", default="3,5")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args()

    import keras

    import ner
    from ner.bundle import read_meta
    from ner.data.corpus import corpus_scheme, load_corpus, split_documents
    from ner.data.schemes import convert
    from ner.errors import NerError
    from ner.evaluation import entity_scores
    from ner.inference.tagger import Tagger

    members = sorted(Path(args.members).glob("seed-*"), key=lambda p: int(p.name.split("-")[1]))
    dataset = load_corpus(args.data)
    splits = {s: (list(dataset[s]["tokens"]), list(dataset[s]["tags"]), corpus_scheme(dataset[s]))
              for s in ("dev", "test")}
    documents = {s: split_documents(dataset[s]) for s in ("dev", "test")}
    singles = [json.loads((m / "metrics.json").read_text()) for m in members]
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        if size > len(members):
            sys.exit(f"--sizes {size}: only {len(members)} members in {args.members}")
        out = Path("bench/runs") / f"ensemble-{size}" if Path(args.members).name == "conll-members" else \
            Path("bench/runs") / f"ensemble-{Path(args.members).name}-{size}"
        try:
            read_meta(out)
        except NerError:
            ner.ensemble(members[:size], out=out, data=args.data)
        metrics = json.loads((out / "metrics.json").read_text())
        tagger = Tagger.load(out, engine="numpy")
        tokens, gold, scheme = splits["dev"]
        marginal = [convert(t, tagger.scheme, scheme)
                    for t in marginal_tags(tagger.runtime.members, tagger, tokens, documents["dev"])]
        test_f1 = [s["test"]["f1"] for s in singles[:size]]
        row = {"members": size, "seeds": [m.name for m in members[:size]], "dev_f1": metrics["dev"]["f1"],
               "test_f1": metrics["test"]["f1"], "dev_f1_marginals": entity_scores(gold, marginal, scheme)["f1"],
               "members_test_f1_mean": statistics.mean(test_f1),
               "members_test_f1_std": statistics.stdev(test_f1) if size > 1 else 0.0,
               "members_dev_f1_mean": statistics.mean(s["dev"]["f1"] for s in singles[:size])}
        test_tokens = splits["test"][0]
        for engine in ("numpy", "keras"):
            single, whole = Tagger.load(members[0], engine=engine), Tagger.load(out, engine=engine)
            single.tag_sentences(test_tokens[:64])
            whole.tag_sentences(test_tokens[:64])   # warm-up (Keras traces its functions)
            row[f"{engine}_single_sentences_per_s"] = len(test_tokens) / speed(
                single.tag_sentences, args.repeats, test_tokens, None, documents["test"])
            row[f"{engine}_ensemble_sentences_per_s"] = len(test_tokens) / speed(
                whole.tag_sentences, args.repeats, test_tokens, None, documents["test"])
        rows.append(row)
    print(line(keras.backend.backend()))
    print("| members | dev F1 (emissions averaged) | dev F1 (marginals averaged) | test F1 | members' test F1 "
          "(mean ± std) | numpy sent/s single → ensemble | Keras sent/s single → ensemble |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['members']} | {r['dev_f1']:.4f} | {r['dev_f1_marginals']:.4f} | {r['test_f1']:.4f} | "
              f"{r['members_test_f1_mean']:.4f} ± {r['members_test_f1_std']:.4f} | "
              f"{r['numpy_single_sentences_per_s']:.0f} → {r['numpy_ensemble_sentences_per_s']:.0f} | "
              f"{r['keras_single_sentences_per_s']:.0f} → {r['keras_ensemble_sentences_per_s']:.0f} |")
    if args.out:
        Path(args.out).write_text(json.dumps({**provenance(keras.backend.backend()), "data": args.data,
                                              "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
