//! Period stamps of demand rows — integer indices or calendar dates — and the spacing
//! that turns them into positions of a gap-free series. Part of [`super::input`]: every
//! reader (long format and connectors) yields stamps, this module lays them out.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One `period` value: an integer index or a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// Integer index (`1`, `2`, … or `202401`).
    Index(i64),
    /// Calendar date.
    Date(NaiveDate),
}

impl Period {
    /// Parses an integer or an ISO `YYYY-MM-DD` date.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(i) = text.parse::<i64>() {
            return Some(Self::Index(i));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(Self::Date)
    }

    /// `"integer"` or `"date"`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Index(_) => "integer",
            Self::Date(_) => "date",
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "{i}"),
            Self::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

/// The calendar bucket that connector transactions (dated to the day) are summed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One period per day.
    Day,
    /// ISO weeks, labelled by their Monday (the default).
    #[default]
    Week,
    /// Calendar months, labelled by their first day.
    Month,
}

impl Bucket {
    /// Every bucket with its name.
    pub const ALL: [(&'static str, Bucket); 3] = [
        ("day", Bucket::Day),
        ("week", Bucket::Week),
        ("month", Bucket::Month),
    ];

    /// The period a date falls in.
    pub fn period(self, date: NaiveDate) -> Period {
        Period::Date(match self {
            Self::Day => date,
            Self::Week => date.week(Weekday::Mon).first_day(),
            Self::Month => date.with_day(1).unwrap_or(date),
        })
    }

    /// The spacing of the periods this bucket makes.
    pub fn spacing(self) -> Spacing {
        match self {
            Self::Day => Spacing::Days { step: 1 },
            Self::Week => Spacing::Days { step: 7 },
            Self::Month => Spacing::Months { step: 1 },
        }
    }
}

impl std::str::FromStr for Bucket {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s.trim()))
            .map(|(_, b)| *b)
            .ok_or_else(|| format!("unknown period bucket `{s}`; expected day, week or month"))
    }
}

/// How successive periods of an upload are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Integer indices `step` apart.
    Index {
        /// Distance between periods.
        step: i64,
    },
    /// Dates `step` days apart (7 for weeks).
    Days {
        /// Days between periods.
        step: i64,
    },
    /// Dates `step` calendar months apart, all on the 1st or all on month ends.
    Months {
        /// Months between periods.
        step: i64,
    },
}

impl Spacing {
    /// Infers the spacing of distinct, sorted periods of one kind. Integers count one by
    /// one. Dates are months when every date is a 1st or every date a month end (quarters
    /// or half-years when every distance is a multiple of 3 or 6 months), weeks when every
    /// distance is a whole number of weeks, else the greatest common divisor of the
    /// distances in days. A missing period inside the grid is a gap, filled with zero.
    pub fn infer(periods: &[Period]) -> Self {
        let dates: Vec<NaiveDate> = periods
            .iter()
            .filter_map(|p| match p {
                Period::Date(d) => Some(*d),
                Period::Index(_) => None,
            })
            .collect();
        if dates.is_empty() {
            // Integer periods count one by one: a missing index is a gap, not a coarser grid.
            return Self::Index { step: 1 };
        }
        let monthly = dates.iter().all(|d| d.day() == 1) || dates.iter().all(|d| is_month_end(*d));
        if monthly && dates.len() > 1 {
            let months: Vec<i64> = dates.iter().map(|d| month_number(*d)).collect();
            // Quarters and half-years are grids; any other gcd is months with gaps.
            let step = match gcd_of_gaps(&months) {
                g @ (3 | 6 | 12) => g,
                _ => 1,
            };
            return Self::Months { step };
        }
        let days: Vec<i64> = dates
            .iter()
            .map(|d| i64::from(d.num_days_from_ce()))
            .collect();
        // Dates a whole number of weeks apart are weekly data with gaps.
        let step = match gcd_of_gaps(&days) {
            g if g % 7 == 0 => 7,
            g => g,
        };
        Self::Days { step }
    }

    /// Steps from `first` to `p` (both of this spacing's kind and grid).
    pub fn position(&self, first: Period, p: Period) -> i64 {
        let raw = match (first, p) {
            (Period::Index(a), Period::Index(b)) => b.saturating_sub(a),
            (Period::Date(a), Period::Date(b)) => match self {
                Self::Months { .. } => month_number(b) - month_number(a),
                _ => (b - a).num_days(),
            },
            _ => 0,
        };
        raw / self.step().max(1)
    }

