//! The Prometheus text format read back: the samples of a `/metrics` page or of a
//! node-exporter textfile (what `scf doctor` reads of the backups and drills), one sample's
//! value, and what `scf profile` derives from two pages taken a window apart: per-series
//! histogram deltas and their quantiles, interpolated within buckets as Prometheus's
//! `histogram_quantile` does.

use std::collections::BTreeMap;

/// One sample line: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (with any `_bucket`, `_sum` or `_count` suffix).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A line that is not a sample.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line} is not a sample: {text}")]
pub struct ParseError {
    line: usize,
    text: String,
}

/// Every sample of a page; comments and blank lines skipped.
pub fn parse(page: &str) -> Result<Vec<Sample>, ParseError> {
    page.lines()
        .enumerate()
        .filter(|(_, l)| !(l.trim().is_empty() || l.starts_with('#')))
        .map(|(n, l)| {
            sample(l.trim()).ok_or_else(|| ParseError {
                line: n + 1,
                text: l.to_owned(),
            })
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels`.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|have| have == v))
        })
        .map(|s| s.value)
}

fn sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' ']).filter(|end| *end > 0)?;
    let name = line[..name_end].to_owned();
    let (labels, rest) = match line[name_end..].strip_prefix('{') {
        Some(after) => labels(after)?,
        None => (BTreeMap::new(), &line[name_end..]),
    };
    // A timestamp may follow the value.
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// `a="x",b="y"}` and what follows the closing brace.
fn labels(mut text: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut out = BTreeMap::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(rest) = text.strip_prefix('}') {
            return Some((out, rest));
        }
        let (name, after) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        out.insert(name.trim().to_owned(), value);
        text = &after[end + 1..];
    }
}

/// A histogram's cumulative buckets, count and sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `(le, cumulative count)`, by `le`, ending with `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    /// Observations.
    pub count: f64,
    /// Sum of the observations.
    pub sum: f64,
}

/// The histograms of `family` on a page, one per distinct value of the `key` labels
/// (series differing only in other labels are added together).
pub fn histograms(
    samples: &[Sample],
    family: &str,
    key: &[&str],
) -> BTreeMap<Vec<String>, Histogram> {
    let mut out: BTreeMap<Vec<String>, Histogram> = BTreeMap::new();
    let key_of = |s: &Sample| -> Vec<String> {
        key.iter()
            .map(|k| s.labels.get(*k).cloned().unwrap_or_default())
            .collect()
    };
    for s in samples {
        let Some(suffix) = s.name.strip_prefix(family) else {
            continue;
        };
        let h = out.entry(key_of(s)).or_default();
        match suffix {
            "_bucket" => {
                let Some(le) = s.labels.get("le").and_then(|le| match le.as_str() {
                    "+Inf" => Some(f64::INFINITY),
                    v => v.parse().ok(),
                }) else {
                    continue;
                };
                match h.buckets.iter_mut().find(|(b, _)| *b == le) {
                    Some((_, c)) => *c += s.value,
                    None => h.buckets.push((le, s.value)),
                }
            }
            "_count" => h.count += s.value,
            "_sum" => h.sum += s.value,
            _ => {}
        }
    }
    for h in out.values_mut() {
        h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

impl Histogram {
    /// What was observed after `earlier` (the same series on an earlier page; `None`
    /// when the series did not exist yet). A counter that went down was reset (the
    /// process restarted), and everything it holds is new.
    pub fn since(&self, earlier: Option<&Histogram>) -> Histogram {
        let Some(e) = earlier.filter(|e| e.count <= self.count) else {
            return self.clone();
        };
        let before = |le: f64| {
            e.buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map_or(0.0, |(_, c)| *c)
        };
        Histogram {
            buckets: self
                .buckets
                .iter()
                .map(|&(le, c)| (le, (c - before(le)).max(0.0)))
                .collect(),
            count: self.count - e.count,
            sum: (self.sum - e.sum).max(0.0),
        }
    }

    /// Adds `other`'s observations, bucket by bucket.
    pub fn add(&mut self, other: &Histogram) {
        for &(le, c) in &other.buckets {
            match self.buckets.iter_mut().find(|(b, _)| *b == le) {
                Some((_, mine)) => *mine += c,
                None => self.buckets.push((le, c)),
            }
        }
        self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.count += other.count;
        self.sum += other.sum;
    }

    /// The `q` quantile (0 to 1), interpolated linearly within its bucket; `None` with no
    /// observations. One in the `+Inf` bucket is the largest finite bound (the estimate
    /// can say no more).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total;
        let (mut lower, mut below) = (0.0, 0.0);
        for &(le, cumulative) in &self.buckets {
            if cumulative >= rank {
                if le.is_infinite() {
                    return Some(lower);
                }
                let inside = cumulative - below;
                let share = if inside > 0.0 {
                    (rank - below) / inside
                } else {
                    1.0
                };
                return Some(lower + (le - lower) * share);
            }
            (lower, below) = (le, cumulative);
        }
        Some(lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP framework_request_duration_seconds HTTP request duration
# TYPE framework_request_duration_seconds histogram
framework_request_duration_seconds_bucket{method="GET",route="/v1/tenant",status="200",le="0.001"} 40
framework_request_duration_seconds_bucket{method="GET",route="/v1/tenant",status="200",le="0.01"} 90
framework_request_duration_seconds_bucket{method="GET",route="/v1/tenant",status="200",le="+Inf"} 100
framework_request_duration_seconds_sum{method="GET",route="/v1/tenant",status="200"} 0.5
framework_request_duration_seconds_count{method="GET",route="/v1/tenant",status="200"} 100
framework_request_duration_seconds_bucket{method="GET",route="/v1/tenant",status="500",le="0.001"} 0
framework_request_duration_seconds_bucket{method="GET",route="/v1/tenant",status="500",le="0.01"} 10
framework_request_duration_seconds_bucket{method="GET",route="/v1/tenant",status="500",le="+Inf"} 10
framework_request_duration_seconds_sum{method="GET",route="/v1/tenant",status="500"} 0.05
framework_request_duration_seconds_count{method="GET",route="/v1/tenant",status="500"} 10
framework_queue_depth{stream="forecasting"} 3
framework_tenant_requests_total{tenant="a \"quoted\\ name"} 7 1700000000000
"#;

    #[test]
    fn parses_names_labels_escapes_and_timestamps() {
        let samples = parse(PAGE).expect("parses");
        assert_eq!(samples.len(), 12);
        let last = samples.last().expect("a sample");
        assert_eq!(last.name, "framework_tenant_requests_total");
        assert_eq!(last.labels["tenant"], "a \"quoted\\ name");
        assert_eq!(last.value, 7.0);
        assert_eq!(
            parse("up 1\nnot a sample\n"),
            Err(ParseError {
                line: 2,
                text: "not a sample".into()
            })
        );
    }

    #[test]
    fn a_value_is_found_by_name_and_labels() {
        let samples = parse(
            "# TYPE scf_backup_size_bytes gauge\n\
             scf_backup_size_bytes{kind=\"daily\"} 123456\n\
             scf_restore_drill_success 1\n",
        )
        .expect("parses");
        let size = |kind| value(&samples, "scf_backup_size_bytes", &[("kind", kind)]);
        assert_eq!((size("daily"), size("full")), (Some(123456.0), None));
        assert_eq!(value(&samples, "scf_restore_drill_success", &[]), Some(1.0));
        assert!(parse("scf_x{kind=\"daily} 1\n").is_err());
    }

    #[test]
    fn histograms_add_the_series_a_key_leaves_out() {
        let samples = parse(PAGE).expect("parses");
        let by_route = histograms(
            &samples,
            "framework_request_duration_seconds",
            &["method", "route"],
        );
        let h = &by_route[&vec!["GET".to_owned(), "/v1/tenant".to_owned()]];
        assert_eq!(h.count, 110.0);
        assert_eq!(
            h.buckets,
            vec![(0.001, 40.0), (0.01, 100.0), (f64::INFINITY, 110.0)]
        );
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket_as_prometheus_does() {
        let h = Histogram {
            buckets: vec![(0.001, 40.0), (0.01, 90.0), (f64::INFINITY, 100.0)],
            count: 100.0,
            sum: 0.5,
        };
        // Rank 20 of 40 in [0, 1 ms]: halfway.
        assert!((h.quantile(0.2).expect("q") - 0.0005).abs() < 1e-12);
        // Rank 50: 10 of the 50 in (1 ms, 10 ms].
        assert!((h.quantile(0.5).expect("q") - (0.001 + 0.009 * 0.2)).abs() < 1e-12);
        // Rank 99 falls in +Inf: the largest finite bound.
        assert_eq!(h.quantile(0.99), Some(0.01));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn a_delta_subtracts_the_earlier_page_and_a_reset_starts_afresh() {
        let before = Histogram {
            buckets: vec![(0.001, 10.0), (f64::INFINITY, 20.0)],
            count: 20.0,
            sum: 1.0,
        };
        let after = Histogram {
            buckets: vec![(0.001, 15.0), (f64::INFINITY, 30.0)],
            count: 30.0,
            sum: 1.5,
        };
        let d = after.since(Some(&before));
        assert_eq!(d.buckets, vec![(0.001, 5.0), (f64::INFINITY, 10.0)]);
        assert_eq!((d.count, d.sum), (10.0, 0.5));
        assert_eq!(before.since(Some(&after)), before);
        assert_eq!(after.since(None), after);
    }
}
