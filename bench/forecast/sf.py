"""statsforecast runs for the benchmark, cached per (data set, model) in the work dir.

Each cache entry is a CSV in a fixed layout (unique_id, ds, mean and, for models with
prediction intervals, lo-80, hi-80, lo-95, hi-95) and a JSON file with the CPU time per
series. The timed part runs single-threaded (`n_jobs=1`) after an untimed warm-up on
three series, so imports and JIT compilation are not counted. With a CPU sample of N,
only the first N series are timed; the rest are forecast with two processes for their
accuracy only.
"""

import json
import os
import time
from pathlib import Path

import pandas as pd

import metrics

LEVELS = (80, 95)
# Point-forecast models of the car-parts table (statsforecast gives them no intervals).
INTERMITTENT = ("ADIDA", "IMAPA", "TSB", "CrostonOptimized", "CrostonSBA")
SEASONAL = ("AutoETS", "AutoTheta", "AutoARIMA")


def make_model(name: str, m: int):
    """The statsforecast model called `name`, for season length m."""
    from statsforecast import models

    if name == "TSB":
        return models.TSB(alpha_d=0.1, alpha_p=0.1)
    if name in SEASONAL:
        return getattr(models, name)(season_length=m)
    return getattr(models, name)()


def _forecast(name: str, m: int, train: pd.DataFrame, h: int, n_jobs: int) -> pd.DataFrame:
    from statsforecast import StatsForecast

    level = list(LEVELS) if name in SEASONAL else None
    sf = StatsForecast(models=[make_model(name, m)], freq=1, n_jobs=n_jobs)
    fc = sf.forecast(df=train, h=h, level=level)
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    cols = {name: "mean"}
    for lv in LEVELS if level else ():
        cols[f"{name}-lo-{lv}"] = f"lo-{lv}"
        cols[f"{name}-hi-{lv}"] = f"hi-{lv}"
    return fc[["unique_id", "ds", *cols]].rename(columns=cols)


def is_cached(cache: Path) -> bool:
    """Whether `run` would read this cache entry instead of forecasting."""
    return cache.exists() and cache.with_suffix(".json").exists()


def forget(cache: Path):
    """Drops a cache entry, so `run` forecasts and times the model again."""
    cache.unlink(missing_ok=True)
    cache.with_suffix(".json").unlink(missing_ok=True)


def run(name: str, m: int, train: pd.DataFrame, h: int, cache: Path, cpu_sample: int | None):
    """Forecasts with one model (or reads the cache).

    Returns the forecasts, the CPU seconds per series and the number of series timed.
    """
    info = cache.with_suffix(".json")
    if is_cached(cache):
        saved = json.loads(info.read_text())
        return metrics.as_long(pd.read_csv(cache)), saved["cpu_per_series"], saved["timed_series"]
    ids = train["unique_id"].drop_duplicates()
    _forecast(name, m, train[train.unique_id.isin(ids.iloc[:3])], h, 1)
    timed_ids = ids if not cpu_sample else ids.iloc[:cpu_sample]
    timed = train[train.unique_id.isin(timed_ids)]
    cpu0 = time.process_time()
    parts = [_forecast(name, m, timed, h, 1)]
    cpu = time.process_time() - cpu0
    if len(timed_ids) < len(ids):
        parts.append(_forecast(name, m, train[~train.unique_id.isin(timed_ids)], h, 2))
    fc = pd.concat(parts)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # runs sharing the cache write apart
    fc.to_csv(tmp, index=False)
    tmp.rename(cache)
    per_series = cpu / len(timed_ids)
    info.write_text(json.dumps({"cpu_per_series": per_series, "timed_series": len(timed_ids)}))
    return metrics.as_long(fc), per_series, len(timed_ids)
