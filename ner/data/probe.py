"""Generated long-range probe corpora: an entity's type is decided by one cue word K tokens away from it.

Every sentence holds one entity (1 to ``entity_max`` tokens, BIO tags ``B-T1``, ``I-T1``, ...), a cue word
and filler words, all other tokens tagged ``O``::

    left  task:  pad  CUE  d d ... d  ENTITY  pad     the cue K tokens before the entity's first token
    right task:  pad  ENTITY  d d ... d  CUE  pad     the cue K tokens after the entity's last token

(``d``: K − 1 distractors, ``pad``: 0 to ``pad`` fillers; K = 1 puts the cue next to the entity.) The type is
drawn uniformly; the cue is a word of that type's cue set; entity words come from one pool shared by every
type; distractors, pads, their lengths (so the sentence length and the entity's position) are drawn
independently of the type. Only the cue tells the type: a rule that reads it scores 100 %, any rule blind to
it scores at chance (1 / ``types``) in expectation. With ``noise`` > 0 a filler is, with that probability, a
*decoy*: a cue word of a random type, so only the cue at exactly K tokens decides (this needs ``spread``
0, below).

Dev and test sentences put every cue at exactly K. A share ``spread`` of the training sentences draws its
distance uniformly from 1..K instead: the short ones give a recurrent model a gradient to learn to keep the
cue at all (trained only at a long K, an LSTM too can stay at chance for many epochs: its gradient through
K steps starts nearly as small as a plain RNN's), and the test then asks whether what it learnt holds at K.

Words are letters only (digits would all map to 0 in the vocabulary): entity words capitalised, cues and
fillers lower-case, from disjoint sets. Everything is numpy and seeded: the same parameters write the same
files. Splits are written as ``train.txt``, ``dev.txt`` and ``test.txt`` (CoNLL, token and tag per line).
"""

from __future__ import annotations

import math
import numbers
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ner.data.conll import write_conll
from ner.errors import NerError

SIDES = ("left", "right")
SPLITS = ("train", "dev", "test")
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]   # 70
MAX_WORDS = 20_000        # entity words, fillers and cue words in all
MAX_SENTENCES = 1_000_000
MAX_DISTANCE = 1_000


