#!/usr/bin/env bash
# A Citus coordinator and two workers on this machine, as three Debian PostgreSQL 15 clusters, for
# `npm run check:citus` (docs/scaling.md). Citus itself must already be installed into PostgreSQL
# 15 (docs/scaling.md says how); this script only creates, configures and links the clusters.
# Idempotent. Usage: bash bench/citus-cluster.sh [BASE_PORT]   (default 5450: 5450, 5451, 5452)
# Then: DATABASE_URL=postgres://postgres:postgres@localhost:5450/tokenmart npm run check:citus
# Local trust authentication on 127.0.0.1 and ::1: a throwaway test cluster, not a production set-up.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
base=${1:-5450}
pg_bin=/usr/lib/postgresql/15/bin
if [ ! -f "$($pg_bin/pg_config --pkglibdir)/citus.so" ]; then
    echo "citus-cluster: Citus is not installed into PostgreSQL 15 ($($pg_bin/pg_config --pkglibdir)/citus.so is missing); build it first (docs/scaling.md)" >&2
    exit 1
fi
names=(citus_coord citus_w1 citus_w2)
for i in 0 1 2; do
    name=${names[$i]}
    port=$((base + i))
    if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$name"; then
        pg_createcluster 15 "$name" -p "$port" >/dev/null
        conf=/etc/postgresql/15/$name
        printf "shared_preload_libraries = 'citus'\nmax_connections = 200\n" >> "$conf/postgresql.conf"
        sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$conf/pg_hba.conf"
    fi
    pg_ctlcluster 15 "$name" start 2>/dev/null || true
    su postgres -c "psql -qp $port -c \"alter user postgres password 'postgres'\""
    su postgres -c "psql -qp $port -tc \"select 1 from pg_database where datname = 'tokenmart'\" | grep -q 1 || createdb -p $port tokenmart"
    su postgres -c "psql -qp $port -d tokenmart -c 'create extension if not exists citus'"
done
coord="psql -qp $base -d tokenmart -tA"
su postgres -c "$coord -c \"select citus_set_coordinator_host('localhost', $base)\"" >/dev/null
for i in 1 2; do
    port=$((base + i))
    su postgres -c "$coord -c \"select citus_add_node('localhost', $port) where not exists (select 1 from pg_dist_node where nodeport = $port)\"" >/dev/null
done
su postgres -c "$coord -c 'select citus_version()' -c \"select string_agg(node_name || ':' || node_port, ', ') from citus_get_active_worker_nodes()\""
echo "citus-cluster: coordinator localhost:$base; DATABASE_URL=postgres://postgres:postgres@localhost:$base/tokenmart"
