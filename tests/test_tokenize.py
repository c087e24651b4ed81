import random

import pytest

from ner.data.tokenize import Token, split_sentences, tokenize, tokenize_text

from helpers import python_lines


def texts(tokens):
    return [t.text for t in tokens]


def test_exact_tokens_with_offsets():
    assert tokenize("Merkel's party didn't win.") == [
        Token("Merkel", 0, 6), Token("'s", 6, 8), Token("party", 9, 14), Token("did", 15, 18),
        Token("n't", 18, 21), Token("win", 22, 25), Token(".", 25, 26)]
    assert tokenize("我在Google工作。") == [
        Token("我", 0, 1), Token("在", 1, 2), Token("Google", 2, 8), Token("工", 8, 9), Token("作", 9, 10),
        Token("。", 10, 11)]
    assert tokenize("U.S. sales rose 3.5% to $1,200.", offset=100) == [
        Token("U.S.", 100, 104), Token("sales", 105, 110), Token("rose", 111, 115), Token("3.5", 116, 119),
        Token("%", 119, 120), Token("to", 121, 123), Token("$", 124, 125), Token("1,200", 125, 130),
        Token(".", 130, 131)]


def test_whitespace_and_control_characters_are_never_tokens():
    text = "a\u00a0b\u3000c\x00d\te\u200b f\ufeff\r\ng\x7f"
    assert tokenize(text) == [Token("a", 0, 1), Token("b", 2, 3), Token("c", 4, 5), Token("d", 6, 7),
                              Token("e", 8, 9), Token("f", 11, 12), Token("g", 15, 16)]
    assert tokenize(" \t\u3000\u2028\x01 ") == []


def test_punctuation_quotes_dashes_urls_and_emails():
    text = "“Hi,” she said—it’s an e-mail from john.doe@example.com (see https://example.com/a?b=1&c=2)."
    assert texts(tokenize(text)) == [
        "“", "Hi", ",", "”", "she", "said", "—", "it", "’s", "an", "e-mail", "from", "john.doe@example.com",
        "(", "see", "https://example.com/a?b=1&c=2", ")", "."]
    assert texts(tokenize("Visit www.bbc.co.uk. Or http://x.org/path/, then 'quote'...")) == [
        "Visit", "www.bbc.co.uk", ".", "Or", "http://x.org/path/", ",", "then", "'", "quote", "'", "..."]
    assert texts(tokenize("Wait -- no!? (a) [b] {c} «d» \"e\" ``f''")) == [
        "Wait", "--", "no", "!", "?", "(", "a", ")", "[", "b", "]", "{", "c", "}", "«", "d", "»", '"', "e", '"',
        "``", "f", "''"]


@pytest.mark.parametrize("word", [
    "U.S.", "e.g.", "i.e.", "U.K.", "a.m.", "3.5", "1,200", "10,000,000", "0.25", "12:30", "1/2", "e-mail",
    "well-known", "F-16", "1990-91", "AT&T", "O'Neil", "rock'n'roll", "snake_case", "naïve", "Zürich",
    "Mr.", "Dr.", "Inc.", "https://en.wikipedia.org/wiki/Named-entity_recognition", "www.example.com",
    "jane+ner@mail.example.org", "２０２４",
])
def test_kept_together(word):
    assert tokenize(word) == [Token(word, 0, len(word))]
    assert texts(tokenize(f"({word}),")) == ["(", word, ")", ","]


@pytest.mark.parametrize("word, parts", [
    ("don't", ["do", "n't"]), ("can't", ["ca", "n't"]), ("won’t", ["wo", "n’t"]), ("DON'T", ["DO", "N'T"]),
    ("I'm", ["I", "'m"]), ("they're", ["they", "'re"]), ("we've", ["we", "'ve"]), ("she'll", ["she", "'ll"]),
    ("he'd", ["he", "'d"]), ("Merkel’s", ["Merkel", "’s"]), ("O'Neil's", ["O'Neil", "'s"]),
    ("Jones'", ["Jones", "'"]), ("'s", ["'", "s"]),
])
def test_clitics_split_conll_style(word, parts):
    assert texts(tokenize(word)) == parts


def test_cjk_per_character_and_mixed_text():
    assert texts(tokenize("東京タワーは서울에서")) == ["東", "京", "タ", "ワ", "ー", "は", "서", "울", "에", "서"]
    assert texts(tokenize("2024年，我用iPhone 15看了《三体》！")) == [
        "2024", "年", "，", "我", "用", "iPhone", "15", "看", "了", "《", "三", "体", "》", "！"]
    assert texts(tokenize("请访问https://example.com/a或ner@example.com。")) == [
        "请", "访", "问", "https://example.com/a", "或", "ner@example.com", "。"]


