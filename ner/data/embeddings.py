"""Pretrained word vectors (GloVe, word2vec text or binary, fastText ``.vec``), matched to a word vocabulary.

Formats, each plain or gzip-compressed (recognised by its first bytes ``1f 8b``, whatever the file's name):

- **text** (GloVe, word2vec text, fastText ``.vec``): UTF-8 lines ``word v1 ... vd`` separated by spaces (or
  tabs), with an optional first line ``count dim`` (word2vec, fastText); blank lines are skipped.
- **word2vec binary**: the line ``count dim``, then for each word its UTF-8 bytes, a space and ``dim``
  little-endian float32 values, each record optionally followed by a newline (as gensim and word2vec write it).

Which one a file holds: a file whose first line is not ``count dim`` (two whole numbers) is text. After that
line, the file is text when the next non-blank line is a text vector line (``dim + 1`` fields, numbers after the
word); otherwise it is binary when the ``4 * dim`` bytes after the first word and its space hold a byte that text
never holds (invalid UTF-8, or a control character other than tab, carriage return and newline), and text when
they do not (the text reader then names the line that is wrong). A real binary file always has such a byte; the
``binary`` argument of ``load_vectors`` forces either reading.

Each vocabulary word takes, in this order (its *tier*): the vector of the same word in the file ("exact"); else of
its lowercase form, else of the first file word that lowercases to it ("lowercase": a lowercased vocabulary still
finds "Paris"); else of the first file word that is the same after lowercasing and replacing every digit by 0
("digits": "1999" for the vocabulary's "0000"). Files are read streaming; only the vectors of the vocabulary's
words are kept, and of the file's first ``extra`` words that the vocabulary lacks (files list the most frequent
words first).
"""

from __future__ import annotations

import codecs
import gzip
import os
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ner.data.vocab import zero_digits
from ner.errors import InputError, NerError

_GZIP_MAGIC = b"\x1f\x8b"
_FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")   # the first bytes of a fastText .bin model
_CHUNK = 1 << 20        # bytes read at a time from a binary file
_MAX_WORD = 1 << 20     # bytes of a binary file's word before its space
_HEADER_PEEK = 4096     # bytes of the first line read to look for a header


TIERS = ("exact", "lowercase", "digits")   # how a word found its vector, best first


def _fold(word: str) -> str:
    return zero_digits(word.lower())


@dataclass
class PretrainedVectors:
    """Vectors for vocabulary rows: ``rows`` (N,) int ids, ``vectors`` (N, dim) float32 and ``tiers`` (N,) int8
    (an index into ``TIERS``: how each row's word found its vector). ``extra_words``: the file words that were
    not in the vocabulary, taken for being among the file's first (``load_vectors(extra=...)``); their ids
    follow the vocabulary's."""

    path: str
    dim: int
    rows: np.ndarray
    vectors: np.ndarray
    vocabulary_size: int   # vocabulary words that could be covered (padding and unknown excluded)
    tiers: np.ndarray
    extra_words: list[str] = field(default_factory=list)

    @property
    def covered(self) -> int:
        return len(self.rows)

    def tier_counts(self, rows: np.ndarray | None = None) -> dict[str, int]:
        """{tier: number of covered rows} over all rows, or over those of ``rows`` (ids) that are covered."""
        tiers = self.tiers if rows is None else self.tiers[np.isin(self.rows, rows)]
        return {name: int(np.sum(tiers == i)) for i, name in enumerate(TIERS)}

    def summary(self) -> str:
        share = 100.0 * self.covered / max(self.vocabulary_size, 1)
        tiers = ", ".join(f"{n} {name}" for name, n in self.tier_counts().items())
        return (f"{self.path}: covered {self.covered} of {self.vocabulary_size} vocabulary words "
                f"({share:.1f}%; {tiers}), {self.dim}-d vectors")


def describe_coverage(report: dict) -> list[str]:
    """Lines for people from the report of :func:`ner.data.prepare.with_vectors` (training logs them, ``ner info``
    prints them)."""
    share = 100.0 * sum(report[tier] for tier in TIERS) / max(report["vocabulary"], 1)
    lines = [f"{report['dim']}-d vectors of {report['file']}: {share:.1f}% of the {report['vocabulary']:,} train "
             f"and dev words have one ({', '.join(f'{report[tier]:,} {tier}' for tier in TIERS)})",
             f"added for their vectors: {report['added']['corpus']:,} words of the corpus outside the train and "
             f"dev vocabulary, {report['added']['file']:,} of the file's most frequent words"]
    if report["oov"]:
        lines.append("tokens whose word is not a training word: " + ", ".join(
            f"{split} {100 * o['before']:.1f}%, {100 * o['after']:.1f}% without a vector either"
            for split, o in report["oov"].items()))
    return lines


