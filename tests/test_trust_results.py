"""Nothing wrong is reported as right (issue #16, part 1): non-finite numbers and mistyped settings are bad
input, a diverging training run is an error, non-finite word vectors are refused, every JSON file is strict,
``--init`` never records an architecture it did not train, and a bundle of mismatched parts is refused."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from keras import ops

import ner
from ner.bundle import load_bundle, write_bundle
from ner.cli import main
from ner.data.batching import TaggingBatches
from ner.data.embeddings import load_vectors
from ner.data.vocab import Vocab, Vocabularies
from ner.errors import InputError, NerError, RunError
from ner.inference.runtime import NumpyModel
from ner.inference.tagger import Tagger
from ner.io.files import strict_dumps, write_json
from ner.model.network import SequenceTagger
from ner.training.config import INIT_SETTINGS, TrainConfig

from helpers import TINY_TRAIN, one_line_error


def _strict(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity."""
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def _tiny_flags(data, out) -> list[str]:
    """``TINY_TRAIN`` as ``ner train`` flags."""
    sizes = [f"--{key.replace('_', '-')}={value}" for key, value in TINY_TRAIN.items() if key != "verbose"]
    return ["--data", str(data), "--out", str(out), *sizes, "--quiet"]


# ---------------------------------------------------------------- non-finite numbers and types

@pytest.mark.parametrize("command, flag, value", [
    ("train", "--lr", "nan"), ("train", "--lr", "inf"), ("train", "--dropout", "inf"),
    ("train", "--clipnorm", "nan"), ("train", "--lr-decay", "inf"), ("train", "--word-dropout", "nan"),
    ("train", "--dev-fraction", "-inf"), ("compare", "--lr", "nan"), ("compare", "--dropout", "inf"),
])
def test_non_finite_flags_are_bad_input(command, flag, value, small_sample, tmp_path, capsys):
    out = tmp_path / "out"
    err = one_line_error(capsys, [command, "--data", str(small_sample), "--out", str(out), f"{flag}={value}"])
    assert f"{flag}: must be a finite number, not {value}" in err
    assert not out.exists()


