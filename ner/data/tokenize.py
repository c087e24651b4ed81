"""Rule-based sentence splitting and tokenization of raw text that keeps character offsets.

English-style rules (CoNLL/PTB-like: punctuation split off, clitics "'s" and "n't" separated; "U.S.", "3.5",
"1,200", "e-mail", URLs and e-mail addresses kept whole); CJK characters (Han, kana, Hangul, CJK punctuation)
are one token each; whitespace and control/format characters are never part of a token. Linear time.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple


class Token(NamedTuple):
    """A token and its character offsets: ``text == original[start:end]``."""

    text: str
    start: int
    end: int


def _ranges(predicate) -> str:
    """Regex class body of the BMP code points that satisfy ``predicate``."""
    out, start = [], None
    for cp in range(0x10001):
        hit = cp < 0x10000 and predicate(chr(cp))
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            out.append(f"\\u{start:04x}" if cp - 1 == start else f"\\u{start:04x}-\\u{cp - 1:04x}")
            start = None
    return "".join(out)


_WORD_JOINERS = "\u00ad\u200c\u200d"  # soft hyphen, zero-width (non-)joiner: inside words
# combining marks (part of the word they follow)
_MARKS = _ranges(lambda ch: unicodedata.category(ch)[0] == "M") + _WORD_JOINERS
# control and format characters that are skipped like whitespace
_GAPS = _ranges(lambda ch: unicodedata.category(ch) in ("Cc", "Cf") and ch not in _WORD_JOINERS) \
    + "\U000e0000-\U000e007f"
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u2ff0-\u2fff\u3001-\u303f\u3040-\u309f\u30a0-\u30ff\u3100-\u312f"
    "\u3130-\u318f\u3190-\u31ff\u3200-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af"
    "\ud7b0-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\uff66-\uff9f\uffa0-\uffdc\U00020000-\U0003134f"
)
# abbreviations that keep their period ("Mr.") and do not end a sentence
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft vs etc inc ltd co corp bros dept univ gen gov sen rep pres capt col lt sgt "
    "cmdr adm rev hon messrs jan feb mar apr jun jul aug sep sept oct nov dec approx fig figs eq vol pp".split()
)

_W = rf"(?:[^\W{_CJK}]|[{_MARKS}])"  # a word character: letter, digit, "_" or mark, not CJK
_URL_CHAR = rf"[^\s{_GAPS}{_CJK}<>\"“”‘’«»`(){{}}\[\]]"
_TOKEN = re.compile(
    rf"""
    (?P<cjk>[{_CJK}][{_MARKS}]*
    )|(?P<url>(?i:[a-z][a-z0-9+.\-]{{0,15}}://|www\.){_URL_CHAR}*(?<![.,;:!?'…\-])
    )|(?P<email>(?i:[a-z0-9][a-z0-9._%+\-]{{0,63}}@[a-z0-9\-]{{1,63}}(?:\.[a-z0-9\-]{{1,63}}){{1,8}})
    )|(?P<abbr>(?i:(?:[a-z]\.){{2,}}|(?:{"|".join(sorted(ABBREVIATIONS, key=len, reverse=True))})\.)|[A-Z]\.(?!{_W})
    )|(?P<word>{_W}++(?:(?:[\-‐‑&.'’]|(?<=\d)[,:/](?=\d)){_W}++)*+
    )|(?P<punct>\.{{2,}}|-{{2,}}|``|''|[^\s{_GAPS}][{_MARKS}]*
    )""",
    re.VERBOSE,
)
_CLITIC = re.compile(r"(?:n['’]t|['’](?:s|m|d|ll|re|ve))\Z", re.IGNORECASE)
_LINE = re.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CLOSERS = "\"'”’»)\\]}」』】》〕）〉"
_TERMINATOR = re.compile(rf"(?P<cjk>[。！？｡]+[!?！？。｡]*)[{_CLOSERS}]*|(?:[.!?…]+)[{_CLOSERS}]*")
_EDGE = re.compile(rf"[\s{_GAPS}]")
_BEFORE_PERIOD = re.compile(r"(?<!\w)((?:[a-z]\.)+[a-z]|[a-z]+)\Z", re.IGNORECASE)
_AFTER_PERIOD = re.compile(rf"[\s{_GAPS}{_CJK}]")     # what may follow . ! ? that ends a sentence


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Tokens of ``text`` with offsets shifted by ``offset`` (the position of ``text`` in a larger string)."""
    tokens = []
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        if m.lastgroup == "word" and ("'" in m.group() or "’" in m.group()):
            clitic = _CLITIC.search(text, start, end)
            if clitic and clitic.start() > start:
                tokens.append(Token(text[start:clitic.start()], start + offset, clitic.start() + offset))
                start = clitic.start()
        tokens.append(Token(text[start:end], start + offset, end + offset))
    return tokens


def _ends_sentence(text: str, m: re.Match, line_start: int, line_end: int) -> bool:
    """Whether the terminator match ``m`` inside text[line_start:line_end] ends a sentence."""
    if m.group("cjk"):
        return True
    end = m.end()
    if end < line_end and not _AFTER_PERIOD.match(text, end):
        return False                                   # "3.5", "U.S.-led", "e.g.,"
    rest = text[end:min(line_end, end + 64)].lstrip()
    if rest[:1].islower():
        return False                                   # "... said Mr. smith", "etc. and", '"Stop!" he said'
    if m.group().rstrip(_CLOSERS) != ".":
        return True
    word = _BEFORE_PERIOD.search(text, max(line_start, m.start() - 32), m.start())
    if word is None:
        return True
    word = word.group(1)
    return not (word.lower() in ABBREVIATIONS or "." in word or (len(word) == 1 and word.isupper()))


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and _EDGE.match(text, start):
        start += 1
    while end > start and _EDGE.match(text, end - 1):
        end -= 1
    return (start, end) if start < end else None


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of ``text``, trimmed of whitespace.

    A sentence ends at a line break, at 。！？, or at . ! ? … (plus closing quotes/brackets) followed by
    whitespace or CJK, unless a lower-case word follows or the period ends an abbreviation ("Mr.", "e.g.", "U.S.")
    or an initial ("J. K. Rowling"). Decimal numbers ("3.5") never end a sentence.
    """
    spans = []
    for line in _LINE.finditer(text):
        start = line.start()
        for m in _TERMINATOR.finditer(text, line.start(), line.end()):
            if _ends_sentence(text, m, line.start(), line.end()):
                spans.append(_trimmed(text, start, m.end()))
                start = m.end()
        spans.append(_trimmed(text, start, line.end()))
    return [s for s in spans if s is not None]


def tokenize_text(text: str) -> list[list[Token]]:
    """Sentences of tokens; offsets index ``text``."""
    return [tokenize(text[s:e], s) for s, e in split_sentences(text)]

