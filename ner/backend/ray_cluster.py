"""Ray for ``ner``'s executors (``ner compare --executor ray``, ``ner tag --executor ray``): the install check, files
sent through Ray's object store as bytes, and the connection to a local Ray instance or a cluster. Ray is imported
inside the functions, so importing this module never imports it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ner.errors import NerError

INSTALL = "pip install 'ner[ray]'"
RETRIES = 2                # runs of a task again after its worker process or node died


def require() -> None:
    """NerError with the install line when Ray is missing."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise NerError(f"--executor ray: Ray is not installed; install it with {INSTALL}") from None


def pack(path: str | os.PathLike) -> dict[str, bytes]:
    """Every file of folder ``path`` (or the one file ``path``) as {name relative to it: bytes}."""
    path = Path(path)
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def unpack(files: dict[str, bytes], folder: Path) -> None:
    """Write :func:`pack`'s ``files`` under ``folder``."""
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@contextmanager
def connected(address: str | None, verbose: bool) -> Iterator[list[dict]]:
    """Connected to Ray for the block: ``address`` None starts a local instance, "auto" or HOST:PORT joins a cluster
    (an existing connection of this process is used as it is; one made here is closed after, and a local instance
    started here stopped). Yields the cluster's live nodes (``ray.nodes()`` entries); NerError naming --address when
    it cannot be reached."""
    import ray

    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # a local instance reports nothing unless asked
        try:
            ray.init(address=address or "local", include_dashboard=False, log_to_driver=verbose,
                     logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise NerError(f"--address {address}: cannot reach a Ray cluster ({reason})") from None
    try:
        yield [n for n in ray.nodes() if n.get("Alive")]
    finally:
        if started:
            ray.shutdown()
