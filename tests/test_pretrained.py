"""Pretrained vectors in training: the vocabulary grown with the words that have a vector (corpus words of any
split, the file's most frequent words), the coverage report, frozen rows, the bundle and ``ner info``."""

import json

import numpy as np
import pytest
from keras import ops

from ner.data.prepare import with_vectors
from ner.data.vocab import build_vocabularies
from ner.errors import NerError

from helpers import TINY_TRAIN, cli, one_line_error


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


TRAIN = [["Paris", "is", "big", "in", "1999"]]
DEV = [["Berlin", "is", "Zork"]]
TEST = [["Lagos", "grows", "BERLIN", "2001"]]
SPLITS = {"train": (TRAIN, [["B-LOC", "O", "O", "O", "O"]]), "dev": (DEV, [["B-LOC", "O", "O"]]),
          "test": (TEST, [["B-LOC", "O", "B-LOC", "O"]])}
FILE = ["paris 1 1", "Berlin 2 2", "1984 3 3", "Lagos 4 4", "grows 5 5", "the 6 6", "Rome 7 7", "rome 8 8",
        "<unk> 9 9", "madrid 10 10"]


def vocabularies():
    """Train and dev words, as training builds them (lowercase, digits as 0)."""
    return build_vocabularies(TRAIN + DEV, SPLITS["train"][1] + SPLITS["dev"][1])


def test_words_of_any_split_with_a_vector_join_the_vocabulary(tmp_path):
    """A dev or test word unseen in training that the file knows gets a row of its own after the training words
    (specials and order kept); a word no split holds stays out (it tags as <unk>); rows hold their vectors."""
    vocabs = vocabularies()
    grown, pretrained, _ = with_vectors(vocabs, SPLITS, write(tmp_path / "v.txt", FILE))
    assert grown.words.items == vocabs.words.items + ["lagos", "grows"]
    assert grown.words.encode(["Lagos", "grew"]).tolist() == [len(vocabs.words), 1]
    assert (grown.chars, grown.labels) == (vocabs.chars, vocabs.labels)
    table = dict(zip(grown.words.decode(pretrained.rows), pretrained.vectors.tolist()))
    assert table == {"paris": [1, 1], "berlin": [2, 2], "0000": [3, 3], "lagos": [4, 4], "grows": [5, 5]}
    with pytest.raises(NerError, match="none of the"):
        with_vectors(vocabs, SPLITS, write(tmp_path / "none.txt", ["elsewhere 4 4"]))


def test_the_files_first_words_beyond_the_corpus_join_with_their_vectors(tmp_path):
    """``extra``: the file's first words whose vocabulary form is new, in file order, after the corpus words;
    a form already taken ("Rome" then "rome"), a known word or a special ("<unk>") is skipped, and the word keeps
    its best-tier vector (the exact "rome" beats "Rome")."""
    vocabs = vocabularies()
    grown, pretrained, report = with_vectors(vocabs, SPLITS, write(tmp_path / "v.txt", FILE), extra=3)
    assert grown.words.items == vocabs.words.items + ["lagos", "grows", "the", "rome", "madrid"]
    table = dict(zip(grown.words.decode(pretrained.rows), pretrained.vectors.tolist()))
    assert (table["the"], table["rome"], table["madrid"]) == ([6, 6], [8, 8], [10, 10])
    assert report["added"] == {"corpus": 2, "file": 3}
    more, _, report = with_vectors(vocabs, SPLITS, write(tmp_path / "v.txt", FILE), extra=100)
    assert more.words.items[-3:] == ["the", "rome", "madrid"] and report["added"]["file"] == 3


