"""The comparison report: numbers per run and per configuration, PNG figures, verdicts on the claims,
written as ``report.json``, ``report.md`` and ``index.html`` (which shows tables, figures and verdicts
together). Every score is computed here with seqeval from the runs' written predictions."""

from __future__ import annotations

import html
import os
import re
import shlex
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ner.comparison import verdicts as V
from ner.comparison.figures import CAPTIONS, FIGURES, figures
from ner.comparison.results import BUSY_LOAD, RunResult
from ner.evaluation import entity_scores
from ner.io.files import atomic_write_text, write_json

BADGE = {V.SUPPORTED: "#2e7d32", V.CONTRADICTED: "#c62828", V.INCONCLUSIVE: "#8d6e00", V.NOT_TESTED: "#616161"}


# ---------------------------------------------------------------- numbers

def mean_std(values: Sequence[float | None]) -> dict:
    """{"mean", "std", "values"}; std is the sample standard deviation (None with fewer than 2 values)."""
    vals = [float(v) for v in values if v is not None]
    return {"mean": float(np.mean(vals)) if vals else None,
            "std": float(np.std(vals, ddof=1)) if len(vals) >= 2 else None, "values": vals}


def bucket_scores(r: RunResult) -> dict:
    """seqeval F1 on the sentences of each length bucket (None where it holds no entity at all)."""
    out = {}
    for name, lo, hi in V.BUCKETS:
        keep = [i for i, t in enumerate(r.tokens) if lo <= len(t) <= hi]
        gold, pred = [r.gold[i] for i in keep], [r.pred[i] for i in keep]
        has_entities = any(t != "O" for seq in gold + pred for t in seq)
        out[name] = entity_scores(gold, pred, r.scheme)["f1"] if has_entities else None
    return out


def epoch_seconds(r: RunResult) -> list[float]:
    """Training seconds of each epoch, without the first (graph tracing) when there are later ones."""
    seconds = [h["seconds"] for h in r.history]
    return seconds[1:] or seconds


def decode_load(r: RunResult) -> str:
    """Why the run's decode timing is unreliable ('' when the machine was quiet)."""
    return f"load average {r.decode['load']:.1f} on {r.decode['cores']} cores" if r.decode_busy else ""


def timing_node(results: list[RunResult]) -> str | None:
    """The node whose training times the report compares: the one that trained the most runs alone on a quiet
    machine (None: no such run records its node). A run that records no node (ner before nodes were
    recorded, on the machine of the command) counts as trained on it."""
    keys = [r.node_key for r in results if r.train_alone and not r.train_busy and r.node_key]
    return max(dict.fromkeys(keys), key=keys.count) if keys else None


def run_summary(r: RunResult, counts: dict, node: str | None) -> dict:
    scores = entity_scores(r.gold, r.pred, r.scheme)
    oov = counts.get("oov")
    seconds = epoch_seconds(r)
    return {
        "name": r.name, "config": r.config, "encoder": r.encoder, "head": r.head, "seed": r.seed,
        "precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
        "per_type": {t: s["f1"] for t, s in scores["per_type"].items()},
        "length_buckets": bucket_scores(r),
        "oov_f1": float(V.f1_of(oov.sum(0))) if oov is not None and oov[:, 1:].sum() else None,
        "parameters": r.parameters,
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
        "train_seconds": r.train_seconds, "epochs_run": r.epochs_run, "best_epoch": r.best_epoch,
        "sentences_per_second": r.decode["sentences_per_second"] if r.decode else None,
        "ill_formed": r.ill_formed, "model_scheme": r.model_scheme, "train_alone": r.train_alone,
        "train_load": r.train_load, "decode_load": (r.decode or {}).get("load"),
        "train_busy": r.train_busy, "decode_busy": r.decode_busy, "node": (r.node or {}).get("host"),
        "train_comparable": bool(r.train_alone and not r.train_busy and r.node_key in (node, None)),
        "dev_f1": [h["dev_f1"] for h in r.history], "bundle": r.bundle, "predictions": r.predictions,
    }


