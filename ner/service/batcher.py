"""Requests that arrive close together, decoded together: one decoding pass for many requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class Batcher:
    """Collects texts from concurrent requests and decodes them in one call of ``decode(texts, options)``.

    A batch is decoded ``wait_ms`` milliseconds after its first request arrives, or at once when the request
    that arrives brings it to ``max_batch`` texts or more (a request is never split); requests with other
    options go into their own batch. ``decode`` runs in one worker
    thread (the event loop stays free), returns one result per text; ``passes`` counts its calls.
    """

    def __init__(self, decode: Callable[[Sequence[str], dict], list], wait_ms: float, max_batch: int):
        self.decode, self.wait, self.max_batch = decode, wait_ms / 1000.0, max_batch
        self.passes = 0
        self._pending: dict[tuple, list[tuple[list[str], asyncio.Future]]] = {}
        self._timers: dict[tuple, asyncio.TimerHandle] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ner-decode")
        self._running: set[asyncio.Task] = set()   # references keep the decoding tasks alive

    @property
    def pending(self) -> int:
        """Texts waiting for their batch to be decoded."""
        return sum(len(texts) for batch in self._pending.values() for texts, _ in batch)

    async def submit(self, texts: list[str], options: dict[str, Any]) -> list:
        """The results for ``texts`` (one per text), decoded with whatever else is pending with these options."""
        loop = asyncio.get_running_loop()
        key = tuple(sorted(options.items()))
        future: asyncio.Future = loop.create_future()
        batch = self._pending.setdefault(key, [])
        batch.append((texts, future))
        if sum(len(t) for t, _ in batch) >= self.max_batch:
            self._flush(key, options)
        elif key not in self._timers:
            self._timers[key] = loop.call_later(self.wait, self._flush, key, options)
        return await future

    def _flush(self, key: tuple, options: dict) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        batch = self._pending.pop(key, [])
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch, options))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[list[str], asyncio.Future]], options: dict) -> None:
        texts = [text for request, _ in batch for text in request]
        self.passes += 1
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._worker, self.decode, texts, options)
        except Exception as exc:   # every waiting request learns of it; the server goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for request, future in batch:
            if not future.done():
                future.set_result(results[start:start + len(request)])
            start += len(request)

    def close(self) -> None:
        self._worker.shutdown(wait=True)
