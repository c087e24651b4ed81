"""SequenceTagger: config, losses and masking, fit on TaggingBatches (also under XLA), prediction order,
probabilities, long sentences, saving and loading across backends. Runs on TensorFlow and on JAX."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from ner.data.batching import TaggingBatches
from ner.errors import NerError
from ner.model.network import DEFAULTS, SequenceTagger, build_tagger
from ner.model.predict import predict_tags

from helpers import ROOT, TESTS, TINY_MODEL, slow_except, tiny_corpus

BACKEND = keras.backend.backend()
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"


@pytest.fixture(scope="module")
def corpus():
    return tiny_corpus()


def first_batch(tokens, vocabs, tags=None):
    return TaggingBatches(tokens, vocabs, tags, batch_size=len(tokens))[0]


@pytest.mark.parametrize("bad, message", [
    ({"encoder": "nope"}, "unknown encoder 'nope'"),
    ({"head": "mlp"}, "unknown head 'mlp'"),
    ({"hiden": 3}, "unknown model setting"),
    ({"hidden": 0}, "hidden: must be a positive integer"),
    ({"dropout": 1.0}, r"dropout: must be in \[0, 1\)"),
    ({"casing_dim": -1}, "casing_dim"),
    ({"char_cnn": "yes"}, "char_cnn"),
])
def test_bad_config_is_a_user_error(bad, message, corpus):
    with pytest.raises(NerError, match=message):
        build_tagger(bad, corpus[2])


def test_parameter_count_matches_the_architecture():
    """Default sizes, bilstm-cnn + CRF, 20k words, 100 chars, 17 labels, counted by hand."""
    labels = ["O"] + [f"{p}-{t}" for t in ("PER", "LOC", "ORG", "MISC") for p in "BIES"]
    model = SequenceTagger({"encoder": "bilstm-cnn"}, 20_000, 100, labels)
    d = 100 + 10 + 50                                    # word + casing + char CNN
    expected = (20_000 * 100 + 8 * 10 + 100 * 30 + (3 * 30 * 50 + 50)
                + 2 * 4 * (200 * (d + 200) + 200)        # BiLSTM
                + (400 * 17 + 17) + (17 * 17 + 17 + 17))  # emissions, CRF
    assert model.count_params() == expected == 2_592_370


def test_config_round_trip_and_switches(corpus):
    tokens, tags, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm", "char_cnn": True, "casing_dim": 0}, vocabs)
    assert model.char_cnn is not None and model.casing_embedding is None
    config = model.get_config()
    assert config["config"] == {**DEFAULTS, **TINY_MODEL, "encoder": "bilstm", "char_cnn": True, "casing_dim": 0}
    assert config["labels"] == vocabs.labels.items and config["num_words"] == len(vocabs.words)
    again = SequenceTagger.from_config(json.loads(json.dumps(config)))
    assert [w.shape for w in again.weights] == [w.shape for w in model.weights]
    no_chars = build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn", "char_cnn": False}, vocabs)
    assert no_chars.char_cnn is None


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_loss_ignores_padding(head, corpus):
    tokens, tags, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn", "head": head}, vocabs)
    x, y = first_batch(tokens, vocabs, tags)
    loss = float(model.compute_loss(x, y, model(x)))
    padded = {k: np.concatenate([v, np.zeros_like(v)], axis=1) for k, v in x.items()}
    noisy_y = np.concatenate([y, np.full_like(y, 3)], axis=1)   # labels at padding must not count
    np.testing.assert_allclose(float(model.compute_loss(padded, noisy_y, model(padded))), loss, rtol=1e-5)
    emissions = np.asarray(model(x))
    mask = x["words"] != 0
    if head == "crf":
        expected = -np.mean(np.asarray(model.crf.log_likelihood(emissions, y, mask)))
    else:
        logp = emissions - np.log(np.exp(emissions).sum(-1, keepdims=True))
        expected = -np.take_along_axis(logp, y[..., None], -1)[..., 0][mask].mean()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_sample_weights_weigh_sentences(head, corpus):
    tokens, tags, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "cnn", "head": head}, vocabs)
    x, y = first_batch(tokens, vocabs, tags)
    weights = np.zeros(len(tokens), "float32")
    weights[2] = 3.0
    alone = {k: v[2:3] for k, v in x.items()}
    expected = float(model.compute_loss(alone, y[2:3], model(alone)))
    np.testing.assert_allclose(float(model.compute_loss(x, y, model(x), sample_weight=weights)), expected,
                               rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_fit_on_tagging_batches_with_jit_compile(head, corpus):
    """jit_compile=True: XLA on TensorFlow (which "auto" turns off on CPU); JAX always compiles."""
    tokens, tags, vocabs = corpus
    keras.utils.set_random_seed(1)
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn", "head": head, "dropout": 0.1}, vocabs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=True)
    assert model.jit_compile is True   # Keras falls back silently for models it deems unsupported
    # one batch, one shape: each XLA compilation of a step costs seconds on TensorFlow
    batches = TaggingBatches(tokens, vocabs, tags, batch_size=len(tokens), word_dropout=0.1)
    transitions = None if model.crf is None else ops.convert_to_numpy(model.crf.transitions)
    history = model.fit(batches, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    if transitions is not None:   # the CRF weights train too (the loss reaches them on every backend)
        assert not np.allclose(transitions, ops.convert_to_numpy(model.crf.transitions))
    predicted = predict_tags(model, TaggingBatches(tokens, vocabs, batch_size=len(tokens)))   # compiled decoding
    assert [len(p) for p in predicted] == [len(s) for s in tokens]


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the cuDNN path and the parallel CRF are JAX's")
def test_gpu_paths_train_like_the_loops(corpus):
    """bilstm-cnn-fused with its BiLSTM as one (reference) cuDNN call and the CRF without loops over time
    trains as bilstm-cnn with loops does from the same seed: same losses, same predictions."""
    tokens, tags, vocabs = corpus
    results = []
    for encoder, path, scan in (("bilstm-cnn", "loop", "sequential"), ("bilstm-cnn-fused", "cudnn", "parallel")):
        keras.utils.set_random_seed(1)
        model = build_tagger({**TINY_MODEL, "encoder": encoder, "head": "crf", "dropout": 0.0, "crf_scan": scan,
                              "lstm_path": path}, vocabs)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        one_batch = len(tokens)   # one shape: one compilation of each step
        history = model.fit(TaggingBatches(tokens, vocabs, tags, batch_size=one_batch), epochs=3, verbose=0)
        results.append((history.history["loss"],
                        predict_tags(model, TaggingBatches(tokens, vocabs, batch_size=one_batch))))
    (loss_loop, tags_loop), (loss_fast, tags_fast) = results
    np.testing.assert_allclose(loss_fast, loss_loop, rtol=1e-4)
    assert all((a == b).all() for a, b in zip(tags_fast, tags_loop))


@pytest.mark.parametrize("head", slow_except({"softmax"}, ["softmax", "crf"]))
def test_predictions_in_sentence_order_and_fresh_after_training(head, corpus):
    tokens, tags, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm", "head": head}, vocabs)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    whole = TaggingBatches(tokens, vocabs, batch_size=len(tokens))
    x = whole[0]
    before = predict_tags(model, whole)
    model.fit(TaggingBatches(tokens, vocabs, tags, batch_size=len(tokens)), epochs=3, verbose=0)
    after = predict_tags(model, whole)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    # The compiled predict step sees the trained weights (on JAX they are passed in, not captured).
    eager = np.asarray(model.decode(x))
    for row, index in enumerate(whole.batch_indices(0)):
        np.testing.assert_array_equal(after[index], eager[row, :len(tokens[index])])
    # Small shuffled batches of other shapes: same tags, mapped back to the original order.
    small = predict_tags(model, TaggingBatches(tokens, vocabs, batch_size=3, shuffle=True, seed=5))
    assert [len(p) for p in small] == [len(s) for s in tokens]
    assert all(np.array_equal(a, b) for a, b in zip(after, small))


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_tag_probabilities(head, corpus):
    tokens, _, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm", "head": head}, vocabs)
    x = first_batch(tokens, vocabs)
    probs = np.asarray(model.tag_probabilities(x))
    mask = x["words"] != 0
    assert probs.shape == (*x["words"].shape, len(vocabs.labels))
    np.testing.assert_allclose(probs.sum(-1), mask.astype("float32"), atol=1e-5)
    assert (model.crf is None) == (head == "softmax")
    if head == "softmax":
        np.testing.assert_array_equal(np.asarray(model.decode(x))[mask], probs.argmax(-1)[mask])


@pytest.mark.slow
def test_ten_thousand_token_sentence_is_tagged(corpus):
    tokens, _, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn", "hidden": 4}, vocabs)
    long = ([w for s in tokens for w in s] * 200)[:10_000]
    (tagged,) = predict_tags(model, TaggingBatches([long], vocabs))
    assert tagged.shape == (10_000,) and 0 <= tagged.min() and tagged.max() < len(vocabs.labels)


CROSS_BACKEND = """
import sys; sys.path.insert(0, {tests!r})
import keras, numpy as np
from ner.data.batching import TaggingBatches
from ner.model.network import build_tagger
from ner.model.predict import predict_tags
from helpers import TINY_MODEL, tiny_corpus
tokens, _, vocabs = tiny_corpus()
batches = TaggingBatches(tokens, vocabs, batch_size=len(tokens))
rng = np.random.default_rng(2)
for head in ("softmax", "crf"):
    keras.utils.set_random_seed(2)
    model = build_tagger({{**TINY_MODEL, "encoder": "bilstm-cnn", "head": head}}, vocabs)
    # weights no initialiser draws (training would only cost compilation time here)
    for v in model.trainable_variables:
        v.assign(v + rng.normal(0, 0.5, v.shape).astype(v.dtype))
    model.save(f"{out}/{{head}}.keras")
    np.save(f"{out}/{{head}}-emissions.npy", np.asarray(model.emissions(batches[0])))
    np.savez(f"{out}/{{head}}-tags.npz", *predict_tags(model, batches))
