"""``ner tag MODEL --input PATH [--output OUT] [--jobs N] [--executor local|ray]``: inputs streamed in shards
(:mod:`ner.tagging.shards`), tagged by this process, N local worker processes or Ray tasks, with a progress line.

With ``--output`` each finished shard is written to a parts folder beside (file output) or inside (folder output)
the output, with a manifest naming the model, the inputs and the settings; a rerun of the same command skips the
shards there, and the output files are assembled in input order and renamed into place at the end, so an
interrupted run resumes and ends with the file an uninterrupted one writes. Without ``--output`` shards are printed
in input order as they finish.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from dataclasses import asdict, dataclass
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from ner.backend import ray_cluster
from ner.backend.threads import BLAS_VARIABLES
from ner.bundle import bundle_path, read_meta
from ner.errors import NerError
from ner.io.console import clock
from ner.io.files import atomic_write_text
from ner.io.outputs import MARK, check_file, claim, mark_folder, record_outputs, remove_stale
from ner.tagging.render import render_shard, render_texts
from ner.tagging.shards import InputFile, Shard, plan_inputs, read_shards

if TYPE_CHECKING:
    from ner.inference.tagger import Tagger

EXECUTORS = ("local", "ray")
PARTS = ".ner-parts"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Job:
    """What every worker needs to tag a shard."""

    model: str
    engine: str
    fmt: str
    nbest: int | None


# ---------------------------------------------------------------- workers

_tagger = None   # the worker process's Tagger


def load_worker(model: str, engine: str) -> None:
    """Load the tagger of this process (a worker process's initializer)."""
    global _tagger
    from ner.inference.tagger import Tagger

    _end_with_parent()
    _tagger = Tagger.load(model, engine=engine)


def _end_with_parent() -> None:
    """Ask Linux to end this worker process when the process that started it dies (a killed ``ner tag`` leaves no
    workers behind); elsewhere nothing."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
        if os.getppid() == 1:                        # the parent died before the call
            os._exit(1)


def tag_shard(kind: str, items: list, documents: list | None, fmt: str, nbest: int | None,
              continued: bool = False) -> str:
    """One shard's output, tagged with this process's tagger (:func:`load_worker`)."""
    return render_shard(_tagger, kind, items, documents, fmt, nbest, continued)


def local_results(shards: Iterator[Shard], job: Job, jobs: int) -> Iterator[tuple[Shard, str]]:
    """(shard, output) as shards finish: in this process (``jobs`` 1, in order) or in ``jobs`` worker processes,
    at most 2 * ``jobs`` shards read ahead (so memory stays bounded)."""
    if jobs == 1:
        load_worker(job.model, job.engine)
        for shard in shards:
            yield shard, tag_shard(shard.kind, shard.items, shard.documents, job.fmt, job.nbest, shard.continued)
        return
    context = get_context("spawn")   # a forked copy of a process that loaded Keras or threads is not safe
    with _threads_each(max(1, (os.cpu_count() or 1) // jobs)), \
            futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=load_worker,
                                        initargs=(job.model, job.engine)) as pool:
        pending: dict[futures.Future, Shard] = {}
        for shard in shards:
            pending[pool.submit(tag_shard, shard.kind, shard.items, shard.documents, job.fmt, job.nbest,
                                shard.continued)] = shard
            if len(pending) >= 2 * jobs:
                done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        for future in futures.as_completed(list(pending)):
            yield pending.pop(future), future.result()


@contextlib.contextmanager
def _threads_each(threads: int) -> Iterator[None]:
    """Worker processes started inside compute with ``threads`` BLAS/OpenMP threads each (where the user set none):
    N workers with a thread per core each would contend for the cores."""
    names = [n for n in BLAS_VARIABLES if n not in os.environ]
    os.environ.update({n: str(threads) for n in names})
    try:
        yield
    finally:
        for n in names:
            os.environ.pop(n, None)


def results(shards: Iterator[Shard], job: Job, jobs: int, executor: str, address: str | None,
            cpus_per_run: float) -> Iterator[tuple[Shard, str]]:
    """(shard, output) as shards finish on the ``executor`` ("local": :func:`local_results`; "ray": Ray actors)."""
    if executor == "ray":
        from ner.tagging.ray_tasks import ray_results  # Ray's side: only this executor needs it

        return ray_results(shards, job.model, job.engine, job.fmt, job.nbest, jobs, address, cpus_per_run)
    return local_results(shards, job, jobs)


def tag_stream(tagger: Tagger, texts: Iterable[str], fmt: str = "json", nbest: int | None = None,
               shard_size: int = 1000) -> Iterator[str]:
    """The output of ``texts`` (any iterable, e.g. a generator too large for memory) as ``ner tag`` writes it, one
    string per ``shard_size`` texts: ``texts`` is read only as far as the strings taken so far need."""
    texts = iter(texts)
    while chunk := list(islice(texts, shard_size)):
        yield render_texts(tagger, chunk, fmt, nbest)


# ---------------------------------------------------------------- progress

class Progress:
    """One stderr line per update (at most every ``every`` seconds, and at the end): shards and texts or sentences
    done, their rate, the share of the input read and an estimate of the time left."""

    def __init__(self, total_bytes: int | None, quiet: bool, every: float = 2.0):
        self.total, self.quiet, self.every = total_bytes, quiet, every
        self.started = self.shown = time.perf_counter()
        self.shards = self.items = self.skipped = 0
        self.read = 0   # bytes of the inputs up to the end of the furthest finished shard
        self.tty = sys.stderr.isatty()

    def add(self, shard: Shard, skipped: bool = False) -> None:
        self.shards += 1
        self.skipped += skipped
        self.items += 0 if skipped else len(shard.items)
        self.read = max(self.read, shard.position)
        if time.perf_counter() - self.shown >= self.every:
            self.show()

    def show(self, end: bool = False) -> None:
        if self.quiet:
            return
        self.shown = now = time.perf_counter()
        elapsed = now - self.started
        rate = self.items / elapsed if elapsed > 0 else 0.0
        parts = [f"tag: {self.shards} shard(s)" + (f" ({self.skipped} done before)" if self.skipped else ""),
                 f"{self.items:,} tagged", f"{rate:,.0f}/s"]
        if self.total:
            share = min(1.0, self.read / self.total)
            parts.append(f"{share:.0%} of the input")
            if 0 < share < 1 and not end:
                parts.append(f"about {clock(elapsed * (1 - share) / share)} left")
        line = ", ".join(parts) + (f" in {clock(elapsed)}" if end else "")
        print(("\r" if self.tty else "") + line, end="\n" if end or not self.tty else "", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the run

def _model_identity(model: str) -> str:
    """sha256 over the bundle's small files and its weights files' sizes and modification times."""
    path = Path(bundle_path(model))
    digest = hashlib.sha256()
    for name in ("bundle.json", "config.json", "vocab.json"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for name in ("weights.npz", "model.keras"):
        if (path / name).is_file():
            stat = (path / name).stat()
            digest.update(f"{name} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _shard_name(file: int, index: int) -> str:
    return f"{file:05d}-{index:07d}.out"


def _prepare_parts(parts: Path, manifest: dict) -> set[str]:
    """Keep the shards of an earlier run with the same manifest (their names); otherwise start afresh."""
    try:
        same = json.loads((parts / MANIFEST).read_text(encoding="utf-8")) == manifest
    except (OSError, ValueError):
        same = False
    if not same:
        for entry in parts.iterdir():
            if entry.name != MARK:
                entry.unlink() if entry.is_file() else shutil.rmtree(entry)
        atomic_write_text(parts / MANIFEST, json.dumps(manifest, indent=1))
        return set()
    return {p.name for p in parts.glob("*.out")}


def _assemble(parts: Path, counts: dict[int, int], files: list[InputFile], dest: Callable[[InputFile], Path]) -> None:
    """Write each input's output: its shards in order into a temporary file beside the destination, then rename."""
    for number, file in enumerate(files):
        target = dest(file)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as out:
                for index in range(counts.get(number, 0)):
                    with open(parts / _shard_name(number, index), "rb") as part:
                        shutil.copyfileobj(part, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def tag_inputs(model: str, source: str, output: str | None, *, input_format: str = "auto", fmt: str = "json",
               nbest: int | None = None, engine: str = "auto", jobs: int = 1, executor: str = "local",
               address: str | None = None, cpus_per_run: float = 1.0, shard_size: int = 1000,
               overwrite: bool = False, quiet: bool = False) -> dict:
    """Tag the inputs of ``source`` (:func:`ner.tagging.shards.plan_inputs`) with the bundle ``model`` into
    ``output`` (a file for a file, a folder mirroring a folder; None: standard output, in order). Returns
    ``{"shards", "tagged", "skipped", "seconds"}``."""
    if jobs < 1:
        raise NerError("--jobs: must be at least 1")
    if shard_size < 1:
        raise NerError("--shard-size: must be at least 1")
    if executor not in EXECUTORS:
        raise NerError(f"--executor: unknown executor {executor!r} (choose from {', '.join(EXECUTORS)})")
    if executor == "ray":
        ray_cluster.require()
    elif address is not None:
        raise NerError("--address: goes with --executor ray")
    files = plan_inputs(source, input_format)
    conll = next((f for f in files if f.kind == "conll"), None)
    if nbest is not None and conll is not None:
        raise NerError(f"--nbest: needs text input; {conll.path or 'standard input'} is read as CoNLL")
    folder = str(source) != "-" and Path(source).is_dir()
    if folder and output is None:
        raise NerError("--output: needed when --input is a folder (the tagged files go under it)")
    model = str(bundle_path(model))
    read_meta(model)   # a wrong model path is refused before any output is written
    job = Job(model, engine, fmt, nbest)
    sizes = [f.size for f in files]
    progress = Progress(None if None in sizes else sum(sizes), quiet)
    counts: dict[int, int] = {}

    def tagged(done: set[str]) -> Iterator[tuple[Shard, str]]:
        """(shard, output) of every shard not in ``done``, as they finish (counted in ``progress``)."""
        for shard, text in results(_shards(files, shard_size, done, counts, progress), job, jobs, executor, address,
                                   cpus_per_run):
            progress.add(shard)
            yield shard, text

    if output is None:   # one file (a folder needs --output)
        for _, text in _in_order(tagged(set())):
            sys.stdout.write(text)
            sys.stdout.flush()
        progress.show(end=True)
        return {"shards": progress.shards, "tagged": progress.items, "skipped": 0,
                "seconds": time.perf_counter() - progress.started}
    manifest = {"model": _model_identity(model), "inputs": [f.identity() for f in files],
                "job": {**asdict(job), "model": None}, "shard_size": shard_size}
    if str(source) == "-":
        manifest["stdin started"] = time.time()   # standard input cannot be read again: never resumed
    inputs = (None if str(source) == "-" else source, model)
    if folder:
        with claim(output, MARK, flag="--output", inputs=inputs, kind="tagged") as out:
            mark_folder(out, "tagged")
            key, outputs = str(Path(source).resolve()), [f.relative.as_posix() for f in files]
            deleted, kept = remove_stale(out, key, outputs)
            for paths, what in ((deleted, "deleted"), (kept, "kept (changed since ner wrote it)")):
                for rel in paths:   # said even with --quiet: files went or stayed that the user may look for
                    print(f"tag: {what}: {out / rel}, the output of an input that is gone", file=sys.stderr)
            parts = out / PARTS
            parts.mkdir(exist_ok=True)
            _run(parts, manifest, tagged, files, counts, lambda f: out / f.relative)
            shutil.rmtree(parts)
            record_outputs(out, key, outputs)
    else:
        target = check_file(output, "--output", inputs=inputs, overwrite=overwrite)
        with claim(target.parent / f".{target.name}{PARTS}", MARK, flag="--output", kind="tag-parts") as parts:
            mark_folder(parts, "tag-parts")
            _run(parts, manifest, tagged, files, counts, lambda f: target)
            shutil.rmtree(parts)
    progress.show(end=True)
    return {"shards": progress.shards, "tagged": progress.items, "skipped": progress.skipped,
            "seconds": time.perf_counter() - progress.started}


def _run(parts: Path, manifest: dict, tagged: Callable[[set[str]], Iterator[tuple[Shard, str]]],
         files: list[InputFile], counts: dict[int, int], dest: Callable[[InputFile], Path]) -> None:
    """Tag the shards not in ``parts`` yet (``manifest`` says whether those there belong to this run), each written
    there as it finishes, then assemble the outputs (``counts``: shards per input, known once all are read)."""
    done = _prepare_parts(parts, manifest)
    try:
        for shard, text in tagged(done):
            atomic_write_text(parts / _shard_name(shard.file, shard.index), text)
    except BaseException:
        if "stdin started" in manifest:   # never resumed: nothing to keep
            shutil.rmtree(parts, ignore_errors=True)
        raise
    _assemble(parts, counts, files, dest)


def _shards(files: list[InputFile], size: int, done: set[str], counts: dict[int, int],
            progress: Progress) -> Iterator[Shard]:
    """Every shard to tag, in input order; shards in ``done`` are read past (counted in ``counts`` and
    ``progress``), not tagged again."""
    offset = 0   # bytes of the files before this one: shard positions count from the first file's start
    for number, file in enumerate(files):
        for shard in read_shards(file, number, size):
            counts[number] = shard.index + 1
            shard.position += offset
            if _shard_name(number, shard.index) in done:
                progress.add(shard, skipped=True)
                continue
            yield shard
        offset += file.size or 0


def _in_order(finished: Iterator[tuple[Shard, str]]) -> Iterator[tuple[Shard, str]]:
    """The finished shards of one input put back in order (those that finish early wait)."""
    waiting: dict[int, tuple[Shard, str]] = {}
    expected = 0
    for shard, text in finished:
        waiting[shard.index] = (shard, text)
        while expected in waiting:
            yield waiting.pop(expected)
            expected += 1
