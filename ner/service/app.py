"""The tagging service: a FastAPI app over numpy-runtime taggers (no Keras import), with batching across requests.

Contract (``GET /docs`` shows it as OpenAPI):

- ``POST /tag`` with ``{"text": str}`` or ``{"texts": [str, ...]}``, and optionally ``"models"`` (names; default
  all), ``"tokens"``, ``"marginals"`` (booleans) and ``"nbest"`` (k, CRF models). Answer: ``{"results": [{"text",
  "models": {NAME: {"entities": [{"text", "label", "start", "end", "score"}], "sentences": [...]}}}]}``, one
  result per text; ``"sentences"`` (with the options only) holds per sentence its ``start``, ``end`` and as asked
  ``tokens`` ([{"text", "start", "end", "tag"}]), ``marginals`` (per token {label: probability}) and ``nbest``
  ([{"probability", "entities"}], best first).
- ``GET /models``: each model's description as loaded (what ``ner info`` shows). ``GET /health``:
  ``{"status": "ok", "models", "browse", "types", "pending"}`` (pending: texts waiting for their batch).
  ``GET /``: the page (static/page.html) that shows how the models read a text and, with a corpus,
  ``GET /browse?type=&filter=&limit=``: the test sentences where they disagree most (:mod:`ner.service.browse`).
- Errors: ``{"error": one line}`` with 413 (body, text or number of texts over the limits), 422 (malformed JSON,
  wrong fields or types), 404 (unknown model), 500 (a failure of the server's own; it goes on).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ner.bundle import WEIGHTS, describe, read_meta
from ner.errors import NerError
from ner.inference.tagger import Tagger
from ner.io.outputs import MARK
from ner.service.batcher import Batcher
from ner.service.browse import Disagreements


@dataclass
class Limits:
    """What one request may hold, and how requests are batched (``ner serve`` flags)."""

    max_body_bytes: int = 1 << 20
    max_chars: int = 100_000       # characters per text
    max_texts: int = 256           # texts per request
    max_nbest: int = 20
    batch_wait_ms: float = 5.0     # how long the first request of a batch waits for others
    max_batch: int = 64            # texts decoded together at most


class TagRequest(BaseModel):
    """The body of ``POST /tag``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    text: str | None = None
    texts: list[str] | None = None
    models: list[str] | None = None
    tokens: bool = False
    marginals: bool = False
    nbest: int | None = Field(default=None, ge=1)