"""


@pytest.fixture(scope="module")
def other_backend_models(tmp_path_factory):
    """Folder with softmax.keras and crf.keras (random weights) saved on the other backend, with predictions."""
    out = tmp_path_factory.mktemp(f"saved-on-{OTHER}")
    script = CROSS_BACKEND.format(tests=str(TESTS), out=str(out))
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "KERAS_BACKEND": OTHER}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_model_saved_on_other_backend_loads_and_predicts_identically(head, corpus, other_backend_models):
    tokens, _, vocabs = corpus
    loaded = keras.saving.load_model(other_backend_models / f"{head}.keras")   # no custom_objects
    assert isinstance(loaded, SequenceTagger) and (loaded.crf is None) == (head == "softmax")
    batches = TaggingBatches(tokens, vocabs, batch_size=len(tokens))
    np.testing.assert_allclose(np.asarray(loaded.emissions(batches[0])),
                               np.load(other_backend_models / f"{head}-emissions.npy"), atol=1e-5)
    saved = np.load(other_backend_models / f"{head}-tags.npz")
    expected = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    assert all(np.array_equal(a, b) for a, b in zip(predict_tags(loaded, batches), expected))


def test_output_dtypes(corpus):
    tokens, _, vocabs = corpus
    model = build_tagger({**TINY_MODEL, "head": "crf"}, vocabs)
    x = first_batch(tokens, vocabs)
    assert ops.convert_to_numpy(model(x)).dtype == np.float32
    assert np.asarray(model.predict_on_batch(x)["tags"]).dtype == np.int32


@pytest.mark.parametrize("scheme", ["bio", "bioes"])
def test_the_crf_gets_the_masks_of_the_training_scheme(scheme):
    """The builder hands the CRF the scheme's allowed-transition masks; none with constraints off."""
    from ner.data.schemes import convert, transition_constraints
    from ner.data.vocab import build_vocabularies

    tokens, tags, _ = tiny_corpus()   # BIOES
    vocabs = build_vocabularies(tokens, [convert(t, "bioes", scheme) for t in tags])
    labels = vocabs.labels.decode(range(len(vocabs.labels)))
    crf = build_tagger({**TINY_MODEL, "head": "crf", "scheme": scheme}, vocabs).crf
    for got, want in zip((crf.allowed_start, crf.allowed_transitions, crf.allowed_end),
                         transition_constraints(labels, scheme)):
        assert np.array_equal(got, want)
    assert not crf.allowed_transitions.all()   # the scheme forbids some moves
    free = build_tagger({**TINY_MODEL, "head": "crf", "scheme": scheme, "constraints": False}, vocabs).crf
    assert (free.allowed_start, free.allowed_transitions, free.allowed_end) == (None, None, None)


