#!/usr/bin/env bash
# The SIGKILL crash tests at full strength, on a local state and on a PostgreSQL state:
# `dbplan apply` of six tenants (18 objects) is killed at pseudo-random points until
# DBPLAN_CRASH_KILLS kills (default here 100 each; 20 and 10 in the normal suite) have landed
# while it ran, in at most twice as many runs; after each kill the state is unlocked (a local
# state with `state unlock`, a PostgreSQL state by its lease running out) and the apply run again, and the test checks that it converged: every database,
# role, secret file and state record exactly once, every secret logs in, `plan
# --detailed-exitcode` finds nothing to do and `dbplan state check` finds the state, its head
# and its backups good. It prints its figure at the end:
#   crash test (Local state): N kills landed in flight in R runs; O objects checked (...); lost 0, duplicated 0
#
# This script installs nothing. It needs what `bash scripts/test.sh` installs (cargo-nextest
# and Debian's PostgreSQL server binaries): run that once first. It sets the same variables
# scripts/test.sh sets.
#
# Usage: bash scripts/crash-test.sh            # 100 kills each (about 30 to 40 minutes on 2 cores)
#        DBPLAN_CRASH_KILLS=500 bash scripts/crash-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

if ! cargo nextest --version >/dev/null 2>&1; then
  log "cargo-nextest is missing: run \`bash scripts/test.sh\` once (it installs it), then this script"
  exit 1
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "PostgreSQL server binaries are missing: run \`bash scripts/test.sh\` once (it installs them), then this script"
  exit 1
fi

# The same variables as scripts/test.sh.
DBPLAN_PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
export DBPLAN_PG_BIN
export DBPLAN_MOTO_SERVER="$PWD/.venv/bin/moto_server"
export DBPLAN_SARIF_SCHEMA="$PWD/target/test-deps/sarif/package/lib/schemas/sarif-2.1.0-rtm.5.json"
export DBPLAN_CRASH_KILLS="${DBPLAN_CRASH_KILLS:-100}"

log "building the tests"
cargo test -p dbplan --test cli --locked --no-run
log "crash test: ${DBPLAN_CRASH_KILLS} kills"
started=$(date +%s)
cargo nextest run -p dbplan --test cli --locked --no-capture \
  -E 'test(=apply::sigkill_during_apply_never_loses_or_duplicates_anything) | test(=team_state::sigkill_during_apply_on_a_postgres_state_never_loses_or_duplicates_anything)'
log "crash test: $(( $(date +%s) - started )) s wall time"
