//! pgtune for the host: the settings of postgresql.conf computed from the memory and cores
//! PostgreSQL gets, for a web workload (pgtune's "web" profile), plus the connection budget
//! of the runtime's pools. User overrides from `database.settings` are applied by the caller.

use crate::config::values::ByteSize;
use crate::config::{DiskKind, Isolation};

/// Runtime processes on one host: the `scf` server is one process with one pool.
pub const HOST_INSTANCES: u32 = 1;
/// Connections a runtime opens per tenant database under database isolation (its
/// per-tenant pool size; see the runtime's tenancy store).
pub const TENANT_POOL_CONNECTIONS: u32 = 4;
/// Connections kept for administration: psql, backups (pg_dump), postgres-exporter and
/// migrations. PostgreSQL's 3 superuser-reserved connections come out of this.
pub const ADMIN_HEADROOM: u32 = 10;

const KB_PER_MB: u64 = 1024;
const KB_PER_GB: u64 = 1024 * 1024;

/// What pgtune needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// Memory PostgreSQL may use: the host's, less a managed Redis's maxmemory.
    pub memory: ByteSize,
    /// CPU cores.
    pub cpus: u32,
    /// The database disk.
    pub disk: DiskKind,
    /// `database.pool_size`.
    pub pool_size: u32,
    /// `database.max_overflow`.
    pub max_overflow: u32,
    /// `tenancy.isolation`.
    pub isolation: Isolation,
    /// `tenancy.max_tenants`.
    pub max_tenants: u32,
}

/// One computed setting: its name, its value as postgresql.conf spells it unquoted, and
/// why it has that value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuned {
    /// Parameter name.
    pub name: &'static str,
    /// Value, a number or a number with a unit: never needs quoting.
    pub value: String,
    /// The formula, for the comment above it.
    pub why: String,
}

/// `max_connections`: every pool at its ceiling plus the administrative headroom.
pub fn max_connections(i: &Inputs) -> u32 {
    let tenant_pools = match i.isolation {
        Isolation::Database => i.max_tenants.saturating_mul(TENANT_POOL_CONNECTIONS),
        Isolation::Schema | Isolation::Row => 0,
    };
    i.pool_size
        .saturating_add(i.max_overflow)
        .saturating_mul(HOST_INSTANCES)
        .saturating_add(tenant_pools)
        .saturating_add(ADMIN_HEADROOM)
}

/// The explanation of [`max_connections`], for the generated file.
pub fn max_connections_formula(i: &Inputs) -> String {
    let tenants = match i.isolation {
        Isolation::Database => format!(
            " + max_tenants ({}) x {TENANT_POOL_CONNECTIONS} per tenant pool",
            i.max_tenants
        ),
        Isolation::Schema | Isolation::Row => String::new(),
    };
    format!(
        "(pool_size {} + max_overflow {}) x {HOST_INSTANCES} runtime instance{tenants} + {ADMIN_HEADROOM} for admin, backup, exporter and migrations",
        i.pool_size, i.max_overflow
    )
}

/// A size in kB as postgresql.conf writes it: `4GB`, `256MB` or `1536kB`.
pub fn size(kb: u64) -> String {
    if kb >= KB_PER_GB && kb.is_multiple_of(KB_PER_GB) {
        format!("{}GB", kb / KB_PER_GB)
    } else if kb >= KB_PER_MB && kb.is_multiple_of(KB_PER_MB) {
        format!("{}MB", kb / KB_PER_MB)
    } else {
        format!("{kb}kB")
    }
}

/// The parallel-query budget: workers per gather and for maintenance, pgtune's ceil(cpus/2)
/// capped at 4; `None` on a single core, where PostgreSQL's defaults stay.
fn parallel_per_gather(cpus: u32) -> Option<u32> {
    (cpus >= 2).then(|| cpus.div_ceil(2).min(4))
}

