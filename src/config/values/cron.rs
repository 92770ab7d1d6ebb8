//! Cron schedules (`0 2 * * *`), validated field by field and translated to systemd
//! `OnCalendar=` expressions for the backup timers; their longest gap between two runs sets
//! when a backup is overdue.

use super::value::{ValueError, string_value};
use std::fmt;
use std::str::FromStr;

/// One of the five cron fields, with its range and names.
struct FieldSpec {
    name: &'static str,
    min: u8,
    max: u8,
    names: &'static [&'static str],
}

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    FieldSpec {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    FieldSpec {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    FieldSpec {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    FieldSpec {
        name: "day of week",
        min: 0,
        max: 7,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

const SYSTEMD_DAYS: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// One comma-separated item of a field: a value, a range, or either with a step.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    /// `None` for `*`.
    range: Option<(u8, u8)>,
    step: Option<u8>,
}

/// A standard five-field cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    fields: [Vec<Item>; 5],
}

impl Cron {
    fn is_any(&self, i: usize) -> bool {
        matches!(
            self.fields[i].as_slice(),
            [Item {
                range: None,
                step: None
            }]
        )
    }

    /// The same schedule as a systemd calendar expression, e.g. `Sun *-*-* 01:00:00`.
    pub fn to_on_calendar(&self) -> String {
        let part = |i: usize, width: usize| -> String {
            let items: Vec<String> = self.fields[i]
                .iter()
                .map(|item| {
                    let pad = |v: u8| format!("{v:0width$}");
                    let base = match item.range {
                        None => pad(FIELDS[i].min),
                        Some((a, b)) if a == b => pad(a),
                        Some((a, b)) => format!("{}..{}", pad(a), pad(b)),
                    };
                    match (item.range, item.step) {
                        (None, None) => "*".to_string(),
                        (_, Some(step)) => format!("{base}/{step}"),
                        (Some(_), None) => base,
                    }
                })
                .collect();
            items.join(",")
        };
        let weekdays = if self.is_any(4) {
            String::new()
        } else {
            let days: Vec<String> = self.fields[4]
                .iter()
                .flat_map(|item| match item.range {
                    None => (0..=6)
                        .step_by(usize::from(item.step.unwrap_or(1)))
                        .collect::<Vec<u8>>(),
                    Some((a, b)) => (a..=b)
                        .step_by(usize::from(item.step.unwrap_or(1)))
                        .collect(),
                })
                .map(|d| SYSTEMD_DAYS[usize::from(d)].to_string())
                .collect();
            let mut unique: Vec<String> = Vec::new();
            for d in days {
                if !unique.contains(&d) {
                    unique.push(d);
                }
            }
            format!("{} ", unique.join(","))
        };
        format!(
            "{weekdays}*-{}-{} {}:{}:00",
            part(3, 2),
            part(2, 2),
            part(1, 2),
            part(0, 2)
        )
    }
}

impl Cron {
    /// Whether field `i` holds `v` (day of week: 0 and 7 are both Sunday).
    fn holds(&self, i: usize, v: u8) -> bool {
        let hit = |v: u8| {
            self.fields[i].iter().any(|item| {
                let (from, to) = item.range.unwrap_or((FIELDS[i].min, FIELDS[i].max));
                (from..=to).contains(&v) && (v - from).is_multiple_of(item.step.unwrap_or(1))
            })
        };
        hit(v) || (i == 4 && v == 0 && hit(7))
    }

    /// The longest time between two runs of the schedule (over eight years, two leap
    /// days among them), as its systemd timer runs it: day of month, month and day of
    /// week must all match. `None` for a schedule that runs less than twice in that time
    /// (`0 0 30 2 *` never does). A job on this schedule whose last success is older than
    /// this has missed a run.
    pub fn longest_gap(&self) -> Option<std::time::Duration> {
        let minutes_of_day: Vec<u64> = (0..24u8)
            .filter(|h| self.holds(1, *h))
            .flat_map(|h| {
                (0..60u8)
                    .filter(|m| self.holds(0, *m))
                    .map(move |m| u64::from(h) * 60 + u64::from(m))
            })
            .collect();
        let mut runs = Vec::new();
        // 2001-01-01 was a Monday; 2001 to 2008 holds two leap years.
        let (mut day, mut weekday) = (0u64, 1u8);
        for year in 2001..2009u32 {
            for month in 1..=12u8 {
                let days = match month {
                    2 if year % 4 == 0 => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for dom in 1..=days {
                    if self.holds(2, dom) && self.holds(3, month) && self.holds(4, weekday) {
                        runs.extend(minutes_of_day.iter().map(|m| day * 1440 + m));
                    }
                    day += 1;
                    weekday = (weekday + 1) % 7;
                }
            }
        }
        let longest = runs.windows(2).map(|w| w[1] - w[0]).max()?;
        Some(std::time::Duration::from_secs(longest * 60))
    }

    /// When a job on this schedule is overdue: the longest gap between its runs and a
    /// quarter of it more (at least an hour) for the job itself to run, in whole hours
    /// (30 hours for `0 2 * * *`). The backup alerts and `scf doctor` both judge by it.
    pub fn overdue_after(&self) -> Option<std::time::Duration> {
        let gap = self.longest_gap()?.as_secs().div_ceil(3600);
        Some(std::time::Duration::from_secs(
            (gap + (gap / 4).max(1)) * 3600,
        ))
    }
}

fn parse_value(raw: &str, spec: &FieldSpec) -> Option<u8> {
    if let Ok(v) = raw.parse::<u8>() {
        return (spec.min..=spec.max).contains(&v).then_some(v);
    }
    let lower = raw.to_ascii_lowercase();
    let idx = spec.names.iter().position(|n| *n == lower)?;
    u8::try_from(idx)
        .ok()
        .map(|i| i + if spec.min == 1 { 1 } else { 0 })
}

fn parse_item(raw: &str, spec: &FieldSpec) -> Option<Item> {
    let (body, step) = match raw.split_once('/') {
        Some((body, step)) => (body, Some(step.parse::<u8>().ok().filter(|s| *s > 0)?)),
        None => (raw, None),
    };
    let range = if body == "*" {
        None
    } else if let Some((a, b)) = body.split_once('-') {
        let (a, b) = (parse_value(a, spec)?, parse_value(b, spec)?);
        (a <= b).then_some(())?;
        Some((a, b))
    } else {
        let v = parse_value(body, spec)?;
        // `5/15` means "from 5 to the end, every 15", as in Vixie cron.
        Some((v, if step.is_some() { spec.max } else { v }))
    };
    Some(Item { range, step })
}

impl FromStr for Cron {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let expanded = match raw.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(ValueError::new(
                format!("`{raw}` has {} fields; a cron schedule has 5", parts.len()),
                "write MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK, such as \"0 2 * * *\" (daily at 02:00)",
            ));
        }
        let mut fields: [Vec<Item>; 5] = Default::default();
        for (i, (part, spec)) in parts.iter().zip(&FIELDS).enumerate() {
            fields[i] = part
                .split(',')
                .map(|item| parse_item(item, spec))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ValueError::new(
                        format!("`{part}` is not a valid {} field in `{raw}`", spec.name),
                        format!(
                            "use *, a value {}..{}, a range a-b, a list a,b or a step */n",
                            spec.min, spec.max
                        ),
                    )
                })?;
        }
        let cron = Self { fields };
        if !cron.is_any(2) && !cron.is_any(4) {
            return Err(ValueError::new(
                format!("`{raw}` restricts both the day of month and the day of week"),
                "cron runs when EITHER matches, which systemd timers cannot express; set one of them to *",
            ));
        }
        Ok(cron)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        let base = match item.range {
                            None => "*".to_string(),
                            Some((a, b)) if a == b => a.to_string(),
                            Some((a, b)) => format!("{a}-{b}"),
                        };
                        item.step.map_or(base.clone(), |s| format!("{base}/{s}"))
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        f.write_str(&fields.join(" "))
    }
}

