"""Corpora shaped as users bring them: invisible blank lines, byte-order marks and UTF-16, documents kept
(-DOCSTART- lines and rows), and one file scored as the split asked for."""

import codecs
import json

import pytest

import ner
from ner.cli import main
from ner.data.conll import read_conll, write_conll
from ner.data.corpus import corpus_stats, load_corpus
from ner.errors import InputError

from helpers import cli

TEXT = "Angela B-PER\nMerkel I-PER\n\nin O\nParis B-LOC\n"
EXPECTED = [(["Angela", "Merkel"], ["B-PER", "I-PER"]), (["in", "Paris"], ["O", "B-LOC"])]
DOCUMENTS = "-DOCSTART- O\n\nUN B-ORG\n\nbacks O\n\n-DOCSTART- O\n\nMaria B-PER\n\n-DOCSTART- O\n\nOslo B-LOC\n"


def put(folder, text, name="corpus.txt"):
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def read(path, **kwargs):
    return [(s.tokens, s.tags) for s in read_conll(path, **kwargs)]


# ---------------------------------------------------------------- lines read as a person reads them

@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_end_an_editor_shows_ends_a_line(tmp_path, capsys, newline):
    path = put(tmp_path, TEXT.replace("\n", newline))
    assert read(path) == EXPECTED
    assert read_conll(path)[1].lines == [4, 5]   # line numbers as the editor counts them
    code, _, _ = cli(capsys, "data", "convert", path, tmp_path / "out.txt", "--to", "bioes")
    bioes = TEXT.replace("I-PER", "E-PER").replace("B-LOC", "S-LOC")
    assert code == 0 and (tmp_path / "out.txt").read_bytes() == bioes.replace("\n", newline).encode()   # ends kept


@pytest.mark.parametrize("blank", [
    "\u00a0", "\u2000", "\u2009", "\u202f", "\u3000",          # Zs
    "\u2028", "\u2029",                                        # Zl, Zp
    "\x00", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f", "\x85",    # Cc
    "\u200b", "\u200c", "\u200d", "\u200e", "\u2060", "\ufeff", "\u00ad", "\U000e0001",  # Cf
    " \u200b\t\u00a0\ufeff ", " \u2028\t",
], ids=lambda s: "+".join(f"U+{ord(c):04X}" for c in s))
def test_invisible_line_is_a_sentence_break(tmp_path, blank):
    sentences = read_conll(put(tmp_path, TEXT.replace("\n\n", f"\n{blank}\n")))
    assert [(s.tokens, s.tags) for s in sentences] == EXPECTED and [s.lines for s in sentences] == [[1, 2], [4, 5]]


@pytest.mark.parametrize("token", ["a\u00a0b", "\u3000", "👩\u200d💻", "\u200bx", "x\ufeff"])
def test_tokens_may_hold_invisible_characters(tmp_path, token):
    assert read(put(tmp_path, f"{token} O\nb B-PER\n")) == [([token, "b"], ["O", "B-PER"])]


@pytest.mark.parametrize("data, first_line", [
    (codecs.BOM_UTF8 + TEXT.encode(), 1),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), 1),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), 1),
    (codecs.BOM_UTF32_LE + TEXT.replace("\n", "\r\n").encode("utf-32-le"), 1),
    (codecs.BOM_UTF16_LE + ("\ufeff\n" + TEXT).encode("utf-16-le"), 2),
], ids=["utf-8-bom", "utf-16-le", "utf-16-be", "utf-32-le-crlf", "utf-16-bom-line"])
def test_byte_order_marks_and_utf16(tmp_path, data, first_line):
    sentences = read_conll(put(tmp_path, data))
    assert [(s.tokens, s.tags) for s in sentences] == EXPECTED and sentences[0].lines[0] == first_line


