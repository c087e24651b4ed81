"""Pretrained vectors (GloVe, word2vec text and binary, fastText .vec; plain or gzip): reading, format detection,
matching to the vocabulary, errors, model rows, ``ner train --embeddings``."""

import gzip
import json
import logging
import re

import numpy as np
import pytest
from keras import ops

from ner.data.embeddings import load_vectors
from ner.data.vocab import Vocab, Vocabularies
from ner.errors import InputError, NerError
from ner.model.network import build_tagger

from helpers import TINY_TRAIN, cli

WORDS = ["<pad>", "<unk>", "paris", "Berlin", "london", "zzz"]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_glove_exact_then_lowercase_then_case_folded(tmp_path):
    path = write(tmp_path / "glove.txt", ["paris 1 2 3", "berlin 4 5 6", "Berlin 7 8 9", "London 0 0 1",
                                          "other 1 1 1", "LONDON 5 5 5"])
    vectors = load_vectors(path, WORDS, skip=2)
    assert vectors.dim == 3
    assert vectors.rows.tolist() == [2, 3, 4]
    # exact "Berlin" beats "berlin"; "london" takes the first file word that lowercases to it
    np.testing.assert_array_equal(vectors.vectors, [[1, 2, 3], [7, 8, 9], [0, 0, 1]])
    assert vectors.tiers.tolist() == [0, 0, 1]
    assert vectors.summary().endswith("covered 3 of 4 vocabulary words (75.0%; 2 exact, 1 lowercase, 0 digits), "
                                      "3-d vectors")


def test_lowercase_fallback_and_word2vec_header(tmp_path):
    path = write(tmp_path / "w2v.txt", ["3 2", "berlin 0.5 -1e-2 ", "zzz\t3\t4", "a\xa0b 1 1"])
    vectors = load_vectors(path, WORDS + ["a\xa0b"], skip=2)
    assert vectors.rows.tolist() == [3, 5, 6] and vectors.dim == 2
    np.testing.assert_allclose(vectors.vectors, [[0.5, -0.01], [3, 4], [1, 1]])


@pytest.mark.parametrize("lines, message", [
    (["paris 1 2 3", "berlin 4 5"], r"bad\.txt:2: expected 3 values after the word, found 2"),
    (["3 4", "paris 1 2 3"], r"bad\.txt:2: expected 4 values after the word, found 3"),
    (["paris 1 x 3"], r"bad\.txt:1: vector values must be numbers"),
    (["paris"], r"bad\.txt:1: expected a word followed by its vector values"),
    ([""], r"bad\.txt: no vectors in the file"),
])
def test_bad_files_name_file_and_line(tmp_path, lines, message):
    path = write(tmp_path / "bad.txt", lines)
    with pytest.raises(InputError, match=message):
        load_vectors(path, WORDS, skip=2)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_vectors(tmp_path / "absent.txt", WORDS)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 1 2\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_vectors(tmp_path / "latin1.txt", WORDS)


def test_no_overlap_is_a_clear_error(tmp_path):
    path = write(tmp_path / "other.txt", ["hund 1 2", "katze 3 4"])
    with pytest.raises(NerError, match="none of the 4 vocabulary words has a vector"):
        load_vectors(path, WORDS, skip=2)


def vocabularies(lowercase=True):
    words = Vocab(["paris", "berlin", "the", "unseen"], lowercase=lowercase)
    return Vocabularies(words, Vocab(list("abc")), Vocab(["O", "S-LOC"], pad=False, unk=False))


def test_build_tagger_initialises_covered_rows(tmp_path, caplog):
    path = write(tmp_path / "vec.txt", ["Paris 1 2 3 4", "berlin 5 6 7 8", "the 0 0 0 1"])
    vocabs = vocabularies()
    with caplog.at_level(logging.INFO, logger="ner"):
        model = build_tagger({"word_dim": 4, "hidden": 4, "char_filters": 4}, vocabs, embeddings=str(path))
    table = ops.convert_to_numpy(model.word_embedding.embeddings)
    ids = vocabs.words.encode(["paris", "berlin", "the"])
    np.testing.assert_array_equal(table[ids], [[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 0, 1]])
    assert not np.allclose(table[vocabs.words.encode(["unseen"])], 0)   # uncovered rows stay random
    assert "covered 3 of 4 vocabulary words (75.0%; 2 exact, 1 lowercase, 0 digits), 4-d vectors" in caplog.text
    assert model.embedding_coverage.endswith("covered 3 of 4 vocabulary words (75.0%; 2 exact, 1 lowercase, "
                                             "0 digits), 4-d vectors")


