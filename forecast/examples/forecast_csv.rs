//! Batch forecasts of a long CSV file, for the benchmark harness in `bench/forecast/`
//! (the product's own entry point is `scf forecast`).
//!
//! Usage: `forecast_csv <model> <train.csv> <out.csv> <horizon> <season_length>`.
//! Threads follow `RAYON_NUM_THREADS`.

use scf_forecast::Combine;
use scf_forecast::batch::{BatchOptions, run};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, input, output, horizon, season] = args.as_slice() else {
        eprintln!("usage: forecast_csv <model> <train.csv> <out.csv> <horizon> <season_length>");
        return ExitCode::from(2);
    };
    match forecast_file(model, input, output, horizon, season) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forecast_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn forecast_file(
    model: &str,
    input: &str,
    output: &str,
    horizon: &str,
    season: &str,
) -> Result<(), String> {
    let options = BatchOptions {
        horizon: horizon
            .parse()
            .map_err(|e| format!("horizon `{horizon}`: {e}"))?,
        season_length: season
            .parse()
            .map_err(|e| format!("season length `{season}`: {e}"))?,
        method: model.parse().map_err(|e| format!("{e}"))?,
        levels: Vec::new(),
        combine: Combine::Mean,
    };
    let reader = BufReader::new(File::open(input).map_err(|e| format!("{input}: {e}"))?);
    let writer = BufWriter::new(File::create(output).map_err(|e| format!("{output}: {e}"))?);
    let summary = run(reader, writer, &options).map_err(|e| format!("{input}: {e}"))?;
    eprintln!("{} series, {} rows", summary.series, summary.rows);
    Ok(())
}
