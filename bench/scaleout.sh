#!/usr/bin/env bash
# bash bench/run scaleout [rows]: starts a throwaway Citus cluster (a
# coordinator and two workers on this machine; Citus built by
# scripts/citus.sh) and runs bench/scaleout.sql on the coordinator.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows=${1:-2000000}
bash scripts/citus.sh
. scripts/citus-cluster.sh
trap citus_stop EXIT
citus_start "${REFRAME_CITUS_PORT:-57640}"
set -- $CITUS_PORTS
as_pg "psql -X -q -h $CITUS_BASE -p $1 -U postgres -d postgres -v rows=$rows -f bench/scaleout.sql"
