"""Entity-level scores (seqeval) and error analysis.

Every score is the same JSON-ready object, used by ``ner evaluate``, the bundle's metrics file and the
comparison report::

    {"precision": float, "recall": float, "f1": float,
     "per_type": {"PER": {"precision": float, "recall": float, "f1": float, "support": int}, ...},
     "sentences": int, "tokens": int}
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from seqeval.metrics import classification_report
from seqeval.scheme import IOB1, IOB2, IOBES

from ner.bundle import Bundle
from ner.data.conll import read_conll, write_conll
from ner.data.schemes import Span, convert, detect_scheme, scoring_scheme, to_spans
from ner.data.vocab import Vocabularies
from ner.errors import NerError, RunError
from ner.inference.tagger import Tagger
from ner.io.outputs import check_file

if TYPE_CHECKING:
    from ner.data.corpus import CorpusSpec
    from ner.model.network import SequenceTagger

_STRICT = {"iob1": IOB1, "bio": IOB2, "bioes": IOBES}


def _for_seqeval(tags: Sequence[Sequence[str]], scheme: str) -> tuple[list[list[str]], str]:
    target = scoring_scheme(scheme)
    if target == scheme:
        return [list(t) for t in tags], target
    return [convert(t, scheme, target) for t in tags], target


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], scheme: str,
                  strict: bool = False) -> dict:
    """Entity-level precision/recall/F1 overall and per type.

    ``gold`` and ``pred`` are tag sequences (lists of lists, same lengths) in ``scheme``. Default mode is
    conlleval-compatible (seqeval's default); ``strict`` scores exact IOB2/IOBES chunks.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
    y_true, target = _for_seqeval(gold, scheme)
    y_pred, _ = _for_seqeval(pred, scheme)
    kwargs = {"mode": "strict", "scheme": _STRICT[target]} if strict else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on undefined precision/recall (0 predictions)
        report = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **kwargs)
    micro = report.pop("micro avg")
    per_type = {
        label: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                "f1": float(v["f1-score"]), "support": int(v["support"])}
        for label, v in sorted(report.items()) if not label.endswith(" avg")
    }
    return {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "per_type": per_type,
        "sentences": len(gold),
        "tokens": sum(len(g) for g in gold),
    }


def read_scored(path: str | os.PathLike) -> tuple[list, list, list, str]:
    """Read a CoNLL file whose last two columns are gold and predicted tags.

    Returns (tokens, gold, predicted, scheme) with the scheme detected from both tag columns.
    """
    gold = read_conll(path, tag_col=-2)
    pred = read_conll(path, tag_col=-1)
    gold_tags, pred_tags = [s.tags for s in gold], [s.tags for s in pred]
    return [s.tokens for s in gold], gold_tags, pred_tags, detect_scheme(gold_tags + pred_tags)


