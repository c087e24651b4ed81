"""``ner info``: what a model bundle holds, without loading the model."""

from __future__ import annotations

import argparse
import json
import os
from contextlib import contextmanager
from pathlib import Path

from ner.bundle import read_meta
from ner.data.embeddings import describe_coverage
from ner.errors import NerError
from ner.io.files import strict_dumps

HELP = "describe a model bundle"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help=HELP,
                       description="Encoder, head, sizes, parameters, labels, training data (path and "
                                   "content hash), metrics, versions and status of a bundle.")
    p.add_argument("model", metavar="MODEL", help="model bundle folder (models/NAME)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


@contextmanager
def _reading(file: Path):
    """Turn bad JSON, a missing key or a value of the wrong type in ``file`` into one NerError naming it."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
        raise NerError(f"{file}: corrupt bundle file ({type(exc).__name__}: {exc})") from None


def _load(file: Path):
    return json.loads(file.read_text(encoding="utf-8"))


def describe(path: str | os.PathLike) -> dict:
    """What ``ner info`` shows, every value checked for the type it is printed as."""
    meta = read_meta(path)
    path = Path(path)
    with _reading(path / "config.json"):
        config = _load(path / "config.json")
        trained = [m["config"] for m in config["members"]] if config.get("ensemble") else [config]
        sizes = {} if config.get("ensemble") else {k: config[k] for k in ("word_dim", "hidden", "layers", "dropout",
                                                                          "char_cnn", "casing_dim")}
        model = {"encoder": str(config["encoder"]), "head": "crf" if config["crf"] else "softmax", "sizes": sizes,
                 "scheme": str(config["scheme"]), "word_dims": [int(c["word_dim"]) for c in trained]}
    with _reading(path / "vocab.json"):
        vocab = _load(path / "vocab.json")
        labels = [str(label) for label in vocab["labels"]["items"]]
        words = len(vocab["words"]["items"])
    with _reading(path / "metrics.json"):
        metrics = {str(split): {k: float(m[k]) for k in ("precision", "recall", "f1")}
                   for split, m in _load(path / "metrics.json").items()}
    with _reading(path / "bundle.json"):
        data = dict(meta["data"])
        data.update({k: str(data[k]) for k in ("path", "hash", "scheme", "dev")})
        return {
            "path": str(path), "status": str(meta["status"]), "format_version": meta["format_version"], **model,
            "parameters": int(meta["parameters"]), "labels": labels, "data": data,
            "words": words, "vectors": _vectors(meta.get("vectors")), "members": _members(meta.get("members")),
            "best_epoch": meta.get("best_epoch"), "epochs_run": meta.get("epochs_run"), "metrics": metrics,
            "versions": {str(k): str(v) for k, v in meta["versions"].items()},
        }


def _members(members: object) -> list[dict] | None:
    """bundle.json's "members" (of an ensemble), checked; None for a single model."""
    if members is None:
        return None
    return [{"path": str(m["path"]), "encoder": str(m["encoder"]), "seed": m.get("seed"),
             **{k: float(m[k]) for k in ("dev_f1", "test_f1") if k in m}} for m in members]


def _vectors(vectors: object) -> dict | None:
    """bundle.json's "vectors" (the pretrained vectors training started from), checked; None without."""
    if vectors is None:
        return None
    if not isinstance(vectors, dict):
        raise TypeError("vectors: expected an object")
    if "vocabulary" not in vectors:   # written before the coverage report
        return {"file": str(vectors["file"]), **{k: int(vectors[k]) for k in ("dim", "words", "not_in_train_or_dev")}}
    return {"file": str(vectors["file"]),
            **{k: int(vectors[k]) for k in ("dim", "words", "vocabulary", "exact", "lowercase", "digits")},
            "added": {k: int(vectors["added"][k]) for k in ("corpus", "file")},
            "oov": {str(split): {k: float(o[k]) for k in ("before", "after")} for split, o in vectors["oov"].items()},
            "frozen": bool(vectors["frozen"])}


def run(args: argparse.Namespace) -> int:
    info = describe(args.model)
    if args.json:
        print(strict_dumps(info, ensure_ascii=False))
        return 0
    print(f"{info['path']}: {info['encoder']} + {info['head']} ({info['status']}, format {info['format_version']})")
    if info["members"] is None:
        print("sizes:      " + ", ".join(f"{k} {v}" for k, v in info["sizes"].items()))
    else:
        print(f"members:    {len(info['members'])}, their emission and transition scores averaged")
        for m in info["members"]:
            scores = "".join(f", {k[:-3]} F1 {m[k]:.4f}" for k in ("dev_f1", "test_f1") if k in m)
            print(f"  {m['path']} ({m['encoder']}, seed {m['seed']}{scores})")
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
