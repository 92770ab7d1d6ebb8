//! Implementation runs end to end without a server: connector fixtures import to the
//! documented consumption, computed policies replayed over hold-out demand deliver their
//! service target within 2 points, results are deterministic, and `scf optimize` writes
//! CSV and JSON and names bad input lines.

use std::collections::HashMap;
use std::path::Path;

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scf_runtime::cli::{Command, run_command};
use scf_runtime::optimize::simulate::{Outcome, simulate};
use scf_runtime::optimize::{
    self, Bucket, Connector, EngineForecaster, Format, InputError, Limits, Options, Overrides,
    SkuInput, SkuParams, Spacing, Target, Upload,
};

const ALL: [&str; 3] = ["sap", "oracle", "quickbooks"];

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/connectors")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import(
    connector: Connector,
    file: &str,
    enabled: &[&str],
) -> Result<Vec<(String, String, Vec<f64>)>, InputError> {
    let demand = fixture(file);
    let upload = Upload {
        format: Format::Connector(connector),
        demand: &demand,
        parameters: None,
        bucket: Bucket::Week,
        target: Target::CycleServiceLevel(0.95),
        overrides: Overrides::default(),
    };
    let enabled: Vec<String> = enabled.iter().map(|s| (*s).to_owned()).collect();
    let request = optimize::parse_upload(&upload, &enabled, &Limits::default())?;
    assert_eq!(request.spacing, Spacing::Days { step: 7 });
    Ok(request
        .skus
        .into_iter()
        .map(|s| (s.sku, s.first_period, s.history))
        .collect())
}

fn series(sku: &str, first: &str, history: &[f64]) -> (String, String, Vec<f64>) {
    (sku.to_owned(), first.to_owned(), history.to_vec())
}

#[test]
fn sap_mb51_goods_issues_less_reversals_by_week() {
    // Week of 1 Jan: 261 (12) + 601 (3); week of 8 Jan: 201 (1.000,000 = 1000) less the
    // 262 reversal (2); the 101 receipt and 311 transfer are not demand.
    assert_eq!(
        import(Connector::Sap, "sap_mb51.txt", &ALL).expect("import"),
        vec![
            series("MAT-100", "2024-01-01", &[15.0, 998.0, 0.0]),
            series("MAT-200", "2024-01-15", &[5.0]),
        ]
    );
}

#[test]
fn oracle_issues_less_returns_by_week() {
    assert_eq!(
        import(Connector::Oracle, "oracle_mtl_transactions.csv", &ALL).expect("import"),
        vec![
            series("AS54888", "2024-01-01", &[8.0, 4.0]),
            series("CM13139", "2024-01-08", &[6.0]),
        ]
    );
}

#[test]
fn quickbooks_report_groups_lines_under_product_headings() {
    assert_eq!(
        import(
            Connector::Quickbooks,
            "quickbooks_sales_by_product_detail.csv",
            &ALL
        )
        .expect("import"),
        vec![
            series("Design", "2024-01-15", &[1200.0]),
            series("Fountain Pump", "2024-01-01", &[3.0, 0.0, 0.0]),
            series("Rock Fountain", "2024-01-08", &[0.0, 0.0]),
        ]
    );
}

#[test]
fn a_connector_the_tenant_did_not_enable_is_refused() {
    let e = import(
        Connector::Oracle,
        "oracle_mtl_transactions.csv",
        &["sap", "quickbooks"],
    )
    .expect_err("refused");
    assert_eq!(e, InputError::ConnectorDisabled("oracle".to_owned()));
    assert!(e.to_string().contains("framework.toml"), "{e}");
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A Poisson draw (Knuth; small means).
fn poisson(rng: &mut StdRng, mean: f64) -> f64 {
    let limit = (-mean).exp();
    let (mut k, mut p) = (0.0, 1.0);
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1.0;
    }
}

const TRAIN: usize = 156;
const HOLD_OUT: usize = 400;
const LEAD_TIME: usize = 2;

/// SKUs of stationary demand: normal ones of 20–130 units (CV 0.25) and Poisson ones of
/// 6–13, each with `TRAIN` periods to fit and `HOLD_OUT` to replay.
fn fixtures() -> Vec<(SkuInput, Vec<f64>)> {
    let mut rng = StdRng::seed_from_u64(20_240_101);
    let mut out = Vec::new();
    for k in 0..24 {
        let poisson_sku = k % 3 == 2;
        let mean = if poisson_sku {
            6.0 + k as f64 / 3.0
        } else {
            20.0 + 5.0 * k as f64
        };
        let demand: Vec<f64> = (0..TRAIN + HOLD_OUT)
            .map(|_| {
                if poisson_sku {
                    poisson(&mut rng, mean)
                } else {
                    (mean + 0.25 * mean * normal(&mut rng)).max(0.0).round()
                }
            })
            .collect();
        let sku = SkuInput {
            sku: format!("SKU-{k:02}"),
            first_period: "1".to_owned(),
            last_period: TRAIN.to_string(),
            history: demand[..TRAIN].to_vec(),
            params: SkuParams {
                lead_time_mean: LEAD_TIME as f64,
                ordering_cost: 5.0,
                ..SkuParams::default()
            },
        };
        out.push((sku, demand[TRAIN..].to_vec()));
    }
    out
}

