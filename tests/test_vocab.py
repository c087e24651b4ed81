import json
import os

import numpy as np
import pytest

from ner.data.vocab import NUM_CASINGS, Vocab, Vocabularies, build_vocabularies, casing_id
from ner.errors import InputError, NerError

from helpers import disk_full


def test_ids_specials_first_then_items():
    v = Vocab(["a", "b"])
    assert len(v) == 4 and (v.pad_id, v.unk_id) == (0, 1)
    ids = v.encode(["b", "zzz", "a"])
    assert ids.dtype == np.int32 and ids.tolist() == [3, 1, 2]
    assert v.decode([0, 1, 2, 3]) == ["<pad>", "<unk>", "a", "b"]
    assert v.items == ["a", "b"]
    assert "a" in v and "zzz" not in v


def test_without_pad_unk_is_id_zero():
    v = Vocab(["a"], pad=False)
    assert (v.pad_id, v.unk_id, len(v)) == (None, 0, 2)
    assert v.encode(["a", "q"]).tolist() == [1, 0]


def test_literal_pad_token_is_unknown_not_padding():
    v = Vocab(["a"])
    assert v.encode(["<pad>", "<unk>"]).tolist() == [1, 1]


def test_build_orders_by_frequency_then_text_with_min_freq_and_max_size():
    seqs = [["b", "a", "b", "c"], ["a", "b", "d"]]
    assert Vocab.build(seqs).items == ["b", "a", "c", "d"]
    assert Vocab.build(seqs, min_freq=2).items == ["b", "a"]
    assert Vocab.build(seqs, max_size=3).items == ["b", "a", "c"]
    assert len(Vocab.build(seqs, max_size=3)) == 5


def test_build_never_counts_specials_as_items():
    assert Vocab.build([["<unk>", "<pad>", "x"]]).items == ["x"]


def test_lowercase_and_digit_normalisation():
    v = Vocab.build([["Paris", "PARIS", "1996", "2001", "\u0663"]], lowercase=True, digits=True)
    assert v.items == ["0000", "paris", "0"]        # counts 2, 2, 1 ("\u0663" is Arabic-Indic three)
    assert v.encode(["pArIs", "1987", "7", "12"]).tolist() == [3, 2, 4, 1]
    assert v.normalize("Ab-12.5") == "ab-00.0"
    assert "PARIS" in v


def test_label_vocab_rejects_unknown_label_naming_it():
    labels = Vocab(["O", "B-PER", "I-PER"], pad=False, unk=False)
    assert labels.encode(["B-PER", "O", "I-PER"]).tolist() == [1, 0, 2]
    with pytest.raises(NerError, match="'B-FOO'"):
        labels.encode(["O", "B-FOO"])


def test_duplicate_items_and_bad_ids_are_errors():
    with pytest.raises(NerError, match="twice"):
        Vocab(["Paris", "paris"], lowercase=True)
    with pytest.raises(NerError, match="twice"):
        Vocab(["<unk>"])
    with pytest.raises(NerError, match="outside"):
        Vocab(["a"]).decode([3])
    with pytest.raises(NerError):
        Vocab.build([["a"]], min_freq=0)


def test_dict_round_trip_through_json():
    v = Vocab.build([["Ünïcode", "x1", "x2"]], lowercase=True, digits=True, unk=True, pad=False)
    d = v.to_dict()
    assert d == {"items": ["x0", "ünïcode"], "pad": False, "unk": True, "lowercase": True, "digits": True}
    w = Vocab.from_dict(json.loads(json.dumps(d)))
    assert w == v and w.encode(["X7", "ÜNÏCODE", "?"]).tolist() == [1, 2, 0]


def test_from_dict_rejects_malformed():
    for bad in (None, {}, {"items": "abc"}, {"items": [1, 2]}, {"items": [], "pad": "yes"}):
        with pytest.raises(NerError):
            Vocab.from_dict(bad)


@pytest.mark.parametrize("token, expected", [
    ("", 1), (",", 1), ("我", 1), ("--", 1),
    ("paris", 2), ("e-mail", 2), ("don't", 2),
    ("Paris", 3), ("A", 3), ("O'neil", 3),
    ("EU", 4), ("U.S.", 4), ("AT&T", 4),
    ("1,200", 5), ("3.5", 5), ("-7", 5), ("50%", 5), ("2003-04-17", 5), ("\u0663", 5),
    ("A4", 6), ("1990s", 6), ("F-16", 6),
    ("iPhone", 7), ("McDonald", 7),
])
def test_casing_id(token, expected):
    assert casing_id(token) == expected
    assert 1 <= expected < NUM_CASINGS == 8


TOKENS = [["UN", "praises", "Greek", "deal"], ["Greece", "'s", "deal", "2003"]]
TAGS = [["B-ORG", "O", "B-MISC", "O"], ["B-LOC", "O", "O", "O"]]


def test_build_vocabularies_words_normalised_chars_original_case():
    v = build_vocabularies(TOKENS, TAGS)
    assert v.words.items == ["deal", "'s", "0000", "greece", "greek", "praises", "un"]
    assert (v.words.lowercase, v.words.digits) == (True, True)
    assert "U" in v.chars and "N" in v.chars and "u" not in v.chars
    assert (v.chars.lowercase, v.chars.digits) == (False, False)
    assert v.chars.items[:4] == ["e", "a", "r", "s"]   # e 8 times, then a, r, s 3 times each
    assert v.labels.items == ["O", "B-LOC", "B-MISC", "B-ORG"]
    assert (v.labels.pad_id, v.labels.unk_id) == (None, None)


def test_build_vocabularies_min_freq_and_extra_tokens():
    v = build_vocabularies(TOKENS, TAGS, min_freq=2, char_min_freq=3,
                           extra_tokens=[["Cairo", "DEAL", "Cairo"]])
    assert v.words.items == ["deal", "cairo"]
    assert v.chars.items == ["e", "a", "r", "s"]       # seen at least 3 times: e8 a3 r3 s3
    with pytest.raises(NerError):
        build_vocabularies(TOKENS, TAGS[:1])


def test_label_order_groups_entity_types():
    v = build_vocabularies([["a", "b", "c"]], [["I-PER", "B-LOC", "B-PER"]])
    assert v.labels.items == ["B-LOC", "B-PER", "I-PER"]


def test_save_load_round_trip_atomic(tmp_path):
    v = build_vocabularies(TOKENS, TAGS)
    path = tmp_path / "vocab.json"
    v.save(path)
    v.save(path)                                       # overwriting is fine
    assert os.listdir(tmp_path) == ["vocab.json"]
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "ner-vocabularies"
    w = Vocabularies.load(path)
    assert w == v and w.words.encode(["GREEK"]).tolist() == [6]


def test_failed_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    build_vocabularies(TOKENS, TAGS).save(path)
    before = path.read_bytes()

    disk_full(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        build_vocabularies([["x"]], [["O"]]).save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["vocab.json"]


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.json"):
        Vocabularies.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="bad.json"):
        Vocabularies.load(bad)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(InputError, match="other.json: not a vocabulary file"):
        Vocabularies.load(other)
