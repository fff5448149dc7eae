#!/usr/bin/env bash
# Local Keycloak (dev mode, H2 file database) with the `skillstack` realm, run
# from the server distribution on Maven Central: no Docker, no other download.
#
#   deploy/keycloak.sh fetch    copy the distribution from Maven Central, unpack once
#   deploy/keycloak.sh start    fetch if needed, import the realm, start, wait until ready
#   deploy/keycloak.sh stop     SIGTERM, wait (SIGKILL after $KEYCLOAK_STOP_TIMEOUT s)
#   deploy/keycloak.sh status   print "running" and exit 0, else exit 1
#   deploy/keycloak.sh reset    stop and delete the H2 database (the realm file
#                               deploy/keycloak/skillstack-realm.json is imported
#                               again on the next start; existing realms are
#                               never overwritten by an import)
#
# Environment (defaults):
#   KEYCLOAK_HOME            <repo>/.local/keycloak (distribution in dist/, log, pid)
#   KEYCLOAK_VERSION         keycloak.version in deploy/keycloak/pom.xml
#   KEYCLOAK_PORT            8080   (HTTP, 127.0.0.1 only)
#   KEYCLOAK_HOSTNAME        http://127.0.0.1:$KEYCLOAK_PORT (fixes the token issuer;
#                            empty: derived from each request, hostname-strict off)
#   KEYCLOAK_HEAP_OPTS       -Xms64m -Xmx512m   (JAVA_OPTS_KC_HEAP of kc.sh)
#   KEYCLOAK_START_TIMEOUT   240    (seconds; the first start also builds and imports)
#   KEYCLOAK_STOP_TIMEOUT    60     (seconds, then SIGKILL)
#   KC_BOOTSTRAP_ADMIN_USERNAME  admin (master realm admin, created on the first start)
#   KC_BOOTSTRAP_ADMIN_PASSWORD  random, generated once into $KEYCLOAK_HOME/admin-password
#   JAVA_HOME                if set, that JDK; else the newest JDK >= 21 under /usr/lib/jvm
#
# Realm: http://127.0.0.1:$KEYCLOAK_PORT/realms/skillstack (users, clients and
# secrets are described in the realm's attributes; password demo-password).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
POM="$SCRIPT_DIR/keycloak/pom.xml"
REALM_FILE="$SCRIPT_DIR/keycloak/skillstack-realm.json"
REALM=skillstack

