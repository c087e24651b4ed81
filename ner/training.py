"""Train a tagger on a corpus and write a model bundle: ``ner.train(data=..., encoder=..., out=...)``."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import numbers
import os
import random
import sys
import time
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ner.allocator import keep_freed_memory
from ner.compile_cache import enable_compile_cache
from ner.errors import NerError, RunError

OPTIMIZERS = ("adam", "sgd")
TRAIN_SCHEMES = ("bio", "bioes")
DEFAULT_LR = {"adam": 2e-3, "sgd": 1e-2}


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
    momentum: float = 0.9              # sgd only
    dropout: float = 0.5
    hidden: int = 200                  # units per direction
    layers: int = 1
    word_dim: int = 100
    char_cnn: bool | None = None       # None: the encoder's default
    casing_dim: int = 10               # 0 turns the casing feature off
    constraints: bool = True           # CRF transition constraints from the tag scheme
    embeddings: str | None = None      # pretrained vectors, GloVe/word2vec text format
    scheme: str = "bioes"              # the scheme the model is trained in (BMES corpora count as BIOES)
    seed: int = 1
    patience: int = 5                  # epochs without dev F1 improvement before stopping (0: never)
    word_dropout: float = 0.1          # p of replacing a training word seen once by <unk>
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
    crf_scan: str = "sequential"       # CRF log Z / Viterbi: "parallel" = no loop over time (JAX; for GPUs)
    lstm_path: str = "loop"            # bilstm-cnn-fused's BiLSTM: "cudnn" = one cuDNN call (JAX; GPUs)

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
        from ner.layers.crf import TIME_SCANS
        from ner.layers.lstm import LSTM_PATHS
        for name, choices in (("crf_scan", TIME_SCANS), ("lstm_path", LSTM_PATHS)):
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
        for name in ("patience", "casing_dim", "lr_decay", "clipnorm"):
            if getattr(self, name) < 0:
                bad(name, "must not be negative")
        if not 0 <= self.momentum <= 1:
            bad("momentum", "must be in [0, 1]")
        from ner.layers.encoders import get_encoder
        get_encoder(self.encoder)
        return self

    @property
    def data_name(self) -> str:
        """``data`` in one line (a ``datasets`` object described, not printed whole)."""
        if not is_dataset(self.data):
            return str(self.data)
        from ner.data.corpus import data_name

        return data_name(self.data)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def lr_at(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based): lr / (1 + lr_decay * epoch)."""
        return self.learning_rate / (1 + self.lr_decay * epoch)

    def model_config(self) -> dict:
        return {"encoder": self.encoder, "head": "crf" if self.crf else "softmax", "word_dim": self.word_dim,
                "hidden": self.hidden, "layers": self.layers, "dropout": self.dropout,
                "char_cnn": self.char_cnn, "casing_dim": self.casing_dim, "constraints": self.constraints,
                "scheme": self.scheme}

    @classmethod
    def from_json(cls, path) -> dict:
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


def is_dataset(value) -> bool:
    """Is ``value`` a ``datasets.Dataset`` or ``DatasetDict`` (without importing ``datasets`` to find out)?"""
    module = sys.modules.get("datasets")
    return module is not None and isinstance(value, (module.Dataset, module.DatasetDict))


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


def setting_problem(name: str, value) -> str | None:
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


