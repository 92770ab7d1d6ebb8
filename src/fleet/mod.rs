//! Stage 7½ of the pipeline: the host target across a fleet of `[[hosts]]` over ssh. The
//! controller (`scf plan`/`scf apply` with `[[hosts]]`) connects to every host, copies
//! itself there, and runs the hidden `scf agent`, which plans or applies
//! [`Model::on_host`](crate::model::Model::on_host) with the host target's own code; so a
//! host of a fleet gets exactly the sequence a single host gets.
//!
//! - `protocol`: the request and reply of one agent call (leaf);
//! - `ssh`: connections through the system OpenSSH client, strict host keys (leaf);
//! - `upload`: copying this scf to a host, by hash;
//! - `remote`: a host as the orchestration sees it, and the real one over ssh;
//! - `plan`: the fleet plan, its saved form and per-host drift; `show`: its views;
//! - `rollout`: the order of a rolling apply, and the apply itself;
//! - `agent`: what `scf agent` does on a host; `upstream`: its drain and undrain of a
//!   proxy;
//! - `checkup`: `scf doctor` on every host, through its agent.

pub mod agent;
pub mod checkup;
pub mod plan;
pub mod protocol;
pub mod remote;
pub mod rollout;
pub mod show;
pub mod ssh;
pub mod upload;
pub mod upstream;

/// Runs `f` on every item at once, a thread each, and returns the results in order.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, FleetError> + Sync,
) -> Vec<Result<R, FleetError>> {
    let f = &f;
    std::thread::scope(|scope| {
        let spawned: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        spawned
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(FleetError::Local(
                        "a thread of the fleet panicked; this is a bug in scf".into(),
                    ))
                })
            })
            .collect()
    })
}

/// Every value, or every error.
pub fn all_or_errors<R>(results: Vec<Result<R, FleetError>>) -> Result<Vec<R>, Vec<FleetError>> {
    let (ok, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    if errors.is_empty() {
        Ok(ok.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(errors.into_iter().filter_map(Result::err).collect())
    }
}

/// How ssh refused a host's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// No known_hosts file trusted lists the host.
    Unknown,
    /// The host offers another key than the one listed.
    Changed,
}

/// Why a fleet command failed; each names the host and the fix.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// ssh refused the host's key.
    #[error("{}", host_key_message(.host, .address, *.port, *.kind, .fingerprint, .known_hosts.as_deref()))]
    HostKey {
        /// The host's name.
        host: String,
        /// What ssh connected to.
        address: String,
        /// sshd's port.
        port: u16,
        /// Unknown or changed.
        kind: KeyProblem,
        /// The key the host offered, `TYPE SHA256:…`.
        fingerprint: String,
        /// The `--known-hosts` file, if given.
        known_hosts: Option<String>,
    },
    /// The host could not be reached or logged in to.
    #[error(
        "cannot reach host {host} at {address}: {why}; check the address, that sshd runs there, and that the key (--identity) is authorised, or raise --connect-timeout"
    )]
    Unreachable {
        /// The host's name.
        host: String,
        /// What ssh connected to.
        address: String,
        /// ssh's words.
        why: String,
    },
    /// Running something on the host failed at the ssh level.
    #[error("host {host}: {why}")]
    Remote {
        /// The host's name.
        host: String,
        /// What failed.
        why: String,
    },
    /// The agent on the host reported a failure.
    #[error("host {host}: {error}")]
    Agent {
        /// The host's name.
        host: String,
        /// The agent's error.
        error: String,
    },
    /// Something on this machine failed.
    #[error("{0}")]
    Local(String),
}

fn host_key_message(
    host: &str,
    address: &str,
    port: u16,
    kind: KeyProblem,
    fingerprint: &str,
    known_hosts: Option<&str>,
) -> String {
    let file = known_hosts.map_or_else(|| "your known_hosts files".to_string(), |f| f.to_string());
    let target = known_hosts.unwrap_or("~/.ssh/known_hosts");
    // known_hosts names a host on another port than 22 as `[address]:port`.
    let (scan, entry) = match port {
        22 => (format!("ssh-keyscan {address}"), address.to_string()),
        _ => (
            format!("ssh-keyscan -p {port} {address}"),
            format!("'[{address}]:{port}'"),
        ),
    };
    match kind {
        KeyProblem::Unknown => format!(
            "host {host} ({address}) offered the host key {fingerprint}, which {file} does not list, so scf did not connect; check that fingerprint on the host itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then add the key: `{scan} >> {target}`"
        ),
        KeyProblem::Changed => format!(
            "the host key of {host} ({address}) has changed: it now offers {fingerprint}, which does not match {file}, so scf did not connect; if the host was reinstalled, check that fingerprint on the host itself and replace the old entry (`ssh-keygen -R {entry} -f {target}`, then `{scan} >> {target}`); otherwise the connection may be intercepted"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_results_keep_their_order_and_errors_are_all_kept() {
        let results = in_parallel(&[1, 2, 3], |n| match n {
            2 => Err(FleetError::Local("two".into())),
            n => Ok(n * 10),
        });
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().ok(), Some(&10));
        assert_eq!(results[2].as_ref().ok(), Some(&30));
        let errors = all_or_errors(results).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].to_string(), "two");
        assert_eq!(
            all_or_errors(in_parallel(&[1, 2], |n| Ok(*n))).unwrap(),
            [1, 2]
        );
    }

    #[test]
    fn a_refused_host_key_names_the_host_the_fingerprint_and_the_fix() {
        for kind in [KeyProblem::Unknown, KeyProblem::Changed] {
            let text = FleetError::HostKey {
                host: "app-1".into(),
                address: "10.0.0.2".into(),
                port: 22,
                kind,
                fingerprint: "ssh-ed25519 SHA256:abc".into(),
                known_hosts: Some("/ci/known_hosts".into()),
            }
            .to_string();
            for part in [
                "app-1",
                "10.0.0.2",
                "SHA256:abc",
                "/ci/known_hosts",
                "ssh-keyscan",
            ] {
                assert!(text.contains(part), "{part} in {text}");
            }
        }
        let text = FleetError::HostKey {
            host: "app-1".into(),
            address: "10.0.0.2".into(),
            port: 2222,
            kind: KeyProblem::Changed,
            fingerprint: "ssh-ed25519 SHA256:abc".into(),
            known_hosts: None,
        }
        .to_string();
        assert!(
            text.contains("ssh-keygen -R '[10.0.0.2]:2222' -f ~/.ssh/known_hosts"),
            "{text}"
        );
        assert!(
            text.contains("ssh-keyscan -p 2222 10.0.0.2 >> ~/.ssh/known_hosts"),
            "{text}"
        );
    }
}