KEYCLOAK_HOME="${KEYCLOAK_HOME:-$REPO_ROOT/.local/keycloak}"
[[ "$KEYCLOAK_HOME" == /* ]] || KEYCLOAK_HOME="$PWD/$KEYCLOAK_HOME"
KEYCLOAK_PORT="${KEYCLOAK_PORT:-8080}"
KEYCLOAK_HOSTNAME="${KEYCLOAK_HOSTNAME-http://127.0.0.1:$KEYCLOAK_PORT}"
KEYCLOAK_HEAP_OPTS="${KEYCLOAK_HEAP_OPTS:--Xms64m -Xmx512m}"
KEYCLOAK_START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-240}"
KEYCLOAK_STOP_TIMEOUT="${KEYCLOAK_STOP_TIMEOUT:-60}"

DIST_DIR="$KEYCLOAK_HOME/dist"
VERSION_MARKER="$DIST_DIR/.skillstack-version"
H2_DIR="$DIST_DIR/data/h2"
IMPORT_DIR="$DIST_DIR/data/import"
IMPORTED_MARKER="$H2_DIR/.skillstack-realm.sha256"
PID_FILE="$KEYCLOAK_HOME/keycloak.pid"
OUT_LOG="$KEYCLOAK_HOME/keycloak.log"
ADMIN_PASSWORD_FILE="$KEYCLOAK_HOME/admin-password"
READY_URL="http://127.0.0.1:$KEYCLOAK_PORT/realms/$REALM/.well-known/openid-configuration"

log() { printf 'keycloak.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=deploy/lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/server.sh"

# keycloak.version from the pom (one place to change it), unless overridden.
pom_version() {
    sed -n 's:.*<keycloak.version>\([^<]*\)</keycloak.version>.*:\1:p' "$POM" | head -n 1
}
KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-$(pom_version)}"
[[ -n "$KEYCLOAK_VERSION" ]] || die "no keycloak.version in $POM"

# --- process helpers ------------------------------------------------------

# True if $1 is a live process of this distribution: kc.sh, or the JVM it execs after
# the first build (both name $DIST_DIR on their command line).
is_our_pid() { process_running "$1" "$DIST_DIR/"; }

# True while any process of the session/process group led by $1 exists
# (setsid made the started process a group leader; kc.sh may still have its
# JVM as a child).
group_alive() {
    kill -0 -- "-$1" 2>/dev/null
}

http_code() {
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
}

# --- java -----------------------------------------------------------------

# Sets JAVA_HOME for kc.sh: $JAVA_HOME if usable, else the newest JDK >= 21.
find_java_home() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        return
    fi
    local best
    best="$(newest_jdk 21)"
    [[ -n "$best" ]] || die "no JDK >= 21 found under /usr/lib/jvm: set JAVA_HOME (Keycloak 26 needs Java 21+)"
    export JAVA_HOME="$best"
}

# --- fetch ----------------------------------------------------------------

dist_current() {
    [[ -f "$VERSION_MARKER" ]] && [[ "$(cat "$VERSION_MARKER")" == "$KEYCLOAK_VERSION" ]] \
        && [[ -x "$DIST_DIR/bin/kc.sh" ]]
}

cmd_fetch() {
    if dist_current; then
        return 0
    fi
    if [[ -n "$(running_pid)" ]]; then
        die "Keycloak is running from a distribution other than $KEYCLOAK_VERSION: stop it first"
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (needed to fetch Keycloak)"
    mkdir -p "$KEYCLOAK_HOME"
    local tmp="$KEYCLOAK_HOME/fetch.tmp.$$" start=$SECONDS archive top
    rm -rf "$tmp"
    mkdir -p "$tmp"
    log "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz from Maven Central"
    local mvn_out
    if ! mvn_out="$(mvn -q -B -f "$POM" dependency:copy -Dkeycloak.version="$KEYCLOAK_VERSION" \
            -DoutputDirectory="$tmp" 2>&1)"; then
        printf '%s\n' "$mvn_out" | sed 's/\x1b\[[0-9;]*m//g' >&2
        rm -rf "$tmp"
        die "mvn dependency:copy failed"
    fi
    archive="$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz"
    [[ -f "$archive" ]] || { rm -rf "$tmp"; die "no $archive was copied"; }
    tar -xzf "$archive" -C "$tmp" || { rm -rf "$tmp"; die "could not unpack $archive"; }
    rm -f "$archive"
    top="$tmp/keycloak-$KEYCLOAK_VERSION"
    [[ -x "$top/bin/kc.sh" ]] || { rm -rf "$tmp"; die "unexpected archive layout: no keycloak-$KEYCLOAK_VERSION/bin/kc.sh"; }
    printf '%s\n' "$KEYCLOAK_VERSION" >"$top/.skillstack-version"
    if [[ -d "$DIST_DIR" ]]; then
        log "replacing $(cat "$VERSION_MARKER" 2>/dev/null || echo 'an incomplete') distribution (its H2 data goes too)"
    fi
    rm -rf "$DIST_DIR"
    mv "$top" "$DIST_DIR"
    rm -rf "$tmp"
    log "Keycloak $KEYCLOAK_VERSION unpacked into $DIST_DIR in $((SECONDS - start)) s"
}

# --- start ----------------------------------------------------------------

# Admin credentials for the master realm: the environment, else admin and a
# password generated once (the admin is created on the first start only, so
# the file must live as long as the H2 database).
admin_credentials() {
    export KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}"
    if [[ -z "${KC_BOOTSTRAP_ADMIN_PASSWORD:-}" ]]; then
        if [[ ! -s "$ADMIN_PASSWORD_FILE" ]]; then
            (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$ADMIN_PASSWORD_FILE")
        fi
        chmod 600 "$ADMIN_PASSWORD_FILE"
        KC_BOOTSTRAP_ADMIN_PASSWORD="$(cat "$ADMIN_PASSWORD_FILE")"
        export KC_BOOTSTRAP_ADMIN_PASSWORD
    fi
}

realm_sha() { sha256sum "$REALM_FILE" | awk '{print $1}'; }

# Waits until the realm's discovery document answers 200, or the process
# dies, or the timeout passes (then prints the log tail and exits 1).
wait_ready() {
    local pid="$1" start="$2"
    while :; do
        if ! is_our_pid "$pid"; then
            rm -f "$PID_FILE"
            print_tail
            die "Keycloak exited during startup"
        fi
        if [[ "$(http_code "$READY_URL")" == 200 ]]; then
            return 0
        fi
        if (( SECONDS - start >= KEYCLOAK_START_TIMEOUT )); then
            print_tail
            log "not ready after ${KEYCLOAK_START_TIMEOUT} s: stopping it"
            stop_pid "$pid"
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 1
    done
}

cmd_start() {
    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        # Started by someone else, perhaps still starting: wait for it.
        wait_ready "$pid" "$SECONDS"
        echo "keycloak already running (pid $pid, http://127.0.0.1:$KEYCLOAK_PORT/realms/$REALM)"
        return 0
    fi
    rm -f "$PID_FILE"
    command -v curl >/dev/null 2>&1 || die "curl not found (needed to poll readiness)"
    [[ -f "$REALM_FILE" ]] || die "missing $REALM_FILE"
    cmd_fetch
    find_java_home
    admin_credentials

    if port_open "$KEYCLOAK_PORT"; then
        die "127.0.0.1:$KEYCLOAK_PORT is already in use by another process"
    fi

    # The realm file is imported only if the realm does not exist yet.
    mkdir -p "$IMPORT_DIR"
    cp -f "$REALM_FILE" "$IMPORT_DIR/$REALM-realm.json"
    if [[ -d "$H2_DIR" ]]; then
        if [[ -f "$IMPORTED_MARKER" && "$(cat "$IMPORTED_MARKER")" != "$(realm_sha)" ]]; then
            log "warning: $REALM_FILE changed since it was imported; run '$0 reset' to re-import it"
        fi
    fi

    local args=(start-dev
        --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT"
        --import-realm
        # Nothing on the management interface (port 9000), so it is not started;
        # if something is enabled later it stays on loopback.
        --health-enabled=false --metrics-enabled=false --http-management-host=127.0.0.1
    )
    if [[ -n "$KEYCLOAK_HOSTNAME" ]]; then
        # A fixed issuer, whichever of 127.0.0.1/localhost a caller uses.
        args+=(--hostname="$KEYCLOAK_HOSTNAME")
    else
        args+=(--hostname-strict=false)
    fi

    [[ -f "$OUT_LOG" ]] && mv -f "$OUT_LOG" "$OUT_LOG.1"
    local start=$SECONDS
    # JAVA_OPTS_KC_HEAP: kc.sh's heap settings. UuidProcessId: Narayana (the
    # transaction manager) otherwise derives its process id by binding a
    # server socket on a random loopback port for the JVM's lifetime; with it
    # the HTTP port is the only one listening.
    # setsid: own session, so Ctrl-C or the end of the calling shell does not
    # reach it; $! is kc.sh, which execs the JVM after the first build or
    # otherwise forwards SIGTERM to it.
    JAVA_OPTS_KC_HEAP="$KEYCLOAK_HEAP_OPTS" \
    JAVA_OPTS_APPEND="${JAVA_OPTS_APPEND:+$JAVA_OPTS_APPEND }-Dcom.arjuna.ats.internal.arjuna.utils.processImplementation=com.arjuna.ats.internal.arjuna.utils.UuidProcessId" \
        setsid "$DIST_DIR/bin/kc.sh" "${args[@]}" </dev/null >"$OUT_LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "started pid $pid (Keycloak $KEYCLOAK_VERSION, $JAVA_HOME), waiting for $READY_URL"
    wait_ready "$pid" "$start"
    if [[ ! -f "$IMPORTED_MARKER" ]] && grep -qF "Realm '$REALM' imported" "$OUT_LOG"; then
        realm_sha >"$IMPORTED_MARKER"
    fi
    echo "keycloak running (pid $pid, http://127.0.0.1:$KEYCLOAK_PORT/realms/$REALM, ready in $((SECONDS - start)) s)"
}

# --- stop / status / reset --------------------------------------------------

stop_pid() { stop_process "$1" "$KEYCLOAK_STOP_TIMEOUT" group_alive; }
cmd_stop() { stop_server keycloak; }
cmd_status() { server_status; }

cmd_reset() {
    cmd_stop
    rm -rf "$H2_DIR"
    echo "keycloak data removed ($H2_DIR); the realm is imported again on the next start"
}

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2
    exit 2
}

case "${1:-}" in
    fetch)  cmd_fetch ;;
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    reset)  cmd_reset ;;
    *)      usage ;;
esac
