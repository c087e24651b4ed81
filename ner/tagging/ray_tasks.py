"""Shards tagged by Ray workers (``ner tag --executor ray``): N actors, each holding the model, on a local Ray
instance or a cluster, with no file system shared with this process: the bundle's files travel through Ray's
object store once, each shard's texts go with its call and its output comes back. An actor whose process or node
dies is started again and its calls run again (:data:`ner.backend.ray_cluster.RETRIES`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from ner.backend.ray_cluster import RETRIES, connected, pack, unpack
from ner.backend.threads import BLAS_VARIABLES
from ner.errors import NerError
from ner.tagging.render import render_shard
from ner.tagging.shards import Shard


class ShardTagger:
    """A Ray actor's state: the bundle unpacked into a temporary folder on its node, loaded once."""

    def __init__(self, files: dict[str, bytes], engine: str):
        from ner.inference.tagger import Tagger

        self.folder = tempfile.TemporaryDirectory(prefix="ner-tag-")
        unpack(files, Path(self.folder.name))
        self.tagger = Tagger.load(self.folder.name, engine=engine)

    def tag(self, kind: str, items: list, documents: list | None, fmt: str, nbest: int | None,
            continued: bool) -> str:
        return render_shard(self.tagger, kind, items, documents, fmt, nbest, continued)


def ray_results(shards: Iterator[Shard], model: str, engine: str, fmt: str, nbest: int | None, jobs: int,
                address: str | None, cpus_per_run: float) -> Iterator[tuple[Shard, str]]:
    """(shard, output) as shards finish on ``jobs`` actors of ``cpus_per_run`` CPUs each, two calls queued per actor
    at most (so memory stays bounded); NerError when the cluster cannot hold one actor."""
    import ray

    if not cpus_per_run > 0:
        raise NerError(f"--cpus-per-run: must be above 0, got {cpus_per_run}")
    with connected(address, verbose=False) as nodes:
        if not any(n.get("Resources", {}).get("CPU", 0) >= cpus_per_run for n in nodes):
            raise NerError(f"--cpus-per-run {cpus_per_run:g}: no node of the Ray cluster has that many CPUs")
        threads = {name: str(max(1, int(cpus_per_run))) for name in BLAS_VARIABLES}   # before the process starts
        actor = ray.remote(num_cpus=cpus_per_run, max_restarts=RETRIES, max_task_retries=RETRIES,
                           runtime_env={"env_vars": threads})(ShardTagger)
        files = ray.put(pack(model))
        workers = [actor.remote(files, engine) for _ in range(jobs)]
        pending: dict = {}
        load = dict.fromkeys(range(jobs), 0)
        try:
            for shard in shards:
                if len(pending) >= 2 * jobs:
                    yield from _finished(pending, load)
                worker = min(load, key=load.get)
                call = workers[worker].tag.remote(shard.kind, shard.items, shard.documents, fmt, nbest, shard.continued)
                pending[call] = (shard, worker)
                load[worker] += 1
            while pending:
                yield from _finished(pending, load)
        finally:
            for ref in pending:
                ray.cancel(ref)
            for worker in workers:
                ray.kill(worker)


def _finished(pending: dict, load: dict) -> Iterator[tuple[Shard, str]]:
    """Wait for one call to finish; NerError from a worker as it is, any other failure as NerError."""
    import ray

    (ref,), _ = ray.wait(list(pending), num_returns=1)
    shard, worker = pending.pop(ref)
    load[worker] -= 1
    try:
        yield shard, ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, NerError):
            raise exc.cause from None
        reason = (str(exc.cause).strip().splitlines() or [""])[0]
        raise NerError(f"shard {shard.index} of input {shard.file + 1}: failed on a Ray worker "
                       f"({type(exc.cause).__name__}: {reason})") from None
    except ray.exceptions.RayError as exc:
        raise NerError(f"shard {shard.index} of input {shard.file + 1}: its Ray worker died {RETRIES + 1} times "
                       f"({type(exc).__name__}); run the command again to resume") from None
