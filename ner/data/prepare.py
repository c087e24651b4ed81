"""Corpus to training data: dev held out when missing, tags in the training scheme, vocabularies, batches.

``prepare_corpus(dataset, ...)`` is the one call training makes; the result holds the splits (tags in the
data's scheme, for scoring), the training tags, the vocabularies and builds the training batches.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ner.data.corpus import CorpusSpec, corpus_scheme, fingerprints, is_dataset, split_documents
from ner.data.embeddings import TIERS, PretrainedVectors, load_vectors
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
    ``documents``: {split: the document of each sentence} (a number per sentence); ``train_tags``: the train
    split's tags in the training scheme; ``dev_note`` says where dev came from;
    ``pretrained``: the vectors of a ``vectors`` file for the rows of ``vocabs.words``, and ``vector_report``
    (JSON-ready, see :func:`with_vectors`) what they cover.
    """

    splits: dict[str, tuple[list[list[str]], list[list[str]]]]
    data_scheme: str
    dev_note: str
    train_tags: list[list[str]]
    vocabs: Vocabularies
    pretrained: PretrainedVectors | None = None
    vector_report: dict = field(default_factory=dict)
    documents: dict[str, list[int]] = field(default_factory=dict)

    def batches(self, layout: dict, batch_size: int, seed: int, word_dropout: float) -> TaggingBatches:
        """Shuffled training batches (:class:`ner.data.batching.TaggingBatches`); ``layout`` from the model."""
        from ner.data.batching import TaggingBatches

        return TaggingBatches(self.splits["train"][0], self.vocabs, self.train_tags, batch_size=batch_size,
                              shuffle=True, seed=seed, word_dropout=word_dropout,
                              documents=self.documents.get("train"), **layout)


def prepare_corpus(dataset: datasets.DatasetDict, *, name: str, scheme: str, seed: int, dev_fraction: float,
                   min_freq: int = 1, lowercase: bool = True, digits: bool = True, vocabs: Vocabularies | None = None,
                   vocabs_from: str = "", vectors: str | os.PathLike | None = None,
                   extra_vector_words: int = 0) -> Prepared:
    """Splits, training tags and vocabularies of a loaded corpus (``name`` in messages), trained in ``scheme``.

    Without a dev split a share ``dev_fraction`` of train (chosen by ``seed``) is held out. Vocabularies come
    from train + dev, grown with a ``vectors`` file (:func:`with_vectors`: words of any split that have a vector,
    and the file's first ``extra_vector_words`` words); or they are ``vocabs`` (from the ``--init`` bundle
    ``vocabs_from``), which must know every training tag.
    """
    splits, note, documents = _splits(dataset, name, seed, dev_fraction)
    data_scheme = corpus_scheme(dataset)
    train_tags = to_training_scheme(splits["train"][1], data_scheme, scheme)
    if vocabs is not None:
        unknown = sorted({t for seq in train_tags for t in seq} - set(vocabs.labels.items))
        if unknown:
            raise NerError(f"--init: {vocabs_from} does not know the label(s) {', '.join(unknown[:5])}")
        return Prepared(splits, data_scheme, note, train_tags, vocabs, documents=documents)
    vocabs = training_vocabularies(splits, data_scheme, scheme, name, min_freq, lowercase, digits)
    if not vectors:
        return Prepared(splits, data_scheme, note, train_tags, vocabs, documents=documents)
    grown, pretrained, report = with_vectors(vocabs, splits, vectors, extra_vector_words)
    return Prepared(splits, data_scheme, note, train_tags, grown, pretrained, report, documents)