def test_marks_and_symbols():
    assert texts(tokenize("cafe\u0301 ❤\ufe0f 5€ #tag @user")) == [
        "cafe\u0301", "❤\ufe0f", "5", "€", "#", "tag", "@", "user"]


def test_offsets_cover_every_visible_character():
    rng = random.Random(0)
    alphabet = "ab Z9.,'’-\u00a0\u3000\n\t\x00我。「」é\u0301$@:/!?"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        tokens = tokenize(text, offset=7)
        assert all(t.text == text[t.start - 7:t.end - 7] and t.text for t in tokens)
        assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))
        visible = "".join(c for c in text if not c.isspace() and c not in "\x00")
        assert "".join(texts(tokens)) == visible


def test_split_sentences_exact_spans():
    text = "Mr. Smith left. He met Dr. Jones at 3.5 p.m. today! J. K. Rowling? Yes."
    assert split_sentences(text) == [(0, 15), (16, 51), (52, 66), (67, 71)]
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Mr. Smith left.", "He met Dr. Jones at 3.5 p.m. today!", "J. K. Rowling?", "Yes."]


@pytest.mark.parametrize("text, sentences", [
    ("他来了。她走了！真的吗？是的", ["他来了。", "她走了！", "真的吗？", "是的"]),
    ("“你好。”他说。", ["“你好。”", "他说。"]),
    ("line one\nline two\r\n\r\n  line three  ", ["line one", "line two", "line three"]),
    ('"Stop!" he said. Then he left.', ['"Stop!" he said.', "Then he left."]),
    ('She said "Go." Then left.', ['She said "Go."', "Then left."]),
    ("Wait... what? No... The end.", ["Wait... what?", "No...", "The end."]),
    ("See e.g. the U.S. report, i.e. this one. Fine.", ["See e.g. the U.S. report, i.e. this one.", "Fine."]),
    ("It grew 3.5 percent in 2003. Sales rose.", ["It grew 3.5 percent in 2003.", "Sales rose."]),
    ("Prices (in $) rose.) Next", ["Prices (in $) rose.)", "Next"]),
    ("Hello world.我在Google工作。好", ["Hello world.", "我在Google工作。", "好"]),
    ("U.S.的经济 3.5亿", ["U.S.的经济 3.5亿"]),
    ("Pneumonoultramicroscopicsilicovolcanoconiosisdr. Ködr. Next", [
        "Pneumonoultramicroscopicsilicovolcanoconiosisdr.", "Ködr.", "Next"]),      # not "Dr."
    ("  \n\u3000\t ", []),
    ("", []),
])
def test_split_sentences(text, sentences):
    assert [text[a:b] for a, b in split_sentences(text)] == sentences


def test_tokenize_text_offsets_index_the_full_text():
    text = "Hello world. 我在Google工作。\nBye!"
    assert tokenize_text(text) == [
        [Token("Hello", 0, 5), Token("world", 6, 11), Token(".", 11, 12)],
        [Token("我", 13, 14), Token("在", 14, 15), Token("Google", 15, 21), Token("工", 21, 22),
         Token("作", 22, 23), Token("。", 23, 24)],
        [Token("Bye", 25, 28), Token("!", 28, 29)]]


MIXED = " ".join(random.Random(1).choice(
    "The quick Merkel's U.S. e-mail 1,200 3.5 don't fox. 我在Google工作。 https://x.org/a?b=c Mr. J. "
    "Wait... what?".split()) for _ in range(20_000))[:100_000]
UNITS = ["a", ".", "a.", "-a", "我", ".-", "a@", "1,", "Mr. ", "x'", "http://", "Wait... what? ", "don't "]


@pytest.mark.parametrize("text", [MIXED] + [(unit * 100_000)[:100_000] for unit in UNITS])
def test_hundred_thousand_pathological_characters_tokenize_exactly(text):
    """Every non-space character lands in exactly one token, in order, at its offsets. Nothing is timed
    (bench/readers.py prints the speed); a regex that backtracked catastrophically would hang here."""
    tokens = [t for sentence in tokenize_text(text) for t in sentence]
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))
    assert "".join(t.text for t in tokens) == "".join(text.split())


@pytest.mark.parametrize("unit", UNITS + [None])
def test_work_grows_linearly_with_the_text(unit):
    """Python lines executed for 8,000 characters are at most 4 times (+10 %) those for 2,000: linear, not
    quadratic (which would be 16 times), counted, not timed."""
    small, large = ((unit * 8_000)[:n] if unit else MIXED[:n] for n in (2_000, 8_000))
    tokenize_text(small)  # first calls may fill caches
    assert python_lines(tokenize_text, large) <= 4.4 * python_lines(tokenize_text, small)
