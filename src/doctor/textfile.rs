//! The Prometheus text exposition format, as node-exporter's textfile collector reads the
//! files the backup script and `scf backup verify` write: `name{label="value"} number`
//! lines, `#` comments. Only what doctor needs: samples with their labels.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// The samples of a file; a line that is not one is an error naming it.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(n, l)| {
            sample(l.trim()).ok_or_else(|| format!("line {} is not a sample: {l}", n + 1))
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
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = rest.split_once("=\"")?;
            let (value, after) = unescape_until_quote(after)?;
            labels.insert(key.trim().to_string(), value);
            rest = after;
        }
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    (!name.is_empty()).then(|| Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// A label value up to its closing quote (`\"`, `\\` and `\n` escaped), and the rest.
fn unescape_until_quote(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_read_with_their_labels() {
        let text = "# HELP scf_backup_size_bytes Bytes of the last set.\n\
                    # TYPE scf_backup_size_bytes gauge\n\
                    scf_backup_size_bytes{kind=\"daily\"} 123456\n\
                    scf_backup_last_success_timestamp_seconds{kind=\"daily\",note=\"a \\\"b\\\", c\"} 1.7e9\n\
                    scf_restore_drill_success 1\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(
            value(&samples, "scf_backup_size_bytes", &[("kind", "daily")]),
            Some(123456.0)
        );
        assert_eq!(
            value(&samples, "scf_backup_size_bytes", &[("kind", "full")]),
            None
        );
        assert_eq!(samples[1].labels["note"], "a \"b\", c");
        assert_eq!(
            value(&samples, "scf_backup_last_success_timestamp_seconds", &[]),
            Some(1.7e9)
        );
        assert_eq!(value(&samples, "scf_restore_drill_success", &[]), Some(1.0));
        assert!(parse("scf_x{kind=\"daily} 1\n").is_err());
        assert_eq!(
            parse("garbage here\n").unwrap_err(),
            "line 1 is not a sample: garbage here"
        );
    }
}
