"""Tag schemes for entity spans: detect, decode, encode, convert, validate, repair, CRF constraints.

A tag is ``O`` or ``PREFIX-LABEL``. Each scheme is a small data record (:class:`Scheme`) saying which
prefix marks an entity's first, inner, last and only token; every operation below is driven by it.

* ``iob1``  ``I-`` everywhere; ``B-`` only on the first token of an entity that directly follows an
  entity of the same type (CoNLL-2003's original encoding).
* ``bio``   (IOB2) ``B-`` first token, ``I-`` the rest.
* ``bioes`` (IOBES) ``B-`` first, ``I-`` inner, ``E-`` last, ``S-`` single-token entity.
* ``bmes``  like bioes with ``M-`` for inner tokens (Chinese word/entity segmentation).
* ``bilou`` like bioes with ``L-`` last and ``U-`` single (unit).

Decoding (:func:`to_spans`) is lenient in the way of conlleval and seqeval's default mode: an entity
starts at any ``B-``/``S-``, and also at an ``I-`` or ``E-`` that does not continue an entity of its type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from ner.errors import NerError

SCHEMES = ("iob1", "bio", "bioes", "bmes", "bilou")
ALIASES = {"iob2": "bio", "iobes": "bioes", "bioul": "bilou"}
PREFIXES = frozenset("BIOESMLU")  # every prefix some scheme uses
TRAIN_SCHEMES = ("bio", "bioes")   # schemes a model is trained in (BMES corpora count as BIOES)
# The role of each prefix for lenient decoding: B begin, I inside, E end, S single.
_ROLE = {"B": "B", "I": "I", "M": "I", "E": "E", "L": "E", "S": "S", "U": "S"}


@dataclass(frozen=True)
class Span:
    """An entity: ``label`` over tokens ``start`` .. ``end - 1`` (end exclusive)."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Scheme:
    """Which prefix marks an entity's first, inner, last and only token (None: that role has none)."""

    name: str
    begin: str
    inside: str
    last: str | None
    single: str | None

    prefixes: frozenset[str] = field(init=False)  # every prefix the scheme uses, "O" included

    def __post_init__(self) -> None:
        used = frozenset(p for p in ("O", "B", self.inside, self.last, self.single) if p)
        object.__setattr__(self, "prefixes", used)


_SCHEMES = {
    "iob1": Scheme("iob1", begin="I", inside="I", last=None, single=None),  # B- only after a same-type entity
    "bio": Scheme("bio", begin="B", inside="I", last=None, single=None),
    "bioes": Scheme("bioes", begin="B", inside="I", last="E", single="S"),
    "bmes": Scheme("bmes", begin="B", inside="M", last="E", single="S"),
    "bilou": Scheme("bilou", begin="B", inside="I", last="L", single="U"),
}


def get_scheme(name: str) -> Scheme:
    """The :class:`Scheme` called ``name`` (case-insensitive; iob2, iobes and bioul are aliases)."""
    key = ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else name
    if key not in _SCHEMES:
        raise NerError(f"unknown tag scheme {name!r} (choose from {', '.join(SCHEMES)})")
    return _SCHEMES[key]


def normalize_scheme(name: str) -> str:
    """Canonical scheme name: ``"IOB2"`` -> ``"bio"``; unknown names raise NerError."""
    return get_scheme(name).name


def split_tag(tag: str) -> tuple[str, str | None]:
    """``"B-PER"`` -> ``("B", "PER")``, ``"O"`` -> ``("O", None)``; raises ValueError for other shapes."""
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in PREFIXES or prefix == "O" or not label:
        raise ValueError(f"unknown tag {tag!r}: expected O or a prefix ({'/'.join(sorted(PREFIXES - {'O'}))}) "
                         "followed by '-' and a label, e.g. B-PER")
    return prefix, label


def is_known_tag(tag: str) -> bool:
    """True when ``tag`` is ``O`` or PREFIX-LABEL with a prefix that some scheme uses."""
    try:
        split_tag(tag)
    except ValueError:
        return False
    return True


