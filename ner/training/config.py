"""Training settings: :class:`TrainConfig` (``ner train`` flags and ``--config`` keys use its field names), the
checks every setting passes, and the settings an ``--init`` bundle fixes."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import os
import typing
from dataclasses import dataclass
from pathlib import Path

from ner.bundle import read_meta
from ner.data.corpus import data_name, is_dataset
from ner.data.schemes import TRAIN_SCHEMES
from ner.errors import NerError

OPTIMIZERS = ("adam", "nadam", "sgd")
DEFAULT_LR = {"adam": 2e-3, "nadam": 2e-3, "sgd": 1e-2}


@dataclass
class TrainConfig:
    """Every training setting; ``ner train`` flags and ``--config FILE.json`` keys use the same names."""

    data: str = "data/sample"          # a path or hf:NAME; in Python also a datasets.Dataset / DatasetDict
    out: str = "models/tagger"
    encoder: str = "bilstm-cnn"
    crf: bool = True
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float | None = None            # None: 2e-3 for adam, 1e-2 for sgd
    lr_decay: float = 0.05             # lr_epoch = lr / (1 + lr_decay * epoch)
    clipnorm: float = 5.0
    clip_global: bool = False          # clip the norm of all gradients together (default: each variable's)
    momentum: float = 0.9              # sgd only
    dropout: float = 0.5
    variational_dropout: bool = False  # the same dropout mask at every time step (per sentence and feature)
    context: str = "sentence"          # what a token sees beyond its sentence (ner.layers.document_context)
    hidden: int = 200                  # units per direction
    layers: int = 1
    word_dim: int = 100
    char_cnn: bool | None = None       # None: the encoder's default
    casing_dim: int = 10               # 0 turns the casing feature off
    constraints: bool = True           # CRF transition constraints from the tag scheme
    embeddings: str | None = None      # pretrained vectors: GloVe, word2vec text/binary, fastText .vec (+ gzip)
    extra_vector_words: int = 0        # also the vector file's first N words beyond the corpus
    freeze_embeddings: bool = False    # rows that start from a pretrained vector stay as they are
    scheme: str = "bioes"              # the scheme the model is trained in (BMES corpora count as BIOES)
    seed: int = 1
    patience: int = 5                  # epochs without dev F1 improvement before stopping (0: never)
    word_dropout: float = 0.5          # p of replacing a training word seen once by <unk> (bench/README.md "recipe.py")
    min_freq: int = 1
    lowercase: bool = True
    digits: bool = True                # map digits to 0 in the word vocabulary
    dev_fraction: float = 0.1          # share of train held out when the corpus has no dev split
    init: str | None = None            # start from this bundle's weights and vocabularies
    token_col: int = 0                 # CoNLL files
    tag_col: int = -1
    tokens_column: str | None = None   # table sources (save_to_disk, parquet, json, hf:); None: detected
    tags_column: str | None = None
    verbose: int = 1                   # 0 silent, 1 progress bar and epoch lines, 2 epoch lines only
    crf_scan: str = "auto"             # CRF log Z / Viterbi: sequential, parallel (JAX) or auto (parallel on a JAX GPU)
    lstm_path: str = "auto"            # bilstm-cnn-fused's BiLSTM: loop, cudnn (JAX) or auto (cudnn on a JAX GPU)

    def validate(self) -> "TrainConfig":
        """Check every setting (type, finiteness, range); paths given as ``os.PathLike`` become str."""
        def bad(name, why):
            raise NerError(f"--{name.replace('_', '-')}: {why}")
        for f in dataclasses.fields(self):
            problem = setting_problem(f.name, getattr(self, f.name))
            if problem:
                bad(f.name, problem)
            setattr(self, f.name, _normalised(f.name, getattr(self, f.name)))
        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", f"unknown optimizer {self.optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
        from ner.layers.crf import CRF_SCANS  # these import Keras: the backend is chosen by now
        from ner.layers.document_context import CONTEXTS
        if self.context not in CONTEXTS:
            bad("context", f"unknown choice {self.context!r} (choose from {', '.join(CONTEXTS)})")
        from ner.layers.lstm import LSTM_PATHS
        for name, choices in (("crf_scan", CRF_SCANS), ("lstm_path", LSTM_PATHS)):
            if getattr(self, name) not in choices:
                bad(name, f"unknown choice {getattr(self, name)!r} (choose from {', '.join(choices)})")
        if self.scheme not in TRAIN_SCHEMES:
            bad("scheme", f"unknown training scheme {self.scheme!r} (choose from {', '.join(TRAIN_SCHEMES)})")
        for name in ("epochs", "batch_size", "hidden", "layers", "word_dim", "min_freq"):
            if getattr(self, name) < 1:
                bad(name, "must be at least 1")
        for name in ("dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                bad(name, "must be in [0, 1)")
        if not 0 < self.dev_fraction < 1:
            bad("dev_fraction", "must be in (0, 1)")
        if self.lr is not None and self.lr <= 0:
            bad("lr", "must be positive")
        for name in ("patience", "casing_dim", "lr_decay", "clipnorm", "extra_vector_words"):
            if getattr(self, name) < 0:
                bad(name, "must not be negative")
        if not 0 <= self.momentum <= 1:
            bad("momentum", "must be in [0, 1]")
        for name in ("extra_vector_words", "freeze_embeddings"):
            if getattr(self, name) and not self.embeddings and not self.init:
                bad(name, "needs pretrained vectors (--embeddings VECTORS)")
        from ner.layers.encoders import get_encoder  # imports Keras: the backend is chosen by now

        get_encoder(self.encoder)
        return self

    @property
    def data_name(self) -> str:
        """``data`` in one line (a ``datasets`` object described, not printed whole)."""
        if not is_dataset(self.data):
            return str(self.data)
        return data_name(self.data)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def lr_at(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based): lr / (1 + lr_decay * epoch)."""
        return self.learning_rate / (1 + self.lr_decay * epoch)

    def data_options(self) -> dict:
        """The keyword arguments of :func:`ner.data.prepare.prepare_corpus` these settings give."""
        return {"name": self.data_name, "scheme": self.scheme, "seed": self.seed, "dev_fraction": self.dev_fraction,
                "min_freq": self.min_freq, "lowercase": self.lowercase, "digits": self.digits,
                "vectors": self.embeddings, "extra_vector_words": self.extra_vector_words}

    def model_config(self) -> dict:
        return {"encoder": self.encoder, "head": "crf" if self.crf else "softmax", "word_dim": self.word_dim,
                "hidden": self.hidden, "layers": self.layers, "dropout": self.dropout,
                "char_cnn": self.char_cnn, "casing_dim": self.casing_dim, "constraints": self.constraints,
                "scheme": self.scheme, "crf_scan": self.crf_scan, "lstm_path": self.lstm_path,
                "freeze_embeddings": self.freeze_embeddings, "variational_dropout": self.variational_dropout,
                "context": self.context}

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> dict:
        """Read a ``--config`` file; returns the settings it holds (unknown keys are an error)."""
        try:
            settings = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NerError(f"--config: {path}: no such file") from None
        except IsADirectoryError:
            raise NerError(f"--config: {path}: is a folder, expected a JSON file") from None
        except OSError as exc:
            raise NerError(f"--config: {path}: cannot read ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise NerError(f"--config: {path}: not valid JSON ({exc})") from None
        if not isinstance(settings, dict):
            raise NerError(f"--config: {path}: expected a JSON object of settings")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise NerError(f"--config: {path}: unknown setting(s) {', '.join(unknown)}")
        for name, value in settings.items():
            problem = setting_problem(name, value)
            if problem:
                raise NerError(f"--config: {path}: {name!r}: {problem}")
        return settings


_PATHS = ("data", "out", "embeddings", "init")   # str fields that also take an os.PathLike


@functools.cache
def _field_types() -> dict[str, tuple]:
    """TrainConfig field -> the types its annotation allows (``float | None`` -> (float, NoneType))."""
    return {name: typing.get_args(hint) or (hint,) for name, hint in typing.get_type_hints(TrainConfig).items()}


def _show(value) -> str:
    """A value as JSON would spell it (repr for what JSON cannot hold), at most 40 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def setting_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be TrainConfig field ``name``, or None. The field's annotation gives the type:
    bool is not an int, an int is a float, numbers must be finite, paths may be ``os.PathLike``."""
    kinds = _field_types()[name]
    if isinstance(value, bool):
        fits = bool in kinds
    elif isinstance(value, numbers.Integral):
        fits = int in kinds or float in kinds
    elif isinstance(value, numbers.Real):
        fits = float in kinds
    elif isinstance(value, str) or isinstance(value, os.PathLike) and name in _PATHS:
        fits = str in kinds
    elif name == "data" and is_dataset(value):
        fits = True
    else:
        fits = value is None and type(None) in kinds
    if not fits:
        expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
        wanted = " or ".join([expected[k] for k in expected if k in kinds] + ["null"] * (type(None) in kinds))
        return f"expected {wanted}, not {_show(value)}"
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    return None


def _normalised(name: str, value):
    """A checked value as a plain JSON type: int for int fields, float for float fields, str for paths."""
    kinds = _field_types()[name]
    if isinstance(value, bool) or value is None or is_dataset(value):
        return value
    if isinstance(value, numbers.Integral) and int in kinds:
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return os.fspath(value)


# what an --init bundle fixes: its model's architecture and scheme, its vocabularies and word vectors
INIT_SETTINGS = ("encoder", "crf", "word_dim", "hidden", "layers", "dropout", "variational_dropout", "char_cnn",
                 "casing_dim", "context",
                 "constraints", "scheme", "embeddings", "extra_vector_words", "freeze_embeddings", "min_freq",
                 "lowercase", "digits")


# INIT_SETTINGS that older bundles lack (they were trained with what is now the default)
_NEWER_SETTINGS = ("extra_vector_words", "freeze_embeddings", "variational_dropout", "context")


def inherit_init(cfg: TrainConfig, given: set[str]) -> TrainConfig:
    """``cfg`` with the :data:`INIT_SETTINGS` of the ``cfg.init`` bundle's config.json, so that the recorded
    configuration is the one trained; a setting in ``given`` that differs raises NerError naming both values."""
    from ner.layers.encoders import get_encoder  # imports Keras

    read_meta(cfg.init)
    path = Path(cfg.init) / "config.json"
    try:
        init = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NerError(f"{path}: unreadable training configuration ({exc})") from None
    if not isinstance(init, dict):
        raise NerError(f"{path}: expected a JSON object of settings")
    if init.get("ensemble"):
        raise NerError(f"--init: {cfg.init} is an ensemble (ner ensemble); start from one of its members")
    changes = {}
    for name in INIT_SETTINGS:
        if name not in init and name in _NEWER_SETTINGS:
            init[name] = getattr(TrainConfig(), name)
        if name not in init:
            continue
        problem = setting_problem(name, init[name])
        if problem:
            raise NerError(f"{path}: {name!r}: {problem}")
        ours, theirs = getattr(cfg, name), init[name]
        if name == "char_cnn":   # null: the encoder's default
            default = get_encoder(changes.get("encoder", cfg.encoder)).char_cnn
            ours, theirs = (default if v is None else v for v in (ours, theirs))
        if name in given and ours != theirs:
            flag = f"--{name.replace('_', '-')}"
            raise NerError(f"{flag}: {_show(ours)} conflicts with --init {cfg.init}, which was trained with "
                           f"{name} {_show(theirs)} (leave {flag} out to keep the bundle's)")
        changes[name] = init[name]
    return dataclasses.replace(cfg, **changes).validate()
