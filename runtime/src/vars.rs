//! The environment contract between the compiler and the runtime: every variable the
//! generated env file, systemd unit, ConfigMap and Secret provide, and the runtime reads.
//!
//! Names follow the deployment guide's `.env` where it has one. A variable marked
//! *secret* never holds a value in a generated artifact: `scf apply` writes it from the
//! secret reference, or Kubernetes injects it from a Secret.

/// How a generated artifact begins a secret's marker (`@@scf-secret:env:NAME@@`), which
/// `scf apply` replaces by the value: a file still holding one was never applied.
pub const SECRET_MARKER: &str = "@@scf-secret:";

/// `development` or `production`.
pub const ENVIRONMENT: &str = "ENVIRONMENT";
/// Socket address the HTTP server binds, e.g. `127.0.0.1:5000`.
pub const LISTEN_ADDR: &str = "LISTEN_ADDR";
/// Worker threads for the async runtime.
pub const WORKERS: &str = "WORKERS";
/// Log filter: `error`, `warn`, `info`, `debug` or `trace`.
pub const LOG_LEVEL: &str = "LOG_LEVEL";
/// PostgreSQL URL without a password, e.g. `postgresql://framework@127.0.0.1:5432/ai_supply_chain`.
pub const DATABASE_URL: &str = "DATABASE_URL";
/// *Secret.* Password of the database role.
pub const DATABASE_PASSWORD: &str = "DATABASE_PASSWORD";
/// PostgreSQL URL `scf db migrate` migrates the control plane through, as the role that
/// owns the schema (`<user>_owner`); the role of `DATABASE_URL` is then granted only what
/// serving needs. Unset: migrations run as `DATABASE_URL`'s role. `scf apply` sets it for
/// its own run; the service never has it.
pub const DATABASE_MIGRATION_URL: &str = "DATABASE_MIGRATION_URL";
/// *Secret.* Password for `DATABASE_MIGRATION_URL` when the URL carries none (a Kubernetes
/// Job takes it from a Secret key, which cannot be spliced into a URL safely).
pub const DATABASE_MIGRATION_PASSWORD: &str = "DATABASE_MIGRATION_PASSWORD";
/// Connections kept in the database pool.
pub const DATABASE_POOL_SIZE: &str = "DATABASE_POOL_SIZE";
/// Extra connections the pool may open under load.
pub const DATABASE_MAX_OVERFLOW: &str = "DATABASE_MAX_OVERFLOW";
/// Redis URL without a password, e.g. `redis://127.0.0.1:6379/0`.
pub const REDIS_URL: &str = "REDIS_URL";
/// *Secret.* Redis `requirepass` password.
pub const REDIS_PASSWORD: &str = "REDIS_PASSWORD";
/// *Secret.* Key that signs JWTs (HS256).
pub const SECRET_KEY: &str = "SECRET_KEY";
/// *Secret.* AES-256-GCM key for field encryption: 32 bytes, base64.
pub const FIELD_ENCRYPTION_KEY: &str = "FIELD_ENCRYPTION_KEY";
/// JWT lifetime in seconds.
pub const JWT_EXPIRY_SECONDS: &str = "JWT_EXPIRY_SECONDS";
/// `true` when every user must enrol TOTP MFA.
pub const MFA_REQUIRED: &str = "MFA_REQUIRED";
/// Days after which an API key expires and must be rotated.
pub const API_KEY_ROTATION_DAYS: &str = "API_KEY_ROTATION_DAYS";
/// Requests per client IP, as `COUNT/UNIT` (`1000/hour`).
pub const RATE_LIMIT_PER_IP: &str = "RATE_LIMIT_PER_IP";
/// Requests per authenticated user, as `COUNT/UNIT`.
pub const RATE_LIMIT_PER_USER: &str = "RATE_LIMIT_PER_USER";
/// Requests per tenant, as `COUNT/UNIT`.
pub const RATE_LIMIT_PER_TENANT: &str = "RATE_LIMIT_PER_TENANT";
/// Days the audit log is kept.
pub const AUDIT_LOG_RETENTION_DAYS: &str = "AUDIT_LOG_RETENTION_DAYS";
/// Tenant isolation: `database`, `schema` or `row`.
pub const TENANT_ISOLATION: &str = "TENANT_ISOLATION";
/// Most tenants this deployment accepts.
pub const MAX_TENANTS: &str = "MAX_TENANTS";
/// Tenant plans as JSON: `{"small":{"max_users":25,"max_implementations":3,"storage_bytes":10737418240},...}`.
pub const TENANT_PLANS: &str = "TENANT_PLANS";
/// Industry assumed when a tenant names none.
pub const DEFAULT_INDUSTRY: &str = "DEFAULT_INDUSTRY";
/// Implementations running at once across the deployment.
pub const MAX_CONCURRENT_IMPLEMENTATIONS: &str = "MAX_CONCURRENT_IMPLEMENTATIONS";
/// Cache lifetime in seconds.
pub const CACHE_TTL: &str = "CACHE_TTL";
/// Enabled connectors, comma-separated: `sap,oracle,quickbooks`.
pub const CONNECTORS: &str = "CONNECTORS";
/// Largest accepted upload, in MiB.
pub const MAX_UPLOAD_MB: &str = "MAX_UPLOAD_MB";
/// Request timeout in seconds.
pub const REQUEST_TIMEOUT_SECONDS: &str = "REQUEST_TIMEOUT_SECONDS";
/// `true` when `/metrics` is served (on `METRICS_LISTEN`).
pub const PROMETHEUS_ENABLED: &str = "PROMETHEUS_ENABLED";
/// Socket address of the metrics listener, the only one serving `/metrics` (it names
/// every tenant): `127.0.0.1:9464` unless Prometheus scrapes from elsewhere.
pub const METRICS_LISTEN: &str = "METRICS_LISTEN";
/// Directory for uploads and other state, e.g. `/var/lib/ai-supply-chain`.
pub const DATA_DIR: &str = "DATA_DIR";

