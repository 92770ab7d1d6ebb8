//! The `promtool test rules` file of a rule file: for each of its alerts (the host's, from
//! [`super::rules::host_groups`], or the Kubernetes ones), a test
//! that it is quiet just before its `for` has elapsed and firing after, with its labels
//! and expanded annotations, and a test that it stays quiet on calm data.

use super::alert::{Alert, annotations, rule_labels};
use super::schema::{AlertTest, ExpectedAlert, InputSeries, TestFile, TestGroup};
use crate::config::values::HttpUrl;

/// `{{ $labels.NAME }}` replaced by the label's value, as Prometheus expands it.
fn expand(text: &str, labels: &[(&str, String)]) -> String {
    labels.iter().fold(text.to_string(), |t, (k, v)| {
        t.replace(&format!("{{{{ $labels.{k} }}}}"), v)
    })
}

/// The `promtool test rules` file of `rule_file`, which holds `alerts`: for each, a firing
/// test (quiet just before `for` has elapsed, firing after) and a calm one.
pub fn test_file(rule_file: &str, runbooks: &HttpUrl, alerts: Vec<Alert>) -> TestFile {
    let mut tests = Vec::new();
    for a in alerts {
        let at = |minutes: u32| format!("{minutes}m");
        let check = |minutes, exp_alerts| AlertTest {
            eval_time: at(minutes),
            alertname: a.name.into(),
            exp_alerts,
        };
        let mut exp_labels = rule_labels(a.scaling);
        exp_labels.extend(a.labels.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let expected = ExpectedAlert {
            exp_labels,
            exp_annotations: annotations(
                &a,
                &expand(&a.summary, &a.labels),
                &expand(&a.description, &a.labels),
                runbooks,
            ),
        };
        let series = |list: &[(String, String)]| {
            list.iter()
                .map(|(series, values)| InputSeries {
                    series: series.clone(),
                    values: values.clone(),
                })
                .collect()
        };
        tests.push(TestGroup {
            name: format!("{} fires", a.name),
            interval: "1m".into(),
            input_series: series(&a.firing),
            alert_rule_test: vec![
                check(a.minutes - 1, Vec::new()),
                check(a.minutes + 10, vec![expected]),
            ],
        });
        tests.push(TestGroup {
            name: format!("{} stays quiet", a.name),
            interval: "1m".into(),
            input_series: series(&a.calm),
            alert_rule_test: vec![check(a.minutes + 10, Vec::new())],
        });
    }
    TestFile {
        rule_files: vec![rule_file.into()],
        evaluation_interval: "1m".into(),
        tests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backup;
    use crate::targets::prometheus::rules::every_alert;

    #[test]
    fn every_alert_has_a_firing_and_a_quiet_test() {
        let runbooks = "https://example.com/runbooks.md".parse().expect("url");
        let backup: Backup = toml::from_str(
            "schedule = \"0 2 * * *\"\nfull_schedule = \"0 1 * * 0\"\ndir = \"/b\"\nretention = \"30d\"",
        )
        .expect("backup");
        let file = test_file("x.rules.yml", &runbooks, every_alert(Some(&backup)));
        let all = every_alert(Some(&backup));
        assert_eq!(
            all.len(),
            every_alert(None).len() + 4,
            "two kinds, two drill alerts"
        );
        assert_eq!(file.tests.len(), 2 * all.len());
        for a in all {
            assert!(
                file.tests
                    .iter()
                    .any(|t| t.name == format!("{} fires", a.name)
                        && t.alert_rule_test.iter().any(|c| !c.exp_alerts.is_empty()))
            );
            assert!(
                file.tests
                    .iter()
                    .any(|t| t.name == format!("{} stays quiet", a.name))
            );
        }
    }
}