def corpus_hash(spec) -> str:
    """sha256 of the corpus files (a file, or every file under a folder); of the spec for hub names; of the
    split fingerprints for a ``datasets`` object."""
    digest = hashlib.sha256()
    if is_dataset(spec):
        from ner.data.corpus import fingerprints

        digest.update(json.dumps(fingerprints(spec), sort_keys=True).encode())
        return digest.hexdigest()
    spec = str(spec)
    path = Path(spec)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
    if not files:
        digest.update(spec.encode())
    for f in files:
        digest.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def set_seed(seed: int) -> None:
    """Seed Python, numpy and the Keras backend (same seed + data -> same result on the CPU).

    On JAX, also switch to the non-partitionable threefry generator (unless $JAX_THREEFRY_PARTITIONABLE
    says otherwise): the same distributions from a different stream, and cheaper dropout masks; training
    steps of bilstm-cnn + CRF were 15-28% faster with it on the 2-core CPU (bench/README.md).
    """
    import os

    import keras

    if keras.backend.backend() == "jax" and "JAX_THREEFRY_PARTITIONABLE" not in os.environ:
        import jax

        jax.config.update("jax_threefry_partitionable", False)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def prepare_splits(dataset, cfg: TrainConfig) -> tuple[dict, str, str]:
    """Return ({split: (tokens, tags)}, data scheme, dev note) with tags still in the data's scheme.

    Without a dev split a fixed share of train (chosen by ``cfg.seed``) is held out as dev.
    """
    from ner.data.corpus import corpus_scheme

    if "train" not in dataset:
        raise NerError(f"{cfg.data_name}: the corpus has no train split")
    splits = {name: (list(ds["tokens"]), list(ds["tags"])) for name, ds in dataset.items()}
    if any(len(splits[name][0]) == 0 for name in splits):
        empty = [name for name in splits if len(splits[name][0]) == 0]
        raise NerError(f"{cfg.data_name}: split {empty[0]} has no sentences")
    note = "dev split of the corpus"
    if "dev" not in splits:
        tokens, tags = splits["train"]
        if len(tokens) < 2:
            raise NerError(f"{cfg.data_name}: too few training sentences to hold out a dev split")
        order = np.random.default_rng(cfg.seed).permutation(len(tokens))
        n_dev = max(1, int(round(cfg.dev_fraction * len(tokens))))
        dev, train = sorted(order[:n_dev]), sorted(order[n_dev:])
        splits["dev"] = ([tokens[i] for i in dev], [tags[i] for i in dev])
        splits["train"] = ([tokens[i] for i in train], [tags[i] for i in train])
        note = f"no dev split: held out {n_dev} of {len(tokens)} training sentences ({cfg.dev_fraction:.0%})"
    return splits, corpus_scheme(dataset), note


def to_training_scheme(tags: list[list[str]], data_scheme: str, scheme: str) -> list[list[str]]:
    from ner.data.schemes import convert

    return [convert(t, data_scheme, scheme) for t in tags]


def full_label_set(tags: list[list[str]], scheme: str) -> list[str]:
    """Every tag of every entity type seen, in ``scheme`` (so constraints and conversions are complete)."""
    types = sorted({t.split("-", 1)[1] for seq in tags for t in seq if t != "O"})
    prefixes = "BIES" if scheme == "bioes" else "BI"
    return ["O"] + [f"{p}-{label}" for label in types for p in prefixes]


def training_vocabularies(splits: dict, data_scheme: str, cfg: TrainConfig):
    """Word, character and label vocabularies from the train and dev splits (never from test)."""
    from ner.data.vocab import Vocab, build_vocabularies

    tokens = splits["train"][0] + splits["dev"][0]
    tags = to_training_scheme(splits["train"][1] + splits["dev"][1], data_scheme, cfg.scheme)
    labels = full_label_set(tags, cfg.scheme)
    if labels == ["O"]:
        raise NerError(f"{cfg.data_name}: no entities in the train and dev splits (every tag is O): nothing to learn")
    vocabs = build_vocabularies(tokens, tags, min_freq=cfg.min_freq, lowercase=cfg.lowercase, digits=cfg.digits)
    vocabs.labels = Vocab(labels, pad=False, unk=False)
    return vocabs


def predict_split(model, vocabs, tokens: list[list[str]], batch_size: int = 256) -> list[list[str]]:
    """Tag sentences with ``model``; returns tag strings in the model's training scheme."""
    from ner.data.batching import TaggingBatches, batch_layout
    from ner.model import predict_tags

    batches = TaggingBatches(tokens, vocabs, batch_size=batch_size, **batch_layout(model))
    return [vocabs.labels.decode(ids) for ids in predict_tags(model, batches)]


