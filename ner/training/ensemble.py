"""Combine trained bundles into one ensemble bundle: ``ner.ensemble(["models/a", "models/b"], out="models/e")``.

The ensemble is an ordinary bundle (``ner tag``, ``ner evaluate``, ``ner info``, ``Tagger``, the numpy runtime and
``ner compare --from`` take it) whose model is a :class:`ner.model.ensemble.EnsembleTagger` over the members'
models; config.json says ``"ensemble": true`` and lists the members, bundle.json records each member's path and
scores.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from ner.bundle import load_bundle, read_meta, write_bundle
from ner.data.corpus import CorpusSpec, corpus_scheme, is_dataset, load_corpus, split_documents
from ner.errors import NerError
from ner.evaluation import score_split
from ner.io.outputs import claim
from ner.training.fit import versions


def ensemble(models: Iterable[str | os.PathLike], out: str | os.PathLike, data: CorpusSpec | None = None,
             verbose: int = 1) -> Path:
    """Write the ensemble of the bundles ``models`` to ``out`` and return its path.

    Members must share labels, training scheme, head and vocabularies (NerError naming the first that differs).
    With ``data``, the ensemble is scored on its dev and test splits (metrics.json, as ``ner train`` writes it);
    without, metrics.json is empty.
    """
    paths = [Path(m) for m in models]
    if not paths:
        raise NerError("ensemble: give at least one model bundle")
    for path in paths:
        if read_meta(path).get("members"):
            raise NerError(f"{path}: is an ensemble; give its members instead")
    inputs = (*paths, None if data is None or is_dataset(data) else data)
    with claim(out, flag="--out", inputs=inputs):
        return _ensemble(paths, Path(out), data, verbose)


def _ensemble(paths: list[Path], out: Path, data: CorpusSpec | None, verbose: int) -> Path:
    from ner.model.ensemble import EnsembleTagger, check_members  # imports Keras

    bundles = [load_bundle(path) for path in paths]
    check_members([(str(b.path), b.model, b.vocabs, b.config["scheme"]) for b in bundles])
    first = bundles[0]
    model = EnsembleTagger([b.model for b in bundles], name="ensemble")
    metrics = {}
    if data is not None:
        dataset = load_corpus(data)
        for split in ("dev", "test"):
            if split in dataset:
                tokens, gold = list(dataset[split]["tokens"]), list(dataset[split]["tags"])
                metrics[split], _ = score_split(model, first.vocabs, tokens, gold, corpus_scheme(dataset[split]),
                                                first.config["scheme"], documents=split_documents(dataset[split]))
    head = model.config["head"]
    config = {"ensemble": True, "encoder": f"ensemble{len(bundles)}", "crf": head == "crf",
              "scheme": first.config["scheme"], "members": [{"path": str(b.path), "config": b.config} for b in bundles]}
    meta = {"status": "complete", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(),
            "data": first.meta["data"], "parameters": sum(int(b.meta["parameters"]) for b in bundles),
            "train_seconds": sum(float(b.meta.get("train_seconds", 0)) for b in bundles),   # of the members
            "members": [{"path": str(b.path), "encoder": b.config.get("encoder"), "head": head,
                         "seed": b.config.get("seed"), **{f"{split}_f1": b.metrics[split]["f1"]
                                                          for split in ("dev", "test") if split in b.metrics}}
                        for b in bundles]}
    written = write_bundle(out, model=model, vocabs=first.vocabs, config=config, meta=meta, history=[],
                           metrics=metrics)
    if verbose:
        scores = ", ".join(f"{split} F1 {m['f1']:.4f}" for split, m in metrics.items())
        print(f"wrote {written} ({len(bundles)} members{'; ' + scores if scores else ''})",
              file=sys.stderr, flush=True)
    return written
