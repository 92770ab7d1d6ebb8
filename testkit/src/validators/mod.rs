//! Harnesses around the real validators (nginx, gixy, promtool, systemd-analyze,
//! kubernetes-validate, checkov, kubectl kustomize, PostgreSQL, redis-server). Each runs the
//! tool on generated files and treats any warning as a failure.
