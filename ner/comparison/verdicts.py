"""The claims commonly made about encoders and heads, judged from measured results.

Every verdict is generated from the numbers: ``supported``, ``contradicted``, ``inconclusive`` (with the
reason), or ``not tested`` (the grid lacks the configurations). The rules:

* Quality ("A has a higher entity F1 than B"), D = mean over seeds of F1(A) − F1(B). D counts only when

  1. it holds under a **paired bootstrap** over test sentences: the same resamples of sentences (fixed
     seed) for both systems, F1 recomputed on each; the 95 % percentile interval of D excludes 0; and
  2. it **exceeds the seed spread** sqrt(sd_A² + sd_B²), sd = sample standard deviation of F1 across
     seeds. With one seed per configuration there is no spread estimate: the verdict is then
     *inconclusive* even when the bootstrap interval excludes 0 (and says so), because seed-to-seed
     differences of a few F1 points are common on small corpora.

  D counts: supported when its sign is the claimed one, contradicted otherwise.
* Cost: parameter counts are exact (more is more); a timing difference counts when it is over 10 % and
  over the spread (sd) of its repeated measurements (timing passes, epochs after the first, seeds), and
  only between timings taken while the machine was otherwise quiet (decode timings taken under a 1-minute
  load average above 1.5 × the cores make the check inconclusive; such training times are left out).
* A claim checked on several pairs (one per head, say) is supported when a pair supports it and none
  contradicts it (contradicted likewise; pairs that disagree leave it inconclusive). A claim of several
  parts, such as (d) and (e), needs every tested part: one contradicted part contradicts it.

Entity counts follow seqeval's default (conlleval-like) reading, so they add up to seqeval's scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from seqeval.metrics.sequence_labeling import get_entities

from ner.data.schemes import convert, scoring_scheme
from ner.model import HEADS

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED = "supported", "contradicted", "inconclusive", "not tested"
BUCKETS = (("1-10", 1, 10), ("11-20", 11, 20), ("21-40", 21, 40), (">40", 41, math.inf))
LONG = 21                 # "long sentences" have at least this many tokens
TIME_MARGIN = 1.10        # timings must differ by more than 10 %
BOOTSTRAP_SEED = 20240611
CLAIMS = {
    "a": "A plain RNN does worse on long sentences than an LSTM",
    "b": "A BiLSTM beats a unidirectional LSTM because it sees the right context",
    "c": "Character features help on rare and unseen words",
    "d": "A CRF helps most where the encoder is weakest, and removes ill-formed tag sequences",
    "e": "Bidirectional and CRF models cost more parameters and time",
    "f": "Document context helps: a token that also sees the rest of its document is tagged better",
}

Entity = tuple[str, int, int]


# ---------------------------------------------------------------- entity counts per sentence

def entities(tags: Sequence[str], scheme: str) -> set[Entity]:
    """Entities ``(label, first, last)`` of one sentence as seqeval's default mode reads them."""
    target = scoring_scheme(scheme)
    tags = list(tags) if target == scheme else convert(tags, scheme, target)
    return set(get_entities(tags))


