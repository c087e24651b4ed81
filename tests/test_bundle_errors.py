"""Bundles are written atomically and bad bundles, data and flags give one-line errors (exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import ner
from ner.bundle import load_bundle, read_meta, write_bundle
from ner.cli import main
from ner.errors import NerError
from ner.training.fit import _DevMonitor

from helpers import ROOT, TINY_TRAIN, one_line_error


def test_missing_half_written_and_newer_bundles(crf_bundle, tmp_path, capsys):
    assert "no such model bundle" in one_line_error(capsys, ["evaluate", str(tmp_path / "nope")])
    half = tmp_path / "half"
    shutil.copytree(crf_bundle, half)
    (half / "model.keras").unlink()
    assert "incomplete model bundle (missing model.keras)" in one_line_error(capsys, ["tag", str(half), "x"])
    newer = tmp_path / "newer"
    shutil.copytree(crf_bundle, newer)
    meta = json.loads((newer / "bundle.json").read_text())
    (newer / "bundle.json").write_text(json.dumps({**meta, "format_version": 99}))
    assert "format version 99 is newer" in one_line_error(capsys, ["info", str(newer)])
    corrupt = tmp_path / "corrupt"
    shutil.copytree(crf_bundle, corrupt)
    (corrupt / "model.keras").write_bytes(b"not a zip")
    assert "model.keras: corrupt model file" in one_line_error(capsys, ["evaluate", str(corrupt), "--engine", "keras"])
    (corrupt / "weights.npz").write_bytes(b"not a zip")
    assert "weights.npz: corrupt weights file" in one_line_error(capsys, ["evaluate", str(corrupt)])


def test_bad_training_input(small_sample, tmp_path, capsys):
    err = one_line_error(capsys, ["train", "--data", str(small_sample), "--encoder", "transformer-xl",
                          "--out", str(tmp_path / "m")])
    assert "unknown encoder 'transformer-xl'" in err and "bilstm-cnn" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert str(empty) in one_line_error(capsys, ["train", "--data", str(empty), "--out", str(tmp_path / "m")])
    assert "unknown backend 'theano'" in one_line_error(capsys, ["train", "--backend", "theano"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"encoder": "lstm", "colour": "red"}')
    assert "unknown setting(s) colour" in one_line_error(capsys, ["train", "--config", str(bad)])
    assert "--dropout" in one_line_error(capsys, ["train", "--data", str(small_sample), "--dropout", "1.5"])
    assert "--crf-scan: unknown choice 'fast'" in one_line_error(capsys, ["train", "--crf-scan", "fast"])
    assert "--lstm-path: unknown choice 'gpu'" in one_line_error(capsys, ["train", "--lstm-path", "gpu"])
    data = ["--data", str(small_sample), "--out", str(tmp_path / "m")]
    assert "--crf-scan parallel: needs --backend jax" in one_line_error(capsys,
                                                                ["train", *data, "--crf-scan", "parallel"])
    assert "--lstm-path cudnn: needs --backend jax and --encoder bilstm-cnn-fused" in one_line_error(
        capsys, ["train", *data, "--lstm-path", "cudnn"])
    assert not (tmp_path / "m").exists()


def test_unseen_labels_are_counted(crf_bundle, small_sample, tmp_path, capsys):
    data = tmp_path / "odd"
    data.mkdir()
    (data / "test.txt").write_text("Zorg B-ALIEN\nlanded O\nin O\nParis B-LOC\n\nKlaatu B-ALIEN\nspoke O\n")
    (data / "train.txt").write_text((small_sample / "train.txt").read_text())
    assert main(["evaluate", str(crf_bundle), "--data", str(data), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["unseen_labels"] == {"ALIEN": 2}
    assert scores["per_type"]["ALIEN"]["support"] == 2 and scores["per_type"]["ALIEN"]["recall"] == 0.0


def test_evaluate_bad_split_and_scored_file(crf_bundle, small_sample, tmp_path, capsys):
    assert "no split 'gold'" in one_line_error(capsys, ["evaluate", str(crf_bundle), "--data", str(small_sample),
                                               "--split", "gold"])
    assert "no such" in one_line_error(capsys, ["evaluate", "--scored", str(tmp_path / "none.conll")])


def test_crash_leaves_no_half_written_bundle(crf_bundle, tmp_path):
    bundle = load_bundle(crf_bundle)
    target = tmp_path / "m"
    write_bundle(target, model=bundle.model, vocabs=bundle.vocabs, config=bundle.config, meta=bundle.meta,
                 history=bundle.history, metrics=bundle.metrics)
    before = sorted(p.name for p in target.iterdir())

    class Broken:
        def save(self, path):
            (path.parent / "vocab.json").write_text("{")
            raise OSError("disk full")

    with pytest.raises(OSError):
        write_bundle(target, model=bundle.model, vocabs=Broken(), config={}, meta={"status": "complete"},
                     history=[], metrics={})
    assert sorted(p.name for p in target.iterdir()) == before  # the old bundle is intact
    assert read_meta(target)["status"] == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folder left behind


@pytest.mark.slow
def test_interrupt_keeps_best_weights(small_sample, tmp_path, monkeypatch):
    original = _DevMonitor.epoch_end

    def interrupt_after_first(self, model, epoch, logs):
        original(self, model, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(_DevMonitor, "epoch_end", interrupt_after_first)
    with pytest.raises(KeyboardInterrupt):
        ner.train(data=str(small_sample), encoder="lstm", out=str(tmp_path / "m"), **dict(TINY_TRAIN, epochs=3))
    bundle = load_bundle(tmp_path / "m")
    assert bundle.meta["status"] == "interrupted" and bundle.meta["best_epoch"] == 1
    assert len(bundle.history) == 1


def test_python_api_rejects_unknown_settings():
    with pytest.raises(NerError, match="unknown training setting"):
        ner.train(data="data/sample", encoders="lstm")


def test_console_script_exit_codes(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "ner", *a], capture_output=True, text=True, cwd=ROOT)  # noqa: E731
    top = run("--help")
    assert top.returncode == 0 and all(c in top.stdout for c in ("data", "train", "evaluate", "tag", "compare"))
    missing = run("info", str(tmp_path / "none"))
    assert missing.returncode == 2 and missing.stderr.startswith("ner: error:")
