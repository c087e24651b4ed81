"""Tag schemes: detection, lenient decoding (checked against seqeval), encoding, conversion, validation,
repair and CRF transition masks. Oracles are hand-computed spans."""

import random

import numpy as np
import pytest
from seqeval.metrics.sequence_labeling import get_entities

from ner.data.conll import read_conll
from ner.data.schemes import (
    SCHEMES,
    Span,
    convert,
    detect_scheme,
    from_spans,
    normalize_scheme,
    repair,
    scoring_scheme,
    split_tag,
    to_spans,
    transition_constraints,
    validate,
)
from ner.errors import NerError

from helpers import CONLL2003

# One sentence of 9 tokens: PER over 0-1, LOC over 3, LOC over 4-6 (adjacent to the first LOC), ORG over 8.
SPANS = [Span("PER", 0, 2), Span("LOC", 3, 4), Span("LOC", 4, 7), Span("ORG", 8, 9)]
ENCODED = {
    "bio": "B-PER I-PER O B-LOC B-LOC I-LOC I-LOC O B-ORG",
    "iob1": "I-PER I-PER O I-LOC B-LOC I-LOC I-LOC O I-ORG",
    "bioes": "B-PER E-PER O S-LOC B-LOC I-LOC E-LOC O S-ORG",
    "bmes": "B-PER E-PER O S-LOC B-LOC M-LOC E-LOC O S-ORG",
    "bilou": "B-PER L-PER O U-LOC B-LOC I-LOC L-LOC O U-ORG",
}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_encode_and_decode_hand_computed(scheme):
    tags = ENCODED[scheme].split()
    assert from_spans(SPANS, 9, scheme) == tags
    assert to_spans(tags, scheme) == SPANS
    assert validate(tags, scheme) == []


@pytest.mark.parametrize("src", SCHEMES)
@pytest.mark.parametrize("dst", SCHEMES)
def test_convert_between_all_schemes(src, dst):
    assert convert(ENCODED[src].split(), src, dst) == ENCODED[dst].split()


@pytest.mark.parametrize("tags, scheme, spans", [
    ("O I-PER I-PER O", "bio", [("PER", 1, 3)]),  # conlleval: I- after O starts an entity
    ("B-PER I-ORG", "bio", [("PER", 0, 1), ("ORG", 1, 2)]),
    ("I-PER B-PER", "iob1", [("PER", 0, 1), ("PER", 1, 2)]),
    ("I-PER I-LOC", "iob1", [("PER", 0, 1), ("LOC", 1, 2)]),
    ("B-PER O", "bioes", [("PER", 0, 1)]),  # unclosed entity ends at O
    ("I-PER E-PER", "bioes", [("PER", 0, 2)]),
    ("E-PER E-PER", "bioes", [("PER", 0, 1), ("PER", 1, 2)]),
    ("S-PER I-PER", "bioes", [("PER", 0, 1), ("PER", 1, 2)]),
    ("B-PER I-PER", "bioes", [("PER", 0, 2)]),  # open at the end of the sentence
    ("M-LOC E-LOC S-LOC", "bmes", [("LOC", 0, 2), ("LOC", 2, 3)]),
    ("U-LOC B-LOC L-LOC", "bilou", [("LOC", 0, 1), ("LOC", 1, 3)]),
    ("", "bio", []),
])
def test_lenient_decoding(tags, scheme, spans):
    assert to_spans(tags.split(), scheme) == [Span(*s) for s in spans]


def _seqeval(tags):
    return [Span(label, start, end + 1) for label, start, end in get_entities(list(tags))]


@pytest.mark.parametrize("prefixes, scheme", [("BIO", "bio"), ("BIOES", "bioes")])
def test_to_spans_agrees_with_seqeval_on_random_sequences(prefixes, scheme):
    rng = random.Random(7)
    tags = ["O"] + [f"{p}-{t}" for p in prefixes if p != "O" for t in ("PER", "LOC")]
    for _ in range(500):
        seq = [rng.choice(tags) for _ in range(rng.randint(0, 12))]
        assert to_spans(seq, scheme) == _seqeval(seq), seq


@pytest.mark.parametrize("seq", [
    "B-PER I-PER O B-LOC", "O I-MISC I-MISC B-MISC", "B-ORG I-PER I-PER", "S-PER B-LOC I-LOC E-LOC O",
    "B-PER O E-PER", "I-ORG E-ORG S-ORG",
])
def test_to_spans_agrees_with_seqeval_hand_picked(seq):
    assert to_spans(seq.split(), "bioes") == _seqeval(seq.split())


