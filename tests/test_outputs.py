"""ner never destroys what a user owns: outputs are checked before work, only ner's own folders are
replaced, one writer per output, crash-safe folder swaps, names read from files stay inside outputs.

Each refusal is checked against hashes of every file around the case, before and after."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ner.cli import main
from ner.io.console import clock
from ner.io.outputs import MARK, claim, mark_folder, record_outputs, remove_stale, replace_folder, restore, safe_name

from helpers import ROOT, SAMPLE, TINY_TRAIN, one_line_error, write_slice


def snapshot(root: Path) -> dict:
    """Every entry under ``root``: relative path -> sha256 of a file's bytes (or "dir"), with its mode."""
    found = {}
    for p in sorted(root.rglob("*")):
        kind = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        found[str(p.relative_to(root))] = (kind, p.stat().st_mode)
    return found


@pytest.fixture
def area(tmp_path, small_sample):
    """A user's folder: their own notes, a copy of the corpus, a plain file and an embeddings file."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my notes\n")
    shutil.copytree(small_sample, tmp_path / "corpus")
    (tmp_path / "plain.txt").write_text("a plain file\n")
    (tmp_path / "vectors.txt").write_text("paris 0.1 0.2\n")
    return tmp_path


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if training or comparing starts."""
    import ner.comparison.grid
    import ner.training.fit

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(ner.training.fit, "_train", forbidden)
    monkeypatch.setattr(ner.comparison.grid, "_compare", forbidden)


def refused(argv: list[str], capsys, *words: str) -> str:
    """The one-line error of ``ner argv`` (exit 2), which names each of ``words``."""
    err = one_line_error(capsys, argv)
    for word in words:
        assert word in err, err
    return err


TRAIN_CASES = {   # case -> (--out relative to the area, extra flags, words in the message)
    "folder of the user's files": ("mine", [], ("mine", "holds files ner did not write", "notes.txt")),
    "the training corpus itself": ("corpus", [], ("is an input", "corpus")),
    "a folder holding the corpus": (".", [], ("holds an input",)),
    "inside the corpus folder": ("corpus/model", [], ("is inside an input",)),
    "a plain file": ("plain.txt", [], ("plain.txt", "exists and is not a folder")),
    "the embeddings file": ("vectors.txt", ["--embeddings", "{area}/vectors.txt"], ("is an input",)),
    "below a plain file": ("plain.txt/sub", [], ("plain.txt", "is a file, not a folder")),
}


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_train_refuses_an_output_it_does_not_own_before_any_work(case, area, no_work, capsys):
    out, extra, words = TRAIN_CASES[case]
    before = snapshot(area)
    argv = ["train", "--data", str(area / "corpus"), "--out", str(area / out), "--quiet"]
    refused(argv + [x.format(area=area) for x in extra], capsys, "--out", *words)
    assert snapshot(area) == before


def test_train_refuses_an_unwritable_output_before_any_work(no_work, capsys, small_sample):
    refused(["train", "--data", str(small_sample), "--out", "/proc/ner-model", "--quiet"], capsys,
            "--out", "/proc", "cannot write")


def test_bundle_with_a_foreign_file_is_not_replaced(area, crf_bundle, no_work, capsys):
    shutil.copytree(crf_bundle, area / "model")
    (area / "model" / "my-predictions.conll").write_text("x O O\n")
    before = snapshot(area)
    refused(["train", "--data", str(area / "corpus"), "--out", str(area / "model")], capsys,
            "my-predictions.conll")
    assert snapshot(area) == before


@pytest.mark.slow
def test_train_writes_into_an_empty_folder_and_fine_tunes_its_own_bundle_in_place(area, tmp_path):
    import ner

    before = snapshot(area)
    work = tmp_path.parent / f"{tmp_path.name}-work"
    corpus = write_slice(SAMPLE, work / "tiny", {"train": 40, "dev": 10})
    settings = dict(TINY_TRAIN, epochs=1, data=str(corpus), encoder="rnn")
    (work / "empty").mkdir()
    first = ner.train(out=str(work / "empty"), **settings)
    created = json.loads((first / "bundle.json").read_text())["created"]
    ner.train(out=str(first), init=str(first), **settings)     # rerun into its own bundle, from its weights
    assert json.loads((first / "config.json").read_text())["init"] == str(first)
    assert created <= json.loads((first / "bundle.json").read_text())["created"]
    assert sorted(p.name for p in work.iterdir()) == ["empty", "tiny"]   # no lock, no leftovers
    assert snapshot(area) == before


def test_folders_and_files_follow_the_umask(tmp_path):
    def fill(folder):
        (folder / "data.txt").write_text("x\n")
        (folder / "bundle.json").write_text("{}\n")

    old = os.umask(0o027)
    try:
        out = replace_folder(tmp_path / "b", fill)
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777, (out / "data.txt").stat().st_mode & 0o777) == (0o750, 0o640)


