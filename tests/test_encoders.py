"""Every registered encoder x both heads: builds, learns, predicts unpadded lengths, saves and loads.

Tiny sizes keep the file fast; it runs on TensorFlow and again with KERAS_BACKEND=jax.
"""

import keras
import numpy as np
import pytest

from ner.data.batching import TaggingBatches
from ner.errors import NerError
from ner.layers.char_cnn import CharCNN
from ner.layers.encoders import (
    _REGISTRY,
    EncoderSpec,
    MaskedConv1D,
    SequenceStack,
    get_encoder,
    list_encoders,
    register_encoder,
)
from ner.layers.lstm import FusedLSTM
from ner.model.network import build_tagger
from ner.model.predict import predict_tags

from helpers import TINY_MODEL, grads, slow_except, tiny_corpus


@pytest.fixture(scope="module")
def corpus():
    return tiny_corpus()


# the fast loop trains the default architecture and the cheapest one; the rest are slow
@pytest.mark.parametrize("encoder, head", slow_except({("bilstm-cnn", "crf"), ("cnn", "softmax")},
                                                     [(e, h) for e in list_encoders() for h in ("softmax", "crf")]))
def test_encoder_learns_predicts_saves_and_loads(encoder, head, corpus, tmp_path):
    tokens, tags, vocabs = corpus
    keras.utils.set_random_seed(0)
    model = build_tagger({**TINY_MODEL, "encoder": encoder, "head": head}, vocabs)
    assert (model.char_cnn is not None) == get_encoder(encoder).char_cnn
    assert (model.crf is not None) == (head == "crf")
    model.compile(optimizer=keras.optimizers.SGD(0.1))   # Adam's update doubles TensorFlow's tracing time
    x, y = TaggingBatches(tokens, vocabs, tags, batch_size=len(tokens))[0]
    losses = [float(model.train_on_batch(x, y)) for _ in range(6)]
    assert losses[-1] < losses[0]

    batches = TaggingBatches(tokens, vocabs, batch_size=len(tokens))   # one shape: one compilation
    predicted = predict_tags(model, batches)
    assert [len(p) for p in predicted] == [len(s) for s in tokens]
    assert all(p.dtype == np.int32 and p.min() >= 0 and p.max() < len(vocabs.labels) for p in predicted)

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert all(np.array_equal(a, b) for a, b in zip(predicted, predict_tags(loaded, batches)))


@pytest.mark.parametrize("encoder", slow_except({"bilstm-cnn", "cnn"}, list_encoders()))
def test_padding_does_not_change_real_positions(encoder, corpus):
    tokens, _, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": encoder, "head": "softmax", "char_cnn": True}, vocabs)
    x = TaggingBatches(tokens, vocabs, batch_size=len(tokens))[0]
    padded = {k: np.concatenate([v, np.zeros_like(v)], axis=1) for k, v in x.items()}
    t = x["words"].shape[1]
    real = (x["words"] != 0)[..., None]
    short = np.asarray(model.emissions(x))
    long = np.asarray(model.emissions(padded))[:, :t]
    np.testing.assert_allclose(short * real, long * real, atol=1e-6)


def test_unknown_encoder_lists_known_ones():
    with pytest.raises(NerError, match="unknown encoder 'transformer'") as info:
        get_encoder("transformer")
    for name in ("rnn", "lstm", "bilstm", "bilstm-cnn", "bilstm-conv"):
        assert name in str(info.value)


def test_registry_contents_and_descriptions():
    encoders = list_encoders()
    for name in ("rnn", "lstm", "bilstm", "bilstm-cnn", "bilstm-conv", "gru", "bigru", "birnn", "cnn"):
        assert encoders[name]
    assert get_encoder("bilstm-cnn").char_cnn and not get_encoder("bilstm").char_cnn


