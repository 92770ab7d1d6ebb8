#!/usr/bin/env python3
"""Writes a multi-tenant framework.toml with N tenants, for the scaling benchmarks."""
import sys

n = int(sys.argv[1])
profile = sys.argv[2] if len(sys.argv) > 2 else "multi-tenant"
plans = ["small", "medium", "large"]
print(f"""[project]
name = "ai-supply-chain"
extends = "{profile}"

[server]
domain = "api.example.com"

[tls]
certificate = "/etc/ssl/scf/fullchain.pem"
key = "/etc/ssl/scf/privkey.pem"
cluster_issuer = "letsencrypt-prod"

[tenancy]
max_tenants = {max(n, 1)}
""")
for i in range(n):
    print(f"""[[tenants]]
id = "customer_{i:05d}"
plan = "{plans[i % 3]}"
industry = "FURNITURE"
admin_email = "admin@customer{i}.example.com"
""")
