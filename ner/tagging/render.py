"""What ``ner tag`` prints for texts or CoNLL sentences: one function per output, the same whether the texts come
from arguments, a file streamed in shards, or a worker process."""

from __future__ import annotations

from collections.abc import Sequence

from ner.data.tokenize import tokenize_text
from ner.inference.tagger import Tagger
from ner.io.files import strict_dumps

FORMATS = ("json", "conll", "inline")


def inline(text: str, entities: list[dict]) -> str:
    """``text`` with each entity marked as ``[text|LABEL]``."""
    parts, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        parts += [text[pos:e["start"]], f"[{e['text']}|{e['label']}]"]
        pos = e["end"]
    return "".join(parts + [text[pos:]])


def render_conll(tagger: Tagger, sentences: list[list[str]], documents: Sequence[int | None] | None = None,
                 marked: bool = True, continued: bool = False) -> str:
    """token<TAB>tag lines, a blank line after each sentence, and with ``marked`` a ``-DOCSTART-`` line where each
    of ``documents`` starts (not before the first sentence when it ``continued`` a document). A model with document
    context reads each document whole (None: a sentence alone)."""
    documents = list(documents) if documents is not None else [None] * len(sentences)
    numbered = [i if d is None else -1 - d for i, d in enumerate(documents)]   # sentences alone never share one
    out, previous = [], documents[0] if continued and documents else None
    for tokens, tags, document in zip(sentences, tagger.tag_sentences(sentences, documents=numbered), documents):
        if marked and document is not None and document != previous:
            out.append("-DOCSTART-\tO\n\n")
        previous = document
        out.append("".join(f"{tok}\t{tag}\n" for tok, tag in zip(tokens, tags)) + "\n")
    return "".join(out)


def render_texts(tagger: Tagger, texts: list[str], fmt: str = "json", nbest: int | None = None) -> str:
    """One line per text (json: ``{"text", "entities"}`` or with ``nbest`` ``{"text", "sentences"}``; inline), or
    for "conll" the texts' sentences as :func:`render_conll` (each text a document, no ``-DOCSTART-`` lines)."""
    if fmt == "conll":
        pairs = [([t.text for t in s], n) for n, text in enumerate(texts) for s in tokenize_text(text) if s]
        return render_conll(tagger, [p[0] for p in pairs], [p[1] for p in pairs], marked=False)
    if nbest is not None:
        return "".join(strict_dumps({"text": text, "sentences": sentences}, ensure_ascii=False) + "\n"
                       for text, sentences in zip(texts, tagger.tag_many(texts, nbest=nbest)))
    if fmt == "json":
        return "".join(strict_dumps({"text": text, "entities": entities}, ensure_ascii=False) + "\n"
                       for text, entities in zip(texts, tagger.tag_many(texts)))
    return "".join(inline(text, entities) + "\n" for text, entities in zip(texts, tagger.tag_many(texts)))


def render_shard(tagger: Tagger, kind: str, items: list, documents: list | None, fmt: str,
                 nbest: int | None, continued: bool = False) -> str:
    """The output of one shard (:class:`ner.tagging.shards.Shard` fields): CoNLL sentences always as CoNLL."""
    if kind == "conll":
        return render_conll(tagger, items, documents, continued=continued)
    return render_texts(tagger, items, fmt, nbest)
