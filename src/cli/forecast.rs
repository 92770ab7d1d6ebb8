//! `scf forecast`: batch forecasts for users without the server, in the long format
//! `unique_id,ds,y` that statsforecast uses. The engine is `scf-forecast`; this module only
//! opens the files.

use super::report::fail;
use scf_forecast::batch::{self, BatchOptions};
use scf_forecast::{Combine, METHODS, Method};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `scf forecast`.
#[derive(Debug, clap::Args)]
pub struct ForecastArgs {
    /// History as CSV with columns `unique_id,ds,y` (`ds` an integer index or a date).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Periods to forecast.
    #[arg(long, value_name = "H")]
    horizon: usize,
    /// Periods per seasonal cycle (12 for monthly data; 1 for none).
    #[arg(long, value_name = "M", default_value_t = 1)]
    season: usize,
    /// The model.
    #[arg(long, default_value = "auto", value_parser = clap::builder::PossibleValuesParser::new(METHODS.map(|(n, _)| n)))]
    model: String,
    /// Prediction-interval levels, in percent.
    #[arg(long = "level", value_name = "PERCENT", default_values_t = [80.0, 95.0])]
    levels: Vec<f64>,
    /// Combine ensemble members by median instead of mean.
    #[arg(long)]
    median: bool,
    /// Where to write the forecasts (CSV).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Reads the history, forecasts every series, writes the CSV.
pub fn run(args: &ForecastArgs) -> ExitCode {
    let method: Method = match args.model.parse() {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let input = match File::open(&args.input) {
        Ok(f) => BufReader::new(f),
        Err(e) => return fail(format!("cannot read {}: {e}", args.input.display())),
    };
    let output = match File::create(&args.out) {
        Ok(f) => BufWriter::new(f),
        Err(e) => return fail(format!("cannot write {}: {e}", args.out.display())),
    };
    let options = BatchOptions {
        horizon: args.horizon,
        season_length: args.season,
        method,
        levels: args.levels.clone(),
        combine: if args.median {
            Combine::Median
        } else {
            Combine::Mean
        },
    };
    match batch::run(input, output, &options) {
        Ok(summary) => {
            println!(
                "Forecast {} series ({} rows) into {}",
                summary.series,
                summary.rows,
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: {e}", args.input.display())),
    }
}
