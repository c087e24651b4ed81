"""The long-range probe: train encoders on generated corpora where an entity's type is decided by a cue K
tokens away (:mod:`ner.data.probe`), over a range of K, and report F1 against that distance.

``ner.probe(out="reports/probe", ...)`` (``ner probe``) writes, under ``OUT/``::

    data/TASK-kK/         the generated corpus of each task and distance (train.txt, dev.txt, test.txt)
    grids/TASK-kK/runs/   an ordinary comparison grid on it (:mod:`ner.comparison.grid`): ENCODER-HEAD-sSEED
    report.md, report.json, f1_vs_distance.png

Each (task, K) is planned, trained, scored and resumed by the comparison grid, so a rerun skips every
complete run (and ``ner compare --data OUT/data/TASK-kK --out OUT/grids/TASK-kK`` with the same settings
reuses the runs for a full comparison report). Seed 1 of every (task, K) trains before seed 2, so an
interrupted sweep already covers every point. The control (left task, K = 1, the cue next to the entity)
is always part of the sweep. F1 is entity-level (seqeval, in fractions); intervals are the 2.5 and 97.5
percentiles of a paired bootstrap over test sentences of the mean F1 over seeds.
"""

from __future__ import annotations

import io
import numbers
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from ner.comparison import probe_verdicts as PV
from ner.comparison import verdicts as V
from ner.comparison.grid import _check_settings, _log, _names, _use_backend, plan_grid, run_grid
from ner.comparison.report import claims_markdown, md_table
from ner.comparison.results import Run, collect
from ner.data.probe import MAX_DISTANCE, SIDES, ProbeSpec, cue_blind_tags, cue_reading_tags, describe, write_probe
from ner.errors import NerError
from ner.evaluation import entity_scores
from ner.io.console import clock
from ner.io.files import atomic_write, atomic_write_text, write_json
from ner.io.outputs import MARK, claim, mark_folder

KIND = "probe"                              # the kind in the output folder's mark
DISTANCES = (1, 5, 10, 20, 50)              # K of the default sweep
FULL_DISTANCES = (1, 2, 5, 10, 20, 50, 100)
ENCODERS = ("rnn", "lstm", "bilstm")
HEADS = ("crf",)
SEEDS = 2
EPOCHS = 30
TRAINING = {"hidden": 64, "word_dim": 32, "dropout": 0.0, "lr": 1e-2, "patience": 10}   # overridable defaults
CONTROL = ("left", 1)
FIGURE = "f1_vs_distance.png"
TASK_STYLE = {"left": ("-", "o"), "right": ("--", "s")}


# ---------------------------------------------------------------- planning

@dataclass
class Cell:
    """One task at one distance: its corpus and its grid's runs."""

    spec: ProbeSpec
    data: Path
    grid: Path
    runs: list[Run] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


