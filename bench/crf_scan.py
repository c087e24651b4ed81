"""CRF alone: the loop over time against the parallel forms (``CRF(scan="sequential" | "parallel")``), with JAX.

    KERAS_BACKEND=jax python bench/crf_scan.py [--shapes 32x24,256x24,256x48] [--tags 17] [--json FILE]

Times, per (batch B, length T) shape and mode, the compiled (``jax.jit``) gradient of the summed CRF
log-likelihood with respect to the emissions (the training cost of the CRF head) and compiled Viterbi
decoding, on random emissions (B, T, K) with lengths drawn from T/2..T; prints the median of --repeats
calls after a warm-up and appends JSON lines to --json. K = 17 is BIOES over CoNLL-2003's 4 types. Runs on
whatever device JAX uses (CPU or GPU).
"""

from __future__ import annotations

from jax_micro import batch_shapes, median_ms, parser, record, require_jax


def main() -> int:
    p = parser(__doc__, "32x24,256x24,256x48", 50, "shape and mode")
    p.add_argument("--tags", type=int, default=17)
    args = p.parse_args()
    require_jax("bench/crf_scan.py", " (TensorFlow always loops over time)")
    import jax
    import numpy as np
    from keras import ops

    from ner.layers import crf as crf_module

    k = args.tags
    rng = np.random.default_rng(0)
    crfs = {mode: crf_module.CRF(num_tags=k, scan=mode) for mode in ("sequential", "parallel")}
    for crf in crfs.values():
        crf.build((None, None, k))
        crf.set_weights(crfs["sequential"].get_weights())   # the same CRF, computed two ways
    device = jax.devices()[0].device_kind
    rows = []
    for b, t in batch_shapes(args.shapes):
        e = jax.device_put(rng.normal(size=(b, t, k)).astype("float32"))   # on the device once, not per call
        tags = rng.integers(0, k, size=(b, t)).astype("int32")
        mask = np.arange(t)[None] < rng.integers(t // 2, t + 1, size=b)[:, None]
        for mode, crf in crfs.items():
            def loss(e, crf=crf, tags=tags, mask=mask):
                return -ops.sum(crf.log_likelihood(e, tags, mask))

            def decode(e, crf=crf, mask=mask):
                return crf.decode(e, mask)

            grad, decode = jax.jit(jax.grad(loss)), jax.jit(decode)
            record({"device": device, "batch": b, "steps": t, "tags": k, "mode": mode,
                    "grad_ms": median_ms(grad, e, args.repeats), "viterbi_ms": median_ms(decode, e, args.repeats)},
                   rows, args.json)
    print("\n| device | B x T | K | mode | log-likelihood gradient ms | Viterbi ms |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['device']} | {r['batch']} x {r['steps']} | {r['tags']} | {r['mode']} | {r['grad_ms']} | "
              f"{r['viterbi_ms']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
