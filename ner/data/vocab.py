"""Word, character and label vocabularies, casing features, and their JSON form."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ner.errors import InputError, NerError
from ner.io.files import write_json

PAD = "<pad>"
UNK = "<unk>"
FORMAT = "ner-vocabularies"
VERSION = 1

_DIGIT = re.compile(r"\d")  # every Unicode decimal digit
_NUMERIC = re.compile(r"[+\-]?[.,]?\d(?:[\d.,:/%+\-]*\d)?%?")

NUM_CASINGS = 8


def zero_digits(token: str) -> str:
    """``token`` with every Unicode decimal digit replaced by "0" ("1,999" -> "0,000")."""
    return _DIGIT.sub("0", token)


def casing_id(token: str) -> int:
    """Casing feature of one token, an id in [1, NUM_CASINGS) (0 is reserved for padding).

    1 other (no letters or digits: punctuation, CJK, empty), 2 lower ("paris"), 3 capitalised ("Paris", "A"),
    4 all caps ("EU", "U.S."), 5 numeric ("1,200", "3.5", "-7", "50%"), 6 has a digit ("A4", "1990s"),
    7 mixed case ("iPhone", "McDonald").
    """
    if _NUMERIC.fullmatch(token):
        return 5
    if _DIGIT.search(token):
        return 6
    cased = [c for c in token if c.islower() or c.isupper()]
    if not cased:
        return 1
    if all(c.islower() for c in cased):
        return 2
    if cased[0].isupper() and all(c.islower() for c in cased[1:]):
        return 3
    if all(c.isupper() for c in cased):
        return 4
    return 7


class Vocab:
    """A bijection between strings and int32 ids.

    Ids 0 and 1 are "<pad>" and "<unk>" when both are enabled (the enabled ones come first, in that order);
    ``items`` follow in the given order. Tokens are normalised (``lowercase``; ``digits``: every digit -> "0")
    both when the vocabulary is made and when it encodes.
    """

    def __init__(
        self, items: Sequence[str], *, pad: bool = True, unk: bool = True, lowercase: bool = False,
        digits: bool = False,
    ):
        self.pad, self.unk, self.lowercase, self.digits = bool(pad), bool(unk), bool(lowercase), bool(digits)
        specials = [PAD] * self.pad + [UNK] * self.unk
        self._itos: list[str] = specials + [self.normalize(str(item)) for item in items]
        self._stoi: dict[str, int] = {}
        for i, item in enumerate(self._itos):
            if item in self._stoi:
                raise NerError(f"vocabulary item {item!r} appears twice (ids {self._stoi[item]} and {i})")
            self._stoi[item] = i
        if self.pad:
            del self._stoi[PAD]  # a literal "<pad>" in the data is unknown, never padding

    @classmethod
    def build(
        cls, sequences: Iterable[Iterable[str]], *, min_freq: int = 1, max_size: int | None = None,
        pad: bool = True, unk: bool = True, lowercase: bool = False, digits: bool = False,
    ) -> Vocab:
        """Vocabulary of the normalised items seen at least ``min_freq`` times, most frequent first
        (ties in string order); ``max_size`` caps the number of items, specials not counted."""
        if min_freq < 1:
            raise NerError(f"min_freq must be at least 1, got {min_freq}")
        if max_size is not None and max_size < 0:
            raise NerError(f"max_size must not be negative, got {max_size}")
        probe = cls([], pad=pad, unk=unk, lowercase=lowercase, digits=digits)
        counts = Counter(probe.normalize(str(t)) for seq in sequences for t in seq)
        for special in probe._itos:
            counts.pop(special, None)
        kept = sorted((item for item, n in counts.items() if n >= min_freq), key=lambda s: (-counts[s], s))
        return cls(kept[:max_size], pad=pad, unk=unk, lowercase=lowercase, digits=digits)

    @property
    def pad_id(self) -> int | None:
        """Id of "<pad>" (0), or None without padding."""
        return 0 if self.pad else None

    @property
    def unk_id(self) -> int | None:
        """Id of "<unk>", or None when unknown items are an error."""
        return int(self.pad) if self.unk else None

    @property
    def items(self) -> list[str]:
        """The items after the specials, in id order."""
        return self._itos[self.pad + self.unk:]

    def normalize(self, token: str) -> str:
        """The form under which ``token`` is stored and looked up."""
        if self.lowercase:
            token = token.lower()
        if self.digits:
            token = zero_digits(token)
        return token

    def index(self, token: str) -> int:
        """Id of one token; unknown -> the unk id, or NerError naming the token when there is none."""
        i = self._stoi.get(self.normalize(token))
        if i is not None:
            return i
        if self.unk:
            return self.pad
        known = ", ".join(self._itos[:20]) + (", ..." if len(self._itos) > 20 else "")
        raise NerError(f"{token!r} is not in the vocabulary (known: {known})")

    def encode(self, seq: Iterable[str]) -> np.ndarray:
        """(len(seq),) int32 ids."""
        stoi, unk = self._stoi, self.unk_id
        if self.lowercase or self.digits or unk is None:
            return np.array([self.index(t) for t in seq], dtype=np.int32)
        return np.array([stoi.get(t, unk) for t in seq], dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Strings of the given ids; an id outside [0, len) raises NerError."""
        out = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if not 0 <= i < len(self._itos):
                raise NerError(f"id {i} is outside this vocabulary of {len(self._itos)} items")
            out.append(self._itos[i])
        return out

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.normalize(token) in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Vocab({len(self)} items, pad={self.pad}, unk={self.unk})"

    def to_dict(self) -> dict:
        """JSON-ready form; ``items`` excludes the specials."""
        return {"items": self.items, "pad": self.pad, "unk": self.unk, "lowercase": self.lowercase,
                "digits": self.digits}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        """Inverse of ``to_dict``; a malformed dict raises NerError."""
        if not isinstance(d, dict) or not isinstance(d.get("items"), list):
            raise NerError("malformed vocabulary: expected a dict with an 'items' list")
        flags = {k: d.get(k, default) for k, default in
                 (("pad", True), ("unk", True), ("lowercase", False), ("digits", False))}
        if not all(isinstance(v, bool) for v in flags.values()) or not all(isinstance(s, str) for s in d["items"]):
            raise NerError("malformed vocabulary: items must be strings and pad/unk/lowercase/digits booleans")
        return cls(d["items"], **flags)


