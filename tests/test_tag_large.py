"""Tagging large inputs (``ner tag --input PATH --output OUT --jobs N``): shards, worker processes, resuming after an
interruption, folders mirrored, output rules, and a generator input read only as far as needed."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import signal
from pathlib import Path

import pytest

from ner.errors import InputError

from helpers import cli, one_line_error, processes_naming

WORDS = "Angela Merkel visited Paris and met Emmanuel Macron in France on Monday . The EU said Germany".split()


def write_texts(path: Path, n: int, seed: int = 0) -> Path:
    import random

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(" ".join(rng.choices(WORDS, k=rng.randint(2, 12))) for _ in range(n)) + "\n",
                    encoding="utf-8")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    return write_texts(tmp_path_factory.mktemp("texts") / "in.txt", 900)


@pytest.fixture(scope="module")
def reference(crf_bundle, texts, tmp_path_factory) -> Path:
    """The input tagged in one process with shards of 200 texts."""
    from ner.tagging.run import tag_inputs

    out = tmp_path_factory.mktemp("reference") / "out.jsonl"
    tag_inputs(str(crf_bundle), str(texts), str(out), shard_size=200, quiet=True)
    return out


def test_output_equals_standard_output_line_for_line(crf_bundle, texts, reference, capsys):
    code, printed, _ = cli(capsys, "tag", crf_bundle, "--input", texts, "--shard-size", 200)
    assert code == 0 and printed == reference.read_text(encoding="utf-8")
    lines = printed.splitlines()
    assert [json.loads(line)["text"] for line in lines] == texts.read_text(encoding="utf-8").splitlines()


def test_two_worker_processes_write_what_one_process_writes(crf_bundle, texts, reference, tmp_path):
    from ner.tagging.run import tag_inputs

    summary = tag_inputs(str(crf_bundle), str(texts), str(tmp_path / "out.jsonl"), shard_size=200, jobs=2,
                         quiet=True)
    assert summary["shards"] == 5 and summary["tagged"] == 900
    assert digest(tmp_path / "out.jsonl") == digest(reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]     # parts and lock gone


def test_an_interrupted_run_resumes_and_ends_with_the_same_file(crf_bundle, texts, reference, tmp_path,
                                                                monkeypatch):
    import ner.tagging.run as run

    tagged = []
    real = run.tag_shard

    def failing(kind, items, *args):
        if len(tagged) == 3:
            raise KeyboardInterrupt
        tagged.append(items[0])
        return real(kind, items, *args)

    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(run, "tag_shard", failing)
    with pytest.raises(KeyboardInterrupt):
        run.tag_inputs(str(crf_bundle), str(texts), str(out), shard_size=200, quiet=True)
    assert not out.exists()                                            # only whole outputs ever appear
    parts = tmp_path / ".out.jsonl.ner-parts"
    assert sorted(p.name for p in parts.glob("*.out")) == [f"00000-{i:07d}.out" for i in range(3)]
    monkeypatch.setattr(run, "tag_shard", real)
    summary = run.tag_inputs(str(crf_bundle), str(texts), str(out), shard_size=200, quiet=True)
    assert summary["skipped"] == 3 and summary["tagged"] == 300
    assert digest(out) == digest(reference)
    assert not parts.exists()


def test_a_changed_input_is_not_resumed(crf_bundle, tmp_path, monkeypatch):
    import ner.tagging.run as run

    source = write_texts(tmp_path / "in.txt", 300)
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(run, "tag_shard", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run.tag_inputs(str(crf_bundle), str(source), str(out), shard_size=100, quiet=True)
    monkeypatch.undo()
    write_texts(source, 300, seed=1)                                   # other texts: the parts are stale
    assert run.tag_inputs(str(crf_bundle), str(source), str(out), shard_size=100, quiet=True)["skipped"] == 0
    assert [json.loads(t)["text"] for t in out.read_text().splitlines()] == source.read_text().splitlines()


def test_a_folder_is_mirrored_under_the_output(crf_bundle, tmp_path, capsys):
    from ner.tagging.run import tag_inputs

    source = tmp_path / "in"
    write_texts(source / "b.txt", 30)
    write_texts(source / "a" / "deep.txt", 20, seed=2)
    write_texts(source / ".hidden.txt", 5)
    (source / "c.conll").write_text("-DOCSTART- O\n\nAngela\nMerkel\n\nParis\n\n-DOCSTART- O\n\nEU\n", "utf-8")
    tag_inputs(str(crf_bundle), str(source), str(tmp_path / "out"), shard_size=7, quiet=True)
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert found == [".ner-output.json", "a/deep.txt", "b.txt", "c.conll"]
    for name in ("a/deep.txt", "b.txt", "c.conll"):                     # each as if tagged alone
        code, printed, _ = cli(capsys, "tag", crf_bundle, "--input", source / name, "--shard-size", 7)
        assert code == 0 and (tmp_path / "out" / name).read_text(encoding="utf-8") == printed
    conll = (tmp_path / "out" / "c.conll").read_text(encoding="utf-8")
    assert conll.count("-DOCSTART-") == 2 and conll.startswith("-DOCSTART-\tO\n\nAngela\t")
    again = tag_inputs(str(crf_bundle), str(source), str(tmp_path / "out"), shard_size=7, quiet=True)
    assert again["skipped"] == 0 and (tmp_path / "out" / "b.txt").is_file()   # a finished folder is rewritten
    (source / "a" / "deep.txt").unlink()
    (source / "a").rmdir()
    (source / "b.txt").unlink()
    tag_inputs(str(crf_bundle), str(source), str(tmp_path / "out"), shard_size=7, quiet=True)
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*"))
    assert found == [".ner-output.json", "c.conll"]   # the outputs of removed inputs go with them
    err = capsys.readouterr().err
    for rel in ("a/deep.txt", "b.txt"):
        assert f"tag: deleted: {tmp_path / 'out' / rel}, the output of an input that is gone" in err
    (source / "b.txt").mkdir()   # a file of the last run is a folder now
    write_texts(source / "b.txt" / "e.txt", 3)
    tag_inputs(str(crf_bundle), str(source), str(tmp_path / "out"), shard_size=7, quiet=True)
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file()) == \
        [".ner-output.json", "b.txt/e.txt", "c.conll"]


def test_output_rules(crf_bundle, texts, tmp_path, capsys):
    existing = tmp_path / "mine.jsonl"
    existing.write_text("the user's\n")
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts, "--output", existing])
    assert "exists; give --overwrite to replace it" in line and existing.read_text() == "the user's\n"
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts, "--output", texts])
    assert "an input of this command" in line
    folder = tmp_path / "theirs"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts.parent, "--output", folder])
    assert "holds files ner did not write (notes.txt)" in line
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts.parent])
    assert "--output: needed when --input is a folder" in line
    for flag, value in (("--jobs", 0), ("--shard-size", 0)):
        line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts, "--output", tmp_path / "o", flag, value])
        assert f"{flag}: must be at least 1" in line
    line = one_line_error(capsys, ["tag", crf_bundle, "hello", "--output", tmp_path / "o"])
    assert "--output: goes with --input" in line
    for model, message in ((tmp_path / "no-model", "no such model bundle"), (texts, "not a model bundle")):
        for source, out in ((texts.parent, tmp_path / "o"), (texts, tmp_path / "o.jsonl")):
            line = one_line_error(capsys, ["tag", model, "--input", source, "--output", out])
            assert f"{model}: {message}" in line
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.jsonl", "theirs"]   # nothing written


def test_a_file_without_sentences_is_tagged_as_an_empty_file(crf_bundle, tmp_path, capsys):
    """In a folder, an empty or DOCSTART-only CoNLL file, like an empty text file, gives an empty output."""
    from ner.tagging.run import tag_inputs

    source = tmp_path / "in"
    write_texts(source / "a.txt", 5)
    (source / "empty.txt").write_text("")
    (source / "empty.conll").write_text("")
    (source / "docstart.conll").write_text("-DOCSTART- O\n\n\n")
    tag_inputs(str(crf_bundle), str(source), str(tmp_path / "out"), quiet=True)
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "out").iterdir() if p.is_file()}
    assert sizes.pop(".ner-output.json") > 0 and sizes.pop("a.txt") > 0
    assert sizes == {"empty.txt": 0, "empty.conll": 0, "docstart.conll": 0}
    code, printed, _ = cli(capsys, "tag", crf_bundle, "--input", source / "docstart.conll")
    assert code == 0 and printed == ""


def test_bad_bytes_name_their_line(crf_bundle, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n" * 5000 + b"caf\xe9\n")
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", bad, "--output", tmp_path / "out.jsonl"])
    assert f"{bad}:5001:" in line
    with pytest.raises(InputError, match="no such file"):
        from ner.tagging.shards import plan_inputs

        plan_inputs(tmp_path / "none.txt")


def test_a_generator_is_read_only_as_far_as_needed(crf_bundle):
    from ner.inference.tagger import Tagger
    from ner.tagging.run import tag_stream

    pulled = itertools.count()
    endless = (f"Angela Merkel visited Paris on day {next(pulled)}" for _ in itertools.count())
    outputs = tag_stream(Tagger.load(crf_bundle), endless, shard_size=50)
    first = list(itertools.islice(outputs, 2))
    assert [len(chunk.splitlines()) for chunk in first] == [50, 50]
    assert next(pulled) == 100                                         # two shards read, nothing more
    assert json.loads(first[1].splitlines()[-1])["text"].endswith("day 99")


@pytest.mark.slow
def test_ray_workers_write_what_one_process_writes(crf_bundle, texts, reference, tmp_path):
    """`ner tag --executor ray` in its own process (Ray reads its settings when first imported), on a local Ray
    instance it starts and stops, with Ray's files under a folder of this test; no process of it is left."""
    pytest.importorskip("ray")
    import shutil
    import subprocess
    import sys
    import tempfile
    import time

    temp = tempfile.mkdtemp(prefix="ner-ray-", dir="/tmp")       # short: Ray's socket paths live under it
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": temp,
           "TMPDIR": temp}
    try:
        done = subprocess.run([sys.executable, "-m", "ner", "tag", str(crf_bundle), "--input", str(texts), "--output",
                               str(tmp_path / "out.jsonl"), "--shard-size", "200", "--jobs", "2", "--executor", "ray",
                               "--quiet"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert digest(tmp_path / "out.jsonl") == digest(reference)
        for _ in range(20):
            if not processes_naming(temp):
                break
            time.sleep(0.5)
        assert processes_naming(temp) == []                          # the instance it started is stopped
    finally:
        for pid in processes_naming(temp):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def test_executor_flags(crf_bundle, texts, tmp_path, capsys, monkeypatch):
    import sys

    line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts, "--output", tmp_path / "o", "--address",
                                   "127.0.0.1:1"])
    assert "--address: goes with --executor ray" in line
    monkeypatch.setitem(sys.modules, "ray", None)                      # as if Ray were not installed
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", texts, "--output", tmp_path / "o", "--executor",
                                   "ray"])
    assert line == "ner: error: --executor ray: Ray is not installed; install it with pip install 'ner[ray]'"
    assert not (tmp_path / "o").exists()


