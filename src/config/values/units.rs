//! Quantities with units that stay on the compiler's side: byte sizes (`16GiB`, `4gb`) and
//! Redis save points (`900 1`). Durations and rates cross to the runtime, so they are
//! defined in `scf-contract`.

use super::value::{ValueError, string_value};
use scf_contract::value::split_number;
use std::fmt;
use std::str::FromStr;

/// A size in bytes. Every unit is binary, as PostgreSQL and Redis read them: `4gb` = `4GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

const KIB: u64 = 1024;
const SIZE_UNITS: [(&[&str], u64); 5] = [
    (&["t", "tb", "tib", "ti"], KIB * KIB * KIB * KIB),
    (&["g", "gb", "gib", "gi"], KIB * KIB * KIB),
    (&["m", "mb", "mib", "mi"], KIB * KIB),
    (&["k", "kb", "kib", "ki"], KIB),
    (&["", "b"], 1),
];

impl ByteSize {
    /// A size of `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        Self(bytes)
    }
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
    /// The size in whole MiB, rounded down.
    pub const fn mib(self) -> u64 {
        self.0 / (KIB * KIB)
    }
    /// `(number, index into the units)` for the largest unit that divides exactly.
    fn exact(self) -> (u64, usize) {
        let i = SIZE_UNITS
            .iter()
            .position(|(_, s)| self.0.is_multiple_of(*s))
            .unwrap_or(SIZE_UNITS.len() - 1);
        (self.0 / SIZE_UNITS[i].1, i)
    }
    /// PostgreSQL's spelling: `256MB`, `4GB` (binary units), or `kB`.
    pub fn to_postgres(self) -> String {
        let (n, i) = self.exact();
        let unit = ["TB", "GB", "MB", "kB", "B"][i];
        if unit == "B" {
            format!("{}kB", self.0.div_ceil(KIB))
        } else {
            format!("{n}{unit}")
        }
    }
    /// Redis's spelling: `4gb`, `512mb` (binary units).
    pub fn to_redis(self) -> String {
        let (n, i) = self.exact();
        format!("{n}{}", ["tb", "gb", "mb", "kb", ""][i])
    }
    /// Kubernetes quantity spelling: `10Gi`.
    pub fn to_kubernetes(self) -> String {
        let (n, i) = self.exact();
        format!("{n}{}", ["Ti", "Gi", "Mi", "Ki", ""][i])
    }
}

impl FromStr for ByteSize {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                format!("`{raw}` is not a size"),
                "write a number and a binary unit, such as `16GiB`, `512MiB` or `4gb`",
            )
        };
        let (n, unit) = split_number(raw.trim()).ok_or_else(bad)?;
        let unit = unit.trim().to_ascii_lowercase();
        let scale = SIZE_UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit.as_str()))
            .ok_or_else(bad)?
            .1;
        n.checked_mul(scale).map(Self).ok_or_else(bad)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, i) = self.exact();
        write!(f, "{n}{}", ["TiB", "GiB", "MiB", "KiB", "B"][i])
    }
}

string_value!(
    ByteSize,
    "byte-size",
    "A size with a binary unit, e.g. `16GiB`, `512MiB`, `4gb` (gb = GiB, as in Redis and PostgreSQL)."
);

/// A Redis RDB save point: snapshot after `seconds` if at least `changes` keys changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SavePoint {
    /// Seconds since the last snapshot.
    pub seconds: u64,
    /// Changed keys needed.
    pub changes: u64,
}

impl FromStr for SavePoint {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let mut parts = raw.split_whitespace().map(str::parse::<u64>);
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(seconds)), Some(Ok(changes)), None) if seconds > 0 => {
                Ok(Self { seconds, changes })
            }
            _ => Err(ValueError::new(
                format!("`{raw}` is not a save point"),
                "write \"SECONDS CHANGES\", such as \"900 1\"",
            )),
        }
    }
}

impl fmt::Display for SavePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seconds, self.changes)
    }
}

string_value!(
    SavePoint,
    "redis-save-point",
    "A Redis save point \"SECONDS CHANGES\", e.g. \"900 1\"."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_in_every_spelling() {
        let gib = 1024 * 1024 * 1024;
        for raw in ["4gb", "4GiB", "4G", "4 GB", "4gi"] {
            assert_eq!(raw.parse::<ByteSize>().unwrap().bytes(), 4 * gib, "{raw}");
        }
        let s: ByteSize = "256MiB".parse().unwrap();
        assert_eq!(
            (s.to_postgres(), s.to_redis(), s.to_kubernetes()),
            ("256MB".into(), "256mb".into(), "256Mi".into())
        );
        assert_eq!(ByteSize::from_bytes(1536).to_postgres(), "2kB");
        assert!("4 parsecs".parse::<ByteSize>().is_err());
    }

    #[test]
    fn save_points_need_two_numbers() {
        assert_eq!(
            "900 1".parse::<SavePoint>().unwrap(),
            SavePoint {
                seconds: 900,
                changes: 1
            }
        );
        assert!("900".parse::<SavePoint>().is_err());
        assert!("900 1 2".parse::<SavePoint>().is_err());
    }
}
