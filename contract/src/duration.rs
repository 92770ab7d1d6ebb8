//! Durations: framework.toml writes them with units (`300s`, `24h`, `90d`); the runtime's
//! environment carries them as whole seconds (`*_SECONDS`) or whole days (`*_DAYS`).
//! Both directions of that crossing are here, so they round the same way.

use crate::value::{ValueError, split_number};
use std::fmt;
use std::str::FromStr;

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

/// The unit of an environment variable that holds a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvUnit {
    /// Whole seconds (`JWT_EXPIRY_SECONDS`, `REQUEST_TIMEOUT_SECONDS`, `CACHE_TTL`, …).
    Seconds,
    /// Whole days (`API_KEY_ROTATION_DAYS`, `AUDIT_LOG_RETENTION_DAYS`).
    Days,
}

impl EnvUnit {
    const fn millis(self) -> u64 {
        match self {
            Self::Seconds => 1_000,
            Self::Days => 86_400_000,
        }
    }
    const fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Days => "days",
        }
    }
}

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

    /// The duration as the runtime's environment holds it: a whole number of `unit`,
    /// rounded up, so that a positive duration never reaches the runtime as 0.
    pub fn to_env(self, unit: EnvUnit) -> String {
        self.0.div_ceil(unit.millis()).to_string()
    }

    /// Reads what [`Duration::to_env`] wrote: a whole number of `unit`.
    pub fn from_env(text: &str, unit: EnvUnit) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                format!("`{text}` is not a whole number of {}", unit.name()),
                format!("write digits only, such as `300` ({})", unit.name()),
            )
        };
        let n: u64 = text.trim().parse().map_err(|_| bad())?;
        n.checked_mul(unit.millis()).map(Self).ok_or_else(bad)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        std::time::Duration::from_millis(d.0)
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
        if raw.is_empty() {
            return Err(bad());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &str) -> Duration {
        raw.parse().expect("a duration")
    }

    #[test]
    fn durations_parse_and_print_canonically() {
        assert_eq!(d("1h30m").as_secs(), 5400);
        assert_eq!(d("1h30m").to_string(), "90m");
        assert_eq!(d("90d").to_string(), "90d");
        assert_eq!(d("1500ms").to_string(), "1500ms");
        assert_eq!(d("2w").as_days_ceil(), 14);
        for bad in ["", "10", "s", "10x", "-5s", "5 s", "99999999999999999999s"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn the_environment_holds_whole_units_rounded_up() {
        assert_eq!(d("500ms").to_env(EnvUnit::Seconds), "1");
        assert_eq!(d("300s").to_env(EnvUnit::Seconds), "300");
        assert_eq!(d("36h").to_env(EnvUnit::Days), "2");
        let back = Duration::from_env("300", EnvUnit::Seconds).expect("seconds");
        assert_eq!(std::time::Duration::from(back).as_secs(), 300);
        assert_eq!(
            Duration::from_env("90", EnvUnit::Days).map(Duration::as_days_ceil),
            Ok(90)
        );
        for bad in ["", "1.5", "-1", "5s", &u64::MAX.to_string()] {
            assert!(
                Duration::from_env(bad, EnvUnit::Seconds).is_err(),
                "{bad:?}"
            );
        }
    }
}