def parse_distances(value: str | Iterable[int]) -> list[int]:
    """Distances K from ``"1,5,10"`` or integers: whole numbers in 1..MAX_DISTANCE, sorted, duplicates removed."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if isinstance(item, str):
            if not item.strip():
                continue
            if not item.strip().isdigit():
                raise NerError(f"--distances: {item.strip()!r} is not a whole number")
            k = int(item)
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            k = int(item)
        else:
            raise NerError(f"--distances: {item!r} is not a whole number")
        if not 1 <= k <= MAX_DISTANCE:
            raise NerError(f"--distances: {k} is out of range (1 to {MAX_DISTANCE})")
        out.append(k)
    if not out:
        raise NerError("--distances: give at least one")
    return sorted(set(out))


def parse_tasks(value: str | Iterable[str]) -> list[str]:
    """Tasks from ``"left,right"`` or names, in the order of :data:`ner.data.probe.SIDES`."""
    tasks = _names(value, "tasks")
    for task in tasks:
        if task not in SIDES:
            raise NerError(f"--tasks: unknown task {task!r} (choose from {', '.join(SIDES)})")
    return [s for s in SIDES if s in tasks]


def sweep_points(tasks: list[str], distances: list[int]) -> list[tuple[str, int]]:
    """(task, K) of the sweep: the control (left, 1) first, then every task at every distance."""
    points = [CONTROL] + [(t, k) for t in tasks for k in distances]
    return list(dict.fromkeys(points))


def corpus_spec(corpus: ProbeSpec | dict | None) -> ProbeSpec:
    """The corpus parameters (:class:`ProbeSpec` fields but ``side`` and ``distance``), checked."""
    if corpus is None:
        return ProbeSpec().check()
    if isinstance(corpus, ProbeSpec):
        return corpus.check()
    if not isinstance(corpus, dict):
        raise NerError(f"corpus: expected ProbeSpec fields as a dict, not {type(corpus).__name__}")
    known = set(ProbeSpec.__dataclass_fields__) - {"side", "distance"}
    unknown = sorted(set(corpus) - known)
    if unknown:
        raise NerError(f"corpus: unknown probe parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return ProbeSpec(**corpus).check()


# ---------------------------------------------------------------- the entry point

def probe(out: str | os.PathLike = "reports/probe", encoders: str | Iterable[str] = ENCODERS,
          heads: str | Iterable[str] = HEADS, distances: str | Iterable[int] = DISTANCES,
          tasks: str | Iterable[str] = SIDES, seeds: int = SEEDS, epochs: int = EPOCHS,
          corpus: ProbeSpec | dict | None = None, jobs: int = 1, resamples: int = 1000, backend: str | None = None,
          verbose: int = 0, quiet: bool = False, data_only: bool = False, **settings: Any) -> Path:
    """Run the probe sweep and write its report; returns the path of report.md (with ``data_only``: of the
    data folder, nothing trained).

    ``encoders``/``heads``/``tasks``: names or comma-separated strings; ``distances``: K values (the control,
    left at K = 1, is always added); ``seeds``: training seeds 1..N per point; ``corpus``: the generated
    corpora's parameters (:class:`ner.data.probe.ProbeSpec` fields but side and distance); ``settings``:
    :class:`ner.training.config.TrainConfig` fields for every run, over the probe's defaults
    :data:`TRAINING`; ``jobs``: runs trained at once; ``resamples``: bootstrap resamples.
    """
    _use_backend(backend)
    spec = corpus_spec(corpus)
    tasks = parse_tasks(tasks)
    points = sweep_points(tasks, parse_distances(distances))
    if jobs < 1:
        raise NerError("--jobs: must be at least 1")
    if resamples < 100:
        raise NerError("--resamples: must be at least 100")
    settings = {**TRAINING, **settings}
    _check_settings(settings)
    plan_grid(Path(out), "probe", encoders, heads, seeds, epochs, settings)   # every flag checked, --data-only too
    with claim(out, MARK, flag="--out", inputs=(settings.get("embeddings"),), kind=KIND) as path:
        cells = [Cell(spec.at(t, k), path / "data" / f"{t}-k{k}", path / "grids" / f"{t}-k{k}") for t, k in points]
        if data_only:
            mark_folder(path, KIND)
            for cell in cells:
                write_probe(cell.spec, cell.data)
            _log(quiet, f"wrote {len(cells)} probe corpora under {path / 'data'}")
            return path / "data"
        for cell in cells:
            cell.runs = plan_grid(cell.grid, str(cell.data), encoders, heads, seeds, epochs, settings)
        mark_folder(path, KIND)
        rules = {}
        for cell in cells:
            rules[cell.name] = reference_rules(cell.spec, write_probe(cell.spec, cell.data))
        _sweep(cells, seeds, jobs, verbose, quiet)
        import keras

        context = {"out": str(path), "backend": keras.backend.backend(), "cores": os.cpu_count(),
                   "encoders": list(dict.fromkeys(r.encoder for r in cells[0].runs)),
                   "heads": list(dict.fromkeys(r.head for r in cells[0].runs)), "seeds": seeds, "epochs": epochs,
                   "tasks": tasks,
                   "distances": sorted({k for _, k in points}), "settings": settings, "resamples": resamples,
                   "jobs": jobs, "corpus": {k: v for k, v in describe(spec).items() if k not in ("side", "distance")}}
        report = build_report(cells, rules, context)
        return write_report(path, report)


def _sweep(cells: list[Cell], seeds: int, jobs: int, verbose: int, quiet: bool) -> None:
    """Train and score every cell's runs, seed by seed (seed 1 of every cell first)."""
    started, groups = time.perf_counter(), [(s, c) for s in range(1, seeds + 1) for c in cells]
    for i, (seed, cell) in enumerate(groups, 1):
        runs = [r for r in cell.runs if r.seed == seed]
        _log(quiet, f"probe {cell.name}, seed {seed} ({i}/{len(groups)}; elapsed "
                    f"{clock(time.perf_counter() - started)})")
        run_grid(runs, str(cell.data), jobs, verbose, quiet, measure=False)


# ---------------------------------------------------------------- results

