#!/usr/bin/env bash
# Run a private, throwaway PostgreSQL server on loopback for the test suite.
#
# Usage: deploy/postgres.sh start|stop|status|reset|url NAME
#
#   start   install the server binaries if missing (root only), initialise the
#           cluster once, start it, and create the role and databases (idempotent)
#   stop    stop the server (fast shutdown); exit 0 if it is not running
#   status  exit 0 if the server is running, 3 otherwise
#   url     print the SQLAlchemy URL of database NAME
#   reset   stop the server and delete its data directory
#
# Environment (defaults in brackets):
#   PG_PORT [25432]  PG_USER [skillstack]  PG_PASSWORD [skillstack]
#   PG_DATABASES ["skillstack_issuer skillstack_pathways skillstack_notifications"]
#   PG_DATA [${TMPDIR:-/tmp}/skillstack-postgres-$PG_PORT]
#   PG_BIN [newest /usr/lib/postgresql/*/bin]  PG_START_TIMEOUT [60] seconds
#
# The server listens on 127.0.0.1:$PG_PORT only; its unix socket lives in the
# data directory (never /var/run/postgresql), so it does not clash with a
# Debian-managed cluster, which this script never touches. PostgreSQL refuses to
# run as root: as root, the server and its files belong to the `postgres`
# system user, which is why the data directory defaults to /tmp rather than to
# the repository (which that user may not be able to traverse).
set -euo pipefail

PG_PORT="${PG_PORT:-25432}"
PG_USER="${PG_USER:-skillstack}"
PG_PASSWORD="${PG_PASSWORD:-skillstack}"
PG_DATABASES="${PG_DATABASES:-skillstack_issuer skillstack_pathways skillstack_notifications}"
PG_DATA="${PG_DATA:-${TMPDIR:-/tmp}/skillstack-postgres-$PG_PORT}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
PG_BIN="${PG_BIN:-}"

me="$(basename "$0")"
die() { echo "$me: $*" >&2; exit 1; }
log() { echo "$me: $*" >&2; }

