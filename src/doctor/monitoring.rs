//! Post-deployment: Prometheus scrapes every target up and has its alert rules loaded,
//! and Alertmanager answers and is the one Prometheus sends alerts to, by their HTTP APIs
//! on this host's loopback.

use super::observe;
use super::report::Check;
use crate::model::{Model, Role};
use crate::targets::alertmanager::LISTEN as ALERTMANAGER;
use crate::targets::prometheus::metrics::PROMETHEUS_PORT;
use serde_json::Value;

/// Prometheus's and Alertmanager's checks, on the host that runs them.
pub fn checks(model: &Model) -> Vec<Check> {
    if !(model.serves(Role::Monitoring) && model.monitoring.prometheus) {
        return Vec::new();
    }
    let prometheus = format!("127.0.0.1:{PROMETHEUS_PORT}");
    let api =
        |path: &str| observe::get(&prometheus, path).and_then(|(code, body)| json(code, &body));
    vec![
        judge_targets(api("/api/v1/targets?state=active")),
        judge_rules(api("/api/v1/rules?type=alert")),
        judge_alertmanager(
            observe::get(ALERTMANAGER, "/-/healthy").map(|(code, _)| code),
            api("/api/v1/alertmanagers"),
        ),
    ]
}

/// The `data` of a Prometheus API answer.
fn json(code: u16, body: &str) -> Result<Value, String> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("HTTP {code}, not the API's JSON: {e}"))?;
    match (code, value.get("status").and_then(Value::as_str)) {
        (200, Some("success")) => Ok(value["data"].clone()),
        _ => Err(format!(
            "HTTP {code}: {}",
            value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error given")
        )),
    }
}

fn unreachable(name: &str, e: String) -> Check {
    Check::fail(
        name,
        e,
        "`systemctl status prometheus`; `journalctl -u prometheus -n 50`",
    )
}