    /// The period `k` steps after `first`, for labels of future periods.
    pub fn advance(&self, first: Period, k: i64) -> Period {
        match first {
            Period::Index(i) => Period::Index(i + k * self.step()),
            Period::Date(d) => {
                let moved = match self {
                    Self::Months { step } => {
                        u32::try_from(k * step).ok().and_then(|m| month_shift(d, m))
                    }
                    _ => d.checked_add_signed(chrono::TimeDelta::days(k * self.step())),
                };
                Period::Date(moved.unwrap_or(d))
            }
        }
    }

    fn step(&self) -> i64 {
        match *self {
            Self::Index { step } | Self::Days { step } | Self::Months { step } => step,
        }
    }

    /// Periods per year: for holding costs, which are quoted per year. Integer indices
    /// carry no calendar, so they are taken as weeks unless the caller says otherwise.
    pub fn periods_per_year(&self) -> f64 {
        match *self {
            Self::Index { .. } => 52.0,
            Self::Days { step } => 365.25 / step as f64,
            Self::Months { step } => 12.0 / step as f64,
        }
    }

    /// The natural season: 12 for months, 52 for weeks, 7 for days, none for indices.
    pub fn season_length(&self) -> usize {
        match *self {
            Self::Months { step } if 12 % step == 0 => (12 / step) as usize,
            Self::Days { step: 7 } => 52,
            Self::Days { step: 1 } => 7,
            _ => 1,
        }
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

/// The gcd of the distances between sorted values; 1 when there is at most one value.
fn gcd_of_gaps(values: &[i64]) -> i64 {
    let g = values.windows(2).fold(0, |g, w| gcd(g, w[1] - w[0]));
    if g == 0 { 1 } else { g }
}

fn month_number(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn is_month_end(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|next| next.month() != d.month())
}

/// `d` moved `k` months on, keeping month ends at month ends.
fn month_shift(d: NaiveDate, k: u32) -> Option<NaiveDate> {
    if is_month_end(d) {
        let first = d.with_day(1)?.checked_add_months(Months::new(k + 1))?;
        return first.pred_opt();
    }
    d.checked_add_months(Months::new(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Period {
        Period::parse(s).expect("date")
    }

    #[test]
    fn infers_months_weeks_and_indices() {
        let months = [date("2024-01-01"), date("2024-02-01"), date("2024-04-01")];
        assert_eq!(Spacing::infer(&months), Spacing::Months { step: 1 });
        assert_eq!(
            Spacing::Months { step: 1 }.position(months[0], months[2]),
            3
        );
        let ends = [date("2024-01-31"), date("2024-02-29"), date("2024-03-31")];
        assert_eq!(Spacing::infer(&ends), Spacing::Months { step: 1 });
        let weeks = [date("2024-01-01"), date("2024-01-08"), date("2024-01-22")];
        assert_eq!(Spacing::infer(&weeks), Spacing::Days { step: 7 });
        let sparse_weeks = [date("2024-01-01"), date("2024-01-15"), date("2024-02-12")];
        assert_eq!(Spacing::infer(&sparse_weeks), Spacing::Days { step: 7 });
        let sparse_months = [date("2024-01-01"), date("2024-03-01")];
        assert_eq!(Spacing::infer(&sparse_months), Spacing::Months { step: 1 });
        let quarters = [date("2024-01-01"), date("2024-04-01"), date("2024-10-01")];
        assert_eq!(Spacing::infer(&quarters), Spacing::Months { step: 3 });
        assert_eq!(Spacing::Days { step: 7 }.position(weeks[0], weeks[2]), 3);
        let idx = [Period::Index(3), Period::Index(5), Period::Index(9)];
        assert_eq!(Spacing::infer(&idx), Spacing::Index { step: 1 });
        assert_eq!(
            Spacing::Months { step: 1 }.advance(ends[0], 1),
            date("2024-02-29")
        );
    }

    #[test]
    fn buckets_label_weeks_by_monday_and_months_by_the_first() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 14).expect("date"); // a Thursday
        assert_eq!(Bucket::Week.period(d), date("2024-03-11"));
        assert_eq!(Bucket::Month.period(d), date("2024-03-01"));
        assert_eq!(Bucket::Day.period(d), date("2024-03-14"));
        assert_eq!("Month".parse::<Bucket>(), Ok(Bucket::Month));
    }
}