def reference_rules(spec: ProbeSpec, splits: dict) -> dict:
    """Test F1 of the rule blind to the cue (majority type per entity word, from train) and of the rule
    that reads it, with the chance level and the test split's size."""
    test = splits["test"]
    return {"chance": spec.chance,
            "cue_blind_f1": entity_scores(test.tags, cue_blind_tags(spec, splits["train"], test.tokens), "bio")["f1"],
            "cue_reading_f1": entity_scores(test.tags, cue_reading_tags(spec, test.tokens), "bio")["f1"],
            "sentences": {name: len(s.tokens) for name, s in splits.items()},
            "test_mean_length": float(np.mean([len(t) for t in test.tokens]))}


def cell_rows(cell: Cell, resamples: int) -> list[dict]:
    """One row per encoder × head of the cell: F1 per seed, mean, std, bootstrap interval, training figures."""
    results = collect(cell.runs)
    boot = V.Bootstrap(len(results[0].gold), resamples)
    rows = []
    for config in dict.fromkeys(r.config for r in results):
        rs = [r for r in results if r.config == config]
        counts = np.stack([V.sentence_counts(r.gold, r.pred, r.scheme) for r in rs])   # (seeds, sentences, 3)
        system = V.System(rs[0].encoder, rs[0].head, {"all": counts}, parameters=rs[0].parameters)
        f1s = system.f1()
        lo, hi = np.percentile(boot.f1(system, "all"), [2.5, 97.5])
        rows.append({"task": cell.spec.side, "distance": cell.spec.distance, "encoder": rs[0].encoder,
                     "head": rs[0].head, "config": config, "f1": float(f1s.mean()),
                     "std": float(np.std(f1s, ddof=1)) if len(f1s) >= 2 else None,
                     "f1_seeds": [float(f) for f in f1s], "seeds": [r.seed for r in rs],
                     "interval": [float(lo), float(hi)], "parameters": rs[0].parameters,
                     "epochs_run": [r.epochs_run for r in rs], "best_epoch": [r.best_epoch for r in rs],
                     "train_seconds": [r.train_seconds for r in rs]})
    return rows


def build_report(cells: list[Cell], rules: dict, context: dict) -> dict:
    """The report as one JSON-ready dict: context, the corpora, rows, verdicts, notes."""
    rows = [row for cell in cells for row in cell_rows(cell, context["resamples"])]
    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "context": context,
            "cells": [{"task": c.spec.side, "distance": c.spec.distance, "name": c.name, "data": str(c.data),
                       "grid": str(c.grid), **rules[c.name]} for c in cells],
            "rows": rows, "verdicts": PV.judge_probe(rows), "figures": [FIGURE], "notes": notes(rows, context)}


def notes(rows: list[dict], context: dict) -> list[str]:
    out = [f"The control is the left task at K = 1 (cue next to the entity); an encoder under "
           f"{100 * PV.CONTROL_MIN:.0f}% F1 on it has not learnt the task, and claims that need it are inconclusive."]
    failed = [r["config"] for r in rows if (r["task"], r["distance"]) == CONTROL and r["f1"] < PV.CONTROL_MIN]
    if failed:
        out.append(f"Did not solve the control: {', '.join(failed)} (more --epochs or a larger --hidden).")
    chance = context["corpus"]["chance"]
    out.append(f"Chance is {100 * chance:.1f}% F1 ({context['corpus']['types']} types drawn uniformly): a "
               "model that finds the entity but cannot read the cue scores about that.")
    seconds = sum(s for r in rows for s in r["train_seconds"])
    out.append(f"Training time of all runs: {clock(seconds)} (as the runs recorded it, on "
               f"{context['cores']} cores; runs trained by an earlier command count too).")
    if min(len(r["seeds"]) for r in rows) == 1:
        out.append("One seed per point: ± (the seed spread) is unknown; intervals are the bootstrap over test "
                   "sentences only.")
    return out


# ---------------------------------------------------------------- the figure

