"""``ner info``: what a model bundle holds, without loading the model."""

from __future__ import annotations

import argparse

from ner.bundle import describe
from ner.data.embeddings import describe_coverage
from ner.io.files import strict_dumps

HELP = "describe a model bundle"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help=HELP,
                       description="Encoder, head, sizes, parameters, labels, training data (path and "
                                   "content hash), metrics, versions and status of a bundle.")
    p.add_argument("model", metavar="MODEL", help="model bundle folder (models/NAME)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    info = describe(args.model)
    if args.json:
        print(strict_dumps(info, ensure_ascii=False))
        return 0
    print(f"{info['path']}: {info['encoder']} + {info['head']} ({info['status']}, format {info['format_version']})")
    if info["members"] is None:
        print("sizes:      " + ", ".join(f"{k} {v}" for k, v in info["sizes"].items()))
    else:
        how = "emission and transition scores" if info["head"] == "crf" else "tag probabilities"
        print(f"members:    {len(info['members'])}, their {how} averaged")
        for m in info["members"]:
            scores = "".join(f", {k[:-3]} F1 {m[k]:.4f}" for k in ("dev_f1", "test_f1") if k in m)
            print(f"  {m['path']} ({m['encoder']}, seed {m['seed']}{scores})")
    print(f"context:    {info['context']}" + ("" if info["context"] == "sentence" else
                                                  " (batches keep documents whole; a text is a document)"))
    print(f"parameters: {info['parameters']:,}")
    print(f"scheme:     {info['scheme']} ({len(info['labels'])} labels: {' '.join(info['labels'])})")
    vectors = info["vectors"]
    mib = info["words"] * sum(info["word_dims"]) * 4 / 2**20
    table = f"; word table{'s' * (len(info['word_dims']) > 1)} {mib:,.1f} MiB"
    if vectors is None or "vocabulary" not in vectors:
        print(f"words:      {info['words']:,}" + (table if vectors is None else
              f" ({vectors['words']:,} start from {vectors['dim']}-d vectors of {vectors['file']}; "
              f"{vectors['not_in_train_or_dev']:,} of those are in no train or dev sentence{table})"))
    else:
        print(f"words:      {info['words']:,} ({vectors['words']:,} start from a vector, "
              f"{'frozen' if vectors['frozen'] else 'trained'}{table})")
        for line in describe_coverage(vectors):
            print(f"vectors:    {line}")
    data = info["data"]
    print(f"data:       {data['path']} (sha256 {data['hash'][:16]}…, scheme {data['scheme']}; {data['dev']})")
    if info["members"] is None:
        print(f"epochs:     best {info['best_epoch']} of {info['epochs_run']} run")
    for split, m in info["metrics"].items():
        print(f"{split + ':':<12}P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}")
    print("versions:   " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    return 0
