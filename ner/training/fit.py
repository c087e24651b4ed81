"""Train a tagger on a corpus and write a model bundle: ``ner.train(data=..., encoder=..., out=...)``.

Training fits, monitors dev F1 after each epoch (early stopping, best weights kept) and writes the bundle;
the corpus is made ready by :func:`ner.data.prepare.prepare_corpus`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ner import __version__
from ner.backend.allocator import keep_freed_memory
from ner.backend.compile_cache import enable_compile_cache
from ner.bundle import load_bundle, write_bundle
from ner.data.corpus import fingerprints, is_dataset, load_corpus
from ner.data.embeddings import describe_coverage
from ner.data.prepare import corpus_hash, prepare_corpus
from ner.errors import NerError, RunError
from ner.evaluation import score_split
from ner.io.outputs import claim
from ner.training.config import TrainConfig, inherit_init

if TYPE_CHECKING:
    import keras


def set_seed(seed: int) -> None:
    """Seed Python, numpy and the Keras backend (same seed + data -> same result on the CPU).

    On JAX, also switch to the non-partitionable threefry generator (unless $JAX_THREEFRY_PARTITIONABLE
    says otherwise): the same distributions from a different stream, and cheaper dropout masks on a CPU
    (bench/README.md gives the measured step times).
    """
    import keras

    if keras.backend.backend() == "jax" and "JAX_THREEFRY_PARTITIONABLE" not in os.environ:
        import jax

        jax.config.update("jax_threefry_partitionable", False)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def make_optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    """The optimizer ``cfg`` asks for: Adam or SGD with fused updates on TensorFlow (``ner.model.optimizers``), or
    Keras' Nadam; gradients clipped by norm ``clipnorm`` per variable, or over all of them with ``clip_global``."""
    import keras

    from ner.model.optimizers import SGD, Adam

    clip = {"global_clipnorm" if cfg.clip_global else "clipnorm": cfg.clipnorm or None}
    if cfg.optimizer == "sgd":
        return SGD(cfg.learning_rate, momentum=cfg.momentum, **clip)
    if cfg.optimizer == "nadam":
        return keras.optimizers.Nadam(cfg.learning_rate, **clip)
    return Adam(cfg.learning_rate, **clip)


def _log(cfg: TrainConfig, message: str) -> None:
    if cfg.verbose:
        print(message, file=sys.stderr, flush=True)


class _DevMonitor:
    """Keras callback pieces: dev F1 after each epoch, early stopping, best weights kept in memory."""

    def __init__(self, cfg, vocabs, dev_tokens, dev_tags, data_scheme, dev_documents):
        self.cfg, self.vocabs = cfg, vocabs
        self.dev_tokens, self.dev_tags, self.data_scheme = dev_tokens, dev_tags, data_scheme
        self.dev_documents = dev_documents
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
                                self.cfg.scheme, documents=self.dev_documents)
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


def finite_guard() -> keras.callbacks.Callback:
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


def train(config: TrainConfig | None = None, **settings: Any) -> Path:
    """Train a tagger and write its bundle; returns the bundle path.

    ``settings`` are :class:`TrainConfig` fields (``data``, ``encoder``, ``crf``, ``epochs``, ``out``, ...)
    and override ``config``. With ``init``, the settings of :data:`ner.training.config.INIT_SETTINGS` not
    given (in ``settings``, or different from the default in ``config``) are the init bundle's.
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
    _check_execution_paths(cfg)
    data = None if is_dataset(cfg.data) else cfg.data
    with claim(cfg.out, flag="--out", inputs=(data, cfg.embeddings, cfg.init), same_ok=cfg.init):
        return _train(cfg)


def _check_execution_paths(cfg: TrainConfig) -> None:
    """An explicit --crf-scan parallel or --lstm-path cudnn only where it takes effect (recorded in the bundle;
    "auto" decides per backend and device, and the layers fall back to their loops where it cannot run)."""
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

    import keras  # imported here, after the backend was chosen (--backend, KERAS_BACKEND)

    from ner.data.batching import batch_layout
    from ner.model.network import build_tagger

    set_seed(cfg.seed)
    dataset = load_corpus(cfg.data, token_col=cfg.token_col, tag_col=cfg.tag_col, tokens_column=cfg.tokens_column,
                          tags_column=cfg.tags_column)
    base = load_bundle(cfg.init) if cfg.init else None
    data = prepare_corpus(dataset, **cfg.data_options(), vocabs=base.vocabs if base else None, vocabs_from=cfg.init)
    splits, data_scheme, vocabs = data.splits, data.data_scheme, data.vocabs
    _log(cfg, f"data {cfg.data_name}: scheme {data_scheme}; "
              + ", ".join(f"{name} {len(splits[name][0])}" for name in splits) + f" sentences; {data.dev_note}")
    if base:
        model = base.model
        model.set_execution(crf_scan=cfg.crf_scan, lstm_path=cfg.lstm_path)   # this run's, not the bundle's
        _log(cfg, f"initialised from {cfg.init}")
    else:
        model = build_tagger(cfg.model_config(), vocabs, embeddings=data.pretrained)
        cfg = dataclasses.replace(cfg, word_dim=model.config["word_dim"])   # the vectors' size wins
        for line in describe_coverage(data.vector_report) if data.pretrained else ():
            _log(cfg, line)

    model.compile(optimizer=make_optimizer(cfg))
    batches = data.batches(batch_layout(model), cfg.batch_size, cfg.seed, cfg.word_dropout)
    monitor = _DevMonitor(cfg, vocabs, *splits["dev"], data_scheme, data.documents["dev"])
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
            metrics[name], _ = score_split(model, vocabs, *splits[name], data_scheme, cfg.scheme,
                                           documents=data.documents[name])
    meta = {
        "status": status,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "data": {"path": cfg.data_name, "hash": corpus_hash(cfg.data), "scheme": data_scheme,
                 "dev": data.dev_note, "sentences": {name: len(splits[name][0]) for name in splits}},
        "parameters": int(model.count_params()),
        "best_epoch": monitor.best_epoch,
        "epochs_run": len(monitor.history),
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    if data.pretrained is not None:
        meta["vectors"] = {**data.vector_report, "frozen": cfg.freeze_embeddings}
    elif base is not None and isinstance(base.meta.get("vectors"), dict):   # the vectors the --init bundle began from
        meta["vectors"] = base.meta["vectors"]
    if is_dataset(cfg.data):   # the object is not JSON: config.json names it, bundle.json keeps its fingerprints
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
    """Versions of ner, Keras (and its backend), Python and numpy, as a bundle records them."""
    import keras

    return {"ner": __version__, "keras": keras.__version__, "backend": keras.backend.backend(),
            "python": sys.version.split()[0], "numpy": np.__version__}
