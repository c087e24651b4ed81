"""Execution choices of the tagger's layers (``CRF(scan=...)``, ``FusedLSTM(implementation=...)``): model settings
``crf_scan`` / ``lstm_path``, validated, passed to the layers, saved with the model and, for old configs,
"auto". Runs on TensorFlow and on JAX; the numerics of each choice are tested in test_crf.py and
test_encoders.py."""

import json

import keras
import numpy as np
import pytest

from ner.data.batching import TaggingBatches
from ner.errors import NerError
from ner.layers.lstm import FusedLSTM
from ner.model.network import DEFAULTS, SequenceTagger, build_tagger, resolve_config
from ner.model.predict import predict_tags
from ner.training.config import TrainConfig

from helpers import TINY_MODEL, tiny_corpus


@pytest.fixture(scope="module")
def corpus():
    return tiny_corpus()


def choices_of(model) -> tuple:
    """(CRF scan, implementation of every FusedLSTM) of a SequenceTagger."""
    fused = [layer for layer in model.encoder._flatten_layers() if isinstance(layer, FusedLSTM)]
    return model.crf.scan, [layer.implementation for layer in fused]


def test_settings_default_to_auto_validate_and_reach_the_layers(corpus):
    _, _, vocabs = corpus
    fused = {**TINY_MODEL, "encoder": "bilstm-cnn-fused", "layers": 2}
    assert (DEFAULTS["crf_scan"], DEFAULTS["lstm_path"]) == ("auto", "auto")
    assert choices_of(build_tagger(fused, vocabs)) == ("auto", ["auto", "auto"])
    model = build_tagger({**fused, "crf_scan": "parallel", "lstm_path": "cudnn"}, vocabs)
    assert choices_of(model) == ("parallel", ["cudnn", "cudnn"])
    config = json.loads(json.dumps(model.get_config()))
    assert (config["config"]["crf_scan"], config["config"]["lstm_path"]) == ("parallel", "cudnn")
    assert choices_of(SequenceTagger.from_config(config)) == ("parallel", ["cudnn", "cudnn"])
    # a config saved before the settings existed gets the defaults
    old = {k: v for k, v in config["config"].items() if k not in ("crf_scan", "lstm_path")}
    assert choices_of(SequenceTagger.from_config({**config, "config": old})) == ("auto", ["auto", "auto"])
    with pytest.raises(NerError, match=r"model setting crf_scan: unknown choice 'fast' \(choose from auto, "):
        resolve_config({"crf_scan": "fast"})
    with pytest.raises(NerError, match="model setting lstm_path: unknown choice 'gpu'"):
        resolve_config({"lstm_path": "gpu"})
    # set_execution (ner train --init on another device): settings and layers change together
    model.set_execution(crf_scan="sequential", lstm_path="loop")
    assert choices_of(model) == ("sequential", ["loop", "loop"])
    assert (model.get_config()["config"]["crf_scan"], model.config["lstm_path"]) == ("sequential", "loop")
    with pytest.raises(NerError, match="not an execution setting: hidden"):
        model.set_execution(hidden=3)
    with pytest.raises(NerError, match="unknown choice"):
        model.set_execution(crf_scan="fast")
    settings = TrainConfig(crf_scan="parallel", lstm_path="cudnn").validate().model_config()
    assert (settings["crf_scan"], settings["lstm_path"]) == ("parallel", "cudnn")
    assert (TrainConfig().crf_scan, TrainConfig().lstm_path) == ("auto", "auto")


def test_model_saved_with_the_parallel_scan_loads_and_tags(corpus, tmp_path):
    """Saved with crf_scan "parallel" and lstm_path "cudnn" (as on a GPU), a model loads with those
    settings and tags as the loops do: on TensorFlow the layers fall back to their loops."""
    tokens, _, vocabs = corpus
    keras.utils.set_random_seed(2)
    model = build_tagger({**TINY_MODEL, "encoder": "bilstm-cnn-fused", "crf_scan": "parallel", "lstm_path": "cudnn"},
                         vocabs)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert choices_of(loaded) == ("parallel", ["cudnn"])
    batches = TaggingBatches(tokens, vocabs, batch_size=len(tokens))
    tagged = predict_tags(loaded, batches)
    loaded.set_execution(crf_scan="sequential", lstm_path="loop")
    loops = predict_tags(loaded, batches)
    assert [len(t) for t in tagged] == [len(s) for s in tokens]
    assert all(np.array_equal(a, b) for a, b in zip(tagged, loops))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.emissions(batches[0])),
                               keras.ops.convert_to_numpy(model.emissions(batches[0])), atol=1e-5)
