# Stopping and reporting a background server: sourced by deploy/kafka.sh and deploy/keycloak.sh.
# The sourcing script defines log, die, running_pid and PID_FILE.

# stop_process PID TIMEOUT ALIVE: SIGTERM, wait while `ALIVE PID` succeeds, SIGKILL the group after TIMEOUT s.
stop_process() {
    local pid="$1" timeout="$2" alive="$3" deadline
    kill -TERM "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + timeout))
    while "$alive" "$pid"; do
        if (( SECONDS >= deadline )); then
            log "pid $pid still alive after ${timeout} s: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while "$alive" "$pid"; do
                (( SECONDS < deadline )) || die "pid $pid survived SIGKILL"
                sleep 0.1
            done
            return 0
        fi
        sleep 0.2
    done
}

# stop_server NAME: stop the running server, if any, and forget its pid.
stop_server() {
    local name="$1" pid
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        rm -f "$PID_FILE"
        echo "$name not running"
        return 0
    fi
    stop_pid "$pid"
    rm -f "$PID_FILE"
    echo "$name stopped (pid $pid)"
}

# server_status: print running or stopped; exit 0 when running.
server_status() {
    if [[ -n "$(running_pid)" ]]; then
        echo "running"
        return 0
    fi
    echo "stopped"
    return 1
}
