//! The tenant lines of a plan, the same on both deploy targets: `tenant:ID` created for a
//! new `[[tenants]]` entry (its plan, industry and admin in the diff), deleted for one
//! that is gone, and the delete blocked without `--allow-data-loss`, since it drops the
//! tenant's data. What is there comes from the database on a host and from scf's
//! inventory on a cluster.

use super::{Action, Change};
use crate::model::TenantSpec;
use std::collections::{BTreeMap, BTreeSet};

/// What a tenant's plan address starts with.
pub const PREFIX: &str = "tenant:";

/// The address of a tenant in a plan.
pub fn address(id: &str) -> String {
    format!("{PREFIX}{id}")
}

/// The tenant changes, by id: `wanted` against the ids `present`.
pub fn changes(
    wanted: &[TenantSpec],
    present: &BTreeSet<String>,
    allow_data_loss: bool,
) -> Vec<Change> {
    let wanted: BTreeMap<&str, &TenantSpec> = wanted.iter().map(|t| (t.id.as_str(), t)).collect();
    let ids: BTreeSet<&str> = wanted
        .keys()
        .copied()
        .chain(present.iter().map(String::as_str))
        .collect();
    ids.into_iter()
        .map(|id| {
            let mut c =
                Change::presence(address(id), present.contains(id), wanted.contains_key(id));
            if let Some(t) = wanted.get(id).filter(|_| c.action == Action::Create) {
                c.diff = Some(format!(
                    "+ plan {}, industry {}, admin {}\n",
                    t.plan, t.industry, t.admin_email
                ));
            }
            if c.action == Action::Delete && !allow_data_loss {
                c.blocked = Some(format!(
                    "removing tenant `{id}` drops its data; pass --allow-data-loss to do it"
                ));
            }
            c
        })
        .collect()
}