fn options(target: Target) -> Options {
    let overrides = Overrides {
        horizon: Some(8),
        backtest_windows: Some(0),
        ..Overrides::default()
    };
    Options::new(target, Spacing::Index { step: 1 }, &overrides).expect("options")
}

/// Replays every fixture's hold-out through its computed policies: pooled (R,S) and
/// (s,Q) outcomes.
fn replay(target: Target) -> (Outcome, Outcome) {
    let options = options(target);
    let zero = Outcome {
        cycles: 0,
        stockout_cycles: 0,
        demand: 0.0,
        filled: 0.0,
    };
    let add = |a: Outcome, b: Outcome| Outcome {
        cycles: a.cycles + b.cycles,
        stockout_cycles: a.stockout_cycles + b.stockout_cycles,
        demand: a.demand + b.demand,
        filled: a.filled + b.filled,
    };
    fixtures()
        .iter()
        .fold((zero, zero), |(rs, sq), (sku, hold_out)| {
            let r = optimize::run_sku(sku, &options, &EngineForecaster).expect("run");
            (
                add(rs, simulate(&r.order_up_to_policy(), hold_out, LEAD_TIME)),
                add(sq, simulate(&r.reorder_policy(), hold_out, LEAD_TIME)),
            )
        })
}

#[test]
fn policies_meet_a_cycle_service_level_within_two_points() {
    let (rs, sq) = replay(Target::CycleServiceLevel(0.95));
    let rs_level = rs.cycle_service_level().expect("cycles");
    let sq_level = sq.cycle_service_level().expect("cycles");
    assert!(sq.cycles > 1000, "{sq:?}");
    assert!(
        (rs_level - 0.95).abs() <= 0.02,
        "(R,S) achieved {rs_level:.4}: {rs:?}"
    );
    assert!(
        (sq_level - 0.95).abs() <= 0.02,
        "(s,Q) achieved {sq_level:.4}: {sq:?}"
    );
}

#[test]
fn policies_meet_a_fill_rate_within_two_points() {
    let (rs, sq) = replay(Target::FillRate(0.98));
    let rs_rate = rs.fill_rate().expect("demand");
    let sq_rate = sq.fill_rate().expect("demand");
    assert!(
        (rs_rate - 0.98).abs() <= 0.02,
        "(R,S) achieved {rs_rate:.4}: {rs:?}"
    );
    assert!(
        (sq_rate - 0.98).abs() <= 0.02,
        "(s,Q) achieved {sq_rate:.4}: {sq:?}"
    );
}

#[test]
fn a_redelivered_sku_recomputes_the_same_result() {
    let (sku, _) = fixtures().swap_remove(0);
    let options = Options {
        backtest: optimize::BacktestOptions::default(),
        ..options(Target::CycleServiceLevel(0.9))
    };
    let a = optimize::run_sku(&sku, &options, &EngineForecaster).expect("run");
    let b = optimize::run_sku(&sku, &options, &EngineForecaster).expect("run");
    assert_eq!(a, b);
    let json = serde_json::to_string(&a).expect("json");
    let back: optimize::SkuResult = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, a);
    assert_eq!(serde_json::to_string(&back).expect("json"), json);
    assert!(a.accuracy.expect("scored") > 0.6, "{a:?}");
    assert_eq!(a.demand_class, optimize::DemandClass::Smooth);
}

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

