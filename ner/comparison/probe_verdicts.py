"""The claims the long-range probe tests, judged from its table of results.

A row of the table is one encoder × head × task × distance K: its test entity F1 (mean over seeds) and the
bootstrap 95 % interval of that mean (test sentences resampled, the same resamples for every seed). The
control is the left task at K = 1 (the cue next to the entity), which every encoder should solve.

* An encoder **solves** a task at distance K when its F1 there is at least 90 % of its own control F1 (the
  *threshold*); it **breaks** at the first distance K > 1 where its F1 falls below the threshold. A point is
  *clearly* below (above) the threshold when its whole bootstrap interval is.
* An encoder whose control F1 is under 80 % has not learnt the task at all (too few epochs, too small a
  model): claims that need it are *inconclusive*, since its failures could not be told from distance.
* (a) The plain RNN forgets sooner than the LSTM (left task): *supported* when the RNN breaks at a shorter
  distance than the LSTM (or the LSTM never breaks), the RNN clearly below and the LSTM clearly above their
  thresholds at that distance; *contradicted* when the RNN never breaks in the sweep or the LSTM breaks no
  later than it; otherwise (the points agree with the claim but an interval reaches a threshold)
  *inconclusive*. Checked per head.
* (b) Only bidirectional encoders (names starting with ``bi``) solve the right task beyond K = 1: each
  bidirectional encoder must clearly solve it at the shortest distance K > 1 swept (contradicted if its F1
  there is below the threshold), and each unidirectional one (rnn, lstm, gru) must clearly fail at every
  K > 1 (contradicted if it reaches the threshold at any). Other encoders are not judged. Both parts must be
  tested for the claim to be supported.
* A claim holds when every check of it holds (every head, every encoder); one contradicted check
  contradicts it; a claim that does not show is reported as contradicted, not left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from ner.comparison.verdicts import CONTRADICTED, INCONCLUSIVE, NOT_TESTED, SUPPORTED, all_of, check, claim_record

SOLVED = 0.90          # solving: F1 at least this fraction of the encoder's own control F1
CONTROL_MIN = 0.80     # an encoder under this control F1 has not learnt the task
UNIDIRECTIONAL = ("rnn", "lstm", "gru")
PROBE_CLAIMS = {
    "a": f"A plain RNN forgets sooner than an LSTM: its F1 falls below {SOLVED:.0%} of its K = 1 score at a "
         "shorter distance",
    "b": "Only bidirectional encoders solve the right-dependency task beyond K = 1",
}

Key = tuple[str, str, str, int]   # (encoder, head, task, distance)


def reads_right(encoder: str) -> bool | None:
    """True for a bidirectional encoder, False for a unidirectional one, None for one not judged."""
    if encoder.startswith("bi"):
        return True
    return False if encoder in UNIDIRECTIONAL else None


def index(rows: Sequence[dict]) -> dict[Key, dict]:
    """{(encoder, head, task, distance): row} of the table's rows."""
    return {(r["encoder"], r["head"], r["task"], int(r["distance"])): r for r in rows}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _point(row: dict) -> str:
    lo, hi = row["interval"]
    return f"{_pct(row['f1'])}% [interval {_pct(lo)}–{_pct(hi)}]"


def _side(row: dict, threshold: float) -> str:
    """"below", "above" or "unclear": where the bootstrap interval lies against ``threshold``."""
    lo, hi = row["interval"]
    return "below" if hi < threshold else "above" if lo >= threshold else "unclear"


def _control(table: dict[Key, dict], encoder: str, head: str) -> tuple[dict | None, str]:
    """(control row, '' or why the encoder cannot be judged)."""
    row = table.get((encoder, head, "left", 1))
    if row is None:
        return None, f"{encoder}-{head} has no control run (left task, K = 1)"
    if row["f1"] < CONTROL_MIN:
        return row, (f"{encoder}-{head} did not solve the control (cue adjacent): F1 {_point(row)}, under "
                     f"{100 * CONTROL_MIN:.0f}%; train longer or larger to judge distance")
    return row, ""


def _distances(table: dict[Key, dict], encoder: str, head: str, task: str) -> list[int]:
    return sorted(k for e, h, t, k in table if (e, h, t) == (encoder, head, task) and k > 1)


def _heads(table: dict[Key, dict]) -> list[str]:
    return list(dict.fromkeys(h for _, h, _, _ in table))


def _part(name: str, checks: list[dict], missing: str) -> dict:
    """A part whose checks must all hold."""
    verdict = all_of([c["verdict"] for c in checks]) if checks else NOT_TESTED
    return {"part": name, "verdict": verdict, "checks": checks, "reason": "" if checks else missing}


def _claim(key: str, parts: list[dict], verdict: str) -> dict:
    return claim_record(key, PROBE_CLAIMS[key], parts, verdict, ["f1_vs_distance.png"])


def breaking_distance(table: dict[Key, dict], encoder: str, head: str, task: str, threshold: float) -> int | None:
    """The first distance K > 1 where the encoder's mean F1 falls below ``threshold`` (None: never)."""
    for k in _distances(table, encoder, head, task):
        if table[encoder, head, task, k]["f1"] < threshold:
            return k
    return None


