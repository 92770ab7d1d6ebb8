//! An audit entry as stored, the text its hash seals, and the chain's head.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::seal::Seal;

/// An entry as stored.
#[derive(Debug, Clone, FromRow, Serialize, ToSchema)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (unix seconds).
    pub at: i64,
    /// Request id.
    pub request_id: String,
    /// Actor.
    pub actor: String,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// HTTP status.
    pub status: i64,
    /// Previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditRecord {
    /// The text its hash seals: every field and the previous hash, as a JSON array.
    fn canonical(&self) -> String {
        let fields = (
            self.seq,
            self.at,
            &self.request_id,
            &self.actor,
            &self.tenant_id,
            &self.action,
            &self.target,
            self.status,
            &self.prev_hash,
        );
        serde_json::to_string(&fields).unwrap_or_default()
    }

    /// Its fields sealed with `seal`'s current key: the hash it gets when appended.
    pub fn seal_with(&self, seal: &Seal) -> String {
        seal.seal(&self.canonical())
    }

    /// Whether its hash is its fields sealed with one of `seal`'s keys.
    pub fn hash_verifies(&self, seal: &Seal) -> bool {
        seal.verifies(&self.canonical(), &self.hash)
    }
}

/// The columns of `audit_log`, in an [`AuditRecord`]'s order.
pub(super) const COLUMNS: &str =
    "seq, at, request_id, actor, tenant_id, action, target, status, prev_hash, hash";

/// The newest entry of the chain (or the checkpoint, or the genesis): what the next
/// entry links to.
#[derive(Debug, Clone)]
pub(super) struct Head {
    pub(super) seq: i64,
    pub(super) hash: String,
}

#[cfg(test)]
mod tests {
    use super::AuditRecord;

    /// The sealed text is what every existing hash was computed over: a change to it
    /// makes every stored entry fail `scf audit verify`.
    #[test]
    fn the_sealed_text_of_an_entry_is_unchanged() {
        let record = AuditRecord {
            seq: 7,
            at: 1_700_000_000,
            request_id: "r\"1".into(),
            actor: "platform-key:k".into(),
            tenant_id: None,
            action: "PATCH /v1/admin/tenants/{tenant_id}".into(),
            target: "/v1/admin/tenants/acme".into(),
            status: 200,
            prev_hash: "ab".into(),
            hash: String::new(),
        };
        assert_eq!(
            record.canonical(),
            r#"[7,1700000000,"r\"1","platform-key:k",null,"PATCH /v1/admin/tenants/{tenant_id}","/v1/admin/tenants/acme",200,"ab"]"#
        );
    }
}
