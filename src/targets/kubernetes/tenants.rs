//! The tenants Job: every `[[tenants]]` entry provisioned as `scf apply` does on a host,
//! with the runtime's own `scf tenant create`, after the migration Job (apply order, and
//! apply waits for each Job). Idempotent: `--if-absent` verifies a tenant that exists
//! instead of creating it, so the Job can run on every change of the list. Built only
//! when there are tenants; its spec names them all, so adding one replaces and reruns it.
//!
//! The image has no shell, so each tenant is an init container of its own, run in
//! order (`tenant-1`, `tenant-2`, ... by tenant id), and the last container lists the
//! registry. A new tenant's first admin password is in its container's log, once, as
//! `scf tenant create` prints it on a host: `kubectl logs job/framework-tenants -c
//! tenant-N` while the Job is kept (ten minutes).
//!
//! Removing a tenant drops its data, so the Job never does it: the cluster plan shows
//! the removal, blocked without `--allow-data-loss` (see `crate::cluster::plan`).

use super::config::PodEnv;
use super::meta::{App, Ctx, TENANTS_JOB};
use super::pod::{FRAMEWORK_UID, hardened_pod};
use super::runtime::{framework_container, framework_volumes, job, runtime_skips};
use crate::model::TenantSpec;
use k8s_openapi::api::batch::v1::Job;

/// The tenants Job, or `None` without tenants.
pub(super) fn job_of(c: Ctx, env: &PodEnv) -> Option<Job> {
    if c.m.tenants.is_empty() {
        return None;
    }
    let creates =
        c.m.tenants
            .iter()
            .enumerate()
            .map(|(i, t)| framework_container(c, env, &format!("tenant-{}", i + 1), &create(t)))
            .collect();
    let list = framework_container(c, env, "list", &["scf", "tenant", "list"]);
    let mut pod = hardened_pod(FRAMEWORK_UID, vec![list], framework_volumes(false));
    pod.init_containers = Some(creates);
    Some(job(c, TENANTS_JOB, App::Tenants, pod, &runtime_skips(c)))
}

/// `scf tenant create --if-absent` for one tenant, as the host's apply calls it.
fn create(t: &TenantSpec) -> Vec<String> {
    let mut args: Vec<String> = ["scf", "tenant", "create", "--if-absent"]
        .map(String::from)
        .to_vec();
    for (flag, value) in [
        ("--tenant-id", t.id.to_string()),
        ("--plan", t.plan.to_string()),
        ("--industry", t.industry.to_string()),
        ("--admin-email", t.admin_email.to_string()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    args
}