[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "PG_PORT must be a number, got '$PG_PORT'"
[[ "$PG_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "PG_START_TIMEOUT must be a number of seconds"

# Make PG_DATA absolute (relative to the caller's directory), strip trailing
# slashes, then leave the caller's directory: as root the server tools run as
# `postgres`, which may not be allowed into it (initdb and pg_ctl look up the
# current directory and fail there).
[[ "$PG_DATA" == /* ]] || PG_DATA="$PWD/$PG_DATA"
while [[ "$PG_DATA" == */ && "$PG_DATA" != / ]]; do PG_DATA="${PG_DATA%/}"; done
cd /

# libpq environment variables of the caller (PGHOST, PGUSER, PGOPTIONS, ...)
# must not redirect the connections made here.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^PG[A-Z]+$' || true)

LOGFILE="$PG_DATA/server.log"
SOCKDIR="$PG_DATA"

if [[ $EUID -eq 0 ]]; then IS_ROOT=1; RUN_AS=postgres; else IS_ROOT=0; RUN_AS="$(id -un)"; fi

# Run a command as the user that owns the cluster: as root, `postgres`, or for
# status/stop/reset the owner of an existing data dir started by another user.
run_pg() {
  if [[ $IS_ROOT -eq 1 ]]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}
adopt_owner() {
  local owner
  if [[ $IS_ROOT -eq 1 && -d "$PG_DATA" ]]; then
    owner="$(stat -c %U "$PG_DATA")"
    if [[ "$owner" != root && "$owner" != UNKNOWN ]]; then RUN_AS="$owner"; fi
  fi
  return 0
}

newest_bin() {
  local c
  c="$(printf '%s\n' /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)"
  if [[ -x "$c" ]]; then dirname "$c"; fi
}

# Locate the server binaries; with install=1, install them when missing.
find_bin() {
  local install="${1:-0}"
  if [[ -n "$PG_BIN" ]]; then
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN has no pg_ctl"
    return 0
  fi
  PG_BIN="$(newest_bin)"
  [[ -n "$PG_BIN" ]] && return 0
  [[ "$install" -eq 1 ]] || return 1
  if [[ $IS_ROOT -ne 1 ]]; then
    die "no PostgreSQL server found (/usr/lib/postgresql/*/bin/pg_ctl).
Install it first, e.g. on Debian/Ubuntu:  sudo apt-get install postgresql
(or point PG_BIN at a directory holding pg_ctl, initdb, postgres, psql, pg_isready)."
  fi
  command -v apt-get >/dev/null || die "no PostgreSQL server found and no apt-get to install one; install PostgreSQL server binaries and set PG_BIN"
  log "installing PostgreSQL server packages (apt-get)..."
  apt-get update -qq
  # The package may create and start Debian's own cluster `main` on 5432;
  # it is left alone and unused.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PG_BIN="$(newest_bin)"
  [[ -n "$PG_BIN" ]] || die "installed postgresql, but still no /usr/lib/postgresql/*/bin/pg_ctl"
}

is_running() {
  [[ -n "$PG_BIN" && -f "$PG_DATA/PG_VERSION" ]] || return 1
  run_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

check_owner() {
  [[ -e "$PG_DATA" ]] || return 0
  local owner
  owner="$(stat -c %U "$PG_DATA")"
  [[ "$owner" == "$RUN_AS" ]] || die "$PG_DATA belongs to '$owner', but the server would run as '$RUN_AS'.
Remove it (as '$owner': PG_DATA=$PG_DATA $0 reset) or choose another PG_DATA / PG_PORT."
}

# Percent-encode for a URL's user or password part (bytes outside A-Za-z0-9._~-).
url_encode() {
  local LC_ALL=C s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    if [[ "$c" == [A-Za-z0-9._~-] ]]; then out+="$c"; else out+="$(printf '%%%02X' "'$c")"; fi
  done
  printf '%s' "$out"
}

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

init_cluster() {
  if [[ $IS_ROOT -eq 1 ]]; then
    getent passwd postgres >/dev/null ||
      useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  check_owner
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    local have want
    have="$(cat "$PG_DATA/PG_VERSION")"
    want="$("$PG_BIN/pg_ctl" --version | awk '{print $3}' | cut -d. -f1)"
    [[ "$have" == "$want" ]] || die "$PG_DATA was made by PostgreSQL $have but the server found is $want: run '$0 reset' first"
    return 0
  fi
  local parent
  parent="$(dirname "$PG_DATA")"
  mkdir -p "$parent"
  run_pg test -x "$parent" ||
    die "user '$RUN_AS' cannot reach $parent (a directory on the way is not traversable); set PG_DATA elsewhere, e.g. under /tmp"
  if [[ ! -d "$PG_DATA" ]]; then
    mkdir -m 700 "$PG_DATA"
    if [[ $IS_ROOT -eq 1 ]]; then chown postgres:postgres "$PG_DATA"; fi
  fi
  run_pg test -w "$PG_DATA" -a -x "$PG_DATA" ||
    die "user '$RUN_AS' cannot write to $PG_DATA; set PG_DATA elsewhere, e.g. under /tmp"

  local locale=C
  if grep -qiE '^c\.utf-?8$' <<<"$(locale -a 2>/dev/null)"; then locale=C.UTF-8; fi
  log "initialising a new cluster in $PG_DATA (locale $locale)"
  run_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres \
    --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale="$locale" >"$PG_DATA.initdb.log" 2>&1 || {
      cat "$PG_DATA.initdb.log" >&2; die "initdb failed"; }
  rm -f "$PG_DATA.initdb.log"
  echo "include_if_exists = 'skillstack.conf'" | run_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

# Settings rewritten on every start, so PG_PORT etc. follow the environment.
write_conf() {
  run_pg tee "$PG_DATA/skillstack.conf" >/dev/null <<EOF
# Written by deploy/postgres.sh on each start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = $(sql_quote "$SOCKDIR")
max_connections = 200
password_encryption = 'scram-sha-256'
# A throwaway test server: durability is traded for speed. A crash of the
# machine may corrupt this cluster; 'reset' and start again.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

wait_ready() {
  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; do
    ((SECONDS < deadline)) || { tail -n 30 "$LOGFILE" >&2 || true; die "server not ready on 127.0.0.1:$PG_PORT after ${PG_START_TIMEOUT}s"; }
    sleep 0.2
  done
}

provision() {
  local db
  {
    cat <<'EOF'
SELECT format('CREATE ROLE %I', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password') \gexec
EOF
    for db in $PG_DATABASES; do
      echo "SELECT format('CREATE DATABASE %I OWNER %I', $(sql_quote "$db"), :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = $(sql_quote "$db")) \\gexec"
    done
  } | run_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PG_PORT" -U postgres -d postgres \
        -v user="$PG_USER" -v password="$PG_PASSWORD" >/dev/null
}

cmd_start() {
  find_bin 1
  init_cluster
  if ! is_running; then
    # Something else (not this cluster) already answering on the port?
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 ||
       [[ $? -eq 1 ]]; then
      die "another server already listens on 127.0.0.1:$PG_PORT; stop it or set PG_PORT"
    fi
    write_conf
    log "starting PostgreSQL $(cat "$PG_DATA/PG_VERSION") on 127.0.0.1:$PG_PORT (data $PG_DATA, log $LOGFILE)"
    run_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOGFILE" -w -t "$PG_START_TIMEOUT" start >/dev/null || {
      tail -n 30 "$LOGFILE" >&2 || true; die "pg_ctl start failed"; }
  fi
  wait_ready
  provision
}

cmd_stop() {
  adopt_owner
  find_bin 0 || return 0
  if is_running; then
    run_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$PG_START_TIMEOUT" stop >/dev/null
    log "stopped the server on port $PG_PORT"
  fi
}

cmd_status() {
  adopt_owner
  find_bin 0 || { echo "not running (no PostgreSQL binaries)"; exit 3; }
  if is_running; then
    echo "running on 127.0.0.1:$PG_PORT (data $PG_DATA)"
  else
    echo "not running (data $PG_DATA)"; exit 3
  fi
}

cmd_reset() {
  cmd_stop
  [[ -e "$PG_DATA" ]] || return 0
  [[ "$PG_DATA" != / && -d "$PG_DATA" ]] || die "refusing to delete $PG_DATA"
  # Only delete what looks like a cluster (or an empty directory).
  if [[ -f "$PG_DATA/PG_VERSION" || -z "$(ls -A "$PG_DATA")" ]]; then
    rm -rf -- "$PG_DATA"
    log "deleted $PG_DATA"
  else
    die "$PG_DATA does not look like a PostgreSQL data directory; not deleting it"
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  url)
    [[ -n "${2:-}" ]] || die "usage: $me url DATABASE"
    echo "postgresql+psycopg://$(url_encode "$PG_USER"):$(url_encode "$PG_PASSWORD")@127.0.0.1:$PG_PORT/$2" ;;
  *) echo "usage: $me start|stop|status|reset|url DATABASE" >&2; exit 2 ;;
esac