class _Matches:
    """The vectors kept while reading: for the wanted words, the first vector of each tier (module docstring);
    with ``extra``, the first ``extra`` file words that ``normalize`` turns into a word not yet known become
    wanted too (``added``)."""

    def __init__(self, words: list[str], known: list[str], extra: int = 0,
                 normalize: Callable[[str], str] | None = None):
        self.words, self.lower, self.folded = set(), set(), set()
        for word in words:
            self._want(word)
        self.exact: dict[str, np.ndarray] = {}
        self.lowered: dict[str, np.ndarray] = {}
        self.from_lowercase: set[str] = set()   # keys of ``lowered`` whose vector is the lowercase word's own
        self.zeroed: dict[str, np.ndarray] = {}
        self.known, self.extra, self.normalize = set(known), extra, normalize or (lambda word: word)
        self.added: list[str] = []

    def _want(self, word: str) -> None:
        self.words.add(word)
        self.lower.add(word.lower())
        self.folded.add(_fold(word))

    def needs(self, word: str) -> bool:
        """Whether the vector of file word ``word`` is kept (first taking it as an extra word if one is due)."""
        if len(self.added) < self.extra:
            new = self.normalize(word)
            if new not in self.known:
                self.known.add(new)
                self.added.append(new)
                self._want(new)
        folded = _fold(word)
        return ((word in self.words and word not in self.exact) or self._better_lowercase(word)
                or (folded in self.folded and folded not in self.zeroed))

    def _better_lowercase(self, word: str) -> bool:
        """Whether ``word`` gives the lowercase tier of a wanted word its first vector, or a better one (the
        lowercase word's own)."""
        lower = word.lower()
        return lower in self.lower and (lower not in self.lowered or word == lower and lower not in self.from_lowercase)

    def keep(self, word: str, vector: np.ndarray) -> None:
        lower, folded = word.lower(), _fold(word)
        if word in self.words:
            self.exact.setdefault(word, vector)
        if self._better_lowercase(word):
            self.lowered[lower] = vector
            if word == lower:
                self.from_lowercase.add(lower)
        if folded in self.folded:
            self.zeroed.setdefault(folded, vector)

    def vector(self, word: str) -> tuple[np.ndarray, int] | None:
        """The vector of vocabulary word ``word`` and its tier, or None."""
        for tier, found in enumerate((self.exact.get(word), self.lowered.get(word.lower()),
                                      self.zeroed.get(_fold(word)))):
            if found is not None:
                return found, tier
        return None


def load_vectors(path: str | os.PathLike, words: list[str], skip: int = 0, *, binary: bool | None = None,
                 extra: int = 0, normalize: Callable[[str], str] | None = None) -> PretrainedVectors:
    """Read ``path`` and return vectors for ``words[skip:]`` (row ids index ``words + extra_words``).

    ``binary``: None finds the format (module docstring), True reads word2vec binary, False text. ``extra``:
    also take the file's first ``extra`` words whose form under ``normalize`` (the vocabulary's, e.g.
    :meth:`ner.data.vocab.Vocab.normalize`) is not in ``words``, as ``extra_words``. Only vectors of the
    words needed are kept in memory. Raises InputError naming the file and the line (text) or the
    word's 1-based index (binary) for unreadable, truncated or corrupt files, a header that disagrees with the
    file, non-numeric or non-finite values (of the words kept), inconsistent dimensions and undecodable words;
    NerError when no word is covered.
    """
    matches = _Matches(words[skip:], words, extra, normalize)
    try:
        with open(path, "rb") as raw:
            compressed = raw.peek(2)[:2] == _GZIP_MAGIC
            stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            try:
                dim = _read(stream, path, matches, binary)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                if not compressed:
                    raise
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise InputError(f"corrupt or truncated gzip file ({reason})", path) from None
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a vector file", path) from None
    rows, vectors, tiers = [], [], []
    for row, word in enumerate(words + matches.added):
        found = matches.vector(word) if row >= skip else None
        if found is not None:
            rows.append(row)
            vectors.append(found[0])
            tiers.append(found[1])
    if not rows:
        raise NerError(f"{path}: none of the {len(words) - skip} vocabulary words has a vector in this file "
                       "(wrong file or language?)")
    return PretrainedVectors(str(Path(path)), dim, np.asarray(rows, dtype=np.int64), np.stack(vectors),
                             len(words) - skip, np.asarray(tiers, dtype=np.int8), matches.added)


