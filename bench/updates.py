"""Optimizer update cost per training step: Keras' Adam / SGD against ``ner.model.optimizers`` (fused on TensorFlow).

    python bench/updates.py --data ../shared/data/conll2003 [--encoder bilstm-cnn] [--repeats 300]

Builds the tagger that ``ner train`` would build for the corpus (so the variables have their real shapes:
the word embedding holds the training vocabulary) and times ``optimizer.apply(gradients, variables)`` in
a compiled ``tf.function`` / ``jax.jit`` step, with fixed random gradients shaped like one batch's: dense
for every variable except the word and char embeddings, which on TensorFlow get sparse gradients
(``tf.IndexedSlices``) over the ids of a real training batch, as in training. Prints the median of
--repeats steps after a warm-up, per optimizer, and appends JSON lines to --json, each with its commit,
command line, machine and library versions (``bench/_provenance.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from _provenance import line, provenance


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/conll2003"))
    p.add_argument("--encoder", default="bilstm-cnn")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=300)
    p.add_argument("--json", default="", help="append one JSON line per optimizer to this file")
    args = p.parse_args()

    from ner.backend.allocator import keep_freed_memory

    keep_freed_memory()
    import keras
    import numpy as np

    from ner.data.batching import TaggingBatches, batch_layout
    from ner.data.corpus import load_corpus
    from ner.data.prepare import prepare_corpus
    from ner.model import optimizers
    from ner.model.network import build_tagger
    from ner.training.config import TrainConfig

    cfg = TrainConfig(data=args.data, encoder=args.encoder, batch_size=args.batch_size)
    data = prepare_corpus(load_corpus(cfg.data), **cfg.data_options())
    tokens, tags, vocabs = data.splits["train"][0], data.train_tags, data.vocabs
    batches = TaggingBatches(tokens, vocabs, tags, batch_size=args.batch_size,
                             **batch_layout(build_tagger(cfg.model_config(), vocabs)))
    batch = batches[len(batches) // 2][0]   # sorted by length: a batch of median-length sentences
    backend = keras.backend.backend()
    rows = []
    for name, make in [("keras.optimizers.Adam", keras.optimizers.Adam), ("ner.model.optimizers.Adam", optimizers.Adam),
                       ("keras.optimizers.SGD", lambda lr, **k: keras.optimizers.SGD(lr, momentum=0.9, **k)),
                       ("ner.model.optimizers.SGD", lambda lr, **k: optimizers.SGD(lr, momentum=0.9, **k))]:
        keras.utils.set_random_seed(0)
        model = build_tagger(cfg.model_config(), vocabs)
        optimizer = make(1e-3, clipnorm=cfg.clipnorm)
        variables = model.trainable_variables
        optimizer.build(variables)
        rng = np.random.default_rng(0)
        sparse_ids = {id(model.word_embedding.embeddings): np.unique(batch["words"])}
        if model.char_cnn:
            sparse_ids[id(model.char_cnn.embedding.embeddings)] = np.unique(batch["chars"])
        grads = [_random_gradient(rng, v, sparse_ids.get(id(v))) for v in variables]
        step = _compiled_step(backend, optimizer, variables, grads)
        for _ in range(20):
            step()
        seconds = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - t0)
        row = {"backend": backend, "encoder": args.encoder, "optimizer": name,
               "parameters": int(sum(np.prod(v.shape) for v in variables)),
               "ms_per_step": round(1e3 * statistics.median(seconds), 3), "repeats": args.repeats, **provenance()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    print("\n" + line(backend) + "\n\n| backend | optimizer | parameters | ms per update (median) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['optimizer']} | {r['parameters']:,} | {r['ms_per_step']} |")
    return 0


def _random_gradient(rng, variable, ids):
    """Small random gradient for ``variable``: dense, or ``(ids, rows)`` for the rows ``ids`` only."""
    if ids is None:
        return rng.normal(size=variable.shape).astype("float32") * 1e-3
    return ids, rng.normal(size=(len(ids), *variable.shape[1:])).astype("float32") * 1e-3


def _compiled_step(backend, optimizer, variables, grads):
    """A no-argument function applying ``grads`` once (compiled), returning when the update is done."""
    if backend == "tensorflow":
        import tensorflow as tf

        def tensor(g, v):
            if isinstance(g, tuple):
                return tf.IndexedSlices(tf.constant(g[1]), tf.constant(g[0], tf.int64), tf.constant(v.shape, tf.int64))
            return tf.constant(g)

        tensors = [tensor(g, v) for g, v in zip(grads, variables)]
        apply = tf.function(lambda: optimizer.apply(tensors, variables))
        return lambda: (apply(), variables[0].numpy())
    import jax
    import jax.numpy as jnp

    def dense(g, v):
        if isinstance(g, tuple):
            return jnp.zeros(v.shape, "float32").at[g[0]].set(g[1])
        return jnp.asarray(g)

    tensors = [dense(g, v) for g, v in zip(grads, variables)]
    opt_vars = [v.value for v in optimizer.variables]
    train_vars = [v.value for v in variables]
    apply = jax.jit(optimizer.stateless_apply, donate_argnums=(0, 2))
    state = {"opt": opt_vars, "train": train_vars}

    def run():
        state["train"], state["opt"] = apply(state["opt"], tensors, state["train"])
        jax.block_until_ready(state["train"])

    return run


if __name__ == "__main__":
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", "")
    raise SystemExit(main())