async fn scf(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<String, String> {
    let cli = Cli::try_parse_from(std::iter::once("scf").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut out = Vec::new();
    let cwd_args = dir; // paths below are absolute; kept for the message
    run_command(cli.command, &|k| env.get(k).cloned(), &mut out)
        .await
        .map_err(|e| format!("{e} (in {})", cwd_args.display()))?;
    Ok(String::from_utf8(out).expect("utf8"))
}

/// `scf optimize` on `dir`'s demand.csv and params.csv at a 0.95 service level over six
/// periods, writing `out` in `dir`.
async fn optimize_to(dir: &Path, out: &str) -> Result<String, String> {
    let path = |name: &str| dir.join(name).to_str().expect("utf8").to_owned();
    let args = [
        "optimize",
        "--demand",
        &path("demand.csv"),
        "--lead-times",
        &path("params.csv"),
        "--service-level",
        "0.95",
        "--horizon",
        "6",
        "--out",
        &path(out),
    ];
    scf(dir, &[], &args).await
}

#[tokio::test]
async fn scf_optimize_writes_policies_as_csv_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf8").to_owned();
    let mut csv = String::from("sku,period,quantity\n");
    for t in 1..=60 {
        csv.push_str(&format!("steady,{t},{}\n", 40 + (t * 7) % 11));
        if t % 4 == 0 {
            csv.push_str(&format!("sparse,{t},{}\n", 3 + t % 3));
        }
    }
    std::fs::write(path("demand.csv"), csv).expect("write");
    std::fs::write(path("params.csv"), "sku,lead_time_mean,moq\nsteady,3,100\n").expect("write");
    let report = optimize_to(dir.path(), "policy.csv")
        .await
        .expect("optimize");
    assert!(
        report.starts_with("Optimized 2 SKUs (1 intermittent, 1 smooth); backtest accuracy 0."),
        "{report}"
    );
    assert!(
        report.ends_with(&format!("policies in {}\n", path("policy.csv"))),
        "{report}"
    );
    let mut reader = csv::Reader::from_path(path("policy.csv")).expect("policy");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header[..4],
        ["sku", "demand_class", "model", "history_periods"]
    );
    assert_eq!(header.last().map(String::as_str), Some("forecast_6"));
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    let col = |row: &[String], name: &str| {
        row[header.iter().position(|h| h == name).expect("column")]
            .parse::<f64>()
            .expect("number")
    };
    let steady = rows.iter().find(|r| r[0] == "steady").expect("steady row");
    assert_eq!(col(steady, "lead_time_mean"), 3.0);
    assert_eq!(col(steady, "order_quantity") % 100.0, 0.0, "MOQ multiples");
    assert!(
        col(steady, "reorder_point") > 3.0 * 40.0,
        "covers lead-time demand"
    );
    assert!(col(steady, "order_up_to") > col(steady, "reorder_point"));
    // JSON by extension, with the summary; the same numbers as the CSV.
    optimize_to(dir.path(), "policy.json")
        .await
        .expect("optimize json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("policy.json")).expect("json"))
            .expect("parse");
    assert_eq!(doc["summary"]["skus"], 2);
    assert_eq!(doc["results"][1]["sku"], "steady");
    assert_eq!(
        doc["results"][1]["order_up_to"].as_f64(),
        Some(col(steady, "order_up_to"))
    );
    assert_eq!(doc["results"][1]["target"]["cycle_service_level"], 0.95);
}

#[tokio::test]
async fn scf_optimize_names_bad_lines_and_refuses_disabled_connectors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demand = dir.path().join("demand.csv");
    std::fs::write(&demand, "sku,period,quantity\na,1,4\na,2,-3\n").expect("write");
    let demand = demand.to_str().expect("utf8");
    let e = scf(
        dir.path(),
        &[],
        &[
            "optimize",
            "--demand",
            demand,
            "--fill-rate",
            "0.98",
            "--out",
            "-",
        ],
    )
    .await
    .expect_err("negative quantity");
    assert!(
        e.contains(
            "demand.csv: demand line 3, column `quantity`: `-3` is not a number from 0 to 1e12"
        ),
        "{e}"
    );
    let e = scf(
        dir.path(),
        &[],
        &[
            "optimize",
            "--demand",
            demand,
            "--service-level",
            "1.5",
            "--out",
            "-",
        ],
    )
    .await
    .expect_err("bad level");
    assert!(e.contains("strictly between 0 and 1"), "{e}");
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/connectors/oracle_mtl_transactions.csv");
    let e = scf(
        dir.path(),
        &[("CONNECTORS", "sap")],
        &[
            "optimize",
            "--demand",
            oracle.to_str().expect("utf8"),
            "--format",
            "oracle",
            "--service-level",
            "0.9",
            "--out",
            "-",
        ],
    )
    .await
    .expect_err("disabled");
    assert!(e.contains("connector `oracle` is not enabled"), "{e}");
    let csv = scf(
        dir.path(),
        &[],
        &[
            "optimize",
            "--demand",
            oracle.to_str().expect("utf8"),
            "--format",
            "oracle",
            "--service-level",
            "0.9",
            "--out",
            "-",
        ],
    )
    .await
    .expect("enabled when CONNECTORS is unset");
    assert!(
        csv.lines().nth(1).expect("row").starts_with("AS54888,"),
        "{csv}"
    );
}
