//! Request budgets, `COUNT/PERIOD` (`1000/hour`): `security.rate_limits` in framework.toml,
//! `RATE_LIMIT_PER_*` in the runtime's environment, in the same spelling both ways.

use crate::value::ValueError;
use std::fmt;
use std::str::FromStr;

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

/// Each period with its spellings: the short forms, then the word (also plural).
const PERIODS: [(Per, &[&str], &str); 4] = [
    (Per::Second, &["s", "sec"], "second"),
    (Per::Minute, &["m", "min"], "minute"),
    (Per::Hour, &["h", "hr"], "hour"),
    (Per::Day, &["d"], "day"),
];

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

    /// The period as a `std` duration.
    pub const fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds())
    }

    fn name(self) -> &'static str {
        PERIODS
            .iter()
            .find(|(p, _, _)| *p == self)
            .map_or("second", |(_, _, name)| name)
    }

    /// `s`, `sec`, `second`, `seconds`, … in any case.
    fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase();
        // A plural `s`, but never the one letter of a short form (`ms` is not minutes).
        let word = raw
            .strip_suffix('s')
            .filter(|w| w.len() > 1)
            .unwrap_or(&raw);
        PERIODS
            .iter()
            .find(|(_, short, name)| word == *name || short.contains(&word))
            .map(|(per, _, _)| *per)
    }
}

/// A request budget: `count` requests per period, e.g. `1000/hour`. The count is also
/// the burst, and the runtime's limiters count in `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests allowed in one period, at least 1.
    pub count: u32,
    /// The period.
    pub per: Per,
}

impl Rate {
    /// Requests per minute, rounded up so a limiter never rejects inside the budget.
    pub fn per_minute_ceil(self) -> u64 {
        (u64::from(self.count) * 60).div_ceil(self.per.seconds())
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
        let count = count.trim();
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let per = Per::parse(per).ok_or_else(bad)?;
        let count = match count.parse::<u32>() {
            Ok(0) => {
                return Err(ValueError::new(
                    "a rate of 0 rejects every request",
                    "give a positive count, such as `1000/hour`",
                ));
            }
            Ok(n) => n,
            Err(_) => {
                return Err(ValueError::new(
                    format!("`{raw}` allows more requests than the runtime can count"),
                    format!(
                        "give at most {} per period, or a shorter period, such as `1000/second`",
                        u32::MAX
                    ),
                ));
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(raw: &str) -> Result<Rate, ValueError> {
        raw.parse()
    }

    #[test]
    fn rates_round_up_per_minute_and_print_canonically() {
        let r = rate("1000/hour").expect("rate");
        assert_eq!(r.per_minute_ceil(), 17);
        assert_eq!(r.to_string(), "1000/hour");
        assert_eq!(
            rate(&format!("{}/s", u32::MAX)).map(Rate::per_minute_ceil),
            Ok(u64::from(u32::MAX) * 60)
        );
    }

    #[test]
    fn every_spelling_of_a_period_reads_the_same() {
        for (raw, per) in [
            ("5/s", Per::Second),
            ("5/sec", Per::Second),
            ("5/Seconds", Per::Second),
            ("5/ minutes", Per::Minute),
            ("5/min", Per::Minute),
            ("5/m", Per::Minute),
            ("5/mins", Per::Minute),
            ("5/h", Per::Hour),
            ("5/HOUR", Per::Hour),
            ("5/hours", Per::Hour),
            ("5/d", Per::Day),
            ("5/days", Per::Day),
        ] {
            assert_eq!(rate(raw).map(|r| r.per), Ok(per), "{raw}");
        }
    }

    #[test]
    fn bad_rates_say_why() {
        for bad in [
            "lots",
            "1000/fortnight",
            "1000/",
            "/hour",
            "+5/hour",
            "-5/hour",
            "5/ss",
            "5/hs",
            "5/ms",
        ] {
            assert!(rate(bad).is_err(), "{bad:?} should fail");
        }
        assert!(rate("0/hour").is_err_and(|e| e.message.contains("rejects every request")));
        let huge = rate("4294967296/minute").expect_err("above u32");
        assert!(huge.help.contains("4294967295"), "{huge}");
        assert!(rate("99999999999999999999999/minute").is_err());
    }
}
