"""The claims logic on made-up results (no training): supported, contradicted, inconclusive, not tested."""

import zlib

import numpy as np
import pytest
from seqeval.metrics import f1_score

from ner.comparison import verdicts as V

N = 400                                   # test sentences, one gold entity each
LONG = np.arange(N) >= N // 2             # the second half are long sentences
OOV = np.arange(N) % 4 == 0               # a quarter of the entities contain an unseen word


def fake(encoder, head, short=0.8, long=None, oov=None, seeds=3, params=1000, decode=1e-3, epoch=2.0,
         ill=0, jitter=0.0):
    """A System whose seeds find each entity with the given probabilities (per sentence kind)."""
    rng = np.random.default_rng(zlib.crc32(f"{encoder}-{head}".encode()))
    rate = np.where(LONG, short if long is None else long, short)
    if oov is not None:
        rate = np.where(OOV, oov, rate)
    per_seed = []
    for s in range(seeds):
        tp = (rng.random(N) < rate + jitter * (s - (seeds - 1) / 2)).astype(np.int64)
        per_seed.append(np.stack([tp, np.ones(N, np.int64), np.ones(N, np.int64)], axis=1))
    counts = np.stack(per_seed)
    subsets = {"all": counts, "long": counts * LONG[None, :, None], "short": counts * ~LONG[None, :, None],
               "oov": counts * OOV[None, :, None]}
    return V.System(encoder, head, subsets, params, decode_seconds=[decode * (1 + 0.01 * i) for i in range(4)],
                    epoch_seconds=[epoch * (1 + 0.01 * i) for i in range(4)], ill_formed=[ill] * seeds)


def grid(overrides=None):
    """Four encoders × two heads where every claim holds clearly; ``overrides`` replace systems."""
    systems = {
        ("rnn", "softmax"): fake("rnn", "softmax", short=0.55, long=0.25, params=900, decode=1.0e-3, ill=30),
        ("rnn", "crf"): fake("rnn", "crf", short=0.75, long=0.55, params=950, decode=1.5e-3),
        ("lstm", "softmax"): fake("lstm", "softmax", short=0.65, long=0.6, params=1200, decode=1.0e-3, ill=20),
        ("lstm", "crf"): fake("lstm", "crf", short=0.7, long=0.65, params=1250, decode=1.5e-3),
        ("bilstm", "softmax"): fake("bilstm", "softmax", short=0.85, long=0.85, oov=0.4, params=2400,
                                    decode=2.0e-3, epoch=4.0, ill=10),
        ("bilstm", "crf"): fake("bilstm", "crf", short=0.9, long=0.9, oov=0.45, params=2450, decode=3.0e-3,
                                epoch=4.0),
        ("bilstm-cnn", "softmax"): fake("bilstm-cnn", "softmax", short=0.9, oov=0.8, params=3000, ill=5),
        ("bilstm-cnn", "crf"): fake("bilstm-cnn", "crf", short=0.92, oov=0.85, params=3050, decode=2e-3),
    }
    systems.update(overrides or {})
    return [s for s in systems.values() if s is not None]


def by_id(results):
    return {v["id"]: v for v in results}


def test_counts_add_up_to_seqeval():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"], ["O"], ["B-MISC", "O", "B-PER"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "I-ORG", "I-ORG"], ["B-LOC"], ["B-MISC", "O", "O"]]
    tokens = [["Ann", "Lee", "in", "Oslo"], ["the", "Xyzzy", "Corp"], ["Rome"], ["Dutch", "and", "Bob"]]
    counts = V.subset_counts(tokens, gold, pred, "bio", vocabulary={"ann", "lee", "in", "oslo", "the", "dutch"})
    assert V.f1_of(counts["all"].sum(0)) == pytest.approx(f1_score(gold, pred))
    # OOV entities: Xyzzy Corp (gold), Rome (predicted), Bob (gold) and the I-ORG run read as an entity
    assert counts["oov"].sum(0).tolist() == [0, 2, 2]
    assert counts["1-10"].sum(0).tolist() == counts["all"].sum(0).tolist()
    assert counts["long"].sum() == 0