@pytest.mark.parametrize("text, words", [
    ('{"crf": "no"}', ["'crf'", "true or false", '"no"']),
    ('{"epochs": "1"}', ["'epochs'", "an integer", '"1"']),
    ('{"epochs": null}', ["'epochs'", "an integer, not null"]),
    ('{"epochs": true}', ["'epochs'", "an integer, not true"]),
    ('{"epochs": 2.5}', ["'epochs'", "an integer"]),
    ('{"hidden": [16]}', ["'hidden'", "an integer, not [16]"]),
    ('{"encoder": {"name": "lstm"}}', ["'encoder'", "a string"]),
    ('{"lr": "fast"}', ["'lr'", "a number or null"]),
    ('{"lr": NaN}', ["'lr'", "finite number, not nan"]),
    ('{"dropout": Infinity}', ["'dropout'", "finite number, not inf"]),
    ('{"data": null}', ["'data'", "a string, not null"]),
    ('{"epochs": 0}', ["--epochs: must be at least 1"]),
    ('{"optimizer": "rmsprop"}', ["--optimizer: unknown optimizer 'rmsprop'"]),
])
def test_config_values_are_checked_against_the_field_type(text, words, tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(text)
    err = one_line_error(capsys, ["train", "--config", str(config), "--out", str(tmp_path / "m")])
    assert f"--config: {config}: " in err and all(w in err for w in words), err
    assert not (tmp_path / "m").exists()


def test_a_folder_as_config_is_one_line(tmp_path, capsys):
    assert f"--config: {tmp_path}: is a folder" in one_line_error(capsys, ["train", "--config", str(tmp_path)])


@pytest.mark.parametrize("settings, words", [
    (dict(crf="no"), "--crf: expected true or false"),
    (dict(epochs="1"), "--epochs: expected an integer"),
    (dict(epochs=True), "--epochs: expected an integer, not true"),
    (dict(data=None), "--data: expected a string, not null"),
    (dict(lr=float("nan")), "--lr: must be a finite number"),
    (dict(clipnorm=float("inf")), "--clipnorm: must be a finite number"),
    (dict(hidden=[16]), "--hidden: expected an integer"),
    (dict(clipnorm=-1.0), "--clipnorm: must not be negative"),
    (dict(momentum=1.5), "--momentum: must be in [0, 1]"),
])
def test_python_api_checks_types_and_finiteness(settings, words, tmp_path):
    with pytest.raises(NerError, match=words.replace("[", r"\[").replace("]", r"\]")):
        ner.train(out=str(tmp_path / "m"), **settings)
    assert not any(tmp_path.iterdir())


def test_compare_api_checks_training_settings_first(tmp_path):
    for settings, words in ((dict(lr=float("inf")), "--lr: must be a finite number"),
                            (dict(hidden="16"), "--hidden: expected an integer")):
        with pytest.raises(NerError, match=words):
            ner.compare(out=str(tmp_path / "r"), **settings)
    assert not any(tmp_path.iterdir())


def test_ints_are_numbers_and_paths_are_strings(tmp_path):
    cfg = TrainConfig(lr=1, epochs=np.int64(3), embeddings=tmp_path / "v.txt").validate()
    assert (cfg.lr, cfg.epochs, cfg.embeddings) == (1.0, 3, str(tmp_path / "v.txt"))
    assert type(cfg.lr) is float and type(cfg.epochs) is int


# ---------------------------------------------------------------- divergence

def _weigh_batches(monkeypatch, weight: float, epoch: int, batch: int) -> None:
    """Training batches carry sentence weights: 1, and ``weight`` in batch ``batch`` of epoch ``epoch``
    (0-based). Weights 1 leave the loss as it is (any backend)."""
    original = TaggingBatches.__getitem__

    def getitem(self, i):
        item = original(self, i)
        if not isinstance(item, tuple):   # tagging batches (dev scores) have no tags
            return item
        inputs, tags = item
        return inputs, tags, np.full(len(tags), weight if (self.epoch, i) == (epoch, batch) else 1.0, np.float32)

    monkeypatch.setattr(TaggingBatches, "__getitem__", getitem)


@pytest.mark.slow
def test_a_nan_loss_stops_training_naming_epoch_and_batch(small_sample, tmp_path, capsys, monkeypatch):
    _weigh_batches(monkeypatch, float("nan"), epoch=1, batch=1)
    out = tmp_path / "m"
    err = one_line_error(capsys, ["train", *_tiny_flags(small_sample, out), "--encoder", "lstm", "--epochs", "3"],
                         code=1)
    assert "training diverged: loss nan at epoch 2, batch 2" in err and "no bundle written" in err
    assert not (out / "bundle.json").exists()


@pytest.mark.slow
def test_non_finite_weights_after_a_finite_loss_are_an_error(small_sample, tmp_path, monkeypatch):
    # the last batch (15 of 240 sentences in batches of 16) weighs 2: the same mean loss, but a NaN gradient
    _weigh_batches(monkeypatch, 2.0, epoch=0, batch=14)
    original = SequenceTagger.compute_loss

    def compute_loss(self, x, y, y_pred, sample_weight=None, *args, **kwargs):
        off = ops.where(ops.max(sample_weight) > 1.5, 0.0, 1.0)   # sqrt'(0) * 0 = NaN; sqrt'(1) * 0 = 0
        return (original(self, x, y, y_pred, sample_weight, *args, **kwargs)
                + ops.sqrt(ops.sum(y_pred) * 0.0 + off) - ops.sqrt(off))

    monkeypatch.setattr(SequenceTagger, "compute_loss", compute_loss)
    out = tmp_path / "m"
    with pytest.raises(RunError, match="training diverged: non-finite weights at epoch 1, batch 15"):
        ner.train(data=str(small_sample), encoder="lstm", out=str(out), **dict(TINY_TRAIN, epochs=1))
    assert not (out / "bundle.json").exists()


# ---------------------------------------------------------------- word vectors

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e40", "NaN"])
def test_non_finite_vectors_are_refused_with_file_and_line(value, tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text(f"london 0.1 0.2\nparis {value} 0.3\n")
    with pytest.raises(InputError, match=rf"{vectors}:2: vector values must be finite"):
        load_vectors(vectors, ["<pad>", "<unk>", "london", "paris"], skip=2)


def test_train_refuses_non_finite_vectors(small_sample, tmp_path, capsys):
    vectors = tmp_path / "v.txt"
    vectors.write_text("the 0.1 0.2\nof nan 0.3\n")
    out = tmp_path / "m"
    assert f"{vectors}:2: vector values must be finite" in one_line_error(
        capsys, ["train", *_tiny_flags(small_sample, out), "--embeddings", str(vectors)])
    assert not out.exists()


# ---------------------------------------------------------------- strict JSON

def test_strict_json_turns_non_finite_numbers_into_null(tmp_path):
    value = {"loss": float("nan"), "f1": [float("inf"), 0.5], "spread": (float("-inf"), np.float64("nan"))}
    assert _strict(strict_dumps(value)) == {"loss": None, "f1": [None, 0.5], "spread": [None, None]}
    write_json(tmp_path / "report.json", value)
    assert _strict((tmp_path / "report.json").read_text())["loss"] is None


@pytest.mark.slow
def test_every_bundle_file_is_strict_json(softmax_bundle, tmp_path):
    bundle = load_bundle(softmax_bundle)
    history = [{**bundle.history[0], "loss": float("nan")}]
    out = write_bundle(tmp_path / "m", model=bundle.model, vocabs=bundle.vocabs, config=bundle.config,
                       meta=bundle.meta, history=history, metrics=bundle.metrics)
    files = sorted(out.glob("*.json"))
    assert {f.name for f in files} >= {"bundle.json", "config.json", "history.json", "metrics.json", "vocab.json"}
    for file in files:
        _strict(file.read_text())
    assert _strict((out / "history.json").read_text())[0]["loss"] is None


# ---------------------------------------------------------------- --init

@pytest.mark.parametrize("flags, words", [
    (["--encoder", "lstm"], ['--encoder: "lstm" conflicts with --init', 'encoder "bilstm-cnn"']),
    (["--hidden", "32"], ["--hidden: 32 conflicts", "hidden 16"]),
    (["--word-dim", "100"], ["--word-dim: 100 conflicts", "word_dim 16"]),
    (["--layers", "2"], ["--layers: 2 conflicts", "layers 1"]),
    (["--no-crf"], ["--crf: false conflicts", "crf true"]),
    (["--no-char-cnn"], ["--char-cnn: false conflicts", "char_cnn true"]),
    (["--casing-dim", "0"], ["--casing-dim: 0 conflicts", "casing_dim 4"]),
    (["--dropout", "0.2"], ["--dropout: 0.2 conflicts", "dropout 0.5"]),
    (["--scheme", "bio"], ['--scheme: "bio" conflicts', 'scheme "bioes"']),
])
def test_init_refuses_another_architecture(flags, words, crf_bundle, small_sample, tmp_path, capsys):
    out = tmp_path / "m"
    err = one_line_error(capsys, ["train", "--data", small_sample, "--init", crf_bundle, "--out", out, *flags])
    assert all(w in err for w in words), err
    assert not out.exists()


@pytest.mark.slow
def test_init_records_the_architecture_it_trains(crf_bundle, small_sample, tmp_path, capsys):
    out = tmp_path / "m"
    # --hidden and --char-cnn agree with the bundle; --word-dim, --casing-dim, ... are taken from it
    assert main(["train", "--data", str(small_sample), "--init", str(crf_bundle), "--out", str(out), "--epochs", "1",
                 "--batch-size", "16", "--hidden", "16", "--char-cnn", "--quiet"]) == 0
    base, saved = load_bundle(crf_bundle, model=False).config, json.loads((out / "config.json").read_text())
    assert {k: saved[k] for k in INIT_SETTINGS} == {k: base[k] for k in INIT_SETTINGS}
    assert saved["word_dim"] == 16 and saved["init"] == str(crf_bundle)
    with pytest.raises(NerError, match="--encoder: \"rnn\" conflicts with --init"):
        ner.train(data=str(small_sample), init=str(crf_bundle), encoder="rnn", out=str(tmp_path / "n"))


# ---------------------------------------------------------------- bundles of mismatched parts

def _other_vocab(bundle, path):
    """The bundle's vocab.json with 3 words fewer (as from a bundle trained on other data)."""
    vocabs = load_bundle(bundle, model=False).vocabs
    words = vocabs.words
    vocabs.words = Vocab(words.items[:-3], pad=words.pad, unk=words.unk, lowercase=words.lowercase,
                         digits=words.digits)
    Vocabularies.save(vocabs, path)


def _mixed(case, crf_bundle, softmax_bundle, tmp_path):
    """A copy of one fixture bundle with one part that does not belong; returns (folder, file blamed)."""
    base = softmax_bundle if case in ("crf weights", "crf model") else crf_bundle
    folder = tmp_path / "mixed"
    shutil.copytree(base, folder)
    if case == "crf weights":
        shutil.copy(crf_bundle / "weights.npz", folder / "weights.npz")
    elif case == "crf model":
        shutil.copy(crf_bundle / "model.keras", folder / "model.keras")
    elif case == "other vocab":
        _other_vocab(crf_bundle, folder / "vocab.json")
    elif case == "other config":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "hidden": 32}))
    return folder


