"""ner.model.optimizers: the same updates as Keras' Adam and SGD, fused into one kernel per variable on TensorFlow."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from ner.model import optimizers

CASES = [
    ("adam", dict(learning_rate=0.01)),
    ("adam", dict(learning_rate=0.01, clipnorm=0.5)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True, clipnorm=0.5)),
    ("sgd", dict(learning_rate=0.05)),
]


def _train(optimizer, jit_compile) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights before and after six steps of a word embedding (sparse gradient on TensorFlow) + dense layer.

    No word repeats within a batch: there Keras' own TensorFlow Adam squares each occurrence's gradient
    before summing them (see test_adam_with_repeated_words).
    """
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(30, 4),
                              keras.layers.Dense(3)])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    initial = [np.asarray(keras.ops.convert_to_numpy(w)) for w in model.weights]
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.permutation(30)[:20].reshape(4, 5) for _ in range(6)])
    y = rng.integers(0, 3, size=(24, 5))
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return initial, [np.asarray(keras.ops.convert_to_numpy(w)) for w in model.weights]


@pytest.mark.parametrize("jit_compile", [False, pytest.param(True, marks=pytest.mark.slow)])   # XLA compiles: slow
@pytest.mark.parametrize("name,settings", CASES)
def test_same_weights_as_keras(name, settings, jit_compile, monkeypatch):
    keras_class, ner_class = {"adam": (keras.optimizers.Adam, optimizers.Adam),
                              "sgd": (keras.optimizers.SGD, optimizers.SGD)}[name]
    calls = []
    if keras.backend.backend() == "tensorflow":
        from ner.backend import tf_kernels

        for kernel in ("apply_adam", "apply_momentum"):
            original = getattr(tf_kernels, kernel)
            monkeypatch.setattr(tf_kernels, kernel, lambda *a, _f=original, **k: calls.append(1) or _f(*a, **k))
    initial, expected = _train(keras_class(**settings), jit_compile)
    _, got = _train(ner_class(**settings), jit_compile)
    for before, e, g in zip(initial, expected, got):
        assert np.abs(e - before).max() > 1e-5        # the weights moved
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    has_kernel = name == "adam" or bool(settings.get("momentum"))     # plain SGD keeps Keras' update
    fused = keras.backend.backend() == "tensorflow" and not jit_compile and has_kernel
    assert bool(calls) == fused    # the fused kernel ran exactly where it should


@pytest.mark.slow
def test_saved_optimizer_loads_in_a_fresh_process(tmp_path):
    """A model compiled with ner's Adam, saved, loads through ner.bundle.load_model with nothing else imported."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(0.01, clipnorm=5.0), loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    model.save(tmp_path / "model.keras")
    probe = ("import sys; from ner.bundle import load_model; m = load_model(sys.argv[1]); "
             "print(type(m.optimizer).__module__, type(m.optimizer).__name__, m.optimizer.get_config()['clipnorm'])")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ner.model.optimizers", "Adam", "5.0"]


def test_adam_with_repeated_words():
    """A word twice in a batch: its gradient is the sum of both occurrences, then Adam (numpy oracle)."""
    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(6, 2)
    embedding.build((None,))
    table = np.asarray(keras.ops.convert_to_numpy(embedding.embeddings), dtype=np.float64)
    optimizer = optimizers.Adam(0.1)
    optimizer.build([embedding.embeddings])
    m, v = np.zeros_like(table), np.zeros_like(table)
    batches = ([0, 1], [1, 2], [3, 3], [3, 0, 3])
    for step, ids in enumerate(batches, start=1):
        grads = _embedding_gradient(embedding, np.array(ids))
        optimizer.apply(grads, [embedding.embeddings])
        dense = np.zeros_like(table)
        np.add.at(dense, ids, 2 * table[ids])                  # d/dE of sum(E[ids] ** 2)
        m, v = 0.9 * m + 0.1 * dense, 0.999 * v + 0.001 * dense ** 2
        table -= 0.1 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(embedding.embeddings), table, rtol=1e-5, atol=1e-6)


def _embedding_gradient(embedding, ids):
    """Gradient of sum(embedding(ids) ** 2) w.r.t. the table, as the backend computes it (sparse on TF)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(embedding(ids) ** 2)
        return tape.gradient(loss, [embedding.embeddings.value])
    if keras.backend.backend() == "jax":
        import jax

        table = embedding.embeddings.value
        return [jax.grad(lambda t: (t[ids] ** 2).sum())(table)]
    import torch

    table = embedding.embeddings.value.detach().requires_grad_()
    (table[torch.as_tensor(ids)] ** 2).sum().backward()
    return [table.grad]
