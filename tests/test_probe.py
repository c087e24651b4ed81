"""The long-range probe: the generated corpora's invariants (only the cue tells the type), the verdicts on
hand-made result tables, the report, one-line errors for bad parameters, and one tiny sweep end to end."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from ner.commands import probe as command
from ner.comparison import probe as P
from ner.comparison import probe_verdicts as PV
from ner.comparison.verdicts import CONTRADICTED, INCONCLUSIVE, NOT_TESTED, SUPPORTED
from ner.data.conll import read_conll
from ner.data.probe import SIDES, ProbeSpec, cue_blind_tags, cue_reading_tags, generate, lexicon, write_probe
from ner.evaluation import entity_scores
from ner.io.outputs import MARK

from helpers import cli, one_line_error

# small corpora: quick to generate, large enough test splits for the chance-level checks
SMALL = dict(train=600, dev=50, test=1000)
CASES = [("left", 1), ("left", 7), ("left", 30), ("right", 1), ("right", 7), ("right", 30)]
VARIANTS = [dict(noise=0.3, spread=0.0), dict(spread=0.0), dict(spread=1.0, cues=3), dict(types=2, entity_max=3),
            dict(types=6, words=5, fillers=3, pad=0)]
# every task and distance with the default parameters, every variant on both tasks at one distance
CORPORA = [pytest.param(side, k, v, id=f"{side}-k{k}" + "".join(f"-{n}={x}" for n, x in v.items()))
           for side, k, v in [(side, k, {}) for side, k in CASES] + [(side, 7, v) for v in VARIANTS for side in SIDES]]


def spec(side: str = "left", k: int = 7, **kwargs) -> ProbeSpec:
    return ProbeSpec(side=side, distance=k, **{**SMALL, **kwargs})


def chance_tolerance(s: ProbeSpec) -> float:
    """Four standard errors of a rule that is right with probability 1/types on the test entities."""
    return 4 * math.sqrt(s.chance * (1 - s.chance) / s.test)


# ---------------------------------------------------------------- the corpora

@pytest.mark.parametrize("side, k, variant", CORPORA)
def test_only_the_cue_at_distance_k_carries_the_type(side, k, variant):
    s = spec(side, k, **variant)
    lex, splits = lexicon(s), generate(s)
    pool, cue_type = set(lex.entities), lex.cue_type()
    assert not pool & (set(cue_type) | set(lex.fillers)) and not set(cue_type) & set(lex.fillers)
    for name, split in splits.items():
        for i, (tokens, tags) in enumerate(zip(split.tokens, split.tags)):
            start, end, t, cue = int(split.start[i]), int(split.end[i]), int(split.types[i]), int(split.cue[i])
            label = lex.labels[t]
            assert tags[start:end] == [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
            assert all(tag == "O" for j, tag in enumerate(tags) if not start <= j < end)   # cue, fillers: O
            assert all(w in pool for w in tokens[start:end])
            assert not any(w in pool for j, w in enumerate(tokens) if not start <= j < end)
            assert cue_type[tokens[cue]] == t
            d = start - cue if side == "left" else cue - (end - 1)
            assert d == split.distance[i]
            assert d == k if name != "train" else 1 <= d <= k
            if s.noise == 0:   # without decoys the cue is the sentence's only cue word
                assert sum(w in cue_type for w in tokens) == 1


@pytest.mark.parametrize("side, k, variant", CORPORA)
def test_the_cue_reading_rule_scores_100_and_the_cue_blind_rule_chance(side, k, variant):
    s = spec(side, k, **variant)
    splits = generate(s)
    test = splits["test"]
    assert entity_scores(test.tags, cue_reading_tags(s, test.tokens), "bio")["f1"] == 1.0
    blind = entity_scores(test.tags, cue_blind_tags(s, splits["train"], test.tokens), "bio")["f1"]
    assert abs(blind - s.chance) <= chance_tolerance(s), (blind, s.chance)


def majority_rule_accuracy(train_keys, train_types, test_keys, test_types) -> float:
    """Accuracy of predicting the majority training type of each key (ties and unseen keys: type 0)."""
    votes: dict = {}
    for key, t in zip(train_keys, train_types):
        votes.setdefault(key, Counter())[t] += 1
    guess = [max(sorted(votes[k]), key=votes[k].get) if k in votes else 0 for k in test_keys]
    return float(np.mean(np.array(guess) == np.array(test_types)))


@pytest.mark.parametrize("side, k", [("left", 5), ("right", 20)])
def test_positions_and_lengths_vary_and_say_nothing_of_the_type(side, k):
    s = spec(side, k)
    splits = generate(s)
    for name in ("train", "test"):
        split = splits[name]
        assert len({len(t) for t in split.tokens}) >= 2 * s.pad   # lengths vary
        assert len(set(split.start.tolist())) >= s.pad            # so do the entity's positions
    train, test = splits["train"], splits["test"]
    for key in (lambda sp: sp.start.tolist(), lambda sp: [len(t) for t in sp.tokens],
                lambda sp: (sp.end - sp.start).tolist()):
        accuracy = majority_rule_accuracy(key(train), train.types.tolist(), key(test), test.types.tolist())
        assert abs(accuracy - s.chance) <= chance_tolerance(s), accuracy


def test_entity_words_are_one_pool_shared_by_every_type():
    s = spec(words=20)
    train = generate(s)["train"]
    seen = {t: set() for t in range(s.types)}
    for tokens, a, b, t in zip(train.tokens, train.start.tolist(), train.end.tolist(), train.types.tolist()):
        seen[t].update(tokens[a:b])
    assert all(words == set(lexicon(s).entities) for words in seen.values())
    assert set(Counter(train.types.tolist())) == set(range(s.types))


def test_generation_is_seeded_and_the_words_are_the_same_for_every_task():
    a, b = generate(spec("left", 3)), generate(spec("left", 3))
    assert a["test"].tokens == b["test"].tokens and a["train"].tags == b["train"].tags
    assert generate(spec("left", 3, seed=2))["test"].tokens != a["test"].tokens
    assert lexicon(spec("left", 3)) == lexicon(spec("right", 50))
    assert lexicon(spec(seed=2)) != lexicon(spec())
    words = lexicon(ProbeSpec(words=3000, fillers=3000))   # beyond two syllables' half: three syllables
    assert len(set(words.entities) | set(words.fillers)) == 6000
    assert all(re.fullmatch("[A-Za-z]+", w) for w in words.entities + words.fillers)   # no digits (mapped to 0)


def test_files_are_read_back_by_ners_readers(tmp_path):
    from ner.data.corpus import corpus_scheme, load_corpus

    s = spec("right", 4, train=50, dev=10, test=20)
    splits = write_probe(s, tmp_path / "probe")
    assert sorted(p.name for p in (tmp_path / "probe").iterdir()) == ["dev.txt", "test.txt", "train.txt"]
    for name, split in splits.items():
        read = read_conll(tmp_path / "probe" / f"{name}.txt")
        assert [x.tokens for x in read] == split.tokens and [x.tags for x in read] == split.tags
    corpus = load_corpus(str(tmp_path / "probe"))
    assert list(corpus) == ["train", "dev", "test"] and corpus_scheme(corpus) == "bio"
    assert list(corpus["test"]["tokens"]) == splits["test"].tokens


BAD = [(["--types", "1"], "--types: must be between 2 and 26, not 1"),
       (["--words", "0"], "--words: must be between 1 and"),
       (["--fillers", "-3"], "--fillers: must be between 1 and"),
       (["--cues", "101"], "--cues: must be between 1 and 100"),
       (["--entity-max", "0"], "--entity-max: must be between 1 and 10"),
       (["--pad", "-1"], "--pad: must be between 0 and"),
       (["--noise", "1"], "--noise: must be in [0, 1)"),
       (["--noise", "nan"], "--noise: expected a finite number"),
       (["--noise", "0.2"], "--noise: decoys need every training cue at exactly K (--spread 0)"),
       (["--spread", "1.5"], "--spread: must be in [0, 1]"),
       (["--train", "0"], "--train: must be between 1 and"),
       (["--test", "0"], "--test: must be between 1 and"),
       (["--data-seed", "-1"], "--data-seed: must be between 0 and"),
       (["--words", "10000", "--fillers", "10000", "--cues", "100"], "words in all; at most"),
       (["--distances", "0"], "--distances: 0 is out of range"),
       (["--distances", "5,x"], "--distances: 'x' is not a whole number"),
       (["--distances", ","], "--distances: give at least one"),
       (["--tasks", "up"], "--tasks: unknown task 'up'"),
       (["--types", "two"], "argument --types: invalid int value"),
       (["--jobs", "0"], "--jobs: must be at least 1"),
       (["--heads", "mlp"], "--heads: unknown head 'mlp'"),          # training flags: checked with --data-only too
       (["--encoders", "transformer"], "--encoders: unknown encoder 'transformer'"),
       (["--seeds", "0"], "--seeds: must be at least 1"),
       (["--epochs", "0"], "--epochs: must be at least 1"),
       (["--lr", "nan"], "--lr: must be a finite number"),
       (["--hidden", "0"], "--hidden: must be at least 1")]


@pytest.mark.parametrize("args, message", BAD)
def test_bad_parameters_are_one_line_errors_before_any_output(args, message, tmp_path, capsys):
    line = one_line_error(capsys, ["probe", "--data-only", "--out", tmp_path / "out", *args])
    assert message in line, line
    assert not (tmp_path / "out").exists()


def test_data_only_writes_the_corpora_and_refuses_another_kind_of_output(tmp_path, capsys):
    code, out, _ = cli(capsys, "probe", "--data-only", "--out", tmp_path / "p", "--distances", "3", "--tasks",
                       "right", "--train", "20", "--dev", "5", "--test", "5", "--quiet")
    assert code == 0 and out.strip() == str((tmp_path / "p" / "data").resolve())
    assert sorted(p.name for p in (tmp_path / "p" / "data").iterdir()) == ["left-k1", "right-k3"]   # + control
    assert json.loads((tmp_path / "p" / MARK).read_text())["kind"] == "probe"
    other = tmp_path / "compare-report"
    other.mkdir()
    (other / MARK).write_text(json.dumps({"written_by": "ner", "kind": "comparison"}))
    assert "another kind of ner output" in one_line_error(capsys, ["probe", "--data-only", "--out", other])
    assert one_line_error(capsys, ["compare", "--out", tmp_path / "p"]).endswith(
        "is another kind of ner output (probe); choose another folder")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert "ner did not write" in one_line_error(capsys, ["probe", "--data-only", "--out", mine])
    assert (mine / "notes.txt").read_text() == "keep"


def test_sweep_points_and_distances():
    assert P.parse_distances("20, 5,5,1") == [1, 5, 20]
    assert P.parse_distances([3, 2]) == [2, 3]
    assert P.sweep_points(["right"], [5, 10]) == [("left", 1), ("right", 5), ("right", 10)]
    assert P.sweep_points(["left", "right"], [1, 5]) == [("left", 1), ("left", 5), ("right", 1), ("right", 5)]
    assert P.parse_tasks("right,left") == ["left", "right"]


def test_the_help_states_the_defaults_in_force():
    assert command.DEFAULTS == {"encoders": ",".join(P.ENCODERS), "heads": ",".join(P.HEADS),
                                "distances": ",".join(map(str, P.DISTANCES)), "tasks": ",".join(SIDES),
                                "seeds": P.SEEDS, "epochs": P.EPOCHS}
    spec_defaults = {f.name: f.default for f in fields(ProbeSpec)}
    for field, _, _, text in command._CORPUS.values():
        assert f"(default {spec_defaults[field]:g})" in text, (field, text)
    from ner.training.config import TrainConfig

    train_defaults = {f.name: f.default for f in fields(TrainConfig)} | P.TRAINING
    for field, _, _, text in command._TRAINING.values():
        assert re.search(rf"default {train_defaults[field]:g}\)", text), (field, text)
    assert set(P.TRAINING) <= {field for field, *_ in command._TRAINING.values()}


# ---------------------------------------------------------------- verdicts on hand-made tables

GOOD_BREAK = {  # (encoder, task) -> {K: F1}: the rnn breaks at 10, the lstm at 50; only the bilstm reads right
    ("rnn", "left"): {1: 1.0, 5: 0.97, 10: 0.45, 20: 0.26, 50: 0.25},
    ("lstm", "left"): {1: 1.0, 5: 1.0, 10: 0.99, 20: 0.97, 50: 0.40},
    ("bilstm", "left"): {1: 1.0, 5: 1.0, 10: 0.99, 20: 0.98, 50: 0.45},
    ("rnn", "right"): {1: 0.26, 5: 0.25, 10: 0.24, 20: 0.25, 50: 0.26},
    ("lstm", "right"): {1: 0.25, 5: 0.26, 10: 0.25, 20: 0.24, 50: 0.25},
    ("bilstm", "right"): {1: 1.0, 5: 0.99, 10: 0.98, 20: 0.97, 50: 0.50},
}


def rows(curves: dict, head: str = "crf", width: float = 0.03) -> list[dict]:
    """Probe rows with a bootstrap interval of ± ``width`` around each F1."""
    return [{"encoder": e, "head": head, "task": t, "distance": k, "f1": f,
             "interval": [max(0.0, f - width), min(1.0, f + width)]}
            for (e, t), curve in curves.items() for k, f in curve.items()]


def verdicts(table: list[dict]) -> dict:
    return {v["id"]: v for v in PV.judge_probe(table)}


def changed(**curves) -> dict:
    """GOOD_BREAK with some curves replaced: ``rnn_left={...}``."""
    out = dict(GOOD_BREAK)
    for key, curve in curves.items():
        encoder, task = key.rsplit("_", 1)
        out[encoder, task] = curve
    return out


def test_rnn_breaking_before_the_lstm_supports_a_and_only_the_bilstm_reading_right_supports_b():
    v = verdicts(rows(GOOD_BREAK))
    assert v["a"]["verdict"] == SUPPORTED and v["b"]["verdict"] == SUPPORTED
    check = v["a"]["parts"][0]["checks"][0]
    assert (check["rnn_breaks_at"], check["lstm_breaks_at"]) == (10, 50)
    assert "K = 10" in check["text"] and "K = 50" in check["text"]
    assert [p["verdict"] for p in v["b"]["parts"]] == [SUPPORTED, SUPPORTED]


def test_an_lstm_that_holds_over_the_whole_sweep_still_supports_a():
    v = verdicts(rows(changed(lstm_left={1: 1.0, 5: 1.0, 10: 1.0, 20: 0.99, 50: 0.98})))
    assert v["a"]["verdict"] == SUPPORTED
    assert "holds up to K = 50" in v["a"]["summary"]


@pytest.mark.parametrize("curves, why", [
    (changed(lstm_left={1: 1.0, 5: 1.0, 10: 0.5, 20: 0.3, 50: 0.25}), "breaks no later than the rnn"),
    (changed(lstm_left={1: 1.0, 5: 0.6, 10: 0.3, 20: 0.3, 50: 0.25}), "breaks no later than the rnn"),
    (changed(rnn_left={1: 1.0, 5: 1.0, 10: 0.99, 20: 0.95, 50: 0.92}), "no forgetting by the rnn"),
])
def test_a_claim_that_does_not_show_is_contradicted(curves, why):
    v = verdicts(rows(curves))
    assert v["a"]["verdict"] == CONTRADICTED and why in v["a"]["summary"]


def test_a_is_inconclusive_when_an_interval_reaches_the_threshold_or_the_control_fails():
    table = rows(changed(rnn_left={1: 1.0, 5: 0.97, 10: 0.88, 20: 0.3, 50: 0.25}))   # 0.88 ± 0.03 vs 0.90
    assert verdicts(table)["a"]["verdict"] == INCONCLUSIVE
    failed = verdicts(rows(changed(rnn_left={1: 0.5, 5: 0.3, 10: 0.25, 20: 0.25, 50: 0.25})))
    assert failed["a"]["verdict"] == INCONCLUSIVE and "did not solve the control" in failed["a"]["summary"]


def test_a_unidirectional_encoder_solving_the_right_task_contradicts_b():
    v = verdicts(rows(changed(lstm_right={1: 0.3, 5: 0.97, 10: 0.3, 20: 0.25, 50: 0.25})))
    assert v["b"]["verdict"] == CONTRADICTED
    uni = v["b"]["parts"][1]
    assert uni["verdict"] == CONTRADICTED and "lstm-crf" in uni["checks"][1]["text"]
    assert "K = 5" in uni["checks"][1]["text"]


def test_a_bidirectional_encoder_failing_the_right_task_contradicts_b():
    v = verdicts(rows(changed(bilstm_right={1: 1.0, 5: 0.3, 10: 0.25, 20: 0.25, 50: 0.25})))
    assert v["b"]["verdict"] == CONTRADICTED and v["b"]["parts"][0]["verdict"] == CONTRADICTED


def test_b_needs_both_kinds_of_encoder_and_right_task_points_beyond_1():
    only_bi = {k: c for k, c in GOOD_BREAK.items() if k[0] == "bilstm"}
    v = verdicts(rows(only_bi))
    assert v["a"]["verdict"] == NOT_TESTED and v["b"]["verdict"] == NOT_TESTED
    assert v["b"]["parts"][1]["verdict"] == NOT_TESTED and "unidirectional" in v["b"]["parts"][1]["reason"]
    uni_solves = {k: c for k, c in changed(rnn_right={1: 0.3, 5: 0.99}).items() if k[0] == "rnn"}
    assert verdicts(rows(uni_solves))["b"]["verdict"] == CONTRADICTED   # a tested part that contradicts
    left_only = {k: c for k, c in GOOD_BREAK.items() if k[1] == "left"}
    assert verdicts(rows(left_only))["b"]["verdict"] == NOT_TESTED


def test_every_head_must_show_it():
    table = rows(GOOD_BREAK, "crf") + rows(changed(rnn_left={1: 1.0, 5: 1.0, 10: 1.0, 20: 1.0, 50: 1.0}),
                                           "softmax")
    v = verdicts(table)
    assert v["a"]["verdict"] == CONTRADICTED and v["b"]["verdict"] == SUPPORTED
    assert [c["verdict"] for c in v["a"]["parts"][0]["checks"]] == [SUPPORTED, CONTRADICTED]


def test_encoders_neither_uni_nor_bidirectional_are_not_judged():
    assert PV.reads_right("bilstm-cnn") and PV.reads_right("bigru")
    assert PV.reads_right("gru") is False and PV.reads_right("cnn") is None
    table = rows({**GOOD_BREAK, ("cnn", "left"): {1: 1.0}, ("cnn", "right"): {1: 1.0, 5: 1.0}})
    assert verdicts(table)["b"]["verdict"] == SUPPORTED


# ---------------------------------------------------------------- the report

def hand_made_report(table: list[dict]) -> dict:
    context = {"out": "x", "backend": "tensorflow", "cores": 2, "encoders": ["rnn", "lstm", "bilstm"],
               "heads": ["crf"], "seeds": 1, "epochs": 3, "tasks": ["left", "right"], "distances": [1, 5, 10, 20, 50],
               "settings": dict(P.TRAINING), "resamples": 1000, "jobs": 1,
               "corpus": {**{f.name: f.default for f in fields(ProbeSpec)}, "chance": 0.25}}
    for r in table:
        r.update(config=f"{r['encoder']}-{r['head']}", std=None, seeds=[1], train_seconds=[1.0])
    cells = [{"task": t, "distance": k, "name": f"{t}-k{k}", "chance": 0.25, "cue_blind_f1": 0.25,
              "cue_reading_f1": 1.0, "sentences": {"train": 2000, "dev": 300, "test": 500}, "test_mean_length": 9.5}
             for t, k in P.sweep_points(["left", "right"], [1, 5, 10, 20, 50])]
    return {"created": "now", "context": context, "cells": cells, "rows": table,
            "verdicts": PV.judge_probe(table), "figures": [P.FIGURE], "notes": P.notes(table, context)}


def test_report_files_from_a_hand_made_table(tmp_path):
    report = hand_made_report(rows(GOOD_BREAK))
    figure = P.distance_figure(report)
    axis = figure.axes[0]
    assert len(figure.axes) == 1 and len(axis.lines) >= 6   # a line per encoder and task, and chance
    labels = axis.get_legend_handles_labels()[1]
    assert {f"{e}, {t}" for e, t in GOOD_BREAK} <= set(labels) and "chance" in labels
    path = P.write_report(tmp_path, report)
    text = path.read_text()
    assert "![F1 against dependency distance](f1_vs_distance.png)" in text
    assert "— **supported**" in text and "## How verdicts are decided" in text
    assert (tmp_path / P.FIGURE).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert json.loads((tmp_path / "report.json").read_text())["verdicts"][0]["id"] == "a"


# ---------------------------------------------------------------- end to end

@pytest.mark.slow
def test_a_tiny_sweep_end_to_end_and_resumed(tmp_path, capsys):
    out = tmp_path / "probe"
    argv = ["probe", "--out", out, "--encoders", "rnn,bilstm", "--heads", "crf", "--distances", "2",
            "--tasks", "left,right", "--seeds", "1", "--epochs", "1", "--train", "40", "--dev", "10", "--test", "20",
            "--hidden", "8", "--word-dim", "8", "--resamples", "100"]
    code, printed, err = cli(capsys, *argv)
    assert code == 0, err
    assert Path(printed.strip()) == (out / "report.md").resolve()
    assert (out / P.FIGURE).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    report = json.loads((out / "report.json").read_text())
    points = {(r["config"], r["task"], r["distance"]) for r in report["rows"]}
    assert points == {(c, t, k) for c in ("rnn-crf", "bilstm-crf") for t, k in (("left", 1), ("left", 2), ("right", 2))}
    assert all(0 <= r["interval"][0] <= r["interval"][1] <= 1 for r in report["rows"])
    assert [v["id"] for v in report["verdicts"]] == ["a", "b"]
    assert report["verdicts"][0]["verdict"] == NOT_TESTED   # no lstm in this sweep
    assert all(c["cue_reading_f1"] == 1.0 for c in report["cells"])
    for point in ("left-k1", "left-k2", "right-k2"):
        assert (out / "grids" / point / "runs" / "rnn-crf-s1" / "predictions.txt").is_file()
        assert sorted(p.name for p in (out / "data" / point).iterdir()) == ["dev.txt", "test.txt", "train.txt"]
    code, _, err = cli(capsys, *argv)   # a rerun trains nothing and writes the same numbers
    assert code == 0 and err.count("already complete") == 6 and "training" not in err
    again = json.loads((out / "report.json").read_text())
    assert again["rows"] == report["rows"] and again["verdicts"] == report["verdicts"]
