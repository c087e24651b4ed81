"""``ner info``: what a model bundle holds, without loading the model."""

from __future__ import annotations

import json

from ner.bundle import read_meta


HELP = "describe a model bundle"


def register(sub) -> None:
    p = sub.add_parser("info", help=HELP,
                       description="Encoder, head, sizes, parameters, labels, training data (path and "
                                   "content hash), metrics, versions and status of a bundle.")
    p.add_argument("model", metavar="MODEL", help="model bundle folder (models/NAME)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def describe(path) -> dict:
    from pathlib import Path

    meta = read_meta(path)
    path = Path(path)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    labels = vocab["labels"]["items"]
    return {
        "path": str(path), "status": meta["status"], "format_version": meta["format_version"],
        "encoder": config["encoder"], "head": "crf" if config["crf"] else "softmax",
        "sizes": {k: config[k] for k in ("word_dim", "hidden", "layers", "dropout", "char_cnn", "casing_dim")},
        "scheme": config["scheme"], "parameters": meta["parameters"], "labels": labels,
        "data": meta["data"], "best_epoch": meta.get("best_epoch"), "epochs_run": meta.get("epochs_run"),
        "metrics": {split: {k: m[k] for k in ("precision", "recall", "f1")} for split, m in metrics.items()},
        "versions": meta["versions"],
    }


def run(args) -> int:
    info = describe(args.model)
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    print(f"{info['path']}: {info['encoder']} + {info['head']} ({info['status']}, format {info['format_version']})")
    print("sizes:      " + ", ".join(f"{k} {v}" for k, v in info["sizes"].items()))
    print(f"parameters: {info['parameters']:,}")
    print(f"scheme:     {info['scheme']} ({len(info['labels'])} labels: {' '.join(info['labels'])})")
    data = info["data"]
    print(f"data:       {data['path']} (sha256 {data['hash'][:16]}…, scheme {data['scheme']}; {data['dev']})")
    print(f"epochs:     best {info['best_epoch']} of {info['epochs_run']} run")
    for split, m in info["metrics"].items():
        print(f"{split + ':':<12}P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}")
    print("versions:   " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    return 0