class RequestError(Exception):
    """A request the service refuses: HTTP ``status`` and a one-line ``reason``."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def load_taggers(paths: list[str]) -> dict[str, Tagger]:
    """Numpy-runtime taggers by name: a bundle's folder name, or for a ``ner compare`` output folder each run's
    name (``runs/NAME/model``). NerError for a bundle the numpy runtime cannot run or a name given twice."""
    found: dict[str, Path] = {}
    for path in map(Path, paths):
        runs = sorted(path.glob("runs/*/model")) if (path / MARK).is_file() and (path / "runs").is_dir() else []
        for name, bundle in [(run.parent.name, run) for run in runs] or [(path.resolve().name, path)]:
            if name in found:
                raise NerError(f"{bundle}: a second model named {name!r} (the first is {found[name]})")
            found[name] = bundle
    taggers = {}
    for name, bundle in found.items():
        read_meta(bundle)   # a bundle at all (and put back if a killed write left it missing)
        if not (bundle / WEIGHTS).is_file():
            raise NerError(f"{bundle}: the numpy runtime cannot run this bundle (no {WEIGHTS}); ner serve tags "
                           "with the numpy runtime only")
        taggers[name] = Tagger.load(bundle, engine="numpy")
    return taggers


def create_app(taggers: dict[str, Tagger], limits: Limits | None = None,
               browse: Disagreements | None = None) -> FastAPI:
    """The service over ``taggers`` (name -> numpy-runtime Tagger) with ``limits``, and the page's browse mode
    over ``browse``; ``app.state.batchers`` holds each model's :class:`Batcher` (``passes``: its decoding passes)."""
    limits = limits or Limits()
    batchers = {name: Batcher(lambda texts, options, t=tagger: t.analyse(texts, **options), limits.batch_wait_ms,
                              limits.max_batch) for name, tagger in taggers.items()}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for batcher in batchers.values():
            batcher.close()

    app = FastAPI(title="ner", summary="Named-entity tagging with ner's numpy runtime", lifespan=lifespan)
    app.state.batchers, app.state.limits = batchers, limits

    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:   # the server goes on
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    described = {name: describe(tagger.bundle.path) for name, tagger in taggers.items()}   # as loaded

    page = resources.files("ner.service").joinpath("static/page.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return page

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "models": list(taggers), "browse": browse is not None,
                "types": browse.types() if browse is not None else [],
                "pending": sum(b.pending for b in batchers.values())}

    @app.get("/browse")
    async def disagreements(type: str = "", filter: str = "all", limit: int = 50) -> dict:
        if browse is None:
            raise RequestError(404, "browse: start ner serve with --data CORPUS to browse its test sentences")
        if not 1 <= limit <= 1000:
            raise RequestError(422, f"limit: must be between 1 and 1000, not {limit}")
        try:
            return {"sentences": browse.ranked(type or None, filter, limit)}
        except NerError as exc:
            raise RequestError(422, str(exc)) from None

    @app.get("/models")
    async def models() -> dict:
        return described

    schema = {"content": {"application/json": {"schema": TagRequest.model_json_schema()}}, "required": True}

    @app.post("/tag", openapi_extra={"requestBody": schema})
    async def tag(request: Request) -> dict:
        body = await _read_body(request, limits.max_body_bytes)
        req = _parse(body)
        texts = [req.text] if req.text is not None else req.texts
        _check(texts, req, limits)
        names = list(dict.fromkeys(req.models)) if req.models is not None else list(taggers)   # each model once
        unknown = [n for n in names if n not in taggers]
        if unknown:
            raise RequestError(404, f"models: unknown model {unknown[0]!r} (this service has "
                                    f"{', '.join(taggers)})")
        if req.nbest is not None:
            for name in names:
                if not taggers[name].has_crf:
                    raise RequestError(422, f"nbest: model {name!r} has no CRF head")
        options = {"tokens": req.tokens, "marginals": req.marginals, "nbest": req.nbest}
        detailed = req.tokens or req.marginals or req.nbest is not None
        answers = await asyncio.gather(*(batchers[name].submit(texts, options) for name in names))
        return {"results": [{"text": text, "models": {name: _answer(answer[i], detailed)
                                                      for name, answer in zip(names, answers)}}
                            for i, text in enumerate(texts)]}

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"body: {declared} bytes, the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"body: over the limit of {limit} bytes")
    return bytes(body)


def _parse(body: bytes) -> TagRequest:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:   # not UTF-8, not JSON, nested too deep
        raise RequestError(422, f"malformed JSON ({' '.join(str(exc).split())[:200]})") from None
    try:
        return TagRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestError(422, f"{where}: {first['msg']}") from None


def _check(texts: list[str] | None, req: TagRequest, limits: Limits) -> None:
    if (req.text is None) == (req.texts is None):
        raise RequestError(422, "body: give exactly one of 'text' and 'texts'")
    if len(texts) > limits.max_texts:
        raise RequestError(413, f"texts: {len(texts)} texts, the limit is {limits.max_texts} per request")
    for i, text in enumerate(texts):
        if len(text) > limits.max_chars:
            raise RequestError(413, f"texts[{i}]: {len(text)} characters, the limit is {limits.max_chars}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:   # a lone surrogate ("\\ud800") that JSON let through
            raise RequestError(422, f"texts[{i}]: not valid Unicode (character {exc.start})") from None
    if req.nbest is not None and req.nbest > limits.max_nbest:
        raise RequestError(422, f"nbest: {req.nbest} analyses, the limit is {limits.max_nbest}")


def _answer(sentences: list[dict], detailed: bool) -> dict[str, Any]:
    """One model's answer for one text from its sentences (:meth:`Tagger.analyse`)."""
    answer: dict[str, Any] = {"entities": [e for s in sentences for e in s["entities"]]}
    if detailed:
        answer["sentences"] = [{k: v for k, v in s.items() if k != "entities"} for s in sentences]
    return answer