@dataclass(frozen=True)
class ProbeSpec:
    """The parameters of one probe corpus (lengths in tokens, sizes in sentences or words)."""

    side: str = "left"          # where the cue is: "left" (before the entity) or "right" (after it)
    distance: int = 1           # K: tokens from the entity's near edge to the cue (1: adjacent)
    types: int = 4              # entity types T1..Tn; chance is 1 / types
    words: int = 50             # entity words, one pool shared by every type
    fillers: int = 50           # filler and distractor words
    cues: int = 1               # cue words per type
    entity_max: int = 2         # entities are 1..entity_max tokens long
    pad: int = 5                # 0..pad fillers before and after the cue-entity segment
    noise: float = 0.0          # probability that a filler is a decoy cue word of a random type
    spread: float = 0.5         # share of training sentences whose distance is drawn from 1..K instead of K
    train: int = 2000           # sentences per split
    dev: int = 300
    test: int = 500
    seed: int = 1               # the same seed and parameters give the same corpus

    @property
    def name(self) -> str:
        """``left-k5``: the task and distance, as the sweep names its folders."""
        return f"{self.side}-k{self.distance}"

    @property
    def chance(self) -> float:
        """Expected entity F1 of a rule blind to the cue (spans right, type guessed)."""
        return 1.0 / self.types

    def check(self) -> ProbeSpec:
        """Raise NerError (one line naming the parameter as its flag) for a value out of range."""
        if self.side not in SIDES:
            raise NerError(f"--tasks: unknown task {self.side!r} (choose from {', '.join(SIDES)})")
        limits = {"distance": (1, MAX_DISTANCE), "types": (2, 26), "words": (1, MAX_WORDS),
                  "fillers": (1, MAX_WORDS), "cues": (1, 100), "entity_max": (1, 10), "pad": (0, 1000),
                  "train": (1, MAX_SENTENCES), "dev": (1, MAX_SENTENCES), "test": (1, MAX_SENTENCES),
                  "seed": (0, 2**32 - 1)}
        for name, (lo, hi) in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise NerError(f"{_flag(name)}: expected a whole number, not {value!r}")
            if not lo <= value <= hi:
                raise NerError(f"{_flag(name)}: must be between {lo} and {hi}, not {value}")
        for name, top_in in (("noise", False), ("spread", True)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise NerError(f"--{name}: expected a finite number, not {value!r}")
            if not (0 <= value <= 1 if top_in else 0 <= value < 1):
                raise NerError(f"--{name}: must be in [0, 1{']' if top_in else ')'}, not {value}")
        if self.noise > 0 and self.spread > 0:
            raise NerError("--noise: decoys need every training cue at exactly K (--spread 0): at a drawn "
                           "distance the cue could not be told from a decoy")
        total = self.types * self.cues + self.words + self.fillers
        if total > MAX_WORDS:
            raise NerError(f"--words/--fillers/--cues: {total} words in all; at most {MAX_WORDS}")
        return self

    def at(self, side: str, distance: int) -> ProbeSpec:
        """The same corpus parameters for another task and distance."""
        return replace(self, side=side, distance=distance)


def _flag(name: str) -> str:
    return {"distance": "--distances", "entity_max": "--entity-max", "seed": "--data-seed"}.get(
        name, f"--{name}")


# ---------------------------------------------------------------- the words

@dataclass(frozen=True)
class Lexicon:
    """The words of a probe: ``cues[t]`` the cue words of type ``labels[t]``, ``entities`` the shared pool,
    ``fillers`` the filler and distractor words."""

    labels: tuple[str, ...]
    cues: tuple[tuple[str, ...], ...]
    entities: tuple[str, ...]
    fillers: tuple[str, ...]

    def cue_type(self) -> dict[str, int]:
        """Cue word -> type index."""
        return {w: t for t, words in enumerate(self.cues) for w in words}


def lexicon(spec: ProbeSpec) -> Lexicon:
    """The words of ``spec`` (drawn with its seed; the same for every task and distance)."""
    spec.check()
    n_cues = spec.types * spec.cues
    total = n_cues + spec.words + spec.fillers
    length = 2 if total <= len(_SYLLABLES) ** 2 // 2 else 3   # at most half the forms: distinct and varied
    rng = np.random.default_rng([spec.seed, 0])
    picks = rng.choice(len(_SYLLABLES) ** length, size=total, replace=False)
    forms = []
    for index in picks.tolist():
        syllables = []
        for _ in range(length):
            index, s = divmod(index, len(_SYLLABLES))
            syllables.append(_SYLLABLES[s])
        forms.append("".join(syllables))
    cues = tuple(tuple(forms[t * spec.cues:(t + 1) * spec.cues]) for t in range(spec.types))
    entities = tuple(w.capitalize() for w in forms[n_cues:n_cues + spec.words])
    return Lexicon(tuple(f"T{t + 1}" for t in range(spec.types)), cues, entities, tuple(forms[n_cues + spec.words:]))


# ---------------------------------------------------------------- the sentences

@dataclass
class ProbeSplit:
    """One generated split: ``tokens``/``tags`` per sentence; per sentence the entity's ``start`` and ``end``
    (token indices, end exclusive), its ``types`` index, the ``cue`` token's index and the ``distance``
    between them (K on dev and test; 1..K on training sentences drawn with ``spread``)."""

    tokens: list[list[str]]
    tags: list[list[str]]
    start: np.ndarray     # (sentences,) int
    end: np.ndarray       # (sentences,) int
    types: np.ndarray     # (sentences,) int
    cue: np.ndarray       # (sentences,) int
    distance: np.ndarray  # (sentences,) int


def _sentences(spec: ProbeSpec, lex: Lexicon, n: int, rng: np.random.Generator, spread: float) -> ProbeSplit:
    distance = np.full(n, spec.distance, dtype=np.int64)
    if spread > 0:
        shorter = rng.random(n) < spread
        distance[shorter] = rng.integers(1, spec.distance + 1, size=int(shorter.sum()))
    types = rng.integers(0, spec.types, size=n)
    cue_pick = rng.integers(0, spec.cues, size=n)
    lengths = rng.integers(1, spec.entity_max + 1, size=n)
    before = rng.integers(0, spec.pad + 1, size=n)
    after = rng.integers(0, spec.pad + 1, size=n)
    tokens, tags = [], []
    start, end, cue = (np.zeros(n, dtype=np.int64) for _ in range(3))
    for i in range(n):
        m, k = int(lengths[i]), int(distance[i])
        entity = [lex.entities[j] for j in rng.integers(0, spec.words, size=m)]
        gap = int(before[i]) + int(after[i]) + k - 1
        filler = [lex.fillers[j] for j in rng.integers(0, spec.fillers, size=gap)]
        if spec.noise > 0:
            decoys = rng.random(gap) < spec.noise
            kinds = rng.integers(0, spec.types, size=gap)
            picks = rng.integers(0, spec.cues, size=gap)
            filler = [lex.cues[t][p] if d else w for w, d, t, p in zip(filler, decoys, kinds, picks)]
        a, b = int(before[i]), int(after[i])
        cue_word = lex.cues[types[i]][cue_pick[i]]
        middle = filler[a:a + k - 1]
        label = lex.labels[types[i]]
        entity_tags = [f"B-{label}"] + [f"I-{label}"] * (m - 1)
        if spec.side == "left":
            words = filler[:a] + [cue_word] + middle + entity + filler[a + k - 1:]
            cue[i], start[i] = a, a + k
        else:
            words = filler[:a] + entity + middle + [cue_word] + filler[a + k - 1:]
            start[i], cue[i] = a, a + m - 1 + k
        end[i] = start[i] + m
        labels = ["O"] * len(words)
        labels[start[i]:end[i]] = entity_tags
        assert len(words) == a + b + k + m
        tokens.append(words)
        tags.append(labels)
    return ProbeSplit(tokens, tags, start, end, types, cue, distance)


def generate(spec: ProbeSpec) -> dict[str, ProbeSplit]:
    """The train, dev and test splits of ``spec`` (deterministic in its parameters)."""
    spec.check()
    lex = lexicon(spec)
    rng = np.random.default_rng([spec.seed, 1 + SIDES.index(spec.side), spec.distance])
    return {name: _sentences(spec, lex, getattr(spec, name), rng, spec.spread if name == "train" else 0.0)
            for name in SPLITS}


def write_probe(spec: ProbeSpec, folder: str | os.PathLike) -> dict[str, ProbeSplit]:
    """Generate ``spec`` and write ``folder``/train.txt, dev.txt, test.txt (each atomically); returns the splits."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    splits = generate(spec)
    for name, split in splits.items():
        write_conll(folder / f"{name}.txt", zip(split.tokens, split.tags))
    return splits


# ---------------------------------------------------------------- the reference rules

def _spans(tokens: Sequence[str], pool: set[str]) -> list[tuple[int, int]]:
    """Maximal runs of entity words: [(start, end)], end exclusive."""
    spans, i = [], 0
    while i < len(tokens):
        if tokens[i] in pool:
            j = i
            while j < len(tokens) and tokens[j] in pool:
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def _tag(n: int, spans: list[tuple[int, int, str]]) -> list[str]:
    tags = ["O"] * n
    for s, e, label in spans:
        tags[s:e] = [f"B-{label}"] + [f"I-{label}"] * (e - s - 1)
    return tags


def cue_reading_tags(spec: ProbeSpec, tokens: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags from the rule that reads the cue: each run of entity words is typed by the cue word K tokens
    before its first token (left) or after its last token (right); ``O`` elsewhere."""
    lex = lexicon(spec)
    pool, cue_type, k = set(lex.entities), lex.cue_type(), spec.distance
    out = []
    for sentence in tokens:
        typed = []
        for s, e in _spans(sentence, pool):
            at = s - k if spec.side == "left" else e - 1 + k
            word = sentence[at] if 0 <= at < len(sentence) else None
            if word in cue_type:
                typed.append((s, e, lex.labels[cue_type[word]]))
        out.append(_tag(len(sentence), typed))
    return out


def cue_blind_tags(spec: ProbeSpec, train: ProbeSplit, tokens: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags from the best rule blind to the cue: each run of entity words gets the type its words carried
    most often in ``train`` (votes of every word of the run; ties and unseen words: the most frequent type
    overall, then the first)."""
    lex = lexicon(spec)
    pool = set(lex.entities)
    votes: dict[str, Counter] = {}
    overall: Counter = Counter()
    for sentence, s, e, t in zip(train.tokens, train.start.tolist(), train.end.tolist(), train.types.tolist()):
        overall[t] += 1
        for word in sentence[s:e]:
            votes.setdefault(word, Counter())[t] += 1
    order = sorted(range(spec.types), key=lambda t: (-overall[t], t))   # tie-break: frequent first
    out = []
    for sentence in tokens:
        typed = []
        for s, e in _spans(sentence, pool):
            total = sum((votes.get(w, Counter()) for w in sentence[s:e]), Counter())
            best = max(order, key=lambda t: total[t])   # max keeps the first of equal counts
            typed.append((s, e, lex.labels[best]))
        out.append(_tag(len(sentence), typed))
    return out


def describe(spec: ProbeSpec) -> dict:
    """The parameters as a JSON-ready dict, with the chance level."""
    return {**asdict(spec), "chance": spec.chance}
