# Running a background Java server: sourced by deploy/kafka.sh and deploy/keycloak.sh.
# The sourcing script defines log, die, PID_FILE, OUT_LOG, and is_our_pid PID (is this pid our server?).

read_pid() {
    local pid=""
    [[ -f "$PID_FILE" ]] && pid="$(tr -dc '0-9' <"$PID_FILE" || true)"
    printf '%s' "$pid"
}

# process_running PID MARKER: a live (non-zombie) process whose command line contains MARKER
# (which guards against the pid having been reused by something else).
process_running() {
    local pid="$1" marker="$2" state cmdline
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != "Z" ]] || return 1
    # Not `tr | grep -q`: under pipefail, grep quitting at the first match can SIGPIPE tr
    # and turn a match into a failure on a long (Java) command line.
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"$marker"* ]]
}

running_pid() {
    local pid
    pid="$(read_pid)"
    if is_our_pid "$pid"; then printf '%s' "$pid"; fi
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

print_tail() {
    if [[ -f "$OUT_LOG" ]]; then
        log "last lines of $OUT_LOG:"
        tail -n 60 "$OUT_LOG" >&2 || true
    fi
}

# Major version of the JDK home $1 (from its release file), or nothing.
jdk_major() {
    local v
    v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release" 2>/dev/null | head -n 1)"
    [[ -n "$v" ]] || return 0
    v="${v#1.}"
    printf '%s' "${v%%[.+-]*}"
}

# newest_jdk MIN: the home of the newest JDK >= MIN under /usr/lib/jvm, or nothing.
newest_jdk() {
    local minimum="$1" best="" best_major=0 dir major
    for dir in /usr/lib/jvm/*/; do
        dir="${dir%/}"
        [[ -x "$dir/bin/java" ]] || continue
        major="$(jdk_major "$dir")"
        [[ "$major" =~ ^[0-9]+$ ]] || continue
        if (( major >= minimum && major > best_major )); then
            best="$dir"
            best_major="$major"
        fi
    done
    printf '%s' "$best"
}

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