@pytest.mark.parametrize("optimizer", slow_except(("adam",), ["adam", "sgd"]))
def test_frozen_pretrained_rows_do_not_move(optimizer, corpus, tmp_path):
    """freeze_embeddings: rows that start from a vector stay bit-identical through training with ner's Adam and
    SGD (fused on TensorFlow), other word rows train; the frozen rows survive saving, and the numpy export."""
    from ner.data.embeddings import PretrainedVectors
    from ner.model.arrays import export_arrays
    from ner.model.optimizers import SGD, Adam

    tokens, tags, vocabs = corpus
    rows = vocabs.words.encode(["paris", "berlin", "john", "the"])
    vectors = np.random.default_rng(0).normal(size=(len(rows), TINY_MODEL["word_dim"])).astype(np.float32)
    pretrained = PretrainedVectors("v.txt", TINY_MODEL["word_dim"], rows, vectors, len(vocabs.words.items),
                                   np.zeros(len(rows), np.int8))
    keras.utils.set_random_seed(1)
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm", "freeze_embeddings": True}, vocabs,
                         embeddings=pretrained)
    assert not any(v is model.word_embedding.frozen for v in model.trainable_variables)
    before = ops.convert_to_numpy(model.word_embedding.embeddings).copy()
    model.compile(optimizer=Adam(0.05) if optimizer == "adam" else SGD(0.5, momentum=0.9))
    model.fit(TaggingBatches(tokens, vocabs, tags, batch_size=4), epochs=3, verbose=0)
    after = ops.convert_to_numpy(model.word_embedding.embeddings)
    np.testing.assert_array_equal(after[rows], vectors)
    trained = vocabs.words.encode(["lives", "visited"])
    assert not np.allclose(after[trained], before[trained])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded.word_embedding.frozen)[rows], 1.0)
    np.testing.assert_array_equal(export_arrays(loaded)["word_embedding"], after)