string_value!(
    Cron,
    "cron",
    "A five-field cron schedule, e.g. \"0 2 * * *\" (daily at 02:00)."
);

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(raw: &str) -> String {
        raw.parse::<Cron>().unwrap().to_on_calendar()
    }

    #[test]
    fn the_guides_schedules_become_timers() {
        assert_eq!(cal("0 2 * * *"), "*-*-* 02:00:00");
        assert_eq!(cal("0 1 * * 0"), "Sun *-*-* 01:00:00");
        assert_eq!(cal("*/15 * * * *"), "*-*-* *:00/15:00");
        assert_eq!(cal("30 4 1,15 * *"), "*-*-01,15 04:30:00");
        assert_eq!(cal("0 9 * * mon-fri"), "Mon,Tue,Wed,Thu,Fri *-*-* 09:00:00");
        assert_eq!(cal("0 0 * * 7"), "Sun *-*-* 00:00:00");
        assert_eq!(cal("@weekly"), "Sun *-*-* 00:00:00");
        assert_eq!(cal("0 3 * jan *"), "*-01-* 03:00:00");
    }

    #[test]
    fn the_longest_gap_between_runs() {
        let gap = |raw: &str| {
            raw.parse::<Cron>()
                .unwrap()
                .longest_gap()
                .map(|d| d.as_secs())
        };
        let (hour, day) = (3600, 86_400);
        assert_eq!(gap("0 2 * * *"), Some(day));
        assert_eq!(gap("0 1 * * 0"), Some(7 * day));
        assert_eq!(gap("0 0 * * 7"), Some(7 * day));
        assert_eq!(gap("*/15 * * * *"), Some(15 * 60));
        assert_eq!(gap("0 9 * * mon-fri"), Some(3 * day), "Friday to Monday");
        assert_eq!(
            gap("30 4 1,15 * *"),
            Some(17 * day),
            "the 15th to the 1st of a 31-day month"
        );
        assert_eq!(gap("0 0,6 * * *"), Some(18 * hour));
        assert_eq!(
            gap("0 0 29 2 *"),
            Some(4 * 365 * day + day),
            "leap days only"
        );
        assert_eq!(gap("0 0 30 2 *"), None, "never");
        let overdue = |raw: &str| raw.parse::<Cron>().unwrap().overdue_after();
        assert_eq!(
            overdue("0 2 * * *"),
            Some(std::time::Duration::from_secs(30 * 3600))
        );
        assert_eq!(
            overdue("*/15 * * * *"),
            Some(std::time::Duration::from_secs(2 * 3600))
        );
    }

    #[test]
    fn bad_schedules_name_the_field() {
        let err = "0 25 * * *".parse::<Cron>().unwrap_err();
        assert!(err.message.contains("hour"), "{err}");
        assert!("0 2 * *".parse::<Cron>().is_err());
        assert!("0 2 1 * 1".parse::<Cron>().is_err());
        assert!("*/0 * * * *".parse::<Cron>().is_err());
        assert!("5-1 * * * *".parse::<Cron>().is_err());
        assert!("0 2 * * *; rm -rf /".parse::<Cron>().is_err());
    }
}
