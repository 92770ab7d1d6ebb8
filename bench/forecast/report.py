"""Tables and verdict lines of the forecast benchmark.

A set's results are a list of `Result`s (one per engine and model); the table scores
each with metrics.py and the verdict line checks the goals of issue 19 against them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

import metrics

LEVELS = (80, 95)
COVERAGE_SLACK = 3.0  # points of coverage allowed either side of nominal
CPU_RATIO = 10.0  # `auto` must take at most a tenth of statsforecast AutoETS's CPU


@dataclass
class Result:
    """One engine/model's forecasts on a set (mean and, if any, lo-/hi- band columns)."""

    label: str
    fc: pd.DataFrame | None  # None when the engine skipped the model
    cpu: float  # seconds per series

    @property
    def has_intervals(self) -> bool:
        return self.fc is not None and f"lo-{LEVELS[-1]}" in self.fc.columns


def _scores(r: Result, train, test, m: int, intermittent: bool) -> dict[str, float]:
    """The metrics of one result; NaN where they do not apply."""
    s: dict[str, float] = {}
    if intermittent:
        s["RMSSE"], s["scaled MAE"], s["scaled bias"] = metrics.intermittent_scores(train, test, r.fc, "mean")
    else:
        s["MASE"] = metrics.mase(train, test, r.fc, "mean", m)
        s["sMAPE"] = metrics.smape(train, test, r.fc, "mean")
    for lv in LEVELS:
        s[f"cov {lv}"] = metrics.coverage(test, r.fc, lv) if r.has_intervals else np.nan
    if intermittent:
        for lv in LEVELS:
            s[_bracket(lv)] = metrics.upper_bracket(test, r.fc, lv) if r.has_intervals else np.nan
    s["MSIS"] = metrics.msis(train, test, r.fc, m) if r.has_intervals else np.nan
    s["CPU ms/series"] = 1000 * r.cpu
    return s


def _bracket(level: int) -> str:
    """The column of `metrics.upper_bracket` for the `level` % interval (integer data)."""
    return f"hi {level}: P(y<k), P(y≤k)"


def _fmt(name: str, v) -> str:
    if isinstance(v, tuple):
        return f"{v[0]:.1f}, {v[1]:.1f}"
    if np.isnan(v):
        return "–"
    if name.startswith("cov") or name == "sMAPE":
        return f"{v:.1f}" if name.startswith("cov") else f"{v:.2f}"
    return f"{v:.3f}" if name != "CPU ms/series" else f"{v:.2f}"


def table(title: str, results: list[Result], train, test, m: int, intermittent: bool) -> tuple[str, dict]:
    """A markdown table of every result on one set, and the scores by label."""
    scores = {r.label: _scores(r, train, test, m, intermittent) for r in results if r.fc is not None}
    header = ["engine / model", *next(iter(scores.values()))]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in results:
        cells = [_fmt(k, v) for k, v in scores[r.label].items()] if r.label in scores else ["skipped"]
        lines.append("| " + " | ".join([r.label, *cells]) + " |")
    return "\n".join(lines), scores


def _check(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'FAIL'} {text}"


def verdict(scores: dict, rust: str, point: str, references: list[str], target: float | None) -> str:
    """The goals for the Rust model `rust`: its point metric `point` at most the best of
    `references` (and of `target`, a published figure), coverage within 3 points of
    nominal (on integer data also the upper bounds' calibration, `metrics.upper_bracket`),
    MSIS and CPU against statsforecast AutoETS where it ran."""
    if rust not in scores:
        return f"verdict: {rust} skipped"
    s = scores[rust]
    checks = []
    ran = [r for r in references if r in scores]
    if ran:
        best_label = min(ran, key=lambda r: scores[r][point])
        best = scores[best_label][point]
        checks.append(_check(s[point] <= best, f"{point} {s[point]:.3f} ≤ {best:.3f} ({best_label})"))
    if target is not None:
        checks.append(_check(s[point] <= target, f"{point} {s[point]:.3f} ≤ {target}"))
    for lv in LEVELS:
        if not np.isnan(s[f"cov {lv}"]):
            ok = abs(s[f"cov {lv}"] - lv) <= COVERAGE_SLACK
            checks.append(_check(ok, f"coverage {lv}: {s[f'cov {lv}']:.1f}"))
        bracket = s.get(_bracket(lv))
        if isinstance(bracket, tuple):
            p = 100 - (100 - lv) / 2
            checks.append(_check(bracket[0] <= p <= bracket[1],
                                 f"upper bound of {lv} % calibrated: {bracket[0]:.1f} ≤ {p:g} ≤ {bracket[1]:.1f}"))
    ets = scores.get("statsforecast AutoETS")
    if ets is not None and not np.isnan(s["MSIS"]):
        checks.append(_check(s["MSIS"] <= ets["MSIS"], f"MSIS {s['MSIS']:.3f} ≤ {ets['MSIS']:.3f}"))
    if ets is not None:
        cpu, limit = s["CPU ms/series"], ets["CPU ms/series"] / CPU_RATIO
        checks.append(_check(cpu <= limit, f"CPU {cpu:.2f} ≤ {limit:.2f} ms/series"))
    return f"verdict ({rust}): " + "; ".join(checks)