def sentence_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str,
                    keep: Callable[[int, Entity], bool] | None = None) -> np.ndarray:
    """(sentences, 3) int64: true positives, predicted and gold entities of each sentence.

    ``keep(sentence_index, entity)`` restricts both sides to some entities (e.g. those with OOV words).
    """
    out = np.zeros((len(gold), 3), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        ge, pe = entities(g, scheme), entities(p, scheme)
        if keep is not None:
            ge = {e for e in ge if keep(i, e)}
            pe = {e for e in pe if keep(i, e)}
        out[i] = len(ge & pe), len(pe), len(ge)
    return out


def subset_counts(tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                  scheme: str, vocabulary: set[str] | None = None) -> dict[str, np.ndarray]:
    """Per-sentence counts (sentences, 3) for every subset the report and the claims use.

    Subsets: ``all``; each length bucket of :data:`BUCKETS`; ``long`` (≥ :data:`LONG` tokens) and
    ``short``; and, given the training ``vocabulary`` (lower-cased words), ``oov``: only entities with a
    word whose lower-cased form is not in it (on both the gold and the predicted side). Sentences outside
    a subset count zero, so every array has one row per test sentence (what the paired bootstrap needs).
    """
    counts = sentence_counts(gold, pred, scheme)
    lengths = np.array([len(t) for t in tokens])
    out = {"all": counts}
    for name, lo, hi in BUCKETS:
        out[name] = counts * ((lengths >= lo) & (lengths <= hi))[:, None]
    out["long"] = counts * (lengths >= LONG)[:, None]
    out["short"] = counts * (lengths < LONG)[:, None]
    if vocabulary is not None:
        def unseen(i: int, e: Entity) -> bool:
            return any(w.lower() not in vocabulary for w in tokens[i][e[1]:e[2] + 1])
        out["oov"] = sentence_counts(gold, pred, scheme, keep=unseen)
    return out


def f1_of(counts: np.ndarray) -> np.ndarray:
    """Micro F1 from summed counts (..., 3) = tp, predicted, gold (0 where nothing was predicted or gold)."""
    tp, predicted, gold = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = predicted + gold
    return np.where(denominator > 0, 2.0 * tp / np.maximum(denominator, 1), 0.0)


# ---------------------------------------------------------------- systems and bootstrap

@dataclass
class System:
    """One configuration's results over its seeds: all the verdicts need.

    ``counts``: subset -> (seeds, sentences, 3) per-sentence counts (see :func:`subset_counts`);
    ``decode_seconds``: seconds per decoded sentence, one per timing pass; ``epoch_seconds``: training
    seconds per epoch (None when the runs shared the machine); ``ill_formed``: per seed, test sentences
    whose predicted tags break the model's tag scheme; ``busy``: why the decode timings are unreliable
    (other work on the machine), empty when they are not.
    """

    encoder: str
    head: str
    counts: dict[str, np.ndarray]
    parameters: int
    decode_seconds: list[float] = field(default_factory=list)
    epoch_seconds: list[float] | None = None
    ill_formed: list[int] = field(default_factory=list)
    busy: str = ""

    @property
    def name(self) -> str:
        return f"{self.encoder}-{self.head}"

    @property
    def seeds(self) -> int:
        return int(self.counts["all"].shape[0])

    def f1(self, subset: str = "all") -> np.ndarray:
        """F1 of each seed on ``subset`` (seeds,)."""
        return f1_of(self.counts[subset].sum(axis=1))


class Bootstrap:
    """Fixed resamples of the test sentences, shared by every system (so comparisons are paired)."""

    def __init__(self, sentences: int, resamples: int = 1000, seed: int = BOOTSTRAP_SEED):
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, sentences, size=(resamples, sentences))
        picks += np.arange(resamples)[:, None] * sentences
        self.weights = np.bincount(picks.ravel(), minlength=resamples * sentences).reshape(
            resamples, sentences).astype(np.float64)   # (R, N): how often each sentence is drawn
        self.resamples = resamples
        self._cache: dict[tuple[int, str], np.ndarray] = {}

    def f1(self, system: System, subset: str) -> np.ndarray:
        """(R,) mean over seeds of the system's F1 on each resample."""
        key = (id(system), subset)
        if key not in self._cache:
            sums = np.einsum("rn,snk->srk", self.weights, system.counts[subset].astype(np.float64))
            self._cache[key] = f1_of(sums).mean(axis=0)
        return self._cache[key]


# ---------------------------------------------------------------- checks

