"""Browse mode of the page: the test sentences of a corpus where the loaded models disagree most."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ner.data.schemes import to_spans
from ner.errors import NerError
from ner.inference.tagger import Tagger

if TYPE_CHECKING:
    from ner.data.corpus import CorpusSpec

FILTERS = ("all", "some-right", "all-wrong")


@dataclass
class Disagreements:
    """Each test sentence's tokens, gold tags and every model's tags (in the corpus's scheme ``scheme``)."""

    scheme: str
    tokens: list[list[str]]
    gold: list[list[str]]
    tags: dict[str, list[list[str]]]

    @classmethod
    def of(cls, taggers: dict[str, Tagger], data: CorpusSpec) -> Disagreements:
        """Tag the test split of ``data`` with every tagger; NerError when it has none."""
        from ner.data.corpus import corpus_scheme, load_corpus, split_documents  # datasets: browse mode only

        corpus = load_corpus(data)
        split = "test" if "test" in corpus else None
        if split is None:
            raise NerError(f"--data: {data} has no test split")
        tokens, gold = list(corpus[split]["tokens"]), list(corpus[split]["tags"])
        documents = split_documents(corpus[split])
        scheme = corpus_scheme(corpus[split])
        return cls(scheme, tokens, gold, {name: t.tag_sentences(tokens, scheme, documents=documents)
                                          for name, t in taggers.items()})

    def ranked(self, entity_type: str | None = None, which: str = "all", limit: int = 50) -> list[dict]:
        """Sentences where the models' tags differ, most differing tokens first (then corpus order): each
        ``{"index", "tokens", "gold", "models": {name: tags}, "right": {name: bool}, "differ"}``. ``entity_type``
        keeps sentences with an entity of that type in the gold tags or any model's; ``which``: "some-right" keeps
        those that some model tags exactly right, "all-wrong" those that none does."""
        if which not in FILTERS:
            raise NerError(f"filter: unknown filter {which!r} (choose from {', '.join(FILTERS)})")
        found = []
        for i, (tokens, gold) in enumerate(zip(self.tokens, self.gold)):
            readings = {name: tags[i] for name, tags in self.tags.items()}
            differ = sum(len({r[t] for r in readings.values()}) > 1 for t in range(len(tokens)))
            if not differ:
                continue
            right = {name: r == gold for name, r in readings.items()}
            if which == "some-right" and not any(right.values()) or which == "all-wrong" and any(right.values()):
                continue
            if entity_type and all(s.label != entity_type for r in (gold, *readings.values())
                                   for s in to_spans(r, self.scheme)):
                continue
            found.append({"index": i, "tokens": tokens, "gold": gold, "models": readings, "right": right,
                          "differ": differ})
        found.sort(key=lambda s: (-s["differ"], s["index"]))
        return found[:limit]

    def types(self) -> list[str]:
        """Entity types of the gold tags."""
        return sorted({s.label for tags in self.gold for s in to_spans(tags, self.scheme)})