def test_register_new_encoder():
    @register_encoder("test-dense", help="a position-wise Dense layer (test only)")
    def dense(hidden, layers, dropout):
        return SequenceStack([keras.layers.Dense(hidden) for _ in range(layers)], dropout)
    try:
        assert list_encoders()["test-dense"].startswith("a position-wise")
        assert isinstance(get_encoder("test-dense"), EncoderSpec)
        with pytest.raises(ValueError, match="already registered"):
            register_encoder("test-dense")(dense)
        layer = get_encoder("test-dense").build(5, 2, 0.0)
        out = layer(np.ones((2, 3, 4), "float32"), mask=np.ones((2, 3), bool))
        assert tuple(out.shape) == (2, 3, 5)
    finally:
        _REGISTRY.pop("test-dense")


def test_output_widths():
    x, mask = keras.KerasTensor((2, 5, 16)), keras.KerasTensor((2, 5), "bool")   # symbolic: shapes only
    widths = {"rnn": 8, "lstm": 8, "gru": 8, "birnn": 16, "bilstm": 16, "bigru": 16, "bilstm-cnn": 16,
              "bilstm-conv": 16, "cnn": 16, "bilstm-cnn-fused": 16}
    for name, width in widths.items():
        assert tuple(get_encoder(name).build(8, 2, 0.1)(x, mask=mask).shape) == (2, 5, width), name


def test_sequence_stack_round_trips_its_config():
    stack = SequenceStack([keras.layers.LSTM(3, return_sequences=True), MaskedConv1D(4, 3, padding="same")],
                          dropout=0.25)
    again = SequenceStack.from_config(stack.get_config())
    assert again.dropout == 0.25 and [type(layer) for layer in again.stack] == [keras.layers.LSTM, MaskedConv1D]


def test_masked_conv_ignores_padding():
    conv = MaskedConv1D(3, 3, padding="same")
    x = np.random.default_rng(1).normal(size=(1, 6, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0]], bool)
    noisy = x.copy()
    noisy[:, 4:] = 100.0
    np.testing.assert_allclose(np.asarray(conv(x, mask=mask))[:, :4], np.asarray(conv(noisy, mask=mask))[:, :4],
                               atol=1e-6)


