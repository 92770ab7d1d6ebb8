-- Implementations: a tenant's optimization runs. `implementations` holds each run's state
-- (queued, forecasting, optimizing, succeeded, failed, cancelled), options and summary;
-- `implementation_skus` holds one row per SKU: its demand history as uploaded, then its
-- forecast and its inventory policy as the agents write them (one row per SKU, so a
-- redelivered job overwrites, never duplicates). Every row carries tenant_id and every
-- query filters on it. The same SQL serves PostgreSQL and SQLite.

CREATE TABLE IF NOT EXISTS implementations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    options TEXT NOT NULL,
    state TEXT NOT NULL,
    sku_count BIGINT NOT NULL,
    error TEXT,
    accuracy DOUBLE PRECISION,
    accuracy_floor DOUBLE PRECISION,
    summary TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);

CREATE INDEX IF NOT EXISTS implementations_tenant ON implementations (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS implementations_state ON implementations (tenant_id, state);

CREATE TABLE IF NOT EXISTS implementation_skus (
    tenant_id TEXT NOT NULL,
    implementation_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    sku TEXT NOT NULL,
    history TEXT NOT NULL,
    forecast TEXT,
    policy TEXT,
    PRIMARY KEY (tenant_id, implementation_id, position)
);
