#!/usr/bin/env bash
# Run Skillstack locally with demo data: a Kafka broker, a Keycloak identity provider with
# demo users, the three services and their workers on SQLite, and a mail catcher.
# Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="$root/.local"
mkdir -p "$state/data" "$state/mail/tmp" "$state/mail/new" "$state/mail/cur"

export KAFKA_HOME="$state/kafka" KAFKA_PORT="${KAFKA_PORT:-9092}" KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
export SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
export SKILLSTACK_ISSUER_PORT="${SKILLSTACK_ISSUER_PORT:-8001}"
export SKILLSTACK_PATHWAYS_PORT="${SKILLSTACK_PATHWAYS_PORT:-8002}"
export SKILLSTACK_NOTIFICATIONS_PORT="${SKILLSTACK_NOTIFICATIONS_PORT:-8003}"
export SKILLSTACK_NOTIFICATIONS_SMTP_PORT="${SKILLSTACK_NOTIFICATIONS_SMTP_PORT:-1025}"
export SKILLSTACK_MAILDIR="$state/mail"
export SKILLSTACK_NOTIFICATIONS_HR_DIGEST_RECIPIENTS="${SKILLSTACK_NOTIFICATIONS_HR_DIGEST_RECIPIENTS:-hana}"  # the demo HR admin
for service in issuer pathways notifications; do
  export "SKILLSTACK_${service^^}_DATABASE_URL=sqlite:///$state/data/$service.db"
done
export KEYCLOAK_HOME="$state/keycloak" KEYCLOAK_PORT="${KEYCLOAK_PORT:-8080}"
export SKILLSTACK_OIDC_ISSUER="http://127.0.0.1:$KEYCLOAK_PORT/realms/skillstack"
export SKILLSTACK_GATEWAY_PORT="${SKILLSTACK_GATEWAY_PORT:-8000}"
export SKILLSTACK_INTRANET_URL="http://127.0.0.1:$SKILLSTACK_GATEWAY_PORT"  # deploy/gateway.py: one origin for every page
export SKILLSTACK_BEHIND_PROXY=true
export SKILLSTACK_LOG_FORMAT="${SKILLSTACK_LOG_FORMAT:-text}"  # JSON lines in production
for service in issuer pathways notifications; do
  # The local realm's web clients (deploy/keycloak/skillstack-realm.json); never used in production.
  export "SKILLSTACK_${service^^}_OIDC_CLIENT_SECRET=$service-local-secret"
done
# The session-signing key of this checkout, made once; production takes it from its secret store.
[ -f "$state/session-key" ] || (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state/session-key")
export SKILLSTACK_SECRET_KEY="${SKILLSTACK_SECRET_KEY:-$(cat "$state/session-key")}"
export SKILLSTACK_ISSUER_PUBLIC_URL="$SKILLSTACK_INTRANET_URL"  # verification URLs live at the origin's root

honcho_pid=""
shutdown() {
  trap '' INT TERM; trap - EXIT  # a second Ctrl-C must not cut the shutdown short (Kafka and Keycloak would stay up)
  echo "local.sh: stopping"
  if [ -n "$honcho_pid" ]; then kill -TERM "$honcho_pid" 2>/dev/null || true; wait "$honcho_pid" 2>/dev/null || true; fi
  deploy/keycloak.sh stop || true
  deploy/kafka.sh stop || true
}
trap shutdown INT TERM EXIT

timer() { echo "local.sh: $1 in $((SECONDS - mark)) s"; mark=$SECONDS; }
mark=$SECONDS
deploy/bootstrap.sh
timer "Python packages ready"
# The issuer's Open Badges signing key of this checkout, made once (production: its secret store).
[ -f "$state/issuer-signing-keys.json" ] || (umask 077; .venv/bin/python -m services.issuer.signing > "$state/issuer-signing-keys.json")
export SKILLSTACK_ISSUER_SIGNING_KEYS="${SKILLSTACK_ISSUER_SIGNING_KEYS:-$(cat "$state/issuer-signing-keys.json")}"
deploy/kafka.sh start
timer "Kafka ready"
deploy/keycloak.sh start
timer "Keycloak ready"
.venv/bin/skillstack create-topics
for service in issuer pathways notifications; do
  .venv/bin/flask --app "services.$service.app" migrate
done
timer "topics and databases ready"

PATH="$root/.venv/bin:$PATH" honcho -f deploy/Procfile -d "$root" start &
honcho_pid=$!
.venv/bin/python deploy/demo_data.py
timer "services up and demo data loaded"
wait "$honcho_pid"
