"""The report's PNG figures, drawn with matplotlib from a built report (``report.json``'s object).

One function per figure takes the report and returns a matplotlib ``Figure``; :data:`FIGURES` maps each
file name to its title and function, and :func:`figures` writes them all. F1 values are drawn in percent.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.figure import Figure

from ner.comparison.verdicts import BUCKETS
from ner.io.files import atomic_write

HEAD_COLOR = {"softmax": "#90a4ae", "crf": "#1565c0"}


def _colors(report: dict) -> dict:
    """One colour per configuration, in the report's order."""
    return {c["name"]: colormaps["tab10"](i % 10) for i, c in enumerate(report["configurations"])}


def _errors(c: dict) -> tuple[float, float]:
    """Error bar (below, above) in points: seed std, or the bootstrap interval with one seed."""
    mean = c["f1"]["mean"]
    if c["f1"]["std"] is not None:
        return 100 * c["f1"]["std"], 100 * c["f1"]["std"]
    lo, hi = c["f1_bootstrap_95"]
    return 100 * max(0.0, mean - lo), 100 * max(0.0, hi - mean)


def f1_bars(report: dict) -> Figure:
    """Test F1 per configuration, coloured by head, with seed-std or bootstrap error bars."""
    configs = report["configurations"]
    one_seed = all(c["f1"]["std"] is None for c in configs)
    fig = Figure(figsize=(max(9, 0.9 * len(configs) + 3), 5.5))
    ax = fig.subplots()
    errs = np.array([_errors(c) for c in configs]).T   # (2, configurations)
    ax.bar(range(len(configs)), [100 * c["f1"]["mean"] for c in configs], yerr=errs, capsize=4,
           color=[HEAD_COLOR.get(c["head"], "#888") for c in configs])
    ax.set_xticks(range(len(configs)), [c["name"] for c in configs], rotation=40, ha="right")
    ax.set_ylabel("test entity F1 (%)")
    ax.set_title("error bars: " + ("bootstrap 95% interval (one seed)" if one_seed else "std over seeds"),
                 fontsize=12)
    return fig


def learning_curves(report: dict) -> Figure:
    """Dev F1 per epoch of every run; the first seed of a configuration drawn darker and labelled."""
    colors = _colors(report)
    fig = Figure(figsize=(9, 5.5))
    ax = fig.subplots()
    for c in report["configurations"]:
        for k, r in enumerate(x for x in report["runs"] if x["config"] == c["name"]):
            ax.plot(range(1, len(r["dev_f1"]) + 1), [100 * f for f in r["dev_f1"]], marker=".",
                    color=colors[c["name"]], alpha=0.9 if k == 0 else 0.45, label=c["name"] if k == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("dev entity F1 (%)")
    ax.legend(ncol=2)
    return fig


def length_buckets(report: dict) -> Figure:
    """Test F1 per sentence-length bucket, one panel per head, one line per encoder."""
    configs, colors = report["configurations"], _colors(report)
    heads = list(dict.fromkeys(c["head"] for c in configs))
    fig = Figure(figsize=(max(9, 5.5 * len(heads)), 5.5))
    axes = fig.subplots(1, len(heads), squeeze=False, sharey=True)[0]
    labels = [f"{b}\n({report['test']['buckets'][b]['entities']} ent.)" for b, _, _ in BUCKETS]
    for ax, head in zip(axes, heads):
        for c in (c for c in configs if c["head"] == head):
            ys = [np.nan if c["length_buckets"][b]["mean"] is None else 100 * c["length_buckets"][b]["mean"]
                  for b, _, _ in BUCKETS]
            ax.plot(range(len(labels)), ys, marker="o", label=c["encoder"], color=colors[c["name"]])
        ax.set_xticks(range(len(labels)), labels)
        ax.set_title(f"{head} head")
        ax.set_xlabel("sentence length (tokens)")
        ax.legend()
    axes[0].set_ylabel("test entity F1 (%)")
    return fig


def f1_vs_time(report: dict) -> Figure:
    """Test F1 against mean training seconds, for configurations with a run that trained alone."""
    configs, colors = report["configurations"], _colors(report)
    fig = Figure(figsize=(9, 5.5))
    ax = fig.subplots()
    for c in (c for c in configs if c["train_time_comparable"]):
        point = (c["train_seconds"]["mean"], 100 * c["f1"]["mean"])
        ax.scatter(*point, color=colors[c["name"]], marker="o" if c["head"] == "crf" else "s")
        ax.annotate(c["name"], point, fontsize=11, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("training time (s, mean over seeds)")
    ax.set_ylabel("test entity F1 (%)")
    if not all(c["train_time_comparable"] for c in configs):
        ax.set_title("configurations without a run that trained alone are left out", fontsize=12)
    return fig


def per_type_f1(report: dict) -> Figure:
    """Heat map of test F1 per configuration (rows) and entity type (columns)."""
    configs = report["configurations"]
    types = sorted({t for c in configs for t in c["per_type"]})
    grid = np.array([[np.nan if c["per_type"].get(t, {}).get("mean") is None else 100 * c["per_type"][t]["mean"]
                      for t in types] for c in configs]).reshape(len(configs), len(types))   # (configs, types)
    fig = Figure(figsize=(max(9, 1.5 * len(types) + 4), 0.55 * len(configs) + 2))
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(types)), types)
    ax.set_yticks(range(len(configs)), [c["name"] for c in configs])
    for (i, j), value in np.ndenumerate(grid):
        if not math.isnan(value):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=12,
                    color="white" if value < 60 else "black")
    fig.colorbar(image, ax=ax, label="F1 (%)")
    return fig