def configurations(results: list[RunResult], runs: list[dict], counts: list[dict],
                   boot: V.Bootstrap) -> tuple[list[dict], list[V.System]]:
    """Per configuration: mean ± std over seeds of every run figure, and the System the verdicts take."""
    order = list(dict.fromkeys(r.config for r in results))
    configs, systems = [], []
    for name in order:
        idx = [i for i, r in enumerate(results) if r.config == name]
        rs, ss = [results[i] for i in idx], [runs[i] for i in idx]
        types = sorted({t for s in ss for t in s["per_type"]})
        timed = [k for k, s in enumerate(ss) if s["train_comparable"]]   # had the node alone, the compared node
        system = V.System(
            rs[0].encoder, rs[0].head, {k: np.stack([counts[i][k] for i in idx]) for k in counts[idx[0]]},
            parameters=int(round(np.mean([r.parameters for r in rs]))),
            decode_seconds=[p / r.decode["sentences"] for r in rs if r.decode for p in r.decode["pass_seconds"]],
            epoch_seconds=[s for k in timed for s in epoch_seconds(rs[k])] or None,
            ill_formed=[r.ill_formed for r in rs], busy="; ".join(filter(None, map(decode_load, rs))))
        lo, hi = np.percentile(boot.f1(system, "all"), [2.5, 97.5])
        configs.append({
            "name": name, "encoder": rs[0].encoder, "head": rs[0].head, "seeds": [r.seed for r in rs],
            **{k: mean_std([s[k] for s in ss]) for k in ("precision", "recall", "f1", "oov_f1", "parameters",
                                                         "sentences_per_second", "best_epoch", "ill_formed")},
            **{k: mean_std([ss[j][k] for j in timed]) for k in ("seconds_per_epoch", "train_seconds")},
            "timed_seeds": [rs[j].seed for j in timed],
            "f1_bootstrap_95": [float(lo), float(hi)],
            "per_type": {t: mean_std([s["per_type"].get(t) for s in ss]) for t in types},
            "length_buckets": {b: mean_std([s["length_buckets"][b] for s in ss]) for b, _, _ in V.BUCKETS},
            "train_time_comparable": bool(timed), "decode_busy": any(r.decode_busy for r in rs),
            "model_scheme": rs[0].model_scheme,
        })
        systems.append(system)
    return configs, systems


def describe_test(r: RunResult, counts: dict) -> dict:
    lengths = [len(t) for t in r.tokens]
    return {"sentences": len(r.tokens), "tokens": sum(lengths), "entities": int(counts["all"][:, 2].sum()),
            "oov_entities": int(counts["oov"][:, 2].sum()) if "oov" in counts else None,
            "buckets": {b: {"sentences": sum(lo <= n <= hi for n in lengths), "entities": int(counts[b][:, 2].sum())}
                        for b, lo, hi in V.BUCKETS}}


def build(results: list[RunResult], context: dict, vocabulary: set | None) -> dict:
    """The report as one JSON-ready dict (everything but ``created`` is determined by the runs)."""
    if not results:
        raise ValueError("no runs to report")
    sentences = {len(r.tokens) for r in results}
    if len(sentences) > 1:
        raise ValueError(f"runs were scored on different test sets ({sorted(sentences)} sentences)")
    counts = [V.subset_counts(r.tokens, r.gold, r.pred, r.scheme, vocabulary) for r in results]
    node = timing_node(results)
    runs = [run_summary(r, c, node) for r, c in zip(results, counts)]
    boot = V.Bootstrap(sentences.pop(), context["resamples"])
    configs, systems = configurations(results, runs, counts, boot)
    seeds = min(len(c["seeds"]) for c in configs)
    report = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "context": context,
        "test": describe_test(results[0], counts[0]),
        "configurations": configs,
        "runs": runs,
        "verdicts": V.judge(systems, resamples=context["resamples"], documents=context.get("documents", True)),
        "figures": list(FIGURES),
        "notes": notes(context, configs, runs, seeds, vocabulary is not None),
    }
    report["summary"] = summary(report)
    return report


