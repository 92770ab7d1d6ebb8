//! Tenant plans and their limits (users, implementations, storage), with the checks that
//! turn a limit into a clear refusal.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

const GIB: u64 = 1024 * 1024 * 1024;

/// The limits of one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Plan {
    /// Most users a tenant on this plan may have.
    pub max_users: u32,
    /// Most implementations it may have.
    pub max_implementations: u32,
    /// Most bytes of storage it may use.
    pub storage_bytes: u64,
}

/// A limit a request would exceed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the {plan} plan allows at most {limit} {what}; this tenant already has {current}. Upgrade the plan or remove some first"
)]
pub struct LimitExceeded {
    /// The plan's name.
    pub plan: String,
    /// What is limited: `users`, `implementations` or `bytes of storage`.
    pub what: &'static str,
    /// The limit.
    pub limit: u64,
    /// The current amount.
    pub current: u64,
}

impl Plan {
    /// Refuses one more user when the plan is full.
    pub fn check_users(&self, plan: &str, current: u64) -> Result<(), LimitExceeded> {
        check(plan, "users", self.max_users.into(), current, 1)
    }

    /// Refuses one more implementation when the plan is full.
    pub fn check_implementations(&self, plan: &str, current: u64) -> Result<(), LimitExceeded> {
        check(
            plan,
            "implementations",
            self.max_implementations.into(),
            current,
            1,
        )
    }

    /// Refuses `incoming` more bytes when they would pass the storage limit.
    pub fn check_storage(
        &self,
        plan: &str,
        current: u64,
        incoming: u64,
    ) -> Result<(), LimitExceeded> {
        check(
            plan,
            "bytes of storage",
            self.storage_bytes,
            current,
            incoming,
        )
    }
}

fn check(
    plan: &str,
    what: &'static str,
    limit: u64,
    current: u64,
    adding: u64,
) -> Result<(), LimitExceeded> {
    if current.saturating_add(adding) <= limit {
        Ok(())
    } else {
        Err(LimitExceeded {
            plan: plan.to_owned(),
            what,
            limit,
            current,
        })
    }
}

/// The plans a deployment offers, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plans(BTreeMap<String, Plan>);

impl Plans {
    /// Plans from name/limit pairs.
    pub fn new(plans: impl IntoIterator<Item = (String, Plan)>) -> Self {
        Self(plans.into_iter().collect())
    }

    /// The deployment guide's small, medium and large.
    pub fn guide_defaults() -> Self {
        let plan = |u, i, gib| Plan {
            max_users: u,
            max_implementations: i,
            storage_bytes: gib * GIB,
        };
        Self::new([
            ("small".to_owned(), plan(25, 3, 10)),
            ("medium".to_owned(), plan(100, 10, 50)),
            ("large".to_owned(), plan(500, 25, 200)),
        ])
    }

    /// A plan by name.
    pub fn get(&self, name: &str) -> Option<&Plan> {
        self.0.get(name)
    }

    /// The plan names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_limits_are_enforced() {
        let plans = Plans::guide_defaults();
        let small = *plans.get("small").expect("small");
        assert_eq!(small.max_users, 25);
        assert!(small.check_users("small", 24).is_ok());
        let err = small.check_users("small", 25).expect_err("full");
        assert_eq!(
            err.to_string(),
            "the small plan allows at most 25 users; this tenant already has 25. Upgrade the plan or remove some first"
        );
        assert!(small.check_implementations("small", 3).is_err());
        assert!(small.check_storage("small", 10 * GIB - 1, 1).is_ok());
        assert!(small.check_storage("small", 10 * GIB - 1, 2).is_err());
        assert_eq!(plans.names(), ["large", "medium", "small"]);
    }
}
