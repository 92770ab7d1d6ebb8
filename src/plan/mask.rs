//! Showing secret-bearing files without their secrets, for both deploy targets (a host's
//! files, a cluster's Secret). A desired file carries markers
//! where secrets go; a file on disk carries the values. Each marker line becomes a pattern
//! (the literal text around the marker), and any line of the file on disk that matches it
//! has its value replaced by `(sensitive)`, or by a keyed fingerprint when the caller can
//! resolve secrets, so a changed secret shows as a changed line and nothing more.

use crate::secret;

const SHOWN: &str = "(sensitive)";

/// How a secret value is shown: `(sensitive)`, or `(sensitive, fp FP)` with a fingerprint.
pub fn shown(fingerprint: Option<String>) -> String {
    fingerprint.map_or_else(|| SHOWN.to_string(), |fp| format!("(sensitive, fp {fp})"))
}

/// The literal text before and after the marker on each marker line of a desired file.
fn patterns(desired: &str) -> Vec<(String, String)> {
    desired
        .lines()
        .filter_map(|line| {
            let refs = secret::references(line);
            let r = refs.first()?;
            let marker = secret::marker(r);
            let (before, after) = line.split_once(&marker)?;
            Some((before.to_string(), after.to_string()))
        })
        .collect()
}

/// The desired text with each marker shown as `(sensitive)` (or as `fingerprint(ref)`).
pub fn mask_desired(
    desired: &str,
    fingerprint: &dyn Fn(&crate::config::values::SecretRef) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(desired.len());
    for line in desired.split_inclusive('\n') {
        let mut rest = line.to_string();
        for r in secret::references(line) {
            rest = rest.replacen(&secret::marker(&r), &shown(fingerprint(&r)), 1);
        }
        out.push_str(&rest);
    }
    out
}

/// The text of a file on disk with every value at a marker position hidden, for the
/// markers of `desired`. `fingerprint` (when secrets are resolvable) labels each value.
pub fn mask_actual(
    actual: &str,
    desired: &str,
    fingerprint: &dyn Fn(&str) -> Option<String>,
) -> String {
    let patterns = patterns(desired);
    actual
        .split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches('\n');
            let newline = &line[body.len()..];
            for (before, after) in &patterns {
                if body.len() >= before.len() + after.len()
                    && body.starts_with(before.as_str())
                    && body.ends_with(after.as_str())
                {
                    let value = &body[before.len()..body.len() - after.len()];
                    return format!("{before}{}{after}{newline}", shown(fingerprint(value)));
                }
            }
            line.to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_at_marker_positions_are_hidden() {
        let r: crate::config::values::SecretRef = "env:X".parse().unwrap();
        let desired = format!("A=1\nPASSWORD={}\n", secret::marker(&r));
        let actual = "A=2\nPASSWORD=hunter2\nB=3\n";
        let masked = mask_actual(actual, &desired, &|_| None);
        assert_eq!(masked, "A=2\nPASSWORD=(sensitive)\nB=3\n");
        assert_eq!(
            mask_desired(&desired, &|_| None),
            "A=1\nPASSWORD=(sensitive)\n"
        );
        let with_fp = mask_actual(actual, &desired, &|v| {
            Some(secret::fingerprint(b"key", v.as_bytes()))
        });
        assert!(!with_fp.contains("hunter2") && with_fp.contains("fp "));
    }
}
