//! Tenant plans as they cross to the runtime: `TENANT_PLANS`, a JSON object of plan name
//! to limits, written by the compiler from `[tenancy.plans]` and read by the runtime.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::value::ValueError;

/// The limits of one plan, in the units and integer widths the runtime enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Most implementations a tenant on this plan may have.
    pub max_implementations: u32,
    /// Most users a tenant on this plan may have.
    pub max_users: u32,
    /// Most bytes of storage it may use.
    pub storage_bytes: u64,
}

/// Plans by name.
pub type Plans = BTreeMap<String, PlanLimits>;

/// The `TENANT_PLANS` value: `{"large":{"max_implementations":25,…},…}`, keys sorted.
/// Built as a JSON value, which cannot fail to print, rather than through a serializer.
pub fn to_env(plans: &Plans) -> String {
    let object: Map<String, Value> = plans
        .iter()
        .map(|(name, p)| {
            let limits = Map::from_iter([
                (
                    "max_implementations".to_owned(),
                    p.max_implementations.into(),
                ),
                ("max_users".to_owned(), p.max_users.into()),
                ("storage_bytes".to_owned(), p.storage_bytes.into()),
            ]);
            (name.clone(), Value::Object(limits))
        })
        .collect();
    Value::Object(object).to_string()
}

/// Reads what [`to_env`] wrote; at least one plan, no unknown keys.
pub fn from_env(text: &str) -> Result<Plans, ValueError> {
    let plans: Plans = serde_json::from_str(text).map_err(|e| {
        ValueError::new(
            format!("not a JSON object of plans: {e}"),
            r#"write {"small":{"max_implementations":3,"max_users":25,"storage_bytes":10737418240}}"#,
        )
    })?;
    if plans.is_empty() {
        return Err(ValueError::new(
            "no plan is declared",
            "declare at least one plan",
        ));
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_round_trip_with_sorted_keys() {
        let plans = Plans::from([(
            "tiny".to_owned(),
            PlanLimits {
                max_implementations: 1,
                max_users: u32::MAX,
                storage_bytes: 5,
            },
        )]);
        let text = to_env(&plans);
        assert_eq!(
            text,
            r#"{"tiny":{"max_implementations":1,"max_users":4294967295,"storage_bytes":5}}"#
        );
        assert_eq!(from_env(&text), Ok(plans));
    }

    #[test]
    fn unknown_keys_too_large_counts_and_no_plans_are_refused() {
        assert!(from_env(r#"{"tiny":{"max_user":1}}"#).is_err());
        let huge = r#"{"tiny":{"max_implementations":1,"max_users":4294967296,"storage_bytes":5}}"#;
        assert!(from_env(huge).is_err());
        assert!(from_env("{}").is_err());
    }
}
