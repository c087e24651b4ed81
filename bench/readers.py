"""Reader speed on pathological inputs: the timing the tests leave out (tests count work, never time it).

    python bench/readers.py [--chars 100000] [--repeats 3]

Prints, for the tokenizer (``tokenize_text``) on each pathological text of --chars and twice --chars
characters, and for ``read_conll`` on one sentence of --chars and twice --chars token lines, the best of
--repeats wall-clock seconds and the ratio of the two sizes (about 2 when linear, 4 when quadratic), after
a line giving the commit, command line, machine and library versions (``bench/_provenance.py``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from _provenance import line

UNITS = ["a", ".", "a.", "-a", "我", ".-", "a@", "1,", "Mr. ", "x'", "http://", "Wait... what? ", "don't "]


def best(repeats: int, fn, *args) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chars", type=int, default=100_000, help="characters (tokenizer) and lines (CoNLL)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    from ner.data.conll import read_conll
    from ner.data.tokenize import tokenize_text

    n = args.chars
    mixed = " ".join(random.Random(1).choice(
        "The quick Merkel's U.S. e-mail 1,200 3.5 don't fox. 我在Google工作。 https://x.org/a?b=c Mr. J. "
        "Wait... what?".split()) for _ in range(n // 2))
    print(line())
    print(f"| input | {n:,} s | {2 * n:,} s | ratio |\n|---|---:|---:|---:|")
    for name, text in [("mixed text", mixed)] + [(repr(u), u * (2 * n // len(u) + 1)) for u in UNITS]:
        a, b = best(args.repeats, tokenize_text, text[:n]), best(args.repeats, tokenize_text, text[:2 * n])
        print(f"| tokenize {name} | {a:.3f} | {b:.3f} | {b / max(a, 1e-9):.2f} |")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for lines in (n, 2 * n):
            path = Path(folder) / f"{lines}.txt"
            path.write_text("".join(f"w{i} {'B-PER' if i % 7 == 0 else 'O'}\n" for i in range(lines)))
            paths.append(path)
        a, b = (best(args.repeats, read_conll, path) for path in paths)
        print(f"| read_conll one sentence | {a:.3f} | {b:.3f} | {b / max(a, 1e-9):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