def test_file_dimension_wins_over_word_dim(tmp_path, caplog):
    path = write(tmp_path / "vec.txt", ["paris 1 2", "berlin 3 4"])
    with caplog.at_level(logging.WARNING, logger="ner"):
        model = build_tagger({"word_dim": 100, "hidden": 4, "char_filters": 4}, vocabularies(),
                             embeddings=str(path))
    assert model.config["word_dim"] == 2 and tuple(model.word_embedding.embeddings.shape) == (6, 2)
    assert "2-d vectors: word_dim set to 2 (was 100)" in caplog.text


# ---------------------------------------------------------------- formats: text, .vec, binary, gzip

VECTORS = [("paris", [1, 2, 3]), ("berlin", [4, 5, 6]), ("Berlin", [7, 8, 9]), ("London", [0.5, -1.25, 1e-3]),
           ("other", [1, 1, 1]), ("北京", [-3.5, 0.25, 2e-7]), ("a\xa0b", [6, 6, 6]), ("LONDON", [5, 5, 5])]
VOCAB = WORDS + ["北京", "a\xa0b"]


def text_bytes(vectors, header=True, end="\n", dim=None, count=None):
    """Text vectors: ``word v1 ... vd`` lines (values as float32 prints them), a ``count dim`` header."""
    lines = [" ".join([word] + [repr(float(np.float32(v))) for v in values]) + end for word, values in vectors]
    head = f"{len(vectors) if count is None else count} {dim or len(vectors[0][1])}\n" if header else ""
    return (head + "".join(lines)).encode("utf-8")


def binary_bytes(vectors, newline=True, dim=None, count=None):
    """word2vec binary: the header ``count dim``, then per word its UTF-8 bytes, a space, little-endian float32
    values and (``newline``) a newline, as gensim writes it."""
    head = f"{len(vectors) if count is None else count} {dim or len(vectors[0][1])}\n".encode()
    return head + b"".join(word.encode("utf-8") + b" " + np.asarray(values, dtype="<f4").tobytes()
                           + (b"\n" if newline else b"") for word, values in vectors)


FORMATS = {
    "glove.txt": lambda v: text_bytes(v, header=False),
    "word2vec.txt": lambda v: text_bytes(v),
    "fasttext.vec": lambda v: text_bytes(v, end=" \n"),   # fastText ends each line with a space
    "crlf.txt": lambda v: text_bytes(v, end="\r\n"),
    "newlines.bin": lambda v: binary_bytes(v, newline=True),
    "packed.bin": lambda v: binary_bytes(v, newline=False),
}


@pytest.mark.parametrize("compress", ["", ".gz", "gzip without .gz"])
@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_gives_the_same_vectors(tmp_path, name, compress):
    data = FORMATS[name](VECTORS)
    path = tmp_path / (name + (".gz" if compress == ".gz" else ""))
    path.write_bytes(gzip.compress(data) if compress else data)
    vectors = load_vectors(path, VOCAB, skip=2)
    reference = load_vectors(write(tmp_path / "reference.txt", ["paris 1 2 3", "berlin 4 5 6", "Berlin 7 8 9",
                                                                "London 0.5 -1.25 0.001", "other 1 1 1",
                                                                "北京 -3.5 0.25 2e-7", "a\xa0b 6 6 6"]),
                             VOCAB, skip=2)
    assert vectors.dim == reference.dim == 3 and vectors.vocabulary_size == reference.vocabulary_size == 6
    assert vectors.rows.tolist() == reference.rows.tolist() == [2, 3, 4, 6, 7]
    assert vectors.vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors.vectors, reference.vectors)
    assert vectors.summary() == reference.summary().replace(str(tmp_path / "reference.txt"), str(path))


def test_binary_detection_is_not_fooled_by_a_newline_byte_in_a_vector(tmp_path):
    value = np.frombuffer(b"\n\x00\x80\x3f", dtype="<f4")[0]   # 1.0000006: its first byte is a newline
    data = binary_bytes([("paris", [value, 2, 3]), ("berlin", [4, 5, 6])])
    assert data.split(b"\n")[1] == b"paris "
    vectors = load_vectors(write_bytes(tmp_path / "v.bin", data), WORDS, skip=2)
    np.testing.assert_array_equal(vectors.vectors, np.float32([[value, 2, 3], [4, 5, 6]]))


