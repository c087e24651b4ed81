"""Length-bucketed, padded numpy batches for tagging: a ``keras.utils.PyDataset`` (numpy only, no tf.data)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np

from ner.data.arrays import encode_sentence, pack_documents, packed_length, pad_inputs
from ner.data.vocab import Vocabularies
from ner.errors import NerError

BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128)
CPU_BUCKETS = (8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128)
CHAR_BUCKETS = (32, 64, 96, 128, 192, 256, 384, 512)
EXACT = (1,)
"""Buckets of one: every batch is padded only to its own longest sentence (or word)."""


def batch_layout(model: keras.Model, backend: str | None = None) -> dict:
    """:class:`TaggingBatches` keyword arguments for ``model`` (anything with a ``char_gap``, e.g. a
    ``ner.model.network.SequenceTagger``) on a Keras backend (default: the current one): ``char_gap``, the zeros its
    char CNN needs between packed words, ``context`` (whether it reads documents: its ``reads_documents``), and
    ``buckets`` and ``char_buckets``.

    TensorFlow runs one graph traced for unknown lengths, so any batch shape is free: pad each batch only to
    its own longest sentence and packed character row (counted on CoNLL-2003: 0.99 of the padded token slots
    are real instead of 0.77). JAX and PyTorch build a program per shape: a few buckets. JAX on a CPU, where
    every padded time step costs arithmetic, takes the finer :data:`CPU_BUCKETS` (CoNLL-2003, batch 32: 0.84
    of the token slots real instead of 0.77, 18 shapes instead of 10: faster epochs, longer compilation); on
    a GPU a time step costs about the same whatever the padding while each shape costs seconds of
    compilation. bench/README.md gives the measured speeds.
    """
    backend = backend or keras.backend.backend()
    model_side = {"char_gap": model.char_gap, "context": bool(getattr(model, "reads_documents", False))}
    if backend == "tensorflow":
        return {"buckets": EXACT, "char_buckets": EXACT, **model_side}
    buckets = CPU_BUCKETS if backend == "jax" and _jax_on_cpu() else BUCKETS
    return {"buckets": buckets, "char_buckets": CHAR_BUCKETS, **model_side}


def _jax_on_cpu() -> bool:
    import jax

    return jax.default_backend() == "cpu"


def bucket_length(n: int, buckets: Sequence[int]) -> int:
    """Smallest bucket >= n; beyond the last bucket, n rounded up to a multiple of the last bucket."""
    i = bisect_left(buckets, n)
    if i < len(buckets):
        return int(buckets[i])
    last = int(buckets[-1])
    return -(-n // last) * last


def _check_buckets(buckets: Sequence[int], name: str) -> tuple[int, ...]:
    out = tuple(int(b) for b in buckets)
    if not out or out[0] < 1 or any(a >= b for a, b in zip(out, out[1:])):
        raise NerError(f"{name} must be positive and strictly increasing, got {tuple(buckets)}")
    return out


class TaggingBatches(keras.utils.PyDataset):
    """Padded batches of sentences of similar length.

    Item i is ``(inputs, labels)``, or ``inputs`` when ``tags`` is None, where inputs = {"words": (B, T),
    "chars": (B, L), "casing": (B, T)} and labels (B, T), all int32 with 0 at padding (mask = words != 0).
    Characters are packed per sentence with ``char_gap`` zeros between words (``ner.data.arrays``; take the
    model's ``char_gap``). T = ``bucket_length`` of the longest sentence of the batch over ``buckets``, L
    likewise of its longest packed character row over ``char_buckets``: nothing is ever truncated and the
    number of distinct shapes stays small.

    Without ``shuffle``, sentences are sorted by length and cut into batches. With ``shuffle``, each epoch
    (``on_epoch_end`` advances it) sorts sentences by T bucket with ties in random order, then shuffles the
    batch order, all from ``(seed, epoch)``.

    With ``context`` (a model that reads documents), inputs also hold "doc" (B,) and "keys" (B, T)
    (``ner.data.arrays.pad_inputs``) and batches follow ``documents`` (the document of each sentence, any ints;
    default: each sentence its own), sentences of a document in their order. Without ``shuffle`` whole documents
    are packed into batches of at most ``batch_size`` sentences, a longer document taking one batch of its own,
    so a document is always seen whole; with ``shuffle`` the documents are put in random order and cut every
    ``batch_size`` sentences. Batches 0 and 1 always differ in T and in L whenever the batches
    differ at all: Keras' TensorFlow backend fixes the dataset's shape signature from the first two batches.
    ``epoch`` counts the complete epochs served (see ``on_epoch_end``; ``set_epoch`` to resume).

    ``word_dropout`` p: each word id in ``dropout_ids`` (default: words seen exactly once in ``tokens``) is
    replaced by the unknown id with probability p, drawn from ``(seed, epoch, batch)``. Use it for training.
    Other keyword arguments (workers, use_multiprocessing, max_queue_size) go to ``PyDataset``.
    """

    def __init__(
        self, tokens: Sequence[Sequence[str]], vocabs: Vocabularies, tags: Sequence[Sequence[str]] | None = None,
        *, batch_size: int = 32, shuffle: bool = False, seed: int = 0, buckets: Sequence[int] = BUCKETS,
        char_buckets: Sequence[int] = CHAR_BUCKETS, char_gap: int = 1, word_dropout: float = 0.0,
        dropout_ids: Iterable[int] | None = None, context: bool = False, documents: Sequence[int] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if batch_size < 1:
            raise NerError(f"batch_size must be at least 1, got {batch_size}")
        if char_gap < 1:
            raise NerError(f"char_gap must be at least 1, got {char_gap}")
        if not 0.0 <= word_dropout < 1.0:
            raise NerError(f"word_dropout must be in [0, 1), got {word_dropout}")
        if tags is not None and len(tags) != len(tokens):
            raise NerError(f"{len(tokens)} token sentences but {len(tags)} tag sentences")
        if documents is not None and len(documents) != len(tokens):
            raise NerError(f"{len(tokens)} token sentences but {len(documents)} documents")
        self.context = bool(context)
        self._documents = None
        if self.context:
            self._documents = np.arange(len(tokens)) if documents is None else np.asarray(documents, dtype=np.int64)
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.buckets = _check_buckets(buckets, "buckets")
        self.char_buckets = _check_buckets(char_buckets, "char_buckets")
        self.char_gap, self.word_dropout = int(char_gap), float(word_dropout)

        words_v = vocabs.words
        self._encoded = [encode_sentence(s, vocabs) for s in tokens]
        self._words = [e.words for e in self._encoded]
        self._labels = None
        if tags is not None:
            self._labels = [self._encode_tags(vocabs, i, s, t) for i, (s, t) in enumerate(zip(tokens, tags))]
        self.lengths = np.array([len(s) for s in tokens], dtype=np.int64)
        self._t = np.array([bucket_length(n, self.buckets) for n in self.lengths.tolist()], dtype=np.int64)
        self._c = np.array([bucket_length(packed_length(e, self.char_gap), self.char_buckets)
                            for e in self._encoded], dtype=np.int64)
        self._droppable = self._dropout_mask(vocabs, dropout_ids) if self.word_dropout else None
        self._unk_id = words_v.unk_id
        self._epoch = 0
        self._batches = self._plan(0)
        self._built = np.zeros(len(self._batches), dtype=bool)   # which batches this epoch has served

    @staticmethod
    def _encode_tags(vocabs: Vocabularies, i: int, tokens: Sequence[str], tags: Sequence[str]) -> np.ndarray:
        if len(tags) != len(tokens):
            raise NerError(f"sentence {i}: {len(tags)} tags for {len(tokens)} tokens")
        try:
            return vocabs.labels.encode(tags)
        except NerError as e:
            raise NerError(f"sentence {i}: {e}") from None

    def _dropout_mask(self, vocabs: Vocabularies, dropout_ids: Iterable[int] | None) -> np.ndarray:
        """(len(words vocab),) bool: which word ids word dropout may replace."""
        words_v = vocabs.words
        if words_v.unk_id is None:
            raise NerError("word_dropout needs a word vocabulary with an unknown token")
        size = len(words_v)
        if dropout_ids is None:
            ids = np.concatenate(self._words) if self._words else np.zeros(0, np.int32)
            mask = np.bincount(ids, minlength=size) == 1
        else:
            ids = np.fromiter((int(i) for i in dropout_ids), dtype=np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= size):
                raise NerError(f"dropout_ids must lie in [0, {size}), the word vocabulary")
            mask = np.zeros(size, dtype=bool)
            mask[ids] = True
        mask[[i for i in (words_v.pad_id, words_v.unk_id) if i is not None]] = False
        return mask

    def _plan(self, epoch: int) -> list[np.ndarray]:
        """Sentence indices of every batch, in batch order, for this epoch."""
        n = len(self.lengths)
        if self.context:
            return self._shape_witnesses_first(self._document_plan(epoch))
        if self.shuffle:
            rng = np.random.default_rng([self.seed, epoch])
            order = np.lexsort((rng.permutation(n), self._t))
        else:
            order = np.argsort(self.lengths, kind="stable")
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle:
            batches = [batches[j] for j in rng.permutation(len(batches))]
        return self._shape_witnesses_first(batches)

    def _document_plan(self, epoch: int) -> list[np.ndarray]:
        """Batches of whole documents (or, shuffled, of documents in random order cut every batch_size)."""
        if not self.shuffle:
            return pack_documents(self._documents, self.batch_size)
        documents = pack_documents(self._documents, 1)                  # one document per entry, in order
        order = np.random.default_rng([self.seed, epoch]).permutation(len(documents))
        rows = np.concatenate([documents[d] for d in order]) if documents else np.zeros(0, np.int64)
        return [rows[i:i + self.batch_size] for i in range(0, len(rows), self.batch_size)]

    def _shape_witnesses_first(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Move to the front two batches that differ in T and in L wherever any two batches differ."""
        if len(batches) < 2:
            return batches
        t = np.array([self._t[b].max() for b in batches])
        c = np.array([self._c[b].max() for b in batches])
        vary_t, vary_c = bool((t != t[0]).any()), bool((c != c[0]).any())
        if not (vary_t or vary_c):
            return batches
        both = np.flatnonzero(((t != t[0]) | (not vary_t)) & ((c != c[0]) | (not vary_c)))
        if both.size:
            pair = [0, int(both[0])]
        else:   # every other batch shares T or L with batch 0, so q = (T', L0) and r = (T0, L') differ in both
            pair = [int(np.flatnonzero(t != t[0])[0]), int(np.flatnonzero(c != c[0])[0])]
        return [batches[j] for j in pair] + [b for j, b in enumerate(batches) if j not in pair]

    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Jump to the batches of ``epoch`` (e.g. to resume training)."""
        self._epoch = int(epoch)
        self._built[:] = False
        if self.shuffle:
            self._batches = self._plan(self._epoch)

    def on_epoch_end(self) -> None:
        """Advance to the next epoch once every batch of this one was built. Keras also calls this before
        the first epoch of ``fit``/``evaluate``/``predict`` (after building batches 0 and 1 to learn their
        shapes on TensorFlow): those calls do not count. With ``steps_per_epoch``, use ``set_epoch``."""
        if self._built.all():
            self.set_epoch(self._epoch + 1)

    def __len__(self) -> int:
        return len(self._batches)

    def batch_indices(self, i: int) -> np.ndarray:
        """Sentence indices (into ``tokens``) of the rows of batch i, this epoch."""
        return self._batches[range(len(self._batches))[i]].copy()

    def batch_shape(self, i: int) -> tuple[int, int, int]:
        """(B, T, L) of batch i without building it."""
        idx = self._batches[range(len(self._batches))[i]]
        return len(idx), int(self._t[idx].max()), int(self._c[idx].max())

    def __getitem__(self, i: int):
        i = range(len(self._batches))[i]  # IndexError past the end
        self._built[i] = True
        idx = self._batches[i]
        bsz, t, c = self.batch_shape(i)
        rows = idx.tolist()
        inputs = pad_inputs([self._encoded[s] for s in rows], t, c, self.char_gap,
                            None if self._documents is None else self._documents[idx])
        words = inputs["words"]
        labels = None
        if self._labels is not None:
            labels = np.zeros((bsz, t), dtype=np.int32)
            for row, s in enumerate(rows):
                labels[row, :len(self._labels[s])] = self._labels[s]
        if self._droppable is not None:
            rng = np.random.default_rng([self.seed, self._epoch, i])
            drop = self._droppable[words] & (rng.random(words.shape) < self.word_dropout)
            words[drop] = self._unk_id
        return inputs if labels is None else (inputs, labels)
