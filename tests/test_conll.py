"""Reading and writing CoNLL column files, and finding split files in a folder."""

from pathlib import Path

import pytest

from ner.data.conll import Sentence, find_splits, read_conll, replace_column, write_conll
from ner.errors import InputError, NerError

from helpers import CONLL2003, python_lines

FOUR_COLUMNS = """-DOCSTART- -X- -X- O

UN NNP B-NP B-ORG
backs VBZ B-VP O
Danish JJ B-NP B-MISC

Maria NNP B-NP B-PER
Okafor NNP I-NP I-PER
"""


def write(folder: Path, text: str | bytes, name: str = "corpus.txt") -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def as_tuples(sentences):
    return [(s.tokens, s.tags) for s in sentences]


def test_reads_columns_docstart_and_line_numbers(tmp_path):
    sentences = read_conll(write(tmp_path, FOUR_COLUMNS))
    assert as_tuples(sentences) == [(["UN", "backs", "Danish"], ["B-ORG", "O", "B-MISC"]),
                                    (["Maria", "Okafor"], ["B-PER", "I-PER"])]
    assert [s.lines for s in sentences] == [[3, 4, 5], [7, 8]]
    assert sentences[0].path == str(tmp_path / "corpus.txt")


def test_selects_token_and_tag_columns(tmp_path):
    path = write(tmp_path, FOUR_COLUMNS)
    assert read_conll(path, tag_col=1)[1].tags == ["NNP", "NNP"]
    assert read_conll(path, token_col=1, tag_col=2)[0].tokens == ["NNP", "VBZ", "JJ"]
    assert read_conll(path, tag_col=-2)[1].tags == ["B-NP", "I-NP"]
    untagged = read_conll(path, tag_col=None)
    assert untagged[0].tags is None and untagged[0].tokens == ["UN", "backs", "Danish"]


def test_docstart_can_be_kept(tmp_path):
    first = read_conll(write(tmp_path, FOUR_COLUMNS), docstart=False)[0]
    assert first.tokens == ["-DOCSTART-"] and first.lines == [1]


def test_tabs_crlf_bom_trailing_whitespace_and_extra_blank_lines(tmp_path):
    messy = ("\ufeff\r\n\r\n-DOCSTART-\tO\r\n\r\nUN\t NNP  B-ORG \t\r\nbacks VBZ\tO\r\n"
             "Danish  JJ\tB-MISC   \r\n \t\r\n\r\n\r\nMaria NNP B-PER\r\nOkafor\tNNP\tI-PER")
    clean = "UN NNP B-ORG\nbacks VBZ O\nDanish JJ B-MISC\n\nMaria NNP B-PER\nOkafor NNP I-PER\n"
    got = read_conll(write(tmp_path, messy, "messy.txt"))
    assert as_tuples(got) == as_tuples(read_conll(write(tmp_path, clean, "clean.txt")))
    assert [s.lines for s in got] == [[5, 6, 7], [11, 12]]


def test_chinese_one_character_per_line(tmp_path):
    text = "王 B-PER\n小 M-PER\n明 E-PER\n去 O\n杭 B-LOC\n州 E-LOC\n。 O\n\n北 B-LOC\n京 E-LOC\n"
    got = read_conll(write(tmp_path, text, "zh.bmes"))
    first = (list("王小明去杭州。"), ["B-PER", "M-PER", "E-PER", "O", "B-LOC", "E-LOC", "O"])
    assert as_tuples(got) == [first, (["北", "京"], ["B-LOC", "E-LOC"])]


def test_non_space_whitespace_inside_tokens_is_kept(tmp_path):
    got = read_conll(write(tmp_path, "a\u00a0b O\n\u3000 O\n"))
    assert got[0].tokens == ["a\u00a0b", "\u3000"]


@pytest.mark.parametrize("text, message, line", [
    (b"", "empty file", None),
    (b" \n\t\n\r\n", "empty file", None),
    (b"-DOCSTART- -X- O\n\n\n-DOCSTART- -X- O\n", "no sentences", None),
    (b"UN NNP B-ORG\nbacks O\n", "line has 2 column(s) but line 1 has 3", 2),
    (b"a O\n\nb X O\n", "line has 3 column(s) but line 1 has 2", 3),
    (b"UN B-ORG\nbacks \xff\xfe O\n", "not UTF-8", 2),
    (b"UN\nbacks\n", "token and tag columns are the same", 1),
])
def test_bad_files_name_file_and_line(tmp_path, text, message, line):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_conll(path)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(err.value).startswith(where) and message in str(err.value)
    assert "\n" not in str(err.value) and err.value.line == line