def test_bundle_from_training_follows_the_umask(crf_bundle):
    umask = os.umask(0)
    os.umask(umask)
    assert crf_bundle.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (crf_bundle / "model.keras").stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------- one writer per output

HOLDER = ("import sys; from ner.io.outputs import claim\n"
          "with claim(sys.argv[1]):\n    print('holding', flush=True); sys.stdin.read()\n")


def test_a_second_writer_exits_at_once_and_a_killed_holder_blocks_nothing(area, no_work, capsys, small_sample):
    out = area / "models" / "en"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        refused(["train", "--data", str(small_sample), "--out", str(out)], capsys,
                str(out), f"pid {holder.pid}", "another ner process")
    finally:
        holder.kill()
        holder.wait()
    with claim(out) as held:   # the OS released the dead holder's lock
        assert held == out.resolve()
    assert not (out.parent / ".en.lock").exists()


# ---------------------------------------------------------------- crash-safe swap, a kill at every step

DRIVER = r"""
import os, shutil, sys
from pathlib import Path
import ner.io.outputs as outputs

out, kill_at, exchange, version = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
calls = 0


def step():
    global calls
    calls += 1
    if calls == kill_at:
        os._exit(9)   # a kill: no cleanup, no finally blocks


def killable(fn):
    def wrapped(*args, **kwargs):
        step()
        result = fn(*args, **kwargs)
        step()
        return result
    return wrapped


for name in ("rename", "mkdir", "unlink", "rmdir"):
    setattr(os, name, killable(getattr(os, name)))
if not exchange:
    outputs._exchange = lambda a, b: False
else:
    outputs._exchange = killable(outputs._exchange)


def fill(folder):
    for name in ("model.keras", "vocab.json", "bundle.json"):   # bundle.json last
        (folder / name).write_text(version)
        step()


outputs.replace_folder(out, fill)
"""


def complete(folder: Path) -> str | None:
    """The version a complete test bundle holds (None: missing or incomplete)."""
    texts = {(folder / n).read_text() if (folder / n).is_file() else None
             for n in ("model.keras", "vocab.json", "bundle.json")}
    return texts.pop() if len(texts) == 1 else None


@pytest.mark.parametrize("exchange", [True, False], ids=["atomic-exchange", "two-renames"])
def test_a_kill_at_any_step_of_a_bundle_write_leaves_a_complete_bundle(tmp_path, exchange):
    out = tmp_path / "models" / "b"

    def write(version):
        def fill(folder):
            for name in ("model.keras", "vocab.json", "bundle.json"):
                (folder / name).write_text(version)
        replace_folder(out, fill)

    write("old")
    gaps = 0
    for kill_at in range(1, 200):
        run = subprocess.run([sys.executable, "-c", DRIVER, str(out), str(kill_at), str(int(exchange)), "new"],
                             cwd=ROOT, capture_output=True, text=True)
        if run.returncode == 0:
            break
        assert run.returncode == 9, run.stderr
        if exchange:
            assert complete(out) in ("old", "new"), f"killed at step {kill_at}: {sorted(os.listdir(out.parent))}"
        else:
            gaps += complete(out) is None
            restore(out)   # what the next command that reads the path does first
            assert complete(out) in ("old", "new"), f"killed at step {kill_at}: {sorted(os.listdir(out.parent))}"
        write("old")   # the next write cleans every leftover
        assert sorted(os.listdir(out.parent)) == ["b"]
    else:
        pytest.fail("the write never finished")
    assert complete(out) == "new" and kill_at > 10
    assert exchange or gaps > 0   # the two-rename path does leave a gap that restore must close


