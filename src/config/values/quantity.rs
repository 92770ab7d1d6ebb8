//! Kubernetes resource quantities (`500m`, `1`, `2Gi`), with a numeric view so the
//! parity test can compare them with the systemd unit's limits.

use super::value::{ValueError, string_value};
use std::fmt;
use std::str::FromStr;

/// A Kubernetes quantity, in the canonical subset scf accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quantity(String);

const SUFFIXES: [(&str, f64); 12] = [
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", 1_073_741_824.0),
    ("Ti", 1_099_511_627_776.0),
    ("Pi", 1_125_899_906_842_624.0),
    ("m", 0.001),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("", 1.0),
];

impl Quantity {
    /// The quantity as a number in base units (cores or bytes).
    pub fn value(&self) -> f64 {
        let (number, scale) = split(&self.0).unwrap_or((0.0, 1.0));
        number * scale
    }
    /// The quantity as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn split(raw: &str) -> Option<(f64, f64)> {
    let end = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, suffix) = raw.split_at(end);
    let scale = SUFFIXES.iter().find(|(s, _)| *s == suffix)?.1;
    let well_formed = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    well_formed
        .then(|| number.parse().ok().map(|n| (n, scale)))
        .flatten()
}

impl FromStr for Quantity {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        match split(raw) {
            Some((n, _)) if n > 0.0 => Ok(Self(raw.to_string())),
            _ => Err(ValueError::new(
                format!("`{}` is not a Kubernetes quantity", raw.escape_debug()),
                "write a positive number with an optional suffix, such as `500m` or `1` (CPU) or `2Gi` (memory)",
            )),
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(
    Quantity,
    "k8s-quantity",
    "A Kubernetes quantity, e.g. `500m`, `1`, `2Gi`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_have_values() {
        assert_eq!("500m".parse::<Quantity>().unwrap().value(), 0.5);
        assert_eq!("2Gi".parse::<Quantity>().unwrap().value(), 2_147_483_648.0);
        for bad in ["", "0", "1.5.5", "2GB", "-1", ".5", "1 Gi"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad:?}");
        }
    }
}
