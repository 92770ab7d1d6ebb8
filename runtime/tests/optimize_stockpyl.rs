//! The inventory agent's formulas against stockpyl (the venv `scripts/install-tools`
//! builds): EOQ, the standard normal loss function, the EOQ+SS (r,Q) approximation, the
//! newsvendor base-stock level as the (R,S) order-up-to level, and the fill-rate reorder
//! point's expected shortage per cycle, on a table of cases.

use std::io::Write;
use std::process::{Command, Stdio};

use scf_runtime::optimize::Target;
use scf_runtime::optimize::inventory::{
    self, Costs, DemandModel, order_up_to_policy, reorder_policy, standard_normal_loss,
};
use serde_json::{Value, json};

const SCRIPT: &str = r#"
import json, sys
from stockpyl.eoq import economic_order_quantity
from stockpyl.loss_functions import standard_normal_loss, normal_loss
from stockpyl.newsvendor import newsvendor_normal
from stockpyl.rq import r_q_eoqss_approximation
c = json.load(sys.stdin)
print(json.dumps({
    "eoq": [float(economic_order_quantity(k, h, d)[0]) for k, h, d in c["eoq"]],
    "loss": [float(standard_normal_loss(z)[0]) for z in c["loss"]],
    "rq": [[float(v) for v in r_q_eoqss_approximation(h, p, k, m, s, l)] for h, p, k, m, s, l in c["rq"]],
    "base_stock": [float(newsvendor_normal(h, p, m, s)[0]) for h, p, m, s in c["base_stock"]],
    "shortage": [float(normal_loss(r, m, s)[0]) for r, m, s in c["shortage"]],
}))
"#;

/// stockpyl's answers to `cases`, or `None` (with the reason printed) when the venv is
/// absent outside CI.
fn stockpyl(cases: &Value) -> Option<Value> {
    let python = scf_testkit::tools::tools_dir()
        .map(|d| d.join("stockpyl/bin/python"))
        .filter(|p| p.is_file());
    let Some(python) = python else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the stockpyl venv is missing: run scripts/install-tools"
        );
        eprintln!("skipping the stockpyl cross-check: no stockpyl venv; run scripts/install-tools");
        return None;
    };
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(cases.to_string().as_bytes())
        .expect("write cases");
    let out = child.wait_with_output().expect("python");
    assert!(out.status.success(), "stockpyl failed");
    Some(serde_json::from_slice(&out.stdout).expect("stockpyl JSON"))
}

fn close(ours: f64, theirs: &Value, what: &str) {
    let theirs = theirs.as_f64().expect("number");
    assert!(
        (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0),
        "{what}: ours {ours}, stockpyl {theirs}"
    );
}

fn model(mean: f64, sd: f64, lead_time: f64) -> DemandModel {
    DemandModel {
        mean,
        error_sd: sd,
        lead_time_mean: lead_time,
        lead_time_sd: 0.0,
    }
}

#[test]
fn formulas_match_stockpyl() {
    // (K, h, D): the textbook case and some others.
    let eoq = [
        (8.0, 0.225, 1300.0),
        (50.0, 0.0048, 120.0),
        (500.0, 2.5, 36_000.0),
    ];
    let loss = [-2.0, -0.5, 0.0, 0.8, 1.645, 3.1];
    // (h, p, K, mean, sd, L): Snyder & Shen example 5.5, then weekly-period cases.
    let rq = [
        (0.225, 7.5, 8.0, 1300.0, 150.0, 1.0 / 12.0),
        (0.01, 0.19, 50.0, 100.0, 20.0, 3.0),
        (0.5, 4.5, 20.0, 12.0, 5.0, 1.5),
    ];
    // (h, p, mean per period, sd per period, R + L).
    let base_stock = [
        (0.18, 0.70, 50.0, 8.0, 1.0),
        (1.0, 19.0, 40.0, 10.0, 3.0),
        (0.1, 0.9, 7.0, 2.6, 5.0),
    ];
    // Fill rates: (β, mean, sd, L, Q).
    let fill = [
        (0.98, 100.0, 20.0, 2.0, 500.0),
        (0.95, 12.0, 5.0, 1.0, 30.0),
        (0.995, 40.0, 15.0, 4.0, 160.0),
    ];
    let ours_fill: Vec<(f64, f64, f64)> = fill
        .iter()
        .map(|&(beta, m, s, l, q)| {
            let p = reorder_policy(&model(m, s, l), Target::FillRate(beta), (0.0, 0.0), q);
            (p.reorder_point, m * l, s * l.sqrt())
        })
        .collect();
    let cases = json!({
        "eoq": eoq,
        "loss": loss,
        "rq": rq,
        "base_stock": base_stock.map(|(h, p, m, s, t)| (h, p, m * t, s * f64::sqrt(t))),
        "shortage": ours_fill,
    });
    let Some(theirs) = stockpyl(&cases) else {
        return;
    };
    for (i, &(k, h, d)) in eoq.iter().enumerate() {
        close(inventory::eoq(k, d, h), &theirs["eoq"][i], "EOQ");
    }
    for (i, &z) in loss.iter().enumerate() {
        close(standard_normal_loss(z), &theirs["loss"][i], "G(z)");
    }
    for (i, &(h, p, k, m, s, l)) in rq.iter().enumerate() {
        let costs = Costs {
            ordering_cost: k,
            holding_per_period: h,
            moq: 0.0,
        };
        let (q, _) = inventory::order_quantity(&costs, m);
        let r = reorder_policy(
            &model(m, s, l),
            Target::CycleServiceLevel(p / (p + h)),
            (0.0, 0.0),
            q,
        );
        close(r.reorder_point, &theirs["rq"][i][0], "r of (r,Q)");
        close(q, &theirs["rq"][i][1], "Q of (r,Q)");
    }
    for (i, &(h, p, m, s, t)) in base_stock.iter().enumerate() {
        // R + L periods as a review of t − 1 plus a lead time of 1.
        let policy = order_up_to_policy(
            &model(m, s, 1.0),
            Target::CycleServiceLevel(p / (p + h)),
            t - 1.0,
        );
        close(
            policy.order_up_to,
            &theirs["base_stock"][i],
            "order-up-to level",
        );
    }
    for (i, &(beta, _, _, _, q)) in fill.iter().enumerate() {
        // Expected shortage per cycle at our reorder point is the (1 − β)·Q the fill rate allows.
        close(
            (1.0 - beta) * q,
            &theirs["shortage"][i],
            "shortage per cycle",
        );
    }
}