def _char_cnn_per_word(layer, words):
    """Oracle: each word's characters (ids) convolved on their own with zeros past its edges, tanh, max."""
    emb, kernel, bias = (np.asarray(w) for w in (layer.embedding.embeddings, layer.conv.kernel, layer.conv.bias))
    k = kernel.shape[0]
    out = []
    for ids in words:
        x = np.concatenate([np.zeros(((k - 1) // 2, emb.shape[1])), emb[ids], np.zeros((k // 2, emb.shape[1]))])
        conv = [sum(x[i + j] @ kernel[j] for j in range(k)) + bias for i in range(len(ids))]
        out.append(np.tanh(np.array(conv)).max(axis=0))
    return np.array(out)


@pytest.mark.parametrize("kernel", [3, 4, 5])
def test_char_cnn_on_packed_rows_equals_each_word_on_its_own(kernel):
    from ner.data.arrays import EncodedSentence, char_gap, packed_length, pad_inputs

    rng = np.random.default_rng(kernel)
    layer = CharCNN(20, char_dim=5, filters=4, kernel=kernel)
    sentences = [[rng.integers(1, 20, size=rng.integers(1, 9)) for _ in range(n)] for n in (3, 1, 5)]
    encoded = [EncodedSentence(np.ones(len(s), np.int32), np.ones(len(s), np.int32), np.concatenate(s),
                               np.array([len(w) for w in s]), np.arange(len(s))) for s in sentences]
    gap = char_gap(kernel)
    length = max(packed_length(e, gap) for e in encoded)
    inputs = pad_inputs(encoded, 6, length + 3, gap)                     # padded words and characters too
    out = np.asarray(layer(inputs["chars"], inputs["words"] != 0))
    assert out.shape == (3, 6, 4)
    for row, words in enumerate(sentences):
        np.testing.assert_allclose(out[row, :len(words)], _char_cnn_per_word(layer, words), atol=1e-5)
        np.testing.assert_array_equal(out[row, len(words):], 0.0)
    config = layer.get_config()
    assert (config["char_dim"], config["filters"], config["kernel"]) == (5, 4, kernel)


@pytest.fixture(params=["loop", "cudnn"])
def fused_path(request):
    """A test's ``FusedLSTM(implementation=...)``: the keras.ops loop, then (JAX) the cuDNN call (JAX's
    reference of it on a CPU: the weight packing and the per-row lengths are what is tested here)."""
    if request.param == "cudnn" and keras.backend.backend() != "jax":
        pytest.skip("the cuDNN path is JAX's")
    return request.param


def test_fused_lstm_matches_keras_lstm(fused_path):
    """FusedLSTM with a Keras BiLSTM's weights: same outputs at real positions and same gradients with
    respect to the inputs and every weight, eagerly and compiled (jax.jit / XLA on TensorFlow)."""
    b, t, d, h = 5, 7, 6, 4
    rng = np.random.default_rng(0)
    x = (2 * rng.normal(size=(b, t, d))).astype("float32")
    mask = np.arange(t)[None] < np.array([7, 3, 1, 5, 7])[:, None]
    ref = keras.layers.Bidirectional(keras.layers.LSTM(h, return_sequences=True))
    ref.build((None, None, d))
    cells = [ref.forward_layer.cell, ref.backward_layer.cell]
    for cell in cells:   # random biases: the forget-gate 1 and zeros would hide a gate-order mix-up
        cell.bias.assign(rng.normal(size=4 * h).astype("float32"))
    fused = FusedLSTM(h, implementation=fused_path)
    fused.build((None, None, d))
    fused_weights = [fused.kernel, fused.recurrent_kernel, fused.bias]
    cell_weights = [[c.kernel, c.recurrent_kernel, c.bias] for c in cells]
    for w, per_cell in zip(fused_weights, zip(*cell_weights)):
        w.assign(np.stack([keras.ops.convert_to_numpy(v) for v in per_cell]))
    keep = mask[..., None].astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fused(x, mask=mask)),
                               keras.ops.convert_to_numpy(ref(x, mask=mask)) * keep, atol=1e-5)

    def loss(layer, variables):
        def f(x, *values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return keras.ops.sum(keras.ops.sin(layer(x, mask=mask)) * keep)
        return f

    flat = [v for vs in cell_weights for v in vs]
    # JAX's eager gradient is the compiled one op by op; TensorFlow's eager and XLA paths differ
    for compiled in (False, True) if keras.backend.backend() == "tensorflow" else (True,):
        want = grads(loss(ref, flat), x, *[keras.ops.convert_to_numpy(v) for v in flat], compiled=compiled)
        got = grads(loss(fused, fused_weights), x, *[keras.ops.convert_to_numpy(v) for v in fused_weights],
                    compiled=compiled)
        np.testing.assert_allclose(got[0], want[0], atol=1e-5)
        for i, g in enumerate(got[1:]):   # kernel, recurrent kernel, bias: one slice per direction
            np.testing.assert_allclose(g, np.stack(want[1 + i::3]), atol=1e-5)


def test_fused_lstm_initialises_like_keras():
    """Same seed, same initial weights as the Keras layer it replaces (so bilstm-cnn-fused trains like
    bilstm-cnn)."""
    keras.utils.set_random_seed(4)
    ref = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    ref.build((None, None, 3))
    keras.utils.set_random_seed(4)
    layer = FusedLSTM(4)
    layer.build((None, None, 3))
    cells = [ref.forward_layer.cell, ref.backward_layer.cell]
    for got, name in zip((layer.kernel, layer.recurrent_kernel, layer.bias), ("kernel", "recurrent_kernel", "bias")):
        want = np.stack([keras.ops.convert_to_numpy(getattr(c, name)) for c in cells])
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), want, err_msg=name)
    assert FusedLSTM.from_config(layer.get_config()).get_config() == layer.get_config()
