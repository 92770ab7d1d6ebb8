//! Quantities with units: durations (`300s`, `24h`, `90d`), byte sizes (`16GiB`, `4gb`),
//! rates (`1000/hour`) and Redis save points (`900 1`).

use super::value::{ValueError, string_value};
use std::fmt;
use std::str::FromStr;

/// Splits `"300s"` into `(300, "s")`; the unit may be empty.
fn split_number(raw: &str) -> Option<(u64, &str)> {
    let digits = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let number = raw[..digits].parse().ok()?;
    Some((number, &raw[digits..]))
}

/// A span of time, kept in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

const DURATION_UNITS: [(&str, u64); 6] = [
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs * 1000)
    }
    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// Whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }
    /// Whole days, rounded up (retention periods).
    pub const fn as_days_ceil(self) -> u64 {
        self.0.div_ceil(86_400_000)
    }
}

impl FromStr for Duration {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                format!("`{raw}` is not a duration"),
                "write a number and a unit (ms, s, m, h, d or w), such as `300s`, `24h` or `1h30m`",
            )
        };
        let mut rest = raw;
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let (n, tail) = split_number(rest).ok_or_else(bad)?;
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(tail.len());
            let (unit, next) = tail.split_at(unit_len);
            let scale = DURATION_UNITS
                .iter()
                .find(|(u, _)| *u == unit)
                .ok_or_else(bad)?
                .1;
            total = n
                .checked_mul(scale)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            rest = next;
        }
        if raw.is_empty() {
            return Err(bad());
        }
        Ok(Self(total))
    }
}

impl fmt::Display for Duration {
    /// The largest unit that divides the duration exactly, except weeks: `90d` stays `90d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, scale) = DURATION_UNITS[1..]
            .iter()
            .find(|(_, s)| self.0.is_multiple_of(*s) && self.0 > 0)
            .copied()
            .unwrap_or(("s", 1000));
        write!(f, "{}{unit}", self.0 / scale)
    }
}

string_value!(
    Duration,
    "duration",
    "A duration: a number and a unit (ms, s, m, h, d, w), e.g. `300s`, `24h`, `90d`."
);

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

/// The period of a [`Rate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Per {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day.
    Day,
}

impl Per {
    /// The period in seconds.
    pub const fn seconds(self) -> u64 {
        match self {
            Per::Second => 1,
            Per::Minute => 60,
            Per::Hour => 3600,
            Per::Day => 86_400,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Per::Second => "second",
            Per::Minute => "minute",
            Per::Hour => "hour",
            Per::Day => "day",
        }
    }
}

/// A request budget: `count` requests per period, e.g. `1000/hour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests allowed in one period.
    pub count: u64,
    /// The period.
    pub per: Per,
}

impl Rate {
    /// Requests per minute, rounded up so a limiter never rejects inside the budget.
    pub fn per_minute_ceil(self) -> u64 {
        (self.count * 60).div_ceil(self.per.seconds())
    }
}

impl FromStr for Rate {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                format!("`{raw}` is not a rate"),
                "write COUNT/PERIOD with a period of second, minute, hour or day, such as `1000/hour`",
            )
        };
        let (count, per) = raw.split_once('/').ok_or_else(bad)?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        let per = match per.trim() {
            "s" | "sec" | "second" => Per::Second,
            "m" | "min" | "minute" => Per::Minute,
            "h" | "hour" => Per::Hour,
            "d" | "day" => Per::Day,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(ValueError::new(
                "a rate of 0 rejects every request",
                "give a positive count, such as `1000/hour`",
            ));
        }
        Ok(Self { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.name())
    }
}

string_value!(
    Rate,
    "rate",
    "A request budget COUNT/PERIOD, e.g. `1000/hour` (second, minute, hour or day)."
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
    fn durations_parse_and_print_canonically() {
        let d: Duration = "1h30m".parse().unwrap();
        assert_eq!(d.as_secs(), 5400);
        assert_eq!(d.to_string(), "90m");
        assert_eq!("90d".parse::<Duration>().unwrap().to_string(), "90d");
        assert_eq!("1500ms".parse::<Duration>().unwrap().to_string(), "1500ms");
        assert_eq!("2w".parse::<Duration>().unwrap().as_days_ceil(), 14);
        for bad in ["", "10", "s", "10x", "-5s", "5 s", "99999999999999999999s"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} should fail");
        }
    }

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
    fn rates_round_up_per_minute() {
        let r: Rate = "1000/hour".parse().unwrap();
        assert_eq!(r.per_minute_ceil(), 17);
        assert_eq!(r.to_string(), "1000/hour");
        assert!("0/hour".parse::<Rate>().is_err());
        assert!("1000/fortnight".parse::<Rate>().is_err());
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
