"""The report's PNG figures, drawn with matplotlib from a built report (``report.json``'s object)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ner.comparison.verdicts import BUCKETS

FIGURES = {
    "f1.png": "Test entity F1 per configuration",
    "learning_curves.png": "Dev F1 per epoch (learning curves)",
    "length_buckets.png": "Test F1 by sentence length",
    "f1_vs_time.png": "Test F1 against training time",
    "per_type_f1.png": "Per-type test F1",
    "oov.png": "F1 on entities with out-of-vocabulary words",
}


def _errors(c: dict) -> tuple[float, float]:
    """Error bar (below, above) in points: seed std, or the bootstrap interval with one seed."""
    mean = c["f1"]["mean"]
    if c["f1"]["std"] is not None:
        return 100 * c["f1"]["std"], 100 * c["f1"]["std"]
    lo, hi = c["f1_bootstrap_95"]
    return 100 * max(0.0, mean - lo), 100 * max(0.0, hi - mean)


def figures(report: dict, out: Path) -> None:
    """Write every PNG of :data:`FIGURES` into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs, runs = report["configurations"], report["runs"]
    names = [c["name"] for c in configs]
    colors = {n: plt.get_cmap("tab10")(i % 10) for i, n in enumerate(names)}
    head_color = {"softmax": "#90a4ae", "crf": "#1565c0"}
    one_seed = all(c["f1"]["std"] is None for c in configs)

    def save(fig, name: str, title: str) -> None:
        fig.suptitle(title)
        fig.tight_layout()
        tmp = out / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        tmp.replace(out / name)

    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(configs) + 2), 4))
    errs = np.array([_errors(c) for c in configs]).T
    ax.bar(range(len(configs)), [100 * c["f1"]["mean"] for c in configs], yerr=errs, capsize=4,
           color=[head_color.get(c["head"], "#888") for c in configs])
    ax.set_xticks(range(len(configs)), names, rotation=40, ha="right")
    ax.set_ylabel("test entity F1 (%)")
    ax.set_title("error bars: " + ("bootstrap 95% interval (one seed)" if one_seed else "std over seeds"),
                 fontsize=9)
    save(fig, "f1.png", FIGURES["f1.png"])

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for c in configs:
        for k, r in enumerate(x for x in runs if x["config"] == c["name"]):
            ax.plot(range(1, len(r["dev_f1"]) + 1), [100 * f for f in r["dev_f1"]], marker=".",
                    color=colors[c["name"]], alpha=0.9 if k == 0 else 0.45, label=c["name"] if k == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("dev entity F1 (%)")
    ax.legend(fontsize=7)
    save(fig, "learning_curves.png", FIGURES["learning_curves.png"])

    heads = list(dict.fromkeys(c["head"] for c in configs))
    fig, axes = plt.subplots(1, len(heads), figsize=(5 * len(heads), 4), squeeze=False, sharey=True)
    labels = [f"{b}\n({report['test']['buckets'][b]['entities']} ent.)" for b, _, _ in BUCKETS]
    for ax, head in zip(axes[0], heads):
        for c in (c for c in configs if c["head"] == head):
            ys = [np.nan if c["length_buckets"][b]["mean"] is None else 100 * c["length_buckets"][b]["mean"]
                  for b, _, _ in BUCKETS]
            ax.plot(range(len(labels)), ys, marker="o", label=c["encoder"], color=colors[c["name"]])
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_title(f"{head} head", fontsize=10)
        ax.set_xlabel("sentence length (tokens)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("test entity F1 (%)")
    save(fig, "length_buckets.png", FIGURES["length_buckets.png"])

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for c in (c for c in configs if c["train_time_comparable"]):
        ax.scatter(c["train_seconds"]["mean"], 100 * c["f1"]["mean"], color=colors[c["name"]],
                   marker="o" if c["head"] == "crf" else "s")
        ax.annotate(c["name"], (c["train_seconds"]["mean"], 100 * c["f1"]["mean"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("training time (s, mean over seeds)")
    ax.set_ylabel("test entity F1 (%)")
    if not all(c["train_time_comparable"] for c in configs):
        ax.set_title("configurations without a run that trained alone are left out", fontsize=8)
    save(fig, "f1_vs_time.png", FIGURES["f1_vs_time.png"])

    types = sorted({t for c in configs for t in c["per_type"]})
    grid = np.array([[np.nan if c["per_type"].get(t, {}).get("mean") is None else 100 * c["per_type"][t]["mean"]
                      for t in types] for c in configs]).reshape(len(configs), len(types))
    fig, ax = plt.subplots(figsize=(1.2 * len(types) + 3, 0.45 * len(configs) + 1.5))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(types)), types)
    ax.set_yticks(range(len(configs)), names)
    for (i, j), value in np.ndenumerate(grid):
        if not math.isnan(value):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if value < 60 else "black")
    fig.colorbar(image, ax=ax, label="F1 (%)")
    save(fig, "per_type_f1.png", FIGURES["per_type_f1.png"])

    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(configs) + 2), 4))
    x = np.arange(len(configs))
    ax.bar(x - 0.2, [100 * c["f1"]["mean"] for c in configs], 0.4, label="all entities", color="#90a4ae")
    ax.bar(x + 0.2, [0 if c["oov_f1"]["mean"] is None else 100 * c["oov_f1"]["mean"] for c in configs], 0.4,
           label=f"entities with OOV words ({report['test']['oov_entities'] or 0})", color="#ef6c00")
    ax.set_xticks(x, names, rotation=40, ha="right")
    ax.set_ylabel("test entity F1 (%)")
    ax.legend(fontsize=8)
    save(fig, "oov.png", FIGURES["oov.png"])


# ---------------------------------------------------------------- writing
