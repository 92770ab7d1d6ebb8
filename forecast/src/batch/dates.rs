//! The `ds` column: integer indices or ISO dates, the spacing of a series, and the
//! stamps of its future periods.

use super::error::BatchError;
use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use std::fmt;

/// One `ds` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stamp {
    /// Integer index.
    Int(i64),
    /// Calendar date.
    Date(NaiveDate),
}

impl Stamp {
    /// Parses an integer or a `YYYY-MM-DD` date.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Stamp::Int(i));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(Stamp::Date)
    }

    /// Whether this is a date.
    pub fn is_date(&self) -> bool {
        matches!(self, Stamp::Date(_))
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stamp::Int(i) => write!(f, "{i}"),
            Stamp::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

/// The spacing of a series and its last stamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Index {
    /// Integers `last + k·step`.
    Int { last: i64, step: i64 },
    /// Dates `k·step` calendar months apart (month ends stay month ends).
    Months { last: NaiveDate, step: u32 },
    /// Dates `k·step` days apart.
    Days { last: NaiveDate, step: i64 },
}

fn month_number(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn is_month_end(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|next| next.month() != d.month())
}

/// `d` moved `k` months on, keeping the day (or the month end).
fn add_months(d: NaiveDate, k: u32) -> Option<NaiveDate> {
    let moved = d.checked_add_months(Months::new(k))?;
    if is_month_end(d) {
        let first_of_next = NaiveDate::from_ymd_opt(moved.year(), moved.month(), 1)?
            .checked_add_months(Months::new(1))?;
        return first_of_next.pred_opt();
    }
    Some(moved)
}

impl Index {
    /// Infers the spacing from rows sorted by stamp, `(line, stamp)` each.
    pub fn infer(id: &str, rows: &[(u64, Stamp)]) -> Result<Self, BatchError> {
        let irregular = |line: u64, ds: Stamp| BatchError::Irregular {
            line,
            id: id.to_owned(),
            ds: ds.to_string(),
        };
        let (first_line, first) = rows[0];
        let (_, last) = rows[rows.len() - 1];
        let Some(&(second_line, second)) = rows.get(1) else {
            return match first {
                Stamp::Int(last) => Ok(Index::Int { last, step: 1 }),
                Stamp::Date(_) => Err(irregular(first_line, first)),
            };
        };
        let index = match (first, second, last) {
            (Stamp::Int(a), Stamp::Int(b), Stamp::Int(last)) => Index::Int { last, step: b - a },
            (Stamp::Date(a), Stamp::Date(b), Stamp::Date(last)) => {
                let months = month_number(b) - month_number(a);
                match u32::try_from(months)
                    .ok()
                    .filter(|&k| k > 0 && add_months(a, k) == Some(b))
                {
                    Some(step) => Index::Months { last, step },
                    None => Index::Days {
                        last,
                        step: (b - a).num_days(),
                    },
                }
            }
            _ => return Err(irregular(second_line, second)),
        };
        for w in rows.windows(2) {
            if index.step_from(w[0].1) != Some(w[1].1) {
                return Err(irregular(w[1].0, w[1].1));
            }
        }
        Ok(index)
    }

    fn step_from(&self, s: Stamp) -> Option<Stamp> {
        match (self, s) {
            (Index::Int { step, .. }, Stamp::Int(i)) => Some(Stamp::Int(i + step)),
            (Index::Months { step, .. }, Stamp::Date(d)) => add_months(d, *step).map(Stamp::Date),
            (Index::Days { step, .. }, Stamp::Date(d)) => d
                .checked_add_signed(TimeDelta::days(*step))
                .map(Stamp::Date),
            _ => None,
        }
    }

    /// The stamp `k` periods after the last one, as text.
    pub fn future(&self, k: usize) -> String {
        let k64 = k as i64;
        match *self {
            Index::Int { last, step } => (last + k64 * step).to_string(),
            Index::Months { last, step } => add_months(last, step * k as u32)
                .map_or_else(String::new, |d| Stamp::Date(d).to_string()),
            Index::Days { last, step } => last
                .checked_add_signed(TimeDelta::days(k64 * step))
                .map_or_else(String::new, |d| Stamp::Date(d).to_string()),
        }
    }
}