def _read(stream: BinaryIO, path: str | os.PathLike, matches: _Matches, binary: bool | None) -> int:
    """Read the (decompressed) ``stream`` into ``matches``; return the dimension."""
    first = stream.readline(_HEADER_PEEK)
    if first.startswith(_FASTTEXT_MAGIC):
        raise InputError("a fastText model (.bin), not a vector file: use the model's .vec file", path)
    header = _header(first)
    if binary is False or (binary is None and header is None):
        return _read_text(first, stream, path, matches)
    if header is None:
        raise InputError("a word2vec binary file starts with the line 'count dim'", path, 1)
    count, dim = header
    if dim < 1:
        raise InputError("the header gives 0 dimensions", path, 1)
    rest = b""
    if binary is None:
        rest, binary = _peek_binary(stream, dim)
    if not binary:
        return _read_text(first + rest, stream, path, matches)
    _read_binary(rest, stream, path, matches, count, dim)
    return dim


# ---------------------------------------------------------------- text

def _fields(line: str, dim: int | None) -> list[str]:
    """The fields of a text line: split at single spaces (words may hold other whitespace), else at any
    whitespace (tab-separated files)."""
    parts = line.rstrip().split(" ")
    if len(parts) == 1 or (dim is not None and len(parts) != dim + 1):
        parts = line.split()
    return parts


def _is_header(parts: list[str]) -> bool:
    return len(parts) == 2 and parts[0].isdecimal() and parts[1].isdecimal()


def _header(first: bytes) -> tuple[int, int] | None:
    """(count, dim) when the first line is ``count dim``."""
    if not first.endswith(b"\n"):
        return None   # longer than a header, or the whole file
    try:
        parts = _fields(first.decode("utf-8"), None)
    except UnicodeDecodeError:
        return None
    return (int(parts[0]), int(parts[1])) if _is_header(parts) else None


def _numbers(parts: list[str]) -> np.ndarray:
    with np.errstate(over="ignore"):   # beyond float32: inf, refused by the caller
        return np.asarray(parts, dtype=np.float32)


def _text_lines(prefix: bytes, stream: BinaryIO, path: str | os.PathLike) -> Iterator[str]:
    """The lines of ``prefix`` followed by ``stream``, decoded, with universal newlines (``\\r\\n``, ``\\r`` and
    ``\\n`` end a line, as in a file opened as text); InputError naming the line of an invalid byte."""
    number = 0

    def chunks() -> Iterator[bytes]:
        pieces = prefix.split(b"\n")
        yield from (piece + b"\n" for piece in pieces[:-1])
        if pieces[-1]:
            yield pieces[-1] + stream.readline()
        yield from stream

    for raw in chunks():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = raw[:exc.start].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").count("\n")
            raise InputError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-encode the file as UTF-8",
                             path, number + before + 1) from None
        if "\r" in text:
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
        else:
            lines = [text]
        for line in lines:
            number += 1
            yield line


def _read_text(prefix: bytes, stream: BinaryIO, path: str | os.PathLike, matches: _Matches) -> int:
    dim = count = None
    seen = number = 0
    for number, line in enumerate(_text_lines(prefix, stream, path), start=1):
        stripped = line.rstrip()
        if dim is not None and stripped.count(" ") == dim:   # the common line: split only when its word is needed
            seen += 1
            if count is not None and seen > count:
                raise InputError(f"more words than the header's count ({count})", path, number)
            word = stripped[:stripped.index(" ")]
            if matches.needs(word):
                matches.keep(word, _vector(stripped.split(" ")[1:], path, number))
            continue
        parts = _fields(line, dim)
        if not parts:
            continue
        if number == 1 and _is_header(parts):
            count, dim = int(parts[0]), int(parts[1])   # word2vec / fastText header "count dim"
            if dim < 1:
                raise InputError("the header gives 0 dimensions", path, number)
            continue
        seen += 1
        if count is not None and seen > count:
            raise InputError(f"more words than the header's count ({count})", path, number)
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise InputError("expected a word followed by its vector values", path, number)
        if len(parts) != dim + 1:
            raise InputError(f"expected {dim} values after the word, found {len(parts) - 1}", path, number)
        word = parts[0]
        if matches.needs(word):
            matches.keep(word, _vector(parts[1:], path, number))
    if count is not None and seen < count:
        raise InputError(f"the file ends after {seen} words, the header's count is {count}", path, number)
    if dim is None or seen == 0:
        raise InputError("no vectors in the file", path)
    return dim


