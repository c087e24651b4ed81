"""Pretrained word vectors in GloVe / word2vec text format, matched to a word vocabulary.

File format: UTF-8 lines ``word v1 ... vd`` separated by spaces (or tabs); an optional first line ``count dim``
(word2vec). Each vocabulary word takes the vector of the same word in the file, else of its lowercase form,
else of the first file word that lowercases to it (so a lowercased vocabulary still finds "Paris").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ner.errors import InputError, NerError


@dataclass
class PretrainedVectors:
    """Vectors for vocabulary rows: ``rows`` (N,) int ids and ``vectors`` (N, dim) float32."""

    path: str
    dim: int
    rows: np.ndarray
    vectors: np.ndarray
    vocabulary_size: int   # vocabulary words that could be covered (padding and unknown excluded)

    @property
    def covered(self) -> int:
        return len(self.rows)

    def summary(self) -> str:
        share = 100.0 * self.covered / max(self.vocabulary_size, 1)
        return (f"{self.path}: covered {self.covered} of {self.vocabulary_size} vocabulary words "
                f"({share:.1f}%), {self.dim}-d vectors")


def load_vectors(path: str | os.PathLike, words: list[str], skip: int = 0) -> PretrainedVectors:
    """Read ``path`` and return vectors for ``words[skip:]`` (row ids index ``words``).

    Only words needed by the vocabulary are kept in memory. Raises InputError (file:line) for unreadable
    files, non-numeric or non-finite values (of the words kept) or inconsistent dimensions, and NerError
    when no vocabulary word is covered.
    """
    wanted = set(words[skip:]) | {w.lower() for w in words[skip:]}
    exact: dict[str, np.ndarray] = {}
    folded: dict[str, np.ndarray] = {}
    dim = None
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                parts = line.rstrip().split(" ")   # single spaces: words may hold other whitespace
                if len(parts) == 1 or (dim is not None and len(parts) != dim + 1):
                    parts = line.split()               # tab-separated files
                if not parts:
                    continue
                if number == 1 and len(parts) == 2 and parts[0].isdecimal() and parts[1].isdecimal():
                    dim = int(parts[1])   # word2vec header "count dim"
                    if dim < 1:
                        raise InputError("the header gives 0 dimensions", path, number)
                    continue
                if dim is None:
                    dim = len(parts) - 1
                    if dim < 1:
                        raise InputError("expected a word followed by its vector values", path, number)
                if len(parts) != dim + 1:
                    raise InputError(f"expected {dim} values after the word, found {len(parts) - 1}", path,
                                     number)
                word, lower = parts[0], parts[0].lower()
                if (word in wanted and word not in exact) or (lower in wanted and lower not in folded):
                    try:
                        with np.errstate(over="ignore"):   # beyond float32: inf, refused below
                            vector = np.asarray(parts[1:], dtype=np.float32)
                    except ValueError:
                        raise InputError("vector values must be numbers", path, number) from None
                    if not np.isfinite(vector).all():
                        raise InputError("vector values must be finite numbers (nan, inf or beyond float32 range "
                                         "found)", path, number)
                    if word in wanted:
                        exact.setdefault(word, vector)
                    if lower in wanted:
                        folded.setdefault(lower, vector)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", path) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a vector file", path) from None
    if dim is None:
        raise InputError("no vectors in the file", path)
    rows, vectors = [], []
    for row in range(skip, len(words)):
        word = words[row]
        vector = next((v for v in (exact.get(word), exact.get(word.lower()), folded.get(word.lower()))
                       if v is not None), None)
        if vector is not None:
            rows.append(row)
            vectors.append(vector)
    if not rows:
        raise NerError(f"{path}: none of the {len(words) - skip} vocabulary words has a vector in this file "
                       "(wrong file or language?)")
    return PretrainedVectors(str(Path(path)), dim, np.asarray(rows, dtype=np.int64),
                             np.stack(vectors), len(words) - skip)
