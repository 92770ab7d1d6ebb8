//! Batch forecasts of a long CSV file, for the benchmark harness in `bench/forecast/`
//! (the product's own entry point is `scf forecast`).
//!
//! Usage: `forecast_csv <model> <train.csv> <out.csv> <horizon> <season_length> [levels]`,
//! where `levels` is a comma-separated list of interval levels in percent (e.g. `80,95`);
//! the output then has statsforecast's `<model>-lo-<level>` and `<model>-hi-<level>`
//! columns. Threads follow `RAYON_NUM_THREADS`. Exit codes: 2 for bad usage, 3 for a model
//! the engine does not know (the harness reports it as skipped), 1 for any other error.

use scf_forecast::batch::{BatchOptions, run};
use scf_forecast::{Combine, Method};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

const USAGE: &str =
    "usage: forecast_csv <model> <train.csv> <out.csv> <horizon> <season_length> [levels]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, input, output, horizon, season, levels) = match args.as_slice() {
        [m, i, o, h, s] => (m, i, o, h, s, ""),
        [m, i, o, h, s, l] => (m, i, o, h, s, l.as_str()),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let method: Method = match model.parse() {
        Ok(method) => method,
        Err(e) => {
            eprintln!("forecast_csv: {e}");
            return ExitCode::from(3);
        }
    };
    match options(method, horizon, season, levels)
        .and_then(|options| forecast_file(&options, input, output))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forecast_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options(
    method: Method,
    horizon: &str,
    season: &str,
    levels: &str,
) -> Result<BatchOptions, String> {
    Ok(BatchOptions {
        horizon: horizon
            .parse()
            .map_err(|e| format!("horizon `{horizon}`: {e}"))?,
        season_length: season
            .parse()
            .map_err(|e| format!("season length `{season}`: {e}"))?,
        method,
        levels: levels
            .split(',')
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().parse().map_err(|e| format!("level `{l}`: {e}")))
            .collect::<Result<_, _>>()?,
        combine: Combine::Mean,
    })
}

fn forecast_file(options: &BatchOptions, input: &str, output: &str) -> Result<(), String> {
    let reader = BufReader::new(File::open(input).map_err(|e| format!("{input}: {e}"))?);
    let writer = BufWriter::new(File::create(output).map_err(|e| format!("{output}: {e}"))?);
    let summary = run(reader, writer, options).map_err(|e| format!("{input}: {e}"))?;
    eprintln!("{} series, {} rows", summary.series, summary.rows);
    Ok(())
}