@pytest.mark.parametrize("sequences, expected", [
    ([ENCODED["bio"].split()], "bio"),
    ([ENCODED["iob1"].split()], "iob1"),
    ([["I-PER", "I-PER", "O"], ["I-LOC", "B-LOC", "O", "I-ORG"]], "iob1"),
    ([ENCODED["bioes"].split()], "bioes"),
    ([["B-LOC", "E-LOC", "O"]], "bioes"),
    ([ENCODED["bmes"].split()], "bmes"),
    ([ENCODED["bilou"].split()], "bilou"),
    ([["U-PER", "O"]], "bilou"),
    ([["B-PER", "O", "B-LOC"], ["B-ORG"]], "bio"),  # only O and B-
    ([["O", "O"]], "bio"),
    ([], "bio"),
    # BIO with a few ill-formed I- after O stays BIO
    ([["B-PER", "I-PER", "O"], ["O", "I-ORG"], ["B-LOC", "O", "B-ORG", "I-ORG"], ["B-MISC"]], "bio"),
    ([["PER", "X-LOC", "B-LOC"]], "bio"),  # unknown tags are ignored
])
def test_detect_scheme(sequences, expected):
    assert detect_scheme(iter(sequences)) == expected


@pytest.mark.parametrize("tags, scheme, expected", [
    ("B-PER I-PER O B-LOC", "bio", []),
    ("O I-PER", "bio", [(1, "I-PER cannot follow O")]),
    ("I-PER O", "bio", [(0, "I-PER cannot follow the start")]),
    ("B-PER I-ORG", "bio", [(1, "I-ORG cannot follow B-PER")]),
    ("O X-PER PER B-LOC", "bio", [(1, "unknown tag 'X-PER'"), (2, "unknown tag 'PER'")]),
    ("B-PER S-LOC", "bio", [(1, "prefix S- is not used by the bio scheme")]),
    ("I-PER B-PER I-PER", "iob1", []),
    ("B-PER", "iob1", [(0, "B-PER cannot follow the start")]),
    ("I-PER B-LOC", "iob1", [(1, "B-LOC cannot follow I-PER")]),
    ("B-PER E-PER S-LOC O", "bioes", []),
    ("B-PER O", "bioes", [(1, "O cannot follow B-PER")]),
    ("O E-PER", "bioes", [(1, "E-PER cannot follow O")]),
    ("I-PER E-PER", "bioes", [(0, "I-PER cannot follow the start")]),
    ("S-PER E-PER", "bioes", [(1, "E-PER cannot follow S-PER")]),
    ("B-PER I-PER", "bioes", [(1, "I-PER cannot end a sentence")]),
    ("B-PER I-LOC E-LOC", "bioes", [(1, "I-LOC cannot follow B-PER")]),
    ("B-LOC M-LOC E-LOC S-PER", "bmes", []),
    ("M-LOC E-LOC", "bmes", [(0, "M-LOC cannot follow the start")]),
    ("B-LOC I-LOC E-LOC", "bmes", [(1, "prefix I- is not used by the bmes scheme")]),
    ("B-PER I-PER L-PER U-LOC", "bilou", []),
    ("B-PER E-PER", "bilou", [(1, "prefix E- is not used by the bilou scheme")]),
    ("L-PER", "bilou", [(0, "L-PER cannot follow the start")]),
])
def test_validate(tags, scheme, expected):
    found = validate(tags.split(), scheme)
    assert [i for i, _ in found] == [i for i, _ in expected]
    for (_, message), (_, part) in zip(found, expected):
        assert part in message


@pytest.mark.parametrize("tags, scheme, expected", [
    ("O I-PER I-PER B-LOC I-ORG", "bio", "O B-PER I-PER B-LOC B-ORG"),
    ("B-PER O I-LOC", "bioes", "S-PER O S-LOC"),
    ("B-PER I-LOC", "iob1", "I-PER I-LOC"),
    ("M-LOC E-LOC", "bmes", "B-LOC E-LOC"),
])
def test_repair_hand_computed(tags, scheme, expected):
    assert repair(tags.split(), scheme) == expected.split()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_repair_gives_well_formed_sequences_with_the_same_spans(scheme):
    rng = random.Random(3)
    tags = ["O"] + [f"{p}-{t}" for p in "BIESMLU" for t in ("PER", "LOC")]
    for _ in range(300):
        seq = [rng.choice(tags) for _ in range(rng.randint(1, 10))]
        fixed = repair(seq, scheme)
        assert validate(fixed, scheme) == [], (seq, fixed)
        assert to_spans(fixed, scheme) == to_spans(seq, scheme)


