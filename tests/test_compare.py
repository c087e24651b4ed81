"""`ner compare` end to end on a tiny grid: report numbers against seqeval on the written predictions,
resuming, --from, and one-line errors for bad input."""

import contextlib
import io
import json
from pathlib import Path

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

import ner
from ner import cli
from ner.comparison import grid as C
from ner.comparison.figures import FIGURES
from ner.comparison.results import BUSY_LOAD
from ner.comparison.verdicts import BUCKETS, INCONCLUSIVE, NOT_TESTED

from helpers import SAMPLE, one_line_error

# ner.compare settings: a 2 encoders x 2 heads grid of tiny models, one seed, one epoch
TINY_COMPARE = dict(encoders="lstm,bilstm", heads="softmax,crf", seeds=1, epochs=1, max_train=40, hidden=16,
                    word_dim=16, resamples=200)
RUNS = ["lstm-softmax-s1", "lstm-crf-s1", "bilstm-softmax-s1", "bilstm-crf-s1"]


def sentences(path: Path) -> list[str]:
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    return [b for b in blocks if b.strip() and not b.startswith("-DOCSTART-")]


def read_predictions(path: Path):
    tokens, gold, pred = [], [], []
    for block in sentences(path):
        rows = [line.split() for line in block.splitlines()]
        tokens.append([r[0] for r in rows])
        gold.append([r[-2] for r in rows])
        pred.append([r[-1] for r in rows])
    return tokens, gold, pred


def run_compare(**kwargs) -> tuple[Path, str]:
    """ner.compare in this process, returning (report.md path, its progress output)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        path = ner.compare(**kwargs)
    return Path(path), err.getvalue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small slice of the sample corpus and a 2 encoders × 2 heads grid trained on it (1 epoch)."""
    root = tmp_path_factory.mktemp("compare")
    data = root / "data"
    data.mkdir()
    for split, n in (("train", 60), ("dev", 30), ("test", 50)):
        (data / f"{split}.txt").write_text("\n\n".join(sentences(SAMPLE / f"{split}.txt")[:n]) + "\n")
    patch = pytest.MonkeyPatch()
    patch.setattr(C, "DECODE_SECONDS", 0.05)
    patch.setattr(C, "load_average", lambda: 0.0)  # a quiet machine, however busy the real one is
    path, log = run_compare(data=str(data), out=str(root / "out"), **TINY_COMPARE)
    yield {"data": data, "out": root / "out", "report": path, "log": log, "root": root}
    patch.undo()


@pytest.mark.slow
def test_report_matches_seqeval_on_written_predictions(tiny):
    out = tiny["out"]
    assert tiny["report"] == out / "report.md"
    assert "[1/4] training lstm-softmax-s1" in tiny["log"] and "[4/4] training bilstm-crf-s1" in tiny["log"]
    report = json.loads((out / "report.json").read_text())
    assert [r["name"] for r in report["runs"]] == RUNS
    configs = {c["name"]: c for c in report["configurations"]}
    for run in report["runs"]:
        folder = out / "runs" / run["name"]
        tokens, gold, pred = read_predictions(folder / "predictions.txt")
        assert len(tokens) == report["test"]["sentences"] == 50
        assert run["precision"] == pytest.approx(precision_score(gold, pred))
        assert run["recall"] == pytest.approx(recall_score(gold, pred))
        assert run["f1"] == pytest.approx(f1_score(gold, pred))
        per_type = classification_report(gold, pred, output_dict=True, zero_division=0)
        for label, f1 in run["per_type"].items():
            assert f1 == pytest.approx(per_type[label]["f1-score"])
        for name, lo, hi in BUCKETS:
            keep = [i for i, t in enumerate(tokens) if lo <= len(t) <= hi]
            g, p = [gold[i] for i in keep], [pred[i] for i in keep]
            expected = f1_score(g, p) if any(t != "O" for s in g + p for t in s) else None
            assert run["length_buckets"][name] == pytest.approx(expected)
        bundle = json.loads((folder / "model" / "bundle.json").read_text())
        assert run["parameters"] == bundle["parameters"] and run["best_epoch"] == bundle["best_epoch"]
        assert run["sentences_per_second"] > 0 and run["train_alone"] is True
        if run["head"] == "crf":
            assert run["ill_formed"] == 0  # constrained CRF decoding never breaks the scheme
        config = configs[run["config"]]
        assert config["f1"]["mean"] == pytest.approx(run["f1"]) and config["f1"]["std"] is None
    assert report["context"]["max_train"] == 40
    assert len(sentences(out / "data" / "train.txt")) == 40