def _vector(values: list[str], path: str | os.PathLike, number: int) -> np.ndarray:
    """The values of text line ``number``, checked: numbers, finite in float32."""
    try:
        vector = _numbers(values)
    except ValueError:
        raise InputError("vector values must be numbers", path, number) from None
    if not np.isfinite(vector).all():
        raise InputError("vector values must be finite numbers (nan, inf or beyond float32 range found)", path, number)
    return vector


# ---------------------------------------------------------------- binary

def _peek_binary(stream: BinaryIO, dim: int) -> tuple[bytes, bool]:
    """The bytes read after a header to tell text from binary, and whether the file is binary."""
    limit = min(64 * (dim + 1) + 1024, 1 << 24)
    data = b""
    while True:   # blank lines (in binary: newlines before the first word)
        line = stream.readline(limit)
        data += line
        if not line or line.strip():
            break
    if not line:
        return data, False
    if line.endswith(b"\n") or len(line) < limit:   # a whole line: is it a text vector line?
        try:
            parts = _fields(line.decode("utf-8"), dim)
            if len(parts) == dim + 1:
                _numbers(parts[1:])
                return data, False
        except (UnicodeDecodeError, ValueError):
            pass
    space = data.find(b" ", len(data) - len(line))
    if space < 0:
        return data, False
    end = space + 1 + 4 * dim
    while len(data) < end:
        chunk = stream.read(min(end - len(data), _CHUNK))
        if not chunk:
            return data, False   # too short for one binary vector
        data += chunk
    return data, not _is_text(data[space + 1:end])


def _is_text(data: bytes) -> bool:
    """True when ``data`` (maybe cut inside a character at its end) is UTF-8 without control characters other
    than tab, carriage return and newline."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text)


def _read_binary(prefix: bytes, stream: BinaryIO, path: str | os.PathLike, matches: _Matches, count: int,
                 dim: int) -> None:
    """The records after the header of a word2vec binary file; ``prefix`` holds the bytes already read."""
    size = 4 * dim
    buffer, at = prefix, 0

    def more() -> bool:   # append a chunk to the buffer, dropping what was consumed
        nonlocal buffer, at
        chunk = stream.read(_CHUNK)
        if not chunk:
            return False
        buffer, at = buffer[at:] + chunk, 0
        return True

    index = 0
    while True:
        while True:   # newlines before a word: absent, or one after each vector
            while at < len(buffer) and buffer[at] == 0x0A:
                at += 1
            if at < len(buffer) or not more():
                break
        if at >= len(buffer):
            break
        index += 1
        if index > count:
            raise InputError(f"word {index}: more words than the header's count ({count})", path)
        scanned = 0
        while (space := buffer.find(b" ", at + scanned)) < 0:
            scanned = len(buffer) - at
            if scanned > _MAX_WORD:
                raise InputError(f"word {index}: no space after the word in {_MAX_WORD} bytes", path)
            if not more():
                raise InputError(f"word {index}: the file ends inside the word", path)
        raw_word, at = buffer[at:space], space + 1
        while len(buffer) - at < size:
            if not more():
                raise InputError(f"word {index}: expected {dim} float32 values, the file ends after "
                                 f"{(len(buffer) - at) // 4}", path)
        offset, at = at, at + size
        try:
            word = raw_word.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"word {index}: the word is not UTF-8 (byte 0x{raw_word[exc.start]:02x} at "
                             f"{exc.start + 1} of its {len(raw_word)} bytes; is the header's dimension right?)",
                             path) from None
        if not word:
            raise InputError(f"word {index}: an empty word (two spaces)", path)
        if matches.needs(word):
            vector = np.frombuffer(buffer, dtype="<f4", count=dim, offset=offset).astype(np.float32)
            if not np.isfinite(vector).all():
                raise InputError(f"word {index}: vector values must be finite numbers (nan or inf found)", path)
            matches.keep(word, vector)
    if index < count:
        raise InputError(f"word {index + 1}: the file ends after {index} words, the header's count is {count}",
                         path)
    if index == 0:
        raise InputError("no vectors in the file", path)
