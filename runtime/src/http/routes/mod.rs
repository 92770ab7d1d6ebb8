//! The API's routes, one module per resource. Each handler's `#[utoipa::path]` is its
//! OpenAPI entry, and its auth extractor (`Authed<Role>`, `SessionUser`, `Platform`, or
//! none for the few public routes) is its declared role.

pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod events;
pub mod health;
pub mod implementations;
pub mod tenant;
pub mod users;
