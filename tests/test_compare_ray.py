"""`ner compare --executor ray`: a Ray head started as a separate process on 127.0.0.1 joined by --address, a
local Ray instance (2 CPUs) whose runs match the local executor's bit for bit with the same threads, a task
whose worker dies once being retried and recorded whole, and the one-line errors (Ray missing, flags that need
--executor ray).

Every Ray process here is started by these tests and ended by them (``ray.shutdown()`` for the local
instance, the head's own process group for the head; never ``ray stop``), with the dashboard off, usage stats
off, a token of the tests' own (nothing written to ``~/.ray``), an 80 MiB object store, and the workers'
temporary folders under pytest's.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import ner
from ner.backend import ray_cluster
from ner.comparison import grid as C

from helpers import ROOT, SAMPLE, one_line_error, processes_naming, write_slice

# every run: 2 tiny runs (rnn and lstm, softmax head), one seed, one epoch, one thread each
GRID = dict(encoders="rnn,lstm", heads="softmax", seeds=1, epochs=1, max_train=40, hidden=8, word_dim=8,
            resamples=100, threads=1)
RUNS = ["rnn-softmax-s1", "lstm-softmax-s1"]
STORE = 80 * 2**20   # object store bytes
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}   # plus RAY_AUTH_TOKEN, made per module


def run_compare(**kwargs) -> tuple[Path, str]:
    """ner.compare in this process: (report.md, its progress output)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        path = ner.compare(**kwargs)
    return Path(path), err.getvalue()


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def same_run_files(a: Path, b: Path) -> None:
    """The runs' predictions and trained weights are identical bytes."""
    for name in ("predictions.txt", "model/weights.npz"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{a.name}: {name} differs"


@pytest.fixture(scope="module")
def ray_env():
    """Ray's settings for these tests, in the environment before Ray is imported (it reads them then)."""
    patch = pytest.MonkeyPatch()
    env = {**RAY_ENV, "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    for name, value in env.items():
        patch.setenv(name, value)
    patch.setattr(C, "DECODE_SECONDS", 0.05)
    patch.setattr(C, "load_average", lambda: 0.0)   # a quiet machine: no timing waits or is taken again
    pytest.importorskip("ray")
    yield env
    patch.undo()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A 60/30/50-sentence slice of the sample corpus, and beside it 8-d word vectors of five of its words
    (``vectors.txt``): the runs read both."""
    data = write_slice(SAMPLE, tmp_path_factory.mktemp("ray") / "data", {"train": 60, "dev": 30, "test": 50})
    rows = [f"{w} " + " ".join(f"{(i * 8 + j) % 7 / 10 - 0.3:.1f}" for j in range(8))
            for i, w in enumerate(["the", "of", "in", "to", "a"])]
    (data.parent / "vectors.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return data


def vectors(corpus: Path) -> str:
    return str(corpus.parent / "vectors.txt")


@pytest.fixture(scope="module")
def local(corpus, ray_env, tmp_path_factory) -> Path:
    """The grid on the local executor: the baseline every Ray run is compared with. With --jobs 2 each run
    trains in a new process that sets its one thread before TensorFlow starts (in this process it has long
    started with its default pools)."""
    out = tmp_path_factory.mktemp("local") / "out"
    run_compare(data=str(corpus), out=str(out), jobs=2, embeddings=vectors(corpus), **GRID)
    return out


@pytest.mark.slow
def test_a_cluster_joined_by_address(corpus, local, ray_env, tmp_path):
    """As a user with a cluster: a head started with `ray start --head` on 127.0.0.1 and a free port, then
    `ner compare --executor ray --address 127.0.0.1:PORT` in its own process; the run matches the local one.
    With 2 CPUs per run the node takes one run at a time, so the run counts as trained alone."""
    port, *others = free_ports(4)
    temp = Path(tempfile.mkdtemp(prefix="ner-head-", dir="/tmp"))   # short: Ray's socket paths live under it
    env = {**os.environ, **ray_env, "TMPDIR": str(tmp_path)}
    log = tmp_path / "head.log"
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(port), "--ray-client-server-port", str(others[0]), "--dashboard-port", str(others[1]),
         "--dashboard-agent-listen-port", str(others[2]), "--num-cpus", "2", "--num-gpus", "0",
         "--include-dashboard", "false", "--disable-usage-stats", "--object-store-memory", str(STORE),
         "--temp-dir", str(temp)],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(240):
            if "Ray runtime started" in log.read_text() or head.poll() is not None:
                break
            time.sleep(0.5)
        assert "Ray runtime started" in log.read_text(), log.read_text()
        out = tmp_path / "out"
        done = subprocess.run(
            [sys.executable, "-m", "ner", "compare", "--data", str(corpus), "--encoders", "rnn", "--heads", "softmax",
             "--epochs", "1", "--max-train", "40", "--hidden", "8", "--word-dim", "8", "--resamples", "100",
             "--embeddings", vectors(corpus),
             "--threads", "1", "--executor", "ray", "--address", f"127.0.0.1:{port}", "--cpus-per-run", "2",
             "--out", str(out)],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"1 of 1 runs to train or score on the Ray cluster at 127.0.0.1:{port} (1 node(s), up to 1 at a " \
               "time; per run 2 CPU, 0 GPU, 1 thread(s))" in done.stderr
        same_run_files(out / "runs" / "rnn-softmax-s1", local / "runs" / "rnn-softmax-s1")
        report = json.loads((out / "report.json").read_text())
        assert report["context"]["executor"] == "ray" and report["context"]["ray"]["address"] == f"127.0.0.1:{port}"
        assert report["runs"][0]["train_alone"] is True and report["runs"][0]["node"] == socket.gethostname()
    finally:
        os.killpg(head.pid, signal.SIGKILL)   # the head's own process group: what `ray start` started, nothing else
        head.wait()
        for pid in processes_naming(str(temp)):   # any that left the group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        assert processes_naming(str(temp)) == []
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_local(ray_env, tmp_path_factory):
    """A local Ray instance of this process (2 CPUs), shut down after the module's tests; its workers'
    temporary folders under pytest's."""
    import ray

    workers = tmp_path_factory.mktemp("workers")
    temp = tempfile.mkdtemp(prefix="ner-ray-", dir="/tmp")
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, object_store_memory=STORE, _temp_dir=temp,
             runtime_env={"env_vars": {"TMPDIR": str(workers)}}, logging_level=logging.WARNING, log_to_driver=False)
    yield workers
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def on_ray(corpus, ray_local, tmp_path_factory) -> dict:
    """The grid on the local Ray instance; the lstm run's first worker dies (os._exit) after the run's files
    are written on its node, before they are returned."""
    out = tmp_path_factory.mktemp("on-ray") / "out"
    attempts = str(ray_local / "attempts")
    real = C.train_and_score

    def dies_once(run, *args):
        record = real(run, *args)
        if run["name"] == "lstm-softmax-s1":
            Path(attempts).mkdir(exist_ok=True)
            n = len(list(Path(attempts).iterdir()))
            (Path(attempts) / str(n)).touch()
            if n == 0:
                os._exit(1)
        return record

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(C, "train_and_score", dies_once)
        path, log = run_compare(data=str(corpus), out=str(out), executor="ray", embeddings=vectors(corpus), **GRID)
    return {"out": out, "report": path, "log": log, "attempts": Path(attempts), "workers": ray_local}


@pytest.mark.slow
def test_ray_runs_match_the_local_executor(corpus, local, on_ray):
    out, log = on_ray["out"], on_ray["log"]
    assert "2 of 2 runs to train or score on a local Ray instance (1 node(s), up to 2 at a time; per run 1 CPU, " \
           "0 GPU, 1 thread(s))" in log and "(2/2 finished;" in log
    ours, theirs = (json.loads((o / "report.json").read_text()) for o in (out, local))
    assert [r["f1"] for r in ours["runs"]] == [r["f1"] for r in theirs["runs"]]
    for name in RUNS:
        same_run_files(out / "runs" / name, local / "runs" / name)
        record = json.loads((out / "runs" / name / "run.json").read_text())
        assert record["node"]["id"] and record["node"]["host"] == socket.gethostname()
        assert record["bundle"] == str(out / "runs" / name / "model")   # the driver's paths, not the worker's
        config = json.loads((out / "runs" / name / "model" / "config.json").read_text())
        assert config["data"] == str(out / "data") and config["out"] == str(out / "runs" / name / "model")
        assert config["embeddings"] == vectors(corpus)
    assert ours["context"]["executor"] == "ray" and ours["context"]["threads"] == 1
    assert "executor: Ray, a local Ray instance, up to 2 runs at a time; per run 1 CPU, 0 GPU, 1 thread(s); " \
           f"trained on 1 machine(s): {socket.gethostname()}" in on_ray["report"].read_text()
    # the two runs shared the node: no training-time verdicts, decode speed measured here afterwards
    assert all(r["train_alone"] is False for r in ours["runs"])
    assert any("--executor ray: runs trained beside other runs on the same node" in n for n in ours["notes"])
    assert log.index("(2/2 finished;") < log.index("measuring decode speed of rnn-softmax-s1 alone")


@pytest.mark.slow
def test_a_task_whose_worker_dies_is_retried_and_recorded_whole(corpus, on_ray):
    out, log = on_ray["out"], on_ray["log"]
    assert sorted(p.name for p in on_ray["attempts"].iterdir()) == ["0", "1"]   # died once, then done
    assert log.count("done lstm-softmax-s1") == 1
    folder = out / "runs" / "lstm-softmax-s1"
    assert sorted(p.name for p in folder.iterdir()) == ["model", "predictions.txt", "run.json"]
    ner.Tagger.load(folder / "model")   # a whole bundle
    assert len(list(on_ray["workers"].glob("ner-run-*"))) == 1   # only the dead worker's folder is left
    _, again = run_compare(data=str(corpus), out=str(out), executor="ray", embeddings=vectors(corpus),
                           **GRID)   # recorded whole, with the driver's paths: nothing to redo
    assert all(f"skip {name}: already complete" in again for name in RUNS) and "to train or score" not in again


def test_without_ray_the_executor_names_the_install_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` fails as if it were not installed
    line = one_line_error(capsys, ["compare", "--executor", "ray", "--data", SAMPLE, "--out", tmp_path / "out"])
    assert line == f"ner: error: --executor ray: Ray is not installed; install it with {ray_cluster.INSTALL}"
    assert ray_cluster.INSTALL == "pip install 'ner[ray]'" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["--address", "127.0.0.1:6379"], "--address: only with --executor ray"),
    (["--gpus-per-run", "1"], "--gpus-per-run: only with --executor ray"),
    (["--executor", "ray", "--jobs", "2"], "--jobs: not with --executor ray"),
    (["--executor", "ray", "--cpus-per-run", "0"], "--cpus-per-run: must be above 0, got 0.0"),
    (["--executor", "ray", "--gpus-per-run", "1.5"], "--gpus-per-run: a fraction of one GPU (0 to 1) or a whole"),
    (["--executor", "ray", "--from", "models/x"], "--from: scores the bundles on this machine"),
    (["--threads", "0"], "--threads: must be a whole number of at least 1, got 0"),
])
def test_executor_flags_are_checked_first(args, message, tmp_path, capsys):
    assert message in one_line_error(capsys, ["compare", "--out", tmp_path / "out", "--data", SAMPLE, *args])
    assert not (tmp_path / "out").exists()


def test_training_times_are_compared_on_one_node_only():
    """Runs alone on a quiet node count only on the node that trained the most of them; a run that records
    no node (an older ner, on this machine) counts as trained there."""
    from ner.comparison import report
    from ner.comparison import verdicts as V
    from ner.comparison.results import RunResult

    def result(name, node):
        return RunResult(name=name, encoder="rnn", head="crf", seed=1, bundle="b", predictions="p", scheme="bio",
                         tokens=[["Ann"]], gold=[["B-PER"]], pred=[["B-PER"]], parameters=1, best_epoch=1,
                         epochs_run=1, train_seconds=1.0, history=[{"seconds": 1.0, "dev_f1": 1.0}], decode=None,
                         ill_formed=0, model_scheme="bioes", train_alone=True, train_load=0.0, node=node)

    a, b = {"id": "a", "host": "one", "cores": 2}, {"id": "b", "host": "two", "cores": 2}
    results = [result("x", a), result("y", b), result("z", a), result("old", None)]
    node = report.timing_node(results)
    counts = V.subset_counts([["Ann"]], [["B-PER"]], [["B-PER"]], "bio", None)
    assert node == "a"
    assert [report.run_summary(r, counts, node)["train_comparable"] for r in results] == [True, False, True, True]