/// *Secret.* Retired JWT signing keys, comma-separated: tokens they signed stay valid
/// until they expire, so `SECRET_KEY` rotates without logging everyone out.
pub const SECRET_KEY_PREVIOUS: &str = "SECRET_KEY_PREVIOUS";
/// *Secret.* Retired field-encryption keys (32 bytes, base64), comma-separated: still
/// used to decrypt values written before `FIELD_ENCRYPTION_KEY` rotated.
pub const FIELD_ENCRYPTION_KEY_PREVIOUS: &str = "FIELD_ENCRYPTION_KEY_PREVIOUS";
/// PostgreSQL extensions `scf db init` creates and `scf db verify` requires, comma-separated.
pub const DATABASE_EXTENSIONS: &str = "DATABASE_EXTENSIONS";
/// Reverse proxies (IP addresses and CIDR networks, comma-separated) whose
/// `X-Forwarded-For` and `X-Real-IP` name the client.
pub const TRUSTED_PROXIES: &str = "TRUSTED_PROXIES";
/// Seconds in-flight requests and the agents' jobs get to finish after SIGTERM (default
/// 25); the generated stop timeouts add `settings::shutdown::STOP_MARGIN` to it.
pub const SHUTDOWN_GRACE_SECONDS: &str = "SHUTDOWN_GRACE_SECONDS";
/// Seconds an agent may hold a job before another agent reclaims it (default 300).
pub const QUEUE_VISIBILITY_TIMEOUT_SECONDS: &str = "QUEUE_VISIBILITY_TIMEOUT_SECONDS";
/// Attempts at a job before it goes to the dead-letter stream (default 5).
pub const QUEUE_MAX_ATTEMPTS: &str = "QUEUE_MAX_ATTEMPTS";
/// Seconds before a failed job's first retry; each further retry doubles it (default 2).
pub const QUEUE_RETRY_BACKOFF_SECONDS: &str = "QUEUE_RETRY_BACKOFF_SECONDS";
/// Jobs a stream may hold before new implementations are refused with 503 (default 100000).
pub const QUEUE_MAX_DEPTH: &str = "QUEUE_MAX_DEPTH";
/// Seconds a connection has to send a complete request head, counted from when it opens
/// or finishes its previous response, so also the keep-alive idle timeout (default 10).
pub const HTTP_HEADER_TIMEOUT_SECONDS: &str = "HTTP_HEADER_TIMEOUT_SECONDS";
/// Progress WebSockets one user or API key may hold open on a replica (default 10).
pub const WEBSOCKETS_PER_USER: &str = "WEBSOCKETS_PER_USER";
/// Progress WebSockets one tenant may hold open on a replica (default 100).
pub const WEBSOCKETS_PER_TENANT: &str = "WEBSOCKETS_PER_TENANT";

/// Every variable that holds a secret; artifacts carry these as references only.
pub const SECRETS: [&str; 6] = [
    DATABASE_PASSWORD,
    REDIS_PASSWORD,
    SECRET_KEY,
    FIELD_ENCRYPTION_KEY,
    SECRET_KEY_PREVIOUS,
    FIELD_ENCRYPTION_KEY_PREVIOUS,
];