def distance_figure(report: dict) -> Figure:
    """Test F1 (%) against the distance K (log scale), one panel per head, one line per encoder and task,
    error bars the bootstrap 95% interval, a dotted line at chance."""
    rows, heads = report["rows"], report["context"]["heads"]
    encoders = report["context"]["encoders"]
    colors = {e: colormaps["tab10"](i % 10) for i, e in enumerate(encoders)}
    fig = Figure(figsize=(5.5 * len(heads), 4.2))
    axes = fig.subplots(1, len(heads), squeeze=False, sharey=True)[0]
    distances = report["context"]["distances"]
    for ax, head in zip(axes, heads):
        for encoder in encoders:
            for task in SIDES:
                line = sorted((r for r in rows if (r["encoder"], r["head"], r["task"]) == (encoder, head, task)),
                              key=lambda r: r["distance"])
                if not line:
                    continue
                ks = [r["distance"] for r in line]
                ys = np.array([100 * r["f1"] for r in line])
                err = np.array([[y - 100 * r["interval"][0], 100 * r["interval"][1] - y]
                                for y, r in zip(ys, line)]).T.clip(min=0)   # (2, points)
                style, marker = TASK_STYLE[task]
                ax.errorbar(ks, ys, yerr=err, linestyle=style, marker=marker, capsize=3, markersize=4,
                            color=colors[encoder], label=f"{encoder}, {task}")
        ax.axhline(100 * report["context"]["corpus"]["chance"], color="#888", linestyle=":", label="chance")
        ax.set_xscale("log")
        ax.set_xticks(distances, [str(k) for k in distances])
        ax.minorticks_off()
        ax.set_ylim(-2, 102)
        ax.set_xlabel("dependency distance K (tokens, log scale)")
        ax.set_title(f"{head} head; left: cue before the entity, right: after", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
    axes[0].set_ylabel("test entity F1 (%)")
    fig.suptitle("F1 against dependency distance")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- writing

def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(report: dict) -> str:
    """report.md: settings, the figure, F1 per distance, the reference rules, the verdicts, notes."""
    c, corpus = report["context"], report["context"]["corpus"]
    out = ["# Long-range probe report", "", f"Generated {report['created']}.", "", "## Settings", "",
           f"- corpus: {corpus['types']} entity types (chance {_pct(corpus['chance'])}% F1), {corpus['words']} "
           f"entity words shared by every type, {corpus['fillers']} filler words, {corpus['cues']} cue word(s) per "
           f"type; entities 1–{corpus['entity_max']} tokens, 0–{corpus['pad']} filler tokens on each side; noise "
           f"{corpus['noise']}, spread {corpus['spread']}; {corpus['train']}/{corpus['dev']}/{corpus['test']} "
           f"train/dev/test sentences; data seed {corpus['seed']}",
           f"- sweep: encoders {', '.join(c['encoders'])} × heads {', '.join(c['heads'])} × {c['seeds']} seed(s); "
           f"tasks {', '.join(c['tasks'])}; distances K = {', '.join(map(str, c['distances']))}; "
           f"{c['epochs']} epoch(s) max",
           "- training settings: " + ", ".join(f"{k}={v}" for k, v in sorted(c["settings"].items())),
           f"- Keras backend {c['backend']} on {c['cores']} CPU cores; bootstrap: {c['resamples']} paired resamples "
           f"of the test sentences (fixed seed {V.BOOTSTRAP_SEED})",
           "", "## F1 against dependency distance", "", f"![F1 against dependency distance]({FIGURE})"]
    ks = c["distances"]
    rows = []
    for config in dict.fromkeys(r["config"] for r in report["rows"]):
        for task in SIDES:
            cells = {r["distance"]: r for r in report["rows"] if r["config"] == config and r["task"] == task}
            if cells:
                rows.append([config, task] + [
                    (f"{_pct(cells[k]['f1'])}" + (f" ± {_pct(cells[k]['std'])}" if cells[k]["std"] is not None
                                                  else "")
                     + f" [{_pct(cells[k]['interval'][0])}–{_pct(cells[k]['interval'][1])}]") if k in cells else "–"
                    for k in ks])
    out += ["", "## Test F1 by distance (%)", "",
            "Mean over seeds ± their standard deviation, [bootstrap 95% interval]; left K = 1 is the control.", "",
            md_table(["configuration", "task", *(f"K = {k}" for k in ks)], rows)]
    out += ["", "## The corpora and the reference rules", "",
            "Test F1 (%) of the best rule blind to the cue (majority type per entity word, learnt on train) and "
            "of the rule that reads the cue.", "",
            md_table(["task", "K", "test sentences", "mean length", "chance", "cue-blind rule", "cue-reading rule"],
                      [[x["task"], str(x["distance"]), str(x["sentences"]["test"]), f"{x['test_mean_length']:.1f}",
                        _pct(x["chance"]), _pct(x["cue_blind_f1"]), _pct(x["cue_reading_f1"])]
                       for x in report["cells"]])]
    out += claims_markdown(report["verdicts"])
    out += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    out += ["", "## How verdicts are decided", "", PV.__doc__.split("\n\n", 1)[1].strip(), ""]
    return "\n".join(out)


def write_report(out: Path, report: dict) -> Path:
    """Write the figure, report.json and report.md into ``out`` (each atomically); returns report.md."""
    png = io.BytesIO()
    distance_figure(report).savefig(png, format="png", dpi=110)
    atomic_write(out / FIGURE, png.getvalue())
    write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", markdown(report))
    return out / "report.md"