def test_the_next_command_restores_a_bundle_a_kill_left_aside(crf_bundle, tmp_path, capsys):
    shutil.copytree(crf_bundle, tmp_path / ".en.old-123-abcd")   # killed between the two renames
    shutil.copytree(crf_bundle, tmp_path / ".en.tmp-dead")
    (tmp_path / ".en.tmp-dead" / "bundle.json").unlink()          # killed while writing the new one
    assert main(["info", str(tmp_path / "en"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["encoder"] == "bilstm-cnn"
    assert sorted(os.listdir(tmp_path)) == ["en"]


# ---------------------------------------------------------------- other outputs

def test_compare_refuses_foreign_outputs_and_inputs_before_any_work(area, no_work, capsys):
    before = snapshot(area)
    refused(["compare", "--data", str(area / "corpus"), "--out", str(area / "mine")], capsys, "notes.txt")
    refused(["compare", "--data", str(area / "corpus"), "--out", str(area / "corpus")], capsys, "is an input")
    refused(["compare", "--data", str(area / "corpus"), "--out", str(area / "plain.txt")], capsys,
            "not a folder")
    assert snapshot(area) == before


@pytest.mark.parametrize("encoder", ["../../escape", "/tmp/escape", ".hidden", "a/b", ""])
def test_compare_from_refuses_names_that_would_leave_the_output(encoder, area, crf_bundle, capsys):
    shutil.copytree(crf_bundle, area / "shared-bundle")
    config = json.loads((area / "shared-bundle" / "config.json").read_text())
    (area / "shared-bundle" / "config.json").write_text(json.dumps({**config, "encoder": encoder}))
    before = snapshot(area)
    refused(["compare", "--from", str(area / "shared-bundle"), "--data", str(area / "corpus"),
             "--out", str(area / "reports" / "r")], capsys, "config.json", "cannot name")
    assert snapshot(area) == {**before, "reports": before.get("reports", ("dir", (area / "reports").stat().st_mode))}
    assert not (area / "reports" / "r").exists() and not Path("/tmp/escape").exists()


@pytest.mark.parametrize("name", ["bilstm-cnn", "rnn", "bilstm-cnn-fused", "train", "validation", "x1.2"])
def test_safe_names_pass(name):
    assert safe_name(name, "what") == name


def test_evaluate_predictions_never_overwrite_an_input(area, crf_bundle, capsys):
    before = snapshot(area)
    test_file = area / "corpus" / "test.txt"
    for target, words in ((test_file, "is an input"), (area / "mine", "not a regular file"),
                          (Path("/proc/ner/p.conll"), "cannot")):
        refused(["evaluate", str(crf_bundle), "--data", str(test_file), "--predictions", str(target)], capsys,
                "--predictions", *words)
    refused(["evaluate", str(crf_bundle), "--data", str(test_file), "--predictions",
             str(crf_bundle / "p.conll")], capsys, "is inside an input")
    refused(["evaluate", str(crf_bundle), "--data", str(test_file), "--predictions", ""], capsys, "no path given")
    assert snapshot(area) == before


def test_convert_replaces_only_its_own_output(area, capsys):
    corpus = area / "corpus"
    before = snapshot(area)
    refused(["data", "convert", str(corpus), str(corpus), "--to", "bioes"], capsys, "OUT", "is an input")
    refused(["data", "convert", str(corpus), str(area / "mine"), "--to", "bioes"], capsys, "notes.txt")
    refused(["data", "convert", str(corpus / "train.txt"), str(corpus / "train.txt"), "--to", "bioes"], capsys,
            "is an input")
    refused(["data", "convert", str(corpus / "train.txt"), "", "--to", "bioes"], capsys, "OUT", "no path given")
    assert snapshot(area) == before
    for _ in range(2):   # a rerun replaces the folder it wrote
        assert main(["data", "convert", str(corpus), str(area / "bioes"), "--to", "bioes"]) == 0
    assert sorted(os.listdir(area / "bioes")) == sorted([MARK, "dev.txt", "test.txt", "train.txt"])
    assert main(["data", "stats", str(area / "bioes"), "--json"]) == 0
    capsys.readouterr()
    assert snapshot(area) == {**before, **{k: v for k, v in snapshot(area).items() if k.startswith("bioes")}}


def test_file_outputs_replace_an_existing_file_only_with_overwrite(area, crf_bundle, capsys):
    corpus = area / "corpus"
    (area / "mine" / "test.txt").write_text("my own test file\n")
    shutil.copytree(crf_bundle, area / "other-model")
    before = snapshot(area)
    refused(["data", "convert", str(corpus / "test.txt"), str(area / "plain.txt"), "--to", "bioes"], capsys,
            "plain.txt", "--overwrite")
    refused(["data", "convert", str(corpus / "test.txt"), str(area / "mine"), "--to", "bioes"], capsys,
            "mine/test.txt", "--overwrite")
    refused(["evaluate", str(crf_bundle), "--data", str(corpus / "test.txt"), "--predictions",
             str(area / "plain.txt")], capsys, "plain.txt", "--overwrite")
    for name in ("vocab.json", "new.conll"):   # never into a model bundle, not even with --overwrite
        refused(["evaluate", str(crf_bundle), "--data", str(corpus / "test.txt"), "--predictions",
                 str(area / "other-model" / name), "--overwrite"], capsys, "inside a model bundle")
    assert snapshot(area) == before
    assert main(["data", "convert", str(corpus / "test.txt"), str(area / "plain.txt"), "--to", "bioes",
                 "--overwrite"]) == 0
    assert main(["evaluate", str(crf_bundle), "--data", str(corpus / "test.txt"), "--predictions",
                 str(area / "p.conll")]) == 0
    assert main(["evaluate", str(crf_bundle), "--data", str(corpus / "test.txt"), "--predictions",
                 str(area / "p.conll"), "--overwrite"]) == 0


def test_a_rerun_never_deletes_what_a_user_added_to_a_converted_folder(area, no_work, capsys):
    corpus = area / "corpus"
    assert main(["data", "convert", str(corpus), str(area / "bioes"), "--to", "bioes"]) == 0
    (area / "bioes" / "notes.txt").write_text("mine\n")
    before = snapshot(area)
    refused(["data", "convert", str(corpus), str(area / "bioes"), "--to", "bio"], capsys, "notes.txt")
    refused(["train", "--data", str(corpus), "--out", str(area / "bioes")], capsys,
            "another kind of ner output (converted corpus)")
    assert snapshot(area) == before


def test_a_file_write_removes_the_temporary_files_of_killed_writers_only(tmp_path):
    from ner.data.conll import atomic_write_text

    dead = tmp_path / ".p.conll.999999999.0badf00d.tmp"     # no such process
    alive = tmp_path / f".p.conll.{os.getpid()}.0badf00d.tmp"
    other = tmp_path / ".q.conll.999999999.0badf00d.tmp"    # another file's
    for path in (dead, alive, other):
        path.write_text("partial")
    atomic_write_text(tmp_path / "p.conll", "x O\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["p.conll", alive.name, other.name])


def test_what_outputs_takes_for_a_bundle_is_what_a_bundle_holds():
    """ner.io.outputs recognises a bundle folder by its files (it may not import ner.bundle): the same list."""
    from ner import bundle
    from ner.io import outputs

    assert outputs.BUNDLE_FILES == {*bundle.REQUIRED, bundle.WEIGHTS}
    assert outputs.BUNDLE_MARK in bundle.REQUIRED


@pytest.mark.parametrize("seconds, shown", [(0, "0:00"), (59.4, "0:59"), (59.6, "1:00"), (61, "1:01"),
                                            (3599.4, "59:59"), (3600, "1:00:00"), (36061, "10:01:01")])
def test_durations_printed_for_people(seconds, shown):
    assert clock(seconds) == shown


def test_remove_stale_deletes_only_unchanged_files_ner_recorded(tmp_path):
    """A folder ner writes in place mirrors its input: outputs an earlier run recorded for the same input are
    deleted when unchanged; a changed one, a file ner never recorded, another input's outputs, a file reached
    through a symbolic link and any path outside the folder stay."""
    out, keep = tmp_path / "out", tmp_path / "keep"
    mark_folder(out, "tagged")
    written = ["a.txt", "b.txt", "sub/c.txt", "d.txt", "linked/e.txt", "caf\udce9.txt"]
    for rel in written:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(rel, errors="surrogateescape")
    record_outputs(out, "/in/A", written)
    assert remove_stale(out, "/in/A", written) == ([], [])
    (out / "z.txt").write_text("z")
    record_outputs(out, "/in/B", ["z.txt"])   # another input into the same folder
    (out / "notes.txt").write_text("the user's")
    (out / "d.txt").write_text("corrected by hand")
    shutil.move(out / "linked", keep)   # moved out by the user and linked back: its files are not ner's to delete
    (out / "linked").symlink_to(keep)
    victim = tmp_path / "victim.txt"
    victim.write_text("outside")
    mark = json.loads((out / MARK).read_text())
    stamp = [victim.stat().st_size, hashlib.sha256(b"outside").hexdigest()]
    mark["outputs"]["/in/A"].update({"../victim.txt": stamp, str(victim): stamp, MARK: [0, ""]})   # tampered
    (out / MARK).write_text(json.dumps(mark))
    mark_folder(out, "tagged")   # as a rerun does first: the record stays
    assert remove_stale(out, "/in/A", ["a.txt"]) == (["b.txt", "caf\udce9.txt", "sub/c.txt"], ["d.txt"])
    record_outputs(out, "/in/A", ["a.txt"])
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == \
        [MARK, "a.txt", "d.txt", "linked", "notes.txt", "z.txt"]
    assert (keep / "e.txt").read_text() == "linked/e.txt" and victim.read_text() == "outside"
    assert (out / "d.txt").read_text() == "corrected by hand"
    records = json.loads((out / MARK).read_text())["outputs"]
    assert {k: list(v) for k, v in records.items()} == {"/in/A": ["a.txt"], "/in/B": ["z.txt"]}
    assert remove_stale(out, "/in/A", ["a.txt"]) == ([], [])
    assert remove_stale(out, "/in/B", []) == (["z.txt"], []) and (out / "a.txt").is_file()