@pytest.mark.slow
def test_report_files_and_verdicts(tiny):
    out = tiny["out"]
    page = (out / "index.html").read_text()
    markdown = (out / "report.md").read_text()
    assert f"<code>ner serve {out} --data {tiny['data']}</code>" in page   # opens these runs in the browser
    report = json.loads((out / "report.json").read_text())
    summary = report["summary"]   # the answers first: the summary's verdicts are the detailed ones
    assert [(c["id"], c["verdict"], c["claim"]) for c in summary["claims"]] == \
        [(v["id"], v["verdict"], v["claim"]) for v in report["verdicts"]]
    assert page.index("<h2 id='summary'>") < page.index("<h2>Settings</h2>") < page.index("<h2 id='claims'>")
    assert markdown.index("## Summary") < markdown.index("## Settings") and "``" not in page
    for claim in summary["claims"]:
        assert f"href='#claim-{claim['id']}'" in page and f"id='claim-{claim['id']}'" in page
    assert summary["one_seed"]["command"].endswith(f"--seeds 3 --out {out}")   # one seed: how to settle it
    top = markdown[:markdown.index("## Settings")]   # said once there, not on every verdict's line
    assert "use --seeds 3 or more" not in top and top.count(summary["one_seed"]["command"]) == 1
    for name in FIGURES:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"src='{name}'" in page and f"({name})" in markdown
    verdicts = {v["id"]: v for v in json.loads((out / "report.json").read_text())["verdicts"]}
    assert verdicts["a"]["verdict"] == verdicts["c"]["verdict"] == NOT_TESTED
    assert "needs rnn and lstm" in verdicts["a"]["summary"]
    assert verdicts["b"]["verdict"] == INCONCLUSIVE  # one seed can never settle an F1 difference
    assert "one seed" in verdicts["b"]["summary"] or "includes 0" in verdicts["b"]["summary"]
    assert verdicts["e"]["parts"][0]["verdict"] == "supported"  # bilstm has more parameters than lstm
    assert "One seed per configuration" in markdown


@pytest.mark.slow
def test_rerun_skips_complete_runs_and_gives_the_same_report(tiny):
    out = tiny["out"]
    before = json.loads((out / "report.json").read_text())
    stamps = {r: (out / "runs" / r / "model" / "bundle.json").stat().st_mtime_ns for r in RUNS}
    _, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert all(f"skip {r}: already complete" in log for r in RUNS) and "training" not in log
    assert stamps == {r: (out / "runs" / r / "model" / "bundle.json").stat().st_mtime_ns for r in RUNS}
    after = json.loads((out / "report.json").read_text())
    before.pop("created"), after.pop("created")
    assert after == before


@pytest.mark.slow
def test_lost_predictions_are_redone_without_retraining(tiny):
    out = tiny["out"]
    lost = out / "runs" / "lstm-crf-s1" / "predictions.txt"
    kept = lost.read_text()
    lost.unlink()
    stamp = (out / "runs" / "lstm-crf-s1" / "model" / "bundle.json").stat().st_mtime_ns
    _, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert "[1/1] scoring lstm-crf-s1" in log and "training" not in log
    assert lost.read_text() == kept
    assert (out / "runs" / "lstm-crf-s1" / "model" / "bundle.json").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_predictions_that_no_longer_match_are_scored_again(tiny):
    """An edited predictions.txt (a sentence gone) or a corrupt run.json is scored again, never reported."""
    import shutil

    out = tiny["root"] / "edited"
    shutil.copytree(tiny["out"], out)
    edited = out / "runs" / "lstm-crf-s1" / "predictions.txt"
    kept = edited.read_text()
    edited.write_text(kept.split("\n\n", 1)[1])
    (out / "runs" / "bilstm-crf-s1" / "run.json").write_text("[]")
    path, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert "scoring lstm-crf-s1" in log and "scoring bilstm-crf-s1" in log and "training" not in log
    assert edited.read_text() == kept
    assert json.loads((path.parent / "report.json").read_text())["test"]["sentences"] == 50