def with_vectors(vocabs: Vocabularies, splits: dict, vectors: str | os.PathLike,
                 extra: int = 0) -> tuple[Vocabularies, PretrainedVectors, dict]:
    """Read the file ``vectors`` once and grow the word vocabulary with its words.

    Added after the training words: every word of any split (test included) that is not in ``vocabs`` but has a
    vector (so it keeps its pretrained vector instead of becoming ``<unk>``; the vectors come from the file,
    never from a split's tags), then the file's first ``extra`` words not yet in (files list the most frequent
    first; raw text tagged later finds them). Returns the grown vocabularies, their rows' vectors and a report:
    ``file``, ``dim``, ``words`` (rows with a vector), ``vocabulary`` (train and dev words) with how many of them
    found a vector ``exact`` / by ``lowercase`` / by ``digits``, ``added`` {"corpus", "file"} and ``oov``
    {split: {"before", "after"}}: the share of the split's tokens whose word is not a training word (one of a
    train sentence that the vocabulary kept), and of those that also have no vector.
    """
    words = vocabs.words
    known = words.decode(range(len(words)))   # specials first, then the items
    specials = len(known) - len(words.items)
    new = list(dict.fromkeys(w for tokens, _ in splits.values() for sentence in tokens for t in sentence
                             if t not in words and (w := words.normalize(t)) not in known[:specials]))
    found = load_vectors(vectors, known + new, skip=specials, extra=extra, normalize=words.normalize)
    covered = set(found.rows.tolist())
    from_corpus = [i for i in range(len(known), len(known) + len(new)) if i in covered]
    order = list(range(len(known))) + from_corpus + list(range(len(known) + len(new),
                                                               len(known) + len(new) + len(found.extra_words)))
    ids = np.full(len(known) + len(new) + len(found.extra_words), -1, dtype=np.int64)
    ids[order] = np.arange(len(order))   # row in known + new + extra -> id in the grown vocabulary
    pretrained = replace(found, rows=ids[found.rows], vocabulary_size=len(order) - specials)
    grown = Vocab(words.items + [new[i - len(known)] for i in from_corpus] + found.extra_words, pad=words.pad,
                  unk=words.unk, lowercase=words.lowercase, digits=words.digits)
    tiers = found.tier_counts(np.arange(specials, len(known)))
    train_words = {words.normalize(t) for sentence in splits["train"][0] for t in sentence} & set(words.items)
    with_vector = set(grown.decode(pretrained.rows))
    oov = {}
    for split in ("dev", "test"):
        tokens = [words.normalize(t) for sentence in splits.get(split, ([], []))[0] for t in sentence]
        if tokens:
            unseen = [t for t in tokens if t not in train_words]
            oov[split] = {"before": round(len(unseen) / len(tokens), 4),
                          "after": round(sum(t not in with_vector for t in unseen) / len(tokens), 4)}
    report = {"file": str(vectors), "dim": found.dim, "words": found.covered, "vocabulary": len(words.items),
              **{tier: tiers[tier] for tier in TIERS},
              "added": {"corpus": len(from_corpus), "file": len(found.extra_words)}, "oov": oov}
    return Vocabularies(grown, vocabs.chars, vocabs.labels), pretrained, report


def _splits(dataset, name: str, seed: int, dev_fraction: float) -> tuple[dict, str, dict]:
    if "train" not in dataset:
        raise NerError(f"{name}: the corpus has no train split")
    splits = {split: (list(ds["tokens"]), list(ds["tags"])) for split, ds in dataset.items()}
    documents = {split: split_documents(ds) for split, ds in dataset.items()}
    empty = [split for split in splits if len(splits[split][0]) == 0]
    if empty:
        raise NerError(f"{name}: split {empty[0]} has no sentences")
    if "dev" in splits:
        return splits, "dev split of the corpus", documents
    tokens, tags = splits["train"]
    if len(tokens) < 2:
        raise NerError(f"{name}: too few training sentences to hold out a dev split")
    order = np.random.default_rng(seed).permutation(len(tokens))
    n_dev = max(1, int(round(dev_fraction * len(tokens))))
    dev, train = sorted(order[:n_dev]), sorted(order[n_dev:])
    splits["dev"] = ([tokens[i] for i in dev], [tags[i] for i in dev])
    splits["train"] = ([tokens[i] for i in train], [tags[i] for i in train])
    documents["dev"] = [documents["train"][i] for i in dev]
    documents["train"] = [documents["train"][i] for i in train]
    return splits, f"no dev split: held out {n_dev} of {len(tokens)} training sentences ({dev_fraction:.0%})", documents


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
