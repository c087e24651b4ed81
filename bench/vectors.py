"""Pretrained vectors at full size: load time, peak memory and coverage on CoNLL-2003.

    python bench/vectors.py --data ../shared/data/conll2003 [--rows 400000] [--dim 300]
        [--extra 0,100000] [--folder bench/runs/vectors] [--formats text,binary] [--out FILE.jsonl]

Generates (once, seeded; kept in --folder, which git ignores: never commit it) a GloVe-shaped text file of
--rows words × --dim values, and with ``binary`` in --formats the same vectors as word2vec binary. Its words
are wordfreq's English list, most frequent first and lowercase like GloVe 6B's (``pip install wordfreq``),
then made-up words up to --rows; the values are random, so only coverage figures mean anything, not accuracy.
Then, for each format and each --extra (``--extra-vector-words``), a fresh child process loads CoNLL-2003,
builds the training vocabularies and times ``ner.data.prepare.with_vectors`` (the one read of the file that
training makes), reporting its wall-clock seconds and how much it raised the process's peak resident memory
(``ru_maxrss`` after it, minus before it), with the coverage report training prints. Prints a provenance
line and a table; --out appends one JSON row per measurement.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _provenance import line, provenance

HERE = Path(__file__).resolve().parent


def words(rows: int) -> tuple[list[str], int]:
    """``rows`` distinct words, wordfreq's English list first; and how many came from that list."""
    from wordfreq import top_n_list

    listed = [w for w in dict.fromkeys(top_n_list("en", rows, wordlist="large")) if w and " " not in w]
    made_up = (f"zx{i}q" for i in range(rows))
    return listed + [next(made_up) for _ in range(rows - len(listed))], len(listed)


def generate(folder: Path, rows: int, dim: int, formats: list[str]) -> dict[str, Path]:
    """The vector files (generated when absent): {"text": path, ["binary": path]}."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"text": folder / f"vectors-{rows}x{dim}.txt", "binary": folder / f"vectors-{rows}x{dim}.bin"}
    if all(paths[f].exists() for f in formats):
        return {f: paths[f] for f in formats}
    vocabulary, listed = words(rows)
    rng = np.random.default_rng(0)
    pool = np.array([f"{v:.5f}" for v in rng.normal(scale=0.4, size=65536)])
    started = time.perf_counter()
    part = {fmt: path.with_name(path.name + ".part") for fmt, path in paths.items()}
    with open(part["text"], "w", encoding="utf-8") as text, open(part["binary"], "wb") as binary:
        binary.write(f"{rows} {dim}\n".encode())
        for start in range(0, rows, 10_000):
            block = rng.integers(len(pool), size=(min(10_000, rows - start), dim))
            values = pool[block]
            text.write("".join(f"{w} {' '.join(v)}\n" for w, v in zip(vocabulary[start:], values)))
            if "binary" in formats:
                floats = values.astype(np.float32).astype("<f4")
                binary.write(b"".join(w.encode() + b" " + f.tobytes() + b"\n"
                                      for w, f in zip(vocabulary[start:], floats)))
    for fmt in ("text", "binary"):
        if fmt in formats:
            part[fmt].replace(paths[fmt])
        else:
            part[fmt].unlink()
    print(f"# generated {rows:,} x {dim} ({listed:,} wordfreq words) in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{paths[f]} {paths[f].stat().st_size / 2**20:,.0f} MiB" for f in formats), flush=True)
    return {f: paths[f] for f in formats}


def child(data: str, path: str, extra: int, vocabulary: str) -> None:
    """In a fresh process: load the corpus and vocabularies, then time the read; print one JSON object."""
    from ner.data.corpus import load_corpus
    from ner.data.prepare import prepare_corpus, with_vectors

    prepared = prepare_corpus(load_corpus(data), name=data, scheme="bioes", seed=1, dev_fraction=0.1,
                              lowercase=vocabulary == "lowercase")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    vocabs, pretrained, report = with_vectors(prepared.vocabs, prepared.splits, path, extra)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": round(seconds, 2), "peak_rise_mib": round((after - before) / 1024, 1),
                      "peak_mib": round(after / 1024, 1), "vocabulary_after": len(vocabs.words),
                      "vector_mib": round(pretrained.vectors.nbytes / 2**20, 1), "report": report}))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/conll2003", help="CoNLL-2003 folder")
    p.add_argument("--rows", type=int, default=400_000)
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--extra", default="0,100000", help="comma-separated --extra-vector-words values")
    p.add_argument("--formats", default="text", help="comma-separated: text, binary")
    p.add_argument("--vocabularies", default="lowercase,cased",
                   help="comma-separated word vocabularies: lowercase (training's default), cased (--no-lowercase)")
    p.add_argument("--folder", default=str(HERE / "runs" / "vectors"), help="where the generated files live")
    p.add_argument("--out", help="append one JSON row per measurement to this file")
    p.add_argument("--child", nargs=4, metavar=("DATA", "FILE", "EXTRA", "VOCABULARY"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3])
        return 0
    formats = args.formats.split(",")
    files = generate(Path(args.folder), args.rows, args.dim, formats)
    print(line())
    print("| format | vocabulary | extra words | seconds | peak memory rise (MiB) | vocabulary size | train+dev "
          "words with a vector (exact / lowercase / digits) | added from corpus / file | dev OOV before → after "
          "| test OOV before → after |\n|---|---|---:|---:|---:|---:|---|---|---|---|")
    runs = [(f, p, v, int(e)) for f, p in files.items() for v in args.vocabularies.split(",")
            for e in args.extra.split(",")]
    for fmt, path, vocabulary, extra in runs:
        done = subprocess.run([sys.executable, __file__, "--child", args.data, str(path), str(extra), vocabulary],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"the measuring child failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        r = row["report"]
        covered = r["exact"] + r["lowercase"] + r["digits"]
        oov = {s: f"{100 * o['before']:.2f}% → {100 * o['after']:.2f}%" for s, o in r["oov"].items()}
        share = 100 * covered / r["vocabulary"]
        print(f"| {fmt} | {vocabulary} | {extra:,} | {row['seconds']:.1f} | {row['peak_rise_mib']:,.0f} | "
              f"{row['vocabulary_after']:,} | {covered:,} of {r['vocabulary']:,} ({share:.1f}%: "
              f"{r['exact']:,} / {r['lowercase']:,} / {r['digits']:,}) | {r['added']['corpus']:,} / "
              f"{r['added']['file']:,} | {oov.get('dev', '-')} | {oov.get('test', '-')} |", flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps({**provenance(), "format": fmt, "rows": args.rows, "dim": args.dim,
                                    "vocabulary": vocabulary, "extra": extra,
                                    "file_mib": round(path.stat().st_size / 2**20), **row}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
