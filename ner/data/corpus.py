"""Corpora as ``datasets.DatasetDict``: splits "train", "dev", "test"; columns "tokens" and "tags"
(lists of strings) and "document" (an int per sentence), whatever the source — CoNLL file or folder, a
``save_to_disk`` folder, parquet / json / jsonl files, or a Hugging Face hub dataset (``hf:NAME[:CONFIG]``)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import warnings
from collections import Counter
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import datasets

from ner.data.conll import (
    DOCSTART,
    SPLIT_NAMES,
    SPLIT_ORDER,
    Sentence,
    decode,
    find_splits,
    match_splits,
    number_documents,
    read_conll,
)
from ner.data.schemes import detect_scheme, is_known_tag, to_spans, validate
from ner.data.schemes import repair as repair_tags
from ner.errors import InputError

logger = logging.getLogger(__name__)

TABLE_EXTENSIONS = (".parquet", ".json", ".jsonl")
TOKEN_COLUMNS = ("tokens", "words")                  # table sources: candidates, when no column is named
TAG_COLUMNS = ("tags", "ner_tags", "labels", "ner")
NO_LABEL_NAMES = ("holds label ids but no label names: give the tags as strings (B-PER, O, ...), or save the "
                  "dataset with ClassLabel names in its features")
FEATURES = datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                              "tags": datasets.List(datasets.Value("string")),
                              "document": datasets.Value("int64")})
CorpusSpec = str | os.PathLike | datasets.Dataset | datasets.DatasetDict
"""What :func:`load_corpus` reads: a path, ``"hf:NAME[:CONFIG]"``, or a ``datasets`` object."""


class Corpus(datasets.DatasetDict):
    """A DatasetDict that remembers how it was loaded: ``scheme`` (detected over all splits),
    ``ill_formed`` (split -> sentences that break the scheme, as read) and ``repaired`` (split ->
    sentences rewritten by ``repair=True``; zeros otherwise)."""

    scheme: str
    ill_formed: dict[str, int]
    repaired: dict[str, int]


def where(sentence: Sentence, token: int) -> tuple[str, int | None]:
    """``(path, line)`` of token ``token`` of ``sentence`` for messages; line is None for table rows."""
    if sentence.lines:
        return str(sentence.path), sentence.lines[token]
    return f"{sentence.path}, token {token + 1}", None


def is_dataset(value: object) -> bool:
    """Is ``value`` a ``datasets.Dataset`` or ``DatasetDict``?"""
    return isinstance(value, (datasets.Dataset, datasets.DatasetDict))


def data_name(spec: CorpusSpec) -> str:
    """``spec`` in one line for messages and bundles: the path or hf: spec, or a ``datasets`` object described
    as ``DatasetDict(train, validation)`` / ``Dataset(N rows)``."""
    if isinstance(spec, datasets.DatasetDict):
        return f"DatasetDict({', '.join(spec)})"
    if isinstance(spec, datasets.Dataset):
        return f"Dataset({len(spec)} row{'s' * (len(spec) != 1)})"
    return str(spec)


def fingerprints(spec: CorpusSpec) -> dict[str, str] | None:
    """``{split: fingerprint}`` of a ``datasets.Dataset`` (split "train") or ``DatasetDict``; None for paths."""
    if isinstance(spec, datasets.DatasetDict):
        return {split: ds._fingerprint for split, ds in spec.items()}
    if isinstance(spec, datasets.Dataset):
        return {"train": spec._fingerprint}
    return None


def pick_columns(names: list[str], columns: tuple[str | None, str | None], source: str | os.PathLike,
                 line: int | None = None) -> tuple[str, str]:
    """The (tokens, tags) columns among ``names``: the ones named in ``columns``, else the only candidate of
    :data:`TOKEN_COLUMNS` / :data:`TAG_COLUMNS`; InputError when a named one is missing, or when no
    candidate or several are there."""
    shown = ", ".join(map(repr, names)) or "none"
    picked = []
    for given, kind, candidates in zip(columns, ("token", "tag"), (TOKEN_COLUMNS, TAG_COLUMNS)):
        if given is not None:
            if given not in names:
                raise InputError(f"no column {given!r} (columns: {shown})", source, line)
            picked.append(given)
            continue
        found = [c for c in candidates if c in names]
        if len(found) != 1:
            why = f"several {kind} columns ({', '.join(found)})" if found else \
                f"no {kind} column (looked for {', '.join(candidates)}; columns: {shown})"
            raise InputError(f"{why}: choose one with --{kind}s-column ({kind}s_column=)", source, line)
        picked.append(found[0])
    return picked[0], picked[1]


def _saved_to_disk(folder: Path) -> bool:
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def conll_files(spec: str | os.PathLike) -> dict[str, Path] | None:
    """The CoNLL files behind ``spec`` keyed by split, or None when ``spec`` is another kind of source."""
    if isinstance(spec, str) and spec.startswith("hf:"):
        return None
    path = Path(spec)
    if not path.exists():
        raise InputError("no such file or folder", path)
    if path.is_dir():
        if _saved_to_disk(path) or match_splits(path, TABLE_EXTENSIONS):
            return None
        return find_splits(path)
    return None if path.suffix.lower() in TABLE_EXTENSIONS else {"train": path}


def read_sentences(spec: CorpusSpec, *, token_col: int = 0, tag_col: int = -1, tokens_column: str | None = None,
                   tags_column: str | None = None, load_kwargs: Mapping[str, Any] | None = None
                   ) -> dict[str, list[Sentence]]:
    """Sentences of every split of ``spec`` (see :func:`load_corpus`), tags as strings, unchecked.

    CoNLL sentences carry line numbers; rows of other sources have ``lines == []`` and a ``path`` such
    as ``"data.parquet [train] row 7"``, ``"data.jsonl:7"`` or ``"data.json, record 7"``. Empty sentences
    are dropped; a ``-DOCSTART-`` line or a row of only that token ends a document (see ``Sentence.document``).
    """
    columns = (tokens_column, tags_column)
    if isinstance(spec, (datasets.Dataset, datasets.DatasetDict)):
        return _dataset_splits(spec, data_name(spec), columns)
    if not isinstance(spec, (str, Path)):
        raise InputError(f"corpus: expected a path, hf:NAME or a datasets.Dataset, got {type(spec).__name__}")
    files = conll_files(spec)
    if files is not None:
        return {split: read_conll(p, token_col, tag_col) for split, p in files.items()}
    if isinstance(spec, str) and spec.startswith("hf:"):
        return _dataset_splits(_load_hub(spec, load_kwargs), spec, columns)
    path = Path(spec)
    if path.is_dir() and _saved_to_disk(path):
        try:
            saved = datasets.load_from_disk(str(path))
        except Exception as exc:  # missing or corrupt files of the saved dataset
            detail = (str(exc).strip().splitlines() or [""])[0]
            raise InputError(f"cannot read the saved dataset: {type(exc).__name__}: {detail}", path) from exc
        return _dataset_splits(saved, str(path), columns)
    if path.is_dir():
        tables = match_splits(path, TABLE_EXTENSIONS)
        if "train" not in tables:
            raise InputError(f"no train split (found {', '.join(p.name for p in tables.values())})", path)
        return {split: _table_rows(p, f"{p} [{split}]", columns) for split, p in tables.items()}
    return {"train": _table_rows(path, f"{path} [train]", columns)}


def _load_hub(spec: str, load_kwargs: Mapping[str, Any] | None):
    name, _, config = spec[3:].partition(":")
    if not name:
        raise InputError("expected hf:NAME or hf:NAME:CONFIG, e.g. hf:conll2003", spec)
    offline = _hub_offline()
    unreachable = None if offline else _hub_unreachable()
    try:
        with _quiet_hub(offline or unreachable is not None):
            return datasets.load_dataset(name, config or None, **dict(load_kwargs or {}))
    except Exception as exc:  # network, unknown name, bad config: one line for the user
        why = ("offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) and not in the local cache" if offline else
               f"the hub is unreachable ({unreachable}) and it is not in the local cache" if unreachable else
               "hub datasets need network access or a copy in the local cache")
        first = (str(exc).strip().splitlines() or [""])[0]
        detail = "" if offline or unreachable else f": {type(exc).__name__}: {first}"   # theirs says "offline"
        raise InputError(f"could not load dataset {name!r} ({why}){detail}", spec) from exc


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub's endpoint takes no connection within ``timeout`` seconds (None: it does, or a proxy is
    set, which only a real request can test). Unreachable, ``datasets`` would retry for tens of seconds;
    ``ner`` reads the local cache instead."""
    import socket
    import urllib.request
    from urllib.parse import urlsplit

    import huggingface_hub.constants as hub

    if urllib.request.getproxies():
        return None
    url = urlsplit(hub.ENDPOINT)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or type(exc).__name__}"
    return None