ONE_SEED = ", but with one seed the seed-to-seed spread is unknown (use --seeds 3 or more)"


def summary(report: dict) -> dict:
    """The answers first: ``question`` (what was compared, on which data, how many seeds), ``claims`` (per
    claim its verdict and the one check that best shows it), and ``one_seed`` (when one seed leaves verdicts
    inconclusive: the command that adds seeds and its estimated training seconds) or None."""
    c, configs = report["context"], report["configurations"]
    seeds = min(len(x["seeds"]) for x in configs)
    what = (f"encoders {', '.join(c['encoders'])} × heads {', '.join(c['heads'])}" if c["mode"] == "grid"
            else f"{len(report['runs'])} trained bundles")
    question = (f"Which of {what} tags {c['data']} best, and which common claims about them hold? {seeds} "
                f"seed{'s' * (seeds > 1)} per configuration, {report['test']['sentences']} test sentences.")
    claims = []
    for v in report["verdicts"]:
        checks = [check for p in v["parts"] for check in p["checks"]]
        shown = next((check for check in checks if check["verdict"] == v["verdict"]), checks[0] if checks else None)
        if shown is None:
            evidence = next(p["reason"] for p in v["parts"] if p["verdict"] == V.NOT_TESTED)
        else:
            evidence = shown["text"].replace(ONE_SEED, " (one seed: see below)")
            evidence += f" (and {len(checks) - 1} more check{'s' * (len(checks) > 2)})" if len(checks) > 1 else ""
        claims.append({"id": v["id"], "claim": v["claim"], "verdict": v["verdict"], "evidence": evidence,
                       "figures": v["figures"]})
    one_seed = None
    if seeds == 1 and c["mode"] == "grid" and any(ONE_SEED in check["text"] for v in report["verdicts"]
                                                   for p in v["parts"] for check in p["checks"]):
        flags = [f"--{k.replace('_', '-')}={val}" for k, val in sorted(c["settings"].items())]
        flags += [f"--max-train={c['max_train']}"] if c["max_train"] else []
        command = shlex.join(["ner", "compare", "--data", str(c["data"]), "--encoders", ",".join(c["encoders"]),
                              "--heads", ",".join(c["heads"]), "--epochs", str(c["epochs"]), *flags, "--seeds", "3",
                              "--out", str(c["out"])])
        one_seed = {"command": command, "seconds": 2 * sum(r["train_seconds"] for r in report["runs"])}
    return {"question": question, "claims": claims, "one_seed": one_seed}


def _minutes(seconds: float) -> str:
    return f"about {max(1, round(seconds / 60))} min"


ONE_SEED_NOTE = ("With one seed per configuration no F1 difference can be confirmed (the seed-to-seed spread is "
                 "unknown), so F1 verdicts stay inconclusive. Two more seeds settle them; the same command with "
                 "--seeds 3 trains only the new runs ({time} of training on this machine, by this run's times):")