def test_variational_dropout_keeps_one_mask_across_time(corpus):
    """variational_dropout: a feature dropped for a sentence is dropped at every step (SpatialDropout1D); the
    default drops each step anew. Both scale what they keep by 1 / (1 - p)."""
    _, _, vocabs = corpus
    x = ops.ones((4, 12, 16))
    for variational in (True, False):
        model = build_tagger({**TINY_MODEL, "dropout": 0.5, "variational_dropout": variational}, vocabs)
        kept = ops.convert_to_numpy(model.input_dropout(x, training=True)) > 0                   # (4, 12, 16)
        constant_in_time = (kept == kept[:, :1]).all()
        assert constant_in_time == variational and 0.2 < kept.mean() < 0.8


@pytest.mark.parametrize("settings, kind, clip", [
    ({"optimizer": "nadam", "clip_global": True, "clipnorm": 1.0}, "Nadam", ("global_clipnorm", 1.0)),
    ({"optimizer": "adam"}, "Adam", ("clipnorm", 5.0)),
    ({"optimizer": "sgd", "clipnorm": 0.0}, "SGD", ("clipnorm", None)),
])
def test_the_optimizer_and_its_clipping(settings, kind, clip):
    from ner.training.config import TrainConfig
    from ner.training.fit import make_optimizer

    optimizer = make_optimizer(TrainConfig(**settings).validate())
    assert type(optimizer).__name__ == kind and getattr(optimizer, clip[0]) == clip[1]
    other = "clipnorm" if clip[0] == "global_clipnorm" else "global_clipnorm"
    assert getattr(optimizer, other) is None


def test_layers_built_while_keras_loads_are_never_shared_by_id(corpus, monkeypatch):
    """Keras' loading records serialized objects by id() and hands back the recorded object for a repeated id; a
    Bidirectional layer copies its wrapped layer by serializing it, so a freed layer's id reused by a new one
    would give back the wrong layer. Worst case forced here: every object the same id. Built from code, Keras
    refuses (the copy comes back as the forward layer); ``from_config`` (what loading calls) builds correctly."""
    from keras.src.saving import serialization_lib

    _, _, vocabs = corpus
    config = build_tagger({**TINY_MODEL, "encoder": "bilstm", "layers": 2}, vocabs).get_config()
    monkeypatch.setattr(serialization_lib, "id", lambda obj: 7, raising=False)
    with serialization_lib.ObjectSharingScope():
        with pytest.raises(ValueError, match="go_backwards"):
            SequenceTagger(**config)
        model = SequenceTagger.from_config(config)
    layers = [x for b in model.encoder.stack for x in (b.forward_layer, b.backward_layer)]
    assert len({id(x) for x in layers}) == 4 and [x.go_backwards for x in layers] == [False, True] * 2