def _hub_offline() -> bool:
    """Offline as HF_DATASETS_OFFLINE or else HF_HUB_OFFLINE say now (``datasets`` reads them once, at import)."""
    value = os.environ.get("HF_DATASETS_OFFLINE", os.environ.get("HF_HUB_OFFLINE"))
    return datasets.config.HF_HUB_OFFLINE if value is None else value.upper() in datasets.config.ENV_VARS_TRUE_VALUES


@contextlib.contextmanager
def _quiet_hub(offline: bool):
    """``datasets`` and ``huggingface_hub`` offline as ``offline`` says (offline, a cached dataset loads without
    trying the network), with their log lines (retries, cache notes), warnings and progress bars off."""
    import huggingface_hub.constants as hub
    from datasets.utils import logging as datasets_logging
    from huggingface_hub.utils import logging as hub_logging

    saved = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hub.HF_HUB_OFFLINE,
             datasets_logging.get_verbosity(), hub_logging.get_verbosity(), datasets.is_progress_bar_enabled())
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = hub.HF_HUB_OFFLINE = offline
    datasets_logging.set_verbosity_error()
    hub_logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hub.HF_HUB_OFFLINE = saved[:3]
        datasets_logging.set_verbosity(saved[3])
        hub_logging.set_verbosity(saved[4])
        if saved[5]:
            datasets.enable_progress_bars()


