"""A comparison's runs and their results: what each run is, the test split they are scored on, and the
record of a finished run as the report reads it back from its files."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ner.data.corpus import corpus_scheme, load_corpus, split_documents
from ner.data.prepare import corpus_hash
from ner.errors import NerError
from ner.evaluation import read_scored

BUSY_LOAD = 1.5             # a 1-minute load average over 1.5 × the cores: other work shared the machine
COLUMN_KEYS = ("tokens_column", "tags_column", "token_col", "tag_col")   # how load_corpus reads the data
NO_COLUMNS = (None, None, 0, -1)   # table columns detected; CoNLL tokens first, tags last


@dataclass
class Run:
    """One planned run: trained by the grid (``settings``) or an existing bundle (``settings`` None)."""

    name: str
    encoder: str
    head: str
    seed: int
    folder: Path
    bundle: Path
    settings: dict | None = None

    @property
    def predictions(self) -> Path:
        return self.folder / "predictions.txt"

    @property
    def record(self) -> Path:
        return self.folder / "run.json"


@dataclass
class RunResult:
    """A finished run as the report needs it (tags of the test split in the data's ``scheme``)."""

    name: str
    encoder: str
    head: str
    seed: int
    bundle: str
    predictions: str
    scheme: str
    tokens: list
    gold: list
    pred: list
    parameters: int
    best_epoch: int
    epochs_run: int
    train_seconds: float
    history: list
    decode: dict | None        # {"sentences_per_second", "pass_seconds", "sentences", "batch_size"}
    ill_formed: int            # test sentences whose predicted tags break the model's scheme
    model_scheme: str
    train_alone: bool | None   # no other run of the grid trained at the same time (None: unknown, e.g. --from)
    train_load: float | None   # 1-minute load average when training ended
    node: dict | None = None   # where it trained: {"host", "cores"}, and "id" on Ray (None: not recorded)

    @property
    def train_busy(self) -> bool:
        return busy(self.train_load, (self.node or {}).get("cores"))

    @property
    def node_key(self) -> str | None:
        """Which node trained the run (Ray's node id, else the host name); None when not recorded."""
        return (self.node or {}).get("id") or (self.node or {}).get("host")

    @property
    def decode_busy(self) -> bool:
        return busy((self.decode or {}).get("load"), (self.decode or {}).get("cores"))

    @property
    def config(self) -> str:
        return f"{self.encoder}-{self.head}"


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_average() -> float:
    return os.getloadavg()[0]


def busy(load: float | None, cores: int | None = None) -> bool:
    """Was the machine busy with other work (load average over :data:`BUSY_LOAD` × its ``cores``, by default
    this machine's)?"""
    return load is not None and load > BUSY_LOAD * (cores or os.cpu_count() or 1)


def load_test_split(data: str, columns: tuple = NO_COLUMNS) -> tuple[list, list, str, set | None, list]:
    """(tokens, gold tags, scheme, training vocabulary, documents) of the data runs are scored on.

    The test split of ``data`` (``columns``: how to read it, :data:`COLUMN_KEYS`); a single file
    (which loads as one split) is scored whole. The training vocabulary (lower-cased words of the train
    split) is None when there is no separate train split. Cached while the files stay the same.
    """
    return _load_test(data, corpus_hash(data), tuple(columns))


@functools.lru_cache(maxsize=4)
def _load_test(data: str, data_hash: str, columns: tuple) -> tuple[list, list, str, set | None, list]:
    dataset = load_corpus(data, **dict(zip(COLUMN_KEYS, columns)))
    if "test" in dataset:
        split, vocabulary = dataset["test"], {w.lower() for s in dataset["train"]["tokens"] for w in s}
    elif Path(data).is_file() and len(dataset) == 1:
        split, vocabulary = next(iter(dataset.values())), None
    else:
        raise NerError(f"--data: {data} has no test split (found {', '.join(dataset)}); compare scores on it")
    return list(split["tokens"]), list(split["tags"]), corpus_scheme(dataset), vocabulary, split_documents(split)


def collect(runs: list[Run]) -> list[RunResult]:
    """Read every run's predictions, run.json and bundle files (no model is loaded)."""
    results = []
    for run in runs:
        record, meta = read_json(run.record), read_json(run.bundle / "bundle.json")
        history = read_json(run.bundle / "history.json")
        if record is None or meta is None or not isinstance(history, list):
            raise NerError(f"{run.folder}: run is incomplete (run.json or bundle files missing)")
        tokens, gold, pred, _ = read_scored(run.predictions)
        try:
            results.append(RunResult(
                name=run.name, encoder=run.encoder, head=run.head, seed=run.seed, bundle=str(run.bundle),
                predictions=str(run.predictions), scheme=record["scheme"], tokens=tokens, gold=gold, pred=pred,
                parameters=int(meta["parameters"]), best_epoch=int(meta.get("best_epoch", 0)),
                epochs_run=int(meta.get("epochs_run", len(history))),
                train_seconds=float(meta.get("train_seconds", 0)), history=history, decode=record.get("decode"),
                ill_formed=int(record["ill_formed"]), model_scheme=record["model_scheme"],
                train_alone=record.get("train_alone"), train_load=record.get("train_load"),
                node=record.get("node") if isinstance(record.get("node"), dict) else None))
        except (KeyError, TypeError, ValueError) as exc:
            raise NerError(f"{run.folder}: run.json or the bundle files are corrupt "
                           f"({type(exc).__name__}: {exc})") from None
    return results
