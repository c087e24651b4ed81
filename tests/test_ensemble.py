"""``ner ensemble``: several bundles as one (averaged emissions and CRF scores), on both engines and through every
command that takes a bundle; members that cannot be combined are refused with one line."""

import json
import shutil

import numpy as np
import pytest

import ner
from ner.inference.tagger import Tagger

from helpers import OLD_BUNDLES, TINY_TRAIN, cli, one_line_error

ENGINES = ("numpy", "keras")
MEMBER = OLD_BUNDLES / "fused-crf-adam"   # a 0.1.0 bundle that finds entities
TEXTS = list(json.loads((OLD_BUNDLES / "expected.json").read_text())["tags"]["fused-crf-adam"])


def entities(tagger: Tagger) -> list[list[dict]]:
    return tagger.tag_many(TEXTS)


@pytest.fixture(scope="module")
def second_crf(small_sample, tmp_path_factory):
    """A second CRF member for crf_bundle (same data and vocabulary settings, another seed and encoder)."""
    return ner.train(data=str(small_sample), encoder="bilstm", crf=True,
                     out=str(tmp_path_factory.mktemp("member") / "crf2"), **dict(TINY_TRAIN, seed=4))


@pytest.mark.parametrize("copies", [1, 2])
def test_an_ensemble_of_one_model_tags_exactly_as_the_model(copies, tmp_path, capsys):
    """One member, or the same member twice: the mean is the member's own scores, bit for bit."""
    out = ner.ensemble([MEMBER] * copies, out=tmp_path / "e", verbose=0)
    for engine in ENGINES:
        assert entities(Tagger.load(out, engine=engine)) == entities(Tagger.load(MEMBER, engine=engine))
    code, stdout, _ = cli(capsys, "info", out)
    assert code == 0 and f"members:    {copies}, their emission and transition scores averaged" in stdout
    assert stdout.count(f"  {MEMBER} (bilstm-cnn-fused, seed ") == copies


def test_the_ensemble_averages_its_members_on_both_engines(crf_bundle, second_crf, tmp_path):
    """Emissions are the members' mean, CRF scores their mean; numpy and Keras agree; saving and loading (the
    bundle) changes nothing."""
    from ner.data.arrays import encode_sentence, packed_length, pad_inputs
    from ner.inference.runtime import NumpyModel

    out = ner.ensemble([crf_bundle, second_crf], out=tmp_path / "e", verbose=0)
    runtime = NumpyModel.load(out)
    members = [NumpyModel.load(crf_bundle), NumpyModel.load(second_crf)]
    tagger = Tagger.load(out, engine="numpy")
    sentences = [s.split() for s in ("Peter Blackburn met the EU in Brussels .", "Japan beat Syria 2-1 on Friday .")]
    encoded = [encode_sentence(s, tagger.vocabs) for s in sentences]
    inputs = pad_inputs(encoded, 8, max(packed_length(e, runtime.char_gap) for e in encoded), runtime.char_gap)
    np.testing.assert_allclose(runtime.emissions(inputs), np.mean([m.emissions(inputs) for m in members], axis=0),
                               rtol=1e-6)
    np.testing.assert_allclose(runtime.transitions, np.mean([m.transitions for m in members], axis=0), rtol=1e-6)
    keras_tagger = Tagger.load(out, engine="keras")
    assert keras_tagger.tag_sentences(sentences) == tagger.tag_sentences(sentences)
    for mine, theirs in zip(tagger._predict(sentences), keras_tagger._predict(sentences)):
        np.testing.assert_array_equal(mine[0], theirs[0])
        np.testing.assert_allclose(mine[1][2], theirs[1][2], rtol=1e-4)   # log Z


def test_scores_evaluate_and_data_option(crf_bundle, second_crf, small_sample, tmp_path, capsys):
    out = ner.ensemble([crf_bundle, second_crf], out=tmp_path / "e", data=small_sample, verbose=0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"dev", "test"}
    for engine in ENGINES:
        code, stdout, _ = cli(capsys, "evaluate", out, "--data", small_sample, "--json", "--engine", engine)
        assert code == 0 and json.loads(stdout)["f1"] == pytest.approx(metrics["test"]["f1"])
    meta = json.loads((out / "bundle.json").read_text())
    assert [m["path"] for m in meta["members"]] == [str(crf_bundle), str(second_crf)]


@pytest.mark.parametrize("case", ["labels", "head", "vocabulary", "ensemble"])
def test_members_that_cannot_be_combined_are_refused(case, crf_bundle, softmax_bundle, zh_bundle, tmp_path, capsys):
    if case == "labels":
        argv, message = [crf_bundle, zh_bundle], f"{zh_bundle}: labels "
    elif case == "head":
        argv, message = [crf_bundle, softmax_bundle], f"{softmax_bundle}: head softmax differ from"
    elif case == "vocabulary":
        other = shutil.copytree(crf_bundle, tmp_path / "other")
        vocab = json.loads((other / "vocab.json").read_text())
        vocab["words"]["items"][-1] = "zzzunseen"
        (other / "vocab.json").write_text(json.dumps(vocab))
        argv, message = [crf_bundle, other], f"{other}: its word vocabulary differs from"
    else:
        inner = ner.ensemble([crf_bundle], out=tmp_path / "inner", verbose=0)
        argv, message = [crf_bundle, inner], f"{inner}: is an ensemble; give its members instead"
    line = one_line_error(capsys, ["ensemble", *argv, "--out", tmp_path / "e"])
    assert line.startswith("ner: error: " + message) and not (tmp_path / "e").exists()


def test_an_ensemble_is_no_training_start(crf_bundle, small_sample, tmp_path, capsys):
    out = ner.ensemble([crf_bundle], out=tmp_path / "e", verbose=0)
    message = one_line_error(capsys, ["train", "--data", small_sample, "--init", out, "--out", tmp_path / "m"])
    assert message == f"ner: error: --init: {out} is an ensemble (ner ensemble); start from one of its members"


def test_the_output_rules_apply(crf_bundle, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert "holds files ner did not write" in one_line_error(capsys, ["ensemble", crf_bundle, "--out", mine])
    before = sorted((p.name, p.stat().st_mtime_ns) for p in crf_bundle.iterdir())
    assert "an input of this command" in one_line_error(capsys, ["ensemble", crf_bundle, "--out", crf_bundle])
    assert sorted((p.name, p.stat().st_mtime_ns) for p in crf_bundle.iterdir()) == before


@pytest.mark.slow
def test_compare_from_takes_an_ensemble(crf_bundle, second_crf, small_sample, tmp_path, capsys):
    out = ner.ensemble([crf_bundle, second_crf], out=tmp_path / "e", verbose=0)
    code, stdout, err = cli(capsys, "compare", "--from", out, crf_bundle, "--data", small_sample, "--out",
                            tmp_path / "report", "--quiet", "--resamples", 100)
    assert code == 0, err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert "ensemble2-crf-s1" in json.dumps(report)


@pytest.mark.slow
def test_an_ensemble_loads_with_keras_in_a_new_process(crf_bundle, second_crf, tmp_path):
    """load_model registers the ensemble's class itself (a new process has not imported it)."""
    import subprocess
    import sys

    out = ner.ensemble([crf_bundle, second_crf], out=tmp_path / "e", verbose=0)
    code = f"from ner.bundle import load_model; print(type(load_model({str(out)!r})).__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "EnsembleTagger", done.stderr[-500:]
