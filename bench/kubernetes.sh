#!/usr/bin/env bash
# Benchmark: `scf build` (release) of the multi-tenant deployment with 100 tenants and a
# [kubernetes] section, against `kubectl kustomize` of the kubernetes/ directory that build
# produces, measured in one hyperfine run. Prints hyperfine's table and the ratio.
#
# Needs hyperfine (`apt-get install hyperfine`), kubectl and jq.
# Usage: bench/kubernetes.sh [TENANTS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
tenants="${1:-100}"
for tool in hyperfine kubectl jq; do
    command -v "$tool" >/dev/null || { echo "bench/kubernetes.sh: $tool is not installed" >&2; exit 1; }
done

cargo build --release --locked -q -p scf
scf="$PWD/target/release/scf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The multi-tenant profile, deployed to Kubernetes, with $tenants tenants on rotating plans.
{
    cat <<TOML
[project]
name = "ai-supply-chain"
extends = "multi-tenant"

[server]
domain = "api.example.com"

[tls]
certificate = "/etc/ssl/ai-supply-chain/fullchain.pem"
key = "/etc/ssl/ai-supply-chain/privkey.pem"
cluster_issuer = "letsencrypt-prod"

[tenancy]
max_tenants = $tenants

[kubernetes]
namespace = "ai-supply-chain"
image = "registry.example.com/ai-supply-chain:1.0.0"
replicas = 3
ingress_class = "nginx"
autoscaling = { min = 3, max = 20, cpu = 70, memory = 80, active_implementations = 30 }
resources = { requests = { cpu = "500m", memory = "1Gi" }, limits = { cpu = "1", memory = "2Gi" } }
TOML
    plans=(small medium large)
    for i in $(seq 1 "$tenants"); do
        printf '\n[[tenants]]\nid = "customer_%03d"\nplan = "%s"\nadmin_email = "admin@customer%03d.example.com"\n' \
            "$i" "${plans[$((i % 3))]}" "$i"
    done
} > "$work/framework.toml"

# One build first, so kustomize has a directory to render and the check below can run.
"$scf" build --config "$work/framework.toml" --out "$work/out" >/dev/null 2>"$work/build.log" \
    || { cat "$work/build.log" >&2; exit 1; }
kubectl kustomize "$work/out/kubernetes" >/dev/null

hyperfine --warmup 3 --min-runs 30 -N --export-json "$work/bench.json" \
    --command-name "scf build ($tenants tenants, all targets)" \
    "$scf build --config $work/framework.toml --out $work/out" \
    --command-name "kubectl kustomize kubernetes/" \
    "kubectl kustomize $work/out/kubernetes"

jq -r '.results as $r | "ratio: scf build takes \(($r[0].mean / $r[1].mean * 100 | round) / 100)× the time of kubectl kustomize (\($r[0].mean * 1000 | round) ms vs \($r[1].mean * 1000 | round) ms mean)"' "$work/bench.json"