def score_file(path: str | os.PathLike, strict: bool = False, errors: bool = False) -> dict:
    """Score a ``token gold predicted`` CoNLL file; ``errors`` adds an :func:`error_analysis`."""
    tokens, gold, pred, scheme = read_scored(path)
    scores = entity_scores(gold, pred, scheme, strict=strict)
    if errors:
        scores["errors"] = error_analysis(tokens, gold, pred, scheme)
    return scores


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def error_analysis(tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                   pred: Sequence[Sequence[str]], scheme: str, examples: int = 5) -> dict:
    """Classify every wrong span: type confusion, boundary error, missed and spurious entities.

    Returns ``{"type_confusions": {"ORG->LOC": n, ...}, "boundary_errors": n, "missed": n,
    "spurious": n, "examples": {"type_confusion": [...], "boundary": [...], "missed": [...],
    "spurious": [...]}}``; each example is ``{"sentence": i, "text": str, "gold": str, "predicted": str}``.
    """
    confusions: Counter[str] = Counter()
    counts = Counter()
    shown: dict[str, list[dict]] = {"type_confusion": [], "boundary": [], "missed": [], "spurious": []}

    def note(kind: str, i: int, toks, g: Span | None, p: Span | None) -> None:
        counts[kind] += 1
        if len(shown[kind]) < examples:
            span = g or p
            shown[kind].append({
                "sentence": i,
                "text": " ".join(toks[span.start:span.end]),
                "gold": f"{' '.join(toks[g.start:g.end])}|{g.label}" if g else "",
                "predicted": f"{' '.join(toks[p.start:p.end])}|{p.label}" if p else "",
            })

    for i, (toks, g_tags, p_tags) in enumerate(zip(tokens, gold, pred)):
        g_spans = set(to_spans(g_tags, scheme))
        p_spans = set(to_spans(p_tags, scheme))
        for g in sorted(g_spans - p_spans, key=lambda s: s.start):
            partners = [p for p in p_spans - g_spans if _overlaps(g, p)]
            same_bounds = [p for p in partners if (p.start, p.end) == (g.start, g.end)]
            if same_bounds:
                confusions[f"{g.label}->{same_bounds[0].label}"] += 1
                note("type_confusion", i, toks, g, same_bounds[0])
            elif partners:
                note("boundary", i, toks, g, partners[0])
            else:
                note("missed", i, toks, g, None)
        for p in sorted(p_spans - g_spans, key=lambda s: s.start):
            if not any(_overlaps(p, g) for g in g_spans - p_spans):
                note("spurious", i, toks, None, p)
    return {
        "type_confusions": dict(confusions.most_common()),
        "boundary_errors": counts["boundary"],
        "missed": counts["missed"],
        "spurious": counts["spurious"],
        "examples": shown,
    }


def format_scores(scores: dict, title: str | None = None) -> str:
    """A readable table of an :func:`entity_scores` object."""
    lines = [title] if title else []
    lines.append(f"{'type':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for label, s in scores["per_type"].items():
        lines.append(f"{label:<12}{s['precision']:>10.4f}{s['recall']:>10.4f}{s['f1']:>10.4f}{s['support']:>10d}")
    support = sum(s["support"] for s in scores["per_type"].values())
    lines.append(f"{'overall':<12}{scores['precision']:>10.4f}{scores['recall']:>10.4f}"
                 f"{scores['f1']:>10.4f}{support:>10d}")
    lines.append(f"{scores['sentences']} sentences, {scores['tokens']} tokens")
    return "\n".join(lines)


def format_errors(analysis: dict) -> str:
    """A readable summary of an :func:`error_analysis` object."""
    lines = ["error analysis:",
             f"  missed entities:   {analysis['missed']}",
             f"  spurious entities: {analysis['spurious']}",
             f"  boundary errors:   {analysis['boundary_errors']}",
             f"  type confusions:   {sum(analysis['type_confusions'].values())}"]
    for pair, n in analysis["type_confusions"].items():
        lines.append(f"    {pair}: {n}")
    for kind, items in analysis["examples"].items():
        if items:
            lines.append(f"  examples ({kind.replace('_', ' ')}):")
            lines.extend(f"    #{e['sentence']}: gold [{e['gold']}]  predicted [{e['predicted']}]" for e in items)
    return "\n".join(lines)


def score_split(model: SequenceTagger, vocabs: Vocabularies, tokens: Sequence[Sequence[str]],
                gold: Sequence[Sequence[str]], data_scheme: str, model_scheme: str, strict: bool = False,
                documents: Sequence[int] | None = None) -> tuple[dict, list]:
    """Entity scores of the Keras ``model`` on one split, compared in the data's scheme; also returns the
    predictions (in the data's scheme). ``documents``: the document of each sentence (models that read them)."""
    from ner.model.predict import predict_split  # imports Keras: only for the Keras engine

    raw = predict_split(model, vocabs, tokens, documents=None if documents is None else list(documents))
    predicted = [convert(p, model_scheme, data_scheme) for p in raw]
    return entity_scores(gold, predicted, data_scheme, strict=strict), predicted


def check_overlap(vocabs: Vocabularies, tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], scheme: str,
                  where: str) -> Counter:
    """Gold counts of the entity types the model never saw; RunError when the data shares no entity type or
    no word or character with the model (its scores would mean nothing)."""
    known = {t.split("-", 1)[1] for t in vocabs.labels.items if t != "O"}
    types = Counter(s.label for g in gold for s in to_spans(g, scheme))
    if types and not known & set(types):
        raise RunError(f"{where}: shares no entity type with the model (data: {', '.join(sorted(types))}; "
                       f"model: {', '.join(sorted(known))})")
    if not any(t in vocabs.words or any(c in vocabs.chars for c in t) for sentence in tokens for t in sentence):
        raise RunError(f"{where}: shares no word or character with the model's vocabulary (a corpus in another "
                       "language?)")
    return Counter({label: n for label, n in types.items() if label not in known})