def _dataset_splits(data, source: str, columns: tuple[str, str]) -> dict[str, list[Sentence]]:
    if isinstance(data, datasets.Dataset):
        data = {"train": data}
    if not isinstance(data, Mapping):
        raise InputError(f"expected a dataset with splits, got {type(data).__name__}", source)
    splits: dict[str, list[Sentence]] = {}
    for name, ds in data.items():
        split = SPLIT_NAMES.get(name.lower(), name)
        if split in splits:
            raise InputError(f"two splits map to {split!r}", source)
        splits[split] = _rows(ds, f"{source} [{name}]", columns)
    if "train" not in splits:
        raise InputError(f"no train split (found {', '.join(data)})", source)
    order = {s: i for i, s in enumerate(SPLIT_ORDER)}
    return dict(sorted(splits.items(), key=lambda kv: order.get(kv[0], len(order))))


def _table_rows(path: Path, source: str, columns: tuple[str, str]) -> list[Sentence]:
    """Sentences of a parquet, json (list of records, dict of columns or JSON lines) or jsonl file."""
    if path.suffix.lower() != ".parquet":
        return _json_rows(path, columns)
    import pyarrow.parquet as pq

    try:
        table = datasets.Dataset(pq.read_table(path))  # keeps ClassLabel features stored by `datasets`
    except Exception as exc:
        raise InputError(f"cannot read parquet: {exc}", path) from exc
    return _rows(table, source, columns)


def _json_kind(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), "a number")


