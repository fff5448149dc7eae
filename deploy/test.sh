#!/usr/bin/env bash
# Run the whole Skillstack test suite from a fresh clone: it installs the Python packages,
# fetches and starts a real Kafka broker and a Keycloak identity provider (Maven Central),
# installs and starts a private PostgreSQL and installs Chromium (Debian), runs pytest
# against them, and stops them. Extra arguments go to pytest (e.g. tests/unit -x).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export KAFKA_HOME="${SKILLSTACK_TEST_KAFKA_HOME:-$root/.local/test-kafka}"
export KAFKA_PORT="${SKILLSTACK_TEST_KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${SKILLSTACK_TEST_KAFKA_CONTROLLER_PORT:-19093}"
export PG_PORT="${SKILLSTACK_TEST_PG_PORT:-25432}"  # below the ephemeral port range (32768-60999): no outgoing connection can hold it
export KEYCLOAK_HOME="${SKILLSTACK_TEST_KEYCLOAK_HOME:-$root/.local/test-keycloak}"
export KEYCLOAK_PORT="${SKILLSTACK_TEST_KEYCLOAK_PORT:-18080}"

stop_servers() {
  deploy/keycloak.sh stop >/dev/null || true
  deploy/kafka.sh stop || true
  deploy/postgres.sh stop || true
}
trap stop_servers EXIT

started=$SECONDS
deploy/bootstrap.sh
echo "test.sh: Python packages ready in $((SECONDS - started)) s"
mark=$SECONDS
deploy/kafka.sh reset >/dev/null   # every run starts from empty topics
deploy/kafka.sh start
echo "test.sh: Kafka ready in $((SECONDS - mark)) s"
mark=$SECONDS
deploy/postgres.sh start
echo "test.sh: PostgreSQL ready in $((SECONDS - mark)) s"
mark=$SECONDS
deploy/keycloak.sh reset >/dev/null   # the realm is imported afresh from deploy/keycloak/
deploy/keycloak.sh start
echo "test.sh: Keycloak ready in $((SECONDS - mark)) s"
mark=$SECONDS
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "test.sh: install Debian's chromium package for the browser tests" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "test.sh: Chromium ready in $((SECONDS - mark)) s"
deploy/tools.sh >/dev/null   # the deployment validators of tests/unit/test_compose.py and test_k8s.py (Go proxy, PyPI)

export SKILLSTACK_TEST_KAFKA="127.0.0.1:$KAFKA_PORT"
export SKILLSTACK_TEST_POSTGRES="$(deploy/postgres.sh url postgres | sed 's#/postgres$##')"
export SKILLSTACK_TEST_KAFKA_SCRIPT="$root/deploy/kafka.sh"
export SKILLSTACK_TEST_KEYCLOAK="http://127.0.0.1:$KEYCLOAK_PORT"
export SKILLSTACK_TEST_KEYCLOAK_ADMIN_PASSWORD="$(cat "$KEYCLOAK_HOME/admin-password")"
export SKILLSTACK_TEST_CHROMIUM="$(command -v chromium)"
.venv/bin/python -m pytest "$@"