/// Every active target is up.
fn judge_targets(data: Result<Value, String>) -> Check {
    let name = "prometheus targets";
    let data = match data {
        Ok(data) => data,
        Err(e) => return unreachable(name, e),
    };
    let targets = data["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let text = |t: &Value, key: &str| t[key].as_str().unwrap_or("").to_string();
    let mut up = Vec::new();
    let mut down = Vec::new();
    let mut pending = Vec::new();
    for t in &targets {
        let job = t["labels"]["job"].as_str().unwrap_or("?").to_string();
        match text(t, "health").as_str() {
            "up" => up.push(job),
            "unknown" => pending.push(job),
            _ => down.push(format!(
                "{job} ({}): {}",
                text(t, "scrapeUrl"),
                text(t, "lastError")
            )),
        }
    }
    if !down.is_empty() {
        Check::fail(
            name,
            format!("down: {}", down.join("; ")),
            "start the service behind each (`systemctl status` its exporter or server); Prometheus's /targets page shows the same",
        )
    } else if targets.is_empty() {
        Check::fail(
            name,
            "Prometheus scrapes nothing",
            "`promtool check config /etc/prometheus/prometheus.yml`, then `scf apply` to rewrite it",
        )
    } else if !pending.is_empty() {
        Check::warn(
            name,
            format!("not scraped yet: {}", pending.join(", ")),
            "Prometheus started less than a scrape interval ago: run `scf doctor` again in a minute",
        )
    } else {
        // A job scraped on several hosts of a fleet is named once, with its count.
        let mut jobs: std::collections::BTreeMap<&str, usize> = Default::default();
        for job in &up {
            *jobs.entry(job.as_str()).or_default() += 1;
        }
        let jobs: Vec<String> = jobs
            .into_iter()
            .map(|(job, n)| match n {
                1 => job.to_string(),
                n => format!("{job} ({n})"),
            })
            .collect();
        Check::pass(name, format!("{} up: {}", up.len(), jobs.join(", ")))
    }
}

/// The alert rules are loaded, none failing to evaluate.
fn judge_rules(data: Result<Value, String>) -> Check {
    let name = "prometheus rules";
    let data = match data {
        Ok(data) => data,
        Err(e) => return unreachable(name, e),
    };
    let groups = data["groups"].as_array().cloned().unwrap_or_default();
    let rules: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    let broken: Vec<String> = rules
        .iter()
        .filter(|r| {
            r["health"]
                .as_str()
                .is_some_and(|h| h != "ok" && h != "unknown")
        })
        .map(|r| {
            format!(
                "{}: {}",
                r["name"].as_str().unwrap_or("?"),
                r["lastError"].as_str().unwrap_or("")
            )
        })
        .collect();
    if rules.is_empty() {
        Check::fail(
            name,
            "no alert rules loaded",
            "`promtool check rules /etc/prometheus/*.rules.yml` says why; `scf apply` rewrites them, then `systemctl reload prometheus`",
        )
    } else if !broken.is_empty() {
        Check::fail(
            name,
            format!("failing to evaluate: {}", broken.join("; ")),
            "`promtool test rules` on the generated rule tests; `journalctl -u prometheus`",
        )
    } else {
        Check::pass(
            name,
            format!(
                "{} alert rules in {} groups loaded",
                rules.len(),
                groups.len()
            ),
        )
    }
}

/// Alertmanager answers `/-/healthy`, and Prometheus sends to it.
fn judge_alertmanager(healthy: Result<u16, String>, known: Result<Value, String>) -> Check {
    let name = "alertmanager";
    let fix =
        "`systemctl status prometheus-alertmanager`; `journalctl -u prometheus-alertmanager -n 50`";
    match healthy {
        Ok(200) => {}
        Ok(code) => {
            return Check::fail(
                name,
                format!("{ALERTMANAGER}/-/healthy answered HTTP {code}"),
                fix,
            );
        }
        Err(e) => return Check::fail(name, e, fix),
    }
    let urls: Vec<String> = known
        .as_ref()
        .ok()
        .and_then(|data| data["activeAlertmanagers"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|a| a["url"].as_str().map(String::from))
        .collect();
    if urls.iter().any(|u| u.contains(ALERTMANAGER)) {
        Check::pass(
            name,
            format!("healthy at {ALERTMANAGER}, and Prometheus sends alerts to it"),
        )
    } else {
        Check::fail(
            name,
            format!(
                "healthy at {ALERTMANAGER}, but Prometheus sends alerts to {}",
                match (&known, urls.is_empty()) {
                    (Err(e), _) => format!("no Alertmanager it can name ({e})"),
                    (Ok(_), true) => "no Alertmanager".to_string(),
                    (Ok(_), false) => urls.join(", "),
                }
            ),
            "the `alerting:` of /etc/prometheus/prometheus.yml must name it: `scf apply` rewrites it",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    fn data(text: &str) -> Result<Value, String> {
        json(200, text)
    }

    #[test]
    fn a_target_down_fails_with_its_error() {
        let up = data(
            r#"{"status":"success","data":{"activeTargets":[
            {"labels":{"job":"framework"},"scrapeUrl":"http://127.0.0.1:5000/metrics","health":"up","lastError":""},
            {"labels":{"job":"node"},"scrapeUrl":"http://127.0.0.1:9100/metrics","health":"up","lastError":""},
            {"labels":{"job":"node"},"scrapeUrl":"http://10.0.0.2:9100/metrics","health":"up","lastError":""}]}}"#,
        );
        let ok = judge_targets(up);
        assert_eq!(
            (ok.status, ok.evidence.as_str()),
            (Status::Pass, "3 up: framework, node (2)")
        );
        let down = judge_targets(data(
            r#"{"status":"success","data":{"activeTargets":[
            {"labels":{"job":"redis"},"scrapeUrl":"http://127.0.0.1:9121/metrics","health":"down","lastError":"connection refused"}]}}"#,
        ));
        assert_eq!(down.status, Status::Fail);
        assert_eq!(
            down.evidence,
            "down: redis (http://127.0.0.1:9121/metrics): connection refused"
        );
        let fresh = judge_targets(data(
            r#"{"status":"success","data":{"activeTargets":[
            {"labels":{"job":"node"},"health":"unknown"}]}}"#,
        ));
        assert_eq!(fresh.status, Status::Warn);
        assert_eq!(
            judge_targets(data(r#"{"status":"success","data":{"activeTargets":[]}}"#)).status,
            Status::Fail
        );
        assert_eq!(
            judge_targets(Err("connection refused".into())).status,
            Status::Fail
        );
        assert!(
            json(503, r#"{"status":"error","error":"not ready"}"#)
                .unwrap_err()
                .contains("not ready")
        );
    }

    #[test]
    fn rules_must_be_loaded_and_evaluating() {
        let loaded = judge_rules(data(
            r#"{"status":"success","data":{"groups":[
            {"name":"a","rules":[{"name":"HighErrorRate","health":"ok"},{"name":"BackupStale","health":"unknown"}]}]}}"#,
        ));
        assert_eq!(
            (loaded.status, loaded.evidence.as_str()),
            (Status::Pass, "2 alert rules in 1 groups loaded")
        );
        let none = judge_rules(data(r#"{"status":"success","data":{"groups":[]}}"#));
        assert_eq!(
            (none.status, none.evidence.as_str()),
            (Status::Fail, "no alert rules loaded")
        );
        let broken = judge_rules(data(
            r#"{"status":"success","data":{"groups":[
            {"name":"a","rules":[{"name":"X","health":"err","lastError":"bad"}]}]}}"#,
        ));
        assert_eq!(broken.evidence, "failing to evaluate: X: bad");
    }

    #[test]
    fn alertmanager_must_answer_and_be_prometheus_s() {
        let known = || {
            data(
                r#"{"status":"success","data":{"activeAlertmanagers":[{"url":"http://127.0.0.1:9093/api/v2/alerts"}]}}"#,
            )
        };
        assert_eq!(judge_alertmanager(Ok(200), known()).status, Status::Pass);
        assert_eq!(
            judge_alertmanager(Err("connection refused".into()), known()).status,
            Status::Fail
        );
        let unknown = judge_alertmanager(
            Ok(200),
            data(r#"{"status":"success","data":{"activeAlertmanagers":[]}}"#),
        );
        assert_eq!(
            unknown.evidence,
            "healthy at 127.0.0.1:9093, but Prometheus sends alerts to no Alertmanager"
        );
    }
}
