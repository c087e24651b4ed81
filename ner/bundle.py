"""Model bundles: a folder holding a trained tagger and everything needed to use and judge it.

Layout of ``models/NAME/``::

    bundle.json    format_version, status (complete | interrupted), versions, data path + hash, parameters
    model.keras    the Keras model (:func:`load_model`; Keras alone after importing ner.model.network and
                   ner.model.optimizers, no custom_objects)
    weights.npz    the same weights for ner.inference.runtime (numpy tagging without Keras), when it covers the encoder
    vocab.json     word, character and label vocabularies
    config.json    the training configuration (model settings included)
    history.json   one object per epoch: loss, dev precision/recall/f1, seconds, learning rate
    metrics.json   {"dev": scores, "test": scores}, each an ``ner.evaluation.entity_scores`` object

A bundle is written into a temporary sibling folder and swapped into place when complete, so a crash
never leaves a half-written folder, or none, under the final name (:mod:`ner.io.outputs`).
"""

from __future__ import annotations

import json
import os
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ner.data.schemes import TRAIN_SCHEMES
from ner.data.vocab import Vocabularies
from ner.errors import NerError
from ner.io.files import write_json
from ner.io.outputs import replace_folder, restore

if TYPE_CHECKING:
    from ner.model.network import SequenceTagger

FORMAT_VERSION = 1
STATUSES = ("complete", "interrupted")
WEIGHTS = "weights.npz"
REQUIRED = ("bundle.json", "model.keras", "vocab.json", "config.json", "history.json", "metrics.json")


@dataclass
class Bundle:
    """A loaded bundle. ``model`` is a ``ner.model.network.SequenceTagger``; the rest are the JSON files."""

    path: Path
    model: SequenceTagger | None
    vocabs: Vocabularies
    config: dict
    meta: dict
    history: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def write_bundle(out: str | os.PathLike, *, model: SequenceTagger, vocabs: Vocabularies, config: dict, meta: dict,
                 history: list, metrics: dict) -> Path:
    """Write a bundle to ``out`` and return it: into a temporary sibling folder, swapped in when complete
    (:func:`ner.io.outputs.replace_folder`), so ``out`` holds the old or the new complete bundle at every instant.
    """
    if meta.get("status") not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {meta.get('status')!r}")

    from ner.model.arrays import export_arrays  # imports Keras: a bundle is read without it

    def fill(folder: Path) -> None:
        model.save(folder / "model.keras")
        arrays = export_arrays(model)
        if arrays is not None:
            np.savez(folder / WEIGHTS, **arrays)
        vocabs.save(folder / "vocab.json")
        write_json(folder / "config.json", config)
        write_json(folder / "history.json", history)
        write_json(folder / "metrics.json", metrics)
        write_json(folder / "bundle.json", {"format_version": FORMAT_VERSION, **meta})   # last: marks it complete

    replace_folder(out, fill)
    return Path(out)


def bundle_path(path: object) -> Path:
    """``path`` as a Path; anything but a str or path (None, say) is a NerError, not pathlib's TypeError."""
    if not isinstance(path, (str, os.PathLike)):
        raise NerError(f"model bundle: expected a folder path, got {type(path).__name__}")
    return Path(path)


