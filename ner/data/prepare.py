"""Corpus to training data: dev held out when missing, tags in the training scheme, vocabularies, batches.

``prepare_corpus(dataset, ...)`` is the one call training makes; the result holds the splits (tags in the
data's scheme, for scoring), the training tags, the vocabularies and builds the training batches.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ner.data.corpus import CorpusSpec, corpus_scheme, fingerprints, is_dataset
from ner.data.embeddings import load_vectors
from ner.data.schemes import convert
from ner.data.vocab import Vocab, Vocabularies, build_vocabularies
from ner.errors import NerError

if TYPE_CHECKING:
    import datasets

    from ner.data.batching import TaggingBatches


def corpus_hash(spec: CorpusSpec) -> str:
    """sha256 of the corpus files (a file, or every file under a folder); of the spec for hub names; of the
    split fingerprints for a ``datasets`` object."""
    digest = hashlib.sha256()
    if is_dataset(spec):
        digest.update(json.dumps(fingerprints(spec), sort_keys=True).encode())
        return digest.hexdigest()
    spec = str(spec)
    path = Path(spec)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
    if not files:
        digest.update(spec.encode())
    for f in files:
        digest.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


@dataclass
class Prepared:
    """A corpus ready for training.

    ``splits``: {split: (tokens, tags)} with tags in the data's scheme ``data_scheme`` (what scores compare);
    ``train_tags``: the train split's tags in the training scheme; ``dev_note`` says where dev came from;
    ``vector_words``: words of the vocabulary that are in no train or dev sentence, there for their vectors.
    """

    splits: dict[str, tuple[list[list[str]], list[list[str]]]]
    data_scheme: str
    dev_note: str
    train_tags: list[list[str]]
    vocabs: Vocabularies
    vector_words: int = 0

    def batches(self, layout: dict, batch_size: int, seed: int, word_dropout: float) -> TaggingBatches:
        """Shuffled training batches (:class:`ner.data.batching.TaggingBatches`); ``layout`` from the model."""
        from ner.data.batching import TaggingBatches

        return TaggingBatches(self.splits["train"][0], self.vocabs, self.train_tags, batch_size=batch_size,
                              shuffle=True, seed=seed, word_dropout=word_dropout, **layout)


def prepare_corpus(dataset: datasets.DatasetDict, *, name: str, scheme: str, seed: int, dev_fraction: float,
                   min_freq: int = 1, lowercase: bool = True, digits: bool = True, vocabs: Vocabularies | None = None,
                   vocabs_from: str = "", vectors: str | os.PathLike | None = None) -> Prepared:
    """Splits, training tags and vocabularies of a loaded corpus (``name`` in messages), trained in ``scheme``.

    Without a dev split a share ``dev_fraction`` of train (chosen by ``seed``) is held out. Vocabularies come
    from train + dev, plus, with a ``vectors`` file, the words of any split that have a vector there
    (:func:`with_vector_words`); or they are ``vocabs`` (from the ``--init`` bundle ``vocabs_from``), which
    must know every training tag.
    """
    splits, note = _splits(dataset, name, seed, dev_fraction)
    data_scheme = corpus_scheme(dataset)
    train_tags = to_training_scheme(splits["train"][1], data_scheme, scheme)
    added = 0
    if vocabs is None:
        vocabs = training_vocabularies(splits, data_scheme, scheme, name, min_freq, lowercase, digits)
        if vectors:
            size = len(vocabs.words)
            vocabs = with_vector_words(vocabs, splits, vectors)
            added = len(vocabs.words) - size
    else:
        unknown = sorted({t for seq in train_tags for t in seq} - set(vocabs.labels.items))
        if unknown:
            raise NerError(f"--init: {vocabs_from} does not know the label(s) {', '.join(unknown[:5])}")
    return Prepared(splits, data_scheme, note, train_tags, vocabs, added)


def with_vector_words(vocabs: Vocabularies, splits: dict, vectors: str | os.PathLike) -> Vocabularies:
    """``vocabs`` with every word of any split (test included) that is not a training word but has a vector in
    the file ``vectors``, added after the training words: such a word keeps its pretrained vector instead of
    becoming ``<unk>`` (the vectors come from the file, never from the split's tags)."""
    words = vocabs.words
    new = list(dict.fromkeys(words.normalize(t) for tokens, _ in splits.values() for sentence in tokens
                             for t in sentence if t not in words))
    if not new:
        return vocabs
    known = words.decode(range(len(words)))   # specials first, then the items
    specials = len(known) - len(words.items)
    found = load_vectors(vectors, known + new, skip=specials).rows   # row ids into known + new
    added = [new[row - len(known)] for row in found if row >= len(known)]
    grown = Vocab(words.items + added, pad=words.pad, unk=words.unk, lowercase=words.lowercase, digits=words.digits)
    return Vocabularies(grown, vocabs.chars, vocabs.labels)


def _splits(dataset, name: str, seed: int, dev_fraction: float) -> tuple[dict, str]:
    if "train" not in dataset:
        raise NerError(f"{name}: the corpus has no train split")
    splits = {split: (list(ds["tokens"]), list(ds["tags"])) for split, ds in dataset.items()}
    empty = [split for split in splits if len(splits[split][0]) == 0]
    if empty:
        raise NerError(f"{name}: split {empty[0]} has no sentences")
    if "dev" in splits:
        return splits, "dev split of the corpus"
    tokens, tags = splits["train"]
    if len(tokens) < 2:
        raise NerError(f"{name}: too few training sentences to hold out a dev split")
    order = np.random.default_rng(seed).permutation(len(tokens))
    n_dev = max(1, int(round(dev_fraction * len(tokens))))
    dev, train = sorted(order[:n_dev]), sorted(order[n_dev:])
    splits["dev"] = ([tokens[i] for i in dev], [tags[i] for i in dev])
    splits["train"] = ([tokens[i] for i in train], [tags[i] for i in train])
    return splits, f"no dev split: held out {n_dev} of {len(tokens)} training sentences ({dev_fraction:.0%})"


def to_training_scheme(tags: list[list[str]], data_scheme: str, scheme: str) -> list[list[str]]:
    return [convert(t, data_scheme, scheme) for t in tags]


def full_label_set(tags: list[list[str]], scheme: str) -> list[str]:
    """Every tag of every entity type seen, in ``scheme`` (so constraints and conversions are complete)."""
    types = sorted({t.split("-", 1)[1] for seq in tags for t in seq if t != "O"})
    prefixes = "BIES" if scheme == "bioes" else "BI"
    return ["O"] + [f"{p}-{label}" for label in types for p in prefixes]


def training_vocabularies(splits: dict, data_scheme: str, scheme: str, name: str, min_freq: int = 1,
                          lowercase: bool = True, digits: bool = True) -> Vocabularies:
    """Word, character and label vocabularies from the train and dev splits (never from test)."""
    tokens = splits["train"][0] + splits["dev"][0]
    tags = to_training_scheme(splits["train"][1] + splits["dev"][1], data_scheme, scheme)
    labels = full_label_set(tags, scheme)
    if labels == ["O"]:
        raise NerError(f"{name}: no entities in the train and dev splits (every tag is O): nothing to learn")
    vocabs = build_vocabularies(tokens, tags, min_freq=min_freq, lowercase=lowercase, digits=digits)
    vocabs.labels = Vocab(labels, pad=False, unk=False)
    return vocabs