def oov_f1(report: dict) -> Figure:
    """Test F1 on all entities beside F1 on entities with a word unseen in training, per configuration."""
    configs = report["configurations"]
    fig = Figure(figsize=(max(9, 0.9 * len(configs) + 3), 5.5))
    ax = fig.subplots()
    x = np.arange(len(configs))
    ax.bar(x - 0.2, [100 * c["f1"]["mean"] for c in configs], 0.4, label="all entities", color="#90a4ae")
    ax.bar(x + 0.2, [0 if c["oov_f1"]["mean"] is None else 100 * c["oov_f1"]["mean"] for c in configs], 0.4,
           label=f"entities with OOV words ({report['test']['oov_entities'] or 0})", color="#ef6c00")
    ax.set_xticks(x, [c["name"] for c in configs], rotation=40, ha="right")
    ax.set_ylabel("test entity F1 (%)")
    ax.legend()
    return fig


FIGURES: dict[str, tuple[str, Callable[[dict], Figure]]] = {
    "f1.png": ("Test entity F1 per configuration", f1_bars),
    "learning_curves.png": ("Dev F1 per epoch (learning curves)", learning_curves),
    "length_buckets.png": ("Test F1 by sentence length", length_buckets),
    "f1_vs_time.png": ("Test F1 against training time", f1_vs_time),
    "per_type_f1.png": ("Per-type test F1", per_type_f1),
    "oov.png": ("F1 on entities with out-of-vocabulary words", oov_f1),
}


CAPTIONS = {
    "f1.png": "Which configuration tags best: compare bar heights against their error bars (bars whose error "
              "bars overlap are not told apart).",
    "learning_curves.png": "When each run stopped improving on dev: a curve still rising at its end wanted more "
                           "epochs.",
    "length_buckets.png": "Whether an encoder falls off on long sentences: compare the lines' slopes towards the "
                          "right, per head.",
    "f1_vs_time.png": "What the accuracy costs: up and to the left is better.",
    "per_type_f1.png": "Which entity types each configuration finds: read a column across the configurations.",
    "oov.png": "How each configuration does on entities with words never seen in training: the gap between "
               "each pair of bars.",
}
"""For each figure, one line that says what to look at (the report prints it under the figure)."""


def figures(report: dict, out: Path) -> None:
    """Write every PNG of :data:`FIGURES` into ``out`` (each with :func:`ner.io.files.atomic_write`); text is
    drawn at 13 pt (11 pt at least), so that at the report's full width (a figure shrunk to about 80%) it
    reads at 10 pt or more on a laptop screen."""
    with rc_context({"font.size": 13, "axes.titlesize": 13, "axes.labelsize": 13, "xtick.labelsize": 12,
                     "ytick.labelsize": 12, "legend.fontsize": 12, "figure.titlesize": 15}):
        for name, (title, draw) in FIGURES.items():
            fig = draw(report)
            fig.suptitle(title)
            fig.tight_layout()
            png = io.BytesIO()
            fig.savefig(png, format="png", dpi=110)
            atomic_write(out / name, png.getvalue())
