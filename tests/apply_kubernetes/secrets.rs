//! A rotated secret: planned as a change of its Secret, shown only by fingerprint, and
//! never compared or shown when the plan does not resolve secrets.

use crate::mock::{CANARY, Mock, SECRET, applied_once, base64, shown};
use scf::plan::Action;

pub(crate) async fn secret_masked(mock: &Mock) {
    applied_once(mock).await;
    mock.set_secret("SCF_DB_PASSWORD", "rotated-password-1b2c");
    let plan = mock.plan(true, false).await.expect("plan");
    let change = plan
        .changes
        .iter()
        .find(|c| c.address == SECRET)
        .expect("the Secret");
    assert_eq!(change.action, Action::Update, "a rotated value is a change");
    assert!(change.sensitive);
    let text = format!("{}{}", shown(&plan), plan.to_json().expect("json"));
    println!("{}", shown(&plan));
    let diff = change.diff.clone().unwrap_or_default();
    assert!(
        diff.contains("-  DATABASE_PASSWORD: (sensitive, fp ")
            && diff.contains("+  DATABASE_PASSWORD: (sensitive, fp "),
        "{diff}"
    );
    assert_eq!(
        diff.lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count(),
        1,
        "only the rotated key: {diff}"
    );
    for secret in [
        format!("{CANARY}-SCF_DB_PASSWORD"),
        "rotated-password-1b2c".to_string(),
    ] {
        assert!(
            !text.contains(&secret) && !text.contains(&base64(&secret)),
            "a secret value in the plan"
        );
    }
    // Without resolving (scf plan), values are never compared nor shown.
    let plan = mock.plan(false, false).await.expect("plan");
    assert!(!plan.has_changes(), "{}", shown(&plan));
}
