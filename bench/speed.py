"""Speed benchmark: parameters, training and decoding throughput, peak memory, per encoder x head x backend.

Each configuration runs in its own process (so the backend can change and peak memory is its own):

    python bench/speed.py --data ../shared/data/conll2003 --backends tensorflow,jax [--timed-epochs 3] \
        --encoders rnn,lstm,bilstm,bilstm-cnn,bilstm-conv --heads softmax,crf --json bench/speed.json

What is measured, per configuration, at the default sizes (100-d words, char CNN 30-d x 50 filters of
width 3, 200 units per direction, 10-d casing feature):
  * training: epoch 1 (includes tracing/compilation of every bucket shape), then --timed-epochs steady
    epochs, over the whole training split at --batch-size; sentences/s and tokens/s are from the median
    steady epoch (TensorFlow epochs vary by up to +-20% here); every epoch's seconds are kept in ``epoch_s``;
  * ``compile_s``: seconds spent compiling the training step during all epochs, measured rather than
    inferred, so never negative (``compile_count``: how many compilations; ``compile_s_from``: how).
    JAX: the union of the time spans that JAX reports (``jax.monitoring``) for tracing to a jaxpr, lowering
    and XLA compilation, nested events counted once. TensorFlow: the wall seconds of the training batches
    during which Keras traced the step (Python runs ``train_step`` only while tracing), each timed from its
    start to the next batch's start, so that batch's own step (tens of ms), the graph's first-run
    optimisation and, for the first batch, the input pipeline's start are included. Dev scoring
    (--f1-epochs) is not counted. Rows written before this definition have ``compile_s`` = epoch 1 seconds
    - the median steady epoch, which went negative when a steady TensorFlow epoch was the slow one (those
    rows carry an ``invalid`` note);
  * decoding: Viterbi / argmax tags of the whole test split at --decode-batch-size, run twice, the
    second timed (sentences/s);
  * peak resident memory of the process (ru_maxrss);
  * with --f1-epochs N > 2, dev entity F1 after epoch N (so speed is never bought with accuracy), scored
    outside the timed span, so N can be smaller than the number of epochs run;
  * --malloc default measures with glibc's allocator settings instead of ``ner.backend.allocator.keep_freed_memory``
    (which ``ner train`` applies); rows without a "malloc" field predate it and ran with glibc's defaults;
  * --updates keras measures with keras.optimizers.Adam instead of ``ner.model.optimizers.Adam`` (which ``ner
    train`` uses: one fused kernel per variable on TensorFlow); rows without an "updates" field used Keras';
  * --crf-scan parallel computes the CRF's log Z and Viterbi without a loop over time (model setting
    ``crf_scan``, ``CRF(scan=...)``; JAX only, for GPUs); rows without a "crf_scan" field looped;
  * --lstm-path cudnn runs bilstm-cnn-fused's BiLSTM as one cuDNN call on JAX (model setting ``lstm_path``,
    ``FusedLSTM(implementation=...)``); rows without an "lstm_path" field used the loop;
  * --variant LABEL names a variant of the environment (e.g. XLA_FLAGS set by the caller, recorded too), so
    variants of one configuration are separate rows.
Results are appended as JSON lines to --json (a rerun skips configurations already there) and printed
as a markdown table. Each row records where it came from (``bench/_provenance.py``): ``commit``, ``command``
(this process's command line), ``machine`` and ``versions`` (Python, ner, Keras, numpy, TensorFlow, JAX).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _provenance import provenance


def measure(args) -> dict:
    """Run one configuration in this process; returns its figures."""
    from ner.backend.allocator import keep_freed_memory

    if args.malloc == "tuned":
        keep_freed_memory()
    import keras

    from ner.data.batching import TaggingBatches, batch_layout
    from ner.data.corpus import load_corpus
    from ner.data.prepare import prepare_corpus
    from ner.evaluation import score_split
    from ner.model.network import build_tagger
    from ner.model.predict import predict_tags
    from ner.training.config import TrainConfig
    from ner.training.fit import make_optimizer, set_seed

    cfg = TrainConfig(data=args.data, encoder=args.encoder, crf=args.head == "crf", seed=args.seed,
                      batch_size=args.batch_size, crf_scan=args.crf_scan, lstm_path=args.lstm_path)
    set_seed(cfg.seed)
    data = prepare_corpus(load_corpus(cfg.data), **cfg.data_options())
    splits, data_scheme, vocabs = data.splits, data.data_scheme, data.vocabs
    train_tokens = splits["train"][0]
    model = build_tagger(cfg.model_config(), vocabs)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    optimizer = (make_optimizer(cfg) if args.updates == "fused"
                 else keras.optimizers.Adam(cfg.learning_rate, clipnorm=cfg.clipnorm))
    model.compile(optimizer=optimizer, jit_compile=jit)
    batches = data.batches(batch_layout(model), cfg.batch_size, cfg.seed, cfg.word_dropout)
    epochs = max(1 + args.timed_epochs, args.f1_epochs)
    seconds, f1 = [], {}

    clock = CompileClock(model)

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.resume()
            self.t0 = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):  # a begin hook keeps Keras' batch loop asynchronous
            clock.batch_begin()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t0)
            clock.pause()  # closes the epoch's last batch; dev scoring below is not training
            if epoch + 1 == args.f1_epochs:  # outside the timed span
                scores, _ = score_split(model, vocabs, *splits["dev"], data_scheme, cfg.scheme)
                f1[f"dev_f1_after_{args.f1_epochs}_epochs"] = round(scores["f1"], 4)

    model.fit(batches, epochs=epochs, verbose=0, callbacks=[Timer()])
    clock.close()
    n_sent, n_tok = len(train_tokens), sum(len(t) for t in train_tokens)
    steady = statistics.median(seconds[1:1 + args.timed_epochs])
    test_tokens = splits["test"][0]
    test_batches = TaggingBatches(test_tokens, vocabs, batch_size=args.decode_batch_size, **batch_layout(model))
    predict_tags(model, test_batches)  # warm-up: traces every bucket shape
    t0 = time.perf_counter()
    predict_tags(model, test_batches)
    decode_s = time.perf_counter() - t0
    result = {
        "backend": keras.backend.backend(), "encoder": args.encoder, "head": args.head, "jit_compile": args.jit_compile,
        "parameters": int(model.count_params()), "batch_size": args.batch_size,
        "train_sentences_per_s": round(n_sent / steady, 1), "train_tokens_per_s": round(n_tok / steady, 1),
        "epoch1_s": round(seconds[0], 2), "epoch2_s": round(seconds[1], 2),
        "steady_epoch_s": round(steady, 2), "timed_epochs": args.timed_epochs,
        "epoch_s": [round(s, 2) for s in seconds], **clock.result(),
        "decode_batch_size": args.decode_batch_size,
        "decode_sentences_per_s": round(len(test_tokens) / decode_s, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **accelerator(), **f1, "malloc": args.malloc, "updates": args.updates,
        "crf_scan": args.crf_scan, "lstm_path": args.lstm_path,
    }
    if args.variant:
        result.update(variant=args.variant, xla_flags=os.environ.get("XLA_FLAGS", ""))
    return result


class CompileClock:
    """Seconds spent compiling ``model``'s training step while on (see ``compile_s`` in the module docstring):
    a sum of measured durations, so never negative."""

    SPANS = "/jax/core/compile/"   # JAX's events: jaxpr_trace, jaxpr_to_mlir_module, backend_compile

    def __init__(self, model):
        import keras

        self.backend = keras.backend.backend()
        self.on = False
        self.spans: list[tuple[float, float]] = []   # JAX: (start, end) of each compile event while on
        self.tf_seconds, self.tf_batches = 0.0, 0    # TensorFlow: the batches that traced
        self.batch_start: float | None = None
        self.traced = False
        self.listener = None
        self.compilations = 0                        # JAX: XLA compilations while on
        self.measured = self.backend == "tensorflow"
        if self.backend == "jax":
            from jax import monitoring

            if hasattr(monitoring, "register_event_time_span_listener"):
                self.listener, self.measured = self._span, True
                monitoring.register_event_time_span_listener(self.listener)
        elif self.backend == "tensorflow":
            step = model.train_step   # Keras wraps model.train_step in its tf.function when fit starts

            def traced_step(*a, **k):
                self.traced = True
                return step(*a, **k)

            model.train_step = traced_step

    def _span(self, event, start_time, end_time, **kwargs):
        if self.on and event.startswith(self.SPANS):
            self.spans.append((start_time, end_time))
            self.compilations += event.endswith("backend_compile_duration")

    def resume(self):
        self.on = True

    def batch_begin(self):
        now = time.perf_counter()
        self._close_batch(now)
        self.batch_start = now

    def _close_batch(self, now):
        if self.batch_start is not None and self.traced:
            self.tf_seconds += now - self.batch_start
            self.tf_batches += 1
        self.batch_start, self.traced = None, False

    def pause(self):
        self._close_batch(time.perf_counter())
        self.on = False

    def close(self):
        self.pause()
        if self.listener is not None:
            from jax import monitoring

            monitoring.unregister_event_time_span_listener(self.listener)
            self.listener = None

    def result(self) -> dict:
        """``compile_s``, ``compile_count`` and ``compile_s_from`` (None where the backend offers no measure)."""
        if self.backend == "tensorflow":
            return {"compile_s": round(self.tf_seconds, 2), "compile_count": self.tf_batches,
                    "compile_s_from": "batches that traced train_step"}
        if not self.measured:
            return {"compile_s": None, "compile_count": None, "compile_s_from": "not measured"}
        total, end = 0.0, float("-inf")
        for start, stop in sorted(self.spans):   # union of the spans: nested events count once
            if stop > end:
                total += stop - max(start, end)
                end = stop
        return {"compile_s": round(total, 2), "compile_count": self.compilations,
                "compile_s_from": "jax.monitoring compile spans"}


def accelerator() -> dict:
    """The device that ran the model and, on a GPU with JAX, its peak memory in use (MiB)."""
    import keras

    if keras.backend.backend() != "jax":
        return {"device": "cpu"}
    import jax

    device = jax.devices()[0]
    if device.platform == "cpu":
        return {"device": "cpu"}
    stats = device.memory_stats() or {}
    return {"device": device.device_kind,
            "peak_device_mib": round(stats.get("peak_bytes_in_use", 0) / 2**20, 1) if stats else None}


def table(rows: list[dict]) -> str:
    cols = ["backend", "encoder", "head", "batch_size", "parameters", "train_sentences_per_s",
            "train_tokens_per_s", "compile_s", "decode_sentences_per_s", "peak_rss_mib"]
    cols += [c for c in ("device", "peak_device_mib", "variant", "malloc", "updates", "crf_scan", "lstm_path",
                         "commit") if any(c in r for r in rows)]
    extra = sorted({k for r in rows for k in r if k.startswith("dev_f1")})
    cols += extra
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r.get(c, '')}" if not isinstance(r.get(c), int) or c == "batch_size"
                                       else f"{r[c]:,}" for c in cols) + " |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/conll2003"))
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--encoders", default="rnn,lstm,bilstm,bilstm-cnn,bilstm-conv")
    p.add_argument("--heads", default="softmax,crf")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--decode-batch-size", type=int, default=256)
    p.add_argument("--f1-epochs", type=int, default=0, help="also report dev F1 after this many epochs (> 2)")
    p.add_argument("--timed-epochs", type=int, default=1,
                   help="steady-state epochs after the first; speed is from their median (default 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto",
                   help="Keras compile(jit_compile=...): XLA on TF (auto = off on a CPU-only machine)")
    p.add_argument("--malloc", choices=("tuned", "default"), default="tuned",
                   help="tuned: ner.backend.allocator.keep_freed_memory() as `ner train` does; "
                        "default: glibc's settings")
    p.add_argument("--updates", choices=("fused", "keras"), default="fused",
                   help="fused: ner.model.optimizers as `ner train` uses (one kernel per variable on TensorFlow); "
                        "keras: keras.optimizers.Adam")
    p.add_argument("--crf-scan", choices=("sequential", "parallel"), default="sequential",
                   help="CRF log Z and Viterbi: loop over time, or parallel tree / scan products (JAX only)")
    p.add_argument("--lstm-path", choices=("loop", "cudnn"), default="loop",
                   help="bilstm-cnn-fused's BiLSTM: keras.ops loop, or one cuDNN call (JAX)")
    p.add_argument("--variant", default="",
                   help="label of this run's environment variant (recorded; part of the row key)")
    p.add_argument("--json", default="bench/speed.jsonl", help="JSON lines file (appended; reruns skip done rows)")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode: one configuration
    p.add_argument("--encoder", help=argparse.SUPPRESS)
    p.add_argument("--head", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure(args)), flush=True)
        return 0
    out = Path(args.json)
    done = [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []
    key = lambda r: (r["backend"], r["encoder"], r["head"], r["batch_size"], r.get("f1_epochs", 0),  # noqa: E731
                     r.get("jit_compile", "auto"), r.get("timed_epochs", 1), r.get("variant", ""),
                     r.get("malloc", "default"), r.get("updates", "keras"), r.get("crf_scan", "sequential"),
                     r.get("lstm_path", "loop"))
    seen = {key(r) for r in done}
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}", file=sys.stderr)
    for backend in args.backends.split(","):
        for encoder in args.encoders.split(","):
            for head in args.heads.split(","):
                k = (backend, encoder, head, args.batch_size, args.f1_epochs, args.jit_compile, args.timed_epochs,
                     args.variant, args.malloc, args.updates, args.crf_scan, args.lstm_path)
                if k in seen:
                    continue
                cmd = [sys.executable, __file__, "--one", "--data", args.data, "--encoder", encoder, "--head", head,
                       "--batch-size", str(args.batch_size), "--decode-batch-size", str(args.decode_batch_size),
                       "--f1-epochs", str(args.f1_epochs), "--seed", str(args.seed),
                       "--timed-epochs", str(args.timed_epochs),
                       "--jit-compile", args.jit_compile, "--variant", args.variant, "--malloc", args.malloc,
                       "--updates", args.updates, "--crf-scan", args.crf_scan,
                       "--lstm-path", args.lstm_path]
                print(f"# {backend} {encoder} {head} ...", file=sys.stderr, flush=True)
                proc = subprocess.run(cmd, env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True,
                                      text=True)
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                row = {**json.loads(proc.stdout.strip().splitlines()[-1]), "f1_epochs": args.f1_epochs,
                       **provenance()}
                done.append(row)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
