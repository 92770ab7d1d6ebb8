//! `kustomization.yaml`: every object file in apply order, so `kubectl apply -k` works
//! and overlays can build on the directory. `sortOptions: fifo` keeps that order instead
//! of kustomize's kind-based one, which would put the migration Job after the Deployment.

use serde::Serialize;

/// The kustomization of the build's `kubernetes/` directory.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    sort_options: SortOptions,
    resources: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SortOptions {
    order: &'static str,
}

impl Kustomization {
    /// Lists `files`, in the order given.
    pub fn new(files: Vec<String>) -> Self {
        Self {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            sort_options: SortOptions { order: "fifo" },
            resources: files,
        }
    }
}
