"""Runs of a comparison grid as Ray tasks (``ner compare --executor ray``), on a local Ray instance or a
cluster, with no file system shared between this process (the driver) and the workers.

What travels: the files every run reads (the corpus, ``embeddings``, an ``init`` bundle) go into Ray's
object store once and reach each node once; the run's own files the driver already has (a trained bundle
left to score) go with its task. A task unpacks them into a temporary folder on its node, calls the work
function with every path that named them rewritten to the copies, and returns the files the run wrote
(``{name relative to the run's folder: bytes}``) with the paths in the named JSON files written back to the
driver's; the driver writes them (:mod:`ner.comparison.grid`), so a task that fails leaves nothing behind.

Each task runs in a new worker process (``max_calls=1``) that fixes, before the framework starts, its
Keras backend, its CPU threads and, with GPUs, the share of GPU memory it takes; a task whose worker
process or node dies runs again (:data:`RETRIES`). Ray is imported inside the functions, so ``import
ner`` never imports it.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ner.backend.ray_cluster import RETRIES, connected, pack, unpack
from ner.backend.threads import set_threads
from ner.errors import NerError, RunError
from ner.io.files import strict_dumps

JAX_MEMORY_SHARE = 0.75    # of one GPU's memory, JAX's own default; a task with a fraction of a GPU takes that part


@dataclass(frozen=True)
class RayOptions:
    """Where and with what each run runs. ``address``: None starts a local Ray instance, ``"auto"`` or
    ``HOST:PORT`` joins a cluster; ``cpus_per_run``/``gpus_per_run``: Ray resources per task (fractions
    allowed); ``threads``: CPU threads each run computes with (None: its whole CPUs, at least 1)."""

    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    threads: int | None = None

    def check(self) -> RayOptions:
        """Refuse (NerError naming the flag) resources Ray cannot grant."""
        if not self.cpus_per_run > 0:
            raise NerError(f"--cpus-per-run: must be above 0, got {self.cpus_per_run}")
        gpus = self.gpus_per_run
        if not gpus >= 0 or gpus > 1 and gpus != int(gpus):
            raise NerError(f"--gpus-per-run: a fraction of one GPU (0 to 1) or a whole number, got {gpus}")
        if self.threads is not None and self.threads < 1:
            raise NerError(f"--threads: must be at least 1, got {self.threads}")
        if self.address is not None and not self.address.strip():
            raise NerError("--address: give HOST:PORT of the Ray head, or auto")
        return self

    @property
    def run_threads(self) -> int:
        return self.threads or max(1, int(self.cpus_per_run))


# ---------------------------------------------------------------- files through the object store

def relocate(value: Any, moves: dict[str, str]) -> Any:
    """``value`` (str, dict, list or tuple, nested) with every string that is a key of ``moves``, or a path
    under one, moved to that key's value."""
    if isinstance(value, str):
        for old, new in moves.items():
            if value == old or value.startswith(old.rstrip("/") + "/"):
                return new + value[len(old):]
        return value
    if isinstance(value, dict):
        return {k: relocate(v, moves) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(relocate(v, moves) for v in value)
    return value


def relocate_at(args: list, places: list[tuple], moves: dict[str, str]) -> list:
    """A copy of ``args`` (JSON values) with :func:`relocate` applied at each place, a tuple of indexes and
    keys into ``args`` such as ``(0, "settings", "data")``, and nowhere else (a place that is missing is
    skipped)."""
    args = json.loads(json.dumps(args))
    for *parents, last in places:
        holder = args
        try:
            for key in parents:
                holder = holder[key]
            holder[last] = relocate(holder[last], moves)
        except (KeyError, IndexError, TypeError):
            continue
    return args


def inputs(paths: list[str | None]) -> dict[str, dict]:
    """The input files to send, by the path string that names them: {path: {"name", "folder", "files"}};
    paths that name nothing here (``hf:NAME``, None) are left out and reach the task as they are."""
    return {str(p): {"name": Path(p).name, "folder": Path(p).is_dir(), "files": pack(p)} for p in dict.fromkeys(paths)
            if p and not str(p).startswith("hf:") and os.path.exists(p)}


# ---------------------------------------------------------------- the worker's side

def _prepare_process(backend: str, threads: int, gpus: float) -> None:
    """Before the framework starts in this new worker process: the driver's Keras backend, the threads, and
    with a fraction of a GPU that share of its memory (JAX preallocates 75 % of a GPU per process) and
    TensorFlow's memory growth instead of taking it all."""
    os.environ["KERAS_BACKEND"] = backend
    if 0 < gpus < 1:
        os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{JAX_MEMORY_SHARE * gpus:.3f}"
        os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    set_threads(threads)


def run_task(work: Callable, args: list, places: list[tuple], folder: str, own: dict[str, bytes],
             shared: dict[str, dict], rewrite: tuple[str, ...], backend: str, threads: int, gpus: float) -> dict:
    """On a worker: ``work(*args)`` for one run whose files go under ``folder`` (the driver's path).

    ``args``: JSON values; ``places``: where in them paths are (:func:`relocate_at`); ``own``: files already
    in the run's folder (:func:`pack` of it); ``shared``: :func:`inputs`; ``rewrite``: names of JSON files
    the run writes whose path strings are written back to the driver's. Returns ``{"files": the run's new or
    changed files, "node": {"id", "host", "cores"}, "start", "end"}`` (wall-clock seconds on the node).
    """
    import ray

    _prepare_process(backend, threads, gpus)
    with tempfile.TemporaryDirectory(prefix="ner-run-") as tmp:
        moves = {}
        for k, (path, item) in enumerate(shared.items()):   # each under its own name (corpus hashes read names)
            copy = Path(tmp, "in", str(k), item["name"])
            unpack(item["files"], copy if item["folder"] else copy.parent)
            moves[path] = str(copy)
        here = Path(tmp, "run")
        here.mkdir()
        unpack(own, here)
        moves[folder] = str(here)
        start = time.time()
        work(*relocate_at(args, places, moves))
        end = time.time()
        back = {new: old for old, new in moves.items()}
        files = {name: data for name, data in pack(here).items() if own.get(name) != data}
        for name in rewrite:
            if name in files:
                value = json.loads(files[name])
                moved = relocate(value, back)
                if moved != value:
                    files[name] = (strict_dumps(moved, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    node = {"id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(), "cores": os.cpu_count()}
    return {"files": files, "node": node, "start": start, "end": end}


# ---------------------------------------------------------------- the driver's side

def _fits(resources: dict, options: RayOptions) -> int:
    """How many runs one node with ``resources`` runs at once."""
    n = int(resources.get("CPU", 0) / options.cpus_per_run + 1e-9)
    if options.gpus_per_run:
        n = min(n, int(resources.get("GPU", 0) / options.gpus_per_run + 1e-9))
    return n


@contextmanager
def cluster(options: RayOptions, verbose: bool) -> Iterator[dict]:
    """Connected to Ray for the block (:func:`ner.backend.ray_cluster.connected`). Yields ``{"address", "nodes",
    "at_once", "fits"}``: the cluster's live nodes, how many runs they take at once, and how many each takes ({node
    id: n}); NerError when no node fits one run."""
    with connected(options.address, verbose) as nodes:
        fits = {n["NodeID"]: _fits(n.get("Resources", {}), options) for n in nodes}
        at_once = sum(fits.values())
        if at_once == 0:
            most = max(nodes, key=lambda n: (n["Resources"].get("GPU", 0), n["Resources"].get("CPU", 0)), default={})
            have = most.get("Resources", {})
            raise NerError(f"--cpus-per-run {options.cpus_per_run:g} --gpus-per-run {options.gpus_per_run:g}: no "
                           f"node of the Ray cluster has that much (the largest: {have.get('CPU', 0):g} CPUs, "
                           f"{have.get('GPU', 0):g} GPUs)")
        yield {"address": options.address or "local", "nodes": len(nodes), "at_once": at_once, "fits": fits}


def run_tasks(work: Callable, tasks: dict[str, dict], shared: dict[str, dict], options: RayOptions,
              backend: str, on_done: Callable[[str, dict], None]) -> None:
    """One Ray task per entry of ``tasks`` (``{name: {"args", "places", "folder", "own", "rewrite"}}``, see
    :func:`run_task`); ``on_done(name, result)`` as each finishes, in the order they finish. A task that
    raises stops the grid with its error (NerError as it is, others as RunError naming the run); one whose
    worker died more than :data:`RETRIES` times too. Tasks not finished are cancelled when this returns
    early (an error, Ctrl-C)."""
    import ray

    shared_ref = ray.put(shared)
    remote = ray.remote(num_cpus=options.cpus_per_run, num_gpus=options.gpus_per_run, max_calls=1,
                        max_retries=RETRIES, retry_exceptions=False)(run_task)
    pending = {remote.remote(work, t["args"], t["places"], t["folder"], t["own"], shared_ref, t["rewrite"], backend,
                             options.run_threads, options.gpus_per_run): name for name, t in tasks.items()}
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            name = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause
                if isinstance(cause, NerError):
                    raise cause from None
                reason = (str(cause).strip().splitlines() or [""])[0]
                raise RunError(f"{name}: failed on a Ray worker ({type(cause).__name__}: {reason})") from None
            except ray.exceptions.RayError as exc:
                raise RunError(f"{name}: its Ray task failed {RETRIES + 1} times ({type(exc).__name__}: the worker "
                               "process or its node died); rerun the command to resume the grid") from None
            on_done(name, result)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
