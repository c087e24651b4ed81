"""Model input arrays from tokenized sentences, with numpy only (no Keras import).

``encode_sentence`` turns one sentence into id arrays; ``pad_inputs`` lays several out as the model's
inputs {"words": (B, T), "chars": (B, T, C), "casing": (B, T)}, int32, 0 at padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ner.data.vocab import Vocabularies, casing_id


class EncodedSentence(NamedTuple):
    """Ids of one sentence of n tokens: words (n,), casing (n,), chars (sum of word lengths,), word_len (n,)."""

    words: np.ndarray
    casing: np.ndarray
    chars: np.ndarray
    word_len: np.ndarray


def encode_sentence(tokens: Sequence[str], vocabs: Vocabularies) -> EncodedSentence:
    return EncodedSentence(vocabs.words.encode(tokens),
                           np.array([casing_id(t) for t in tokens], dtype=np.int32),
                           vocabs.chars.encode("".join(tokens)),
                           np.array([len(t) for t in tokens], dtype=np.int64))


def pad_inputs(rows: Sequence[EncodedSentence], steps: int, chars: int) -> dict[str, np.ndarray]:
    """Right-padded inputs of ``rows`` with T = ``steps`` >= the longest sentence and C = ``chars`` >= the
    longest word."""
    out = {"words": np.zeros((len(rows), steps), dtype=np.int32),
           "chars": np.zeros((len(rows), steps, chars), dtype=np.int32),
           "casing": np.zeros((len(rows), steps), dtype=np.int32)}
    for row, s in enumerate(rows):
        n = len(s.words)
        out["words"][row, :n] = s.words
        out["casing"][row, :n] = s.casing
        if s.chars.size:
            lens = s.word_len
            pos = np.arange(s.chars.size) - np.repeat(np.cumsum(lens) - lens, lens)
            out["chars"][row, np.repeat(np.arange(n), lens), pos] = s.chars
    return out