def _parse(tag: str) -> tuple[str, str | None]:
    try:
        return split_tag(tag)
    except ValueError as exc:
        raise NerError(str(exc)) from None


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of a corpus from its tags (unknown tags are ignored).

    ``M-`` -> bmes; ``U-``/``L-`` -> bilou; ``S-``/``E-`` -> bioes. With only B/I/O: iob1 when more
    entities start with ``I-`` than there are ``B-`` tags outside the IOB1 use (right after an entity of
    the same type); otherwise bio, so a BIO file with a few ill-formed ``I-`` after ``O`` stays bio.
    """
    seen: set[str] = set()
    i_starts = 0  # I-X not continuing an X entity
    b_other = 0  # B-X not right after an X entity
    for tags in tag_sequences:
        prev_label = None
        for tag in tags:
            if tag == "O":
                prev_label = None
                continue
            prefix, _, label = tag.partition("-")
            if prefix not in PREFIXES or prefix == "O" or not label:
                prev_label = None
                continue
            seen.add(prefix)
            if prefix == "I" and label != prev_label:
                i_starts += 1
            elif prefix == "B" and label != prev_label:
                b_other += 1
            prev_label = label
    if "M" in seen:
        return "bmes"
    if seen & {"U", "L"}:
        return "bilou"
    if seen & {"S", "E"}:
        return "bioes"
    return "iob1" if i_starts > b_other else "bio"


def to_spans(tags: Sequence[str], scheme: str = "bio") -> list[Span]:
    """Entity spans of one tag sequence, decoded leniently like conlleval / seqeval's default mode.

    Every scheme's prefixes are understood (M as I, L as E, U as S), so ill-formed or mixed sequences
    still decode; raises NerError for tags that are not ``O`` or PREFIX-LABEL.
    """
    get_scheme(scheme)
    spans: list[Span] = []
    prev_role, prev_label, begin = "O", None, 0
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, label = _parse(tag)
        role = _ROLE.get(prefix, "O")
        if prev_role != "O" and (
            prev_role in "ES" or role in "BSO" or label != prev_label
        ):
            spans.append(Span(prev_label, begin, i))
        if role != "O" and (
            role in "BS" or prev_role in "ESO" or label != prev_label
        ):
            begin = i
        prev_role, prev_label = role, label
    return spans


def from_spans(spans: Iterable[Span], length: int, scheme: str) -> list[str]:
    """Tags of a sequence of ``length`` tokens holding ``spans`` (sorted or not, non-overlapping)."""
    s = get_scheme(scheme)
    tags = ["O"] * length
    prev: Span | None = None
    for span in sorted(spans, key=lambda sp: sp.start):
        if not 0 <= span.start < span.end <= length or (prev is not None and span.start < prev.end):
            raise ValueError(f"span {span} overlaps another or lies outside 0..{length}")
        n = span.end - span.start
        inner = [f"{s.inside}-{span.label}"] * n
        if n == 1 and s.single:
            inner[0] = f"{s.single}-{span.label}"
        else:
            if s.last:
                inner[-1] = f"{s.last}-{span.label}"
            adjacent = prev is not None and prev.end == span.start and prev.label == span.label
            inner[0] = f"B-{span.label}" if s.begin == "B" or adjacent else f"{s.begin}-{span.label}"
        tags[span.start:span.end] = inner
        prev = span
    return tags


def convert(tags: Sequence[str], src: str, dst: str) -> list[str]:
    """Re-encode ``tags`` from scheme ``src`` to ``dst`` (lossless at the span level)."""
    return from_spans(to_spans(tags, src), len(tags), dst)


def repair(tags: Sequence[str], scheme: str) -> list[str]:
    """A well-formed ``scheme`` sequence with the spans that lenient decoding reads from ``tags``."""
    return convert(tags, scheme, scheme)


def _allowed(s: Scheme, prev: tuple[str, str | None] | None, cur: tuple[str, str | None] | None) -> bool:
    """May tag ``cur`` follow tag ``prev``? ``None`` is the sentence start (prev) or end (cur)."""
    pp, pl = prev if prev is not None else ("O", None)
    if cur is None:  # end of sentence: no entity may be left open
        return not (s.last and pp in (s.begin, s.inside))
    cp, cl = cur
    if cp not in s.prefixes:
        return False
    if prev is not None and pp not in s.prefixes:
        return False
    if s.name == "iob1":  # B- only separates two adjacent entities of one type
        return cp != "B" or (pp in ("B", "I") and pl == cl)
    if s.last is None:  # bio
        return cp != "I" or (pp in ("B", "I") and pl == cl)
    opened = pp in (s.begin, s.inside)
    if cp in (s.inside, s.last):  # continues an open entity of the same type
        return opened and pl == cl
    return not opened  # O, begin or single need the previous entity closed


def validate(tags: Sequence[str], scheme: str) -> list[tuple[int, str]]:
    """Problems of one sequence as ``(token index, message)``: unknown tags, prefixes foreign to the
    scheme, and transitions the scheme forbids (e.g. bio ``I-PER`` after ``O``; bioes ``B-PER`` not
    closed by ``E-PER``). An empty list means the sequence is well-formed."""
    name = get_scheme(scheme).name
    problems: list[tuple[int, str]] = []
    prev: str | None = None  # None: the start of the sentence
    skip = False  # the previous tag was already reported: don't report its transition again
    for i, tag in enumerate(tags):
        message = _tag_problem(name, tag)
        if message:
            problems.append((i, message))
            prev, skip = "O", True
            continue
        if not skip:
            message = _step_problem(name, prev, tag)
            if message:
                problems.append((i, message))
        prev, skip = tag, False
    if tags and not skip:
        message = _step_problem(name, prev, None)
        if message:
            problems.append((len(tags) - 1, message))
    return problems


@lru_cache(maxsize=4096)
def _tag_problem(name: str, tag: str) -> str | None:
    """Why ``tag`` cannot occur in scheme ``name`` at all, or None."""
    try:
        prefix, _ = split_tag(tag)
    except ValueError as exc:
        return str(exc)
    s = _SCHEMES[name]
    if prefix not in s.prefixes:
        used = ", ".join(sorted(s.prefixes))
        return f"{tag}: prefix {prefix}- is not used by the {name} scheme (its prefixes: {used})"
    return None


@lru_cache(maxsize=65536)
def _step_problem(name: str, prev: str | None, tag: str | None) -> str | None:
    """Why ``tag`` (None: the end) cannot follow ``prev`` (None: the start) in scheme ``name``, or None."""
    s = _SCHEMES[name]
    before = None if prev is None else split_tag(prev)
    if tag is None:
        if _allowed(s, before, None):
            return None
        return f"{prev} cannot end a sentence in {name} (an entity ends with {s.last}- or {s.single}-)"
    cur = split_tag(tag)
    if _allowed(s, before, cur):
        return None
    where = "the start of the sentence" if prev is None else prev
    return f"{tag} cannot follow {where} in {name}{_hint(s, cur)}"


def _hint(s: Scheme, cur: tuple[str, str | None]) -> str:
    prefix, label = cur
    if s.name == "bio" and prefix == "I":
        return f" (an entity starts with B-{label})"
    if s.name == "iob1" and prefix == "B":
        return " (B- only separates two adjacent entities of one type)"
    if prefix in (s.inside, s.last):
        return f" (an entity starts with {s.begin}-{label})"
    if s.last:
        return " (the previous entity is not closed)"
    return ""


def transition_constraints(labels: Sequence[str], scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allowed-transition masks for constrained CRF decoding over tag ids ``0..K-1`` = ``labels``.

    Returns boolean ``start`` (K,), ``transitions`` (K, K) indexed [from, to], and ``end`` (K,).
    Tags that are not ``O``/PREFIX-LABEL or whose prefix the scheme does not use are never allowed.
    """
    s = get_scheme(scheme)
    parsed = [split_tag(t) if is_known_tag(t) else None for t in labels]
    k = len(labels)
    start = np.zeros(k, dtype=bool)
    end = np.zeros(k, dtype=bool)
    trans = np.zeros((k, k), dtype=bool)
    for j, cur in enumerate(parsed):
        if cur is None or cur[0] not in s.prefixes:
            continue
        start[j] = _allowed(s, None, cur)
        end[j] = _allowed(s, cur, None)
        for i, prev in enumerate(parsed):
            trans[i, j] = prev is not None and _allowed(s, prev, cur)
    return start, trans, end


def scoring_scheme(scheme: str) -> str:
    """The scheme to convert tags to before seqeval scores them (its default, conlleval-like mode
    reads iob1, bio and bioes; bmes and bilou become bioes)."""
    name = get_scheme(scheme).name
    return "bioes" if name in ("bmes", "bilou") else name