def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def _seed_words(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def check(verdict: str, text: str, **numbers: object) -> dict:
    return {"verdict": verdict, "text": text, **numbers}


def quality_check(label: str, terms: Sequence[tuple[int, System]], subset: str, boot: Bootstrap,
                  note: str = "") -> dict:
    """Judge the contrast sum(w · F1) > 0 (e.g. [(+1, A), (−1, B)]: A beats B) on ``subset``."""
    observed = float(sum(w * s.f1(subset).mean() for w, s in terms))
    entities_n = int(terms[0][1].counts[subset][0, :, 2].sum())
    seeds = min(s.seeds for _, s in terms)
    numbers = {"difference": observed, "subset": subset, "entities": entities_n, "seeds": seeds}
    if entities_n == 0:
        return check(INCONCLUSIVE, f"{label}: the test split has no entities in this subset", **numbers)
    samples = sum(w * boot.f1(s, subset) for w, s in terms)
    lo, hi = (float(v) for v in np.percentile(samples, [2.5, 97.5]))
    spread = (float(math.sqrt(sum(np.var(s.f1(subset), ddof=1) for _, s in terms)))
              if seeds >= 2 else None)
    numbers.update(interval=[lo, hi], spread=spread)
    head = f"{label}: {_pts(observed)} F1 points{note}"
    interval = f"bootstrap 95% interval {_pts(lo)} to {_pts(hi)}"
    if lo <= 0 <= hi:
        return check(INCONCLUSIVE, f"{head}; the {interval} includes 0: {_seed_words(seeds)} on {entities_n} "
                                   f"test entities cannot settle a {abs(100 * observed):.1f}-point difference",
                     **numbers)
    if spread is None:
        return check(INCONCLUSIVE, f"{head}; holds under the bootstrap ({interval}), but with one seed the "
                                   "seed-to-seed spread is unknown (use --seeds 3 or more)", **numbers)
    if abs(observed) <= spread:
        return check(INCONCLUSIVE, f"{head}; holds under the bootstrap ({interval}) but is within the seed "
                                   f"spread (±{100 * spread:.1f} points over {seeds} seeds)", **numbers)
    verdict = SUPPORTED if lo > 0 else CONTRADICTED
    return check(verdict, f"{head}; holds under the bootstrap ({interval}) and exceeds the seed spread "
                          f"(±{100 * spread:.1f} points over {seeds} seeds)", **numbers)


def parameter_check(label: str, costly: System, cheap: System) -> dict:
    """Exact counts: the ``costly`` system is expected to have more parameters."""
    a, b = costly.parameters, cheap.parameters
    verdict = SUPPORTED if a > b else CONTRADICTED
    return check(verdict, f"{label}: {a:,} vs {b:,} parameters ({a / max(b, 1):.2f}×)",
                 costly=a, cheap=b)


def timing_check(label: str, what: str, costly: Sequence[float], cheap: Sequence[float], unit: str,
                 busy: str = "") -> dict:
    """Mean timings: ``costly`` expected higher by over 10 % and over the measurement spread; ``busy``
    (why the machine was not quiet) makes the check inconclusive."""
    a, b = float(np.mean(costly)), float(np.mean(cheap))
    spread = (float(math.sqrt(np.var(costly, ddof=1) + np.var(cheap, ddof=1)))
              if len(costly) >= 2 and len(cheap) >= 2 else None)
    ratio = a / b if b > 0 else math.inf
    text = f"{label}: {what} {a:.3g} vs {b:.3g} {unit} ({ratio:.2f}×)"
    numbers = {"costly": a, "cheap": b, "ratio": ratio, "spread": spread}
    if busy:
        return check(INCONCLUSIVE, f"{text}; timed while the machine was busy ({busy})", **numbers)
    if 1 / TIME_MARGIN < ratio < TIME_MARGIN:
        return check(INCONCLUSIVE, f"{text}; within 10%, below what timings on a shared machine resolve",
                     **numbers)
    if spread is None:
        return check(INCONCLUSIVE, f"{text}; a single measurement: no spread to judge it against", **numbers)
    if abs(a - b) <= spread:
        return check(INCONCLUSIVE, f"{text}; within the spread of repeated measurements (±{spread:.3g})",
                     **numbers)
    return check(SUPPORTED if a > b else CONTRADICTED, f"{text}; beyond the measurement spread (±{spread:.3g})",
                 **numbers)


def ill_formed_check(encoder: str, softmax: System, crf: System) -> dict:
    """Does the CRF head remove the ill-formed sequences that the softmax head predicts?"""
    s, c = int(sum(softmax.ill_formed)), int(sum(crf.ill_formed))
    sentences = int(softmax.counts["all"].shape[1])
    text = (f"{encoder}: ill-formed predicted sequences softmax {s}, crf {c} "
            f"(over {_seed_words(softmax.seeds)} × {sentences} test sentences)")
    if c == 0 and s > 0:
        return check(SUPPORTED, text, softmax=s, crf=c)
    if s == 0 and c == 0:
        return check(INCONCLUSIVE, f"{text}; the softmax head produced none, so there was nothing to remove",
                     softmax=s, crf=c)
    if c < s:
        return check(INCONCLUSIVE, f"{text}; fewer, but not removed", softmax=s, crf=c)
    return check(CONTRADICTED, text, softmax=s, crf=c)


# ---------------------------------------------------------------- combining

def any_of(verdicts: Sequence[str]) -> str:
    """Alternative checks of one part: support without contradiction (or the reverse) decides."""
    supported, contradicted = SUPPORTED in verdicts, CONTRADICTED in verdicts
    if supported != contradicted:
        return SUPPORTED if supported else CONTRADICTED
    return INCONCLUSIVE if verdicts else NOT_TESTED


def all_of(verdicts: Sequence[str]) -> str:
    """Parts of one claim: every tested part must hold; one contradicted part contradicts the claim."""
    tested = [v for v in verdicts if v != NOT_TESTED]
    if not tested:
        return NOT_TESTED
    if CONTRADICTED in tested:
        return CONTRADICTED
    return SUPPORTED if all(v == SUPPORTED for v in tested) else INCONCLUSIVE


def part(name: str, checks: list[dict], missing: str = "") -> dict:
    """A part of a claim; ``missing`` says why it could not be tested when there are no checks."""
    verdict = any_of([c["verdict"] for c in checks])
    return {"part": name, "verdict": verdict, "checks": checks, "reason": "" if checks else missing}


def claim(key: str, parts: list[dict], figures: list[str]) -> dict:
    return claim_record(key, CLAIMS[key], parts, all_of([p["verdict"] for p in parts]), figures)


def claim_record(key: str, text: str, parts: list[dict], verdict: str, figures: list[str]) -> dict:
    """A judged claim as reports keep it: ``{"id", "claim", "verdict", "summary" (its parts in one line),
    "parts", "figures"}``."""
    pieces = []
    for p in parts:
        prefix = f"{p['part']}: " if len(parts) > 1 else ""
        if p["verdict"] == NOT_TESTED:
            pieces.append(f"{prefix}not tested ({p['reason']})")
        else:
            pieces.append(prefix + "; ".join(c["text"] for c in p["checks"]) + f" → {p['verdict']}")
    return {"id": key, "claim": text, "verdict": verdict, "summary": " | ".join(pieces), "parts": parts,
            "figures": figures}


# ---------------------------------------------------------------- the claims

def _heads(systems: dict) -> list[str]:
    found = {head for _, head in systems}
    return [h for h in HEADS if h in found] + sorted(found - set(HEADS))


def _pairs(systems: dict, better: str, worse: str) -> list[tuple[str, System, System]]:
    return [(h, systems[better, h], systems[worse, h]) for h in _heads(systems)
            if (better, h) in systems and (worse, h) in systems]


def _grid(systems: dict) -> str:
    return "this comparison has " + (", ".join(f"{e}-{h}" for e, h in systems) or "nothing")


def claim_a(systems: dict, boot: Bootstrap) -> dict:
    checks = []
    for head, lstm, rnn in _pairs(systems, "lstm", "rnn"):
        short = float(lstm.f1("short").mean() - rnn.f1("short").mean())
        checks.append(quality_check(f"{head}: lstm − rnn on sentences of {LONG}+ tokens", [(1, lstm), (-1, rnn)],
                                    "long", boot, note=f" (on shorter sentences {_pts(short)})"))
    missing = f"needs rnn and lstm with the same head; {_grid(systems)}"
    return claim("a", [part("long sentences", checks, missing)], ["length_buckets.png"])


def claim_b(systems: dict, boot: Bootstrap) -> dict:
    checks = [quality_check(f"{head}: bilstm − lstm", [(1, bi), (-1, uni)], "all", boot)
              for head, bi, uni in _pairs(systems, "bilstm", "lstm")]
    missing = f"needs bilstm and lstm with the same head; {_grid(systems)}"
    return claim("b", [part("test F1", checks, missing)], ["f1.png"])


def claim_c(systems: dict, boot: Bootstrap) -> dict:
    pairs = _pairs(systems, "bilstm-cnn", "bilstm")
    if pairs and "oov" not in pairs[0][1].counts:
        return claim("c", [part("entities with OOV words", [], "no training split to tell unseen words")],
                     ["oov.png"])
    checks = [quality_check(f"{head}: bilstm-cnn − bilstm on entities with OOV words", [(1, cnn), (-1, plain)],
                            "oov", boot) for head, cnn, plain in pairs]
    missing = f"needs bilstm-cnn and bilstm with the same head; {_grid(systems)}"
    return claim("c", [part("entities with OOV words", checks, missing)], ["oov.png"])


def claim_d(systems: dict, boot: Bootstrap) -> dict:
    both = [e for e in dict.fromkeys(e for e, _ in systems) if (e, "softmax") in systems and (e, "crf") in systems]
    gain_checks = []
    if len(both) >= 2:
        softmax_f1 = {e: float(systems[e, "softmax"].f1().mean()) for e in both}
        weak, strong = min(both, key=softmax_f1.get), max(both, key=softmax_f1.get)
        gains = ", ".join(f"{e} {_pts(systems[e, 'crf'].f1().mean() - softmax_f1[e])}" for e in both)
        terms = [(1, systems[weak, "crf"]), (-1, systems[weak, "softmax"]),
                 (-1, systems[strong, "crf"]), (1, systems[strong, "softmax"])]
        gain_checks.append(quality_check(
            f"CRF gain of the weakest softmax encoder ({weak}) − CRF gain of the strongest ({strong})",
            terms, "all", boot, note=f" (CRF gains: {gains})"))
    form_checks = [ill_formed_check(e, systems[e, "softmax"], systems[e, "crf"]) for e in both
                   if systems[e, "softmax"].ill_formed and systems[e, "crf"].ill_formed]
    parts = [part("gain where weakest", gain_checks,
                  f"needs two encoders with both heads; {_grid(systems)}"),
             part("ill-formed sequences", form_checks,
                  f"needs an encoder with both heads; {_grid(systems)}")]
    return claim("d", parts, ["f1.png"])


def _timings(label: str, costly: System, cheap: System) -> list[dict]:
    checks = []
    if costly.decode_seconds and cheap.decode_seconds:
        checks.append(timing_check(label, "decoding", [1e3 * s for s in costly.decode_seconds],
                                   [1e3 * s for s in cheap.decode_seconds], "ms per sentence",
                                   busy="; ".join(x for x in (costly.busy, cheap.busy) if x)))
    if costly.epoch_seconds and cheap.epoch_seconds:
        checks.append(timing_check(label, "training", costly.epoch_seconds, cheap.epoch_seconds, "s per epoch"))
    return checks


def claim_e(systems: dict, boot: Bootstrap) -> dict:
    encoders = list(dict.fromkeys(e for e, _ in systems))
    bi = [(f"{head}: bi{e} vs {e}", systems[f"bi{e}", head], systems[e, head])
          for e in encoders for head in _heads(systems)
          if (e, head) in systems and (f"bi{e}", head) in systems]
    crf = [(f"{e}: crf vs softmax", systems[e, "crf"], systems[e, "softmax"])
           for e in encoders if (e, "crf") in systems and (e, "softmax") in systems]
    no_bi = f"needs an encoder and its bidirectional version (e.g. lstm, bilstm); {_grid(systems)}"
    no_crf = f"needs an encoder with both heads; {_grid(systems)}"
    parts = [part("bidirectional parameters", [parameter_check(*p) for p in bi], no_bi),
             part("bidirectional time", [c for p in bi for c in _timings(*p)], no_bi),
             part("CRF parameters", [parameter_check(*p) for p in crf], no_crf),
             part("CRF time", [c for p in crf for c in _timings(*p)], no_crf)]
    return claim("e", parts, ["f1_vs_time.png"])


def claim_f(systems: dict, boot: Bootstrap, documents: bool = True) -> dict:
    if not documents:
        return claim("f", [part("test F1", [], "the test split marks no documents (every sentence is its own)")],
                     ["f1.png"])
    pairs = [(head, row, systems[row, head], systems[row.partition("+")[0], head]) for row, head in systems
             if "+" in row and (row.partition("+")[0], head) in systems]
    checks = [quality_check(f"{head}: {row} − {row.partition('+')[0]}", [(1, ctx), (-1, plain)], "all", boot)
              for head, row, ctx, plain in pairs]
    missing = f"needs ENCODER+document beside ENCODER with the same head; {_grid(systems)}"
    return claim("f", [part("test F1", checks, missing)], ["f1.png"])


def judge(systems: Sequence[System], resamples: int = 1000, seed: int = BOOTSTRAP_SEED,
          documents: bool = True) -> list[dict]:
    """Verdicts on claims (a)–(e), and (f) when a row has document context (``ENCODER+CONTEXT``), for systems
    scored on the same test sentences (JSON-ready dicts); ``documents``: whether the test split marks documents
    (without, claim (f) is not tested).

    Each: ``{"id", "claim", "verdict", "summary", "parts": [{"part", "verdict", "checks", "reason"}],
    "figures"}``; each check has ``verdict``, ``text`` and its numbers (F1 as fractions).
    """
    by = {(s.encoder, s.head): s for s in systems}
    if len(by) != len(systems):
        raise ValueError("two systems share an encoder and head")
    sentences = {s.counts["all"].shape[1] for s in systems}
    if len(sentences) > 1:
        raise ValueError(f"systems were scored on different numbers of sentences: {sorted(sentences)}")
    boot = Bootstrap(sentences.pop() if sentences else 0, resamples, seed)
    verdicts = [f(by, boot) for f in (claim_a, claim_b, claim_c, claim_d, claim_e)]
    return verdicts + ([claim_f(by, boot, documents)] if any("+" in e for e, _ in by) else [])