def test_missing_column_and_missing_path(tmp_path):
    path = write(tmp_path, "UN B-ORG\n")
    with pytest.raises(InputError, match=r":1: no tag column 5: the line has 2 column"):
        read_conll(path, tag_col=5)
    with pytest.raises(InputError, match="no such file"):
        read_conll(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a folder"):
        read_conll(tmp_path)


def one_sentence(folder: Path, n: int) -> Path:
    return write(folder, "".join(f"w{i} {'B-PER' if i % 7 == 0 else 'O'}\n" for i in range(n)), f"{n}.txt")


def test_long_sentence_reads_in_linear_time(tmp_path):
    """Python lines executed for a 4,000-token sentence are at most 4 times (+10 %) those for 1,000:
    linear, not quadratic, counted, not timed (bench/readers.py prints the speed)."""
    small, large = one_sentence(tmp_path, 1_000), one_sentence(tmp_path, 4_000)
    read_conll(small)  # first calls may fill caches
    assert python_lines(read_conll, large) <= 4.4 * python_lines(read_conll, small)
    (sentence,) = read_conll(one_sentence(tmp_path, 100_000))
    assert len(sentence.tokens) == 100_000 and sentence.lines[-1] == 100_000 and sentence.tags[7] == "B-PER"


def test_write_reads_back_identical(tmp_path):
    sentences = [(["UN", "backs", "Müller's", "北京"], ["B-ORG", "O", "B-PER", "S-LOC"]), (["x"], ["O"])]
    for sep in (" ", "\t"):
        path = tmp_path / f"out{len(sep)}.txt"
        write_conll(path, sentences, sep=sep)
        assert as_tuples(read_conll(path)) == sentences
    three = [(["a", "b"], ["B-X", "I-X"], ["B-X", "O"])]
    write_conll(tmp_path / "pred.txt", three)
    assert (tmp_path / "pred.txt").read_text() == "a B-X B-X\nb I-X O\n"
    assert read_conll(tmp_path / "pred.txt", tag_col=1)[0].tags == ["B-X", "I-X"]


def test_write_is_atomic_and_rejects_unwritable_values(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    write_conll(path, [(["keep"], ["O"])])
    for bad in ([(["two words"], ["O"])], [(["a", ""], ["O", "O"])], [(["a", "b"], ["O"])],
                [(["-DOCSTART-"], ["O"])]):
        with pytest.raises(NerError) as err:
            write_conll(path, bad)
        assert str(path) in str(err.value)
    assert path.read_text() == "keep O\n"  # the old file is untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]  # no temporary files left


def test_write_skips_empty_sentences(tmp_path):
    write_conll(tmp_path / "o.txt", [([], []), (["a"], ["O"])])
    assert as_tuples(read_conll(tmp_path / "o.txt")) == [(["a"], ["O"])]


def test_replace_column_keeps_every_other_byte(tmp_path):
    text = "\ufeff-DOCSTART- -X- O\r\n\r\nUN\tNNP  B-ORG \r\nbacks VBZ O\r\n\r\nMaria NNP I-PER\r\n"
    src = write(tmp_path, text)
    sentences = read_conll(src)
    replace_column(src, tmp_path / "out.txt", sentences, [["S-ORG", "O"], ["S-PER"]])
    expected = text[1:].replace("B-ORG", "S-ORG").replace("I-PER", "S-PER")
    assert (tmp_path / "out.txt").read_bytes().decode() == expected


@pytest.mark.parametrize("names, expected", [
    (["train.txt", "dev.txt", "test.txt"], {"train": "train.txt", "dev": "dev.txt", "test": "test.txt"}),
    (["train", "valid", "test"], {"train": "train", "dev": "valid", "test": "test"}),
    (["Train.conll", "validation.iob", "test.bmes", "notes.md", "train.json"],
     {"train": "Train.conll", "dev": "validation.iob", "test": "test.bmes"}),
    (["train.tsv", "dev.bio"], {"train": "train.tsv", "dev": "dev.bio"}),
])
def test_find_splits(tmp_path, names, expected):
    for name in names:
        write(tmp_path, "a O\n", name)
    splits = find_splits(tmp_path)
    assert list(splits) == list(expected)
    assert {k: p.name for k, p in splits.items()} == expected


def test_find_splits_errors(tmp_path):
    write(tmp_path, "a O\n", "dev.txt")
    with pytest.raises(InputError, match="no train split"):
        find_splits(tmp_path)
    write(tmp_path, "a O\n", "train.txt")
    write(tmp_path, "a O\n", "valid.conll")
    with pytest.raises(InputError, match="two files for the dev split"):
        find_splits(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        find_splits(tmp_path / "missing")


def test_sentence_is_a_plain_dataclass():
    s = Sentence(["a"], ["O"], [1])
    assert s.path is None and s == Sentence(["a"], ["O"], [1], None)


@pytest.mark.slow
@pytest.mark.conll
@pytest.mark.skipif(not CONLL2003.is_dir(), reason="CoNLL-2003 not available")
def test_conll2003_read_write_read_identical(tmp_path):
    for split in ("train", "valid", "test"):
        original = read_conll(CONLL2003 / f"{split}.txt")
        write_conll(tmp_path / f"{split}.txt", [(s.tokens, s.tags) for s in original])
        assert as_tuples(read_conll(tmp_path / f"{split}.txt")) == as_tuples(original)
    assert sum(len(s.tokens) for s in read_conll(CONLL2003 / "train.txt")) == 203_621
