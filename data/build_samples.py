"""Build the bundled sample corpora (CoNLL files) from their hand-written annotated sources.

Source format, one sentence per line (blank lines and lines starting with ``#`` are skipped):

* English (``data/sample/source/SPLIT.txt``): tokens separated by single spaces; an entity is written
  ``[LABEL token token ...]``, e.g. ``[PER Angela Merkel] visited [LOC Paris] .``  -> BIO tags.
* Chinese (``data/sample-zh/source/SPLIT.txt``): running text, one token per character, whitespace
  ignored; an entity is ``[LABEL 字字字]``, e.g. ``[PER 王小明]去了[LOC 杭州]。`` -> BMES tags.

Run ``python data/build_samples.py`` from the repository root; it rewrites ``data/sample*/SPLIT.txt``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ENTITY = re.compile(r"\[([A-Z]+) ([^\[\]]+?)\]")
LABELS = {"sample": {"PER", "ORG", "LOC", "MISC"}, "sample-zh": {"PER", "ORG", "LOC"}}


def parse_line(line: str, chinese: bool, labels: set[str], where: str) -> list[tuple[str, str]]:
    """Return (token, tag) pairs of one annotated sentence; BIO for English, BMES for Chinese."""
    pairs: list[tuple[str, str]] = []

    def plain(text: str) -> None:
        units = [c for c in text if not c.isspace()] if chinese else text.split()
        if any(c in "[]" for u in units for c in u):
            raise SystemExit(f"{where}: unbalanced bracket in {text!r}")
        pairs.extend((u, "O") for u in units)

    pos = 0
    for m in ENTITY.finditer(line):
        plain(line[pos:m.start()])
        label, body = m.group(1), m.group(2)
        if label not in labels:
            raise SystemExit(f"{where}: unknown label {label!r}")
        units = [c for c in body if not c.isspace()] if chinese else body.split()
        if chinese:
            tags = [f"S-{label}"] if len(units) == 1 else (
                [f"B-{label}"] + [f"M-{label}"] * (len(units) - 2) + [f"E-{label}"])
        else:
            tags = [f"B-{label}"] + [f"I-{label}"] * (len(units) - 1)
        pairs.extend(zip(units, tags))
        pos = m.end()
    plain(line[pos:])
    return pairs


def build(root: Path) -> None:
    for corpus in ("sample", "sample-zh"):
        chinese = corpus == "sample-zh"
        for src in sorted((root / corpus / "source").glob("*.txt")):
            out_lines: list[str] = []
            for n, raw in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                pairs = parse_line(line, chinese, LABELS[corpus], f"{src}:{n}")
                out_lines.extend(f"{tok} {tag}" for tok, tag in pairs)
                out_lines.append("")
            target = root / corpus / src.name
            tmp = target.with_suffix(".tmp")
            tmp.write_text("\n".join(out_lines), encoding="utf-8")
            tmp.replace(target)
            print(f"wrote {target}: {out_lines.count('')} sentences")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
