#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for
# development and CI, run straight from Maven Central jars: no Docker, no
# tarball download.
#
#   deploy/kafka.sh fetch    copy the broker jars into $KAFKA_HOME/libs
#   deploy/kafka.sh start    fetch if needed, format once, start, wait until ready
#   deploy/kafka.sh stop     SIGTERM, wait (SIGKILL after $KAFKA_STOP_TIMEOUT s)
#   deploy/kafka.sh status   print "running" and exit 0, else exit 1
#   deploy/kafka.sh reset    stop and delete the data dir (libs are kept)
#
# Environment (defaults):
#   KAFKA_HOME             <repo>/.local/kafka
#   KAFKA_PORT             9092   (PLAINTEXT listener, 127.0.0.1 only)
#   KAFKA_CONTROLLER_PORT  9093   (CONTROLLER listener, 127.0.0.1 only)
#   KAFKA_PARTITIONS       3      (num.partitions)
#   KAFKA_HEAP_OPTS        -Xms256m -Xmx512m
#   KAFKA_JVM_OPTS         extra JVM options (empty)
#   KAFKA_START_TIMEOUT    120    (seconds)
#   KAFKA_STOP_TIMEOUT     60     (seconds, then SIGKILL)
#   JAVA_HOME              if set, its bin/java; else the newest JDK >= 17
#                          under /usr/lib/jvm; else `java` on PATH
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"
LOG4J_CONF="$SCRIPT_DIR/kafka/log4j2.properties"