def test_bioes_counts_match_seqeval():
    gold = [["S-PER", "O", "B-LOC", "E-LOC"], ["B-ORG", "I-ORG", "E-ORG"]]
    pred = [["S-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "I-ORG", "E-ORG"]]
    counts = V.sentence_counts(gold, pred, "bioes")
    assert V.f1_of(counts.sum(0)) == pytest.approx(f1_score(gold, pred))


def test_clear_differences_are_supported():
    results = by_id(V.judge(grid(), resamples=300))
    for key in "abcde":
        assert results[key]["verdict"] == V.SUPPORTED, results[key]["summary"]
    check = results["b"]["parts"][0]["checks"][0]
    lo, hi = check["interval"]
    assert lo > 0 and check["difference"] > check["spread"]
    assert "bilstm − lstm" in check["text"] and "exceeds the seed spread" in check["text"]


def rename(systems, mapping):
    for s in systems:
        s.encoder = mapping.get(s.encoder, s.encoder)
    return systems


def test_reversed_differences_are_contradicted():
    results = by_id(V.judge(rename(grid(), {"lstm": "bilstm", "bilstm": "lstm"}), resamples=300))
    assert results["b"]["verdict"] == V.CONTRADICTED, results["b"]["summary"]
    assert results["e"]["verdict"] == V.CONTRADICTED   # the "bidirectional" model is now the smaller one
    assert results["e"]["parts"][0]["verdict"] == V.CONTRADICTED
    leaky_crf = fake("bilstm-cnn", "crf", short=0.92, oov=0.85, params=3050, decode=2e-3, ill=9)
    softmax = fake("bilstm-cnn", "softmax", short=0.9, oov=0.8, params=3000, ill=5)
    d = by_id(V.judge([softmax, leaky_crf], resamples=300))["d"]
    assert [p["verdict"] for p in d["parts"]] == [V.NOT_TESTED, V.CONTRADICTED]
    assert "softmax 15, crf 27" in d["parts"][1]["checks"][0]["text"] and d["verdict"] == V.CONTRADICTED
    # one leaking CRF among clean ones: the encoders disagree, so the part stays inconclusive
    d = by_id(V.judge(grid({("bilstm-cnn", "crf"): leaky_crf}), resamples=300))["d"]
    assert d["parts"][1]["verdict"] == V.INCONCLUSIVE


def test_small_difference_is_inconclusive_and_says_why():
    systems = [fake("lstm", "crf", short=0.84), fake("bilstm", "crf", short=0.85)]
    result = by_id(V.judge(systems, resamples=300))["b"]
    assert result["verdict"] == V.INCONCLUSIVE
    text = result["parts"][0]["checks"][0]["text"]
    assert "includes 0" in text and "3 seeds on 400 test entities cannot settle" in text


def test_one_seed_is_inconclusive_even_when_the_bootstrap_agrees():
    systems = [fake("lstm", "crf", short=0.5, seeds=1), fake("bilstm", "crf", short=0.9, seeds=1)]
    result = by_id(V.judge(systems, resamples=300))["b"]
    check = result["parts"][0]["checks"][0]
    assert result["verdict"] == V.INCONCLUSIVE and check["interval"][0] > 0 and check["spread"] is None
    assert "one seed" in check["text"]


def test_difference_within_seed_spread_is_inconclusive():
    systems = [fake("lstm", "crf", short=0.75, jitter=0.3), fake("bilstm", "crf", short=0.85, jitter=0.3)]
    check = by_id(V.judge(systems, resamples=300))["b"]["parts"][0]["checks"][0]
    assert check["verdict"] == V.INCONCLUSIVE and check["interval"][0] > 0
    assert "within the seed spread" in check["text"]


def test_missing_configurations_are_not_tested():
    results = by_id(V.judge([fake("bilstm", "crf")], resamples=200))
    assert {v["verdict"] for v in results.values()} == {V.NOT_TESTED}
    assert "needs rnn and lstm" in results["a"]["summary"]
    assert "this comparison has bilstm-crf" in results["a"]["summary"]


def test_timing_needs_margin_and_spread():
    assert V.timing_check("x", "decoding", [1.0, 1.01, 0.99], [1.02, 1.0, 1.01], "s")["verdict"] == V.INCONCLUSIVE
    assert V.timing_check("x", "decoding", [2.0, 2.1, 1.9], [1.0, 1.05, 0.95], "s")["verdict"] == V.SUPPORTED
    assert V.timing_check("x", "decoding", [2.0], [1.0], "s")["verdict"] == V.INCONCLUSIVE
    assert V.timing_check("x", "decoding", [1.0, 1.1], [2.0, 2.1], "s")["verdict"] == V.CONTRADICTED
    busy = V.timing_check("x", "decoding", [2.0, 2.1, 1.9], [1.0, 1.05, 0.95], "s", busy="load average 4.0")
    assert busy["verdict"] == V.INCONCLUSIVE and "machine was busy (load average 4.0)" in busy["text"]


def test_combining_rules():
    assert V.any_of([V.SUPPORTED, V.INCONCLUSIVE]) == V.SUPPORTED
    assert V.any_of([V.SUPPORTED, V.CONTRADICTED]) == V.INCONCLUSIVE
    assert V.any_of([]) == V.NOT_TESTED
    assert V.all_of([V.SUPPORTED, V.NOT_TESTED]) == V.SUPPORTED
    assert V.all_of([V.SUPPORTED, V.INCONCLUSIVE]) == V.INCONCLUSIVE
    assert V.all_of([V.SUPPORTED, V.CONTRADICTED]) == V.CONTRADICTED


def test_verdicts_are_deterministic():
    assert V.judge(grid(), resamples=200) == V.judge(grid(), resamples=200)


def test_document_context_is_judged_only_with_a_document_row_and_documents():
    assert "f" not in by_id(V.judge(grid(), resamples=200))
    systems = grid({("bilstm+document", "crf"): fake("bilstm+document", "crf", short=0.97, long=0.97)})
    assert by_id(V.judge(systems, resamples=200))["f"]["verdict"] == "supported"
    untested = by_id(V.judge(systems, resamples=200, documents=False))["f"]
    assert untested["verdict"] == "not tested" and "marks no documents" in untested["summary"]
