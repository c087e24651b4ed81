"""Train on the bundled sample, evaluate, tag, reload: the three ways users come to the tool."""

from __future__ import annotations

import json

import numpy as np
import pytest
from seqeval.metrics import classification_report, f1_score

import ner
from ner.bundle import load_bundle
from ner.cli import main
from ner.data.conll import read_conll
from ner.inference.tagger import Tagger

from helpers import TINY_TRAIN


def test_bundle_holds_everything(crf_bundle):
    for name in ("bundle.json", "model.keras", "vocab.json", "config.json", "history.json", "metrics.json"):
        assert (crf_bundle / name).is_file()
    meta = json.loads((crf_bundle / "bundle.json").read_text())
    assert meta["status"] == "complete" and meta["format_version"] == 1
    assert meta["versions"]["backend"] and len(meta["data"]["hash"]) == 64
    history = json.loads((crf_bundle / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert all({"loss", "dev_precision", "dev_recall", "dev_f1", "seconds"} <= set(h) for h in history)
    metrics = json.loads((crf_bundle / "metrics.json").read_text())
    assert set(metrics) == {"dev", "test"}
    assert metrics["test"]["sentences"] == 60
    # the kept weights are those of the best dev epoch
    assert metrics["dev"]["f1"] == pytest.approx(max(h["dev_f1"] for h in history))
    assert not list(crf_bundle.parent.glob(".*tmp*"))


def test_evaluate_agrees_with_seqeval_on_written_predictions(crf_bundle, small_sample, tmp_path, capsys):
    out = tmp_path / "pred.conll"
    assert main(["evaluate", str(crf_bundle), "--data", str(small_sample), "--json",
                 "--predictions", str(out)]) == 0
    scores = json.loads(capsys.readouterr().out)
    gold = [s.tags for s in read_conll(out, tag_col=1)]
    pred = [s.tags for s in read_conll(out, tag_col=2)]
    assert scores["f1"] == pytest.approx(f1_score(gold, pred))
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    for label, s in scores["per_type"].items():
        assert s["f1"] == pytest.approx(report[label]["f1-score"])
        assert s["support"] == report[label]["support"]
    assert scores["sentences"] == 60 and scores["tokens"] == sum(len(g) for g in gold)
    # the same file scored without a model gives the same object
    assert main(["evaluate", "--scored", str(out), "--json"]) == 0
    rescored = json.loads(capsys.readouterr().out)
    assert rescored["f1"] == pytest.approx(scores["f1"])
    # and the Python API too, and the Keras engine (the CLI's default engine is numpy for this bundle)
    assert ner.evaluate(crf_bundle, str(small_sample))["f1"] == pytest.approx(scores["f1"])
    keras_scores = ner.evaluate(crf_bundle, str(small_sample), engine="keras")
    assert keras_scores["f1"] == pytest.approx(scores["f1"]) and keras_scores["per_type"] == scores["per_type"]


@pytest.mark.slow
def test_predictions_identical_after_reload(crf_bundle, softmax_bundle, small_sample):
    tokens = list(ner.load_corpus(str(small_sample))["test"]["tokens"])
    for path in (crf_bundle, softmax_bundle):
        first, second = Tagger.load(path), Tagger.load(path)
        assert first.tag_sentences(tokens) == second.tag_sentences(tokens)
        text = "Angela Merkel visited Paris on Tuesday. The Red Cross sent aid to Lagos."
        assert first.tag(text) == second.tag(text)


@pytest.mark.slow
def test_same_seed_same_dev_f1(small_sample, tmp_path):
    settings = dict(TINY_TRAIN, epochs=1, data=str(small_sample), encoder="lstm")
    a = load_bundle(ner.train(out=str(tmp_path / "a"), **settings))
    b = load_bundle(ner.train(out=str(tmp_path / "b"), **settings))
    assert [h["dev_f1"] for h in a.history] == [h["dev_f1"] for h in b.history]
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.slow
def test_no_dev_split_holds_out_train(small_sample, tmp_path):
    data = tmp_path / "nodev"
    data.mkdir()
    (data / "train.txt").write_text((small_sample / "train.txt").read_text())
    bundle = load_bundle(ner.train(data=str(data), encoder="lstm", out=str(tmp_path / "m"),
                                   **dict(TINY_TRAIN, epochs=1)))
    assert "held out 24 of 240" in bundle.meta["data"]["dev"]
    assert bundle.meta["data"]["sentences"] == {"train": 216, "dev": 24}
    assert set(bundle.metrics) == {"dev"}


@pytest.mark.slow
def test_init_resumes_from_a_bundle(crf_bundle, small_sample, tmp_path):
    base = load_bundle(crf_bundle)
    resumed = ner.train(data=str(small_sample), init=str(crf_bundle), out=str(tmp_path / "r"),
                        **dict(TINY_TRAIN, epochs=1))
    bundle = load_bundle(resumed)
    assert bundle.vocabs.labels.items == base.vocabs.labels.items
    assert bundle.meta["parameters"] == base.meta["parameters"]


@pytest.mark.slow
def test_config_file_and_flags(small_sample, tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"encoder": "rnn", "hidden": 8, "word_dim": 8, "epochs": 3, "crf": False}))
    out = tmp_path / "m"
    assert main(["train", "--data", str(small_sample), "--config", str(config), "--epochs", "1",
                 "--casing-dim", "0", "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    saved = json.loads((out / "config.json").read_text())
    assert (saved["encoder"], saved["hidden"], saved["epochs"], saved["crf"], saved["casing_dim"]) == \
        ("rnn", 8, 1, False, 0)
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["encoder"] == "rnn" and info["head"] == "softmax" and info["status"] == "complete"
    assert info["labels"][0] == "O" and info["parameters"] > 0