KAFKA_HOME="${KAFKA_HOME:-$REPO_ROOT/.local/kafka}"
[[ "$KAFKA_HOME" == /* ]] || KAFKA_HOME="$PWD/$KAFKA_HOME"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-3}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"

LIBS_DIR="$KAFKA_HOME/libs"
DATA_DIR="$KAFKA_HOME/data"
LOGS_DIR="$KAFKA_HOME/logs"
PROPS="$KAFKA_HOME/server.properties"
PID_FILE="$KAFKA_HOME/kafka.pid"
OUT_LOG="$KAFKA_HOME/kafka.log"
CLUSTER_ID_FILE="$KAFKA_HOME/cluster.id"
FETCH_MARKER="$LIBS_DIR/.pom.sha256"
READY_LINE="Kafka Server started"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=deploy/lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/server.sh"

# --- process helpers ------------------------------------------------------

# The pid recorded in $PID_FILE, or nothing.
# True if $1 is our Kafka broker: its command line names this home's server.properties.
is_our_pid() { process_running "$1" "kafka.Kafka $PROPS"; }

# --- java -----------------------------------------------------------------

find_java() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        printf '%s' "$JAVA_HOME/bin/java"
        return
    fi
    local best
    best="$(newest_jdk 17)"
    if [[ -n "$best" ]]; then
        printf '%s' "$best/bin/java"
    elif command -v java >/dev/null 2>&1; then
        printf '%s' "java"
    else
        die "no java found: set JAVA_HOME or install a JDK >= 17"
    fi
}

# --- fetch ----------------------------------------------------------------

pom_sha() { sha256sum "$POM" | awk '{print $1}'; }

libs_current() {
    [[ -f "$FETCH_MARKER" ]] && [[ "$(cat "$FETCH_MARKER")" == "$(pom_sha)" ]] \
        && compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_fetch() {
    if libs_current; then
        return 0
    fi
    if [[ -n "$(running_pid)" ]]; then
        die "the broker is running on libs that no longer match $POM: stop it first"
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (needed to fetch the Kafka jars)"
    mkdir -p "$KAFKA_HOME"
    local tmp="$KAFKA_HOME/libs.tmp.$$" start=$SECONDS
    rm -rf "$tmp"
    log "fetching Kafka jars from Maven Central into $LIBS_DIR"
    # Maven's output is kept for a failure only (3.8 prints stray colour
    # resets even with -q -B).
    local mvn_out
    if ! mvn_out="$(mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1)"; then
        printf '%s\n' "$mvn_out" | sed 's/\x1b\[[0-9;]*m//g' >&2
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "no kafka_2.13 jar was copied"; }
    pom_sha >"$tmp/.pom.sha256"
    rm -rf "$LIBS_DIR"
    mv "$tmp" "$LIBS_DIR"
    log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $((SECONDS - start)) s"
}

# --- start ----------------------------------------------------------------

write_props() {
    cat >"$PROPS" <<EOF
# Written by deploy/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=$KAFKA_PARTITIONS
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
}

run_java_tool() {
    # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS / KAFKA_JVM_OPTS are word lists
    "$JAVA" -Xmx256m $KAFKA_JVM_OPTS \
        -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOGS_DIR" \
        -Dkafka.console.target=SYSTEM_ERR -cp "$LIBS_DIR/*" "$@"
}

# Formats $DATA_DIR the first time only. A later start with other ports
# reuses the storage: the single voter updates its own endpoint in the
# metadata log (KIP-853) on startup.
format_storage() {
    [[ -f "$DATA_DIR/meta.properties" ]] && return 0
    local cluster_id=""
    [[ -f "$CLUSTER_ID_FILE" ]] && cluster_id="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
    if [[ ! "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]]; then
        # A base64url-encoded UUID: 22 characters.
        cluster_id="$(run_java_tool kafka.tools.StorageTool random-uuid \
            | grep -oE '^[A-Za-z0-9_-]{22}$' | tail -n 1 || true)"
        [[ -n "$cluster_id" ]] || die "could not generate a cluster id"
        printf '%s\n' "$cluster_id" >"$CLUSTER_ID_FILE"
    fi
    log "formatting $DATA_DIR (cluster id $cluster_id)"
    rm -rf "$DATA_DIR"
    run_java_tool kafka.tools.StorageTool format --standalone \
        -t "$cluster_id" -c "$PROPS" >&2 || die "storage format failed"
}

cmd_start() {
    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        echo "kafka already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
        return 0
    fi
    rm -f "$PID_FILE"
    cmd_fetch
    mkdir -p "$KAFKA_HOME" "$LOGS_DIR"
    JAVA="$(find_java)"
    write_props
    format_storage

    if port_open "$KAFKA_PORT"; then
        die "127.0.0.1:$KAFKA_PORT is already in use by another process"
    fi
    if port_open "$KAFKA_CONTROLLER_PORT"; then
        die "127.0.0.1:$KAFKA_CONTROLLER_PORT is already in use by another process"
    fi

    [[ -f "$OUT_LOG" ]] && mv -f "$OUT_LOG" "$OUT_LOG.1"
    local start=$SECONDS
    # setsid: the broker gets its own session, so a Ctrl-C or the end of the
    # calling shell does not reach it. No fork happens here (the background
    # child is not a group leader), so $! is the JVM's pid.
    # shellcheck disable=SC2086
    setsid "$JAVA" $KAFKA_HEAP_OPTS \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -Djava.awt.headless=true $KAFKA_JVM_OPTS \
        -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOGS_DIR" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" \
        </dev/null >"$OUT_LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "started pid $pid ($JAVA), waiting for 127.0.0.1:$KAFKA_PORT"

    while :; do
        if ! kill -0 "$pid" 2>/dev/null || [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == "Z" ]]; then
            rm -f "$PID_FILE"
            print_tail
            die "the broker exited during startup"
        fi
        if grep -qF "$READY_LINE" "$OUT_LOG" 2>/dev/null && port_open "$KAFKA_PORT"; then
            break
        fi
        if (( SECONDS - start >= KAFKA_START_TIMEOUT )); then
            print_tail
            log "not ready after ${KAFKA_START_TIMEOUT} s: stopping it"
            stop_pid "$pid"
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 0.2
    done
    echo "kafka running (pid $pid, 127.0.0.1:$KAFKA_PORT, ready in $((SECONDS - start)) s)"
}

# --- stop / status / reset --------------------------------------------------

stop_pid() { stop_process "$1" "$KAFKA_STOP_TIMEOUT" is_our_pid; }
cmd_stop() { stop_server kafka; }
cmd_status() { server_status; }

cmd_reset() {
    cmd_stop
    rm -rf "$DATA_DIR"
    echo "kafka data removed ($DATA_DIR)"
}

usage() {
    sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