CASES = {  # case -> {engine: words in the message}
    "crf weights": {"numpy": "weights.npz: built with crf true, but config.json says false"},
    "crf model": {"keras": "model.keras: built with crf true, but config.json says false"},
    "other vocab": {"numpy": "weights.npz: made for", "keras": "model.keras: made for"},
    "other config": {"numpy": "weights.npz: built with hidden 16, but config.json says 32",
                     "keras": "model.keras: built with hidden 16, but config.json says 32"},
}


@pytest.mark.slow
@pytest.mark.parametrize("case, engine", [(c, e) for c, engines in CASES.items() for e in engines])
def test_mismatched_bundles_are_refused_on_every_engine(case, engine, crf_bundle, softmax_bundle, tmp_path, capsys):
    folder = _mixed(case, crf_bundle, softmax_bundle, tmp_path)
    words = CASES[case][engine]
    with pytest.raises(NerError, match=words.replace("(", r"\(")):
        Tagger.load(folder, engine=engine)
    if engine == "numpy":
        with pytest.raises(NerError, match=words):
            NumpyModel.load(folder)
    else:
        with pytest.raises(NerError, match=words):
            load_bundle(folder)
    assert words in one_line_error(capsys, ["tag", str(folder), "Angela Merkel visited Paris.", "--engine", engine])


def test_vocab_sizes_are_named(crf_bundle, tmp_path):
    folder = _mixed("other vocab", crf_bundle, crf_bundle, tmp_path)
    size = len(load_bundle(crf_bundle, model=False).vocabs.words)
    with pytest.raises(NerError, match=f"made for {size} words, but vocab.json has {size - 3}"):
        NumpyModel.load(folder)


@pytest.mark.slow
def test_the_lazily_loaded_keras_model_is_checked_too(crf_bundle, softmax_bundle, tmp_path):
    folder = _mixed("crf model", crf_bundle, softmax_bundle, tmp_path)
    tagger = Tagger.load(folder, engine="numpy")   # weights.npz belongs: tags
    assert isinstance(tagger.tag("Angela Merkel visited Paris."), list)
    with pytest.raises(NerError, match="model.keras: built with crf true"):
        _ = tagger.model


@pytest.mark.slow
def test_matching_parts_load_everywhere(crf_bundle, softmax_bundle):
    for path in (crf_bundle, softmax_bundle):
        for engine in ("numpy", "keras"):
            assert math.isfinite(sum(e["score"] for e in Tagger.load(path, engine=engine).tag("Paris is in France.")))
