//! Parsing of single environment values: numbers, booleans and lists here; durations,
//! `COUNT/UNIT` rate limits and the `TENANT_PLANS` JSON through `scf-contract`, whose
//! grammars the compiler writes them in. Each error names the variable and the fix.

use std::time::Duration;

use scf_contract::{EnvUnit, Rate, ValueError};

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

/// A variable read by the contract's `read`, or `default` when unset.
fn contract<T>(
    lookup: Lookup<'_>,
    var: &'static str,
    read: impl FnOnce(&str) -> Result<T, ValueError>,
    default: T,
) -> Result<T, SettingsError> {
    match get(lookup, var) {
        None => Ok(default),
        Some(v) => read(&v).map_err(|e| SettingsError::invalid(var, &v, &e.help)),
    }
}

/// A whole number of `unit` (the contract's `*_SECONDS` and `*_DAYS` spelling).
fn duration(
    lookup: Lookup<'_>,
    var: &'static str,
    unit: EnvUnit,
    default: Duration,
) -> Result<Duration, SettingsError> {
    let read = |v: &str| scf_contract::Duration::from_env(v, unit).map(Duration::from);
    contract(lookup, var, read, default)
}

/// A whole number of seconds, or `default` seconds when unset.
pub fn seconds(
    lookup: Lookup<'_>,
    var: &'static str,
    default: u64,
) -> Result<Duration, SettingsError> {
    duration(lookup, var, EnvUnit::Seconds, Duration::from_secs(default))
}

/// A whole number of days, or `default` days when unset.
pub fn days(
    lookup: Lookup<'_>,
    var: &'static str,
    default: u64,
) -> Result<Duration, SettingsError> {
    let default = Duration::from_secs(default.saturating_mul(86_400));
    duration(lookup, var, EnvUnit::Days, default)
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

impl From<Rate> for Quota {
    fn from(rate: Rate) -> Self {
        Self {
            count: rate.count,
            period: rate.per.duration(),
        }
    }
}

/// A `COUNT/UNIT` rate limit, or `default` when unset.
pub fn quota(
    lookup: Lookup<'_>,
    var: &'static str,
    default: Quota,
) -> Result<Quota, SettingsError> {
    contract(lookup, var, |v| v.parse::<Rate>().map(Quota::from), default)
}

/// The tenant plans from `TENANT_PLANS`, or the guide's small/medium/large.
pub fn plans(lookup: Lookup<'_>, var: &'static str) -> Result<Plans, SettingsError> {
    let Some(text) = get(lookup, var) else {
        return Ok(Plans::guide_defaults());
    };
    let plans = scf_contract::plans::from_env(&text).map_err(|e| {
        SettingsError::invalid(var, "(json)", &format!("{}; {}", e.message, e.help))
    })?;
    Ok(Plans::new(plans.into_iter().map(|(name, p)| {
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
    fn quotas_read_the_contract_spelling_and_name_the_variable() {
        let env = |k: &str| match k {
            "Q" => Some("5/ minutes".to_owned()),
            "HUGE" => Some("4294967296/hour".to_owned()),
            _ => None,
        };
        let default = Quota {
            count: 1,
            period: Duration::from_secs(1),
        };
        assert_eq!(
            quota(&env, "Q", default),
            Ok(Quota {
                count: 5,
                period: Duration::from_secs(60)
            })
        );
        assert_eq!(quota(&env, "UNSET", default), Ok(default));
        let err = quota(&env, "HUGE", default).expect_err("above u32");
        assert!(err.to_string().starts_with("HUGE="), "{err}");
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