def test_utf16_json_lines_and_broken_utf16(tmp_path):
    rows = "\n".join(json.dumps({"tokens": t, "tags": g}) for t, g in EXPECTED)
    corpus = load_corpus(put(tmp_path, codecs.BOM_UTF16_LE + rows.encode("utf-16-le"), "c.jsonl"))
    assert corpus["train"]["tokens"][:] == [t for t, _ in EXPECTED]
    broken = put(tmp_path, codecs.BOM_UTF16_LE + "a O\nb O\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(InputError, match=r":3: not UTF-16 text .*re-encode the file as UTF-8$"):
        read_conll(broken)


@pytest.mark.parametrize("text, kwargs, line, message", [
    ("a O\nb\u00a0B-PER\n", {}, 2, "line has 1 column(s) but line 1 has 2: it holds U+00A0 (NO-BREAK SPACE)"),
    ("a O\nb\u2009\u200bB-PER\n", {}, 2, "it holds U+2009 (THIN SPACE), U+200B (ZERO WIDTH SPACE)"),
    ("a X O\nb X\u3000O\n", {}, 2, "line has 2 column(s) but line 1 has 3: it holds U+3000"),
    ("a\u00a0O\nb B-PER\n", {}, 1, "token and tag columns are the same (the line has 1 column(s)); a tagged "
                                   "file needs a tag column: it holds U+00A0 (NO-BREAK SPACE)"),
    ("a\u00a0O\nb B-PER\n", {"tag_col": None}, 1, "line has 1 column(s) but line 2 has 2: it holds U+00A0"),
    ("a O\nb\x85O\n", {}, 2, "it holds U+0085, which is not a column separator (only spaces and tabs are)"),
], ids=["nbsp", "two-named", "ideographic", "first-line", "first-line-tokens-only", "control"])
def test_invisible_separator_is_named(tmp_path, text, kwargs, line, message):
    path = put(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_conll(path, **kwargs)
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)
    assert "\n" not in str(err.value) and err.value.line == line


@pytest.mark.parametrize("text", ["a O\nb\u00a0c X O\n", "a O\nb\n", "a\u200dx O\nb X Y O\n"])
def test_invisible_character_not_named_when_it_is_not_the_cause(tmp_path, text):
    with pytest.raises(InputError, match="column") as err:
        read_conll(put(tmp_path, text))
    assert "U+" not in str(err.value)


def test_nbsp_error_through_the_cli(capsys, tmp_path):
    path = put(tmp_path, "a O\nb\u00a0B-PER\n")
    code, out, err = cli(capsys, "data", "stats", path)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"ner: error: {path}:2: line has 1 column(s)") and "U+00A0 (NO-BREAK SPACE)" in err


# ---------------------------------------------------------------- documents

def test_documents_from_docstart_lines(tmp_path):
    path = put(tmp_path, "x O\n" + DOCUMENTS + "\n-DOCSTART- O\n\n-DOCSTART- O\n")
    assert [s.document for s in read_conll(path)] == [0, 1, 1, 2, 3]
    assert {s.document for s in read_conll(path, docstart=False)} == {None}
    assert [s.document for s in read_conll(put(tmp_path, TEXT, "plain.txt"))] == [None, None]
    corpus = load_corpus(path)
    assert corpus["train"]["document"][:] == [0, 1, 1, 2, 3]
    assert load_corpus(tmp_path / "plain.txt")["train"]["document"][:] == [0, 1]


@pytest.mark.parametrize("tokens, documents", [
    ([["-DOCSTART-"], ["a"], ["b"], ["-DOCSTART-"], ["c"]], [0, 0, 1]),
    ([["a"], ["-DOCSTART-"], ["-DOCSTART-"], [], ["b"], ["c"]], [0, 1, 1]),
    ([["a"], ["b"], ["c"]], [0, 1, 2]),
])
@pytest.mark.parametrize("form", ["jsonl", "parquet", "save_to_disk"])
def test_documents_from_table_rows(tmp_path, tokens, documents, form):
    from datasets import Dataset, DatasetDict

    rows = [{"tokens": t, "tags": ["O"] * len(t)} for t in tokens]
    if form == "jsonl":
        path = put(tmp_path, "\n".join(json.dumps(r) for r in rows), "train.jsonl")
    elif form == "parquet":
        path = tmp_path / "train.parquet"
        Dataset.from_list(rows).to_parquet(path)
    else:
        path = tmp_path / "saved"
        DatasetDict({"train": Dataset.from_list(rows), "test": Dataset.from_list(rows)}).save_to_disk(path)
    corpus = load_corpus(path, tokens_column="tokens", tags_column="tags")
    assert all(ds["document"][:] == documents and ds["tokens"][:] == [["a"], ["b"], ["c"]] for ds in corpus.values())


def test_document_stats(capsys, tmp_path):
    (tmp_path / "train.txt").write_text(DOCUMENTS)
    (tmp_path / "test.txt").write_text(TEXT)
    stats = corpus_stats(load_corpus(tmp_path))["splits"]
    assert [(s["sentences"], s["documents"], s["sentences_per_document"]) for s in stats.values()] == [
        (4, 3, {"mean": 1.33, "max": 2}), (2, 2, {"mean": 1.0, "max": 1})]
    code, out, _ = cli(capsys, "data", "stats", tmp_path, "--json")
    assert code == 0 and json.loads(out)["splits"] == stats
    code, out, _ = cli(capsys, "data", "stats", tmp_path)
    header, train, test = out.splitlines()
    assert header.split()[8:11] == ["documents", "sent/doc", "max"]
    assert train.split()[7:10] == ["3", "1.3", "2"] and test.split()[7:10] == ["2", "1.0", "1"]