def notes(context: dict, configs: list[dict], runs: list[dict], seeds: int, has_vocabulary: bool) -> list[str]:
    quiet = f"1-minute load average at most {BUSY_LOAD} × the {os.cpu_count()} cores"
    ray = context.get("executor") == "ray"
    out = ["Decode speed: test sentences per second at batch 256 after a warm-up pass, timed over at least "
           "3 passes and 1 s, each run measured alone"
           + (" in a separate pass after all training" if context["jobs"] > 1 or ray else "")
           + (" on the machine that ran the command" if ray else "") + ". Training seconds "
           "per epoch: mean over the epochs after the first (which includes graph tracing), or the only epoch."]
    why = []
    if context["mode"] == "from":
        why.append("training times come from the bundles' own history (conditions unknown)")
    shared = [r["name"] for r in runs if r["train_alone"] is False]
    if shared:
        which = "runs" if len(shared) == len(runs) else ", ".join(shared)
        why.append(f"--executor ray: {which} trained beside other runs on the same node" if ray else
                   f"--jobs {context['jobs'] if context['jobs'] > 1 else 'above 1'}: {which} trained in "
                   "parallel and shared the machine")
    elsewhere = [r for r in runs if r["train_alone"] and not r["train_busy"] and not r["train_comparable"]]
    if elsewhere:
        compared = next(r["node"] for r in runs if r["train_comparable"])
        why.append(f"{', '.join(r['name'] for r in elsewhere)} trained on another node than {compared}, and "
                   "training times are compared between runs of one node only")
    busy_train = [r["name"] for r in runs if r["train_busy"]]
    if busy_train:
        why.append(f"other work kept the machine busy while {', '.join(busy_train)} trained (quiet means a {quiet})")
    if why:
        partly = all(c["train_time_comparable"] for c in configs)
        out.append(f"Training times of some runs are not comparable ({'; '.join(why)}): they are marked † in the "
                   "run table and left out of the time columns, figure and verdicts; a configuration's training "
                   "time is the mean over its other seeds (how many is said where not all)"
                   + ("." if partly else ", and marked † where none is left."))
    busy_decode = [r["name"] for r in runs if r["decode_busy"]]
    if busy_decode:
        out.append(f"Decode speeds of {', '.join(busy_decode)} were timed while other work kept the machine busy "
                   f"(quiet means a {quiet}): they are marked ‡ and the time verdicts using them are inconclusive.")
    else:
        out.append(f"Decode speeds are comparable: every one was timed on an otherwise quiet machine ({quiet}).")
    if seeds == 1:
        out.append("One seed per configuration: there is no estimate of the seed-to-seed spread, so no F1 "
                   "difference can be confirmed (verdicts on F1 stay inconclusive); error bars show the "
                   "bootstrap 95% interval over test sentences instead. Use --seeds 3 or more.")
    else:
        out.append(f"± is the standard deviation over {seeds}+ seeds; F1 error bars show it.")
    if has_vocabulary:
        out.append("OOV: a word whose lower-cased form never occurs in the training split; 'F1 OOV' scores only "
                   "entities containing such a word (gold and predicted side alike).")
    else:
        out.append("No separate training split in the data: OOV figures are left out.")
    out.append(f"Length buckets (tokens): {', '.join(b for b, _, _ in V.BUCKETS)}; 'long sentences' in claim (a) "
               f"have {V.LONG} tokens or more.")
    return out


# ---------------------------------------------------------------- tables

def _pct(ms: dict | float | None) -> str:
    if isinstance(ms, dict):
        if ms["mean"] is None:
            return "–"
        return f"{100 * ms['mean']:.2f}" + (f" ± {100 * ms['std']:.2f}" if ms["std"] is not None else "")
    return "–" if ms is None else f"{100 * ms:.2f}"


def _num(ms: dict, fmt: str = "{:,.0f}") -> str:
    return "–" if ms["mean"] is None else fmt.format(ms["mean"])


def tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, shared by the markdown and the HTML."""
    configs, test = report["configurations"], report["test"]
    dagger = {c["name"]: " †" if not c["train_time_comparable"] else
              "" if len(c["timed_seeds"]) == len(c["seeds"]) else f" ({len(c['timed_seeds'])} seeds)" for c in configs}
    main = ("Test scores per configuration (mean ± std over seeds; P/R/F1 in %)",
            ["configuration", "seeds", "P", "R", "F1", "F1 OOV", "parameters", "s / epoch", "decoded sent/s",
             "best epoch", "ill-formed"],
            [[c["name"], str(len(c["seeds"])), _pct(c["precision"]), _pct(c["recall"]), _pct(c["f1"]),
              _pct(c["oov_f1"]), _num(c["parameters"]), _num(c["seconds_per_epoch"], "{:.2f}") + dagger[c["name"]],
              _num(c["sentences_per_second"]) + (" ‡" if c["decode_busy"] else ""),
              _num(c["best_epoch"], "{:.3g}"), _num(c["ill_formed"], "{:.3g}")]
             for c in configs])
    types = sorted({t for c in configs for t in c["per_type"]})
    per_type = ("Per-type test F1 (%)", ["configuration", *types],
                [[c["name"], *(_pct(c["per_type"].get(t)) for t in types)] for c in configs])
    buckets = ("Test F1 by sentence length (%)",
               ["configuration", *(f"{b} ({test['buckets'][b]['entities']} ent.)" for b, _, _ in V.BUCKETS)],
               [[c["name"], *(_pct(c["length_buckets"][b]) for b, _, _ in V.BUCKETS)] for c in configs])
    runs = ("Runs", ["run", "P", "R", "F1", "epochs", "best epoch", "train s", "decoded sent/s", "predictions"],
            [[r["name"], _pct(r["precision"]), _pct(r["recall"]), _pct(r["f1"]), str(r["epochs_run"]),
              str(r["best_epoch"]), f"{r['train_seconds']:.1f}" + ("" if r["train_comparable"] else " †"),
              "–" if r["sentences_per_second"] is None else f"{r['sentences_per_second']:,.0f}",
              os.path.relpath(r["predictions"], report["context"]["out"])] for r in report["runs"]])
    return [main, per_type, buckets, runs]


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; a "|" inside a cell is escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _settings(report: dict) -> list[str]:
    c, t = report["context"], report["test"]
    lines = [f"data: `{c['data']}` — test split {t['sentences']} sentences, {t['tokens']} tokens, "
             f"{t['entities']} entities" + (f" ({t['oov_entities']} with OOV words)" if t["oov_entities"] is not None
                                            else "")]
    if c["mode"] == "grid":
        lines.append(f"grid: encoders {', '.join(c['encoders'])} × heads {', '.join(c['heads'])} × "
                     f"{c['seeds']} seed(s), {c['epochs']} epoch(s) max" + (f", first {c['max_train']} training "
                                                                           "sentences" if c["max_train"] else ""))
        if c["settings"]:
            lines.append("training settings: " + ", ".join(f"{k}={v}" for k, v in sorted(c["settings"].items())))
        lines.append(_executor_line(c, report["runs"]))
    else:
        lines.append("trained bundles scored on this data (--from): " + ", ".join(r["bundle"] for r in report["runs"]))
    lines.append(f"Keras backend {c['backend']} on {c['cores']} CPU cores")
    lines.append(f"bootstrap: {c['resamples']} paired resamples of the test sentences (fixed seed {V.BOOTSTRAP_SEED})")
    return lines


def _executor_line(c: dict, runs: list[dict]) -> str:
    """Which executor trained the grid, with what, and on how many machines."""
    threads = f", {c['threads']} thread(s)" if c.get("threads") else ""
    if c.get("executor") != "ray":
        return f"parallel jobs: {c['jobs']}" + (f"{threads} per run" if threads else "")
    ray = c["ray"]
    where = "a local Ray instance" if ray["address"] == "local" else f"the Ray cluster at {ray['address']}"
    hosts = list(dict.fromkeys(r["node"] for r in runs if r["node"]))
    at_once = f", up to {ray['at_once']} runs at a time" if ray.get("at_once") else ""
    return (f"executor: Ray, {where}{at_once}; per run {ray['cpus_per_run']:g} CPU, {ray['gpus_per_run']:g} GPU"
            f"{threads}" + (f"; trained on {len(hosts)} machine(s): {', '.join(hosts)}" if hosts else ""))


def _summary_markdown(report: dict) -> list[str]:
    s = report["summary"]
    out = ["## Summary", "", s["question"], "", md_table(
        ["verdict", "claim", "evidence"],
        [[f"**{c['verdict']}**", f"({c['id']}) {c['claim']}", c["evidence"]] for c in s["claims"]]),
        "", "Details of each verdict: [Claims](#claims); how they are decided: the last section."]
    if s["one_seed"]:
        out += ["", ONE_SEED_NOTE.format(time=_minutes(s["one_seed"]["seconds"])), "", "```bash",
                s["one_seed"]["command"], "```"]
    return out + ["", f"![{FIGURES['f1.png'][0]}](f1.png)", "", f"*{CAPTIONS['f1.png']}*"]


def claims_markdown(verdicts: list[dict]) -> list[str]:
    """The "Claims" section of a report.md: each verdict with its parts, checks and figures."""
    out = ["", "## Claims", "", "Verdicts are generated from the numbers above; see *How verdicts are decided*."]
    for v in verdicts:
        out += ["", f"### ({v['id']}) {v['claim']} — **{v['verdict']}**", ""]
        for p in v["parts"]:
            if p["verdict"] == V.NOT_TESTED:
                out.append(f"- {p['part']}: not tested — {p['reason']}")
            else:
                out.append(f"- {p['part']}: **{p['verdict']}**")
                out += [f"  - {c['text']} → {c['verdict']}" for c in p["checks"]]
        out.append(f"- figures: {', '.join(f'[{f}]({f})' for f in v['figures'])}")
    return out


def markdown(report: dict) -> str:
    out = ["# NER comparison report", "", f"Generated {report['created']}.", ""]
    out += _summary_markdown(report) + ["", "## Settings", ""]
    out += [f"- {line}" for line in _settings(report)]
    for title, header, rows in tables(report):
        out += ["", f"## {title}", "", md_table(header, rows)]
    out += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    out += ["", "## Figures"] + [line for f, (t, _) in FIGURES.items() for line in ("", f"![{t}]({f})", "",
                                                                                      f"*{CAPTIONS[f]}*")]
    out += claims_markdown(report["verdicts"])
    out += ["", "## How verdicts are decided", "", V.__doc__.split("\n\n", 1)[1].strip(), ""]
    return "\n".join(out)


def serve_command(report: dict) -> str:
    """The ``ner serve`` command that opens the report's models with browse mode on its data."""
    c = report["context"]
    models = [c["out"]] if c["mode"] == "grid" else [r["bundle"] for r in report["runs"]]
    return shlex.join(["ner", "serve", *models, "--data", str(c["data"])])