def test_binary_with_newlines_before_the_first_word(tmp_path):
    data = binary_bytes([("paris", [1, 2])]).replace(b"\n", b"\n\n", 1)
    assert load_vectors(write_bytes(tmp_path / "v.bin", data), WORDS, skip=2).vectors.tolist() == [[1, 2]]


def test_a_broken_text_line_after_a_header_is_reported_as_text(tmp_path):
    # the 12 bytes after "paris " (3 float32 values in binary) are text, across the line end into "北京"
    path = write(tmp_path / "bad.txt", ["2 3", "paris 1 2", "北京 1 2 3"])
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:2: expected 3 values after the word, found 2$"):
        load_vectors(path, VOCAB, skip=2)


def test_binary_argument_forces_the_format(tmp_path):
    # a 1-d vector 0.7 is the bytes "333?": its binary record reads as the text line "paris 333?"
    data = binary_bytes([("paris", [0.7])], newline=True)
    path = write_bytes(tmp_path / "tiny.bin", data)
    with pytest.raises(InputError, match=r"tiny\.bin:2: vector values must be numbers$"):
        load_vectors(path, WORDS, skip=2)
    assert load_vectors(path, WORDS, skip=2, binary=True).vectors.tolist() == [[np.float32(0.7)]]
    text = write(tmp_path / "v.txt", ["1 2", "paris 1 2"])
    assert load_vectors(text, WORDS, skip=2, binary=False).vectors.tolist() == [[1, 2]]
    with pytest.raises(InputError, match=r"g\.txt:1: a word2vec binary file starts with the line 'count dim'$"):
        load_vectors(write(tmp_path / "g.txt", ["paris 1 2"]), WORDS, skip=2, binary=True)


def write_bytes(path, data):
    path.write_bytes(data)
    return path


GOOD = [("paris", [1, 2, 3]), ("berlin", [4, 5, 6]), ("london", [7, 8, 9])]
NAN = [("paris", [1, 2, 3]), ("berlin", [4, float("nan"), 6])]


@pytest.mark.parametrize("data, message", [
    (binary_bytes(GOOD)[:-7], "word 3: expected 3 float32 values, the file ends after 1"),
    (binary_bytes(GOOD, newline=False)[:-12], "word 3: expected 3 float32 values, the file ends after 0"),
    (binary_bytes(GOOD, newline=False)[:-14], "word 3: the file ends inside the word"),
    (binary_bytes(GOOD, count=4), "word 4: the file ends after 3 words, the header's count is 4"),
    (binary_bytes(GOOD, count=2), "word 3: more words than the header's count (2)"),
    (binary_bytes(GOOD, dim=4), "word 3: expected 4 float32 values, the file ends after 3"),
    (binary_bytes(GOOD, dim=2), "word 3: the word is not UTF-8 (byte 0xc0 at 3 of its 11 bytes; is the header's "
                                "dimension right?)"),
    (binary_bytes(NAN), "word 2: vector values must be finite numbers (nan or inf found)"),
    (binary_bytes([("paris", [1, 2]), ("\xff", [3, 4])]).replace("\xff".encode(), b"ab\xff"),
     "word 2: the word is not UTF-8 (byte 0xff at 3 of its 3 bytes; is the header's dimension right?)"),
    (binary_bytes([("paris", [1, 2]), ("", [3, 4])]), "word 2: an empty word (two spaces)"),
    (b"", "no vectors in the file"),
    (b"0 3\n", "no vectors in the file"),
    (b"2 0\n", "1: the header gives 0 dimensions"),
    ((793712314).to_bytes(4, "little") + b"\x0c\x00\x00\x00",
     "a fastText model (.bin), not a vector file: use the model's .vec file"),
])
@pytest.mark.parametrize("compress", [False, True])
def test_bad_binary_files_name_file_and_word(tmp_path, data, message, compress):
    path = write_bytes(tmp_path / ("vectors.bin.gz" if compress else "vectors.bin"),
                       gzip.compress(data) if compress else data)
    separator = "" if message[0].isdigit() else " "
    with pytest.raises(InputError, match=f"^{re.escape(f'{path}:{separator}{message}')}$"):
        load_vectors(path, WORDS, skip=2)