/// Every computed setting, in the order they are written.
pub fn settings(i: &Inputs) -> Vec<Tuned> {
    let ram_kb = i.memory.bytes() / 1024;
    let shared_buffers = ram_kb / 4;
    let connections = max_connections(i);
    // PostgreSQL's default max_parallel_workers_per_gather (2) applies on one core.
    let gather = parallel_per_gather(i.cpus).unwrap_or(2);
    let work_mem =
        ((ram_kb - shared_buffers) / (u64::from(connections) * 3) / u64::from(gather)).max(64);
    let wal_buffers = wal_buffers(shared_buffers);
    let (random_page_cost, io_concurrency) = match i.disk {
        DiskKind::Ssd => ("1.1", "200"),
        DiskKind::Hdd => ("4", "2"),
    };
    let t = |name, value: String, why: &str| Tuned {
        name,
        value,
        why: why.to_string(),
    };
    let mut out = vec![
        t(
            "max_connections",
            connections.to_string(),
            &max_connections_formula(i),
        ),
        t("shared_buffers", size(shared_buffers), "memory / 4"),
        t("effective_cache_size", size(ram_kb * 3 / 4), "memory x 3/4"),
        t(
            "maintenance_work_mem",
            size((ram_kb / 16).min(2 * KB_PER_GB)),
            "memory / 16, at most 2GB",
        ),
        t(
            "work_mem",
            size(work_mem),
            "(memory - shared_buffers) / (max_connections x 3) / max_parallel_workers_per_gather, at least 64kB",
        ),
        t(
            "wal_buffers",
            size(wal_buffers),
            "3% of shared_buffers, 32kB to 16MB",
        ),
        t("min_wal_size", size(KB_PER_GB), "pgtune web profile"),
        t("max_wal_size", size(4 * KB_PER_GB), "pgtune web profile"),
        t(
            "checkpoint_completion_target",
            "0.9".into(),
            "spread checkpoints",
        ),
        t(
            "default_statistics_target",
            "100".into(),
            "pgtune web profile",
        ),
        t(
            "random_page_cost",
            random_page_cost.into(),
            disk_name(i.disk),
        ),
        t(
            "effective_io_concurrency",
            io_concurrency.into(),
            disk_name(i.disk),
        ),
    ];
    if let Some(per_gather) = parallel_per_gather(i.cpus) {
        out.extend([
            t("max_worker_processes", i.cpus.to_string(), "cpus"),
            t(
                "max_parallel_workers_per_gather",
                per_gather.to_string(),
                "cpus / 2, at most 4",
            ),
            t("max_parallel_workers", i.cpus.to_string(), "cpus"),
            t(
                "max_parallel_maintenance_workers",
                per_gather.to_string(),
                "cpus / 2, at most 4",
            ),
        ]);
    }
    out
}

fn disk_name(disk: DiskKind) -> &'static str {
    match disk {
        DiskKind::Ssd => "data on SSD (host.disk)",
        DiskKind::Hdd => "data on HDD (host.disk)",
    }
}

/// pgtune's wal_buffers: 3% of shared_buffers, raised to 16MB from 14MB up, 32kB to 16MB.
fn wal_buffers(shared_buffers_kb: u64) -> u64 {
    let max = 16 * KB_PER_MB;
    let value = 3 * shared_buffers_kb / 100;
    if value > 14 * KB_PER_MB {
        max
    } else {
        value.max(32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(memory: &str, cpus: u32, connections: u32) -> Inputs {
        Inputs {
            memory: memory.parse().expect("size"),
            cpus,
            disk: DiskKind::Ssd,
            pool_size: connections - ADMIN_HEADROOM,
            max_overflow: 0,
            isolation: Isolation::Row,
            max_tenants: 1,
        }
    }

    fn get(settings: &[Tuned], name: &str) -> Option<String> {
        settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value.clone())
    }

    /// pgtune's own output for web, 4 GB, 2 CPUs, 200 connections, SSD.
    #[test]
    fn matches_pgtune_web_4gb_2cpu() {
        let s = settings(&inputs("4GiB", 2, 200));
        let expect = [
            ("max_connections", "200"),
            ("shared_buffers", "1GB"),
            ("effective_cache_size", "3GB"),
            ("maintenance_work_mem", "256MB"),
            ("wal_buffers", "16MB"),
            ("work_mem", "5242kB"),
            ("min_wal_size", "1GB"),
            ("max_wal_size", "4GB"),
            ("random_page_cost", "1.1"),
            ("effective_io_concurrency", "200"),
            ("max_worker_processes", "2"),
            ("max_parallel_workers_per_gather", "1"),
            ("max_parallel_maintenance_workers", "1"),
        ];
        for (name, value) in expect {
            assert_eq!(get(&s, name).as_deref(), Some(value), "{name}");
        }
    }

    #[test]
    fn large_hosts_cap_maintenance_and_parallelism() {
        let s = settings(&inputs("64GiB", 16, 100));
        assert_eq!(get(&s, "maintenance_work_mem").as_deref(), Some("2GB"));
        assert_eq!(
            get(&s, "max_parallel_workers_per_gather").as_deref(),
            Some("4")
        );
        assert_eq!(get(&s, "max_parallel_workers").as_deref(), Some("16"));
    }

    #[test]
    fn one_core_keeps_parallel_defaults_and_small_memory_floors() {
        let s = settings(&inputs("256MiB", 1, 1000));
        assert_eq!(get(&s, "max_worker_processes"), None);
        assert_eq!(get(&s, "work_mem").as_deref(), Some("64kB"));
        assert_eq!(get(&s, "wal_buffers").as_deref(), Some("1966kB"));
    }

    #[test]
    fn hdd_changes_planner_costs() {
        let mut i = inputs("4GiB", 2, 20);
        i.disk = DiskKind::Hdd;
        let s = settings(&i);
        assert_eq!(get(&s, "random_page_cost").as_deref(), Some("4"));
        assert_eq!(get(&s, "effective_io_concurrency").as_deref(), Some("2"));
    }

    #[test]
    fn database_isolation_budgets_tenant_pools() {
        let i = Inputs {
            pool_size: 20,
            max_overflow: 30,
            isolation: Isolation::Database,
            max_tenants: 100,
            ..inputs("16GiB", 4, 20)
        };
        assert_eq!(max_connections(&i), 50 + 400 + ADMIN_HEADROOM);
        let schema = Inputs {
            isolation: Isolation::Schema,
            ..i
        };
        assert_eq!(max_connections(&schema), 60);
    }
}