def test_a_changed_input_format_is_not_resumed(crf_bundle, tmp_path, monkeypatch):
    import ner.tagging.run as run

    source = tmp_path / "words.txt"
    source.write_text("\n".join(WORDS * 20) + "\n", encoding="utf-8")     # one word a line: text or CoNLL
    out = tmp_path / "out"
    monkeypatch.setattr(run, "tag_shard", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run.tag_inputs(str(crf_bundle), str(source), str(out), shard_size=50, quiet=True)
    monkeypatch.undo()
    run.tag_inputs(str(crf_bundle), str(source), str(out), input_format="conll", shard_size=50, quiet=True)
    assert "\t" in out.read_text() and "{" not in out.read_text()      # all CoNLL, nothing of the text run


def test_a_long_document_is_cut_without_a_new_docstart(crf_bundle, tmp_path, capsys):
    from ner.tagging.shards import plan_inputs, read_shards

    rows = ["-DOCSTART- O", ""] + [line for i in range(40) for line in (f"Angela{i}", "visited", "Paris", "")]
    source = tmp_path / "one.conll"
    source.write_text("\n".join(rows), encoding="utf-8")
    shards = list(read_shards(plan_inputs(source)[0], 0, 7))
    assert [len(s.items) for s in shards] == [14, 14, 12] and [s.continued for s in shards] == [False, True, True]
    code, whole, _ = cli(capsys, "tag", crf_bundle, "--input", source, "--shard-size", 1000)
    code, pieces, _ = cli(capsys, "tag", crf_bundle, "--input", source, "--shard-size", 7)
    assert pieces == whole and pieces.count("-DOCSTART-") == 1


def test_lines_and_bad_bytes_are_bounded_and_located(tmp_path, capsys, crf_bundle):
    import io

    from ner.data.lines import MAX_LINE, LineStream

    data = b"ok\r\n" * 3 + b"ok\r" * 2 + b"caf\xe9\n"
    for stream in (LineStream(stream=io.BytesIO(data)), LineStream(_write(tmp_path / "b.txt", data))):
        with pytest.raises(InputError, match=r":6: not UTF-8 text \(byte 0xe9\)"):
            list(stream)
    assert list(LineStream(stream=io.BytesIO("a\r\nb\rc\n\nd".encode("utf-16")))) == ["a", "b", "c", "", "d"]
    long = _write(tmp_path / "long.txt", b"short\n" + b"x" * (MAX_LINE + 1) + b"\n")
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", long])
    assert f"{long}:2: a line of more than {MAX_LINE:,} characters" in line


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_documents_given_to_tag_sentences_are_checked(crf_bundle):
    from ner.inference.tagger import Tagger

    tagger = Tagger.load(crf_bundle)
    with pytest.raises(TypeError, match=r"documents\[1\]: expected an int, got float"):
        tagger.tag_sentences([["a"], ["b"]], documents=[0, 0.5])
    with pytest.raises(ValueError, match=r"documents\[0\]: .* out of range"):
        tagger.tag_sentences([["a"]], documents=[2**70])


def test_nbest_refusal_names_the_conll_file(crf_bundle, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.conll").write_text("EU\n", encoding="utf-8")
    line = one_line_error(capsys, ["tag", crf_bundle, "--input", tmp_path / "in", "--output", tmp_path / "o",
                                   "--nbest", 2])
    assert line == f"ner: error: --nbest: needs text input; {tmp_path / 'in' / 'a.conll'} is read as CoNLL"
