"""Catalogue of misuse and bad input: every case ends as one line on stderr with the right exit code
(0 success, 1 a result that cannot be trusted, 2 bad usage or input, 130 interrupted), never a traceback."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ner.cli import main

from helpers import ROOT, SAMPLE_ZH, disk_full, only_line


def _copy(name: str, content: bytes):
    """Setup: a copy of the bundle with file ``name`` replaced by ``content``."""
    def make(bundle: Path, tmp: Path) -> Path:
        copy = tmp / "bundle"
        shutil.copytree(bundle, copy)
        (copy / name).write_bytes(content)
        return copy
    return make


def _alien(bundle: Path, tmp: Path) -> Path:
    """Setup: a corpus whose only entity type the model never saw."""
    (tmp / "alien").mkdir()
    (tmp / "alien" / "test.txt").write_text("Zorg B-ALIEN\nlanded O\nin O\nParis O\n")
    return bundle


def _no_entities(bundle: Path, tmp: Path) -> Path:
    """Setup: a corpus whose tags are all O."""
    (tmp / "plain.txt").write_text("Nothing O\nhere O\n\nNor O\nhere O\n\nAt O\nall O\n")
    return bundle


# (id, argv, setup, exit code, words of the one-line message); {bundle} {data} {tmp} are filled in
CASES = [
    # file-system errors: PATH: reason
    ("tag-input-folder", "tag {bundle} --input {data}", None, 2, ["--output", "needed when --input is a folder"]),
    ("tag-input-missing", "tag {bundle} --input {tmp}/none.txt", None, 2, ["{tmp}/none.txt", "no such file"]),
    ("convert-out-in-proc", "data convert {data}/train.txt /proc/no/such --to bioes", None, 2, ["/proc"]),
    ("convert-out-under-a-file", "data convert {data}/train.txt {data}/train.txt/x --to bioes", None, 2,
     ["{data}/train.txt"]),
    ("predictions-in-proc", "evaluate {bundle} --data {data} --predictions /proc/no/such/x", None, 2, ["/proc"]),
    ("compare-out-in-proc", "compare --data {data} --from {bundle} --out /proc/no/such --quiet", None, 2, ["/proc"]),
    ("stats-under-a-file", "data stats {data}/train.txt/x", None, 2, ["{data}/train.txt/x"]),
    # ner info on corrupt bundle files names the file
    ("info-vocab-not-json", "info {bundle}", _copy("vocab.json", b"{"), 2, ["vocab.json", "corrupt"]),
    ("info-vocab-list", "info {bundle} --json", _copy("vocab.json", b"[1, 2]"), 2, ["vocab.json", "corrupt"]),
    ("info-config-no-keys", "info {bundle}", _copy("config.json", b"{}"), 2, ["config.json", "corrupt", "word_dim"]),
    ("info-config-list", "info {bundle}", _copy("config.json", b"[]"), 2, ["config.json", "corrupt"]),
    ("info-metrics-list", "info {bundle}", _copy("metrics.json", b"[1]"), 2, ["metrics.json", "corrupt"]),
    ("info-metrics-bad-number", "info {bundle}", _copy("metrics.json", b'{"test": {"precision": "x"}}'), 2,
     ["metrics.json", "corrupt"]),
    ("info-bundle-json-no-data", "info {bundle}", _copy("bundle.json", b'{"format_version": 1}'), 2,
     ["bundle.json", "corrupt"]),
    ("tag-config-list", "tag {bundle} x", _copy("config.json", b"[]"), 2, ["config.json", "JSON object"]),
    ("tag-config-no-scheme", "tag {bundle} x", _copy("config.json", b"{}"), 2, ["config.json", "scheme"]),
    ("tag-history-object", "tag {bundle} x", _copy("history.json", b"{}"), 2, ["history.json", "JSON list"]),
    # corrupt weights and models: say so (never advise unsafe loading, never "not found")
    ("weights-zeroed", "tag {bundle} x", _copy("weights.npz", bytes(1000)), 2, ["weights.npz", "corrupt"]),
    ("weights-empty", "tag {bundle} x", _copy("weights.npz", b""), 2, ["weights.npz", "corrupt"]),
    ("model-zeroed", "tag {bundle} x --engine keras", _copy("model.keras", bytes(1000)), 2,
     ["model.keras", "corrupt"]),
    # backends
    ("backend-torch", "tag {bundle} x --backend torch", None, 2, ["--backend", "'torch'"]),
    ("backend-torch-compare", "compare --backend=torch", None, 2, ["--backend", "'torch'"]),
    # results that would mean nothing
    ("evaluate-other-language", "evaluate {bundle} --data " + str(SAMPLE_ZH), None, 1, ["shares no word"]),
    ("evaluate-no-shared-label", "evaluate {bundle} --data {tmp}/alien/test.txt --split train", _alien, 1,
     ["shares no entity type", "ALIEN"]),
    ("compare-from-other-language", "compare --data " + str(SAMPLE_ZH) + " --from {bundle} --out {tmp}/c --quiet", None,
     1, ["--from {bundle}", "shares no word"]),
    ("min-freq-zero", "train --data {data} --min-freq 0 --out {tmp}/m", None, 2, ["--min-freq: must be at least 1"]),
    ("train-without-entities", "train --data {tmp}/plain.txt --out {tmp}/m --quiet", _no_entities, 2,
     ["{tmp}/plain.txt", "no entities"]),
    # usage errors are one line too
    ("unknown-command", "frobnicate", None, 2, ["frobnicate", "ner --help"]),
    ("missing-argument", "data stats", None, 2, ["PATH", "ner data stats --help"]),
    ("bad-int", "train --epochs two", None, 2, ["--epochs", "'two'"]),
    ("extra-argument", "info {bundle} extra", None, 2, ["extra"]),
]


@pytest.mark.parametrize("argv, setup, code, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_catalogue(argv, setup, code, words, crf_bundle, small_sample, tmp_path, capsys):
    bundle = setup(crf_bundle, tmp_path) if setup else crf_bundle
    fill = dict(bundle=bundle, data=small_sample, tmp=tmp_path)
    assert main([a.format(**fill) for a in argv.split()]) == code
    err = only_line(capsys.readouterr().err)
    assert err.startswith("ner: error: ")
    for word in words:
        assert word.format(**fill) in err
    assert not any(w in err for w in ("pickle", "unsafe", "File not found"))


def test_keras_backend_variable(crf_bundle, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "bogus")
    assert main(["info", str(crf_bundle)]) == 2
    assert "KERAS_BACKEND: unknown backend 'bogus'" in only_line(capsys.readouterr().err)
    monkeypatch.setenv("KERAS_BACKEND", "bogus")
    assert main(["tag", str(crf_bundle), "x", "--backend", "jax"]) == 0   # the flag wins (numpy engine: no Keras)


def test_backend_not_installed(crf_bundle, monkeypatch, capsys):
    import importlib.util

    monkeypatch.delenv("KERAS_BACKEND", raising=False)   # restored after the test, which main() changes
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else find_spec(name, *a))
    assert main(["tag", str(crf_bundle), "x", "--backend", "jax"]) == 2
    assert only_line(capsys.readouterr().err) == \
        "ner: error: --backend: backend 'jax' is not installed (pip install jax)"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert main(["info", str(crf_bundle)]) == 2
    assert "KERAS_BACKEND: backend 'jax' is not installed" in only_line(capsys.readouterr().err)


def test_permission_denied_and_disk_full(small_sample, tmp_path, monkeypatch, capsys):
    """Errors the OS raises while reading or writing (simulated: the tests run as root)."""
    train = small_sample / "train.txt"
    read_bytes = Path.read_bytes

    def denied(self):
        if self == train:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return read_bytes(self)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "read_bytes", denied)
        assert main(["data", "stats", str(small_sample)]) == 2
        assert only_line(capsys.readouterr().err) == f"ner: error: {train}: Permission denied"

    disk_full(monkeypatch)
    out = tmp_path / "out" / "train.bioes"
    assert main(["data", "convert", str(train), str(out), "--to", "bioes"]) == 2
    assert only_line(capsys.readouterr().err) == f"ner: error: {out}: No space left on device"
    assert list(out.parent.iterdir()) == []   # no temporary file left behind


def test_partial_label_overlap_warns_on_stderr(crf_bundle, small_sample, tmp_path, capsys):
    (tmp_path / "test.txt").write_text("Zorg B-ALIEN\nmet O\nMerkel B-PER\nin O\nParis B-LOC\n")
    assert main(["evaluate", str(crf_bundle), "--data", str(tmp_path / "test.txt"), "--split", "train"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == "ner: warning: labels the model never saw (counted as missed): ALIEN (1)"
    assert "ALIEN" in captured.out and "never saw" not in captured.out


def test_interrupt_exits_130_everywhere(crf_bundle, small_sample, tmp_path, monkeypatch, capsys):
    from ner.inference.tagger import Tagger
    from ner.model.network import SequenceTagger

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Tagger, "tag_many", interrupt)
    assert main(["tag", str(crf_bundle), "x"]) == 130
    assert only_line(capsys.readouterr().err) == "ner: interrupted"
    monkeypatch.setattr(SequenceTagger, "fit", interrupt)   # Ctrl-C before the first epoch ended
    out = tmp_path / "m"
    assert main(["train", "--data", str(small_sample), "--encoder", "lstm", "--hidden", "4", "--word-dim", "4",
                 "--out", str(out), "--quiet"]) == 130
    assert only_line(capsys.readouterr().err) == "ner: interrupted before the first epoch ended: no bundle written"
    assert not out.exists()


def test_out_of_memory_is_one_line(crf_bundle, monkeypatch, capsys):
    """However a library re-raises it (Keras turns TensorFlow's ResourceExhaustedError into a TypeError)."""
    from ner.inference.tagger import Tagger

    class ResourceExhaustedError(Exception):
        pass

    def exhausted(*args, **kwargs):
        try:
            raise ResourceExhaustedError("OOM when allocating tensor")
        except ResourceExhaustedError:   # re-raised as Keras does: the original only in __context__
            raise TypeError("__init__() missing 2 required positional arguments")  # noqa: B904

    def memory_error(*args, **kwargs):
        raise MemoryError

    for fail in (exhausted, memory_error):
        monkeypatch.setattr(Tagger, "tag_many", fail)
        assert main(["tag", str(crf_bundle), "x"]) == 1
        assert only_line(capsys.readouterr().err) == \
            "ner: error: out of memory; try a smaller --batch-size, --hidden or --word-dim"
    monkeypatch.setattr(Tagger, "tag_many", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):   # a bug stays a traceback
        main(["tag", str(crf_bundle), "x"])


def test_a_worker_that_dies_is_one_line(small_sample, tmp_path, monkeypatch, capsys):
    """``compare --jobs 2`` whose worker process is killed (out of memory, say): exit 1, one line."""
    import concurrent.futures as futures

    class DeadPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, *args, **kwargs):
            future = futures.Future()
            future.set_exception(futures.process.BrokenProcessPool("A child process terminated abruptly"))
            return future

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(futures, "ProcessPoolExecutor", DeadPool)
    assert main(["compare", "--data", str(small_sample), "--encoders", "lstm", "--heads", "crf", "--jobs", "2",
                 "--out", str(tmp_path / "c"), "--quiet"]) == 1
    assert "lstm-crf-s1: the worker process running it died" in only_line(capsys.readouterr().err)