def _loads(text: str, path, line: int | None = None):
    """``json.loads(text)``; InputError naming the line for malformed JSON, nesting too deep or numbers too long."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", path, (line or 1) + exc.lineno - 1) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path, line) from None
    except ValueError as exc:  # e.g. an integer of over 4300 digits
        raise InputError(f"unreadable JSON: {str(exc).split(';')[0]}", path, line) from None


def _json_records(path: Path, text: str) -> list[tuple[str, int | None, Any]]:
    """``(where, line, record)`` of every row: JSON lines are named by line, the records of one JSON
    document (a list of records or a dict of equally long columns) by number, ``FILE, record N``."""
    if path.suffix.lower() == ".json" and text.lstrip()[:1] in "[{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":  # "Extra data": one value per line, a .json file of JSON lines
                raise InputError(f"not JSON: {exc.msg}", path, exc.lineno) from None
            data = None
        except (RecursionError, ValueError):
            data = _loads(text, path)  # raises InputError
        if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()) \
                and any(isinstance(x, list) for v in data.values() for x in v):
            lengths = {k: len(v) for k, v in data.items()}
            if len(set(lengths.values())) > 1:
                raise InputError(f"columns of different lengths: {lengths}", path)
            data = [dict(zip(data, row)) for row in zip(*data.values())]
        if isinstance(data, list):
            return [(f"{path}, record {i}", None, record) for i, record in enumerate(data, 1)]
        if data is not None:
            return [(str(path), 1, data)]
    return [(str(path), n, _loads(line, path, n)) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def _json_rows(path: Path, columns: tuple[str | None, str | None]) -> list[Sentence]:
    """Sentences of a json or jsonl file: every row an object whose token and tag columns (named, or detected
    in the first row) are equally long lists of strings; InputError naming the line (or record) of the
    first row that is not."""
    text = decode(path.read_bytes(), path)
    if not text.strip():
        raise InputError("empty file", path)
    sentences = []
    picked = None
    for where_, line, record in _json_records(path, text):
        if not isinstance(record, dict):
            wanted = picked or (columns[0] or "tokens", columns[1] or "tags")
            raise InputError(f"expected an object with {' and '.join(map(repr, wanted))}, got {_json_kind(record)}",
                             where_, line)
        picked = picked or pick_columns(list(record), columns, where_, line)
        for column in picked:
            value = record.get(column)
            if column not in record:
                keys = ", ".join(map(repr, list(record)[:10])) or "none"
                raise InputError(f"no {column!r} (keys: {keys}); choose with tokens_column / tags_column",
                                 where_, line)
            if not isinstance(value, list):
                raise InputError(f"{column!r} must be a list of strings, got {_json_kind(value)}", where_, line)
            odd = next((i for i, v in enumerate(value) if not isinstance(v, str)), None)
            if odd is not None and column == picked[1] and all(_json_kind(v) == "a number" for v in value):
                raise InputError(f"{column!r} {NO_LABEL_NAMES}", where_, line)
            if odd is not None:
                raise InputError(f"{column!r} must be a list of strings; item {odd + 1} is "
                                 f"{_json_kind(value[odd])}", where_, line)
        tokens, tags = record[picked[0]], record[picked[1]]
        if len(tokens) != len(tags):
            raise InputError(f"{len(tokens)} tokens but {len(tags)} tags", where_, line)
        try:
            "".join(tokens + tags).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"a string holds a lone surrogate ({exc.object[exc.start]!r}), which is not "
                             "Unicode text", where_, line) from None
        if blank := _blank_token(tokens):
            raise InputError(blank, where_, line)
        if tokens == [DOCSTART]:
            sentences.append(None)
        elif tokens:
            sentences.append(Sentence(tokens, tags, [], where_ if line is None else f"{where_}:{line}"))
    return number_documents(sentences)


def _blank_token(tokens: list[str]) -> str | None:
    """Why ``tokens`` cannot be read (a token that is empty or only whitespace), or None."""
    j = next((j for j, t in enumerate(tokens) if not t.strip()), None)
    return None if j is None else f"token {j + 1} is empty ({tokens[j]!r}): every token needs a non-space character"


def _rows(ds: datasets.Dataset, source: str, columns: tuple[str | None, str | None]) -> list[Sentence]:
    """Sentences of a Dataset's token and tag columns (named, or detected); ClassLabel tag ids (also of
    ``Sequence(ClassLabel)``) become their names, ids without names are refused."""
    tokens_column, tags_column = pick_columns(ds.column_names, columns, source)
    feature = getattr(ds.features[tags_column], "feature", None)
    names = feature.names if isinstance(feature, datasets.ClassLabel) else None
    if isinstance(feature, datasets.Value) and feature.dtype.startswith(("int", "uint")):
        raise InputError(f"column {tags_column!r} {NO_LABEL_NAMES}", source)
    sentences = []
    for i, (tokens, tags) in enumerate(zip(ds[tokens_column][:], ds[tags_column][:])):
        where_ = f"{source} row {i + 1}"
        if not isinstance(tokens, list) or not isinstance(tags, list):
            raise InputError("tokens and tags must be lists", where_)
        if not all(isinstance(t, str) for t in tokens):
            raise InputError(f"tokens must be strings (got {tokens[:3]}...)", where_)
        if len(tokens) != len(tags):
            raise InputError(f"{len(tokens)} tokens but {len(tags)} tags", where_)
        if blank := _blank_token(tokens):
            raise InputError(blank, where_)
        if not tokens or tokens == [DOCSTART]:
            if tokens:
                sentences.append(None)  # a -DOCSTART- row ends a document
            continue
        if names is not None:
            if not all(isinstance(t, int) and 0 <= t < len(names) for t in tags):
                raise InputError(f"tag ids {tags} outside the {len(names)} label names", where_)
            tags = [names[t] for t in tags]
        elif all(isinstance(t, int) and not isinstance(t, bool) for t in tags):
            raise InputError(f"column {tags_column!r} {NO_LABEL_NAMES}", where_)
        elif not all(isinstance(t, str) for t in tags):
            raise InputError(f"tags must be strings or ClassLabel ids with names (got {tags[:3]}...)", where_)
        sentences.append(Sentence(tokens, tags, [], where_))
    return number_documents(sentences)


def check_tags(splits: Mapping[str, list[Sentence]]) -> None:
    """InputError at the first tag that is neither ``O`` nor PREFIX-LABEL with a known prefix."""
    known = {t: is_known_tag(t) for t in set(chain.from_iterable(s.tags for ss in splits.values() for s in ss))}
    if all(known.values()):
        return
    for sentence in chain.from_iterable(splits.values()):
        for j, tag in enumerate(sentence.tags):
            if not known[tag]:
                raise InputError(f"unknown tag {tag!r} (expected O or B-/I-/E-/S-/M-/L-/U- plus a label)",
                                 *where(sentence, j))


def load_corpus(spec: CorpusSpec, *, token_col: int = 0, tag_col: int = -1, tokens_column: str | None = None,
                tags_column: str | None = None, repair: bool = False,
                load_kwargs: Mapping[str, Any] | None = None) -> Corpus:
    """Load a corpus: splits "train" (always), "dev" and "test"; columns "tokens" and "tags" (list[str]) and
    "document" (int, 0-based per split; one document per sentence when the source marks none).

    ``spec``: a CoNLL file (split "train") or a folder of split files; a ``save_to_disk`` folder;
    a .parquet/.json/.jsonl file (split "train") or a folder of train/dev/test such files; or
    ``"hf:NAME[:CONFIG]"`` = ``datasets.load_dataset(NAME, CONFIG, **load_kwargs)`` (hub names need network,
    or a copy in the local cache: offline with HF_HUB_OFFLINE=1); or a ``datasets.Dataset`` (split "train")
    or ``DatasetDict``. ``token_col``/``tag_col`` pick CoNLL columns, ``tokens_column``/``tags_column``
    the columns of the other sources (None: detected, tokens from "tokens"/"words", tags from
    "tags"/"ner_tags"/"labels"/"ner"; other columns are ignored); ClassLabel ids become tag names; HF
    "validation" becomes "dev"; an empty or whitespace token is an InputError naming its row. Unknown tags raise
    InputError (file:line). Sentences that break the detected scheme are kept as they are and counted
    (a warning is logged) or, with ``repair=True``, rewritten to the spans a conlleval reading gives.
    """
    splits = read_sentences(spec, token_col=token_col, tag_col=tag_col, tokens_column=tokens_column,
                            tags_column=tags_column, load_kwargs=load_kwargs)
    check_tags(splits)
    scheme = detect_scheme(s.tags for ss in splits.values() for s in ss)
    ill_formed = {split: sum(1 for s in ss if validate(s.tags, scheme)) for split, ss in splits.items()}
    repaired = dict.fromkeys(splits, 0)
    total = sum(ill_formed.values())
    if total and repair:
        for split, sentences in splits.items():
            for s in sentences:
                fixed = repair_tags(s.tags, scheme)
                if fixed != s.tags:
                    s.tags = fixed
                    repaired[split] += 1
        logger.warning("%s: repaired %d ill-formed %s sentence(s)", data_name(spec), sum(repaired.values()),
                       scheme)
    elif total:
        logger.warning("%s: %d sentence(s) are ill-formed %s (see `ner data validate`; repair=True fixes "
                       "them)", data_name(spec), total, scheme)
    corpus = Corpus({
        split: datasets.Dataset.from_dict({"tokens": [s.tokens for s in ss], "tags": [s.tags for s in ss],
                                           "document": [i if s.document is None else s.document
                                                        for i, s in enumerate(ss)]}, features=FEATURES)
        for split, ss in splits.items()})
    corpus.scheme, corpus.ill_formed, corpus.repaired = scheme, ill_formed, repaired
    return corpus


def _tag_lists(ds: datasets.Dataset, column: str = "tags") -> Iterator[list[str]]:
    names = getattr(ds.features[column], "feature", None)
    rows = ds[column][:]
    if isinstance(names, datasets.ClassLabel):
        return ([names.names[t] for t in row] for row in rows)
    return iter(rows)


def _datasets_of(data) -> Iterable[datasets.Dataset]:
    return data.values() if isinstance(data, Mapping) else [data]


def split_documents(ds: datasets.Dataset) -> list[int]:
    """The document of each sentence of a split (its "document" column; each sentence its own without one)."""
    return list(ds["document"]) if "document" in ds.column_names else list(range(len(ds)))


def corpus_scheme(dataset_or_dict: datasets.Dataset | datasets.DatasetDict) -> str:
    """Tag scheme of a Dataset or DatasetDict (all splits together); a loaded Corpus knows its own."""
    if isinstance(dataset_or_dict, Corpus) and hasattr(dataset_or_dict, "scheme"):
        return dataset_or_dict.scheme
    return detect_scheme(chain.from_iterable(_tag_lists(ds) for ds in _datasets_of(dataset_or_dict)))


def _percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile of a sorted non-empty list."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def corpus_stats(corpus: Mapping[str, datasets.Dataset]) -> dict:
    """``{"splits": {split: {"sentences", "documents", "tokens", "scheme", "entities": {label: n},
    "length": {"p50", "p95", "max"}, "sentences_per_document": {"mean", "max"}}}}``; entities are decoded
    with seqeval's lenient reading; a dataset without a "document" column has one document per sentence."""
    out: dict[str, dict] = {}
    for split, ds in corpus.items():
        tags = list(_tag_lists(ds))
        lengths = sorted(len(t) for t in tags)
        per_document = Counter(ds["document"][:] if "document" in ds.column_names else range(len(tags)))
        scheme = detect_scheme(tags)
        entities = Counter(span.label for t in tags for span in to_spans(t, scheme))
        out[split] = {
            "sentences": len(tags),
            "documents": len(per_document),
            "tokens": sum(lengths),
            "scheme": scheme,
            "entities": dict(sorted(entities.items())),
            "length": {"p50": _percentile(lengths, 50), "p95": _percentile(lengths, 95),
                       "max": lengths[-1]} if lengths else {"p50": 0, "p95": 0, "max": 0},
            "sentences_per_document": {"mean": round(len(tags) / len(per_document), 2),
                                       "max": max(per_document.values())} if per_document else {"mean": 0, "max": 0},
        }
    return {"splits": out}
