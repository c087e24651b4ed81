"""FusedAdam against Adam written out in numpy, and against keras.optimizers.Adam on dense gradients."""

import keras
import numpy as np
import pytest

from ner.optimizers import FusedAdam

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fused kernel is TensorFlow's")

LR, B1, B2, EPS = 0.05, 0.9, 0.999, 1e-7


def _numpy_adam(var, grads):
    """Textbook Adam (Kingma & Ba, epsilon outside the bias correction as in Keras) over dense gradients."""
    m, v = np.zeros_like(var), np.zeros_like(var)
    for t, g in enumerate(grads, start=1):
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * g * g
        var = var - LR * np.sqrt(1 - B2 ** t) / (1 - B1 ** t) * m / (np.sqrt(v) + EPS)
    return var


def _apply(optimizer, grads, dense_shape=None):
    """Run ``optimizer`` inside a tf.function over (values, indices) gradients; IndexedSlices if indices."""
    import tensorflow as tf

    var = keras.Variable(np.ones(dense_shape, np.float32))
    optimizer.build([var])

    @tf.function
    def step(values, indices):
        grad = values if indices is None else tf.IndexedSlices(values, indices, tf.constant(dense_shape))
        optimizer.apply([grad], [var])

    for values, indices in grads:
        step(tf.constant(values, tf.float32), None if indices is None else tf.constant(indices))
    return np.asarray(var)


def test_fused_adam_is_textbook_adam_with_repeated_sparse_rows():
    """Embedding gradients repeat rows (a word twice in a batch): the rows are summed, then squared."""
    rng = np.random.default_rng(0)
    indices = [np.array([0, 0, 2]), np.array([2, 1, 2]), np.array([3, 0, 0])]
    grads = [(rng.normal(size=(3, 2)), i) for i in indices]
    dense = []
    for values, i in grads:
        g = np.zeros((4, 2))
        np.add.at(g, i, values)
        dense.append(g)
    expected = _numpy_adam(np.ones((4, 2)), dense)
    np.testing.assert_allclose(_apply(FusedAdam(LR), grads, (4, 2)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_apply(FusedAdam(LR), [(g, None) for g in dense], (4, 2)), expected,
                               rtol=1e-5, atol=1e-6)


def test_fused_adam_matches_keras_adam_on_dense_gradients():
    rng = np.random.default_rng(1)
    grads = [(rng.normal(size=(5, 3)), None) for _ in range(4)]
    np.testing.assert_allclose(_apply(FusedAdam(LR), grads, (5, 3)),
                               _apply(keras.optimizers.Adam(LR), grads, (5, 3)), rtol=1e-5, atol=1e-6)


def test_fused_adam_serializes():
    opt = FusedAdam(0.01, clipnorm=5.0)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is FusedAdam and again.get_config() == opt.get_config()