def test_non_finite_vectors_of_words_not_kept_are_not_read(tmp_path):
    path = write_bytes(tmp_path / "v.bin", binary_bytes([("paris", [1, 2]), ("hund", [float("inf"), 0])]))
    assert load_vectors(path, WORDS, skip=2).vectors.tolist() == [[1, 2]]


@pytest.mark.parametrize("lines, message", [
    (["2 3", "paris 1 2 3", "berlin 4 5 6", "london 7 8 9"], "4: more words than the header's count (2)"),
    (["4 3", "paris 1 2 3", "", "berlin 4 5 6"], "4: the file ends after 2 words, the header's count is 4"),
    (["3 2"], "1: the file ends after 0 words, the header's count is 3"),
    (["0 2"], " no vectors in the file"),
])
def test_text_header_count_must_hold(tmp_path, lines, message):
    path = write(tmp_path / "bad.vec", lines)
    with pytest.raises(InputError, match=f"^{re.escape(f'{path}:{message}')}$"):
        load_vectors(path, WORDS, skip=2)


def test_non_utf8_text_names_the_line(tmp_path):
    path = write_bytes(tmp_path / "latin1.txt", "paris 1 2\rberlin 3 4\r\ncaf\xe9 1 2\n".encode("latin-1"))
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:3: not UTF-8 text \(byte 0xe9\); re-encode"):
        load_vectors(path, WORDS)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not gzip after the magic"])
def test_corrupt_gzip_is_one_line_naming_the_file(tmp_path, damage):
    data = gzip.compress(text_bytes(GOOD * 50))
    data = {"truncated": data[:len(data) // 2],
            "flipped": data[:40] + bytes(b ^ 0x55 for b in data[40:60]) + data[60:],
            "not gzip after the magic": b"\x1f\x8b" + b"paris 1 2 3\n"}[damage]
    path = write_bytes(tmp_path / "vectors.txt.gz", data)
    with pytest.raises(InputError) as raised:
        load_vectors(path, WORDS, skip=2)
    assert re.fullmatch(rf"{re.escape(str(path))}: corrupt or truncated gzip file \(.+\)", str(raised.value))
    if damage == "truncated":
        assert str(raised.value).endswith("(Compressed file ended before the end-of-stream marker was reached)")


def test_a_gz_name_without_gzip_data_reads_plain(tmp_path):
    path = write_bytes(tmp_path / "plain.vec.gz", text_bytes(GOOD))
    assert load_vectors(path, WORDS, skip=2).rows.tolist() == [2, 3, 4]


@pytest.mark.slow
def test_train_with_gzip_binary_vectors(small_sample, tmp_path, capsys, caplog):
    words = ["the", "of", "in", "to", "a", "and", "Germany", "EU", "said"]
    rng = np.random.default_rng(0)
    vectors = tmp_path / "vectors.bin.gz"
    vectors.write_bytes(gzip.compress(binary_bytes([(w, rng.normal(size=6)) for w in words], newline=False)))
    out = tmp_path / "m"
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY_TRAIN.items() if key != "verbose"]
    with caplog.at_level(logging.WARNING, logger="ner"):
        code, stdout, err = cli(capsys, "train", "--data", small_sample, "--out", out, *flags, "--epochs=1",
                                "--embeddings", vectors)
    assert code == 0, err
    assert stdout.strip() == str(out) and (out / "bundle.json").exists()
    assert json.loads((out / "config.json").read_text())["word_dim"] == 6   # the file's dimension won
    assert f"{vectors} has 6-d vectors: word_dim set to 6 (was 16)" in caplog.text


@pytest.mark.parametrize("header", [False, True])
def test_lines_longer_than_the_format_peek(tmp_path, header):
    value = "0." + "1" * 70   # 600 values of 72 characters: a line beyond the bytes read to find the format
    lines = [f"paris {' '.join([value] * 600)}", f"berlin {' '.join(['2'] * 600)}"]
    path = write(tmp_path / "long.txt", (["2 600"] if header else []) + lines)
    vectors = load_vectors(path, WORDS, skip=2)
    assert vectors.dim == 600 and vectors.rows.tolist() == [2, 3]
    np.testing.assert_array_equal(vectors.vectors, np.float32([[float(value)] * 600, [2] * 600]))
