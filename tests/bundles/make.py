"""Write the bundles of this folder with the installed ner and record what they tag (run from the repository root).

The bundles are kept as written by ner 0.1.0 (before the restructuring into packages): ``tests/test_old_bundles.py``
checks that later code still loads them and tags exactly as recorded here. Rerun only to add a bundle format.
"""

import json
import sys
from pathlib import Path

import ner
from ner.inference.tagger import Tagger

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "data" / "sample"
TINY = dict(word_dim=16, hidden=16, casing_dim=4, epochs=15, batch_size=8, verbose=0, seed=5, patience=0,
            dropout=0.1, lr_decay=0.0)
# Between them the bundles hold every Keras class ner registers (SequenceTagger, CRF, CharCNN, FusedLSTM,
# SequenceStack, MaskedConv1D) and both optimizers (Adam, SGD).
BUNDLES = {
    "fused-crf-adam": dict(encoder="bilstm-cnn-fused", crf=True, optimizer="adam", lr=0.02),
    "conv-softmax-sgd": dict(encoder="bilstm-conv", crf=False, optimizer="sgd", lr=0.1, char_cnn=True),
}


def main() -> None:
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    for split, n in {"train": 150, "dev": 30, "test": 30}.items():
        blocks = (SAMPLE / f"{split}.txt").read_text(encoding="utf-8").strip().split("\n\n")
        (data / f"{split}.txt").write_text("\n\n".join(blocks[:n]) + "\n", encoding="utf-8")
    texts = [" ".join(line.split()[0] for line in block.splitlines())
             for block in (data / "test.txt").read_text(encoding="utf-8").strip().split("\n\n")]
    expected = {}
    for name, settings in BUNDLES.items():
        path = ner.train(data=str(data), out=str(HERE / name), **TINY, **settings)
        expected[name] = {text: Tagger.load(path, engine="keras").tag(text) for text in texts}
        numpy = {text: Tagger.load(path, engine="numpy").tag(text) for text in texts}
        assert [[(e["start"], e["end"], e["label"]) for e in v] for v in numpy.values()] == \
               [[(e["start"], e["end"], e["label"]) for e in v] for v in expected[name].values()]
    (HERE / "expected.json").write_text(json.dumps({"ner": ner.__version__, "python": sys.version.split()[0],
                                                    "tags": expected}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