CSS = ("body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em 2em;max-width:60em;line-height:1.45}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-alig"
       "n:right;vertical-align:top}td:first-child,th:first-child{text-align:left}.scroll{overflow-x:auto}.su"
       "mmary td,.summary th{text-align:left}figure{margin:1em 0}figure img{width:100%;height:auto}figcaptio"
       "n{font-size:.95em;color:#444}.badge{color:#fff;padding:.1em .5em;border-radius:.3em;white-space:nowr"
       "ap}li{margin:.2em 0}pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}"
       "@media print{body{max-width:none;padding:0}figure,table,h3,pre{break-inside:avoid}.scroll{overflow:v"
       "isible}}")
"""The report page's style sheet (index.html has no external assets but the PNGs)."""


def _rst_to_html(text: str) -> str:
    """Escaped ``text`` with the docstring markup as HTML: ``code``, **bold**, *italic*."""
    text = html.escape(text)
    text = re.sub(r"``(.+?)``", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)\*(?![\w*])", r"<em>\1</em>", text)


def page(report: dict) -> str:
    """index.html: the answers first (question, verdicts with their evidence, the F1 figure), then settings,
    tables, figures and the verdicts' details on one page; no external assets but the PNGs beside it."""
    e = html.escape
    s = report["summary"]
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'><title>NER comparison report</title>"
             "<style>" + CSS + "</style></head><body>",
             "<h1>NER comparison report</h1>", f"<p>Generated {e(report['created'])}.</p>",
             "<h2 id='summary'>Summary</h2>", f"<p>{e(s['question'])}</p>",
             "<div class='scroll'><table class='summary'><tr><th>verdict</th><th>claim</th><th>evidence</th></tr>"]
    for c in s["claims"]:
        parts.append(f"<tr><td><span class='badge' style='background:{BADGE[c['verdict']]}'>{e(c['verdict'])}</span>"
                     f"</td><td><a href='#claim-{c['id']}'>({c['id']}) {e(c['claim'])}</a></td><td>{e(c['evidence'])}"
                     + "".join(f" <a href='{f}'>[figure]</a>" for f in c["figures"]) + "</td></tr>")
    parts.append("</table></div>")
    if s["one_seed"]:
        parts += [f"<p>{e(ONE_SEED_NOTE.format(time=_minutes(s['one_seed']['seconds'])))}</p>",
                  f"<pre><code>{e(s['one_seed']['command'])}</code></pre>"]
    parts.append(f"<figure><img src='f1.png' alt='{e(FIGURES['f1.png'][0])}'><figcaption>{e(CAPTIONS['f1.png'])}"
                 "</figcaption></figure>")
    parts += ["<h2>Settings</h2><ul>"] + [f"<li>{e(line)}</li>" for line in _settings(report)] + ["</ul>"]
    parts.append("<p>See where these models read sentences differently, in the browser: "
                 f"<code>{e(serve_command(report))}</code>, then open <a href='http://127.0.0.1:8080/'>"
                 "http://127.0.0.1:8080/</a>.</p>")
    for title, header, rows in tables(report):
        parts.append(f"<h2>{e(title)}</h2><div class='scroll'><table><tr>"
                     + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table></div>")
    parts += ["<h2>Notes</h2><ul>"] + [f"<li>{e(n)}</li>" for n in report["notes"]] + ["</ul>"]
    parts.append("<h2>Figures</h2>")
    parts += [f"<figure id='{f[:-4]}'><img src='{f}' alt='{e(t)}'><figcaption><b>{e(t)}.</b> {e(CAPTIONS[f])}"
              "</figcaption></figure>" for f, (t, _) in FIGURES.items()]
    parts.append("<h2 id='claims'>Claims</h2>")
    for v in report["verdicts"]:
        parts.append(f"<h3 id='claim-{v['id']}'>({v['id']}) {e(v['claim'])} <span class='badge' "
                     f"style='background:{BADGE[v['verdict']]}'>{e(v['verdict'])}</span></h3><ul>")
        for p in v["parts"]:
            if p["verdict"] == V.NOT_TESTED:
                parts.append(f"<li>{e(p['part'])}: not tested — {e(p['reason'])}</li>")
                continue
            parts.append(f"<li>{e(p['part'])}: <b>{e(p['verdict'])}</b><ul>")
            parts += [f"<li>{e(c['text'])} → {e(c['verdict'])}</li>" for c in p["checks"]]
            parts.append("</ul></li>")
        parts.append("<li>figures: " + ", ".join(f"<a href='#{f[:-4]}'>{f}</a>" for f in v["figures"]) + "</li></ul>")
    doc = "".join(f"<p>{_rst_to_html(par)}</p>" for par in V.__doc__.split("\n\n")[1:])
    parts += ["<h2>How verdicts are decided</h2>", doc, "</body></html>"]
    return "\n".join(parts)


def write_report(out: str | os.PathLike, results: list[RunResult], context: dict, vocabulary: set | None) -> Path:
    """Write report.json, report.md, index.html and the PNG figures into ``out``; returns report.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = build(results, context, vocabulary)
    figures(report, out)
    write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", markdown(report))
    atomic_write_text(out / "index.html", page(report))
    return out / "report.md"
