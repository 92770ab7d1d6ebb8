"""Accuracy metrics shared by both engines in the forecast benchmark.

Every engine's forecasts go through these same functions, so the table compares like
with like. Inputs are pandas frames in the long format (unique_id, ds, y / forecast).
"""

import numpy as np
import pandas as pd


def _per_series(train, test, fcst, cols, fn):
    """Applies fn(insample, actual, *forecast columns) to each series and returns the values."""
    cols = [cols] if isinstance(cols, str) else list(cols)
    merged = test.merge(fcst[["unique_id", "ds", *cols]], on=["unique_id", "ds"], how="left")
    if merged[cols].isna().any().any():
        missing = merged.loc[merged[cols].isna().any(axis=1), "unique_id"].unique()[:5]
        raise ValueError(f"{cols}: no forecast for series {list(missing)}")
    insample = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id", sort=False)}
    out = []
    for uid, g in merged.groupby("unique_id", sort=False):
        out.append(fn(insample[uid], g["y"].to_numpy(), *(g[c].to_numpy() for c in cols)))
    return np.array(out, dtype=float)


def _naive_scale(x, m):
    """In-sample MAE of the seasonal naive forecast (lag m, or 1 for short series)."""
    lag = m if len(x) > m else 1
    return np.mean(np.abs(x[lag:] - x[:-lag]))


def mase(train, test, fcst, col, m):
    """Mean absolute scaled error, scaled by the in-sample seasonal naive MAE (lag m)."""

    def one(x, y, f):
        return np.mean(np.abs(y - f)) / _naive_scale(x, m)

    return float(np.mean(_per_series(train, test, fcst, col, one)))


def coverage(test, fcst, level):
    """Share of actual values (in percent) inside the `level` % interval."""
    merged = test.merge(fcst, on=["unique_id", "ds"], how="left")
    lo, hi = merged[f"lo-{level}"], merged[f"hi-{level}"]
    return float(100 * np.mean((merged["y"] >= lo) & (merged["y"] <= hi)))


def upper_bracket(test, fcst, level):
    """For integer data: the shares (in percent) of actual values below and at or below the
    integer part k of the `level` % interval's upper bound.

    A calibrated upper bound, the 1 - a/2 quantile with a = 1 - level/100, has
    P(y <= k - 1) <= 1 - a/2 <= P(y <= k): for a discrete variable the quantile is the
    value where the distribution function steps past the probability, so no bound can put
    the share at it exactly. The central interval's coverage says nothing here: its lower
    bound is 0 wherever zero demand is likelier than a/2, and the zeros then sit inside it,
    so a calibrated interval covers at least P(y <= k).
    """
    merged = test.merge(fcst, on=["unique_id", "ds"], how="left")
    k = np.floor(merged[f"hi-{level}"])
    y = merged["y"]
    return float(100 * np.mean(y <= k - 1)), float(100 * np.mean(y <= k))


def msis(train, test, fcst, m, level=95):
    """Mean scaled interval score (M4): interval width plus 2/a times each miss, a = 1 - level/100,
    averaged over the horizon and scaled by the in-sample seasonal naive MAE (lag m).

    Series with a zero scale (a constant history) are left out, as in the car-parts data.
    """
    a = 1 - level / 100

    def one(x, y, lower, upper):
        score = upper - lower + 2 / a * ((lower - y) * (y < lower) + (y - upper) * (y > upper))
        scale = _naive_scale(x, m)
        return np.mean(score) / scale if scale > 0 else np.nan

    return float(np.nanmean(_per_series(train, test, fcst, [f"lo-{level}", f"hi-{level}"], one)))


def smape(train, test, fcst, col):
    """Symmetric MAPE in percent: mean of 200 |y - f| / (|y| + |f|)."""

    def one(_x, y, f):
        denom = np.abs(y) + np.abs(f)
        return np.mean(np.where(denom == 0, 0.0, 200 * np.abs(y - f) / np.where(denom == 0, 1, denom)))

    return float(np.mean(_per_series(train, test, fcst, col, one)))


def intermittent_scores(train, test, fcst, col):
    """RMSSE (M5), scaled MAE and scaled bias of intermittent forecasts.

    RMSSE is scaled, as in M5, by the mean squared lag-1 difference of the history from
    its first non-zero value on. Scaled MAE and scaled bias divide by the mean demand of
    the history (Kourentzes' scaled errors). These reproduce the statsforecast figures in
    the car-parts README.
    """

    def one(x, y, f):
        d = np.diff(x[np.argmax(x != 0):])
        mse_scale = np.mean(d**2) if len(d) else 0.0
        level = np.mean(x)
        if mse_scale == 0 or level == 0:
            return (np.nan, np.nan, np.nan)
        return (
            np.sqrt(np.mean((y - f) ** 2) / mse_scale),
            np.mean(np.abs(y - f)) / level,
            np.mean(f - y) / level,
        )

    vals = _per_series(train, test, fcst, col, one)
    return tuple(float(np.nanmean(vals[:, i])) for i in range(3))


def as_long(df: pd.DataFrame) -> pd.DataFrame:
    """Normalises ids to strings and ds to integers so both engines' outputs merge."""
    df = df.copy()
    df["unique_id"] = df["unique_id"].astype(str)
    df["ds"] = df["ds"].astype(np.int64)
    return df