def test_coverage_by_tier_and_oov_before_and_after(tmp_path):
    """Of the 7 train and dev words: "paris" exact, "berlin" by lowercase ("Berlin"), "0000" by digits ("1984");
    dev: Berlin and Zork are in no train sentence (2 of 3 tokens), Zork alone has no vector; test: Lagos,
    grows and BERLIN are new (3 of 4; 2001 is train's 0000), all three have vectors."""
    _, pretrained, report = with_vectors(vocabularies(), SPLITS, write(tmp_path / "v.txt", FILE))
    assert report == {"file": str(tmp_path / "v.txt"), "dim": 2, "words": 5, "vocabulary": 7, "exact": 1,
                      "lowercase": 1, "digits": 1, "added": {"corpus": 2, "file": 0},
                      "oov": {"dev": {"before": 0.6667, "after": 0.3333}, "test": {"before": 0.75, "after": 0.0}}}
    assert pretrained.tiers.tolist() == [2, 1, 0, 1, 0]   # 0000, berlin, paris, lagos, grows: vocabulary order


def test_a_literal_special_in_the_data_never_joins_the_vocabulary(tmp_path):
    """"<pad>" is unknown when read (never padding), so it is not a known word; with a vector it still must not
    be added (the vocabulary holds it as its padding item)."""
    splits = {**SPLITS, "test": ([["<PAD>", "<unk>", "Lagos"]], [["O", "O", "B-LOC"]])}
    vocabs = vocabularies()
    grown, _, report = with_vectors(vocabs, splits, write(tmp_path / "v.txt", ["<pad> 1 1", *FILE]))
    assert grown.words.items == vocabs.words.items + ["lagos"] and report["added"]["corpus"] == 1


def test_digit_tier_takes_the_first_file_word_of_its_shape(tmp_path):
    from ner.data.embeddings import load_vectors

    vectors = load_vectors(write(tmp_path / "v.txt", ["AB12 4", "1984 1", "2001 2", "0000x 3", "ab99 5"]),
                           ["<pad>", "<unk>", "0000", "ab00", "0000x"], skip=2)
    assert vectors.vectors.ravel().tolist() == [1, 4, 3] and vectors.tiers.tolist() == [2, 2, 0]


def test_a_bundle_older_than_the_vector_options_trained_unfrozen(capsys, tmp_path):
    from helpers import OLD_BUNDLES

    message = one_line_error(capsys, ["train", "--data", "data/sample", "--init", OLD_BUNDLES / "fused-crf-adam",
                                      "--freeze-embeddings", "--out", tmp_path / "m"])
    assert message.startswith("ner: error: --freeze-embeddings: true conflicts with --init")
    assert "trained with freeze_embeddings false" in message and not (tmp_path / "m").exists()


@pytest.mark.parametrize("argv, message", [
    (["--freeze-embeddings"], "--freeze-embeddings: needs pretrained vectors (--embeddings VECTORS)"),
    (["--extra-vector-words", "5"], "--extra-vector-words: needs pretrained vectors (--embeddings VECTORS)"),
    (["--extra-vector-words", "-1", "--embeddings", "v.txt"], "--extra-vector-words: must not be negative"),
])
def test_vector_options_without_vectors_are_refused(capsys, tmp_path, argv, message):
    assert one_line_error(capsys, ["train", "--data", "data/sample", "--out", tmp_path / "m", *argv]) == \
        f"ner: error: {message}"
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------- a word known only from the vector file

PLACES = ["Zorbland", "Kelvaria", "Tromskia", "Ulbanor", "Vestora"]
PEOPLE = ["Quorp", "Minsa", "Draxel", "Pelt", "Yarrow"]
TEMPLATES = [("He flew to {} yesterday .", "LOC", 3), ("They live in {} now .", "LOC", 3),
             ("She met {} at noon .", "PER", 2), ("Ask {} about it .", "PER", 1)]