def read_meta(path: str | os.PathLike) -> dict:
    """Check that ``path`` is a complete bundle of a format this version reads; return bundle.json."""
    path = bundle_path(path)
    restore(path)
    if not path.exists():
        raise NerError(f"{path}: no such model bundle")
    if not path.is_dir():
        raise NerError(f"{path}: not a model bundle (expected a folder)")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise NerError(f"{path}: incomplete model bundle (missing {', '.join(missing)}); "
                       "it may be half-written or not a bundle")
    try:
        meta = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
        version = int(meta["format_version"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:  # Overflow: 1e400
        raise NerError(f"{path / 'bundle.json'}: unreadable bundle metadata ({type(exc).__name__}: {exc})") from None
    if version > FORMAT_VERSION:
        raise NerError(f"{path}: bundle format version {version} is newer than this ner reads "
                       f"({FORMAT_VERSION}); upgrade ner")
    return meta


def load_bundle(path: str | os.PathLike, model: bool = True) -> Bundle:
    """Load a bundle folder (any backend can load a bundle written by any other).

    ``model=False`` skips the Keras model (``Bundle.model`` is None) and never imports Keras.
    """
    path = Path(path)
    meta = read_meta(path)

    def load_json(name, kind):
        try:
            value = json.loads((path / name).read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:
            raise NerError(f"{path / name}: unreadable JSON ({exc})") from None
        if not isinstance(value, kind):
            what = "a JSON object" if kind is dict else "a JSON list"
            raise NerError(f"{path / name}: corrupt bundle file (expected {what})")
        return value

    config = load_json("config.json", dict)
    if config.get("scheme") not in TRAIN_SCHEMES:
        raise NerError(f"{path / 'config.json'}: corrupt bundle file (scheme {config.get('scheme')!r}, expected one "
                       f"of {', '.join(TRAIN_SCHEMES)})")
    bundle = Bundle(path=path, model=load_model(path) if model else None,
                    vocabs=Vocabularies.load(path / "vocab.json"), config=config, meta=meta,
                    history=load_json("history.json", list), metrics=load_json("metrics.json", dict))
    if bundle.model is not None:
        check_model(path, bundle.model, bundle.vocabs, bundle.config)
    return bundle


def load_model(path: str | os.PathLike) -> SequenceTagger:
    """The Keras model of the bundle at ``path`` (a ``ner.model.network.SequenceTagger``)."""
    import keras

    import ner.model.ensemble  # noqa: F401  (registers the serializable layers and models)
    import ner.model.network  # noqa: F401
    import ner.model.optimizers  # noqa: F401  (and the optimizers that compiled models are saved with)

    file = Path(path) / "model.keras"
    with open(file, "rb") as f:   # a file-system error stays an OSError
        if not zipfile.is_zipfile(f):   # Keras would say "File not found"
            raise NerError(f"{file}: corrupt model file (not a .keras zip archive)")
    try:
        return keras.saving.load_model(file)
    except Exception as exc:  # a damaged archive: report, don't dump a backend traceback
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise NerError(f"{file}: corrupt model file, cannot load it ({type(exc).__name__}: {reason})") from None


def check_parts(path: str | os.PathLike, source: str, facts: dict, vocabs: Vocabularies, config: dict) -> None:
    """Refuse (NerError naming ``path/source``) a bundle whose parts do not belong together.

    ``facts``: what the weights in ``source`` ("model.keras" or "weights.npz") show: "words" and "chars"
    (table rows), "labels" (a count or the list), and config.json settings ("hidden", "crf", ...; a config
    value of null is not checked). Only the facts given are checked.
    """
    where = Path(path) / source
    for key, size, what in (("words", len(vocabs.words), "words"), ("chars", len(vocabs.chars), "characters")):
        if key in facts and facts[key] != size:
            raise NerError(f"{where}: made for {facts[key]} {what}, but vocab.json has {size}; the bundle's files "
                           "do not belong together")
    labels = list(vocabs.labels.items)
    theirs = facts.get("labels", labels)
    count = len(theirs) if isinstance(theirs, list) else theirs
    if count != len(labels):
        raise NerError(f"{where}: made for {count} labels, but vocab.json has {len(labels)}; the bundle's files "
                       "do not belong together")
    if isinstance(theirs, list) and theirs != labels:
        raise NerError(f"{where}: made for other labels than vocab.json's; the bundle's files do not belong together")
    for name, value in facts.items():
        if name not in ("words", "chars", "labels") and config.get(name) is not None and config[name] != value:
            raise NerError(f"{where}: built with {name} {json.dumps(value)}, but config.json says "
                           f"{json.dumps(config[name])}; the bundle's files do not belong together")


def check_model(path: str | os.PathLike, model: SequenceTagger, vocabs: Vocabularies, config: dict) -> None:
    """:func:`check_parts` for the Keras model (``ner.model.network.SequenceTagger``, or an
    ``ner.model.ensemble.EnsembleTagger``) of the bundle at ``path``."""
    settings = model.config
    facts = {"words": model.num_words, "chars": model.num_chars, "labels": list(model.labels),
             "crf": settings["head"] == "crf", "scheme": settings["scheme"]}
    if "members" not in settings:   # an ensemble (ner.model.ensemble) has its members' settings
        facts.update({k: settings[k] for k in ("encoder", "word_dim", "hidden", "layers", "dropout", "char_cnn",
                                               "casing_dim", "constraints")})
    check_parts(path, "model.keras", facts, vocabs, config)


# ---------------------------------------------------------------- description

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
    """What a bundle is, as ``ner info`` shows it (and ``ner serve``'s /models): every value checked for the type it
    is printed as; a value missing or of the wrong type raises NerError naming the file."""
    meta = read_meta(path)
    path = Path(path)
    with _reading(path / "config.json"):
        config = _load(path / "config.json")
        trained = [m["config"] for m in config["members"]] if config.get("ensemble") else [config]
        sizes = {} if config.get("ensemble") else {k: config[k] for k in ("word_dim", "hidden", "layers", "dropout",
                                                                          "char_cnn", "casing_dim")}
        model = {"encoder": str(config["encoder"]), "head": "crf" if config["crf"] else "softmax", "sizes": sizes,
                 "scheme": str(config["scheme"]), "word_dims": [int(c["word_dim"]) for c in trained],
                 "context": ", ".join(sorted({str(c.get("context", "sentence")) for c in trained}))}
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