@pytest.mark.slow
def test_from_scores_trained_bundles(tiny):
    runs = tiny["out"] / "runs"
    bundles = [str(runs / "lstm-crf-s1" / "model"), str(runs / "bilstm-softmax-s1" / "model")]
    path, log = run_compare(data=str(tiny["data"]), out=str(tiny["root"] / "from"), bundles=bundles,
                            resamples=200)
    report = json.loads((path.parent / "report.json").read_text())
    grid = {r["name"]: r for r in json.loads((tiny["out"] / "report.json").read_text())["runs"]}
    assert [r["name"] for r in report["runs"]] == ["lstm-crf-s1", "bilstm-softmax-s1"]
    for run in report["runs"]:
        assert run["f1"] == pytest.approx(grid[run["name"]]["f1"])
        assert run["bundle"] in bundles and run["train_alone"] is None
    assert report["context"]["mode"] == "from" and (path.parent / "index.html").is_file()
    assert any("not comparable" in n for n in report["notes"])


@pytest.mark.slow
def test_a_busy_run_leaves_the_time_columns(tiny):
    """A run that trained while other work kept the machine busy: its time is marked, its configuration
    gets no training time (no other seed), the others keep theirs. The load readings are injected: the
    fixture's runs read a quiet 0.0, this one a load just over the threshold on this machine's cores."""
    import os
    import shutil

    out = tiny["root"] / "busy"
    shutil.copytree(tiny["out"], out)
    record = out / "runs" / "bilstm-crf-s1" / "run.json"
    run = json.loads(record.read_text())
    record.write_text(json.dumps({**run, "train_load": BUSY_LOAD * (os.cpu_count() or 1) + 0.5}))
    path, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert "training" not in log and "scoring" not in log
    report = json.loads((path.parent / "report.json").read_text())
    configs = {c["name"]: c for c in report["configurations"]}
    assert not configs["bilstm-crf"]["train_time_comparable"] and configs["bilstm-crf"]["train_seconds"]["mean"] is None
    assert all(c["train_time_comparable"] and c["timed_seeds"] == [1] for n, c in configs.items() if n != "bilstm-crf")
    text = path.read_text()
    assert "| bilstm-crf-s1 |" in text and [line for line in text.splitlines()
                                             if line.startswith("| bilstm-crf-s1 |")][0].count("†") == 1
    assert any("bilstm-crf-s1" in n and "not comparable" in n for n in report["notes"])


@pytest.mark.slow
def test_parallel_jobs_time_decoding_alone_afterwards(tiny):
    path, log = run_compare(data=str(tiny["data"]), out=str(tiny["root"] / "jobs"),
                            **{**TINY_COMPARE, "encoders": "lstm", "jobs": 2})
    assert "2 of 2 runs to train or score (2 at a time)" in log
    assert log.index("done lstm-crf-s1") < log.index("measuring decode speed of lstm-crf-s1 alone")
    report = json.loads((path.parent / "report.json").read_text())
    assert [r["name"] for r in report["runs"]] == ["lstm-softmax-s1", "lstm-crf-s1"]
    assert all(r["train_alone"] is False and r["sentences_per_second"] > 0 for r in report["runs"])
    assert not any(c["train_time_comparable"] for c in report["configurations"])
    assert any("--jobs 2: runs trained in parallel" in n for n in report["notes"])