def forgetting_check(table: dict[Key, dict], head: str) -> dict | None:
    """Claim (a) with one head: where the rnn and the lstm break on the left task (None: not both swept)."""
    ks = sorted(set(_distances(table, "rnn", head, "left")) & set(_distances(table, "lstm", head, "left")))
    if not ks:
        return None
    (rnn_base, rnn_why), (lstm_base, lstm_why) = _control(table, "rnn", head), _control(table, "lstm", head)
    if rnn_why or lstm_why:
        return check(INCONCLUSIVE, f"{head}: " + "; ".join(filter(None, (rnn_why, lstm_why))), head=head)
    limits = {"rnn": SOLVED * rnn_base["f1"], "lstm": SOLVED * lstm_base["f1"]}
    breaks = {e: next((k for k in ks if table[e, head, "left", k]["f1"] < limits[e]), None) for e in limits}

    def said(e: str) -> str:
        base = _pct(table[e, head, "left", 1]["f1"]) + "%"
        if breaks[e] is None:
            row = table[e, head, "left", ks[-1]]
            return f"{e} holds up to K = {ks[-1]}, the longest distance swept (F1 {_point(row)}; K = 1: {base})"
        return (f"{e} falls below {SOLVED:.0%} of its K = 1 F1 ({base}) at K = {breaks[e]} "
                f"(F1 {_point(table[e, head, 'left', breaks[e]])})")

    text = f"{head}: {said('rnn')}; {said('lstm')}"
    numbers = {"head": head, "rnn_breaks_at": breaks["rnn"], "lstm_breaks_at": breaks["lstm"],
               "thresholds": limits, "distances": ks}
    r, m = breaks["rnn"], breaks["lstm"]
    if r is None:
        return check(CONTRADICTED, f"{text}: the sweep shows no forgetting by the rnn", **numbers)
    if m is not None and m <= r:
        return check(CONTRADICTED, f"{text}: the lstm breaks no later than the rnn", **numbers)
    rnn_side = _side(table["rnn", head, "left", r], limits["rnn"])
    lstm_side = _side(table["lstm", head, "left", r], limits["lstm"])
    if rnn_side == "below" and lstm_side == "above":
        return check(SUPPORTED, f"{text}: at K = {r} the rnn is below and the lstm above its threshold beyond "
                                "the bootstrap interval", **numbers)
    return check(INCONCLUSIVE, f"{text}: at K = {r} the bootstrap interval of the "
                               f"{'rnn' if rnn_side != 'below' else 'lstm'} reaches its threshold", **numbers)


def claim_forgetting(table: dict[Key, dict]) -> dict:
    checks = [c for c in (forgetting_check(table, h) for h in _heads(table)) if c is not None]
    part = _part("left task", checks, "needs rnn and lstm with one head on the left task at K = 1 and a "
                                      "longer distance")
    return _claim("a", [part], part["verdict"])


def right_check(table: dict[Key, dict], encoder: str, head: str) -> dict | None:
    """Claim (b) for one encoder and head (None: not judged or no right-task distance beyond 1)."""
    both_ways = reads_right(encoder)
    ks = _distances(table, encoder, head, "right")
    if both_ways is None or not ks:
        return None
    name = f"{encoder}-{head}"
    base, why = _control(table, encoder, head)
    if why:
        return check(INCONCLUSIVE, why, encoder=encoder, head=head)
    limit = SOLVED * base["f1"]
    rows = {k: table[encoder, head, "right", k] for k in ks}
    solved = [k for k in ks if rows[k]["f1"] >= limit]
    numbers = {"encoder": encoder, "head": head, "threshold": limit, "solved_at": solved, "distances": ks}
    if both_ways:
        first = rows[ks[0]]
        reach = f"; solved at K = {', '.join(map(str, solved))}" if solved else ""
        text = f"{name} at K = {ks[0]}: F1 {_point(first)}, threshold {_pct(limit)}%{reach}"
        if first["f1"] < limit:
            return check(CONTRADICTED, f"{text}: it does not solve the right task", **numbers)
        side = _side(first, limit)
        return check(SUPPORTED if side == "above" else INCONCLUSIVE,
                     text + ("" if side == "above" else ": the bootstrap interval reaches the threshold"), **numbers)
    best = max(ks, key=lambda k: rows[k]["f1"])
    text = f"{name}: best F1 beyond K = 1 is {_point(rows[best])} at K = {best}, threshold {_pct(limit)}%"
    if solved:
        return check(CONTRADICTED, f"{text}: a unidirectional encoder solves the right task at K = "
                                   f"{', '.join(map(str, solved))}", **numbers)
    if all(_side(rows[k], limit) == "below" for k in ks):
        return check(SUPPORTED, f"{text}: it fails at every distance", **numbers)
    return check(INCONCLUSIVE, f"{text}: the bootstrap interval reaches the threshold", **numbers)


def claim_right(table: dict[Key, dict]) -> dict:
    encoders = list(dict.fromkeys(e for e, _, _, _ in table))
    checks = {True: [], False: []}
    for head in _heads(table):
        for encoder in encoders:
            c = right_check(table, encoder, head)
            if c is not None:
                checks[bool(reads_right(encoder))].append(c)
    parts = [_part("bidirectional encoders solve it", checks[True],
                   "needs a bidirectional encoder on the right task beyond K = 1 and on the control"),
             _part("unidirectional encoders do not", checks[False],
                   "needs a unidirectional encoder (rnn, lstm, gru) on the right task beyond K = 1 and on the "
                   "control")]
    verdicts = [p["verdict"] for p in parts]
    if NOT_TESTED in verdicts:   # "only" needs both sides
        verdict = CONTRADICTED if CONTRADICTED in verdicts else NOT_TESTED
    else:
        verdict = all_of(verdicts)
    return _claim("b", parts, verdict)


def judge_probe(rows: Sequence[dict]) -> list[dict]:
    """Verdicts on claims (a) and (b) from the probe's rows (each ``{"encoder", "head", "task", "distance",
    "f1", "interval": [lo, hi]}``, F1 as fractions); JSON-ready dicts shaped like the comparison's verdicts:
    ``{"id", "claim", "verdict", "summary", "parts": [{"part", "verdict", "checks", "reason"}], "figures"}``."""
    table = index(rows)
    return [claim_forgetting(table), claim_right(table)]
