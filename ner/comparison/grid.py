"""Run a grid of encoder × head × seed training runs (or take trained bundles) and collect the results.

``ner.compare(data=..., encoders=..., heads=..., seeds=..., out="reports/NAME")`` trains each run with
:func:`ner.training.fit.train` and keeps, under ``OUT/runs/ENCODER-HEAD-sSEED/``::

    model/            the run's bundle (written atomically by train)
    predictions.txt   test split as "token gold predicted" (data's tag scheme)
    run.json          decode speed, ill-formed predicted sequences, which bundle and data it belongs to

then writes the report (:mod:`ner.comparison.report`). Rerunning the same command skips the runs that are complete
(bundle complete with the same settings and data, predictions present), so an interrupted grid resumes.
With ``bundles=[...]`` (``ner compare --from``) the given bundles are scored instead of trained. With
``executor="ray"`` each run is a Ray task (:mod:`ner.comparison.ray_executor`) and this process writes the files
the tasks return, in the same layout.
"""

from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ner.backend import ray_cluster
from ner.backend.threads import set_threads
from ner.bundle import load_bundle, read_meta
from ner.comparison import DEFAULT_ENCODERS, DEFAULT_EPOCHS, ray_executor, report
from ner.comparison.results import COLUMN_KEYS, NO_COLUMNS, Run, busy, collect, load_average, load_test_split, read_json
from ner.data.conll import write_conll
from ner.data.corpus import load_corpus, split_documents
from ner.data.prepare import corpus_hash
from ner.data.schemes import convert, validate
from ner.data.vocab import Vocabularies
from ner.errors import NerError, RunError
from ner.evaluation import check_overlap
from ner.io.console import clock
from ner.io.files import atomic_write, write_json
from ner.io.outputs import BUNDLE_MARK, MARK, claim, mark_folder, replace_folder, safe_name
from ner.model import HEADS
from ner.training.config import TrainConfig
from ner.training.fit import train

if TYPE_CHECKING:
    from ner.model.network import SequenceTagger

DECODE_BATCH = 256          # sentences per batch when measuring decode speed
DECODE_SECONDS = 1.0        # timed decode passes last at least this long (and at least 3 passes)
QUIET_WAIT = 180.0          # seconds measure_alone waits at most, in all, for the load average to fall
EXECUTORS = ("local", "ray")
GRID_OWNED = ("data", "out", "encoder", "crf", "seed", "epochs", "verbose", "tokens_column",
              "tags_column", "token_col", "tag_col", "context")  # set by the grid itself (context: ENCODER+CONTEXT)


# ---------------------------------------------------------------- small helpers

