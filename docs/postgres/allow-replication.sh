#!/usr/bin/env bash
# Run once by the postgres image when it creates its data directory (docker-entrypoint-initdb.d):
# let the compose network's replica stream WAL with the service's own credentials.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