def evaluate(model_or_path: str | os.PathLike | Bundle | Tagger, data: CorpusSpec, *, split: str = "test",
             strict: bool = False, predictions: str | os.PathLike | None = None, errors: bool = False,
             token_col: int = 0, tag_col: int = -1, tokens_column: str | None = None,
             tags_column: str | None = None, engine: str = "auto", overwrite: bool = False) -> dict:
    """Score a bundle (path or loaded ``Bundle``/``Tagger``) on one split of a corpus; a corpus of one file
    (CoNLL, parquet, json) is that split, whatever ``split`` names.

    Tags are compared in the scheme of the evaluation data, whatever scheme the model was trained in.
    A path is loaded with ``engine`` (as ``Tagger.load``: "auto" tags with the numpy runtime when the bundle
    has one, without importing Keras); a ``Tagger`` tags with its own engine, a ``Bundle`` with its Keras
    model. Returns an :func:`entity_scores` object, plus ``"unseen_labels"`` (entity types of the data that
    the model never saw, with their gold counts) when there are any and ``"errors"`` when ``errors``.
    ``predictions`` names a CoNLL file to write with ``token gold predicted`` columns (an existing file is
    replaced only with ``overwrite``). ``data`` is any
    source of :func:`ner.load_corpus` (columns as there), also a ``datasets.Dataset`` (that split) or
    ``DatasetDict``.
    """
    import datasets  # slow to import: scoring a tagged file (score_file) needs none of it

    from ner.data.corpus import corpus_scheme, data_name, is_dataset, load_corpus, split_documents

    if isinstance(model_or_path, Bundle):
        bundle, tagger = model_or_path, None
    else:
        tagger = model_or_path if isinstance(model_or_path, Tagger) else Tagger.load(model_or_path, engine=engine)
        bundle = tagger.bundle
    if predictions is not None:
        source = None if is_dataset(data) else data
        check_file(predictions, "--predictions", inputs=(source, bundle.path), overwrite=overwrite)
    dataset = load_corpus(data, token_col=token_col, tag_col=tag_col, tokens_column=tokens_column,
                          tags_column=tags_column)
    if isinstance(data, (str, Path)) and Path(data).is_file():
        dataset = {split: dataset["train"]}   # one file is the split asked for
    if isinstance(data, datasets.Dataset):
        dataset = {split: dataset["train"]}   # and so is one Dataset
    name = data_name(data)
    if split not in dataset:
        raise NerError(f"--split: {name} has no split {split!r} (it has {', '.join(dataset)})")
    tokens, gold = list(dataset[split]["tokens"]), list(dataset[split]["tags"])
    documents = split_documents(dataset[split])
    if not tokens:
        raise NerError(f"{name}: split {split} has no sentences")
    scheme = corpus_scheme(dataset[split])
    unseen = check_overlap(bundle.vocabs, tokens, gold, scheme, f"{name} [{split}]")
    if tagger is not None and tagger.runtime is not None:
        predicted = tagger.tag_sentences(tokens, scheme, documents=documents)
        scores = entity_scores(gold, predicted, scheme, strict=strict)
    else:
        model = bundle.model if tagger is None else tagger.model
        scores, predicted = score_split(model, bundle.vocabs, tokens, gold, scheme,
                                        bundle.config["scheme"], strict=strict, documents=documents)
    if unseen:
        scores["unseen_labels"] = dict(sorted(unseen.items()))
    if errors:
        scores["errors"] = error_analysis(tokens, gold, predicted, scheme)
    if predictions is not None:
        write_conll(predictions, zip(tokens, gold, predicted))
    return scores