def probe_corpus(folder):
    """Sentences where the context alone says the type: a place after "flew to" / "live in", a person after
    "met" / "Ask"; BIO tags, CoNLL files."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 160), ("dev", 20), ("test", 12)):
        lines = []
        for _ in range(n):
            template, kind, at = TEMPLATES[rng.integers(len(TEMPLATES))]
            name = rng.choice(PLACES if kind == "LOC" else PEOPLE)
            tokens = template.format(name).split()
            lines += [f"{t} {'B-' + kind if i == at else 'O'}" for i, t in enumerate(tokens)] + [""]
        write(folder / f"{split}.txt", lines)
    return folder


@pytest.mark.slow
def test_a_word_only_in_the_vector_file_tags_as_the_training_word_sharing_its_vector(tmp_path, capsys):
    """Frozen vectors, no character features: "Quixvile" (known only from the file, where it has Zorbland's
    vector) gets Zorbland's row unchanged by training, so in the same context both engines tag it exactly as
    Zorbland (type, offsets, score); training on from the bundle keeps the rows frozen."""
    import ner
    from ner.bundle import load_bundle
    from ner.inference.tagger import Tagger

    data = probe_corpus(tmp_path / "corpus")
    rng = np.random.default_rng(1)
    words = sorted({line.split()[0].lower() for f in data.iterdir() for line in f.read_text().splitlines() if line})
    table = {w: rng.normal(size=8).round(4) for w in words}
    table["quixvile"] = table["zorbland"]
    lines = [f"{w} {' '.join(map(str, v))}" for w, v in table.items()]
    vectors = write(tmp_path / "v.txt", lines + ["other " + " ".join(["1"] * 8)])
    settings = dict(TINY_TRAIN, encoder="bilstm", char_cnn=False, word_dim=8, epochs=10, lr=0.02, dropout=0.0,
                    word_dropout=0.0)
    out = ner.train(data=str(data), out=str(tmp_path / "m"), embeddings=str(vectors), freeze_embeddings=True,
                    extra_vector_words=1, **settings)
    bundle = load_bundle(out)
    assert bundle.vocabs.words.items[-1] == "quixvile"   # the one extra word: "other" comes after it
    rows = ops.convert_to_numpy(bundle.model.word_embedding.embeddings)
    for word in ("zorbland", "quixvile", "flew"):
        np.testing.assert_array_equal(rows[bundle.vocabs.words.index(word)], np.float32(table[word]))
    for engine in ("numpy", "keras"):
        tagger = Tagger.load(out, engine=engine)
        known, unseen = (tagger.tag(f"He flew to {name} yesterday .") for name in ("Zorbland", "Quixvile"))
        assert [e["label"] for e in known] == ["LOC"]
        assert [{k: v for k, v in e.items() if k != "text"} for e in unseen] == \
               [{k: v for k, v in e.items() if k != "text"} for e in known]
    meta = bundle.meta["vectors"]
    assert (meta["added"], meta["frozen"], meta["words"]) == ({"corpus": 0, "file": 1}, True, len(words) + 1)
    code, stdout, _ = cli(capsys, "info", out)
    assert code == 0 and f"({len(words) + 1} start from a vector, frozen; word table " in stdout
    assert f"vectors:    8-d vectors of {vectors}: 100.0% of the {len(words)} train and dev words" in stdout
    assert "vectors:    tokens whose word is not a training word: dev 0.0%, 0.0% without a vector either" in stdout
    again = ner.train(data=str(data), out=str(tmp_path / "again"), init=out, **dict(settings, epochs=1))
    rows_again = ops.convert_to_numpy(load_bundle(again).model.word_embedding.embeddings)
    np.testing.assert_array_equal(rows_again[bundle.vocabs.words.index("quixvile")], np.float32(table["zorbland"]))
    assert load_bundle(again).meta["vectors"] == meta   # the vectors it began from, through the --init bundle


@pytest.mark.slow
def test_a_test_word_with_a_vector_keeps_it_through_training_and_tagging(small_sample, tmp_path, capsys):
    """Trained with vectors (not frozen), a bundle holds the test-only words the file knows, with the file's
    vectors (no training step touches their rows), and tagging raw text looks them up instead of <unk>."""
    import ner
    from ner.bundle import load_bundle
    from ner.data.conll import read_conll
    from ner.inference.tagger import Tagger

    train_words = {t.lower() for s in read_conll(small_sample / "train.txt") for t in s.tokens}
    train_words |= {t.lower() for s in read_conll(small_sample / "dev.txt") for t in s.tokens}
    test_only = sorted({t.lower() for s in read_conll(small_sample / "test.txt") for t in s.tokens
                        if t.isalpha()} - train_words)[:5]
    assert test_only
    rng = np.random.default_rng(1)
    table = {w: rng.normal(size=6).round(3) for w in ["the", "of", *test_only]}
    path = write(tmp_path / "v.txt", [f"{w} {' '.join(map(str, v))}" for w, v in table.items()])
    out = ner.train(data=str(small_sample), out=str(tmp_path / "m"), embeddings=str(path),
                    **dict(TINY_TRAIN, epochs=1))
    bundle = load_bundle(out)
    rows = ops.convert_to_numpy(bundle.model.word_embedding.embeddings)
    for word in test_only:
        (row,) = bundle.vocabs.words.encode([word]).tolist()
        assert row != bundle.vocabs.words.unk_id
        np.testing.assert_allclose(rows[row], table[word], rtol=1e-6)
    assert Tagger.load(out).vocabs.words.encode(test_only[:1]).tolist() != [bundle.vocabs.words.unk_id]
    vectors = bundle.meta["vectors"]
    assert (vectors["dim"], vectors["words"], vectors["added"], vectors["frozen"]) == \
           (6, len(table), {"corpus": len(test_only), "file": 0}, False)
    assert (vectors["exact"], vectors["lowercase"], vectors["digits"]) == (2, 0, 0)
    assert vectors["oov"]["test"]["after"] < vectors["oov"]["test"]["before"]
    code, stdout, _ = cli(capsys, "info", out)
    assert code == 0 and f"({len(table)} start from a vector, trained; word table " in stdout
    assert (f"vectors:    added for their vectors: {len(test_only)} words of the corpus outside the train and dev "
            "vocabulary, 0 of the file's most frequent words") in stdout


@pytest.mark.slow
def test_compare_passes_the_vector_options_to_every_run(tmp_path, capsys):
    data = probe_corpus(tmp_path / "corpus")
    words = sorted({line.split()[0].lower() for f in data.iterdir() for line in f.read_text().splitlines() if line})
    vectors = write(tmp_path / "v.txt", [f"{w} {i} 1 0 1" for i, w in enumerate(words + ["quixvile", "other"])])
    code, stdout, _ = cli(capsys, "compare", "--data", data, "--encoders", "lstm", "--heads", "crf", "--epochs", 1,
                          "--hidden", 8, "--resamples", 100, "--out", tmp_path / "report", "--quiet",
                          "--embeddings", vectors, "--extra-vector-words", 1, "--freeze-embeddings")
    assert code == 0
    meta = json.loads((tmp_path / "report" / "runs" / "lstm-crf-s1" / "model" / "bundle.json").read_text())
    assert (meta["vectors"]["frozen"], meta["vectors"]["added"], meta["vectors"]["dim"]) == \
           (True, {"corpus": 0, "file": 1}, 4)


def test_info_reads_the_vector_record_of_earlier_bundles(crf_bundle, tmp_path, capsys):
    """bundle.json of ner before the coverage report: file, dim, words, not_in_train_or_dev."""
    import shutil

    old = shutil.copytree(crf_bundle, tmp_path / "old")
    meta = json.loads((old / "bundle.json").read_text())
    meta["vectors"] = {"file": "glove.txt", "dim": 16, "words": 120, "not_in_train_or_dev": 7}
    (old / "bundle.json").write_text(json.dumps(meta))
    code, stdout, _ = cli(capsys, "info", old)
    assert code == 0 and ("(120 start from 16-d vectors of glove.txt; 7 of those are in no train or dev sentence; "
                          "word table") in stdout
