//! `scf optimize`: an implementation run in batch, for users without the server. Reads a
//! demand file (and optionally per-SKU parameters), forecasts every SKU in parallel, and
//! writes the policies as CSV or JSON. The computation is [`crate::optimize`]; this module
//! only handles files and flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};

use super::common::CliError;
use crate::files::{Existing, write_atomic};
use crate::optimize::{
    self, Bucket, EngineForecaster, Format, Limits, Overrides, SkuResult, Target, Upload,
};
use crate::settings::parse::{self, Lookup};
use crate::vars;

/// Arguments of `scf optimize`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["service_level", "fill_rate"])))]
pub struct OptimizeArgs {
    /// Demand history: long-format CSV or JSON (`sku,period,quantity`; periods integers
    /// or YYYY-MM-DD dates), or a connector export (see --format).
    #[arg(long, value_name = "FILE")]
    pub demand: PathBuf,
    /// Layout of --demand (default: json for a .json file, else csv). sap, oracle and
    /// quickbooks read ERP exports; when CONNECTORS is set, only the connectors it lists.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Format::NAMES))]
    pub format: Option<String>,
    /// Per-SKU parameters, CSV or JSON: sku,lead_time_mean,lead_time_sd,unit_cost,
    /// holding_cost_rate,ordering_cost,moq (lead times in periods, holding cost rate per
    /// year; blanks and unlisted SKUs take the defaults 1,0,1,0.25,50,1).
    #[arg(long, value_name = "FILE")]
    pub lead_times: Option<PathBuf>,
    /// Target cycle service level: the chance of no stockout per cycle, e.g. 0.95.
    #[arg(long, value_name = "P")]
    pub service_level: Option<f64>,
    /// Target fill rate: the share of demand met from stock, e.g. 0.98.
    #[arg(long, value_name = "P")]
    pub fill_rate: Option<f64>,
    /// Review period R of the order-up-to policy, in periods.
    #[arg(long, value_name = "N")]
    pub review_period: Option<usize>,
    /// Periods to forecast.
    #[arg(long, value_name = "N")]
    pub horizon: Option<usize>,
    /// Periods per season (default: 12 for months, 52 for weeks, 7 for days, else none).
    #[arg(long, value_name = "N")]
    pub season: Option<usize>,
    /// Periods per year, for the yearly holding cost (default from the dates; 52 for
    /// integer periods).
    #[arg(long, value_name = "N")]
    pub periods_per_year: Option<f64>,
    /// Period that connector transactions are summed into.
    #[arg(long, value_name = "BUCKET", value_parser = ["day", "week", "month"], default_value = "week")]
    pub period: String,
    /// Backtest origins (0 skips the backtest).
    #[arg(long, value_name = "N")]
    pub backtest_windows: Option<usize>,
    /// Backtest accuracy (1 − WAPE) the run must reach to succeed.
    #[arg(long, value_name = "A")]
    pub accuracy_floor: Option<f64>,
    /// Where to write the policies: a .json path for JSON, `-` for CSV on stdout.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `scf optimize`.
pub fn run(
    args: OptimizeArgs,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let failed = |e: optimize::InputError| CliError::Failed(e.to_string());
    let format = match &args.format {
        Some(name) => name.parse().map_err(failed)?,
        None if has_extension(&args.demand, "json") => Format::Json,
        None => Format::Csv,
    };
    let target = match (args.service_level, args.fill_rate) {
        (_, Some(beta)) => Target::fill_rate(beta).map_err(failed)?,
        (Some(alpha), None) => Target::cycle_service_level(alpha).map_err(failed)?,
        (None, None) => {
            return Err(CliError::Failed(
                "give a target: --service-level 0.95 or --fill-rate 0.98".to_owned(),
            ));
        }
    };
    let demand = read(&args.demand)?;
    let parameters = args.lead_times.as_deref().map(read).transpose()?;
    let bucket: Bucket = args.period.parse().map_err(CliError::Failed)?;
    // Batch mode has no tenant configuration: every connector is allowed unless
    // CONNECTORS narrows them, as it does on the server.
    let mut enabled = parse::list(env, vars::CONNECTORS);
    if enabled.is_empty() {
        enabled = optimize::Connector::ALL
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
    }
    let upload = Upload {
        format,
        demand: &demand,
        parameters: parameters.as_deref(),
        bucket,
        target,
        overrides: Overrides {
            horizon: args.horizon,
            review_period: args.review_period,
            season_length: args.season,
            periods_per_year: args.periods_per_year,
            backtest_windows: args.backtest_windows,
            accuracy_floor: args.accuracy_floor,
        },
    };
    let request = optimize::parse_upload(&upload, &enabled, &Limits::default())
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.demand.display())))?;
    let results = optimize::run_request(&request, &EngineForecaster)
        .into_iter()
        .collect::<Result<Vec<SkuResult>, _>>()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let summary = optimize::summarize(&results, request.options.backtest.accuracy_floor);
    let body = if has_extension(&args.out, "json") {
        let doc = serde_json::json!({ "summary": summary, "results": results });
        serde_json::to_string_pretty(&doc)
            .map_err(|e| CliError::Failed(format!("bug: cannot render JSON: {e}")))?
            + "\n"
    } else {
        optimize::to_csv(&results).map_err(|e| CliError::Failed(e.to_string()))?
    };
    let accuracy = summary
        .accuracy
        .map_or("not scored (history too short)".to_owned(), |a| {
            format!("{a:.4}")
        });
    let report = format!(
        "Optimized {} SKUs ({}); backtest accuracy {accuracy} (floor {}): {}",
        summary.skus,
        summary
            .demand_classes
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        summary.accuracy_floor,
        if summary.success {
            "success"
        } else {
            "below the floor"
        },
    );
    if args.out == Path::new("-") {
        out.write_all(body.as_bytes())?;
        eprintln!("{report}");
    } else {
        write_atomic(&args.out, body.as_bytes(), 0o666, Existing::Replace)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", args.out.display())))?;
        writeln!(out, "{report}; policies in {}", args.out.display())?;
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}
