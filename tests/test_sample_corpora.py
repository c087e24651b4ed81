"""The bundled sample corpora meet what they promise: sizes, schemes, unseen test entities, long sentences."""

from __future__ import annotations

import pytest

from ner.data.conll import read_conll
from ner.data.schemes import detect_scheme, to_spans, validate

from helpers import SAMPLE, SAMPLE_ZH


def _splits(folder):
    return {split: read_conll(folder / f"{split}.txt") for split in ("train", "dev", "test")}


@pytest.mark.parametrize("folder, scheme, sizes, types", [
    (SAMPLE, "bio", (600, 150, 150), {"PER", "ORG", "LOC", "MISC"}),
    (SAMPLE_ZH, "bmes", (300, 80, 80), {"PER", "ORG", "LOC"}),
])
def test_sample_corpus(folder, scheme, sizes, types):
    splits = _splits(folder)
    for (split, sentences), minimum in zip(splits.items(), sizes):
        assert len(sentences) >= minimum, split
        tags = [s.tags for s in sentences]
        assert detect_scheme(tags) == scheme
        assert not [p for t in tags for p in validate(t, scheme)]
        spans = [(s, span) for s in sentences for span in to_spans(s.tags, scheme)]
        assert {span.label for _, span in spans} == types
        starts = {"start" if span.start == 0 else "end" if span.end == len(s.tokens) - (s.tokens[-1] in ".。!?！？")
                  else "middle" for s, span in spans}
        assert starts == {"start", "middle", "end"}, split

    def strings(split):
        return {" ".join(s.tokens[span.start:span.end]) for s in splits[split] for span in to_spans(s.tags, scheme)}

    test, train = strings("test"), strings("train")
    assert len(test - train) >= 0.4 * len(test)
    if folder == SAMPLE:
        for split, sentences in splits.items():
            assert sum(len(s.tokens) > 40 for s in sentences) >= 0.1 * len(sentences), split