def score_split(model, vocabs, tokens, gold, data_scheme: str, model_scheme: str, strict=False) -> tuple[dict, list]:
    """Entity scores of ``model`` on one split, compared in the data's scheme; also returns predictions."""
    from ner.data.schemes import convert
    from ner.evaluation import entity_scores

    predicted = [convert(p, model_scheme, data_scheme) for p in predict_split(model, vocabs, tokens)]
    return entity_scores(gold, predicted, data_scheme, strict=strict), predicted


def make_optimizer(cfg: TrainConfig):
    """The optimizer ``cfg`` asks for: Keras' Adam or SGD, with fused updates on TensorFlow (``ner.optimizers``)."""
    from ner.optimizers import SGD, Adam

    if cfg.optimizer == "sgd":
        return SGD(cfg.learning_rate, momentum=cfg.momentum, clipnorm=cfg.clipnorm)
    return Adam(cfg.learning_rate, clipnorm=cfg.clipnorm)


def _log(cfg: TrainConfig, message: str) -> None:
    if cfg.verbose:
        print(message, file=sys.stderr, flush=True)


class _DevMonitor:
    """Keras callback pieces: dev F1 after each epoch, early stopping, best weights kept in memory."""

    def __init__(self, cfg, vocabs, dev_tokens, dev_tags, data_scheme):
        self.cfg, self.vocabs = cfg, vocabs
        self.dev_tokens, self.dev_tags, self.data_scheme = dev_tokens, dev_tags, data_scheme
        self.history: list[dict] = []
        self.best_f1, self.best_epoch, self.best_weights = -1.0, 0, None
        self.epoch_start = 0.0

    def callback(self):
        import keras

        monitor = self

        class DevF1(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                monitor.epoch_start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                monitor.epoch_end(self.model, epoch, logs or {})

        return DevF1()

    def epoch_end(self, model, epoch, logs):
        train_seconds = time.perf_counter() - self.epoch_start
        t0 = time.perf_counter()
        scores, _ = score_split(model, self.vocabs, self.dev_tokens, self.dev_tags, self.data_scheme,
                                self.cfg.scheme)
        lr = self.cfg.lr_at(epoch)
        self.history.append({"epoch": epoch + 1, "loss": float(logs.get("loss", float("nan"))),
                             "dev_precision": scores["precision"], "dev_recall": scores["recall"],
                             "dev_f1": scores["f1"], "seconds": round(train_seconds, 3),
                             "dev_seconds": round(time.perf_counter() - t0, 3), "lr": lr})
        improved = scores["f1"] > self.best_f1
        if improved:
            self.best_f1, self.best_epoch, self.best_weights = scores["f1"], epoch + 1, model.get_weights()
        _log(self.cfg, f"epoch {epoch + 1}/{self.cfg.epochs}: loss {self.history[-1]['loss']:.4f}  "
                       f"dev P {scores['precision']:.4f} R {scores['recall']:.4f} F1 {scores['f1']:.4f}"
                       f"{' (best)' if improved else ''}  {train_seconds:.1f}s")
        if self.cfg.patience and epoch + 1 - self.best_epoch >= self.cfg.patience:
            _log(self.cfg, f"early stop: no dev F1 gain for {self.cfg.patience} epochs "
                           f"(best {self.best_f1:.4f} at epoch {self.best_epoch})")
            model.stop_training = True


def finite_guard():
    """A Keras callback that ends training with RunError at the first non-finite loss (naming the epoch and
    batch, 1-based) or when the weights are non-finite after an epoch.

    ``async_safe``: Keras may run the batch check in its callback thread, so the training loop does not wait
    for each batch's loss (bench/nan_check.py measures the cost).
    """
    import keras

    class FiniteGuard(keras.callbacks.Callback):
        async_safe = True
        epoch = 1

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(loss):
                raise RunError(f"training diverged: loss {loss} at epoch {self.epoch}, batch {batch + 1}; no "
                               "bundle written (try a lower --lr; check --embeddings)")

        def on_epoch_end(self, epoch, logs=None):
            if not all(np.isfinite(w).all() for w in self.model.get_weights()):
                raise RunError(f"training diverged: non-finite weights at epoch {epoch + 1}, batch "
                               f"{self.params.get('steps')}; no bundle written (try a lower --lr)")

    return FiniteGuard()


# what an --init bundle fixes: its model's architecture and scheme, its vocabularies and word vectors
INIT_SETTINGS = ("encoder", "crf", "word_dim", "hidden", "layers", "dropout", "char_cnn", "casing_dim",
                 "constraints", "scheme", "embeddings", "min_freq", "lowercase", "digits")


def inherit_init(cfg: TrainConfig, given: set[str]) -> TrainConfig:
    """``cfg`` with the :data:`INIT_SETTINGS` of the ``cfg.init`` bundle's config.json, so that the recorded
    configuration is the one trained; a setting in ``given`` that differs raises NerError naming both values."""
    from ner.bundle import read_meta
    from ner.layers.encoders import get_encoder

    read_meta(cfg.init)
    path = Path(cfg.init) / "config.json"
    try:
        init = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NerError(f"{path}: unreadable training configuration ({exc})") from None
    if not isinstance(init, dict):
        raise NerError(f"{path}: expected a JSON object of settings")
    changes = {}
    for name in INIT_SETTINGS:
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


def train(config: TrainConfig | None = None, **settings) -> Path:
    """Train a tagger and write its bundle; returns the bundle path.

    ``settings`` are :class:`TrainConfig` fields (``data``, ``encoder``, ``crf``, ``epochs``, ``out``, ...)
    and override ``config``. With ``init``, the settings of :data:`INIT_SETTINGS` not given (in ``settings``,
    or different from the default in ``config``) are the init bundle's.
    """
    unknown = sorted(set(settings) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise NerError(f"unknown training setting(s): {', '.join(unknown)}")
    defaults = TrainConfig()
    given = set(settings) | {f.name for f in dataclasses.fields(TrainConfig) if config is not None
                             and getattr(config, f.name) != getattr(defaults, f.name)}
    cfg = dataclasses.replace(config or defaults, **settings).validate()
    if cfg.init:
        cfg = inherit_init(cfg, given)
    from ner.layers.crf import time_scan
    from ner.layers.lstm import lstm_path

    _check_execution_paths(cfg)
    from ner.outputs import claim

    data = None if is_dataset(cfg.data) else cfg.data
    with claim(cfg.out, flag="--out", inputs=(data, cfg.embeddings, cfg.init), same_ok=cfg.init), \
            time_scan(cfg.crf_scan), lstm_path(cfg.lstm_path):   # the process's modes again afterwards
        return _train(cfg)


def _check_execution_paths(cfg: TrainConfig) -> None:
    """--crf-scan parallel and --lstm-path cudnn only where they take effect (recorded in the bundle)."""
    import keras

    backend = keras.backend.backend()
    if cfg.crf_scan == "parallel" and (backend != "jax" or not cfg.crf):
        raise NerError(f"--crf-scan parallel: needs --backend jax and a CRF head (backend {backend}, "
                       f"head {'crf' if cfg.crf else 'softmax'})")
    if cfg.lstm_path == "cudnn" and (backend != "jax" or cfg.encoder != "bilstm-cnn-fused"):
        raise NerError(f"--lstm-path cudnn: needs --backend jax and --encoder bilstm-cnn-fused (backend "
                       f"{backend}, encoder {cfg.encoder})")


def _train(cfg: TrainConfig) -> Path:
    keep_freed_memory()
    enable_compile_cache()

    import keras

    from ner.bundle import load_bundle, write_bundle
    from ner.data.batching import TaggingBatches, batch_layout
    from ner.data.corpus import load_corpus
    from ner.model import build_tagger

    set_seed(cfg.seed)
    dataset = load_corpus(cfg.data, token_col=cfg.token_col, tag_col=cfg.tag_col, tokens_column=cfg.tokens_column,
                          tags_column=cfg.tags_column)
    splits, data_scheme, dev_note = prepare_splits(dataset, cfg)
    _log(cfg, f"data {cfg.data_name}: scheme {data_scheme}; "
              + ", ".join(f"{name} {len(splits[name][0])}" for name in splits) + f" sentences; {dev_note}")
    train_tokens, train_tags = splits["train"]
    train_tags = to_training_scheme(train_tags, data_scheme, cfg.scheme)
    dev_tokens, dev_tags = splits["dev"]

    if cfg.init:
        base = load_bundle(cfg.init)
        vocabs, model = base.vocabs, base.model
        unknown_labels = sorted({t for seq in train_tags for t in seq} - set(vocabs.labels.items))
        if unknown_labels:
            raise NerError(f"--init: {cfg.init} does not know the label(s) {', '.join(unknown_labels[:5])}")
        _log(cfg, f"initialised from {cfg.init}")
    else:
        vocabs = training_vocabularies(splits, data_scheme, cfg)
        model = build_tagger(cfg.model_config(), vocabs, embeddings=cfg.embeddings)
        cfg = dataclasses.replace(cfg, word_dim=model.config["word_dim"])   # the vectors' size wins

    model.compile(optimizer=make_optimizer(cfg))
    batches = TaggingBatches(train_tokens, vocabs, train_tags, batch_size=cfg.batch_size, shuffle=True,
                             seed=cfg.seed, word_dropout=cfg.word_dropout, **batch_layout(model))
    monitor = _DevMonitor(cfg, vocabs, dev_tokens, dev_tags, data_scheme)
    schedule = keras.callbacks.LearningRateScheduler(cfg.lr_at)
    status = "complete"
    started = time.perf_counter()
    progress = 0 if not cfg.verbose else 1 if cfg.verbose == 1 and sys.stderr.isatty() else 2
    try:
        with contextlib.redirect_stdout(sys.stderr):   # Keras prints its progress to stdout: results only there
            model.fit(batches, epochs=cfg.epochs, callbacks=[schedule, finite_guard(), monitor.callback()],
                      shuffle=False, verbose=progress)
    except KeyboardInterrupt:
        if monitor.best_weights is None:
            raise KeyboardInterrupt("before the first epoch ended: no bundle written") from None
        status = "interrupted"
        _log(cfg, "interrupted: keeping the best weights so far")
    if monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)

    metrics = {}
    for name in ("dev", "test"):
        if name in splits:
            metrics[name], _ = score_split(model, vocabs, *splits[name], data_scheme, cfg.scheme)
    meta = {
        "status": status,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "data": {"path": cfg.data_name, "hash": corpus_hash(cfg.data), "scheme": data_scheme,
                 "dev": dev_note, "sentences": {name: len(splits[name][0]) for name in splits}},
        "parameters": int(model.count_params()),
        "best_epoch": monitor.best_epoch,
        "epochs_run": len(monitor.history),
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    if is_dataset(cfg.data):   # the object is not JSON: config.json names it, bundle.json keeps its fingerprints
        from ner.data.corpus import fingerprints

        meta["data"]["fingerprints"] = fingerprints(cfg.data)
    config = dataclasses.asdict(dataclasses.replace(cfg, data=cfg.data_name))
    out = write_bundle(cfg.out, model=model, vocabs=vocabs, config=config, meta=meta,
                       history=monitor.history, metrics=metrics)
    summary = ", ".join(f"{name} F1 {m['f1']:.4f}" for name, m in metrics.items())
    _log(cfg, f"wrote {out} ({status}; best epoch {monitor.best_epoch}; {summary})")
    if status == "interrupted":
        raise KeyboardInterrupt
    return out


def versions() -> dict:
    import keras

    import ner

    return {"ner": ner.__version__, "keras": keras.__version__, "backend": keras.backend.backend(),
            "python": sys.version.split()[0], "numpy": np.__version__}
