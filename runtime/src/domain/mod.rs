//! Domain newtypes, validated at the edge: whatever holds one of these has already been
//! checked, so the storage and SQL layers can rely on it (a `TenantId` is safe in an
//! identifier, an `Email` is well formed, a `Role` is one of three).

pub mod email;
pub mod implementation;
pub mod plan;
pub mod role;
pub mod tenant;
