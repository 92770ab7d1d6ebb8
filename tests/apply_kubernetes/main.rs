//! `scf plan` and `scf apply` on Kubernetes, against a mock API server in the style of
//! kube-rs's own `mock_tests.rs`: a `tower_test::mock::pair` answers the client, a small
//! in-memory API server asserts every request (method, path, `fieldManager`, `dryRun`,
//! body) and answers with JSON, and a [`Scenario`] drives one story and checks what
//! reached the server. No API server runs on our machines; the end-to-end test against a
//! real cluster runs when `SCF_TEST_KUBECONFIG` is set (see CONTRIBUTING.md).

mod cli;
mod cnpg;
mod converge;
mod doctor;
mod mock;
mod refusals;
mod saved;
mod secrets;
mod server;
#[path = "../support/mod.rs"]
mod support;
mod tenants;
mod waits;

use mock::Mock;

/// The story a test tells, and what it checks.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    FirstApplyCreatesEverything,
    SecondPlanFindsNoChange,
    ImageChangeUpdatesOnlyTheDeployment,
    RemovedObjectIsPruned,
    LeaseHeldByAnotherIsRefused,
    LostLeaseStopsTheApply,
    FieldManagerConflictIsReported,
    FailedRolloutIsReportedAndRolledBack,
    SecretDiffIsMasked,
    SavedPlanIsRefusedWhenStale,
    SavedPlanIsBoundToWhatApplyDoes,
    CrashLoopFailsTheWaitAtOnce,
    ImagePullBackOffFailsTheWaitAtOnce,
    ErrImagePullFailsTheWaitAtOnce,
    FailedMigrationIsReportedWithItsLog,
    DoctorPassesAHealthyDeploymentAndFailsEachBreak,
    InterruptedApplyCleansUp,
    AtomicRestoresAReplacedJob,
    TenantAddedThenRemoved,
    MovingToCloudnativePg,
}

impl Scenario {
    async fn run(self) {
        let mock = Mock::new();
        match self {
            Scenario::FirstApplyCreatesEverything => converge::first_apply(&mock).await,
            Scenario::SecondPlanFindsNoChange => converge::second_plan(&mock).await,
            Scenario::ImageChangeUpdatesOnlyTheDeployment => converge::image_change(&mock).await,
            Scenario::RemovedObjectIsPruned => converge::prune(&mock).await,
            Scenario::LeaseHeldByAnotherIsRefused => refusals::lease_held(&mock).await,
            Scenario::LostLeaseStopsTheApply => refusals::lease_lost(&mock).await,
            Scenario::FieldManagerConflictIsReported => refusals::conflict(&mock).await,
            Scenario::FailedRolloutIsReportedAndRolledBack => refusals::failed_rollout(&mock).await,
            Scenario::SecretDiffIsMasked => secrets::secret_masked(&mock).await,
            Scenario::SavedPlanIsRefusedWhenStale => refusals::stale_plan(&mock).await,
            Scenario::SavedPlanIsBoundToWhatApplyDoes => saved::saved_plan_is_bound(&mock).await,
            Scenario::CrashLoopFailsTheWaitAtOnce => {
                waits::stuck_pod(&mock, "CrashLoopBackOff").await
            }
            Scenario::ImagePullBackOffFailsTheWaitAtOnce => {
                waits::stuck_pod(&mock, "ImagePullBackOff").await
            }
            Scenario::ErrImagePullFailsTheWaitAtOnce => {
                waits::stuck_pod(&mock, "ErrImagePull").await
            }
            Scenario::FailedMigrationIsReportedWithItsLog => waits::failed_migration(&mock).await,
            Scenario::InterruptedApplyCleansUp => waits::interrupted(&mock).await,
            Scenario::AtomicRestoresAReplacedJob => {
                waits::atomic_restores_a_replaced_job(&mock).await
            }
            Scenario::DoctorPassesAHealthyDeploymentAndFailsEachBreak => {
                doctor::healthy_then_broken(&mock).await
            }
            Scenario::TenantAddedThenRemoved => tenants::added_then_removed(&mock).await,
            Scenario::MovingToCloudnativePg => cnpg::moving_to_cloudnative_pg(&mock).await,
        }
    }
}

/// One `#[tokio::test]` per scenario, named after it.
macro_rules! scenario_tests {
    ($($name:ident => $scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                Scenario::$scenario.run().await;
            }
        )*
    };
}

scenario_tests! {
    first_apply_creates_everything => FirstApplyCreatesEverything,
    second_plan_finds_no_change => SecondPlanFindsNoChange,
    image_change_updates_only_the_deployment => ImageChangeUpdatesOnlyTheDeployment,
    removed_object_is_pruned => RemovedObjectIsPruned,
    lease_held_by_another_is_refused => LeaseHeldByAnotherIsRefused,
    lost_lease_stops_the_apply => LostLeaseStopsTheApply,
    field_manager_conflict_is_reported => FieldManagerConflictIsReported,
    failed_rollout_is_reported_and_rolled_back => FailedRolloutIsReportedAndRolledBack,
    secret_diff_is_masked => SecretDiffIsMasked,
    saved_plan_is_refused_when_stale => SavedPlanIsRefusedWhenStale,
    saved_plan_is_bound_to_what_apply_does => SavedPlanIsBoundToWhatApplyDoes,
    crash_loop_fails_the_wait_at_once => CrashLoopFailsTheWaitAtOnce,
    image_pull_back_off_fails_the_wait_at_once => ImagePullBackOffFailsTheWaitAtOnce,
    err_image_pull_fails_the_wait_at_once => ErrImagePullFailsTheWaitAtOnce,
    failed_migration_is_reported_with_its_log => FailedMigrationIsReportedWithItsLog,
    doctor_passes_a_healthy_deployment_and_fails_each_break => DoctorPassesAHealthyDeploymentAndFailsEachBreak,
    interrupted_apply_cleans_up => InterruptedApplyCleansUp,
    atomic_restores_a_replaced_job => AtomicRestoresAReplacedJob,
    tenant_added_then_removed => TenantAddedThenRemoved,
    moving_to_cloudnative_pg => MovingToCloudnativePg,
}
