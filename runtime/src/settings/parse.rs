//! Parsing of single environment values: numbers, booleans, lists, `COUNT/UNIT` rate
//! limits and the `TENANT_PLANS` JSON. Each error names the variable and the fix.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::error::SettingsError;
use crate::domain::plan::{Plan, Plans};

/// Looks a variable up; the process environment in production, a map in tests.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A variable's value, with surrounding whitespace trimmed and empty treated as unset.
pub fn get(lookup: Lookup<'_>, var: &'static str) -> Option<String> {
    lookup(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A variable parsed with `FromStr`, or `default` when unset.
pub fn number<T: std::str::FromStr>(
    lookup: Lookup<'_>,
    var: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    match get(lookup, var) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| SettingsError::invalid(var, &v, "expected a non-negative whole number")),
    }
}

/// A whole number of seconds, or `default` seconds when unset.
pub fn seconds(
    lookup: Lookup<'_>,
    var: &'static str,
    default: u64,
) -> Result<Duration, SettingsError> {
    number(lookup, var, default).map(Duration::from_secs)
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), or `default` when unset.
pub fn boolean(
    lookup: Lookup<'_>,
    var: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    match get(lookup, var)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(SettingsError::invalid(var, other, "expected true or false")),
    }
}

/// A comma-separated list, empty items dropped.
pub fn list(lookup: Lookup<'_>, var: &'static str) -> Vec<String> {
    get(lookup, var)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A request budget: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed per period (also the burst).
    pub count: u32,
    /// The period.
    pub period: Duration,
}

impl Quota {
    /// Parses `COUNT/UNIT`, where UNIT is second, minute, hour or day.
    pub fn parse(text: &str) -> Option<Self> {
        let (count, unit) = text.split_once('/')?;
        let count: u32 = count.trim().parse().ok().filter(|c| *c > 0)?;
        let secs = match unit.trim().to_ascii_lowercase().trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            _ => return None,
        };
        Some(Self {
            count,
            period: Duration::from_secs(secs),
        })
    }
}

/// A `COUNT/UNIT` rate limit, or `default` when unset.
pub fn quota(lookup: Lookup<'_>, var: &'static str, default: &str) -> Result<Quota, SettingsError> {
    let text = get(lookup, var).unwrap_or_else(|| default.to_owned());
    Quota::parse(&text).ok_or_else(|| {
        SettingsError::invalid(
            var,
            &text,
            "expected COUNT/UNIT, e.g. 1000/hour (unit: second, minute, hour or day)",
        )
    })
}

/// One plan as `TENANT_PLANS` spells it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    max_users: u32,
    max_implementations: u32,
    storage_bytes: u64,
}

/// The tenant plans from `TENANT_PLANS`, or the guide's small/medium/large.
pub fn plans(lookup: Lookup<'_>, var: &'static str) -> Result<Plans, SettingsError> {
    let Some(text) = get(lookup, var) else {
        return Ok(Plans::guide_defaults());
    };
    let raw: BTreeMap<String, RawPlan> = serde_json::from_str(&text).map_err(|e| {
        SettingsError::invalid(var, "(json)", &format!("{e}; expected {{\"small\":{{\"max_users\":25,\"max_implementations\":3,\"storage_bytes\":10737418240}}}}"))
    })?;
    if raw.is_empty() {
        return Err(SettingsError::invalid(
            var,
            "{}",
            "declare at least one plan",
        ));
    }
    Ok(Plans::new(raw.into_iter().map(|(name, p)| {
        (
            name,
            Plan {
                max_users: p.max_users,
                max_implementations: p.max_implementations,
                storage_bytes: p.storage_bytes,
            },
        )
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_the_guide_spelling() {
        assert_eq!(
            Quota::parse("1000/hour"),
            Some(Quota {
                count: 1000,
                period: Duration::from_secs(3600)
            })
        );
        assert_eq!(
            Quota::parse("5/ minutes"),
            Some(Quota {
                count: 5,
                period: Duration::from_secs(60)
            })
        );
        assert_eq!(Quota::parse("0/hour"), None);
        assert_eq!(Quota::parse("10/fortnight"), None);
        assert_eq!(Quota::parse("lots"), None);
    }

    #[test]
    fn plans_come_from_json_and_reject_unknown_keys() {
        let env = |k: &str| {
            (k == "P").then(|| {
                r#"{"tiny":{"max_users":1,"max_implementations":1,"storage_bytes":5}}"#.to_owned()
            })
        };
        let p = plans(&env, "P").expect("valid plans");
        assert_eq!(p.get("tiny").map(|p| p.max_users), Some(1));
        assert!(p.get("small").is_none());
        let bad = |_: &str| Some(r#"{"tiny":{"max_user":1}}"#.to_owned());
        assert!(plans(&bad, "P").is_err());
    }

    #[test]
    fn booleans_and_lists() {
        let env = |k: &str| match k {
            "B" => Some("Yes".into()),
            "L" => Some(" sap, ,oracle ".into()),
            _ => None,
        };
        assert!(boolean(&env, "B", false).expect("bool"));
        assert_eq!(list(&env, "L"), ["sap", "oracle"]);
        assert!(!boolean(&env, "X", false).expect("default"));
    }
}
