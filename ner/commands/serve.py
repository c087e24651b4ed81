"""``ner serve``: a tagging service over HTTP (FastAPI and uvicorn: the serve extra)."""

from __future__ import annotations

import argparse
import socket

from ner.errors import NerError

HELP = "serve models over HTTP: a page at /, POST /tag, GET /models, GET /health, /docs"
INSTALL = "pip install 'ner[serve]'"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help=HELP,
        description="Serve model bundles over HTTP with the numpy runtime (no Keras in the server). POST /tag "
                    "takes {\"text\": ...} or {\"texts\": [...]}, optionally \"models\", \"tokens\", \"marginals\", "
                    "\"nbest\"; GET /models describes each model, GET /health answers ok, /docs shows the "
                    f"OpenAPI page. Requests arriving close together are decoded together. Needs: {INSTALL}.")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="model bundles, or ner compare output folders (every run's bundle, named by its run)")
    p.add_argument("--data", metavar="CORPUS",
                   help="a corpus with a test split: the page's browse mode lists the test sentences where the "
                        "models disagree most, gold tags beside each model's")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    p.add_argument("--batch-wait-ms", type=float, default=5.0, metavar="MS",
                   help="how long the first request of a batch waits for others to be decoded with it (default: 5)")
    p.add_argument("--max-batch", type=int, default=64, metavar="N",
                   help="a batch is decoded at once when a request brings it to N texts (default: 64; a request "
                        "is never split)")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, metavar="N",
                   help="largest request body; larger gets 413 (default: 1048576)")
    p.add_argument("--max-chars", type=int, default=100_000, metavar="N",
                   help="characters per text; more gets 413 (default: 100000)")
    p.add_argument("--max-texts", type=int, default=256, metavar="N",
                   help="texts per request; more gets 413 (default: 256)")
    p.add_argument("--max-nbest", type=int, default=20, metavar="K",
                   help="largest nbest a request may ask (default: 20)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ner.service.app import Limits, create_app, load_taggers
        from ner.service.browse import Disagreements
    except ImportError as exc:
        raise NerError(f"ner serve needs FastAPI and uvicorn ({exc.name} is missing): {INSTALL}") from None
    for flag in ("port", "max_batch", "max_body_bytes", "max_chars", "max_texts", "max_nbest"):
        if getattr(args, flag) < (0 if flag == "port" else 1) or flag == "port" and args.port > 65535:
            raise NerError(f"--{flag.replace('_', '-')}: out of range ({getattr(args, flag)})")
    if not 0 <= args.batch_wait_ms <= 10_000:
        raise NerError(f"--batch-wait-ms: must be between 0 and 10000, not {args.batch_wait_ms}")
    taggers = load_taggers(args.models)
    try:   # a port in use is one line, not a server log
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as exc:
        raise NerError(f"--host {args.host} --port {args.port}: cannot listen there ({exc.strerror or exc})") from None
    limits = Limits(max_body_bytes=args.max_body_bytes, max_chars=args.max_chars, max_texts=args.max_texts,
                    max_nbest=args.max_nbest, batch_wait_ms=args.batch_wait_ms, max_batch=args.max_batch)
    browse = Disagreements.of(taggers, args.data) if args.data else None
    config = uvicorn.Config(create_app(taggers, limits, browse), host=args.host, port=args.port, log_level="warning")
    _server(uvicorn)(config).run()
    return 0


def _server(uvicorn):
    """uvicorn's Server, except that SIGTERM and SIGINT end it like a finished job: stop accepting, answer what is
    in flight, exit 0 (uvicorn itself re-raises the signal after its graceful shutdown)."""
    import contextlib
    import signal

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            previous = {s: signal.signal(s, self.handle_exit) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for s, handler in previous.items():
                    signal.signal(s, handler)

    return Server
