"""BiLSTM alone: Keras' ``Bidirectional(LSTM)`` against ``FusedLSTM`` (loop, and cuDNN), with JAX.

    KERAS_BACKEND=jax python bench/lstm_paths.py [--shapes 32x24,256x24] [--json FILE]

Per (batch B, length T) shape, at the default sizes (160 input features = 100 word + 10 casing + 50 char,
200 units per direction), on random inputs with lengths drawn from T/2..T: the compiled forward pass and
the compiled gradient of a loss over the outputs, median of --repeats calls after a warm-up, and the
largest difference of each path's outputs and input gradients from Keras' (every path starts from the
same weights). On a CPU the cuDNN path runs JAX's reference of the cuDNN call. Appends JSON lines to --json.
"""

from __future__ import annotations

from jax_micro import batch_shapes, median_ms, parser, record, require_jax


def main() -> int:
    p = parser(__doc__, "32x24,256x24", 30, "shape and path")
    p.add_argument("--features", type=int, default=160)
    p.add_argument("--units", type=int, default=200)
    args = p.parse_args()
    require_jax("bench/lstm_paths.py")
    import jax
    import keras
    import numpy as np

    from ner.layers import lstm as lstm_module

    keras.utils.set_random_seed(0)
    reference = keras.layers.Bidirectional(keras.layers.LSTM(args.units, return_sequences=True))
    reference.build((None, None, args.features))
    cells = [reference.forward_layer.cell, reference.backward_layer.cell]
    fused = {}
    for path in ("loop", "cudnn"):   # FusedLSTM(implementation=...), both with Keras' weights
        fused[path] = layer = lstm_module.FusedLSTM(args.units, implementation=path)
        layer.build((None, None, args.features))
        for weight, name in ((layer.kernel, "kernel"), (layer.recurrent_kernel, "recurrent_kernel"),
                             (layer.bias, "bias")):
            weight.assign(np.stack([keras.ops.convert_to_numpy(getattr(c, name)) for c in cells]))
    rng = np.random.default_rng(0)
    device = jax.devices()[0].device_kind
    rows = []
    for b, t in batch_shapes(args.shapes):
        x = jax.device_put(rng.normal(size=(b, t, args.features)).astype("float32"))
        mask = jax.device_put(np.arange(t)[None] < rng.integers(t // 2, t + 1, size=b)[:, None])
        results = {}
        for name, layer in (("keras", reference), ("fused-loop", fused["loop"]), ("fused-cudnn", fused["cudnn"])):
            def forward(x, layer=layer, mask=mask):
                return layer(x, mask=mask) * mask[..., None]

            forward_jit = jax.jit(forward)
            grad_jit = jax.jit(jax.grad(lambda x, f=forward: (f(x) ** 2).sum()))
            row = {"device": device, "batch": b, "steps": t, "path": name}
            try:   # a GPU whose JAX lacks the cuDNN RNN kernels fails here: record it, go on
                results[name] = (np.asarray(forward_jit(x)), np.asarray(grad_jit(x)))
                row.update(forward_ms=median_ms(forward_jit, x, args.repeats),
                           grad_ms=median_ms(grad_jit, x, args.repeats),
                           max_output_diff=float(np.abs(results[name][0] - results["keras"][0]).max()),
                           max_grad_diff=float(np.abs(results[name][1] - results["keras"][1]).max()))
            except Exception as e:  # noqa: BLE001 -- any failure of one path is a result to report
                row["error"] = f"{type(e).__name__}: {e}"[:300]
            record(row, rows, args.json)
    print("\n| device | B x T | path | forward ms | gradient ms | max output diff | max input-gradient diff |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        figures = (f"{r['forward_ms']} | {r['grad_ms']} | {r['max_output_diff']:.1e} | {r['max_grad_diff']:.1e}"
                   if "error" not in r else f"{r['error']} | | |")
        print(f"| {r['device']} | {r['batch']} x {r['steps']} | {r['path']} | {figures} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