@pytest.mark.slow
def test_rerun_times_again_a_decode_speed_taken_on_a_busy_machine(tiny, monkeypatch):
    """A decode timing whose load reading says the machine was busy is taken again on a rerun, once the
    (lagging) load average has fallen to one per core; quiet timings and everything else stay as they were."""
    import os
    import shutil

    out = tiny["root"] / "retime"
    shutil.copytree(tiny["out"], out)
    records = {r: out / "runs" / r / "run.json" for r in RUNS}
    busy_run = json.loads(records["lstm-crf-s1"].read_text())
    busy_run["decode"]["load"] = BUSY_LOAD * (os.cpu_count() or 1) + 0.5
    records["lstm-crf-s1"].write_text(json.dumps(busy_run))
    kept = {r: p.read_bytes() for r, p in records.items() if r != "lstm-crf-s1"}
    loads = iter([9.0, 9.0, 9.0])   # three readings still counting finished work, then a quiet machine
    monkeypatch.setattr(C, "load_average", lambda: next(loads, 0.25))
    sleeps = []
    monkeypatch.setattr(C.time, "sleep", sleeps.append)
    path, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert "lstm-crf-s1: complete, but its decode speed was timed on a busy machine; timing it now" in log
    assert "for the 1-minute load average (9.0) to fall to" in log and sleeps == [5]
    assert "[1/1] measuring decode speed of lstm-crf-s1 alone" in log and "training" not in log
    assert {r: p.read_bytes() for r, p in records.items() if r != "lstm-crf-s1"} == kept
    again = json.loads(records["lstm-crf-s1"].read_text())
    assert again["decode"]["load"] == 0.25 and again["decode"]["sentences_per_second"] > 0
    assert {k: v for k, v in again.items() if k != "decode"} == {k: v for k, v in busy_run.items() if k != "decode"}
    report = json.loads((path.parent / "report.json").read_text())
    assert not any(r["decode_busy"] for r in report["runs"]) and not any("busy" in n for n in report["notes"])
    _, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert all(f"skip {r}: already complete" in log for r in RUNS) and "measuring" not in log
    records["lstm-crf-s1"].write_text(json.dumps(busy_run))   # busy again; now the machine stays busier
    monkeypatch.setattr(C, "load_average", lambda: 9.0)
    monkeypatch.setattr(C, "QUIET_WAIT", 0.0)
    _, log = run_compare(data=str(tiny["data"]), out=str(out), **TINY_COMPARE)
    assert "kept the earlier timing of lstm-crf-s1: this one's load average is no lower" in log
    assert json.loads(records["lstm-crf-s1"].read_text()) == busy_run


@pytest.mark.parametrize("args, message", [
    (["--encoders", "lstm,transformer"], "--encoders: unknown encoder 'transformer' (known: rnn,"),
    (["--heads", "crf,mlp"], "--heads: unknown head 'mlp' (known: softmax, crf)"),
    (["--encoders", "lstm+paragraph"], "--encoders: lstm+paragraph: unknown context 'paragraph' after + (choose "
                                       "from document, document-mean)"),
    (["--encoders", "lstm+"], "--encoders: lstm+: unknown context '' after +"),
    (["--seeds", "0"], "--seeds: must be at least 1"),
    (["--data", "no/such/corpus"], "no/such/corpus: no such file or folder"),

    (["--from", "no/such/model"], "no/such/model: no such model bundle"),
])
def test_bad_input_is_one_line_error(args, message, tmp_path, capsys):
    assert message in one_line_error(capsys, ["compare", "--out", tmp_path / "out", "--data", SAMPLE, *args])
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.slow
def test_conll_columns_reach_training_and_scoring(tmp_path, monkeypatch):
    """A corpus whose tags are column 1 of 3 ("token tag pos") compares with --tag-col 1."""
    monkeypatch.setattr(C, "DECODE_SECONDS", 0.05)
    data = tmp_path / "data"
    data.mkdir()
    for split, n in (("train", 40), ("dev", 20), ("test", 20)):
        blocks = ["\n".join(f"{line} X" for line in block.splitlines())
                  for block in sentences(SAMPLE / f"{split}.txt")[:n]]
        (data / f"{split}.txt").write_text("\n\n".join(blocks) + "\n")
    argv = ["compare", "--data", str(data), "--encoders", "rnn", "--heads", "softmax", "--epochs", "1",
            "--hidden", "8", "--word-dim", "8", "--resamples", "100", "--out", str(tmp_path / "out"), "--quiet"]
    assert cli.main(argv) == 2   # the last column (X) is no tag
    assert cli.main(argv + ["--tag-col", "1"]) == 0
    config = json.loads((tmp_path / "out" / "runs" / "rnn-softmax-s1" / "model" / "config.json").read_text())
    assert config["tag_col"] == 1
    _, gold, _ = read_predictions(tmp_path / "out" / "runs" / "rnn-softmax-s1" / "predictions.txt")
    assert gold == [[line.split()[1] for line in block.splitlines()]
                    for block in sentences(data / "test.txt")]
