//! [`Object`]: one typed Kubernetes object scf manages. The target renders each to its own
//! YAML file; plan and apply take the same list and send each as a [`DynamicObject`] with
//! server-side apply, addressed by its GVK, namespace and name.
//!
//! A kind is any [`kube::Resource`] with a static type: the built-in kinds of `k8s-openapi`,
//! and the custom resources of the operators scf generates for, each a struct derived with
//! [`kube::CustomResource`] (`#[kube(schema = "disabled")]`: their CRDs are the operators',
//! pinned under `testkit/crds/` and checked in the test suite). Add one to [`objects!`]'s list.

use super::cnpg_kinds::{Cluster, ScheduledBackup};
use super::keda::{ScaledObject, TriggerAuthentication};
use super::operator::{PodMonitor, PrometheusRule};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde::Serialize;

/// Why an object could not be serialized; always a bug in scf.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// YAML serialization failed.
    #[error(
        "{address} could not be written as YAML: {source}; this is a bug in scf, please report it"
    )]
    Yaml {
        /// The object's plan address.
        address: String,
        /// The serializer's error.
        source: serde_saphyr::SerializeError,
    },
    /// Building an object's content (a rendered file, a URL) failed.
    #[error("{address} could not be built: {message}; this is a bug in scf, please report it")]
    Content {
        /// The object's plan address.
        address: String,
        /// What failed.
        message: String,
    },
    /// Conversion to a dynamic object failed.
    #[error(
        "{address} could not be converted for the API: {source}; this is a bug in scf, please report it"
    )]
    Json {
        /// The object's plan address.
        address: String,
        /// The converter's error.
        source: serde_json::Error,
    },
}

/// The group, version and kind of a statically typed resource.
fn gvk_of<K: Resource<DynamicType = ()>>() -> GroupVersionKind {
    GroupVersionKind::gvk(&K::group(&()), &K::version(&()), &K::kind(&()))
}

/// Defines [`Object`] over the kinds scf emits, with their GVK and metadata: the built-in
/// kinds, then after `;` the custom ones (whose CRDs a cluster may lack).
macro_rules! objects {
    ($($builtin:ident),* ; $($custom:ident),* $(,)?) => {
        objects!(@all [$($builtin),*] [$($builtin,)* $($custom),*]);
    };
    (@all [$($builtin:ident),*] [$($kind:ident),*]) => {
        /// One Kubernetes object, typed.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        #[allow(missing_docs)]
        // A build makes a few dozen objects, moved a few times: size does not matter here.
        #[allow(clippy::large_enum_variant)]
        pub enum Object {
            $($kind($kind),)*
        }

        $(impl From<$kind> for Object {
            fn from(o: $kind) -> Self {
                Object::$kind(o)
            }
        })*

        impl Object {
            /// Its group, version and kind.
            pub fn gvk(&self) -> GroupVersionKind {
                match self {
                    $(Object::$kind(_) => gvk_of::<$kind>(),)*
                }
            }

            /// Its metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$kind(o) => o.meta(),)*
                }
            }

            /// Its API resource.
            pub fn api_resource(&self) -> ApiResource {
                match self {
                    $(Object::$kind(_) => ApiResource::erase::<$kind>(&()),)*
                }
            }
        }

        /// The API resource (plural, version) of a kind scf emits; `None` for any other,
        /// so plan and apply need no discovery round trip.
        pub fn api_resource(gvk: &GroupVersionKind) -> Option<ApiResource> {
            $(if *gvk == gvk_of::<$kind>() {
                return Some(ApiResource::erase::<$kind>(&()));
            })*
            None
        }

        /// The API resources of every built-in kind scf emits, to find what it applied
        /// before by its labels. Custom kinds are left out: listing a kind whose CRD is not
        /// installed fails, and the inventory lists those scf applied.
        pub fn api_resources() -> Vec<ApiResource> {
            vec![$(ApiResource::erase::<$builtin>(&()),)*]
        }
    };
}

objects!(
    Namespace,
    ConfigMap,
    Secret,
    StatefulSet,
    Service,
    Job,
    CronJob,
    PersistentVolumeClaim,
    Deployment,
    Ingress,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy;
    Cluster,
    ScheduledBackup,
    PodMonitor,
    PrometheusRule,
    ScaledObject,
    TriggerAuthentication,
);

impl Object {
    /// Its name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// Its namespace; `None` for cluster-scoped objects such as the Namespace itself.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// Its plan address, e.g. `k8s:apps/v1/Deployment/ai-supply-chain/framework`.
    pub fn address(&self) -> String {
        let gvk = self.gvk();
        let scope = self
            .namespace()
            .map(|ns| format!("{ns}/"))
            .unwrap_or_default();
        format!(
            "k8s:{}/{}/{scope}{}",
            gvk.api_version(),
            gvk.kind,
            self.name()
        )
    }

    /// Its file in the build output, e.g. `deployment-framework.yaml`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}.yaml",
            self.gvk().kind.to_ascii_lowercase(),
            self.name()
        )
    }

    /// The object as YAML; strings YAML would read as something else are quoted.
    pub fn to_yaml(&self) -> Result<String, ObjectError> {
        to_yaml(self).map_err(|source| ObjectError::Yaml {
            address: self.address(),
            source,
        })
    }

    /// The object as the API takes it, for server-side apply.
    pub fn to_dynamic(&self) -> Result<DynamicObject, ObjectError> {
        let json = |source| ObjectError::Json {
            address: self.address(),
            source,
        };
        serde_json::from_value(serde_json::to_value(self).map_err(json)?).map_err(json)
    }
}

/// YAML as scf writes it: YAML 1.1 look-alikes (`yes`, `on`, `0123`) quoted, multi-line
/// strings as literal blocks, and long single-line strings kept on one line.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(value, options)
}
