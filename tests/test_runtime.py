"""The numpy runtime (ner/inference/runtime.py) against the Keras model it was exported from: every registered encoder
x both heads, one and two layers; emissions, Viterbi paths and forward-backward must agree."""

import keras
import numpy as np
import pytest

from ner.data.batching import TaggingBatches
from ner.inference.runtime import NumpyModel
from ner.layers.encoders import list_encoders
from ner.model.arrays import export_arrays
from ner.model.network import build_tagger

from helpers import TINY_MODEL, slow_except, tiny_corpus


@pytest.fixture(scope="module")
def corpus():
    return tiny_corpus()


def inputs_and_lengths(tokens, vocabs, char_gap=1):
    x = TaggingBatches(tokens, vocabs, batch_size=len(tokens), char_gap=char_gap)[0]
    return x, (np.asarray(x["words"]) != 0).sum(axis=1)


# fast loop: two BiLSTM layers + CRF, the char CNN, the convolutions; the rest are slow
@pytest.mark.parametrize("encoder, head", slow_except([("bilstm", "crf"), ("bilstm-cnn", "softmax"), ("cnn", "crf")],
                                                     [(e, h) for e in list_encoders() for h in ("softmax", "crf")]))
def test_numpy_model_matches_keras(encoder, head, corpus):
    tokens, _, vocabs = corpus
    keras.utils.set_random_seed(1)
    model = build_tagger({**TINY_MODEL, "encoder": encoder, "head": head, "layers": 2 if encoder == "bilstm" else 1},
                         vocabs)
    runtime = NumpyModel(export_arrays(model))
    x, lengths = inputs_and_lengths(tokens, vocabs)
    live = np.arange(x["words"].shape[1])[None] < lengths[:, None]
    expected = np.asarray(model.emissions(x), dtype=np.float64)
    got = runtime.emissions(x)
    np.testing.assert_allclose(got[live], expected[live], atol=1e-5)
    np.testing.assert_array_equal(runtime.decode(got, lengths), np.asarray(model.decode(x)))
    if head == "crf":
        alpha, beta, log_z = (np.asarray(a, dtype=np.float64) for a in model.crf.forward_backward(expected, live))
        a2, b2, z2 = runtime.forward_backward(expected, lengths)
        np.testing.assert_allclose(a2[live], alpha[live], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(b2[live], beta[live], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(z2, log_z, rtol=1e-5)


def test_wider_char_kernel_with_its_wider_gaps(corpus):
    """Width 5 needs 2 zeros between packed words: the runtime's char gap follows the exported kernel."""
    tokens, _, vocabs = corpus
    keras.utils.set_random_seed(3)
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn", "char_kernel": 5}, vocabs)
    runtime = NumpyModel(export_arrays(model))
    assert model.char_gap == runtime.char_gap == 2
    x, lengths = inputs_and_lengths(tokens, vocabs, char_gap=2)
    live = np.arange(x["words"].shape[1])[None] < lengths[:, None]
    np.testing.assert_allclose(runtime.emissions(x)[live], np.asarray(model.emissions(x))[live], atol=1e-5)


def test_constraints_and_padding_do_not_leak(corpus):
    """Scores of a sentence do not depend on the other sentences of its batch (padding)."""
    tokens, _, vocabs = corpus
    keras.utils.set_random_seed(2)
    runtime = NumpyModel(export_arrays(build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn", "head": "crf"}, vocabs)))
    x, lengths = inputs_and_lengths(tokens, vocabs)
    alone, n = inputs_and_lengths(tokens[4:5], vocabs)
    row = [i for i, s in enumerate(TaggingBatches(tokens, vocabs, batch_size=len(tokens)).batch_indices(0))
           if s == 4][0]
    np.testing.assert_allclose(runtime.emissions(alone)[0, :n[0]], runtime.emissions(x)[row, :n[0]], atol=1e-9)


def test_layers_it_does_not_implement_give_no_export(corpus):
    """A bundle of such a model gets no weights.npz, so the Tagger falls back to Keras."""
    _, _, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "bigru", "head": "crf"}, vocabs)
    assert export_arrays(model) is not None
    model.encoder.stack[0].forward_layer.cell.reset_after = False
    assert export_arrays(model) is None
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm", "head": "softmax"}, vocabs)
    model.encoder.stack[0].merge_mode = "sum"
    assert export_arrays(model) is None
