"""Pretrained vectors (GloVe / word2vec text): reading, matching to the vocabulary, errors, model rows."""

import logging

import numpy as np
import pytest
from keras import ops

from ner.data.embeddings import load_vectors
from ner.data.vocab import Vocab, Vocabularies
from ner.errors import InputError, NerError
from ner.model.network import build_tagger

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
    assert vectors.summary().endswith("covered 3 of 4 vocabulary words (75.0%), 3-d vectors")


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
    assert "covered 3 of 4 vocabulary words (75.0%)" in caplog.text
    assert model.embedding_coverage.endswith("covered 3 of 4 vocabulary words (75.0%), 4-d vectors")


def test_file_dimension_wins_over_word_dim(tmp_path, caplog):
    path = write(tmp_path / "vec.txt", ["paris 1 2", "berlin 3 4"])
    with caplog.at_level(logging.WARNING, logger="ner"):
        model = build_tagger({"word_dim": 100, "hidden": 4, "char_filters": 4}, vocabularies(),
                             embeddings=str(path))
    assert model.config["word_dim"] == 2 and tuple(model.word_embedding.embeddings.shape) == (6, 2)
    assert "2-d vectors: word_dim set to 2 (was 100)" in caplog.text