@pytest.mark.slow
def test_stdout_holds_only_the_result(small_sample, tmp_path, capsys):
    """`path=$(ner train ...)` works: Keras' epoch lines and the progress go to stderr."""
    out = tmp_path / "m"
    assert main(["train", "--data", str(small_sample), "--encoder", "lstm", "--hidden", "4", "--word-dim", "4",
                 "--epochs", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out}\n"
    assert "loss" in captured.err and "epoch 1/1" in captured.err


def test_tagger_api_types(crf_bundle, small_sample):
    import ner
    from ner.errors import NerError
    from ner.inference.tagger import Tagger

    tagger = Tagger.load(crf_bundle)
    for call in (lambda: tagger.tag_many("Angela Merkel"), lambda: tagger.tag_tokens("Angela Merkel"),
                 lambda: tagger.tag_sentences(["Angela Merkel"])):
        with pytest.raises(TypeError, match="single str"):
            call()
    with pytest.raises(TypeError, match=r"tokens\[1\]: expected str, got int"):
        tagger.tag_tokens(["Angela", 5])
    with pytest.raises(TypeError, match=r"texts\[1\]: expected str, got NoneType"):
        tagger.tag_many(["Angela Merkel", None])
    with pytest.raises(TypeError, match=r"sentences\[1\]: expected a sequence, got NoneType"):
        tagger.tag_sentences([["Paris"], None])
    texts = ["Angela Merkel visited Paris.", "Hello"]
    assert tagger.tag_many(t for t in texts) == tagger.tag_many(texts)
    assert tagger.tag_tokens(iter(["Angela", "Merkel"])) == tagger.tag_tokens(["Angela", "Merkel"])
    assert tagger.tag_sentences(iter([["Paris"], []])) == [tagger.tag_tokens(["Paris"]), []]
    for call in (lambda: Tagger.load(None), lambda: ner.evaluate(str(crf_bundle), None),
                 lambda: ner.load_corpus(None)):
        with pytest.raises(NerError, match="NoneType"):
            call()


def test_console_script_end_to_end(crf_bundle, small_sample):
    """Through a real process (``ner.cli.run`` leaves through os._exit): exit code and one line, no traceback."""
    env = {**os.environ, "KERAS_BACKEND": "bogus"}
    for argv, code, words in ((["info", str(crf_bundle)], 2, "KERAS_BACKEND"),
                              (["tag", str(crf_bundle), "--input", str(small_sample)], 2, "needed when --input is a")):
        done = subprocess.run([sys.executable, "-m", "ner", *argv], cwd=ROOT, capture_output=True, text=True,
                              env=env if words == "KERAS_BACKEND" else None, timeout=120)
        assert done.returncode == code and done.stdout == ""
        assert done.stderr.startswith("ner: error: ") and words in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_info_still_reads_a_good_bundle(crf_bundle, capsys):
    assert main(["info", str(crf_bundle), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["encoder"] == "bilstm-cnn" and info["head"] == "crf" and info["data"]["sentences"]