def test_write_conll_writes_documents_back(tmp_path):
    sentences = read_conll(put(tmp_path, DOCUMENTS))
    write_conll(tmp_path / "out.txt", [(s.tokens, s.tags) for s in sentences],
                documents=[s.document for s in sentences])
    assert (tmp_path / "out.txt").read_text() == DOCUMENTS
    write_conll(tmp_path / "three.txt", [(["a"], ["O"], ["O"])], sep="\t", documents=[4])
    assert (tmp_path / "three.txt").read_text() == "-DOCSTART-\tO\tO\n\na\tO\tO\n"


def test_convert_keeps_docstart_lines(capsys, tmp_path):
    src = put(tmp_path, "-DOCSTART- -X- O\n\nUN NNP B-ORG\nchief NN O\n\n-DOCSTART- -X- O\n\nMaria NNP B-PER\n"
                        "Okafor NNP I-PER\n")
    assert cli(capsys, "data", "convert", src, tmp_path / "out.bioes", "--to", "bioes")[0] == 0
    assert (tmp_path / "out.bioes").read_text() == src.read_text().replace("B-ORG", "S-ORG").replace("I-PER", "E-PER")
    rows = [{"tokens": ["-DOCSTART-"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["B-X", "I-X"]},
            {"tokens": ["c"], "tags": ["O"]}, {"tokens": ["-DOCSTART-"], "tags": ["O"]},
            {"tokens": ["d"], "tags": ["B-Y"]}]
    table = put(tmp_path, "\n".join(map(json.dumps, rows)), "t.jsonl")
    assert cli(capsys, "data", "convert", table, tmp_path / "folder", "--to", "bioes")[0] == 0
    written = tmp_path / "folder" / "train.txt"
    assert written.read_text() == "-DOCSTART- O\n\na B-X\nb E-X\n\nc O\n\n-DOCSTART- O\n\nd S-Y\n"
    assert [s.document for s in read_conll(written)] == [0, 0, 1]
    plain = put(tmp_path, json.dumps(rows[1]), "plain.jsonl")
    assert cli(capsys, "data", "convert", plain, tmp_path / "plain", "--to", "bio")[0] == 0
    assert (tmp_path / "plain" / "train.txt").read_text() == "a B-X\nb I-X\n"


# ---------------------------------------------------------------- one file is the split asked for

@pytest.fixture
def test_file(small_sample, tmp_path):
    blocks = (small_sample / "test.txt").read_text(encoding="utf-8").strip().split("\n\n")[:20]
    return put(tmp_path, "-DOCSTART- O\n\n" + "\n\n".join(blocks) + "\n", "corrected_test.txt")


def test_evaluate_one_file_without_split(capsys, crf_bundle, test_file):
    code, out, err = cli(capsys, "evaluate", crf_bundle, "--data", test_file, "--json")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["sentences"] == 20
    code, out, _ = cli(capsys, "evaluate", crf_bundle, "--data", test_file, "--split", "dev", "--json")
    assert code == 0 and json.loads(out) == scores
    assert ner.evaluate(crf_bundle, str(test_file))["f1"] == scores["f1"]
    assert ner.evaluate(crf_bundle, test_file, split="train")["f1"] == scores["f1"]


def test_tag_conll_file_keeps_documents(capsys, crf_bundle, tmp_path):
    path = put(tmp_path, "-DOCSTART-\n\nEU\nrejects\n\u00a0\nGerman\n\n-DOCSTART-\n\nPeter\n", "in.conll")
    code, out, _ = cli(capsys, "tag", crf_bundle, "--input", path)
    assert code == 0
    blocks = out.strip("\n").split("\n\n")
    assert [b.split("\t")[0] for b in blocks] == ["-DOCSTART-", "EU", "German", "-DOCSTART-", "Peter"]
    assert blocks[1].count("\n") == 1


@pytest.mark.parametrize("argv, words", [
    (["evaluate"], ["one file", "--split"]),
    (["data"], ["UTF-16", "byte-order mark", "one file is the train split", "-DOCSTART-"]),
    (["data", "stats"], ["documents", "sentences_per_document"]),
])
def test_help_says_how_files_map_to_splits(capsys, argv, words):
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(w in out for w in words), out
