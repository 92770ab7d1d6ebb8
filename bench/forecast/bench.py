"""Side-by-side benchmark of statsforecast and scf-forecast (run through ./run).

Data sets (datasets.py): M3 yearly, quarterly, monthly and other, M1 yearly, quarterly
and monthly (official splits and horizons) and the car-parts intermittent data. On the
M sets statsforecast runs AutoETS, AutoTheta, AutoARIMA and their mean, with 80 % and
95 % prediction intervals; on car parts its intermittent models. The Rust engine runs
each model of --models (--models-car) with the same levels. Both engines' forecasts go
through the same metric code (metrics.py); one table and one verdict line per set
(report.py). CPU time is process CPU (user + system) per series, single-threaded for
both engines.
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import datasets  # noqa: E402
import metrics  # noqa: E402
import report  # noqa: E402
import sf  # noqa: E402

UNKNOWN_MODEL = 3  # forecast_csv's exit code for a model the engine does not know
# Published figure to beat: statsforecast's three-model ensemble on M3 monthly (MASE).
TARGETS = {"m3_monthly": 0.829}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Renames `<model>`, `<model>-lo-80`… to mean, lo-80…, the layout of the sf cache."""
    point = df.columns[2]
    names = {point: "mean"}
    names.update({c: m.group(1) for c in df.columns[3:] if (m := re.search(r"-((lo|hi)-\d+)$", c))})
    return metrics.as_long(df.rename(columns=names))


def run_rust(binary: str, model: str, train_csv: Path, out: Path, d: datasets.DataSet, n: int) -> report.Result:
    """Runs the Rust engine single-threaded on one set with 80 % and 95 % intervals."""
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    levels = ",".join(str(lv) for lv in report.LEVELS)
    cpu0 = children_cpu()
    proc = subprocess.run([binary, model, str(train_csv), str(out), str(d.h), str(d.m), levels], env=env,
                          stderr=subprocess.PIPE, text=True)
    cpu = children_cpu() - cpu0
    label = f"scf-forecast {model}"
    if proc.returncode == UNKNOWN_MODEL:
        print(f"{d.name}: {label} skipped ({proc.stderr.strip()})", file=sys.stderr)
        return report.Result(label, None, 0.0)
    if proc.returncode != 0:
        raise RuntimeError(f"{label} on {d.name} failed: {proc.stderr.strip()}")
    return report.Result(label, normalise(pd.read_csv(out)), cpu / n)


def sf_ensemble(results: list[report.Result]) -> report.Result:
    """The mean of statsforecast's models: mean forecasts and mean interval bounds."""
    frames = [r.fc.set_index(["unique_id", "ds"]) for r in results]
    mean = sum(frames[1:], frames[0]) / len(frames)
    names = ", ".join(r.label.removeprefix("statsforecast ") for r in results)
    return report.Result(f"statsforecast mean({names})", mean.reset_index(), sum(r.cpu for r in results))


def bench_set(args, d: datasets.DataSet, work: Path, scratch: Path) -> str:
    """Runs every engine and model on one set; returns its table and verdict (markdown).
    statsforecast's forecasts are cached in work/sf/; this run's own files go to scratch."""
    train, test = datasets.select(*d.load(), args.limit)
    n = train.unique_id.nunique()
    tag = f"{d.name}_{args.limit or 'all'}"
    train_csv = scratch / f"{tag}_train.csv"
    train.to_csv(train_csv, index=False)
    sf_names = sf.INTERMITTENT if d.intermittent else sf.SEASONAL
    results, notes = [], []
    for name in sf_names:
        cache = work / "sf" / f"{tag}_{name}.csv"
        if name in args.retime.split(","):
            sf.forget(cache)
        elif args.cached_only and not sf.is_cached(cache):
            results.append(report.Result(f"statsforecast {name}", None, 0.0))
            continue
        fc, cpu, timed = sf.run(name, d.m, train, d.h, cache, args.cpu_sample)
        results.append(report.Result(f"statsforecast {name}", fc, cpu))
        if timed < n:
            notes.append(f"statsforecast {name}: CPU timed on the first {timed} of {n} series.")
    if d.intermittent:
        results.append(report.Result("zero forecast", test[["unique_id", "ds"]].assign(mean=0.0), 0.0))
    elif all(r.fc is not None for r in results):
        results.append(sf_ensemble(results))
    for model in (args.models_car if d.intermittent else args.models).split(","):
        results.append(run_rust(args.bin, model, train_csv, scratch / f"scf_{tag}_{model}.csv", d, n))
    title = f"{d.title} ({n} series, h = {d.h}, m = {d.m})"
    # Car-parts interval scores use the lag-1 scale: most histories have no seasonal pattern.
    text, scores = report.table(title, results, train, test, 1 if d.intermittent else d.m, d.intermittent)
    if d.intermittent:
        verdict = report.verdict(scores, "scf-forecast auto", "RMSSE", ["statsforecast ADIDA"], None)
    else:
        refs = [f"statsforecast {name}" for name in sf.SEASONAL]
        verdict = report.verdict(scores, "scf-forecast auto", "MASE", refs, TARGETS.get(d.name))
    return "\n\n".join(part for part in [text, " ".join(notes), verdict] if part) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--work", required=True, help="work dir; statsforecast results are cached in its sf/")
    p.add_argument("--bin", required=True, help="release build of the forecast_csv example")
    p.add_argument("--carparts", default="/work/shared/data/carparts")
    p.add_argument("--datasets", default=None, help="comma-separated set names (default: all)")
    p.add_argument("--limit", type=int, default=None, help="first N series of each set only (quick runs)")
    p.add_argument("--cpu-sample", type=int, default=None,
                   help="time statsforecast on the first N series only; forecast the rest with 2 processes")
    p.add_argument("--cached-only", action="store_true",
                   help="show statsforecast models without a cache entry as skipped instead of running them")
    p.add_argument("--retime", default="",
                   help="comma-separated statsforecast models to run again now, cache or not (e.g. AutoETS, "
                        "the CPU reference, so both engines are timed under the same load)")
    p.add_argument("--models", default="auto,ets,theta,arima", help="Rust models on the M sets")
    p.add_argument("--models-car", default="auto,intermittent,adida,imapa,tsb,croston_optimized,sba")
    args = p.parse_args()
    work = Path(args.work)
    (work / "sf").mkdir(parents=True, exist_ok=True)
    registry = datasets.registry(Path(args.carparts))
    names = args.datasets.split(",") if args.datasets else list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        p.error(f"unknown data sets {unknown}; known: {', '.join(registry)}")
    # Runs sharing the work dir (and its cache) do not share their own files.
    with tempfile.TemporaryDirectory(prefix="run-", dir=work) as scratch:
        for name in names:
            print(bench_set(args, registry[name], work, Path(scratch)), flush=True)


if __name__ == "__main__":
    main()
