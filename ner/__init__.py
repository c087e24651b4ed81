"""ner: build, compare and apply neural sequence labellers for named-entity recognition (Keras 3).

Public API (imported lazily, so ``import ner`` does not start a Keras backend)::

    ner.load_corpus(spec)             -> datasets.DatasetDict with "tokens", "tags" and "document" columns
    ner.train(data=..., encoder=...)  -> path of the written model bundle
    ner.ensemble([bundle, ...], out)  -> path of one bundle that tags with all of them
    ner.evaluate(model_or_path, data) -> entity-level scores (seqeval)
    ner.Tagger.load(path).tag(text)   -> entities with character offsets and scores
    ner.compare(...)                  -> comparison report across encoder swaps
    ner.probe(...)                    -> F1 against dependency distance on generated long-range tasks
"""

from importlib import import_module

__version__ = "0.1.0"

_API = {
    "load_corpus": "ner.data.corpus",
    "train": "ner.training.fit",
    "TrainConfig": "ner.training.config",
    "ensemble": "ner.training.ensemble",
    "evaluate": "ner.evaluation",
    "Tagger": "ner.inference.tagger",
    "compare": "ner.comparison.grid",
    "probe": "ner.comparison.probe",
}

__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'ner' has no attribute {name!r}")
