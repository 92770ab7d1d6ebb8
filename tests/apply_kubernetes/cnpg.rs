//! Moving the database to CloudNativePG: the plan creates the `Cluster` and its
//! credentials' Secrets and removes the StatefulSet, which is refused without
//! `--allow-data-loss` (the new cluster starts empty), and goes through with it.

use crate::mock::{Mock, addresses, applied, applied_once, shown};
use scf::plan::Action;

const CLUSTER: &str = "k8s:postgresql.cnpg.io/v1/Cluster/ai-supply-chain/postgres";
const STATEFUL_SET: &str = "k8s:apps/v1/StatefulSet/ai-supply-chain/postgres";

pub(crate) async fn moving_to_cloudnative_pg(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(
        "[database]\n",
        "[database]\noperator = \"cloudnative-pg\"\n",
    );
    let plan = mock.plan(false, false).await.expect("plan");
    let text = shown(&plan);
    println!("{text}");
    let creates = addresses(&plan, Action::Create);
    for address in [
        CLUSTER,
        "k8s:v1/Secret/ai-supply-chain/cnpg-superuser",
        "k8s:v1/Secret/ai-supply-chain/cnpg-app",
    ] {
        assert!(creates.contains(&address), "{address} in {creates:?}");
    }
    assert!(addresses(&plan, Action::Delete).contains(&STATEFUL_SET));
    assert!(
        text.contains("deleting StatefulSet postgres leaves its data on its retained volume"),
        "{text}"
    );
    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let err = result.expect_err("refused").to_string();
    assert!(err.contains("--allow-data-loss"), "{err}");
    assert!(applied(&mock.seen_since(mark)).is_empty());

    mock.allow_data_loss(true);
    let (result, _) = mock.apply(false, false).await;
    let report = result.expect("apply with --allow-data-loss");
    assert!(report.applied.contains(&CLUSTER.to_string()), "{report:?}");
    assert!(
        report.pruned.contains(&STATEFUL_SET.to_string()),
        "{report:?}"
    );
    let config = mock
        .object("/api/v1/namespaces/ai-supply-chain/configmaps/framework-config")
        .expect("the ConfigMap");
    assert_eq!(
        config["data"]["DATABASE_URL"],
        "postgresql://framework@postgres-rw:5432/ai_supply_chain"
    );
    let after = mock.plan(false, false).await.expect("plan");
    assert!(!after.has_changes(), "{}", shown(&after));
}
