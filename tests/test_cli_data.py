"""``ner data stats / validate / convert``, run in-process through ner.cli.main (plus one subprocess run)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from ner.cli import main
from ner.data.conll import read_conll

from helpers import CONLL2003, ROOT, cli

TRAIN = """-DOCSTART- -X- O

UN NNP B-ORG
backs VBZ O
Danish JJ B-MISC
call NN O

Maria NNP B-PER
Okafor NNP I-PER

NAIROBI NNP B-LOC
"""
DEV = "The DT O\nEuropean NNP B-ORG\nCommission NNP I-ORG\n"
ILL_FORMED = "a O\nb I-PER\n\nc B-LOC\nd I-ORG\n\ne B-MISC\n"


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.txt").write_text(TRAIN)
    (folder / "valid.txt").write_text(DEV)
    return folder


def test_stats_json_shape_and_values(capsys, corpus):
    code, out, _ = cli(capsys, "data", "stats", corpus, "--json")
    assert code == 0
    assert json.loads(out) == {"splits": {
        "train": {"sentences": 3, "documents": 1, "tokens": 7, "scheme": "bio",
                  "entities": {"LOC": 1, "MISC": 1, "ORG": 1, "PER": 1},
                  "length": {"p50": 2, "p95": 4, "max": 4}, "sentences_per_document": {"mean": 3.0, "max": 3}},
        "dev": {"sentences": 1, "documents": 1, "tokens": 3, "scheme": "bio", "entities": {"ORG": 1},
                "length": {"p50": 3, "p95": 3, "max": 3}, "sentences_per_document": {"mean": 1.0, "max": 1}}}}


def test_stats_table(capsys, corpus):
    code, out, _ = cli(capsys, "data", "stats", corpus)
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["split", "sentences", "tokens", "scheme"]
    assert lines[1].split()[:11] == ["train", "3", "7", "bio", "2", "4", "4", "1", "3.0", "3", "4"]
    assert "LOC=1 MISC=1 ORG=1 PER=1" in lines[1] and lines[2].startswith("dev")


def test_stats_column_options(capsys, tmp_path):
    (tmp_path / "c.tsv").write_text("1\tHamburg\tB-LOC\tx\n2\tis\tO\tx\n")
    code, out, _ = cli(capsys, "data", "stats", tmp_path / "c.tsv", "--token-col", 1, "--tag-col=2", "--json")
    assert code == 0 and json.loads(out)["splits"]["train"]["entities"] == {"LOC": 1}


def test_stats_dataset_columns(capsys, tmp_path):
    Dataset.from_dict({"words": [["a", "b"]], "labels": [["B-X", "I-X"]]}).to_parquet(tmp_path / "d.parquet")
    code, out, _ = cli(capsys, "data", "stats", tmp_path / "d.parquet", "--tokens-column", "words",
                       "--tags-column", "labels", "--json")
    assert code == 0 and json.loads(out)["splits"]["train"]["entities"] == {"X": 1}


def test_validate_clean(capsys, corpus):
    code, out, _ = cli(capsys, "data", "validate", corpus)
    assert code == 0 and out == f"{corpus}: OK, 4 sentences, scheme bio\n"


def test_validate_lists_problems_with_file_and_line(capsys, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(ILL_FORMED + "\nf X-PER\n")
    code, out, err = cli(capsys, "data", "validate", path)
    assert code == 1
    assert out.splitlines() == [
        f"{path}:2: I-PER cannot follow O in bio (an entity starts with B-PER)",
        f"{path}:5: I-ORG cannot follow B-LOC in bio (an entity starts with B-ORG)",
        f"{path}:9: unknown tag 'X-PER': expected O or a prefix (B/E/I/L/M/S/U) followed by '-' and a label, "
        "e.g. B-PER",
    ]
    assert "3 problem(s) in 3 of 4 sentences (scheme bio)" in err


def test_validate_against_a_chosen_scheme(capsys, corpus):
    code, out, _ = cli(capsys, "data", "validate", corpus, "--scheme", "bioes")
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == (f"{corpus / 'train.txt'}:4: "
                        "O cannot follow B-ORG in bioes (the previous entity is not closed)")
    assert lines[-1] == (f"{corpus / 'valid.txt'}:3: "
                         "I-ORG cannot end a sentence in bioes (an entity ends with E- or S-)")


def test_convert_file_round_trip_keeps_other_columns(capsys, tmp_path, corpus):
    src = corpus / "train.txt"
    code, out, _ = cli(capsys, "data", "convert", src, tmp_path / "out.bioes", "--to", "bioes")
    assert code == 0 and out == f"wrote {tmp_path / 'out.bioes'} (bio -> bioes)\n"
    assert (tmp_path / "out.bioes").read_text() == TRAIN.replace("B-ORG", "S-ORG").replace(
        "B-MISC", "S-MISC").replace("I-PER", "E-PER").replace("B-LOC", "S-LOC")
    assert cli(capsys, "data", "convert", tmp_path / "out.bioes", tmp_path / "back.txt", "--to", "iob2")[0] == 0
    assert (tmp_path / "back.txt").read_text() == TRAIN


def test_convert_folder(capsys, tmp_path, corpus):
    code, _, _ = cli(capsys, "data", "convert", corpus, tmp_path / "iob1", "--to", "iob1")
    assert code == 0 and sorted(p.name for p in (tmp_path / "iob1").iterdir()) == [".ner-output.json", "train.txt",
                                                                              "valid.txt"]
    assert read_conll(tmp_path / "iob1" / "valid.txt")[0].tags == ["O", "I-ORG", "I-ORG"]
    cli(capsys, "data", "convert", tmp_path / "iob1", tmp_path / "bio", "--to", "bio", "--from", "iob1")
    assert (tmp_path / "bio" / "train.txt").read_text() == TRAIN


def test_convert_chinese_bmes(capsys, tmp_path):
    (tmp_path / "zh.bmes").write_text("王 B-PER\n小 M-PER\n明 E-PER\n去 O\n沪 S-LOC\n")
    code, _, _ = cli(capsys, "data", "convert", tmp_path / "zh.bmes", tmp_path / "zh.bio", "--to", "bio")
    assert code == 0
    assert (tmp_path / "zh.bio").read_text() == "王 B-PER\n小 I-PER\n明 I-PER\n去 O\n沪 B-LOC\n"


def test_convert_reads_ill_formed_input_leniently(capsys, tmp_path):
    (tmp_path / "bad.txt").write_text(ILL_FORMED)
    code, _, err = cli(capsys, "data", "convert", tmp_path / "bad.txt", tmp_path / "out.txt", "--to", "bioes")
    assert code == 0 and "2 ill-formed bio sentence(s) were read leniently" in err
    assert [s.tags for s in read_conll(tmp_path / "out.txt")] == [["O", "S-PER"], ["S-LOC", "S-ORG"], ["S-MISC"]]


def test_convert_dataset_source_writes_conll_folder(capsys, tmp_path):
    Dataset.from_dict({"tokens": [["a", "b", "c"]], "tags": [["B-X", "I-X", "I-X"]]}).to_parquet(
        tmp_path / "d.parquet")
    code, _, _ = cli(capsys, "data", "convert", tmp_path / "d.parquet", tmp_path / "out", "--to", "bilou")
    assert code == 0 and (tmp_path / "out" / "train.txt").read_text() == "a B-X\nb I-X\nc L-X\n"
    (tmp_path / "file").write_text("x")
    code, _, err = cli(capsys, "data", "convert", tmp_path / "d.parquet", tmp_path / "file", "--to", "bio")
    assert code == 2 and "exists and is not a folder" in err


@pytest.mark.parametrize("action", [("stats",), ("validate",), ("convert", "--to", "bio")])
@pytest.mark.parametrize("name, content, expected", [
    ("empty.txt", b"", "empty.txt: empty file"),
    ("docs.txt", b"-DOCSTART- O\n\n", "docs.txt: no sentences"),
    ("cols.txt", b"UN NNP B-ORG\nbacks O\n", "cols.txt:2: line has 2 column(s) but line 1 has 3"),
    ("latin1.txt", b"a O\n\nM\xfcller B-PER\n", "latin1.txt:3: not UTF-8 text (byte 0xfc)"),
    ("missing.txt", None, "missing.txt: no such file or folder"),
    ("folder", "dir", "folder: no train split"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, action, name, content, expected):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
        (path / "test.txt").write_text("a O\n")
    elif content is not None:
        path.write_bytes(content)
    argv = ["data", action[0], path, *((tmp_path / "out.txt",) if action[0] == "convert" else ()), *action[1:]]
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("ner: error: ") and err.count("\n") == 1 and expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize("action", ["stats", "convert"])
def test_unknown_prefix_is_an_input_error(capsys, tmp_path, action):
    (tmp_path / "t.txt").write_text("a O\nb Q-PER\n")
    extra = [tmp_path / "o.txt", "--to", "bio"] if action == "convert" else []
    code, _, err = cli(capsys, "data", action, tmp_path / "t.txt", *extra)
    assert code == 2 and f"{tmp_path / 't.txt'}:2: unknown tag 'Q-PER'" in err


@pytest.mark.parametrize("argv, flags", [
    (["data"], ["stats", "validate", "convert"]),
    (["data", "stats"], ["--json", "--token-col", "--tag-col", "--tokens-column", "--tags-column"]),
    (["data", "validate"], ["--scheme", "--token-col", "--tag-col", "--tokens-column", "--tags-column"]),
    (["data", "convert"], ["--to", "--from", "--token-col", "--tag-col", "bioes", "bilou"]),
])
def test_every_flag_is_in_help(capsys, argv, flags):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and all(f in out for f in flags)


def test_data_without_action_prints_help(capsys):
    code, out, _ = cli(capsys, "data")
    assert code == 2 and "stats" in out and "convert" in out


def sample(name: str) -> Path:
    return ROOT / "data" / name


def test_python_m_ner_on_the_sample_corpus():
    sample("sample")
    done = subprocess.run([sys.executable, "-m", "ner", "data", "stats", "data/sample", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    splits = json.loads(done.stdout)["splits"]
    assert splits["train"]["sentences"] > 0 and {s["scheme"] for s in splits.values()} == {"bio"}


def test_python_m_ner_exit_code_and_error_survive_the_fast_exit(tmp_path):
    """``ner.cli.run`` leaves through os._exit: the exit code and the one-line error must still arrive."""
    bad = tmp_path / "bad.txt"
    bad.write_text("FIFA B-ORG\npraises\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ner", "data", "validate", str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("ner: error: ") and f"{bad}:2" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_chinese_sample_corpus_is_bmes(capsys):
    code, out, _ = cli(capsys, "data", "stats", sample("sample-zh"), "--json")
    splits = json.loads(out)["splits"]
    assert code == 0 and splits["train"]["scheme"] == "bmes" and set(splits["train"]["entities"]) <= {
        "PER", "ORG", "LOC"}
    assert cli(capsys, "data", "validate", sample("sample-zh"))[0] == 0


@pytest.mark.slow
@pytest.mark.conll
@pytest.mark.skipif(not CONLL2003.is_dir(), reason="CoNLL-2003 not available")
def test_conll2003_stats(capsys):
    code, out, _ = cli(capsys, "data", "stats", CONLL2003, "--json")
    splits = json.loads(out)["splits"]
    assert code == 0 and list(splits) == ["train", "dev", "test"]
    assert [splits[s]["sentences"] for s in splits] == [14_041, 3_250, 3_453]
    assert splits["train"]["tokens"] == 203_621
    assert {s["scheme"] for s in splits.values()} == {"bio"}
    assert splits["test"]["entities"] == {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}