def _mask(rows):
    return np.array([[c == "1" for c in r] for r in rows.split()], dtype=bool)


def test_transition_constraints_bio():
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    start, trans, end = transition_constraints(labels, "bio")
    assert start.tolist() == [True, True, False, True, False]  # start -> I-X forbidden
    assert end.all()
    #                            to: O B-PER I-PER B-ORG I-ORG
    assert (trans == _mask("11010 11110 11110 11011 11011")).all()
    assert not trans[0, 2] and not trans[1, 4]  # O -> I-PER, B-PER -> I-ORG


def test_transition_constraints_bioes_and_bmes():
    for inner, scheme in (("I", "bioes"), ("M", "bmes")):
        labels = ["O", "B-PER", f"{inner}-PER", "E-PER", "S-PER"]
        start, trans, end = transition_constraints(labels, scheme)
        assert start.tolist() == [True, True, False, False, True]
        assert end.tolist() == [True, False, False, True, True]
        #                            to: O B I E S
        assert (trans == _mask("11001 00110 00110 11001 11001")).all()


def test_transition_constraints_iob1_and_bilou():
    start, trans, end = transition_constraints(["O", "I-PER", "B-PER", "I-LOC"], "iob1")
    assert start.tolist() == [True, True, False, True]  # I-X may start; B-X needs an entity before
    assert end.all()
    assert (trans == _mask("1101 1111 1111 1101")).all()
    start, trans, end = transition_constraints(["O", "B-PER", "I-PER", "L-PER", "U-PER"], "bilou")
    assert start.tolist() == [True, True, False, False, True]
    assert end.tolist() == [True, False, False, True, True]


def test_transition_constraints_reject_unknown_and_foreign_labels():
    start, trans, end = transition_constraints(["O", "B-PER", "S-PER", "junk"], "bio")
    assert not start[2:].any() and not end[2:].any()
    assert not trans[:, 2:].any() and not trans[2:, :].any()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_constraints_agree_with_validate(scheme):
    """A sequence is well-formed exactly when the CRF masks allow all of its transitions."""
    labels = ["O"] + [f"{p}-{t}" for p in "BIESMLU" for t in ("PER", "LOC")]
    start, trans, end = transition_constraints(labels, scheme)
    rng = random.Random(11)
    for _ in range(1000):
        ids = [rng.randrange(len(labels)) for _ in range(rng.randint(1, 6))]
        allowed = start[ids[0]] and end[ids[-1]] and all(trans[a, b] for a, b in zip(ids, ids[1:]))
        assert allowed == (validate([labels[i] for i in ids], scheme) == [])


def test_scoring_scheme_and_names():
    assert {s: scoring_scheme(s) for s in SCHEMES} == {
        "iob1": "iob1", "bio": "bio", "bioes": "bioes", "bmes": "bioes", "bilou": "bioes"}
    assert normalize_scheme("IOB2") == "bio" and normalize_scheme("iobes") == "bioes"
    with pytest.raises(NerError, match="unknown tag scheme 'bogus'"):
        normalize_scheme("bogus")


def test_split_tag_and_errors():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-B-X") == ("I", "B-X")
    assert split_tag("O") == ("O", None)
    for bad in ("PER", "B-", "X-PER", "O-PER", "b-per"):
        with pytest.raises(ValueError, match="unknown tag"):
            split_tag(bad)
    with pytest.raises(NerError, match="unknown tag 'Z-PER'"):
        to_spans(["Z-PER"], "bio")
    with pytest.raises(ValueError, match="overlaps"):
        from_spans([Span("A", 0, 2), Span("B", 1, 3)], 3, "bio")


@pytest.mark.slow
@pytest.mark.conll
@pytest.mark.skipif(not CONLL2003.is_dir(), reason="CoNLL-2003 not available")
def test_conll2003_scheme_round_trips():
    sequences = [s.tags for split in ("train", "valid", "test") for s in read_conll(CONLL2003 / f"{split}.txt")]
    assert detect_scheme(sequences) == "bio"
    for mid in ("bioes", "iob1"):
        converted = [convert(tags, "bio", mid) for tags in sequences]
        assert detect_scheme(converted) == mid
        assert all(not validate(t, mid) for t in converted)
        assert [convert(tags, mid, "bio") for tags in converted] == sequences
