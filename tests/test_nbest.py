"""n-best analyses: the numpy k-best Viterbi against brute-force enumeration, ``Tagger.tag(text, nbest=k)`` on both
engines, ``ner tag --nbest``."""

import itertools
import json

import numpy as np
import pytest

from ner.inference.runtime import NumpyModel, nbest_paths
from ner.inference.tagger import Tagger

from helpers import OLD_BUNDLES, cli, one_line_error

CRF_BUNDLE = OLD_BUNDLES / "fused-crf-adam"
SOFTMAX_BUNDLE = OLD_BUNDLES / "conv-softmax-sgd"
TEXT = "The ferry from Oban to Craignure was cancelled because of high winds . Anna Lindqvist flew home ."


def path_score(path, emissions, start, trans, end):
    return start[path[0]] + sum(emissions[t, tag] for t, tag in enumerate(path)) + end[path[-1]] + sum(
        trans[a, b] for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("tags, steps, k", [(3, 4, 5), (2, 3, 8), (2, 2, 6), (4, 3, 1), (3, 1, 4)])
def test_k_best_paths_are_the_brute_force_k_best(tags, steps, k):
    """Every sentence length up to ``steps`` in one batch; k above the number of paths leaves -inf scores."""
    rng = np.random.default_rng(tags * 100 + steps * 10 + k)
    lengths = np.arange(1, steps + 1)
    emissions = rng.normal(size=(len(lengths), steps, tags))
    start, trans, end = rng.normal(size=tags), rng.normal(size=(tags, tags)), rng.normal(size=tags)
    trans[0, 1] = -1e4   # a forbidden move, as constraint penalties make it
    paths, scores = nbest_paths(emissions, lengths, start, trans, end, k)
    for row, n in enumerate(lengths):
        brute = sorted((path_score(p, emissions[row], start, trans, end), p)
                       for p in itertools.product(range(tags), repeat=int(n)))[::-1]
        found = [s for s in scores[row] if s > -np.inf]
        assert len(found) == min(k, len(brute))
        np.testing.assert_allclose(found, [s for s, _ in brute[:len(found)]], rtol=1e-9)
        for j in range(len(found)):   # each path scores what it claims (ties may come in any order)
            assert path_score(tuple(paths[row, j, :n]), emissions[row], start, trans, end) == pytest.approx(found[j])
            assert not paths[row, j, n:].any()


def test_probabilities_sum_to_one_over_all_paths():
    rng = np.random.default_rng(5)
    lengths = np.array([3, 2])
    runtime = NumpyModel.load(CRF_BUNDLE)
    k = len(runtime.transitions)
    start, trans, end = rng.normal(size=k), rng.normal(size=(k, k)), rng.normal(size=k)
    runtime.w.update(crf_start=start, crf_transitions=trans, crf_end=end)
    emissions = rng.normal(size=(2, 3, k))
    paths, scores = runtime.nbest(emissions, lengths, k ** 3)
    _, _, log_z = runtime.forward_backward(emissions, lengths)
    for row in range(2):
        probs = np.exp(scores[row][scores[row] > -np.inf] - log_z[row])
        assert probs.sum() == pytest.approx(1.0) and (np.diff(probs) <= 1e-12).all()


def test_tagger_nbest_on_both_engines():
    """The first analysis is what ``tag`` finds; probabilities fall; both engines agree."""
    results = {}
    for engine in ("numpy", "keras"):
        tagger = Tagger.load(CRF_BUNDLE, engine=engine)
        sentences = tagger.tag(TEXT, nbest=4)
        assert len(sentences) == 2 and sentences[0]["start"] == 0 and TEXT[sentences[1]["start"]:].startswith("Anna")
        best = [e for s in sentences for e in s["analyses"][0]["entities"]]
        assert best == [{k: v for k, v in e.items() if k != "score"} for e in tagger.tag(TEXT)]
        for s in sentences:
            probs = [a["probability"] for a in s["analyses"]]
            assert len(probs) == 4 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
        results[engine] = sentences
    for a, b in zip(results["numpy"], results["keras"]):
        assert [x["entities"] for x in a["analyses"]] == [x["entities"] for x in b["analyses"]]
        np.testing.assert_allclose([x["probability"] for x in a["analyses"]],
                                   [x["probability"] for x in b["analyses"]], rtol=1e-4)


def test_nbest_on_the_command_line_and_its_refusals(capsys):
    code, stdout, _ = cli(capsys, "tag", CRF_BUNDLE, TEXT, "--nbest", 2)
    line = json.loads(stdout)
    assert code == 0 and line["text"] == TEXT and [len(s["analyses"]) for s in line["sentences"]] == [2, 2]
    assert cli(capsys, "tag", CRF_BUNDLE, "--nbest", 2, TEXT)[:2] == (0, stdout), "options may precede the texts"
    assert one_line_error(capsys, ["tag", CRF_BUNDLE, TEXT, "--nbest", 2, "--format", "conll"]) == \
        "ner: error: --nbest: needs 1 <= K <= 1000 and text input in the json format"
    assert one_line_error(capsys, ["tag", CRF_BUNDLE, TEXT, "--nbest", 0]).startswith("ner: error: --nbest:")
    assert one_line_error(capsys, ["tag", SOFTMAX_BUNDLE, TEXT, "--nbest", 2]) == \
        f"ner: error: {SOFTMAX_BUNDLE}: n-best analyses need a CRF head (this model has softmax)"


def test_forbidden_paths_never_show_as_analyses():
    """The constraint penalties are finite scores: paths through them have probability 0 and are left out."""
    tagger = Tagger.load(CRF_BUNDLE, engine="numpy")
    (sentence,) = tagger.tag("Paris .", nbest=50)
    probs = [a["probability"] for a in sentence["analyses"]]
    assert 0 < len(probs) < 50 and all(p > 0 for p in probs) and sum(probs) == pytest.approx(1.0, abs=1e-6)


def test_nbest_refuses_conll_input_found_by_its_suffix(capsys, tmp_path):
    conll = tmp_path / "x.conll"
    conll.write_text("Paris\n.\n")
    assert one_line_error(capsys, ["tag", CRF_BUNDLE, "--input", conll, "--nbest", 2]).startswith(
        "ner: error: --nbest: needs")