@dataclass
class Vocabularies:
    """The three vocabularies of a tagger: words (normalised), chars (original case) and labels."""

    words: Vocab
    chars: Vocab
    labels: Vocab

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "words": self.words.to_dict(),
                "chars": self.chars.to_dict(), "labels": self.labels.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabularies:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise NerError(f"not a vocabulary file (expected format {FORMAT!r})")
        if d.get("version") != VERSION:
            raise NerError(f"unsupported vocabulary version {d.get('version')!r} (this ner reads {VERSION})")
        return cls(*(Vocab.from_dict(d.get(k)) for k in ("words", "chars", "labels")))

    def save(self, path_json: str | os.PathLike) -> None:
        """Write JSON atomically (:func:`ner.io.files.write_json`)."""
        write_json(path_json, self.to_dict(), indent=None)

    @classmethod
    def load(cls, path_json: str | os.PathLike) -> Vocabularies:
        """Read a file written by ``save``; missing or malformed files raise InputError naming the path."""
        try:
            with open(path_json, encoding="utf-8") as f:
                d = json.load(f)
        except FileNotFoundError:
            raise InputError("no such vocabulary file", path_json) from None
        except (OSError, ValueError, RecursionError) as e:  # ValueError: not UTF-8, not JSON, a too long number
            reason = str(e).split(";")[0]
            raise InputError(f"cannot read vocabularies: {type(e).__name__}: {reason}", path_json) from None
        try:
            return cls.from_dict(d)
        except NerError as e:
            raise InputError(str(e), path_json) from None


def _label_key(label: str) -> tuple[int, str, str]:
    """"O" first, then grouped by entity type ("B-LOC", "I-LOC", ..., "B-PER", ...)."""
    if label == "O":
        return (0, "", "")
    prefix, sep, kind = label.partition("-")
    return (1, kind, prefix) if sep else (1, label, "")


def build_vocabularies(
    tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], *, min_freq: int = 1, lowercase: bool = True,
    digits: bool = True, char_min_freq: int = 1, extra_tokens: Iterable[Iterable[str]] | None = None,
) -> Vocabularies:
    """Vocabularies from training sentences.

    words: normalised training tokens seen ``min_freq`` times, then every word of ``extra_tokens`` (e.g. dev
    sentences, or words that have pretrained vectors) not yet present, whatever its frequency;
    chars: characters of the original-case training tokens; labels: every training tag, "O" first.
    """
    if len(tokens) != len(tags):
        raise NerError(f"{len(tokens)} token sentences but {len(tags)} tag sentences")
    words = Vocab.build(tokens, min_freq=min_freq, lowercase=lowercase, digits=digits)
    if extra_tokens is not None:
        extra = Vocab.build(extra_tokens, lowercase=lowercase, digits=digits)
        words = Vocab(words.items + [w for w in extra.items if w not in words], lowercase=lowercase,
                      digits=digits)
    chars = Vocab.build((t for seq in tokens for t in seq), min_freq=char_min_freq)
    labels = Vocab(sorted({t for seq in tags for t in seq}, key=_label_key), pad=False, unk=False)
    return Vocabularies(words, chars, labels)