def _log(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _fingerprint(bundle: Path) -> str:
    """Identifies one written bundle (its bundle.json changes with every training run)."""
    return _digest(Path(bundle) / "bundle.json")


def this_node() -> dict:
    """The machine a run trains on, as its run.json records it (a Ray task adds the node's id)."""
    return {"host": socket.gethostname(), "cores": os.cpu_count()}


def _names(value, what: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    items = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not items:
        raise NerError(f"--{what}: give at least one")
    return items


# ---------------------------------------------------------------- data

def write_slice(data: str, out: Path, max_train: int, columns: tuple = NO_COLUMNS) -> Path:
    """Copy of ``data`` as CoNLL files under ``out`` with only the first ``max_train`` training sentences."""
    dataset = load_corpus(data, **dict(zip(COLUMN_KEYS, columns)))
    for name, split in dataset.items():
        safe_name(name, f"{data}: split name")
        keep = len(split) if name != "train" else min(max_train, len(split))
        write_conll(out / f"{name}.txt", list(zip(split["tokens"][:keep], split["tags"][:keep])),
                    documents=split_documents(split)[:keep])   # documents kept: document context reads them
    return out


# ---------------------------------------------------------------- decoding

def measure_decode(model: SequenceTagger, vocabs: Vocabularies, tokens: list, documents: list) -> dict:
    """Decoded sentences/s at batch :data:`DECODE_BATCH` after a warm-up pass (which traces each shape);
    ``load`` is the highest 1-minute load average seen, ``cores`` the machine's CPU count."""
    from ner.model.predict import predict_split  # imports Keras

    load = load_average()
    predict_split(model, vocabs, tokens, batch_size=DECODE_BATCH, documents=documents)
    passes: list[float] = []
    while len(passes) < 3 or sum(passes) < DECODE_SECONDS:
        start = time.perf_counter()
        predict_split(model, vocabs, tokens, batch_size=DECODE_BATCH, documents=documents)
        passes.append(time.perf_counter() - start)
    return {"sentences_per_second": len(tokens) * len(passes) / sum(passes), "pass_seconds": passes,
            "sentences": len(tokens), "batch_size": DECODE_BATCH, "load": max(load, load_average()),
            "cores": os.cpu_count()}


def score_run(run: dict, data: str, measure: bool, train: dict, columns: tuple = NO_COLUMNS) -> dict:
    """Tag the test split with the run's bundle, write predictions.txt and run.json; returns run.json.

    ``run``: :class:`Run` fields as a dict (so a worker process can take it); ``train``: how and where training
    was timed, ``{"train_alone": bool | None, "train_load": float | None, "node": dict | None}``. Ill-formed
    sequences are counted in the model's own scheme, before conversion to the data's scheme (which would
    repair them).
    """
    from ner.model.predict import predict_split  # imports Keras

    folder, bundle_path = Path(run["folder"]), Path(run["bundle"])
    tokens, gold, scheme, _, documents = load_test_split(data, columns)
    bundle = load_bundle(bundle_path)
    model_scheme = bundle.config["scheme"]
    raw = predict_split(bundle.model, bundle.vocabs, tokens, batch_size=DECODE_BATCH, documents=documents)
    pred = [convert(p, model_scheme, scheme) for p in raw]
    write_conll(folder / "predictions.txt", zip(tokens, gold, pred))
    record = {"name": run["name"], "encoder": run["encoder"], "head": run["head"], "seed": run["seed"],
              "bundle": str(bundle_path), "bundle_id": _fingerprint(bundle_path), "data_hash": corpus_hash(data),
              "predictions_hash": _digest(folder / "predictions.txt"), "scheme": scheme, "model_scheme": model_scheme,
              "ill_formed": sum(1 for p in raw if validate(p, model_scheme)), **train,
              "decode": measure_decode(bundle.model, bundle.vocabs, tokens, documents) if measure else None}
    write_json(folder / "run.json", record)
    return record


def train_and_score(run: dict, data: str, measure: bool, alone: bool, verbose: int,
                    columns: tuple = NO_COLUMNS, threads: int | None = None) -> dict:
    """Train one grid run (unless its bundle is already there) and score it; runs in a worker too.

    ``alone``: no other run trains at the same time; ``threads``: CPU threads to compute with (set before
    the framework starts; None: its default). A bundle trained earlier keeps its timing record."""
    if threads is not None:
        set_threads(threads)
    import keras


    keras.backend.clear_session()  # runs in one process should not pile up graphs
    timing = {"train_alone": None, "train_load": None, "node": None}
    if run.get("trained"):
        previous = read_json(Path(run["folder"]) / "run.json")
        timing = {k: previous.get(k) for k in timing} if isinstance(previous, dict) else timing
    else:
        train(**run["settings"], out=str(run["bundle"]), verbose=verbose)
        timing = {"train_alone": alone, "train_load": load_average(), "node": this_node()}
    return score_run(run, data, measure, timing, columns)


# ---------------------------------------------------------------- planning

def _check_settings(settings: dict) -> None:
    """Refuse training settings that are unknown, set by the grid itself, or invalid, before any work."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise NerError(f"unknown training setting(s): {', '.join(unknown)}")
    owned = sorted(set(settings) & set(GRID_OWNED))
    if owned:
        raise NerError(f"compare sets {', '.join(owned)} itself (use its own options)")
    TrainConfig(**settings).validate()   # types, finite numbers, ranges


def plan_grid(out: Path, data: str, encoders: str | Iterable[str], heads: str | Iterable[str], seeds: int,
              epochs: int, settings: dict) -> list[Run]:
    """The grid's runs, each fully specified by its training settings (cheap checks before Keras loads)."""
    encoders, heads = _names(encoders, "encoders"), _names(heads, "heads")
    for head in heads:
        if head not in HEADS:
            raise NerError(f"--heads: unknown head {head!r} (known: {', '.join(HEADS)})")
    if seeds < 1:
        raise NerError("--seeds: must be at least 1")
    if epochs < 1:
        raise NerError("--epochs: must be at least 1")
    rows = {encoder: configuration(encoder) for encoder in encoders}
    runs = []   # seed 1 of every configuration first, so that an interrupted grid already covers them all
    for seed in range(1, seeds + 1):
        for encoder in encoders:
            for head in heads:
                name = f"{encoder}-{head}-s{seed}"
                run_settings = {**settings, "data": data, **rows[encoder], "crf": head == "crf",
                                "seed": seed, "epochs": epochs}
                TrainConfig(**run_settings).validate()
                folder = out / "runs" / name
                runs.append(Run(name, encoder, head, seed, folder, folder / "model", run_settings))
    return runs


def configuration(row: str) -> dict:
    """The training settings of a grid row: ``ENCODER`` or ``ENCODER+CONTEXT`` (e.g. ``bilstm-cnn+document``: that
    encoder with document context, ``ner train --context``). NerError naming --encoders for an unknown one."""
    from ner.layers.document_context import CONTEXTS  # these import Keras
    from ner.layers.encoders import get_encoder

    encoder, plus, context = safe_name(row, "--encoders: row").partition("+")
    try:
        get_encoder(encoder)
    except NerError as exc:
        raise NerError(f"--encoders: {exc}") from None
    if plus and context not in CONTEXTS[1:]:
        raise NerError(f"--encoders: {row}: unknown context {context!r} after + (choose from "
                       f"{', '.join(CONTEXTS[1:])})")
    return {"encoder": encoder, **({"context": context} if context else {})}   # old grids' settings stay as they were


def row_name(config: dict) -> str:
    """The grid row of a bundle's training configuration: its encoder, ``+CONTEXT`` with document context."""
    context = config.get("context", "sentence")
    return config["encoder"] + ("" if context == "sentence" else f"+{context}")


def plan_bundles(out: Path, bundles: Iterable[str | os.PathLike]) -> list[Run]:
    """One run per given bundle, named ENCODER-HEAD-sSEED from its training configuration."""
    runs, seen = [], set()
    for path in bundles:
        path = Path(path)
        read_meta(path)
        config = read_json(path / "config.json") or {}
        if "encoder" not in config:
            raise NerError(f"{path / 'config.json'}: no encoder in the training configuration")
        head = "crf" if config.get("crf", True) else "softmax"
        encoder, seed = safe_name(row_name(config), f"{path / 'config.json'}: encoder"), config.get("seed", 1)
        if type(seed) is not int:
            raise NerError(f"{path / 'config.json'}: seed: expected a whole number, got {seed!r}")
        name = f"{encoder}-{head}-s{seed}"
        if name in seen:
            raise NerError(f"--from: {path} is a second {name} (same encoder, head and seed); the report "
                           "could not tell the two apart")
        seen.add(name)
        runs.append(Run(name, encoder, head, seed, out / "runs" / name, path))
    return runs


def _bundle_matches(run: Run, data_hash: str) -> bool:
    """The run's bundle is complete and was trained with these settings on this data and Keras backend."""
    import keras


    try:
        meta = read_meta(run.bundle)
    except NerError:
        return False
    config = read_json(run.bundle / "config.json")
    if not isinstance(config, dict) or not isinstance(meta.get("data"), dict):
        return False
    same = all(json.loads(json.dumps(v)) == config.get(k) for k, v in run.settings.items() if k != "data")
    return (same and meta.get("status") == "complete" and meta.get("data", {}).get("hash") == data_hash
            and meta.get("versions", {}).get("backend") == keras.backend.backend())


def _scored(run: Run, data_hash: str) -> bool:
    """run.json is whole, belongs to the current bundle and data, and predictions.txt is the file it scored
    (an edited or replaced predictions.txt is scored again)."""
    record = read_json(run.record)
    return (isinstance(record, dict) and all(k in record for k in ("scheme", "model_scheme", "ill_formed"))
            and run.predictions.is_file() and (run.bundle / "bundle.json").is_file()
            and record.get("bundle_id") == _fingerprint(run.bundle) and record.get("data_hash") == data_hash
            and record.get("predictions_hash") == _digest(run.predictions))


# ---------------------------------------------------------------- running

class Progress:
    """``[k/n]`` lines with the elapsed time and an estimate of the time left: each remaining run is
    expected to take as long as the finished runs of its encoder, else as the last two finished runs."""

    def __init__(self, runs: list[Run], jobs: int, quiet: bool):
        self.total, self.jobs, self.quiet = len(runs), jobs, quiet
        self.remaining = {r.name: r.encoder for r in runs}
        self.finished: list[tuple[str, float]] = []   # (encoder, seconds)
        self.started = time.perf_counter()

    def _expected(self, encoder: str) -> float:
        same = [s for e, s in self.finished if e == encoder]
        recent = same or [s for _, s in self.finished[-2:]]
        return sum(recent) / len(recent)

    def left(self) -> str:
        elapsed = clock(time.perf_counter() - self.started)
        if not self.finished:
            return f"elapsed {elapsed}, time left known after the first run"
        estimate = sum(map(self._expected, self.remaining.values())) / max(1, min(self.jobs, len(self.remaining)))
        return f"elapsed {elapsed}, about {clock(estimate)} left"

    def start(self, k: int, run: Run, what: str) -> None:
        _log(self.quiet, f"[{k}/{self.total}] {what} {run.name} ({self.left()})")

    def skip(self, run: Run, why: str) -> None:
        self.remaining.pop(run.name)
        _log(self.quiet, f"skip {run.name}: {why}")

    def finish(self, run: Run, seconds: float, test_f1: float | None = None) -> None:
        self.finished.append((self.remaining.pop(run.name), seconds))
        f1 = f", test F1 {test_f1:.4f}" if test_f1 is not None else ""
        _log(self.quiet, f"  done {run.name} in {clock(seconds)}{f1} ({len(self.finished)}/{self.total} "
                         f"finished; {self.left()})")


def _test_f1(run: Run) -> float | None:
    metrics = read_json(run.bundle / "metrics.json") or {}
    return metrics.get("test", {}).get("f1")


def run_grid(runs: list[Run], data: str, jobs: int, verbose: int, quiet: bool, columns: tuple = NO_COLUMNS,
             measure: bool = True, threads: int | None = None,
             ray: ray_executor.RayOptions | None = None) -> dict | None:
    """Train and score the runs that are not complete; with ``jobs`` > 1 in parallel worker processes, with
    ``ray`` as Ray tasks, then decode speed re-measured for each run alone here (``measure=False``: decode
    speed not measured; else also timed again for complete runs whose timing is missing or was taken on a busy
    machine). ``threads``: each run's CPU threads (None: the framework's default). Returns the
    Ray cluster's description (:func:`ner.comparison.ray_executor.cluster`) when Ray ran runs, else None."""

    data_hash, test_hash = corpus_hash(runs[0].settings["data"]), corpus_hash(data)
    todo, retime = [], []
    for run in runs:
        trained = _bundle_matches(run, data_hash)
        if trained and _scored(run, test_hash):
            gap = _timing_gap(run) if measure else None
            if gap:
                _log(quiet, f"{run.name}: complete, but its decode speed was {gap}; timing it now")
                retime.append(run)
            else:
                _log(quiet, f"skip {run.name}: already complete")
            continue
        todo.append((run, trained))
    workers = _train_todo(todo, len(runs), data, jobs, verbose, quiet, columns, measure, threads, ray) if todo else None
    if measure:
        measure_alone([run for run, _ in todo] + retime, data, quiet, columns)
    return workers


def _train_todo(todo: list[tuple[Run, bool]], total: int, data: str, jobs: int, verbose: int, quiet: bool,
                columns: tuple, measure: bool, threads: int | None,
                ray: ray_executor.RayOptions | None) -> dict | None:
    """Train (unless ``trained``) and score each ``(run, trained)`` of ``todo`` (:func:`run_grid`'s arguments);
    returns the Ray cluster's description when Ray ran them, else None."""
    job = {run.name: {**dataclasses.asdict(run), "trained": trained} for run, trained in todo}
    if ray is not None:
        return _run_on_ray(todo, total, job, data, verbose, quiet, columns, ray)
    _log(quiet, f"{len(todo)} of {total} runs to train or score" + (f" ({jobs} at a time)" if jobs > 1 else ""))
    progress = Progress([run for run, _ in todo], jobs, quiet)
    if jobs == 1:
        for k, (run, trained) in enumerate(todo, 1):
            progress.start(k, run, "scoring" if trained else "training")
            start = time.perf_counter()
            train_and_score(job[run.name], data, measure, True, verbose, columns, threads)
            progress.finish(run, time.perf_counter() - start, _test_f1(run))
        return None
    import keras

    context = multiprocessing.get_context("spawn")   # workers run on this process's backend, whatever the environment
    with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_use_backend,
                                     initargs=(keras.backend.backend(),)) as pool:
        pending, queue, k = {}, list(todo), 0
        try:
            while queue or pending:
                while queue and len(pending) < jobs:
                    run, trained = queue.pop(0)
                    k += 1
                    progress.start(k, run, "scoring" if trained else "training")
                    future = pool.submit(train_and_score, job[run.name], data, False, False, verbose, columns,
                                         threads)
                    pending[future] = (run, time.perf_counter())
                finished, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                for future in finished:
                    run, start = pending.pop(future)
                    try:
                        future.result()
                    except futures.process.BrokenProcessPool:
                        raise RunError(f"{run.name}: the worker process running it died (killed, or out of "
                                       "memory); rerun the command to resume the grid") from None
                    progress.finish(run, time.perf_counter() - start, _test_f1(run))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return None


# ---------------------------------------------------------------- on Ray

def _run_on_ray(todo: list[tuple[Run, bool]], total: int, job: dict, data: str, verbose: int, quiet: bool,
                columns: tuple, options: ray_executor.RayOptions) -> dict:
    """Train and score ``todo`` as Ray tasks, writing each run's files here as its task returns them
    (:func:`_store`). A run trained alone when its node fits one run at a time: Ray then never ran another
    run of the grid beside it (not even an attempt that failed)."""
    import keras

    settings = todo[0][0].settings
    shared = ray_executor.inputs([data, settings["data"], settings.get("embeddings"), settings.get("init")])
    places = [(0, "folder"), (0, "bundle"), (0, "settings", "data"), (0, "settings", "embeddings"),
              (0, "settings", "init"), (1,)]
    tasks, by_name = {}, {}
    for run, trained in todo:
        model = run.bundle.relative_to(run.folder).as_posix()
        own = {f"{model}/{name}": data for name, data in ray_cluster.pack(run.bundle).items()} if trained else {}
        if trained and run.record.is_file():
            own["run.json"] = run.record.read_bytes()   # the timing of its training, which it keeps
        args = json.loads(json.dumps([job[run.name], data, False, False, verbose, list(columns)], default=str))
        tasks[run.name] = {"args": args, "places": places, "folder": str(run.folder), "own": own,
                           "rewrite": (f"{model}/config.json", f"{model}/{BUNDLE_MARK}", "run.json")}
        by_name[run.name] = (run, trained)

    def done(name: str, result: dict) -> None:
        run, trained = by_name[name]
        _store(run, trained, result, workers["fits"].get(result["node"]["id"]) == 1)
        progress.finish(run, result["end"] - result["start"], _test_f1(run))

    with ray_executor.cluster(options, verbose > 0) as workers:
        where = "a local Ray instance" if workers["address"] == "local" else f"the Ray cluster at {workers['address']}"
        _log(quiet, f"{len(todo)} of {total} runs to train or score on {where} ({workers['nodes']} node(s), up to "
                    f"{workers['at_once']} at a time; per run {options.cpus_per_run:g} CPU, {options.gpus_per_run:g} "
                    f"GPU, {options.run_threads} thread(s))")
        progress = Progress([run for run, _ in todo], workers["at_once"], quiet)
        ray_executor.run_tasks(train_and_score, tasks, shared, options, keras.backend.backend(), done)
    return {k: workers[k] for k in ("address", "nodes", "at_once")}


def _store(run: Run, trained: bool, result: dict, alone: bool) -> None:
    """Write the files a Ray task returned for ``run``: the bundle swapped in whole (when the task trained
    it), predictions.txt, then run.json, which makes the run count as scored (a kill in between costs a
    rescoring, never a half-recorded run). A run the task trained records its node and ``alone``."""
    files = result["files"]
    model = run.bundle.relative_to(run.folder).as_posix() + "/"
    if not trained:
        bundle = {name[len(model):]: data for name, data in files.items() if name.startswith(model)}

        def fill(folder: Path) -> None:
            for name in sorted(bundle, key=lambda n: n == BUNDLE_MARK):   # the mark last
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(bundle[name])

        replace_folder(run.bundle, fill)
    atomic_write(run.predictions, files["predictions.txt"])
    record = json.loads(files["run.json"])
    if not trained:
        record.update(node=result["node"], bundle_id=_fingerprint(run.bundle), train_alone=alone)
    write_json(run.record, record)


def _timing_gap(run: Run) -> str | None:
    """Why the run's decode speed must be timed (again): "not timed yet", "timed on a busy machine"; else None."""
    decode = (read_json(run.record) or {}).get("decode")
    if not isinstance(decode, dict):
        return "not timed yet"
    return "timed on a busy machine" if busy(decode.get("load"), decode.get("cores")) else None


def _wait_for_quiet(deadline: float, quiet: bool) -> None:
    """Wait until the 1-minute load average is at most one per core (it lags: right after training it still
    counts the finished runs), but not past ``deadline`` (:func:`time.monotonic` seconds)."""
    cores = os.cpu_count() or 1
    if load_average() > cores and time.monotonic() < deadline:
        _log(quiet, f"waiting up to {clock(deadline - time.monotonic())} for the 1-minute load average "
                    f"({load_average():.1f}) to fall to {cores} before timing")
    while load_average() > cores and time.monotonic() < deadline:
        time.sleep(5)


def measure_alone(runs: list[Run], data: str, quiet: bool, columns: tuple = NO_COLUMNS) -> None:
    """Decode speed of each run that lacks one or was timed on a busy machine, measured one at a time in this
    process once the load average has fallen (waiting :data:`QUIET_WAIT` seconds at most in all). A new timing
    replaces a busy one only when it is quiet or was taken at a lower load."""
    missing = [r for r in runs if _timing_gap(r)]
    if not missing:
        return
    tokens, _, _, _, documents = load_test_split(data, columns)
    deadline = time.monotonic() + QUIET_WAIT
    for k, run in enumerate(missing, 1):
        _wait_for_quiet(deadline, quiet)
        _log(quiet, f"[{k}/{len(missing)}] measuring decode speed of {run.name} alone")
        record = read_json(run.record)
        bundle = load_bundle(run.bundle)
        timing, before = measure_decode(bundle.model, bundle.vocabs, tokens, documents), record.get("decode")
        if (isinstance(before, dict) and busy(timing["load"], timing["cores"])
                and not timing["load"] < (before.get("load") or 0.0)):
            _log(quiet, f"  kept the earlier timing of {run.name}: this one's load average is no lower")
            continue
        record["decode"] = timing
        write_json(run.record, record)


def score_bundles(runs: list[Run], data: str, quiet: bool, columns: tuple = NO_COLUMNS) -> None:
    """Score the given bundles (skipping those already scored on this data), one at a time; first refuse
    (RunError) a bundle that shares no entity type or no word with the data."""

    tokens, gold, scheme, _, _ = load_test_split(data, columns)
    for run in runs:
        check_overlap(load_bundle(run.bundle, model=False).vocabs, tokens, gold, scheme, f"--from {run.bundle}: {data}")
    data_hash = corpus_hash(data)
    progress = Progress(runs, 1, quiet)
    for k, run in enumerate(runs, 1):
        if _scored(run, data_hash):
            progress.skip(run, "already scored on this data")
            continue
        progress.start(k, run, f"scoring {run.bundle} as")
        start = time.perf_counter()
        score_run(dataclasses.asdict(run), data, True, {"train_alone": None, "train_load": None}, columns)
        progress.finish(run, time.perf_counter() - start)


# ---------------------------------------------------------------- the entry point

def _use_backend(backend: str | None) -> None:
    if backend is None:
        return
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
        raise NerError(f"--backend: keras already runs on {sys.modules['keras'].backend.backend()}; "
                       f"set KERAS_BACKEND={backend} before importing it")
    os.environ["KERAS_BACKEND"] = backend


def compare(data: str = "data/sample", encoders: str | Iterable[str] = DEFAULT_ENCODERS,
            heads: str | Iterable[str] = HEADS, seeds: int = 1, epochs: int = DEFAULT_EPOCHS,
            out: str = "reports/compare", jobs: int = 1, max_train: int | None = None,
            bundles: Iterable[str | os.PathLike] | None = None, resamples: int = 1000, backend: str | None = None,
            verbose: int = 0, quiet: bool = False, tokens_column: str | None = None, tags_column: str | None = None,
            token_col: int = 0, tag_col: int = -1, executor: str = "local", address: str | None = None,
            cpus_per_run: float | None = None, gpus_per_run: float | None = None, threads: int | None = None,
            **settings: Any) -> Path:
    """Train (or, with ``bundles``, score) and compare configurations; returns the path of report.md.

    ``encoders``/``heads``: names or comma-separated strings; ``seeds``: seeds 1..N of each configuration;
    ``max_train``: train on the first N training sentences; ``jobs``: runs trained at once (decode speed is
    then measured afterwards, one run at a time); ``settings``: other :class:`ner.training.config.TrainConfig`
    fields for every run (``hidden``, ``word_dim``, ``patience``, ``batch_size``, ...); ``verbose``: the
    training runs' own verbosity; ``resamples``: bootstrap resamples for the verdicts;
    ``tokens_column``/``tags_column``: the columns of a table source (None: detected), ``token_col``/``tag_col``
    those of CoNLL files, for training and scoring; ``executor``: ``"local"`` (this machine, ``jobs`` at a
    time) or ``"ray"`` (one Ray task per run: on a local Ray instance, or the cluster at ``address``, ``"auto"``
    or ``HOST:PORT``, each with ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs, fractions allowed);
    ``threads``: CPU threads each run computes with (default: a Ray run's whole CPUs; locally the framework's).
    """
    _use_backend(backend)
    if jobs < 1:
        raise NerError("--jobs: must be at least 1")
    ray = _executor(executor, jobs, bundles, address, cpus_per_run, gpus_per_run, threads)
    if resamples < 100:
        raise NerError("--resamples: must be at least 100")
    if max_train is not None and max_train < 1:
        raise NerError("--max-train: must be at least 1")
    data = str(data)
    _check_settings(settings)
    if bundles and (settings or max_train is not None):
        raise NerError("--from scores trained bundles: training options do not apply")
    inputs = (data, settings.get("embeddings"), *(bundles or ()))
    with claim(out, MARK, flag="--out", inputs=inputs, legacy=_old_report, kind="comparison"):
        return _compare(data, encoders, heads, seeds, epochs, Path(out), jobs, max_train, bundles, resamples,
                        verbose, quiet, settings, (tokens_column, tags_column, token_col, tag_col), threads, ray)


def _executor(executor: str, jobs: int, bundles, address: str | None, cpus_per_run: float | None,
              gpus_per_run: float | None, threads: int | None) -> ray_executor.RayOptions | None:
    """The Ray settings of ``executor="ray"`` (None for the local executor), refusing flags that do not apply
    and, when Ray is missing, naming the install command."""
    if executor not in EXECUTORS:
        raise NerError(f"--executor: {executor!r} is not one of {', '.join(EXECUTORS)}")
    if threads is not None and (type(threads) is not int or threads < 1):
        raise NerError(f"--threads: must be a whole number of at least 1, got {threads!r}")
    ray_only = {"--address": address, "--cpus-per-run": cpus_per_run, "--gpus-per-run": gpus_per_run}
    if executor == "local":
        for flag, value in ray_only.items():
            if value is not None:
                raise NerError(f"{flag}: only with --executor ray")
        return None
    if jobs != 1:
        raise NerError("--jobs: not with --executor ray (Ray runs as many runs at once as the cluster fits with "
                       "--cpus-per-run and --gpus-per-run)")
    if bundles:
        raise NerError("--from: scores the bundles on this machine; leave out --executor ray")
    resources = []
    for flag, value, default in (("--cpus-per-run", cpus_per_run, 1.0), ("--gpus-per-run", gpus_per_run, 0.0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise NerError(f"{flag}: expected a number, got {value!r}")
        resources.append(default if value is None else float(value))
    options = ray_executor.RayOptions(address, *resources, threads).check()
    ray_cluster.require()
    return options


def _old_report(names: list[str]) -> bool:
    """An unmarked folder of an older ``ner compare`` (only the names it writes, and its runs)."""
    return "runs" in names and set(names) <= {"runs", "data", "report.json", "report.md", "index.html", *report.FIGURES}


def _compare(data, encoders, heads, seeds, epochs, out: Path, jobs, max_train, bundles, resamples, verbose,
             quiet, settings, columns, threads, ray) -> Path:
    train_columns = columns
    workers = None
    if bundles:
        runs = plan_bundles(out, bundles)
        load_test_split(data, columns)
        mark_folder(out, "comparison")
        score_bundles(runs, data, quiet, columns)
        train_data, jobs = data, 1
    else:
        train_data = str(out / "data") if max_train else data
        train_columns = NO_COLUMNS if max_train else columns   # the slice is CoNLL
        named = {k: v for k, v, default in zip(COLUMN_KEYS, train_columns, NO_COLUMNS) if v != default}
        runs = plan_grid(out, train_data, encoders, heads, seeds, epochs, {**settings, **named})
        load_test_split(data, columns)
        mark_folder(out, "comparison")
        if max_train:
            write_slice(data, out / "data", max_train, columns)
        workers = run_grid(runs, data, jobs, verbose, quiet, columns, threads=threads, ray=ray)
    import keras

    vocabulary = load_test_split(train_data, train_columns)[3]
    test_documents = load_test_split(data, columns)[4]
    context = {"documents": len(set(test_documents)) < len(test_documents),   # does the test split mark documents?
               "data": data, "out": str(out), "mode": "from" if bundles else "grid", "jobs": jobs,
               "executor": "ray" if ray else "local", "threads": ray.run_threads if ray else threads,
               "ray": None if ray is None else {"address": ray.address or "local", "cpus_per_run": ray.cpus_per_run,
                                                "gpus_per_run": ray.gpus_per_run, **(workers or {})},
               "backend": keras.backend.backend(), "cores": os.cpu_count(),
               "max_train": max_train, "epochs": None if bundles else epochs, "seeds": None if bundles else seeds,
               "train_data": train_data, "settings": settings, "resamples": resamples,
               "encoders": list(dict.fromkeys(r.encoder for r in runs)),
               "heads": list(dict.fromkeys(r.head for r in runs))}
    path = report.write_report(out, collect(runs), context, vocabulary)
    _log(quiet, f"report: {path} (open {out / 'index.html'})")
    return path

