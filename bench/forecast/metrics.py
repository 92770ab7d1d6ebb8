"""Accuracy metrics shared by both engines in the forecast benchmark.

Every engine's forecasts go through these same functions, so the table compares like
with like. Inputs are pandas frames in the long format (unique_id, ds, y / forecast).
"""

import numpy as np
import pandas as pd


def _per_series(train, test, fcst, col, fn):
    """Applies fn(insample, actual, forecast) to each series and returns the values."""
    merged = test.merge(fcst[["unique_id", "ds", col]], on=["unique_id", "ds"], how="left")
    if merged[col].isna().any():
        missing = merged.loc[merged[col].isna(), "unique_id"].unique()[:5]
        raise ValueError(f"{col}: no forecast for series {list(missing)}")
    insample = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id", sort=False)}
    out = []
    for uid, g in merged.groupby("unique_id", sort=False):
        out.append(fn(insample[uid], g["y"].to_numpy(), g[col].to_numpy()))
    return np.array(out, dtype=float)


def mase(train, test, fcst, col, m):
    """Mean absolute scaled error, scaled by the in-sample seasonal naive MAE (lag m)."""

    def one(x, y, f):
        lag = m if len(x) > m else 1
        scale = np.mean(np.abs(x[lag:] - x[:-lag]))
        return np.mean(np.abs(y - f)) / scale

    return float(np.mean(_per_series(train, test, fcst, col, one)))


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
